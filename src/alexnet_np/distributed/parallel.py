"""One AlexNet over R MPI ranks: :func:`distribute` builds this rank's part of it, for one of three schemes.

* ``"model"`` — the paper's two GPUs (section 3.2, figure 2): ``AlexNet("paper", lrn="towers")`` on 2 ranks,
  each one tower: conv1's 48 kernels, its group of conv2, conv4 and conv5, half of conv3's kernels (which see
  both towers' maps), half of fc6's, fc7's and fc8's neurons. Every rank sees the whole batch; the towers
  exchange activations where figure 2 crosses (before conv3, fc6, fc7, fc8, and the logits).
* ``"data"`` — every rank the whole model and a shard of the batch; the gradients are summed (all-reduce).
* ``"hybrid"`` — Krizhevsky's "One weird trick" (2014): data parallel in the convolutions (a shard of the
  batch each, the conv gradients summed), model parallel in the fully connected layers (the conv features of
  the whole batch gathered on every rank, each rank 1/R of fc6's, fc7's and fc8's neurons).

The part is a :class:`DistributedNet`, a :class:`~alexnet_np.layers.Sequential` of copies of the model's layers
(those model parallel cut to this rank's outputs) and two layers of this wing that move data:
:class:`Shard` (this rank's rows of the batch) and :class:`Gather` (all-gather forward; reduce-scatter of the
partial gradients backward, or, where every rank computes the same loss, just its own block). It takes the
whole batch and returns the whole logits on every rank, so a training loop written for one process runs it
unchanged; its ``backward`` ends by summing the gradients of the weights that every rank holds whole.

A layer with parameters is cut by its outputs (rows of every parameter) and rebuilt from its ``torch_spec()``;
a convolution with R groups takes its own tower's maps, one with 1 group needs all of them (a Gather first).
A layer that draws (dropout) gets a generator that draws the whole batch's mask and keeps this rank's part,
so every scheme uses the single-process masks.
"""

from __future__ import annotations

import copy
import zlib

import numpy as np

from ..errors import BadArgument, BadInput
from ..layers import Layer, Sequential

SCHEMES = ("model", "data", "hybrid")


def check_scheme(scheme, ranks, variant, lrn=None, batch_size=None, num_classes=None):
    """Refuse (BadArgument, one line) a scheme this many ranks cannot run, before anything is built or read."""
    if scheme not in SCHEMES:
        raise BadArgument(f"--parallel must be one of {SCHEMES}, got {scheme!r}")
    if scheme == "model":
        if variant != "paper":
            raise BadArgument(
                f"--parallel model runs the paper's two towers: it needs --variant paper, got {variant!r}"
            )
        if ranks != 2:
            raise BadArgument(
                f"--parallel model splits the paper's network into its 2 towers: it needs exactly 2 ranks "
                f"(mpiexec -n 2), got {ranks}; --parallel data or hybrid run on any number"
            )
        if lrn not in (None, "towers"):
            raise BadArgument("--parallel model: each tower normalises its own maps (lrn='towers')")
    if scheme in ("data", "hybrid") and batch_size is not None and batch_size < ranks:
        raise BadArgument(
            f"--parallel {scheme}: a batch of {batch_size} images cannot give each of {ranks} ranks one"
        )
    if scheme == "hybrid" and num_classes is not None and num_classes < ranks:
        raise BadArgument(f"--parallel hybrid cuts fc8's {num_classes} outputs into {ranks}: too few")


def split_counts(n, parts):
    """How ``n`` items are cut into ``parts`` consecutive blocks (the first ``n % parts`` one larger)."""
    return [len(b) for b in np.array_split(np.arange(n), parts)]


class _Batch:
    """The batch this step: its size and each rank's rows (shared by Shard, Gather and the generators)."""

    def __init__(self, ranks, rank):
        self.ranks, self.rank, self.n = ranks, rank, None

    def counts(self):
        return split_counts(self.n, self.ranks)

    def rows(self):
        counts = self.counts()
        start = sum(counts[: self.rank])
        return slice(start, start + counts[self.rank])

    @property
    def whole(self):  # fewer images than ranks (the last batch of an evaluation): every rank runs them all
        return self.n < self.ranks


class Shard(Layer):
    """This rank's rows of the batch: (N, ...) -> (N_r, ...), N_r from :func:`split_counts` (all N when
    N < R: then every rank runs the whole batch and the last Gather does nothing)."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        self.batch.n = shape[0]
        return shape if self.batch.whole else (self.batch.counts()[self.batch.rank], *shape[1:])

    def forward(self, x, train=False):
        self._begin_forward(x)
        if self.batch.whole:
            if train:
                raise BadArgument(
                    f"a training batch of {x.shape[0]} images cannot give each of {self.batch.ranks} ranks one"
                )
            return x
        return x[self.batch.rows()]

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if input_grad:
            raise BadArgument("Shard: the input of a distributed network is data; it has no gradient")
        return None

    def describe(self):
        return f"Shard (rank {self.batch.rank}'s rows of the batch)"


class Gather(Layer):
    """Every rank's block, joined along ``axis`` on every rank (all-gather); backward: each rank's partial
    gradient of the whole, summed, this rank's block kept (reduce-scatter) — or, ``reduce=False``, where every
    rank computed the same gradient of the whole (the loss on the gathered logits), just its own block.

    ``counts``: each rank's size along ``axis`` (fixed), or None for the batch's rows (axis 0).
    ``where``: what the crossing feeds ("conv3", "logits"), for the byte counts.
    """

    def __init__(self, comm, axis, counts, where, reduce=True, batch=None):
        super().__init__()
        self.comm, self.axis, self._counts, self.where, self.reduce, self.batch = (
            comm,
            axis,
            counts,
            where,
            reduce,
            batch,
        )

    def counts(self):
        return self._counts if self._counts is not None else self.batch.counts()

    def _skip(self):
        return self._counts is None and self.batch.whole

    def output_shape(self, input_shape):
        shape = list(input_shape)
        if self._skip():
            return tuple(shape)
        counts = self.counts()
        if shape[self.axis] != counts[self.comm.rank]:
            raise self._fail(BadInput, f"block along axis {self.axis}", counts[self.comm.rank], tuple(shape))
        shape[self.axis] = sum(counts)
        return tuple(shape)

    def forward(self, x, train=False):
        out_shape = self._begin_forward(x)
        if self._skip():
            return x
        block = np.ascontiguousarray(np.moveaxis(x, self.axis, 0))  # rank blocks end to end in memory
        rest = int(np.prod(block.shape[1:]))
        whole = np.empty((out_shape[self.axis], *block.shape[1:]), x.dtype)
        with self.comm.label(f"{self.where} (forward)"):
            self.comm.Allgatherv(block, whole, [c * rest for c in self.counts()])
        return np.ascontiguousarray(np.moveaxis(whole, 0, self.axis))

    def backward(self, dout, input_grad=True):
        self._begin_backward(dout)
        if self._skip():
            return dout.copy()
        counts, rank = self.counts(), self.comm.rank
        start = sum(counts[:rank])
        if not self.reduce:
            return np.ascontiguousarray(np.take(dout, range(start, start + counts[rank]), axis=self.axis))
        whole = np.ascontiguousarray(np.moveaxis(dout, self.axis, 0))
        rest = int(np.prod(whole.shape[1:]))
        mine = np.empty((counts[rank], *whole.shape[1:]), dout.dtype)
        with self.comm.label(f"{self.where} (backward)"):
            self.comm.Reduce_scatter(whole, mine, [c * rest for c in counts])
        return np.ascontiguousarray(np.moveaxis(mine, 0, self.axis))

    def describe(self):
        return f"Gather axis {self.axis} before {self.where}" + (
            "" if self.reduce else " (backward: own block)"
        )


class _SlicedGenerator:
    """A generator that draws ``random(shape)`` for the whole (every rank's rows and columns) and returns this
    rank's part: the masks of a distributed dropout are the single-process ones. ``bit_generator`` is the
    wrapped generator's, so checkpoints save and restore it as they do a plain one."""

    def __init__(self, inner, batch=None, columns=None):
        self.inner, self.batch, self.columns = inner, batch, columns  # columns: (counts, rank)

    @property
    def bit_generator(self):
        return self.inner.bit_generator

    def random(self, shape):
        full, index = list(shape), [slice(None)] * len(shape)
        if self.batch is not None and not self.batch.whole:
            full[0], index[0] = self.batch.n, self.batch.rows()
        if self.columns is not None:
            counts, rank = self.columns
            start = sum(counts[:rank])
            full[1], index[1] = sum(counts), slice(start, start + counts[rank])
        return self.inner.random(tuple(full))[tuple(index)]


def _cut(layer, counts, rank, local_input):
    """A copy of ``layer`` computing only outputs ``[a, b)`` (rank's block of ``counts``), rebuilt from its
    ``torch_spec()``; ``local_input``: it takes this rank's block of a grouped input (groups = ranks)."""
    _, kw = layer.torch_spec()
    out_key, in_key = (
        ("out_channels", "in_channels") if "out_channels" in kw else ("out_features", "in_features")
    )
    kw = dict(kw, **{out_key: counts[rank]})
    if local_input:
        kw.update({in_key: kw[in_key] // kw["groups"], "groups": 1})
    new = type(layer)(**kw, rng=np.random.default_rng(0), dtype=layer.dtype)
    if hasattr(layer, "algorithm"):
        new.algorithm = layer.algorithm
    start = sum(counts[:rank])
    for k, p in layer.params.items():
        new.params[k][...] = p[start : start + counts[rank]]
    return new


class DistributedNet(Sequential):
    """This rank's part of an AlexNet under one scheme (module docstring); built by :func:`distribute`.

    ``forward(x)``: x the whole batch (N, 3, H, W), the same on every rank -> the whole logits (N, K) on every
    rank. ``backward(dlogits)``: dlogits of the whole batch, the same on every rank -> None; fills ``grads``
    (this rank's parameters) and sums those of the weights every rank holds whole; where the parameters are cut
    by rank, the ranks agree whether every part of the gradient is finite (a divergence seen on one rank stops
    every rank's loop at the same step).

    ``split``: {parameter name: each rank's rows} of the parameters cut by rank; ``summed``: the names whose
    gradients are all-reduced. ``state_dict()`` / ``load_state_dict()`` speak the single-process model's
    arrays (every rank must call them: they gather). The model's description (``config()``, ``input_size``,
    ``num_classes``, ``preprocessing``, ``classes``) is the single-process model's.
    """

    def __init__(self, items, model, scheme, comm, batch, split, summed):
        super().__init__(items)
        self.scheme, self.comm, self.batch, self.split, self.summed = scheme, comm, batch, split, summed
        self.variant, self.num_classes, self.input_size = model.variant, model.num_classes, model.input_size
        self.preprocessing, self.classes, self._config = model.preprocessing, model.classes, model.config()
        self._plan = type(model).shapes_only(**{**model.config(), "input_size": model.input_size})

    # -- the single-process model's description ------------------------------------------------------
    def config(self):
        return dict(self._config)

    def batch_within_budget(self, wanted, where):
        return self._plan.batch_within_budget(wanted, where)

    def extra_repr(self):
        return f"scheme={self.scheme!r}, rank={self.comm.rank}/{self.comm.size}, variant={self.variant!r}"

    def _check_input_shape(self, shape):
        self._plan._check_input_shape(shape)

    def forward(self, x, train=False, return_activations=False):
        self._check_array(x)
        self._check_input_shape(x.shape)
        return super().forward(x, train=train, return_activations=return_activations)

    def backward(self, dout, input_grad=False):
        if input_grad:
            raise BadArgument("DistributedNet.backward: the input is data (input_grad=False)")
        super().backward(dout, input_grad=False)
        with self.comm.label("gradients"):
            for name in self.summed:
                self.comm.Allreduce(self.grads[name])
        if self.split:
            self._agree_on_divergence()
        return None

    def _agree_on_divergence(self):
        """Each rank checks its own part of the gradient; where another rank's is not finite, this rank marks its
        own as NaN, so that every rank's training loop stops at the same step (none waits for ever)."""
        finite = all(np.isfinite(np.sum(self.grads[k], dtype=np.float64)) for k in self.split)
        flags = np.empty(self.comm.size, np.int64)
        with self.comm.label("divergence check"):
            self.comm.Allgatherv(np.array([int(finite)], np.int64), flags, [1] * self.comm.size)
        if finite and not flags.all():
            self.grads[next(iter(self.split))][...] = np.nan

    # -- the whole model's arrays ----------------------------------------------------------------------
    def whole(self, arrays):
        """{name: this rank's array} -> {name: the single-process model's array} (collective)."""
        out = {}
        with self.comm.label("checkpoint"):
            for name, a in arrays.items():
                counts = self.split.get(name)
                if counts is None:
                    out[name] = a.copy()
                    continue
                rest = int(np.prod(a.shape[1:]))
                full = np.empty((sum(counts), *a.shape[1:]), a.dtype)
                self.comm.Allgatherv(a, full, [c * rest for c in counts])
                out[name] = full
        return out

    def part(self, arrays):
        """{name: the single-process model's array} -> {name: this rank's block} (no communication)."""
        out = {}
        for name, a in arrays.items():
            counts = self.split.get(name)
            start = sum(counts[: self.comm.rank]) if counts else 0
            out[name] = a[start : start + counts[self.comm.rank]].copy() if counts else a
        return out

    def state_dict(self):
        return self.whole({**self.params, **self.buffers})

    def load_state_dict(self, state):
        mine = self.part({k: state[k] for k in {**self.params, **self.buffers}})
        for k, target in {**self.params, **self.buffers}.items():
            if target.shape != mine[k].shape:
                raise BadArgument(
                    f"DistributedNet.load_state_dict: {k} is {mine[k].shape}, expected {target.shape}"
                )
            target[...] = mine[k]

    def save(self, path):
        """The single-process model's file (rank 0 writes it; every rank must call)."""
        from ..model import AlexNet

        state = self.state_dict()
        if self.comm.rank == 0:
            model = AlexNet.from_config(self._config, dtype=self.dtype)
            model.load_state_dict(state)
            model.preprocessing, model.classes = self.preprocessing, self.classes
            model.save(path)
        self.comm.Barrier()

    def replica_checksums(self):
        """CRC-32 of the bytes of every weight every rank holds whole, from every rank: (R,) uint32."""
        crc = 0
        for name in self.summed:
            crc = zlib.crc32(np.ascontiguousarray(self.params[name]).view(np.uint8), crc)
        out = np.empty(self.comm.size, np.int64)
        with self.comm.label("replica check"):
            self.comm.Allgatherv(np.array([crc], np.int64), out, [1] * self.comm.size)
        return out

    def check_replicas(self):
        """Raise RuntimeError unless every rank's copy of every replicated weight is the same, bit for bit."""
        sums = self.replica_checksums()
        if len(set(sums.tolist())) > 1:
            raise RuntimeError(f"the ranks' copies of the weights differ (CRC-32 per rank: {sums.tolist()})")


def distribute(model, scheme, comm):
    """This rank's :class:`DistributedNet` of ``model`` (an :class:`~alexnet_np.AlexNet`, the same weights and
    generator states on every rank: build it with the same seed) under ``scheme`` (:data:`SCHEMES`)."""
    ranks, rank = comm.size, comm.rank
    check_scheme(scheme, ranks, model.variant, getattr(model, "lrn", None), num_classes=model.num_classes)
    if scheme == "model" and model.lrn not in ("towers", False):
        raise BadArgument(
            "model parallel needs AlexNet('paper', lrn='towers'): each tower normalises its own maps"
        )
    batch = _Batch(ranks, rank)
    items: list[tuple[str, Layer]] = []
    split: dict[str, list[int]] = {}
    summed: list[str] = []
    sharded = scheme in ("data", "hybrid")  # this rank runs a shard of the batch
    if sharded:
        items.append(("shard", Shard(batch)))
    cut = scheme == "model"  # layers from here on are cut by rank
    counts = None  # each rank's size along axis 1 of the activation, while it is cut; None while whole
    shape = (1, 3, *model.input_size)
    for name, layer in model.layers.items():
        if scheme == "hybrid" and name == "flatten":  # the fully connected layers are model parallel
            cut = True
        out = layer.output_shape(shape)
        if cut and layer.params:
            _, kw = layer.torch_spec()
            groups = kw.get("groups", 1)
            local = counts is not None and groups == ranks > 1
            if counts is not None and not local:
                if groups != 1:
                    raise BadArgument(
                        f"{name} has {groups} groups: model parallel needs 1 or {ranks} (the ranks)"
                    )
                items.append((f"gather_{name}", Gather(comm, 1, counts, name)))
                counts = None
            elif counts is None and groups != 1:
                raise BadArgument(
                    f"{name} has {groups} groups and its input is whole: cannot split it by rank"
                )
            if sharded:  # from here on every rank runs the whole batch
                items.append((f"gather_{name}_batch", Gather(comm, 0, None, f"{name} (batch)", batch=batch)))
                sharded = False
            counts = split_counts(out[1], ranks)
            new = _cut(layer, counts, rank, local)
            split.update({f"{name}.{k}": counts for k in layer.params})
        else:
            if layer.buffers and sharded:
                raise BadArgument(
                    f"{name} keeps batch statistics: data parallel would compute them per shard"
                )
            new = copy.deepcopy(layer)
            if (
                counts is not None
            ):  # a cut activation: each rank's count follows the layer (Flatten multiplies)
                groups = getattr(layer, "groups", None)  # a layer without weights that mixes channels (LRN)
                if groups is not None and groups != ranks:
                    raise BadArgument(
                        f"{name} mixes the maps of every rank ({groups} group): each rank must normalise its own "
                        f"(AlexNet('paper', lrn='towers'))"
                    )
                if groups is not None:
                    new.groups = 1
                counts = [c * out[1] // shape[1] for c in counts]
            if hasattr(layer, "rng"):
                new.rng = _SlicedGenerator(
                    new.rng, batch if sharded else None, (counts, rank) if counts is not None else None
                )
            if sharded:
                summed.extend(f"{name}.{k}" for k in layer.params)
        items.append((name, new))
        shape = out
    if counts is not None:
        items.append(("gather_logits", Gather(comm, 1, counts, "logits", reduce=False)))
    if sharded:
        items.append(
            ("gather_logits_batch", Gather(comm, 0, None, "logits (batch)", reduce=False, batch=batch))
        )
    return DistributedNet(items, model, scheme, comm, batch, split, summed)
