"""No silent minute: a command says what it is about to do before a long wait, the Numba compilation first.

Runs ``gradcheck --layer MaxPool2d`` twice in fresh processes over an empty Numba cache folder: the first
must announce the compilation before any result, the second must say it loads from the cache. About 10 s on
two cores (the max-pool kernels compile in float64 once).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _gradcheck(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_np", "gradcheck", "--layer", "MaxPool2d"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.splitlines()


@pytest.mark.slow
def test_the_first_run_says_it_compiles_before_it_does(tmp_path):
    lines = _gradcheck(tmp_path)
    first_result = next(i for i, line in enumerate(lines) if line.startswith("MaxPool2d"))
    notices = [i for i, line in enumerate(lines) if "compiling the float64 kernels" in line]
    assert notices and notices[0] < first_result, lines
    assert any(line.startswith("checking 2 layer types") for line in lines[:first_result]), lines
    again = _gradcheck(tmp_path)
    assert any("loading the float64 kernels from Numba's cache" in line for line in again), again
    assert not any("compiling" in line for line in again), again
