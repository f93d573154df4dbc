"""The workbook as an nbgrader assignment: one notebook set, released, autograded and returned by nbgrader.

nbgrader (Jupyter's grading tool; ``pip install "alexnet_np[course]"``) keeps a course in one folder::

    COURSE/nbgrader_config.py       written by make_course (the stub, the markers, the cell time limit)
    COURSE/source/ASSIGNMENT/       the instructor's notebooks, with nbgrader's cell metadata (make_course)
    COURSE/release/ASSIGNMENT/      what students get            (nbgrader generate_assignment ASSIGNMENT)
    COURSE/submitted/STUDENT/ASSIGNMENT/   their work            (nbgrader collect / zip_collect, or a copy)
    COURSE/autograded/STUDENT/ASSIGNMENT/  executed and scored   (autograde below, or nbgrader autograde)
    COURSE/gradebook.db             scores per cell (SQLite)     (nbgrader export writes grades.csv)
    COURSE/feedback/STUDENT/ASSIGNMENT/    HTML per notebook     (nbgrader generate_feedback ASSIGNMENT)

:func:`make_course` turns our notebooks (``# BEGIN SOLUTION`` ... ``# END SOLUTION``, nbgrader's own markers)
into the source: a cell with a marked solution becomes an nbgrader *solution* cell, a grading cell
(``report(grade("name", fn))``) an autograded *test* cell worth ``points[name]`` (1 by default) per exercise,
and every other cell is locked (nbgrader puts the instructor's version back before grading). A test cell
scores when it runs without an error: :func:`~alexnet_np.exercises.workbook.report` raises for a wrong answer,
and a hidden line (nbgrader's ``### BEGIN HIDDEN TESTS``, left out of the release) makes a stub score nothing
too. What a student reads in their feedback is the grader's report printed by that cell.

:func:`autograde` is ``nbgrader autograde`` with the submissions kept apart: each is graded in a fresh
temporary folder laid out as the course, holding only that submission, the source's non-notebook files (no
solutions: nbgrader restores locked and test cells from the gradebook) and a gradebook with no other student,
by a grading process of its own job slot that starts a fresh kernel for it, under a wall-clock limit (the
process group is killed), a per-cell limit (nbgrader interrupts the cell), a memory limit and a file-size
limit; outputs longer than ``max_output`` characters are cut before the notebook is copied back, and the
scores are written into the course's gradebook by the calling process. nbgrader alone runs every student's
kernel in the course folder itself, one after another, with no limit but the per-cell one.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadArgument, BadFile, RefusedOverwrite
from ..io import refuse_link
from .workbook import STUB, TEXT_STUB, atomic_write, cell_text, default_workbook, dumps, read_notebook
from .workbook import source_notebooks as _source_notebooks

GRADING = re.compile(r"""^(\s*)report\(\s*grade\(\s*["'](\w+)["']""")
SOLUTION = re.compile(r"BEGIN SOLUTION")

CONFIG = """\
# nbgrader's settings for the alexnet_np workbook (written by alexnet_np.exercises.course.make_course).
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = {course_id!r}
# Our markers are nbgrader's: "BEGIN SOLUTION" / "END SOLUTION" anywhere in a line, code or markdown.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.ClearSolutions.text_stub = {text_stub!r}
# Seconds one cell may run when autograding before nbgrader interrupts it.
c.Execute.timeout = {cell_timeout}
"""


def _nbgrader_meta(kind: str, grade_id: str, points: float = 0) -> dict:
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": grade_id, "schema_version": 3}
    if kind == "solution":
        meta.update(solution=True, locked=False)
    elif kind == "test":
        meta.update(grade=True, points=points)
    return meta


def to_nbgrader(nb: dict, *, points=None, where: str = "notebook") -> dict:
    """Our notebook (a dict) with nbgrader's metadata: solution, test (with points) and locked cells.

    ``points``: ``{exercise: points}``; an exercise not in it is worth 1. A test cell's hidden lines (stripped
    from the release) fail it for a stub as well as for a wrong answer.
    """
    points = points or {}
    used = set()
    for i, cell in enumerate(nb["cells"]):
        text = cell_text(cell, f"{where}, cell {i}")
        names = [m.group(2) for m in map(GRADING.match, text.splitlines()) if m]
        if cell["cell_type"] == "code" and names:
            grade_id = "grade_" + "_".join(names)
            hidden = "\n".join(
                [
                    "### BEGIN HIDDEN TESTS",
                    "from alexnet_np.exercises.workbook import require_passed",
                    f"require_passed({', '.join(repr(n) for n in names)})",
                    "### END HIDDEN TESTS",
                ]
            )
            text = text.rstrip("\n") + "\n" + hidden + "\n"
            meta = _nbgrader_meta("test", grade_id, sum(float(points.get(n, 1)) for n in names))
        elif SOLUTION.search(text) and cell["cell_type"] == "markdown":
            # nbgrader wants a written answer graded by hand: worth points["derivations"] (0 by default)
            meta = _nbgrader_meta("solution", f"derivation_{i:02d}")
            meta.update(grade=True, points=float(points.get("derivations", 0)))
        elif SOLUTION.search(text):
            meta = _nbgrader_meta("solution", f"solution_{i:02d}")
        else:
            meta = _nbgrader_meta("locked", f"cell_{i:02d}")
        if meta["grade_id"] in used:
            raise BadFile(f"{where}, cell {i}: exercise graded twice ({meta['grade_id']})")
        used.add(meta["grade_id"])
        cell.setdefault("metadata", {})["nbgrader"] = meta
        cell["source"] = text.splitlines(keepends=True)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def make_course(
    course_dir,
    assignment: str = "workbook",
    src=None,
    *,
    points=None,
    cell_timeout: int = 60,
    force: bool = False,
) -> list[Path]:
    """Write ``course_dir/source/ASSIGNMENT/*.ipynb`` (nbgrader's source) and ``course_dir/nbgrader_config.py``.

    ``src``: the workbook folder (default: the one that came with alexnet_np). Refuses to replace an existing
    file without ``force``; checks every notebook before writing any.
    """
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", assignment):
        raise BadArgument(f"assignment name {assignment!r}: expected letters, digits, '_', '-', '.'")
    course_dir = Path(course_dir)
    src = Path(src) if src is not None else default_workbook()
    notebooks = [(p, read_notebook(p)) for p in _source_notebooks(src)]
    graded = {
        m.group(2)
        for p, nb in notebooks
        for i, cell in enumerate(nb["cells"])
        for m in map(GRADING.match, cell_text(cell, f"{p}, cell {i}").splitlines())
        if m
    }
    unknown = sorted(set(points or {}) - graded - {"derivations"})
    if unknown:
        raise BadArgument(
            f"--points {', '.join(unknown)}: no such exercise in {src} "
            f"(its exercises: {', '.join(sorted(graded))}; and 'derivations')"
        )
    for folder in (course_dir, course_dir / "source", course_dir / "source" / assignment):
        refuse_link(folder, "--course:")  # never written through, nor anything made inside one
    target = course_dir / "source" / assignment
    if target.exists() and src.resolve() == target.resolve():
        raise RefusedOverwrite(
            f"--src {src} is the course's own source folder {target}: it would replace the notebooks it reads"
        )
    plan = [
        (course_dir / "source" / assignment / p.name, dumps(to_nbgrader(nb, points=points, where=str(p))))
        for p, nb in notebooks
    ]
    config = CONFIG.format(
        course_id=course_dir.resolve().name, stub=STUB, text_stub=TEXT_STUB, cell_timeout=int(cell_timeout)
    )
    cfg = course_dir / "nbgrader_config.py"
    written = (
        [atomic_write(cfg, config, force=force)] if not (cfg.exists() and cfg.read_text() == config) else []
    )
    return written + [atomic_write(path, text, force=force) for path, text in plan]


def nbgrader(course_dir, *args, timeout=None, check=True, env=None):
    """Run ``nbgrader ARGS`` in the course folder (nbgrader's own command line, in a child process).

    Returns the finished process (output captured); raises RuntimeError with the output's end if it failed.
    """
    try:
        import nbgrader as _  # noqa: F401
    except ImportError:
        raise BadArgument('nbgrader is not installed: pip install "alexnet_np[course]"') from None
    cmd = [sys.executable, "-m", "nbgrader", *map(str, args)]
    proc = subprocess.run(cmd, cwd=course_dir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"nbgrader {' '.join(map(str, args))} failed (exit {proc.returncode}):\n{tail}")
    return proc


@dataclass
class Autograded:
    """How one submission's grading went: ``status`` "graded", "timed out" or "failed"; seconds of wall time."""

    student: str
    status: str
    seconds: float
    score: float = 0.0
    max_score: float = 0.0
    message: str = ""
    cut_outputs: int = 0
    details: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)  # files of the submission left out of the sandbox, and why
    log: str = field(default="", repr=False)  # the end of nbgrader's log, when it could not grade


def _limits(memory_mib: int, file_mib: int):
    def apply():
        import resource

        os.setsid()  # its own process group: the whole tree (nbgrader, the kernels, their children) is killed at once
        resource.setrlimit(resource.RLIMIT_AS, (memory_mib << 20, memory_mib << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mib << 20, file_mib << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _cut_outputs(nb_path: Path, max_output: int) -> int:
    """Shorten every output text over ``max_output`` characters in place; returns how many were cut."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    cut = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            fields = [("text", out)] if "text" in out else []
            fields += [(k, out["data"]) for k in list(out.get("data", {})) if k.startswith("text/")]
            for key, holder in fields:
                text = holder[key] if isinstance(holder[key], str) else "".join(holder[key])
                if len(text) > max_output:
                    holder[key] = (
                        text[: max_output // 2]
                        + f"\n[... {len(text) - max_output:,} characters cut by the autograder ...]\n"
                        + text[-max_output // 2 :]
                    )
                    cut += 1
            if "traceback" in out and sum(map(len, out["traceback"])) > max_output:
                out["traceback"] = out["traceback"][-5:]
                cut += 1
    if cut:
        nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    return cut


TOTAL_COPY_FACTOR = 4
"""A folder copied in or out of a sandbox holds at most this many times the per-file limit in all."""


def _copy_regular(src: Path, dst: Path, limit_bytes: int, skip: str | None = None, budget=None) -> list[str]:
    """Copy the plain files of a folder (no links, nothing over ``limit_bytes``, none matching ``skip``, and
    no more than :data:`TOTAL_COPY_FACTOR` × ``limit_bytes`` in all); returns what was left out, and why."""
    budget = [TOTAL_COPY_FACTOR * limit_bytes] if budget is None else budget
    dst.mkdir(parents=True, exist_ok=True)
    left_out = []
    # the notebooks first: other files a student left beside them cannot use up the folder's allowance
    for p in sorted(src.iterdir(), key=lambda p: (p.suffix != ".ipynb", p.name)):
        if skip and p.match(skip):
            continue
        if p.is_symlink():
            left_out.append(f"{p.name}: a symbolic link")
        elif p.is_dir():
            left_out += [f"{p.name}/{s}" for s in _copy_regular(p, dst / p.name, limit_bytes, skip, budget)]
        elif p.is_file():
            size = p.stat().st_size
            if size > limit_bytes:
                left_out.append(
                    f"{p.name}: {size / 2**20:.0f} MiB, over the {limit_bytes >> 20} MiB a file may have"
                )
            elif size > budget[0]:
                left_out.append(
                    f"{p.name}: past the {TOTAL_COPY_FACTOR * limit_bytes >> 20} MiB a folder may hold"
                )
            else:
                shutil.copyfile(p, dst / p.name)
                budget[0] -= size
    return left_out


def _unreadable_notebooks(folder: Path) -> list[str]:
    """Remove from ``folder`` (a sandbox's copy of a submission) the notebooks that are not JSON with a list of
    cells, and say why: nbgrader stops on the first such notebook and grades none of the others, so one damaged
    notebook would cost the points of every notebook beside it."""
    dropped = []
    for p in sorted(folder.rglob("*.ipynb")):
        try:
            nb = json.loads(p.read_text(encoding="utf-8"))
            problem = (
                None if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else "no list of cells"
            )
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except json.JSONDecodeError as err:
            problem = f"not valid JSON (line {err.lineno}: {err.msg})"
        if problem:
            p.unlink()
            dropped.append(
                f"{p.relative_to(folder)}: {problem}; its exercises score 0, the other notebooks are graded"
            )
    return dropped


def _merge_grades(tmp_db: Path, db_url: str, assignment: str, student: str) -> tuple[float, float, dict]:
    """Copy one submission's scores and comments from the sandbox's gradebook into the course's."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    warnings.filterwarnings(
        "ignore", message=".*not in session", module="nbgrader"
    )  # nbgrader's own add_submission
    with Gradebook(f"sqlite:///{tmp_db}") as src, Gradebook(db_url) as dst:
        sub = src.find_submission(assignment, student)
        dst.update_or_create_student(student)
        try:
            new = dst.find_submission(assignment, student)
            new.timestamp = sub.timestamp
        except MissingEntry:
            new = dst.add_submission(assignment, student, timestamp=sub.timestamp)
        scores = {}
        for nb in sub.notebooks:
            for g in nb.grades:
                d = dst.find_grade(g.name, nb.name, assignment, student)
                d.auto_score, d.manual_score, d.extra_credit = g.auto_score, g.manual_score, g.extra_credit
                scores[f"{nb.name}/{g.name}"] = (g.auto_score, g.max_score)
            for c in nb.comments:
                d = dst.find_comment(c.name, nb.name, assignment, student)
                d.auto_comment, d.manual_comment = c.auto_comment, c.manual_comment
            dst.find_submission_notebook(nb.name, assignment, student).flagged = nb.flagged
        dst.db.commit()
        return new.score, new.max_score, scores


class _Worker:
    """A grading process: imports nbgrader once, then runs ``nbgrader autograde`` (its Python API) per job.

    Each submission still runs in a kernel of its own (a fresh process started by nbgrader for it). The worker
    runs in its own process group under the memory and file-size limits (the kernels inherit them); a job
    that overruns its wall-clock limit kills the whole group, and a fresh worker takes its place. Replies
    come back on a pipe of their own, which the kernels do not inherit.
    """

    def __init__(self, opts: dict):
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env["NUMBA_NUM_THREADS"] = "1"
        for name in ("PWD", "OLDPWD"):  # the folder the teacher ran autograde from: the course, often
            env.pop(name, None)
        env.setdefault("MPLBACKEND", "Agg")
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alexnet_np.exercises.course", "--worker", str(w)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(w,),
            env=env,
            cwd=tempfile.gettempdir(),
            preexec_fn=_limits(opts["memory_mib"], opts["file_mib"]),
        )
        os.close(w)
        self.fd, self.buf = r, b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, job: dict, timeout: float):
        """The worker's reply (a dict), or None when the job ran past ``timeout`` (the worker is then killed)."""
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"success": False, "error": "the grading process had died"}
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                self.close()
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.close()
                return {"success": False, "error": "the grading process died (killed by a limit?)"}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def kill(self):
        """Kill the grading process and its kernels (from any thread: the thread waiting in :meth:`run` then
        reads the end of the pipe and closes it)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self):
        self.kill()
        self.proc.wait()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _worker_main(fd: int) -> None:
    """The grading process's loop: one JSON job a line on stdin, one JSON reply a line on ``fd``."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    out = os.fdopen(fd, "w")
    for line in sys.stdin:
        job = json.loads(line)
        # the kernels get a home of their own in the sandbox: what a submission writes under ~ (an IPython
        # startup file, a shell profile, caches) goes away with the sandbox instead of reaching the teacher's
        # home and every kernel started after it
        home = Path(job["home"])
        os.environ.update(
            HOME=str(home),
            IPYTHONDIR=str(home / ".ipython"),
            MPLCONFIGDIR=str(home / ".matplotlib"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_CONFIG_HOME=str(home / ".config"),
        )
        try:
            cfg = PyFileConfigLoader("nbgrader_config.py", path=job["course"]).load_config()
            cfg.Execute.timeout = int(job["cell_timeout"])
            cfg.CourseDirectory.root = job["course"]
            api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
            res = api.autograde(job["assignment"], job["student"], force=True, create=True)
            reply = {
                "success": bool(res.get("success")),
                "log": (res.get("log") or "")[-20000:],
                "error": (res.get("error") or "")[-4000:],
            }
        except Exception as err:  # noqa: BLE001 - reported for this submission; the worker goes on
            reply = {"success": False, "log": "", "error": f"{type(err).__name__}: {err}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def check_gradebook(gradebook: Path) -> None:
    """A one-line error unless ``gradebook`` is an SQLite database with nbgrader's tables (read only: nbgrader's
    own ``Gradebook`` adds its tables to whatever database it opens)."""
    import sqlite3

    with open(gradebook, "rb") as f:
        head = f.read(16)
    if head != b"SQLite format 3\x00":
        what = "an empty file" if not head else "not an SQLite database"
        raise BadFile(f"{gradebook}: not an nbgrader gradebook ({what})")
    try:
        with contextlib.closing(sqlite3.connect(f"{gradebook.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as err:
        raise BadFile(f"{gradebook}: not an nbgrader gradebook ({err})") from None
    missing = sorted({"assignment", "student", "submitted_assignment"} - tables)
    if missing:
        raise BadFile(f"{gradebook}: not an nbgrader gradebook (no table {', '.join(missing)})")


def _template_gradebook(db: Path, folder: Path) -> Path:
    """A copy of the course's gradebook with the assignments and no student: what a sandbox starts from.

    A submission's code can read its sandbox, so it gets no other student's name or score.
    """
    import sqlite3

    from nbgrader.api import Gradebook

    out = folder / "gradebook.db"
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    src.backup(dst)  # a consistent copy even while another process writes
    src.close()
    dst.close()
    with Gradebook(f"sqlite:///{out}") as gb:
        for student in list(gb.students):
            gb.remove_student(student.id)
    dst = sqlite3.connect(out)
    dst.execute("VACUUM")  # the deleted rows' pages are gone from the file, not only unlinked
    dst.close()
    return out


def _record_zero(db_url: str, assignment: str, student: str) -> tuple[float, float]:
    """A submission that could not be graded: in the gradebook with every autograded score 0, flagged."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.filterwarnings("ignore", message=".*not in session")
        gb.update_or_create_student(student)
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            sub = gb.add_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                g.auto_score, g.manual_score = 0.0, None
            nb.flagged = True
        gb.db.commit()
        return sub.score, sub.max_score


NOT_GRADED = "not_graded"

# what nbgrader's log says when it could not grade a submission, and what to tell the student (the first found)
FAILURES = [
    (
        r"NotJSONError|does not appear to be JSON|JSONDecodeError|Unreadable Notebook",
        "a notebook of it is not valid JSON (cut short, or edited outside Jupyter?)",
    ),
    (
        r"DeadKernelError|[Kk]ernel died",
        "its kernel died (out of memory, or a cell ended the Python process?)",
    ),
    (
        r"CellTimeoutError|[Tt]imeout waiting|did not respond|TimeoutError",
        "a cell kept running after the cell time limit interrupted it (does it catch KeyboardInterrupt or "
        "ignore SIGINT?)",
    ),
    (
        r"No notebooks were matched",
        "no notebook of the assignment reached the autograder (not submitted, or left out: see the files named)",
    ),
]


def _failure(log: str) -> str:
    """Why nbgrader could not grade a submission, from its log (the generic reason when nothing is recognised)."""
    for pattern, why in FAILURES:
        if re.search(pattern, log):
            return why
    return "the autograder could not finish grading it: did a cell delete or change files outside your own notebook?"


def _not_graded_copy(submitted: Path, dst: Path, result: Autograded, opts: dict) -> None:
    """For a submission that could not be graded: its own notebooks, headed by the reason, as its feedback."""
    if result.status == "timed out":
        why = (
            f"the notebook ran past the autograder's limit of {opts['wall_timeout']:g} s for a whole submission "
            "(a cell that never returns even when interrupted?)"
        )
    else:
        why = _failure(result.log)
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(submitted.glob("*.ipynb")):
        if p.is_symlink() or not p.is_file() or p.stat().st_size > opts["file_mib"] << 20:
            continue
        try:
            nb = json.loads(p.read_text(encoding="utf-8"))
            cells = nb["cells"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            continue
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        head = {
            "cell_type": "markdown",
            "id": "not-graded",
            "metadata": {"alexnet_np": {NOT_GRADED: why}},
            "source": f"**Not graded: {why}** Every exercise of this notebook scores 0; ask your instructor.",
        }
        nb["cells"] = [head, *cells]
        (dst / p.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    result.message = why + (f" [{result.message}]" if result.message else "")


def _grade_one(course: Path, assignment: str, student: str, opts: dict, lock, worker) -> Autograded:
    start = time.monotonic()
    submitted = course / "submitted" / student / assignment
    with tempfile.TemporaryDirectory(prefix=f"autograde-{student}-") as tmp:
        box = Path(tmp) / "course"
        (box / "submitted" / student).mkdir(parents=True)
        shutil.copyfile(course / "nbgrader_config.py", box / "nbgrader_config.py")
        # nbgrader takes the locked and test cells from the gradebook and only the other files from source/:
        # the instructor's notebooks (the solutions) stay out of the sandbox
        (box / "source" / assignment).mkdir(parents=True)
        _copy_regular(
            course / "source" / assignment, box / "source" / assignment, opts["file_mib"] << 20, "*.ipynb"
        )
        shutil.copyfile(opts["template"], box / "gradebook.db")
        skipped = _copy_regular(submitted, box / "submitted" / student / assignment, opts["file_mib"] << 20)
        skipped += _unreadable_notebooks(box / "submitted" / student / assignment)
        (Path(tmp) / "home").mkdir()
        reply = worker.run(
            {
                "course": str(box),
                "home": str(Path(tmp) / "home"),
                "assignment": assignment,
                "student": student,
                "cell_timeout": opts["cell_timeout"],
            },
            opts["wall_timeout"],
        )
        if opts["stop"].is_set():  # interrupted: the course is left as it was for this student
            return Autograded(student, "interrupted", time.monotonic() - start)
        if reply is None:
            status, log, full_log = "timed out", "", ""
        else:
            status = "graded" if reply["success"] else "failed"
            log = reply.get("error") or reply.get("log") or ""
            full_log = (reply.get("error") or "") + "\n" + (reply.get("log") or "")
        graded_dir = box / "autograded" / student / assignment
        result = Autograded(student, status, 0.0, skipped=skipped)
        if status == "graded":
            try:
                cut = 0
                for nb_path in graded_dir.glob("*.ipynb"):
                    cut += _cut_outputs(nb_path, opts["max_output"])
                with lock:  # one writer of the course's gradebook at a time
                    result.score, result.max_score, result.details = _merge_grades(
                        box / "gradebook.db", opts["db_url"], assignment, student
                    )
                    dst = course / "autograded" / student / assignment
                    if dst.exists():
                        shutil.rmtree(dst)
                    _copy_regular(graded_dir, dst, opts["file_mib"] << 20)
                result.cut_outputs = cut
            except Exception as err:  # noqa: BLE001 - a submission that broke its own sandbox is graded 0
                result.status, result.message = "failed", f"{type(err).__name__}: {err}"
        else:
            result.message = log.strip().splitlines()[-1] if log.strip() else ""
            result.log = full_log
        if result.status != "graded":
            with lock:
                dst = course / "autograded" / student / assignment
                if dst.exists():
                    shutil.rmtree(dst)  # an earlier run's notebook would contradict the zero
                _not_graded_copy(submitted, dst, result, opts)
                result.score, result.max_score = _record_zero(opts["db_url"], assignment, student)
    result.seconds = time.monotonic() - start
    return result


def _assignments(db: Path) -> set:
    """The assignments an nbgrader gradebook knows, read without opening it for writing."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
        try:
            return {r[0] for r in con.execute("SELECT name FROM assignment")}
        except sqlite3.Error as err:
            raise BadFile(f"{db}: not an nbgrader gradebook ({err})") from None


def _check_autograded(course: Path, assignment: str, students, force: bool) -> None:
    """Refuse, before any grading, to write through a link under autograded/ or, without ``force``, to replace a
    student's earlier autograded notebooks (nbgrader's own autograde skips them too, unless --force or a newer
    submission)."""
    root = course / "autograded"
    graded = []
    for student in students:
        for p in (root, root / student, root / student / assignment):
            if p.is_symlink():
                raise RefusedOverwrite(f"{p} is a symbolic link: refusing to write through it")
        if (root / student / assignment).exists():
            graded.append(student)
    if graded and not force:
        names = ", ".join(graded[:5]) + (f" and {len(graded) - 5} more" if len(graded) > 5 else "")
        raise RefusedOverwrite(
            f"{root}: {names} already graded ({assignment}); --force regrades and replaces their autograded notebooks"
        )


def check_student_id(student) -> str:
    """``student`` if it can name one folder under ``COURSE/submitted`` (and ``autograded``, which a regrade
    replaces): not empty, no ``/``, not ``.`` or ``..`` or hidden; else :class:`BadArgument` in one line."""
    text = str(student)
    if not text or "/" in text or os.sep in text or "\0" in text or text.startswith("."):
        raise BadArgument(
            f"--students {text!r}: not a student id (a folder name under COURSE/submitted: no '/', not empty, "
            "not starting with '.')"
        )
    return text


def students_of(course_dir, assignment: str) -> list[str]:
    """The students with a submission of ``assignment`` in ``course_dir/submitted``."""
    root = Path(course_dir) / "submitted"
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir() and not p.is_symlink())


def autograde(
    course_dir,
    assignment: str = "workbook",
    students=None,
    *,
    cell_timeout: int = 60,
    wall_timeout: float = 600,
    jobs: int | None = None,
    memory_mib: int = 4096,
    file_mib: int = 64,
    max_output: int = 20_000,
    progress=None,
    force: bool = False,
) -> list[Autograded]:
    """Autograde each submission in its own sandboxed ``nbgrader autograde`` (see the module's docstring).

    ``jobs``: submissions graded at once (default: the number of CPUs). ``progress(result)`` is called as each
    one finishes. The course's gradebook must already know the assignment (``nbgrader generate_assignment``).
    A student already graded (``COURSE/autograded/STUDENT/ASSIGNMENT`` exists) is regraded, and that folder
    replaced, only with ``force``; a symbolic link on the way there is refused, as is a linked gradebook.
    Returns one :class:`Autograded` per student, in the order of ``students``.
    """
    for student in students or ():
        check_student_id(student)
    course = Path(course_dir).resolve()
    db = course / "gradebook.db"
    if db.is_symlink():
        raise RefusedOverwrite(f"{db} is a symbolic link: the scores are never written through one")
    if not db.is_file():
        raise BadArgument(
            f"{course}: no gradebook.db (run nbgrader generate_assignment {assignment} there first)"
        )
    check_gradebook(db)
    if assignment not in _assignments(db):
        raise BadArgument(
            f"{db}: no assignment {assignment!r} (run nbgrader generate_assignment {assignment} first)"
        )
    if not (course / "source" / assignment).is_dir():
        raise BadArgument(f"{course}/source/{assignment}: no such assignment")
    students = list(students) if students is not None else students_of(course, assignment)
    if not students:
        raise BadArgument(f"{course}/submitted: no submission of {assignment!r}")
    missing = [s for s in students if not (course / "submitted" / s / assignment).is_dir()]
    if missing:  # before anything is graded or replaced
        names = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise BadArgument(f"{course}/submitted: no submission of {assignment!r} by {names}")
    _check_autograded(course, assignment, students, force)
    opts = dict(
        cell_timeout=cell_timeout,
        wall_timeout=wall_timeout,
        memory_mib=memory_mib,
        file_mib=file_mib,
        max_output=max_output,
        db_url=f"sqlite:///{course / 'gradebook.db'}",
    )
    import threading

    lock = threading.Lock()
    scratch = tempfile.TemporaryDirectory(prefix="autograde-template-")
    opts["template"] = _template_gradebook(course / "gradebook.db", Path(scratch.name))

    n = max(1, min(jobs or os.cpu_count() or 1, len(students)))
    stop = opts["stop"] = threading.Event()  # set when the run is interrupted: nothing more is written
    started = []  # every grading process, to kill them all at once on an interruption

    def new_worker():
        started.append(_Worker(opts))
        return started[-1]

    workers = queue.Queue()
    for _ in range(n):
        workers.put(new_worker())

    def one(student):
        if stop.is_set():
            return None
        worker = workers.get()
        try:
            r = _grade_one(course, assignment, student, opts, lock, worker)
        finally:
            workers.put(worker if worker.alive() or stop.is_set() else new_worker())
        if progress is not None and not stop.is_set():
            progress(r)
        return r

    pool = ThreadPoolExecutor(max_workers=n)
    futures = [pool.submit(one, student) for student in students]
    try:
        return [f.result() for f in futures]
    except BaseException:  # Ctrl-C (or SIGTERM from the command line): stop now, and leave no sandbox behind
        stop.set()
        for f in futures:
            f.cancel()
        for worker in started:
            worker.kill()  # the submissions being graded end at once; their threads remove their sandboxes
        raise
    finally:
        pool.shutdown(wait=True)
        for worker in started:
            worker.close()
        scratch.cleanup()


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker_main(int(sys.argv[2]))
