"""Command line: ``python -m alexnet_np {tour,summary,gradcheck,train,evaluate,predict,convert-weights,docs} ...``.

Every command has ``--help``. Bad arguments print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

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
            raise ValueError(f"AlexNet takes 3 input channels, got --input {'x'.join(map(str, args.input))}")
        kwargs["input_size"] = args.input[1:]
    if args.lrn is not None:
        kwargs["lrn"] = args.lrn
    model = AlexNet(args.variant, **kwargs)
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
            raise ValueError(
                f"unknown layer {args.layer!r}; choose from {sorted({n.split()[0] for n in known})}"
            )
    print(
        f"Central differences in float64 (h = 1e-6), relative error ‖a − n‖/(‖a‖ + ‖n‖); pass below {LAYER_TOL:g}."
    )
    ok = print_gradcheck_table(check_all_layers(names=names))
    if args.network and names is None:
        t = time.perf_counter()
        res = network_check()
        print(f"\nWhole network (single_tower, batch 1, float64), {len(res)} random directions, h = 1e-5:")
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


def _load_dataset(args, seed):
    from ..training.data import load_digits_data, load_image_folder

    if args.dataset == "digits":
        return load_digits_data(seed=seed)
    if not args.data_dir:
        raise ValueError("--dataset folder needs --data-dir ROOT (a folder of class sub-folders of images)")
    return load_image_folder(args.data_dir, seed=seed)


# Options whose value a checkpoint fixes: on --resume they come from the checkpoint, and a different value
# given on the command line is refused (defaults are filled in only for new runs).
RUN_OPTIONS = {"batch_size": 32, "lr": 0.01, "schedule": "plateau", "pca_noise": 0.1, "flip": None, "seed": 0}


def _lock_output_folder(folder):
    """Hold an exclusive lock on FOLDER for the life of the process (the OS drops it if the process dies)."""
    import fcntl
    import os

    fd = os.open(folder, os.O_RDONLY)  # the folder itself is locked: no lock file is left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ValueError(
            f"another training run is writing to {folder}/ right now; choose another --out"
        ) from None
    return fd


def _run_options(args, checkpoint):
    """The run's settings: the command line's for a new run; the checkpoint's for --resume (a differing
    command-line value is refused rather than silently ignored or applied halfway)."""
    given = {k: getattr(args, k) for k in RUN_OPTIONS if getattr(args, k) is not None}
    if not args.resume:
        return {**RUN_OPTIONS, **given}
    from ..training.train import load_checkpoint_file

    _, meta = load_checkpoint_file(checkpoint)
    stored = meta["config"]
    differ = {k: (v, stored.get(k)) for k, v in given.items() if v != stored.get(k)}
    if differ:
        said = ", ".join(
            f"--{k.replace('_', '-')} {a} (the checkpoint has {b})" for k, (a, b) in differ.items()
        )
        raise ValueError(
            f"--resume continues the run as it was saved; refusing {said}: drop those options, "
            f"or start a new run with another --out"
        )
    return {k: stored.get(k, RUN_OPTIONS[k]) for k in RUN_OPTIONS}


def cmd_train(args):
    import os

    if args.data_dir and args.dataset != "folder":
        raise ValueError("--data-dir is read only with --dataset folder")
    if args.overfit_batch:
        return _overfit_batch(args)
    if args.steps is not None:
        raise ValueError("--steps is read only with --overfit-batch (a full run is counted in --epochs)")
    os.makedirs(args.out, exist_ok=True)
    lock = _lock_output_folder(args.out)
    try:
        from ..io import remove_stale_temporaries

        remove_stale_temporaries(args.out)  # under the lock no live writer of ours can own one
        return _train_locked(args)
    finally:
        os.close(lock)


OVERFIT_PASS = 0.01  # the loss on the memorised batch that counts as "near zero"


def _overfit_batch(args):
    """Karpathy's first check: the network, without dropout, must drive the loss on one batch to ~0."""
    from ..model import AlexNet
    from ..training.train import TrainConfig, Trainer, TrainingDiverged, _no_data

    if args.resume:
        raise ValueError("--overfit-batch starts from a fresh model; it cannot --resume")
    options = {k: (v if getattr(args, k) is None else getattr(args, k)) for k, v in RUN_OPTIONS.items()}
    options.update(batch_size=args.batch_size or 16, schedule="none", pca_noise=0.0)
    steps = args.steps or 100
    train, _ = _load_dataset(args, options["seed"])
    model = AlexNet(
        args.variant,
        num_classes=len(train.classes),
        seed=options["seed"],
        input_size=args.input_size,
        activation=args.activation,
        dropout=0,  # regularisation fights memorisation: off for this check
    )
    trainer = Trainer(model, train, _no_data(train), TrainConfig(epochs=1, **options))
    n = min(options["batch_size"], len(train))
    print(
        f"overfitting one batch of {n} images with AlexNet({args.variant!r}), dropout off, lr {options['lr']:g}"
    )
    try:
        result = trainer.overfit_batch(
            steps=steps, log_every=max(1, steps // 10), log=None if args.quiet else print
        )
    except TrainingDiverged as err:
        print(f"{PROG} train --overfit-batch: {err}", file=sys.stderr)
        return 1
    print(trainer.initial_loss.message)
    first, final = result["losses"][0], result["final"]
    reached = next((i + 1 for i, v in enumerate(result["losses"]) if v < OVERFIT_PASS), None)
    if final < OVERFIT_PASS:
        print(
            f"pass: the loss on the batch fell from {first:.4f} to {final:.2e} in {steps} steps (below "
            f"{OVERFIT_PASS} from step {reached or steps})"
        )
        return 0
    print(
        f"FAIL: after {steps} steps the loss on the batch is {final:.4f} (from {first:.4f}), not below "
        f"{OVERFIT_PASS}: more --steps, another --lr, or a bug in a forward, backward or update"
    )
    return 1


def _train_locked(args):
    import json
    import os

    from ..io import atomic_write
    from ..model import AlexNet
    from ..training.train import TrainConfig, Trainer, TrainingDiverged, plot_history

    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if args.resume and not os.path.isfile(checkpoint):
        raise ValueError(f"--resume: no checkpoint at {checkpoint}")
    if not args.resume and os.path.exists(checkpoint):
        raise ValueError(f"{checkpoint} exists: pass --resume to continue it, or choose another --out")
    options = _run_options(args, checkpoint)
    config = TrainConfig(epochs=args.epochs, **options)
    train, val = _load_dataset(args, options["seed"])
    model = AlexNet(
        args.variant,
        num_classes=len(train.classes),
        seed=options["seed"],
        input_size=args.input_size,
        activation=args.activation,
    )
    if train.images.shape[2] < model.input_size[0]:
        raise ValueError(
            f"images of {train.images.shape[2]}×{train.images.shape[3]} are smaller than the "
            f"{args.variant} input {model.input_size}; use --input-size"
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
    last = history[-1]
    print(
        f"done: held-out top-1 {last['val_top1']:.4f}, top-5 {last['val_top5']:.4f}; "
        f"{sum(h['seconds'] for h in history):.1f} s of training; files in {args.out}/"
    )
    return 0


def cmd_evaluate(args):
    from ..training.train import evaluate, model_from_checkpoint

    model, meta = model_from_checkpoint(args.checkpoint)
    args.dataset, args.data_dir = args.dataset or "digits", args.data_dir
    _, val = _load_dataset(args, meta["config"]["seed"])
    if len(val) == 0:
        raise ValueError("the held-out split is empty: nothing to evaluate")
    if list(val.classes) != list(meta["classes"]):
        raise ValueError(f"the data's classes {val.classes} differ from the checkpoint's {meta['classes']}")
    r = evaluate(model, val, ten_crop=args.ten_crop)
    how = "10-crop averaged" if args.ten_crop else "centre crop"
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
    from .inference import npz_to_torch, torch_to_npz

    src, dst = args.src, args.dst
    if src.endswith(".pth") or src.endswith(".pt"):
        if not dst.endswith(".npz"):
            raise ValueError(f"converting {src} from PyTorch: the destination must end in .npz, got {dst}")
        model = torch_to_npz(src, dst, variant=args.variant)
    elif src.endswith(".npz"):
        if not (dst.endswith(".pth") or dst.endswith(".pt")):
            raise ValueError(f"converting {src} to PyTorch: the destination must end in .pth, got {dst}")
        model = npz_to_torch(src, dst)
    else:
        raise ValueError(f"cannot tell the direction from {src}: expected a .pth/.pt or .npz source")
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
    from ..errors import BadArgument

    points = {}
    for item in filter(None, (text or "").split(",")):
        name, _, value = item.partition("=")
        try:
            points[name.strip()] = float(value)
        except ValueError:
            raise BadArgument(f"--points {item!r}: expected NAME=POINTS, e.g. lrn_backward=3") from None
        if not points[name.strip()] >= 0:
            raise BadArgument(f"--points {item!r}: points must be >= 0")
    return points


def _same_path(a, b):
    import pathlib

    return pathlib.Path(a).resolve() == pathlib.Path(b).resolve()


def _autograde(args):
    from ..exercises.course import autograde

    def progress(r):
        cut = f", {r.cut_outputs} long output(s) cut" if r.cut_outputs else ""
        why = f": {r.message}" if r.message else ""
        print(
            f"{r.student:<20} {r.status:<9} {r.score:g}/{r.max_score:g} in {r.seconds:.0f} s{cut}{why}",
            flush=True,
        )

    results = autograde(
        args.autograde,
        args.assignment,
        args.students.split(",") if args.students else None,
        cell_timeout=args.cell_timeout,
        wall_timeout=args.timeout,
        jobs=args.jobs,
        progress=progress,
    )
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
    try:
        import myst_nb  # noqa: F401  (the docs extra: fail here with one line, not deep in the build)

        from .docs import build_site
    except ImportError as err:
        raise ValueError(f"needs the docs extra ({err.name} is missing): pip install -e '.[docs]'") from None
    try:
        build_site(args.out)
    except RuntimeError as err:  # a failed notebook, a Sphinx warning, a broken link or a missing figure
        print(f"{PROG} docs: error: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_bench(args):
    # a fresh interpreter, so that the thread settings are in place before NumPy and torch load
    import os
    import subprocess

    env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4", OMP_WAIT_POLICY="passive")
    return subprocess.call([sys.executable, "-m", "alexnet_np.tools.bench", *args.bench_args], env=env)


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
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_tour)

    s = sub.add_parser("summary", help="print the layer table of a variant (no data needed)")
    s.add_argument("--variant", choices=VARIANTS, default="single_tower")
    s.add_argument("--input", type=_input_shape, help="C×H×W, e.g. 3x227x227 (default: the variant's own)")
    s.add_argument("--classes", type=int, default=1000)
    lrn = s.add_mutually_exclusive_group()
    lrn.add_argument("--lrn", dest="lrn", action="store_true", default=None, help="force LRN layers on")
    lrn.add_argument("--no-lrn", dest="lrn", action="store_false", help="leave LRN out (seeds/003's table)")
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
    s.add_argument("--epochs", type=_positive_int, default=25)
    s.add_argument("--batch-size", type=_positive_int, help="images per step (default 32)")
    s.add_argument("--lr", type=_positive_float, help="learning rate ε (default 0.01)")
    s.add_argument("--schedule", choices=("plateau", "step", "none"), help="default: plateau (the paper's)")
    s.add_argument(
        "--pca-noise", type=_non_negative_float, help="std of the PCA colour noise (default 0.1; 0: off)"
    )
    flip = s.add_mutually_exclusive_group()
    flip.add_argument(
        "--flip",
        dest="flip",
        action="store_true",
        default=None,
        help="random horizontal flips (default: on, except for digits, which mirroring changes)",
    )
    flip.add_argument("--no-flip", dest="flip", action="store_false")
    s.add_argument(
        "--seed", type=_non_negative_int, help="drives the split, the weights, the masks (default 0)"
    )
    s.add_argument(
        "--out", default="runs/digits", help="folder for checkpoint.npz, model.npz, history.json/png"
    )
    s.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument(
        "--overfit-batch",
        action="store_true",
        help="sanity check: train on one batch (default 16 images, dropout off) until the loss is ~0; writes nothing",
    )
    s.add_argument("--steps", type=_positive_int, help="steps of --overfit-batch (default 100)")
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
        return args.func(args)
    except (ValueError, TypeError) as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that cannot be written or read: the user's to fix, no traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"{PROG} {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
