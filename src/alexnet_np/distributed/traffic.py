"""The bytes each scheme sends per training step, computed from the single-process model's layer objects.

This is the second way of knowing them: :class:`~alexnet_np.distributed.comm.CountingComm` counts what the
collectives of a run send; this module computes it from shapes alone (a shape-only model will do, so the
numbers for the full 227×227 network need no memory), by the rules in :mod:`alexnet_np.distributed.comm`
(a rank sends ``(R − 1)·b`` in an all-gather of blocks b, ``B − b`` in a reduce-scatter of a whole of B bytes,
``2·(B − b)`` in an all-reduce). The labels are those of a run's counts: ``"conv3 (forward)"``,
``"conv3 (backward)"``, ``"gradients"``, ``"logits (forward)"``, ``"fc6 (batch) (forward)"`` ...

Where the crossings are, read off the layers: a layer with parameters and one group (``torch_spec()``) needs
every rank's maps, so where its input is cut by rank (model parallel) the activations cross before it; the
logits cross at the end. Data parallel sends every gradient once around the ring and the logits of its shard;
the hybrid crosses the batch before fc6 (forward: the conv features of each shard; backward: their gradients).
"""

from __future__ import annotations

import numpy as np

from .parallel import split_counts


def bytes_per_step(model, scheme, ranks, batch, rank=0):
    """{label: bytes rank ``rank`` sends} in one forward and backward of ``model`` (an AlexNet, shape-only
    will do) on a batch of ``batch`` images split over ``ranks`` ranks under ``scheme``."""
    item = np.dtype(model.dtype).itemsize
    out: dict[str, int] = {}
    rows = split_counts(batch, ranks)
    n_mine = rows[rank] if batch >= ranks else batch

    def gather(label, whole_elems, mine_elems, backward=True):
        out[f"{label} (forward)"] = out.get(f"{label} (forward)", 0) + (ranks - 1) * mine_elems * item
        if backward:
            out[f"{label} (backward)"] = out.get(f"{label} (backward)", 0) + (whole_elems - mine_elems) * item

    def allreduce(names):
        total = 0
        for name in names:
            p = model.params[name]
            total += 2 * (p.size - split_counts(p.size, ranks)[rank]) * item
        if names:
            out["gradients"] = total

    shape = (1, 3, *model.input_size)
    cut, summed, sharded = None, [], scheme in ("data", "hybrid")
    model_parallel = scheme == "model"
    for name, layer in model.layers.items():
        if scheme == "hybrid" and name == "flatten":
            model_parallel = True
        out_shape = layer.output_shape(shape)
        per_image = int(np.prod(shape[1:]))
        if model_parallel and layer.params:
            groups = layer.torch_spec()[1].get("groups", 1)
            if cut is not None and groups == 1:  # the input is cut by rank and this layer needs all of it
                n = batch
                gather(name, n * per_image, n * cut[rank] * per_image // shape[1])
            if sharded:  # the batch's shards meet before the first model-parallel layer
                gather(f"{name} (batch)", batch * per_image, n_mine * per_image)
                sharded = False
            cut = split_counts(out_shape[1], ranks)
        else:
            if sharded:
                summed.extend(f"{name}.{k}" for k in layer.params)
            if cut is not None:
                cut = [c * out_shape[1] // shape[1] for c in cut]
        shape = out_shape
    classes = shape[1]
    if cut is not None:
        gather("logits", batch * classes, batch * cut[rank], backward=False)
    if sharded:
        gather("logits (batch)", batch * classes, n_mine * classes, backward=False)
    allreduce(summed)
    if scheme != "data":  # the ranks agree whether their parts of the gradient are finite: one int64 each
        out["divergence check"] = (ranks - 1) * 8
    return out


def macs_per_step(model, scheme, ranks, batch, rank=0):
    """Multiply-accumulates rank ``rank`` computes in one training step of ``model`` under ``scheme``: three
    times its forward's (the backward computes dx and dW, each as many as the forward; the first layer's dx is
    counted too). A layer cut by rank does its share of the outputs; a layer on a shard of the batch, its rows.
    """
    rows = split_counts(batch, ranks)[rank] if batch >= ranks else batch
    shape, total = (1, 3, *model.input_size), 0
    model_parallel = scheme == "model"
    for name, layer in model.layers.items():
        if scheme == "hybrid" and name == "flatten":
            model_parallel = True
        per_image, out = layer.macs(shape), layer.output_shape(shape)
        if model_parallel and layer.params:  # this rank's outputs, for the whole batch
            total += batch * per_image * split_counts(out[1], ranks)[rank] // out[1]
        else:
            total += (batch if scheme == "model" or model_parallel else rows) * per_image
        shape = out
    return 3 * total
