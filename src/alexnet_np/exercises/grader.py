"""The grader: run a student's function on awkward cases, compare with the library in float64, say *where* it is wrong.

A diagnosis is read from the error's pattern, never from the student's code:

1. shape, dtype, finiteness (a clear message before any number);
2. whole-array relations: the sign flipped, a constant factor (and what that factor means for this exercise),
   the expected array transposed or flipped, the right values in the wrong order;
3. named alternatives the case computes (a documented convention such as the last maximum of a pool tie,
   or a classic slip such as PyTorch's momentum form): matching one of them names it;
4. where the wrong elements are: only in the border rows/columns, only where windows overlap, only at tied
   maxima, only in the first/last channels, only at the labels' positions;
5. across cases: wrong only in the cases with padding, with stride > 1, with a batch of one, ...

Tolerances come from the dtype: float64 results agree with the reference to
``TOL = eps ** (2/3)`` (about 4e-11) relative to the array's largest value; a mistake lands orders above.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

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


@dataclass
class Case:
    """One run of the student's function: positional arguments, the expected outputs and their checks."""

    name: str
    args: tuple
    checks: list  # one Check per output, in the order the function returns them
    tags: tuple = ()
    describe: str = ""
    in_place: tuple = ()  # indices of arguments the function is meant to update in place (SGD)


@dataclass
class TensorOutcome:
    name: str
    ok: bool
    convention: str | None = None
    messages: list = field(default_factory=list)
    error: np.ndarray | None = None  # got − expected, when the shapes agree
    matches: list = field(default_factory=list)  # the named alternatives this answer equals
    specific: bool = True  # the report names a pattern, not only how many elements are wrong


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


def _factor(got, exp, scale, factors):
    denom = float(np.sum(exp * exp))
    if denom == 0:
        return []
    c = float(np.sum(got * exp)) / denom
    if abs(c - 1) < 1e-6 or not _close(got, c * exp, scale * max(1.0, abs(c))):
        return []
    if abs(c + 1) < 1e-9:
        return ["sign flipped: your answer is exactly −1 × the expected one"]
    for value, message in factors:
        if abs(c - value) <= 1e-9 * max(1.0, abs(value)):
            return [f"off by a constant factor {c:.6g}: {message}"]
    return [
        f"off by a constant factor {c:.6g} everywhere: a scale (a mean, a learning rate, 1 − p) applied wrongly?"
    ]


def compare(got, check: Check) -> TensorOutcome:
    """Compare one output with its expected value; on a mismatch, diagnose the pattern."""
    name, exp = check.name, check.expected
    if check.integer:
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            msg = f"{name}: expected an int, got {type(got).__name__} {got!r}"
            if isinstance(got, (float, np.floating)):
                msg += ": a size is a whole number; use floor division //"
            return TensorOutcome(name, False, messages=[msg])
        if int(got) == int(exp):
            return TensorOutcome(name, True)
        matches = [m for alt, m, _ in check.variants if int(got) == alt]
        return TensorOutcome(
            name,
            False,
            messages=[f"{name}: expected {exp}, got {got}"],
            matches=matches,
            specific=bool(matches),
        )
    if got is None:
        return TensorOutcome(name, False, messages=[f"{name}: your function returned None for it"])
    exp = np.asarray(exp)
    try:
        g = np.asarray(got)
    except Exception:  # noqa: BLE001 - a student's object of any kind
        return TensorOutcome(
            name, False, messages=[f"{name}: cannot be read as an array ({type(got).__name__})"]
        )
    if g.shape != exp.shape:
        msg = f"{name}: shape {g.shape}, expected {exp.shape}"
        if g.shape in check.shapes:
            msg += f": {check.shapes[g.shape]}"
        elif g.ndim == exp.ndim and sorted(g.shape) == sorted(exp.shape):
            msg += ": the right sizes in the wrong order: are the axes transposed?"
        elif g.size == exp.size:
            msg += ": the right number of elements: a reshape in the wrong order?"
        return TensorOutcome(name, False, messages=[msg])
    if g.dtype.kind != "f":
        return TensorOutcome(name, False, messages=[f"{name}: dtype {g.dtype}, expected a float array"])
    if g.dtype != exp.dtype:
        return TensorOutcome(
            name,
            False,
            messages=[f"{name}: dtype {g.dtype}, expected {exp.dtype}: keep the inputs' precision"],
        )
    bad = ~np.isfinite(g) & np.isfinite(exp)
    if bad.any():
        return TensorOutcome(
            name,
            False,
            messages=[
                f"{name}: {int(bad.sum())} of {bad.size} values are nan or inf (the expected are finite)"
            ],
            specific=False,
        )
    scale = _scale(exp)
    err = g - exp
    wrong = np.abs(err) > TOL * scale
    if not wrong.any():
        return TensorOutcome(name, True, error=err)
    for alt, message, kind in check.variants:
        if _close(g, np.asarray(alt), scale):
            if kind == "convention":
                return TensorOutcome(name, True, convention=message, error=err)
            return TensorOutcome(name, False, messages=[f"{name}: {message}"], error=err)
    msgs = _factor(g, exp, scale, check.factors) or _symmetries(g, exp, scale)
    if msgs:
        return TensorOutcome(name, False, messages=[f"{name}: {m}" for m in msgs], error=err)
    msgs = _shift(g, exp, wrong, scale)
    if msgs:
        return TensorOutcome(name, False, messages=[f"{name}: {m}" for m in msgs], error=err)
    msgs = [f"{name}: {_where(wrong)}, largest error {float(np.max(np.abs(err))):.3g}"]
    for _region, (mask, message) in check.regions.items():
        mask = np.broadcast_to(mask, wrong.shape)
        if mask.any() and not mask.all() and not (wrong & ~mask).any():
            msgs.append(f"wrong only {message}")
            break
    else:
        if exp.ndim >= 1 and np.allclose(
            np.sort(g, axis=-1), np.sort(exp, axis=-1), rtol=0, atol=TOL * scale
        ):
            msgs.append("the right values in the wrong order along the last axis: check the layout")
        elif exp.ndim >= 2 and _close(np.sort(g, axis=0), np.sort(exp, axis=0), scale):
            msgs.append("the right rows in the wrong order: check the row ordering")
    return TensorOutcome(name, False, messages=msgs, error=err, specific=len(msgs) > 1)


TAG_HINTS = {
    "padding": "is padding handled (windows start at −padding, zeros outside)?",
    "stride > 1": "is the stride applied (window starts at oh·stride)?",
    "overlapping windows": "windows overlap there: are you accumulating (+=)?",
    "ties": "route each gradient to exactly one maximum of its window",
    "batch of 1": "did something drop or squeeze the batch axis?",
    "large logits": "overflow for large logits: subtract each row's maximum before exp",
    "even size": "for an even size the window is size//2 channels before, (size − 1)//2 after",
    "window wider than the channels": "clip the channel window to [0, C)",
    "eval mode": "what does each convention do at test time?",
    "training mode": "what does each convention do in training?",
    "weight decay": "the weight decay term: v ← μ·v − λ·ε·w − ε·g",
    "kernel wider than stride": "windows overlap there: are you accumulating (+=)?",
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


def _run_case(fn, case: Case) -> CaseOutcome:
    args = copy.deepcopy(case.args)
    originals = copy.deepcopy(case.args)
    try:
        with np.errstate(all="ignore"):  # an overflow shows up in the report as nan/inf, with its cause
            got = fn(*args)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any student error becomes a message
        return CaseOutcome(case, "raised", messages=[f"raised {type(e).__name__}: {e}"])
    checks = case.checks
    if case.in_place:
        if got is None:
            got = tuple(args[i] for i in case.in_place)
    elif len(checks) == 1 and not isinstance(got, tuple):
        got = (got,)
    if not isinstance(got, (tuple, list)) or len(got) != len(checks):
        names = ", ".join(c.name for c in checks)
        return CaseOutcome(
            case,
            "raised",
            messages=[f"returned {type(got).__name__}; expected {len(checks)} value(s): {names}"],
        )
    messages = []
    for i, a in enumerate(args):
        if i in case.in_place or not isinstance(a, np.ndarray):
            continue
        if not np.array_equal(a, originals[i], equal_nan=True):
            messages.append(f"argument {i + 1} was changed in place: work on a copy")
    tensors = [compare(g, c) for g, c in zip(got, checks)]
    if messages or not all(t.ok for t in tensors):
        status = "wrong"
    elif any(t.convention for t in tensors):
        status = "convention"
    else:
        status = "ok"
    return CaseOutcome(case, status, tensors, messages)


def _specific(t: TensorOutcome) -> bool:
    """A wrong tensor whose report names a pattern (not only how many elements are wrong)."""
    return not t.ok and t.specific


def _case_pattern(outcomes):
    """A tag shared by every failing case and by no passing case, as a hint."""
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
    hint = TAG_HINTS.get(tags[0], "")
    line = f"wrong only in the cases with {tags[0]} (the others pass)" + (f": {hint}" if hint else "")
    if len(tags) > 1:
        line += f" (those cases also share: {', '.join(tags[1:])})"
    return line


def grade_cases(exercise: str, fn, cases, numeric=None) -> GradeResult:
    """Run ``fn`` on ``cases``; ``numeric``: optional ``fn -> list of note strings`` (a gradient check)."""
    try:
        outcomes = [_run_case(fn, c) for c in cases]
    except NotImplementedError:
        return GradeResult(
            exercise, "not implemented yet", diagnosis=["write your solution in place of the stub"]
        )
    result = GradeResult(exercise, "passed", outcomes)
    failing = [o for o in outcomes if o.status in ("wrong", "raised")]
    if failing:
        result.status = "failed"
        # report the first failing case whose error has a recognisable pattern, else the first failing case
        first = next((o for o in failing if any(_specific(t) for t in o.tensors)), failing[0])
        desc = f" [{first.case.describe}]" if first.case.describe else ""
        result.diagnosis.append(f"case '{first.case.name}'{desc}:")
        for m in first.messages:
            result.diagnosis.append(f"  {m}")
        for t in first.tensors:
            for m in t.messages:
                result.diagnosis.append(f"  {m}")
            if t.matches:  # several explanations fit this case: keep the one most failing cases share
                votes = [
                    sum(m in u.matches for o in failing for u in o.tensors if u.name == t.name)
                    for m in t.matches
                ]
                result.diagnosis.append(f"  {t.matches[int(np.argmax(votes))]}")
        pattern = _case_pattern(outcomes)
        if pattern:
            result.diagnosis.append(pattern)
        if len(failing) > 1:
            others = [o for o in failing if o is not first]
            result.diagnosis.append("also failing: " + ", ".join(f"'{o.case.name}'" for o in others))
    else:
        conv = sorted({t.convention for o in outcomes for t in o.tensors if t.convention})
        if conv:
            result.status = "passed up to a convention"
            result.diagnosis += [f"correct up to the {c}" for c in conv]
    if numeric is not None:
        try:
            result.notes += numeric(fn)
        except Exception as e:  # noqa: BLE001
            result.notes.append(f"numerical gradient check not run: {type(e).__name__}: {e}")
    return result
