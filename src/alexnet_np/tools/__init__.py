"""The tools wing: the command line and its tour, inference on image files, PyTorch interop, the benchmark.

Built on the core and the training wing; the core never imports it.
"""
