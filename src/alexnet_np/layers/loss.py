""":class:`CrossEntropyLoss`: softmax and negative log-likelihood fused."""

from __future__ import annotations

import numpy as np

from ..errors import BadInput
from .base import _FLOATS


class CrossEntropyLoss:
    """Softmax and negative log-likelihood fused, averaged over the batch.

    ``loss = −(1/N) Σ_n log softmax(logits[n])[labels[n]]`` with the log-sum-exp computed after
    subtracting each row's maximum, so large logits do not overflow.
    ``backward() -> dlogits = (softmax(logits) − onehot(labels)) / N``.

    Shape: logits (N, K) float, labels (N,) integers in [0, K) -> a float.
    """

    def __init__(self):
        self.probs = None
        self.labels = None

    def forward(self, logits, labels) -> float:
        """The mean loss over the batch; an empty batch raises ValueError (a mean over nothing is undefined).

        Non-finite logits are propagated, as by the layers and by PyTorch: a row with NaN or +inf gives a
        NaN loss (and NaN in that row of ``backward``), never an exception: the caller sees it and decides
        (check ``np.isfinite(loss)`` before an SGD step, which would spread the NaN into every weight).
        """
        if (
            not isinstance(logits, np.ndarray)
            or logits.dtype.type not in _FLOATS
            or not logits.dtype.isnative
        ):
            raise TypeError(
                f"CrossEntropyLoss: logits must be a float32/float64 array (native byte order), got "
                f"{getattr(logits, 'dtype', type(logits).__name__)}"
            )
        if logits.ndim != 2 or 0 in logits.shape:
            raise BadInput(
                f"CrossEntropyLoss: logits shape: expected (N, K) with N >= 1 and K >= 1, got {logits.shape}"
            )
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"CrossEntropyLoss: labels must be integers, got dtype {labels.dtype}")
        if labels.shape != (logits.shape[0],):
            raise BadInput(
                f"CrossEntropyLoss: labels shape: expected ({logits.shape[0]},), got {labels.shape}"
            )
        k = logits.shape[1]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise BadInput(
                f"CrossEntropyLoss: labels must be in [0, {k}), got min {labels.min()}, max {labels.max()}"
            )
        z = logits - logits.max(axis=1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.probs, self.labels = np.exp(log_probs), labels
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    __call__ = forward

    def backward(self):
        probs, labels = self.probs, self.labels
        if probs is None or labels is None:
            raise RuntimeError("CrossEntropyLoss: backward called before forward")
        d = probs.copy()
        d[np.arange(len(labels)), labels] -= 1
        return d / len(labels)

    def __repr__(self):
        return "CrossEntropyLoss()"
