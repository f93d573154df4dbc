"""The autograder's guards that need no nbgrader run: what a copy into or out of a sandbox leaves out (and says),
the reason a submission could not be graded, students that have no submission, and an interrupted run (Ctrl-C
or SIGTERM) that stops at once, records nothing more and leaves no sandbox behind. A class graded end to end is
tests/test_course.py. Cost: under a second."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from alexnet_np.errors import BadArgument
from alexnet_np.exercises import course


def test_a_copy_says_what_it_left_out(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    (src / "a.ipynb").write_bytes(b"x" * 100)
    (src / "big.ipynb").write_bytes(b"x" * 3000)  # over the per-file limit
    (src / "sub" / "b.txt").write_bytes(b"x" * 900)
    (src / "sub" / "c.txt").write_bytes(b"x" * 900)
    (src / "link").symlink_to(src / "a.ipynb")
    left = course._copy_regular(src, dst, limit_bytes=1000)
    assert (dst / "a.ipynb").read_bytes() == b"x" * 100 and (dst / "sub" / "b.txt").is_file()
    assert not (dst / "big.ipynb").exists() and not (dst / "link").exists()
    assert any(s.startswith("big.ipynb:") and "over the" in s for s in left), left
    assert "link: a symbolic link" in left


def test_a_copy_stops_at_the_folders_total_and_the_notebooks_go_first(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    for i in range(6):  # six files of 900 bytes under a limit of 1000 a file and 4000 in all: four fit
        (src / f"f{i}.bin").write_bytes(b"x" * 900)
    (src / "zz.ipynb").write_bytes(b"x" * 900)  # sorts last by name, copied first
    left = course._copy_regular(src, dst, limit_bytes=1000)
    assert (dst / "zz.ipynb").is_file() and len(list(dst.iterdir())) == 4 and len(left) == 3
    assert all("past the" in s for s in left), left


@pytest.mark.parametrize(
    "log, words",
    [
        (
            'nbformat.reader.NotJSONError: Notebook does not appear to be JSON: \'{"cells": [',
            "not valid JSON",
        ),
        ("nbclient.exceptions.DeadKernelError: Kernel died", "kernel died"),
        ("TimeoutError: Timeout waiting for execute reply (15s).", "kept running after the cell time limit"),
        ("[AutogradeApp | ERROR] No notebooks were matched by 'submitted/s1/ps1/*.ipynb'", "no notebook"),
        ("NbGraderException: Please see the above traceback", "delete or change files"),
    ],
)
def test_the_reason_a_submission_was_not_graded_follows_nbgraders_log(log, words):
    assert words in course._failure("[AutogradeApp | ERROR] something\n" + log)


class _FakeWorker:
    """Stands for a grading process: ``run`` waits until killed (as a kernel in a long cell does)."""

    made = []

    def __init__(self, opts):
        self.dead = threading.Event()
        _FakeWorker.made.append(self)

    def alive(self):
        return not self.dead.is_set()

    def run(self, job, timeout):
        self.dead.wait(timeout)
        return {"success": False, "error": "the grading process died"}

    def kill(self):
        self.dead.set()

    def close(self):
        self.dead.set()


def test_an_interrupted_run_stops_at_once_and_writes_nothing_more(tmp_path, monkeypatch):
    """Ctrl-C while two submissions are being graded: both grading processes are killed, the waiting students
    are never started, nothing is recorded for anyone, and the sandboxes are gone."""
    course_dir = tmp_path / "course"
    for s in ("s1", "s2", "s3", "s4"):
        (course_dir / "submitted" / s / "ps1").mkdir(parents=True)
        (course_dir / "submitted" / s / "ps1" / "nb.ipynb").write_text("{}")
    (course_dir / "source" / "ps1").mkdir(parents=True)
    (course_dir / "nbgrader_config.py").write_text("")
    (course_dir / "gradebook.db").write_text("")
    monkeypatch.setattr(course, "check_gradebook", lambda db: None)
    monkeypatch.setattr(course, "_assignments", lambda db: {"ps1"})

    def template(db, folder):
        (folder / "gradebook.db").write_text("")
        return folder / "gradebook.db"

    monkeypatch.setattr(course, "_template_gradebook", template)
    recorded = []
    monkeypatch.setattr(course, "_record_zero", lambda *a: recorded.append(a) or (0.0, 0.0))
    monkeypatch.setattr(course, "_merge_grades", lambda *a: recorded.append(a) or (0.0, 0.0, {}))
    _FakeWorker.made = []
    monkeypatch.setattr(course, "_Worker", _FakeWorker)
    boxes = []
    real_tmp = course.tempfile.TemporaryDirectory

    def tracked(*a, **k):
        d = real_tmp(*a, **k)
        boxes.append(Path(d.name))
        return d

    monkeypatch.setattr(course.tempfile, "TemporaryDirectory", tracked)

    def interrupt_soon():  # the main thread is waiting for results: interrupt it as Ctrl-C does (a real SIGINT)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_soon).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        course.autograde(course_dir, "ps1", jobs=2, wall_timeout=60)
    assert time.monotonic() - start < 30  # not the 60 s a submission may take
    assert all(w.dead.is_set() for w in _FakeWorker.made) and len(_FakeWorker.made) == 2
    assert recorded == []  # no score and no "not graded" zero for anyone
    assert boxes and not any(b.exists() for b in boxes)  # the sandboxes and the template are removed
    assert not (course_dir / "autograded").exists()


def test_a_student_with_no_submission_is_refused_before_anything(tmp_path, monkeypatch):
    course_dir = tmp_path / "course"
    (course_dir / "submitted" / "s1" / "ps1").mkdir(parents=True)
    (course_dir / "source" / "ps1").mkdir(parents=True)
    (course_dir / "gradebook.db").write_text("")
    monkeypatch.setattr(course, "check_gradebook", lambda db: None)
    monkeypatch.setattr(course, "_assignments", lambda db: {"ps1"})
    with pytest.raises(BadArgument, match="no submission of 'ps1' by nobody"):
        course.autograde(course_dir, "ps1", students=["s1", "nobody"])


def test_a_damaged_notebook_is_left_out_and_the_others_stay(tmp_path):
    """nbgrader grades none of a submission's notebooks when one is not valid JSON: the sandbox's copy leaves that
    one out, says why, and keeps the others."""
    (tmp_path / "good.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (tmp_path / "cut.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')
    (tmp_path / "odd.ipynb").write_text("[1, 2, 3]")
    (tmp_path / "notes.txt").write_text("not a notebook: left alone")
    dropped = course._unreadable_notebooks(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.ipynb", "notes.txt"]
    assert any(d.startswith("cut.ipynb: not valid JSON (line 1") for d in dropped), dropped
    assert any(d.startswith("odd.ipynb: no list of cells") for d in dropped), dropped
