"""The command line: every command runs, --help works, bad input gives one line and exit status 2."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet_np.tools.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_tour(capsys):
    code, out, _ = run(capsys, "tour")
    assert code == 0
    assert "62,378,344 trainable parameters" in out
    assert "(227 − 11)/4 + 1 = 55" in out and "54.25 → 54" in out
    assert "bundled photograph (astronaut)" in out and "forward + backward of one image" in out
    assert "FAIL" not in out and "notebooks" in out


@pytest.mark.parametrize(
    "variant,count", [("paper", "60,965,224"), ("torchvision", "61,100,840"), ("seed_keras", "28,056,616")]
)
def test_summary(capsys, variant, count):
    code, out, _ = run(capsys, "summary", "--variant", variant)
    assert code == 0 and f"trainable parameters: {count}" in out


def test_summary_options(capsys):
    code, out, _ = run(
        capsys,
        "summary",
        "--input",
        "3x224x224",
        "--no-lrn",
        "--classes",
        "10",
        "--columns",
        "type,output_size",
    )
    assert code == 0 and "54.25 → 54" in out and "lrn1" not in out and "4096→10" in out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["summary", "--variant", "vgg"], "invalid choice"),
        (["summary", "--input", "3x22"], "expected C×H×W"),
        (["summary", "--input", "3x64x64"], "too small: layer pool5"),
        (["summary", "--input", "1x227x227"], "3 input channels"),
        (["gradcheck", "--layer", "Conv3d"], "unknown layer"),
        (["train", "--epochs", "0"], "expected a positive integer"),
        (["train", "--lr", "-1"], "positive finite number"),
        (["train", "--lr", "inf"], "positive finite number"),
        (["train", "--seed", "-1"], "argument --seed: expected a non-negative integer"),
        (["train", "--dataset", "folder"], "needs --data-dir"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2 and match in err
    assert len(err.strip().splitlines()) == 1, err


def test_gradcheck_one_layer(capsys):
    code, out, _ = run(capsys, "gradcheck", "--layer", "MaxPool2d")
    assert code == 0 and "MaxPool2d 3/2" in out and "all checks passed" in out


def test_train_errors_leave_nothing_behind(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, _, err = run(
        capsys, "train", "--dataset", "folder", "--data-dir", str(tmp_path / "missing"), "--out", str(out_dir)
    )
    assert code == 2 and "does not exist" in err
    assert not out_dir.exists()  # the folder the refused run made is gone again
    for name in ("a", "b"):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        (tmp_path / "imgs" / name / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    code, _, err = run(
        capsys, "train", "--dataset", "folder", "--data-dir", str(tmp_path / "imgs"), "--out", str(out_dir)
    )
    assert code == 2 and "cannot read image" in err and not out_dir.exists()
    code, _, err = run(capsys, "train", "--resume", "--out", str(out_dir))
    assert code == 2 and "no checkpoint" in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory, photos):
    """One epoch on a folder of twelve small photographs (seconds, where the default digits run takes a
    minute), trained once for the tests that need a run; each test works on its own copy."""
    out_dir = tmp_path_factory.mktemp("trained") / "run"
    code = main(
        [
            "train",
            "--dataset",
            "folder",
            "--data-dir",
            str(photos),
            "--epochs",
            "1",
            "--out",
            str(out_dir),
            "--quiet",
        ]
    )
    assert code == 0
    return out_dir


def copy_of(trained, tmp_path):
    return Path(shutil.copytree(trained, tmp_path / "run"))


@pytest.mark.slow
def test_train_writes_its_files_then_evaluate_then_resume(capsys, tmp_path, trained, photos):
    assert sorted(p.name for p in trained.iterdir()) == [
        "checkpoint.npz",
        "history.json",
        "history.png",
        "model.npz",
        "run.json",
    ]
    out_dir = copy_of(trained, tmp_path)
    data = ("--dataset", "folder", "--data-dir", str(photos))
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(out_dir / "checkpoint.npz"), *data)
    assert code == 0 and ": 2 held-out images" in out  # 12 photographs: 10 trained on, 2 held out
    again = ("train", *data, "--out", str(out_dir))
    code, _, err = run(capsys, *again, "--epochs", "1")
    assert code == 2 and "--resume continues it" in err and "--force" in err
    # --seed 0 is the run's own value: no change, so the resume goes on
    code, out, _ = run(capsys, *again, "--epochs", "2", "--resume", "--seed", "0", "--quiet")
    assert code == 0 and "resumed from" in out and "epoch   2" in out
    assert "its settings: batch_size=32, lr=0.01" in out


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "alexnet_np", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "tour" in r.stdout and "train" in r.stdout


def test_a_diverging_run_stops_before_the_weights_are_damaged(capsys, tmp_path):
    """--lr 1e30 explodes at the first steps: exit 1, one line naming the step, no model.npz written."""
    out_dir = tmp_path / "run"
    code, _, err = run(capsys, "train", "--epochs", "1", "--lr", "1e30", "--out", str(out_dir), "--quiet")
    assert code == 1 and err.count("\n") == 1
    assert "training diverged at step" in err and "not updated" in err
    assert not (out_dir / "model.npz").exists() and not (out_dir / "checkpoint.npz").exists()


@pytest.mark.slow
def test_two_runs_cannot_share_an_output_folder(capsys, tmp_path):
    import fcntl
    import os

    out_dir = tmp_path / "run"
    out_dir.mkdir()
    fd = os.open(out_dir, os.O_RDONLY)  # a run in progress holds the folder's lock
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(out_dir), "--quiet")
    finally:
        os.close(fd)
    assert code == 2 and "another training run is writing to" in err
    assert not any(out_dir.iterdir())


@pytest.mark.slow
def test_resume_refuses_what_would_change_the_run(capsys, tmp_path, trained, photos):
    out_dir = copy_of(trained, tmp_path)
    data = ("--dataset", "folder", "--data-dir", str(photos))
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    for option, value in (("--seed", "5"), ("--lr", "0.1"), ("--batch-size", "8"), ("--schedule", "none")):
        code, _, err = run(
            capsys, "train", *data, "--epochs", "2", "--resume", option, value, "--out", str(out_dir)
        )
        assert code == 2 and f"refusing {option} {value}" in err, err
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before


def test_os_errors_are_one_line(capsys, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run(
        capsys, "train", "--epochs", "1", "--out", str(a_file / "sub")
    )  # makedirs under a file
    assert code == 2 and err.count("\n") == 1 and "not a directory" in err.lower()
    code, _, err = run(
        capsys, "train", "--epochs", "1", "--dataset", "digits", "--data-dir", "x", "--out", str(tmp_path)
    )
    assert code == 2 and "--data-dir is read only with --dataset folder" in err


@pytest.mark.parametrize("variant", ["single_tower", "paper", "torchvision", "seed_keras", "mini"])
def test_the_default_summary_fits_100_columns(capsys, variant):
    code, out, _ = run(capsys, "summary", "--variant", variant)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    code, out, _ = run(capsys, "summary", "--variant", variant, "--columns", "type,output_size,params")
    assert code == 0 and "conv1" in out and " + 1 = " in out  # the output-size arithmetic, on request
    code, _, err = run(capsys, "summary", "--columns", "type,bogus")
    assert code == 2 and "unknown summary columns ['bogus']" in err


def test_exercises_builds_a_student_and_a_solution_copy(capsys, tmp_path):
    import json
    import pathlib

    src = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "exercises"
    code, out, _ = run(
        capsys,
        "exercises",
        "--src",
        str(src),
        "--student",
        str(tmp_path / "s"),
        "--solutions",
        str(tmp_path / "f"),
    )
    assert code == 0 and "without solutions" in out and "with solutions" in out
    student = "".join(
        "".join(c["source"])
        for nb in (tmp_path / "s").glob("*.ipynb")
        for c in json.loads(nb.read_text())["cells"]
    )
    full = "".join(
        "".join(c["source"])
        for nb in (tmp_path / "f").glob("*.ipynb")
        for c in json.loads(nb.read_text())["cells"]
    )
    assert "NotImplementedError" in student and "BEGIN SOLUTION" not in student
    assert "BEGIN SOLUTION" not in full and len(full) > len(student)
    code, _, err = run(capsys, "exercises")
    assert code == 2 and "--student DIR" in err


def test_bench_passes_its_options_through(capsys):
    """``bench --help`` reaches the benchmark's own parser (argparse's REMAINDER alone would refuse ``--help``)."""
    from alexnet_np.tools.cli import main

    assert main(["bench", "--help"]) == 0
