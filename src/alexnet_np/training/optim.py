"""SGD with momentum and weight decay in the paper's form, and learning-rate schedules.

The paper (section 5) updates every weight w with a velocity v:

    v ← μ·v − λ·ε·w − ε·∂L/∂w        (μ = 0.9 momentum, λ = 0.0005 weight decay, ε the learning rate)
    w ← w + v

PyTorch's ``torch.optim.SGD`` keeps the learning rate *out* of its momentum buffer b:

    b ← μ·b + (∂L/∂w + λ·w)
    w ← w − ε·b

At a constant ε the two are the same algorithm with v = −ε·b. When a schedule changes ε
they part: the paper's v still carries the old ε for a few steps (it decays by μ per
step), while PyTorch's next step applies the new ε to the whole buffer at once.
``convention="pytorch"`` gives PyTorch's update, for comparison.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import BadArgument, BadFile
from ..ops import kernels, reference
from .diagnostics import norm


class SGD:
    """SGD with momentum and weight decay, updating ``params`` in place from ``grads``.

    Args:
        params, grads: dicts with the same keys (a model's ``params`` and ``grads``).
        lr: ε. momentum: μ. weight_decay: λ (applied to every parameter, as in the paper).
        convention: ``"paper"`` (velocity includes ε) or ``"pytorch"`` (buffer excludes ε).

    Kernels: the paper's update is :func:`alexnet_np.ops.reference.sgd_paper_update` or its Numba twin
    :func:`alexnet_np.ops.kernels.sgd_paper_update` (one pass over each array).
    """

    def __init__(self, params, grads, lr=0.01, momentum=0.9, weight_decay=5e-4, convention="paper"):
        if set(params) != set(grads):
            raise BadArgument("SGD: params and grads must have the same keys")
        if not (0 < lr < float("inf")) or not 0 <= momentum < 1 or weight_decay < 0:
            raise BadArgument(
                f"SGD: need lr > 0, 0 <= momentum < 1, weight_decay >= 0; got {lr}, {momentum}, {weight_decay}"
            )
        if convention not in ("paper", "pytorch"):
            raise BadArgument(f"SGD: convention must be 'paper' or 'pytorch', got {convention!r}")
        self.params, self.grads = params, grads
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.convention = convention
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}
        self.steps = 0

    def __repr__(self):
        return (
            f"SGD(lr={self.lr:g}, momentum={self.momentum:g}, weight_decay={self.weight_decay:g}, "
            f"convention={self.convention!r})"
        )

    def step(self):
        """One update of every parameter, in place."""
        mu, lam = self.momentum, self.weight_decay
        for k, w in self.params.items():
            v, g = self.velocity[k], self.grads[k]
            lr = w.dtype.type(self.lr)
            if self.convention == "paper":  # v ← μ·v − λ·ε·w − ε·g;  w ← w + v  (one pass, in place)
                update = kernels.sgd_paper_update if ops.fast() else reference.sgd_paper_update
                update(w, v, g, mu, lam, self.lr)
            else:
                v *= mu  # b ← μ·b + g + λ·w
                v += g
                v += lam * w
                w -= lr * v  # w ← w − ε·b
        self.steps += 1

    def update_norm(self, key) -> float:
        """‖Δw‖ of the last step for ``params[key]``, read off the velocity (no copy of the weights is kept):
        the paper's w ← w + v moves w by v; PyTorch's w ← w − ε·b by ε·b."""

        return norm(self.velocity[key]) * (1.0 if self.convention == "paper" else self.lr)

    def state_dict(self):
        """Velocities and hyper-parameters, for a checkpoint."""
        return {
            "velocity": {k: v.copy() for k, v in self.velocity.items()},
            "hyper": dict(
                lr=self.lr,
                momentum=self.momentum,
                weight_decay=self.weight_decay,
                convention=self.convention,
                steps=self.steps,
            ),
        }

    def load_state_dict(self, state):
        vel = state["velocity"]
        if set(vel) != set(self.velocity):
            raise BadFile(
                f"SGD.load_state_dict: velocity keys differ: {sorted(set(vel) ^ set(self.velocity))}"
            )
        for k, v in vel.items():
            if v.shape != self.velocity[k].shape:
                raise BadFile(
                    f"SGD.load_state_dict: {k}: expected shape {self.velocity[k].shape}, got {v.shape}"
                )
            self.velocity[k][...] = v
        h = state["hyper"]
        convention = h["convention"] if "convention" in h else h["form"]  # checkpoints before 0.2 said "form"
        self.lr, self.momentum, self.weight_decay, self.convention, self.steps = (
            float(h["lr"]),
            float(h["momentum"]),
            float(h["weight_decay"]),
            convention,
            int(h["steps"]),
        )


class StepLR:
    """Divide the learning rate by ``1/gamma`` every ``step_size`` epochs (call ``step()`` once per epoch)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1 or not 0 < gamma <= 1:
            raise BadArgument(f"StepLR: need step_size >= 1 and 0 < gamma <= 1, got {step_size}, {gamma}")
        self.optimizer, self.step_size, self.gamma, self.epochs = optimizer, int(step_size), float(gamma), 0

    def step(self, metric=None):
        self.epochs += 1
        if self.epochs % self.step_size == 0:
            self.optimizer.lr *= self.gamma

    def state_dict(self):
        return dict(kind="step", step_size=self.step_size, gamma=self.gamma, epochs=self.epochs)

    def load_state_dict(self, state):
        self.step_size, self.gamma, self.epochs = (
            int(state["step_size"]),
            float(state["gamma"]),
            int(state["epochs"]),
        )


class ReduceOnPlateau:
    """The paper's schedule: divide the learning rate by 10 when the validation error stops improving.

    ``step(val_error)`` once per epoch; after ``patience`` epochs without an improvement of at
    least ``threshold`` the rate is multiplied by ``factor``, at most ``max_reductions`` times
    (the paper reduced it three times).
    """

    def __init__(self, optimizer, factor=0.1, patience=2, threshold=1e-4, max_reductions=3):
        if not 0 < factor < 1 or patience < 0:
            raise BadArgument(
                f"ReduceOnPlateau: need 0 < factor < 1 and patience >= 0, got {factor}, {patience}"
            )
        self.optimizer, self.factor, self.patience = optimizer, float(factor), int(patience)
        self.threshold, self.max_reductions = float(threshold), int(max_reductions)
        self.best, self.bad_epochs, self.reductions = float("inf"), 0, 0

    def step(self, metric):
        if metric < self.best - self.threshold:
            self.best, self.bad_epochs = float(metric), 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience and self.reductions < self.max_reductions:
            self.optimizer.lr *= self.factor
            self.reductions += 1
            self.bad_epochs = 0

    def state_dict(self):
        return dict(
            kind="plateau",
            factor=self.factor,
            patience=self.patience,
            threshold=self.threshold,
            max_reductions=self.max_reductions,
            best=self.best,
            bad_epochs=self.bad_epochs,
            reductions=self.reductions,
        )

    def load_state_dict(self, state):
        for k in ("factor", "threshold", "best"):
            setattr(self, k, float(state[k]))
        for k in ("patience", "max_reductions", "bad_epochs", "reductions"):
            setattr(self, k, int(state[k]))
