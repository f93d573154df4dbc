"""Test-run hooks for the whole repository (tests/ and notebooks/).

- Every notebook item (nbmake) is marked ``slow``, so ``pytest -m "not slow"`` is the fast subset.
- A notebook of the documentation site is executed by nbmake with matplotlib's inline backend (figures in
  its outputs, as in Jupyter) and, when it runs without error, kept executed in
  ``build/notebooks-executed/`` (``alexnet_np.tools.docs.store_executed``): the docs build renders that
  copy instead of executing the notebook a second time.
- The notebooks run first (they are the longest items), ``tests/test_docs.py`` after them and the rest of
  ``tests/`` last, so that in one ``python -m pytest`` the notebooks have been executed (and kept) before the
  site is built and checked.
- With two workers (``-n 2``, pytest-xdist, as the README's test command runs; ``--dist loadfile`` keeps a
  file's module fixtures on one worker; ``--no-loadscope-reorder`` keeps this order, which xdist would
  otherwise sort by the number of tests in a file), the worker that reaches the docs tests waits until every
  notebook of the run has finished on either worker (:func:`notebooks_finished`), then builds the site.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # Several workers share the cores: one OpenBLAS thread each, or the idle BLAS threads of one worker spin
    # on the cores the other worker's kernels need. Set before NumPy loads OpenBLAS; the user's value wins.
    # Numba keeps its threads, so the parallel kernels still run (and are tested) on several.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _finished_dir(config) -> Path | None:
    """Where the workers of one xdist run mark the notebooks they finished; None without xdist."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return None
    return Path(config.rootpath) / "build" / "notebooks-finished" / run


def _mark_finished(item):
    folder = _finished_dir(item.config)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / item.nodeid.replace("/", "__")).touch()


def notebooks_finished(config, timeout: float = 1800.0, log=print) -> bool:
    """Wait until every notebook item of this run has finished on whichever worker ran it (True), or
    ``timeout`` seconds have passed (False: the docs build then executes what it finds no copy of)."""
    import time

    folder = _finished_dir(config)
    expected = config.stash.get(_NOTEBOOK_ITEMS, [])
    if folder is None or not expected:
        return True
    deadline, said = time.monotonic() + timeout, False
    while True:
        missing = [n for n in expected if not (folder / n.replace("/", "__")).exists()]
        if not missing:
            return True
        if time.monotonic() > deadline:
            return False
        if not said:
            log(f"waiting for {len(missing)} notebook(s) still running on the other worker: {missing[0]} ...")
            said = True
        time.sleep(2.0)


_NOTEBOOK_ITEMS = pytest.StashKey[list]()
# The longest notebooks start first, so that two workers finish them together (README: time per notebook).
LONGEST = ("07_training", "05_forward_pass", "03_capstone", "11_gradients", "13_two_gpus", "09_receptive")
# Likewise the test files that take minutes, so that no worker is left with one of them at the end.
LONGEST_FILES = (
    "test_notebook_claims.py",
    "test_course.py",
    "test_winograd.py",
    "test_exercises.py",
    "test_model_torch.py",
    "test_bench.py",
    "test_contract.py",
    "test_distributed.py",
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    if getattr(item, "nbmake", False):
        _mark_finished(item)


def _keep_executed_copy(item):
    """Replace an nbmake item's run by the same run that also keeps the executed notebook."""
    from nbmake.nb_run import NotebookRun
    from nbmake.pytest_items import NotebookFailedException

    from alexnet_np.tools import docs

    source = Path(item.config.rootdir) / item.filename
    option = item.config.option

    def runtest():
        # Figures inline, as in Jupyter and on the site (CI's MPLBACKEND=Agg would leave them out).
        saved = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = docs.INLINE_BACKEND
        try:
            result = NotebookRun(
                source,
                option.nbmake_timeout,
                verbose=bool(option.verbose),
                kernel=option.nbmake_kernel,
                find_import_errors=option.nbmake_find_import_errors,
            ).execute()
        finally:
            if saved is None:
                del os.environ["MPLBACKEND"]
            else:
                os.environ["MPLBACKEND"] = saved
        if result.error is not None:
            raise NotebookFailedException(result)
        docs.store_executed(source, result.nb)

    item.runtest = runtest


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects by marker
def pytest_collection_modifyitems(config, items):
    from alexnet_np.tools import docs

    try:
        site = {p.resolve() for p in docs.site_notebooks(docs.repo_root(config.rootpath))}
    except ValueError:  # not a source checkout: nothing to keep for a site
        site = set()
    for item in items:
        if getattr(item, "nbmake", False):
            item.add_marker(pytest.mark.slow)
            path = (Path(item.config.rootdir) / item.filename).resolve()
            if path in site and not getattr(config.option, "overwrite", False):
                _keep_executed_copy(item)
    notebooks = sorted(
        (it for it in items if getattr(it, "nbmake", False)),
        key=lambda it: next((i for i, name in enumerate(LONGEST) if name in it.nodeid), len(LONGEST)),
    )  # stable: the rest in collection order
    docs_tests = [it for it in items if it.path.name == "test_docs.py"]
    placed = {id(it) for it in notebooks + docs_tests}
    rest = sorted(
        (it for it in items if id(it) not in placed),
        key=lambda it: next(
            (i for i, name in enumerate(LONGEST_FILES) if it.path.name == name), len(LONGEST_FILES)
        ),
    )
    items[:] = notebooks + docs_tests + rest


def pytest_sessionfinish(session):
    folder = _finished_dir(session.config)
    if folder is not None and not hasattr(session.config, "workerinput"):  # the controller, once all finished
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_finish(session):
    # After -m/-k deselection: the notebooks this run will execute.
    session.config.stash[_NOTEBOOK_ITEMS] = [
        it.nodeid for it in session.items if getattr(it, "nbmake", False)
    ]


@pytest.fixture(scope="session")
def executed_notebooks(request):
    """Every notebook of this run has finished (with xdist: on either worker) before the fixture returns."""
    if not notebooks_finished(request.config):
        print("the notebooks did not all finish in time: the docs build executes those it finds no copy of")
