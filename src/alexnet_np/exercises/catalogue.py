"""The exercises: what each student function takes and returns, its cases, and what each case knows.

Every expected value comes from the library (``alexnet_np.ops.reference``, ``ops.naive``, ``shapes``, ``layers``)
in float64. Inputs are away from kinks and pool ties (:func:`alexnet_np.gradcheck.kink_free_input`) except in
the cases about ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import gradcheck
from ..layers import CrossEntropyLoss, softmax
from ..ops import reference as ref
from ..ops.naive import conv2d_naive
from ..shapes import conv_output_size, output_hw
from .grader import Case, Check

# ---- shared helpers ---------------------------------------------------------------------------------


def _conv_ref(x, w, b, stride, padding):
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = output_hw(h, wd, k, stride, padding)
    cols = ref.im2col(x, k, stride, padding)
    out = cols @ w.reshape(f, -1).T + b
    return out.reshape(n, ho, wo, f).transpose(0, 3, 1, 2).copy()


def _conv_backward_ref(dout, x, w, stride, padding):
    f, _, k, _ = w.shape
    cols = ref.im2col(x, k, stride, padding)
    dcols = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (dcols.T @ cols).reshape(w.shape)
    dx = ref.col2im(dcols @ w.reshape(f, -1), x.shape, k, stride, padding)
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _padding_touch(h, w, k, s, p):
    """(rows, cols) boolean over output positions whose window reaches into the padding."""
    ho, wo = output_hw(h, w, k, s, p)
    oh, ow = np.arange(ho) * s - p, np.arange(wo) * s - p
    return (oh < 0) | (oh + k > h), (ow < 0) | (ow + k > w)


def _border_out(h, w, k, s, p):
    rows, cols = _padding_touch(h, w, k, s, p)
    return rows[:, None] | cols[None, :]


def _coverage(h, w, k, s, p, windows=None):
    """How many windows cover each input pixel (only the windows where ``windows`` is True)."""
    ho, wo = output_hw(h, w, k, s, p)
    sel = np.ones((ho, wo)) if windows is None else windows.astype(float)
    cols = np.repeat(sel.reshape(-1, 1), k * k, axis=1)
    return ref.col2im(cols, (1, 1, h, w), k, s, p)[0, 0]


def _border_in(h, w, k, s, p):
    return _coverage(h, w, k, s, p, _border_out(h, w, k, s, p)) > 0


def _overlap_in(h, w, k, s, p):
    return _coverage(h, w, k, s, p) > 1


BORDER = "in the border rows/columns, where windows reach into the padding: is padding handled?"
OVERLAP = "where windows overlap: are you accumulating (+=) instead of assigning?"


def _numeric_note(case_name, pairs):
    parts = []
    for name, got, num in pairs:
        try:
            err = gradcheck.rel_error(np.asarray(got, dtype=np.float64), num)
        except Exception:  # noqa: BLE001 - a wrong shape from the student
            parts.append(f"{name} not comparable")
            continue
        parts.append(f"{name} rel. error {err:.1e} {'ok' if err < gradcheck.LAYER_TOL else 'FAIL'}")
    return [
        f"central differences on case '{case_name}': "
        + ", ".join(parts)
        + f" (a correct answer: < {gradcheck.LAYER_TOL:g})"
    ]


@dataclass
class Exercise:
    name: str
    signature: str
    summary: str
    cases: object  # () -> list[Case]
    numeric: object = None  # student fn -> list of notes


# ---- 1. the output-size formula -------------------------------------------------------------------------


def _output_size_cases():
    rows = [
        ("AlexNet conv1, 227", (227, 11, 4, 0), ("stride > 1",)),
        ("224: the floor", (224, 11, 4, 0), ("stride > 1", "uneven coverage")),
        ("conv3: 3x3 pad 1", (13, 3, 1, 1), ("padding",)),
        ("conv2: 5x5 pad 2", (27, 5, 1, 2), ("padding",)),
        ("overlapping pool 3/2", (55, 3, 2, 0), ("stride > 1",)),
        ("odd, stride 2, pad 1", (6, 3, 2, 1), ("stride > 1", "padding", "uneven coverage")),
        ("window = input", (5, 5, 1, 0), ()),
        ("stride 3, pad 1", (11, 4, 3, 1), ("stride > 1", "padding")),
    ]
    cases = []
    for name, (n, k, s, p), tags in rows:
        exp = conv_output_size(n, k, s, p)
        alts = [
            ((n + 2 * p - k) // s, "the +1 is missing (it counts the first window)"),
            ((n - k) // s + 1, "padding ignored: the padded length is n + 2·padding"),
            ((n + p - k) // s + 1, "padding counted once: it is added on both sides, 2·padding"),
            (
                -(-(n + 2 * p - k) // s) + 1,
                "rounded up: the formula floors (a window that would overhang is dropped)",
            ),
            (n + 2 * p - k + 1, "stride ignored: divide by the stride"),
        ]
        check = Check("size", exp, integer=True)
        check.variants = [(v, m, "mistake") for v, m in alts if v != exp]
        cases.append(Case(name, (n, k, s, p), [check], tags, f"n={n}, k={k}, s={s}, p={p}"))
    return cases


# ---- 2-3. convolution, naive ----------------------------------------------------------------------------

CONV_CASES = [
    # name, (N, C, H, W), F, k, stride, padding, tags
    ("3x3, odd 7x5, stride 1", (2, 3, 7, 5), 4, 3, 1, 0, ("kernel wider than stride",)),
    ("stride 2, padding 1", (2, 2, 7, 7), 3, 3, 2, 1, ("stride > 1", "padding", "kernel wider than stride")),
    (
        "batch of 1, 5x5 kernel, padding 2",
        (1, 3, 6, 7),
        2,
        5,
        1,
        2,
        ("batch of 1", "padding", "kernel wider than stride"),
    ),
    ("2x2 stride 2: no overlap", (2, 3, 6, 5), 3, 2, 2, 0, ("stride > 1", "uneven coverage")),
    ("one filter, 3x3, stride 1", (2, 2, 6, 5), 1, 3, 1, 0, ("kernel wider than stride", "one filter")),
    (
        "stride 3, 4x4 kernel, padding 1, F = C",
        (1, 2, 11, 9),
        2,
        4,
        3,
        1,
        ("stride > 1", "padding", "batch of 1", "kernel wider than stride", "uneven coverage"),
    ),
]


def _conv_inputs(i, shape, f, k):
    rng = np.random.default_rng(100 + i)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((f, shape[1], k, k))
    b = rng.standard_normal(f)
    return x, w, b


def _conv_describe(shape, f, k, s, p):
    return f"x {'×'.join(map(str, shape))}, w {f}×{shape[1]}×{k}×{k}, stride {s}, padding {p}"


def _conv_forward_cases():
    cases = []
    for i, (name, shape, f, k, s, p, tags) in enumerate(CONV_CASES):
        x, w, b = _conv_inputs(i, shape, f, k)
        exp = conv2d_naive(x, w, b, s, p)
        n, _, h, wd = shape
        check = Check("out", exp, regions={"border": (_border_out(h, wd, k, s, p)[None, None], BORDER)})
        check.variants = [
            (
                _conv_ref(x, w[:, :, ::-1, ::-1], b, s, p),
                "a true convolution (kernel flipped): the layer is a cross-correlation, no flip",
                "mistake",
            ),
            (exp - b[None, :, None, None], "the bias is missing", "mistake"),
            (exp + b[None, :, None, None], "the bias is added twice", "mistake"),
        ]
        ho1, wo1 = output_hw(h, wd, k, 1, p)
        ho0, wo0 = output_hw(h, wd, k, s, 0)
        check.shapes = {(n, f, ho1, wo1): "the size for stride 1: is the stride applied?"}
        if p:
            check.shapes[(n, f, ho0, wo0)] = "the size without padding: pad the input by `padding` zeros"
        cases.append(Case(name, (x, w, b, s, p), [check], tags, _conv_describe(shape, f, k, s, p)))
    return cases


def _conv_backward_cases():
    cases = []
    for i, (name, shape, f, k, s, p, tags) in enumerate(CONV_CASES):
        x, w, b = _conv_inputs(i, shape, f, k)
        n, c, h, wd = shape
        ho, wo = output_hw(h, wd, k, s, p)
        dout = np.random.default_rng(200 + i).standard_normal((n, f, ho, wo))
        dx, dw, db = _conv_backward_ref(dout, x, w, s, p)
        regions = {
            "overlap": (_overlap_in(h, wd, k, s, p)[None, None], OVERLAP),
            "border": (_border_in(h, wd, k, s, p)[None, None], BORDER),
        }
        cdx = Check("dx", dx, regions=regions)
        cdx.shapes = {(n, c, h + 2 * p, wd + 2 * p): "the padded shape: crop the padding off dx"}
        cdx.variants = [
            (
                _conv_backward_ref(dout, x, w[:, :, ::-1, ::-1], s, p)[0],
                "equals the gradient of a flipped kernel: the forward is a cross-correlation, no flip",
                "mistake",
            )
        ]
        cdw = Check(
            "dw",
            dw,
            factors=[
                (n, f"a factor of N = {n}?"),
                (1 / n, f"divided by N = {n}: the mean is already in dout"),
            ],
        )
        cdw.shapes = {(c, f, k, k): "(C, F, kh, kw): out and in channels swapped"}
        cdb = Check(
            "db",
            db,
            factors=[
                (1 / n, f"divided by N = {n}: db sums over the batch"),
                (1 / (n * ho * wo), "averaged over batch and positions: db sums"),
            ],
        )
        cdb.shapes = {
            (n, f): "summed over (H, W) only: sum over the batch too",
            (f, ho, wo): "summed over the batch only: sum over (H, W) too",
        }
        cases.append(
            Case(name, (dout, x, w, b, s, p), [cdx, cdw, cdb], tags, _conv_describe(shape, f, k, s, p))
        )
    return cases


def _conv_numeric(fn):
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    s, p = 2, 1
    dout = rng.standard_normal((1, 2, 3, 3))
    got = fn(dout, x.copy(), w.copy(), b.copy(), s, p)
    num = [gradcheck.numerical_gradient(lambda: _conv_ref(x, w, b, s, p), t, dout) for t in (x, w, b)]
    return _numeric_note("2×5×5, 3×3, stride 2, padding 1", zip(("dx", "dw", "db"), got, num))


# ---- 4-5. im2col / col2im ---------------------------------------------------------------------------

IM2COL_CASES = [
    ("3x3, odd 5x7, stride 1", (2, 3, 5, 7), 3, 1, 0, ("kernel wider than stride",)),
    (
        "stride 2, padding 1",
        (2, 2, 7, 6),
        3,
        2,
        1,
        ("stride > 1", "padding", "kernel wider than stride"),
    ),
    ("2x2 stride 2, no overlap", (2, 2, 5, 4), 2, 2, 0, ("stride > 1", "uneven coverage")),
    (
        "batch of 1, 5x5, padding 2",
        (1, 3, 6, 5),
        5,
        1,
        2,
        ("batch of 1", "padding", "kernel wider than stride"),
    ),
]


def _im2col_cases():
    cases = []
    for i, (name, shape, k, s, p, tags) in enumerate(IM2COL_CASES):
        x = np.random.default_rng(300 + i).standard_normal(shape)
        n, c, h, w = shape
        ho, wo = output_hw(h, w, k, s, p)
        exp = ref.im2col(x, k, s, p)
        border = np.repeat(_border_out(h, w, k, s, p).reshape(1, -1), n, axis=0).reshape(-1, 1)
        check = Check(
            "cols",
            exp,
            regions={
                "border": (border, "in the rows of windows that reach into the padding: is padding handled?")
            },
        )
        ijc = exp.reshape(-1, c, k, k).transpose(0, 2, 3, 1).reshape(exp.shape)
        check.variants = [
            (
                ijc,
                "columns in (i, j, c) order: the layout is (c, i, j), the order of weight.reshape(F, -1)",
                "mistake",
            )
        ]
        check.shapes = {exp.shape[::-1]: "the transpose: one row per output pixel, (N·H_out·W_out, C·kh·kw)"}
        cases.append(
            Case(
                name,
                (x, k, s, p),
                [check],
                tags,
                f"x {'×'.join(map(str, shape))}, k {k}, stride {s}, padding {p}",
            )
        )
    return cases


def _col2im_cases():
    cases = []
    for i, (name, shape, k, s, p, tags) in enumerate(IM2COL_CASES):
        n, c, h, w = shape
        ho, wo = output_hw(h, w, k, s, p)
        cols = np.random.default_rng(400 + i).standard_normal((n * ho * wo, c * k * k))
        exp = ref.col2im(cols, shape, k, s, p)
        regions = {
            "overlap": (_overlap_in(h, w, k, s, p)[None, None], OVERLAP),
            "border": (_border_in(h, w, k, s, p)[None, None], BORDER),
        }
        check = Check("dx", exp, regions=regions)
        check.shapes = {(n, c, h + 2 * p, w + 2 * p): "the padded shape: crop the padding off"}
        cases.append(
            Case(
                name,
                (cols, shape, k, s, p),
                [check],
                tags,
                f"x {'×'.join(map(str, shape))}, k {k}, stride {s}, padding {p}",
            )
        )
    return cases


# ---- 6-7. max pooling -------------------------------------------------------------------------------

POOL_CASES = [
    ("2x2/2, odd 7x5", (2, 2, 7, 5), 2, 2, ("stride > 1", "uneven coverage")),
    ("3x3/2 overlapping (AlexNet)", (2, 3, 9, 7), 3, 2, ("stride > 1", "overlapping windows")),
    ("batch of 1, 3x3/1", (1, 2, 5, 6), 3, 1, ("batch of 1", "overlapping windows")),
    ("ties, 3x3/2", (1, 2, 7, 7), 3, 2, ("stride > 1", "overlapping windows", "ties", "batch of 1")),
]


def _pool_input(i, shape, ties):
    rng = np.random.default_rng(500 + i)
    if ties:
        return rng.integers(0, 3, size=shape).astype(np.float64)  # many equal maxima
    return gradcheck.kink_free_input(shape, rng, scale=2.0)


def _last_argmax(x, k, s):
    n, c, h, w = x.shape
    ho, wo = output_hw(h, w, k, s)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    flat = win.reshape(n, c, ho, wo, k * k)
    return k * k - 1 - flat[..., ::-1].argmax(axis=-1), flat


def _pool_all_maxima(dout, x, k, s):
    _, flat = _last_argmax(x, k, s)
    ismax = flat == flat.max(axis=-1, keepdims=True)
    n, c, ho, wo, _ = flat.shape
    dx = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + s * ho : s, j : j + s * wo : s] += np.where(ismax[..., i * k + j], dout, 0)
    return dx


def _tied_windows_in(x, k, s):
    _, flat = _last_argmax(x, k, s)
    tied = ((flat == flat.max(axis=-1, keepdims=True)).sum(axis=-1) > 1).any(axis=(0, 1))
    return _coverage(x.shape[2], x.shape[3], k, s, 0, tied) > 0


def _pool_describe(shape, k, s):
    return f"x {'×'.join(map(str, shape))}, kernel {k}, stride {s}"


def _maxpool_forward_cases():
    cases = []
    for i, (name, shape, k, s, tags) in enumerate(POOL_CASES):
        x = _pool_input(i, shape, "ties" in tags)
        exp, _ = ref.maxpool_forward(x, k, s)
        n, c, h, w = shape
        mean = ref.im2col(x, k, s).reshape(-1, c, k * k).mean(axis=-1).reshape(n, *exp.shape[2:], c)
        check = Check("out", exp)
        check.variants = [
            (mean.transpose(0, 3, 1, 2), "the windows' means: max pooling takes the maximum", "mistake")
        ]
        check.shapes = {
            (
                n,
                c,
                *output_hw(h, w, k, k),
            ): "the size for stride = kernel: the windows overlap, apply the stride"
        }
        if s != 1:
            check.shapes[(n, c, *output_hw(h, w, k, 1))] = "the size for stride 1: apply the stride"
        cases.append(Case(name, (x, k, s), [check], tags, _pool_describe(shape, k, s)))
    return cases


def _maxpool_backward_cases():
    cases = []
    for i, (name, shape, k, s, tags) in enumerate(POOL_CASES):
        x = _pool_input(i, shape, "ties" in tags)
        out, argmax = ref.maxpool_forward(x, k, s)
        dout = np.random.default_rng(600 + i).standard_normal(out.shape)
        exp = ref.maxpool_backward(dout, argmax, shape, k, s)
        h, w = shape[2:]
        regions = {"overlap": (_overlap_in(h, w, k, s, 0)[None, None], OVERLAP)}
        check = Check("dx", exp, regions=regions)
        if "ties" in tags:
            last, _ = _last_argmax(x, k, s)
            check.variants = [
                (
                    ref.maxpool_backward(dout, last, shape, k, s),
                    "tie convention (ties routed to the last maximum; the library and PyTorch take the first)",
                    "convention",
                ),
                (
                    _pool_all_maxima(dout, x, k, s),
                    "every tied maximum receives the gradient: route it to exactly one (the first)",
                    "mistake",
                ),
            ]
            regions["ties"] = (
                _tied_windows_in(x, k, s)[None, None],
                "in windows with tied maxima: route the gradient to exactly one maximum",
            )
        avg = ref.col2im(
            np.repeat(dout.transpose(0, 2, 3, 1).reshape(-1, shape[1]), k * k, axis=1) / (k * k), shape, k, s
        )
        check.variants.append(
            (
                avg,
                "spread evenly over each window: that is average pooling's gradient; route it to the maximum",
                "mistake",
            )
        )
        cases.append(Case(name, (dout, x, k, s), [check], tags, _pool_describe(shape, k, s)))
    return cases


def _maxpool_numeric(fn):
    rng = np.random.default_rng(8)
    x = gradcheck.kink_free_input((1, 2, 7, 7), rng, scale=2.0)
    dout = rng.standard_normal((1, 2, 3, 3))
    got = fn(dout, x.copy(), 3, 2)
    num = gradcheck.numerical_gradient(lambda: ref.maxpool_forward(x, 3, 2)[0], x, dout)
    return _numeric_note("1×2×7×7, 3×3/2", [("dx", got, num)])


# ---- 8-9. local response normalisation -------------------------------------------------------------

LRN_CASES = [
    ("7 channels, size 5", (2, 7, 3, 2), 5, 0.1, 0.75, 2.0, ()),
    ("even size 4, batch of 1", (1, 6, 2, 3), 4, 0.2, 0.6, 1.0, ("even size", "batch of 1")),
    ("3 channels, size 5", (1, 3, 2, 2), 5, 0.3, 0.75, 1.0, ("window wider than the channels", "batch of 1")),
]


def _lrn_edges(c, size):
    ch = np.arange(c)
    edge = (ch < size // 2) | (ch > c - 1 - (size - 1) // 2)
    return edge[None, :, None, None]


EDGES = "in the first/last channels, where the channel window is clipped: clip it to [0, C)"


def _lrn_describe(shape, size, alpha, beta, k):
    return f"x {'×'.join(map(str, shape))}, size {size}, alpha {alpha}, beta {beta}, k {k}"


def _lrn_forward_cases():
    cases = []
    for i, (name, shape, size, alpha, beta, k, tags) in enumerate(LRN_CASES):
        x = 1.5 * np.random.default_rng(700 + i).standard_normal(shape)
        exp, _ = ref.lrn_forward(x, size, alpha, beta, k)
        check = Check("out", exp, regions={"edges": (_lrn_edges(shape[1], size), EDGES)})
        check.variants = [
            (
                ref.lrn_forward(x, size, alpha / size, beta, k)[0],
                "alpha divided by size (PyTorch/Caffe's form): the paper's form uses alpha as given",
                "mistake",
            ),
            (
                x / (k + alpha * x * x) ** beta,
                "the sum over neighbouring channels is missing: only x[c]² in the denominator",
                "mistake",
            ),
        ]
        cases.append(
            Case(name, (x, size, alpha, beta, k), [check], tags, _lrn_describe(shape, size, alpha, beta, k))
        )
    return cases


def _lrn_backward_parts(dout, x, size, alpha, beta, k):
    _, scale = ref.lrn_forward(x, size, alpha, beta, k)
    direct = dout * scale ** (-beta)
    cross = direct - ref.lrn_backward(dout, x, scale, size, alpha, beta)  # the cross-channel term, subtracted
    self_only = 2 * alpha * beta * x * x * dout * scale ** (-beta - 1)
    return direct, cross, self_only


def _lrn_backward_cases():
    cases = []
    for i, (name, shape, size, alpha, beta, k, tags) in enumerate(LRN_CASES):
        rng = np.random.default_rng(800 + i)
        x, dout = 1.5 * rng.standard_normal(shape), rng.standard_normal(shape)
        direct, cross, self_only = _lrn_backward_parts(dout, x, size, alpha, beta, k)
        exp = direct - cross
        check = Check("dx", exp, regions={"edges": (_lrn_edges(shape[1], size), EDGES)})
        check.variants = [
            (
                direct,
                "LRN: the cross-channel term is missing (only dout·scale^−β): "
                "x[j] is also in the denominators of its neighbours",
                "mistake",
            ),
            (
                direct - self_only,
                "the cross-channel term uses channel j alone: sum over every channel c whose window contains j",
                "mistake",
            ),
            (direct + cross, "the cross-channel term has the wrong sign: it is subtracted", "mistake"),
            (
                direct - cross / 2,
                "the cross-channel term is half what it should be: d(x²)/dx = 2x",
                "mistake",
            ),
        ]
        cases.append(
            Case(
                name,
                (dout, x, size, alpha, beta, k),
                [check],
                tags,
                _lrn_describe(shape, size, alpha, beta, k),
            )
        )
    return cases


def _lrn_numeric(fn):
    rng = np.random.default_rng(9)
    x, dout = 1.5 * rng.standard_normal((1, 5, 2, 2)), rng.standard_normal((1, 5, 2, 2))
    got = fn(dout, x.copy(), 3, 0.2, 0.75, 1.0)
    num = gradcheck.numerical_gradient(lambda: ref.lrn_forward(x, 3, 0.2, 0.75, 1.0)[0], x, dout)
    return _numeric_note("1×5×2×2, size 3", [("dx", got, num)])


# ---- 10. softmax + cross-entropy ----------------------------------------------------------------------

SOFTMAX_CASES = [
    ("4 samples, 5 classes", (4, 5), 1.0, ()),
    ("batch of 1", (1, 3), 1.0, ("batch of 1",)),
    ("large logits (±1000)", (3, 6), 1000.0, ("large logits",)),
]


def _softmax_cases():
    cases = []
    for i, (name, shape, scale, tags) in enumerate(SOFTMAX_CASES):
        rng = np.random.default_rng(900 + i)
        logits = scale * rng.standard_normal(shape)
        labels = rng.integers(0, shape[1], size=shape[0])
        lf = CrossEntropyLoss()
        loss = lf.forward(logits, labels)
        dlogits = lf.backward()
        n = shape[0]
        onehot = np.zeros(shape, dtype=bool)
        onehot[np.arange(n), labels] = True
        f_loss = [
            (n, f"summed over the batch: the loss is the mean over N = {n}"),
            (1 / n, f"divided by N = {n} twice?"),
        ]
        closs = Check("loss", np.float64(loss), factors=f_loss)
        cd = Check(
            "dlogits",
            dlogits,
            regions={"labels": (onehot, "at the labels' positions: subtract the one-hot (1 at each label)")},
            factors=[
                (n, f"not divided by N = {n}: the loss is a mean"),
                (1 / n, f"divided by N = {n} twice: averaged twice?"),
            ],
        )
        cd.variants = [
            (
                softmax(logits) / n,
                "the one-hot is not subtracted: dlogits = (softmax − onehot) / N",
                "mistake",
            )
        ]
        cd.shapes = {(shape[1], n): "the transpose: one row per sample"}
        cases.append(
            Case(name, (logits, labels), [closs, cd], tags, f"logits {shape[0]}×{shape[1]}, scale {scale:g}")
        )
    return cases


def _softmax_numeric(fn):
    rng = np.random.default_rng(10)
    logits, labels = rng.standard_normal((3, 4)), rng.integers(0, 4, size=3)
    _, got = fn(logits.copy(), labels)
    num = gradcheck.numerical_gradient(lambda: np.asarray(fn(logits, labels)[0]), logits, 1.0)
    return _numeric_note("3×4, your own loss", [("dlogits", got, num)])


# ---- 11. dropout, both conventions -----------------------------------------------------------------


def _dropout_factors(p, convention, train):
    keep = 1 - p
    if convention == "pytorch" and train:
        return [
            (keep, "not rescaled: inverted dropout divides the kept values by 1 − p in training"),
            (keep / p, "divided by p: the scale is 1/(1 − p), p is the drop probability"),
        ]
    if convention == "pytorch":
        return [(keep, "scaled at test time: inverted dropout is the identity at test time")]
    if train:
        return [
            (
                1 / keep,
                "rescaled in training: the paper's convention keeps the values and scales at test time",
            )
        ]
    return [
        (1 / keep, "not scaled at test time: the paper's convention multiplies by 1 − p at test time"),
        (p / keep, "multiplied by p: the test-time scale is 1 − p"),
    ]


DROPOUT_CASES = [
    ("pytorch, training, p = 0.25", 0.25, "pytorch", True),
    ("pytorch, training, p = 0.5", 0.5, "pytorch", True),
    ("pytorch, eval", 0.25, "pytorch", False),
    ("paper, training, p = 0.25", 0.25, "paper", True),
    ("paper, eval, p = 0.25", 0.25, "paper", False),
]


def _dropout_scale(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


def _dropout_forward_cases():
    cases = []
    for i, (name, p, conv, train) in enumerate(DROPOUT_CASES):
        rng = np.random.default_rng(1000 + i)
        x = gradcheck.kink_free_input((4, 6), rng)
        mask = rng.random((4, 6)) >= p
        exp = x * mask * _dropout_scale(p, conv, train) if train else x * _dropout_scale(p, conv, train)
        check = Check("out", exp, factors=_dropout_factors(p, conv, train))
        if train:
            check.regions = {"dropped": (~mask, "where the mask drops: mask is the keep-mask (True = keep)")}
            check.variants = [
                (
                    x * ~mask * _dropout_scale(p, conv, train),
                    "the mask is inverted: True means keep",
                    "mistake",
                )
            ]
        else:
            check.variants = [
                (
                    x * mask * _dropout_scale(p, conv, True),
                    "a mask applied at test time: dropout drops only in training",
                    "mistake",
                )
            ]
        tags = (conv, "training mode" if train else "eval mode")
        cases.append(
            Case(
                name,
                (x, mask, p, conv, train),
                [check],
                tags,
                f"x 4×6, p {p}, convention {conv!r}, train={train}",
            )
        )
    return cases


def _dropout_backward_cases():
    cases = []
    for i, (name, p, conv, _train) in enumerate(c for c in DROPOUT_CASES if c[3]):
        rng = np.random.default_rng(1100 + i)
        dout = rng.standard_normal((4, 6))
        mask = rng.random((4, 6)) >= p
        exp = dout * mask * _dropout_scale(p, conv, True)
        check = Check("dx", exp, factors=_dropout_factors(p, conv, True))
        check.regions = {"dropped": (~mask, "where the mask drops: mask is the keep-mask (True = keep)")}
        check.variants = [
            (
                dout * _dropout_scale(p, conv, True),
                "the mask is not applied: dropped elements get no gradient",
                "mistake",
            )
        ]
        cases.append(
            Case(name, (dout, mask, p, conv), [check], (conv,), f"dout 4×6, p {p}, convention {conv!r}")
        )
    return cases


# ---- 12. SGD with momentum, the paper's form -----------------------------------------------------------

SGD_CASES = [
    ("the paper's values", 0.9, 5e-4, 0.01, ("weight decay",)),
    ("large decay and rate", 0.5, 0.1, 0.2, ("weight decay",)),
    ("no weight decay", 0.9, 0.0, 0.05, ()),
]


def _sgd_cases():
    cases = []
    for i, (name, mu, wd, lr, tags) in enumerate(SGD_CASES):
        rng = np.random.default_rng(1200 + i)
        w, v, g = rng.standard_normal((3, 4)), 0.1 * rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        w1, v1 = w.copy(), v.copy()
        ref.sgd_paper_update(w1, v1, g, mu, wd, lr)
        vt = mu * v + g + wd * w
        alts = [
            (
                (w - lr * vt, vt),
                "PyTorch's form (v ← μv + g + λw, w ← w − ε·v): the paper's is v ← μv − λεw − εg, w ← w + v",
            ),
            ((w + mu * v - lr * g, mu * v - lr * g), "the weight decay term is missing: − λ·ε·w"),
            (
                (w + mu * v - wd * w - lr * g, mu * v - wd * w - lr * g),
                "the weight decay is not multiplied by the learning rate: − λ·ε·w",
            ),
            ((w + v, v1), "w moved by the old v: update v first, then w ← w + v"),
            (
                (w + mu * v - wd * lr * w + lr * g, mu * v - wd * lr * w + lr * g),
                "moves up the gradient: − ε·g",
            ),
        ]
        checks = [Check("w", w1), Check("v", v1)]
        for (aw, av), message in alts:
            if not np.allclose(aw, w1, rtol=0, atol=1e-9):
                checks[0].variants.append((aw, message, "mistake"))
            if not np.allclose(av, v1, rtol=0, atol=1e-9):
                checks[1].variants.append((av, message, "mistake"))
        checks[0].variants.append(
            (w, "w is unchanged: update it in place (w += ...) or return (w, v)", "mistake")
        )
        checks[1].variants.append(
            (v, "v is unchanged: update it in place (v *= ...) or return (w, v)", "mistake")
        )
        cases.append(
            Case(
                name,
                (w, v, g, mu, wd, lr),
                checks,
                tags,
                f"momentum {mu}, weight decay {wd}, lr {lr}",
                in_place=(0, 1),
            )
        )
    return cases


# ---- the registry ----------------------------------------------------------------------------------------

EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "output_size",
            "output_size(n, kernel_size, stride, padding) -> int",
            "the output-size formula",
            _output_size_cases,
        ),
        Exercise(
            "conv_forward",
            "conv_forward(x, w, b, stride, padding) -> out",
            "naive convolution (cross-correlation)",
            _conv_forward_cases,
        ),
        Exercise(
            "conv_backward",
            "conv_backward(dout, x, w, b, stride, padding) -> (dx, dw, db)",
            "naive convolution backward",
            _conv_backward_cases,
            _conv_numeric,
        ),
        Exercise(
            "im2col",
            "im2col(x, kernel_size, stride, padding) -> cols (N·H_out·W_out, C·k·k), columns (c, i, j)",
            "windows to rows",
            _im2col_cases,
        ),
        Exercise(
            "col2im",
            "col2im(cols, x_shape, kernel_size, stride, padding) -> dx",
            "the adjoint of im2col (sums overlaps)",
            _col2im_cases,
        ),
        Exercise(
            "maxpool_forward",
            "maxpool_forward(x, kernel_size, stride) -> out",
            "max pooling",
            _maxpool_forward_cases,
        ),
        Exercise(
            "maxpool_backward",
            "maxpool_backward(dout, x, kernel_size, stride) -> dx",
            "max pooling backward (ties: first maximum)",
            _maxpool_backward_cases,
            _maxpool_numeric,
        ),
        Exercise(
            "lrn_forward",
            "lrn_forward(x, size, alpha, beta, k) -> out",
            "local response normalisation, the paper's form",
            _lrn_forward_cases,
        ),
        Exercise(
            "lrn_backward",
            "lrn_backward(dout, x, size, alpha, beta, k) -> dx",
            "LRN backward: both terms",
            _lrn_backward_cases,
            _lrn_numeric,
        ),
        Exercise(
            "softmax_cross_entropy",
            "softmax_cross_entropy(logits, labels) -> (loss, dlogits)",
            "mean softmax cross-entropy and its gradient",
            _softmax_cases,
            _softmax_numeric,
        ),
        Exercise(
            "dropout_forward",
            "dropout_forward(x, mask, p, convention, train) -> out (mask: True = keep)",
            "dropout, 'pytorch' and 'paper'",
            _dropout_forward_cases,
        ),
        Exercise(
            "dropout_backward",
            "dropout_backward(dout, mask, p, convention) -> dx (training mode)",
            "dropout backward, both conventions",
            _dropout_backward_cases,
        ),
        Exercise(
            "sgd_momentum_paper",
            "sgd_momentum_paper(w, v, g, momentum, weight_decay, lr): w, v in place (or return (w, v))",
            "the paper's momentum update",
            _sgd_cases,
        ),
    ]
}

from .more_layers import exercises as _more_exercises  # noqa: E402 - it uses Exercise, defined above

EXERCISES.update(_more_exercises())
