"""Reliability, fifth round: what an outside audit of the command line found (2026-12-07), each held here."""

import os
import shutil

import pytest

from alexnet_np.errors import BadFile
from alexnet_np.exercises.classroom import MAX_NOTEBOOK_BYTES, attempts_in_notebook, read_notebook
from alexnet_np.tools.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused_in_one_line(code, err, *words):
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, (code, err)
    for w in words:
        assert w in err, (w, err)


# ---- the class report: one student's broken notebook costs that student's exercises, not the report ----------

GRADED_CELL = {
    "cell_type": "code",
    "metadata": {"nbgrader": {"grade": True}},
    "source": 'report(grade("relu_forward", relu_forward))',
    "outputs": [{"output_type": "stream", "name": "stdout", "text": "relu_forward: PASSED (5/5 cases)\n"}],
}


@pytest.mark.parametrize(
    "text, words",
    [
        ("[1]", "not a notebook"),
        ('{"cells": {"a": 1}}', "not a notebook"),
        ("{", "not a readable notebook"),
        (b"\xff\xfe{", "not a readable notebook"),
    ],
)
def test_a_file_that_is_no_notebook_is_one_line(tmp_path, text, words):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadFile, match=words):
        read_notebook(path)


def test_cells_and_outputs_of_the_wrong_type_are_left_out(tmp_path):
    import json

    nb = {
        "cells": [
            1,
            "text",
            {"metadata": [1, 2], "source": 3},
            {**GRADED_CELL, "outputs": "a string"},
            GRADED_CELL,
            {
                **GRADED_CELL,
                "source": ["report(grade(", 7, '"relu_backward", relu_backward))'],
                "outputs": [9],
            },
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    found = attempts_in_notebook(path, "dave")
    assert [(a.exercise, a.status) for a in found] == [
        ("relu_forward", "failed"),
        ("relu_forward", "passed"),
        ("relu_backward", "failed"),
    ]


def test_a_fifo_a_device_and_a_huge_file_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(BadFile, match="named pipe"):
        read_notebook(fifo)  # without the check, reading a FIFO with no writer waits forever
    with pytest.raises(BadFile, match="a device"):
        read_notebook("/dev/zero")
    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 10)  # sparse: no disk used
    with pytest.raises(BadFile, match="over"):
        read_notebook(huge)


def test_the_class_report_goes_on_past_a_broken_notebook(tmp_path, capsys):
    api = pytest.importorskip("nbgrader.api", reason="the course extra: the test extra has it")
    course = tmp_path / "course"
    course.mkdir()
    book = course / "gradebook.db"
    with api.Gradebook(f"sqlite:///{book}") as gb:
        gb.add_assignment("workbook")
        for student in ("ann", "dave"):
            gb.add_student(student)
            gb.add_submission("workbook", student)
    import json

    for student, text in (("ann", json.dumps({"cells": [GRADED_CELL]})), ("dave", "[1, 2]")):
        folder = course / "autograded" / student / "workbook"
        folder.mkdir(parents=True)
        (folder / "01.ipynb").write_text(text)
    code, out, err = run(capsys, "class-report", book)
    assert code == 0 and "Traceback" not in err, err
    assert "2 students" in out


# ---- student ids: never a path ------------------------------------------------------------------------------


@pytest.mark.parametrize("student", ["../../victim", "a/b", "..", ".hidden"])
def test_autograde_refuses_a_student_id_that_is_a_path(tmp_path, capsys, student):
    course = tmp_path / "c"
    (course / "source" / "workbook").mkdir(parents=True)
    (tmp_path / "victim" / "workbook").mkdir(parents=True)
    (tmp_path / "victim" / "workbook" / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "exercises", "--autograde", course, "--students", student, "--force")
    refused_in_one_line(code, err, "--students")
    assert (tmp_path / "victim" / "workbook" / "keep.txt").read_text() == "mine"
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())


# ---- output folders: never written through a symbolic link --------------------------------------------------


def test_train_refuses_an_out_folder_that_is_a_link_and_writes_nothing(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "out"
    link.symlink_to(elsewhere)
    code, _, err = run(capsys, "train", "--variant", "mini", "--epochs", "1", "--out", link, "--quiet")
    refused_in_one_line(code, err, "symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_exercises_refuses_a_student_folder_that_is_a_link(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "handout"
    link.symlink_to(elsewhere)
    code, _, err = run(capsys, "exercises", "--student", link)
    refused_in_one_line(code, err, "symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_course_refuses_a_link_on_the_way_to_its_files(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    course = tmp_path / "c"
    course.mkdir()
    (course / "source").symlink_to(elsewhere)
    code, _, err = run(capsys, "exercises", "--course", course)
    refused_in_one_line(code, err, "symbolic link")
    assert list(elsewhere.iterdir()) == []


# ---- train: nothing made before the arguments and data are known good ---------------------------------------


def test_train_leaves_no_out_folder_when_it_refuses_its_arguments(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "run"
    code, _, err = run(capsys, "train", "--dataset", "folder", "--out", out)
    assert code == 2 and "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_train_inside_its_data_folder_does_not_break_the_data(tmp_path, capsys):
    data = tmp_path / "ds"
    for c in ("cats", "dogs"):
        (data / c).mkdir(parents=True)
    code, _, err = run(capsys, "train", "--dataset", "folder", "--data-dir", data, "--out", data / "run")
    assert code == 2 and "Traceback" not in err
    assert sorted(p.name for p in data.iterdir()) == ["cats", "dogs"]
    shutil.rmtree(data)


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    import alexnet_np.tools.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_train", interrupted)
    code, _, err = run(capsys, "train", "--variant", "mini", "--out", tmp_path / "run")
    assert code == 130 and "Traceback" not in err and err.strip().endswith("train: interrupted")
