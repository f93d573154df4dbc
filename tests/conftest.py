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
