"""The paper's data augmentation (section 4.1) and its test-time 10-crop averaging.

Every random choice is drawn from a ``numpy.random.Generator`` passed in, so a seeded
generator gives the same crops, flips and colour noise on every run.

* :func:`random_crop` — a random ``size × size`` patch of each image (the paper: 224 of 256).
* :func:`random_flip` — a horizontal mirror with probability 1/2.
* :class:`PCAColorNoise` — add ``[p1 p2 p3] · [α1·λ1, α2·λ2, α3·λ3]ᵀ`` to every pixel of an image, with
  p, λ the eigenvectors and eigenvalues of the 3×3 covariance of RGB values over the training
  set and α ~ N(0, 0.1²) drawn once per image.
* :func:`ten_crops` / :func:`predict_ten_crop` — the four corner and the centre patches and their mirrors;
  the prediction averages the ten softmax outputs.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInput
from ..layers import softmax


def _check_batch(images, size=None):
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise BadInput(
            f"expected a batch of images (N, C, H, W), got {getattr(images, 'shape', type(images).__name__)}"
        )
    if size is not None and (images.shape[2] < size or images.shape[3] < size):
        raise BadInput(f"cannot crop {size}×{size} from images of {images.shape[2]}×{images.shape[3]}")


def random_crop(images, size, rng):
    """(N, C, H, W) -> (N, C, size, size): an independent random patch of each image."""
    _check_batch(images, size)
    n, c, h, w = images.shape
    tops = rng.integers(0, h - size + 1, size=n)
    lefts = rng.integers(0, w - size + 1, size=n)
    return np.stack([images[i, :, t : t + size, l : l + size] for i, (t, l) in enumerate(zip(tops, lefts))])


def center_crop_nchw(images, size):
    """(N, C, H, W) -> (N, C, size, size): the central patch of each image (for one (H, W, C) photo,
    :func:`alexnet_np.training.data.center_crop_hwc`)."""
    _check_batch(images, size)
    top, left = (images.shape[2] - size) // 2, (images.shape[3] - size) // 2
    return np.ascontiguousarray(images[:, :, top : top + size, left : left + size])


def random_flip(images, rng, p=0.5):
    """Mirror each image left-right with probability ``p`` (a new array; the input is untouched)."""
    _check_batch(images)
    flip = rng.random(len(images)) < p
    out = images.copy()
    out[flip] = out[flip][..., ::-1]
    return out


class PCAColorNoise:
    """Krizhevsky et al.'s "fancy PCA" colour augmentation.

    ``fit(images)`` computes the eigenvalues λ and eigenvectors p of the 3×3 covariance of the RGB
    values of every pixel of the training images; ``__call__(images, rng)`` adds ``p · (α ⊙ λ)`` to
    every pixel of each image, α ~ N(0, std²) drawn once per image (std = 0.1 in the paper).
    """

    def __init__(self, eigenvalues=None, eigenvectors=None, std=0.1):
        self.eigenvalues, self.eigenvectors, self.std = eigenvalues, eigenvectors, float(std)

    def fit(self, images):
        _check_batch(images)
        if images.shape[1] != 3:
            raise BadInput(f"PCA colour noise needs RGB images (N, 3, H, W), got {images.shape}")
        if images.size == 0:
            raise BadInput("PCA colour noise: fit needs at least one image, got an empty batch")
        pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3).astype(np.float64)
        if not np.isfinite(pixels).all():  # eigh of a NaN covariance fails with a LinAlgError
            raise BadInput("PCA colour noise: the training images hold NaN or inf")
        cov = np.cov(pixels, rowvar=False)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1]
        self.eigenvalues, self.eigenvectors = np.clip(vals[order], 0, None), vecs[:, order]
        return self

    def __call__(self, images, rng):
        if self.eigenvalues is None:
            raise RuntimeError("PCAColorNoise: call fit(training_images) first")
        _check_batch(images)
        alphas = rng.normal(0.0, self.std, size=(len(images), 3))
        shift = (alphas * self.eigenvalues) @ self.eigenvectors.T  # (N, 3): p · (α ⊙ λ) per image
        return images + shift.astype(images.dtype)[:, :, None, None]


def ten_crops(images, size):
    """(N, C, H, W) -> (10, N, C, size, size): top-left, top-right, bottom-left, bottom-right, centre, then mirrors."""
    _check_batch(images, size)
    h, w = images.shape[2:]
    corners = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), ((h - size) // 2, (w - size) // 2)]
    crops = [images[:, :, t : t + size, l : l + size] for t, l in corners]
    crops += [c[..., ::-1] for c in crops]
    return np.ascontiguousarray(np.stack(crops))


def predict_ten_crop(model, images):
    """Class probabilities averaged over the ten crops of each image: (N, C, H, W) -> (N, num_classes)."""
    size = model.input_size[0]
    return np.mean([softmax(model.forward(c, train=False)) for c in ten_crops(images, size)], axis=0)
