"""The class report: from an nbgrader gradebook and the grader's diagnoses, which mistakes how many students made.

>>> rep = class_report("course/gradebook.db")          # doctest: +SKIP
>>> print(rep.table())                                  # doctest: +SKIP
>>> rep.plot("mistakes.png")                            # doctest: +SKIP

The scores come from the gradebook (``nbgrader autograde`` or :func:`~alexnet_np.exercises.course.autograde`
wrote them); the mistakes from the reports the grading cells printed, read from the autograded notebooks beside
the gradebook (``COURSE/autograded/STUDENT/ASSIGNMENT/*.ipynb``). A report's mistake is the first line of its
diagnosis that names a cause (not the "case '...':" header, not the "also failing" list, not a bare "12 of 40
elements wrong" when a later line says why); numbers are kept
in the text shown but ignored when grouping, so "60 of 120 elements wrong" and "12 of 120 elements wrong" count
as one mistake. A grading cell that printed no report (the function was never defined, the cell ran out of
time) is counted under the error it ended with.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadArgument, BadFile
from ..io import atomic_write, check_target, open_regular_file
from .course import check_gradebook

_HEAD = re.compile(r"^(\w+): ([A-Z][A-Z ,]*[A-Z])(?: \((\d+)/(\d+) cases\))?\s*$")
_GRADING = re.compile(r"""report\(\s*grade\(\s*["'](\w+)["']""")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_COUNT = re.compile(r"\d+ of \d+ (elements wrong|values are nan or inf)")

NOT_ATTEMPTED = "not attempted (the stub is still there)"


@dataclass
class Attempt:
    """One student's result on one exercise: ``status`` passed / failed / not attempted / not graded."""

    student: str
    exercise: str
    status: str
    mistake: str = ""


def parse_reports(text: str) -> dict[str, tuple[str, str]]:
    """``{exercise: (status, mistake)}`` from a grading cell's printed output (the grader's ``str()`` reports)."""
    found, current, lines = {}, None, []

    def close():
        if current is None:
            return
        name, status = current
        if status.startswith("PASSED"):
            found[name] = ("passed", status.lower())
        elif status == "NOT IMPLEMENTED YET":
            found[name] = ("not attempted", NOT_ATTEMPTED)
        else:
            body = [
                ln.strip()
                for ln in lines
                if ln.strip() and not ln.strip().startswith(("case '", "also failing", "·"))
            ]
            # a line that names a cause beats the bare count of wrong elements that often precedes it
            named = [ln for ln in body if not _COUNT.search(ln)]
            found[name] = ("failed", (named or body or [status.lower()])[0])

    for line in _ANSI.sub("", text).splitlines():
        m = _HEAD.match(line)
        if m:
            close()
            current, lines = (m.group(1), m.group(2)), []
        elif current is not None and line.startswith(" "):
            lines.append(line)
        elif current is not None:
            close()
            current, lines = None, []
    close()
    return found


def _dicts(items) -> list:
    """The dict entries of a notebook's list (cells, outputs); anything else in a hand-edited file is left out."""
    return [o for o in items if isinstance(o, dict)] if isinstance(items, list) else []


def _field(d, key) -> dict:
    value = d.get(key, {}) if isinstance(d, dict) else {}
    return value if isinstance(value, dict) else {}


def _joined(text) -> str:
    if isinstance(text, str):
        return text
    return "".join(t for t in text if isinstance(t, str)) if isinstance(text, list) else ""


def _error_of(outputs) -> str:
    errors = [o for o in _dicts(outputs) if o.get("output_type") == "error"]
    if any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in errors):
        return "the cell ran out of time (an endless loop?)"  # nbgrader interrupts a cell at its time limit
    for out in errors:
        ename, evalue = str(out.get("ename", "Error")), _ANSI.sub("", str(out.get("evalue", "")))
        return f"{ename}: {evalue}".strip().rstrip(":")[:160]
    return ""


def _text(outputs) -> str:
    parts = []
    for out in _dicts(outputs):
        if out.get("output_type") == "stream":
            parts.append(_joined(out.get("text", "")))
        elif "text/plain" in _field(out, "data"):
            parts.append(_joined(out["data"]["text/plain"]))
    return "\n".join(parts)


MAX_NOTEBOOK_BYTES = 64 * 2**20
"""The largest autograded notebook the class report reads (a workbook with its outputs is well under 1 MB)."""


def read_notebook(path) -> dict:
    """One autograded notebook's JSON, or :class:`BadFile` in one line: not a regular file (a FIFO, a device, a
    folder), over :data:`MAX_NOTEBOOK_BYTES`, not UTF-8 JSON, or not a JSON object."""
    try:
        with open_regular_file(path) as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as err:
        raise BadFile(f"{path}: cannot be read ({err.strerror})") from None
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise BadFile(f"{path}: over {MAX_NOTEBOOK_BYTES:,} bytes, not an autograded workbook notebook")
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise BadFile(f"{path}: not a readable notebook ({type(err).__name__})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise BadFile(f"{path}: not a notebook (expected a JSON object with a list of cells)")
    return nb


def attempts_in_notebook(path, student: str) -> list[Attempt]:
    """Every graded exercise of one autograded notebook, with its status and mistake; :class:`BadFile` for a file
    that is no notebook (:func:`read_notebook`). Cells or outputs of the wrong JSON type are left out."""
    nb = read_notebook(path)
    found = []
    cells = _dicts(nb.get("cells", []))
    why = _field(_field(cells[0], "metadata"), "alexnet_np").get("not_graded") if cells else None
    for cell in cells:
        meta = _field(_field(cell, "metadata"), "nbgrader")
        names = _GRADING.findall(_joined(cell.get("source", "")))
        if not (meta.get("grade") and names):
            continue
        reports = parse_reports(_text(cell.get("outputs", [])))
        error = _error_of(cell.get("outputs", []))
        for name in names:
            if why:
                status, mistake = "not graded", f"not graded: {why}"
            elif name in reports:
                status, mistake = reports[name]
            elif any(reports.get(n, ("",))[0] == "failed" for n in names):
                status, mistake = "not reached", "not reached: the cell stopped at the failure before it"
            else:
                status, mistake = "failed", error or "no report printed"
            found.append(Attempt(student, name, status, mistake))
    return found


def _key(mistake: str) -> str:
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", mistake)


@dataclass
class ClassReport:
    """Scores and mistakes of one assignment's class; ``table()`` and ``plot(path)`` for the instructor."""

    assignment: str
    scores: dict  # student -> (score, max_score)
    attempts: list = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        return sorted(self.scores)

    @property
    def exercises(self) -> list[str]:
        return list(dict.fromkeys(a.exercise for a in self.attempts))

    def mistakes(self, exercise: str) -> list[tuple[str, int, list[str]]]:
        """``(mistake, how many students, who)`` for ``exercise``: the mistakes, most frequent first, then the
        exercises not attempted, not graded or not reached (passes left out)."""
        groups, shown = defaultdict(list), {}
        for a in self.attempts:
            if a.exercise == exercise and a.status != "passed":
                k = _key(a.mistake)
                groups[k].append(a.student)
                shown.setdefault(k, Counter())[a.mistake] += 1
        rows = [(shown[k].most_common(1)[0][0], len(set(who)), sorted(set(who))) for k, who in groups.items()]
        return sorted(rows, key=lambda r: (not is_mistake(r[0]), -r[1], r[0]))

    def passed(self, exercise: str) -> int:
        return len({a.student for a in self.attempts if a.exercise == exercise and a.status == "passed"})

    @property
    def unexplained(self) -> list[str]:
        """The students the gradebook gave points although no exercise of theirs printed a passing report.

        A grading cell scores when it runs without an error, so a submission that replaced the grader's
        functions in its own kernel scores without answering; the teacher looks at these by hand."""
        passed = {a.student for a in self.attempts if a.status == "passed"}
        return sorted(s for s, (score, _) in self.scores.items() if score > 0 and s not in passed)

    def table(self) -> str:
        n = len(self.scores)
        total = [s for s, _ in self.scores.values()]
        top = max((m for _, m in self.scores.values()), default=0)
        mean = sum(total) / n if n else 0.0
        ordered = sorted(total)
        median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2 if n else 0.0
        lines = [
            f"{self.assignment}: {n} students, scores out of {top:g}: mean {mean:.1f}, median {median:g}",
            "",
            f"{'exercise':<24}{'passed':>8}  mistakes (share of the class, students)",
        ]
        for ex in self.exercises:
            ok = self.passed(ex)
            lines.append(f"{ex:<24}{_pct(ok, n):>8}")
            for mistake, count, _ in self.mistakes(ex):
                lines.append(f"{'':<24}{_pct(count, n):>8}  ({count}) {mistake}")
        for student in self.unexplained:
            score, out_of = self.scores[student]
            lines.append(
                f"look at {student} by hand: {score:g}/{out_of:g} points, but no grading cell printed a passing "
                "report (were the grader's functions replaced?)"
            )
        return "\n".join(lines)

    def plot(self, path, *, force: bool = False, top: int = 20):
        """Horizontal bars: the ``top`` most frequent mistakes, as a share of the class, coloured by exercise
        (stubs left in place and submissions not graded are in the table, not here).

        Written to ``path`` (a PNG) by a rename from a temporary file; an existing file is refused without
        ``force``, a symbolic link always.
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import numpy as np

        path = check_png(path, force)
        n = max(len(self.scores), 1)
        rows = [(ex, m, c) for ex in self.exercises for m, c, _ in self.mistakes(ex) if is_mistake(m)]
        rows = sorted(rows, key=lambda r: -r[2])[:top][::-1]
        colours = {ex: plt.cm.tab20(i % 20) for i, ex in enumerate(self.exercises)}
        import textwrap

        # two lines of at most 60 characters a label: longer ones ran off the figure's left edge
        labels = [textwrap.shorten(f"{ex}: {m}", 120, placeholder=" ...") for ex, m, _ in rows]
        labels = [textwrap.fill(label, 60) for label in labels]
        fig, ax = plt.subplots(figsize=(11, 0.9 + 0.42 * max(len(rows), 1)))
        ax.barh(range(len(rows)), [100 * c / n for *_, c in rows], color=[colours[ex] for ex, *_ in rows])
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_xlabel(f"% of the class ({len(self.scores)} students)")
        ax.set_xlim(0, min(100, 10 * np.ceil(max([c for *_, c in rows], default=1) * 100 / n / 10 + 0.5)))
        ax.set_title(f"{self.assignment}: the most frequent mistakes", fontsize=10)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # atomically, with a new file's permissions (not a temporary file's 0600)
            atomic_write(path, lambda f: fig.savefig(f, dpi=120, format="png"))
        finally:
            plt.close(fig)
        return path


def is_mistake(text: str) -> bool:
    """A wrong answer, as opposed to an exercise not attempted, not graded, or not reached."""
    return not text.startswith(("not attempted", "not graded", "not reached"))


def check_png(path, force: bool = False) -> Path:
    """The plot's path, refused if it is not a .png name, a symbolic link, or (without ``force``) exists."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise BadArgument(f"--plot {path}: expected a .png file name")
    return check_target(path, force=force)


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.0f}%" if n else "-"


def _read_gradebook(gb_ctx, gradebook, assignment, MissingEntry):
    """(scores by student, the exercises graded in order, the assignment) from an open nbgrader Gradebook."""
    with gb_ctx as gb:
        names = [a.name for a in gb.assignments]
        if not names:
            raise BadFile(f"{gradebook}: no assignment in this gradebook")
        if assignment is None:
            assignment = names[-1]
        elif assignment not in names:
            raise BadArgument(f"--assignment {assignment}: not in {gradebook} (it has {', '.join(names)})")
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            subs = []
        scores = {s.student.id: (float(s.score), float(s.max_score)) for s in subs}
        exercises = []
        for nb in gb.find_assignment(assignment).notebooks:
            for cell in nb.source_cells:
                exercises += [n for n in _GRADING.findall(cell.source or "") if n not in exercises]
    return scores, exercises, assignment


def class_report(gradebook, assignment: str | None = None) -> ClassReport:
    """The :class:`ClassReport` of ``assignment`` (default: the gradebook's only or latest one).

    ``gradebook``: nbgrader's ``COURSE/gradebook.db``; the autograded notebooks are read from
    ``COURSE/autograded/``. A student with no autograded notebook (stopped by the time limit, or a submission
    that broke its own sandbox) is counted as "not graded" on every exercise.
    """
    gradebook = Path(gradebook)
    if not gradebook.is_file():
        what = "a folder, not a gradebook" if gradebook.is_dir() else "no such gradebook"
        raise BadArgument(f"{gradebook}: {what} (expected COURSE/gradebook.db from nbgrader)")
    check_gradebook(gradebook)
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError:
        raise BadArgument(
            'the class report reads nbgrader\'s gradebook: pip install "alexnet_np[course]"'
        ) from None
    course = gradebook.resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        # nbgrader's Gradebook adds its tables to any database it opens: it reads a copy, never the user's file
        copy = Path(tmp) / "gradebook.db"
        shutil.copyfile(gradebook, copy)
        try:
            gb_ctx = Gradebook(f"sqlite:///{copy}")
        except Exception as err:  # noqa: BLE001 - sqlalchemy's errors for a file that is no gradebook
            raise BadFile(f"{gradebook}: not an nbgrader gradebook ({type(err).__name__})") from None
        from sqlalchemy.exc import SQLAlchemyError

        try:
            scores, exercises, assignment = _read_gradebook(gb_ctx, gradebook, assignment, MissingEntry)
        except SQLAlchemyError as err:  # nbgrader's table names with another schema's columns
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise BadFile(f"{gradebook}: not an nbgrader gradebook ({first})") from None
    attempts = []
    for student in sorted(scores):
        folder = course / "autograded" / student / assignment
        notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() and not folder.is_symlink() else []
        found, unreadable = [], []
        for nb_path in notebooks:
            try:
                found += attempts_in_notebook(nb_path, student)
            except BadFile as err:  # one student's broken file costs that student's exercises, not the report
                unreadable.append(str(err))
        seen = {a.exercise for a in found}
        reason = (
            "not graded (no graded notebook holds it: not submitted, left out by the autograder, or a submission "
            "that could not be graded; autograde's output says which)"
        )
        if unreadable:
            reason = f"not graded: an autograded notebook could not be read ({'; '.join(unreadable)})"[:300]
        found += [Attempt(student, ex, "not graded", reason) for ex in exercises if ex not in seen]
        attempts += found
    order = {ex: i for i, ex in enumerate(exercises)}
    attempts.sort(key=lambda a: (order.get(a.exercise, len(order)), a.student))
    return ClassReport(assignment, scores, attempts)
