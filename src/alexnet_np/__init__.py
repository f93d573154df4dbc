"""alexnet_np: AlexNet from scratch in NumPy, every layer with an explicit forward and backward.

    >>> import numpy as np, alexnet_np as an
    >>> conv = an.Conv2d(3, 96, kernel_size=11, stride=4, rng=np.random.default_rng(0))
    >>> conv.output_shape((1, 3, 227, 227))
    (1, 96, 55, 55)

The core, in reading order: ``shapes`` (the output-size formula), ``ops`` (the kernels:
``ops.reference`` readable NumPy, ``ops.kernels`` their Numba twins, ``ops.naive`` the
definitions as loops), ``layers``, ``gradcheck``, ``model`` (AlexNet), ``summary`` (the layer
table), ``budget`` (training memory and the roofline, from the layers' own answers), ``io`` (safe
.npz files). Wings sit beside it and are never imported by it (a test holds this): ``training``
(optimiser, data, augmentation, the training loop, experiments), ``tools`` (command line, tour, inference,
PyTorch interop, benchmark), ``exercises`` (the graded exercises and their grader) and ``distributed``
(the network across MPI processes: the paper's two towers, data parallel, the hybrid; the ``distributed``
extra). The wings' main names are exported here lazily (PEP 562: importing the core loads no wing); the
``TYPE_CHECKING`` block below shows them to type checkers and editors.
"""

import importlib
from typing import TYPE_CHECKING

from .ops.threads import choose_layer as _choose_layer

_choose_layer()  # Numba's threading layer: fork-safe, two threads take turns (see ops/threads.py)

from .ops.buffers import keep_freed_memory as _keep_freed_memory  # noqa: E402  (imports NumPy: after the above)

_keep_freed_memory()  # a step's freed arrays are reused, not faulted in again (see ops/buffers.py)

from . import gradcheck  # noqa: E402
from .layers import (  # noqa: E402
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
)
from .model import VARIANTS, AlexNet  # noqa: E402
from .ops import (  # noqa: E402
    BACKENDS,
    CONV_ALGORITHMS,
    get_backend,
    get_conv_algorithm,
    set_backend,
    set_conv_algorithm,
    use_backend,
    use_conv_algorithm,
)
from .preprocessing import Preprocessing  # noqa: E402
from .shapes import conv_output_size  # noqa: E402

__version__ = "0.1.0"

if TYPE_CHECKING:  # what __getattr__ below loads on first use, visible to type checkers and go-to-definition
    from .tools.inference import load_weights as load_weights
    from .tools.inference import predict_files as predict_files
    from .training.data import load_digits as load_digits
    from .training.data import load_image_folder as load_image_folder
    from .training.data import read_image as read_image
    from .training.data import sample_image as sample_image
    from .training.optim import SGD as SGD
    from .training.train import TrainConfig as TrainConfig
    from .training.train import Trainer as Trainer
    from .training.train import TrainingDiverged as TrainingDiverged
    from .training.train import evaluate as evaluate
    from .training.train import fit as fit
    from .training.train import overfit_batch as overfit_batch

# Names that live in a wing, exported lazily (PEP 562) so that importing the core pulls in no wing.
_WING_NAMES = {
    "fit": ".training.train",
    "evaluate": ".training.train",
    "Trainer": ".training.train",
    "TrainConfig": ".training.train",
    "TrainingDiverged": ".training.train",
    "overfit_batch": ".training.train",
    "SGD": ".training.optim",
    "load_digits": ".training.data",
    "load_image_folder": ".training.data",
    "read_image": ".training.data",
    "sample_image": ".training.data",
    "predict_files": ".tools.inference",
    "load_weights": ".tools.inference",
}


def __getattr__(name):
    if name in _WING_NAMES:
        value = getattr(importlib.import_module(_WING_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alexnet_np' has no attribute {name!r}")


__all__ = [
    "AlexNet",
    "VARIANTS",
    "AdaptiveAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Layer",
    "Linear",
    "LocalResponseNorm",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "Tanh",
    "BACKENDS",
    "get_backend",
    "set_backend",
    "use_backend",
    "CONV_ALGORITHMS",
    "get_conv_algorithm",
    "set_conv_algorithm",
    "use_conv_algorithm",
    "conv_output_size",
    "gradcheck",
    "Preprocessing",
    *_WING_NAMES,
]
