"""Training: the optimizer against PyTorch, schedules, augmentation, data loading, checkpoints and resume."""

import numpy as np
import pytest
import torch

import alexnet_np as an
from alexnet_np.training.augment import (
    PCAColorNoise,
    center_crop_nchw,
    predict_ten_crop,
    random_crop,
    random_flip,
    ten_crops,
)
from alexnet_np.training.data import (
    SAMPLE_IMAGES,
    DataError,
    Dataset,
    load_digits_data,
    load_image_folder,
    read_image,
    sample_image,
)
from alexnet_np.training.optim import SGD, ReduceOnPlateau, StepLR
from alexnet_np.training.train import TrainConfig, Trainer, evaluate, model_from_checkpoint

# ---- optimizer ------------------------------------------------------------------------------


def _quadratic_grads(params, targets):
    return {k: (params[k] - targets[k]) * 0.7 for k in params}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_equals_torch_at_constant_lr(dtype):
    """Paper form (v includes ε) == torch.optim.SGD (buffer without ε) while ε is constant: v = −ε·b."""
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((4, 3)).astype(dtype), "b": rng.standard_normal(3).astype(dtype)}
    targets = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    ours = SGD(params, grads, lr=0.05, momentum=0.9, weight_decay=5e-4)
    tparams = [torch.tensor(params[k].copy(), requires_grad=True) for k in ("w", "b")]
    topt = torch.optim.SGD(tparams, lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(20):
        for k, g in _quadratic_grads(params, targets).items():
            grads[k][...] = g
        ours.step()
        topt.zero_grad()
        for t, k in zip(tparams, ("w", "b")):
            t.grad = (t.detach() - torch.tensor(targets[k])) * 0.7
        topt.step()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for t, k in zip(tparams, ("w", "b")):
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=tol, atol=tol)
        # the mapping between the two momentum buffers
        np.testing.assert_allclose(
            ours.velocity[k], -0.05 * topt.state[t]["momentum_buffer"].numpy(), rtol=tol, atol=tol
        )


def test_paper_and_pytorch_forms_part_after_a_schedule_step():
    rng = np.random.default_rng(1)
    start = rng.standard_normal(5)
    runs = {}
    for form in ("paper", "pytorch"):
        p = {"w": start.copy()}
        g = {"w": np.zeros(5)}
        opt = SGD(p, g, lr=0.1, momentum=0.9, weight_decay=0.0, convention=form)
        trace = []
        for step in range(6):
            if step == 3:
                opt.lr = 0.01  # a schedule divides ε by 10
            g["w"][...] = p["w"]  # gradient of ½‖w‖²
            opt.step()
            trace.append(p["w"].copy())
        runs[form] = np.array(trace)
    np.testing.assert_allclose(runs["paper"][:3], runs["pytorch"][:3], rtol=1e-12)  # identical before
    assert not np.allclose(runs["paper"][3], runs["pytorch"][3])  # different after
    # the paper's velocity still carries the old ε: its first step after the change is larger
    step_paper = np.abs(runs["paper"][3] - runs["paper"][2]).sum()
    step_torch = np.abs(runs["pytorch"][3] - runs["pytorch"][2]).sum()
    assert step_paper > step_torch


def test_sgd_validates_and_round_trips_state():
    p, g = {"w": np.ones(3)}, {"w": np.ones(3)}
    with pytest.raises(ValueError):
        SGD(p, {"v": np.ones(3)})
    with pytest.raises(ValueError):
        SGD(p, g, lr=0)
    a = SGD(p, g, lr=0.1)
    a.step()
    b = SGD({"w": np.ones(3)}, g, lr=0.5)
    b.load_state_dict(a.state_dict())
    assert b.lr == 0.1 and b.steps == 1
    np.testing.assert_array_equal(b.velocity["w"], a.velocity["w"])


def test_schedules():
    opt = SGD({"w": np.ones(1)}, {"w": np.ones(1)}, lr=1.0)
    step = StepLR(opt, step_size=2)
    lrs = []
    for _ in range(5):
        step.step()
        lrs.append(opt.lr)
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])
    opt.lr = 1.0
    plateau = ReduceOnPlateau(opt, patience=1, max_reductions=2)
    for err in [0.5, 0.4, 0.4, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]:
        plateau.step(err)
    assert plateau.reductions == 2 and opt.lr == pytest.approx(0.01)


# ---- augmentation -----------------------------------------------------------------------------


def test_augmentation_shapes_and_determinism():
    x = np.random.default_rng(0).standard_normal((5, 3, 12, 10)).astype(np.float32)
    a = random_crop(x, 8, np.random.default_rng(1))
    b = random_crop(x, 8, np.random.default_rng(1))
    assert a.shape == (5, 3, 8, 8) and np.array_equal(a, b)
    assert not np.array_equal(a, random_crop(x, 8, np.random.default_rng(2)))
    f = random_flip(x, np.random.default_rng(3), p=1.0)
    np.testing.assert_array_equal(f, x[..., ::-1])
    assert np.array_equal(random_flip(x, np.random.default_rng(3), p=0.0), x)
    crops = ten_crops(x, 8)
    assert crops.shape == (10, 5, 3, 8, 8)
    np.testing.assert_array_equal(crops[0], x[:, :, :8, :8])
    np.testing.assert_array_equal(crops[4], center_crop_nchw(x, 8))
    np.testing.assert_array_equal(crops[9], crops[4][..., ::-1])
    with pytest.raises(ValueError, match="cannot crop"):
        random_crop(x, 11, np.random.default_rng(0))


def test_pca_noise_statistics():
    rng = np.random.default_rng(0)
    mix = np.array([[1.0, 0.5, 0.2], [0.0, 1.0, 0.3], [0.0, 0.0, 0.4]])
    pixels = rng.standard_normal((4000, 3)) @ mix  # correlated RGB
    images = pixels.reshape(40, 10, 10, 3).transpose(0, 3, 1, 2)
    pca = PCAColorNoise(std=0.1).fit(images)
    cov = np.cov(pixels, rowvar=False)
    np.testing.assert_allclose(
        pca.eigenvectors @ np.diag(pca.eigenvalues) @ pca.eigenvectors.T, cov, atol=1e-10
    )
    assert np.all(np.diff(pca.eigenvalues) <= 0)
    base = np.zeros((20000, 3, 1, 1))
    shifts = pca(base, np.random.default_rng(1))[:, :, 0, 0]
    # shift = P·(α ⊙ λ), α ~ N(0, 0.1²): mean 0, covariance P·diag(0.01·λ²)·Pᵀ, the same shift on every pixel
    expected = pca.eigenvectors @ np.diag(0.01 * pca.eigenvalues**2) @ pca.eigenvectors.T
    np.testing.assert_allclose(np.cov(shifts, rowvar=False), expected, rtol=0.05, atol=1e-4)
    assert np.abs(shifts.mean(axis=0)).max() < 0.01
    one = pca(np.zeros((1, 3, 4, 4)), np.random.default_rng(2))
    assert np.ptp(one[0, 0]) == 0  # constant over the image
    np.testing.assert_array_equal(
        pca(base[:5], np.random.default_rng(7)), pca(base[:5], np.random.default_rng(7))
    )


def test_ten_crop_prediction_is_a_probability():
    model = an.AlexNet("mini", num_classes=4, seed=0)
    x = np.random.default_rng(0).standard_normal((3, 3, 35, 35)).astype(np.float32)
    probs = predict_ten_crop(model, x)
    assert probs.shape == (3, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


# ---- data -------------------------------------------------------------------------------------


def test_digits_data():
    train, val = load_digits_data(seed=0)
    assert train.images.shape[1:] == (3, 35, 35) and train.images.dtype == np.float32
    assert len(train) + len(val) == 1797 and abs(len(val) - 0.2 * 1797) < 10
    assert set(np.unique(val.labels)) == set(range(10))
    # normalised with the training split's own statistics: mean 0 and std 1 per channel (in float64 sums)
    np.testing.assert_allclose(train.images.mean(axis=(0, 2, 3), dtype=np.float64), 0, atol=1e-6)
    np.testing.assert_allclose(train.images.std(axis=(0, 2, 3), dtype=np.float64), 1, rtol=1e-5)
    prep = train.preprocessing
    assert (prep.input_size, prep.resize, prep.grey, train.mirror_invariant) == (31, 35, True, False)
    again, _ = load_digits_data(seed=0)
    np.testing.assert_array_equal(again.labels, train.labels)


def _write_image(path, array, mode=None, fmt=None):
    from PIL import Image

    Image.fromarray(array, mode=mode).save(path, format=fmt)


def test_image_folder_reads_every_kind_of_image(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            _write_image(tmp_path / cls / f"{i}.jpg", rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    _write_image(tmp_path / "cats" / "gray.png", rng.integers(0, 255, (50, 50), dtype=np.uint8))
    _write_image(tmp_path / "dogs" / "rgba.png", rng.integers(0, 255, (50, 50, 4), dtype=np.uint8))
    _write_image(tmp_path / "dogs" / "deep.png", rng.integers(0, 65535, (50, 50), dtype=np.uint16))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image, and not picked up: wrong extension")
    train, val = load_image_folder(str(tmp_path), size=28, resize=32, val_fraction=0.25, seed=0)
    assert train.classes == ["cats", "dogs"]
    assert len(train) + len(val) == 9 and train.images.shape[1:] == (3, 32, 32)
    assert read_image(tmp_path / "dogs" / "deep.png").dtype == np.uint8


def _two_classes(root, empty):
    """ROOT with two class folders; every one but ``empty`` holds one image."""
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        if name != empty:
            _write_image(root / name / "0.png", np.zeros((40, 40, 3), np.uint8))


@pytest.mark.parametrize(
    "setup,match",
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.mkdir(), "has 0 class sub-folder"),
        (lambda root: _two_classes(root, "a"), "has no images"),
        (lambda root: (root / "a").mkdir(parents=True), "has 1 class sub-folder.*at least two"),
        (
            lambda root: (_two_classes(root, "a"), (root / "a" / "x.jpg").write_bytes(b"not a jpeg")),
            "cannot read image",
        ),
    ],
)
def test_image_folder_errors(tmp_path, setup, match):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DataError, match=match):
        load_image_folder(str(root))


def test_truncated_and_tiny_images(tmp_path):
    _two_classes(tmp_path, "a")
    good = tmp_path / "a" / "good.png"
    _write_image(good, np.zeros((40, 40, 3), np.uint8))
    data = good.read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cut.png"):
        load_image_folder(str(tmp_path))
    (tmp_path / "a" / "cut.png").unlink()
    _write_image(tmp_path / "a" / "tiny.png", np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(DataError, match="smaller than"):
        load_image_folder(str(tmp_path))


# ---- training and checkpoints ---------------------------------------------------------------------


def _small_digits(n_train=160, n_val=60):
    train, val = load_digits_data(seed=0)
    return (
        Dataset(train.images[:n_train], train.labels[:n_train], train.classes, train.preprocessing, False),
        Dataset(val.images[:n_val], val.labels[:n_val], val.classes, val.preprocessing, False),
    )


@pytest.mark.slow
def test_resume_equals_an_uninterrupted_run(tmp_path):
    train, val = _small_digits()
    config = TrainConfig(epochs=3, batch_size=32, seed=5, schedule="plateau", patience=0)

    full = Trainer(an.AlexNet("mini", num_classes=10, seed=5), train, val, config)
    full.fit(progress=False, log=None)

    first = Trainer(
        an.AlexNet("mini", num_classes=10, seed=5),
        train,
        val,
        TrainConfig(**{**config.__dict__, "epochs": 1}),
    )
    first.fit(checkpoint=tmp_path / "ck.npz", progress=False, log=None)
    resumed = Trainer(
        an.AlexNet("mini", num_classes=10, seed=99), train, val, config
    )  # other seed: all state comes from the file
    resumed.load_checkpoint(tmp_path / "ck.npz")
    assert resumed.epoch == 1
    resumed.fit(progress=False, log=None)

    for k in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[k], full.model.params[k])
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in full.history]
    assert resumed.optimizer.lr == full.optimizer.lr


@pytest.mark.slow
def test_checkpoint_round_trip_and_evaluate(tmp_path):
    train, val = _small_digits()
    t = Trainer(an.AlexNet("mini", num_classes=10, seed=1), train, val, TrainConfig(epochs=1, seed=1))
    t.fit(checkpoint=tmp_path / "ck.npz", progress=False, log=None)
    model, meta = model_from_checkpoint(tmp_path / "ck.npz")
    assert meta["epoch"] == 1 and meta["classes"] == [str(d) for d in range(10)]
    assert evaluate(model, val) == evaluate(t.model, val)
    wrong = Trainer(an.AlexNet("mini", num_classes=10, activation="tanh"), train, val, TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="checkpoint is for model"):
        wrong.load_checkpoint(tmp_path / "ck.npz")


@pytest.mark.slow
def test_mini_learns_digits_quickly():
    train, val = _small_digits(n_train=600, n_val=200)
    t = Trainer(
        an.AlexNet("mini", num_classes=10, seed=0),
        train,
        val,
        TrainConfig(epochs=4, batch_size=32, flip=False),
    )
    history = t.fit(progress=False, log=None)
    assert history[-1]["val_top1"] > 0.5  # chance is 0.1
    assert history[-1]["train_loss"] < history[0]["train_loss"]


@pytest.mark.slow
def test_single_tower_overfits_one_batch_of_photographs():
    """The classic sanity check: the full network drives the loss on a fixed batch of 8 below 10% of its start."""
    model = an.AlexNet("single_tower", num_classes=10, seed=0)
    imgs = [model.preprocessing(sample_image(n)) for n in SAMPLE_IMAGES]
    x = np.ascontiguousarray(np.stack(imgs + [i[:, :, ::-1] for i in imgs[:2]]), dtype=np.float32)
    y = np.arange(8)
    opt = SGD(
        model.params, model.grads, lr=0.001, momentum=0.9, weight_decay=5e-4
    )  # 24–27 steps for seeds 0, 1
    loss_fn = an.CrossEntropyLoss()
    losses = []
    for _ in range(50):
        losses.append(loss_fn.forward(model.forward(x, train=True), y))
        model.backward(loss_fn.backward())
        opt.step()
        if losses[-1] < 0.1 * losses[0]:
            break
    assert losses[-1] < 0.1 * losses[0], losses[::5]
    assert all(np.isfinite(losses))
