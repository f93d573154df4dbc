"""Command line: ``python -m alexnet_np {tour,summary,gradcheck,train,evaluate,predict,convert-weights,docs} ...``.

Every command has ``--help``. A user's mistake (:class:`alexnet_np.errors.UserError`: a bad argument, a bad or
hostile file, a refused overwrite) and an ``OSError`` print one line and exit with status 2; any other exception
is a bug in alexnet_np and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ..errors import BadArgument, RefusedOverwrite, UserError

PROG = "python -m alexnet_np"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _input_shape(text):
    try:
        parts = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected C×H×W such as 3x227x227, got {text!r}")
    return parts


def _number(kind, allow_zero=False):
    """An argparse type: a positive (or non-negative) finite int or float, with a one-line error otherwise."""
    what = f"{'non-negative' if allow_zero else 'positive'} finite {'integer' if kind is int else 'number'}"

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            v = float("nan")
        if not ((v > 0 or (allow_zero and v == 0)) and v < float("inf")):
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}")
        return v

    return parse


_positive_int, _positive_float = _number(int), _number(float)
_non_negative_int, _non_negative_float = _number(int, allow_zero=True), _number(float, allow_zero=True)


def cmd_summary(args):
    from ..model import AlexNet

    kwargs = dict(num_classes=args.classes)
    if args.input:
        if args.input[0] != 3:
            raise BadArgument(f"AlexNet takes 3 input channels, got --input {'x'.join(map(str, args.input))}")
        kwargs["input_size"] = args.input[1:]
    if args.lrn is not None:
        kwargs["lrn"] = args.lrn
    model = AlexNet.shapes_only(args.variant, **kwargs)  # a table needs shapes, not weights
    summary = model.summary((args.batch, 3, *model.input_size))
    columns = args.columns.split(",") if args.columns else summary.DEFAULT_COLUMNS
    print(summary.table(columns))
    return 0


def cmd_gradcheck(args):
    from ..gradcheck import (
        LAYER_TOL,
        NETWORK_TOL,
        check_all_layers,
        layer_catalogue,
        network_check,
        print_gradcheck_table,
    )

    known = list(layer_catalogue(np.random.default_rng(0))) + ["CrossEntropyLoss"]
    names = None
    if args.layer:
        names = [n for n in known if n == args.layer or n.split()[0] == args.layer]
        if not names:
            raise BadArgument(
                f"unknown layer {args.layer!r}; choose from {sorted({n.split()[0] for n in known})}"
            )
    from .tour import compile_notice, kernels_cached

    print(
        f"Central differences in float64 (h = 1e-6), relative error ‖a − n‖/(‖a‖ + ‖n‖); pass below {LAYER_TOL:g}."
    )
    print(f"{compile_notice('the float64 kernels', kernels_cached())}", flush=True)
    count = len(names or known)
    print(f"checking {count} layer {'type' if count == 1 else 'types'} ...", flush=True)
    ok = print_gradcheck_table(check_all_layers(names=names))
    if args.network and names is None:
        t = time.perf_counter()
        print(
            "\nWhole network (single_tower, batch 1, float64), random directions, h = 1e-5 "
            "(about 20 s on two quiet cores) ...",
            flush=True,
        )
        res = network_check()
        for i, (a, n, err) in enumerate(res):
            passed = err < NETWORK_TOL
            ok &= passed
            print(
                f"  direction {i}: analytic {a:+.10e}  numeric {n:+.10e}  rel. error {err:.1e}  "
                f"{'pass' if passed else 'FAIL'}"
            )
        print(f"  ({time.perf_counter() - t:.1f} s)")
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


def _default_input_size(variant):
    from ..model import DEFAULT_INPUT_SIZE

    return DEFAULT_INPUT_SIZE[variant]


def _load_dataset(args, seed, size, resize=None):
    """The data prepared for a model of input ``size`` (its crops), the stored images ``resize`` on a side
    (default: the loader's rule for ``size``): whatever the variant, the data fit the model being trained."""
    from ..training.data import load_digits_data, load_image_folder

    if args.dataset == "digits":
        return load_digits_data(size=resize, crop=size, seed=seed)
    if not args.data_dir:
        raise BadArgument("--dataset folder needs --data-dir ROOT (a folder of class sub-folders of images)")
    return load_image_folder(args.data_dir, size=size, resize=resize, seed=seed)


# The fields of TrainConfig that train takes as options (their defaults and help are TrainConfig's). A
# checkpoint fixes them: on --resume they come from the checkpoint, and a different value given on the command
# line is refused (defaults are filled in only for new runs). --epochs is apart: a resumed run may grow.
RUN_OPTIONS = ("batch_size", "lr", "schedule", "pca_noise", "flip", "seed")


def _train_defaults():
    from ..training.train import TrainConfig

    return TrainConfig.defaults()


def _lock_output_folder(folder):
    """Hold an exclusive lock on FOLDER for the life of the process (the OS drops it if the process dies)."""
    import fcntl
    import os

    fd = os.open(folder, os.O_RDONLY)  # the folder itself is locked: no lock file is left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BadArgument(
            f"another training run is writing to {folder}/ right now; choose another --out"
        ) from None
    return fd


def _run_options(args, meta):
    """The run's settings: the command line's for a new run; the checkpoint's (``meta``) for --resume (a differing
    command-line value is refused rather than silently ignored or applied halfway)."""
    given = {k: getattr(args, k) for k in RUN_OPTIONS if getattr(args, k) is not None}
    defaults = _train_defaults()
    if not args.resume:
        return {**{k: defaults[k] for k in RUN_OPTIONS}, **given}
    stored = meta["config"]
    differ = {k: (v, stored.get(k)) for k, v in given.items() if v != stored.get(k)}
    if differ:
        said = ", ".join(
            f"--{k.replace('_', '-')} {a} (the checkpoint has {b})" for k, (a, b) in differ.items()
        )
        raise BadArgument(
            f"--resume continues the run as it was saved; refusing {said}: drop those options, "
            f"or start a new run with another --out"
        )
    return {k: stored.get(k, defaults[k]) for k in RUN_OPTIONS}


def cmd_train(args):
    import os

    if args.parallel:  # under mpiexec: the distributed wing runs the same training on every rank
        from ..distributed.train import cmd_train_parallel

        return cmd_train_parallel(args)
    if args.data_dir and args.dataset != "folder":
        raise BadArgument("--data-dir is read only with --dataset folder")
    if args.overfit_batch:
        return _overfit_batch(args)
    if args.steps is not None:
        raise BadArgument("--steps is read only with --overfit-batch (a full run is counted in --epochs)")
    from ..io import refuse_link

    refuse_link(args.out, "--out")
    if os.path.lexists(args.out) and not os.path.isdir(args.out):
        raise BadArgument(
            f"--out {args.out}: a file, not a folder (the run's checkpoint and records go in a folder)"
        )
    if args.data_dir and _inside(args.out, args.data_dir):
        raise BadArgument(
            f"--out {args.out} is inside --data-dir {args.data_dir}: the run's folder would be read as a class of "
            "the data; choose an --out outside it"
        )
    made = _folders_to_make(args.out)
    os.makedirs(args.out, exist_ok=True)
    lock = _lock_output_folder(args.out)
    try:
        from ..io import remove_stale_temporaries

        remove_stale_temporaries(args.out)  # under the lock no live writer of ours can own one
        return _train_locked(args)
    except BaseException:
        _remove_if_empty(made)  # a refused or failed run leaves no folder it made behind (a full one stays)
        raise
    finally:
        os.close(lock)


def _inside(path, folder) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (by their real paths)."""
    import os

    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _folders_to_make(path) -> list:
    """The folders ``os.makedirs(path)`` would create, outermost first."""
    import os

    missing, head = [], os.path.abspath(path)
    while not os.path.lexists(head):
        missing.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    return missing[::-1]


def _remove_if_empty(folders):
    """Remove each of ``folders`` (made by this run), innermost first, while it is empty."""
    import os

    for folder in reversed(folders):
        try:
            os.rmdir(folder)  # fails, harmlessly, on a folder that is not empty
        except OSError:
            return


OVERFIT_PASS = 0.01  # the loss on the memorised batch that counts as "near zero"


def _overfit_batch(args):
    """Karpathy's first check: the network, without dropout, must drive the loss on one batch to ~0."""
    from ..model import AlexNet
    from ..training.train import (
        OVERFIT_BATCH_SIZE,
        OVERFIT_STEPS,
        TrainConfig,
        Trainer,
        TrainingDiverged,
        _no_data,
    )

    if args.resume:
        raise BadArgument("--overfit-batch starts from a fresh model; it cannot --resume")
    defaults = _train_defaults()
    options = {k: (defaults[k] if getattr(args, k) is None else getattr(args, k)) for k in RUN_OPTIONS}
    options.update(batch_size=args.batch_size or OVERFIT_BATCH_SIZE, schedule="none", pca_noise=0.0)
    steps = args.steps or OVERFIT_STEPS
    config = TrainConfig(epochs=1, **options)  # every value checked before any data are read
    size = args.input_size or _default_input_size(args.variant)
    train, _ = _load_dataset(args, options["seed"], size)
    model = AlexNet(
        args.variant,
        num_classes=len(train.classes),
        seed=options["seed"],
        input_size=args.input_size,
        activation=args.activation,
        dropout=0,  # regularisation fights memorisation: off for this check
    )
    trainer = Trainer(model, train, _no_data(train), config)
    n = min(options["batch_size"], len(train))
    print(
        f"overfitting one batch of {n} images with AlexNet({args.variant!r}), dropout off, lr {options['lr']:g}; "
        f"up to {steps:,} steps, stopping once the loss is below {OVERFIT_PASS}"
    )
    try:
        result = trainer.overfit_batch(
            steps=steps,
            log_every=max(1, min(steps, 1000) // 10),
            log=None if args.quiet else print,
            stop_below=OVERFIT_PASS,
        )
    except TrainingDiverged as err:
        print(f"{PROG} train --overfit-batch: {err}", file=sys.stderr)
        return 1
    if args.quiet:
        print(trainer.initial_loss.message)
    first, final, reached = result["losses"][0], result["final"], result["reached"]
    if reached:
        print(
            f"pass: the loss on the batch fell from {first:.4f} to below {OVERFIT_PASS} at step {reached} "
            f"(after it: {final:.2e}); stopped there"
        )
        return 0
    print(
        f"FAIL: after {steps:,} steps the loss on the batch is {final:.4f} (from {first:.4f}), not below "
        f"{OVERFIT_PASS}: more --steps, another --lr, or a bug in a forward, backward or update"
    )
    return 1


# What a training run writes into --out: the checkpoint (every epoch), then the outputs and their record (the
# run's name and each output's SHA-256), by which a later run knows these files as its own.
RUN_OUTPUTS = ("model.npz", "history.json", "history.png")
RUN_RECORD = "run.json"


def _sha256(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_run_record(folder, run):
    import json
    import os

    from ..io import atomic_write

    record = dict(
        format="alexnet_np-run",
        run=run,
        files={name: _sha256(os.path.join(folder, name)) for name in RUN_OUTPUTS},
    )
    atomic_write(os.path.join(folder, RUN_RECORD), lambda f: f.write(json.dumps(record, indent=1).encode()))


def _own_files(folder, run):
    """The outputs in ``folder`` that the run named ``run`` wrote and nobody changed since."""
    import json
    import os

    try:
        with open(os.path.join(folder, RUN_RECORD), "rb") as f:
            record = json.loads(f.read(2**16))
        files = record["files"] if record["run"] == run else {}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return set()
    return {
        name
        for name in RUN_OUTPUTS
        if isinstance(files, dict)
        and os.path.isfile(os.path.join(folder, name))
        and not os.path.islink(os.path.join(folder, name))
        and files.get(name) == _sha256(os.path.join(folder, name))
    }


def _refuse_foreign_files(args, meta):
    """A run writes over only its own files: a new run over nothing of ours, --resume over the outputs its
    checkpoint's run wrote (unchanged since). Anything else is refused in one line unless --force."""
    import os

    folder = args.out
    present = [
        n for n in ("checkpoint.npz", *RUN_OUTPUTS, RUN_RECORD) if os.path.lexists(os.path.join(folder, n))
    ]
    links = [n for n in present if os.path.islink(os.path.join(folder, n))]
    if links:  # not even with --force: a command never writes through a link, nor replaces one
        raise RefusedOverwrite(
            f"{folder}/{links[0]} is a symbolic link: a run never writes through one nor replaces it; remove it "
            "or choose another --out"
        )
    if args.resume:
        own = {"checkpoint.npz", RUN_RECORD} | _own_files(folder, meta.get("run"))
        foreign = [n for n in present if n not in own]
        why = "not written by the run its checkpoint.npz records (or changed since)"
    else:
        foreign = present
        why = "from another run" + (" (--resume continues it)" if "checkpoint.npz" in present else "")
    if foreign and not args.force:
        raise RefusedOverwrite(
            f"{folder}/ holds {', '.join(foreign)} {why}: this run would replace "
            f"{'them' if len(foreign) > 1 else 'it'}; choose another --out, or pass --force to replace"
        )


def _train_locked(args):
    import json
    import os

    from ..io import atomic_write
    from ..model import AlexNet
    from ..preprocessing import Preprocessing
    from ..training.train import TrainConfig, Trainer, TrainingDiverged, load_checkpoint_file, plot_history

    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if args.resume and not os.path.isfile(checkpoint):
        raise BadArgument(f"--resume: no checkpoint at {checkpoint}")
    meta = load_checkpoint_file(checkpoint)[1] if args.resume else None  # checked whole, once
    _refuse_foreign_files(args, meta)  # before anything is read or written
    options = _run_options(args, meta)
    config = TrainConfig(epochs=args.epochs, **options)
    size, resize = args.input_size or _default_input_size(args.variant), None
    if args.resume:  # the data prepared as the run was: its preprocessing record's crop and stored size
        prep = Preprocessing.from_dict(meta["preprocessing"], where=checkpoint)
        size, resize = prep.input_size, prep.resize
    train, val = _load_dataset(args, options["seed"], size, resize)
    model = AlexNet(
        args.variant,
        num_classes=len(train.classes),
        seed=options["seed"],
        input_size=args.input_size,
        activation=args.activation,
    )
    trainer = Trainer(model, train, val, config)
    if args.resume:
        trainer.load_checkpoint(checkpoint)
        print(
            f"resumed from {checkpoint} after epoch {trainer.epoch} (its settings: "
            + ", ".join(f"{k}={v}" for k, v in options.items())
            + ")"
        )
    print(
        f"training AlexNet({args.variant!r}) with {model.num_params():,} parameters on {len(train)} images "
        f"({len(val)} held out), {len(train.classes)} classes"
    )
    try:
        history = trainer.fit(checkpoint=checkpoint, progress=not args.quiet)
    except TrainingDiverged as err:
        print(
            f"{PROG} train: {err}; {checkpoint if trainer.epoch else 'nothing'} kept as the last good state",
            file=sys.stderr,
        )
        return 1
    model.save(os.path.join(args.out, "model.npz"))
    atomic_write(
        os.path.join(args.out, "history.json"), lambda f: f.write(json.dumps(history, indent=1).encode())
    )
    fig = plot_history(history, title=f"AlexNet({args.variant!r}) on {args.dataset}")
    atomic_write(os.path.join(args.out, "history.png"), lambda f: fig.savefig(f, format="png", dpi=100))
    _write_run_record(args.out, trainer.run)
    last = history[-1]
    print(
        f"done: held-out top-1 {last['val_top1']:.4f}, top-5 {last['val_top5']:.4f}; "
        f"{sum(h['seconds'] for h in history):.1f} s of training; files in {args.out}/"
    )
    return 0


def cmd_evaluate(args):
    from ..training.train import evaluate, model_from_checkpoint
    from .tour import compile_notice, kernels_cached

    cached = kernels_cached()
    print(f"loading {args.checkpoint} and its held-out split ...", flush=True)
    model, meta = model_from_checkpoint(args.checkpoint)
    args.dataset, args.data_dir = args.dataset or "digits", args.data_dir
    prep = model.preprocessing  # the data prepared as the run's were
    _, val = _load_dataset(args, meta["config"]["seed"], prep.input_size, prep.resize)
    if len(val) == 0:
        raise BadArgument("the held-out split is empty: nothing to evaluate")
    if list(val.classes) != list(meta["classes"]):
        raise BadArgument(f"the data's classes {val.classes} differ from the checkpoint's {meta['classes']}")
    how = "10-crop averaged" if args.ten_crop else "centre crop"
    print(f"evaluating {len(val)} images, {how}; {compile_notice('the kernels', cached)}", flush=True)
    r = evaluate(model, val, ten_crop=args.ten_crop)
    print(
        f"{args.checkpoint}: {len(val)} held-out images, {how}: loss {r['loss']:.4f}, "
        f"top-1 {r['top1']:.4f}, top-5 {r['top5']:.4f}"
    )
    return 0


def cmd_predict(args):
    from .inference import iter_predict, load_weights

    model = load_weights(args.weights, args.variant)
    results = iter_predict(model, args.images, topk=args.topk)  # streamed: one batch in memory at a time
    for path, top in zip(args.images, results):
        print(f"{path}:")
        for rank, (idx, name, p) in enumerate(top, start=1):
            print(f"  {rank}. {name:<32} (class {idx:>3})  {100 * p:6.2f}%")
    return 0


def cmd_convert(args):
    from ..io import check_target
    from .inference import npz_to_torch, torch_to_npz

    src, dst = args.src, args.dst
    check_target(dst, force=args.force)  # before reading anything: the destination is the user's
    if src.endswith(".pth") or src.endswith(".pt"):
        if not dst.endswith(".npz"):
            raise BadArgument(f"converting {src} from PyTorch: the destination must end in .npz, got {dst}")
        model = torch_to_npz(src, dst, variant=args.variant)
    elif src.endswith(".npz"):
        if not (dst.endswith(".pth") or dst.endswith(".pt")):
            raise BadArgument(f"converting {src} to PyTorch: the destination must end in .pth, got {dst}")
        model = npz_to_torch(src, dst)
    else:
        raise BadArgument(f"cannot tell the direction from {src}: expected a .pth/.pt or .npz source")
    print(
        f"wrote {dst}: AlexNet({model.variant!r}), {model.num_classes} classes, {model.num_params():,} parameters"
    )
    return 0


def cmd_tour(args):
    from .tour import tour

    return tour(args.variant, args.image, args.seed)


def cmd_exercises(args):
    from ..errors import BadArgument
    from ..exercises import build_workbook, list_exercises
    from ..exercises.workbook import default_workbook

    if args.list:
        print(list_exercises())
        return 0
    if args.autograde:
        return _autograde(args)
    src = args.src if args.src is not None else default_workbook()
    if not (args.student or args.solutions or args.course):
        raise BadArgument(
            "say --student DIR (solutions replaced by stubs), --solutions DIR (the full copy), "
            "--course DIR (an nbgrader course) or --autograde COURSE_DIR"
        )
    if args.points and not args.course:
        raise BadArgument("--points sets an nbgrader course's points: it goes with --course DIR")
    if args.student and args.solutions and _same_path(args.student, args.solutions):
        raise BadArgument(f"--student and --solutions are the same folder ({args.student}): give two folders")
    if args.course:
        from ..exercises.course import make_course

        written = make_course(
            args.course,
            args.assignment,
            src,
            points=_points(args.points),
            cell_timeout=args.cell_timeout,
            force=args.force,
        )
        print(
            f"wrote {len(written)} file(s) to {args.course}/ (nbgrader's source/{args.assignment}/); next, there: "
            f"nbgrader generate_assignment {args.assignment}"
        )
    for dst, solutions in ((args.student, False), (args.solutions, True)):
        if dst:
            written = build_workbook(src, dst, solutions=solutions, force=args.force)
            print(
                f"wrote {len(written)} notebook(s) to {dst}/ ({'with' if solutions else 'without'} solutions)"
            )
    return 0


def _points(text):
    """``"lrn_backward=3,derivations=1"`` -> ``{"lrn_backward": 3.0, "derivations": 1.0}``."""
    import math

    from ..errors import BadArgument

    points = {}
    for item in filter(None, (text or "").split(",")):
        name, _, value = item.partition("=")
        name = name.strip()
        try:
            v = float(value)
        except ValueError:
            raise BadArgument(f"--points {item!r}: expected NAME=POINTS, e.g. lrn_backward=3") from None
        if not (v >= 0 and math.isfinite(v)):
            raise BadArgument(f"--points {item!r}: points must be a finite number >= 0")
        if name in points:
            raise BadArgument(f"--points: {name} given twice ({points[name]:g} and {v:g})")
        points[name] = v
    return points


def _same_path(a, b):
    import pathlib

    return pathlib.Path(a).resolve() == pathlib.Path(b).resolve()


def _autograde(args):
    from ..exercises.course import autograde

    def progress(r):
        cut = f", {r.cut_outputs} long output(s) cut" if r.cut_outputs else ""
        cut += "".join(f"; left out: {s}" for s in r.skipped)
        why = f": {r.message}" if r.message else ""
        print(
            f"{r.student:<20} {r.status:<9} {r.score:g}/{r.max_score:g} in {r.seconds:.0f} s{cut}{why}",
            flush=True,
        )

    import signal
    import threading

    def terminate(signum, frame):
        raise KeyboardInterrupt  # `kill` stops grading as Ctrl-C does: the sandboxes go on the way out

    graded = []
    main_thread = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        results = autograde(
            args.autograde,
            args.assignment,
            args.students.split(",") if args.students else None,
            cell_timeout=args.cell_timeout,
            wall_timeout=args.timeout,
            jobs=args.jobs,
            progress=lambda r: (graded.append(r.student), progress(r)),
            force=args.force,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted after {len(graded)} submission(s); the ones being graded were stopped and left as they "
            "were in the course (run again with --students, or --force)",
            file=sys.stderr,
        )
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    bad = [r.student for r in results if r.status != "graded"]
    print(
        f"autograded {len(results)} submission(s) of {args.assignment}"
        + (f"; not graded (scored 0): {', '.join(bad)}" if bad else "")
        + f". Next: nbgrader generate_feedback {args.assignment}; python -m alexnet_np class-report "
        f"{args.autograde}/gradebook.db"
    )
    return 0


def cmd_class_report(args):
    from ..exercises.classroom import check_png, class_report

    if args.plot:
        check_png(args.plot, args.force)  # refuse before the work, not after
    rep = class_report(args.gradebook, args.assignment)
    print(rep.table())
    if args.plot:
        rep.plot(args.plot, force=args.force)
        print(f"wrote {args.plot}")
    return 0


def cmd_docs(args):
    import importlib.util

    # the docs extra: fail here with one line, not deep in the build
    for module in ("sphinx", "myst_nb", "furo", "bs4", "sphinx-mathjax-offline", "nbclient", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            raise BadArgument(f"needs the docs extra ({module} is missing): pip install -e '.[docs]'")
    from .docs import build_site

    try:
        build_site(args.out, timeout=args.timeout)
    except RuntimeError as err:  # a failed notebook, a Sphinx warning, a broken link or a missing figure
        print(f"{PROG} docs: error: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_bench(args):
    # a fresh interpreter that imports NumPy before alexnet_np and sets nothing, as a user's notebook or script
    # does (this process imported alexnet_np first); the benchmark's --settings best adds the tuned column
    import importlib.util
    import os
    import subprocess

    from ..ops import threads

    if importlib.util.find_spec("torch") is None and not {"-h", "--help"} & set(args.bench_args):
        raise BadArgument("bench compares with PyTorch, which is not installed: pip install torch==2.13.0")
    env = dict(os.environ)
    if threads.blas_timeout_set_here():  # set by this process's import of alexnet_np, not by the user
        env.pop("OPENBLAS_THREAD_TIMEOUT", None)
    code = "import numpy, sys; from alexnet_np.tools.bench import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.call([sys.executable, "-c", code, *args.bench_args], env=env)


def _config_value(name, kind):
    """An argparse type for the TrainConfig field ``name``: parsed as ``kind``, checked by the field's own rule."""
    from dataclasses import fields

    from ..training.train import TrainConfig

    meta = next(f for f in fields(TrainConfig) if f.name == name).metadata

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not meta["check"](value):
            raise argparse.ArgumentTypeError(f"expected {meta['expected']}, got {text!r}")
        return value

    return parse


def _train_config_options(s):
    """train's options for the fields of TrainConfig: their defaults, help and checks are the dataclass's."""
    from dataclasses import fields

    from ..training.train import OVERFIT_BATCH_SIZE, TrainConfig

    spec = {f.name: f for f in fields(TrainConfig)}
    for name in ("epochs", *RUN_OPTIONS):
        f, flag = spec[name], "--" + name.replace("_", "-")
        default = f.metadata["help"] + f" (default {f.default})"
        if name == "flip":
            group = s.add_mutually_exclusive_group()
            group.add_argument(flag, dest=name, action="store_true", default=None, help=f.metadata["help"])
            group.add_argument("--no-flip", dest=name, action="store_false")
            continue
        kind = {"int": int, "float": float, "str": str}[f.type]
        options = dict(type=_config_value(name, kind), choices=f.metadata["choices"], help=default)
        if name == "epochs":  # a resumed run may grow; the others come from the checkpoint on --resume
            options["default"] = f.default
        if name == "batch_size":
            options["help"] += f"; --overfit-batch: {OVERFIT_BATCH_SIZE}"
        s.add_argument(flag, **options)


def build_parser():
    from ..model import VARIANTS
    from ..training.data import SAMPLE_IMAGES

    p = _Parser(prog=PROG, description="AlexNet from scratch in NumPy.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser(
        "tour", help="the main demo: summary, formula, a real photo forward/backward, gradient checks"
    )
    s.add_argument("--variant", choices=VARIANTS, default="single_tower")
    s.add_argument(
        "--image",
        default="astronaut",
        help=f"a bundled photograph ({', '.join(SAMPLE_IMAGES)}) or the path of an image file",
    )
    s.add_argument("--seed", type=_non_negative_int, default=0)
    s.set_defaults(func=cmd_tour)

    s = sub.add_parser("summary", help="print the layer table of a variant (no data needed)")
    s.add_argument("--variant", choices=VARIANTS, default="single_tower")
    s.add_argument("--input", type=_input_shape, help="C×H×W, e.g. 3x227x227 (default: the variant's own)")
    s.add_argument("--classes", type=_positive_int, default=1000)
    lrn = s.add_mutually_exclusive_group()
    lrn.add_argument("--lrn", dest="lrn", action="store_true", default=None, help="force LRN layers on")
    lrn.add_argument(
        "--no-lrn",
        dest="lrn",
        action="store_false",
        help="leave LRN out (the layer table of the article notebook 06 calls D)",
    )
    s.add_argument(
        "--columns",
        help="comma-separated columns (default type,output,params,macs,activations; output_size adds the "
        "output-size arithmetic, receptive_field and rf_start a unit's field, kept_mib, im2col_mib and "
        "train_mib the memory of a training step at --batch)",
    )
    s.add_argument("--batch", type=_positive_int, default=1, help="batch size of the memory columns")
    s.set_defaults(func=cmd_summary)

    s = sub.add_parser("gradcheck", help="gradient-check every layer type and the whole network")
    s.add_argument("--layer", help="check one layer type only, e.g. Conv2d or MaxPool2d")
    s.add_argument(
        "--no-network",
        dest="network",
        action="store_false",
        help="skip the whole-network directional check (about 5 s)",
    )
    s.set_defaults(func=cmd_gradcheck)

    s = sub.add_parser("train", help="train an AlexNet with the paper's recipe (SGD, momentum, augmentation)")
    s.add_argument(
        "--dataset",
        choices=("digits", "folder"),
        default="digits",
        help="digits: scikit-learn's handwritten digits; folder: --data-dir ROOT/class_name/*.jpg",
    )
    s.add_argument("--data-dir")
    s.add_argument("--variant", choices=VARIANTS, default="mini")
    s.add_argument("--input-size", type=int, help="network input size (default: the variant's)")
    s.add_argument("--activation", choices=("relu", "tanh"), default="relu")
    _train_config_options(s)
    s.add_argument(
        "--out", default="runs/digits", help="folder for checkpoint.npz, model.npz, history.json/png"
    )
    s.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    s.add_argument(
        "--force",
        action="store_true",
        help="replace files in OUT that are not this run's own (another run's model, history, checkpoint)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument(
        "--overfit-batch",
        action="store_true",
        help="sanity check: train on one batch (default 16 images, dropout off) until the loss is ~0; writes nothing",
    )
    s.add_argument("--steps", type=_positive_int, help="steps of --overfit-batch (default 100)")
    s.add_argument(
        "--parallel",
        choices=("model", "data", "hybrid"),
        help="run under mpiexec across its ranks: model (the paper's two towers, 2 ranks, --variant paper), "
        "data (a shard of each batch per rank), hybrid (data parallel convolutions, model parallel fc layers); "
        "needs the distributed extra",
    )
    s.add_argument(
        "--timeout",
        type=_positive_float,
        default=300.0,
        help="with --parallel: seconds a rank waits for the others in one exchange before ending the run",
    )
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="evaluate a training checkpoint on its held-out split")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--dataset", choices=("digits", "folder"))
    s.add_argument("--data-dir")
    s.add_argument(
        "--ten-crop", action="store_true", help="average the softmax over 10 crops (the paper's test)"
    )
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser(
        "exercises",
        help="the exercise workbook: a student copy, a solutions copy, an nbgrader course, its autograding",
    )
    s.add_argument(
        "--student", metavar="DIR", help="write the notebooks with every solution replaced by a stub"
    )
    s.add_argument("--solutions", metavar="DIR", help="write the full notebooks, solutions included")
    s.add_argument(
        "--course",
        metavar="DIR",
        help="write an nbgrader course: DIR/source/ASSIGNMENT (cells marked for nbgrader) and DIR/nbgrader_config.py",
    )
    s.add_argument(
        "--autograde",
        metavar="COURSE_DIR",
        help="autograde every submission in COURSE_DIR/submitted, each in its own sandboxed nbgrader process",
    )
    s.add_argument(
        "--assignment", default="workbook", help="the nbgrader assignment's name (default workbook)"
    )
    s.add_argument(
        "--points",
        help="with --course: NAME=POINTS,... per exercise (default 1 each; 'derivations': written answers, 0)",
    )
    s.add_argument(
        "--students", help="with --autograde: comma-separated student ids (default: every submission)"
    )
    s.add_argument(
        "--cell-timeout",
        type=_positive_int,
        default=60,
        help="seconds a cell may run when autograding (default 60)",
    )
    s.add_argument(
        "--timeout",
        type=_positive_float,
        default=600,
        help="with --autograde: seconds one submission may take in all before it is killed (default 600)",
    )
    s.add_argument(
        "--jobs", type=_positive_int, help="with --autograde: submissions at once (default: the CPUs)"
    )
    s.add_argument(
        "--src",
        help="the source notebooks (default: the workbook installed with alexnet_np, notebooks/exercises)",
    )
    s.add_argument("--force", action="store_true", help="replace notebooks that exist in the destination")
    s.add_argument("--list", action="store_true", help="list the exercises and their signatures")
    s.set_defaults(func=cmd_exercises)

    s = sub.add_parser(
        "class-report",
        help="from an nbgrader gradebook: which mistakes how many students made, per exercise (table, plot)",
    )
    s.add_argument("gradebook", help="COURSE/gradebook.db (the autograded notebooks are read beside it)")
    s.add_argument("--assignment", help="the assignment (default: the only one, or the latest)")
    s.add_argument("--plot", metavar="PNG", help="also draw the mistakes' shares into this PNG file")
    s.add_argument("--force", action="store_true", help="replace the PNG if it exists")
    s.set_defaults(func=cmd_class_report)

    s = sub.add_parser(
        "docs",
        help="build the documentation site (needs the docs extra): rendered notebooks, API reference",
    )
    s.add_argument("--out", metavar="DIR", help="where the site lands (default build/site)")
    s.add_argument(
        "--timeout",
        type=_positive_int,
        default=1800,
        metavar="SECONDS",
        help="how long one notebook cell may run when the build executes a notebook (default 1800)",
    )
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser(
        "bench",
        help="time alexnet_np against PyTorch on the CPU (python -m alexnet_np bench --help)",
        add_help=False,
    )
    s.add_argument("bench_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("predict", help="top-k ImageNet classes of image files with a weight file")
    s.add_argument("images", nargs="+", help="image files (JPEG, PNG, ...)")
    s.add_argument("--weights", required=True, help=".npz from AlexNet.save or convert-weights")
    s.add_argument("--variant", choices=VARIANTS, help="needed only for a bare state dict without metadata")
    s.add_argument("--topk", type=_positive_int, default=5)
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("convert-weights", help="SRC.pth -> DST.npz (torchvision keys) or SRC.npz -> DST.pth")
    s.add_argument("src")
    s.add_argument("dst")
    s.add_argument("--variant", choices=VARIANTS, default="torchvision", help="the layout of a .pth source")
    s.add_argument("--force", action="store_true", help="replace DST if it exists")
    s.set_defaults(func=cmd_convert)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:
        # everything after "bench" is the benchmark's own (argparse's REMAINDER refuses a leading --option)
        args = argparse.Namespace(command="bench", func=cmd_bench, bench_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        from .. import ops

        ops.check_environment()  # a bad ALEXNET_NP_* variable is refused now, not after the data have loaded
        return args.func(args)
    except UserError as err:  # a user's mistake; anything else is a bug in alexnet_np and keeps its traceback
        print(f"{PROG} {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that cannot be written or read: the user's to fix, no traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"{PROG} {args.command}: error: {_one_line(err.strerror or err)}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the user's choice: one line, no traceback (files are written atomically)
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(err):
    """An error's message on one line (a message quoting a file's contents may hold newlines)."""
    return " ".join(str(err).split())
