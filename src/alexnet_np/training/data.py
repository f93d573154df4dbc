"""Images that ship with the dependencies, and the paper's preprocessing.

No download ever happens: the photographs come from scikit-image (``skimage.data``) and
scikit-learn (``load_sample_images``), which carry them inside their wheels.

Preprocessing as in Krizhevsky et al. (section 2): resize so the shorter side is 256,
crop the central 227×227 patch (224 in the paper's text; see the notebooks for why 227),
and subtract the mean RGB value of the training set from every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Mean RGB of the ImageNet training images on the 0–255 scale, as distributed with Caffe's AlexNet.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
# torchvision's normalisation (on the 0–1 scale), for weights trained with it.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)

SAMPLE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "china", "flower")


def sample_image(name="astronaut") -> np.ndarray:
    """A bundled photograph as an (H, W, 3) uint8 RGB array: one of :data:`SAMPLE_IMAGES`."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_images

        images = load_sample_images()
        return images.images[[f.endswith(f"{name}.jpg") for f in images.filenames].index(True)]
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}; choose one of {SAMPLE_IMAGES}")
    import skimage.data

    return getattr(skimage.data, name)()


def _check_rgb(image):
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected an RGB image of shape (H, W, 3), got {getattr(image, 'shape', type(image).__name__)}"
        )
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image (0–255), got dtype {image.dtype}")


def resize_shorter_side(image, size=256):
    """Resize an (H, W, 3) uint8 image so that min(H, W) == size, keeping the aspect ratio (bilinear)."""
    from PIL import Image

    _check_rgb(image)
    h, w = image.shape[:2]
    scale = size / min(h, w)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))  # PIL takes (width, height)
    return np.asarray(Image.fromarray(image).resize(new, Image.BILINEAR))


def center_crop_hwc(image, size=227):
    """The central size×size patch of one (H, W, C) image (for a batch of (N, C, H, W) arrays,
    :func:`alexnet_np.training.augment.center_crop_nchw`)."""
    h, w = image.shape[:2]
    if h < size or w < size:
        raise ValueError(f"cannot crop {size}×{size} from an image of {h}×{w}")
    top, left = (h - size) // 2, (w - size) // 2
    return image[top : top + size, left : left + size]


def preprocess(image, size=227, resize=256, mean=IMAGENET_MEAN_RGB, std=None, dtype=np.float32):
    """(H, W, 3) uint8 RGB -> (3, size, size) float: resize, centre-crop, subtract the mean (and divide by std).

    ``mean``/``std`` are on the 0–255 scale; for torchvision weights pass
    ``mean=255·TORCHVISION_MEAN, std=255·TORCHVISION_STD``.
    """
    crop = center_crop_hwc(resize_shorter_side(image, resize), size).astype(np.float64)
    crop -= np.asarray(mean, dtype=np.float64)
    if std is not None:
        crop /= np.asarray(std, dtype=np.float64)
    return np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=dtype)


# ---- data sets -------------------------------------------------------------------------------


class DataError(ValueError):
    """A data set that cannot be loaded: a missing or empty folder, an unreadable image."""


@dataclass
class Dataset:
    """Images and labels held in memory.

    ``images``: (N, 3, H, W) float32, already scaled and mean-subtracted (``mean`` holds what was
    subtracted); ``labels``: (N,) int64 in [0, len(classes)).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list
    mean: np.ndarray

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


def load_digits_data(size=35, val_fraction=0.2, seed=0):
    """scikit-learn's handwritten digits (1797 images of 8×8, 10 classes) for the ``mini`` AlexNet.

    Each image is upsampled to ``size``×``size`` (bilinear), copied into 3 channels (the network
    takes RGB), scaled to [0, 1], and the training set's mean subtracted. The default 35 leaves room
    for random 31×31 crops (the paper's 256 → 224/227 in miniature). Returns ``(train, val)``
    with a stratified ``val_fraction`` held out, chosen by ``seed``.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # 0..16 -> 0..255
    big = np.stack([np.asarray(Image.fromarray(p).resize((size, size), Image.BILINEAR)) for p in pixels])
    images = np.repeat(big[:, None].astype(np.float32) / 255.0, 3, axis=1)  # (N, 3, size, size)
    labels = digits.target.astype(np.int64)
    train_idx, val_idx = stratified_split(labels, val_fraction, np.random.default_rng(seed))
    mean = images[train_idx].mean(axis=(0, 2, 3)).astype(np.float32)
    images -= mean[None, :, None, None]
    classes = [str(d) for d in range(10)]
    return (
        Dataset(images[train_idx], labels[train_idx], classes, mean),
        Dataset(images[val_idx], labels[val_idx], classes, mean),
    )


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


# What read_image opens, recognised by content, never by the file's name: without this list PIL also
# opens PostScript (EPS) files, whatever their name, and hands them to Ghostscript, an interpreter.
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")


def read_image(path, max_pixels=40_000_000, resize=256) -> np.ndarray:
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


def load_image_folder(
    root, size=227, resize=256, val_fraction=0.2, seed=0, mean=IMAGENET_MEAN_RGB, min_side=16
):
    """A folder of images, one sub-folder per class (``root/class_name/*.jpg``), with the paper's preprocessing.

    Every image is resized so its shorter side is ``resize`` and centre-cropped to ``resize``×``resize``
    (training takes random ``size`` crops of those; evaluation the centre), and ``mean`` (RGB, 0–255) is
    subtracted. Returns ``(train, val)``. Raises :class:`DataError` for a missing or empty folder, a class
    without images, or an image that cannot be read or is smaller than ``min_side`` pixels.
    """
    import os

    from ..io import regular_file_problem

    if not os.path.isdir(root):
        raise DataError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(
        d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
    )
    if not classes:
        raise DataError(f"image folder {root} has no class sub-folders (expected root/class_name/*.jpg)")
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        # Hidden names are skipped as for class folders (macOS leaves "._photo.jpg" files that are no images).
        files = sorted(
            f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
        )
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
    x = np.stack(images).transpose(0, 3, 1, 2).astype(np.float32)
    x -= np.asarray(mean, np.float32)[None, :, None, None]
    y = np.asarray(labels, np.int64)
    if len(classes) > 1 and len(y) >= 2 * len(classes):
        train_idx, val_idx = stratified_split(y, val_fraction, np.random.default_rng(seed))
    else:
        train_idx, val_idx = np.arange(len(y)), np.arange(0)
    m = np.asarray(mean, np.float32)
    return Dataset(x[train_idx], y[train_idx], classes, m), Dataset(x[val_idx], y[val_idx], classes, m)
