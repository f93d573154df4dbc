"""predict and convert-weights on real files, against PyTorch, and the inputs that try to break them."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import alexnet_np as an
from alexnet_np.tools.cli import main
from alexnet_np.tools.inference import imagenet_classes, load_image_for, load_weights, predict_files


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def torchvision_alexnet():
    """torchvision's AlexNet layout, written with plain torch.nn (torchvision itself does not import here)."""
    torch.manual_seed(0)
    m = nn.Module()
    m.features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
    )
    m.avgpool = nn.AdaptiveAvgPool2d((6, 6))
    m.classifier = nn.Sequential(
        nn.Dropout(),
        nn.Linear(9216, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Linear(4096, 1000),
    )
    with torch.no_grad():
        m.classifier[6].weight.mul_(40.0)  # spread the logits so the top-5 order is well separated
    m.forward = lambda x: m.classifier(torch.flatten(m.avgpool(m.features(x)), 1))
    return m.eval()


def make_photo(path, size=(300, 240), seed=0, mode="RGB"):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([np.sin(xx / 17.0 + c) * np.cos(yy / 23.0 - c) for c in range(3)], axis=-1)
    img = ((base + 1) * 110 + rng.integers(0, 30, base.shape)).clip(0, 255).astype(np.uint8)
    Image.fromarray(img).convert(mode).save(path)
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    tmodel = torchvision_alexnet()
    torch.save(tmodel.state_dict(), d / "tv.pth")
    assert main(["convert-weights", str(d / "tv.pth"), str(d / "tv.npz")]) == 0
    return d, tmodel


def test_imagenet_class_names():
    names = imagenet_classes()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names[:3] == ["tench", "goldfish", "great white shark"] and names[999] == "toilet tissue"
    assert (names[134], names[517]) == ("crane bird", "crane")
    assert (names[638], names[639]) == ("maillot", "maillot tank suit")
    assert names[285] == "Egyptian cat" and names[409] == "analog clock"


@pytest.mark.slow
def test_predict_matches_torch_top5_and_probabilities(converted, tmp_path, capsys):
    d, tmodel = converted
    photos = [make_photo(tmp_path / f"p{i}.png", seed=i) for i in range(3)]
    model = load_weights(d / "tv.npz")
    assert model.variant == "torchvision" and model.num_classes == 1000
    ours = predict_files(model, photos, topk=5)
    x = np.stack([load_image_for(model, p) for p in photos])
    with torch.no_grad():
        probs = torch.softmax(tmodel(torch.from_numpy(x)), dim=1).numpy()
    for row, top in zip(probs, ours):
        ref = np.argsort(-row)[:6]
        # gaps of at least 0.1% of the top probability: an order float32 rounding (~1e-6 relative) cannot flip
        assert np.all(-np.diff(row[ref]) > 1e-3 * row[ref[0]])
        assert [i for i, _, _ in top] == list(ref[:5])
        np.testing.assert_allclose([p for _, _, p in top], row[ref[:5]], rtol=1e-4, atol=1e-6)
    code, out, _ = run(capsys, "predict", *photos, "--weights", d / "tv.npz", "--topk", "3")
    assert code == 0 and out.count("1. ") == 3 and imagenet_classes()[ours[0][0][0]] in out


def test_convert_back_to_torch_round_trips(converted, tmp_path, capsys):
    d, tmodel = converted
    code, out, _ = run(capsys, "convert-weights", d / "tv.npz", tmp_path / "back.pth")
    assert code == 0 and "61,100,840 parameters" in out
    back = torch.load(tmp_path / "back.pth", weights_only=True)
    for k, v in tmodel.state_dict().items():
        assert torch.equal(back[k], v), k


def test_images_that_are_converted_not_refused(converted, tmp_path):
    d, _ = converted
    model = load_weights(d / "tv.npz")
    rgb = make_photo(tmp_path / "rgb.png")
    gray = make_photo(tmp_path / "gray.png", mode="L")
    rgba = make_photo(tmp_path / "rgba.png", mode="RGBA")
    sixteen = tmp_path / "deep.png"
    Image.fromarray(np.asarray(Image.open(gray), np.uint16) * 257).save(sixteen)
    misnamed = tmp_path / "actually_png.jpg"
    misnamed.write_bytes(rgb.read_bytes())
    x_rgb, x_gray = load_image_for(model, rgb), load_image_for(model, gray)
    np.testing.assert_array_equal(load_image_for(model, rgba), x_rgb)  # alpha dropped
    np.testing.assert_array_equal(load_image_for(model, misnamed), x_rgb)  # decoded by content
    assert np.allclose(x_gray[0] * 0.229, x_gray[1] * 0.224, atol=0.05)  # grey: equal RGB before normalising
    np.testing.assert_allclose(load_image_for(model, sixteen), x_gray, atol=0.02)  # 16-bit scaled to 8
    assert len(predict_files(model, [gray, rgba, sixteen, misnamed])) == 4


def _truncate(src, dst, frac=0.5):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * frac)])
    return dst


@pytest.mark.slow
def test_bad_images_give_one_line_and_exit_2(converted, tmp_path, capsys):
    d, _ = converted
    good = make_photo(tmp_path / "good.jpg")
    png = make_photo(tmp_path / "good.png")
    cases = {
        "text file": (tmp_path / "notes.jpg", "cannot read image"),
        "truncated jpeg": (_truncate(good, tmp_path / "cut.jpg"), "cannot read image"),
        "truncated png": (_truncate(png, tmp_path / "cut.png"), "cannot read image"),
        "1x1": (tmp_path / "tiny.png", "need at least 8"),
        "huge": (tmp_path / "huge.png", "more than the limit"),
        "missing": (tmp_path / "nope.png", "cannot read image"),
        "empty": (tmp_path / "empty.png", "cannot read image"),
    }
    (tmp_path / "notes.jpg").write_text("hello")
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny.png")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 MP: refused from the header
    (tmp_path / "empty.png").write_bytes(b"")
    for name, (path, match) in cases.items():
        code, out, err = run(capsys, "predict", path, "--weights", d / "tv.npz")
        assert code == 2, name
        assert match in err and len(err.strip().splitlines()) == 1, (name, err)
        assert "Traceback" not in err


@pytest.mark.slow
def test_bad_weight_files(converted, tmp_path, capsys):
    d, _ = converted
    photo = make_photo(tmp_path / "p.png")
    tv = an.AlexNet("torchvision", num_classes=1000)
    state = tv.state_dict()
    files = {}
    files["truncated"] = _truncate(d / "tv.npz", tmp_path / "truncated.npz", 0.3)
    missing = dict(state)
    missing.pop("conv3.bias")
    extra = dict(state)
    extra["conv9.weight"] = np.zeros(3, np.float32)
    shapes = dict(state)
    shapes["fc7.weight"] = np.zeros((4096, 100), np.float32)
    dtype = {k: v.astype(np.float16) for k, v in state.items()}
    for name, arrays in {"missing": missing, "extra": extra, "shapes": shapes, "dtype": dtype}.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        files[name] = tmp_path / f"{name}.npz"
    np.savez(tmp_path / "pickle.npz", **{"fc8.weight": np.array([object()], dtype=object)})
    files["pickle"] = tmp_path / "pickle.npz"
    an.AlexNet("single_tower", num_classes=1000).save(tmp_path / "other_variant.npz")
    expect = {
        "truncated": "not a readable .npz",
        "missing": "missing keys: ['conv3.bias']",
        "extra": "unexpected keys: ['conv9.weight']",
        "shapes": "fc7.weight: expected shape (4096, 4096)",
        "dtype": "expected dtype float32",
        "pickle": "pickled objects",
        "other_variant": "holds weights for variant 'single_tower'",
    }
    files["other_variant"] = tmp_path / "other_variant.npz"
    for name, path in files.items():
        code, _, err = run(capsys, "predict", photo, "--weights", path, "--variant", "torchvision")
        assert code == 2 and expect[name] in err and len(err.strip().splitlines()) == 1, (name, err)


@pytest.mark.slow
def test_bad_pth_files_and_atomic_conversion(converted, tmp_path, capsys, monkeypatch):
    d, tmodel = converted
    torch.save([1, 2, 3], tmp_path / "list.pth")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    _truncate(d / "tv.pth", tmp_path / "cut.pth", 0.5)
    (tmp_path / "garbage.pth").write_bytes(b"not a zip, not a pickle")
    sd = tmodel.state_dict()
    torch.save({k: v.double() for k, v in sd.items()}, tmp_path / "f64.pth")
    torch.save({k: v for k, v in sd.items() if k != "features.0.bias"}, tmp_path / "missing.pth")
    cases = {
        "list.pth": "not a state dict",
        "tensor.pth": "not a state dict",
        "cut.pth": "not a readable PyTorch",
        "garbage.pth": "not a readable PyTorch",
        "f64.pth": "expected float32 tensors",
        "missing.pth": "missing keys: ['conv1.bias']",
    }
    for name, match in cases.items():
        dst = tmp_path / f"{name}.npz"
        code, _, err = run(capsys, "convert-weights", tmp_path / name, dst)
        assert code == 2 and match in err, (name, err)
        assert not dst.exists()
    code, _, err = run(
        capsys, "convert-weights", d / "tv.pth", tmp_path / "x.npz", "--variant", "single_tower"
    )
    assert code == 2 and "does not fit AlexNet('single_tower')" in err
    # an interrupted write leaves the previous file as it was, and no temporary file behind
    target = tmp_path / "keep.pth"
    target.write_bytes(b"previous contents")

    def broken_save(obj, f, *a, **k):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    code, _, err = run(capsys, "convert-weights", d / "tv.npz", target)
    assert code == 2 and "keep.pth exists: refusing to replace it (--force replaces it)" in err
    code, _, err = run(capsys, "convert-weights", d / "tv.npz", target, "--force")
    assert code == 2 and err.count("\n") == 1 and "disk full" in err  # one line, no traceback
    assert target.read_bytes() == b"previous contents"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_non_finite_input_propagates(backend):
    """The documented choice: NaN and inf are propagated (as in PyTorch), never silently replaced."""
    model = an.AlexNet("mini", num_classes=10, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 31, 31)).astype(np.float32)
    x[0, 1, 5, 5] = np.nan
    y = model.forward(x)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    x[0, 1, 5, 5] = np.inf
    with np.errstate(invalid="ignore"):  # inf − inf inside LRN is the NaN being propagated
        assert not np.isfinite(model.forward(x)[0]).all()


def test_model_accepts_views_and_rejects_bad_arrays():
    model = an.AlexNet("mini", num_classes=10, seed=0)
    rng = np.random.default_rng(1)
    base = rng.standard_normal((4, 31, 31, 3)).astype(np.float32)
    view = base.transpose(0, 3, 1, 2)  # NHWC memory seen as NCHW: not contiguous
    np.testing.assert_allclose(
        model.forward(view), model.forward(np.ascontiguousarray(view)), rtol=1e-5, atol=1e-6
    )
    sliced = rng.standard_normal((4, 6, 31, 31)).astype(np.float32)[:, ::2]
    np.testing.assert_allclose(
        model.forward(sliced), model.forward(np.ascontiguousarray(sliced)), rtol=1e-5, atol=1e-6
    )
    for bad, exc in [
        (np.zeros((3, 31, 31), np.float32), ValueError),
        (np.zeros((1, 1, 31, 31), np.float32), ValueError),
        (np.zeros((1, 3, 31, 31), np.int64), TypeError),
        (np.zeros((1, 3, 31, 31), np.float64), TypeError),
    ]:
        with pytest.raises(exc, match="AlexNet|expects|dtype"):
            model.forward(bad)


DETERMINISM = """
import hashlib, numpy as np, alexnet_np as an
from alexnet_np.training.data import load_digits_data
from alexnet_np.training.experiments import subset
from alexnet_np.training.train import TrainConfig, Trainer
train, val = load_digits_data(seed=3)
config = TrainConfig(epochs=2, batch_size=16, seed=3)
t = Trainer(an.AlexNet("mini", num_classes=10, seed=3), subset(train, 96), subset(val, 32), config)
h = t.fit(progress=False, log=None)
m = t.model
x = np.random.default_rng(0).standard_normal((2, 3, 31, 31)).astype(np.float32)
loss = an.CrossEntropyLoss(); loss.forward(m.forward(x, train=True), np.array([1, 2])); dx = m.backward(loss.backward())
digest = hashlib.sha256()
arrays = [np.array([r["train_loss"] for r in h]), dx]
arrays += [m.params[k] for k in sorted(m.params)] + [m.grads[k] for k in sorted(m.grads)]
for a in arrays:
    digest.update(np.ascontiguousarray(a).tobytes())
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_same_seed_is_bit_identical_across_processes_and_thread_counts():
    """Two processes, one with 1 Numba thread and one with 2: the kernels only split work whose
    writes do not overlap, so the thread count must not change a single bit."""
    import os

    runs = [
        subprocess.run(
            [sys.executable, "-c", DETERMINISM],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, NUMBA_NUM_THREADS=n),
        ).stdout.strip()
        for n in ("1", "2")
    ]
    assert len(runs[0]) == 64 and runs[0] == runs[1]
