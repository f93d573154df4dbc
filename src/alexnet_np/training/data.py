"""Data sets held in memory: images that ship with the dependencies, scikit-learn's digits, folders of images.

No download ever happens: the photographs come from scikit-image (``skimage.data``) and
scikit-learn (``load_sample_images``), which carry them inside their wheels.

Every loader normalises the same way (:class:`alexnet_np.preprocessing.Preprocessing`): pixel values
scaled to 0–1, then each channel's mean and standard deviation *over the training split* subtracted and
divided out, and says so in the data set's ``preprocessing`` record, which the trainer stores with the
model. (The paper subtracted a mean image on the 0–255 scale and no more; unit-scale inputs are what
Kaiming's initialisation assumes, and with them the default settings train.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadArgument, BadFile
from ..preprocessing import MAX_IMAGE_PIXELS, Preprocessing, center_crop_hwc, resize_shorter_side

SAMPLE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "china", "flower")


def sample_image(name="astronaut") -> np.ndarray:
    """A bundled photograph as an (H, W, 3) uint8 RGB array: one of :data:`SAMPLE_IMAGES`."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_images

        images = load_sample_images()
        return images.images[[f.endswith(f"{name}.jpg") for f in images.filenames].index(True)]
    if name not in SAMPLE_IMAGES:
        raise BadArgument(f"unknown sample image {name!r}; choose one of {SAMPLE_IMAGES}")
    import skimage.data

    return getattr(skimage.data, name)()


# ---- data sets -------------------------------------------------------------------------------


class DataError(BadFile):
    """A data set that cannot be loaded: a missing or empty folder, an unreadable image."""


@dataclass
class Dataset:
    """Images and labels held in memory.

    ``images``: (N, 3, H, W) float32, already normalised as ``preprocessing`` says (H and W may be larger
    than ``preprocessing.input_size``: training takes random crops of that size, evaluation the centre);
    ``labels``: (N,) int64 in [0, len(classes)).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list
    preprocessing: Preprocessing
    mirror_invariant: bool = True  # False where a left-right flip changes the class (a mirrored 2 is no 2)

    def __len__(self):
        return len(self.labels)


def stratified_split(labels, val_fraction, rng):
    """Indices (train, val) with ``val_fraction`` of every class held out, drawn from ``rng``."""
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = int(round(len(idx) * val_fraction))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _channel_statistics(pixels):
    """Per-channel mean and standard deviation of (N, H, W, 3) pixel values, in float64, one image at a time."""
    mean = np.mean([p.mean(axis=(0, 1), dtype=np.float64) for p in pixels], axis=0)
    var = np.mean([((p - mean) ** 2).mean(axis=(0, 1)) for p in pixels], axis=0)
    return mean, np.sqrt(var)


def _normalised_split(pixels, labels, classes, prep_kwargs, val_fraction, seed, mirror_invariant=True):
    """Split (N, H, W, 3) uint8 pixels and normalise both parts with the training part's statistics."""
    if len(classes) > 1 and len(labels) >= 2 * len(classes):
        train_idx, val_idx = stratified_split(labels, val_fraction, np.random.default_rng(seed))
    else:
        train_idx, val_idx = np.arange(len(labels)), np.arange(0)
    mean, std = _channel_statistics(pixels[train_idx])
    scale = 1.0 / 255.0  # a channel that never varies keeps std 1 (on the 0–255 scale): no division by ~0
    prep = Preprocessing(scale=scale, mean=mean * scale, std=np.maximum(std, 1.0) * scale, **prep_kwargs)
    images = prep.normalize(pixels.transpose(0, 3, 1, 2))
    return (
        Dataset(images[train_idx], labels[train_idx], classes, prep, mirror_invariant),
        Dataset(images[val_idx], labels[val_idx], classes, prep, mirror_invariant),
    )


MAX_DIGITS_SIZE = 64  # the digits are 8×8: blowing them up further only costs memory


def load_digits_data(size=None, crop=31, val_fraction=0.2, seed=0):
    """scikit-learn's handwritten digits (1797 images of 8×8, 10 classes) for the ``mini`` AlexNet.

    Each image is upsampled to ``size × size`` (bilinear), copied into 3 channels (the network
    takes RGB) and normalised with the training split's statistics (see the module docstring). The
    default 35 leaves room for random ``crop × crop`` crops, 31 for the mini AlexNet (the paper's
    256 → 224/227 in miniature); ``size`` defaults to ``crop + 4``, and is at most :data:`MAX_DIGITS_SIZE`.
    Returns ``(train, val)`` with a stratified ``val_fraction`` held out, chosen by ``seed``. The digits are
    white ink on black.
    """
    size = crop + 4 if size is None else size
    if not (isinstance(crop, int) and isinstance(size, int) and 1 <= crop <= size <= MAX_DIGITS_SIZE):
        raise BadArgument(
            f"load_digits_data: the digits are 8×8 images, prepared at most {MAX_DIGITS_SIZE} on a side for a "
            f"crop of at most that: expected 1 <= crop <= size <= {MAX_DIGITS_SIZE}, got crop={crop!r}, "
            f"size={size!r} (train them with --variant mini, or --input-size {MAX_DIGITS_SIZE - 4} or less)"
        )
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # 0..16 -> 0..255
    big = np.stack([np.asarray(Image.fromarray(p).resize((size, size), Image.BILINEAR)) for p in pixels])
    rgb = np.repeat(big[..., None], 3, axis=3)  # (N, size, size, 3)
    classes = [str(d) for d in range(10)]
    labels = digits.target.astype(np.int64)
    prep = dict(input_size=crop, resize=size, grey=True)
    return _normalised_split(rgb, labels, classes, prep, val_fraction, seed, mirror_invariant=False)


load_digits = load_digits_data  # the name exported as alexnet_np.load_digits

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


# What read_image opens, recognised by content, never by the file's name: without this list PIL also
# opens PostScript (EPS) files, whatever their name, and hands them to Ghostscript, an interpreter.
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")


def read_image(path, max_pixels=MAX_IMAGE_PIXELS, resize=256) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, upright.

    * Only a regular file is opened (a named pipe would block the reader forever), and only as one of
      :data:`IMAGE_FORMATS`, recognised by content whatever the file's name.
    * Sizes are checked from the header, before anything is decoded: more than ``max_pixels`` pixels
      is refused, and so is an image that resizing the shorter side to ``resize`` (as
      :func:`load_image_folder` and ``predict`` then do) would make larger than ``max_pixels`` — a
      16×100000 strip would become 256×1,600,000. ``resize=None`` skips that second check.
    * The EXIF orientation is applied, so a phone photograph comes out upright.
    * Grayscale is copied to 3 channels and alpha dropped; 16-bit images are scaled to 8 bits
      (65535 → 255), 32-bit integer images by their maximum, and floating-point images (TIFF mode
      "F") by their own range: the smallest value becomes 0 and the largest 255 (a constant image
      becomes 0); NaN or inf in a floating-point image is refused.

    Anything unreadable raises :class:`DataError` naming the file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from ..io import open_regular_file

    try:
        f = open_regular_file(path)
    except ValueError as err:
        raise DataError(f"cannot read image {err}") from None
    try:
        with f, Image.open(f, formats=IMAGE_FORMATS) as img:
            w, h = img.size
            if min(w, h) < 1 or w * h > max_pixels:
                raise DataError(
                    f"cannot read image {path}: {w}×{h} = {w * h:,} pixels is "
                    + (f"more than the limit of {max_pixels:,}" if w * h else "empty")
                )
            if resize is not None:
                scale = resize / min(w, h)
                rw, rh = max(resize, round(w * scale)), max(resize, round(h * scale))
                if rw * rh > max_pixels:
                    raise DataError(
                        f"cannot read image {path}: {w}×{h} (aspect ratio {max(w, h) / min(w, h):,.0f}:1) "
                        f"resized to {resize} on the shorter side would be {rw}×{rh} = {rw * rh:,} pixels, more "
                        f"than the limit of {max_pixels:,}"
                    )
            img.load()
            ImageOps.exif_transpose(img, in_place=True)
            return _rgb_pixels(img, path)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(
            f"cannot read image {path}: not a {', '.join(IMAGE_FORMATS)} image (judged by content, not name)"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"cannot read image {path}: {err}") from None


def _rgb_pixels(img, path):
    """A loaded PIL image as (H, W, 3) uint8, by the rules of :func:`read_image`."""
    if img.mode.startswith("I;16") or img.mode == "I":
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(a.max()), 1.0)
        arr = np.clip(a / top * 255.0, 0, 255).round().astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "F":  # PIL's convert would clip to 0–255: data in [0, 1] came out black
        a = np.asarray(img, dtype=np.float64)
        if not np.isfinite(a).all():
            raise DataError(f"cannot read image {path}: its floating-point pixels include NaN or inf")
        lo, hi = float(a.min()), float(a.max())
        arr = ((a - lo) * (255.0 / (hi - lo))).round() if hi > lo else np.zeros_like(a)
        return np.repeat(arr.astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def default_resize(input_size):
    """The side a data set's images are stored at for crops of ``input_size``: the paper's 256 for AlexNet's
    224/227 inputs, the same 8:7 margin for other sizes (31 → 35, as the digits)."""
    return 256 if 224 <= input_size <= 256 else round(input_size * 8 / 7)


def load_image_folder(root, size=227, resize=None, val_fraction=0.2, seed=0, min_side=16):
    """A folder of images, one sub-folder per class (``root/class_name/*.jpg``), with the paper's preprocessing.

    Every image is resized so its shorter side is ``resize`` (default :func:`default_resize` of ``size``: 256
    for 227) and centre-cropped to ``resize × resize`` (training takes random ``size`` crops of those;
    evaluation the centre), then normalised with the
    training split's statistics (see the module docstring). Returns ``(train, val)``. Raises
    :class:`DataError` for a missing or empty folder, fewer than two classes, a class without images, or an
    image that cannot be read or is smaller than ``min_side`` pixels.
    """
    import os

    from ..io import check_budget, regular_file_problem

    if not os.path.isdir(root):
        raise DataError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(
        d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
    )
    if len(classes) < 2:
        raise DataError(
            f"image folder {root} has {len(classes)} class sub-folder(s): a classifier needs at least two "
            f"(expected root/class_name/*.jpg)"
        )
    resize = default_resize(size) if resize is None else resize
    Preprocessing(input_size=size, resize=resize)  # checks both before any image is read
    listed = {}
    for name in classes:
        folder = os.path.join(root, name)
        # Hidden names are skipped as for class folders (macOS leaves "._photo.jpg" files that are no images).
        listed[name] = sorted(
            f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
        )
    count = sum(map(len, listed.values()))
    # uint8 pixels, their float32 normalisation, and the training and held-out copies of it
    check_budget(
        count * 3 * resize * resize * (1 + 4 + 4),
        f"{count} images stored at {resize}×{resize}",
        root,
        BadArgument,
    )
    images, labels = [], []
    for label, name in enumerate(classes):
        folder, files = os.path.join(root, name), listed[name]
        if not files:
            raise DataError(f"class folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        # Refused, not skipped, before any of them is decoded: a named pipe would block the reader forever,
        # and leaving out what the folder holds under an image's name would change the data set silently.
        odd = [(f, why) for f in files if (why := regular_file_problem(os.path.join(folder, f)))]
        if odd:
            raise DataError(
                f"class folder {folder}: named like images but not regular files: "
                + "; ".join(f"{f} ({why})" for f, why in odd)
            )
        for f in files:
            img = read_image(os.path.join(folder, f), resize=resize)
            if min(img.shape[:2]) < min_side:
                raise DataError(
                    f"image {os.path.join(folder, f)} is {img.shape[1]}×{img.shape[0]}: "
                    f"smaller than {min_side} pixels on a side"
                )
            images.append(center_crop_hwc(resize_shorter_side(img, resize), resize))
            labels.append(label)
    prep = dict(input_size=size, resize=resize)
    return _normalised_split(
        np.stack(images), np.asarray(labels, np.int64), classes, prep, val_fraction, seed
    )
