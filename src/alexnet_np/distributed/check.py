"""A training step on R ranks against the same step in one process: ``mpiexec -n R python -m
alexnet_np.distributed.check --scheme model --out result.json``.

Every rank builds the same model (same seed: same weights and dropout generators) and the same batch, takes
its part (:func:`~alexnet_np.distributed.distribute`) and runs ``--steps`` SGD steps, checking after each that
every rank's copy of the replicated weights is the same, bit for bit. Rank 0 then runs the same steps on the
single-process model and writes, per parameter, the largest difference of the first step's gradient and of the
weights after the last step (and whether they are equal bit for bit), the loss and logits of both, the bytes
each collective sent (counted on the wire) beside the bytes :mod:`~alexnet_np.distributed.traffic` computes
from the layer objects, and the seconds per step of both.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import numpy as np


def _build(args, dtype):
    from ..model import AlexNet

    return AlexNet(
        args.variant,
        num_classes=args.classes,
        seed=args.seed,
        input_size=args.input_size,
        lrn="towers" if args.variant == "paper" else None,
        dtype=dtype,
    )


def _batch(args, dtype):
    rng = np.random.default_rng(args.seed + 1)
    x = rng.standard_normal((args.batch, 3, args.input_size, args.input_size)).astype(dtype)
    return x, rng.integers(0, args.classes, args.batch)


def _steps(net, args, x, y, after_step=None, die_at=None):
    """``args.steps`` SGD steps of ``net`` on (x, y): (first step's gradients, losses, first logits, seconds)."""
    from ..layers import CrossEntropyLoss
    from ..training.optim import SGD

    opt, loss_fn = SGD(net.params, net.grads, lr=args.lr), CrossEntropyLoss()
    grads, losses, logits0, seconds = None, [], None, []
    for i in range(args.steps):
        t = time.perf_counter()
        logits = net.forward(x, train=True)
        losses.append(float(loss_fn.forward(logits, y)))
        if die_at == i + 1:
            if args.hang:
                time.sleep(3600)
            os.kill(os.getpid(), signal.SIGKILL)
        net.backward(loss_fn.backward(), input_grad=False)
        if i == 0:
            grads, logits0 = {k: g.copy() for k, g in net.grads.items()}, logits.copy()
        opt.step()
        seconds.append(time.perf_counter() - t)
        if after_step is not None:
            after_step()
    return grads, losses, logits0, seconds


def _diff(a, b):
    return dict(
        max_abs=float(np.max(np.abs(a - b))) if a.size else 0.0,
        max_ref=float(np.max(np.abs(b))) if b.size else 0.0,
        bitwise=bool(np.array_equal(a, b)),
    )


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m alexnet_np.distributed.check", description=__doc__)
    p.add_argument("--scheme", choices=("model", "data", "hybrid"), required=True)
    p.add_argument("--variant", default="paper")
    p.add_argument("--input-size", type=int, default=67)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p.add_argument("--no-reference", action="store_true", help="time the distributed steps only")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--die-at", type=int, help="the last rank kills itself (SIGKILL) in this step (1-based)")
    p.add_argument("--hang", action="store_true", help="with --die-at: the last rank hangs instead of dying")
    p.add_argument(
        "--conv-algorithm",
        default="im2col",
        help="im2col (default: one algorithm whatever a layer's width, so the towers add in the order of the whole "
        "network), winograd or auto",
    )
    p.add_argument("--out", required=True, help="the JSON file rank 0 writes")
    args = p.parse_args(argv)

    from .. import ops
    from ..io import atomic_write
    from .comm import CountingComm
    from .parallel import distribute
    from .traffic import bytes_per_step

    ops.set_conv_algorithm(args.conv_algorithm)
    comm = CountingComm(timeout=args.timeout)
    dtype = np.dtype(args.dtype)
    x, y = _batch(args, dtype)
    net = distribute(_build(args, dtype), args.scheme, comm)
    checks = []

    def check():
        if net.summed:
            net.check_replicas()
            checks.append(True)

    comm.Barrier()
    die_at = args.die_at if comm.rank == comm.size - 1 else None
    grads, losses, logits, seconds = _steps(net, args, x, y, check, die_at)
    whole_grads = net.whole(grads)
    state = net.whole(dict(net.params))
    from ..layers import CrossEntropyLoss

    loss_fn = CrossEntropyLoss()
    comm.reset()  # one more forward and backward, counted alone (no replica check, no gathering)
    loss_fn.forward(net.forward(x, train=True), y)
    net.backward(loss_fn.backward(), input_grad=False)
    counted = dict(comm.sent)
    computed = bytes_per_step(_build_shapes(args, dtype), args.scheme, comm.size, args.batch)
    if comm.rank != 0:
        return 0
    result = dict(
        args=vars(args),
        ranks=comm.size,
        replica_checks=len(checks),
        seconds_per_step=seconds,
        losses=losses,
        counted_bytes=counted,
        computed_bytes=computed,
        longest_sum=longest_sum(_build_shapes(args, dtype), args.batch),
    )
    if not args.no_reference:
        ref = _build(args, dtype)
        rgrads, rlosses, rlogits, rseconds = _steps(ref, args, x, y)
        result.update(
            reference_losses=rlosses,
            reference_seconds_per_step=rseconds,
            logits=_diff(logits, rlogits),
            grads={k: _diff(whole_grads[k], rgrads[k]) for k in rgrads},
            weights={k: _diff(state[k], ref.params[k]) for k in ref.params},
        )
    atomic_write(args.out, lambda f: f.write(json.dumps(result, indent=1).encode()))
    return 0


def longest_sum(model, batch):
    """The most terms any one sum of a training step adds (a matrix multiply's M, K or N: the forward's K,
    the weight gradient's M, the input gradient's N), read off the layers' ``gemm_shapes``: the n of the bound
    n·ε·Σ|terms| on how far regrouping a sum can move it (Higham's γ_n), from which the tests take their
    tolerances."""
    shape, most = (batch, 3, *model.input_size), 0
    for layer in model.layers.values():
        for m, k, n in layer.gemm_shapes(shape):
            most = max(most, m, k, n)
        shape = layer.output_shape(shape)
    return most


def _build_shapes(args, dtype):
    from ..model import AlexNet

    return AlexNet.shapes_only(
        args.variant,
        num_classes=args.classes,
        input_size=args.input_size,
        lrn="towers" if args.variant == "paper" else None,
        dtype=dtype,
    )


if __name__ == "__main__":
    sys.exit(main())
