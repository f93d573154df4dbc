import numpy as np
import pytest

import alexnet_np as an


@pytest.fixture(params=an.BACKENDS)
def backend(request):
    """Run a test once per backend ("numba", "numpy")."""
    with an.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    """A folder of two classes of six small photographs each (colour patches with noise, 48×40)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for label, colour in (("red", (200, 40, 40)), ("blue", (40, 40, 200))):
        (root / label).mkdir()
        for i in range(6):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.fixture
def small_blocks(monkeypatch):
    """Winograd's forward in blocks for problems of test size too (winograd_kernels.MIN_BLOCKED_BYTES at 0: V and
    M may be small; the other conditions of rows_per_block hold)."""
    from alexnet_np.ops import winograd_kernels

    monkeypatch.setattr(winograd_kernels, "MIN_BLOCKED_BYTES", 0)


@pytest.fixture
def two_blas_threads():
    """OpenBLAS at two threads for the test (the suite's workers run it at one), so there is something to cut
    into blocks for two threads (ops.gemm)."""
    from threadpoolctl import threadpool_limits

    from alexnet_np.ops import gemm

    with threadpool_limits(2, user_api="blas"):
        assert gemm._Blas().controller.get_num_threads() == 2, "NumPy's OpenBLAS not found by threadpoolctl"
        yield
