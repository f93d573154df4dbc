"""Reliability: default input scaling, the preprocessing record, resume checks, bounded batches, divergence."""

import numpy as np
import pytest
from PIL import Image

import alexnet_np as an
from alexnet_np.training.data import SAMPLE_IMAGES, load_digits_data, load_image_folder, sample_image
from alexnet_np.training.experiments import subset
from alexnet_np.training.train import TrainConfig, Trainer, TrainingDiverged, mini_batches


def _photo_folder(root, per_class=6):
    """Two classes of the bundled photographs (random crops of them), as JPEG files."""
    rng = np.random.default_rng(0)
    for label, names in (
        ("animals", ("chelsea", "coffee", "astronaut")),
        ("things", ("rocket", "china", "flower")),
    ):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = sample_image(names[i % 3])
            t, l = rng.integers(0, img.shape[0] - 200), rng.integers(0, img.shape[1] - 200)
            Image.fromarray(img[t : t + 200, l : l + 200]).save(root / label / f"{i}.jpg")
    return root


@pytest.mark.slow
def test_default_scaling_trains_photos_without_diverging(tmp_path):
    """Folder training at the defaults (lr 0.01, Kaiming, the data's own normalisation): its first epoch's loss
    is finite and within ten times ln K (2.80 for K = 2 here, at one or two OpenBLAS threads). With
    0–255 pixels and only the mean subtracted it reached 7.6e7 and then NaN.

    Not asserted: that the loss then falls. On 10 images in batches of 4 the second epoch's loss depends on the
    last bits of the products: 1.93 with OpenBLAS on two threads, 3.88 on one (an AMD EPYC, 2026-12-07)."""
    train, val = load_image_folder(str(_photo_folder(tmp_path)), size=67, resize=76, seed=0)
    assert abs(float(train.images.mean(dtype=np.float64))) < 1e-5  # normalised with the training statistics
    model = an.AlexNet("single_tower", num_classes=2, input_size=67, seed=0)
    history = Trainer(model, train, val, TrainConfig(epochs=1, batch_size=4, seed=0)).fit(
        progress=False, log=None
    )
    loss = history[0]["train_loss"]
    assert np.isfinite(loss) and loss < 10 * np.log(2), loss


@pytest.mark.slow
def test_the_initial_loss_is_near_ln_k_at_the_defaults():
    """Kaiming's initialisation with its quiet last layer and the default preprocessing: within 20% of ln K."""
    for variant, k in (("single_tower", 1000), ("torchvision", 1000), ("mini", 10)):
        model = an.AlexNet(variant, num_classes=k, seed=0)
        x = np.stack([model.preprocessing(sample_image(n)) for n in SAMPLE_IMAGES])
        loss = an.CrossEntropyLoss().forward(model.forward(x), np.arange(len(x)) % k)
        assert abs(loss / np.log(k) - 1) < 0.2, (variant, loss, np.log(k))


@pytest.mark.slow
def test_a_model_file_carries_its_preprocessing_and_predict_uses_it(tmp_path):
    """A digits model predicts image files of digits exactly as evaluate scores the same digits: the model
    file records how its inputs were prepared (grey, 8 → 35 pixels, centre 31, the split's mean and std)."""
    from sklearn.datasets import load_digits

    from alexnet_np.tools.inference import predict_files
    from alexnet_np.training.data import stratified_split

    train, val = load_digits_data(seed=0)
    model = an.AlexNet("mini", num_classes=10, seed=0)
    Trainer(model, subset(train, 600), val, TrainConfig(epochs=2, seed=0)).fit(progress=False, log=None)
    model.save(tmp_path / "model.npz")
    loaded = an.AlexNet.from_file(tmp_path / "model.npz")
    assert loaded.preprocessing == train.preprocessing and loaded.classes == [str(d) for d in range(10)]

    digits = load_digits()
    _, val_idx = stratified_split(digits.target, 0.2, np.random.default_rng(0))  # the loader's split
    paths = []
    for i in val_idx[:40]:  # the raw 8×8 digits as a user has them: files of grey pixels
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray((digits.images[i] * 255 / 16).round().astype(np.uint8)).save(paths[-1])
    predicted = predict_files(loaded, paths, topk=10)
    probs = np.array([[p for _, _, p in sorted(top, key=lambda t: t[0])] for top in predicted])
    x = np.ascontiguousarray(val.images[:40, :, 2:33, 2:33])  # evaluate's centre crop of the same digits
    expected = an.layers.softmax(loaded.forward(x).astype(np.float64))
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_predict_runs_in_bounded_batches(tmp_path, monkeypatch):
    from alexnet_np.tools.inference import predict_files

    model = an.AlexNet("mini", num_classes=10, seed=0)
    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(path)
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, **kw: (seen.append(len(x)), forward(x, **kw))[1])
    assert len(predict_files(model, [path] * 70, topk=1, batch_size=32)) == 70
    assert seen == [32, 32, 6]


@pytest.mark.slow
def test_resuming_on_other_data_is_refused(tmp_path):
    train, val = load_digits_data(seed=0)
    small = subset(train, 100)
    trainer = Trainer(an.AlexNet("mini", num_classes=10, seed=0), small, val, TrainConfig(epochs=1, seed=0))
    trainer.fit(checkpoint=tmp_path / "ck.npz", progress=False, log=None)
    other_train, other_val = load_digits_data(seed=5)  # another seed: another split
    again = Trainer(
        an.AlexNet("mini", num_classes=10, seed=0), subset(other_train, 100), other_val, TrainConfig(seed=0)
    )
    with pytest.raises(ValueError, match="differ from the run being resumed"):
        again.load_checkpoint(tmp_path / "ck.npz")


def test_a_final_batch_of_one_joins_the_one_before():
    batches = mini_batches(np.arange(65), 32)
    assert [len(b) for b in batches] == [32, 33] and np.array_equal(np.concatenate(batches), np.arange(65))
    assert [len(b) for b in mini_batches(np.arange(66), 32)] == [32, 32, 2]
    assert [len(b) for b in mini_batches(np.arange(1), 32)] == [1]


@pytest.mark.slow
def test_seed_keras_trains_when_the_last_batch_would_hold_one_image():
    """BatchNorm cannot normalise a batch of one: the epoch used to die on it."""
    from alexnet_np.preprocessing import Preprocessing
    from alexnet_np.training.data import Dataset

    size = 215  # the smallest input the Keras listing's network accepts
    rng = np.random.default_rng(0)
    images = rng.standard_normal((9, 3, size, size)).astype(np.float32)
    data = Dataset(images, np.arange(9) % 2, ["a", "b"], Preprocessing(size, resize=size))
    model = an.AlexNet("seed_keras", num_classes=2, input_size=size, seed=0)
    history = Trainer(model, data, data, TrainConfig(epochs=1, batch_size=4, seed=0)).fit(
        progress=False, log=None
    )
    assert np.isfinite(history[0]["train_loss"])  # batches of 4, 4, 1 became 4, 5


def test_divergence_is_caught_before_the_update_and_names_the_step():
    train, val = load_digits_data(seed=0)
    model = an.AlexNet("mini", num_classes=10, seed=0)
    trainer = Trainer(model, subset(train, 64), val, TrainConfig(epochs=1, batch_size=32, lr=1e30, seed=0))
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit(progress=False, log=None)
    err = info.value
    assert err.step >= 1 and err.epoch == 1 and "diverged at step" in str(err)
    # the step that found a non-finite value did not update: every weight is still a finite number
    assert all(np.isfinite(v).all() for v in model.params.values())


def test_a_model_file_declaring_two_million_classes_is_refused_before_building(tmp_path):
    from alexnet_np.io import load_npz, save_npz_atomic

    an.AlexNet("mini", num_classes=10).save(tmp_path / "m.npz")
    arrays, meta = load_npz(tmp_path / "m.npz")
    meta["num_classes"] = 2_000_000
    save_npz_atomic(tmp_path / "evil.npz", arrays, meta)
    with pytest.raises(ValueError, match="declares num_classes=2000000 but fc8.weight has 10 rows"):
        an.AlexNet.from_file(tmp_path / "evil.npz")
    meta["num_classes"], meta["input_size"] = 10, [100000, 100000]
    save_npz_atomic(tmp_path / "evil.npz", arrays, meta)
    with pytest.raises(ValueError, match="input_size"):
        an.AlexNet.from_file(tmp_path / "evil.npz")


def test_predict_on_a_checkpoint_names_the_model_file(tmp_path):
    from alexnet_np.tools.inference import load_weights

    train, val = load_digits_data(seed=0)
    trainer = Trainer(
        an.AlexNet("mini", num_classes=10, seed=0), subset(train, 40), val, TrainConfig(epochs=1)
    )
    trainer.fit(checkpoint=tmp_path / "checkpoint.npz", progress=False, log=None)
    with pytest.raises(ValueError, match="is a training checkpoint.*model.npz"):
        load_weights(tmp_path / "checkpoint.npz")


def test_atomic_writes_with_long_names_usual_permissions_and_stale_temporaries(tmp_path):
    import os

    from alexnet_np.io import TEMP_PREFIX, atomic_write, remove_stale_temporaries

    long_name = tmp_path / ("m" * 250 + ".npz")  # 254 bytes: valid, but not with a temporary prefix added
    atomic_write(long_name, lambda f: f.write(b"ok"))
    assert long_name.read_bytes() == b"ok"
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "mode", lambda f: f.write(b"x"))
    finally:
        os.umask(old)
    assert (tmp_path / "mode").stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    (tmp_path / f"{TEMP_PREFIX}abc").write_bytes(b"left by a killed writer")
    (tmp_path / ".tmp-someone-else").write_bytes(b"not ours")
    assert remove_stale_temporaries(tmp_path) == 1
    assert (tmp_path / ".tmp-someone-else").exists()
    with pytest.raises(ValueError, match="is a folder"):
        atomic_write(tmp_path, lambda f: f.write(b"x"))
