"""AlexNet, five ways, built from the layer classes; shapes, parameters and MACs without data.

=================  ========  ==========================  ============  ================
variant            input     conv widths                 groups        params (1000 cl.)
=================  ========  ==========================  ============  ================
``single_tower``   227×227   96, 256, 384, 384, 256      1,1,1,1,1     62,378,344
``paper``          227×227   96, 256, 384, 384, 256      1,2,1,2,2     60,965,224
``torchvision``    224×224   64, 192, 384, 256, 256      1,1,1,1,1     61,100,840
``seed_keras``     224×224   96, 256(11×11), 384, 384,   1,1,1,1,1     28,056,616
                             256, BatchNorm, 2×2 pools                 (+19,136 stats)
``mini``           31×31     24, 64, 96, 96, 64          1,1,1,1,1     450,154 (10 cl.)
=================  ========  ==========================  ============  ================

``mini`` is AlexNet's structure at a size a laptop trains in minutes (the training notebook
uses it on scikit-learn's digits): five convolutions (5×5, 5×5, 3×3, 3×3, 3×3, stride 1,
"same" padding), LRN after the first two, overlapping 3×3/2 pools after conv1, conv2 and
conv5 (31 → 15 → 7 → 3), dropout before two hidden fully connected layers of 256, fc8. Its
input is 31 for the reason AlexNet's is 227: every pooling window then fits exactly.

``single_tower`` and ``paper`` run ``conv1 relu1 lrn1 pool1 conv2 relu2 lrn2 pool2 conv3 relu3
conv4 relu4 conv5 relu5 pool5 flatten drop6 fc6 relu6 drop7 fc7 relu7 fc8``; ``torchvision`` has
no LRN and an ``avgpool`` (AdaptiveAvgPool2d 6×6) after ``pool5``; ``seed_keras`` is what the
Keras listing of the "Getting Started With AlexNet" tutorial builds (BatchNorm after every
block, dropout 0.4, conv2 11×11 without padding, 2×2 pools) — not AlexNet, and it shows.

fc6's width is not typed in: it is read off shape inference, so ``AlexNet(input_size=224)``
builds the 54/26/12/5 network (50,844,008 parameters) instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .io import load_npz, save_npz_atomic
from .layers import (AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear,
                     LocalResponseNorm, MaxPool2d, ReLU, Sequential, Tanh, _check_dtype)
from .shapes import conv_output_arithmetic, pair

VARIANTS = ("single_tower", "paper", "torchvision", "seed_keras", "mini")
DEFAULT_INPUT_SIZE = {"single_tower": 227, "paper": 227, "torchvision": 224, "seed_keras": 224, "mini": 31}
INITS = ("kaiming", "pytorch", "paper")
# The paper (section 5): "We initialized the neuron biases in the second, fourth, and fifth
# convolutional layers, as well as in the fully-connected hidden layers, with the constant 1."
PAPER_BIAS_ONE = ("conv2", "conv4", "conv5", "fc6", "fc7")


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}


def _feature_spec(variant, lrn, activation="relu", pool=(3, 2)):
    """(name, constructor, kwargs) of the layers before ``flatten``; convs get ``rng`` and ``dtype`` later."""
    lrn_layer = (LocalResponseNorm, dict(size=5, alpha=1e-4, beta=0.75, k=2.0))
    pool_layer = (MaxPool2d, dict(kernel_size=pool[0], stride=pool[1]))
    act = (ACTIVATIONS[activation], {})
    if variant in ("single_tower", "paper"):
        g = 2 if variant == "paper" else 1
        convs = [(3, 96, 11, 4, 0, 1), (96, 256, 5, 1, 2, g), (256, 384, 3, 1, 1, 1),
                 (384, 384, 3, 1, 1, g), (384, 256, 3, 1, 1, g)]
    elif variant == "torchvision":
        convs = [(3, 64, 11, 4, 2, 1), (64, 192, 5, 1, 2, 1), (192, 384, 3, 1, 1, 1),
                 (384, 256, 3, 1, 1, 1), (256, 256, 3, 1, 1, 1)]
    elif variant == "mini":
        convs = [(3, 24, 5, 1, 2, 1), (24, 64, 5, 1, 2, 1), (64, 96, 3, 1, 1, 1),
                 (96, 96, 3, 1, 1, 1), (96, 64, 3, 1, 1, 1)]
    else:  # seed_keras: Keras' BatchNormalization defaults (momentum 0.99 → PyTorch 0.01, eps 1e-3)
        bn = dict(eps=1e-3, momentum=0.01)
        keras_pool = (MaxPool2d, dict(kernel_size=2, stride=2))
        widths = [(3, 96, 11, 4), (96, 256, 11, 1), (256, 384, 3, 1), (384, 384, 3, 1), (384, 256, 3, 1)]
        spec = []
        for i, (cin, cout, k, s) in enumerate(widths, start=1):
            spec += [(f"conv{i}", Conv2d, dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s)),
                     (f"{activation}{i}", *act)]
            if i in (1, 2, 5):
                spec.append((f"pool{i}", *keras_pool))
            spec.append((f"bn{i}", BatchNorm2d, dict(num_features=cout, **bn)))
        return spec
    spec = []
    for i, (cin, cout, k, s, p, groups) in enumerate(convs, start=1):
        spec += [(f"conv{i}", Conv2d, dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s,
                                           padding=p, groups=groups)),
                 (f"{activation}{i}", *act)]
        if i in (1, 2) and lrn:
            spec.append((f"lrn{i}", *lrn_layer))
        if i in (1, 2, 5):
            spec.append((f"pool{i}", *pool_layer))
    if variant == "torchvision":
        spec.append(("avgpool", AdaptiveAvgPool2d, dict(output_size=6)))
    return spec


def _classifier_spec(variant, in_features, num_classes, activation="relu", dropout=None):
    act = ACTIVATIONS[activation]
    if variant == "seed_keras":
        bn = dict(eps=1e-3, momentum=0.01)
        p = 0.4 if dropout is None else dropout
        return [("fc6", Linear, dict(in_features=in_features, out_features=4096)), (f"{activation}6", act, {}),
                ("drop6", Dropout, dict(p=p)), ("bn6", BatchNorm1d, dict(num_features=4096, **bn)),
                ("fc7", Linear, dict(in_features=4096, out_features=4096)), (f"{activation}7", act, {}),
                ("drop7", Dropout, dict(p=p)), ("bn7", BatchNorm1d, dict(num_features=4096, **bn)),
                ("fc8", Linear, dict(in_features=4096, out_features=num_classes))]
    hidden = 256 if variant == "mini" else 4096
    p = 0.5 if dropout is None else dropout
    return [("drop6", Dropout, dict(p=p)), ("fc6", Linear, dict(in_features=in_features, out_features=hidden)),
            (f"{activation}6", act, {}), ("drop7", Dropout, dict(p=p)),
            ("fc7", Linear, dict(in_features=hidden, out_features=hidden)), (f"{activation}7", act, {}),
            ("fc8", Linear, dict(in_features=hidden, out_features=num_classes))]


def _build(name, cls, kwargs, rng, dtype):
    if cls in (Conv2d, Linear):
        return cls(**kwargs, rng=rng, dtype=dtype)
    if cls in (BatchNorm1d, BatchNorm2d):
        return cls(**kwargs, dtype=dtype)
    if cls is Dropout:
        return cls(**kwargs, rng=rng)
    return cls(**kwargs)


class AlexNet(Sequential):
    """AlexNet as a :class:`~alexnet_np.layers.Sequential` of named layers.

    Args:
        variant: one of :data:`VARIANTS`.
        num_classes: width of fc8.
        seed: drives every layer's initialisation and every dropout mask through child
            generators (``np.random.SeedSequence(seed).spawn``): same seed, same model, same masks.
        init: ``"kaiming"`` (default: He et al. 2015, weights N(0, 2/fan_in), biases 0 — keeps the
            signal's scale through ReLU layers, so every variant trains from scratch with plain SGD),
            ``"pytorch"`` (PyTorch's layer default U(−1/√fan_in, 1/√fan_in) for weights and biases; it
            shrinks activations by about √6 per layer, and the mini AlexNet does not train from it), or
            ``"paper"`` (weights N(0, 0.01²); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0).
        input_size: H = W of the input (default 227 for single_tower/paper, 224 otherwise) or (H, W).
        lrn: LRN after relu1 and relu2 (default: True for single_tower/paper/mini, False otherwise).
        dtype: float32 (default) or float64 (gradient checks; or use ``astype``).
        activation: ``"relu"`` (default) or ``"tanh"`` (the paper's Figure 1 comparison); the layers
            are then named ``tanh1`` … instead of ``relu1`` ….
        pool: (kernel, stride) of the three max pools: (3, 2) overlapping (default), (2, 2) not.
        dropout: the dropout probability (default: 0.5; 0.4 for seed_keras); 0 turns dropout off.

    Shape:
        x: (N, 3, H, W) -> logits: (N, num_classes).

    Example:
        >>> model = AlexNet("paper")
        >>> model.num_params()
        60965224
        >>> print(model.summary())        # layer table, computed without data
    """

    def __init__(self, variant="single_tower", num_classes=1000, seed=0, init="kaiming", input_size=None,
                 lrn=None, dtype=np.float32, *, activation="relu", pool=(3, 2), dropout=None):
        if variant not in VARIANTS:
            raise ValueError(f"AlexNet: unknown variant {variant!r}; choose one of {VARIANTS}")
        if init not in INITS:
            raise ValueError(f"AlexNet: unknown init {init!r}; choose one of {INITS}")
        if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"AlexNet: num_classes must be a positive int, got {num_classes!r}")
        dtype = _check_dtype(dtype)
        size = DEFAULT_INPUT_SIZE[variant] if input_size is None else input_size
        h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        lrn = variant in ("single_tower", "paper", "mini") if lrn is None else bool(lrn)
        if activation not in ACTIVATIONS:
            raise ValueError(f"AlexNet: activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        if dropout is not None and not 0 <= dropout < 1:
            raise ValueError(f"AlexNet: dropout must be in [0, 1), got {dropout}")
        pool = tuple(int(v) for v in pool)
        if lrn and variant == "seed_keras":
            raise ValueError("AlexNet: the seed_keras variant has BatchNorm, not LRN; lrn must be None or False")
        self.variant, self.num_classes, self.seed, self.init, self.lrn = variant, int(num_classes), seed, init, lrn
        self.input_size = (int(h), int(w))
        self.activation, self.pool, self.dropout = activation, pool, dropout

        features = _feature_spec(variant, lrn, activation, pool)
        flat = self._infer_flat_features(features)
        spec = features + [("flatten", Flatten, {})] + _classifier_spec(variant, flat, num_classes, activation, dropout)
        children = np.random.SeedSequence(seed).spawn(len(spec))
        layers = [(name, _build(name, cls, kw, np.random.default_rng(child), dtype))
                  for (name, cls, kw), child in zip(spec, children)]
        super().__init__(layers)
        if init != "pytorch":
            self._init_weights(init, children)

    def _infer_flat_features(self, features):
        """Thread the input shape through the feature layers (built without weights) to size fc6."""
        shape = (1, 3, *self.input_size)
        for name, cls, kwargs in features:
            probe = _ShapeOnlyConv(**kwargs) if cls is Conv2d else cls(**kwargs)
            shape = self._layer_output_shape(name, probe, shape)
        return int(np.prod(shape[1:]))

    def _layer_output_shape(self, name, layer, shape):
        try:
            return layer.output_shape(shape)
        except ValueError as err:
            raise ValueError(
                f"AlexNet({self.variant!r}): input {self.input_size[0]}×{self.input_size[1]} is too small: "
                f"layer {name} ({layer!r}) would get input {tuple(shape)} and have an empty output ({err})"
            ) from None

    def _init_weights(self, init, children):
        for (name, layer), child in zip(self.layers.items(), children):
            if isinstance(layer, (Conv2d, Linear)):
                w = layer.params["weight"]
                rng = np.random.default_rng(child.spawn(1)[0])
                fan_in = int(np.prod(w.shape[1:]))
                std = 0.01 if init == "paper" else np.sqrt(2.0 / fan_in)
                w[...] = rng.normal(0.0, std, size=w.shape)
                layer.params["bias"][...] = 1.0 if (init == "paper" and name in PAPER_BIAS_ONE) else 0.0

    def extra_repr(self):
        s = f"variant={self.variant!r}, num_classes={self.num_classes}, input_size={self.input_size}"
        if self.activation != "relu":
            s += f", activation={self.activation!r}"
        if self.pool != (3, 2):
            s += f", pool={self.pool}"
        return s

    def __repr__(self):
        inner = "".join(f"\n  ({n}): {layer!r}" for n, layer in self.layers.items())
        return f"AlexNet({self.extra_repr()}){inner}"

    # -- running ----------------------------------------------------------------------------
    def _check_input_shape(self, shape):
        expected = (3, *self.input_size)
        if len(shape) != 4 or tuple(shape[1:]) != expected:
            raise ValueError(
                f"AlexNet({self.variant!r}) was built for input_size={self.input_size}: expected input of shape "
                f"(N, {expected[0]}, {expected[1]}, {expected[2]}), got {tuple(shape)}; "
                f"build AlexNet(..., input_size=...) for other sizes")

    def forward(self, x, train=False, return_activations=False):
        """x: (N, 3, H, W) -> logits (N, num_classes); with ``return_activations`` also {name: output}."""
        self._check_array(x)
        self._check_input_shape(x.shape)
        return super().forward(x, train=train, return_activations=return_activations)

    def output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return super().output_shape(input_shape)

    # -- accounting --------------------------------------------------------------------------
    def summary(self, input_shape=None):
        """The layer table, computed by threading ``output_shape`` through these layer objects.

        Returns a :class:`ModelSummary`; ``print`` it for the table, or read ``.rows`` / totals.
        """
        shape = tuple(input_shape) if input_shape is not None else (3, *self.input_size)
        if len(shape) == 3:
            shape = (1, *shape)
        self._check_input_shape(shape)
        rows = []
        for name, layer in self.layers.items():
            out = self._layer_output_shape(name, layer, shape)
            rows.append(SummaryRow(name=name, layer=repr(layer), output_shape=out[1:],
                                   arithmetic=_arithmetic(layer, shape), description=_describe(layer), params=layer.num_params(),
                                   macs=layer_macs(layer, shape, out), activations=int(np.prod(out[1:])),
                                   buffers=int(sum(b.size for b in layer.buffers.values()))))
            shape = out
        return ModelSummary(title=f"AlexNet({self.extra_repr()})", input_shape=(3, *self.input_size),
                            rows=rows, itemsize=np.dtype(self.dtype).itemsize)

    # -- weights in and out ---------------------------------------------------------------------
    def state_dict(self):
        """{"conv1.weight": ..., "bn1.running_mean": ...}: copies of the parameters and buffers."""
        out = {k: v.copy() for k, v in self.params.items()}
        out.update({k: v.copy() for k, v in self.buffers.items()})
        return out

    def load_state_dict(self, state):
        """Copy ``state`` into this model's arrays in place, after checking every name, shape and dtype.

        All mismatches are reported at once in one ValueError; nothing is loaded unless all match.
        """
        own = {**self.params, **self.buffers}
        problems = []
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing:
            problems.append(f"missing keys: {missing}")
        if unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        for k, target in own.items():
            if k not in state:
                continue
            v = state[k]
            if not isinstance(v, np.ndarray):
                problems.append(f"{k}: expected a numpy array, got {type(v).__name__}")
            elif v.shape != target.shape:
                problems.append(f"{k}: expected shape {target.shape}, got {v.shape}")
            elif v.dtype != target.dtype:
                problems.append(f"{k}: expected dtype {target.dtype}, got {v.dtype}")
        if problems:
            raise ValueError(f"AlexNet({self.variant!r}).load_state_dict: " + "; ".join(problems))
        for k, target in own.items():
            target[...] = state[k]

    def metadata(self):
        return dict(format="alexnet_np", version=1, variant=self.variant, num_classes=self.num_classes,
                    input_size=list(self.input_size), lrn=self.lrn, dtype=str(np.dtype(self.dtype)),
                    activation=self.activation, pool=list(self.pool), dropout=self.dropout)

    def config(self):
        """The constructor arguments that rebuild this architecture (weights aside)."""
        return dict(variant=self.variant, num_classes=self.num_classes, input_size=self.input_size, lrn=self.lrn,
                    activation=self.activation, pool=self.pool, dropout=self.dropout)

    def save(self, path):
        """Write the state dict and the model's description to ``path`` (.npz), atomically."""
        save_npz_atomic(path, self.state_dict(), self.metadata())

    def load(self, path):
        """Load weights saved by :meth:`save` into this model; a file for another model fails clearly."""
        arrays, meta = load_npz(path)
        mine = self.metadata()
        diff = {k: (meta.get(k), mine[k]) for k in ("variant", "num_classes", "input_size", "lrn", "activation", "pool")
                if meta.get(k, mine[k]) != mine[k]}
        if diff:
            raise ValueError(f"{path}: the file was saved from a different model: "
                             + ", ".join(f"{k}={a!r} in the file, {b!r} here" for k, (a, b) in diff.items()))
        self.load_state_dict(arrays)
        return self

    @classmethod
    def from_file(cls, path, dtype=None):
        """Build the model a file was saved from and load its weights (``dtype``: convert afterwards)."""
        arrays, meta = load_npz(path)
        if meta.get("format") != "alexnet_np":
            raise ValueError(f"{path}: not an alexnet_np model file (no alexnet_np metadata)")
        model = cls(meta["variant"], num_classes=meta["num_classes"], input_size=tuple(meta["input_size"]),
                    lrn=meta["lrn"], dtype=meta.get("dtype", "float32"),
                    activation=meta.get("activation", "relu"), pool=tuple(meta.get("pool", (3, 2))),
                    dropout=meta.get("dropout"))
        model.load(path)
        return model if dtype is None or np.dtype(dtype) == model.dtype else model.astype(dtype)


class _ShapeOnlyConv(Conv2d):
    """A Conv2d that allocates no weights: shape inference for fc6 without paying for conv weights twice."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1):
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding = pair(kernel_size), pair(stride), pair(padding)
        self.params, self.grads, self.buffers, self.dtype = {}, {}, {}, None


def layer_macs(layer, in_shape, out_shape) -> int:
    """Multiply-accumulates of one image through ``layer`` (conv and fully connected layers; 0 otherwise).

    Conv2d: ``C_out · H_out · W_out · (C_in/groups · kh · kw)``; Linear: ``in · out``.
    """
    if isinstance(layer, Conv2d):
        per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        return int(np.prod(out_shape[1:])) * per_output
    if isinstance(layer, Linear):
        return layer.in_features * layer.out_features
    return 0


def _arithmetic(layer, in_shape):
    if isinstance(layer, (Conv2d, MaxPool2d)):
        h, w = in_shape[2], in_shape[3]
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        a = conv_output_arithmetic(h, kh, sh, ph)
        return a if (h, kh, sh, ph) == (w, kw, sw, pw) else f"{a} | {conv_output_arithmetic(w, kw, sw, pw)}"
    return ""


@dataclass
class SummaryRow:
    name: str
    layer: str
    output_shape: tuple
    arithmetic: str
    description: str
    params: int
    macs: int
    activations: int
    buffers: int = 0


@dataclass
class ModelSummary:
    """The rows of :meth:`AlexNet.summary` and their totals; ``str()`` renders the table."""

    title: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    itemsize: int = 4

    @property
    def total_params(self):
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self):
        return sum(r.macs for r in self.rows)

    @property
    def total_buffers(self):
        return sum(r.buffers for r in self.rows)

    @property
    def total_activations(self):
        return sum(r.activations for r in self.rows)

    def row(self, name):
        return next(r for r in self.rows if r.name == name)

    def __str__(self):
        head = ("layer", "type", "output (C, H, W)", "output size", "params", "MACs", "activations")
        body = [(r.name, r.description, "×".join(map(str, r.output_shape)), r.arithmetic,
                 f"{r.params:,}", f"{r.macs:,}", f"{r.activations:,}") for r in self.rows]
        widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
        line = lambda cells: "  ".join(str(c).ljust(wd) if i < 4 else str(c).rjust(wd)  # noqa: E731
                                       for i, (c, wd) in enumerate(zip(cells, widths)))
        rule = "-" * len(line(head))
        mb = lambda n: f"{n * self.itemsize / 2**20:,.1f} MiB"  # noqa: E731
        extra = f" + {self.total_buffers:,} running statistics (buffers)" if self.total_buffers else ""
        out = [self.title, f"input: {'×'.join(map(str, self.input_shape))}", rule, line(head), rule]
        out += [line(b) for b in body] + [rule]
        out.append(f"trainable parameters: {self.total_params:,}{extra}  ({mb(self.total_params)})")
        out.append(f"MACs per image: {self.total_macs:,}  (≈ {2 * self.total_macs / 1e9:.2f} GFLOPs)")
        out.append(f"activations per image: {self.total_activations:,}  ({mb(self.total_activations)})")
        return "\n".join(out)


def _describe(layer):
    """A short description for the summary table, e.g. ``Conv2d 3→96, 11×11/4``."""
    name = type(layer).__name__
    if isinstance(layer, Conv2d):
        (kh, kw), (sh, _), (ph, _) = layer.kernel_size, layer.stride, layer.padding
        return (f"{name} {layer.in_channels}→{layer.out_channels}, {kh}×{kw}/{sh}" + (f", pad {ph}" if ph else "")
                + (f", groups {layer.groups}" if layer.groups > 1 else ""))
    if isinstance(layer, MaxPool2d):
        return f"{name} {layer.kernel_size[0]}×{layer.kernel_size[1]}/{layer.stride[0]}"
    if isinstance(layer, Linear):
        return f"{name} {layer.in_features}→{layer.out_features}"
    if isinstance(layer, Dropout):
        return f"{name} p={layer.p:g}"
    if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
        return f"{name} {layer.num_features}"
    if isinstance(layer, LocalResponseNorm):
        return f"{name} n={layer.size}, α={layer.alpha:g}, β={layer.beta:g}, k={layer.k:g}"
    if isinstance(layer, AdaptiveAvgPool2d):
        return f"{name} →{layer.output_size[0]}×{layer.output_size[1]}"
    return name
