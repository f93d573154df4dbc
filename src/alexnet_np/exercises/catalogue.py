"""The exercises: what each student function takes and returns, its cases, and what each case knows.

Every expected value comes from the library (``alexnet_np.ops.reference``, ``ops.naive``, ``shapes``, ``layers``)
in float64. Inputs are away from kinks and pool ties (:func:`alexnet_np.gradcheck.kink_free_input`) except in
the cases about ties.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .. import gradcheck
from ..layers import CrossEntropyLoss, softmax
from ..ops import reference as ref
from ..ops.naive import conv2d_naive
from ..shapes import conv_output_size, output_hw
from .grader import Case, Check, case_rng, settings_ignored

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
OVERLAP = "where windows overlap: are you assigning (=) instead of accumulating (+=)?"
FORWARD_HINTS = {  # a forward pass accumulates nothing: these tags point at where windows start and end
    "overlapping windows": "the windows overlap (stride < kernel): each starts at y·stride and holds k rows",
    "kernel wider than stride": "the windows overlap: each starts at y·stride and holds k rows and columns",
}


def _numeric_note(case_name, pairs):
    """The older form of a numeric check: ``(name, got, numerical)`` pairs to one note (see ``grade_cases``)."""
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


def _numeric_case(name, args, pairs, describe=""):
    """A case whose expected values are central differences of the library's forward (checked to LAYER_TOL)."""
    checks = [Check(n, num, tol=gradcheck.LAYER_TOL) for n, num in pairs]
    return Case(
        f"central differences, {name}", args, checks, ("central differences",), describe, numeric=True
    )


@dataclass
class Exercise:
    name: str
    signature: str
    summary: str
    cases: object  # () -> list[Case]
    numeric: object = None  # () -> list[Case] checked against central differences
    hints: dict = field(default_factory=dict)  # tag -> hint, replacing the grader's default for this exercise
    allowed: tuple = ("alexnet_np.shapes",)  # library modules the student may call


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
        ("a fraction .75: 10, 3, stride 4", (10, 3, 4, 0), ("stride > 1", "uneven coverage")),
        ("a .5 with an odd whole part: 9, 2, stride 2", (9, 2, 2, 0), ("stride > 1", "uneven coverage")),
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
            (n + 2 * p - k // s + 1, "operator precedence: only k is divided; write (n + 2p − k) // s + 1"),
            (
                max(0, (n + 2 * p - k - 1) // s + 1),
                "the last window that fits exactly is not counted: a window fits while start + k ≤ n + 2p",
            ),
            (
                (n - k) // s + 1 + 2 * p,
                "the padding is added to the output size: it belongs to the input, n + 2p",
            ),
            (
                (n - k) // s + 1 + p,
                "the padding is added to the output size: it belongs to the input, n + 2p",
            ),
            ((n + 2 * p - k) // k + 1, "divided by the kernel size: divide by the stride"),
            (
                round((n + 2 * p - k) / s) + 1,
                "rounded to the nearest (round()): the formula floors, (n + 2p − k) // s + 1",
            ),
            (round((n + 2 * p - k) / s + 1), "rounded to the nearest (round()): the formula floors, use //"),
            ((n + 2 * p - k) // s - 1, "1 subtracted instead of added: + 1 counts the first window"),
            ((n - 2 * p - k) // s + 1, "padding subtracted: the padded length is n + 2·padding"),
            ((n + 2 * p - k + 1) // s + 1, "an extra + 1 inside the division: (n + 2p − k) // s + 1"),
            ((n + 2 * p) // s + 1, "the kernel size is not subtracted: (n + 2p − k) // s + 1"),
            ((n + 2 * p - k) // s + 2, "one too many: (n + 2p − k) // s + 1"),
        ]
        check = Check("size", exp, integer=True)
        check.variants = [(v, m, "mistake") for v, m in alts]  # those equal to exp count as agreeing
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
    rng = case_rng(100 + i)
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
        check.batch = n
        check.variants = [
            (
                _conv_ref(x, w[:, :, ::-1, ::-1], b, s, p),
                "a true convolution (kernel flipped): the layer is a cross-correlation, no flip",
                "mistake",
            ),
            (exp - b[None, :, None, None], "the bias is missing", "mistake"),
            (exp + b[None, :, None, None], "the bias is added twice", "mistake"),
            (
                exp - b[None, :, None, None] + b[0],
                "every filter gets the bias of filter 0: add b[f] to output channel f",
                "mistake",
            ),
            (
                _conv_ref(x, w.transpose(0, 1, 3, 2), b, s, p),
                "the kernel's rows and columns swapped: w[f, c, i, j] multiplies x[n, c, y·s + i, x·s + j]",
                "mistake",
            ),
            (
                _conv_ref(x[:, :1], w[:, :1], b, s, p),
                "only input channel 0 is used: sum over every input channel c",
                "mistake",
            ),
            (
                _conv_ref(x[:, -1:], w[:, -1:], b, s, p),
                "only the last input channel is used: sum over every input channel c (is the sum overwritten?)",
                "mistake",
            ),
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
        dout = case_rng(200 + i).standard_normal((n, f, ho, wo))
        dx, dw, db = _conv_backward_ref(dout, x, w, s, p)
        regions = {
            "overlap": (_overlap_in(h, wd, k, s, p)[None, None], OVERLAP),
            "border": (_border_in(h, wd, k, s, p)[None, None], BORDER),
        }
        cdx = Check("dx", dx, regions=regions)
        cdx.shapes = {(n, c, h + 2 * p, wd + 2 * p): "the padded shape: crop the padding off dx"}
        cdx.variants = [
            (
                _conv_backward_ref(dout, x, w.transpose(0, 1, 3, 2), s, p)[0],
                "the kernel's rows and columns swapped: dx[.., y·s + i, x·s + j] += dout · w[f, c, i, j]",
                "mistake",
            ),
            (
                _conv_backward_ref(dout, x, w[:, :, ::-1, ::-1], s, p)[0],
                "equals the gradient of a flipped kernel: the forward is a cross-correlation, no flip",
                "mistake",
            ),
        ]
        per_image = [_conv_backward_ref(dout[i : i + 1], x[i : i + 1], w, s, p)[1] for i in range(n)]
        cdx_batch = n
        cdw = Check(
            "dw",
            dw,
            factors=[
                (n, f"a factor of N = {n}?"),
                (1 / n, f"divided by N = {n}: the mean is already in dout"),
            ],
        )
        cdw.shapes = {(c, f, k, k): "(C, F, kh, kw): out and in channels swapped"}
        if n > 1:
            cdw.variants = [
                (
                    per_image[-1],
                    "dw holds only the last image's contribution: it is reset (or assigned) for each sample; "
                    "accumulate over the whole batch",
                    "mistake",
                ),
                (per_image[0], "dw holds only image 0's contribution: sum over every image n", "mistake"),
                (
                    _conv_backward_ref(dout, np.repeat(x[:1], n, axis=0), w, s, p)[1],
                    "dw uses image 0's windows for every n: x[n], not x[0]",
                    "mistake",
                ),
            ]
        cdw.variants.append(
            (
                dw.transpose(0, 1, 3, 2),
                "transposed (kernel rows and columns swapped): dw[f, c, i, j] += dout · x[n, c, y·s + i, x·s + j]",
                "mistake",
            )
        )
        cdw.variants.append(
            (
                _conv_backward_ref(dout, x, w[:, :, ::-1, ::-1], s, p)[1][:, :, ::-1, ::-1],
                "equals the gradient for a flipped kernel: the forward is a cross-correlation, no flip",
                "mistake",
            )
        )
        cdx.batch = cdx_batch
        cdb = Check(
            "db",
            db,
            factors=[
                (1 / n, f"divided by N = {n}: db sums over the batch"),
                (1 / (n * ho * wo), "averaged over batch and positions: db sums"),
            ],
        )
        if n > 1:
            cdb.variants = [
                (
                    dout[0].sum(axis=(1, 2)),
                    "db holds only image 0's gradient: sum over the batch too",
                    "mistake",
                ),
                (
                    dout[-1].sum(axis=(1, 2)),
                    "db holds only the last image's gradient: sum over the batch",
                    "mistake",
                ),
            ]
        cdb.shapes = {
            (n, f): "summed over (H, W) only: sum over the batch too",
            (f, ho, wo): "summed over the batch only: sum over (H, W) too",
        }
        cases.append(
            Case(name, (dout, x, w, b, s, p), [cdx, cdw, cdb], tags, _conv_describe(shape, f, k, s, p))
        )
    return cases


def _conv_numeric():
    rng = case_rng(7)
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    s, p = 2, 1
    dout = rng.standard_normal((2, 3, 3, 3))
    num = [gradcheck.numerical_gradient(lambda: _conv_ref(x, w, b, s, p), t, dout) for t in (x, w, b)]
    args = (dout, x, w, b, s, p)
    return [_numeric_case("2×2×5×6, 3×3, stride 2, padding 1", args, zip(("dx", "dw", "db"), num))]


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
    ("2x2 stride 2, no overlap", (2, 2, 5, 7), 2, 2, 0, ("stride > 1", "uneven coverage")),
    (
        "batch of 1, 5x5, padding 2",
        (1, 3, 6, 5),
        5,
        1,
        2,
        ("batch of 1", "padding", "kernel wider than stride"),
    ),
]


def _windows_straight(x, k, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c = x.shape[:2]
    ho, wo = output_hw(x.shape[2], x.shape[3], k, s, p)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    return np.ascontiguousarray(win).reshape(n * ho * wo, c * k * k)


def _im2col_cases():
    cases = []
    for i, (name, shape, k, s, p, tags) in enumerate(IM2COL_CASES):
        x = case_rng(300 + i).standard_normal(shape)
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
        check.batch = n
        ijc = exp.reshape(-1, c, k, k).transpose(0, 2, 3, 1).reshape(exp.shape)
        check.variants = [
            (
                ijc,
                "columns in (i, j, c) order: the layout is (c, i, j), the order of weight.reshape(F, -1)",
                "mistake",
            ),
            (
                exp.reshape(-1, c, k, k).transpose(0, 1, 3, 2).reshape(exp.shape),
                "columns in (c, j, i) order: within a channel, the window's rows come first (c, i, j)",
                "mistake",
            ),
            (
                exp.reshape(n, ho, wo, -1).transpose(0, 2, 1, 3).reshape(exp.shape),
                "rows in (n, x, y) order: one row per output pixel in (n, y, x) order, x fastest",
                "mistake",
            ),
            (
                exp.reshape(n, ho * wo, -1).transpose(1, 0, 2).reshape(exp.shape),
                "rows in (y, x, n) order: image n's rows are n·H_out·W_out ... (n + 1)·H_out·W_out − 1",
                "mistake",
            ),
            (
                _windows_straight(x, k, s, p),
                "the (N, C, H_out, W_out, k, k) windows reshaped without moving C next to (k, k): transpose to "
                "(N, H_out, W_out, C, k, k) first",
                "mistake",
            ),
        ]
        check.shapes = {exp.shape[::-1]: "the transpose: one row per output pixel, (N·H_out·W_out, C·kh·kw)"}
        if p:
            ho0, wo0 = output_hw(h, w, k, s, 0)
            check.shapes[(n * ho0 * wo0, c * k * k)] = (
                "the rows of the unpadded input: pad x by `padding` zeros"
            )
        if s != 1:
            ho1, wo1 = output_hw(h, w, k, 1, p)
            check.shapes[(n * ho1 * wo1, c * k * k)] = "the rows for stride 1: apply the stride"
        hoc, woc = output_hw(h, w, k, s, p, ceil_mode=True)
        if (hoc, woc) != (ho, wo):
            check.shapes.setdefault(
                (n * hoc * woc, c * k * k),
                "a last, partial window kept (the size rounded up): the output size floors, "
                "(H + 2·padding − k) // stride + 1, and a window that would run past the padding is dropped",
            )
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
        cols = case_rng(400 + i).standard_normal((n * ho * wo, c * k * k))
        exp = ref.col2im(cols, shape, k, s, p)
        regions = {
            "overlap": (_overlap_in(h, w, k, s, p)[None, None], OVERLAP),
            "border": (_border_in(h, w, k, s, p)[None, None], BORDER),
        }
        check = Check("dx", exp, regions=regions, batch=n)
        check.shapes = {(n, c, h + 2 * p, w + 2 * p): "the padded shape: crop the padding off"}
        kkc = cols.reshape(-1, k, k, c).transpose(0, 3, 1, 2).reshape(cols.shape)
        cji = cols.reshape(-1, c, k, k).transpose(0, 2, 1, 3).reshape(cols.shape)
        check.variants = [
            (
                ref.col2im(kkc, shape, k, s, p),
                "each row of cols read as a (k, k, C) block: it is laid out (C, k, k), like im2col's columns",
                "mistake",
            ),
            (
                ref.col2im(
                    cols.reshape(-1, c, k, k).transpose(0, 1, 3, 2).reshape(cols.shape), shape, k, s, p
                ),
                "each block transposed (rows and columns of the window swapped): a row of cols is (c, i, j)",
                "mistake",
            ),
            (
                ref.col2im(cji, shape, k, s, p),
                "a row of cols read with C and the window's rows swapped: it is (c, i, j)",
                "mistake",
            ),
            (
                ref.col2im(
                    cols.reshape(ho * wo, n, -1).transpose(1, 0, 2).reshape(cols.shape), shape, k, s, p
                ),
                "the rows read in (y, x, n) order: image n's rows are n·H_out·W_out ... (n + 1)·H_out·W_out − 1",
                "mistake",
            ),
        ]
        coverage = _coverage(h, w, k, s, p)
        if (coverage > 1).any():
            check.variants.append(
                (
                    exp / np.maximum(coverage, 1),
                    "divided by how many windows cover each pixel: col2im sums the overlaps (it is the adjoint "
                    "of im2col, not its inverse)",
                    "mistake",
                )
            )
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
    ("every value negative, 2x2/2", (2, 2, 4, 6), 2, 2, ("stride > 1", "every value negative")),
]


def _pool_input(i, shape, tags):
    rng = case_rng(500 + i)
    if "ties" in tags:
        return rng.integers(0, 3, size=shape).astype(np.float64)  # many equal maxima
    x = gradcheck.kink_free_input(shape, rng, scale=2.0)
    if "every value negative" in tags:  # a pool with no ReLU before it: shifted down, gaps and order kept
        x -= x.max() + 1.0
    return x


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


def _column_major_argmax(x, k, s):
    """Row-major flat indices of the first and of the last maximum of each window, scanning column by column."""
    _, flat = _last_argmax(x, k, s)
    cm = flat.reshape(*flat.shape[:-1], k, k).swapaxes(-1, -2).reshape(flat.shape)  # column-major order
    first = cm.argmax(axis=-1)
    last = k * k - 1 - cm[..., ::-1].argmax(axis=-1)
    to_row_major = lambda a: (a % k) * k + a // k  # noqa: E731 - position j·k + i in column-major is (i, j)
    return to_row_major(first), to_row_major(last)


def _route(dout, rows, cols, shape, k, s):
    """dx with dout[n, c, y, z] added at (y·s + rows, z·s + cols), dropped where that falls outside."""
    dx = np.zeros(shape)
    n, c, ho, wo = dout.shape
    for idx in np.ndindex(n, c, ho, wo):
        i, ch, y, z = idx
        yy, zz = y * s + rows[idx], z * s + cols[idx]
        if yy < shape[2] and zz < shape[3]:
            dx[i, ch, yy, zz] += dout[idx]
    return dx


def _pool_block_argmax(dout, x, k, s, every):
    """The argmax over the whole (N, C, k, k) block: its (i, j) used for every image and channel, or only its own."""
    n, c, h, w = x.shape
    ho, wo = dout.shape[2:]
    dx = np.zeros_like(x)
    for y in range(ho):
        for z in range(wo):
            block = x[:, :, y * s : y * s + k, z * s : z * s + k]
            bn, bc, i, j = np.unravel_index(int(np.argmax(block)), block.shape)
            if every:
                dx[:, :, y * s + i, z * s + j] += dout[:, :, y, z]
            else:
                dx[bn, bc, y * s + i, z * s + j] += dout[bn, bc, y, z]
    return dx


def _same_totals(k, s):
    """A predicate: each window holds the expected total (windows that do not overlap, stride ≥ k, only)."""

    def predicate(got, exp):
        if s < k:
            return False
        ho, wo = (exp.shape[2] - k) // s + 1, (exp.shape[3] - k) // s + 1

        def sums(a):
            win = np.lib.stride_tricks.sliding_window_view(a, (k, k), axis=(2, 3))[:, :, ::s, ::s][
                :, :, :ho, :wo
            ]
            return win.sum(axis=(-2, -1))

        inside = np.zeros(exp.shape, dtype=bool)
        inside[:, :, : (ho - 1) * s + k, : (wo - 1) * s + k] = True
        atol = 1e-9 * max(1, np.abs(exp).max())
        return np.allclose(sums(got), sums(exp), rtol=0, atol=atol) and np.allclose(
            got[~inside], exp[~inside], rtol=0, atol=atol
        )

    return predicate


SAME_WINDOW = (
    "the right total per image and channel on the wrong elements: the gradient went to another element of "
    "the same window; route it to the position of the window's maximum (flat index a → row a // k, col a % k)"
)


def _one_maximum_each(dout, x, k, s):
    """A predicate: the answer sends each window's gradient to one of its maxima (any one), and nothing else.

    Per image and channel, a depth-first search over the windows in raster order, each choosing one of its
    tied maxima; a position no later window covers must then hold exactly what it received (dout is
    continuous, so an answer that fits is the routing).
    """
    _, flat = _last_argmax(x, k, s)
    ismax = flat == flat.max(axis=-1, keepdims=True)
    n, c, ho, wo, _ = flat.shape
    h, w = x.shape[2:]

    def fits(got, atol):
        for i in range(n):
            for ch in range(c):
                windows = [(y, z) for y in range(ho) for z in range(wo)]
                last = np.full((h, w), -1)  # the last window (raster index) covering each position
                for t, (y, z) in enumerate(windows):
                    last[y * s : y * s + k, z * s : z * s + k] = t
                if not np.allclose(got[i, ch][last == -1], 0, atol=atol):  # no window covers them: zero
                    return False
                if not _search(got[i, ch].copy(), windows, 0, last, i, ch, atol):
                    return False
        return True

    def _search(residual, windows, t, last, i, ch, atol):
        if t == len(windows):
            return True
        y, z = windows[t]
        for a in np.flatnonzero(ismax[i, ch, y, z]):
            py, pz = y * s + a // k, z * s + a % k
            residual[py, pz] -= dout[i, ch, y, z]
            closed = last == t  # positions whose last covering window is this one: settled now
            if np.allclose(residual[closed], 0, atol=atol) and _search(
                residual, windows, t + 1, last, i, ch, atol
            ):
                return True
            residual[py, pz] += dout[i, ch, y, z]
        return False

    def predicate(got, exp):
        return fits(got, 1e-9 * max(1.0, float(np.abs(exp).max())))

    return predicate


def _tied_windows_in(x, k, s):
    _, flat = _last_argmax(x, k, s)
    tied = ((flat == flat.max(axis=-1, keepdims=True)).sum(axis=-1) > 1).any(axis=(0, 1))
    return _coverage(x.shape[2], x.shape[3], k, s, 0, tied) > 0


def _pool_describe(shape, k, s):
    return f"x {'×'.join(map(str, shape))}, kernel {k}, stride {s}"


def _pool_at(x, k, step, out_hw):
    """Max over windows starting at y·step (clipped at the border), for the output size the case expects."""
    out = np.zeros((*x.shape[:2], *out_hw))
    for y in range(out_hw[0]):
        for z in range(out_hw[1]):
            win = x[:, :, y * step : y * step + k, z * step : z * step + k]
            out[:, :, y, z] = win.max(axis=(2, 3)) if win.size else 0.0
    return out


def _pool_swapped(x, k, s, out_hw):
    """out[y, z] from the window at rows z·s, columns y·s (clipped; 0 where empty): the indices swapped."""
    out = np.zeros((*x.shape[:2], *out_hw))
    for y in range(out_hw[0]):
        for z in range(out_hw[1]):
            win = x[:, :, z * s : z * s + k, y * s : y * s + k]
            out[:, :, y, z] = win.max(axis=(2, 3)) if win.size else 0.0
    return out


def _maxpool_forward_cases():
    cases = []
    for i, (name, shape, k, s, tags) in enumerate(POOL_CASES):
        x = _pool_input(i, shape, tags)
        exp, _ = ref.maxpool_forward(x, k, s)
        n, c, h, w = shape
        mean = ref.im2col(x, k, s).reshape(-1, c, k * k).mean(axis=-1).reshape(n, *exp.shape[2:], c)
        check = Check("out", exp, batch=n)
        block = exp.max(axis=(0, 1), keepdims=True)
        mins = -ref.maxpool_forward(-x, k, s)[0]
        sums = mean.transpose(0, 3, 1, 2) * (k * k)
        check.variants = [
            (mean.transpose(0, 3, 1, 2), "the windows' means: max pooling takes the maximum", "mistake"),
            (
                mins,
                "the windows' minima (where every value is negative, also the entries of the largest magnitude): "
                "max pooling takes the maximum, sign included"
                if (x < 0).all()
                else "the windows' minima: max pooling takes the maximum",
                "mistake",
            ),
            (sums, "the windows' sums: max pooling takes the maximum", "mistake"),
            (
                np.maximum(exp, 0),
                "an all-negative window gives 0: start the running maximum at −inf (or the window's first value)",
                "mistake",
            ),
            (
                _pool_swapped(x, k, s, exp.shape[2:]),
                "the window's rows and columns swapped: out[y, x] is the maximum of rows y·s … y·s + k − 1 and "
                "columns x·s … x·s + k − 1",
                "mistake",
            ),
            (
                _pool_at(x, k, k, exp.shape[2:]),
                "the windows start at y·k: the stride is the `stride` argument, not the kernel size",
                "mistake",
            ),
            (
                np.broadcast_to(block, exp.shape),
                "the maximum over the whole (N, C, k, k) block: take it per image and channel, over the window "
                "only (axis=(-2, -1))",
                "mistake",
            ),
            (
                np.broadcast_to(exp.max(axis=1, keepdims=True), exp.shape),
                "the maximum over all channels of the window: take it per channel, over the window only",
                "mistake",
            ),
            (
                np.broadcast_to(exp.max(axis=0, keepdims=True), exp.shape),
                "the maximum over all images of the batch: take it per image, over the window only",
                "mistake",
            ),
        ]
        if k > 2:  # for k = 2 the first element is the window one element short, below
            check.variants.append(
                (
                    x[:, :, : exp.shape[2] * s : s, : exp.shape[3] * s : s],
                    "each window's first (top-left) element: no maximum is taken; take the maximum over the window",
                    "mistake",
                )
            )
        if k > 1:
            short, _ = ref.maxpool_forward(x, k - 1, s)
            ho, wo = exp.shape[2:]
            if short.shape[2] >= ho and short.shape[3] >= wo:
                check.variants.append(
                    (
                        short[:, :, :ho, :wo],
                        f"each window is one element short: the slice x[y·s : y·s + k] holds k = {k} elements"
                        + (
                            " (for a 2×2 window, only its top-left element is left: is a maximum taken?)"
                            if k == 2
                            else ""
                        ),
                        "mistake",
                    )
                )
        check.shapes = {
            (
                n,
                c,
                *output_hw(h, w, k, k),
            ): "the size for stride = kernel: the windows overlap, apply the stride"
        }
        if s != 1:
            check.shapes[(n, c, *output_hw(h, w, k, 1))] = "the size for stride 1: apply the stride"
        if (k, s) != (3, 2):
            check.shapes.setdefault(
                (n, c, *output_hw(h, w, 3, 2)),
                "the size for AlexNet's 3×3 windows at stride 2: read kernel_size and stride from the arguments",
            )
        cases.append(Case(name, (x, k, s), [check], tags, _pool_describe(shape, k, s)))
    return cases


def _maxpool_backward_cases():
    cases = []
    for i, (name, shape, k, s, tags) in enumerate(POOL_CASES):
        x = _pool_input(i, shape, tags)
        out, argmax = ref.maxpool_forward(x, k, s)
        dout = case_rng(600 + i).standard_normal(out.shape)
        exp = ref.maxpool_backward(dout, argmax, shape, k, s)
        h, w = shape[2:]
        regions = {"overlap": (_overlap_in(h, w, k, s, 0)[None, None], OVERLAP)}
        check = Check("dx", exp, regions=regions, batch=shape[0])
        check.relations = [(_same_totals(k, s), SAME_WINDOW)]
        swapped = (argmax % k) * k + argmax // k
        by_stride = _route(dout, argmax // s, argmax % s, shape, k, s)
        check.variants = [
            (
                ref.maxpool_backward(dout, swapped, shape, k, s),
                "the window's row and column swapped: flat index a of a k×k window is row a // k, column a % k",
                "mistake",
            ),
            (
                by_stride,
                "the flat argmax unravelled with the stride (a // s, a % s): use the kernel size, (a // k, a % k)",
                "mistake",
            ),
            (
                _pool_block_argmax(dout, x, k, s, every=True),
                "the argmax is taken over the whole (N, C, k, k) block: take it per image and channel, over the "
                "window only",
                "mistake",
            ),
            (
                _pool_block_argmax(dout, x, k, s, every=False),
                "the argmax is taken over the whole (N, C, k, k) block: take it per image and channel, over the "
                "window only",
                "mistake",
            ),
        ]
        if "ties" in tags:
            check.accept = [
                (
                    _one_maximum_each(dout, x, k, s),
                    "tie convention (each window's gradient goes to one of its tied maxima, another one than the "
                    "library's first in row-major order)",
                )
            ]
            last, _ = _last_argmax(x, k, s)
            first_cm, last_cm = _column_major_argmax(x, k, s)
            check.variants += [
                (
                    ref.maxpool_backward(dout, last, shape, k, s),
                    "tie convention (ties routed to the last maximum; the library and PyTorch take the first)",
                    "convention",
                ),
                (
                    ref.maxpool_backward(dout, first_cm, shape, k, s),
                    "tie convention (ties routed to the first maximum in column-major order; the library and "
                    "PyTorch take the first in row-major order)",
                    "convention",
                ),
                (
                    ref.maxpool_backward(dout, last_cm, shape, k, s),
                    "tie convention (ties routed to the last maximum in column-major order; the library and "
                    "PyTorch take the first in row-major order)",
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
                "in windows with tied maxima: route each window's gradient to exactly one of its maxima (the "
                "first or the last, row by row or column by column, are accepted)",
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
        ones = ref.maxpool_backward(np.ones_like(dout), argmax, shape, k, s)
        check.variants += [
            (ones, "1 at each window's maximum: route dout's value there, dx[max] += dout", "mistake"),
            (ones * x, "x's value at each maximum: route dout's value there, dx[max] += dout", "mistake"),
            (
                exp * x,
                "multiplied by the maximum's value (dout·x): the maximum passes dout on unchanged",
                "mistake",
            ),
            (
                (ones > 0) * x,
                "x's value at each maximum: route dout's value there, dx[max] += dout",
                "mistake",
            ),
        ]
        cases.append(Case(name, (dout, x, k, s), [check], tags, _pool_describe(shape, k, s)))
    return cases


def _maxpool_numeric():
    rng = case_rng(8)
    x = gradcheck.kink_free_input((2, 2, 7, 9), rng, scale=2.0)
    dout = rng.standard_normal((2, 2, 3, 4))
    num = gradcheck.numerical_gradient(lambda: ref.maxpool_forward(x, 3, 2)[0], x, dout)
    return [_numeric_case("2×2×7×9, 3×3/2", (dout, x, 3, 2), [("dx", num)])]


# ---- 8-9. local response normalisation -------------------------------------------------------------

LRN_CASES = [
    ("7 channels, size 5", (2, 7, 3, 2), 5, 0.1, 0.75, 2.0, ()),
    ("even size 4, batch of 1", (1, 6, 2, 3), 4, 0.2, 0.6, 1.0, ("even size", "batch of 1", "beta not 0.75")),
    ("3 channels, size 5", (1, 3, 2, 2), 5, 0.3, 0.75, 1.0, ("window wider than the channels", "batch of 1")),
    ("size 3, beta 0.5", (2, 5, 2, 2), 3, 0.5, 0.5, 1.5, ("beta not 0.75",)),
]


def _lrn_edges(c, size):
    ch = np.arange(c)
    edge = (ch < size // 2) | (ch > c - 1 - (size - 1) // 2)
    return edge[None, :, None, None]


EDGES = "in the first/last channels, where the channel window is clipped: clip it to [0, C)"


def _wsum(a, before, after):
    """s[:, c] = Σ a[:, j] for j in [c − before, c + after], clipped to [0, C) (``after`` may be negative)."""
    c = a.shape[1]
    out = np.zeros_like(a)
    for ch in range(c):
        lo, hi = max(0, ch - before), min(c, ch + after + 1)
        if hi > lo:
            out[:, ch] = a[:, lo:hi].sum(axis=1)
    return out


def _lrn_forward_variants(x, size, alpha, beta, k):
    """(array, message) for the ways the LRN formula is commonly mistranscribed."""
    b, a = size // 2, (size - 1) // 2
    sq = _wsum(x * x, b, a)
    out = [
        (x / (k + alpha * _wsum(x, b, a)) ** beta, "the window sums x, not x²: scale = k + α·Σ x[j]²"),
        (x / (k + alpha * np.abs(_wsum(x, b, a))) ** beta, "the window sums |x| or x, not x²"),
        (x / (k + alpha * sq**beta), "β is applied to the sum only: the whole (k + α·Σ x²) is raised to β"),
        (
            x / (k + (alpha * sq) ** beta),
            "β is applied to α·Σ x² only: the whole (k + α·Σ x²) is raised to β",
        ),
        (x / (alpha * sq) ** beta, "k is missing: scale = k + α·Σ x²"),
        (x / (k + sq) ** beta, "α is missing: scale = k + α·Σ x²"),
        (x / (1 + alpha * sq) ** beta, "k replaced by 1: scale = k + α·Σ x²"),
        (
            x / (k + alpha * sq / _wsum(np.ones_like(x), b, a)) ** beta,
            "the squares are averaged over the window (a mean): the paper's form sums them",
        ),
        (x / (k + alpha * sq), "the power β is missing: divide by (k + α·Σ x²)^β"),
        (x * (k + alpha * sq) ** beta, "multiplied by the scale^β: divide (the exponent is −β)"),
        (
            x / (k + alpha * _wsum(x * x, b, a - 1)) ** beta,
            "the window's upper end is exclusive: j runs to c + (size − 1)//2 inclusive (range(lo, hi + 1))",
        ),
        (
            x / (k + alpha * _wsum(x * x, b - 1, a)) ** beta,
            "the window starts one channel late: j runs from c − size//2",
        ),
        (
            x / (k + alpha * _wsum(x * x, a, b)) ** beta,
            "the window's halves are swapped: size//2 channels before c, (size − 1)//2 after",
        ),
        (
            x / (k + alpha * _wsum(x * x, b, b)) ** beta,
            "the window is size//2 on both sides (size + 1 "
            "channels for an even size): size//2 before, (size − 1)//2 after",
        ),
        (
            x / (k + alpha * _wsum(x * x, size, size)) ** beta,
            "the window is `size` channels on each side: size//2 before, (size − 1)//2 after",
        ),
        (
            x / (k + alpha * (x * x)) ** beta,
            "the sum over neighbouring channels is missing: only x[c]² in the denominator",
        ),
        (
            x / (k + alpha / size * sq) ** beta,
            "alpha divided by size (PyTorch/Caffe's form): the paper's form uses alpha as given",
        ),
    ]
    if (
        x.ndim == 4
    ):  # the window run along the width (the last axis, channels-last thinking), not the channels
        along_w = np.moveaxis(x, 3, 1)
        out.append(
            (
                np.moveaxis(along_w / (k + alpha * _wsum(along_w * along_w, b, a)) ** beta, 1, 3),
                "the window runs along the last axis (W): in NCHW the channels are axis 1",
            )
        )
    return out


def _lrn_describe(shape, size, alpha, beta, k):
    return f"x {'×'.join(map(str, shape))}, size {size}, alpha {alpha}, beta {beta}, k {k}"


LRN_ALEXNET = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def _lrn_out(x, size, alpha, beta, k):
    return ref.lrn_forward(x, size, alpha, beta, k)[0]


def _lrn_dx(dout, x, size, alpha, beta, k):
    direct, cross, _ = _lrn_backward_parts(dout, x, size, alpha, beta, k)
    return direct - cross


def _lrn_forward_cases():
    cases = []
    for i, (name, shape, size, alpha, beta, k, tags) in enumerate(LRN_CASES):
        x = 1.5 * case_rng(700 + i).standard_normal(shape)
        exp, _ = ref.lrn_forward(x, size, alpha, beta, k)
        check = Check("out", exp, regions={"edges": (_lrn_edges(shape[1], size), EDGES)}, batch=shape[0])
        settings = {"size": size, "alpha": alpha, "beta": beta, "k": k}
        ignored = settings_ignored(functools.partial(_lrn_out, x), settings, LRN_ALEXNET, "AlexNet's")
        with np.errstate(all="ignore"):
            check.variants = [
                (v, m, "mistake")
                for v, m in _lrn_forward_variants(x, size, alpha, beta, k) + ignored
                if np.isfinite(v).all()
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


def _lrn_backward_variants(dout, x, size, alpha, beta, k):
    b, a = size // 2, (size - 1) // 2
    scale = k + alpha * _wsum(x * x, b, a)
    t = dout * x * scale ** (-beta - 1)
    direct = dout * scale ** (-beta)
    back = _wsum(t, a, b)  # Σ over c with j in window(c)
    out = [
        (
            direct - 2 * alpha * beta * x * _wsum(dout * x, a, b) * scale ** (-beta - 1),
            "the cross term uses scale[j] where it needs scale[c]: each out[c] contributes "
            "dout[c]·x[c]·scale[c]^(−β−1)",
        ),
        (
            direct - 2 * alpha * beta * x * _wsum(dout * x * scale**-beta, a, b),
            "the cross term's exponent is −β: d/dscale of scale^(−β) is −β·scale^(−β−1)",
        ),
        (
            direct - 2 * alpha * beta * x * _wsum(t, b, a),
            "the backward sum runs over window(j), not over the channels c whose window contains j "
            "((size − 1)//2 before, size//2 after)",
        ),
        (direct - alpha * beta * x * back, "the cross term misses the 2 of d(x²)/dx = 2x"),
        (
            -2 * alpha * beta * x * back,
            "the direct term dout·scale^(−β) is missing (x[j] is in out[j]'s numerator)",
        ),
        (direct - 2 * alpha * x * back, "the cross term misses β: d scale^(−β) = −β·scale^(−β−1)"),
        (direct - 2 * beta * x * back, "the cross term misses α: d scale/dx[j] = 2α·x[j]"),
        (
            direct - 2 * alpha * beta * back,
            "the cross term misses the factor x[j] (from d(x[j]²)/dx[j] = 2x[j])",
        ),
        (direct - 2 * alpha * beta * x * _wsum(t, a, b - 1), "the backward window's upper end is exclusive"),
        (
            direct - 2 * alpha * beta * _wsum(t * x, a, b),
            "the cross term is multiplied by x[c] where it needs x[j]: dx[j] −= 2αβ·x[j]·Σ_c dout[c]·x[c]·"
            "scale[c]^(−β−1)",
        ),
    ]
    scale_n = k + alpha / size * _wsum(x * x, b, a)
    out.append(
        (
            dout * scale_n ** (-beta)
            - 2 * alpha / size * beta * x * _wsum(dout * x * scale_n ** (-beta - 1), a, b),
            "alpha divided by size (PyTorch/Caffe's form): the paper's form uses alpha as given",
        )
    )
    return out


def _lrn_backward_cases():
    cases = []
    for i, (name, shape, size, alpha, beta, k, tags) in enumerate(LRN_CASES):
        rng = case_rng(800 + i)
        x, dout = 1.5 * rng.standard_normal(shape), rng.standard_normal(shape)
        direct, cross, self_only = _lrn_backward_parts(dout, x, size, alpha, beta, k)
        exp = direct - cross
        check = Check("dx", exp, regions={"edges": (_lrn_edges(shape[1], size), EDGES)}, batch=shape[0])
        check.variants = [(v, m, "mistake") for v, m in _lrn_backward_variants(dout, x, size, alpha, beta, k)]
        settings = {"size": size, "alpha": alpha, "beta": beta, "k": k}
        check.variants += [
            (v, m, "mistake")
            for v, m in settings_ignored(
                functools.partial(_lrn_dx, dout, x), settings, LRN_ALEXNET, "AlexNet's"
            )
        ]
        check.variants += [
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


def _lrn_numeric():
    rng = case_rng(9)
    x, dout = 1.5 * rng.standard_normal((2, 5, 2, 3)), rng.standard_normal((2, 5, 2, 3))
    num = gradcheck.numerical_gradient(lambda: ref.lrn_forward(x, 3, 0.2, 0.75, 1.0)[0], x, dout)
    return [_numeric_case("2×5×2×3, size 3", (dout, x, 3, 0.2, 0.75, 1.0), [("dx", num)])]


# ---- 10. softmax + cross-entropy ----------------------------------------------------------------------

CLIP_EPS = (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15, 1e-16, 1e-20, 1e-30, np.finfo(float).tiny)

SOFTMAX_CASES = [
    ("4 samples, 5 classes", (4, 5), 1.0, ()),
    ("batch of 1", (1, 3), 1.0, ("batch of 1",)),
    ("large logits (±1000)", (3, 6), 1000.0, ("large logits",)),
    ("rows 2000 apart", (3, 4), 2.0, ("large logits",)),
]

NONFINITE_LOSS = (
    "a log of a probability that underflowed to 0, or an exp that overflowed: compute log-softmax as "
    "(z − max) − log Σ exp(z − max) with each row's own maximum, never log(softmax)"
)
NONFINITE_D = (
    "exp overflowed or every exp of a row underflowed to 0: subtract each row's own maximum "
    "(logits.max(axis=1, keepdims=True); one global maximum leaves rows 2000 below it at exp(−2000) = 0)"
)


def _rows_minus_one(p, labels):
    d = p.copy()
    rows = labels[labels < len(p)]
    d[rows] -= 1
    return d


def _softmax_axis0(logits, labels):
    z = logits - logits.max(axis=0, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
    n = len(labels)
    with np.errstate(all="ignore"):
        loss = -np.mean(np.log(p[np.arange(n), labels]))
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


def _softmax_cases():
    cases = []
    for i, (name, shape, scale, tags) in enumerate(SOFTMAX_CASES):
        rng = case_rng(900 + i)
        logits = scale * rng.standard_normal(shape)
        if name == "rows 2000 apart":
            logits += 2000.0 * np.arange(shape[0])[:, None]
        labels = rng.integers(0, shape[1], size=shape[0])
        if shape[0] > 1:
            labels[:2] = [1, 0]  # two different labels, so that indexing [:, labels] shows
        lf = CrossEntropyLoss()
        loss = lf.forward(logits, labels)
        dlogits = lf.backward()
        n = shape[0]
        onehot = np.zeros(shape, dtype=bool)
        onehot[np.arange(n), labels] = True
        f_loss = [
            (n, f"summed over the batch: the loss is the mean over N = {n}"),
            (1 / n, f"divided by N = {n} twice?"),
            (1 / np.log(10), "log base 10: the cross-entropy uses the natural log, np.log"),
            (1 / np.log(2), "log base 2: the cross-entropy uses the natural log, np.log"),
            (
                1 / shape[1],
                f"averaged over the K = {shape[1]} classes too: the mean runs over the samples only",
            ),
        ]
        p = softmax(logits)
        a_loss, a_d = _softmax_axis0(logits, labels)
        with np.errstate(all="ignore"):
            col_loss = -np.mean(np.log(p[:, labels]))
        col_d = p.copy()
        col_d[:, labels] -= 1
        axis0 = "softmax over axis 0 (across the batch): normalise each row, axis=1"
        cols = (
            "indexed [:, labels] (every row at every label): pick one element per row, [np.arange(N), labels]"
        )
        closs = Check("loss", np.float64(loss), factors=f_loss, nonfinite=NONFINITE_LOSS)
        if "large logits" in tags:
            picked = p[np.arange(n), labels]
            clipped = [-np.mean(np.log(np.maximum(picked, eps))) for eps in CLIP_EPS]
            closs.relations = [
                (  # the loss of log(p + eps) or log(clip(p, eps, 1)) for a common eps: not just any wrong loss
                    lambda got, exp, clipped=clipped: any(np.isclose(got, c, rtol=1e-6) for c in clipped),
                    "wrong only with large logits: a probability underflowed to 0 and was clipped (log(p + eps)?); "
                    "compute the log-probability as (z − max) − log Σ exp(z − max)",
                )
            ]
        closs.variants = [(v, m, "mistake") for v, m in ((a_loss, axis0), (col_loss, cols)) if np.isfinite(v)]
        with np.errstate(all="ignore"):
            twice = -np.log(p[np.arange(n), labels]).sum() / n**2
        if n > 1 and np.isfinite(twice):
            closs.variants.append((twice, "divided by N twice?", "mistake"))
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
            (p / n, "the one-hot is not subtracted: dlogits = (softmax − onehot) / N", "mistake"),
            (a_d, axis0, "mistake"),
            (col_d / n, cols, "mistake"),
            (
                _rows_minus_one(p, labels) / n,
                "d[labels] −= 1 hits whole rows: use d[np.arange(N), labels]",
                "mistake",
            ),
            ((p + onehot) / n, "the one-hot is added: dlogits = (softmax − onehot) / N", "mistake"),
            ((onehot - p) / n, "sign flipped: dlogits = (softmax − onehot) / N", "mistake"),
        ]
        cd.batch, cd.nonfinite = n, NONFINITE_D
        cd.shapes = {(shape[1], n): "the transpose: one row per sample"}
        cases.append(
            Case(name, (logits, labels), [closs, cd], tags, f"logits {shape[0]}×{shape[1]}, scale {scale:g}")
        )
    return cases


def _softmax_numeric():
    rng = case_rng(10)
    logits, labels = rng.standard_normal((3, 4)), rng.integers(0, 4, size=3)
    loss = CrossEntropyLoss().forward(logits, labels)
    num = gradcheck.numerical_gradient(
        lambda: np.asarray(CrossEntropyLoss().forward(logits, labels)), logits, 1.0
    )
    checks = [("loss", np.float64(loss)), ("dlogits", num)]
    return [_numeric_case("3×4", (logits, labels), checks)]


# ---- 11. dropout, both conventions -----------------------------------------------------------------


def _dropout_factors(p, convention, train):
    keep = 1 - p
    if convention == "pytorch" and train:
        return [
            (keep, "not rescaled: inverted dropout divides the kept values by 1 − p in training"),
            (keep / p, "divided by p: the scale is 1/(1 − p), p is the drop probability"),
            (p * keep, "multiplied by p: the scale is 1/(1 − p), p is the drop probability"),
            (
                keep * keep,
                "multiplied by 1 − p (the paper's test-time scale): inverted dropout divides by 1 − p",
            ),
        ]
    if convention == "pytorch":
        return [
            (keep, "scaled at test time: inverted dropout is the identity at test time"),
            (1 / keep, "divided by 1 − p at test time: inverted dropout is the identity at test time"),
        ]
    if train:
        return [
            (
                1 / keep,
                "rescaled in training: the paper's convention keeps the values and scales at test time",
            ),
            (keep, "multiplied by 1 − p in training: the paper's convention scales at test time only"),
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


def _dropout_out(x, mask, convention, train, p):
    """Dropout's output (or, with ``x`` = dout in training, its input gradient) for keep-``mask`` and rate ``p``."""
    return (
        x * mask * _dropout_scale(p, convention, train) if train else x * _dropout_scale(p, convention, train)
    )


def _paper_step(w, v, g, momentum, weight_decay, lr):
    """(w, v) after one step of the paper's update, on copies."""
    w, v = w.copy(), v.copy()
    ref.sgd_paper_update(w, v, g, momentum, weight_decay, lr)
    return w, v


def _dropout_scale(p, convention, train):
    if convention == "pytorch":
        return 1 / (1 - p) if train else 1.0
    return 1.0 if train else 1 - p


OTHER_MASK = (
    "a different mask from the one passed in (a new random draw?): use the `mask` argument, the same mask in "
    "forward and backward"
)


def _other_mask(base, scale):
    """A predicate: the answer is ``base`` × some 0/1 mask × ``scale`` (any scale when None), not the given one."""

    def predicate(got, exp):
        nz = np.abs(base) > 0
        ratio = got[nz] / base[nz]
        kept = np.abs(ratio) > 1e-12
        if not kept.any():
            return False
        s = float(np.median(ratio[kept])) if scale is None else scale
        return bool(np.allclose(ratio[kept], s, rtol=1e-9, atol=0) and not np.allclose(got, exp))

    return predicate


def _dropout_forward_cases():
    cases = []
    for i, (name, p, conv, train) in enumerate(DROPOUT_CASES):
        rng = case_rng(1000 + i)
        x = gradcheck.kink_free_input((4, 6), rng)
        mask = rng.random((4, 6)) >= p
        exp = x * mask * _dropout_scale(p, conv, train) if train else x * _dropout_scale(p, conv, train)
        check = Check("out", exp, factors=_dropout_factors(p, conv, train))
        check.variants = [
            (v, m, "mistake")
            for v, m in settings_ignored(
                functools.partial(_dropout_out, x, mask, conv, train), {"p": p}, {"p": 0.5}, "the paper's"
            )
        ]
        if train:
            check.regions = {"dropped": (~mask, "where the mask drops: mask is the keep-mask (True = keep)")}
            check.variants += [
                (
                    x * ~mask * _dropout_scale(p, conv, train),
                    "the mask is inverted: True means keep",
                    "mistake",
                )
            ]
            check.relations = [(_other_mask(x, _dropout_scale(p, conv, train)), OTHER_MASK)]
        else:
            at_eval = "a mask applied at test time: dropout drops only in training"
            check.variants += [
                (x * mask * _dropout_scale(p, conv, True), at_eval, "mistake"),
                (x * mask * _dropout_scale(p, conv, False), at_eval, "mistake"),
                (x * mask, at_eval, "mistake"),
                (x * mask * (1 - p), at_eval, "mistake"),
            ]
            check.relations = [(_other_mask(x, None), at_eval + " (the mask is not even the one passed in)")]
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
        rng = case_rng(1100 + i)
        dout = rng.standard_normal((4, 6))
        mask = rng.random((4, 6)) >= p
        exp = dout * mask * _dropout_scale(p, conv, True)
        check = Check("dx", exp, factors=_dropout_factors(p, conv, True))
        check.regions = {"dropped": (~mask, "where the mask drops: mask is the keep-mask (True = keep)")}
        check.variants = [
            (v, m, "mistake")
            for v, m in settings_ignored(
                functools.partial(_dropout_out, dout, mask, conv, True), {"p": p}, {"p": 0.5}, "the paper's"
            )
        ]
        check.variants += [
            (
                dout * _dropout_scale(p, conv, True),
                "the mask is not applied: dropped elements get no gradient",
                "mistake",
            ),
            (
                dout * ~mask * _dropout_scale(p, conv, True),
                "the mask is inverted: True means keep",
                "mistake",
            ),
        ]
        if conv == "paper":
            check.variants.append(
                (
                    dout * mask / (1 - p),
                    "rescaled by 1/(1 − p): the paper's convention does not rescale",
                    "mistake",
                )
            )
        check.relations = [(_other_mask(dout, _dropout_scale(p, conv, True)), OTHER_MASK)]
        cases.append(
            Case(name, (dout, mask, p, conv), [check], (conv,), f"dout 4×6, p {p}, convention {conv!r}")
        )
    return cases


# ---- 12. SGD with momentum, the paper's form -----------------------------------------------------------

SGD_CASES = [
    ("the paper's values", 0.9, 5e-4, 0.01, ("weight decay",)),
    ("large decay and rate", 0.5, 0.1, 0.2, ("weight decay",)),
    ("no weight decay", 0.9, 0.0, 0.05, ()),
    (
        "a zero gradient",
        0.9,
        5e-4,
        0.01,
        ("weight decay", "zero gradient"),
    ),  # a flat spot: v and w still move
]


def _sgd_cases():
    cases = []
    for i, (name, mu, wd, lr, tags) in enumerate(SGD_CASES):
        rng = case_rng(1200 + i)
        w, v, g = rng.standard_normal((3, 4)), 0.1 * rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        if "zero gradient" in tags:
            g = np.zeros_like(g)
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
            ((w - v1, v1), "w ← w − v: the paper's velocity already points downhill, w ← w + v"),
            (
                (w - wd * lr * w - lr * g, -wd * lr * w - lr * g),
                "the momentum term is missing: v ← μ·v − λ·ε·w − ε·g",
            ),
            (
                (w + lr * (mu * v - wd * w - g), mu * v - wd * w - g),
                "the learning rate multiplies the velocity in w's update: it belongs inside v, "
                "v ← μ·v − λ·ε·w − ε·g, w ← w + v",
            ),
            (
                (w + mu * v - wd * lr * w - g, mu * v - wd * lr * w - g),
                "the gradient is not multiplied by the learning rate: − ε·g",
            ),
            ((w - lr * v1, v1), "w ← w − ε·v: the paper's velocity already holds ε, w ← w + v"),
            (
                (w + lr * v1, v1),
                "w ← w + ε·v: the learning rate is applied twice, v already holds ε; w ← w + v",
            ),
            ((w + mu * v1, v1), "the momentum is applied to the new step too: w ← w + v (the new v, once)"),
            (
                (w + mu * (v - wd * lr * w - lr * g), mu * (v - wd * lr * w - lr * g)),
                "the momentum multiplies the new step too: v ← μ·v − λ·ε·w − ε·g (μ on the old v only)",
            ),
            (
                (w + mu * v + wd * lr * w - lr * g, mu * v + wd * lr * w - lr * g),
                "the weight decay's sign: it pulls w toward 0, v ← μ·v − λ·ε·w − ε·g",
            ),
            (
                (w + mu * v - wd * w - lr * g, mu * v - wd * w - lr * g),
                "the weight decay is not multiplied by the learning rate: − λ·ε·w",
            ),
            (
                (w + mu * v - lr * (g + wd), mu * v - lr * (g + wd)),
                "the weight decay is added as λ, not λ·w: − λ·ε·w",
            ),
        ]
        alts += settings_ignored(
            functools.partial(_paper_step, w, v, g),
            {"momentum": mu, "weight_decay": wd, "lr": lr},
            {"momentum": 0.9, "weight_decay": 5e-4, "lr": 0.01},
            "the paper's",
        )
        checks = [Check("w", w1), Check("v", v1)]
        for (aw, av), message in alts:
            if not np.allclose(aw, w1, rtol=0, atol=1e-9):
                checks[0].variants.append((aw, message, "mistake"))
            if not np.allclose(av, v1, rtol=0, atol=1e-9):
                checks[1].variants.append((av, message, "mistake"))
        checks[0].variants.append(
            (w, "w is unchanged: update it in place (w += ..., or w[...] = ...) or return (w, v)", "mistake")
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
for _name in ("conv_forward", "im2col", "maxpool_forward", "lrn_forward", "dropout_forward"):
    EXERCISES[_name].hints = FORWARD_HINTS

from .more_layers import exercises as _more_exercises  # noqa: E402 - it uses Exercise, defined above

EXERCISES.update(_more_exercises())
