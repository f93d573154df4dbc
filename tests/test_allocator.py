"""glibc's malloc keeps freed memory for reuse (ops/buffers.py: keep_freed_memory), unless told not to."""

import os
import subprocess
import sys

import pytest

import alexnet_np as an
from alexnet_np.errors import BadArgument
from alexnet_np.ops import buffers

glibc_only = pytest.mark.skipif(buffers._glibc() is None, reason="mallopt and malloc_trim are glibc's")

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
print(an.ops.buffers.keeps_freed_memory, an.ops.buffers.mmap_threshold, faults() - before)
"""


def _child(code, malloc=None):
    """Run ``code`` in a fresh interpreter with glibc's own malloc settings cleared and ALEXNET_NP_MALLOC=malloc."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != buffers.MALLOC_ENV and not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
    }
    if malloc is not None:
        env[buffers.MALLOC_ENV] = malloc
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


@glibc_only
def test_freed_memory_is_faulted_again_under_glibc_s_defaults_and_reused_when_kept():
    kept, threshold, faults = _child(_FAULTS, "system")
    assert kept == "False" and threshold == "None" and int(faults) >= 32, faults
    kept, threshold, faults = _child(_FAULTS)
    assert kept == "True", "keep_freed_memory did not take"
    if int(threshold) < 128 << 20:
        pytest.skip(
            f"this glibc accepts an mmap threshold of {int(threshold) >> 20} MiB only: 64 MiB is mapped"
        )
    assert int(faults) <= 4, faults  # a few pages of Python's own at most


# A freed 24 MiB block below a live one: kept resident (under any threshold this module sets), until released.
_RELEASE = """
import numpy as np, alexnet_np as an
from alexnet_np.peak_memory import rss
a = np.ones(24 << 20, np.uint8); b = np.ones(1 << 20, np.uint8)  # b above a: a's memory is not the heap's top
before = rss(); del a; kept = rss()
print(an.ops.buffers.release_freed_memory(), (before - kept) >> 20, (kept - rss()) >> 20)
"""


@glibc_only
def test_memory_kept_for_reuse_stays_resident_until_released():
    released, dropped_on_free, dropped_on_release = _child(_RELEASE)
    assert int(dropped_on_free) < 4  # the freed 24 MiB stayed with the process, for reuse
    assert released == "True" and int(dropped_on_release) >= 20  # and went back on release_freed_memory()


def test_a_bad_setting_is_refused_by_name_and_leaves_the_allocator_alone(monkeypatch):
    with pytest.raises(BadArgument, match="ALEXNET_NP_MALLOC: expected 'keep' or 'system', got 'yes'"):
        buffers.malloc_choice("yes")
    assert buffers.malloc_choice("system") == "system"
    monkeypatch.setattr(buffers, "keeps_freed_memory", buffers.keeps_freed_memory)  # restored afterwards
    monkeypatch.setattr(buffers, "mmap_threshold", buffers.mmap_threshold)
    with pytest.warns(UserWarning, match="ALEXNET_NP_MALLOC: .* got 'yes'; glibc's allocator left as it is"):
        assert buffers.keep_freed_memory("yes") is False
    assert buffers.keeps_freed_memory is False and buffers.mmap_threshold is None
    monkeypatch.setenv(buffers.MALLOC_ENV, "yes")
    with pytest.raises(BadArgument, match="ALEXNET_NP_MALLOC"):
        an.ops.check_environment()  # what the command line runs before anything else
