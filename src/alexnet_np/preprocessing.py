"""How a photograph becomes network input: the one record of preprocessing, saved with every model.

    image (H, W, 3) uint8 → resize the shorter side to ``resize`` → centre-crop ``input_size``
      → x = (pixel · scale − mean) / std, per channel → (3, input_size, input_size) float

A :class:`Preprocessing` travels with a model (``model.preprocessing``, stored in the model file and in
training checkpoints), so ``predict``, ``evaluate`` and the notebooks feed a model what it was trained on.

Two conventions are common. Krizhevsky et al. subtract the mean activity of the training set from each
pixel — a mean *image* — on the 0–255 scale, and nothing else; VGG and later work simplified that to a
per-channel mean colour, and torchvision's weights expect 0–1 values normalised by ImageNet's per-channel
mean and standard deviation. This library's default is the latter (:meth:`Preprocessing.imagenet`), with
the data sets' own statistics when training: inputs of unit scale are what Kaiming's initialisation
assumes, so a fresh network starts with a near-uniform softmax and trains at the default learning rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import BadArgument, BadFile, BadInput

# Mean RGB of the ImageNet training images on the 0–255 scale, as distributed with Caffe's AlexNet.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
# torchvision's normalisation on the 0–1 scale (the default here, and what its pretrained weights expect).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The most pixels an image may have as read and as resized (a 40-megapixel photograph); a record whose
# resize alone exceeds it could prepare no image, so it is refused where it is read.
MAX_IMAGE_PIXELS = 40_000_000
# The largest |value| a record may map a 0–255 pixel to: unit-scale inputs are a few units, the paper's 0–255
# less the mean colour about 150; past this a network in float32 overflows or learns nothing.
MAX_INPUT_MAGNITUDE = 1e6


def _check_rgb(image):
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise BadInput(f"expected an RGB image of shape (H, W, 3), got {shape}")
    if image.dtype != np.uint8:
        raise BadInput(f"expected a uint8 image (0–255), got dtype {image.dtype}")


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
        raise BadInput(f"cannot crop {size}×{size} from an image of {h}×{w}")
    top, left = (h - size) // 2, (w - size) // 2
    return image[top : top + size, left : left + size]


def _triple(value, name):
    values = tuple(float(v) for v in np.broadcast_to(np.asarray(value, dtype=np.float64), (3,)))
    if not all(np.isfinite(values)):
        raise BadArgument(f"Preprocessing: {name} must be finite, got {value!r}")
    return values


@dataclass(frozen=True)
class Preprocessing:
    """``x = (resize-and-crop(image) · scale − mean) / std``, per channel; see the module docstring.

    Attributes:
        input_size: the side of the centre crop, the network's input.
        resize: the shorter side is resized to this first (None: the image is cropped as it is).
        scale: multiplies the 0–255 pixel values (1/255 gives 0–1).
        mean, std: per-channel (R, G, B), on the scaled values.
        grey: the network was trained on grey images copied to three channels; colour input is converted.
    """

    input_size: int
    resize: int | None = 256
    scale: float = 1.0 / 255.0
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    grey: bool = False

    def __post_init__(self):
        if not isinstance(self.input_size, (int, np.integer)) or self.input_size < 1:
            raise BadArgument(f"Preprocessing: input_size must be a positive int, got {self.input_size!r}")
        if self.resize is not None and (
            not isinstance(self.resize, (int, np.integer)) or self.resize < self.input_size
        ):
            raise BadArgument(
                f"Preprocessing: resize must be None or an int >= input_size, got {self.resize!r}"
            )
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise BadArgument(f"Preprocessing: scale must be a positive number, got {self.scale!r}")
        object.__setattr__(self, "mean", _triple(self.mean, "mean"))
        object.__setattr__(self, "std", _triple(self.std, "std"))
        if min(self.std) <= 0:
            raise BadArgument(f"Preprocessing: std must be positive, got {self.std}")
        if self.resize is not None and self.resize**2 > MAX_IMAGE_PIXELS:
            raise BadArgument(
                f"Preprocessing: resize {self.resize} asks for images of at least {self.resize}×{self.resize} = "
                f"{self.resize**2:,} pixels, more than the limit of {MAX_IMAGE_PIXELS:,}"
            )
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            reach = max(
                abs((v * self.scale - m) / s) for v in (0.0, 255.0) for m, s in zip(self.mean, self.std)
            )
        if not reach <= MAX_INPUT_MAGNITUDE:
            raise BadArgument(
                f"Preprocessing: scale {self.scale:g}, mean {self.mean} and std {self.std} map pixel values "
                f"0–255 to up to ±{reach:.3g}, beyond ±{MAX_INPUT_MAGNITUDE:g}: the network would overflow"
            )
        object.__setattr__(self, "input_size", int(self.input_size))
        object.__setattr__(self, "grey", bool(self.grey))

    @classmethod
    def imagenet(cls, input_size=227, resize=256):
        """The default: 0–1 values normalised by ImageNet's per-channel mean and std (torchvision's)."""
        return cls(input_size, resize)

    @classmethod
    def paper(cls, input_size=227):
        """The paper's form with a mean colour instead of its mean image: 0–255 values, mean RGB subtracted."""
        return cls(input_size, 256, scale=1.0, mean=IMAGENET_MEAN_RGB, std=(1.0, 1.0, 1.0))

    def normalize(self, pixels):
        """(N, 3, H, W) or (3, H, W) pixel values on the 0–255 scale -> normalised float32 (a new array)."""
        shape = (-1, 1, 1)
        x = np.asarray(pixels, dtype=np.float32) * np.float32(self.scale)
        x -= np.asarray(self.mean, np.float32).reshape(shape)
        x /= np.asarray(self.std, np.float32).reshape(shape)
        return x

    def __call__(self, image, dtype=np.float32):
        """One (H, W, 3) uint8 RGB image -> (3, input_size, input_size) network input in ``dtype``."""
        _check_rgb(image)
        if self.grey:
            grey = np.round(image.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
            image = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        if self.resize is not None:
            image = resize_shorter_side(image, self.resize)
        crop = center_crop_hwc(image, self.input_size)
        return np.ascontiguousarray(self.normalize(crop.transpose(2, 0, 1)), dtype=dtype)

    def to_dict(self):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d, where="preprocessing"):
        """The record as stored in a file; a malformed one raises ValueError naming ``where``."""
        try:
            return cls(**{k: d[k] for k in ("input_size", "resize", "scale", "mean", "std", "grey")})
        except (KeyError, TypeError, ValueError) as err:
            raise BadFile(f"{where}: malformed preprocessing record ({err})") from None

    def describe(self):
        resize = f"shorter side {self.resize}, " if self.resize else ""
        return (
            f"{'grey, ' if self.grey else ''}{resize}centre crop {self.input_size}, ×{self.scale:.6g}, "
            f"− mean {tuple(round(m, 4) for m in self.mean)}, ÷ std {tuple(round(s, 4) for s in self.std)}"
        )
