"""The exercises of more_layers: correct answers pass, a typical mistake of each is named."""

import numpy as np
import pytest
from capstone_solutions import SOLUTIONS

from alexnet_np.exercises import EXERCISES, grade, list_exercises


def batchnorm_forward(x, gamma, beta, eps):
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * gamma + beta


def batchnorm_backward(dout, x, gamma, beta, eps):
    n = x.shape[0]
    inv = 1 / np.sqrt(x.var(0) + eps)
    xh = (x - x.mean(0)) * inv
    dgamma, dbeta = (dout * xh).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xh * dgamma), dgamma, dbeta


def unbiased_backward(
    dout, x, gamma, eps
):  # the whole gradient with var(ddof=1) in place of the batch variance
    n = x.shape[0]
    inv = 1 / np.sqrt(x.var(0, ddof=1) + eps)
    xh = (x - x.mean(0)) * inv
    dgamma, dbeta = (dout * xh).sum(0), dout.sum(0)
    return gamma * inv / n * (n * dout - dbeta - xh * dgamma), dgamma, dbeta


def winograd_f23(d, g):
    m1 = (d[0] - d[2]) * g[0]
    m2 = (d[1] + d[2]) * (g[0] + g[1] + g[2]) / 2
    m3 = (d[2] - d[1]) * (g[0] - g[1] + g[2]) / 2
    m4 = (d[1] - d[3]) * g[2]
    return np.array([m1 + m2 + m3, m2 - m3 - m4])


def receptive_field(layers):
    size, jump, start, out = 1, 1, 0, ([], [], [])
    for k, s, p in layers:
        size, start, jump = size + (k - 1) * jump, start - p * jump, jump * s
        for lst, v in zip(out, (size, jump, start)):
            lst.append(v)
    return tuple(np.array(v, dtype=float) for v in out)


CORRECT = {
    **{n: SOLUTIONS[n] for n in ("linear_forward", "linear_backward", "relu_forward", "relu_backward")},
    "batchnorm_forward": batchnorm_forward,
    "batchnorm_backward": batchnorm_backward,
    "winograd_f23": winograd_f23,
    "receptive_field": receptive_field,
}

MISTAKES = [
    ("linear_forward", lambda x, w, b: x @ w.T, "the bias is missing"),
    ("linear_backward", lambda d, x, w, b: (d @ w, x.T @ d, d.sum(0)), "dW = dout.T @ x"),
    ("relu_backward", lambda d, x: d * (d > 0), "masked by the sign of dout"),
    ("relu_backward", lambda d, x: d * (x >= 0), "the gradient is 1 at x = 0"),
    (
        "lrn_window",
        lambda c, C, n: (max(0, c - n // 2), min(C, c + n // 2 + 1)),
        "an even size has (size − 1)//2 after",
    ),
    (
        "lrn_window",
        lambda c, C, n: (max(0, c - n // 2), c + (n - 1) // 2 + 1),
        "hi is not clipped: at most C",
    ),
    ("receptive_field_step", lambda r, j, st, k, s, p: (r + k - 1, j * s, st - p * j), "not k − 1"),
    (
        "receptive_field_step",
        lambda r, j, st, k, s, p: (r + (k - 1) * j, st - p * j, j * s),
        "in the wrong order",
    ),
    ("relu_forward", np.abs, "|x|"),
    (
        "batchnorm_forward",
        lambda x, g, b, e: (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + e) * g + b,
        "unbiased variance",
    ),
    (
        "batchnorm_backward",
        lambda d, x, g, b, e: (d * g / np.sqrt(x.var(0) + e), *batchnorm_backward(d, x, g, b, e)[1:]),
        "eval-mode gradient",
    ),
    (
        "batchnorm_backward",
        lambda d, x, g, b, e: (
            g / np.sqrt(x.var(0) + e) * (d - d.mean(0)),
            *batchnorm_backward(d, x, g, b, e)[1:],
        ),
        "the variance's term is missing",
    ),
    (
        "batchnorm_backward",
        lambda d, x, g, b, e: (batchnorm_backward(d, x, g, b, e)[0], (d * x).sum(0), d.sum(0)),
        "dγ = Σ dout · x̂, with the normalised input",
    ),
    (
        "batchnorm_backward",
        lambda d, x, g, b, e: unbiased_backward(d, x, g, e),
        "the unbiased variance (N − 1)",
    ),
    ("winograd_f23", lambda d, g: np.array([d[0:3] @ g[::-1], d[1:4] @ g[::-1]]), "true convolution"),
    (
        "receptive_field",
        lambda layers: (*receptive_field(layers)[:2], 0 * receptive_field(layers)[2]),
        "every start is 0",
    ),
]


def test_the_new_exercises_are_registered_and_listed():
    assert set(CORRECT) <= set(EXERCISES)
    assert all(name in list_exercises() for name in CORRECT)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_answers_pass(name):
    result = grade(name, CORRECT[name])
    assert result.passed, str(result)


@pytest.mark.parametrize("name, fn, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_typical_mistake_is_named(name, fn, words):
    result = grade(name, fn)
    assert not result.passed and words in str(result), str(result)


CHECKPOINTS = {
    "linear_dw_by_hand": lambda: np.array([[1.0, 3.0], [0.0, -3.0], [2.0, 3.0]]),
    "batchnorm_dx_formula": lambda g, xh, sg, sgx, gamma, inv, n: gamma * inv / n * (n * g - sg - xh * sgx),
    "winograd_filter_transform": lambda a, b, c: np.array([-a, (a + b + c) / 2, (a - b + c) / 2, c]),
    "receptive_field_step": lambda r, j, st, k, s, p: (r + (k - 1) * j, j * s, st - p * j),
    "output_size_by_hand": lambda: (3, 3, 55),
    "conv_dw_by_hand": lambda: np.array([[0.0, 1.0], [4.0, 0.0]]),
    "lrn_window": lambda c, n_channels, n: (max(0, c - n // 2), min(n_channels, c + (n - 1) // 2 + 1)),
    "softmax_by_hand": lambda: (np.log(8 / 3), np.array([1 / 8, 3 / 8 - 1, 4 / 8])),
    "dropout_scale": lambda p, c, t: (1 / (1 - p) if t else 1.0) if c == "pytorch" else (1.0 if t else 1 - p),
    "sgd_terminal_velocity": lambda g, mu, lr: -lr * g / (1 - mu),
    "conv_out_by_hand": lambda: np.array([[4.0, -1.0], [2.0, 6.0]]),
    "im2col_shape": lambda n, c, h, w, k, s, p: (
        n * ((h + 2 * p - k) // s + 1) * ((w + 2 * p - k) // s + 1),
        c * k * k,
    ),
    "col2im_count_by_hand": lambda: np.outer([1.0, 1.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 1.0, 1.0]),
    "maxpool_dx_by_hand": lambda: np.array(
        [[0, 0, 3, 0, 0], [0] * 5, [0, 0, 0, -1, 0], [0] * 5, [0, 4, 0, 0, 0]], float
    ),
    "lrn_cross_derivative": lambda ac, aj, s, alpha, beta, k: -2 * alpha * beta * ac * aj * s ** (-beta - 1),
    "relu_derivative": lambda x: 1.0 if x > 0 else 0.0,
}


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_the_derivation_checkpoints_pass_a_derivation_and_fail_a_wrong_one(name):
    assert grade(name, CHECKPOINTS[name]).status == "passed"
    wrong = {
        "linear_dw_by_hand": lambda: np.array([[1.0, 0.0], [3.0, -3.0], [2.0, 3.0]]),
        "batchnorm_dx_formula": lambda g, xh, sg, sgx, gamma, inv, n: gamma * inv * g,
        "winograd_filter_transform": lambda a, b, c: np.array([a, a + b + c, a - b + c, c]),
        "receptive_field_step": lambda r, j, st, k, s, p: (r + k - 1, j * s, st - p),
        "output_size_by_hand": lambda: (4, 3, 55),
        "conv_dw_by_hand": lambda: np.array([[0.0, 4.0], [1.0, 0.0]]),
        "lrn_window": lambda c, n_channels, n: (max(0, c - n // 2), min(n_channels, c + n // 2 + 1)),
        "softmax_by_hand": lambda: (np.log(8 / 3), np.array([1 / 8, 3 / 8, 4 / 8])),
        "dropout_scale": lambda p, c, t: 1 / (1 - p) if t else 1.0,
        "sgd_terminal_velocity": lambda g, mu, lr: -lr * g / mu,
        "conv_out_by_hand": lambda: np.array([[0.0, 3.0], [4.0, 0.0]]),  # the kernel flipped
        "im2col_shape": lambda n, c, h, w, k, s, p: (n * ((h - k) // s + 1) * ((w - k) // s + 1), c * k * k),
        "col2im_count_by_hand": lambda: np.ones((5, 5)),  # assigned, not summed
        "maxpool_dx_by_hand": lambda: np.array(
            [[0, 0, 2, 0, 0], [0] * 5, [0, 0, 0, -1, 0], [0] * 5, [0, 4, 0, 0, 0]], float
        ),  # the overlap assigned
        "lrn_cross_derivative": lambda ac, aj, s, alpha, beta, k: -2 * alpha * beta * ac * aj * s ** (-beta),
        "relu_derivative": lambda x: 1.0,  # the identity's derivative
    }[name]
    assert not grade(name, wrong).passed
