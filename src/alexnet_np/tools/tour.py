"""The guided tour (``python -m alexnet_np tour``): the model, the output-size formula, a photograph through
forward and backward, and the gradient checks of every layer type."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..gradcheck import LAYER_TOL, check_all_layers
from ..layers import CrossEntropyLoss, softmax
from ..model import AlexNet
from ..ops import kernels, winograd_kernels
from ..ops.threads import make_serial_twin, with_serial_twins
from ..shapes import conv_output_arithmetic
from ..training.data import SAMPLE_IMAGES, read_image, sample_image


def kernels_cached() -> bool | None:
    """Whether Numba's on-disk cache is warm (True), empty (False), or cannot be read (None).

    Warm: the index file (``__pycache__/*.nbi``) of at least one kernel or of its serial twin (small arrays run
    the twin: :func:`alexnet_np.ops.threads.sized`) exists, as after any earlier run (a run compiles only the
    kernels and dtypes it uses, so "every kernel" would stay False). A kernel or dtype no earlier run used, or
    whose source changed since, still compiles, in a few seconds each.
    """
    try:
        return any(
            Path(
                d._cache._cache_file._index_path
            ).is_file()  # numba's FunctionCache: private, hence the guard
            for k in (*kernels.KERNELS, *winograd_kernels.KERNELS)
            for d in (k, make_serial_twin(k))
        )
    except (AttributeError, TypeError):
        return None


def compile_notice(what: str, cached: bool | None) -> str:
    """The line to print before the first kernel call of a process, said as surely as the cache allows.

    ``cached``: :func:`kernels_cached` as read before this process compiled anything.
    """
    if cached:
        return f"loading {what} from Numba's cache ..."
    if cached is None:
        return f"the first run compiles {what} with Numba (half a minute on two quiet cores, minutes under load) ..."
    return (
        f"compiling {what} with Numba: half a minute on two quiet cores, minutes under load; then cached ..."
    )


def tour(variant="single_tower", image="astronaut", seed=0) -> int:
    """Print the tour; return the exit status (0 when every gradient check passed)."""
    t_start = time.perf_counter()
    cached = kernels_cached()  # before this run compiles anything
    print("=" * 78)
    print("alexnet_np tour: AlexNet in NumPy, every layer with an explicit forward and backward pass")
    print("=" * 78)

    t = time.perf_counter()
    print(f"\n1. The model: AlexNet({variant!r}), every weight drawn at random ...", flush=True)
    model = AlexNet(variant, seed=seed)
    print(f"   built in {time.perf_counter() - t:.1f} s\n")
    summary = model.summary()
    print(summary)
    print(
        f"\n   {model.num_params():,} trainable parameters; the fully connected layers hold "
        f"{sum(r.params for r in summary.rows if r.name.startswith('fc')) / summary.total_params:.1%} of them."
    )

    print("\n2. The output-size formula, out = floor((n + 2p − k)/s) + 1, layer by layer:")
    for r in summary.rows:
        if r.arithmetic:
            print(f"   {r.name:<6} {r.arithmetic}")
    print(f"   The paper's 224: {conv_output_arithmetic(224, 11, 4)} — not an integer; 227 gives exactly 55.")

    if image in SAMPLE_IMAGES:
        photo, source = sample_image(image), f"a bundled photograph ({image})"
    else:
        photo, source = read_image(image), f"the image {image}"
    print(
        f"\n3. A real photograph: {source}, {photo.shape[1]}×{photo.shape[0]} pixels, preprocessed as the model's"
    )
    print(f"   record says: {model.preprocessing.describe()}")
    x = model.preprocessing(photo)[None]
    print(f"   {compile_notice('the float32 kernels', cached)}", flush=True)
    t = time.perf_counter()
    compiled_before = sum(len(k.signatures) for k in with_serial_twins(kernels.KERNELS))
    logits, acts = model.forward(x, train=False, return_activations=True)
    loss_fn = CrossEntropyLoss()
    loss = loss_fn.forward(logits, np.array([0]))
    dx = model.backward(loss_fn.backward())
    elapsed = time.perf_counter() - t
    ran = with_serial_twins(kernels.KERNELS)  # and the twins this forward made
    compiled = sum(len(k.signatures) for k in ran) - compiled_before
    note = (
        f" (includes compiling {compiled} Numba kernel signatures on this first run; cached for next time)"
        if compiled and any(k.stats.cache_misses for k in ran)
        else ""
    )
    print(f"   forward + backward of one image: {elapsed:.2f} s{note}")
    for name in ("conv1", "pool1", "pool2", "pool5", "fc6", "fc8"):
        a = acts[name]
        print(f"   {name:<6} output {str(a.shape[1:]):<16} mean {a.mean():+.3f}  std {a.std():.3f}")
    probs = softmax(logits)[0]
    uniform = np.log(model.num_classes)
    verdict = (
        "a fresh network should guess near uniformly, and it does"
        if abs(loss / uniform - 1) < 0.2
        else "far from a uniform guess: check the input scaling and the initialisation"
    )
    print(
        f"   loss {loss:.4f} against ln {model.num_classes} = {uniform:.4f} ({100 * (loss / uniform - 1):+.1f}%): "
        f"{verdict}; max class probability {probs.max():.4f}"
    )
    print(
        f"   input gradient: shape {dx.shape[1:]}, |dL/dx| max {np.abs(dx).max():.2e} — the saliency map of notebook 5"
    )

    print("\n4. Gradient checks (float64, central differences), every layer type:")
    print(f"   {compile_notice('the float64 kernels', cached)}", flush=True)
    results = check_all_layers()
    worst = {name: max(r.rel_error for r in per.values()) for name, per in results.items()}
    for name, err in worst.items():
        print(f"   {name:<26} worst rel. error {err:.1e}  {'pass' if err < LAYER_TOL else 'FAIL'}")

    print("\n5. Where next:")
    print("   python -m alexnet_np summary --variant paper         # the two-tower network")
    print("   python -m alexnet_np summary --variant single_tower --input 3x224x224   # the 224 puzzle")
    print("   python -m alexnet_np gradcheck                       # every layer + the whole network")
    print("   jupyter lab notebooks/                               # the notebooks, in order")
    print(f"\nTour finished in {time.perf_counter() - t_start:.1f} s.")
    return 0 if all(err < LAYER_TOL for err in worst.values()) else 1
