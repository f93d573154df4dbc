""":class:`Sequential`: named layers run in order, with hooks on each layer's output and incoming gradient."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import OrderedDict

from ..errors import BadArgument
from .base import Layer


class Sequential(Layer):
    """Named layers run in order, with the same contract as a single layer.

    ``Sequential(layer, layer, ...)`` names them "0", "1", ...; ``Sequential(OrderedDict(...))``
    or ``Sequential([(name, layer), ...])`` keeps the given names. ``params``/``grads``/``buffers``
    are flat dicts keyed ``"name.weight"`` holding the layers' own arrays (no copies).

    ``forward(x, train=False, return_activations=False)``: with ``return_activations=True``
    returns ``(y, {name: output of that layer})``. Where no one watches (no hooks, no
    ``return_activations``), a layer with ``folds_into_previous`` (ReLU) runs through
    :meth:`~alexnet_np.layers.Layer.forward_after` with the one before it, and may be folded into that
    layer's output pass: the same output and the same gradients, bit for bit, without the pre-activations
    as an array of their own. Likewise in ``backward`` where no backward hook watches: such a layer runs
    through :meth:`~alexnet_np.layers.Layer.backward_before` with the one before it, and its backward may fold
    into that layer's (the ReLU's dout · mask taken in Winograd's output-transform adjoint).

    Hooks: whoever wants to watch a pass (diagnostics, saliency, activations by name) hooks into this one
    loop instead of running its own: inside ``with model.hooks(forward=f, backward=b):`` every
    ``forward`` calls ``f(name, layer, x, y)`` after each layer (x its input, y its output) and every
    ``backward`` calls ``b(name, layer, dout, dx)`` after each layer (dout the gradient arriving at its
    output, dx the one it passes on: None from the first layer with ``input_grad=False``). A hook must not
    modify the arrays it is given; copies of the model get no hooks.
    """

    _role = "model"

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (dict, list)):
            items = list(layers[0].items()) if isinstance(layers[0], dict) else list(layers[0])
        else:
            items = [(str(i), layer) for i, layer in enumerate(layers)]
        self.layers: OrderedDict[str, Layer] = OrderedDict()
        self._hooks: dict[str, list] = {"forward": [], "backward": []}
        placed: dict[int, str] = {}  # id(layer) -> where it runs, through nested Sequentials too

        def place(where, layer):
            # a second use would overwrite the cache that the first use's backward reads
            if id(layer) in placed:
                raise BadArgument(
                    f"Sequential: layer {where!r} is the same {type(layer).__name__} object as "
                    f"{placed[id(layer)]!r}; a layer keeps its last forward for backward, so the gradients "
                    f"would be wrong: create one object per use"
                )
            placed[id(layer)] = where
            if isinstance(layer, Sequential):
                for inner, sub in layer.layers.items():
                    place(f"{where}.{inner}", sub)

        for name, layer in items:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: {name!r} is a {type(layer).__name__}, not a Layer")
            if name in self.layers or "." in name:
                raise BadArgument(f"Sequential: layer names must be unique and contain no '.', got {name!r}")
            place(name, layer)
            self.layers[name] = layer
        self._collect()

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers.values():
            shape = layer.output_shape(shape)
        return shape

    def forward(self, x, train=False, return_activations=False):
        with self._one_thread():
            self._check_array(x)
            activations, hooks = {}, self._hooks["forward"]
            if not (hooks or return_activations):  # no one watches: a layer may fold into the one before it
                layers = list(self.layers.values())
                i = 0
                while i < len(layers):
                    if i + 1 < len(layers) and layers[i + 1].folds_into_previous:
                        x = layers[i + 1].forward_after(layers[i], x, train=train)
                        i += 2
                    else:
                        x = layers[i].forward(x, train=train)
                        i += 1
                return x
            for name, layer in self.layers.items():
                y = layer.forward(x, train=train)
                for hook in hooks:
                    hook(name, layer, x, y)
                if return_activations:
                    activations[name] = y
                x = y
            return (x, activations) if return_activations else x

    def backward(self, dout, input_grad=True):
        """Backward through every layer, last to first; returns dx. ``input_grad=False`` (training on data,
        where dx is thrown away) is passed to the first layer, which may then skip computing it, as PyTorch
        does for inputs that do not require grad; None is returned."""
        items = list(self.layers.items())
        if not items:
            return dout if input_grad else None
        with self._one_thread():
            hooks = self._hooks["backward"]
            i = len(items) - 1
            while i >= 0:
                name, layer = items[i]
                if not hooks and i > 0 and layer.folds_into_previous:  # no one watches: it may fold
                    dout = layer.backward_before(
                        items[i - 1][1], dout, input_grad=input_grad if i == 1 else True
                    )
                    i -= 2
                    continue
                dx = layer.backward(dout, input_grad=input_grad if i == 0 else True)
                for hook in hooks:
                    hook(name, layer, dout, dx)
                dout = dx
                i -= 1
            return dout

    @contextlib.contextmanager
    def hooks(self, forward=None, backward=None):
        """Run a block with ``forward(name, layer, x, y)`` and/or ``backward(name, layer, dout, dx)`` called
        after each layer of every pass (class docstring); they are removed when the block ends."""
        added = [(kind, fn) for kind, fn in (("forward", forward), ("backward", backward)) if fn is not None]
        for kind, fn in added:
            self._hooks[kind].append(fn)
        try:
            yield self
        finally:
            for kind, fn in added:
                self._hooks[kind].remove(fn)

    def _label(self):
        return f"{type(self).__name__}({self.extra_repr()})"  # one line; __repr__ lists every layer

    def _check_array(self, x, name="input"):
        try:
            super()._check_array(x, name)
        except TypeError as err:
            first = next(iter(self.layers), None)
            raise TypeError(f"{err} — first layer {first}" if first is not None else str(err)) from None

    def _collect(self):
        self.params = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.params.items()}
        self.grads = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.grads.items()}
        self.buffers = {f"{n}.{k}": v for n, layer in self.layers.items() for k, v in layer.buffers.items()}
        dtypes = {layer.dtype for layer in self.layers.values() if layer.dtype is not None}
        if len(dtypes) > 1:
            raise TypeError(f"Sequential: layers have different dtypes {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else None

    def __getitem__(self, name):
        try:
            return self.layers[name]
        except KeyError:
            raise KeyError(f"no layer {name!r}; the layers are {', '.join(self.layers)}") from None

    def __iter__(self):
        return iter(self.layers.items())

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({n}): {layer!r}" for n, layer in self.layers.items())
        return f"{type(self).__name__}({inner}\n)"

    def astype(self, dtype):
        new = copy.copy(self)
        new.layers = OrderedDict((n, layer.astype(dtype)) for n, layer in self.layers.items())
        new._collect()
        return new

    def __getstate__(self):  # copies and deep copies get a lock of their own, and no hooks
        state = self.__dict__.copy()
        state.pop("_busy", None)
        state["_hooks"] = {"forward": [], "backward": []}
        return state

    @contextlib.contextmanager
    def _one_thread(self):
        """Refuse a second thread while one is inside this network: layers keep their forward cache in
        attributes, so two threads sharing one model would silently mix their gradients. (Two models in
        two threads are fine.)"""
        busy = self.__dict__.setdefault("_busy", threading.Lock())
        if not busy.acquire(blocking=False):
            raise RuntimeError(
                f"{type(self).__name__}: used by two threads at once; give each thread its own model "
                f"(for example copy.deepcopy(model) or a model built with the same seed)"
            )
        try:
            yield
        finally:
            busy.release()

    def macs(self, input_shape):
        total, shape = 0, tuple(input_shape)
        for layer in self.layers.values():
            total += layer.macs(shape)
            shape = layer.output_shape(shape)
        return total

    def receptive_field(self, field):
        """The field of the last layer's units, each layer answering from the one before."""
        for layer in self.layers.values():
            field = layer.receptive_field(field)
        return field

    def linear_stand_in(self, input_shape):
        """The network with every layer replaced by its stand-in (the identity ones left out), float64."""
        shape, items = tuple(input_shape), []
        for name, layer in self.layers.items():
            twin = layer.linear_stand_in(shape)
            if twin is not None:
                items.append((name, twin))
            shape = layer.output_shape(shape)
        return Sequential(items)
