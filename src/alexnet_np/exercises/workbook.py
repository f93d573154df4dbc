"""One source, two builds: the workbook's notebooks hold solutions between markers; this writes the copies.

In a code cell of a source notebook::

    def relu_backward(dout, x):
        # BEGIN SOLUTION
        return dout * (x > 0)
        # END SOLUTION

:func:`write_student_copy` replaces everything from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` with
``raise NotImplementedError`` at the marker's indentation; :func:`write_solution_copy` keeps the solution and
drops the marker lines. Both clear outputs. A grading cell (``report(grade(...))``) then prints
"NOT IMPLEMENTED YET" for a stub, the report for an answer, and raises ``AssertionError`` only for a wrong one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .grader import GradeResult

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = "raise NotImplementedError"
_MARK = re.compile(r"^(\s*)# (BEGIN|END) SOLUTION\s*$")
# In a markdown cell, text that gives a formula away sits between these lines: kept (markers dropped) in the
# solution build, removed in the student's.
_MD_SOLUTION = re.compile(r"^<!-- BEGIN SOLUTION -->\s*$.*?^<!-- END SOLUTION -->\s*$\n?", re.M | re.S)
_MD_MARKERS = re.compile(r"^<!-- (BEGIN|END) SOLUTION -->\s*$\n?", re.M)


def strip_markdown_solutions(text: str, keep: bool) -> str:
    """A markdown cell's text without its marked solution text (``keep=False``) or without the markers."""
    out = _MD_MARKERS.sub("", text) if keep else _MD_SOLUTION.sub("", text)
    return out if text.endswith("\n") else out.rstrip("\n")


def strip_solutions(source: str, keep: bool) -> str:
    """A cell's source with each marked solution replaced by a stub (``keep=False``) or unmarked (``keep=True``)."""
    out, inside, indent = [], False, ""
    for n, line in enumerate(source.splitlines(keepends=True), 1):
        m = _MARK.match(line.rstrip("\n"))
        if m and m.group(2) == "BEGIN":
            if inside:
                raise ValueError(f"line {n}: {BEGIN} inside a solution")
            inside, indent = True, m.group(1)
            if not keep:
                out.append(f"{indent}{STUB}\n")
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


def _build(src, dst, keep: bool) -> Path:
    src, dst = Path(src), Path(dst)
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code":
            text = strip_solutions(text, keep)
            cell["outputs"], cell["execution_count"] = [], None
        elif cell["cell_type"] == "markdown":
            text = strip_markdown_solutions(text, keep)
        cell["source"] = text.splitlines(keepends=True)
    if not keep:  # the instructor's metadata (planted bugs, notes) is not the student's
        nb["metadata"].pop("alexnet_np", None)
    if dst.is_dir():
        dst = dst / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dst


def write_student_copy(src, dst) -> Path:
    """Write the student's notebook (solutions replaced by ``raise NotImplementedError``); ``dst`` a file or folder."""
    return _build(src, dst, keep=False)


def write_solution_copy(src, dst) -> Path:
    """Write the instructor's notebook (solutions kept, markers dropped); ``dst`` a file or folder."""
    return _build(src, dst, keep=True)


def build_workbook(src_dir, dst_dir, *, solutions=False) -> list[Path]:
    """Every ``*.ipynb`` of ``src_dir`` to ``dst_dir``, as the student copy or (``solutions=True``) the full one."""
    write = write_solution_copy if solutions else write_student_copy
    Path(dst_dir).mkdir(parents=True, exist_ok=True)
    return [write(p, Path(dst_dir)) for p in sorted(Path(src_dir).glob("*.ipynb"))]


def report(result: GradeResult) -> None:
    """A grading cell's body: print the report; raise AssertionError for a wrong answer (not for a stub)."""
    print(result)
    if result.status != "not implemented yet":
        assert result.passed, f"{result.exercise}: not yet right (the report above says where)"
