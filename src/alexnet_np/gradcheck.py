"""Gradient checking: analytic backward passes against central differences, in float64.

For a layer ``y = f(x)`` and a random upstream gradient ``dout``, the scalar
``L(x) = Σ f(x) · dout`` has ``∂L/∂x = backward(dout)``. Central differences estimate it as

    ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / (2h),   error O(h²) + O(ε/h)

which is why the check runs in float64 (ε = ``np.finfo(dtype).eps``, the machine epsilon: 2.2e-16 in
float64; in float32 its 1.2e-7 swamps the result).

Two errors are reported per tensor:

* ``rel_error = ‖a − b‖ / (‖a‖ + ‖b‖)`` (norm-based, the headline number);
* ``max_rel_error = max_i |a_i − b_i| / max(|a_i| + |b_i|, 1e-8)`` (CS231n's, elementwise).

What makes a naive check fail, and how this module handles it:

* dropout draws a new mask per forward: every generator a layer holds (``layer.rng``) is
  rewound to the same state before each evaluation, so all evaluations share one mask;
* ReLU kinks and max-pool ties: :func:`kink_free_input` gives inputs that are all distinct,
  of both signs, and at least a margin ≫ h away from 0 and from each other; and every evaluation
  is checked to sit on the same smooth piece as the centre (the same ReLU signs and pool argmaxes,
  :func:`kink_patterns`), so a step across a kink raises :class:`KinkCrossed` instead of passing or
  failing by luck. :func:`kink_margins` measures how far a network's activations are from a kink.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass

import numpy as np

from . import layers as L
from .layers import CrossEntropyLoss
from .model import AlexNet

# A correct backward pass checks far below these in float64 (measured: 6e-11 to 9e-9 per layer; 3e-9 to 2e-8 for
# the single tower along network_check's three directions); a wrong one lands far above (1e-2 to 1).
LAYER_TOL = 1e-7  # relative error of one layer's tensors (central differences, h = 1e-6)
NETWORK_TOL = 1e-6  # relative error of a whole network's directional derivative (h = 1e-5)


def rel_error(a, b) -> float:
    """‖a − b‖ / (‖a‖ + ‖b‖); 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


ROUNDING_TOL = float(np.finfo(np.float64).eps ** (2 / 3))  # about 3.7e-11: float64 rounding after a few sums


def same(a, b, tol=ROUNDING_TOL) -> bool:
    """Equal shapes, and equal values up to float64 rounding: ``|a − b| ≤ tol · max(1, max|b|)`` everywhere.

    For comparing a derived formula with the library's backward on a worked example (both float64); the
    tolerance is relative to the largest absolute value of ``b``, so one large entry cannot hide a wrong small one
    beyond rounding of the largest.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol * max(1.0, np.abs(b).max(initial=0.0))))


def max_rel_error(a, b) -> float:
    """CS231n's elementwise relative error: ``max |a − b| / max(|a| + |b|, 1e-8)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def kink_free_input(shape, rng, scale=1.0):
    """Random values, all distinct, of both signs, none near zero: safe for ReLU and max-pool checks.

    The m values are the nonzero integers −⌊m/2⌋ … −1, 1 … m − ⌊m/2⌋ in random order, times
    ``scale / (m/2)``: neighbours differ by at least ``2·scale/m`` and ``|x| ≥ 2·scale/m``,
    both far larger than a finite-difference step h ~ 1e-6 for the shapes a check uses.
    """
    m = int(np.prod(shape))
    values = np.arange(m, dtype=np.float64) - m // 2
    values[values >= 0] += 1
    return (scale * rng.permutation(values) / (m / 2)).reshape(shape)


def _generators(layer):
    found = []
    if hasattr(layer, "rng") and isinstance(layer.rng, np.random.Generator):
        found.append(layer.rng)
    for sub in getattr(layer, "layers", {}).values():
        found.extend(_generators(sub))
    return found


class _FrozenRandomness:
    """Rewinds every generator of a layer to the state it had at construction."""

    def __init__(self, layer):
        self.gens = _generators(layer)
        self.states = [copy.deepcopy(g.bit_generator.state) for g in self.gens]

    def rewind(self):
        for g, s in zip(self.gens, self.states):
            g.bit_generator.state = copy.deepcopy(s)


def numerical_gradient(f, x, dout, h=1e-6):
    """Central-difference gradient of ``Σ f(x)·dout`` with respect to ``x`` (changed in place, restored)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array to perturb in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.sum(f() * dout)
        flat[i] = old - h
        minus = np.sum(f() * dout)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


@dataclass
class GradCheckResult:
    """One tensor's check: its name and shape, and the two relative errors."""

    tensor: str
    shape: tuple
    rel_error: float
    max_rel_error: float

    def __str__(self):
        return (
            f"{self.tensor:<8} {str(self.shape):<18} rel {self.rel_error:.2e}  "
            f"max-elementwise {self.max_rel_error:.2e}"
        )


def _require_float64(what, *arrays):
    for a in arrays:
        if a.dtype != np.float64:
            raise TypeError(
                f"{what}: gradient checks run in float64 (got {a.dtype}); use .astype(np.float64)"
            )


def check_layer(layer, x, *, train=True, h=1e-6, rng=None, params=True, guard_kinks=True):
    """Check a layer's input gradient and every parameter gradient against central differences.

    Args:
        layer: a float64 layer (``layer.astype(np.float64)``); x: a float64 input.
        train: the mode of the forward passes (dropout masks are frozen across them).
        rng: a Generator for the upstream gradient ``dout ~ N(0, 1)``.
        guard_kinks: raise :class:`KinkCrossed` when an evaluation leaves the centre's smooth piece (the
            default); False computes the meaningless number anyway (notebook 3 shows one).
    Returns:
        ``{"input": GradCheckResult, "weight": ..., "bias": ...}`` (the layer's parameter names).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    _require_float64(repr(layer), x, *layer.params.values())
    x = np.array(x, dtype=np.float64, copy=True)
    frozen = _FrozenRandomness(layer)

    def pattern():
        frozen.rewind()
        if hasattr(layer, "layers"):
            return kink_patterns(layer, x, train)
        return {"": layer.kink_pattern(x)}

    centre = pattern()

    def run():
        frozen.rewind()
        y = layer.forward(x, train=train)
        for name, p in pattern().items() if guard_kinks else ():  # every evaluation on the same smooth piece
            if not np.array_equal(p, centre[name]):
                raise KinkCrossed(
                    f"check_layer({layer!r}): a step of h={h:g} crosses a kink "
                    f"{'of layer ' + name if name else ''} (a ReLU changed sign or a pool "
                    f"window its maximum); use gradcheck.kink_free_input or a smaller h"
                )
        frozen.rewind()
        return layer.forward(x, train=train) if hasattr(layer, "layers") else y

    dout = rng.standard_normal(run().shape)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    if not np.array_equal(dout, dout_copy):
        raise AssertionError(f"{layer!r}: backward wrote into dout")
    analytic = {"input": dx.copy()}
    analytic.update({k: g.copy() for k, g in layer.grads.items()})

    numeric = {"input": numerical_gradient(run, x, dout, h)}
    if params:
        for name, p in layer.params.items():
            numeric[name] = numerical_gradient(run, p, dout, h)
    return {
        name: GradCheckResult(
            name,
            analytic[name].shape,
            rel_error(analytic[name], numeric[name]),
            max_rel_error(analytic[name], numeric[name]),
        )
        for name in numeric
    }


def check_loss(loss, logits, labels, *, h=1e-6):
    """Check ``loss.backward()`` against central differences of ``loss.forward(logits, labels)``."""
    _require_float64("CrossEntropyLoss", logits)
    logits = np.array(logits, dtype=np.float64, copy=True)
    loss.forward(logits, labels)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: np.asarray(loss.forward(logits, labels)), logits, 1.0, h)
    return {
        "input": GradCheckResult(
            "input", logits.shape, rel_error(analytic, numeric), max_rel_error(analytic, numeric)
        )
    }


# ---- kinks: where a comparison of gradients is only luck ------------------------------------

# Two float64 computations of the same network (ours and PyTorch's, or two thread counts) differ by far
# less than this, relative to a layer's input scale: a kink that keeps this margin cannot flip between them.
KINK_MARGIN_FLOAT64 = 1e-9


def _layer_inputs(model, x, train=False):
    """(name, layer, the input it received) for every layer of a Sequential, in order."""
    _, outputs = model.forward(x, train=train, return_activations=True)
    inputs = [x] + list(outputs.values())[:-1]
    return [(name, layer, inp) for (name, layer), inp in zip(model.layers.items(), inputs)]


def kink_margins(model, x, train=False):
    """{layer name: relative distance of its input to the nearest kink} for the layers that have kinks.

    A ReLU's margin is ``min |input| / max |input|``; a max pool's the smallest gap between a window's two
    largest values over the same scale (ties of exact zeros excluded: see ``MaxPool2d.kink_margin``).
    Gradients of ``model`` at ``x`` can be compared between two implementations only where every margin
    is well above their relative rounding difference (:data:`KINK_MARGIN_FLOAT64` in float64).
    """
    frozen = _FrozenRandomness(model)
    frozen.rewind()
    margins = {}
    for name, layer, inp in _layer_inputs(model, x, train):
        m = layer.kink_margin(inp)
        if np.isfinite(m):
            scale = float(np.max(np.abs(inp))) or 1.0
            margins[name] = m / scale
    frozen.rewind()
    return margins


def kink_patterns(model, x, train=False):
    """{layer name: what decides its derivative} (ReLU signs, pool argmaxes): equal patterns at two points
    mean the network is one smooth piece between them, so a finite difference across them is exact to O(h²)."""
    return {
        name: p
        for name, layer, inp in _layer_inputs(model, x, train)
        if (p := layer.kink_pattern(inp)) is not None
    }


class KinkCrossed(AssertionError):
    """A finite difference stepped across a ReLU kink or a max-pool tie: its result says nothing."""


def directional_check(model, x, labels, loss, *, n_directions=3, h=1e-5, train=True, rng=None):
    """Whole-network check along random directions (cheap where per-element differences are not).

    For a random unit direction ``u`` over (input, every parameter) the analytic directional
    derivative ``⟨∇L, u⟩`` is compared with ``(L(θ + h·u) − L(θ − h·u)) / 2h``.
    Returns a list of ``(analytic, numeric, relative error)`` per direction, with the relative
    error ``|a − n| / (|a| + |n|)``. For a Sequential, every direction is checked to stay on one smooth
    piece of the network (the same ReLU signs and pool argmaxes at θ − h·u, θ and θ + h·u); a step that
    crosses a kink raises :class:`KinkCrossed` instead of reporting a meaningless error.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    _require_float64(type(model).__name__, x, *model.params.values())
    x = np.array(x, dtype=np.float64, copy=True)
    frozen = _FrozenRandomness(model)

    def value():
        frozen.rewind()
        return loss.forward(model.forward(x, train=train), labels)

    def pattern():
        frozen.rewind()
        return kink_patterns(model, x, train)

    value()
    dx = model.backward(loss.backward())
    tensors = [x] + list(model.params.values())
    grads = [dx] + [g.copy() for g in model.grads.values()]
    results = []
    for _ in range(n_directions):
        dirs = [rng.standard_normal(t.shape) for t in tensors]
        norm = np.sqrt(sum(float(np.sum(d * d)) for d in dirs))
        dirs = [d / norm for d in dirs]
        analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs))
        centre = pattern()
        for t, d in zip(tensors, dirs):
            t += h * d
        plus, at_plus = value(), pattern()
        for t, d in zip(tensors, dirs):
            t -= 2 * h * d
        minus, at_minus = value(), pattern()
        for t, d in zip(tensors, dirs):
            t += h * d
        for name, p in centre.items():
            if not (np.array_equal(p, at_plus[name]) and np.array_equal(p, at_minus[name])):
                raise KinkCrossed(
                    f"directional_check: the step h={h:g} crosses a kink of layer {name} "
                    f"(a ReLU changed sign or a pool window changed its maximum); use another seed "
                    f"or a smaller h"
                )
        numeric = (plus - minus) / (2 * h)
        denom = abs(analytic) + abs(numeric)
        results.append((analytic, numeric, 0.0 if denom == 0 else abs(analytic - numeric) / denom))
    return results


# ---- every layer type, checked the same way by the tests, the CLI and the notebooks ---------


def layer_catalogue(rng, dtype=np.float64):
    """{name: (layer, input shape)}: one small, awkward configuration of every layer type, in ``dtype``."""
    f64 = dict(dtype=dtype)
    return {
        "Conv2d": (L.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, rng=rng, **f64), (2, 4, 7, 6)),
        "Conv2d groups=2": (
            L.Conv2d(4, 6, 3, stride=2, padding=(0, 1), groups=2, rng=rng, **f64),
            (1, 4, 7, 8),
        ),
        "Linear": (L.Linear(7, 5, rng=rng, **f64), (3, 7)),
        "MaxPool2d 3/2": (L.MaxPool2d(3, 2), (2, 3, 9, 7)),
        "MaxPool2d padded": (L.MaxPool2d((3, 2), stride=(2, 1), padding=1), (1, 2, 6, 5)),
        "AdaptiveAvgPool2d": (L.AdaptiveAvgPool2d((4, 3)), (2, 3, 9, 7)),
        "LocalResponseNorm paper": (L.LocalResponseNorm(5, alpha=0.05), (2, 7, 3, 3)),
        "LocalResponseNorm pytorch": (
            L.LocalResponseNorm(4, alpha=0.3, beta=0.6, k=1.0, convention="pytorch"),
            (1, 6, 3, 2),
        ),
        "ReLU": (L.ReLU(), (3, 4, 2, 2)),
        "Tanh": (L.Tanh(), (3, 5)),
        "Flatten": (L.Flatten(), (2, 3, 2, 2)),
        "Dropout": (L.Dropout(0.5, rng=rng), (4, 6)),
        "Dropout paper": (L.Dropout(0.3, rng=rng, convention="paper"), (4, 6)),
        "BatchNorm2d": (L.BatchNorm2d(3, **f64), (4, 3, 2, 3)),
        "BatchNorm1d": (L.BatchNorm1d(5, **f64), (6, 5)),
    }


def check_all_layers(seed=7, names=None, train=True):
    """Gradient-check every layer of :func:`layer_catalogue` (and the loss) -> {name: {tensor: result}}."""
    out = {}
    rng = np.random.default_rng(seed)
    for name, (layer, shape) in layer_catalogue(rng).items():
        if names is None or name in names:
            out[name] = check_layer(layer, kink_free_input(shape, rng, scale=2.0), train=train, rng=rng)
    if names is None or "CrossEntropyLoss" in names:
        logits = rng.standard_normal((5, 7)) * 30  # large: exercises the max-shift
        out["CrossEntropyLoss"] = check_loss(CrossEntropyLoss(), logits, rng.integers(0, 7, size=5))
    return out


def network_check(variant="single_tower", n_directions=3, seed=0):
    """:func:`directional_check` of a whole float64 AlexNet on one random image -> [(analytic, numeric, error)]."""
    model = AlexNet(variant, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 3, *model.input_size))
    label = np.array([int(rng.integers(model.num_classes))])
    return directional_check(model, x, label, CrossEntropyLoss(), n_directions=n_directions, rng=rng)


def print_gradcheck_table(results, tol=LAYER_TOL, file=None):
    """Print one row per checked tensor of ``{layer: {tensor: GradCheckResult}}``; True when all pass ``tol``."""
    file = file or sys.stdout
    ok = True
    print(f"{'layer':<26} {'tensor':<7} {'rel. error':>10} {'max elementwise':>16}  verdict", file=file)
    for name, per in results.items():
        for tensor, r in per.items():
            passed = r.rel_error < tol
            ok &= passed
            print(
                f"{name:<26} {tensor:<7} {r.rel_error:>10.2e} {r.max_rel_error:>16.2e}  "
                f"{'pass' if passed else 'FAIL'}",
                file=file,
            )
    return ok
