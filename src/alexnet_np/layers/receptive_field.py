"""Receptive fields: which input pixels each unit of a layer's output sees (:class:`ReceptiveField`)."""

from __future__ import annotations

import numpy as np


class ReceptiveField:
    """The input pixels that each unit of a layer's output sees, per axis, in the network input's coordinates.

    Along the rows, output row ``i`` sees input rows ``lo_h[i] … hi_h[i]`` (inclusive); the same for columns.
    A chain of windows (convolutions, pools) keeps the classic three numbers per axis::

        size_out  = size_in + (d·(k − 1)) · jump_in       (k: kernel, d: dilation)
        jump_out  = jump_in · s                            (s: stride; the effective stride in pixels)
        start_out = start_in − p · jump_in                 (p: padding; the first field's first pixel)

    and ``lo[i] = start + i·jump``, ``hi[i] = lo[i] + size − 1``: the textbook field, which runs past the
    border where a window covers padding. What a unit really sees, :meth:`box`, is tracked beside it
    (``seen``): padding holds no pixel, so where the input's last unit stops short of the border (a
    window that does not fit at the right edge is dropped) a padded window sees no more. An adaptive
    pool's unit sees the union of the fields in its bin, whose spacing need not be constant (``jump`` is
    then None), and a Linear unit sees all the pixels its input sees. ``note`` says which rule made it.
    Build the input's field with :meth:`of_input`; each layer's ``receptive_field(field)`` gives the next.
    """

    def __init__(self, image, lo, hi, jump, seen=None, note=""):
        self.image = tuple(int(v) for v in image)  # (H, W) of the network's input
        self.lo = tuple(np.asarray(a, dtype=np.int64) for a in lo)  # (rows, columns), one entry per unit
        self.hi = tuple(np.asarray(a, dtype=np.int64) for a in hi)
        self.jump = tuple(None if j is None else int(j) for j in jump)
        if seen is None:  # (seen_lo, seen_hi), each (rows, columns): the bounds inside the image
            seen = tuple(
                tuple(np.clip(b[a], 0, self.image[a] - 1) for a in range(2)) for b in (self.lo, self.hi)
            )
        self.seen = tuple(tuple(np.asarray(a, dtype=np.int64) for a in b) for b in seen)
        self.note = note

    @classmethod
    def of_input(cls, h, w):
        """The field of the input itself: every pixel sees itself (size 1, jump 1, start 0)."""
        return cls((h, w), (np.arange(h), np.arange(w)), (np.arange(h), np.arange(w)), (1, 1))

    @property
    def grid(self):
        """(rows, columns) of units, e.g. (6, 6) for pool5."""
        return len(self.lo[0]), len(self.lo[1])

    @property
    def size(self):
        """(height, width) of the largest field in pixels, before clipping at the border."""
        return tuple(int(np.max(hi - lo)) + 1 for lo, hi in zip(self.lo, self.hi))

    @property
    def start(self):
        """(row, column) of the first unit's top-left pixel; negative where it lies in the padding."""
        return int(self.lo[0][0]), int(self.lo[1][0])

    def box(self, i, j):
        """Rows ``r0 … r1`` and columns ``c0 … c1`` (inclusive) that unit (i, j) sees, clipped to the input."""
        (lr, lc), (hr, hc) = self.seen
        return int(lr[i]), int(hr[i]), int(lc[j]), int(hc[j])

    def mask(self, i, j):
        """An (H, W) boolean array, True where unit (i, j) sees the input."""
        r0, r1, c0, c1 = self.box(i, j)
        out = np.zeros(self.image, dtype=bool)
        out[r0 : r1 + 1, c0 : c1 + 1] = True
        return out

    def text(self):
        """``195×195 /32`` (size / jump), or the union rule written out."""
        (sh, sw), (jh, jw) = self.size, self.jump
        jump = "" if jh is None or jw is None else f" /{jh}" if jh == jw else f" /{jh}×{jw}"
        return f"{sh}×{sw}{jump}" + (f" ({self.note})" if self.note else "")

    def __repr__(self):
        return f"ReceptiveField(size={self.size}, jump={self.jump}, start={self.start}, grid={self.grid})"


def _extend(bounds, jump, j):
    """``bounds[j]`` for indices that may fall outside ``bounds`` (a window over padding): the fields of the
    padded positions continue the spacing ``jump``; without a constant spacing they see nothing more."""
    inside = np.clip(j, 0, len(bounds) - 1)
    return bounds[inside] + (0 if jump is None else (j - inside) * jump)


def _window_field(field, out_hw, kernel_size, stride, padding, dilation=(1, 1)):
    """The field after a window of ``kernel_size`` (with ``stride``, ``padding``, ``dilation``) producing
    ``out_hw`` positions: shared by Conv2d and MaxPool2d. Output position o covers input positions
    ``o·s − p … o·s − p + d·(k − 1)``; its field runs from the first one's first pixel to the last one's last."""
    lo, hi, jump, seen_lo, seen_hi = [], [], [], [], []
    for axis in range(2):
        o = np.arange(out_hw[axis])
        first = o * stride[axis] - padding[axis]
        last = first + dilation[axis] * (kernel_size[axis] - 1)
        j = field.jump[axis]
        lo.append(_extend(field.lo[axis], j, first))
        hi.append(_extend(field.hi[axis], j, last))
        jump.append(None if j is None else j * stride[axis])
        seen_lo.append(_extend(field.seen[0][axis], None, first))  # padded positions see nothing
        seen_hi.append(_extend(field.seen[1][axis], None, last))
    return ReceptiveField(field.image, lo, hi, jump, seen=(seen_lo, seen_hi))


def _check_field(layer, field):
    if not isinstance(field, ReceptiveField):
        raise TypeError(f"{layer._label()}: field must be a ReceptiveField, got {type(field).__name__}")
    return field
