"""Run by tests/test_distributed.py under ``mpiexec -n 2``: one epoch of data-parallel training on a small
float64 problem, the checkpoint written to ``sys.argv[1]`` (by rank 0). Imported by the test for the same data
and the same single-process trainer."""

from __future__ import annotations

import sys

import numpy as np

from alexnet_np.model import AlexNet
from alexnet_np.preprocessing import Preprocessing
from alexnet_np.training.data import Dataset
from alexnet_np.training.train import TrainConfig, Trainer


def data():
    rng = np.random.default_rng(5)
    make = lambda n: Dataset(  # noqa: E731
        rng.standard_normal((n, 3, 31, 31)).astype(np.float32),
        rng.integers(0, 4, n),
        list("abcd"),
        Preprocessing.imagenet(31),
    )
    return make(24), make(8)


def trainer(epochs, wrap=None):
    """The run: the mini AlexNet in float64, 3 steps of 8 images per epoch; ``wrap(model)`` -> (net, Trainer
    class) for a distributed one."""
    model = AlexNet("mini", num_classes=4, seed=3, dtype=np.float64)
    net, cls = wrap(model) if wrap else (model, Trainer)
    train, val = data()
    return cls(net, train, val, TrainConfig(epochs=epochs, batch_size=8, schedule="none", seed=3))


if __name__ == "__main__":
    from alexnet_np.distributed import distribute
    from alexnet_np.distributed.comm import CountingComm
    from alexnet_np.distributed.train import DistributedTrainer

    comm = CountingComm(timeout=120)
    run = trainer(1, lambda model: (distribute(model, "data", comm), DistributedTrainer))
    run.fit(checkpoint=sys.argv[1], progress=False, log=None)
