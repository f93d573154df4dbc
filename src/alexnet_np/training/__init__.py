"""The training wing: SGD in the paper's form, data sets, augmentation, the training loop, experiments.

Built on the core (layers, model, io); the core never imports it.
"""
