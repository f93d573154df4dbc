"""Reliability, fourth round: what a newcomer trying careless input found (a tester on a fresh clone).

Three commands wrote over files they had not made (``bench``, ``convert-weights``) or changed the file they were
given to read (``class-report`` let nbgrader add its tables to any SQLite file, through a symbolic link too);
a few arguments ended in a traceback (``summary --input 3x99999999x99999999``, ``--classes 10**21``, ``tour
--seed -1``) or were dropped in silence (``exercises --points foo=3``); the course's notebooks were written
private (0600). Each test below failed before its fix.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.errors import BadArgument
from alexnet_np.tools import bench
from alexnet_np.tools.cli import main


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused_in_one_line(code, err, *words):
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, (code, err)
    for w in words:
        assert w in err, (w, err)


# ---- bench writes only its own files, only where told --------------------------------------------------

QUICK = [
    "--no-reference",
    "--repeats",
    "1",
    "--batches",
    "1",
    "--variants",
    "mini",
    "--no-fresh",
    "--no-cold",
]


def bench_refusal(capsys, *argv):
    """bench.main must refuse before it times anything: SystemExit(2) and one line."""
    with pytest.raises(SystemExit) as exit_:
        bench.main([str(a) for a in argv] + QUICK)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bench_refuses_to_replace_a_file_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "bench.md").write_text("my notes\n")
    assert "bench.md exists: refusing to replace it (--force replaces it)" in bench_refusal(
        capsys, "--out", out
    )
    assert (out / "bench.md").read_text() == "my notes\n"


def test_bench_never_writes_through_a_symbolic_link_even_with_force(tmp_path, capsys):
    out, target = tmp_path / "results", tmp_path / "precious.png"
    out.mkdir()
    target.write_bytes(b"mine")
    (out / "bench.png").symlink_to(target)
    err = bench_refusal(capsys, "--out", out, "--force")
    assert "bench.png is a symbolic link: refusing to write through it" in err
    assert target.read_bytes() == b"mine"


def test_bench_says_out_must_be_a_folder_before_it_runs(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "--out" in bench_refusal(capsys, "--out", afile) and afile.read_text() == "x"


# ---- convert-weights -----------------------------------------------------------------------------


def test_convert_weights_refuses_an_existing_destination_before_reading_the_source(tmp_path, capsys):
    dst = tmp_path / "mine.pth"
    dst.write_text("not weights, and not yours")
    code, _, err = run(capsys, "convert-weights", tmp_path / "missing.npz", dst)
    refused_in_one_line(code, err, "mine.pth exists: refusing to replace it (--force replaces it)")
    assert dst.read_text() == "not weights, and not yours"


def test_convert_weights_refuses_a_symbolic_link_as_destination_even_with_force(tmp_path, capsys):
    target, link = tmp_path / "target.npz", tmp_path / "link.npz"
    target.write_bytes(b"keep")
    link.symlink_to(target)
    code, _, err = run(capsys, "convert-weights", tmp_path / "missing.pth", link, "--force")
    refused_in_one_line(code, err, "is a symbolic link")
    assert target.read_bytes() == b"keep" and link.is_symlink()


# ---- class-report reads the gradebook, never changes it --------------------------------------------


def some_sqlite_file(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE foo (x INTEGER)")
    return path


@pytest.mark.parametrize("kind", ["another database", "an empty file", "a link to another database"])
def test_class_report_leaves_a_file_that_is_no_gradebook_as_it_was(tmp_path, capsys, kind):
    if kind == "an empty file":
        given = watched = tmp_path / "empty.db"
        given.write_bytes(b"")
    else:
        given = watched = some_sqlite_file(tmp_path / "mine.db")
        if kind == "a link to another database":
            given = tmp_path / "gradebook.db"
            given.symlink_to(watched)
    before = digest(watched), os.path.getsize(watched)
    code, _, err = run(capsys, "class-report", given)
    refused_in_one_line(code, err, "not an nbgrader gradebook")
    assert (digest(watched), os.path.getsize(watched)) == before


def test_class_report_reads_a_copy_of_the_gradebook(tmp_path, monkeypatch):
    """Even a real gradebook is not opened in place: nbgrader's Gradebook sees a copy elsewhere."""
    nbgrader_api = pytest.importorskip("nbgrader.api")
    book = tmp_path / "gradebook.db"
    with nbgrader_api.Gradebook(f"sqlite:///{book}") as gb:
        gb.add_assignment("hw1")
    opened = []

    class Spy(nbgrader_api.Gradebook):
        def __init__(self, url, *a, **k):
            opened.append(url)
            super().__init__(url, *a, **k)

    monkeypatch.setattr(nbgrader_api, "Gradebook", Spy)
    before = digest(book)
    from alexnet_np.exercises.classroom import class_report

    assert class_report(book).assignment == "hw1"
    assert opened and str(book.resolve()) not in opened[0] and digest(book) == before


# ---- arguments that ended in a traceback or were ignored --------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["summary", "--input", "3x99999999x99999999"], "input_size must be"),
        (["summary", "--classes", "999999999999999999999"], "num_classes must be"),
        (["summary", "--classes", "0"], "--classes"),
    ],
)
def test_a_summary_of_impossible_sizes_is_one_line(capsys, argv, words):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    err = capsys.readouterr().err
    refused_in_one_line(code, err, words)


def test_the_tour_refuses_a_negative_seed_before_it_starts(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["tour", "--seed", "-1"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and "non-negative" in err


def test_points_for_an_exercise_that_does_not_exist_are_refused(tmp_path, capsys):
    code, _, err = run(capsys, "exercises", "--course", tmp_path / "c", "--points", "foo=3")
    refused_in_one_line(code, err, "--points foo: no such exercise")
    assert not (tmp_path / "c").exists()


def test_the_course_notebooks_are_readable_by_others_as_any_new_file(tmp_path):
    from alexnet_np.exercises.course import make_course

    old = os.umask(0o022)
    try:
        written = make_course(tmp_path / "c")
    finally:
        os.umask(old)
    assert written and all(stat.S_IMODE(os.stat(p).st_mode) == 0o644 for p in written)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(seed=-1), "seed must be a non-negative int"),
        (dict(num_classes=True), "num_classes must be an int"),
        (dict(num_classes=10**9), "num_classes must be an int from 1 to"),
        (dict(input_size="abc"), "input_size must be"),
        (dict(input_size=(10**8, 10**8)), "input_size must be"),
        (dict(input_size=(31, 0)), "input_size must be"),
    ],
)
def test_alexnet_names_a_bad_argument_before_it_allocates(kwargs, words):
    with pytest.raises(BadArgument, match="AlexNet: ") as err:
        an.AlexNet("mini", **kwargs)
    assert words in str(err.value)


def test_an_unknown_layer_name_lists_the_layers():
    model = an.AlexNet("mini", seed=0, dtype=np.float64)
    with pytest.raises(KeyError, match="no layer 'conv9'; the layers are conv1, relu1"):
        model["conv9"]
