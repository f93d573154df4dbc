"""experiments/step_stages.py: the bytes it charges each kernel call; a run leaves the library as it found it."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from alexnet_np.ops import gemm
from alexnet_np.ops import kernels as K
from alexnet_np.ops import winograd_kernels as W


@pytest.fixture(scope="module")
def stages():
    path = Path(__file__).resolve().parent.parent / "experiments" / "step_stages.py"
    spec = importlib.util.spec_from_file_location("step_stages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_distinct_array_counts_once(stages):
    a = np.zeros((3, 4), np.float32)  # 48 bytes
    b = np.zeros(5, np.float64)  # 40 bytes
    assert stages.spanned_bytes(a, (a, [b, a]), 7, None) == 48 + 40
    assert stages.spanned_bytes(a, a[:2]) == 48 + 32  # a view of other bytes is other bytes
    assert stages.spanned_bytes(W.shape_only((1000, 1000), np.float32)) == 0  # a stride-0 stand-in


def test_a_run_prints_every_floor_and_puts_the_kernels_back(stages, capsys):
    wrapped = [(m, n) for m, names in stages.ENTRY_POINTS.items() for n in names] + [stages.BLOCKS]
    before = {(m, n): getattr(m, n) for m, n in wrapped}
    stages.main(["--variant", "mini", "--batch", "2", "--steps", "1", "--bandwidth"])
    out = capsys.readouterr().out
    floors = out[out.index("memory bandwidth") :].splitlines()
    assert "their floor" in floors[-1]
    rows = {line.split()[0]: line.split()[1:6] for line in floors[2:-1]}
    for name in ("lrn_forward", "maxpool_forward", "sgd_paper_update", "matmul"):
        mb, ms, speed, floor, times = map(float, rows[name])  # MB, ms a step, GB/s, floor ms, × floor
        # printed rounded (MB to 1, ms to 0.1): a small kernel on a fast machine shows 0
        assert min(mb, ms, speed, floor, times) >= 0
    assert float(rows["matmul"][1]) > 0  # 23 products a step: never under 0.05 ms
    assert all(getattr(m, n) is before[m, n] for m, n in wrapped)
    assert {K, W, gemm} == set(stages.ENTRY_POINTS)
