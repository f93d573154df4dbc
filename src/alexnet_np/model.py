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
conv5 (31 → 15 → 7 → 3), two hidden fully connected layers of 256 with dropout on their outputs, fc8. Its
input is 31 for the reason AlexNet's is 227: every pooling window then fits exactly.

``single_tower`` and ``paper`` run ``conv1 relu1 lrn1 pool1 conv2 relu2 lrn2 pool2 conv3 relu3
conv4 relu4 conv5 relu5 pool5 flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8``: dropout on the
outputs of fc6 and fc7, as the paper (section 4.2) and Caffe's ``bvlc_alexnet`` place it, and so
does ``mini``. ``torchvision`` drops the inputs of fc6 and fc7 instead (``flatten drop6 fc6 relu6
drop7 fc7 relu7 fc8``, its own layout), has no LRN and an ``avgpool`` (AdaptiveAvgPool2d 6×6)
after ``pool5``; ``seed_keras`` is what the
Keras listing of the "Getting Started With AlexNet" tutorial builds (BatchNorm after every
block, dropout 0.4, conv2 11×11 without padding, 2×2 pools) — not AlexNet, and it shows.

Which LRN ``paper`` does: by default one window over all 96 (then 256) channels, as if the two towers were
one (``lrn=True``); ``lrn="towers"`` gives each tower its own (``LocalResponseNorm(groups=2)``: a window stops
at its tower's 48 or 128 maps), as the layer file of cuda-convnet2's two-GPU example does (``rnorm1a`` and
``rnorm1b``, ``channels=48`` each) — that file is cuda-convnet2's example, not the 2012 code, which is not at
hand; the paper (section 3.3) does not say. ``alexnet_np.distributed`` runs the towers on two processes, each
with its own LRN, and equals ``AlexNet("paper", lrn="towers")``.

fc6's width is not typed in: it is read off shape inference, so ``AlexNet(input_size=224)``
builds the 54/26/12/5 network (50,844,008 parameters) instead of failing.
"""

from __future__ import annotations

import numpy as np

from . import io, ops
from .errors import BadArgument, BadFile, BadInput
from .io import check_arrays, check_budget, load_npz, save_npz_atomic
from .layers import (
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
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
from .layers.base import _check_dtype
from .preprocessing import MAX_IMAGE_PIXELS, Preprocessing
from .summary import summarize

VARIANTS = ("single_tower", "paper", "torchvision", "seed_keras", "mini")
DEFAULT_INPUT_SIZE = {"single_tower": 227, "paper": 227, "torchvision": 224, "seed_keras": 224, "mini": 31}
INITS = ("kaiming", "pytorch", "paper")
# The paper (section 5): "We initialized the neuron biases in the second, fourth, and fifth
# convolutional layers, as well as in the fully-connected hidden layers, with the constant 1."
PAPER_BIAS_ONE = ("conv2", "conv4", "conv5", "fc6", "fc7")
ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}

# (in, out, kernel, stride, padding, groups) of conv1 … conv5
CONVS = {
    "single_tower": [
        (3, 96, 11, 4, 0, 1),
        (96, 256, 5, 1, 2, 1),
        (256, 384, 3, 1, 1, 1),
        (384, 384, 3, 1, 1, 1),
        (384, 256, 3, 1, 1, 1),
    ],
    "paper": [
        (3, 96, 11, 4, 0, 1),
        (96, 256, 5, 1, 2, 2),
        (256, 384, 3, 1, 1, 1),
        (384, 384, 3, 1, 1, 2),
        (384, 256, 3, 1, 1, 2),
    ],
    "torchvision": [
        (3, 64, 11, 4, 2, 1),
        (64, 192, 5, 1, 2, 1),
        (192, 384, 3, 1, 1, 1),
        (384, 256, 3, 1, 1, 1),
        (256, 256, 3, 1, 1, 1),
    ],
    "mini": [
        (3, 24, 5, 1, 2, 1),
        (24, 64, 5, 1, 2, 1),
        (64, 96, 3, 1, 1, 1),
        (96, 96, 3, 1, 1, 1),
        (96, 64, 3, 1, 1, 1),
    ],
    # the Keras listing: conv2 is 11×11 and nothing is padded
    "seed_keras": [
        (3, 96, 11, 4, 0, 1),
        (96, 256, 11, 1, 0, 1),
        (256, 384, 3, 1, 0, 1),
        (384, 384, 3, 1, 0, 1),
        (384, 256, 3, 1, 0, 1),
    ],
}
# Keras' BatchNormalization defaults: momentum 0.99 (PyTorch's 0.01) and eps 1e-3
KERAS_BATCHNORM = dict(eps=1e-3, momentum=0.01)


def _features(variant, lrn, activation, pool, new_rng, dtype):
    """The layers before ``flatten`` as (name, layer) pairs; ``new_rng()`` gives a layer its own generator.
    ``lrn="towers"``: one LRN window per group of conv2 (the paper's towers)."""
    act = ACTIVATIONS[activation]
    layers: list[tuple[str, Layer]] = []
    for i, (cin, cout, k, s, p, groups) in enumerate(CONVS[variant], start=1):
        layers.append((f"conv{i}", Conv2d(cin, cout, k, s, p, groups, rng=new_rng(), dtype=dtype)))
        layers.append((f"{activation}{i}", act()))
        if variant == "seed_keras":
            if i in (1, 2, 5):
                layers.append((f"pool{i}", MaxPool2d(2, 2)))
            layers.append((f"bn{i}", BatchNorm2d(cout, **KERAS_BATCHNORM, dtype=dtype)))
            continue
        if i in (1, 2) and lrn:
            towers = CONVS[variant][1][5] if lrn == "towers" else 1
            layers.append((f"lrn{i}", LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0, groups=towers)))
        if i in (1, 2, 5):
            layers.append((f"pool{i}", MaxPool2d(pool[0], pool[1])))
    if variant == "torchvision":
        layers.append(("avgpool", AdaptiveAvgPool2d(6)))
    return layers


MAX_CLASSES = 1_000_000  # fc8 alone is then 4096 × 10^6 weights (16 GB in float32)
MAX_INPUT_SIZE = 1 << 16  # per side: far past any image a CPU runs; 10^8 a side overflowed NumPy's sizes


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _input_hw(size):
    """``input_size`` (an int, or (H, W)) -> (H, W), or a one-line error naming what was received."""
    hw = (size, size) if _is_int(size) else tuple(size) if isinstance(size, (tuple, list)) else None
    if hw is None or len(hw) != 2 or not all(_is_int(v) and 1 <= v <= MAX_INPUT_SIZE for v in hw):
        raise BadArgument(
            f"AlexNet: input_size must be an int or (H, W) of ints from 1 to {MAX_INPUT_SIZE}, got {size!r}"
        )
    return int(hw[0]), int(hw[1])


def _classifier(variant, in_features, num_classes, activation, dropout, new_rng, dtype):
    """The layers after ``flatten``: fc6, fc7, fc8 with their activations and dropout."""
    act = ACTIVATIONS[activation]
    if variant == "seed_keras":
        p = 0.4 if dropout is None else dropout
        return [
            ("fc6", Linear(in_features, 4096, rng=new_rng(), dtype=dtype)),
            (f"{activation}6", act()),
            ("drop6", Dropout(p, rng=new_rng())),
            ("bn6", BatchNorm1d(4096, **KERAS_BATCHNORM, dtype=dtype)),
            ("fc7", Linear(4096, 4096, rng=new_rng(), dtype=dtype)),
            (f"{activation}7", act()),
            ("drop7", Dropout(p, rng=new_rng())),
            ("bn7", BatchNorm1d(4096, **KERAS_BATCHNORM, dtype=dtype)),
            ("fc8", Linear(4096, num_classes, rng=new_rng(), dtype=dtype)),
        ]
    hidden = 256 if variant == "mini" else 4096
    p = 0.5 if dropout is None else dropout
    # Built in one order whatever the placement, so a seed gives the same weights and masks in both.
    drop6 = Dropout(p, rng=new_rng())
    fc6 = Linear(in_features, hidden, rng=new_rng(), dtype=dtype)
    drop7 = Dropout(p, rng=new_rng())
    fc7 = Linear(hidden, hidden, rng=new_rng(), dtype=dtype)
    fc8 = Linear(hidden, num_classes, rng=new_rng(), dtype=dtype)
    act6, act7 = (f"{activation}6", act()), (f"{activation}7", act())
    if variant == "torchvision":  # torchvision drops the inputs of fc6 and fc7
        return [("drop6", drop6), ("fc6", fc6), act6, ("drop7", drop7), ("fc7", fc7), act7, ("fc8", fc8)]
    # The paper (section 4.2) and Caffe's bvlc_alexnet drop the outputs of fc6 and fc7.
    return [("fc6", fc6), act6, ("drop6", drop6), ("fc7", fc7), act7, ("drop7", drop7), ("fc8", fc8)]


class AlexNet(Sequential):
    """AlexNet as a :class:`~alexnet_np.layers.Sequential` of named layers.

    Args:
        variant: one of :data:`VARIANTS`.
        num_classes: width of fc8.
        seed: drives every layer's initialisation and every dropout mask through child
            generators (``np.random.SeedSequence(seed).spawn``): same seed, same model, same masks.
        init: ``"kaiming"`` (default: He et al. 2015, weights N(0, 2/fan_in), biases 0 — keeps the
            signal's scale through ReLU layers, so every variant trains from scratch with plain SGD; the last
            layer at a tenth of N(0, 1/fan_in), so the initial loss is near ln(num_classes)),
            ``"pytorch"`` (PyTorch's layer default U(−1/√fan_in, 1/√fan_in) for weights and biases; it
            shrinks activations by about √6 per layer, and the mini AlexNet does not train from it), or
            ``"paper"`` (weights N(0, 0.01²); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0).
        input_size: H = W of the input (default 227 for single_tower/paper, 224 for torchvision/seed_keras,
            31 for mini: ``DEFAULT_INPUT_SIZE``) or (H, W).
        lrn: LRN after relu1 and relu2 (default: True for single_tower/paper/mini, False otherwise);
            ``"towers"`` (``paper`` only): one LRN per tower instead of one across both (module docstring).
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
        >>> model.summary().total_macs    # the layer table (print it), computed without data
        724406816
    """

    def __init__(
        self,
        variant="single_tower",
        num_classes=1000,
        seed=0,
        init="kaiming",
        input_size=None,
        lrn=None,
        dtype=np.float32,
        *,
        activation="relu",
        pool=(3, 2),
        dropout=None,
    ):
        if variant not in VARIANTS:
            raise BadArgument(f"AlexNet: unknown variant {variant!r}; choose one of {VARIANTS}")
        if init not in INITS:
            raise BadArgument(f"AlexNet: unknown init {init!r}; choose one of {INITS}")
        if not _is_int(num_classes) or not 1 <= num_classes <= MAX_CLASSES:
            raise BadArgument(
                f"AlexNet: num_classes must be an int from 1 to {MAX_CLASSES:,}, got {num_classes!r}"
            )
        if not (seed is None or _is_int(seed) and seed >= 0):
            raise BadArgument(f"AlexNet: seed must be a non-negative int (or None), got {seed!r}")
        dtype = _check_dtype(dtype)
        size = DEFAULT_INPUT_SIZE[variant] if input_size is None else input_size
        h, w = _input_hw(size)
        if lrn == "towers" and variant != "paper":
            raise BadArgument(f"AlexNet: lrn='towers' needs the paper variant's two towers, not {variant!r}")
        lrn = (
            variant in ("single_tower", "paper", "mini")
            if lrn is None
            else lrn
            if lrn == "towers"
            else bool(lrn)
        )
        if activation not in ACTIVATIONS:
            raise BadArgument(f"AlexNet: activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        if dropout is not None and not 0 <= dropout < 1:
            raise BadArgument(f"AlexNet: dropout must be in [0, 1), got {dropout}")
        pool = tuple(int(v) for v in pool)
        if lrn and variant == "seed_keras":
            raise BadArgument(
                "AlexNet: the seed_keras variant has BatchNorm, not LRN; lrn must be None or False"
            )
        self.variant, self.num_classes, self.seed, self.init, self.lrn = (
            variant,
            int(num_classes),
            seed,
            init,
            lrn,
        )
        self.input_size = (int(h), int(w))
        self.activation, self.pool, self.dropout = activation, pool, dropout

        seeds = np.random.SeedSequence(seed)

        def new_rng():  # a generator of its own for each layer that draws numbers, in build order
            return self._GENERATOR(np.random.PCG64(seeds.spawn(1)[0]))

        features = _features(variant, lrn, activation, pool, new_rng, dtype)
        shape = (1, 3, *self.input_size)
        for name, layer in features:  # fc6's width is read off shape inference, not typed in
            shape = self._layer_output_shape(name, layer, shape)
        flat = int(np.prod(shape[1:]))
        classifier = _classifier(variant, flat, num_classes, activation, dropout, new_rng, dtype)
        super().__init__(features + [("flatten", Flatten())] + classifier)
        # how images become input; a trainer replaces it with its data set's, and it is saved with the weights
        resize = max(256, self.input_size[0])  # none past the image limit: such a model takes arrays only
        self.preprocessing = Preprocessing.imagenet(
            self.input_size[0], resize=resize if resize**2 <= MAX_IMAGE_PIXELS else None
        )
        self.classes = None  # the class names, once trained on a data set that has them
        if init != "pytorch" and self._GENERATOR is np.random.Generator:
            self._init_weights(init, new_rng)

    _GENERATOR = np.random.Generator  # what draws the weights; _ShapesOnly's draws shapes without memory

    @classmethod
    def shapes_only(cls, variant="single_tower", **kwargs):
        """The model ``AlexNet(variant, **kwargs)`` would build, with every weight a shape and a dtype but no
        memory (a read-only view of one zero): for its layer table, parameter count and memory plan, never to
        run. ``AlexNet.shapes_only("paper", input_size=1000).summary()`` needs no 3.8 GB of fc6 weights."""
        return _AlexNetShapes(variant, **kwargs)

    def _layer_output_shape(self, name, layer, shape):
        try:
            return layer.output_shape(shape)
        except ValueError as err:
            raise BadArgument(
                f"AlexNet({self.variant!r}): input {self.input_size[0]}×{self.input_size[1]} is too small: "
                f"layer {name} ({layer!r}) would get input {tuple(shape)} and have an empty output ({err})"
            ) from None

    def _init_weights(self, init, new_rng):
        """Kaiming's N(0, 2/fan_in) or the paper's N(0, 0.01²) for every weight matrix or kernel; biases 0
        (the paper: 1 in conv2, conv4, conv5, fc6, fc7). Kaiming's last layer (fc8) is drawn at a tenth of
        N(0, 1/fan_in): no ReLU follows it, and small logits make the first softmax near uniform, so the
        initial loss is close to ln(num_classes) (Karpathy's "initialise the final layer well")."""
        weighted = [
            name for name, layer in self.layers.items() if layer.params.get("weight", np.ones(1)).ndim > 1
        ]
        for name, layer in self.layers.items():
            w = layer.params.get("weight")
            if w is None or w.ndim < 2:  # BatchNorm's per-channel γ is not a weight matrix
                continue
            fan_in = int(np.prod(w.shape[1:]))
            if init == "paper":
                std = 0.01
            elif name == weighted[-1]:
                std = 0.1 * np.sqrt(1.0 / fan_in)
            else:
                std = np.sqrt(2.0 / fan_in)
            w[...] = new_rng().normal(0.0, std, size=w.shape)
            if "bias" in layer.params:
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
            raise BadInput(
                f"AlexNet({self.variant!r}) was built for input_size={self.input_size}: expected input of shape "
                f"(N, {expected[0]}, {expected[1]}, {expected[2]}), got {tuple(shape)}; "
                f"build AlexNet(..., input_size=...) for other sizes"
            )

    def forward(self, x, train=False, return_activations=False):
        """x: (N, 3, H, W) -> logits (N, num_classes); with ``return_activations`` also {name: output}."""
        self._check_array(x)
        self._check_input_shape(x.shape)
        return super().forward(x, train=train, return_activations=return_activations)

    def output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return super().output_shape(input_shape)

    # -- accounting ----------------------------------------------------------------------------
    def summary(self, input_shape=None):
        """The layer table, computed by threading ``output_shape`` through these layer objects.

        Returns a :class:`~alexnet_np.summary.ModelSummary`; ``print`` it for the table, or read
        ``.rows`` / the totals.
        """
        shape = tuple(input_shape) if input_shape is not None else (3, *self.input_size)
        if len(shape) == 3:
            shape = (1, *shape)
        self._check_input_shape(shape)
        return summarize(self, shape, title=f"AlexNet({self.extra_repr()})")

    # -- the architecture as plain data, and weights in and out --------------------------------
    def config(self):
        """The constructor arguments that rebuild this architecture (weights aside), as JSON-ready values."""
        return dict(
            variant=self.variant,
            num_classes=self.num_classes,
            input_size=list(self.input_size),
            lrn=self.lrn,
            activation=self.activation,
            pool=list(self.pool),
            dropout=self.dropout,
        )

    @classmethod
    def from_config(cls, config, dtype=np.float32, seed=0, where="model description"):
        """The model :meth:`config` describes (freshly initialised), e.g. to load saved weights into.

        ``config`` usually comes from a file (``where`` names it): every value is checked, and the weights it
        asks for are counted on a shape-only model against :data:`alexnet_np.io.MEMORY_BUDGET` *before* any is
        allocated; a malformed or oversized description raises :class:`~alexnet_np.errors.BadFile`."""
        plan = cls.plan(config, dtype, where)
        return cls(dtype=plan.dtype, seed=seed, **_config_kwargs(config, where))

    @classmethod
    def plan(cls, config, dtype=np.float32, where="model description", arrays=None):
        """The shape-only model (:meth:`shapes_only`) a stored description asks for, after every check that
        needs no weights: the description's values, the memory budget, and (given ``arrays``, a state dict
        read from the same file) every name, shape and dtype. Raises :class:`~alexnet_np.errors.BadFile`."""
        kwargs = _config_kwargs(config, where)
        try:
            dtype = np.dtype(dtype)
            if dtype not in (np.float32, np.float64):
                raise BadArgument(f"dtype must be float32 or float64, got {dtype}")
            plan = _AlexNetShapes(dtype=dtype, **kwargs)
        except (BadArgument, TypeError, ValueError) as err:  # ValueError: sizes beyond what NumPy can index
            raise BadFile(f"{where}: malformed model description ({err})") from None
        if arrays is not None:
            problems = check_arrays({**plan.params, **plan.buffers}, arrays)
            if problems:
                raise BadFile(
                    f"{where}: the arrays do not fit AlexNet({plan.extra_repr()}): " + "; ".join(problems)
                )
        plan.check_budget(where)
        return plan

    def construction_bytes(self):
        """The bytes building this model allocates: weights, gradients, buffers, and the float64 draw a weight
        is made from (the largest one at a time)."""
        arrays = [*self.params.values(), *self.grads.values(), *self.buffers.values()]
        return sum(a.nbytes for a in arrays) + 8 * max((p.size for p in self.params.values()), default=0)

    def check_budget(self, where, error=BadFile):
        """Refuse (``error`` naming ``where``) a model whose weights exceed :data:`~alexnet_np.io.MEMORY_BUDGET`."""
        check_budget(
            self.construction_bytes(),
            f"AlexNet({self.extra_repr()}) with {self.num_params():,} parameters",
            where,
            error,
        )

    def forward_bytes(self, batch=1):
        """The most a forward pass (eval mode) on ``batch`` images holds at once: one layer's input, output,
        column matrix and temporaries (Python ints: no overflow however large the batch)."""
        shape, peak = (1, 3, *self.input_size), 0
        for layer in self.layers.values():
            with ops.use_conv_algorithm("im2col"):  # the guard's model, as before Winograd was counted
                m = layer.train_memory(shape, self.dtype)
            peak = max(peak, sum(int(m[k]) for k in ("input", "output", "im2col", "temporary")))
            shape = layer.output_shape(shape)
        return peak * int(batch)

    def batch_within_budget(self, wanted, where):
        """``wanted`` images per forward pass, fewer if that many would exceed the memory budget (at least one:
        a model of which one image exceeds it is refused, naming ``where``)."""
        per_image = self.forward_bytes(1)
        check_budget(per_image, f"one image's forward pass through AlexNet({self.extra_repr()})", where)
        return max(1, min(int(wanted), io.MEMORY_BUDGET // per_image))

    def metadata(self):
        """What a saved model file says about itself: the format, the config, the dtype, the preprocessing."""
        meta = dict(
            format="alexnet_np",
            version=1,
            dtype=str(np.dtype(self.dtype)),
            preprocessing=self.preprocessing.to_dict(),
            **self.config(),
        )
        if self.classes is not None:
            meta["classes"] = [str(c) for c in self.classes]
        return meta

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
        problems = check_arrays(own, state)
        if problems:
            raise BadInput(f"AlexNet({self.variant!r}).load_state_dict: " + "; ".join(problems))
        for k, target in own.items():
            target[...] = state[k]

    def save(self, path):
        """Write the state dict and the model's description to ``path`` (.npz), atomically."""
        save_npz_atomic(path, self.state_dict(), self.metadata())

    def load(self, path):
        """Load weights saved by :meth:`save` into this model; a file for another model fails clearly."""
        arrays, meta = load_npz(path)
        mine = self.config()
        diff = {k: (meta.get(k), v) for k, v in mine.items() if k != "dropout" and meta.get(k, v) != v}
        if diff:
            raise BadFile(
                f"{path}: the file was saved from a different model: "
                + ", ".join(f"{k}={a!r} in the file, {b!r} here" for k, (a, b) in diff.items())
            )
        self.load_state_dict(arrays)
        return self

    @classmethod
    def from_file(cls, path, dtype=None):
        """Build the model a file was saved from and load its weights (``dtype``: convert afterwards)."""
        arrays, meta = load_npz(path)
        if meta.get("format") != "alexnet_np":
            raise BadFile(f"{path}: not an alexnet_np model file (no alexnet_np metadata)")
        _check_declared_sizes(path, meta, arrays)  # before anything the metadata asks for is allocated
        cls.plan(meta, meta.get("dtype", "float32"), str(path), arrays)
        model = cls.from_config(meta, dtype=meta.get("dtype", "float32"), where=str(path))
        model.load(path)
        if "preprocessing" in meta:  # files written before 0.2 carry none: the default stays
            model.preprocessing = Preprocessing.from_dict(meta["preprocessing"], where=str(path))
        classes = meta.get("classes")
        if classes is not None:
            if not (isinstance(classes, list) and len(classes) == model.num_classes):
                raise BadFile(f"{path}: malformed class names (expected {model.num_classes} names)")
            model.classes = [str(c) for c in classes]
        return model if dtype is None or np.dtype(dtype) == model.dtype else model.astype(dtype)


def _config_kwargs(config, where):
    """The constructor arguments of a stored model description, each checked for its type (BadFile)."""
    if not isinstance(config, dict):
        raise BadFile(f"{where}: the model description is not a JSON object")
    missing = [k for k in ("variant", "num_classes", "input_size", "lrn") if k not in config]
    if missing:
        raise BadFile(f"{where}: malformed model description (no {', '.join(map(repr, missing))})")

    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)

    def pair(v):
        return isinstance(v, (list, tuple)) and len(v) == 2 and all(whole(x) and x >= 1 for x in v)

    kwargs = dict(
        variant=config["variant"],
        num_classes=config["num_classes"],
        input_size=config["input_size"],
        lrn=config["lrn"],
        activation=config.get("activation", "relu"),
        pool=config.get("pool", [3, 2]),
        dropout=config.get("dropout"),
    )
    rules = dict(
        variant=(lambda v: v in VARIANTS, f"one of {VARIANTS}"),
        num_classes=(lambda v: whole(v) and v >= 1, "a positive integer"),
        input_size=(pair, "two positive integers"),
        lrn=(lambda v: v is None or isinstance(v, bool) or v == "towers", 'true, false, "towers" or null'),
        activation=(lambda v: v in ACTIVATIONS, f"one of {tuple(ACTIVATIONS)}"),
        pool=(pair, "two positive integers"),
        dropout=(
            lambda v: v is None or (isinstance(v, (int, float)) and 0 <= v < 1),
            "null or a number in [0, 1)",
        ),
    )
    for key, (ok, expected) in rules.items():
        if not ok(kwargs[key]):
            raise BadFile(f"{where}: the model description's {key} must be {expected}, got {kwargs[key]!r}")
    kwargs["input_size"], kwargs["pool"] = tuple(kwargs["input_size"]), tuple(kwargs["pool"])
    return kwargs


def _check_declared_sizes(path, meta, arrays):
    """A model file's metadata must agree with its arrays before a model of that size is built: a crafted
    header asking for two million classes would otherwise allocate gigabytes before any other check."""
    fc8 = arrays.get("fc8.weight")
    classes = meta.get("num_classes")
    if fc8 is None or fc8.ndim != 2:
        raise BadFile(f"{path}: no 2-D 'fc8.weight' array: not an AlexNet model file")
    if not isinstance(classes, int) or classes != fc8.shape[0]:
        raise BadFile(
            f"{path}: the metadata declares num_classes={classes!r} but fc8.weight has {fc8.shape[0]} rows"
        )


class _ShapeOnly(np.ndarray):
    """An array with a shape and a dtype and no memory: every element is the same zero (zero strides).

    ``astype`` and ``zeros_like``/``empty_like``/``ones_like`` keep it shape-only, which is all a layer's
    constructor does with what its generator draws (``rng.uniform(...).astype(dtype)``, ``np.zeros_like``).
    """

    def astype(self, dtype, *args, **kwargs):
        return _shape_only(self.shape, dtype)

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.zeros_like, np.empty_like, np.ones_like):
            return _shape_only(np.shape(args[0]), kwargs.get("dtype") or args[0].dtype)
        return super().__array_function__(func, types, args, kwargs)


def _shape_only(shape, dtype):
    shape = tuple(int(d) for d in np.atleast_1d(np.asarray(shape, dtype=np.int64)))
    one = np.zeros(1, dtype)
    view = np.lib.stride_tricks.as_strided(one, shape=shape, strides=(0,) * len(shape), writeable=False)
    return view.view(_ShapeOnly)


class _ShapeGenerator(np.random.Generator):
    """Draws shapes, not numbers: what :meth:`AlexNet.shapes_only` builds its layers with."""

    def uniform(self, low=0.0, high=1.0, size=None):
        return _shape_only(() if size is None else size, np.float64)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return _shape_only(() if size is None else size, np.float64)


class _AlexNetShapes(AlexNet):
    """An AlexNet whose weights are :class:`_ShapeOnly` (see :meth:`AlexNet.shapes_only`)."""

    _GENERATOR = _ShapeGenerator
