"""The documentation site: it builds with warnings as errors, its internal links resolve, every notebook page
shows its figures (counted in the HTML and decoded by headless Chromium), every page's maths renders with the
network blocked, and no exercise solution is on it; the docs extra alone is enough to build it.

Needs the docs extra (``pip install -e ".[docs]"``) and Debian's ``chromium chromium-driver``; .ci/run
installs both. The site is built once per session by the documented command (``python -m alexnet_np
docs``), which renders the notebooks executed earlier in the same test run (conftest.py runs this file
after the notebooks, keeps nbmake's executed copies and, with two workers, waits for the other worker's
notebooks) and executes only those it finds no current copy of.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from alexnet_np.tools import docs

ROOT = docs.repo_root(Path(__file__).resolve().parent.parent)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BROWSER_PAGE = "notebooks/05_forward_pass"  # a notebook page with several figures
MATHS_PAGE = "notebooks/derivations/02_conv2d"  # a derivation: dozens of equations
# The network blocked: every host name resolves nowhere and every request would go through a proxy that is
# not there; file:// pages load as usual. What a reader without internet sees.
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


@pytest.fixture(scope="session")
def site(executed_notebooks):
    out = ROOT / "build" / "site"
    run = subprocess.run(
        [sys.executable, "-m", "alexnet_np", "docs", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, (
        f"python -m alexnet_np docs failed:\n{run.stdout[-6000:]}\n{run.stderr[-6000:]}"
    )
    return out


@pytest.fixture(scope="session")
def expected(site):
    """{page: image outputs} counted from the executed notebooks themselves (not from the build's record)."""
    counts = {}
    for nb_path in docs.site_notebooks(ROOT):
        nb = docs.load_executed(nb_path, ROOT)
        assert nb is not None, f"no executed copy of {nb_path.name} for the current code after the docs build"
        page = (Path("notebooks") / nb_path.relative_to(ROOT / "notebooks")).with_suffix("").as_posix()
        counts[page] = docs.image_outputs(nb)
    return counts


@pytest.mark.slow
def test_every_page_is_built(site, expected):
    pages = ["index", "getting-started", "api", "design", "benchmarks", "changelog", "notebooks/index"]
    for page in [*pages, "exercises/index", "exercises/teachers", *expected]:
        assert (site / f"{page}.html").is_file(), page
    workbook = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
    assert workbook
    for nb_path in workbook:
        assert (site / "exercises" / f"{nb_path.stem}.html").is_file(), nb_path.name
    api = (site / "api.html").read_text()
    for name in ("alexnet_np.layers.Conv2d", "alexnet_np.model.AlexNet", "alexnet_np.training.train.fit"):
        assert f'id="{name}"' in api, f"the API reference documents no {name}"


@pytest.mark.slow
def test_internal_links_and_images_resolve(site):
    problems = docs.check_site(site)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_notebook_page_shows_its_figures(site, expected):
    assert sum(expected.values()) >= 10, expected  # the notebooks draw figures: a count of zero is a bug
    problems = docs.check_site(site, expected)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_no_exercise_solution_is_on_the_site(site):
    solutions = docs.solution_lines(ROOT)
    assert len(solutions) >= 10, solutions  # the workbook has solutions to leave out
    assert not docs.check_site(site, solutions=solutions)
    student = "".join(p.read_text() for p in (site / "exercises").glob("0*.html"))
    assert "NotImplementedError" in student  # the stubs are there instead
    assert (
        "for teachers" in (site / "exercises" / "teachers.html").read_text().lower()
    )  # the teachers' README


@pytest.mark.slow
def test_the_checker_finds_a_missing_figure_a_broken_link_and_a_solution(site, expected, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    page = copy / f"{BROWSER_PAGE}.html"
    html = page.read_text()
    figure = docs._Page(page).output_images[0]
    (page.parent / figure).unlink()  # the file of one figure is gone
    page.write_text(html.replace('href="../api.html"', 'href="../no-such-page.html"', 1))
    solutions = docs.solution_lines(ROOT)
    (copy / "leak.html").write_text(f"<html><body><pre>{solutions[0]}</pre></body></html>")
    problems = docs.check_site(copy, expected, solutions)
    assert any(figure in p for p in problems), problems
    assert any("no-such-page.html" in p for p in problems), problems
    assert any("leak.html" in p for p in problems), problems
    # an output image dropped from the HTML: the count no longer matches the notebook's
    first = html.index("<img", html.index("cell_output"))
    page.write_text(html[:first] + html[html.index(">", first) + 1 :])
    assert any("images in its outputs" in p for p in docs.check_site(copy, expected)), "count not checked"


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).is_file(), f"{path} missing: apt-get install -y chromium chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *OFFLINE):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


_FIGURES_JS = """
return Array.from(document.querySelectorAll('.cell_output img')).map(
    img => [img.getAttribute('src'), img.complete, img.naturalWidth]);
"""


@pytest.fixture(scope="module")
def browser():
    driver = _browser()
    yield driver
    driver.quit()


@pytest.mark.slow
def test_chromium_loads_the_index_and_a_notebook_page_with_every_figure(site, expected, browser):
    browser.get((site / "index.html").as_uri())
    assert "alexnet_np" in browser.title
    links = browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href);")
    target = (site / f"{BROWSER_PAGE}.html").as_uri()
    assert target in links, "the index links no notebook page"
    browser.get(target)
    figures = browser.execute_script(_FIGURES_JS)
    assert len(figures) == expected[BROWSER_PAGE] > 0, figures
    broken = [src for src, complete, width in figures if not (complete and width > 0)]
    assert not broken, f"figures Chromium could not show: {broken}"


@pytest.mark.slow
def test_chromium_sees_a_missing_figure(site, browser, tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    page = copy / f"{BROWSER_PAGE}.html"
    figure = docs._Page(page).output_images[-1]
    (page.parent / figure).unlink()
    browser.get(page.as_uri())
    figures = browser.execute_script(_FIGURES_JS)
    assert [src for src, _, width in figures if width == 0] == [figure], figures


@pytest.mark.slow
def test_the_build_records_what_it_checked(site, expected):
    recorded = json.loads((site / "expected-images.json").read_text())
    assert {k: v for k, v in recorded.items() if k.startswith("notebooks/")} == expected


def test_an_executed_copy_is_reused_only_for_the_same_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_NP_EXECUTED_NOTEBOOKS", str(tmp_path / "cache"))
    (tmp_path / "notebooks").mkdir()
    nb_path = tmp_path / "notebooks" / "n.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, str(nb_path))
    executed = nbformat.read(str(nb_path), as_version=4)
    executed.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    docs.store_executed(nb_path, executed, tmp_path)
    assert docs.load_executed(nb_path, tmp_path).cells[0].outputs[0].text == "1\n"
    nb.cells[0].source = "print(2)"
    nbformat.write(nb, str(nb_path))
    assert docs.load_executed(nb_path, tmp_path) is None  # the notebook changed: its old outputs are stale


# ---- maths, offline ------------------------------------------------------------------------------------

# Waits for MathJax to finish typesetting (or for 20 s), then reports what a reader sees: how many maths
# elements Sphinx wrote, how many MathJax rendered, its error elements, raw TeX left in the text outside code,
# stray dollar signs beside rendered maths, and every resource the page tried to fetch over the network.
_MATHS_JS = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
function report() {
    const maths = Array.from(document.querySelectorAll('.math'));
    const rendered = maths.filter(m => m.querySelector('mjx-container'));
    const body = document.querySelector('article') || document.body;
    const copy = body.cloneNode(true);
    copy.querySelectorAll('pre, code, mjx-container, script, style, .highlight').forEach(e => e.remove());
    const text = copy.textContent;
    const raw = ['\\\\(', '\\\\)', '\\\\[', '\\\\]', '$$'].filter(d => text.includes(d));
    const stray = Array.from(document.querySelectorAll('mjx-container')).filter(c => {
        const host = c.closest('.math') || c;
        const before = host.previousSibling, after = host.nextSibling;
        const left = before && /\\$\\s*$/.test(before.textContent || '');
        return left || (after && /^\\s*\\$/.test(after.textContent || ''));
    }).length;
    const network = performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:'));
    done({maths: maths.length, rendered: rendered.length,
          errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
          raw: raw, stray: stray, network: network,
          mathjax: !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.document)});
}
function wait() {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
        mj.startup.promise.then(report, report);
    } else if (Date.now() - t0 > 20000 || !document.querySelector('.math')) {
        report();
    } else {
        setTimeout(wait, 100);
    }
}
wait();
"""


def maths_problems(browser, page: Path) -> list[str]:
    """What is wrong with the maths of one page as Chromium shows it (empty when it all rendered)."""
    browser.set_script_timeout(60)
    browser.get(page.as_uri())
    r = browser.execute_async_script(_MATHS_JS)
    problems = []
    if r["maths"] and not r["mathjax"]:
        problems.append("MathJax did not load")
    if r["rendered"] != r["maths"]:
        problems.append(f"{r['maths'] - r['rendered']} of {r['maths']} equations not rendered")
    if r["errors"]:
        problems.append(f"{r['errors']} equations with a TeX error")
    if r["raw"]:
        problems.append(f"raw TeX delimiters in the text: {r['raw']}")
    if r["stray"]:
        problems.append(f"{r['stray']} equations with a stray dollar sign beside them")
    if r["network"]:
        problems.append(f"fetched from the network: {r['network'][:3]}")
    return problems


def _pages_with_maths(site: Path) -> list[Path]:
    return sorted(
        p
        for p in site.rglob("*.html")
        if not p.relative_to(site).parts[0].startswith("_") and 'class="math' in p.read_text(encoding="utf-8")
    )


@pytest.mark.slow
def test_every_page_renders_its_maths_offline(site, browser):
    pages = _pages_with_maths(site)
    names = {p.relative_to(site).with_suffix("").as_posix() for p in pages}
    assert {MATHS_PAGE, "exercises/01_backward_passes"} <= names, names
    problems = {p.relative_to(site).as_posix(): maths_problems(browser, p) for p in pages}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


@pytest.mark.slow
def test_the_maths_check_fails_on_broken_maths(site, browser, tmp_path):
    """Planted: a TeX error, an equation outside MathJax's reach, stray dollars, and MathJax from a CDN."""
    copy = tmp_path / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("_notebooks_executed", "_sources", "_modules"))
    page = copy / f"{MATHS_PAGE}.html"
    html = page.read_text(encoding="utf-8")
    assert not maths_problems(browser, page)
    first = html.index('<span class="math notranslate nohighlight">\\(') + len(
        '<span class="math notranslate nohighlight">'
    )
    end = html.index("\\)", first) + 2
    cases = {
        "a TeX error": html[:first] + "\\(\\frac{1}{2\\)" + html[end:],  # a brace left open
        "outside MathJax's reach": html.replace("<h1", "<p>\\(x^2\\)</p><h1", 1),
        "stray dollars": html[: first - len('<span class="math notranslate nohighlight">')]
        + "$"
        + html[first - len('<span class="math notranslate nohighlight">') : end]
        + "$"
        + html[end:],
        "MathJax from a CDN": re.sub(
            r'src="[./]*_static/mathjax/tex-svg\.js[^"]*"',
            'src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"',
            html,
        ),
    }
    for what, broken in cases.items():
        assert broken != html, what
        page.write_text(broken, encoding="utf-8")
        assert maths_problems(browser, page), f"{what}: not detected"


@pytest.mark.slow
def test_titles_and_navigation_hold_no_latex(site, tmp_path):
    problems = docs.check_site(site)
    assert not [p for p in problems if "raw LaTeX" in p or "backticks" in p], problems
    copy = tmp_path / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("_notebooks_executed", "_static", "_modules"))
    page = copy / f"{MATHS_PAGE}.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("<title>", "<title>\\(dW\\) ", 1), encoding="utf-8")
    assert any("raw LaTeX in the title" in p for p in docs.check_site(copy)), "a TeX title not found"


@pytest.mark.slow
def test_students_and_teachers_have_their_own_sections(site):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    sections = {
        w.select_one(".caption").get_text().strip(): [a["href"] for a in w.find_all("a")]
        for w in soup.select(".toctree-wrapper")
    }
    assert sections["For students"] == ["exercises/index.html"], sections
    assert "exercises/teachers.html" in sections["For teachers"], sections
    assert not any("teachers" in href for href in sections["For students"])


# ---- where the build writes ----------------------------------------------------------------------------


def test_the_build_refuses_a_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_np", "docs", "--out", str(mine)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "holds no site built by this command" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and (mine / "thesis.tex").read_text() == "mine"
    from alexnet_np.errors import UserError

    for out in (ROOT / "docs" / "site", ROOT / "notebooks", ROOT, tmp_path / "link"):
        if out.name == "link":
            out.symlink_to(tmp_path / "elsewhere")
        with pytest.raises(UserError, match="--out"):
            docs.build_site(out, ROOT)
    assert not (tmp_path / "elsewhere").exists() and not (ROOT / "docs" / "site").exists()


def _snapshot(root: Path) -> dict:
    """{path: mtime} of the checkout's files outside build/, caches and virtual environments."""
    skip = {"build", ".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"}
    found = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in skip and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = path.stat().st_mtime_ns
    return found


# ---- the docs extra is enough --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_docs_extra_alone_builds_the_site_and_writes_only_its_folder(site, tmp_path):
    """A fresh virtual environment with ``pip install -e ".[docs]"`` only (pip's cache reused; no torch, no
    pytest) builds the site. Notebook 08 and the derivations are executed there, in that environment's
    kernel; the others are reused from the test run. The site goes to ``X/docs-src``: beside it (where earlier
    builds wrote docs-src/, docs-doctrees/, docs-expected-images.json and jupyter_execute/) nothing appears
    or changes, and no file of the checkout changes. Costs the install (1-3 min with a warm pip cache) and
    one build (2-4 min on two cores)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[docs]"], capture_output=True, text=True
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    assert probe.returncode != 0, "the docs extra installed torch"
    cache = tmp_path / "executed"
    shutil.copytree(docs.cache_dir(ROOT), cache)
    for stale in [cache / "08_fast_convolution.ipynb", *(cache / "derivations").glob("*.ipynb")]:
        stale.unlink(missing_ok=True)
    x = tmp_path / "x"
    (x / "docs-doctrees").mkdir(parents=True)
    (x / "docs-doctrees" / "keep.txt").write_text("mine")
    (x / "docs-expected-images.json").write_text("mine")
    before = _snapshot(ROOT)
    env = dict(
        os.environ, ALEXNET_NP_EXECUTED_NOTEBOOKS=str(cache), PATH=f"{venv / 'bin'}:{os.environ['PATH']}"
    )
    env.pop("PYTHONPATH", None)
    r = subprocess.run(
        [str(python), "-m", "alexnet_np", "docs", "--out", str(x / "docs-src")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "notebooks/08_fast_convolution.ipynb: executed in" in r.stdout
    assert sorted(p.name for p in x.iterdir()) == ["docs-doctrees", "docs-expected-images.json", "docs-src"]
    assert (x / "docs-doctrees" / "keep.txt").read_text() == "mine"
    assert (x / "docs-expected-images.json").read_text() == "mine"
    assert (x / "docs-src" / "index.html").is_file()
    assert _snapshot(ROOT) == before
