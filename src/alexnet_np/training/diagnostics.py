"""Training diagnostics: what a run's numbers say before its accuracy does.

The checks of Karpathy's "A recipe for training neural networks" (2019) and CS231n's "babysitting the
learning process", computed from the live layer objects through their public contract
(``model.layers``, ``forward``/``backward``, ``params``/``grads``, ``kink_pattern``):

* :func:`check_initial_loss`: at initialisation a classifier should be unsure, and a uniform softmax over
  K classes has cross-entropy ln K (2.303 for 10 classes). A first loss far from it says the last layer or
  the input is badly scaled before a single step is taken.
* :class:`StepMonitor`: a pair of hooks on the model's own forward and backward pass
  (:meth:`Sequential.hooks <alexnet_np.layers.Sequential.hooks>`: the numbers are those of the model's pass,
  with its input checks and its thread lock, and nothing more is kept alive) that notes, per layer,

  - the mean, standard deviation and RMS of its output (the activations) and of the gradient arriving at
    its output (∂L/∂output), computed so that a float32 overflow in the statistics cannot be mistaken for
    one in the network (:func:`moments`);
  - the *dead fraction* of a gating layer (one whose ``kink_pattern`` is a boolean mask of its input:
    ReLU): the share of units (channel × position, or feature) whose gate stayed shut for every image of
    every step of the epoch — they passed no gradient to anything before them;
  - the update/weight ratio ‖Δw‖ / ‖w‖ of each layer's weight (‖Δw‖ from the optimizer's last update):
    about 1e-3 is healthy (CS231n); 1e-1 is a step too big to trust, 1e-5 a run that barely moves;
  - where a NaN or an infinity *first* appeared: in the input, in the forward pass (the first layer whose
    output is not finite, and whether its own weights already were), or in the backward pass (the first
    layer, counted from the loss down, whose input gradient or parameter gradients are not finite).

Statistics are averaged over the steps of an epoch (:meth:`StepMonitor.end_epoch`) and stored in the
trainer's history under ``"diagnostics"``; :func:`plot_diagnostics` draws them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

_CHUNK = 1 << 20  # elements per float64 chunk: statistics never allocate a float64 copy of a whole array


def expected_initial_loss(num_classes: int) -> float:
    """ln K: the cross-entropy of a uniform softmax over K classes, whatever the label."""
    return math.log(num_classes)


@dataclass
class InitialLossCheck:
    """The first training loss beside ln K; ``ok`` when ``|loss − ln K| <= tolerance · ln K``."""

    loss: float
    num_classes: int
    tolerance: float = 0.25

    @property
    def expected(self) -> float:
        return expected_initial_loss(self.num_classes)

    @property
    def ok(self) -> bool:
        return (
            bool(np.isfinite(self.loss)) and abs(self.loss - self.expected) <= self.tolerance * self.expected
        )

    @property
    def message(self) -> str:
        said = f"initial loss {self.loss:.4f}, expected ln {self.num_classes} = {self.expected:.4f} for a uniform start"
        if self.ok:
            return f"{said}: fine (within {self.tolerance:.0%})"
        if not np.isfinite(self.loss):
            return f"{said}: not finite: the run diverged on its first step"
        hint = (
            "the logits are too large at initialisation (the last layer's weights or the input too big)"
            if self.loss > self.expected
            else "lower than chance before training: are the labels leaking into the input?"
        )
        return f"{said}: off by more than {self.tolerance:.0%}: {hint}"

    def to_dict(self):
        return dict(asdict(self), expected=self.expected, ok=self.ok)


def check_initial_loss(loss, num_classes, tolerance=0.25) -> InitialLossCheck:
    """Compare the first loss of a run with ln(num_classes) (see :class:`InitialLossCheck`)."""
    if num_classes < 2:
        raise ValueError(f"check_initial_loss: need at least 2 classes, got {num_classes}")
    return InitialLossCheck(float(loss), int(num_classes), float(tolerance))


def moments(a):
    """(count, mean, std, rms, finite) of array ``a``.

    The sum is accumulated in float64 (NumPy casts chunk by chunk: no float64 copy of the array); the sum of
    squares is one BLAS dot product in the array's dtype, redone in float64 chunks only when it overflows, so
    huge but finite values are never mistaken for an infinity.
    """
    flat = a.reshape(-1)
    n = flat.size
    if n == 0:
        return 0, math.nan, math.nan, math.nan, True
    total = float(np.sum(flat, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow here is handled just below
        squares = float(np.dot(flat, flat))
    if math.isfinite(total) and not math.isfinite(squares):  # a float32 overflow, or a real inf/NaN
        squares = 0.0
        for start in range(0, n, _CHUNK):
            c = flat[start : start + _CHUNK].astype(np.float64)
            squares += float(np.dot(c, c))
    finite = math.isfinite(total) and math.isfinite(squares)
    if not finite:
        return n, math.nan, math.nan, math.nan, False
    mean = total / n
    return n, mean, math.sqrt(max(squares / n - mean * mean, 0.0)), math.sqrt(squares / n), True


def norm(a) -> float:
    """‖a‖₂ accumulated in float64 (a float32 dot product overflows for entries above ~1e19)."""
    n, _, _, rms, _ = moments(a)
    return rms * math.sqrt(n) if n else 0.0


def _finite(a) -> bool:
    return bool(np.isfinite(np.sum(a, dtype=np.float64)))  # NaN and ±inf survive a sum


def _gate(layer, x):
    """The layer's gate on input ``x`` (True: open) if it has one (ReLU), else None."""
    pattern = layer.kink_pattern(x)
    if isinstance(pattern, np.ndarray) and pattern.dtype == bool and pattern.shape == x.shape:
        return pattern
    return None


@dataclass
class NonFinite:
    """Where a NaN or an infinity first appeared in a step."""

    phase: str  # "forward" or "backward"
    layer: str  # a layer name, "input" (the data) or "loss" (the gradient of the loss)
    detail: str = ""

    def __str__(self):
        return f"the {self.phase} pass, at layer {self.layer}" + (f" ({self.detail})" if self.detail else "")


class StepMonitor:
    """Forward and backward of a :class:`~alexnet_np.layers.Sequential` one layer at a time, with statistics.

    >>> import numpy as np, alexnet_np as an
    >>> from alexnet_np.training.optim import SGD
    >>> model = an.AlexNet("mini", num_classes=10, seed=0)
    >>> loss_fn, optimizer = an.CrossEntropyLoss(), SGD(model.params, model.grads, lr=0.01)
    >>> x, y = np.random.default_rng(0).standard_normal((4, 3, 31, 31), dtype=np.float32), np.arange(4)
    >>> monitor = StepMonitor(model)
    >>> logits = monitor.forward(x, train=True)                  # x: (N, 3, H, W) -> (N, K)
    >>> loss = loss_fn.forward(logits, y); monitor.backward(loss_fn.backward())
    >>> norms = monitor.weight_norms(); optimizer.step(); monitor.record_update(optimizer, norms)
    >>> sorted(monitor.end_epoch())
    ['activations', 'dead', 'gradients', 'update_ratio']

    ``first_non_finite`` is None or the :class:`NonFinite` of the last step. With ``keep=True`` the last
    step's arrays stay readable: ``activations`` {name: output} and ``gradients`` {name: ∂L/∂output} (for
    pictures of one step; a training run keeps nothing beyond what the layers cache).
    """

    def __init__(self, model, keep=False):
        self.model, self.keep = model, keep
        self.first_non_finite: NonFinite | None = None
        self.activations: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self._first = True  # the first forward looks for gating layers
        self._gating = None  # names of the layers with a gate, found on the first forward (a max pool's
        # kink_pattern is a whole pooling pass: asked once, not every step)
        self._reset()

    def _reset(self):
        self._sums: dict[str, dict[str, list]] = {"activations": {}, "gradients": {}, "update_ratio": {}}
        self._open: dict[str, np.ndarray] = {}  # per gating layer: was each unit's gate ever open this epoch
        self.steps = 0

    def _note(self, group, name, a):
        _, mean, std, rms, finite = moments(a)
        self._sums[group].setdefault(name, []).append((mean, std, rms))
        return finite

    def forward(self, x, train=True):
        """x: (N, ...) -> the model's output, by the model's own forward; statistics and finiteness noted."""
        self.first_non_finite = None
        self.steps += 1
        if not _finite(x):
            self.first_non_finite = NonFinite("forward", "input", "the data hold NaN or inf")
        self._first = self._gating is None
        if self._first:
            self._gating = set()
        with self.model.hooks(forward=self._after_forward):
            return self.model.forward(x, train=train)

    def backward(self, dlogits):
        """Backward from ∂L/∂logits by the model's own backward (the first layer with ``input_grad=False``)."""
        if not _finite(dlogits) and self.first_non_finite is None:
            self.first_non_finite = NonFinite("backward", "loss", "∂L/∂logits")
        with self.model.hooks(backward=self._after_backward):
            return self.model.backward(dlogits, input_grad=False)

    def _after_forward(self, name, layer, x, y):
        """The forward hook: the gate of a gating layer (from its input x), then its output's statistics."""
        gate = _gate(layer, x) if self._first or name in self._gating else None
        if gate is not None:
            self._gating.add(name)
            opened = gate.any(axis=0)  # open for at least one image of the batch
            seen = self._open.get(name)
            self._open[name] = opened if seen is None or seen.shape != opened.shape else seen | opened
        if self.keep:
            self.activations[name] = y
        if not self._note("activations", name, y) and self.first_non_finite is None:
            bad = [k for k, p in layer.params.items() if not _finite(p)]
            if bad:
                detail = f"its {', '.join(bad)} already held NaN or inf: an earlier update overflowed"
            elif layer.params:
                largest = max(float(np.max(np.abs(p))) for p in layer.params.values())
                detail = f"its input and parameters were finite, the largest |parameter| {largest:.1e}"
            else:
                detail = "its input was finite"
            self.first_non_finite = NonFinite("forward", name, detail)

    def _after_backward(self, name, layer, dout, dx):
        """The backward hook: ∂L/∂(this layer's output) noted; its gradients and dx checked for NaN/inf."""
        self._note("gradients", name, dout)
        if self.keep:
            self.gradients[name] = dout
        if self.first_non_finite is None:
            bad = [k for k, g in layer.grads.items() if not _finite(g)]
            if dx is not None and not _finite(dx):
                bad.append("∂L/∂input")
            if bad:
                self.first_non_finite = NonFinite("backward", name, ", ".join(bad) + " not finite")

    def weight_norms(self):
        """{layer: ‖weight‖} for every layer with a weight, before the optimizer's step."""
        return {
            name: norm(layer.params["weight"])
            for name, layer in self.model.layers.items()
            if "weight" in layer.params
        }

    def record_update(self, optimizer, norms_before):
        """Note ‖Δw‖ / ‖w‖ per layer for the step ``optimizer`` just took (``norms_before``: weight_norms())."""
        for name, before in norms_before.items():
            change = optimizer.update_norm(f"{name}.weight")
            self._sums["update_ratio"].setdefault(name, []).append(
                change / before if before > 0 else math.nan
            )

    def end_epoch(self):
        """The epoch's statistics (means over its steps), then a fresh start for the next epoch."""

        def mean(rows, i):
            return float(np.mean([r[i] for r in rows]))

        out = {
            group: {
                name: dict(mean=mean(rows, 0), std=mean(rows, 1), rms=mean(rows, 2))
                for name, rows in table.items()
            }
            for group, table in self._sums.items()
            if group != "update_ratio"
        }
        out["update_ratio"] = {name: float(np.mean(v)) for name, v in self._sums["update_ratio"].items()}
        out["dead"] = {name: float(1.0 - opened.mean()) for name, opened in self._open.items()}
        self._reset()
        return out


def plot_diagnostics(history, axes):
    """Draw, per epoch, the update/weight ratio, the activations' std, the gradient RMS at each weighted
    layer's output and the dead fraction of each gating layer, on four ``axes``. Returns the axes."""
    records = [h for h in history if "diagnostics" in h]
    if not records:
        return axes
    epochs = [h["epoch"] for h in records]
    last = records[-1]["diagnostics"]
    weighted = list(last["update_ratio"])
    panels = (
        ("update_ratio", lambda d, n: d["update_ratio"].get(n), weighted, "‖Δw‖ / ‖w‖ per step", True),
        ("activations", lambda d, n: d["activations"][n]["std"], weighted, "std of the layer's output", True),
        ("gradients", lambda d, n: d["gradients"][n]["rms"], weighted, "RMS of ∂L/∂output", True),
        (
            "dead",
            lambda d, n: d["dead"].get(n),
            list(last["dead"]),
            "dead fraction (gate shut all epoch)",
            False,
        ),
    )
    for ax, (_, get, names, label, log) in zip(axes, panels):
        for name in names:
            ax.plot(epochs, [get(h["diagnostics"], name) for h in records], "o-", ms=3, label=name)
        if log:
            ax.set_yscale("log")
        if label.startswith("‖Δw‖"):
            ax.axhline(1e-3, color="k", ls=":", lw=1, label="1e-3 (healthy)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize=6, ncol=2)
    return axes
