"""One source, two builds: the workbook's notebooks hold solutions between markers; this writes the copies.

In a code cell of a source notebook::

    def double(x):
        # BEGIN SOLUTION
        return 2 * x
        # END SOLUTION

:func:`write_student_copy` replaces everything from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` with
``raise NotImplementedError`` at the marker's indentation; :func:`write_solution_copy` keeps the solution and
drops the marker lines. Both clear outputs. A markdown cell may hide a derivation the same way, between
``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` (the student copy gets :data:`TEXT_STUB`). These are
nbgrader's own markers (it looks for ``BEGIN SOLUTION`` anywhere in a line), so the course build
(:mod:`alexnet_np.exercises.course`) hands the same notebooks to ``nbgrader generate_assignment``, which writes
the same student copy.

A grading cell (``report(grade(...))``) then prints "NOT IMPLEMENTED YET" for a stub, the report for an answer,
and raises ``AssertionError`` only for a wrong one.

Writing is careful: a destination file that exists is refused without ``force``, a symlink is never written
through (refused even with ``force``), the destination may not be the source, and each file is written to a
temporary name beside it and renamed into place (a crash leaves the old file or the new one, never half).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from ..errors import BadArgument, BadFile, RefusedOverwrite
from ..io import check_target, new_file_mode, refuse_link
from .grader import GradeResult

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = "raise NotImplementedError"
TEXT_STUB = "*Write your derivation here.*"
_MARK = re.compile(r"^(\s*)(?:#|<!--)\s*(BEGIN|END) SOLUTION\s*(?:-->)?\s*$")

# The workbook that ships with the package (a link to notebooks/exercises in a checkout; copied into a wheel).
PACKAGED_WORKBOOK = Path(__file__).resolve().parent / "notebooks"


def default_workbook() -> Path:
    """The folder of the workbook's source notebooks that came with this installation of alexnet_np."""
    if PACKAGED_WORKBOOK.is_dir() and any(PACKAGED_WORKBOOK.glob("*.ipynb")):
        return PACKAGED_WORKBOOK
    checkout = Path(__file__).resolve().parents[3] / "notebooks" / "exercises"
    if checkout.is_dir():
        return checkout
    raise BadArgument(
        f"no workbook found beside the package ({PACKAGED_WORKBOOK}): give --src DIR (the source notebooks)"
    )


def strip_solutions(source: str, keep: bool, stub: str = STUB) -> str:
    """A cell's source with each marked solution replaced by ``stub`` (``keep=False``) or unmarked (``keep=True``)."""
    out, inside, indent = [], False, ""
    for n, line in enumerate(source.splitlines(keepends=True), 1):
        m = _MARK.match(line.rstrip("\n"))
        if m and m.group(2) == "BEGIN":
            if inside:
                raise ValueError(f"line {n}: {BEGIN} inside a solution")
            inside, indent = True, m.group(1)
            if not keep:
                out.append(f"{indent}{stub}\n")
        elif m:
            if not inside:
                raise ValueError(f"line {n}: {END} without {BEGIN}")
            inside = False
        elif keep or not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    text = "".join(out)
    return text if source.endswith("\n") else text.rstrip("\n")


def cell_text(cell, where: str) -> str:
    """A cell's source as one string; ``where`` ("FILE, cell N") names it in the error."""
    if not isinstance(cell, dict) or "source" not in cell or "cell_type" not in cell:
        raise BadFile(f"{where}: a cell without 'source' or 'cell_type' (expected a Jupyter notebook cell)")
    src = cell["source"]
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise BadFile(f"{where}: 'source' is a {type(src).__name__}, expected a string or a list of strings")


def read_notebook(path) -> dict:
    """A notebook file as a dict, with every cell checked to have a source; a ``BadFile`` error names the file."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise BadFile(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise BadFile(
            f"{path}: not a notebook (invalid JSON at line {err.lineno}, column {err.colno})"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise BadFile(f"{path}: not a notebook (expected a JSON object with a 'cells' list)")
    for i, cell in enumerate(nb["cells"]):
        cell_text(cell, f"{path}, cell {i}")
    return nb


def source_notebooks(src_dir) -> list[Path]:
    """The ``*.ipynb`` files of a workbook folder, sorted; refuses a missing or empty folder."""
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise BadArgument(f"--src {src_dir}: no such folder (expected the workbook's source notebooks)")
    found = sorted(p for p in src_dir.glob("*.ipynb") if p.is_file())
    if not found:
        raise BadArgument(f"--src {src_dir}: no *.ipynb notebooks in it (expected the workbook's sources)")
    return found


def atomic_write(path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` by a rename from a temporary file beside it.

    Refuses (``RefusedOverwrite``) an existing file unless ``force``, and a symlink always (even with
    ``force``): a command never writes through a link to somewhere else.
    """
    path = check_target(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            os.fchmod(f.fileno(), new_file_mode())  # a handout others read: not mkstemp's private 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def convert(nb: dict, keep: bool, where: str = "notebook") -> dict:
    """A notebook dict with its marked solutions stripped (``keep=False``) or unmarked, outputs cleared."""
    for i, cell in enumerate(nb["cells"]):
        text = cell_text(cell, f"{where}, cell {i}")
        try:
            if cell["cell_type"] == "code":
                text = strip_solutions(text, keep)
                cell["outputs"], cell["execution_count"] = [], None
            elif cell["cell_type"] == "markdown":
                text = strip_solutions(text, keep, stub=TEXT_STUB)
        except ValueError as err:
            raise BadFile(f"{where}, cell {i}: {err}") from None
        cell["source"] = text.splitlines(keepends=True)
    if not keep:  # the instructor's metadata (planted bugs, notes) is not the student's
        nb.get("metadata", {}).pop("alexnet_np", None)
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _build(src, dst, keep: bool, force: bool = False) -> Path:
    src, dst = Path(src), Path(dst)
    if dst.is_dir() and not dst.is_symlink():
        dst = dst / src.name
    if dst.exists() and _same(src, dst):
        raise RefusedOverwrite(f"{dst} is the source notebook itself: choose another destination")
    nb = convert(read_notebook(src), keep, str(src))
    return atomic_write(dst, dumps(nb), force=force)


def write_student_copy(src, dst, *, force: bool = False) -> Path:
    """Write the student's notebook (solutions replaced by ``raise NotImplementedError``); ``dst`` a file or folder."""
    return _build(src, dst, keep=False, force=force)


def write_solution_copy(src, dst, *, force: bool = False) -> Path:
    """Write the instructor's notebook (solutions kept, markers dropped); ``dst`` a file or folder."""
    return _build(src, dst, keep=True, force=force)


def check_destination(src_dir, dst_dir, what: str) -> None:
    """Refuse a destination folder that is the source folder (through a link or not), or not a folder."""
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    refuse_link(dst_dir, what)
    if dst_dir.exists() and not dst_dir.is_dir():
        raise BadArgument(f"{what} {dst_dir}: exists and is not a folder")
    if dst_dir.exists() and _same(src_dir, dst_dir):
        raise RefusedOverwrite(
            f"{what} {dst_dir} is the source folder: it would replace the instructor's notebooks"
        )


def build_workbook(src_dir, dst_dir, *, solutions=False, force=False) -> list[Path]:
    """Every ``*.ipynb`` of ``src_dir`` to ``dst_dir``, as the student copy or (``solutions=True``) the full one.

    Everything is read and converted before anything is written, and every destination is checked first, so a
    refusal leaves ``dst_dir`` as it was.
    """
    what = "--solutions" if solutions else "--student"
    check_destination(src_dir, dst_dir, what)
    dst_dir = Path(dst_dir)
    plan = []
    for p in source_notebooks(src_dir):
        out = dst_dir / p.name
        if out.is_symlink():
            raise RefusedOverwrite(f"{out} is a symbolic link: refusing to write through it")
        if out.exists() and not force:
            raise RefusedOverwrite(f"{out} exists: refusing to replace it (--force replaces it)")
        plan.append((out, dumps(convert(read_notebook(p), solutions, str(p)))))
    dst_dir.mkdir(parents=True, exist_ok=True)
    return [atomic_write(out, text, force=force) for out, text in plan]


# What each grading cell reported in this kernel, for the autograder's hidden check (see course.py).
_REPORTED: dict[str, GradeResult] = {}


def report(result: GradeResult) -> None:
    """A grading cell's body: print the report; raise AssertionError for a wrong answer (not for a stub)."""
    _REPORTED[result.exercise] = result
    print(result)
    if result.status != "not implemented yet":
        assert result.passed, f"{result.exercise}: not yet right (the report above says where)"


def require_passed(*exercises: str) -> None:
    """The autograder's hidden check after a grading cell: a stub (or an exercise never graded) scores nothing."""
    for name in exercises:
        result = _REPORTED.get(name)
        if result is None:
            raise AssertionError(f"{name}: not graded (was the grading cell changed?)")
        if not result.passed:
            raise AssertionError(f"{name}: {result.status}")
