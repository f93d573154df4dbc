"""Reliability, fourth round: what a newcomer trying careless input found (a tester on a fresh clone).

Three commands wrote over files they had not made (``bench``, ``convert-weights``) or changed the file they were
given to read (``class-report`` let nbgrader add its tables to any SQLite file, through a symbolic link too);
a few arguments ended in a traceback (``summary --input 3x99999999x99999999``, ``--classes 10**21``, ``tour
--seed -1``) or were dropped in silence (``exercises --points foo=3``); the course's notebooks were written
private (0600). A second tester then found the same in ``exercises --autograde`` (it deleted a student's earlier
autograded folder with whatever was in it, through a linked ``autograded/`` too, and let nbgrader add its tables
to a gradebook.db that was no gradebook), the class report's plot written 0600, a traceback for nbgrader's table
names with other columns, and ``--points`` of infinity, given twice, or given where it does nothing. Each test
below failed before its fix.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.errors import BadArgument
from alexnet_np.tools import bench
from alexnet_np.tools.cli import main


@pytest.fixture(scope="module")
def nbgrader_api():
    """nbgrader's API, for the tests that need a real gradebook (the course extra; the test extra has it): only
    they depend on it, so the rest of this module runs without it."""
    return pytest.importorskip("nbgrader.api", reason="the course extra: the test extra has it")


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused_in_one_line(code, err, *words):
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, (code, err)
    for w in words:
        assert w in err, (w, err)


# ---- bench writes only its own files, only where told --------------------------------------------------

QUICK = [
    "--no-reference",
    "--repeats",
    "1",
    "--batches",
    "1",
    "--variants",
    "mini",
    "--no-fresh",
    "--no-cold",
]


def bench_refusal(capsys, *argv):
    """bench.main must refuse before it times anything: SystemExit(2) and one line."""
    with pytest.raises(SystemExit) as exit_:
        bench.main([str(a) for a in argv] + QUICK)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bench_refuses_to_replace_a_file_it_did_not_make(tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "bench.md").write_text("my notes\n")
    assert "bench.md exists: refusing to replace it (--force replaces it)" in bench_refusal(
        capsys, "--out", out
    )
    assert (out / "bench.md").read_text() == "my notes\n"


def test_bench_never_writes_through_a_symbolic_link_even_with_force(tmp_path, capsys):
    out, target = tmp_path / "results", tmp_path / "precious.png"
    out.mkdir()
    target.write_bytes(b"mine")
    (out / "bench.png").symlink_to(target)
    err = bench_refusal(capsys, "--out", out, "--force")
    assert "bench.png is a symbolic link: refusing to write through it" in err
    assert target.read_bytes() == b"mine"


def test_bench_says_out_must_be_a_folder_before_it_runs(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "--out" in bench_refusal(capsys, "--out", afile) and afile.read_text() == "x"


# ---- convert-weights -----------------------------------------------------------------------------


def test_convert_weights_refuses_an_existing_destination_before_reading_the_source(tmp_path, capsys):
    dst = tmp_path / "mine.pth"
    dst.write_text("not weights, and not yours")
    code, _, err = run(capsys, "convert-weights", tmp_path / "missing.npz", dst)
    refused_in_one_line(code, err, "mine.pth exists: refusing to replace it (--force replaces it)")
    assert dst.read_text() == "not weights, and not yours"


def test_convert_weights_refuses_a_symbolic_link_as_destination_even_with_force(tmp_path, capsys):
    target, link = tmp_path / "target.npz", tmp_path / "link.npz"
    target.write_bytes(b"keep")
    link.symlink_to(target)
    code, _, err = run(capsys, "convert-weights", tmp_path / "missing.pth", link, "--force")
    refused_in_one_line(code, err, "is a symbolic link")
    assert target.read_bytes() == b"keep" and link.is_symlink()


# ---- class-report reads the gradebook, never changes it --------------------------------------------


def some_sqlite_file(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE foo (x INTEGER)")
    return path


@pytest.mark.parametrize("kind", ["another database", "an empty file", "a link to another database"])
def test_class_report_leaves_a_file_that_is_no_gradebook_as_it_was(tmp_path, capsys, kind):
    if kind == "an empty file":
        given = watched = tmp_path / "empty.db"
        given.write_bytes(b"")
    else:
        given = watched = some_sqlite_file(tmp_path / "mine.db")
        if kind == "a link to another database":
            given = tmp_path / "gradebook.db"
            given.symlink_to(watched)
    before = digest(watched), os.path.getsize(watched)
    code, _, err = run(capsys, "class-report", given)
    refused_in_one_line(code, err, "not an nbgrader gradebook")
    assert (digest(watched), os.path.getsize(watched)) == before


def test_class_report_reads_a_copy_of_the_gradebook(tmp_path, monkeypatch, gradebook, nbgrader_api):
    """Even a real gradebook is not opened in place: nbgrader's Gradebook sees a copy elsewhere."""
    import shutil

    book = tmp_path / "gradebook.db"
    shutil.copyfile(gradebook, book)
    opened = []

    class Spy(nbgrader_api.Gradebook):
        def __init__(self, url, *a, **k):
            opened.append(url)
            super().__init__(url, *a, **k)

    monkeypatch.setattr(nbgrader_api, "Gradebook", Spy)
    before = digest(book)
    from alexnet_np.exercises.classroom import class_report

    assert class_report(book).assignment == "workbook"
    assert opened and str(book.resolve()) not in opened[0] and digest(book) == before


# ---- arguments that ended in a traceback or were ignored --------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["summary", "--input", "3x99999999x99999999"], "input_size must be"),
        (["summary", "--classes", "999999999999999999999"], "num_classes must be"),
        (["summary", "--classes", "0"], "--classes"),
    ],
)
def test_a_summary_of_impossible_sizes_is_one_line(capsys, argv, words):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    err = capsys.readouterr().err
    refused_in_one_line(code, err, words)


def test_the_tour_refuses_a_negative_seed_before_it_starts(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["tour", "--seed", "-1"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and "non-negative" in err


def test_points_for_an_exercise_that_does_not_exist_are_refused(tmp_path, capsys):
    code, _, err = run(capsys, "exercises", "--course", tmp_path / "c", "--points", "foo=3")
    refused_in_one_line(code, err, "--points foo: no such exercise")
    assert not (tmp_path / "c").exists()


def test_the_course_notebooks_are_readable_by_others_as_any_new_file(tmp_path):
    from alexnet_np.exercises.course import make_course

    old = os.umask(0o022)
    try:
        written = make_course(tmp_path / "c")
    finally:
        os.umask(old)
    assert written and all(stat.S_IMODE(os.stat(p).st_mode) == 0o644 for p in written)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(seed=-1), "seed must be a non-negative int"),
        (dict(num_classes=True), "num_classes must be an int"),
        (dict(num_classes=10**9), "num_classes must be an int from 1 to"),
        (dict(input_size="abc"), "input_size must be"),
        (dict(input_size=(10**8, 10**8)), "input_size must be"),
        (dict(input_size=(31, 0)), "input_size must be"),
    ],
)
def test_alexnet_names_a_bad_argument_before_it_allocates(kwargs, words):
    with pytest.raises(BadArgument, match="AlexNet: ") as err:
        an.AlexNet("mini", **kwargs)
    assert words in str(err.value)


def test_an_unknown_layer_name_lists_the_layers():
    model = an.AlexNet("mini", seed=0, dtype=np.float64)
    with pytest.raises(KeyError, match="no layer 'conv9'; the layers are conv1, relu1"):
        model["conv9"]


# ---- a second tester, after the fixes above -------------------------------------------------------------


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory, nbgrader_api):
    """A real nbgrader gradebook that knows the assignment 'workbook' (made once: nbgrader takes seconds)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with nbgrader_api.Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("workbook")
    return path


def a_course(root, gradebook, *, graded=("alice",)):
    """A course folder with a copy of ``gradebook``, one submission, earlier autograded notebooks."""
    import shutil

    (root / "source" / "workbook").mkdir(parents=True)
    (root / "submitted" / "alice" / "workbook").mkdir(parents=True)
    shutil.copyfile(gradebook, root / "gradebook.db")
    for student in graded:
        (root / "autograded" / student / "workbook").mkdir(parents=True)
        (root / "autograded" / student / "workbook" / "notes.txt").write_text("mine")
    return root


def test_autograde_replaces_earlier_graded_notebooks_only_with_force(tmp_path, capsys, gradebook):
    course = a_course(tmp_path / "c", gradebook)
    code, _, err = run(capsys, "exercises", "--autograde", course, "--students", "alice")
    refused_in_one_line(code, err, "alice already graded (workbook); --force regrades")
    assert (course / "autograded" / "alice" / "workbook" / "notes.txt").read_text() == "mine"


def test_autograde_never_writes_through_a_linked_autograded_folder(tmp_path, capsys, gradebook):
    course, victim = a_course(tmp_path / "c", gradebook, graded=()), tmp_path / "victim"
    (victim / "alice" / "workbook").mkdir(parents=True)
    (victim / "alice" / "workbook" / "precious.txt").write_text("keep")
    (course / "autograded").symlink_to(victim)
    code, _, err = run(capsys, "exercises", "--autograde", course, "--students", "alice", "--force")
    refused_in_one_line(code, err, "is a symbolic link")
    assert (victim / "alice" / "workbook" / "precious.txt").read_text() == "keep"


@pytest.mark.parametrize("kind", ["another database", "a link to a gradebook"])
def test_autograde_refuses_a_gradebook_it_would_change_and_leaves_it_as_it_was(
    tmp_path, capsys, gradebook, kind
):
    course = a_course(tmp_path / "c", gradebook, graded=())
    db = course / "gradebook.db"
    if kind == "another database":
        db.unlink()
        watched = some_sqlite_file(db)
    else:
        watched = tmp_path / "real.db"
        db.rename(watched)
        db.symlink_to(watched)
    before = digest(watched)
    code, _, err = run(capsys, "exercises", "--autograde", course, "--students", "alice")
    refused_in_one_line(
        code, err, "not an nbgrader gradebook" if kind == "another database" else "symbolic link"
    )
    assert digest(watched) == before


def test_class_report_blames_nbgraders_table_names_with_other_columns_in_one_line(
    tmp_path, capsys, nbgrader_api
):
    fake = tmp_path / "fake.db"
    with sqlite3.connect(fake) as db:
        for table in ("assignment", "student", "submitted_assignment"):
            db.execute(f"CREATE TABLE {table} (x INTEGER)")
    code, _, err = run(capsys, "class-report", fake)
    refused_in_one_line(code, err, "not an nbgrader gradebook")


def test_the_class_reports_plot_gets_a_new_files_permissions(tmp_path):
    from alexnet_np.exercises.classroom import Attempt, ClassReport

    report = ClassReport("hw", {"ann": (0.0, 1.0)}, [Attempt("ann", "col2im", "failed", "dx: not cropped")])
    old = os.umask(0o022)
    try:
        path = report.plot(tmp_path / "mistakes.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--course", "c", "--points", "derivations=1e400"], "finite"),
        (["--course", "c", "--points", "col2im=1,col2im=2"], "given twice"),
        (["--student", "s", "--points", "col2im=2"], "goes with --course"),
    ],
)
def test_points_that_cannot_be_used_are_refused(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "exercises", *argv)
    refused_in_one_line(code, err, words)
    assert not any(tmp_path.iterdir())


def test_train_says_out_must_be_a_folder(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(capsys, "train", "--out", afile, "--epochs", "1", "--quiet")
    refused_in_one_line(code, err, "a file, not a folder")
    assert afile.read_text() == "x"
