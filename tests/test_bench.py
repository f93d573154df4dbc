"""The benchmark runs and reports consistent numbers (timing goals live in the benchmark, not here).

Cost: about two seconds once the kernels are loaded (the ``mini`` network at batch 1, two rounds, no fresh process,
one thread: on a loaded 2-core machine, several spinning thread pools made the same run take 30 s).
"""

import json

import numba
import pytest
import torch
from threadpoolctl import threadpool_limits

import alexnet_np.tools.bench as bench


@pytest.fixture
def one_thread(monkeypatch):
    """Numba, OpenBLAS and PyTorch on one thread each for the test, restored after it."""
    monkeypatch.setenv("ALEXNET_NP_BENCH_THREADS", "1")  # the benchmark sets PyTorch's count from it
    numba_threads, torch_threads = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        numba.set_num_threads(numba_threads)
        torch.set_num_threads(torch_threads)


def test_benchmark_smoke(one_thread):
    r = bench.run(
        batches=(1,),
        variants=("mini",),
        repeats=2,
        reference=True,
        memory=False,
        breakdown=True,
        log=lambda *a: None,
        fresh=False,
        best=False,
        cold=False,
        gemm_n=256,
    )
    assert (
        r["matmul_gflops"] > 0
        and r["matmul_gflops_end"] > 0
        and r["threads"] >= 1
        and r["torch_threads"] >= 1
    )
    assert [(row["mode"], row["batch"]) for row in r["rows"]] == [("forward", 1), ("train_step", 1)]
    for row in r["rows"]:
        assert row["ours_s"] > 0 and row["torch_s"] > 0 and row["reference_s"] > 0
        assert row["ours_s"] == row["ours"]["min"] <= row["ours"]["median"] <= row["ours"]["max"]
        assert abs(row["ratio"] - row["ours_s"] / row["torch_s"]) < 1e-12
        assert 0 <= row["outside_gemm"] <= 1
    assert set(r["breakdown"]["mini"]) >= {"conv1", "fc8"}
    table = bench.markdown_table(r)
    assert table.count("\n") == 3 and "mini" in table
    assert "Load average" in bench.conditions(r) and "GFLOP/s" in bench.conditions(r)


def test_summary_and_the_fresh_process_warning():
    s = bench.summarize([0.3, 0.1, 0.2])
    assert (s["min"], s["median"], s["max"]) == (0.1, 0.2, 0.3) and abs(s["spread"] - 2.0) < 1e-12
    row = dict(variant="mini", batch=1, mode="forward", ours_s=0.05, torch_s=0.1)
    assert bench.check_fresh(dict(row, torch_fresh=bench.summarize([0.08, 0.1]))) is None  # inside the range
    warning = bench.check_fresh(dict(row, torch_fresh=bench.summarize([0.07, 0.09])))
    assert "above its fresh-process range" in warning and "0.71" in warning  # 0.05 / 0.07


def test_child_prints_json(capsys, one_thread):
    """What the fresh PyTorch process prints: one JSON object with min ≤ median ≤ max per row."""
    assert bench.main(["--child", "torch", "--variants", "mini", "--batches", "1", "--repeats", "1"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(got["rows"]) == {"mini/1/forward", "mini/1/train_step"}
    assert all(0 < v["min"] <= v["median"] <= v["max"] for v in got["rows"].values())


@pytest.mark.parametrize("train", [False, True])
def test_gemm_share_times_a_layers_products_of_one_shape_as_one_stacked_product(train, monkeypatch):
    """Winograd's α² products of one shape are one ``gemm.matmul`` in the layer, so the GEMM share times one
    stacked product per shape (each product once untimed, then ``repeats`` times), not α² of them."""
    import alexnet_np as an
    from alexnet_np.ops import gemm

    conv = an.Conv2d(3, 16, 3, padding=1, algorithm="winograd")

    class Model:  # what gemm_seconds reads of a model: its input size and its (name, layer) pairs
        input_size = (12, 12)

        def __iter__(self):
            return iter(an.Sequential([("conv", conv), ("relu", an.ReLU())]))

    model = Model()
    shapes = conv.gemm_shapes((2, 3, 12, 12))
    assert len(shapes) > 1 and len(set(shapes)) == 1  # α² products of one shape
    seen = []
    real = gemm.matmul
    monkeypatch.setattr(gemm, "matmul", lambda a, b, out=None: seen.append(a.shape[0]) or real(a, b, out=out))
    repeats = 3
    assert bench.gemm_seconds(model, 2, train=train, repeats=repeats) > 0
    kinds = (
        3 if train else 2
    )  # both orientations of the forward product, then the weight gradient (first layer)
    assert len(seen) == kinds * (repeats + 1)
    assert set(seen) == {len(shapes)}  # every call is the whole stack


def test_each_timed_call_of_a_round_follows_a_pause():
    """PyTorch's threads spin for a few ms after each call: the interleaved rounds pause before every timed call,
    so neither side is timed on a core the other still holds (``--settle``; 0 runs them back to back)."""
    import time

    marks = []

    def fn(name):
        return lambda: marks.append((name, time.perf_counter(), time.perf_counter()))

    settle = 0.01
    times = bench._time_interleaved({"a": fn("a"), "b": fn("b")}, repeats=3, settle=settle)
    assert [len(v) for v in times.values()] == [3, 3]
    timed = marks[2:]  # after the one untimed warm-up call of each
    assert [name for name, _, _ in timed] == ["a", "b"] * 3
    gaps = [start - end for (_, _, end), (_, start, _) in zip(timed, timed[1:])]
    assert min(gaps) >= settle  # time.sleep waits at least as long as asked


def test_idle_spin_counts_the_cpu_a_call_leaves_burning():
    """A call that leaves a thread to burn 5 ms of CPU after it returns is charged at least that, a call that leaves
    nothing, less. The thread waits 0.5 s before it spins (the caller is inside its pause long before: it has two
    lines to run) and has 1.5 s of the pause to burn its 5 ms, margins wide enough for a loaded machine."""
    import threading
    import time

    def leaves_a_spinner():
        def spin():
            time.sleep(0.5)
            t = time.thread_time()
            while time.thread_time() - t < 0.005:
                pass

        threading.Thread(target=spin).start()

    assert bench.idle_spin_ms(leaves_a_spinner, pause=2.0, repeats=1) >= 4.9
    assert bench.idle_spin_ms(lambda: None, pause=0.05, repeats=3) < 4.9


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "20000"])
def test_settle_out_of_range_is_one_line(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--settle", bad, "--variants", "mini", "--batches", "1", "--repeats", "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--settle must be between 0 and 10000 ms" in err and err.count("\n") == 1


def test_pytorch_alone_runs_with_glibc_s_allocator_as_its_users_have_it(monkeypatch):
    """The harness imports alexnet_np, whose import keeps freed memory for reuse: PyTorch's fresh processes (timing
    and memory) are told not to (ALEXNET_NP_MALLOC=system); ours and the best-settings process keep the default."""
    import types

    seen = {}

    def fake_run(cmd, **kwargs):
        seen[cmd[2][:40]] = kwargs["env"]
        return types.SimpleNamespace(stdout='{"rows": {}}\n')

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    monkeypatch.delenv("ALEXNET_NP_MALLOC", raising=False)
    for kind in ("torch", "best"):
        seen.clear()
        bench._child(kind, [1], ["mini"], 1, False)
        (env,) = seen.values()
        assert env.get("ALEXNET_NP_MALLOC") == ("system" if kind == "torch" else None), kind
    for framework in ("torch", "numpy"):
        seen.clear()
        bench.memory_in_subprocess(framework, "mini", 1)
        (env,) = seen.values()
        assert env.get("ALEXNET_NP_MALLOC") == ("system" if framework == "torch" else None), framework
