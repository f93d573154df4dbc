"""Training across ranks: :class:`DistributedTrainer` and ``python -m alexnet_np train --parallel model|data|hybrid``.

Every rank runs the single-process :class:`~alexnet_np.training.train.Trainer` loop on its
:class:`~alexnet_np.distributed.DistributedNet`: the same seed gives every rank the same weights, data order,
augmentation and dropout generators, each rank computes the whole batch's input and takes its part, and the
net returns the whole logits on every rank, so the loss, the schedule and the held-out scores agree without
further messages. After each step the weights every rank holds whole are compared (CRC-32, every step).

Files: rank 0 alone writes (the checkpoint, the model, the history, the run record), in the single-process
formats, the whole model gathered from the ranks: a checkpoint resumes on any number of ranks, under any scheme,
or in one process. A decision that could differ between ranks (a refused file, a locked folder) is agreed on
first: if any rank refuses, every rank exits (status 2), and rank 0 prints the one line.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import BadArgument, UserError
from ..training.train import Trainer
from .comm import CountingComm
from .parallel import check_scheme, distribute


class DistributedTrainer(Trainer):
    """A :class:`~alexnet_np.training.train.Trainer` of a :class:`~alexnet_np.distributed.DistributedNet`.

    Checkpoints hold the whole model and the whole momentum (gathered); rank 0 writes them, every rank reads.
    """

    def __init__(self, net, train_data, val_data, config):
        super().__init__(net, train_data, val_data, config)
        self.comm = net.comm
        load = self.optimizer.load_state_dict  # a checkpoint's momentum is the whole model's: keep our part
        self.optimizer.load_state_dict = lambda state: load(dict(state, velocity=net.part(state["velocity"])))

    def _step(self, x, y):
        out = super()._step(x, y)
        if self.model.summed:
            self.model.check_replicas()
        return out

    def checkpoint_contents(self):
        arrays, meta = super().checkpoint_contents()  # the model's arrays are gathered whole by state_dict
        velocity = self.model.whole({k[9:]: v for k, v in arrays.items() if k.startswith("velocity/")})
        arrays.update({f"velocity/{k}": v for k, v in velocity.items()})
        return arrays, meta

    def save_checkpoint(self, path):
        from ..io import save_npz_atomic

        contents = self.checkpoint_contents()  # every rank: it gathers
        if self.comm.rank == 0:
            save_npz_atomic(path, *contents)
        self.comm.Barrier()


def _agree(comm, action):
    """Run ``action()`` on every rank; if it raised a UserError on any rank, every rank stops: the first
    failing rank's error is raised on rank 0 (the CLI prints it), the others exit with status 2 silently."""
    error = None
    try:
        result = action()
    except UserError as err:
        error, result = err, None
    failed = np.array([comm.rank if error is not None else comm.size], np.int64)
    everyone = np.empty(comm.size, np.int64)
    comm.Allgatherv(failed, everyone, [1] * comm.size)
    first = int(everyone.min())
    if first < comm.size:
        if comm.rank == first:
            if first == 0:
                raise error
            print(f"{os.path.basename(sys.argv[0])} (rank {first}): error: {error}", file=sys.stderr)
        raise SystemExit(2)
    return result


def cmd_train_parallel(args):
    """``train --parallel SCHEME`` under mpiexec (the CLI's train, on every rank; rank 0 writes)."""
    from ..tools import cli
    from ..training.train import OVERFIT_BATCH_SIZE

    comm = CountingComm(timeout=args.timeout)

    def check():  # before any data are read or any model is built
        if args.data_dir and args.dataset != "folder":
            raise BadArgument("--data-dir is read only with --dataset folder")
        default = OVERFIT_BATCH_SIZE if args.overfit_batch else cli._train_defaults()["batch_size"]
        check_scheme(args.parallel, comm.size, args.variant, batch_size=args.batch_size or default)

    _agree(comm, check)
    if args.overfit_batch:
        return _overfit_batch(args, comm, cli)
    return _train(args, comm, cli)


def _model(args, comm, num_classes, seed, dropout=None, lrn=None):
    """This rank's part of the model; the paper's towers each normalise their own maps under --parallel model
    (a resumed run keeps its checkpoint's choice, ``lrn``)."""
    from ..model import AlexNet

    model = AlexNet(
        args.variant,
        num_classes=num_classes,
        seed=seed,
        input_size=args.input_size,
        activation=args.activation,
        lrn=lrn if lrn is not None else "towers" if args.parallel == "model" else None,
        dropout=dropout,
    )
    return distribute(model, args.parallel, comm)


def _overfit_batch(args, comm, cli):
    from ..training.train import OVERFIT_BATCH_SIZE, OVERFIT_STEPS, TrainConfig, TrainingDiverged, _no_data

    def prepare():
        if args.resume:
            raise BadArgument("--overfit-batch starts from a fresh model; it cannot --resume")
        defaults = cli._train_defaults()
        options = {
            k: (defaults[k] if getattr(args, k) is None else getattr(args, k)) for k in cli.RUN_OPTIONS
        }
        options.update(batch_size=args.batch_size or OVERFIT_BATCH_SIZE, schedule="none", pca_noise=0.0)
        return options, TrainConfig(epochs=1, **options)

    options, config = _agree(comm, prepare)
    steps = args.steps or OVERFIT_STEPS
    size = args.input_size or cli._default_input_size(args.variant)
    train, _ = _agree(comm, lambda: cli._load_dataset(args, options["seed"], size))
    net = _model(args, comm, len(train.classes), options["seed"], dropout=0)
    trainer = DistributedTrainer(net, train, _no_data(train), config)
    say = print if comm.rank == 0 and not args.quiet else None
    if comm.rank == 0:
        print(
            f"overfitting one batch with AlexNet({args.variant!r}) on {comm.size} ranks ({args.parallel} parallel), "
            f"dropout off, lr {options['lr']:g}; up to {steps:,} steps, stopping below {cli.OVERFIT_PASS}"
        )
    try:
        result = trainer.overfit_batch(
            steps=steps, log_every=max(1, min(steps, 1000) // 10), log=say, stop_below=cli.OVERFIT_PASS
        )
    except TrainingDiverged as err:
        if comm.rank == 0:
            print(f"{cli.PROG} train --overfit-batch: {err}", file=sys.stderr)
        return 1
    if comm.rank == 0:
        first, final, reached = result["losses"][0], result["final"], result["reached"]
        print(
            f"pass: the loss fell from {first:.4f} to below {cli.OVERFIT_PASS} at step {reached}"
            if reached
            else f"FAIL: after {steps:,} steps the loss is {final:.4f} (from {first:.4f}), not below {cli.OVERFIT_PASS}"
        )
    return 0 if result["reached"] else 1


def _train(args, comm, cli):
    import json

    from ..io import atomic_write, remove_stale_temporaries
    from ..preprocessing import Preprocessing
    from ..training.train import TrainConfig, TrainingDiverged, load_checkpoint_file, plot_history

    checkpoint = os.path.join(args.out, "checkpoint.npz")

    def prepare():
        if args.steps is not None:
            raise BadArgument("--steps is read only with --overfit-batch (a full run is counted in --epochs)")
        if args.resume and not os.path.isfile(checkpoint):
            raise BadArgument(f"--resume: no checkpoint at {checkpoint}")
        meta = load_checkpoint_file(checkpoint)[1] if args.resume else None
        cli._refuse_foreign_files(args, meta)
        options = cli._run_options(args, meta)
        check_scheme(args.parallel, comm.size, args.variant, batch_size=options["batch_size"])
        return meta, options, TrainConfig(epochs=args.epochs, **options)

    meta, options, config = _agree(comm, prepare)
    lock = None
    if comm.rank == 0:  # rank 0 writes; the folder is locked by it alone
        os.makedirs(args.out, exist_ok=True)

    def take_lock():
        nonlocal lock
        if comm.rank == 0:
            lock = cli._lock_output_folder(args.out)
            remove_stale_temporaries(args.out)

    _agree(comm, take_lock)
    try:
        size, resize = args.input_size or cli._default_input_size(args.variant), None
        if args.resume:
            prep = Preprocessing.from_dict(meta["preprocessing"], where=checkpoint)
            size, resize = prep.input_size, prep.resize
        train, val = _agree(comm, lambda: cli._load_dataset(args, options["seed"], size, resize))
        net = _model(
            args, comm, len(train.classes), options["seed"], lrn=meta["model"]["lrn"] if meta else None
        )
        trainer = DistributedTrainer(net, train, val, config)
        if args.resume:
            trainer.load_checkpoint(checkpoint)
        root = comm.rank == 0
        if root:
            print(
                f"training AlexNet({args.variant!r}) on {comm.size} ranks ({args.parallel} parallel; this rank holds "
                f"{net.num_params():,} parameters) on {len(train)} images ({len(val)} held out)"
                + (f", resumed after epoch {trainer.epoch}" if args.resume else "")
            )
        try:
            history = trainer.fit(
                checkpoint=checkpoint, progress=root and not args.quiet, log=print if root else None
            )
        except TrainingDiverged as err:
            if root:
                print(f"{cli.PROG} train: {err}", file=sys.stderr)
            return 1
        net.save(os.path.join(args.out, "model.npz"))
        if root:
            atomic_write(
                os.path.join(args.out, "history.json"),
                lambda f: f.write(json.dumps(history, indent=1).encode()),
            )
            fig = plot_history(
                history, title=f"AlexNet({args.variant!r}) on {args.dataset}, {args.parallel} parallel"
            )
            atomic_write(
                os.path.join(args.out, "history.png"), lambda f: fig.savefig(f, format="png", dpi=100)
            )
            cli._write_run_record(args.out, trainer.run)
            last = history[-1]
            print(
                f"done: held-out top-1 {last['val_top1']:.4f}; "
                f"{sum(h['seconds'] for h in history):.1f} s of training on {comm.size} ranks; files in {args.out}/"
            )
        return 0
    finally:
        if lock is not None:
            os.close(lock)
