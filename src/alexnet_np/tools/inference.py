"""Inference on real images with real weights, and weight conversion to and from PyTorch.

* :func:`imagenet_classes` — the 1000 ImageNet class names in the standard class-index order,
  shipped with the package; the two names that repeat in the common lists are told apart as
  torchvision does (134 "crane bird" / 517 "crane", 638 "maillot" / 639 "maillot tank suit").
* :func:`load_weights` — an AlexNet from an ``.npz`` written by :meth:`AlexNet.save` (its metadata
  names the variant) or a bare state dict (``variant`` given, the class count read off fc8).
* :func:`predict_files` — the paper's preprocessing and the top-k classes of image files.
* :func:`torch_to_npz` / :func:`npz_to_torch` — convert torchvision-keyed ``.pth`` files, read with
  ``torch.load(weights_only=True)`` (never plain unpickling). torch is needed only here.

Non-finite input (NaN, ±inf) is *propagated*, as in PyTorch: the layers do not scan their
input, a NaN in gives NaN out, and :func:`predict_files` refuses to report classes from
non-finite scores.
"""

from __future__ import annotations

import os
from importlib import resources

import numpy as np

from ..errors import BadArgument, BadFile, BadInput
from ..io import atomic_write, check_budget, load_npz, open_regular_file
from ..layers import softmax
from ..model import VARIANTS, AlexNet
from ..preprocessing import MAX_IMAGE_PIXELS
from ..training.data import DataError, read_image


def imagenet_classes() -> list:
    """The 1000 ImageNet class names, index i = class i (torchvision's names and order)."""
    text = (
        resources.files("alexnet_np").joinpath("resources/imagenet_classes.txt").read_text(encoding="utf-8")
    )
    return text.splitlines()


def load_weights(path, variant=None):
    """An AlexNet with the weights of ``path``: a file saved by ``AlexNet.save`` or a bare state dict.

    A bare state dict needs ``variant``; its class count is read off ``fc8.weight``. Every name,
    shape and dtype is checked; any problem raises ValueError naming the file.
    """
    arrays, meta = load_npz(path)
    if meta.get("format") == "alexnet_np-checkpoint":
        import os

        model_file = os.path.join(os.path.dirname(os.fspath(path)) or ".", "model.npz")
        raise BadFile(
            f"{path} is a training checkpoint (weights, optimizer state, data order), not a model file: "
            f"predict with {model_file}, which training writes beside it, or `evaluate --checkpoint {path}`"
        )
    if meta.get("format") == "alexnet_np":
        if variant is not None and variant != meta["variant"]:
            raise BadFile(f"{path}: holds weights for variant {meta['variant']!r}, not {variant!r}")
        return AlexNet.from_file(path)
    if variant is None:
        raise BadFile(f"{path}: no alexnet_np metadata in the file; say which --variant the weights are for")
    if variant not in VARIANTS:
        raise BadArgument(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    fc8 = arrays.get("fc8.weight")
    if fc8 is None or fc8.ndim != 2:
        raise BadFile(f"{path}: no 2-D 'fc8.weight' array: not an AlexNet state dict")
    dtype = fc8.dtype if fc8.dtype in (np.float32, np.float64) else np.float32
    config = dict(variant=variant, num_classes=int(fc8.shape[0]), input_size=None, lrn=None)
    config["input_size"] = list(AlexNet.shapes_only(variant, num_classes=1).input_size)
    AlexNet.plan(config, dtype, str(path), arrays)  # names, shapes, dtypes and size, before any allocation
    model = AlexNet(variant, num_classes=int(fc8.shape[0]), dtype=dtype)
    try:
        model.load_state_dict(arrays)
    except ValueError as err:
        raise BadFile(f"{path}: {err}") from None
    return model


MIN_SIDE = 8  # scikit-learn's digits, the smallest images a model here is trained on, are 8×8


def load_image_for(model, path, max_pixels=MAX_IMAGE_PIXELS):
    """Read one image file and prepare it as ``model.preprocessing`` says: (3, H, W) in the model's dtype.

    The pixel limit holds for the image as read and as the record's ``resize`` makes it."""
    image = read_image(path, max_pixels=max_pixels, resize=model.preprocessing.resize)
    if min(image.shape[:2]) < MIN_SIDE:
        raise DataError(
            f"{path}: image is {image.shape[1]}×{image.shape[0]} pixels; need at least {MIN_SIDE} on a side"
        )
    return model.preprocessing(image, dtype=model.dtype)


def predict_files(model, paths, topk=5, classes=None, batch_size=32):
    """Top-k (class index, name, probability) for each image file -> a list of lists (see :func:`iter_predict`)."""
    return list(iter_predict(model, paths, topk, classes, batch_size))


def iter_predict(model, paths, topk=5, classes=None, batch_size=32):
    """Top-k (class index, name, probability) for each image file, yielded per file, in batches.

    Images are read and run ``batch_size`` at a time, so memory stays bounded however many files are
    given. Class names: ``classes``, else the model's own (a trained model stores its data set's), else
    ImageNet's for 1000 classes, else the indices.
    """
    if not 1 <= topk <= model.num_classes:
        raise BadArgument(f"topk must be between 1 and {model.num_classes}, got {topk}")
    if classes is None:
        classes = getattr(model, "classes", None) or (
            imagenet_classes() if model.num_classes == 1000 else [str(i) for i in range(model.num_classes)]
        )
    paths = list(paths)
    batch_size = model.batch_within_budget(batch_size, "predict")
    for start in range(0, len(paths), batch_size):
        batch = np.stack([load_image_for(model, p) for p in paths[start : start + batch_size]])
        probs = softmax(model.forward(batch, train=False).astype(np.float64))
        if not np.all(np.isfinite(probs)):
            raise _why_not_finite(model, batch)
        for row in probs:
            top = np.argsort(-row, kind="stable")[:topk]
            yield [(int(i), classes[i], float(row[i])) for i in top]


def _why_not_finite(model, batch):
    """The error for non-finite scores, blaming what is wrong: the input as the record prepared it, the
    weights, or (both finite) their product overflowing the model's dtype."""
    if not np.all(np.isfinite(batch)):
        return BadFile(
            f"the model's preprocessing record ({model.preprocessing.describe()}) turns these images into "
            f"non-finite input: its scale, mean or std is wrong"
        )
    bad = [k for k, v in {**model.params, **model.buffers}.items() if not np.all(np.isfinite(v))]
    if bad:
        return BadFile(f"the model's weights hold NaN or inf in {', '.join(bad)}")
    largest = float(np.max(np.abs(batch)))
    return BadInput(
        f"the scores overflowed {np.dtype(model.dtype)} although input (largest |value| {largest:.3g}) and "
        f"weights are finite: the input's scale does not suit these weights"
    )


# ---- PyTorch files --------------------------------------------------------------------------


def _torch():
    try:
        import torch
    except ImportError:
        raise BadArgument(
            "converting .pth files needs PyTorch, which is optional: pip install torch==2.13.0"
        ) from None
    return torch


def torch_to_npz(src, dst, variant="torchvision"):
    """Read a torchvision-keyed state dict (``.pth``) and write our ``.npz`` (atomically). Returns the model."""
    from .interop import from_torch_state_dict

    torch = _torch()
    if not os.path.isfile(src):
        raise BadFile(f"{src}: no such file")
    _check_pth_members(src)
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file; all mean "not a weights file"
        raise BadFile(
            f"{src}: not a readable PyTorch weights file ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''})"
        ) from None
    if (
        not isinstance(state, dict)
        or not state
        or not all(isinstance(v, torch.Tensor) for v in state.values())
    ):
        raise BadFile(f"{src}: not a state dict (expected a dict of tensors, got {type(state).__name__})")
    last = state.get("classifier.6.weight")
    if last is None or last.ndim != 2:
        raise BadFile(f"{src}: no 'classifier.6.weight': not a torchvision-style AlexNet state dict")
    dtypes = {v.dtype for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if dtypes != {torch.float32}:
        raise BadFile(f"{src}: expected float32 tensors, found {sorted(map(str, dtypes))}")
    _check_tensor_sizes(src, state)
    try:  # counted on a shape-only model before any weight is allocated
        AlexNet.shapes_only(variant, num_classes=int(last.shape[0])).check_budget(src)
    except BadArgument as err:
        raise BadFile(f"{src}: {err}") from None
    model = AlexNet(variant, num_classes=int(last.shape[0]))
    try:
        from_torch_state_dict(model, state)
    except ValueError as err:
        raise BadFile(f"{src}: does not fit AlexNet({variant!r}): {err}") from None
    model.save(dst)
    return model


def _check_pth_members(src):
    """A .pth (a zip archive since torch 1.6) may unpack to at most the memory budget, as its zip directory
    declares it, checked before torch reads a byte of it (a 1 MB file can inflate to gigabytes)."""
    import zipfile

    try:
        with open_regular_file(src) as f:
            if not zipfile.is_zipfile(f):
                size = os.fstat(f.fileno()).st_size  # the legacy format stores tensors uncompressed
                check_budget(size, "the file", src)
                return
            with zipfile.ZipFile(f) as zf:
                total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise BadFile(f"{src}: not a readable PyTorch weights file ({err})") from None
    check_budget(total, "its members unpacked", src)


def _check_tensor_sizes(src, state):
    """Every tensor must hold its own elements: a shape declared over a shorter storage (zero strides, an
    expanded view) would make us build and fill a model of that shape from a few bytes."""
    total = 0
    for key, t in state.items():
        nbytes = t.numel() * t.element_size()
        if not t.is_contiguous() or t.untyped_storage().nbytes() < nbytes:
            raise BadFile(
                f"{src}: tensor {key!r} declares shape {tuple(t.shape)} ({nbytes:,} bytes) over "
                f"{t.untyped_storage().nbytes():,} bytes of data: not a plain weights file"
            )
        total += nbytes
    check_budget(total, "its tensors", src)


def npz_to_torch(src, dst):
    """Write the weights of an ``.npz`` saved by ``AlexNet.save`` as a torchvision-keyed ``.pth`` (atomically)."""
    from .interop import to_torch_state_dict

    torch = _torch()
    model = load_weights(src)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in to_torch_state_dict(model).items()}
    atomic_write(dst, lambda f: torch.save(state, f))
    return model
