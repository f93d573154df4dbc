"""The layer table of a model: output sizes with their arithmetic, parameters, MACs, activations.

Every figure comes from the layer objects that run forward (``output_shape``, ``num_params``,
``macs``, ``output_arithmetic``, ``describe``, ``receptive_field``, ``train_memory``): there is no
second description of the network. Receptive fields and training memory are columns on request
(``table(columns=...)``); the default table fits 100 columns of text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ops
from .errors import BadArgument
from .layers import ReceptiveField


def summarize(model, input_shape, title=None):
    """A :class:`ModelSummary` of a :class:`~alexnet_np.layers.Sequential` for an (N, C, H, W) input shape."""
    shape = tuple(int(d) for d in input_shape)
    rows = []
    dtype = np.dtype(model.dtype or np.float32)
    _check_batch_fits(model, shape, dtype)
    rf = ReceptiveField.of_input(*shape[2:])
    for name, layer in model.layers.items():
        out = layer.output_shape(shape)
        rf = layer.receptive_field(rf)
        with ops.use_conv_algorithm("im2col"):  # the memory columns count im2col (alexnet_np.budget)
            memory = layer.train_memory(shape, dtype)
        rows.append(
            SummaryRow(
                name=name,
                layer=repr(layer),
                output_shape=out[1:],
                arithmetic=layer.output_arithmetic(shape),
                description=layer.describe(),
                params=layer.num_params(),
                macs=layer.macs(shape),
                activations=int(np.prod(out[1:])),
                buffers=int(sum(b.size for b in layer.buffers.values())),
                receptive_field=rf.text(),
                rf_start=rf.start,
                memory=memory,
            )
        )
        shape = out
    return ModelSummary(
        title=title or type(model).__name__,
        input_shape=tuple(input_shape[1:]),
        rows=rows,
        itemsize=dtype.itemsize,
        batch=int(input_shape[0]),
    )


# The layers count bytes in int64 (np.prod of shapes); the summary adds up to ~6 such figures per layer.
_LARGEST_FIGURE = np.iinfo(np.int64).max // 8


def _check_batch_fits(model, shape, dtype):
    """Refuse a batch whose memory figures would overflow int64 (a wrong number printed is worse than none):
    the per-image figures at batch 1, in Python ints, times the batch."""
    batch = shape[0]
    if batch < 1:
        raise BadArgument(f"the batch must be at least 1, got {batch}")
    one, per_image = (1, *shape[1:]), 0
    for layer in model.layers.values():
        with ops.use_conv_algorithm("im2col"):
            memory = layer.train_memory(one, dtype)
        per_image = max(per_image, max(int(v) for k, v in memory.items() if k not in ("weights", "grads")))
        one = layer.output_shape(one)
    if batch * per_image > _LARGEST_FIGURE:
        raise BadArgument(
            f"a batch of {batch:,} would put {batch * per_image:,} bytes in one layer's memory figure, "
            f"beyond what the layers count in (int64); the largest batch here is {_LARGEST_FIGURE // per_image:,}"
        )


@dataclass
class SummaryRow:
    name: str
    layer: str
    output_shape: tuple
    arithmetic: str
    description: str
    params: int
    macs: int
    activations: int
    buffers: int = 0
    receptive_field: str = ""  # e.g. "195×195 /32": size / jump in input pixels
    rf_start: tuple = ()  # (row, column) of the first unit's field; negative in the padding
    memory: dict = field(default_factory=dict)  # the layer's train_memory at the summary's batch

    @property
    def train_bytes(self):
        """The bytes held through a training step (weights, gradients, momentum, what forward keeps, im2col)."""
        m = self.memory
        return 3 * m["weights"] + m["buffers"] + m["kept"] + m["im2col"]


@dataclass
class ModelSummary:
    """The rows of :meth:`AlexNet.summary` and their totals; ``str()`` renders the table."""

    title: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    itemsize: int = 4
    batch: int = 1  # the N of the input shape: the memory columns are for a batch of this size

    @property
    def total_params(self):
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self):
        return sum(r.macs for r in self.rows)

    @property
    def total_buffers(self):
        return sum(r.buffers for r in self.rows)

    @property
    def total_activations(self):
        return sum(r.activations for r in self.rows)

    def row(self, name):
        return next(r for r in self.rows if r.name == name)

    # column name -> (header, cell of a row, text column?)
    COLUMNS = {
        "type": ("type", lambda r: r.description, True),
        "output": ("output", lambda r: "×".join(map(str, r.output_shape)), True),
        "output_size": ("output size", lambda r: r.arithmetic, True),
        "params": ("params", lambda r: f"{r.params:,}", False),
        "macs": ("MACs", lambda r: f"{r.macs:,}", False),
        "activations": ("activations", lambda r: f"{r.activations:,}", False),
        "receptive_field": ("receptive field", lambda r: r.receptive_field, True),
        "rf_start": ("rf start", lambda r: ",".join(map(str, r.rf_start)), False),
        "kept_mib": ("kept MiB", lambda r: _mib(r.memory["kept"]), False),
        "im2col_mib": ("im2col MiB", lambda r: _mib(r.memory["im2col"]), False),
        "train_mib": ("train MiB", lambda r: _mib(r.train_bytes), False),
    }
    DEFAULT_COLUMNS = ("type", "output", "params", "macs", "activations")  # fits 100 columns of text

    def __str__(self):
        return self.table()

    def table(self, columns=DEFAULT_COLUMNS):
        """The table with ``columns`` (names of :attr:`COLUMNS`): ``"output_size"`` adds the arithmetic,
        ``"receptive_field"`` and ``"rf_start"`` the field of a unit (size /jump, first pixel), and
        ``"kept_mib"``, ``"im2col_mib"``, ``"train_mib"`` the memory of a training step at the summary's
        batch (what forward keeps for backward; the column matrix; those two with weights, gradients and
        momentum; see :mod:`alexnet_np.budget` for the whole step)."""
        unknown = [c for c in columns if c not in self.COLUMNS]
        if unknown:
            raise BadArgument(f"unknown summary columns {unknown}; choose from {list(self.COLUMNS)}")
        spec = [("layer", lambda r: r.name, True)] + [self.COLUMNS[c] for c in columns]
        head = tuple(h for h, _, _ in spec)
        body = [tuple(cell(r) for _, cell, _ in spec) for r in self.rows]
        widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]

        def line(cells):  # text columns to the left, numbers to the right
            return "  ".join(
                str(c).ljust(wd) if spec[i][2] else str(c).rjust(wd)
                for i, (c, wd) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "-" * len(line(head))
        mb = lambda n: f"{n * self.itemsize / 2**20:,.1f} MiB"  # noqa: E731
        extra = f" + {self.total_buffers:,} running statistics (buffers)" if self.total_buffers else ""
        batch = f", batch {self.batch}" if self.batch > 1 else ""
        out = [self.title, f"input: {'×'.join(map(str, self.input_shape))}{batch}", rule, line(head), rule]
        out += [line(b) for b in body] + [rule]
        out.append(f"trainable parameters: {self.total_params:,}{extra}  ({mb(self.total_params)})")
        out.append(f"MACs per image: {self.total_macs:,}  (≈ {2 * self.total_macs / 1e9:.2f} GFLOPs)")
        out.append(f"activations per image: {self.total_activations:,}  ({mb(self.total_activations)})")
        return "\n".join(out)


def _mib(n):
    return f"{n / 2**20:,.1f}"
