"""``ops.gemm.matmul``: the same product as ``np.matmul``, cut into blocks on the library's threads with OpenBLAS
held to one thread while it runs (and given its thread count back after). About 2 s."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alexnet_np.ops import gemm


def _blas():
    blas = gemm._Blas()
    assert blas.controller is not None, "NumPy's OpenBLAS not found by threadpoolctl"
    return blas


CASES = {
    # name: (shape of a, shape of b, how it is cut at two threads)
    "rows": ((300, 70), (70, 110), "rows"),
    "columns (few rows, as a Linear layer's batch)": ((32, 500), (500, 300), "columns"),
    "columns (more columns than rows, as conv3's im2col at batch 1)": ((169, 60), (60, 384), "columns"),
    "stacked (Winograd's products)": ((16, 120, 40), (16, 40, 50), "stacked"),
    "broadcast b": ((3, 200, 60), (60, 90), "rows"),
    "too small to cut": ((20, 30), (30, 40), None),
}


@pytest.mark.parametrize("name", CASES)
def test_equal_to_numpy_matmul(name, two_blas_threads):
    a_shape, b_shape, cut = CASES[name]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    expected = np.matmul(a, b)
    got = gemm.matmul(a, b)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    # float64, K ≤ 500: a different blocking may change the rounding only, ~K·eps relative to |a|·|b|
    bound = 8 * a_shape[-1] * np.finfo(np.float64).eps * (np.abs(a) @ np.abs(b)).max()
    assert np.max(np.abs(got - expected)) <= bound
    out = np.full(expected.shape, np.nan)
    assert gemm.matmul(a, b, out=out) is out and np.array_equal(out, got)
    blocks = gemm._blocks(a, b, out, 2)
    assert (blocks is None) == (cut is None), name
    if cut is not None:
        assert len(blocks) == 2
        out[...] = np.nan
        blocks[0]()  # the first block fills the first half of the axis it cuts, across the others
        filled = ~np.isnan(out)
        axis = {"stacked": 0, "rows": -2, "columns": -1}[cut]
        half = out.shape[axis] // 2
        first, rest = np.split(filled, [half], axis=axis)
        assert first.all() and not rest.any(), (name, cut)


def test_writes_through_strided_views_as_the_layers_pass_them(two_blas_threads):
    """Im2col's groups write into column slices of one output; the weight arrives transposed."""
    rng = np.random.default_rng(1)
    cols, w = rng.standard_normal((400, 2 * 75)), rng.standard_normal((2 * 16, 75))
    y = np.zeros((400, 32))
    for g in range(2):
        gemm.matmul(
            cols[:, g * 75 : (g + 1) * 75], w[g * 16 : (g + 1) * 16].T, out=y[:, g * 16 : (g + 1) * 16]
        )
    expected = np.concatenate([cols[:, :75] @ w[:16].T, cols[:, 75:] @ w[16:].T], axis=1)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)


def test_openblas_runs_one_thread_inside_and_gets_its_count_back(two_blas_threads, monkeypatch):
    seen = []
    real = np.matmul

    def spy(a, b, out=None):
        seen.append(gemm._blas.controller.get_num_threads())
        return real(a, b, out=out)

    monkeypatch.setattr(gemm.np, "matmul", spy)
    gemm.matmul(np.ones((512, 64)), np.ones((64, 64)))
    assert seen == [1] * 4, seen  # two blocks per thread, each with OpenBLAS at one thread
    assert gemm._blas.controller.get_num_threads() == 2


def test_a_pool_thread_takes_blocks_while_the_caller_works(two_blas_threads, monkeypatch):
    """The caller's first block waits until another thread has run a block: only a pool thread can."""
    caller, other_ran, runners = threading.get_ident(), threading.Event(), []
    real = np.matmul

    def spy(a, b, out=None):
        me = threading.current_thread()
        runners.append(me.name)
        if me.ident == caller and len(runners) == 1:
            assert other_ran.wait(30), "no pool thread ran a block"
        elif me.ident != caller:
            other_ran.set()
        return real(a, b, out=out)

    monkeypatch.setattr(gemm.np, "matmul", spy)
    a, b = np.random.default_rng(2).standard_normal((512, 64)), np.ones((64, 64))
    np.testing.assert_allclose(gemm.matmul(a, b), a @ b, rtol=1e-12)
    assert "alexnet_np-gemm" in runners and len(runners) == 4


def test_the_caller_does_not_wait_for_a_busy_pool(two_blas_threads, monkeypatch):
    """With every pool thread held up, the caller runs all the blocks itself."""
    gemm._pool.ensure(1)
    release = threading.Event()
    for _ in gemm._pool.workers:  # occupy each pool thread with a task that waits
        gemm._pool.tasks.put(type("Hold", (), {"work": lambda self: release.wait(30)})())
    try:
        a = np.random.default_rng(3).standard_normal((512, 64))
        np.testing.assert_allclose(gemm.matmul(a, np.eye(64)), a, rtol=0, atol=0)
    finally:
        release.set()


def test_one_blas_thread_means_plain_numpy(monkeypatch):
    calls = []
    real = np.matmul
    monkeypatch.setattr(gemm.np, "matmul", lambda *a, **k: calls.append(1) or real(*a, **k))
    with threadpool_limits(1, user_api="blas"):
        gemm.matmul(np.ones((512, 64)), np.ones((64, 64)))
    assert calls == [1]


def test_a_failing_block_raises_in_the_caller_and_restores_openblas(two_blas_threads):
    a, b = np.ones((512, 64)), np.ones((64, 64))
    bad_out = np.empty((512, 64), dtype=np.int64)  # NumPy refuses to cast float64 into it
    with pytest.raises(TypeError):
        gemm.matmul(a, b, out=bad_out)
    assert gemm._blas.controller.get_num_threads() == 2 and gemm._blas.users == 0


def test_the_blocks_run_under_the_callers_errstate(two_blas_threads):
    """NumPy keeps errstate per thread: the pool's threads take the caller's."""
    a, b = np.full((512, 64), 1e200), np.full((64, 64), 1e200)  # every product overflows
    with np.errstate(over="ignore"):
        assert np.isinf(gemm.matmul(a, b)).all()  # silently
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        gemm.matmul(a, b)


def test_run_blocks_runs_each_block_once_with_openblas_at_one_thread(two_blas_threads):
    """``run_blocks`` (Winograd's forward in blocks): every block once, on the caller and a pool thread, OpenBLAS
    held at one thread while they run and given its count back; a failing block raises in the caller."""
    ran, lock, gate = [], threading.Lock(), threading.Barrier(2, timeout=30)

    def block(i):
        if i < 2:
            gate.wait()  # the first two blocks wait for each other: two threads must run them
        with lock:
            ran.append((i, threading.current_thread().name, gemm._blas.controller.get_num_threads()))

    gemm.run_blocks([lambda i=i: block(i) for i in range(6)])
    assert sorted(i for i, _, _ in ran) == list(range(6))
    assert {threads for _, _, threads in ran} == {1}
    assert "alexnet_np-gemm" in {name for _, name, _ in ran}
    assert gemm._blas.controller.get_num_threads() == 2 and gemm._blas.users == 0

    def fail():
        raise ValueError("block 3")

    with pytest.raises(ValueError, match="block 3"):
        gemm.run_blocks([lambda: None, fail, lambda: None])
    assert gemm._blas.controller.get_num_threads() == 2 and gemm._blas.users == 0
