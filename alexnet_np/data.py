"""Images that ship with the dependencies, and the paper's preprocessing.

No download ever happens: the photographs come from scikit-image (``skimage.data``) and
scikit-learn (``load_sample_images``), which carry them inside their wheels.

Preprocessing as in Krizhevsky et al. (section 2): resize so the shorter side is 256,
crop the central 227×227 patch (224 in the paper's text; see the notebooks for why 227),
and subtract the mean RGB value of the training set from every pixel.
"""
from __future__ import annotations

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
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got "
                         f"{getattr(image, 'shape', type(image).__name__)}")
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


def center_crop(image, size=227):
    """The central size×size patch of an (H, W, C) image."""
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
    crop = center_crop(resize_shorter_side(image, resize), size).astype(np.float64)
    crop -= np.asarray(mean, dtype=np.float64)
    if std is not None:
        crop /= np.asarray(std, dtype=np.float64)
    return np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=dtype)
