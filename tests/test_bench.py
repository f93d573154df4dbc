"""The benchmark runs and reports consistent numbers (timing goals live in the benchmark, not here).

Cost: a few seconds (the ``mini`` network at batch 1, one or two rounds, no fresh processes but one child).
"""

import json

import alexnet_np.tools.bench as bench


def test_benchmark_smoke():
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


def test_child_prints_json(capsys):
    """What the fresh PyTorch process prints: one JSON object with min ≤ median ≤ max per row."""
    assert bench.main(["--child", "torch", "--variants", "mini", "--batches", "1", "--repeats", "1"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(got["rows"]) == {"mini/1/forward", "mini/1/train_step"}
    assert all(0 < v["min"] <= v["median"] <= v["max"] for v in got["rows"].values())
