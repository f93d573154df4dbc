"""Every notebook's asserts can fail: each notebook run against a library with a planted bug must stop
with an ``AssertionError`` in the cell that states the claim the bug breaks.

The bug is planted from outside the library: an IPython startup file in a temporary IPython directory
(``IPYTHONDIR``, inherited by the notebook's kernel) imports ``alexnet_np`` and replaces a function or
method before the notebook's first cell runs. :func:`_plant` (defined in the startup file) rebinds a
module-level name in every ``alexnet_np`` module that imported it, so ``an.conv_output_size``,
``alexnet_np.shapes.conv_output_size`` and every ``from .shapes import ...`` see the same bug.

A notebook is executed only up to its claim cell (the first cell whose source contains ``claim``), so
the slow cells after it never run, and the run stops at the first failing cell.

The rule binds every notebook in ``notebooks/`` and in its folders (``derivations/``, ``exercises/``): one
that declares no planted bug fails
``test_every_notebook_declares_a_planted_bug``. A notebook declares its bugs here (``PLANTS``) or in its
own metadata, ``metadata["alexnet_np"]["planted_bugs"]``: a list of ``{"bug", "plant", "claim"}`` with
the same meaning as the fields of :class:`Plant` (and an optional ``skip``).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("*/*.ipynb"))

# Defined in the kernel before any plant runs.
PRELUDE = '''
import importlib
import sys

import alexnet_np


def _plant(module_name, name, new):
    """Rebind ``module_name.name`` to ``new`` in every alexnet_np module that bound the original."""
    original = getattr(importlib.import_module(module_name), name)
    hits = 0
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("alexnet_np") and getattr(mod, name, None) is original:
            setattr(mod, name, new)
            hits += 1
    assert hits, f"nothing bound {module_name}.{name}"
    return original


def _edit_results(edit):
    """Make ``json.loads`` hand every results dict (one with "commit" and "tuning") to ``edit`` first."""
    import json

    loads = json.loads

    def edited(text, *args, **kwargs):
        data = loads(text, *args, **kwargs)
        if isinstance(data, dict) and "commit" in data and "tuning" in data:
            edit(data)
        return data

    json.loads = edited
'''


@dataclass(frozen=True)
class Plant:
    bug: str  # what is wrong, in words (the test id)
    plant: str  # Python run by the kernel's startup file, after PRELUDE
    claim: str  # a string found in the source of the cell that must fail, and in no cell before it
    skip: tuple = ()  # strings marking slow cells before the claim that it does not depend on: not run


PLANTS: dict[str, list[Plant]] = {
    "01_output_sizes.ipynb": [
        Plant(
            "output size off by one",
            """
            _orig = alexnet_np.shapes.conv_output_size

            def _off_by_one(n, k, s=1, p=0, ceil_mode=False):
                return _orig(n, k, s, p, ceil_mode) + 1

            _plant("alexnet_np.shapes", "conv_output_size", _off_by_one)
            """,
            "== count_windows(n, k, s, p)",
        ),
    ],
    "02_parameter_counts.ipynb": [
        Plant(
            "Conv2d ignores groups",
            """
            from alexnet_np.layers import Conv2d

            _init = Conv2d.__init__

            def _no_groups(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, *a, **kw):
                _init(self, in_channels, out_channels, kernel_size, stride, padding, 1, *a, **kw)

            Conv2d.__init__ = _no_groups
            """,
            "assert total == models[variant].num_params()",
        ),
    ],
    "03_gradient_checking.ipynb": [
        Plant(
            "LRN backward off by 0.1%",
            """
            from alexnet_np.layers import LocalResponseNorm

            _backward = LocalResponseNorm.backward

            def _wrong(self, dout, input_grad=True):
                dx = _backward(self, dout, input_grad)
                return None if dx is None else dx * 1.001

            LocalResponseNorm.backward = _wrong
            """,
            "assert ok and worst <",
        ),
        Plant(
            "rel_error with a small constant in its denominator (the usual guard against 0/0)",
            """
            import numpy as np

            def _guarded(a, b):
                a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
                return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-8))

            _plant("alexnet_np.gradcheck", "rel_error", _guarded)
            """,
            "assert rel_error(v, np.zeros_like(v)) == 1.0",
        ),
    ],
    "04_im2col.ipynb": [
        Plant(
            "col2im overwrites instead of accumulating",
            """
            import inspect
            import textwrap

            from alexnet_np.ops import reference

            # the library's own col2im, its accumulation (+=) made an assignment: follows the library's changes
            _source = textwrap.dedent(inspect.getsource(reference.col2im))
            assert _source.count("] += ") == 1, "col2im no longer accumulates with one '+=': update this plant"
            _namespace = dict(vars(reference))
            exec(_source.replace("] += ", "] = "), _namespace)

            def _col2im_overwrite(cols, x_shape, kernel_size, stride=1, padding=0, **layout):
                return _namespace["col2im"](cols, x_shape, kernel_size, stride, padding)

            alexnet_np.ops.reference.col2im = _col2im_overwrite
            alexnet_np.ops.kernels.col2im = _col2im_overwrite
            """,
            "assert np.array_equal(counts[0, 0]",
        ),
    ],
    "05_forward_pass.ipynb": [
        Plant(
            "the gradient with respect to the image 10% too large",
            """
            from alexnet_np.layers import Conv2d

            _backward = Conv2d.backward

            def _wrong(self, dout, input_grad=True):
                dx = _backward(self, dout, input_grad)
                return dx * 1.1 if dx is not None and self.in_channels == 3 else dx

            Conv2d.backward = _wrong
            """,
            "predicted = ",
            skip=("Trainer(", "def roughness("),  # the mini network's training: unrelated to the saliency
        ),
    ],
    "06_tutorials_checked.ipynb": [
        Plant(
            "paper-form dropout does not scale at test time",
            """
            from alexnet_np.layers import Dropout

            _forward = Dropout.forward

            def _wrong(self, x, train=False):
                return x if not train else _forward(self, x, train)

            Dropout.forward = _wrong
            """,
            "paper_drop.forward(",
        ),
    ],
    # the exercise workbook's plants live here, not in the notebooks' metadata: students get those notebooks
    "exercises/01_backward_passes.ipynb": [
        Plant(
            "the library's output size off by one",
            """
            _orig = alexnet_np.shapes.conv_output_size

            def _off_by_one(n, k, s=1, p=0, ceil_mode=False):
                return _orig(n, k, s, p, ceil_mode) + 1

            _plant("alexnet_np.shapes", "conv_output_size", _off_by_one)
            """,
            'report(grade("output_size_by_hand"',
        ),
    ],
    "exercises/02_more_layers.ipynb": [
        Plant(
            "Linear's weight gradient doubled",
            """
            from alexnet_np.layers import Linear

            _backward = Linear.backward

            def _doubled(self, dout, input_grad=True):
                dx = _backward(self, dout, input_grad)
                self.grads["weight"] *= 2
                return dx

            Linear.backward = _doubled
            """,
            'report(grade("linear_dw_by_hand"',
        ),
    ],
    "exercises/03_capstone.ipynb": [
        Plant(
            "the reference max pool averages",
            """
            import alexnet_np.ops.reference as _ref

            _maxpool = _ref.maxpool_forward

            def _wrong(x, *args, **kwargs):
                y, argmax = _maxpool(x, *args, **kwargs)
                return 0.5 * y, argmax

            _ref.maxpool_forward = _wrong
            """,
            "assert check.passed",
        ),
    ],
    "07_training.ipynb": [
        Plant(
            "the paper's SGD is PyTorch's",
            """
            from alexnet_np.training.optim import SGD

            _init = SGD.__init__

            def _pytorch_only(self, *a, **kw):
                kw["convention"] = "pytorch"
                _init(self, *a, **kw)

            SGD.__init__ = _pytorch_only
            """,
            'assert not np.isclose(traces["paper"]',
        ),
        Plant(
            "the ReLU-vs-tanh results come from uncommitted changes (not reproducible)",
            """
            def _dirty(data):
                data["commit"] += "+uncommitted changes"

            _edit_results(_dirty)
            """,
            'assert "uncommitted" not in rt["commit"]',
            skip=("trainer.fit(", "best = max(h"),  # the mini network's training: unrelated to the file
        ),
        Plant(
            "ReLU's learning-rate grid stops at its best rate (the best rate at the grid's edge)",
            """
            def _short_grid(data):
                best = data["lr"]["relu"]
                data["tuning"]["relu"] = {lr: its for lr, its in data["tuning"]["relu"].items() if float(lr) >= best}

            _edit_results(_short_grid)
            """,
            'assert grid[act][0] < rt["lr"][act] < grid[act][-1]',
            skip=("trainer.fit(", "best = max(h"),
        ),
    ],
}


def _declared(path: Path) -> list[Plant]:
    meta = nbformat.read(path, as_version=4).metadata.get("alexnet_np", {})
    declared = [Plant(**{**p, "skip": tuple(p.get("skip", ()))}) for p in meta.get("planted_bugs", [])]
    return PLANTS.get(path.relative_to(NOTEBOOKS).as_posix(), []) + declared


def _cases():
    for path in ALL_NOTEBOOKS:
        for plant in _declared(path):
            yield pytest.param(path, plant, id=f"{path.relative_to(NOTEBOOKS).with_suffix('')}: {plant.bug}")


def test_every_notebook_declares_a_planted_bug():
    paths = ALL_NOTEBOOKS
    assert len(paths) >= 12 and {p.parent.name for p in paths} >= {"notebooks", "derivations", "exercises"}
    assert [p.name for p in paths if not _declared(p)] == []
    assert set(PLANTS) <= {p.relative_to(NOTEBOOKS).as_posix() for p in paths}, (
        "a planted bug names no notebook"
    )


def _claim_index(nb, claim: str) -> int:
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and claim in c.source]
    assert hits, f"no code cell contains {claim!r}"
    return hits[0]


@pytest.mark.slow
@pytest.mark.parametrize("path, plant", list(_cases()))
def test_planted_bug_fails_the_claim_cell(path, plant, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    claim = _claim_index(nb, plant.claim)
    assert not any(mark in nb.cells[claim].source for mark in plant.skip), (
        "a skip marker names the claim cell"
    )
    nb.cells = [  # nothing after the claim runs, nor the cells the plant marks as unrelated
        c for c in nb.cells[: claim + 1] if not any(mark in c.source for mark in plant.skip)
    ]
    claim = len(nb.cells) - 1

    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00_plant.py").write_text(PRELUDE + "\n" + textwrap.dedent(plant.plant))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")

    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with pytest.raises(CellExecutionError) as info:
        client.execute()

    failed = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    assert info.value.ename == "AssertionError", f"crashed instead of failing an assert:\n{info.value}"
    assert failed == [claim], f"failed in cell {failed}, the claim is in cell {claim}:\n{info.value}"


@pytest.mark.slow
def test_the_startup_file_is_what_plants_the_bug(tmp_path, monkeypatch):
    """Control: with an empty plant the truncated notebook runs to its claim cell and passes."""
    path = NOTEBOOKS / "01_output_sizes.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[: _claim_index(nb, PLANTS[path.name][0].claim) + 1]
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00_plant.py").write_text(PRELUDE + "\nassert alexnet_np.conv_output_size(227, 11, 4) == 55\n")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    assert os.environ["IPYTHONDIR"] == str(tmp_path / "ipython")


def _quoted_names(nb) -> set[str]:
    """The names that the code cells of ``nb`` pass to ``quote(...)`` (alexnet_np.tools.prose) as keywords."""
    import ast

    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or "quote(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "quote":
                names |= {k.arg for k in node.keywords}
    return names


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(NOTEBOOKS).as_posix())
def test_every_number_the_prose_quotes_is_quoted_by_a_cell(path):
    """A ``{{name}}`` in the markdown is a number a cell computes: some code cell quotes it (no kernel needed)."""
    from alexnet_np.tools import prose

    nb = nbformat.read(path, as_version=4)
    assert set(prose.placeholders(nb)) <= _quoted_names(nb)


def test_the_docs_build_fills_the_prose_and_refuses_a_missing_value():
    from alexnet_np.tools import prose

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("quote(fall='412')")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/plain": "fall = 412", prose.MIME: {"fall": "412"}})
    ]
    nb.cells = [cell, nbformat.v4.new_markdown_cell("shrinks by {{fall}}×, then by {{ rise }}×")]
    with pytest.raises(ValueError, match=r"\['rise'\]"):
        prose.fill(nb, "toy.ipynb")
    nb.cells[1].source = "shrinks by {{fall}}× and {{ fall }}×"
    assert prose.fill(nb, "toy.ipynb").cells[1].source == "shrinks by 412× and 412×"
    assert cell.outputs[0].data == {"text/plain": "fall = 412"}  # no record left for MyST-NB to warn about
