"""Test-run hooks for the whole repository (tests/ and notebooks/).

- Every notebook item (nbmake) is marked ``slow``, so ``pytest -m "not slow"`` is the fast subset.
- A notebook of the documentation site is executed by nbmake with matplotlib's inline backend (figures in
  its outputs, as in Jupyter) and, when it runs without error, kept executed in
  ``build/notebooks-executed/`` (``alexnet_np.tools.docs.store_executed``): the docs build renders that
  copy instead of executing the notebook a second time.
- ``tests/test_docs.py`` runs last, so that in one ``python -m pytest`` the notebooks have been executed
  (and kept) before the site is built and checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
    last = [it for it in items if it.path.name == "test_docs.py"]
    items[:] = [it for it in items if it.path.name != "test_docs.py"] + last
