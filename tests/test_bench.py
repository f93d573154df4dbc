"""The benchmark runs and reports consistent numbers (timing goals live in the benchmark, not here)."""

import pytest

import alexnet_np.tools.bench as bench


@pytest.mark.slow
def test_benchmark_smoke():
    r = bench.run(
        batches=(1,),
        variants=("torchvision",),
        repeats=1,
        reference=True,
        memory=False,
        breakdown=True,
        log=lambda *a: None,
    )
    assert r["matmul_gflops"] > 0 and r["threads"] >= 1
    assert [(row["mode"], row["batch"]) for row in r["rows"]] == [("forward", 1), ("train_step", 1)]
    for row in r["rows"]:
        assert row["ours_s"] > 0 and row["torch_s"] > 0 and row["reference_s"] > 0
        assert abs(row["ratio"] - row["ours_s"] / row["torch_s"]) < 1e-12
        assert 0 <= row["outside_gemm"] <= 1
    assert set(r["breakdown"]["torchvision"]) >= {"conv1", "fc8"}
    table = bench.markdown_table(r)
    assert table.count("\n") == 3 and "torchvision" in table
    assert r["cold_start_s"] > 0 and r["cold_compile_s"] > 0
