"""The grader: run a student's function on awkward cases, compare with the library in float64, say *where* it is wrong.

A diagnosis is read from the error's pattern, never from the student's code:

1. shape, dtype, finiteness (a clear message before any number);
2. whole-array relations: the sign flipped, a constant factor (and what that factor means for this exercise),
   the expected array transposed or flipped, the right values in the wrong order;
3. named alternatives the case computes (a documented convention such as the last maximum of a pool tie,
   or a classic slip such as PyTorch's momentum form): matching one of them names it;
4. where the wrong elements are: only in the border rows/columns, only where windows overlap, only at tied
   maxima, only in the first/last channels, only at the labels' positions;
5. across cases: wrong only in the cases with padding, with stride > 1, with a batch of one, with inputs that
   are not C-contiguous (every exercise grades its first array case once more so, ``_strided_twin``), ...

Besides the values: an input changed in place, an output array shared from call to call or with an input,
state kept between calls; a checkpoint typed by hand (a case with no arguments) never shows its right value.

Tolerances come from the dtype: float64 results agree with the reference to
``TOL = eps ** (2/3)`` (about 4e-11) relative to the array's largest value; a mistake lands orders above.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field, replace

import numpy as np

EPS = np.finfo(np.float64).eps
TOL = EPS ** (2 / 3)  # relative to the largest expected value; a correct float64 answer differs by ~1e-15


@dataclass
class Check:
    """What a case knows about one output tensor, for diagnosis."""

    name: str
    expected: object
    regions: dict = field(default_factory=dict)  # name -> (bool mask over the tensor, message)
    variants: list = field(default_factory=list)  # (array, message, "convention" | "mistake")
    factors: list = field(default_factory=list)  # (factor, message)
    shapes: dict = field(default_factory=dict)  # wrong shape -> message
    integer: bool = False  # the answer is an int (the output-size formula)
    batch: int | None = None  # N when axis 0 (or the rows, in blocks of N) runs over the images/samples
    relations: list = field(
        default_factory=list
    )  # (predicate(got, expected) -> bool, message), after variants
    tol: float | None = None  # a looser tolerance (central differences); None: TOL
    accept: list = field(default_factory=list)  # (predicate(got, expected) -> bool, convention): also right
    nonfinite: str = ""  # what a nan/inf here most likely means


@dataclass
class Case:
    """One run of the student's function: positional arguments, the expected outputs and their checks."""

    name: str
    args: tuple
    checks: list  # one Check per output, in the order the function returns them
    tags: tuple = ()
    describe: str = ""
    in_place: tuple = ()  # indices of arguments the function is meant to update in place (SGD)
    numeric: bool = False  # expected values are central differences (compared to ``Check.tol``)
    strided: bool = False  # the array arguments arrive in memory that is not C-contiguous (same values)


@dataclass
class TensorOutcome:
    name: str
    ok: bool
    convention: str | None = None
    messages: list = field(default_factory=list)
    error: np.ndarray | None = None  # got − expected, when the shapes agree
    matches: list = field(default_factory=list)  # the named alternatives this answer equals
    offered: list = field(default_factory=list)  # the named alternatives this case offered (integer checks)
    specific: bool = True  # the report names a pattern, not only how many elements are wrong
    rel: float | None = None  # largest |error| relative to the largest expected value


@dataclass
class CaseOutcome:
    case: Case
    status: str  # "ok", "convention", "wrong", "raised"
    tensors: list = field(default_factory=list)
    messages: list = field(default_factory=list)


def _fmt_idx(values, limit=8):
    values = [int(v) for v in values]
    s = ", ".join(str(v) for v in values[:limit])
    return s + (", ..." if len(values) > limit else "")


def _close(a, b, scale):
    return bool(np.all(np.abs(a - b) <= TOL * scale))


def _scale(expected):
    m = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
    return m if m > 0 else 1.0


def _where(wrong):
    """Which elements are wrong, in words: count, and for arrays of rank >= 2 the rows/columns (and channels)."""
    n, total = int(wrong.sum()), wrong.size
    s = f"{n} of {total} elements wrong"
    if wrong.ndim == 4:
        rows = np.flatnonzero(wrong.any(axis=(0, 1, 3)))
        cols = np.flatnonzero(wrong.any(axis=(0, 1, 2)))
        chans = np.flatnonzero(wrong.any(axis=(0, 2, 3)))
        s += f" (rows {_fmt_idx(rows)}; columns {_fmt_idx(cols)}; channels {_fmt_idx(chans)})"
    elif wrong.ndim == 2:
        rows = np.flatnonzero(wrong.any(axis=1))
        cols = np.flatnonzero(wrong.any(axis=0))
        s += f" (rows {_fmt_idx(rows)}; columns {_fmt_idx(cols)})"
    elif wrong.ndim == 1:
        s += f" (at {_fmt_idx(np.flatnonzero(wrong))})"
    return s


def _symmetries(got, exp, scale):
    """Whole-array relations between the answer and the expected array."""
    out = []
    if exp.ndim >= 2 and exp.shape[-1] == exp.shape[-2] and exp.shape[-1] > 1:
        t = np.swapaxes(exp, -1, -2)
        if not _close(t, exp, scale) and _close(got, t, scale):
            which = "height and width swapped" if exp.ndim == 4 else "rows and columns swapped"
            return [f"equals the expected array transposed ({which})"]
        f = exp[..., ::-1, ::-1]
        if not _close(f, exp, scale) and _close(got, f, scale):
            return [
                "equals the expected array rotated by 180° (flipped in height and width): no kernel flip here"
            ]
    if exp.ndim == 4 and exp.shape[0] == exp.shape[1] and exp.shape[0] > 1:
        t = np.swapaxes(exp, 0, 1)
        if not _close(t, exp, scale) and _close(got, t, scale):
            return ["equals the expected array with its first two axes swapped (out and in channels)"]
    return out


def _shift(got, exp, wrong, scale):
    """The answer equals the expected array moved by a row/column or two (over the part they share)."""
    if exp.ndim != 4 or min(exp.shape[2:]) < 3:
        return []
    h, w = exp.shape[2:]
    for dy, dx in [(a, b) for a in (0, 1, -1, 2, -2) for b in (0, 1, -1, 2, -2) if (a, b) != (0, 0)]:
        gy, ey = (slice(dy, h), slice(0, h - dy)) if dy >= 0 else (slice(0, h + dy), slice(-dy, h))
        gx, ex = (slice(dx, w), slice(0, w - dx)) if dx >= 0 else (slice(0, w + dx), slice(-dx, w))
        g, e = got[:, :, gy, gx], exp[:, :, ey, ex]
        if g.size >= 4 and wrong[:, :, gy, gx].any() and _close(g, e, scale):
            where = ", ".join(
                f"{abs(d)} {name}{'s' if abs(d) > 1 else ''} {direction[d > 0]}"
                for d, name, direction in ((dy, "row", ("up", "down")), (dx, "column", ("left", "right")))
                if d
            )
            return [
                f"equals the expected array moved by {where} (where they overlap): "
                "check where each window starts (y·stride − padding) and where the padding is cropped"
            ]
    return []


def _factor(got, exp, scale, factors, hidden=False):
    """The answer is a constant multiple of the expected array: the factor, and what it means where the check
    names it (``hidden``: the factor is not shown, the expected array could be read back from it)."""
    denom = float(np.sum(exp * exp))
    if denom == 0:
        return []
    c = float(np.sum(got * exp)) / denom
    if abs(c - 1) < 1e-6 or not _close(got, c * exp, scale * max(1.0, abs(c))):
        return []
    if abs(c + 1) < 1e-9:
        return ["sign flipped: your answer is exactly −1 × the expected one"]
    if not np.any(got):
        return [
            "every value is 0: nothing reached the output (written into a copy, such as ravel() or reshape() "
            "of an array that is not C-contiguous, or never written?)"
        ]
    factor = "a constant factor" if hidden else f"a constant factor {c:.6g}"
    for value, message in factors:
        if abs(c - value) <= 1e-9 * max(1.0, abs(value)):
            return [f"off by {factor}: {message}"]
    if (
        np.ndim(exp) == 0
    ):  # a scalar is always some factor of another: say it only when the factor means something
        return []
    return [f"off by {factor} everywhere: a scale (a mean, a learning rate, 1 − p) applied wrongly?"]


def _per_image(a, n):
    return a.reshape(n, -1)


def _batch(got, exp, wrong, n, scale):
    """Where along the batch the answer is wrong: image 0 copied everywhere, only n ≥ 1, only some images."""
    if not n or n < 2 or exp.size % n:
        return []
    g, e, w = _per_image(got, n), _per_image(exp, n), _per_image(wrong, n)
    bad = np.flatnonzero(w.any(axis=1))
    # where image n's values are: its own row (Linear, batch norm), a block of rows (im2col's cols), or x[n]
    blocks = exp.ndim == 2 and exp.shape[0] != n
    where = "; image n's rows of cols start at n·H_out·W_out" if blocks else ""
    if _close(g, np.broadcast_to(e[:1], e.shape), scale):
        return [f"every image gets image 0's result: is the batch index used (x[n], not x[0]{where})?"]
    if len(bad) == n:
        if _close(g, np.broadcast_to(e[-1:], e.shape), scale):
            return ["every image gets the last image's result: is the batch index overwritten in a loop?"]
        return []
    if bad[0] >= 1 and len(bad) == n - bad[0]:
        return [
            f"only images n ≥ {bad[0]} are wrong (image 0 is right): is the batch index used everywhere"
            + (" (the rows of image n start at n·H_out·W_out)?" if blocks else "?")
        ]
    return [f"only images n = {_fmt_idx(bad)} of {n} are wrong"]


def _last_line(wrong):
    """4-D: wrong only in the last row and/or last column (the others right): a loop bound one short."""
    if wrong.ndim != 4 or min(wrong.shape[2:]) < 2:
        return []
    inner = wrong[:, :, :-1, :-1]
    last_row, last_col = wrong[:, :, -1, :-1].any(), wrong[:, :, :-1, -1].any()
    if inner.any() or not wrong.any():
        return []
    which = (
        " and ".join(w for w, f in (("row", last_row), ("column", last_col)) if f)
        or "row and column's corner"
    )
    return [
        f"wrong only in the last {which} (all others right): a loop bound one short? "
        "range(H_out) covers every row, and a window's slice is [y·s : y·s + k]"
    ]


def _channels(wrong):
    if wrong.ndim != 4 or wrong.shape[1] < 2:
        return []
    chans = np.flatnonzero(wrong.any(axis=(0, 2, 3)))
    if 0 < len(chans) < wrong.shape[1]:
        return [f"wrong only in channel(s) {_fmt_idx(chans)} of {wrong.shape[1]}"]
    return []


def _precision(err, scale):
    rel = float(np.max(np.abs(err))) / scale
    if 1e-12 < rel < 2e-6:
        return [
            f"right to a relative {rel:.1e} only (a float64 answer agrees to ~1e-15; float32 to ~1e-7): "
            "something inside is float32 (an array made with dtype=np.float32?); compute in the inputs' dtype "
            "(if not: a small term is missing, extra or applied at the wrong moment)"
        ]
    return []


def compare(got, check: Check, hidden=False) -> TensorOutcome:
    """Compare one output with its expected value; on a mismatch, diagnose the pattern.

    ``hidden``: the expected value is the answer to a checkpoint worked by hand (a case with no arguments), so
    the report does not show it, nor the size of the error or a constant factor it could be read back from; a
    named slip is still named."""
    from .sandbox import Opaque

    name, exp = check.name, check.expected
    tol = TOL if check.tol is None else check.tol
    if check.integer:
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            msg = f"{name}: expected an int, got {type(got).__name__} {got!r}"
            if isinstance(got, (float, np.floating)):
                msg += ": a size is a whole number; use floor division //"
            return TensorOutcome(name, False, messages=[msg])
        matches = [m for alt, m, _ in check.variants if int(got) == alt]
        offered = [m for _, m, _ in check.variants]
        if int(got) == int(exp):
            return TensorOutcome(name, True, matches=matches, offered=offered)
        return TensorOutcome(
            name,
            False,
            messages=[
                f"{name}: {got} is not it (worked by hand: the right value is not shown)"
                if hidden
                else f"{name}: expected {exp}, got {got}"
            ],
            matches=matches,
            offered=offered,
            specific=bool(matches),
        )
    if got is None:
        return TensorOutcome(name, False, messages=[f"{name}: your function returned None for it"])
    if isinstance(got, Opaque):
        return TensorOutcome(
            name, False, messages=[f"{name}: cannot be read as an array ({got.type_name} {got.text})"]
        )
    exp = np.asarray(exp)
    try:
        g = np.asarray(got)
    except Exception:  # noqa: BLE001 - a student's object of any kind
        return TensorOutcome(
            name, False, messages=[f"{name}: cannot be read as an array ({type(got).__name__})"]
        )
    if exp.ndim == 0 and g.size == 1:
        g = g.reshape(())  # a scalar returned as a one-element array
    if g.shape != exp.shape:
        msg = f"{name}: shape {g.shape}, expected {exp.shape}"
        if g.size == 0 and exp.size:
            check_empty = "empty: a slice like [p:-p] is empty when p = 0; crop with [p:p + H, p:p + W]"
            return TensorOutcome(name, False, messages=[f"{msg}: {check_empty}"])
        if g.shape in check.shapes:
            msg += f": {check.shapes[g.shape]}"
        elif (
            g.ndim == exp.ndim == 4
            and g.shape[:2] == exp.shape[:2]
            and exp.shape[2] != exp.shape[3]
            and g.shape[2] == g.shape[3] in exp.shape[2:]
        ):
            msg += ": one of the height and the width is used for both (right only for square images)"
        elif g.ndim == exp.ndim and sorted(g.shape) == sorted(exp.shape):
            msg += ": the right sizes in the wrong order: are the axes transposed?"
        elif g.size == exp.size:
            msg += ": the right number of elements: a reshape in the wrong order?"
        return TensorOutcome(name, False, messages=[msg])
    if g.dtype.kind in "iu" and exp.dtype.kind == "f" and np.array_equal(exp, np.round(exp)):
        g = g.astype(
            exp.dtype
        )  # whole numbers typed as ints (a count, a result typed by hand): the values count
    if g.dtype.kind != "f":
        return TensorOutcome(name, False, messages=[f"{name}: dtype {g.dtype}, expected a float array"])
    if g.dtype != exp.dtype and hidden:
        # typed by hand: there is no input precision to keep; the values count, to the precision they were typed in
        tol = max(tol, float(np.finfo(g.dtype).eps) ** (2 / 3))
        g = g.astype(exp.dtype)
    if g.dtype != exp.dtype:
        return TensorOutcome(
            name,
            False,
            messages=[
                f"{name}: dtype {g.dtype}, expected {exp.dtype}: keep the inputs' precision "
                "(an array made with another dtype inside?)"
            ],
        )
    bad = ~np.isfinite(g) & np.isfinite(exp)
    if bad.any():
        msg = f"{name}: {int(bad.sum())} of {bad.size} values are nan or inf (the expected are finite)"
        msgs = [msg] + ([check.nonfinite] if check.nonfinite else [])
        return TensorOutcome(name, False, messages=msgs, specific=bool(check.nonfinite))
    scale = _scale(exp)
    err = g - exp
    wrong = np.abs(err) > tol * scale
    rel = float(np.max(np.abs(err))) / scale if err.size else 0.0
    if not wrong.any():
        return TensorOutcome(name, True, error=err, rel=rel)
    for alt, message, kind in check.variants:
        if _close(g, np.asarray(alt), scale):
            if kind == "convention":
                return TensorOutcome(name, True, convention=message, error=err)
            return TensorOutcome(name, False, messages=[f"{name}: {message}"], error=err, rel=rel)
    for predicate, message in check.accept:
        if predicate(g, exp):
            return TensorOutcome(name, True, convention=message, error=err, rel=rel)
    for alt, message, kind in check.variants:
        alt = np.asarray(alt)
        if (
            kind == "convention"
            and alt.shape == g.shape
            and (np.abs(g - alt) > tol * scale).sum() < wrong.sum()
        ):
            # the answer follows another accepted convention: diagnose it against that one, or the elements
            # the convention changes would be blamed and the real mistake hidden among them
            others = [v for v in check.variants if v[2] != "convention"]
            outcome = compare(got, replace(check, expected=alt, variants=others), hidden)
            outcome.messages.insert(
                0,
                f"{name}: compared with the other accepted convention, the one your answer follows ({message})",
            )
            return outcome
    head = f"{name}: {_where(wrong)}" + (
        "" if hidden else f", largest error {float(np.max(np.abs(err))):.3g}"
    )
    if check.tol is None:
        msgs = _precision(err, scale)
        if msgs:
            return TensorOutcome(name, False, messages=[head] + msgs, error=err)
    msgs = _factor(g, exp, scale, check.factors, hidden) or _symmetries(g, exp, scale)
    if msgs:
        return TensorOutcome(name, False, messages=[f"{name}: {m}" for m in msgs], error=err)
    msgs = _shift(g, exp, wrong, scale)
    if msgs:
        return TensorOutcome(name, False, messages=[f"{name}: {m}" for m in msgs], error=err)
    msgs = [head]
    found = _batch(g, exp, wrong, check.batch, scale)
    for predicate, message in [] if found else check.relations:
        try:
            if predicate(g, exp):
                found = [message]
                break
        except Exception:  # noqa: BLE001, S112 - a relation that does not apply to this answer's values
            continue
    found = found or _last_line(wrong)
    if not found:
        for _region, (mask, message) in check.regions.items():
            mask = np.broadcast_to(mask, wrong.shape)
            if mask.any() and not mask.all() and not (wrong & ~mask).any():
                found = [f"wrong only {message}"]
                break
    found = found or _channels(wrong)
    if not found:
        if exp.ndim >= 1 and np.allclose(
            np.sort(g, axis=-1), np.sort(exp, axis=-1), rtol=0, atol=TOL * scale
        ):
            found = ["the right values in the wrong order along the last axis: check the layout"]
        elif exp.ndim >= 2 and _close(np.sort(g, axis=0), np.sort(exp, axis=0), scale):
            found = ["the right rows in the wrong order: check the row ordering"]
    msgs += found
    return TensorOutcome(name, False, messages=msgs, error=err, specific=len(msgs) > 1, rel=rel)


STRIDED = "inputs not C-contiguous"
NEW_VALUES = "an earlier case's shapes, new values"

TAG_HINTS = {
    NEW_VALUES: "the same shapes and settings as an earlier case, drawn again: a result or an array kept from an "
    "earlier call (a cache keyed by shape, a buffer filled once, statistics computed the first time) gives the "
    "earlier call's values here; compute everything from this call's inputs",
    STRIDED: "an input that is not C-contiguous (a transposed or sliced array, as the network's channels-last "
    "activations are): a new shape set with .shape =, a write through ravel() or reshape(), or strides computed "
    "by hand assume C order; np.reshape copies where it must, np.ascontiguousarray makes a C-ordered copy",
    "padding": "is padding handled (windows start at −padding, zeros outside)?",
    "stride > 1": "is the stride applied (window starts at oh·stride)?",
    "overlapping windows": "windows overlap there: are you assigning (=) instead of accumulating (+=), or "
    "using the stride where the kernel size belongs (right only when they are equal)?",
    "ties": "route each gradient to exactly one maximum of its window",
    "batch of 1": "did something drop or squeeze the batch axis?",
    "every value negative": "every value is negative (a pool with no ReLU before it): the maximum is negative, "
    "so a running maximum that starts at 0, or a shortcut for inputs with no positive value, is wrong there",
    "zero gradient": "the gradient is zero (a flat spot), but the momentum and the weight decay still move v and "
    "w: no shortcut when g is all zeros",
    "zero input": "x is all zeros: dW = doutᵀ·x is zero, but dx = dout·W and db = Σ dout are not",
    "large logits": "for large logits exp overflows or a probability underflows to 0: subtract each row's own "
    "maximum, and take the log of the shifted sum (log-softmax), not of a probability",
    "even size": "for an even size the window is size//2 channels before, (size − 1)//2 after",
    "window wider than the channels": "clip the channel window to [0, C)",
    "beta not 0.75": "is β read from the argument (AlexNet's 0.75 is only the default)?",
    "size not 5": "is the size read from the argument (AlexNet's 5 is only its value there)?",
    "eval mode": "what does each convention do at test time?",
    "training mode": "what does each convention do in training?",
    "weight decay": "the weight decay term: v ← μ·v − λ·ε·w − ε·g",
    "kernel wider than stride": "windows overlap there: are you assigning (=) instead of accumulating (+=), or "
    "using the stride where the kernel size belongs (right only when they are equal)?",
    "uneven coverage": "the output size floors: some rows/columns are never covered",
    "pytorch": "inverted dropout (PyTorch) scales by 1/(1 − p) in training and does nothing at test time",
    "paper": "the paper's dropout keeps values in training and multiplies by 1 − p at test time",
}


@dataclass
class GradeResult:
    """The outcome of :func:`grade`: ``passed``, ``status`` and ``str()`` a short report; :meth:`heatmap`."""

    exercise: str
    status: str  # "passed", "passed up to a convention", "failed", "not implemented yet", "wrong signature"
    cases: list = field(default_factory=list)
    diagnosis: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status.startswith("passed")

    @property
    def messages(self) -> str:
        return "\n".join(self.diagnosis)

    def __bool__(self):
        return self.passed

    def __str__(self):
        n_ok = sum(c.status in ("ok", "convention") for c in self.cases)
        head = f"{self.exercise}: {self.status.upper()}"
        if self.cases:
            head += f" ({n_ok}/{len(self.cases)} cases)"
        lines = [head] + [f"  {d}" for d in self.diagnosis] + [f"  · {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython shows the report, not a dataclass dump
        p.text(str(self))

    def heatmap(self, case=None):
        """A matplotlib figure: ``|error|`` summed over batch and channels, over (H, W), per wrong 4-D output.

        ``case``: a case name or index; by default the first case with a wrong 4-D output. None when
        no such case exists.
        """
        import matplotlib.pyplot as plt

        chosen = None
        for i, c in enumerate(self.cases):
            if case is not None and case not in (i, c.case.name):
                continue
            ts = [t for t in c.tensors if not t.ok and t.error is not None and t.error.ndim == 4]
            if ts:
                chosen = (c, ts)
                break
        if chosen is None:
            return None
        c, ts = chosen
        fig, axes = plt.subplots(1, len(ts), figsize=(3.6 * len(ts), 3.2), squeeze=False)
        for ax, t in zip(axes[0], ts):
            im = ax.imshow(np.abs(t.error).sum(axis=(0, 1)), cmap="magma")
            ax.set_title(f"|error| of {t.name}", fontsize=9)
            ax.set_xlabel("W")
            ax.set_ylabel("H")
            fig.colorbar(im, ax=ax, shrink=0.8)
        fig.suptitle(f"{self.exercise}: {c.case.name}", fontsize=10)
        fig.tight_layout()
        return fig


def _argument(i, names):
    """'argument 2 (dout)': the position, and the parameter's name in the student's own signature if known."""
    return f"argument {i + 1}" + (f" ({names[i]})" if i < len(names) else "")


def _parameter_names(fn) -> list:
    """The names of ``fn``'s positional parameters, in order ([] where they cannot be read)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _raised_hint(message: str) -> list:
    """What a NumPy shape error most often means in these exercises."""
    if "could not be broadcast" in message:
        shapes = [
            tuple(int(d) for d in s.split(",") if d.strip())
            for s in re.findall(r"\(([\d,\s]*)\)", message.split("shapes", 1)[-1])
        ]
        vectors = {s[0] for s in shapes if len(s) == 1}
        if any(len(s) >= 3 and s[1] in vectors for s in shapes):
            return [
                "a (C,) vector against (N, C, H, W): NumPy lines a 1-D array up with the LAST axis; give it the "
                "shape (C, 1, 1) (b[:, None, None]) to add it per channel"
            ]
        return [
            "a reduction without keepdims? x.max(axis=1) has shape (N,) and does not broadcast against (N, C); "
            "x.max(axis=1, keepdims=True) has shape (N, 1)"
        ]
    if "mismatch in its core dimension" in message:
        return [
            "the inner sizes of a matrix product disagree: check each operand's shape (a transpose missing?)"
        ]
    return []


def _outcome(case: Case, call, names=()) -> CaseOutcome:
    """Read one call's ``sandbox.CallResult`` against the case (``names``: the answer's parameter names)."""
    if call.status == "refused":
        names = ", ".join(call.refused) or "alexnet_np"
        return CaseOutcome(
            case,
            "refused",
            messages=[
                f"refused: your function calls the library's own {names} while it is graded; "
                "write it yourself with numpy"
            ],
        )
    if call.status == "not implemented":
        return CaseOutcome(case, "not implemented", messages=["raised NotImplementedError"])
    if call.status != "returned":
        text = call.message if call.status != "raised" else f"raised {call.message}"
        hint = _raised_hint(call.message or "") if call.status == "raised" else []
        return CaseOutcome(case, "raised", messages=[text, *hint])
    got, checks = call.value, case.checks
    single = None  # one array returned where the in-place arrays are read instead
    if case.in_place:
        updated = tuple(call.args_after)
        if got is None:
            got = updated
        elif not isinstance(got, (tuple, list)) and len(updated) == len(checks):
            # the in-place update that also returns its first argument (``return w``): read the updated arrays
            single, got = got, updated
    elif len(checks) == 1 and not isinstance(got, tuple):
        got = (got,)
    if not isinstance(got, (tuple, list)) or len(got) != len(checks):
        names = ", ".join(c.name for c in checks)
        n = len(got) if isinstance(got, (tuple, list)) else 1
        return CaseOutcome(
            case,
            "raised",
            messages=[f"returned {type(got).__name__} ({n} value(s)); expected {len(checks)}: {names}"],
        )
    messages = [
        f"{_argument(i, names)} was changed in place: work on a copy"
        for i in call.mutated
        if i not in case.in_place
    ]
    aliased = [i for i in call.aliased if i not in case.in_place]  # an update in place may return its array
    if call.clobbered or call.shared:
        messages.append(
            "an array your function returned earlier changed during this call: it returns the same "
            "(module-level) array each time; create the output inside the function"
        )
    tensors = [compare(g, c, hidden=not case.args) for g, c in zip(got, checks)]
    if aliased and all(t.ok and not t.convention for t in tensors):
        # right values, in an input's own memory: PyTorch's dropout does the same in eval; said, not failed
        tensors[0].convention = (
            f"convention of returning {_argument(aliased[0], names)} itself (or a view of it) where the output "
            "equals it, as PyTorch's dropout does in eval: whoever writes into the output writes into that input; "
            "the library returns a new array"
        )
    if len(checks) > 1 and not all(t.ok for t in tensors) and _right_in_another_order(got, checks):
        names = ", ".join(c.name for c in checks)
        messages.append(f"the right values in the wrong order: return ({names}), in that order")
    if single is not None and not all(t.ok for t in tensors) and not _same(single, got[0]):
        names = ", ".join(c.name for c in checks)
        messages.append(
            f"returned one array, not {checks[0].name} as it was left: update {names} in place, or return ({names})"
        )
    if messages or not all(t.ok for t in tensors):
        status = "wrong"
    elif any(t.convention for t in tensors):
        status = "convention"
    else:
        status = "ok"
    return CaseOutcome(case, status, tensors, messages)


def _same(a, b):
    """The two results of equal inputs are identical (arrays bit for bit, nan where nan)."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        except TypeError:
            return False
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _right_in_another_order(got, checks) -> bool:
    """Whether the returned values match the expected ones in some other order (w and v swapped)."""
    from itertools import permutations

    for order in permutations(range(len(checks))):
        if list(order) == sorted(order):
            continue
        if all(compare(got[j], c).ok for j, c in zip(order, checks)):
            return True
    return False


def _comparable(value) -> bool:
    """Whether two results can be told equal or not: arrays, numbers, None, and tuples or lists of them (a
    generator or another object made anew in each call is never equal to the last one, state or not)."""
    if isinstance(value, (tuple, list)):
        return all(_comparable(v) for v in value)
    return value is None or isinstance(value, (np.ndarray, np.generic, int, float, complex, bool, str))


def _specific(t: TensorOutcome) -> bool:
    """A wrong tensor whose report names a pattern (not only how many elements are wrong)."""
    return not t.ok and t.specific


def _case_pattern(outcomes, hints=None):
    """A tag shared by every failing case and by no passing case, as a hint."""
    hints = {**TAG_HINTS, **(hints or {})}
    outcomes = [
        o for o in outcomes if not o.case.numeric
    ]  # a central-difference case repeats another's setting
    failing = [o for o in outcomes if o.status in ("wrong", "raised")]
    passing = [o for o in outcomes if o.status in ("ok", "convention")]
    if not failing or not passing:
        return None
    common = set(failing[0].case.tags).intersection(*(o.case.tags for o in failing[1:]))
    order = list(TAG_HINTS)
    tags = sorted(
        (t for t in common if not any(t in o.case.tags for o in passing)),
        key=lambda t: order.index(t) if t in order else len(order),
    )
    if not tags:
        return None
    hint = hints.get(tags[0], "")
    line = f"wrong only in the cases with {tags[0]} (the others pass)" + (f": {hint}" if hint else "")
    if len(tags) > 1:
        line += f" (those cases also share: {', '.join(tags[1:])})"
    return line


def _numeric_line(o: CaseOutcome) -> str:
    parts = []
    for t in o.tensors:
        if t.rel is None:
            parts.append(f"{t.name} not comparable")
        else:
            parts.append(f"{t.name} rel. error {t.rel:.1e} {'ok' if t.ok else 'FAIL'}")
    tol = o.case.checks[0].tol if o.case.checks else None
    return (
        f"central differences on case '{o.case.name}': "
        + ", ".join(parts)
        + f" (a correct answer: < {tol:g})"
    )


def _takes_the_function(numeric) -> bool:
    """The older numeric form, ``fn -> list of notes`` (it calls the student's function itself)."""
    import inspect

    try:
        params = inspect.signature(numeric).parameters.values()
    except (TypeError, ValueError):
        return False
    return (
        sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        == 1
    )


def _legacy_numeric(numeric, box):
    """Run an older-form numeric check with a stand-in that calls the student's function in the child."""

    def through_the_child(*args):
        call = box.call(args)
        if call.status != "returned":
            raise RuntimeError(call.message or call.status)
        return call.value

    try:
        return list(numeric(through_the_child))
    except Exception as e:  # noqa: BLE001 - a student's failure inside the check
        return [f"numerical gradient check not run: {type(e).__name__}: {e}"]


def _strided_twin(cases) -> list:
    """The first case with an array argument of two or more elements, again with its arrays in memory that is not
    C-contiguous (a transposed or sliced array, as the network's channels-last activations are): code that
    reshapes with ``.shape =``, writes through ``ravel()`` or computes strides by hand goes wrong there."""
    for case in cases:
        if not case.numeric and any(isinstance(a, np.ndarray) and a.size > 1 for a in case.args):
            return [replace(case, name=f"{case.name}, {STRIDED}", tags=(*case.tags, STRIDED), strided=True)]
    return []


def settings_ignored(compute, settings, usual, whose):
    """(value, message) pairs for an answer that takes a setting from AlexNet (or a framework's default) instead of
    its argument: ``compute(**settings)`` with one setting replaced by ``usual[name]``, for each setting the case sets
    to another value."""
    right = _as_tuple(compute(**settings))
    out = []
    for name, value in usual.items():
        if settings[name] == value:
            continue
        got = compute(**{**settings, name: value})
        if all(np.array_equal(a, b) for a, b in zip(_as_tuple(got), right)):
            continue  # the setting does not matter here (dropout's p at test time, say): it explains nothing
        message = (
            f"{name} = {value:g} ({whose}) used instead of the argument, {name} = {settings[name]:g}: read {name} "
            "from the argument"
        )
        out.append((got, message))
    return out


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


_DRAW = contextvars.ContextVar("alexnet_np_exercise_draw", default=0)


def case_rng(seed):
    """The generator a case draws its inputs from: ``np.random.default_rng(seed)``, or inside :func:`redrawn`
    another stream for the same seed (the same shapes and settings, other values)."""
    draw = _DRAW.get()
    return np.random.default_rng([seed, draw] if draw else seed)


def redrawn(make_cases, draw=1):
    """``make_cases()`` with every random input drawn again (:func:`case_rng`): the same cases by name, shape and
    setting, with other values and their own expected outputs."""
    token = _DRAW.set(draw)
    try:
        return list(make_cases())
    finally:
        _DRAW.reset(token)


def new_values_twin(cases, again) -> list:
    """The first case of ``cases`` whose twin in ``again`` (:func:`redrawn`: same name) has the same non-array
    arguments and array shapes and dtypes but other values, as a case to run after all the others: an answer that
    keeps a result from an earlier call with those shapes (a cache keyed by shape) fails it. [] if none."""
    by_name = {c.name: c for c in again}
    for case in cases:
        twin = by_name.get(case.name)
        if case.numeric or twin is None or len(twin.args) != len(case.args):
            continue
        pairs = list(zip(case.args, twin.args))
        arrays = [(a, b) for a, b in pairs if isinstance(a, np.ndarray) or isinstance(b, np.ndarray)]
        if not arrays or not all(_same_kind(a, b) for a, b in arrays):
            continue
        if not all(_same_setting(a, b) for a, b in pairs if not isinstance(a, np.ndarray)):
            continue
        if any(not np.array_equal(a, b) for a, b in arrays):
            return [replace(twin, name=f"{case.name}, drawn again", tags=(*twin.tags, NEW_VALUES))]
    return []


def _same_kind(a, b) -> bool:
    return (
        isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
    )


def _same_setting(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - a setting that cannot be compared is not the same
        return False


def grade_cases(
    exercise: str,
    fn,
    cases,
    numeric=None,
    *,
    hints=None,
    allowed=(),
    isolate=True,
    time_limit=20.0,
    last=(),
) -> GradeResult:
    """Run ``fn`` on ``cases`` in a child process (``sandbox.Sandbox``) and read the results.

    ``numeric``: optional ``() -> list of Case`` whose expected values are central differences (they count
    toward the verdict like any case). ``last``: cases run after all the others (:func:`new_values_twin`).
    The first case is called again after all of them, and must give
    the same result (state kept between calls shows there). ``hints``: per-exercise tag hints.
    """
    from .sandbox import Sandbox

    legacy = numeric is not None and _takes_the_function(numeric)
    cases = list(cases) + (list(numeric()) if numeric is not None and not legacy else [])
    cases += _strided_twin(cases) + list(last)
    outcomes, first_value, printed, fresh = [], None, "", None
    names = _parameter_names(fn)
    with Sandbox(fn, time_limit=time_limit, allowed=allowed, isolate=isolate) as box:
        timed_out = None
        for i, case in enumerate(cases):
            if timed_out is not None:  # one endless loop is enough: do not wait the limit again per case
                outcomes.append(
                    CaseOutcome(
                        case, "raised", messages=[f"not run: case '{timed_out}' did not return in time"]
                    )
                )
                continue
            call = box.call(case.args, keep=case.in_place, strided=case.strided)
            if call.status == "timeout":
                timed_out = case.name
            printed = printed or call.printed
            if i == 0:
                first_value = (call.status, call.value, tuple(call.args_after))
            outcomes.append(_outcome(case, call, names))
        if (
            cases
            and first_value[0] == "returned"
            and _comparable(first_value[1])
            and len(cases) > 1
            and timed_out is None
        ):
            # after the other inputs, then once more right away (a buffer kept per shape shows there)
            for _ in range(2):
                again = box.call(cases[0].args, keep=cases[0].in_place)
                same = again.status == "returned" and _same(
                    (again.value, tuple(again.args_after)), first_value[1:]
                )
                if not same or again.clobbered or again.shared:
                    break
            if not same:
                fresh = (
                    f"called again on the inputs of case '{cases[0].name}' (after the other cases), your function "
                    "gave a different result: it keeps state between calls (a module-level array or buffer never "
                    "zeroed, a counter, a random draw); "
                    "each call must start from scratch"
                )
            elif again.clobbered or again.shared:
                fresh = (
                    "called again on equal inputs, your function changed the array it returned the first time: "
                    "it returns one shared (module-level) array; create the output inside the function"
                )
        legacy_notes = _legacy_numeric(numeric, box) if legacy else []
        isolated = box.isolated
    if printed:
        print(f"[{exercise}: your function printed]\n{printed.rstrip()}")
    graded = [o for o in outcomes if o.status != "not implemented"]
    if not graded:
        return GradeResult(
            exercise, "not implemented yet", diagnosis=["write your solution in place of the stub"]
        )
    result = GradeResult(exercise, "passed", outcomes)
    failing = [o for o in outcomes if o.status in ("wrong", "raised", "refused")]
    missing = [o for o in outcomes if o.status == "not implemented"]
    refused = [o for o in outcomes if o.status == "refused"]
    if refused:
        result.status = "failed"
        result.diagnosis += refused[0].messages
    elif failing:
        result.status = "failed"
        # report the first failing case whose error has a recognisable pattern, else the first failing case
        first = next((o for o in failing if any(_specific(t) for t in o.tensors)), failing[0])
        desc = f" [{first.case.describe}]" if first.case.describe else ""
        result.diagnosis.append(f"case '{first.case.name}'{desc}:")
        for m in first.messages:
            result.diagnosis.append(f"  {m}")
        said = set()
        for t in first.tensors:
            for m in t.messages:
                name, _, text = m.partition(": ")
                if text and text in said:  # the same explanation for w and v: say it once, for both
                    k = next(i for i, d in enumerate(result.diagnosis) if d.endswith(": " + text))
                    head, _, _ = result.diagnosis[k].partition(": ")
                    result.diagnosis[k] = f"{head} and {name}: {text}"
                    continue
                said.add(text)
                result.diagnosis.append(f"  {m}")
            if t.matches:  # several explanations fit this case: keep the one the other cases bear out best
                # +1 for each case (passing ones too) where the answer equals this explanation's value, −1 for
                # each where the explanation gives another value than the answer's (it would have failed there)
                votes = [
                    sum(
                        (m in u.matches) - (m in u.offered and m not in u.matches)
                        for o in outcomes
                        for u in o.tensors
                        if u.name == t.name
                    )
                    for m in t.matches
                ]
                result.diagnosis.append(f"  {t.matches[int(np.argmax(votes))]}")
        pattern = _case_pattern([o for o in outcomes if o.status != "not implemented"], hints)
        if pattern:
            result.diagnosis.append(pattern)
        if len(failing) > 1:
            others = [o for o in failing if o is not first]
            result.diagnosis.append("also failing: " + ", ".join(f"'{o.case.name}'" for o in others))
    if fresh:
        result.status = "failed"
        result.diagnosis.append(fresh)
    if missing:
        if result.status == "passed":
            result.status = "partly implemented"
            result.diagnosis.append(
                f"right in the {len(graded)} case(s) it handles: "
                + ", ".join(f"'{o.case.name}'" for o in graded)
            )
        result.diagnosis.append(
            "raised NotImplementedError in: " + ", ".join(f"'{o.case.name}'" for o in missing)
        )
    if result.status == "passed":
        conv = sorted({t.convention for o in outcomes for t in o.tensors if t.convention})
        if conv:
            result.status = "passed up to a convention"
            result.diagnosis += [f"correct up to the {c}" for c in conv]
    for o in outcomes:
        if o.case.numeric and o.tensors:
            result.notes.append(_numeric_line(o))
    if legacy_notes:
        result.notes += legacy_notes
        if any("FAIL" in n or "not run" in n for n in legacy_notes) and result.passed:
            result.status = "failed"
            result.diagnosis.append("the central-difference check fails (see below)")
    if not isolated:
        result.notes.append(
            "run in the grader's own process (isolate=False, or no fork here): not protected from the answer"
        )
    return result
