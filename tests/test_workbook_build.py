"""The `exercises` command writes only where it is told: no overwrite without --force, no symlink, no source.

Each case runs the command line (``main``) and checks the exit status, the one-line error and that nothing the
user had was changed. About a second in all (no notebook is executed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet_np.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT / "notebooks" / "exercises"


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def src(tmp_path):
    """A one-notebook workbook: a solution between markers, a derivation hidden in markdown, a grading cell."""
    nb = {
        "cells": [
            {
                "cell_type": "markdown",
                "id": "a",
                "metadata": {},
                "source": "Derive it.\n<!-- BEGIN SOLUTION -->\n$y = 2x$\n<!-- END SOLUTION -->\n",
            },
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": "def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n",
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    d = tmp_path / "src"
    d.mkdir()
    (d / "one.ipynb").write_text(json.dumps(nb))
    return d


def test_the_two_builds_hide_code_and_derivations(capsys, tmp_path, src):
    code, out, _ = run(
        capsys, "exercises", "--src", src, "--student", tmp_path / "s", "--solutions", tmp_path / "f"
    )
    assert code == 0, out
    student = (tmp_path / "s" / "one.ipynb").read_text()
    full = (tmp_path / "f" / "one.ipynb").read_text()
    assert "2 * x" not in student and "y = 2x" not in student and "raise NotImplementedError" in student
    assert "2 * x" in full and "y = 2x" in full and "SOLUTION" not in full


def test_an_existing_notebook_is_refused_without_force(capsys, tmp_path, src):
    dst = tmp_path / "s"
    dst.mkdir()
    (dst / "one.ipynb").write_text("my work, 14 lines of it")
    code, _, err = run(capsys, "exercises", "--src", src, "--student", dst)
    assert code == 2 and "one.ipynb exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert (dst / "one.ipynb").read_text() == "my work, 14 lines of it"
    assert run(capsys, "exercises", "--src", src, "--student", dst, "--force")[0] == 0
    assert "NotImplementedError" in (dst / "one.ipynb").read_text()


def test_the_source_folder_and_one_folder_for_both_are_refused(capsys, tmp_path, src):
    before = (src / "one.ipynb").read_text()
    for argv in (
        ("--student", src),
        ("--solutions", src, "--force"),
        ("--student", tmp_path / "d", "--solutions", tmp_path / "d"),
        ("--student", tmp_path / "d", "--solutions", tmp_path / "x" / ".." / "d"),
    ):
        code, _, err = run(capsys, "exercises", "--src", src, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1, (argv, err)
        assert "source folder" in err or "same folder" in err, err
    assert (src / "one.ipynb").read_text() == before and not (tmp_path / "d").exists()


def test_a_symlinked_notebook_is_never_written_through(capsys, tmp_path, src):
    target = tmp_path / "precious.ipynb"
    target.write_text("keep me")
    dst = tmp_path / "s"
    dst.mkdir()
    os.symlink(target, dst / "one.ipynb")
    for extra in ((), ("--force",)):
        code, _, err = run(capsys, "exercises", "--src", src, "--student", dst, *extra)
        assert code == 2 and "symbolic link" in err
    assert target.read_text() == "keep me"


def test_bad_sources_get_one_line_naming_the_file(capsys, tmp_path, src):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "exercises", "--src", empty, "--student", tmp_path / "s")
    assert code == 2 and "no *.ipynb" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.ipynb").write_text('{"cells": [')
    code, _, err = run(capsys, "exercises", "--src", bad, "--student", tmp_path / "s")
    assert code == 2 and "broken.ipynb" in err and "invalid JSON at line 1" in err
    (bad / "broken.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}}]}))
    code, _, err = run(capsys, "exercises", "--src", bad, "--student", tmp_path / "s")
    assert code == 2 and "broken.ipynb, cell 0" in err and "without 'source'" in err
    (bad / "broken.ipynb").write_text(
        json.dumps({"cells": [{"cell_type": "code", "source": "# BEGIN SOLUTION\n"}]})
    )
    code, _, err = run(capsys, "exercises", "--src", bad, "--student", tmp_path / "s")
    assert code == 2 and "broken.ipynb, cell 0" in err and "without" in err
    assert not (tmp_path / "s").exists()  # nothing written on any refusal


def test_the_installed_package_finds_its_own_workbook(tmp_path):
    """From any folder, with no --src: the notebooks that came with the package (a link in a checkout)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run(
        [sys.executable, "-m", "alexnet_np", "exercises", "--student", "handout"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "handout").glob("*.ipynb")) == sorted(
        p.name for p in WORKBOOK.glob("*.ipynb")
    )


def test_the_course_build_marks_cells_for_nbgrader(capsys, tmp_path, src):
    code, out, _ = run(capsys, "exercises", "--course", tmp_path / "c", "--src", src, "--assignment", "hw1")
    assert code == 0 and "nbgrader generate_assignment hw1" in out
    nb = json.loads((tmp_path / "c" / "source" / "hw1" / "one.ipynb").read_text())
    kinds = [
        (c["metadata"]["nbgrader"]["solution"], c["metadata"]["nbgrader"]["locked"]) for c in nb["cells"]
    ]
    assert kinds == [(True, False), (True, False)]
    assert "BEGIN SOLUTION" in "".join(nb["cells"][1]["source"])  # nbgrader strips it at release
    code, _, err = run(capsys, "exercises", "--course", tmp_path / "c", "--src", src, "--assignment", "hw1")
    assert code == 2 and "exists" in err


def test_points_per_exercise_reach_nbgrader_metadata(capsys, tmp_path):
    code, _, _ = run(
        capsys,
        "exercises",
        "--course",
        tmp_path / "c",
        "--src",
        WORKBOOK,
        "--points",
        "lrn_backward=3,col2im=2",
    )
    assert code == 0
    nb = json.loads((tmp_path / "c" / "source" / "workbook" / "01_backward_passes.ipynb").read_text())
    points = {
        c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"].get("points") for c in nb["cells"]
    }
    assert points["grade_lrn_backward"] == 3 and points["grade_col2im"] == 2 and points["grade_im2col"] == 1
    code, _, err = run(capsys, "exercises", "--course", tmp_path / "d", "--points", "lrn_backward=lots")
    assert code == 2 and "NAME=POINTS" in err
