"""Training: the paper's recipe on in-memory data, with checkpoints that resume bit for bit.

``fit`` runs epochs of SGD over shuffled, augmented mini-batches, evaluates top-1 and top-5 on the
held-out split after each epoch, steps the learning-rate schedule, and (given a path) writes a
checkpoint atomically: the model, the optimizer's velocities, the schedule, the history, and the
state of every random generator involved (data order and augmentation, each dropout layer).
Resuming from it continues exactly as the uninterrupted run would have.

Two guards: a step whose loss or gradients are not finite stops the run with :class:`TrainingDiverged`
*before* the optimizer touches the weights (a NaN applied in place is damage already done; the last
checkpoint stays the last good one), and a final mini-batch of a single image is merged into the one
before it (BatchNorm cannot normalise one value per channel; no image is dropped).

Diagnostics (:mod:`alexnet_np.training.diagnostics`): every step runs through a
:class:`~alexnet_np.training.diagnostics.StepMonitor`, so the first loss is checked against ln(num_classes),
each epoch's record carries per-layer activation and gradient statistics, dead-ReLU fractions and
update/weight ratios (``record["diagnostics"]``), and a divergence names the step, the pass and the layer
where the first NaN or infinity appeared. :meth:`Trainer.overfit_batch` (``train --overfit-batch``) is the
recipe's first sanity check: a network that cannot drive the loss on one fixed batch towards zero has a bug,
whatever its accuracy later.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import warnings
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ..errors import BadArgument, BadFile, BadInput
from ..io import load_npz, save_npz_atomic
from ..layers import CrossEntropyLoss
from ..model import AlexNet
from ..preprocessing import Preprocessing
from .augment import PCAColorNoise, center_crop_nchw, predict_ten_crop, random_crop, random_flip
from .diagnostics import StepMonitor, check_initial_loss
from .optim import SGD, ReduceOnPlateau, StepLR


def _int_at_least(low):
    def check(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= low

    return check, {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")


def _real(low, high=None, low_open=False, high_open=True):
    def check(v):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            return False
        v = float(v)
        if not np.isfinite(v) or (v <= low if low_open else v < low):
            return False
        return high is None or (v < high if high_open else v <= high)

    if low == 0 and high is None:
        return check, f"a {'positive' if low_open else 'non-negative'} finite number"
    lo, hi = f"{'(' if low_open else '['}{low:g}", f"{high:g}{')' if high_open else ']'}"
    return check, f"a finite number in {lo}, {hi}"


def _one_of(*values):
    return (lambda v: isinstance(v, str) and v in values), "one of " + ", ".join(map(repr, values)), values


def _bool(optional=False):
    def check(v):
        return (optional and v is None) or isinstance(v, (bool, np.bool_))

    return check, "True, False or None" if optional else "True or False"


def _setting(default, rule, help):
    """A field of :class:`TrainConfig`: its default, the check its value must pass, a line of help."""
    check, expected, *choices = rule
    return field(
        default=default,
        metadata=dict(check=check, expected=expected, help=help, choices=choices[0] if choices else None),
    )


@dataclass
class TrainConfig:
    """Everything that defines a run (stored in every checkpoint); the one source of its defaults.

    The command line's ``train`` options read their defaults and help from these fields
    (``dataclasses.fields(TrainConfig)``), so the library and the CLI cannot disagree. Every value is checked
    on construction: a wrong one raises :class:`~alexnet_np.errors.BadArgument` naming the field, what it
    expects and what it got (``lr=nan``, ``batch_size=2.5``, ``flip="yes"`` are refused, not run).
    """

    epochs: int = _setting(25, _int_at_least(1), "passes over the training data")
    batch_size: int = _setting(32, _int_at_least(1), "images per step")
    lr: float = _setting(0.01, _real(0, low_open=True), "learning rate ε")
    momentum: float = _setting(0.9, _real(0, 1), "momentum of SGD")
    weight_decay: float = _setting(5e-4, _real(0), "weight decay (L2) of SGD")
    schedule: str = _setting(
        "plateau",
        _one_of("plateau", "step", "none"),
        "plateau (the paper's: ÷10 when held-out error stalls), step, none",
    )
    step_size: int = _setting(10, _int_at_least(1), "epochs between ÷10 steps of the step schedule")
    patience: int = _setting(
        2, _int_at_least(0), "epochs without improvement before the plateau schedule steps"
    )
    flip: bool | None = _setting(
        None,
        _bool(optional=True),
        "random horizontal flips (default: on, except for digits, which mirroring changes)",
    )
    pca_noise: float = _setting(0.1, _real(0), "std of the PCA colour noise α, 0 for none")
    crop: bool = _setting(True, _bool(), "random crops of model.input_size from the larger stored images")
    seed: int = _setting(0, _int_at_least(0), "drives the split, the weights, the masks, the data order")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.metadata["check"](value):
                raise BadArgument(f"TrainConfig: {f.name} must be {f.metadata['expected']}, got {value!r}")
            # plain Python values: the config is stored as JSON in every checkpoint
            if isinstance(value, (np.bool_, bool)):
                setattr(self, f.name, bool(value))
            elif isinstance(value, (np.integer, int)):
                setattr(self, f.name, float(value) if f.type == "float" else int(value))
            elif isinstance(value, np.floating):
                setattr(self, f.name, float(value))

    @classmethod
    def defaults(cls):
        """{field name: default value}."""
        return {f.name: f.default for f in fields(cls)}


# The overfitting check's own defaults (the README's "one batch of 16", 100 steps); the rest is TrainConfig's.
OVERFIT_STEPS = 100
OVERFIT_BATCH_SIZE = 16


def _check_count(what, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BadArgument(f"{what} must be a positive integer, got {value!r}")


def _crop_for(model, images):
    size = model.input_size[0]
    return images if images.shape[2] == size and images.shape[3] == size else center_crop_nchw(images, size)


def evaluate(model, data, batch_size=256, ten_crop=False):
    """Loss, top-1 and top-5 accuracy of ``model`` on ``data`` (eval mode, centre crops or 10-crop averaging)."""
    if len(data) == 0:
        return dict(loss=float("nan"), top1=float("nan"), top5=float("nan"))
    loss_fn = CrossEntropyLoss()
    batch_size = model.batch_within_budget(batch_size * (10 if ten_crop else 1), "evaluate")
    batch_size = max(1, batch_size // 10) if ten_crop else batch_size
    total_loss, top1, top5 = 0.0, 0, 0
    for start in range(0, len(data), batch_size):
        x = data.images[start : start + batch_size].astype(model.dtype, copy=False)
        y = data.labels[start : start + batch_size]
        if ten_crop:
            probs = predict_ten_crop(model, x)
            total_loss += float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).sum())
            scores = probs
        else:
            scores = model.forward(_crop_for(model, x), train=False)
            total_loss += loss_fn.forward(scores, y) * len(y)
        top = np.argsort(-scores, axis=1)[:, :5]
        top1 += int((top[:, 0] == y).sum())
        top5 += int((top == y[:, None]).any(axis=1).sum())
    n = len(data)
    return dict(loss=total_loss / n, top1=top1 / n, top5=top5 / n)


def _dropout_generators(model):
    return {name: layer.rng for name, layer in model.layers.items() if hasattr(layer, "rng")}


class TrainingDiverged(RuntimeError):
    """Training stopped because a loss or a gradient was not finite, before the weights were updated.

    ``step`` (1-based, counted over the whole run) and ``epoch`` say when; ``quantity`` what (``"loss"`` or a
    gradient's name such as ``"fc8.weight"``); ``phase`` (``"forward"`` or ``"backward"``) and ``layer`` where
    the first non-finite value of that step appeared (``"input"``: the data; ``"loss"``: ∂L/∂logits), and
    ``detail`` what was found there, when known.
    """

    def __init__(self, step, epoch, quantity, value, layer=None, phase=None, detail=""):
        self.step, self.epoch, self.quantity, self.value, self.layer = step, epoch, quantity, value, layer
        self.phase, self.detail = phase, detail
        where = ""
        if layer:
            where = (
                f"; first non-finite value in the {phase} pass, at layer {layer}"
                if phase
                else f" (layer {layer})"
            )
            where += f" ({detail})" if detail else ""
        super().__init__(
            f"training diverged at step {step} (epoch {epoch}): {quantity} is {value}{where}; the weights were "
            f"not updated. Lower the learning rate or check the input scaling"
        )


def data_fingerprint(data) -> str:
    """A short hash of a data set's images, labels and classes: resuming on other data is refused."""
    digest = hashlib.sha256()
    for a in (np.ascontiguousarray(data.images), np.ascontiguousarray(data.labels)):
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    digest.update("\n".join(map(str, data.classes)).encode())
    return digest.hexdigest()[:16]


def mini_batches(order, batch_size):
    """Split ``order`` into batches of ``batch_size``; a last batch of one image joins the one before."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [np.concatenate(batches[-2:])]
    return batches


class Trainer:
    """Holds a model, its optimizer and schedule, the data generator and the history of a run.

    The model takes the training data's :class:`~alexnet_np.preprocessing.Preprocessing` record (saved with
    it), and the data's crop size must be the model's input size.
    """

    def __init__(self, model, train_data, val_data, config: TrainConfig):
        if not isinstance(config, TrainConfig):
            raise BadArgument(f"Trainer: config must be a TrainConfig, got {type(config).__name__}")
        if len(train_data) == 0:
            raise BadInput("Trainer: the training data are empty (0 images): nothing to train on")
        prep = train_data.preprocessing
        if prep.input_size != model.input_size[0]:
            raise BadArgument(
                f"the data are prepared for {prep.input_size}×{prep.input_size} inputs but the model takes "
                f"{model.input_size[0]}×{model.input_size[1]}"
            )
        if len(train_data.classes) != model.num_classes:
            raise BadArgument(
                f"the data have {len(train_data.classes)} classes but the model's fc8 has {model.num_classes}"
            )
        model.preprocessing, model.classes = prep, list(train_data.classes)
        self.model, self.train_data, self.val_data, self.config = model, train_data, val_data, config
        self.flip = train_data.mirror_invariant if config.flip is None else bool(config.flip)
        self.steps = 0
        self.optimizer = SGD(
            model.params,
            model.grads,
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
        if config.schedule == "plateau":
            self.schedule = ReduceOnPlateau(self.optimizer, patience=config.patience)
        elif config.schedule == "step":
            self.schedule = StepLR(self.optimizer, config.step_size)
        else:
            self.schedule = None
        self.rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(2)[1])
        self.pca = (
            PCAColorNoise(std=config.pca_noise).fit(train_data.images) if config.pca_noise > 0 else None
        )
        self.loss_fn = CrossEntropyLoss()
        self.monitor = StepMonitor(model)
        self.initial_loss = None  # the InitialLossCheck of this run's first step (not set on a resumed run)
        self.history: list[dict] = []
        self.epoch = 0
        self.run = secrets.token_hex(8)  # this run's name: its checkpoint and its output files carry it

    # -- one epoch ------------------------------------------------------------------------------
    def _batch(self, idx):
        x = self.train_data.images[idx]
        size = self.model.input_size[0]
        if self.config.crop and x.shape[2] > size:
            x = random_crop(x, size, self.rng)
        else:
            x = _crop_for(self.model, x)
        if self.flip:
            x = random_flip(x, self.rng)
        if self.pca is not None:
            x = self.pca(x, self.rng)
        return np.ascontiguousarray(x, dtype=self.model.dtype), self.train_data.labels[idx]

    def train_epoch(self, progress=True):
        from tqdm.auto import tqdm

        start = time.perf_counter()
        order = self.rng.permutation(len(self.train_data))
        batches = mini_batches(order, self.config.batch_size)
        total, correct, seen = 0.0, 0, 0
        bar = tqdm(
            batches, desc=f"epoch {self.epoch + 1}/{self.config.epochs}", leave=False, disable=not progress
        )
        for idx in bar:
            x, y = self._batch(idx)
            logits, loss = self._step(x, y)
            total += loss * len(y)
            correct += int((logits.argmax(axis=1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{total / seen:.4f}", lr=f"{self.optimizer.lr:.2g}")
        val = evaluate(self.model, self.val_data)
        record = dict(
            epoch=self.epoch + 1,
            train_loss=total / seen,
            train_top1=correct / seen,
            val_loss=val["loss"],
            val_top1=val["top1"],
            val_top5=val["top5"],
            lr=self.optimizer.lr,
            seconds=time.perf_counter() - start,
            diagnostics=self.monitor.end_epoch(),
        )
        if self.initial_loss is not None and self.epoch == 0:
            record["initial_loss"] = self.initial_loss.to_dict()
        if self.schedule is not None:
            self.schedule.step(1 - val["top1"] if len(self.val_data) else total / seen)
        self.history.append(record)
        self.epoch += 1
        return record

    def _step(self, x, y):
        """One SGD step on (x, y) through the monitor -> (logits, loss); TrainingDiverged before a bad update."""
        monitor = self.monitor
        # NumPy's overflow warnings are silenced: the monitor finds the first non-finite value itself, and a
        # divergence is reported once, with the step and the layer, instead of as warnings from inside a layer
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = monitor.forward(x, train=True)
            loss = self.loss_fn.forward(logits, y)
        self.steps += 1
        if self.steps == 1:
            self.initial_loss = check_initial_loss(loss, self.model.num_classes)
            if np.isfinite(loss) and not self.initial_loss.ok:  # a NaN is reported by the divergence
                warnings.warn(self.initial_loss.message, RuntimeWarning, stacklevel=3)
        if not np.isfinite(loss):
            self._diverged("loss", loss)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            monitor.backward(self.loss_fn.backward())
        for name in reversed(list(self.model.grads)):  # backward order, as the monitor found them
            total = float(np.sum(self.model.grads[name], dtype=np.float64))  # NaN and inf survive a sum
            if not np.isfinite(total):
                self._diverged(f"the gradient {name}", total)
        norms = monitor.weight_norms()
        self.optimizer.step()
        monitor.record_update(self.optimizer, norms)
        return logits, loss

    def _diverged(self, quantity, value):
        where = self.monitor.first_non_finite
        raise TrainingDiverged(
            self.steps,
            self.epoch + 1,
            quantity,
            value,
            layer=where.layer if where else None,
            phase=where.phase if where else None,
            detail=where.detail if where else "",
        )

    def overfit_batch(
        self,
        steps=OVERFIT_STEPS,
        batch_size=None,
        log_every=None,
        log=print,
        stop_below=None,
        log_seconds=10.0,
    ):
        """Karpathy's first sanity check: train on ONE fixed batch until the loss is near zero.

        The batch is the first ``batch_size`` (default: the config's) training images, centre-cropped, with no
        flips and no colour noise (augmentation would make it a different batch each step). The model runs in
        training mode as it is: build it with ``dropout=0`` for this check (regularisation fights memorising;
        ``train --overfit-batch`` does). ``stop_below``: stop after the first step whose loss (before its update)
        is below this; None runs all ``steps``. ``log``: the first step's initial-loss verdict, then a line every
        ``log_every`` steps and at least every ``log_seconds`` seconds (a long run never goes silent).

        Returns a dict: ``losses`` (the loss before each step), ``final`` (the loss after the last step, train
        mode), ``final_eval`` (the same in eval mode), ``steps`` (steps taken) and ``reached`` (the 1-based step
        whose loss was first below ``stop_below``, or None). A network that cannot get near zero here has a bug in its
        forward, backward or update, whatever it does on the full data.
        """
        import time

        _check_count("overfit_batch: steps", steps)
        if batch_size is not None:
            _check_count("overfit_batch: batch_size", batch_size)
        n = min(batch_size or self.config.batch_size, len(self.train_data))
        x = np.ascontiguousarray(_crop_for(self.model, self.train_data.images[:n]), dtype=self.model.dtype)
        y = self.train_data.labels[:n]
        losses, reached, last_log = [], None, time.monotonic()
        for i in range(steps):
            first_step = self.steps == 0
            _, loss = self._step(x, y)
            losses.append(loss)
            if log and first_step:  # the verdict on the starting point comes first, not after the loop
                log(self.initial_loss.message)
            if stop_below is not None and loss < stop_below:
                reached = i + 1
            due = log_every and i % log_every == 0
            if log and (due or reached or i == steps - 1 or time.monotonic() - last_log >= log_seconds):
                log(f"step {i + 1:>4}  loss on the batch {loss:.5f}")
                last_log = time.monotonic()
            if reached:
                break
        final = self.loss_fn.forward(self.monitor.forward(x, train=True), y)
        final_eval = self.loss_fn.forward(self.model.forward(x, train=False), y)
        self.monitor.end_epoch()  # statistics of these steps are not an epoch's
        return dict(
            losses=losses,
            final=final,
            final_eval=final_eval,
            steps=len(losses),
            batch_size=n,
            reached=reached,
        )

    def fit(self, checkpoint=None, progress=True, log=print):
        """Train until ``config.epochs``; after each epoch write ``checkpoint`` (a path) if given."""
        while self.epoch < self.config.epochs:
            r = self.train_epoch(progress=progress)
            if log and "initial_loss" in r:
                log(self.initial_loss.message)
            if log:
                log(
                    f"epoch {r['epoch']:>3}  loss {r['train_loss']:.4f}  train top-1 {r['train_top1']:.4f}  "
                    f"val top-1 {r['val_top1']:.4f}  top-5 {r['val_top5']:.4f}  lr {r['lr']:.2g}  {r['seconds']:.1f} s"
                )
            if checkpoint is not None:
                self.save_checkpoint(checkpoint)
        return self.history

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, path):
        save_npz_atomic(path, *self.checkpoint_contents())

    def checkpoint_contents(self):
        """(arrays, metadata) of a checkpoint of this run: what :meth:`save_checkpoint` writes."""
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        arrays.update({f"velocity/{k}": v for k, v in self.optimizer.velocity.items()})
        meta = dict(
            format="alexnet_np-checkpoint",
            version=1,
            model=self.model.config(),
            dtype=str(np.dtype(self.model.dtype)),
            config=asdict(self.config),
            epoch=self.epoch,
            history=self.history,
            optimizer=self.optimizer.state_dict()["hyper"],
            schedule=self.schedule.state_dict() if self.schedule else None,
            rng=self.rng.bit_generator.state,
            dropout_rngs={k: g.bit_generator.state for k, g in _dropout_generators(self.model).items()},
            classes=list(self.train_data.classes),
            preprocessing=self.model.preprocessing.to_dict(),
            data=dict(train=data_fingerprint(self.train_data), val=data_fingerprint(self.val_data)),
            steps=self.steps,
            run=self.run,
        )
        return arrays, meta

    def load_checkpoint(self, path):
        """Continue the run saved in ``path``; refused when the model, the data or the split differ."""
        arrays, meta = load_checkpoint_file(path)
        if meta["model"] != self.model.config():
            raise BadFile(f"{path}: checkpoint is for model {meta['model']}, not {self.model.config()}")
        if list(meta.get("classes", [])) != list(self.train_data.classes):
            raise BadFile(
                f"{path}: the checkpoint was trained on classes {meta.get('classes')}, these data have "
                f"{list(self.train_data.classes)}"
            )
        stored = meta["data"]
        now = dict(train=data_fingerprint(self.train_data), val=data_fingerprint(self.val_data))
        if set(meta["dropout_rngs"]) != set(_dropout_generators(self.model)):
            raise BadFile(
                f"{path}: the checkpoint's dropout generators {sorted(meta['dropout_rngs'])} are not the model's "
                f"{sorted(_dropout_generators(self.model))}"
            )
        if stored != now:
            raise BadFile(
                f"{path}: the training or held-out images differ from the run being resumed (another folder, "
                f"another --seed, or changed files): resuming would mix splits; start a new run instead"
            )
        self.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
        self.optimizer.load_state_dict(
            dict(
                velocity={k[9:]: v for k, v in arrays.items() if k.startswith("velocity/")},
                hyper=meta["optimizer"],
            )
        )
        if self.schedule is not None and meta["schedule"]:
            self.schedule.load_state_dict(meta["schedule"])
        self.rng.bit_generator.state = meta["rng"]
        for name, g in _dropout_generators(self.model).items():
            g.bit_generator.state = meta["dropout_rngs"][name]
        self.history, self.epoch = list(meta["history"]), int(meta["epoch"])
        self.steps = int(meta["steps"])
        self.run = meta.get("run") or self.run
        return self


def fit(model, train, val=None, *, epochs=None, checkpoint=None, progress=True, log=print, **options):
    """Train ``model`` on ``train`` with the paper's recipe; the short way to :class:`Trainer`.

    ``val``: held-out data evaluated after every epoch (None: none). ``epochs``: default
    :class:`TrainConfig`'s. ``options``: any other field of
    :class:`TrainConfig` (``lr``, ``batch_size``, ``schedule``, ``flip``, ``pca_noise``, ``seed``, ...).
    ``checkpoint``: a path written after every epoch. Returns the history, one dict per epoch.

        >>> from alexnet_np import AlexNet, fit, load_digits
        >>> train, val = load_digits()
        >>> model = AlexNet("mini", num_classes=len(train.classes))
        >>> history = fit(model, train, val, epochs=3)  # doctest: +SKIP
    """
    if epochs is not None:
        options["epochs"] = epochs
    trainer = Trainer(model, train, _no_data(train) if val is None else val, TrainConfig(**options))
    return trainer.fit(checkpoint=checkpoint, progress=progress, log=log)


def _no_data(like):
    empty = np.arange(0)
    return type(like)(like.images[empty], like.labels[empty], like.classes, like.preprocessing)


def overfit_batch(
    model,
    train,
    *,
    steps=OVERFIT_STEPS,
    batch_size=OVERFIT_BATCH_SIZE,
    log_every=None,
    log=print,
    stop_below=None,
    **options,
):
    """Train ``model`` on one fixed batch of ``train`` for ``steps`` steps (see :meth:`Trainer.overfit_batch`).

    ``options``: any field of :class:`TrainConfig` (``lr``, ``momentum``, ``seed``, ...); ``stop_below``: stop
    once a step's loss is below it. Returns ``dict(losses, final, final_eval, steps, batch_size, reached)``;
    ``final`` near 0 is the pass mark (the mini AlexNet without dropout, 16 digits, lr 0.01: below 0.01 from
    its 26th step, measured).

        >>> from alexnet_np import AlexNet, load_digits, overfit_batch
        >>> train, _ = load_digits()
        >>> result = overfit_batch(AlexNet("mini", num_classes=10, dropout=0), train, steps=100)  # doctest: +SKIP
        >>> result["losses"][0], result["final"]     # about ln 10 = 2.30, then near 0  # doctest: +SKIP
    """
    config = TrainConfig(batch_size=batch_size, **{"schedule": "none", "pca_noise": 0.0, **options})
    _check_count("overfit_batch: steps", steps)
    trainer = Trainer(model, train, _no_data(train), config)
    return trainer.overfit_batch(steps=steps, log_every=log_every, log=log, stop_below=stop_below)


def load_checkpoint_file(path):
    """The arrays and metadata of a training checkpoint, the metadata checked whole (:class:`BadFile` naming
    the file and the field): a hand-edited or damaged checkpoint is refused before anything uses it."""
    arrays, meta = load_npz(path)
    if meta.get("format") != "alexnet_np-checkpoint":
        hint = (
            " (this is a model file: load it with AlexNet.from_file)"
            if meta.get("format") == "alexnet_np"
            else ""
        )
        raise BadFile(f"{path}: not an alexnet_np training checkpoint{hint}")
    check_checkpoint_metadata(path, meta)
    return arrays, meta


HISTORY_FIELDS = ("epoch", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5", "lr", "seconds")
SCHEDULE_FIELDS = {
    "step": ("step_size", "gamma", "epochs"),
    "plateau": ("factor", "patience", "threshold", "max_reductions", "best", "bad_epochs", "reductions"),
}
OPTIMIZER_FIELDS = ("lr", "momentum", "weight_decay", "convention", "steps")


def _is_int(v, low=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_checkpoint_metadata(path, meta):
    """Every field :meth:`Trainer.save_checkpoint` writes, checked for presence, type and agreement (the
    epoch with the history, the schedule with the config, …); raises :class:`BadFile` naming the field."""

    def bad(what):
        raise BadFile(f"{path}: malformed training checkpoint: {what}")

    required = ("version", "model", "dtype", "config", "epoch", "history", "optimizer", "schedule", "rng")
    required += ("dropout_rngs", "classes", "preprocessing", "data", "steps")
    missing = [k for k in required if k not in meta]
    if missing:
        bad(f"no {', '.join(map(repr, missing))} in its metadata")
    if meta["version"] != 1:
        bad(f"version {meta['version']!r}; this release reads version 1")
    if meta["dtype"] not in ("float32", "float64"):
        bad(f"dtype must be 'float32' or 'float64', got {meta['dtype']!r}")
    if not isinstance(meta["config"], dict):
        bad("config is not an object")
    try:
        config = TrainConfig(**meta["config"])
    except (BadArgument, TypeError) as err:  # TypeError: an unknown or missing field
        bad(f"config: {err}")
    epoch, history = meta["epoch"], meta["history"]
    if not _is_int(epoch, 1) or epoch > config.epochs:
        bad(f"epoch must be an integer in 1..{config.epochs} (its config's epochs), got {epoch!r}")
    if not isinstance(history, list) or len(history) != epoch:
        size = len(history) if isinstance(history, list) else type(history).__name__
        bad(f"history must hold one record per epoch ({epoch}), got {size}")
    for i, row in enumerate(history):
        if not isinstance(row, dict) or any(not _is_number(row.get(k)) for k in HISTORY_FIELDS):
            bad(f"history record {i} must give numbers for {', '.join(HISTORY_FIELDS)}")
        if row["epoch"] != i + 1:
            bad(f"history record {i} is for epoch {row['epoch']!r}, not {i + 1}")
    hyper = meta["optimizer"]
    if not isinstance(hyper, dict) or any(k not in hyper for k in OPTIMIZER_FIELDS):
        bad(f"optimizer must give {', '.join(OPTIMIZER_FIELDS)}")
    if not (_is_number(hyper["lr"]) and 0 < hyper["lr"] < float("inf")) or hyper["convention"] not in (
        "paper",
        "pytorch",
    ):
        bad(
            f"optimizer: lr must be a positive finite number and convention 'paper' or 'pytorch', got "
            f"{hyper['lr']!r}, {hyper['convention']!r}"
        )
    if not _is_int(hyper["steps"]):
        bad(f"optimizer: steps must be a non-negative integer, got {hyper['steps']!r}")
    schedule = meta["schedule"]
    if config.schedule == "none":
        if schedule is not None:
            bad(f"a schedule is stored but the config's is 'none': {schedule!r}")
    elif not isinstance(schedule, dict) or schedule.get("kind") != config.schedule:
        bad(f"schedule must be the config's {config.schedule!r}, got {schedule!r}")
    elif any(not _is_number(schedule.get(k)) for k in SCHEDULE_FIELDS[config.schedule]):
        bad(
            f"schedule {config.schedule!r} must give numbers for {', '.join(SCHEDULE_FIELDS[config.schedule])}"
        )
    rngs = meta["dropout_rngs"]
    if not isinstance(rngs, dict):
        bad("dropout_rngs is not an object")
    for name, state in [("rng", meta["rng"]), *((f"dropout_rngs[{k!r}]", v) for k, v in rngs.items())]:
        try:
            np.random.Generator(np.random.PCG64()).bit_generator.state = state
        except (TypeError, ValueError, KeyError) as err:
            bad(f"{name} is not a PCG64 generator's state ({type(err).__name__}: {err})")
    classes = meta["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        bad("classes must be a list of names")
    num_classes = meta["model"].get("num_classes") if isinstance(meta["model"], dict) else None
    if len(classes) != num_classes:
        bad(f"{len(classes)} class names for a model of {num_classes!r} classes")
    Preprocessing.from_dict(meta["preprocessing"], where=str(path)) if isinstance(
        meta["preprocessing"], dict
    ) else bad("preprocessing is not an object")
    data = meta["data"]
    if not (
        isinstance(data, dict)
        and set(data) == {"train", "val"}
        and all(isinstance(v, str) for v in data.values())
    ):
        bad("data must give the fingerprints of the training and held-out images ('train', 'val')")
    if not _is_int(meta["steps"]):
        bad(f"steps must be a non-negative integer, got {meta['steps']!r}")
    run = meta.get("run")
    if run is not None and not (isinstance(run, str) and run.isalnum()):
        bad(f"run must be a run's name, got {run!r}")


def model_from_checkpoint(path):
    """Rebuild the model stored in a checkpoint and load its weights -> (model, meta)."""
    arrays, meta = load_checkpoint_file(path)
    weights = {k[6:]: v for k, v in arrays.items() if k.startswith("model/")}
    AlexNet.plan(meta["model"], meta.get("dtype", "float32"), str(path), weights)  # before any allocation
    model = AlexNet.from_config(meta["model"], dtype=meta.get("dtype", "float32"), where=str(path))
    model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    if "preprocessing" in meta:
        model.preprocessing = Preprocessing.from_dict(meta["preprocessing"], where=str(path))
    return model, meta


def plot_history(history, ax=None, title=None, diagnostics=None):
    """Learning curves: training loss and held-out top-1 error per epoch. Returns the figure.

    ``diagnostics`` (default: when the records carry them and no ``ax`` is given) adds a second row: the
    update/weight ratio, the activations' std and the gradient RMS per weighted layer, and the dead-ReLU
    fraction per ReLU (see :func:`~alexnet_np.training.diagnostics.plot_diagnostics`).
    """
    import matplotlib.pyplot as plt

    from .diagnostics import plot_diagnostics

    if diagnostics is None:
        diagnostics = ax is None and any("diagnostics" in h for h in history)
    if ax is None and diagnostics:
        fig = plt.figure(figsize=(17, 7))
        grid = fig.add_gridspec(2, 4)
        ax = [fig.add_subplot(grid[0, :2]), fig.add_subplot(grid[0, 2:])]  # the learning curves, wide
        lower = [fig.add_subplot(grid[1, i]) for i in range(4)]  # the diagnostics
    elif ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    else:
        fig = ax[0].figure
    epochs = [h["epoch"] for h in history]
    ax[0].plot(epochs, [h["train_loss"] for h in history], "o-", label="training loss")
    ax[0].plot(epochs, [h["val_loss"] for h in history], "s-", label="held-out loss")
    first = history[0].get("initial_loss") if history else None
    if first:
        ax[0].plot([0], [first["loss"]], "kx", label="first step's loss")
        ax[0].axhline(
            first["expected"], color="k", ls=":", lw=1, label=f"ln {first['num_classes']} (uniform)"
        )
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("cross-entropy")
    ax[0].legend()
    ax[1].plot(
        epochs, [1 - h["train_top1"] for h in history], "o-", label="training error (augmented, dropout on)"
    )
    ax[1].plot(epochs, [1 - h["val_top1"] for h in history], "s-", label="held-out top-1 error")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("error rate")
    ax[1].set_yscale("log")
    ax[1].legend()
    if diagnostics:
        plot_diagnostics(history, lower)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
