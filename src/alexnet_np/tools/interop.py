"""Interop with PyTorch: torchvision's key names, and a ``torch.nn`` module of the same layout.

torchvision's ``alexnet`` names its layers by position inside two ``nn.Sequential`` modules:
``features`` (everything before the flatten, except the average pool), ``avgpool``, and
``classifier`` (everything after the flatten). :func:`torch_key_map` derives the same names
from an AlexNet's own layer list, so the map is right for every variant: for ``torchvision``
it gives ``conv1.weight -> features.0.weight``, ``fc6.weight -> classifier.1.weight``, …; for the
variants that drop fc6's outputs as the paper does, ``fc6.weight -> classifier.0.weight``.

The key maps need no torch; :func:`build_torch_module` imports torch when called.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadFile


def torch_layer_names(model) -> dict:
    """{our layer name: torchvision-style module path}, e.g. {"conv1": "features.0", "fc8": "classifier.6"}.

    torchvision's layout, read off each layer's :meth:`~alexnet_np.layers.Layer.torch_spec`: the adaptive
    average pool is ``avgpool``; the flatten separates ``features`` from ``classifier``.
    """
    names, part, index = {}, "features", 0
    for name, layer in model.layers.items():
        kind = layer.torch_spec()[0]
        if kind == "AdaptiveAvgPool2d":
            names[name] = "avgpool"
        elif kind == "Flatten":
            part, index = "classifier", 0
        else:
            names[name] = f"{part}.{index}"
            index += 1
    return names


def torch_key_map(model) -> dict:
    """{our state-dict key: torchvision-style key} for every parameter and buffer of ``model``."""
    layer_names = torch_layer_names(model)
    out = {}
    for key in list(model.params) + list(model.buffers):
        layer, tensor = key.split(".", 1)
        out[key] = f"{layer_names[layer]}.{tensor}"
    return out


def to_torch_state_dict(model) -> dict:
    """Our weights under torchvision's key names (numpy arrays; ``torch.from_numpy`` each to load them)."""
    state = model.state_dict()
    return {theirs: state[ours] for ours, theirs in torch_key_map(model).items()}


def from_torch_state_dict(model, state: dict):
    """Load a torchvision-keyed state dict (numpy arrays or tensors) into ``model``, checking everything.

    Keys torchvision keeps that we do not (``num_batches_tracked``) are ignored; any other
    missing, extra or mis-shaped tensor is reported by ``model.load_state_dict``.
    """
    inverse = {theirs: ours for ours, theirs in torch_key_map(model).items()}
    _refuse_old_dropout_layout(model, inverse, state)
    ours = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        ours[inverse.get(key, key)] = value
    model.load_state_dict(ours)
    return model


def _refuse_old_dropout_layout(model, inverse, state):
    """Name the key shift when a file has the torchvision dropout placement and ``model`` the paper's.

    Before the ``paper``, ``single_tower`` and ``mini`` variants placed dropout on the outputs of fc6 and
    fc7 (as the paper does), they placed it on the inputs, as torchvision does: fc6 and fc7 then sat at
    ``classifier.1`` and ``classifier.4``; now they sit at ``classifier.0`` and ``classifier.3``.
    """
    layer_names = torch_layer_names(model)
    fc6, fc7 = layer_names.get("fc6"), layer_names.get("fc7")
    if (fc6, fc7) != ("classifier.0", "classifier.3"):
        return
    if (
        "classifier.1.weight" in state
        and "classifier.0.weight" not in state
        and not set(state) <= set(inverse)
    ):
        raise BadFile(
            f"the file has fc6 at classifier.1 and fc7 at classifier.4 (torchvision's dropout placement, which "
            f"the {model.variant!r} variant used before it followed the paper); here dropout follows fc6 and "
            "fc7, so fc6 is classifier.0 and fc7 is classifier.3: rename classifier.1 -> classifier.0 and "
            "classifier.4 -> classifier.3 (fc8 stays classifier.6)"
        )


def build_torch_module(model):
    """A ``torch.nn.Module`` with the same layers, hyper-parameters, names and weights as ``model``.

    Laid out as torchvision's AlexNet (``features``, ``avgpool``, ``classifier``); LRN layers
    become ``torch.nn.LocalResponseNorm`` with their PyTorch-equivalent α. Requires torch.
    """
    import torch
    from torch import nn

    dtype = torch.float64 if np.dtype(model.dtype) == np.float64 else torch.float32
    features, classifier, avgpool = [], [], None
    target = features
    for layer in model.layers.values():
        kind, kwargs = layer.torch_spec()
        if kind == "Flatten":
            target = classifier
        elif kind == "AdaptiveAvgPool2d":
            avgpool = nn.AdaptiveAvgPool2d(**kwargs)
        else:
            target.append(getattr(nn, kind)(**kwargs))

    class TorchAlexNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*features)
            if avgpool is not None:
                self.avgpool = avgpool
            self.classifier = nn.Sequential(*classifier)

        def forward(self, x):
            x = self.features(x)
            if avgpool is not None:
                x = self.avgpool(x)
            return self.classifier(torch.flatten(x, 1))

    module = TorchAlexNet().to(dtype)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in to_torch_state_dict(model).items()}
    module.load_state_dict(state, strict=False)
    missing = (
        set(module.state_dict())
        - set(state)
        - {k for k in module.state_dict() if k.endswith("num_batches_tracked")}
    )
    if missing:
        raise RuntimeError(f"build_torch_module: torch module has keys we did not fill: {sorted(missing)}")
    return module
