"""glibc's malloc keeps freed memory for reuse (ops/buffers.py: keep_freed_memory), unless told not to."""

import os
import subprocess
import sys

import pytest

from alexnet_np.errors import BadArgument
from alexnet_np.ops import buffers

# Faults of a fresh 64 MiB array's first write, after one of the same size was made, written and freed. glibc
# maps any block above 32 MiB (its largest dynamic threshold) and unmaps it when freed, so under its defaults the
# second array faults again: at least 32 faults even on 2 MiB huge pages. Kept, it reuses the freed memory.
_FAULTS = """
import resource, numpy as np, alexnet_np as an
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.empty(64 << 20, np.uint8); a[:] = 1; del a
before = faults()
b = np.empty(64 << 20, np.uint8); b[:] = 1
print(an.ops.buffers.keeps_freed_memory, faults() - before)
"""


def _run(malloc):
    env = {k: v for k, v in os.environ.items() if k != buffers.MALLOC_ENV}
    if malloc is not None:
        env[buffers.MALLOC_ENV] = malloc
    p = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    kept, faults = p.stdout.split()
    return kept == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_memory_is_reused_by_default_and_faulted_again_under_the_system_setting():
    kept, faults = _run(None)
    assert kept and faults <= 4, faults  # a few pages of Python's own at most
    kept, faults = _run("system")
    assert not kept and faults >= 32, faults


def test_a_bad_setting_is_refused_by_name_and_leaves_the_allocator_alone():
    with pytest.raises(BadArgument, match="ALEXNET_NP_MALLOC: expected 'keep' or 'system', got 'yes'"):
        buffers.malloc_choice("yes")
    assert buffers.keep_freed_memory("yes") is False
    assert buffers.malloc_choice("system") == "system"


_RELEASE = """
import numpy as np, alexnet_np as an
from alexnet_np.peak_memory import rss
a = np.ones(100 << 20, np.uint8); b = np.ones(1 << 20, np.uint8)  # b above a: a's memory is not the heap's top
before = rss(); del a; kept = rss()
print(an.ops.buffers.release_freed_memory(), (before - kept) >> 20, (kept - rss()) >> 20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux only")
def test_memory_kept_for_reuse_stays_resident_until_released():
    env = {k: v for k, v in os.environ.items() if k != buffers.MALLOC_ENV}
    p = subprocess.run([sys.executable, "-c", _RELEASE], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    released, dropped_on_free, dropped_on_release = p.stdout.split()
    assert int(dropped_on_free) < 10  # the freed 100 MiB stayed with the process, for reuse
    assert released == "True" and int(dropped_on_release) >= 90  # and went back on release_freed_memory()
