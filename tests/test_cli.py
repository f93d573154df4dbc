"""The command line: every command runs, --help works, bad input gives one line and exit status 2."""

import subprocess
import sys

import pytest

from alexnet_np.tools.cli import main


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_tour(capsys):
    code, out, _ = run(capsys, "tour")
    assert code == 0
    assert "62,378,344 trainable parameters" in out
    assert "(227 − 11)/4 + 1 = 55" in out and "54.25 → 54" in out
    assert "skimage.data.astronaut()" in out and "forward + backward of one image" in out
    assert "FAIL" not in out and "notebooks" in out


@pytest.mark.parametrize(
    "variant,count", [("paper", "60,965,224"), ("torchvision", "61,100,840"), ("seed_keras", "28,056,616")]
)
def test_summary(capsys, variant, count):
    code, out, _ = run(capsys, "summary", "--variant", variant)
    assert code == 0 and f"trainable parameters: {count}" in out


def test_summary_options(capsys):
    code, out, _ = run(capsys, "summary", "--input", "3x224x224", "--no-lrn", "--classes", "10")
    assert code == 0 and "54.25 → 54" in out and "lrn1" not in out and "4096→10" in out


@pytest.mark.parametrize(
    "argv,match",
    [
        (["summary", "--variant", "vgg"], "invalid choice"),
        (["summary", "--input", "3x22"], "expected C×H×W"),
        (["summary", "--input", "3x64x64"], "too small: layer pool5"),
        (["summary", "--input", "1x227x227"], "3 input channels"),
        (["gradcheck", "--layer", "Conv3d"], "unknown layer"),
        (["train", "--epochs", "0"], "positive integer"),
        (["train", "--lr", "-1"], "positive number"),
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
    assert not any(out_dir.iterdir())
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    (tmp_path / "imgs" / "a" / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    code, _, err = run(
        capsys, "train", "--dataset", "folder", "--data-dir", str(tmp_path / "imgs"), "--out", str(out_dir)
    )
    assert code == 2 and "cannot read image" in err and not any(out_dir.iterdir())
    code, _, err = run(capsys, "train", "--resume", "--out", str(out_dir))
    assert code == 2 and "no checkpoint" in err


def test_train_then_evaluate_then_resume(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "train", "--epochs", "1", "--out", str(out_dir), "--quiet")
    assert code == 0 and "held-out top-1" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "checkpoint.npz",
        "history.json",
        "history.png",
        "model.npz",
    ]
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(out_dir / "checkpoint.npz"))
    assert code == 0 and "359 held-out images" in out
    code, _, err = run(capsys, "train", "--epochs", "1", "--out", str(out_dir))
    assert code == 2 and "pass --resume" in err
    code, out, _ = run(capsys, "train", "--epochs", "2", "--out", str(out_dir), "--resume", "--quiet")
    assert code == 0 and "resumed from" in out and "epoch   2" in out


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "alexnet_np", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "tour" in r.stdout and "train" in r.stdout
