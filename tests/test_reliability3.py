"""Reliability, third round (issue 20): what a file or an argument may make us allocate, overwrite or trust.

Every test that would ask for a large allocation on a regression runs the command in a child process under
``resource.setrlimit(RLIMIT_AS)``: a regression fails there (MemoryError, a refusal missing) instead of
swapping the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

import alexnet_np as an

CAP = 1024 * 2**20  # virtual memory of a capped child: the interpreter, NumPy, Numba, and our work


def run_capped(*argv, cap=CAP, code=None):
    """``python -m alexnet_np ARGV`` (or ``python -c CODE``) with its address space capped at ``cap`` bytes."""
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(p for p in [os.path.abspath("src"), os.environ.get("PYTHONPATH")] if p),
    )

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "alexnet_np", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=limit, timeout=600)


def one_line_refusal(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


# ---- item 11: a summary needs no weights -------------------------------------------------------


def test_a_summary_of_a_giant_input_allocates_no_weights():
    """fc6 of the paper's network at 3×1200×1200 holds 1.3 billion weights (5.1 GiB in float32); the table
    is printed under a 1 GiB cap, with the parameter count the layer shapes give."""
    r = run_capped("summary", "--variant", "paper", "--input", "3x1200x1200", "--columns", "type,params")
    assert r.returncode == 0, r.stderr[-2000:]
    model = an.AlexNet.shapes_only("paper", input_size=1200)
    assert f"{model.num_params():,}" in r.stdout and model.num_params() > 1.3e9


@pytest.mark.parametrize("variant, size", [("seed_keras", 224), ("torchvision", 131), ("mini", 45)])
def test_the_shape_only_model_has_the_real_models_table(variant, size):
    real = an.AlexNet(variant, num_classes=7, input_size=size)
    plan = an.AlexNet.shapes_only(variant, num_classes=7, input_size=size)
    columns = list(real.summary().COLUMNS)
    shape = (4, 3, size, size)
    assert plan.summary(shape).table(columns) == real.summary(shape).table(columns)
    assert plan.construction_bytes() == real.construction_bytes()
    drawn = [p for p in plan.params.values() if p.ndim > 1]  # BatchNorm's γ, β are real (and small)
    assert drawn and not any(p.flags.writeable for p in drawn)  # never to be trained by mistake


# ---- item 6: the memory columns never overflow -------------------------------------------------


def test_summary_refuses_a_batch_its_figures_cannot_hold(capsys):
    from alexnet_np.tools.cli import main

    assert (
        main(["summary", "--variant", "torchvision", "--batch", str(10**15), "--columns", "train_mib"]) == 2
    )
    err = capsys.readouterr().err
    assert "int64" in err and "largest batch" in err and err.count("\n") == 1


def test_summary_figures_at_a_huge_batch_scale_exactly():
    """Below the limit, every layer's figure at batch B is B times its batch-1 figure (no wrap-around)."""
    model = an.AlexNet.shapes_only("mini", num_classes=10)
    big = 10**12
    one, many = model.summary((1, 3, 31, 31)), model.summary((big, 3, 31, 31))
    for a, b in zip(one.rows, many.rows):
        assert b.memory["kept"] == big * a.memory["kept"] and b.memory["kept"] >= 0
        assert b.memory["im2col"] == big * a.memory["im2col"]
