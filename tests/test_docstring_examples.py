"""Every ``>>>`` example in the package's docstrings runs and prints what it shows (an example too slow to run in
the suite, a training run, says ``# doctest: +SKIP``). Cost: a few seconds."""

import doctest
import importlib
import pkgutil

import pytest

import alexnet_np


def _modules_with_examples():
    found = []
    for info in pkgutil.walk_packages(alexnet_np.__path__, "alexnet_np."):
        if "__main__" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # a wing whose extra is missing (mpi4py): its examples run where it is installed
            continue
        tests = doctest.DocTestFinder().find(module)
        if any(not e.options.get(doctest.SKIP) for t in tests for e in t.examples):
            found.append(info.name)
    return sorted(found)


WITH_EXAMPLES = _modules_with_examples()


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.attempted > 0 and result.failed == 0, (
        f"{result.failed} of {result.attempted} failed (above)"
    )


def test_the_examples_are_found():
    """The finder sees the examples of the model and the grader: the test above is not looking at nothing."""
    assert {"alexnet_np.model", "alexnet_np.exercises"} <= set(WITH_EXAMPLES), WITH_EXAMPLES
