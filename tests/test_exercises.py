"""The exercises' grader: it passes correct answers written independently, and names each typical mistake."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from exercise_mistakes import CORRECT, HELDOUT, HELDOUT_CORRECT, MISTAKES, OTHER_STYLE

from alexnet_np.exercises import (
    EXERCISES,
    TOL,
    build_workbook,
    grade,
    list_exercises,
    write_solution_copy,
    write_student_copy,
)
from alexnet_np.exercises.grader import Check, compare, new_values_twin, redrawn
from alexnet_np.exercises.workbook import strip_solutions

REQUIRED = {
    "output_size",
    "conv_forward",
    "conv_backward",
    "im2col",
    "col2im",
    "maxpool_forward",
    "maxpool_backward",
    "lrn_forward",
    "lrn_backward",
    "softmax_cross_entropy",
    "dropout_forward",
    "dropout_backward",
    "sgd_momentum_paper",
}


def test_every_required_exercise_exists_and_is_listed():
    assert REQUIRED <= set(EXERCISES)
    listing = list_exercises()
    assert all(name in listing for name in REQUIRED)
    assert REQUIRED <= set(CORRECT) <= set(EXERCISES)  # the newer exercises: tests/test_more_layers.py


@pytest.mark.parametrize("exercise", sorted(CORRECT))
def test_correct_loops_pass(exercise):
    result = grade(exercise, CORRECT[exercise])
    assert result.passed and result.status == "passed", str(result)
    assert str(result).startswith(f"{exercise}: PASSED")


def test_the_catalogue_has_at_least_15_mistakes_over_most_exercises():
    assert len(MISTAKES) >= 15
    assert len({ex for _, ex, _, _ in MISTAKES}) >= 10
    assert len(OTHER_STYLE) >= 3


@pytest.mark.parametrize(
    "name, exercise, fn, words", MISTAKES + OTHER_STYLE, ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_mistake_is_named(name, exercise, fn, words):
    result = grade(exercise, fn)
    report = str(result)
    assert words in report, f"{name}: expected {words!r} in\n{report}"
    if "convention" in name:
        assert result.passed and "correct up to the tie convention" in report
    else:
        assert not result.passed and "FAILED" in report


def test_the_held_out_answers_hold_the_grader_to_0_wrong_passes_and_0_false_failures():
    """tests/heldout_answers.py: written without reading the catalogue; folded in after measuring on it."""
    assert len(HELDOUT) >= 100 and len(HELDOUT_CORRECT) >= 40
    named = sum(words != "FAILED" for *_, words in HELDOUT)
    assert named / len(HELDOUT) >= 0.85


@pytest.mark.parametrize("name, exercise, fn, words", HELDOUT, ids=[h[0] for h in HELDOUT])
def test_each_held_out_mistake_fails_and_is_named(name, exercise, fn, words):
    result = grade(exercise, fn)
    report = str(result)
    assert not result.passed and "FAILED" in report, f"{name} passed:\n{report}"
    assert words in report, f"{name}: expected {words!r} in\n{report}"


@pytest.mark.parametrize("name, exercise, fn", HELDOUT_CORRECT, ids=[h[0] for h in HELDOUT_CORRECT])
def test_each_held_out_correct_answer_passes(name, exercise, fn):
    result = grade(exercise, fn)
    assert result.passed, f"{name}:\n{result}"


def test_a_stub_reports_not_implemented_cleanly():
    def stub(*args):
        raise NotImplementedError

    for name in EXERCISES:
        result = grade(name, stub)
        assert result.status == "not implemented yet" and not result.passed
        assert "NOT IMPLEMENTED YET" in str(result)


def test_an_exception_or_a_wrong_return_is_a_message_not_a_crash():
    report = str(grade("conv_forward", lambda *a: 1 / 0))
    assert "FAILED" in report and "ZeroDivisionError" in report
    report = str(grade("softmax_cross_entropy", lambda z, y: z))
    assert "expected 2: loss, dlogits" in report


def test_shapes_and_dtypes_come_first_with_a_clear_message():
    f32 = grade("im2col", lambda *a: CORRECT["im2col"](*a).astype(np.float32))
    assert "dtype float32, expected float64" in str(f32)
    transposed = grade("im2col", lambda *a: CORRECT["im2col"](*a).T)
    assert "shape" in str(transposed) and "the transpose" in str(transposed)


def test_changing_an_input_in_place_is_reported():
    def scribbles(dout, x, k, s):
        dx = CORRECT["maxpool_backward"](dout, x, k, s)
        dout *= 0
        return dx

    assert "argument 1 (dout) was changed in place" in str(grade("maxpool_backward", scribbles))


def test_a_result_that_cannot_be_compared_is_not_called_state_kept_between_calls():
    def lazy(dout, x, k, s):  # a new generator each call: never equal to the last one, with or without state
        return (a for a in [CORRECT["maxpool_backward"](dout, x, k, s)])

    report = str(grade("maxpool_backward", lazy))
    assert "cannot be read as an array (generator" in report
    assert "keeps state" not in report


def test_tolerance_is_derived_from_float64_and_separates_rounding_from_mistakes():
    assert 1e-12 < TOL < 1e-9
    exp = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    rounding = exp * (1 + 8 * np.finfo(np.float64).eps)
    assert compare(rounding, Check("x", exp)).ok
    assert not compare(exp * (1 + 1e-6), Check("x", exp)).ok


def test_transposed_flipped_and_scaled_patterns():
    exp = np.random.default_rng(1).standard_normal((3, 3, 4, 4))
    cases = {
        "transposed": np.swapaxes(exp, -1, -2),
        "rotated by 180°": exp[..., ::-1, ::-1],
        "first two axes swapped": np.swapaxes(exp, 0, 1),
        "sign flipped": -exp,
        "constant factor 3": 3 * exp,
    }
    for words, got in cases.items():
        out = compare(got, Check("t", exp))
        assert not out.ok and words in " ".join(out.messages), (words, out.messages)


def test_numerical_gradient_check_is_part_of_the_backward_reports():
    report = str(grade("lrn_backward", CORRECT["lrn_backward"]))
    assert "central differences" in report and "ok" in report


def test_heatmap_draws_the_error_over_height_and_width():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = grade("col2im", lambda *a: CORRECT["col2im"](*a, accumulate=False))
    fig = result.heatmap()
    assert fig is not None and fig.axes[0].get_title() == "|error| of dx"
    plt.close(fig)
    assert grade("col2im", CORRECT["col2im"]).heatmap() is None


def test_an_unknown_exercise_names_the_known_ones():
    with pytest.raises(KeyError, match="output_size"):
        grade("nope", lambda: None)


# ---- integrity: the student's function runs in a child that cannot reach the grader ------------------------


def _peek_at_the_expected(x, w, b, stride, padding):
    """Walks up the stack looking for the grader's cases, as a student could with sys._getframe."""
    import gc
    import sys

    from alexnet_np.exercises.grader import Check

    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            checks = getattr(value, "checks", None) or []
            for c in checks:
                if c.expected is not None:
                    return c.expected
        frame = frame.f_back
    for obj in gc.get_objects():
        if type(obj) is Check and obj.expected is not None and np.shape(obj.expected)[:1] == x.shape[:1]:
            return obj.expected
    return None


def test_the_expected_values_are_out_of_the_students_reach():
    earlier = grade("conv_forward", CORRECT["conv_forward"])  # an earlier result in memory, as in a notebook
    assert earlier.passed
    result = grade("conv_forward", _peek_at_the_expected)
    assert not result.passed and "returned None" in str(result)


def test_a_student_cannot_loosen_the_tolerance_or_end_the_grader():
    import os
    import sys

    from alexnet_np.exercises import grader

    def loosen(x, w, b, s, p):
        grader.TOL = 1e300
        return np.zeros((1,))

    assert not grade("conv_forward", loosen).passed and grader.TOL < 1e-9
    exits = str(grade("conv_forward", lambda *a: sys.exit(0)))
    assert "FAILED" in exits and "SystemExit" in exits
    ends = str(grade("conv_forward", lambda *a: os._exit(3)))
    assert "FAILED" in ends and "exit code 3" in ends


def test_an_endless_loop_is_stopped_by_the_time_limit():
    import time

    t0 = time.perf_counter()
    result = grade("im2col", lambda *a: time.sleep(60), time_limit=1.0)
    assert time.perf_counter() - t0 < 15
    assert not result.passed and "did not return within 1 s" in str(result)


def test_calling_the_librarys_own_implementation_is_refused_by_name(monkeypatch):
    import sys

    from alexnet_np.layers import Conv2d
    from alexnet_np.ops import naive, reference
    from alexnet_np.ops.naive import conv2d_naive

    monkeypatch.delitem(sys.modules, "alexnet_np.ops.winograd_reference", raising=False)

    def imports_inside(x, k, s, p):
        import alexnet_np.ops.winograd_reference  # noqa: F401 - not loaded yet: the import itself is refused

        return None

    def calls_a_kernel(x, k, s, p):
        from alexnet_np.ops import kernels

        return kernels.im2col(x, k, s, p)

    def catches_the_refusal(x, w, b, s, p):
        try:
            return conv2d_naive(x, w, b, s, p)
        except BaseException:  # noqa: BLE001 - a student hiding the tripwire still fails
            return CORRECT["conv_forward"](x, w, b, s, p)

    attempts = [
        ("conv_forward", lambda x, w, b, s, p: conv2d_naive(x, w, b, s, p), "conv2d_naive"),
        ("conv_forward", lambda x, w, b, s, p: naive.conv2d_naive(x, w, b, s, p), "conv2d_naive"),
        ("im2col", lambda x, k, s, p: reference.im2col(x, k, s, p), "reference.im2col"),
        (
            "conv_forward",
            lambda x, w, b, s, p: Conv2d(x.shape[1], w.shape[0], w.shape[2]),
            "alexnet_np.layers",
        ),
        ("im2col", imports_inside, "imported inside the graded function"),
        ("im2col", calls_a_kernel, "kernels.im2col"),
        ("conv_forward", catches_the_refusal, "conv2d_naive"),
    ]
    for exercise, fn, name in attempts:
        report = str(grade(exercise, fn))
        assert "FAILED" in report and "refused" in report and name in report, report
    # shapes.conv_output_size is the project's one output-size function: fine inside a layer, not as the answer
    from alexnet_np.shapes import conv_output_size

    assert "refused" in str(grade("output_size", lambda n, k, s, p: conv_output_size(n, k, s, p)))


def test_a_partial_answer_reports_the_cases_it_handles():
    def pad_free_only(x, w, b, stride, padding):
        if padding:
            raise NotImplementedError
        return CORRECT["conv_forward"](x, w, b, stride, padding)

    result = grade("conv_forward", pad_free_only)
    report = str(result)
    assert not result.passed and result.status == "partly implemented", report
    # the three cases without padding, the first of them again with inputs that are not C-contiguous, and again
    # with its values drawn anew
    assert "right in the 5 case(s) it handles" in report and "raised NotImplementedError in" in report

    def pad_free_but_wrong(x, w, b, stride, padding):
        if padding:
            raise NotImplementedError
        return CORRECT["conv_forward"](x, w, 0 * b, stride, padding)

    report = str(grade("conv_forward", pad_free_but_wrong))
    assert "FAILED" in report and "bias is missing" in report and "NotImplementedError" in report


def test_an_in_place_update_that_also_returns_w_is_accepted():
    def returns_w(w, v, g, momentum, weight_decay, lr):
        CORRECT["sgd_momentum_paper"](w, v, g, momentum, weight_decay, lr)
        return w

    def returns_both(w, v, g, momentum, weight_decay, lr):
        w, v = w.copy(), v.copy()
        CORRECT["sgd_momentum_paper"](w, v, g, momentum, weight_decay, lr)
        return w, v

    assert grade("sgd_momentum_paper", returns_w).passed
    assert grade("sgd_momentum_paper", returns_both).passed


def test_outputs_returned_in_another_order_are_told_so():
    def v_then_w(w, v, g, momentum, weight_decay, lr):
        w, v = w.copy(), v.copy()
        CORRECT["sgd_momentum_paper"](w, v, g, momentum, weight_decay, lr)
        return v, w

    report = str(grade("sgd_momentum_paper", v_then_w))
    assert "FAILED" in report and "the right values in the wrong order: return (w, v)" in report


def test_numpy_shape_errors_get_a_hint():
    def no_keepdims(logits, labels):
        shifted = logits - logits.max(axis=1)  # broadcasts only when N == C or N == 1
        return CORRECT["softmax_cross_entropy"](shifted, labels)

    report = str(grade("softmax_cross_entropy", no_keepdims))
    assert "could not be broadcast" in report and "keepdims=True" in report


def test_a_shape_right_only_for_square_images_is_named():
    def height_for_both(dout, x, w, b, stride, padding):
        dx, dw, db = CORRECT["conv_backward"](dout, x, w, b, stride, padding)
        return np.zeros(x.shape[:3] + (x.shape[2],)), dw, db

    report = str(grade("conv_backward", height_for_both))
    assert "used for both (right only for square images)" in report


def test_whole_numbers_typed_as_ints_are_accepted_and_other_ints_are_not():
    assert grade(
        "conv_out_by_hand", lambda: [[4, -1], [2, 6]]
    ).passed  # the checkpoint's result, typed by hand
    as_ints = grade("relu_backward", lambda d, x: (d * (x > 0)).astype(int))
    assert "dtype int64, expected a float array" in str(as_ints)


def test_a_hard_coded_beta_is_named_not_blamed_on_the_window():
    report = str(
        grade("lrn_forward", lambda x, size, alpha, beta, k: CORRECT["lrn_forward"](x, size, alpha, 0.75, k))
    )
    assert "wrong only in the cases with beta not 0.75" in report
    assert "wrong only in the cases with even size" not in report


def test_a_loss_normalised_per_column_is_not_called_a_clipped_probability():
    def column_max(logits, labels):
        return CORRECT["softmax_cross_entropy"](logits - logits.max(axis=0, keepdims=True), labels)

    def clipped(logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss, d = CORRECT["softmax_cross_entropy"](logits, labels)
        return -np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-12)), d

    assert "clipped" not in str(grade("softmax_cross_entropy", column_max))
    assert "clipped" in str(grade("softmax_cross_entropy", clipped))


def test_returning_a_new_w_alone_is_told_apart_from_an_unchanged_w():
    def returns_new_w(w, v, g, momentum, weight_decay, lr):
        w, v = w.copy(), v.copy()
        CORRECT["sgd_momentum_paper"](w, v, g, momentum, weight_decay, lr)
        return w

    report = str(grade("sgd_momentum_paper", returns_new_w))
    assert "FAILED" in report and "returned one array, not w as it was left" in report


def test_any_one_maximum_per_tied_window_is_a_convention_not_a_mistake():
    def middle_maximum(dout, x, k, s):
        dx = np.zeros_like(x)
        for i, ch, y, z in np.ndindex(dout.shape):
            win = x[i, ch, y * s : y * s + k, z * s : z * s + k].ravel()
            tied = np.flatnonzero(win == win.max())
            a = tied[len(tied) // 2]
            dx[i, ch, y * s + a // k, z * s + a % k] += dout[i, ch, y, z]
        return dx

    def one_too_far(dout, x, k, s):  # the maximum's right-hand neighbour where it exists: not a maximum
        dx = middle_maximum(dout, x, k, s)
        return np.roll(dx, 1, axis=3)

    result = grade("maxpool_backward", middle_maximum)
    assert result.passed and "correct up to the tie convention" in str(result)
    assert not grade("maxpool_backward", one_too_far).passed


def test_a_wrong_central_difference_case_fails_the_answer():
    """Right on every ordinary case, wrong only on the central-difference case's shape: the verdict says so."""

    def wrong_on_2x2x7x9(dout, x, k, s):
        dx = CORRECT["maxpool_backward"](dout, x, k, s)
        return 1.01 * dx if x.shape == (2, 2, 7, 9) else dx

    result = grade("maxpool_backward", wrong_on_2x2x7x9)
    assert not result.passed and "central differences" in str(result) and "FAIL" in str(result)


def test_the_core_does_not_import_the_exercises():
    code = (
        "import sys, alexnet_np as an, alexnet_np.gradcheck, alexnet_np.ops.naive; "
        "an.AlexNet('mini', num_classes=10).summary(); "
        "print(sorted(m for m in sys.modules if m.startswith('alexnet_np.exercises')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# ---- the workbook: one source, two builds ------------------------------------------------------------

WORKBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
SOURCE = WORKBOOK / "01_backward_passes.ipynb"


def _execute(nb, cwd):
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def test_strip_solutions_keeps_indentation_and_refuses_unbalanced_markers():
    src = "def f(x):\n    # BEGIN SOLUTION\n    y = 2 * x\n    return y\n    # END SOLUTION\n\nf(1)\n"
    assert strip_solutions(src, keep=False) == "def f(x):\n    raise NotImplementedError\n\nf(1)\n"
    assert strip_solutions(src, keep=True) == "def f(x):\n    y = 2 * x\n    return y\n\nf(1)\n"
    for bad in (
        "# BEGIN SOLUTION\nx = 1\n",
        "x = 1\n# END SOLUTION\n",
        "# BEGIN SOLUTION\n# BEGIN SOLUTION\n",
    ):
        with pytest.raises(ValueError, match="SOLUTION"):
            strip_solutions(bad, keep=False)


def test_every_exercise_has_a_solution_and_a_grading_cell_after_it():
    graded = set()
    for path in sorted(WORKBOOK.glob("*.ipynb")):
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        for i, src in enumerate(code):
            if "# BEGIN SOLUTION" in src and "report(grade(" in code[i + 1]:
                graded.update(re.findall(r'grade\("(\w+)"', code[i + 1]))
    assert REQUIRED <= graded and graded == set(EXERCISES)  # 02 grades the newer ones, 03 the capstone


@pytest.mark.slow
def test_the_student_build_reports_not_implemented_in_every_grading_cell(tmp_path, monkeypatch):
    student = write_student_copy(SOURCE, tmp_path)
    text = student.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    nb = nbformat.read(student, as_version=4)
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    _execute(nb, tmp_path)  # no cell raises
    grading = [c for c in nb.cells if c.cell_type == "code" and "report(grade(" in c.source]
    for cell in grading:
        out = "".join(o.get("text", "") for o in cell.outputs)
        assert out.count("NOT IMPLEMENTED YET") == cell.source.count("report(grade("), out


def test_the_solution_build_drops_only_the_markers(tmp_path):
    full = write_solution_copy(SOURCE, tmp_path / "solutions")
    source_code = [c.source for c in nbformat.read(SOURCE, as_version=4).cells]
    built_code = [c.source for c in nbformat.read(full, as_version=4).cells]
    assert len(built_code) == len(source_code)
    for a, b in zip(source_code, built_code):
        kept = "\n".join(
            line
            for line in a.splitlines()
            if not any(m in line for m in ("# BEGIN SOLUTION", "# END SOLUTION", "<!-- BEGIN SOLUTION -->"))
            and "<!-- END SOLUTION -->" not in line
        )
        assert b == kept
    built = [p.name for p in build_workbook(WORKBOOK, tmp_path / "students")]
    assert built == sorted(p.name for p in WORKBOOK.glob("*.ipynb")) and SOURCE.name in built


def test_the_student_build_ships_no_planted_bug_and_no_answer(tmp_path):
    """The planted bugs live in tests/test_notebook_claims.py; the student copy has no instructor metadata,
    no solution code and no formula marked as solution text."""
    for src in sorted(WORKBOOK.glob("*.ipynb")):
        text = write_student_copy(src, tmp_path).read_text()
        assert "planted_bugs" not in text and "SOLUTION" not in text, src.name
        assert "alexnet_np" not in nbformat.reads(text, as_version=4).metadata


def test_the_catalogue_report_prints_every_exercise_and_every_mistake_with_its_diagnosis(capsys):
    """tests/exercise_catalogue_report.py regenerates the closing note's list; it must not rot."""
    from exercise_catalogue_report import main

    assert main() == 0
    out = capsys.readouterr().out
    assert all(f"| `{name}` |" in out for name in EXERCISES)
    reports = {}  # mistake name -> the grader's report printed under it
    for entry in re.split(r"^\d+\. ", out, flags=re.M)[1:]:
        reports[entry.split("**")[1]] = entry.split("```text", 1)[1]
    assert len(reports) == len(MISTAKES + OTHER_STYLE)
    for name, _, _, words in MISTAKES + OTHER_STYLE:
        assert words in reports[name], f"{name}: {words!r} missing from its report"


def test_a_checkpoint_typed_by_hand_never_shows_its_answer():
    """A case with no arguments is a value worked out by hand: a wrong answer is told where it is wrong, not the
    right value, the error's size or a factor that would give the right value away."""
    report = str(grade("output_size_by_hand", lambda: (3, 4, 54)))  # the second and third are wrong
    assert "FAILED" in report and "4 is not it" in report and "54 is not it" in report, report
    assert "expected" not in report and "55" not in report, report  # 227, 11, 4, 0 gives 55
    wrong = np.array([[1.0, 2.0], [3.0, 4.0]])
    report = str(grade("conv_out_by_hand", lambda: wrong))
    assert "FAILED" in report and "largest error" not in report and "factor" not in report, report


def test_an_output_that_is_its_input_passes_up_to_a_convention_and_says_so():
    """Dropout in eval, PyTorch's convention, returning x itself (as PyTorch does): right values, shared memory."""

    def returns_x_in_eval(x, mask, p, convention, train):
        if not train:
            return x if convention == "pytorch" else x * (1 - p)
        return x * mask / (1 - p) if convention == "pytorch" else x * mask

    result = grade("dropout_forward", returns_x_in_eval)
    assert result.passed and result.status == "passed up to a convention", str(result)
    assert "argument 1 (x) itself" in str(result)


def test_a_result_kept_by_shape_fails_on_the_case_drawn_again():
    """Calling the first case again gives the same (stale) result, and every other case has other shapes: only a
    case with an earlier case's shapes and new values shows a cache keyed by shape."""
    kept = {}

    def cached_by_shape(x, w, b, stride, padding):
        key = (x.shape, w.shape, stride, padding)
        if key not in kept:
            kept[key] = CORRECT["conv_forward"](x, w, b, stride, padding)
        return kept[key]

    result = grade("conv_forward", cached_by_shape, isolate=False)
    report = str(result)
    assert not result.passed and "drawn again" in report and "a cache keyed by shape" in report, report
    kept.clear()
    assert grade("conv_forward", CORRECT["conv_forward"], isolate=False).passed


def test_cases_drawn_again_keep_names_shapes_and_settings_with_other_values():
    for name in ("conv_forward", "maxpool_backward", "sgd_momentum_paper", "batchnorm_backward"):
        make = EXERCISES[name].cases
        first, again, same = make(), redrawn(make), redrawn(make, draw=0)
        assert [c.name for c in again] == [c.name for c in first]
        for a, b, c in zip(first, again, same):
            for x, y, z in zip(a.args, b.args, c.args):
                if isinstance(x, np.ndarray):
                    assert x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, z)
                else:
                    assert x == y == z
        twin = new_values_twin(first, again)
        assert len(twin) == 1 and twin[0].name.endswith("drawn again")
        assert any(
            isinstance(x, np.ndarray) and not np.array_equal(x, y)
            for x, y in zip(first[0].args, twin[0].args)
        )


def test_a_checkpoint_typed_in_float32_counts_its_values():
    """No input precision to keep when nothing was input: the values count, to float32's precision."""
    exact = EXERCISES["conv_dw_by_hand"].cases()[0].checks[0].expected
    typed = exact.astype(np.float32)
    assert grade("conv_dw_by_hand", lambda: typed, isolate=False).passed
    slipped = typed.copy()
    slipped[0, 0] += 1
    report = str(grade("conv_dw_by_hand", lambda: slipped, isolate=False))
    assert "FAILED" in report and "1 of 4 elements wrong" in report, report
