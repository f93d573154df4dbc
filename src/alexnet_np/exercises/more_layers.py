"""More of the course: Linear, ReLU, BatchNorm (training mode), Winograd F(2, 3) by hand, receptive fields.

Expected values come from the library in float64 (``layers.Linear``, ``layers.ReLU``, ``layers.BatchNorm1d``,
``ops.winograd_reference.winograd_matrices``, ``layers.ReceptiveField``), as in :mod:`.catalogue`.
Registered into :data:`alexnet_np.exercises.EXERCISES` by the last lines of :mod:`.catalogue`.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import gradcheck
from ..layers import BatchNorm1d, Conv2d, Linear, ReceptiveField, ReLU
from ..ops.winograd_reference import winograd_matrices
from .grader import Case, Check, case_rng, settings_ignored


def _exercise(*args):
    from .catalogue import Exercise  # the catalogue imports this module at its end

    return Exercise(*args)


# ---- Linear -----------------------------------------------------------------------------------------

LINEAR_CASES = [
    ("4 samples, 5 -> 3", 4, 5, 3, ()),
    ("batch of 1, 6 -> 2", 1, 6, 2, ("batch of 1",)),
    ("3 samples, 4 -> 4 (square W)", 3, 4, 4, ()),  # where writing the output into x has the right shape
    ("x all zeros, 5 -> 3", 3, 5, 3, ("zero input",)),  # dW = 0, but dx = dout @ W does not depend on x
]


def _linear_layer(i, n, fin, fout, tags=()):
    rng = case_rng(1300 + i)
    layer = Linear(fin, fout, rng=rng, dtype=np.float64)
    layer.params["weight"][...] = rng.standard_normal((fout, fin))
    layer.params["bias"][...] = rng.standard_normal(fout)
    x, dout = rng.standard_normal((n, fin)), rng.standard_normal((n, fout))
    return layer, (np.zeros_like(x) if "zero input" in tags else x), dout


def _linear_forward_cases():
    cases = []
    for i, (name, n, fin, fout, tags) in enumerate(LINEAR_CASES):
        layer, x, _ = _linear_layer(i, n, fin, fout, tags)
        w, b = layer.params["weight"].copy(), layer.params["bias"].copy()
        check = Check("out", layer.forward(x), batch=n)
        check.variants = [(x @ w.T, "the bias is missing", "mistake")]
        check.shapes = {(fout, n): "the transpose: one row per sample, y = x @ W.T + b"}
        cases.append(Case(name, (x, w, b), [check], tags, f"x {n}×{fin}, W {fout}×{fin} (PyTorch's layout)"))
    return cases


def _linear_backward_cases():
    cases = []
    for i, (name, n, fin, fout, tags) in enumerate(LINEAR_CASES):
        layer, x, dout = _linear_layer(i, n, fin, fout, tags)
        w, b = layer.params["weight"].copy(), layer.params["bias"].copy()
        layer.forward(x)
        dx = layer.backward(dout)
        cdx = Check("dx", dx)
        cdw = Check(
            "dw", layer.grads["weight"].copy(), factors=[(1 / n, f"divided by N = {n}: the mean is in dout")]
        )
        cdw.shapes = {(fin, fout): "x.T @ dout is (in, out): the weight is (out, in), so dW = dout.T @ x"}
        cdb = Check("db", layer.grads["bias"].copy(), factors=[(1 / n, f"divided by N = {n}: db sums")])
        cdb.shapes = {
            (n,): "summed over the features: sum over the batch (axis 0)",
            (n, fout): "one value per output feature: sum dout over the batch (axis 0)",
        }
        cases.append(Case(name, (dout, x, w, b), [cdx, cdw, cdb], tags, f"x {n}×{fin}, W {fout}×{fin}"))
    return cases


# ---- ReLU -------------------------------------------------------------------------------------------


def _relu_inputs(i, shape):
    rng = case_rng(1400 + i)
    return gradcheck.kink_free_input(shape, rng), rng.standard_normal(shape)


RELU_SHAPES = [("(N, C, H, W)", (2, 3, 4, 5)), ("(N, features)", (3, 7))]


def _relu_forward_cases():
    cases = []
    # the last case has values far above 6: ReLU has no upper bound (a ReLU6 habit clips there)
    for i, (name, shape) in enumerate(RELU_SHAPES + [("large values (many above 6)", (2, 9))]):
        x, _ = _relu_inputs(i, shape)
        x = x * 15 if i == len(RELU_SHAPES) else x
        check = Check("out", ReLU().forward(x))
        check.variants = [
            (np.abs(x), "|x|: negative inputs give 0, not −x", "mistake"),
            (np.clip(x, 0, 6), "clipped at 6 (ReLU6): ReLU has no upper bound", "mistake"),
        ]
        check.variants = [v for v in check.variants if not np.array_equal(v[0], check.expected)]
        cases.append(Case(name, (x,), [check], (), f"x {'×'.join(map(str, shape))}"))
    return cases


def _leaky(x, dout):
    """Whether an answer is right where x > 0 and a constant non-zero multiple of dout where x < 0."""

    def predicate(got, expected):
        neg, pos = x < 0, x > 0
        if not neg.any() or not np.allclose(got[pos], expected[pos]):
            return False
        slope = got[neg] / dout[neg]
        return bool(np.allclose(slope, slope.flat[0]) and slope.flat[0] != 0)

    return predicate


def _relu_backward_cases():
    cases = []
    for i, (name, shape) in enumerate(RELU_SHAPES):
        x, dout = _relu_inputs(i, shape)
        layer = ReLU()
        layer.forward(x)
        check = Check("dx", layer.backward(dout))
        check.variants = [
            (
                dout * (dout > 0),
                "masked by the sign of dout: the mask is x > 0 (the forward's input)",
                "mistake",
            ),
            (dout * np.maximum(x, 0), "multiplied by the output: the derivative is 1 where x > 0", "mistake"),
            (dout.copy(), "not masked: no gradient flows where x <= 0", "mistake"),
            ((x > 0).astype(x.dtype), "the mask alone: multiply dout by it", "mistake"),
            (
                dout * np.sign(x),
                "dout · sign(x) is the gradient of |x|: ReLU's is 0 where x < 0, not −1",
                "mistake",
            ),
        ]
        check.relations = [
            (_leaky(x, dout), "a slope where x < 0 (a leaky ReLU?): ReLU passes no gradient there")
        ]
        cases.append(Case(name, (dout, x), [check], (), f"x {'×'.join(map(str, shape))}"))
    # x exactly 0 where an earlier ReLU or zero padding made it: the kink's convention decides (0, as PyTorch)
    x, dout = _relu_inputs(len(RELU_SHAPES), (2, 6))
    x[:, ::3] = 0.0  # a third of it exactly 0, the rest away from the kink on both sides
    layer = ReLU()
    layer.forward(x)
    check = Check("dx", layer.backward(dout))
    check.variants = [
        (
            dout * (x >= 0),
            "the gradient is 1 at x = 0: the mask is x > 0 (0 at the kink, as PyTorch)",
            "mistake",
        )
    ]
    cases.append(Case("zeros in x", (dout, x), [check], ("x exactly 0",), "x 2×6, a third of it exactly 0"))
    return cases


# ---- BatchNorm, training mode -------------------------------------------------------------------------

BN_CASES = [("8 samples, 4 features", (8, 4), 1e-5, ()), ("2 samples, 3 features, eps 0.1", (2, 3), 0.1, ())]


def _bn(i, shape, eps):
    rng = case_rng(1500 + i)
    layer = BatchNorm1d(shape[1], eps=eps, dtype=np.float64)
    layer.params["weight"][...] = 1 + rng.random(shape[1])
    layer.params["bias"][...] = rng.standard_normal(shape[1])
    x = 2 * rng.standard_normal(shape) + rng.standard_normal(shape[1])
    return layer, x, rng.standard_normal(shape)


def _bn_out(x, g, b, eps):
    """Batch norm's training-mode output, with ``eps``."""
    return (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * g + b


def _bn_grads(dout, x, g, eps):
    """(dx, dγ) of batch norm in training mode, with ``eps``."""
    n = x.shape[0]
    inv = 1 / np.sqrt(x.var(0) + eps)
    xh = (x - x.mean(0)) * inv
    dgamma = (dout * xh).sum(0)
    return g * inv / n * (n * dout - dout.sum(0) - xh * dgamma), dgamma


def _bn_forward_cases():
    cases = []
    for i, (name, shape, eps, tags) in enumerate(BN_CASES):
        layer, x, _ = _bn(i, shape, eps)
        g, b = layer.params["weight"].copy(), layer.params["bias"].copy()
        check = Check("out", layer.forward(x, train=True))
        unbiased = (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) * g + b
        per_sample = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) * g + b
        check.variants = [
            (unbiased, "the unbiased variance (N − 1): normalise with the biased one (N)", "mistake"),
            (
                per_sample,
                "normalised over each sample's features (axis 1, layer norm): batch norm averages over the "
                "batch, axis 0",
                "mistake",
            ),
            (
                (x - x.mean(0)) / (x.std(0) + eps) * g + b,
                "ε added to the standard deviation: it goes inside the square root, √(σ² + ε)",
                "mistake",
            ),
        ]
        check.variants += [
            (v, m, "mistake")
            for v, m in settings_ignored(
                functools.partial(_bn_out, x, g, b), {"eps": eps}, {"eps": 1e-5}, "PyTorch's default"
            )
        ]
        cases.append(Case(name, (x, g, b, eps), [check], tags, f"x {shape[0]}×{shape[1]}, eps {eps}"))
    return cases


def _bn_backward_cases():
    cases = []
    for i, (name, shape, eps, tags) in enumerate(BN_CASES):
        layer, x, dout = _bn(i, shape, eps)
        g, b = layer.params["weight"].copy(), layer.params["bias"].copy()
        layer.forward(x, train=True)
        dx = layer.backward(dout)
        n = shape[0]
        inv = 1 / np.sqrt(x.var(0) + eps)
        xh = (x - x.mean(0)) * inv
        inv1 = 1 / np.sqrt(x.var(0, ddof=1) + eps)  # the unbiased variance, throughout
        xh1 = (x - x.mean(0)) * inv1
        dgamma1 = (dout * xh1).sum(0)
        cdx = Check("dx", dx)
        cdx.variants = [
            (dout * g * inv, "the eval-mode gradient: in training μ and σ depend on x", "mistake"),
            (
                g * inv * (dout - dout.mean(0)),
                "the variance's term is missing: dx = γ/σ · (dout − mean(dout) − x̂ · mean(dout · x̂))",
                "mistake",
            ),
            (
                g * inv * (dout - xh * (dout * xh).mean(0)),
                "the mean's term is missing: dx = γ/σ · (dout − mean(dout) − x̂ · mean(dout · x̂))",
                "mistake",
            ),
            (
                g * inv1 / n * (n * dout - dout.sum(0) - xh1 * dgamma1),
                "the unbiased variance (N − 1): batch norm normalises with the biased one (N)",
                "mistake",
            ),
        ]
        ignored = settings_ignored(
            functools.partial(_bn_grads, dout, x, g), {"eps": eps}, {"eps": 1e-5}, "PyTorch's default"
        )
        cdx.variants += [(v[0], m, "mistake") for v, m in ignored]
        cdgamma = Check("dgamma", layer.grads["weight"].copy())
        cdgamma.shapes = {(n,): "one value per sample: sum over the batch (axis 0), one value per feature"}
        cdgamma.variants = [
            ((dout * x).sum(0), "Σ dout · x: dγ = Σ dout · x̂, with the normalised input", "mistake"),
            (
                dgamma1,
                "the unbiased variance (N − 1): batch norm normalises with the biased one (N)",
                "mistake",
            ),
        ] + [(v[1], m, "mistake") for v, m in ignored]
        cases.append(
            Case(
                name,
                (dout, x, g, b, eps),
                [cdx, cdgamma, Check("dbeta", layer.grads["bias"].copy())],
                tags,
                f"x {shape[0]}×{shape[1]}, eps {eps}",
            )
        )
    return cases


def _bn_numeric(fn):
    layer, x, dout = _bn(7, (5, 3), 1e-5)
    g, b = layer.params["weight"].copy(), layer.params["bias"].copy()
    got = fn(dout, x.copy(), g.copy(), b.copy(), 1e-5)[0]
    num = gradcheck.numerical_gradient(lambda: layer.forward(x, train=True), x, dout)
    err = gradcheck.rel_error(np.asarray(got, dtype=np.float64), num)
    ok = "ok" if err < gradcheck.LAYER_TOL else "FAIL"
    return [
        f"central differences on a 5×3 batch: dx rel. error {err:.1e} {ok} "
        f"(a correct answer: < {gradcheck.LAYER_TOL:g})"
    ]


# ---- Winograd F(2, 3) by hand -----------------------------------------------------------------------


def _winograd_cases():
    at, gm, bt = winograd_matrices(2, 3)
    cases = []
    for i, scale in enumerate((1.0, 100.0, 0.01)):
        rng = case_rng(1600 + i)
        d, g = scale * rng.standard_normal(4), rng.standard_normal(3)
        exp = at @ ((gm @ g) * (bt @ d))
        direct = np.array([d[0:3] @ g, d[1:4] @ g])
        assert np.allclose(exp, direct)  # the library's matrices compute the correlation
        check = Check("y", exp)
        check.variants = [
            (np.array([d[0:3] @ g[::-1], d[1:4] @ g[::-1]]), "a true convolution (g reversed)", "mistake")
        ]
        cases.append(Case(f"random d, g, |d| ~ {scale:g}", (d, g), [check], (), "d (4,), g (3,)"))
    return cases


# ---- receptive field ----------------------------------------------------------------------------------

RF_STACKS = [
    (
        "AlexNet's features",
        [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)],
        227,
    ),
    (
        "the mini AlexNet",
        [(5, 1, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)],
        31,
    ),
    ("stride 3, padding 2", [(4, 3, 2), (2, 2, 1), (3, 1, 0)], 40),
]


def _receptive_field_cases():
    cases = []
    for name, stack, size in RF_STACKS:
        field = ReceptiveField.of_input(size, size)
        sizes, jumps, starts = [], [], []
        for k, s, p in stack:
            # Conv2d and MaxPool2d share the window rule; a 1-channel conv stands for either here
            field = Conv2d(1, 1, k, s, p, dtype=np.float64).receptive_field(field)
            sizes.append(field.size[0])
            jumps.append(field.jump[0])
            starts.append(field.start[0])
        checks = [
            Check(n, np.array(v, dtype=np.int64).astype(np.float64))
            for n, v in (("sizes", sizes), ("jumps", jumps), ("starts", starts))
        ]
        checks[2].variants = [
            (
                np.array(starts) * 0.0,
                "every start is 0: padding moves the first window's first pixel to −p·jump",
                "mistake",
            )
        ]
        cases.append(Case(name, (list(stack),), checks, (), f"{len(stack)} layers (kernel, stride, padding)"))
    return cases


# ---- derivation checkpoints: the formula before the implementation ----------------------------------------


def _bn_formula_cases():
    cases = []
    for i, n in enumerate((4, 9)):
        layer, x, dout = _bn(20 + i, (n, 1), 1e-5)
        layer.forward(x, train=True)
        dx = layer.backward(dout)
        gamma, inv_std = float(layer.params["weight"][0]), float(layer.inv_std[0])
        sum_g, sum_gx = float(dout.sum()), float((dout * layer.x_hat).sum())
        for j in range(2):
            g_i, xhat_i = float(dout[j, 0]), float(layer.x_hat[j, 0])
            args = (g_i, xhat_i, sum_g, sum_gx, gamma, inv_std, n)
            check = Check("dx_i", np.float64(dx[j, 0]))
            check.factors = [
                (n, "the 1/N in front is missing"),
                (1 / gamma, "γ is missing: dx̂ = γ · dy"),
                (n / (n - 1), "1/(N − 1) in front: the batch variance divides by N (it is biased)"),
                (gamma, "γ twice"),
            ]
            scale = gamma * inv_std / n
            check.variants = [
                (scale * (n * g_i - sum_g), "the variance term −x̂_i · Σ g·x̂ is missing", "mistake"),
                (scale * (n * g_i - xhat_i * sum_gx), "the mean term −Σ g is missing", "mistake"),
                (
                    scale * (n * g_i - sum_g + xhat_i * sum_gx),
                    "the variance term's sign is flipped",
                    "mistake",
                ),
                (
                    scale * (n * g_i - sum_g - xhat_i * sum_gx * n / (n - 1)),
                    "the variance term scaled by N/(N − 1): the batch variance is the biased one (÷ N)",
                    "mistake",
                ),
            ]
            cases.append(Case(f"N = {n}, element {j}", args, [check], (), "random batch, one feature"))
    return cases


def _linear_by_hand_cases():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    dout = np.array([[1.0, 0.0, 2.0], [-1.0, 3.0, 1.0]])
    layer = Linear(2, 3, dtype=np.float64)
    layer.forward(x)
    layer.backward(dout)
    check = Check("dW", layer.grads["weight"].copy())
    check.shapes = {(2, 3): "x.T @ dout is (in, out); the weight is (out, in)"}
    return [Case("x = [[1, 2], [0, -1]], dout = [[1, 0, 2], [-1, 3, 1]]", (), [check], (), "typed by hand")]


def _winograd_filter_cases():
    _, gm, _ = winograd_matrices(2, 3)  # the points 0, 1, −1, ∞: row 0 is −g0 (Lavin & Gray's has +g0)
    cases = []
    for i in range(3):
        g = case_rng(1700 + i).standard_normal(3)
        check = Check("Gg", gm @ g)
        lavin = gm @ g
        lavin[0] = -lavin[0]
        check.variants = [
            (lavin, "convention of Lavin & Gray (row 0 is +g0; B^T's row 0 negated to match)", "convention")
        ]
        cases.append(Case(f"random g #{i + 1}", tuple(float(v) for v in g), [check], (), "g0, g1, g2"))
    return cases


def _rf_step_cases():
    cases = []
    rng = case_rng(1800)
    for i in range(5):
        size, jump, start = int(rng.integers(1, 40)), int(rng.integers(1, 9)), -int(rng.integers(0, 20))
        k, s, p = int(rng.integers(1, 8)), int(rng.integers(1, 5)), int(rng.integers(0, 4))
        checks = [
            Check("size", size + (k - 1) * jump, integer=True),
            Check("jump", jump * s, integer=True),
            Check("start", start - p * jump, integer=True),
        ]
        checks[1].variants = [(jump, "the jump multiplies by the stride", "mistake")]
        checks[0].variants = [
            (size + k - 1, "the kernel reaches (k − 1)·jump input pixels, not k − 1", "mistake"),
            (
                size + (k - 1) * s,
                "the size grows by (k − 1)·jump (the jump so far), not by the stride",
                "mistake",
            ),
            (
                size + (k - 1) * jump * s,
                "the size grows with the jump *before* this layer: update it last",
                "mistake",
            ),
        ]
        checks[2].variants = [
            (start - p, "the padding moves the start by p·jump input pixels, not p", "mistake"),
            (
                start - p * jump * s,
                "the start moves with the jump *before* this layer: update it last",
                "mistake",
            ),
        ]
        for check in checks:  # keep only variants that differ from the right value in this case
            check.variants = [v for v in check.variants if v[0] != check.expected]
        cases.append(
            Case(f"random #{i + 1}", (size, jump, start, k, s, p), checks, (), "size, jump, start, k, s, p")
        )
    return cases


# ---- derivation checkpoints for workbook 01 -------------------------------------------------------------

BY_HAND_X = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]])  # notebook 01's 3×3 example
BY_HAND_DOUT = np.array([[1.0, 0.0], [2.0, -1.0]])


def _output_size_by_hand_cases():
    from ..shapes import conv_output_size

    rows = [(7, 3, 2, 0), (6, 3, 2, 1), (227, 11, 4, 0)]
    checks = [
        Check(f"n={n}, k={k}, s={s}, p={p}", conv_output_size(n, k, s, p), integer=True)
        for n, k, s, p in rows
    ]
    return [Case("three sizes counted by hand", (), checks, (), "typed by hand")]


def _conv_dw_by_hand_cases():
    from ..ops import reference as ref

    cols = ref.im2col(BY_HAND_X[None, None], 2, 1, 0)  # (4, 4)
    dw = (BY_HAND_DOUT.reshape(1, -1) @ cols).reshape(2, 2)
    check = Check("dW", dw)
    rotated = dw[::-1, ::-1].copy()
    also = " (for these numbers also dW transposed: dW[i, j] pairs x's offset (i, j) with dout)"
    check.variants = [
        (
            rotated,
            "rotated by 180°"
            + (also if np.array_equal(rotated, dw.T) else "")
            + ": dW correlates x with dout, no flip",
            "mistake",
        )
    ]
    return [Case("x 3×3, dout 2×2 (the notebook's)", (), [check], (), "typed by hand")]


def _lrn_window_cases():
    cases = []
    for c, channels, size in [
        (0, 7, 5),
        (6, 7, 5),
        (3, 7, 5),
        (2, 6, 4),
        (0, 3, 5),
        (5, 6, 4),
        (4, 9, 3),
        (4, 9, 7),
    ]:
        lo, hi = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        clo, chi = Check("lo", lo, integer=True), Check("hi", hi, integer=True)
        chi.variants = [
            (hi - 1, "hi is exclusive: one past the last channel of the window (… + 1)", "mistake"),
            (c + (size - 1) // 2 + 1, "hi is not clipped: at most C", "mistake"),
            (
                min(channels - 1, c + (size - 1) // 2 + 1),
                "clipped at C − 1: hi is exclusive, clip it at C",
                "mistake",
            ),
        ]
        if size % 2 == 0:
            chi.variants.insert(
                0,
                (
                    min(channels, c + size // 2 + 1),
                    "size//2 after too: an even size has (size − 1)//2 after",
                    "mistake",
                ),
            )
            clo.variants = [
                (
                    max(0, c - (size - 1) // 2),
                    "the even size's extra channel goes before: size//2 before",
                    "mistake",
                )
            ]
        clo.variants.append((c - size // 2, "lo is not clipped: at least 0", "mistake"))
        # a variant equal to the right value here explains nothing, and would be read out beside a right answer
        clo.variants = [v for v in clo.variants if v[0] != lo]
        chi.variants = [v for v in chi.variants if v[0] != hi]
        cases.append(
            Case(
                f"c={c}, C={channels}, size={size}",
                (c, channels, size),
                [clo, chi],
                () if size == 5 else ("size not 5",),
                "the window is channels lo … hi − 1",
            )
        )
    return cases


def _softmax_by_hand_cases():
    from ..layers import CrossEntropyLoss

    z = np.log(np.array([[1.0, 3.0, 4.0]]))
    lf = CrossEntropyLoss()
    loss = lf.forward(z, np.array([1]))
    return [
        Case(
            "z = log([1, 3, 4]), label 1",
            (),
            [Check("loss", np.float64(loss)), Check("dz", lf.backward()[0])],
        )
    ]


def _dropout_scale_cases():
    from ..layers import Dropout

    cases = []
    for conv in ("pytorch", "paper"):
        for train in (True, False):
            for p in (0.25, 0.5):
                layer = Dropout(p, convention=conv, rng=np.random.default_rng(0))
                x = np.ones((1, 4000))
                y = layer.forward(x, train=train)
                scale = float(y.max())  # the factor of a kept element
                cases.append(
                    Case(
                        f"{conv}, train={train}, p={p}", (p, conv, train), [Check("scale", np.float64(scale))]
                    )
                )
    return cases


def _terminal_velocity(g, lr, momentum):
    """−ε·g / (1 − μ): the velocity a constant gradient settles at, in closed form."""
    return -lr * g / (1 - momentum)


def _terminal_velocity_cases():
    from ..ops import reference as ref

    cases = []
    rng = case_rng(1900)
    for i in range(3):
        g, mu, lr = float(rng.standard_normal()), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.001, 0.1))
        w, v = np.zeros(1), np.zeros(1)
        for _ in range(3000):  # μ^3000 < 1e-130: v has converged in float64
            ref.sgd_paper_update(w, v, np.array([g]), mu, 0.0, lr)
        check = Check("v", np.float64(v[0]))
        check.factors = [
            (mu, "one factor μ too many: the sum starts at the first step, −lr·g·(1 + μ + μ² + …)"),
            (1 / lr, "lr is missing: each step adds −lr·g"),
            ((1 - mu) / (1 + mu), "1/(1 + μ) where the geometric series gives 1/(1 − μ)"),
            ((1 - mu) / mu, "1/μ where the geometric series gives 1/(1 − μ)"),
        ]
        check.variants = [
            (np.float64(v), m, "mistake")
            for v, m in settings_ignored(
                functools.partial(_terminal_velocity, g, lr),
                {"momentum": mu},
                {"momentum": 0.9},
                "the paper's",
            )
        ]
        cases.append(Case(f"random #{i + 1}", (g, mu, lr), [check], (), "constant g, no decay"))
    return cases


# ---- derivation checkpoints added before conv forward, im2col, col2im, max pool, LRN backward, ReLU --------

BY_HAND_W = np.array([[1.0, 2.0], [0.0, -1.0]])  # notebook 01's 2×2 kernel for the forward checkpoint
POOL_X = np.array(  # 5×5, 3×3/2 windows: 2×2 outputs, each window's maximum unique, (0, 2) the max of two
    [
        [1.0, 2.0, 9.0, 0.0, 3.0],
        [4.0, 0.0, 1.0, 2.0, 1.0],
        [0.0, 3.0, 2.0, 8.0, 0.0],
        [5.0, 1.0, 0.0, 4.0, 2.0],
        [0.0, 7.0, 1.0, 0.0, 6.0],
    ]
)
POOL_DOUT = np.array([[1.0, 2.0], [4.0, -1.0]])


def _conv_out_by_hand_cases():
    from ..ops import reference as ref

    cols = ref.im2col(BY_HAND_X[None, None], 2, 1, 0)  # (4, 4): one row per output pixel
    out = (cols @ BY_HAND_W.reshape(-1)).reshape(2, 2)
    flipped = (cols @ BY_HAND_W[::-1, ::-1].reshape(-1)).reshape(2, 2)
    check = Check("out", out)
    check.variants = [(flipped, "a true convolution (kernel flipped): deep learning correlates", "mistake")]
    return [Case("x 3×3, w = [[1, 2], [0, -1]], b = 0", (), [check], (), "typed by hand")]


def _im2col_shape_cases():
    from ..shapes import conv_output_size

    cases = []
    rng = case_rng(2000)
    for i in range(6):
        n, c, k = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = int(rng.integers(k, 20)), int(rng.integers(k, 20))
        ho, wo = conv_output_size(h, k, s, p), conv_output_size(w, k, s, p)
        rows, cols = Check("rows", n * ho * wo, integer=True), Check("cols", c * k * k, integer=True)
        cases.append(Case(f"random #{i + 1}", (n, c, h, w, k, s, p), [rows, cols], (), "N, C, H, W, k, s, p"))
    return cases


def _col2im_count_cases():
    from ..ops import reference as ref

    shape = (1, 1, 5, 5)
    ones = np.ones_like(ref.im2col(np.zeros(shape), 3, 2, 0))
    count = ref.col2im(ones, shape, 3, 2, 0)[0, 0]  # each copy adds 1: the number of windows over a pixel
    check = Check("count", count)
    check.variants = [
        (np.ones((5, 5)), "assigned, not summed: a pixel counts every window over it", "mistake")
    ]
    return [Case("5×5, 3×3 windows, stride 2, no padding", (), [check], (), "typed by hand")]


def _maxpool_dx_by_hand_cases():
    from ..ops import reference as ref

    x = POOL_X[None, None]
    _, argmax = ref.maxpool_forward(x, 3, 2)
    dx = ref.maxpool_backward(POOL_DOUT[None, None], argmax, x.shape, 3, 2)[0, 0]
    check = Check("dx", dx)
    assigned = dx.copy()
    assigned[0, 2] = POOL_DOUT[0, 1]  # the second window over (0, 2) overwrote the first
    check.variants = [
        (assigned, "assigned, not accumulated: (0, 2) is the maximum of two windows", "mistake")
    ]
    return [Case("the notebook's 5×5 x, dout = [[1, 2], [4, −1]]", (), [check], (), "typed by hand")]


def _lrn_cross_cases():
    from ..layers import LocalResponseNorm

    cases = []
    rng = case_rng(2100)
    for i in range(4):
        size, alpha = 5, float(rng.uniform(0.1, 1.0))
        beta, k = float(rng.uniform(0.5, 1.0)), float(rng.uniform(1.0, 3.0))
        x = rng.uniform(0.5, 2.0, size=(1, 7, 1, 1))
        c, j = 3, [1, 2, 4, 5][i]  # j ≠ c, inside c's window
        layer = LocalResponseNorm(size, alpha, beta, k, convention="paper")
        layer.forward(x)
        dout = np.zeros_like(x)
        dout[0, c] = 1.0
        dx = layer.backward(dout)  # dx[j] = ∂b_c/∂a_j
        s_c = k + alpha * float((x[0, c - 2 : c + 3] ** 2).sum())
        args = (float(x[0, c, 0, 0]), float(x[0, j, 0, 0]), s_c, alpha, beta, k)
        check = Check("db_c/da_j", np.float64(dx[0, j, 0, 0]))
        check.factors = [(0.5, "the 2 from ∂(a_j²)/∂a_j is missing"), (2.0, "a factor 2 too many")]
        a_c, a_j = args[0], args[1]
        check.variants = [
            (
                -2 * alpha * beta * a_c * a_j * s_c ** (-beta),
                "s^(−β) where the chain rule gives s^(−β − 1)",
                "mistake",
            ),
            (
                -2 * alpha * beta * a_c * a_j * s_c ** (-beta - 1) / size,
                "α/n: this is the paper's convention, where α multiplies the sum itself (no division by n)",
                "mistake",
            ),
        ]
        cases.append(Case(f"random #{i + 1}", args, [check]))
    return cases


def _relu_derivative_cases():
    cases = []
    rng = case_rng(2200)
    for sign in (1, -1, 1, -1):
        x = sign * float(rng.uniform(0.1, 5.0))  # away from the kink at 0
        cases.append(Case(f"x = {x:.3f}", (x,), [Check("d relu/dx", np.float64(x > 0))]))
    return cases


# ---- the registry ------------------------------------------------------------------------------------


def exercises() -> dict:
    items = [
        _exercise(
            "linear_forward",
            "linear_forward(x, w, b) -> out (w: (out, in))",
            "fully connected, forward",
            _linear_forward_cases,
        ),
        _exercise(
            "linear_backward",
            "linear_backward(dout, x, w, b) -> (dx, dw, db)",
            "fully connected, backward",
            _linear_backward_cases,
        ),
        _exercise("relu_forward", "relu_forward(x) -> out", "ReLU", _relu_forward_cases),
        _exercise(
            "relu_backward",
            "relu_backward(dout, x) -> dx",
            "ReLU backward",
            _relu_backward_cases,
            None,
            {"x exactly 0": "what does your mask give at x = 0?"},
        ),
        _exercise(
            "batchnorm_forward",
            "batchnorm_forward(x, gamma, beta, eps) -> out (training mode, x: (N, D))",
            "batch normalisation, training mode",
            _bn_forward_cases,
        ),
        _exercise(
            "batchnorm_backward",
            "batchnorm_backward(dout, x, gamma, beta, eps) -> (dx, dgamma, dbeta)",
            "BatchNorm backward, the compact dx",
            _bn_backward_cases,
            _bn_numeric,
        ),
        _exercise(
            "winograd_f23",
            "winograd_f23(d, g) -> y (2,): y[i] = Σ_k g[k]·d[i+k] with 4 multiplications",
            "Winograd F(2, 3) by hand",
            _winograd_cases,
        ),
        _exercise(
            "receptive_field",
            "receptive_field(layers) -> (sizes, jumps, starts) float arrays, layers: [(kernel, stride, padding), ...]",
            "receptive field size, jump and start per layer",
            _receptive_field_cases,
        ),
        _exercise(
            "linear_dw_by_hand",
            "linear_dw_by_hand() -> dW (3, 2) for the notebook's x and dout, typed as numbers",
            "derive first: Linear's weight gradient by hand",
            _linear_by_hand_cases,
        ),
        _exercise(
            "batchnorm_dx_formula",
            "batchnorm_dx_formula(g_i, xhat_i, sum_g, sum_g_xhat, gamma, inv_std, n) -> dx_i",
            "derive first: BatchNorm's compact dx as a formula of scalars",
            _bn_formula_cases,
        ),
        _exercise(
            "winograd_filter_transform",
            "winograd_filter_transform(g0, g1, g2) -> (4,) the transformed filter G·g",
            "derive first: F(2, 3)'s filter transform",
            _winograd_filter_cases,
        ),
        _exercise(
            "receptive_field_step",
            "receptive_field_step(size, jump, start, k, s, p) -> (size, jump, start) ints after one layer",
            "derive first: one step of the receptive-field recurrence",
            _rf_step_cases,
        ),
        _exercise(
            "output_size_by_hand",
            "output_size_by_hand() -> three ints: the sizes for (7, 3, 2, 0), (6, 3, 2, 1), (227, 11, 4, 0)",
            "derive first: count windows by hand",
            _output_size_by_hand_cases,
        ),
        _exercise(
            "conv_dw_by_hand",
            "conv_dw_by_hand() -> dW (2, 2) for the notebook's 3×3 x and 2×2 dout, typed as numbers",
            "derive first: a convolution's weight gradient by hand",
            _conv_dw_by_hand_cases,
        ),
        _exercise(
            "lrn_window",
            "lrn_window(c, C, size) -> (lo, hi): the channels lo … hi − 1 in channel c's window",
            "derive first: the LRN's clipped channel window",
            _lrn_window_cases,
        ),
        _exercise(
            "softmax_by_hand",
            "softmax_by_hand() -> (loss, dz) for z = log([1, 3, 4]) and label 1",
            "derive first: softmax cross-entropy and its gradient by hand",
            _softmax_by_hand_cases,
        ),
        _exercise(
            "dropout_scale",
            "dropout_scale(p, convention, train) -> the factor applied to a kept element",
            "derive first: the factor that keeps the expectation",
            _dropout_scale_cases,
        ),
        _exercise(
            "sgd_terminal_velocity",
            "sgd_terminal_velocity(g, momentum, lr) -> v after many steps with a constant g (no decay)",
            "derive first: the paper's momentum as a geometric series",
            _terminal_velocity_cases,
        ),
        _exercise(
            "conv_out_by_hand",
            "conv_out_by_hand() -> out (2, 2) for the notebook's 3×3 x and 2×2 w, typed as numbers",
            "derive first: a convolution's output by hand",
            _conv_out_by_hand_cases,
        ),
        _exercise(
            "im2col_shape",
            "im2col_shape(N, C, H, W, k, s, p) -> (rows, cols) ints: the shape of im2col's matrix",
            "derive first: the shape of the column matrix",
            _im2col_shape_cases,
        ),
        _exercise(
            "col2im_count_by_hand",
            "col2im_count_by_hand() -> (5, 5): how many 3×3/2 windows cover each pixel of a 5×5 input",
            "derive first: the copies col2im sums",
            _col2im_count_cases,
        ),
        _exercise(
            "maxpool_dx_by_hand",
            "maxpool_dx_by_hand() -> dx (5, 5) for the notebook's x and dout, 3×3/2 windows, typed as numbers",
            "derive first: max pool's routed gradient by hand",
            _maxpool_dx_by_hand_cases,
        ),
        _exercise(
            "lrn_cross_derivative",
            "lrn_cross_derivative(a_c, a_j, s_c, alpha, beta, k) -> ∂b_c/∂a_j for j ≠ c in c's window",
            "derive first: the LRN's cross-channel derivative",
            _lrn_cross_cases,
        ),
        _exercise(
            "relu_derivative",
            "relu_derivative(x) -> ∂relu/∂x as a float, x ≠ 0",
            "derive first: ReLU's derivative",
            _relu_derivative_cases,
        ),
    ]
    return {e.name: e for e in items}
