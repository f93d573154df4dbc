"""A class of 30 through nbgrader: release, submissions, sandboxed autograding, gradebook, feedback, class report.

The assignment is the workbook's first notebook (24 points: one per exercise and per derivation checkpoint, the
dropout cell's two exercises together). The 30 simulated students are built from nbgrader's own release:
correct, blank, partly done, wrong in one exercise in the ways tests/exercise_mistakes.py catalogues (the
grader's words for each mistake come from there), and four hostile ones: a notebook that raises, one that
loops forever, one that deletes the files beside it (up to the gradebook it looks for), one that lists what it
can reach and prints megabytes.

Cost (measured with the machine loaded by other work, so not quotable): the cycle is printed with its wall and
CPU time; about 6 CPU-seconds a submission (nbgrader's start, a kernel, the grading), the looping one 10 s more.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import resource
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="the course extra: pip install -e '.[course]' (the test extra has it)")

from alexnet_np.exercises.classroom import class_report, parse_reports  # noqa: E402
from alexnet_np.exercises.course import autograde, nbgrader  # noqa: E402
from alexnet_np.exercises.workbook import strip_solutions  # noqa: E402
from alexnet_np.tools.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
NOTEBOOK = "01_backward_passes.ipynb"
ASSIGNMENT = "ps1"
CELL_TIMEOUT = 10  # seconds a cell may run: the looping submission's cell is stopped after it

sys.path.insert(0, str(TESTS))
from exercise_mistakes import MISTAKES  # noqa: E402

WORDS = {name: words for name, _, _, words in MISTAKES}
EXERCISE_OF = {name: ex for name, ex, _, _ in MISTAKES}

# student -> {exercise: what they wrote}; an exercise not named is correct. "stub": left as released.
# Mistakes are named as in tests/exercise_mistakes.py. The points lost follow from the exercises' cells.
MISTAKEN = [
    "LRN backward without the cross-channel term",
    "LRN backward without the cross-channel term",
    "LRN backward without the cross-channel term",
    "LRN backward without the cross-channel term",
    "col2im assigns",
    "col2im assigns",
    "col2im assigns",
    "dx assigned, not accumulated",
    "dx assigned, not accumulated",
    "flips the kernel",
    "forgets the bias",
    "softmax without the max shift",
    "softmax without the max shift",
    "PyTorch's momentum form",
    "inverted dropout not rescaled",
    "average pooling",
    "dw transposed",
    "one-hot not subtracted",
]
ORDER = [  # the notebook's order: each derivation checkpoint right before the exercise it prepares
    "output_size_by_hand",
    "output_size",
    "conv_out_by_hand",
    "conv_forward",
    "conv_dw_by_hand",
    "conv_backward",
    "im2col_shape",
    "im2col",
    "col2im_count_by_hand",
    "col2im",
    "maxpool_forward",
    "maxpool_dx_by_hand",
    "maxpool_backward",
    "lrn_window",
    "lrn_forward",
    "lrn_cross_derivative",
    "lrn_backward",
    "softmax_by_hand",
    "softmax_cross_entropy",
    "dropout_scale",
    "dropout_forward",
    "dropout_backward",
    "sgd_terminal_velocity",
    "sgd_momentum_paper",
]
POINTS = {ex: 1 for ex in ORDER}
TOTAL = sum(POINTS.values())  # 24: the 13 exercises and the 11 checkpoints, 1 point each


def _students():
    """{student id: (plan, expected score, words their feedback must contain)}."""
    everything = set(ORDER)
    s = {}
    for i in range(3):
        s[f"correct{i}"] = ({}, TOTAL, ["PASSED"])
    for i in range(2):
        s[f"blank{i}"] = ({ex: "stub" for ex in ORDER}, 0, ["NOT IMPLEMENTED YET"])
    for i, done in enumerate((3, 6, 9)):
        undone = ORDER[done:]
        plan = {ex: "stub" for ex in undone}
        score = TOTAL - _lost(undone)
        s[f"partial{i}"] = (plan, score, ["NOT IMPLEMENTED YET", "PASSED"])
    for i, m in enumerate(MISTAKEN):
        ex = EXERCISE_OF[m]
        s[f"wrong{i:02d}"] = ({ex: ("mistake", m)}, TOTAL - _lost([ex]), [WORDS[m]])
    # hostile
    s["raises"] = (
        {"conv_forward": ("code", _RAISES_INSIDE), "im2col": ("code", _RAISES_AT_TOP)},
        TOTAL - _lost(["conv_forward", "im2col"]),
        ["raised ValueError", "NameError"],
    )
    s["loops"] = (
        {"maxpool_forward": ("code", _LOOPS)},
        TOTAL - _lost(["maxpool_forward"]),
        ["CellTimeoutError"],
    )
    s["deletes"] = ({"output_size": ("code", _DELETES)}, 0, ["Not graded"])
    s["spams"] = ({"im2col": ("code", _SPAMS)}, TOTAL, ["characters cut by the autograder"])
    assert len(s) == 30 and everything == set(ORDER)
    return s


def _lost(exercises):
    """Points lost when ``exercises`` fail: a cell's points are all or nothing (the dropout cell holds two)."""
    pair = ("dropout_forward", "dropout_backward")
    cells = [pair] + [(ex,) for ex in ORDER if ex not in pair]  # dropout_scale has a cell of its own
    return sum(len(c) for c in cells if set(c) & set(exercises))


_RAISES_INSIDE = """
def conv_forward(x, w, b, stride, padding):
    raise ValueError("I could not get the shapes right")
"""
_RAISES_AT_TOP = """
raise RuntimeError("this cell stops before it defines im2col")
"""
_LOOPS = """
def maxpool_forward(x, kernel_size, stride):
    i = 0
    while i < x.shape[2]:  # i is never increased
        pass
"""
_DELETES = """
import pathlib

here = pathlib.Path.cwd()
for folder in (here, here.parent, here.parent.parent):
    for p in folder.iterdir():
        if p.is_file():
            p.unlink()
for up in here.parents:
    if (up / "gradebook.db").exists():
        (up / "gradebook.db").unlink()
        break


def output_size(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) // stride + 1
"""
_SPAMS = """
import pathlib
import sqlite3

root = pathlib.Path.cwd().parents[2]  # the top of what it can reach by relative paths
notebooks = sorted(str(p.relative_to(root)) for p in root.rglob("*.ipynb"))
students = [r[0] for r in sqlite3.connect(root / "gradebook.db").execute("select id from student")]
print("LOOKED AROUND", notebooks, students)
# what ~ is, and a startup file every IPython started after it would run, if ~ were the teacher's home
import os
startup = pathlib.Path.home() / ".ipython" / "profile_default" / "startup"
startup.mkdir(parents=True, exist_ok=True)
(startup / "00-spams.py").write_text("print('SPAMS WAS HERE')")
print("HOME IS", repr(str(pathlib.Path.home())), "PWD IS", repr(os.environ.get("PWD")))
print('spam ' * 1_000_000)  # 5 MB of output
"""


def _solution_cells(release, source):
    """{exercise: (index of its solution cell, the cell's solution source)} from the release and the source."""
    found = {}
    for i, (r, s) in enumerate(zip(release["cells"], source["cells"])):
        if r.get("metadata", {}).get("nbgrader", {}).get("solution"):
            text = strip_solutions("".join(s["source"]), keep=True)
            for name in re.findall(r"^def (\w+)\(", text, flags=re.M):
                found[name] = (i, text)
    return found


def _submission(release, cells, plan):
    nb = json.loads(json.dumps(release))
    by_cell = {}
    for i, text in cells.values():
        by_cell.setdefault(i, {"text": text, "extra": []})
    for ex, what in plan.items():
        i, _ = cells[ex]
        if what == "stub":
            by_cell[i]["text"] = None
        elif what[0] == "mistake":
            by_cell[i]["extra"].append(
                f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom exercise_mistakes import MISTAKES\n"
                f"{ex} = next(m[2] for m in MISTAKES if m[0] == {what[1]!r})\n"
            )
        elif what[0] == "code" and ex == "im2col" and "spam" in what[1]:
            by_cell[i]["extra"].append(what[1])
        else:
            by_cell[i]["text"] = what[1]
    for i, c in by_cell.items():
        if c["text"] is None:
            continue  # the stub, as released
        nb["cells"][i]["source"] = c["text"] + "\n" + "\n".join(c["extra"])
    return nb


def _digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


def _feedback_text(course, student):
    page = (course / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """Release -> 30 submissions -> autograde -> gradebook -> feedback, once for the module's tests."""
    base = tmp_path_factory.mktemp("course")
    src = base / "workbook"
    src.mkdir()
    shutil.copyfile(ROOT / "notebooks" / "exercises" / NOTEBOOK, src / NOTEBOOK)
    course = base / "course"
    assert main(["exercises", "--course", str(course), "--assignment", ASSIGNMENT, "--src", str(src)]) == 0
    nbgrader(course, "generate_assignment", ASSIGNMENT)  # the release, by nbgrader's own command
    release = json.loads((course / "release" / ASSIGNMENT / NOTEBOOK).read_text())
    source = json.loads((course / "source" / ASSIGNMENT / NOTEBOOK).read_text())
    cells = _solution_cells(release, source)
    assert set(cells) == set(ORDER), sorted(cells)
    students = _students()
    for student, (plan, _, _) in students.items():
        d = course / "submitted" / student / ASSIGNMENT
        d.mkdir(parents=True)
        (d / NOTEBOOK).write_text(json.dumps(_submission(release, cells, plan)))
        (d / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")
    instructor = {"source": _digest(course / "source"), "release": _digest(course / "release")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    results = autograde(course, ASSIGNMENT, cell_timeout=CELL_TIMEOUT, wall_timeout=120, jobs=2)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(
        f"\nautograded 30 submissions in {wall:.0f} s wall, {cpu:.0f} s CPU in the grading processes; "
        f"300 on 2 quiet cores: about {300 * cpu / 30 / 2 / 60:.0f} min (CPU / 2; the machine's load not counted)"
    )
    for r in results:
        if r.student in ("raises", "loops", "deletes", "spams") or r.status != "graded":
            print(
                f"{r.student}: {r.status}, {r.score:g}/{r.max_score:g}, {r.seconds:.0f} s, "
                f"{r.cut_outputs} output(s) cut; {r.message}"
            )
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    nbgrader(course, "export", f"--to={base / 'grades.csv'}")
    return {
        "course": course,
        "base": base,
        "students": students,
        "results": {r.student: r for r in results},
        "instructor": instructor,
    }


pytestmark = pytest.mark.slow


def test_each_student_gets_the_expected_score(cycle):
    grades = {}
    for line in (cycle["base"] / "grades.csv").read_text().splitlines()[1:]:
        row = line.split(",")
        grades[row[3]] = float(row[9])
    assert len(grades) == 30
    for student, (_, expected, _) in cycle["students"].items():
        assert grades[student] == expected, (student, cycle["results"][student])


def test_each_feedback_names_the_mistake(cycle):
    for student, (_, _, words) in cycle["students"].items():
        text = _feedback_text(cycle["course"], student)
        for w in words:
            assert w in text, f"{student}: {w!r} not in the feedback"


def test_the_hostile_submissions_are_contained(cycle):
    course, results = cycle["course"], cycle["results"]
    # the instructor's files are as they were; every other submission was graded
    assert _digest(course / "source") == cycle["instructor"]["source"]
    assert _digest(course / "release") == cycle["instructor"]["release"]
    assert (course / "gradebook.db").is_file() and (course / "nbgrader_config.py").is_file()
    assert {s for s, r in results.items() if r.status != "graded"} == {"deletes"}
    assert "could not finish grading" in results["deletes"].message
    for student in cycle["students"]:
        assert (course / "submitted" / student / ASSIGNMENT / NOTEBOOK).is_file(), student
    # the endless loop was stopped by the cell's time limit, well within 20 s
    nb = json.loads((course / "autograded" / "loops" / ASSIGNMENT / NOTEBOOK).read_text())
    (cell,) = [c for c in nb["cells"] if 'grade("maxpool_forward"' in "".join(c["source"])]
    t = cell["metadata"]["execution"]
    began = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
    assert (ended - began).total_seconds() < 20
    assert any(o.get("ename") == "CellTimeoutError" for o in cell["outputs"]), cell["outputs"]
    # the megabytes were cut before they reached the course's files
    spam = course / "autograded" / "spams" / ASSIGNMENT / NOTEBOOK
    assert spam.stat().st_size < 200_000 and results["spams"].cut_outputs == 1
    # what a submission can see around itself: its own notebook, a gradebook with only itself, no solutions
    text = spam.read_text()
    seen = re.search(r"LOOKED AROUND (\[.*?\]) (\[.*?\])", text)
    notebooks, students = (
        json.loads(seen.group(1).replace("'", '"')),
        json.loads(seen.group(2).replace("'", '"')),
    )
    assert students == ["spams"] and notebooks and all("/spams/" in p for p in notebooks), (
        notebooks,
        students,
    )
    # ~ was a home of its own inside the submission's sandbox, gone with it (with the IPython startup file it
    # wrote, which every kernel started later would have run); the folder autograde was started from was not
    # in the environment
    home, pwd = re.search(r"HOME IS '([^']*)' PWD IS (None|'[^']*')", text).groups()
    assert "autograde-spams-" in home and not Path(home).exists(), home
    assert pwd == "None" or str(course) not in pwd, pwd


def test_the_class_report_counts_each_mistake(cycle, tmp_path, capsys):
    gradebook = cycle["course"] / "gradebook.db"
    rep = class_report(gradebook)
    assert sorted(rep.scores) == sorted(cycle["students"])
    counts = {}
    for name in MISTAKEN:
        counts[name] = counts.get(name, 0) + 1
    for name, n in counts.items():
        rows = [r for r in rep.mistakes(EXERCISE_OF[name]) if WORDS[name] in r[0]]
        assert len(rows) == 1 and rows[0][1] == n, (name, rep.mistakes(EXERCISE_OF[name]))
    png = tmp_path / "mistakes.png"
    assert main(["class-report", str(gradebook), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "13%  (4)" in out and png.stat().st_size > 10_000  # 4 of 30 forgot the LRN's cross-channel term
    assert (
        "ran out of time" in out and "not reached" in out
    )  # the looping cell; dropout_backward after a failure
    print(out)
    assert main(["class-report", str(gradebook), "--plot", str(png)]) == 2  # refuses to overwrite
    assert "--force" in capsys.readouterr().err


def test_parse_reports_reads_the_graders_text():
    text = (
        "col2im: FAILED (2/5 cases)\n  case 'overlap' [3x3/2]:\n    dx: 12 of 40 elements wrong\n"
        "  wrong only where windows overlap\n  also failing: 'x'\nim2col: PASSED (5/5 cases)\n"
        "conv_forward: NOT IMPLEMENTED YET\n  write your solution in place of the stub\n"
    )
    found = parse_reports(text)
    assert found["col2im"] == ("failed", "wrong only where windows overlap")  # the cause, not the count
    assert found["im2col"][0] == "passed" and found["conv_forward"][0] == "not attempted"


def test_nbgrader_releases_what_our_student_build_writes(cycle, tmp_path):
    """One source, one student copy: nbgrader's release and `exercises --student` agree cell by cell."""
    from alexnet_np.exercises.workbook import write_student_copy

    ours = json.loads(write_student_copy(ROOT / "notebooks" / "exercises" / NOTEBOOK, tmp_path).read_text())
    released = json.loads((cycle["course"] / "release" / ASSIGNMENT / NOTEBOOK).read_text())
    assert len(ours["cells"]) == len(released["cells"])
    for a, b in zip(ours["cells"], released["cells"]):
        text = "".join(b["source"])
        if b["metadata"]["nbgrader"]["grade"] and b["cell_type"] == "code":
            text = text.split("### BEGIN HIDDEN TESTS")[0]  # nbgrader leaves the hidden check's place empty
        assert "".join(a["source"]).rstrip() == text.rstrip()


def test_points_without_a_passing_report_are_flagged():
    """A grading cell scores when it runs without an error: a submission that replaced ``report`` and ``grade``
    scores while no cell printed a passing report. The class report names such a student for the teacher."""
    from alexnet_np.exercises.classroom import Attempt, ClassReport

    attempts = [
        Attempt("honest", "conv_forward", "passed", ""),
        Attempt("honest", "im2col", "failed", "cols: the channels are missing"),
        Attempt("patched", "conv_forward", "failed", "no report printed"),
        Attempt("patched", "im2col", "failed", "no report printed"),
        Attempt("blank", "conv_forward", "not attempted", "not attempted"),
    ]
    rep = ClassReport("ps1", {"honest": (1.0, 2.0), "patched": (2.0, 2.0), "blank": (0.0, 2.0)}, attempts)
    assert rep.unexplained == ["patched"]
    assert "look at patched by hand: 2/2 points" in rep.table() and "look at honest" not in rep.table()
