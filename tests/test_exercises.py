"""The exercises' grader: it passes correct answers written independently, and names each typical mistake."""

import subprocess
import sys

import numpy as np
import pytest
from exercise_mistakes import CORRECT, MISTAKES, OTHER_STYLE

from alexnet_np.exercises import EXERCISES, TOL, grade, list_exercises
from alexnet_np.exercises.grader import Check, compare

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
    assert set(CORRECT) == set(EXERCISES)


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
    assert "expected 2 value(s): loss, dlogits" in report


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

    assert "changed in place" in str(grade("maxpool_backward", scribbles))


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


def test_the_core_does_not_import_the_exercises():
    code = (
        "import sys, alexnet_np as an, alexnet_np.gradcheck, alexnet_np.ops.naive; "
        "an.AlexNet('mini', num_classes=10).summary(); "
        "print(sorted(m for m in sys.modules if m.startswith('alexnet_np.exercises')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
