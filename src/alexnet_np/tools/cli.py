"""Command line: ``python -m alexnet_np {tour,summary,gradcheck,train,evaluate,predict,convert-weights} ...``.

Every command has ``--help``. Bad arguments print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


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


def _positive(kind):
    """An argparse type: a positive int or float, with a one-line error otherwise."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            v = 0
        if not v > 0:
            raise argparse.ArgumentTypeError(
                f"expected a positive {'integer' if kind is int else 'number'}, got {text!r}"
            )
        return v

    return parse


_positive_int, _positive_float = _positive(int), _positive(float)


def cmd_summary(args):
    from ..model import AlexNet

    kwargs = dict(num_classes=args.classes)
    if args.input:
        if args.input[0] != 3:
            raise ValueError(f"AlexNet takes 3 input channels, got --input {'x'.join(map(str, args.input))}")
        kwargs["input_size"] = args.input[1:]
    if args.lrn is not None:
        kwargs["lrn"] = args.lrn
    print(AlexNet(args.variant, **kwargs).summary())
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


def cmd_train(args):
    import json
    import os

    from ..io import atomic_write
    from ..model import AlexNet
    from ..training.train import TrainConfig, Trainer, plot_history

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if args.resume and not os.path.isfile(checkpoint):
        raise ValueError(f"--resume: no checkpoint at {checkpoint}")
    if not args.resume and os.path.exists(checkpoint):
        raise ValueError(f"{checkpoint} exists: pass --resume to continue it, or choose another --out")
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        flip=args.flip if args.flip is not None else args.dataset != "digits",
        pca_noise=args.pca_noise,
        seed=args.seed,
    )
    train, val = _load_dataset(args, args.seed)
    model = AlexNet(
        args.variant,
        num_classes=len(train.classes),
        seed=args.seed,
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
        print(f"resumed from {checkpoint} after epoch {trainer.epoch}")
    print(
        f"training AlexNet({args.variant!r}) with {model.num_params():,} parameters on {len(train)} images "
        f"({len(val)} held out), {len(train.classes)} classes"
    )
    history = trainer.fit(checkpoint=checkpoint, progress=not args.quiet)
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
    from .inference import load_weights, predict_files

    model = load_weights(args.weights, args.variant)
    results = predict_files(model, args.images, topk=args.topk)
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


def cmd_bench(args):
    # a fresh interpreter, so that the thread settings are in place before NumPy and torch load
    import os
    import subprocess

    env = dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4", OMP_WAIT_POLICY="passive")
    return subprocess.call([sys.executable, "-m", "alexnet_np.tools.bench", *args.bench_args], env=env)


def build_parser():
    from ..model import VARIANTS
    from ..training.data import SAMPLE_IMAGES

    p = _Parser(prog="python -m alexnet_np", description="AlexNet from scratch in NumPy.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser(
        "tour", help="the main demo: summary, formula, a real photo forward/backward, gradient checks"
    )
    s.add_argument("--variant", choices=VARIANTS, default="single_tower")
    s.add_argument("--image", choices=SAMPLE_IMAGES, default="astronaut")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_tour)

    s = sub.add_parser("summary", help="print the layer table of a variant (no data needed)")
    s.add_argument("--variant", choices=VARIANTS, default="single_tower")
    s.add_argument("--input", type=_input_shape, help="C×H×W, e.g. 3x227x227 (default: the variant's own)")
    s.add_argument("--classes", type=int, default=1000)
    lrn = s.add_mutually_exclusive_group()
    lrn.add_argument("--lrn", dest="lrn", action="store_true", default=None, help="force LRN layers on")
    lrn.add_argument("--no-lrn", dest="lrn", action="store_false", help="leave LRN out (seeds/003's table)")
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
    s.add_argument("--batch-size", type=_positive_int, default=32)
    s.add_argument("--lr", type=_positive_float, default=0.01)
    s.add_argument("--schedule", choices=("plateau", "step", "none"), default="plateau")
    s.add_argument("--pca-noise", type=float, default=0.1, help="std of the PCA colour noise (0: off)")
    flip = s.add_mutually_exclusive_group()
    flip.add_argument(
        "--flip",
        dest="flip",
        action="store_true",
        default=None,
        help="random horizontal flips (default: on, except for digits, which mirroring changes)",
    )
    flip.add_argument("--no-flip", dest="flip", action="store_false")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--out", default="runs/digits", help="folder for checkpoint.npz, model.npz, history.json/png"
    )
    s.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
