"""Sphinx configuration of the documentation site: ``python -m alexnet_np docs`` builds it (see docs/index.md).

The source folder Sphinx reads is assembled by ``alexnet_np.tools.docs`` (the pages of this folder, the
notebooks executed once, the exercises in their student form); this file is the configuration only.
"""

import importlib
import os

project = "alexnet_np"
author = "alexnet_np contributors"
copyright = "alexnet_np contributors, MIT licence"

# napoleon: the docstrings are Google style (Args:, Returns:, and a Shape: section of our own).
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Shape:" is a section of our own; "Parameters:" in a layer's docstring lists its learnable parameters
# (weight, bias), not the arguments ("Args:"): both are read as notes, not as typed fields.
napoleon_custom_sections = [("Shape", "notes_style"), ("Parameters", "notes_style")]

# The notebooks arrive executed (by the test run, or by the docs command itself): MyST-NB renders the
# outputs it is given and never runs a kernel.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# The maths is rendered in the reader's browser by MathJax 3 served from the site itself (_static/mathjax, from
# the sphinx-mathjax-offline wheel): no CDN, so it renders offline. Its SVG output needs no web fonts (file://
# pages cannot always load fonts). tests/test_docs.py loads the site with the network blocked.
_MATHJAX = importlib.import_module("sphinx-mathjax-offline")  # the wheel's folder name has dashes
html_static_path = [os.path.join(os.path.dirname(_MATHJAX.__file__), "static")]
mathjax_path = "mathjax/tex-svg.js"

html_theme = "furo"
html_title = "alexnet_np"
html_copy_source = False
html_show_sourcelink = False

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"

# Nitpicky: every cross-reference must resolve, except to the libraries whose inventories we cannot
# fetch offline (NumPy, the standard library, ...): those are external names, not broken links of ours.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(np|numpy|numba|torch|nbformat|pathlib|os|typing|collections|dataclasses|argparse)\..*"),
    (r"py:class", r"(optional|callable|array|ndarray|Path|Generator|Iterable|Sequence|Mapping|Any)"),
    (r"py:class", r"(int|float|str|bool|dict|list|tuple|None|bytes|object|type|Exception)"),
]
nitpick_ignore_regex += [(r"py:class", r"alexnet_np\.(\w+\.)*_\w+")]  # private base classes: not documented


_MISSING = object()


def _resolve_short_names(app, env, node, contnode):
    """Resolve the short names the docstrings use (``:func:`conv_output_size```, ``:data:`VARIANTS```).

    First as Sphinx's "specific" search (any documented object whose name ends in the target); then, for a
    module constant that autodoc does not list (it has no doc comment), the name is shown unlinked if it
    really exists in the docstring's module or at the package's top level. A name that exists nowhere
    stays a warning, so an error in the build.
    """
    if node.get("refdomain") != "py" or node.hasattr("refspecific"):
        return None
    target = node["reftarget"]
    node["refspecific"] = True
    try:
        found = env.get_domain("py").resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
        )
    finally:
        del node["refspecific"]
    if found is not None:
        return found
    module, cls = node.get("py:module"), node.get("py:class")
    scopes = [f"{module}.{cls}" if module and cls else None, module, "alexnet_np", ""]
    for scope in filter(lambda s: s is not None, scopes):
        if _lookup(f"{scope}.{target}" if scope else target) is not _MISSING:
            return contnode
    return None


def _lookup(dotted):
    """The object a dotted name such as ``alexnet_np.ops.set_backend`` names, or _MISSING."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def setup(app):
    app.connect("missing-reference", _resolve_short_names)
