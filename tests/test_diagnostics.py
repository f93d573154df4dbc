"""Training diagnostics: the initial-loss check, overfitting one batch, update ratios, statistics, and the
diagnosis of a divergence (the step, the pass and the layer where the first NaN or infinity appeared)."""

import math
import warnings

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.training.data import Dataset, load_digits_data
from alexnet_np.training.diagnostics import StepMonitor, check_initial_loss, moments
from alexnet_np.training.experiments import subset
from alexnet_np.training.train import TrainConfig, Trainer, TrainingDiverged, overfit_batch

QUIET = dict(progress=False, log=None)
# one step per epoch on fixed inputs: no crops, flips or colour noise, so a test can redo the step by hand
FIXED = dict(batch_size=16, crop=False, flip=False, pca_noise=0.0, schedule="none", seed=0)


@pytest.fixture(scope="module")
def digits():
    train, val = load_digits_data(seed=0)
    return subset(train, 16), subset(val, 16)


def _one_step_trainer(model, data, **options):
    return Trainer(model, data[0], data[1], TrainConfig(epochs=1, **{**FIXED, **options}))


# ---- the first loss against ln K ------------------------------------------------------------------------


def test_initial_loss_check_passes_the_default_init_and_flags_a_badly_scaled_one(digits):
    good = _one_step_trainer(an.AlexNet("mini", num_classes=10, seed=0), digits)
    good.fit(**QUIET)
    assert good.initial_loss.ok and abs(good.initial_loss.expected - math.log(10)) < 1e-12
    assert good.history[0]["initial_loss"]["ok"] is True

    model = an.AlexNet("mini", num_classes=10, seed=0)
    model["fc8"].params["weight"] *= 300  # logits hundreds of times too large: a confident, wrong start
    bad = _one_step_trainer(model, digits)
    with pytest.warns(RuntimeWarning, match="initial loss .* expected ln 10 = 2.3026.*too large"):
        bad.fit(**QUIET)
    assert not bad.initial_loss.ok and bad.initial_loss.loss > 1.25 * math.log(10)
    assert bad.history[0]["initial_loss"]["ok"] is False


def test_initial_loss_check_thresholds():
    assert check_initial_loss(math.log(1000), 1000).ok
    assert check_initial_loss(1.26 * math.log(10), 10).ok is False
    assert check_initial_loss(0.74 * math.log(10), 10).ok is False  # below chance before training
    assert "labels leaking" in check_initial_loss(0.5, 10).message
    assert check_initial_loss(float("nan"), 10).ok is False
    assert "not finite" in check_initial_loss(float("nan"), 10).message
    with pytest.raises(ValueError, match="at least 2 classes"):
        check_initial_loss(0.0, 1)


# ---- overfitting one batch ------------------------------------------------------------------------------


def test_overfit_one_batch_reaches_a_low_loss_in_40_steps():
    train, _ = load_digits_data(seed=0)
    model = an.AlexNet("mini", num_classes=10, seed=0, dropout=0)
    result = overfit_batch(model, train, steps=40, batch_size=16, lr=0.01, seed=0, log=None)
    assert len(result["losses"]) == 40 and result["batch_size"] == 16
    assert abs(result["losses"][0] - math.log(10)) < 0.25 * math.log(10)  # starts unsure
    assert result["final"] < 0.01 and result["final_eval"] < 0.01  # and memorises the batch (measured: ~1e-5)


# ---- per-layer statistics, by hand ----------------------------------------------------------------------


def test_update_ratio_dead_fraction_and_activation_statistics_match_a_hand_computation(digits):
    model = an.AlexNet("mini", num_classes=10, seed=0)
    model["conv1"].params["bias"][:6] = -1e3  # six of conv1's 24 channels dead for any input
    before = {k: v.copy() for k, v in model.params.items()}
    x = np.ascontiguousarray(digits[0].images[:, :, 2:33, 2:33])  # the centre crop the trainer takes
    _, acts = model.astype(np.float32).forward(x, train=False, return_activations=True)  # before the step

    lr, wd = 0.05, 5e-4
    trainer = _one_step_trainer(model, digits, lr=lr, weight_decay=wd, momentum=0.9)
    record = trainer.fit(**QUIET)[0]["diagnostics"]

    # the first step starts from zero velocity: Δw = −ε(g + λw), whatever the momentum
    for name in ("conv1", "conv3", "fc6", "fc8"):
        w0, g = before[f"{name}.weight"].astype(np.float64), model.grads[f"{name}.weight"].astype(np.float64)
        hand = lr * np.linalg.norm(g + wd * w0) / np.linalg.norm(w0)
        assert record["update_ratio"][name] == pytest.approx(hand, rel=1e-4)
    # relu1 comes before any dropout, so the eval-mode forward above saw the same gates as the training step
    dead = 1.0 - (acts["conv1"] > 0).any(axis=0).mean()
    assert record["dead"]["relu1"] == pytest.approx(dead, abs=1e-12) and dead >= 6 / 24
    assert set(record["dead"]) == {f"relu{i}" for i in range(1, 8)}  # the gating layers, and only those
    assert record["activations"]["conv1"]["std"] == pytest.approx(float(acts["conv1"].std()), rel=1e-4)
    assert record["activations"]["pool2"]["mean"] == pytest.approx(float(acts["pool2"].mean()), rel=1e-4)


def test_the_monitor_runs_the_models_own_pass_bit_for_bit():
    rng = np.random.default_rng(0)
    a, b = an.AlexNet("mini", num_classes=10, seed=1), an.AlexNet("mini", num_classes=10, seed=1)
    x, y = rng.standard_normal((4, 3, 31, 31)).astype(np.float32), np.arange(4)
    loss = an.CrossEntropyLoss()
    ref = a.forward(x, train=True)
    loss.forward(ref, y)
    a.backward(loss.backward(), input_grad=False)
    monitor = StepMonitor(b)
    out = monitor.forward(x, train=True)
    loss.forward(out, y)
    monitor.backward(loss.backward())
    assert np.array_equal(out, ref)
    assert all(np.array_equal(a.grads[k], b.grads[k]) for k in a.grads)
    assert monitor.first_non_finite is None


def test_moments_do_not_overflow_where_float32_would():
    a = np.full((3, 1000), 1e30, np.float32)  # a float32 sum of squares is inf; the values are finite
    n, mean, std, rms, finite = moments(a)
    assert (
        finite
        and n == 3000
        and mean == pytest.approx(1e30, rel=1e-6)
        and rms == pytest.approx(1e30, rel=1e-6)
    )
    assert std < 1e24
    assert moments(np.array([1.0, np.nan]))[4] is False


# ---- the diagnosis of a divergence ---------------------------------------------------------------------


def test_an_infinite_weight_is_diagnosed_at_step_1_in_the_forward_pass_at_that_layer(digits):
    model = an.AlexNet("mini", num_classes=10, seed=0)
    # conv3's inputs are ≥ 0 (pooled ReLUs): inf or NaN out
    model["conv3"].params["weight"][0, 0, 1, 1] = np.inf
    trainer = _one_step_trainer(model, digits)
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(**QUIET)
    err = info.value
    assert (err.step, err.epoch, err.phase, err.layer, err.quantity) == (1, 1, "forward", "conv3", "loss")
    assert "weight already held NaN or inf" in err.detail
    assert "first non-finite value in the forward pass, at layer conv3" in str(err) and "\n" not in str(err)


def test_a_corrupt_image_is_diagnosed_in_the_input(digits):
    train, val = digits
    images = train.images.copy()
    images[5] = np.nan
    data = Dataset(images, train.labels, train.classes, train.preprocessing)
    trainer = Trainer(an.AlexNet("mini", num_classes=10, seed=0), data, val, TrainConfig(epochs=1, **FIXED))
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(**QUIET)
    assert (info.value.step, info.value.phase, info.value.layer) == (1, "forward", "input")


class _FailOnCall:
    """Wraps one layer's forward or backward: its ``when``-th call returns its result with one entry set to
    ``value`` (a fault made at a known step and place)."""

    def __init__(self, method, when, value):
        self.method, self.when, self.value, self.calls = method, when, value, 0

    def __call__(self, *args, **kwargs):
        out = self.method(*args, **kwargs)
        self.calls += 1
        if self.calls == self.when:
            out = out.copy()
            out.reshape(-1)[0] = self.value
        return out


def test_a_fault_in_a_backward_at_step_3_is_diagnosed_there_before_the_update(digits):
    train, val = digits
    data = Dataset(
        np.concatenate([train.images] * 4),
        np.concatenate([train.labels] * 4),
        train.classes,
        train.preprocessing,
    )
    model = an.AlexNet("mini", num_classes=10, seed=0)
    layer = model["pool2"]
    layer.backward = _FailOnCall(layer.backward, when=3, value=np.inf)  # instance attribute: this layer only
    trainer = Trainer(model, data, val, TrainConfig(epochs=1, **FIXED))  # 64 images: 4 steps of 16
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(**QUIET)
    err = info.value
    assert (err.step, err.phase, err.layer) == (3, "backward", "pool2")
    # what the guard caught: a weight gradient below pool2
    assert err.quantity.startswith("the gradient conv")
    assert trainer.optimizer.steps == 2 and all(np.isfinite(v).all() for v in model.params.values())


def test_a_fault_in_a_forward_at_step_2_is_diagnosed_there(digits):
    train, val = digits
    data = Dataset(
        np.concatenate([train.images] * 2),
        np.concatenate([train.labels] * 2),
        train.classes,
        train.preprocessing,
    )
    model = an.AlexNet("mini", num_classes=10, seed=0)
    model["fc6"].forward = _FailOnCall(model["fc6"].forward, when=2, value=np.nan)
    trainer = Trainer(model, data, val, TrainConfig(epochs=1, **FIXED))
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(**QUIET)
    err = info.value
    assert (err.step, err.phase, err.layer, err.quantity) == (2, "forward", "fc6", "loss")
    assert "its input and parameters were finite" in err.detail


def test_the_cli_says_where_a_run_diverged_in_one_line(tmp_path, capsys):
    from alexnet_np.tools.cli import main

    with warnings.catch_warnings():
        # no NumPy overflow warnings before the one line: the diagnosis says it
        warnings.simplefilter("error")
        code = main(["train", "--lr", "1e30", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "diverged at step" in err and "first non-finite value in the" in err and "at layer" in err


def test_the_cli_overfits_one_batch(capsys):
    from alexnet_np.tools.cli import main

    code = main(["train", "--overfit-batch", "--batch-size", "8", "--steps", "40", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "pass: the loss on the batch fell from" in out and "ln 10 = 2.3026" in out
    assert main(["train", "--steps", "3"]) == 2


def test_sequential_hooks_see_each_layer_once_per_pass_and_are_removed_after_the_block():
    model = an.Sequential(an.Linear(3, 4, rng=0), an.ReLU(), an.Linear(4, 2, rng=1))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    seen = []

    def forward(name, layer, inp, out):
        seen.append(("forward", name, inp.shape, out.shape, layer is model[name]))

    def backward(name, layer, dout, dx):
        seen.append(("backward", name, dout.shape, None if dx is None else dx.shape, layer is model[name]))

    with model.hooks(forward=forward, backward=backward):
        y = model.forward(x)
        model.backward(np.ones_like(y), input_grad=False)
    assert seen == [
        ("forward", "0", (5, 3), (5, 4), True),
        ("forward", "1", (5, 4), (5, 4), True),
        ("forward", "2", (5, 4), (5, 2), True),
        ("backward", "2", (5, 2), (5, 4), True),
        ("backward", "1", (5, 4), (5, 4), True),
        ("backward", "0", (5, 4), None, True),  # the first layer with input_grad=False passes nothing on
    ]
    seen.clear()
    model.backward(np.ones_like(model.forward(x)))
    assert seen == []


def test_the_monitor_runs_the_models_own_loop():
    """StepMonitor is a pair of hooks: the model's checks apply to a monitored pass (its dtype message names the
    model, not a layer), and its output is the model's."""
    model = an.Sequential(an.Linear(3, 4, rng=0), an.ReLU(), an.Linear(4, 2, rng=1))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    monitor = StepMonitor(model)
    with pytest.raises(TypeError, match=r"model\.astype"):
        monitor.forward(x.astype(np.float64))
    y = monitor.forward(x)
    np.testing.assert_array_equal(y, model.forward(x, train=True))
    assert monitor.backward(np.ones_like(y)) is None and model._hooks == {"forward": [], "backward": []}
