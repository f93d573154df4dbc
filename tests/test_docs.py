"""The documentation site: it builds with warnings as errors, its internal links resolve, every notebook page
shows its figures (counted in the HTML and decoded by headless Chromium), and no exercise solution is on it.

Needs the docs extra (``pip install -e ".[docs]"``) and Debian's ``chromium chromium-driver``; .ci/run
installs both. The site is built once per session by the documented command (``python -m alexnet_np
docs``), which renders the notebooks executed earlier in the same test run (conftest.py runs this file
last and keeps nbmake's executed copies) and executes only those it finds no current copy of.
"""

from __future__ import annotations

import json
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


@pytest.fixture(scope="session")
def site():
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
    for page in ["index", "getting-started", "api", "notebooks/index", "exercises/index", *expected]:
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
    assert "for teachers" in (site / "exercises" / "index.html").read_text().lower()  # the teachers' README


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
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
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
