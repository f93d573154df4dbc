"""Regression test: two models' worth of Numba kernels in two Python threads at once.

Each check runs in a fresh interpreter (an abort or a hang there must not kill pytest), with
whatever NUMBA_THREADING_LAYER the user has (the package's default unless set)."""

import subprocess
import sys
import textwrap

import pytest

_TWO_THREADS = textwrap.dedent("""
    import threading
    import numpy as np
    import alexnet_np as an

    def step(model, x, y):
        logits = model.forward(x, train=True)
        loss = an.CrossEntropyLoss()
        loss.forward(logits, y)
        model.backward(loss.backward())
        return [logits] + [g.copy() for g in model.grads.values()]

    def make():  # fresh models: dropout draws from each model's own generator
        return [an.AlexNet("mini", num_classes=10, seed=s) for s in (0, 1)]

    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((16, 3, 31, 31)).astype(np.float32) for _ in range(2)]
    ys = [rng.integers(0, 10, 16) for _ in range(2)]
    # one after the other (this also compiles every kernel before the threads start)
    expected = [[step(m, x, y) for _ in range(3)] for m, x, y in zip(make(), xs, ys)]
    models = make()
    got, errors, start = [None, None], [], threading.Barrier(2)

    def run(i):
        try:
            start.wait()
            got[i] = [step(models[i], xs[i], ys[i]) for _ in range(3)]
        except BaseException as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    for e, g in zip(expected, got):
        for es, gs in zip(e, g):
            assert len(es) == len(gs) > 1 and all(np.array_equal(a, b) for a, b in zip(es, gs))
    from alexnet_np.ops.threads import layer_in_use
    print("OK", layer_in_use())  # None on the NumPy backend: no parallel kernel ran
""")

_FORK_POOL = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    import alexnet_np as an

    def forward(seed):
        x = np.random.default_rng(seed).standard_normal((8, 3, 31, 31)).astype(np.float32)
        return an.AlexNet("mini", num_classes=10, seed=0).forward(x)

    if __name__ == "__main__":
        ref = forward(0)                          # a parallel kernel has run in the parent
        with mp.get_context("fork").Pool(2) as pool:
            out = pool.map_async(forward, [0, 1]).get(timeout=120)
        assert np.array_equal(out[0], ref)
        print("OK")
""")


def _run(code, timeout=300):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_two_models_in_two_threads_match_sequential():
    p = _run(_TWO_THREADS)
    assert p.returncode == 0, f"rc={p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"
    assert p.stdout.startswith("OK")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the 'fork' start method")
def test_fork_pool_after_parallel_kernel_does_not_hang():
    p = _run(_FORK_POOL.replace('if __name__ == "__main__":', "if True:"))
    assert p.returncode == 0, f"rc={p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"


def test_one_model_in_two_threads_is_refused_with_a_clear_error():
    """Sharing one model between threads would mix the layers' caches: the second caller is refused."""
    import copy

    import numpy as np

    import alexnet_np as an

    model = an.AlexNet("mini", num_classes=10, seed=0)
    x = np.zeros((1, 3, 31, 31), np.float32)
    with model._one_thread():  # as if another thread were inside forward or backward right now
        with pytest.raises(RuntimeError, match="used by two threads at once"):
            model.forward(x)
    twin = copy.deepcopy(model)  # a copy has a lock of its own
    with model._one_thread():
        np.testing.assert_array_equal(twin.forward(x), twin.forward(x))


def test_the_threading_layer_is_set_even_when_numba_was_imported_first():
    code = (
        "import numba, numpy as np, alexnet_np as an; "
        "an.AlexNet('mini', num_classes=10).forward(np.zeros((1, 3, 31, 31), np.float32)); "
        "print(numba.threading_layer())"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["ALEXNET_NP_BACKEND"] = "numba"  # a parallel kernel must run for the layer to be chosen
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "workqueue", p.stderr
