"""Numbers a notebook's prose quotes, computed by its cells: ``quote(name=value)`` in a code cell, ``{{name}}`` in
the markdown.

    >>> from alexnet_np.tools.prose import quote
    >>> quote(fall=f"{412.3:.0f}")   # in a notebook: an output that reads "fall = 412"
    fall = 412

The repository keeps its notebooks without outputs, so prose cannot copy a number from an output: a number
typed into markdown would go stale the day the code changes, and nothing would notice. Instead the markdown
names the value, ``{{fall}}``, and the cell that computes it calls :func:`quote`. In Jupyter the value appears
under that cell as ``fall = 412``. The documentation build (``python -m alexnet_np docs``) reads the executed
notebook's outputs and writes each value into the prose (:func:`fill`), and refuses a placeholder that no cell
showed: every number a reader of the site sees in prose was computed by the run the page shows.

Deliberately not MyST-NB's ``glue``: importing it would make the notebooks depend on the docs packages; this
module needs nothing beyond IPython, which runs the notebooks anyway.
"""

from __future__ import annotations

import re

MIME = "application/vnd.alexnet-np.prose+json"
"""The output type that carries the values: ``{name: text}``; ``text/plain`` beside it is what Jupyter shows."""

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""``{{name}}`` in a markdown cell."""


def quote(**values) -> None:
    """Record ``values`` for the prose (each as ``str(value)``: format it first) and show them, one per line.

    Outside IPython (a script, a doctest) the lines are printed.
    """
    text = {name: str(value) for name, value in values.items()}
    lines = "\n".join(f"{name} = {value}" for name, value in text.items())
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with every notebook install
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(lines)
        return
    display({"text/plain": lines, MIME: text}, raw=True)


def shown(nb) -> dict[str, str]:
    """Every value the executed notebook ``nb`` (nbformat) showed with :func:`quote`, the last one of a name."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            values.update(output.get("data", {}).get(MIME, {}))
    return values


def placeholders(nb) -> list[str]:
    """The names that the markdown cells of ``nb`` quote as ``{{name}}``, in order of first appearance."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [n for n in PLACEHOLDER.findall(cell.source) if n not in found]
    return found


def fill(nb, name: str = "notebook"):
    """Write the values ``nb`` showed into its markdown and drop their records from the outputs (the
    ``name = value`` lines stay), in place; returns ``nb``.

    Raises ValueError naming the notebook and the placeholders no cell showed (a number the prose quotes
    that no cell computed).
    """
    values = shown(nb)
    missing = [n for n in placeholders(nb) if n not in values]
    if missing:
        raise ValueError(
            f"{name}: the prose quotes {missing} but no cell showed them (alexnet_np.tools.prose.quote)"
        )
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = PLACEHOLDER.sub(lambda m: values[m.group(1)], cell.source)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            output.get("data", {}).pop(
                MIME, None
            )  # the text line stays; MyST-NB knows no renderer for the record
    return nb
