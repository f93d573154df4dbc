"""The documentation site: ``python -m alexnet_np docs [--out build/site]`` (Sphinx + MyST-NB, see docs/index.md).

The repository keeps its notebooks without outputs; the site is where the outputs live. Building it:

1. **Stage** a source folder in a temporary directory: the pages of ``docs/``, the changelog, every notebook
   of ``notebooks/`` and ``notebooks/derivations/`` *executed*, the notebooks' README, the exercises in their
   **student** form only (``python -m alexnet_np exercises --student``), and the teachers' README on a page of
   its own. The navigation is made here: a page added to ``docs/``, a notebook added to ``notebooks/`` or
   ``notebooks/derivations/`` and a workbook notebook added to ``notebooks/exercises/`` appear with no change.
2. **Execute each notebook once per code version.** An executed copy is valid under a key: the SHA-256 of
   the notebook file and of every file of the package. The test run keeps the copies nbmake executed in
   ``build/notebooks-executed`` (``conftest.py``), and this build reads them; a notebook with no copy of the
   current key is executed here (with nbclient, as nbmake does: the notebook's folder as working directory,
   ``timeout`` seconds per cell) and its copy kept in the site's own ``_notebooks_executed/``, where the next
   build into the same folder finds it. So CI, which runs the tests first, executes every notebook once.
   The values its cells showed with :func:`alexnet_np.tools.prose.quote` are written into its prose
   (``{{name}}``); a placeholder that no cell showed stops the build.
3. **Build** with Sphinx in the temporary directory, warnings as errors (``-W``, nitpicky), MyST-NB
   rendering the stored outputs (its own execution is off), then move the site into the output folder.
4. **Check** the built site (:func:`check_site`): every internal link and image resolves, every notebook
   page shows as many images in its outputs as the executed notebook has image outputs, no page title or
   navigation entry holds raw LaTeX, and no line of an exercise's solution appears anywhere.

The build writes nothing outside its output folder and the temporary directory: it replaces the output
folder only when it holds a site this command built (its ``expected-images.json``), and refuses an existing
non-empty folder otherwise, a symlink, or a folder inside ``docs/`` or ``notebooks/`` (its sources).

Needs the ``docs`` extra (``pip install -e ".[docs]"``); works from a source checkout (it reads ``docs/``
and ``notebooks/``).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import BadArgument, RefusedOverwrite
from . import prose

PACKAGE = Path(__file__).resolve().parent.parent  # src/alexnet_np
# Seconds one notebook cell may run when the build executes a notebook (``--timeout``); a cell of notebook 07
# ran past 600 s under load.
NB_TIMEOUT = 1800
SITE_MARK = "expected-images.json"  # every site this command builds holds it; no other folder is replaced
EXECUTED = "_notebooks_executed"  # inside the site: the executed notebooks it was built from
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# The kernel draws figures inline, as in Jupyter, whatever MPLBACKEND the caller has (CI sets Agg, with which
# plt.show() in a kernel outputs nothing).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def repo_root(start: Path | None = None) -> Path:
    """The source checkout: the folder above ``src/alexnet_np`` if it has docs/conf.py, else ``start``'s."""
    for candidate in (PACKAGE.parent.parent, Path(start or Path.cwd()).resolve()):
        if (candidate / "docs" / "conf.py").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    raise BadArgument(
        "the documentation is built from a source checkout: no docs/conf.py and notebooks/ found "
        f"above {PACKAGE} or in {Path(start or Path.cwd()).resolve()}"
    )


def site_notebooks(root: Path) -> list[Path]:
    """The notebooks the site renders with outputs: notebooks/*.ipynb and notebooks/derivations/*.ipynb."""
    nbs = root / "notebooks"
    return sorted(nbs.glob("*.ipynb")) + sorted((nbs / "derivations").glob("*.ipynb"))


def _package_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".nbi", ".nbc"):
            h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def execution_key(notebook: Path) -> str:
    """SHA-256 of the notebook file and of the package's files: an executed copy is valid for this key only."""
    return hashlib.sha256(
        Path(notebook).read_bytes() + _package_digest().encode() + INLINE_BACKEND.encode()
    ).hexdigest()


def cache_dir(root: Path) -> Path:
    return Path(os.environ.get("ALEXNET_NP_EXECUTED_NOTEBOOKS", root / "build" / "notebooks-executed"))


def _cached_path(root: Path, notebook: Path) -> Path:
    return cache_dir(root) / Path(notebook).resolve().relative_to(root / "notebooks")


def store_executed(notebook: Path, executed, root: Path | None = None, cache: Path | None = None) -> Path:
    """Keep ``executed`` (an nbformat notebook, run without error) as the executed copy of ``notebook``.

    In ``cache`` (default :func:`cache_dir`, where the test run keeps them), under the notebook's path below
    ``notebooks/``.
    """
    import nbformat

    root = root or repo_root()
    rel = Path(notebook).resolve().relative_to(root / "notebooks")
    dst = Path(cache) / rel if cache is not None else _cached_path(root, notebook)
    dst.parent.mkdir(parents=True, exist_ok=True)
    executed.metadata.setdefault("alexnet_np", {})["execution_key"] = execution_key(notebook)
    tmp = dst.with_suffix(".tmp")
    nbformat.write(executed, str(tmp))
    os.replace(tmp, dst)
    return dst


def load_executed(notebook: Path, root: Path | None = None, caches=()):
    """The executed copy of ``notebook`` for its current key, or None: from :func:`cache_dir`, then ``caches``."""
    import nbformat

    root = root or repo_root()
    rel = Path(notebook).resolve().relative_to(root / "notebooks")
    key = execution_key(notebook)
    for path in [_cached_path(root, notebook), *(Path(c) / rel for c in caches)]:
        if path.is_file():
            nb = nbformat.read(str(path), as_version=4)
            if nb.metadata.get("alexnet_np", {}).get("execution_key") == key:
                return nb
    return None


def execute(notebook: Path, timeout: int = NB_TIMEOUT):
    """Run ``notebook`` in a fresh kernel in its own folder (as nbmake does); raises on the first error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(notebook), as_version=4)
    env = dict(os.environ, MPLBACKEND=INLINE_BACKEND)
    NotebookClient(nb, timeout=timeout, kernel_name="python3").execute(
        cwd=str(Path(notebook).parent), env=env
    )
    return nb


def executed_notebook(notebook: Path, root: Path, log=print, timeout=NB_TIMEOUT, caches=(), keep=None):
    """The executed copy of ``notebook``: from a cache when its key matches, else run now.

    ``caches``: more folders to look in after :func:`cache_dir`; ``keep``: the folder the copy is kept in
    (whether reused or run now), or None.
    """
    nb = load_executed(notebook, root, caches)
    name = Path(notebook).relative_to(root).as_posix()
    if nb is not None:
        log(f"  {name}: executed copy reused (same notebook, same package)")
    else:
        log(f"  {name}: executing (up to {timeout} s a cell; --timeout to change) ...")
        t0 = time.perf_counter()
        from nbclient.exceptions import CellExecutionError, CellTimeoutError

        try:
            nb = execute(notebook, timeout)
        except CellTimeoutError:
            raise RuntimeError(f"{name}: a cell ran past the {timeout} s limit (--timeout SECONDS)") from None
        except CellExecutionError as err:
            raise RuntimeError(f"{name} failed to execute:\n{err}") from None
        log(f"  {name}: executed in {time.perf_counter() - t0:.0f} s")
    if keep is not None:
        store_executed(notebook, nb, root, cache=keep)
    return nb


def image_outputs(nb) -> int:
    """How many images a notebook's outputs hold (one per output, whatever formats it carries)."""
    return sum(
        any(m in out.get("data", {}) for m in IMAGE_MIMES)
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def _toctree(entries, caption=None, maxdepth=1) -> str:
    head = f":caption: {caption}\n" if caption else ""
    return "```{toctree}\n" + head + f":maxdepth: {maxdepth}\n\n" + "\n".join(entries) + "\n```\n"


# The site's navigation, section by section: the pages of docs/ by name (those that exist are listed; a page
# of docs/ named nowhere here joins "Reference"), the notebooks and the workbook by their own indexes.
SECTIONS = (
    ("Start here", ["getting-started"]),
    ("Notebooks", ["notebooks/index"]),
    ("For students", ["exercises/index"]),
    ("For teachers", ["exercises/teachers", "teaching-a-course"]),
    ("Reference", ["api", "design", "benchmarks", "distributed", "changelog", "about-this-site"]),
)


def _navigation(src: Path) -> str:
    """The root page's toctrees: :data:`SECTIONS`, then any other page of the staged ``docs/``."""
    pages = {p.relative_to(src).with_suffix("").as_posix() for p in src.rglob("*.md")} | {
        p.relative_to(src).with_suffix("").as_posix() for p in src.rglob("*.ipynb")
    }
    named = {name for _, names in SECTIONS for name in names}
    others = sorted(p for p in pages if "/" not in p and p != "index" and p not in named)
    out = []
    for caption, names in SECTIONS:
        present = [n for n in names if n in pages] + (others if caption == "Reference" else [])
        if present:
            out.append(_toctree(present, caption, maxdepth=2 if caption == "Notebooks" else 1))
    return "\n".join(out)


def stage(root: Path, src: Path, log=print, timeout=NB_TIMEOUT, caches=(), keep: Path | None = None) -> dict:
    """Assemble Sphinx's source folder in ``src`` (a new folder); returns {page name: expected output images}.

    ``caches``, ``keep``: as :func:`executed_notebook`'s.
    """
    import nbformat

    shutil.copytree(root / "docs", src, ignore=shutil.ignore_patterns("conf.py", "__pycache__", "*-draft.md"))
    if (root / "CHANGELOG.md").is_file():
        shutil.copy(root / "CHANGELOG.md", src / "changelog.md")

    expected = {}
    log(f"notebooks ({len(site_notebooks(root))}):")
    pages = []
    for notebook in site_notebooks(root):
        nb = executed_notebook(notebook, root, log, timeout, caches, keep)
        rel = notebook.relative_to(root / "notebooks")
        prose.fill(nb, rel.as_posix())  # {{name}} in the markdown: the value a cell showed in this run
        dst = src / "notebooks" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dst))
        page = (Path("notebooks") / rel).with_suffix("").as_posix()
        expected[page] = image_outputs(nb)
        pages.append(rel.with_suffix("").as_posix())
    # On the site the workbook lives in exercises/, beside notebooks/, not under it.
    readme = (root / "notebooks" / "README.md").read_text(encoding="utf-8")
    readme = readme.replace("](exercises/README.md)", "](../exercises/teachers.md)")
    (src / "notebooks" / "README.md.inc").write_text(readme, encoding="utf-8")
    top = [p for p in pages if "/" not in p]
    derivations = [p for p in pages if p.startswith("derivations/")]
    index = "```{include} README.md.inc\n```\n\n" + _toctree(top, "Notebooks")
    if derivations:
        index += "\n" + _toctree(derivations, "Derivations")
    (src / "notebooks" / "index.md").write_text(index)

    # The exercises: the student build only, made by the documented command; the teachers' README apart.
    ex = src / "exercises"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alexnet_np",
            "exercises",
            "--student",
            str(ex),
            "--src",
            str(root / "notebooks" / "exercises"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.copy(root / "notebooks" / "exercises" / "README.md", ex / "README.md.inc")
    (ex / "teachers.md").write_text("```{include} README.md.inc\n```\n")
    workbook = sorted(p.stem for p in ex.glob("*.ipynb"))
    (ex / "index.md").write_text(
        "# The workbook, for students\n\n"
        "You write AlexNet's layers with loops, forward and backward; after each exercise a grading cell says\n"
        "whether your function is right and, if not, where it goes wrong. Get your own copy to work in with\n"
        "`python -m alexnet_np exercises --student my-workbook/` and open it in Jupyter; the pages below show\n"
        "it as handed out. How the grader works, and how to run a course with it: {doc}`teachers`.\n\n"
        + _toctree(workbook, "The workbook")
    )
    for name in workbook:
        expected[f"exercises/{name}"] = 0  # the student copy is shown as handed out: not executed
    log(f"exercises: {len(workbook)} workbook notebook(s), student form")
    index = (src / "index.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(index.rstrip("\n") + "\n\n" + _navigation(src), encoding="utf-8")
    return expected


def sphinx_build(root: Path, src: Path, out: Path, doctrees: Path, log=print) -> None:
    """Sphinx's HTML build, warnings as errors, every cross-reference checked (nitpicky)."""
    from sphinx.cmd.build import build_main

    args = ["-b", "html", "-W", "--keep-going", "-n", "-q", "-c", str(root / "docs"), str(src), str(out)]
    args += ["-d", str(doctrees)]
    log("sphinx-build " + " ".join(args))
    status = build_main(args)
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (status {status}): the warnings above are errors")


RAW_TEX = re.compile(r"\\[a-zA-Z]{2,}|\\[()\[\]]|\$")  # \frac, \( \) \[ \], a dollar sign


class _Page:
    """The links, anchors and output images of one HTML page (parsed with BeautifulSoup)."""

    def __init__(self, path: Path):
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        self.ids = {tag["id"] for tag in soup.find_all(id=True)} | {
            tag["name"] for tag in soup.find_all("a", attrs={"name": True})
        }
        self.refs = [t.get("href") for t in soup.find_all(["a", "link"]) if t.get("href")]
        self.refs += [t.get("src") for t in soup.find_all(["img", "script"]) if t.get("src")]
        self.output_images = [img.get("src", "") for img in soup.select(".cell_output img")]
        self.text = soup.get_text("\n")
        # Where MathJax does not typeset (it reads only the page's maths elements): the title, the navigation.
        self.titles = [("the title", t.get_text()) for t in soup.find_all("title")] + [
            ("the navigation", a.get_text())
            for nav in soup.select(".sidebar-tree, .toc-tree, .related-pages")
            for a in nav.find_all("a")
        ]


def check_site(site: Path, expected_images: dict | None = None, solutions: list[str] = ()) -> list[str]:
    """Problems found in a built site (empty when all is well).

    - every internal ``href``/``src`` points at an existing file, and a ``#fragment`` at an id of that page;
    - each page in ``expected_images`` shows exactly that many images in its cell outputs;
    - no page outside the notebooks shows literal double backticks (a docstring's reST that did not render);
    - no page title or navigation link holds raw LaTeX (a command, ``\\(``, a dollar sign): MathJax renders
      only the page's body;
    - no string of ``solutions`` appears in any page.
    """
    site = Path(site)
    problems, pages = [], {}

    def page(path):
        if path not in pages:
            pages[path] = _Page(path)
        return pages[path]

    for html in sorted(site.rglob("*.html")):
        name = html.relative_to(site).as_posix()
        for ref in page(html).refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:")):
                continue  # external: not ours to check offline
            target = html if not parts.path else Path(posixpath.normpath(html.parent / unquote(parts.path)))
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{name}: link to {ref}: no such file in the site")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in page(target).ids
            ):
                problems.append(f"{name}: link to {ref}: no element with id {parts.fragment!r}")
        text = page(html).text
        if not name.startswith(("notebooks/", "exercises/", "_")) and "``" in text:
            at = text.index("``")
            problems.append(
                f"{name}: literal double backticks (reST that did not render): {text[at - 40 : at + 40]!r}"
            )
        for where, shown in page(html).titles:
            if RAW_TEX.search(shown):
                problems.append(f"{name}: raw LaTeX in {where}: {shown.strip()[:100]!r}")
        for sol in solutions:
            if sol in text:
                problems.append(f"{name}: shows a line of an exercise solution: {sol!r}")
    for name, count in (expected_images or {}).items():
        html = site / f"{name}.html"
        if not html.is_file():
            problems.append(f"{name}.html: missing (a notebook page)")
            continue
        srcs = page(html).output_images
        if len(srcs) != count:
            problems.append(f"{name}.html: {len(srcs)} images in its outputs, the notebook has {count}")
        for s in srcs:
            if not s.startswith("data:") and not (html.parent / unquote(s)).is_file():
                problems.append(f"{name}.html: figure {s} is not in the site")
    return problems


def solution_lines(root: Path) -> list[str]:
    """The non-trivial lines between the exercises' solution markers (what the site must never show)."""
    from ..exercises.workbook import BEGIN, END

    lines = []
    for nb_path in sorted((root / "notebooks" / "exercises").glob("*.ipynb")):
        for cell in json.loads(nb_path.read_text())["cells"]:
            inside = False
            for line in "".join(cell["source"]).splitlines():
                s = line.strip()
                if s == BEGIN:
                    inside = True
                elif s == END:
                    inside = False
                elif inside and len(s) >= 12 and not s.startswith("#"):
                    lines.append(s)
    return lines


def _check_out(root: Path, out: Path) -> None:
    """Refuse an output folder the build may not replace (see the module's docstring)."""
    if out.is_symlink():
        raise RefusedOverwrite(f"--out {out}: a symlink; the site is never written through one")
    if out.exists() and not out.is_dir():
        raise RefusedOverwrite(f"--out {out}: a file, not a folder")
    resolved = out.resolve()
    for sources in (root / "docs", root / "notebooks", root / "src"):
        if resolved == sources.resolve() or sources.resolve() in resolved.parents:
            raise BadArgument(
                f"--out {out}: inside {sources.relative_to(root)}/, which the site is built from"
            )
    if resolved == root.resolve() or resolved in root.resolve().parents:
        raise BadArgument(
            f"--out {out}: the repository itself or a folder above it; give a folder of its own"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARK).is_file():
        raise RefusedOverwrite(
            f"--out {out}: the folder exists and holds no site built by this command ({SITE_MARK} is "
            "missing); give a new or empty folder"
        )


def build_site(
    out: Path | None = None, root: Path | None = None, log=print, timeout: int = NB_TIMEOUT
) -> Path:
    """Stage, build, check; returns the site folder (``build/site`` by default). Raises on any problem.

    Writes into ``out`` (replaced only when it holds a site this command built) and a temporary directory,
    nowhere else; ``timeout``: seconds a notebook cell may run when a notebook has to be executed.
    """
    root = repo_root(root)
    out = Path(out) if out else root / "build" / "site"
    if not (isinstance(timeout, int) and timeout > 0):
        raise BadArgument(f"--timeout: expected a positive whole number of seconds, got {timeout!r}")
    _check_out(root, out)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="alexnet_np-docs-") as tmp:
        tmp = Path(tmp)
        site = tmp / "build" / "site"  # MyST-NB writes beside the site (jupyter_execute/): inside tmp too
        keep = tmp / EXECUTED
        expected = stage(root, tmp / "src", log, timeout, caches=[out / EXECUTED], keep=keep)
        sphinx_build(root, tmp / "src", site, tmp / "doctrees", log)
        (site / SITE_MARK).write_text(json.dumps(expected, indent=1))
        if keep.is_dir():
            shutil.move(str(keep), str(site / EXECUTED))
        _check_out(root, out)  # again: the build took minutes
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(site), str(out))
    problems = check_site(out, expected, solution_lines(root))
    if not any(expected.values()):
        problems.append(
            "no notebook has a figure in its outputs: were they run with a non-inline MPLBACKEND?"
        )
    if problems:
        raise RuntimeError(
            f"the built site ({out}) has {len(problems)} problem(s):\n"
            + "\n".join(f"  {p}" for p in problems)
        )
    pages = len(list(out.rglob("*.html")))
    log(f"built {out}/index.html: {pages} pages, checked, in {time.perf_counter() - t0:.0f} s")
    return out
