"""AlexNet: parameter counts, shapes without data, weights in and out, the whole-network check."""

import os
import zipfile

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.gradcheck import NETWORK_TOL, network_check

# ../shared/PAPER_FACTS.md, cross-checked there with PyTorch modules of the same shape.
PARAMS = {
    "single_tower": 62_378_344,
    "paper": 60_965_224,
    "torchvision": 61_100_840,
    "seed_keras": 28_056_616,
    "mini": 704_584,
}
MACS = {"single_tower": 1_135_256_096, "paper": 724_406_816, "torchvision": 714_188_480}
PER_LAYER = {  # (params, MACs) per layer: single tower | paper | torchvision
    "conv1": [(34_944, 105_415_200), (34_944, 105_415_200), (23_296, 70_276_800)],
    "conv2": [(614_656, 447_897_600), (307_456, 223_948_800), (307_392, 223_948_800)],
    "conv3": [(885_120, 149_520_384), (885_120, 149_520_384), (663_936, 112_140_288)],
    "conv4": [(1_327_488, 224_280_576), (663_936, 112_140_288), (884_992, 149_520_384)],
    "conv5": [(884_992, 149_520_384), (442_624, 74_760_192), (590_080, 99_680_256)],
    "fc6": [(37_752_832, 37_748_736)] * 3,
    "fc7": [(16_781_312, 16_777_216)] * 3,
    "fc8": [(4_097_000, 4_096_000)] * 3,
}
NAMES_LRN = (  # dropout on the outputs of fc6 and fc7, as the paper (section 4.2) and Caffe place it
    "conv1 relu1 lrn1 pool1 conv2 relu2 lrn2 pool2 conv3 relu3 conv4 relu4 conv5 relu5 pool5 "
    "flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8"
).split()


@pytest.fixture(scope="module")
def models():
    return {v: an.AlexNet(v) for v in an.VARIANTS}


@pytest.mark.parametrize("variant", an.VARIANTS)
def test_parameter_counts(variant, models):
    model = models[variant]
    assert model.num_params() == PARAMS[variant]
    assert model.summary().total_params == PARAMS[variant]
    # the count computed from the formula (k·k·c_in/groups + 1)·c_out, independently of num_params
    by_formula = 0
    for layer in model.layers.values():
        if isinstance(layer, an.Conv2d):
            kh, kw = layer.kernel_size
            by_formula += (kh * kw * layer.in_channels // layer.groups + 1) * layer.out_channels
        elif isinstance(layer, an.Linear):
            by_formula += (layer.in_features + 1) * layer.out_features
        elif isinstance(layer, (an.BatchNorm1d, an.BatchNorm2d)):
            by_formula += 2 * layer.num_features
    assert by_formula == PARAMS[variant]


def test_mini_variant():
    m = an.AlexNet("mini", num_classes=10)
    assert m.num_params() == 450_154 and m.input_size == (31, 31)
    s = m.summary()
    assert [s.row(n).output_shape[1] for n in ("conv1", "pool1", "pool2", "pool5")] == [31, 15, 7, 3]
    assert all("→" not in r.arithmetic for r in s.rows)  # every window fits exactly at 31
    assert list(m.layers) == NAMES_LRN
    assert an.AlexNet("mini").num_params() == 450_154 + 990 * (256 + 1)  # fc8 grows from 10 to 1000 outputs
    tanh = an.AlexNet("mini", num_classes=10, activation="tanh", pool=(2, 2))
    assert "tanh1" in tanh.layers and isinstance(tanh["tanh1"], an.Tanh)
    assert tanh.summary().row("pool1").output_shape == (24, 15, 15)


def test_seed_keras_buffers_are_not_parameters(models):
    m = models["seed_keras"]
    assert sum(b.size for b in m.buffers.values()) == 19_136
    assert not any("running" in k for k in m.params)
    assert len(m.state_dict()) == len(m.params) + len(m.buffers)


@pytest.mark.parametrize("variant,col", [("single_tower", 0), ("paper", 1), ("torchvision", 2)])
def test_per_layer_params_and_macs(variant, col, models):
    s = models[variant].summary()
    for name, figures in PER_LAYER.items():
        row = s.row(name)
        assert (row.params, row.macs) == figures[col], name
    assert s.total_macs == MACS[variant]


def test_layer_names_and_order(models):
    assert list(models["single_tower"].layers) == NAMES_LRN
    assert list(models["paper"].layers) == NAMES_LRN
    tv = [n for n in NAMES_LRN[: NAMES_LRN.index("flatten")] if not n.startswith("lrn")]
    tv += "avgpool flatten drop6 fc6 relu6 drop7 fc7 relu7 fc8".split()  # torchvision drops fc6's inputs
    assert list(models["torchvision"].layers) == tv
    keras = list(models["seed_keras"].layers)
    assert keras[:4] == ["conv1", "relu1", "pool1", "bn1"] and keras[-1] == "fc8"
    assert [n for n in keras if n.startswith("bn")] == [f"bn{i}" for i in range(1, 8)]
    assert [models["paper"][f"conv{i}"].groups for i in range(1, 6)] == [1, 2, 1, 2, 2]


def test_input_size_224_and_lrn_off():
    m = an.AlexNet("single_tower", input_size=224)
    assert m.num_params() == 50_844_008
    s = m.summary()
    assert [s.row(n).output_shape[1] for n in ("conv1", "pool1", "pool2", "pool5")] == [54, 26, 12, 5]
    assert "54.25 → 54" in s.row("conv1").arithmetic
    no_lrn = an.AlexNet("single_tower", lrn=False)
    assert "lrn1" not in no_lrn.layers and no_lrn.num_params() == PARAMS["single_tower"]


def test_neuron_counts_fit_the_papers_650k(models):
    s = models["paper"].summary()
    neurons = [
        s.row(n).activations for n in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
    ]
    assert neurons == [290_400, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000]
    assert sum(neurons) == 659_272


@pytest.mark.parametrize("variant", an.VARIANTS)
def test_predicted_shapes_equal_the_real_forward(variant, models):
    model = models[variant]
    x = np.random.default_rng(0).standard_normal((2, 3, *model.input_size)).astype(np.float32)
    logits, acts = model.forward(x, train=False, return_activations=True)
    rows = model.summary().rows
    assert [r.name for r in rows] == list(acts)
    for r in rows:
        assert acts[r.name].shape == (2, *r.output_shape), r.name
    assert logits.shape == (2, 1000) and logits.dtype == np.float32


def test_wrong_and_too_small_inputs(models):
    m = models["single_tower"]
    with pytest.raises(ValueError, match=r"built for input_size=\(227, 227\).*got \(1, 3, 224, 224\)"):
        m.forward(np.zeros((1, 3, 224, 224), np.float32))
    with pytest.raises(TypeError, match="float32"):
        m.forward(np.zeros((1, 3, 227, 227), np.float64))
    with pytest.raises(ValueError, match="too small: layer pool5"):
        an.AlexNet("single_tower", input_size=64)
    with pytest.raises(ValueError, match="too small: layer conv1"):
        an.AlexNet("single_tower", input_size=8)
    for bad in [
        dict(variant="vgg"),
        dict(init="xavier"),
        dict(num_classes=0),
        dict(variant="seed_keras", lrn=True),
    ]:
        with pytest.raises(ValueError):
            an.AlexNet(**bad)


@pytest.mark.slow
def test_same_seed_same_model_and_masks():
    a, b, c = (an.AlexNet("torchvision", num_classes=10, seed=s) for s in (3, 3, 4))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["conv1.weight"], c.params["conv1.weight"])
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    np.testing.assert_array_equal(a.forward(x, train=True), b.forward(x, train=True))
    assert a.params["fc8.weight"] is a["fc8"].params["weight"]


def test_backward_without_the_input_gradient_gives_the_same_weight_gradients():
    m = an.AlexNet("mini", num_classes=10, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 31, 31)).astype(np.float32)
    loss = an.CrossEntropyLoss()
    loss.forward(m.forward(x, train=False), np.array([1, 2]))
    dx = m.backward(loss.backward())
    full = {k: g.copy() for k, g in m.grads.items()}
    loss.forward(m.forward(x, train=False), np.array([1, 2]))
    assert m.backward(loss.backward(), input_grad=False) is None
    for k, g in m.grads.items():
        np.testing.assert_array_equal(g, full[k])
    assert dx.shape == x.shape


def test_paper_init():
    m = an.AlexNet("single_tower", init="paper", num_classes=10, input_size=99)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"):
        w, b = m[name].params["weight"], m[name].params["bias"]
        assert abs(w.std() - 0.01) < 0.002 and abs(w.mean()) < 0.002, name
        expected = 1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
        assert np.all(b == expected), name


def test_astype_float64_copy(models):
    m64 = models["torchvision"].astype(np.float64)
    assert m64.dtype == np.float64 and m64.variant == "torchvision"
    assert all(v.dtype == np.float64 for v in m64.params.values())
    assert m64.params["fc6.weight"] is m64["fc6"].params["weight"]
    assert models["torchvision"].params["fc6.weight"].dtype == np.float32


def test_backward_after_eval_forward_gives_a_saliency_map(models):
    m = models["torchvision"]
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    loss = an.CrossEntropyLoss()
    loss.forward(m.forward(x, train=False), np.array([5]))
    dx = m.backward(loss.backward())
    assert dx.shape == x.shape and dx.dtype == np.float32 and np.abs(dx).max() > 0


def test_state_dict_round_trip_and_errors(tmp_path):
    a = an.AlexNet("seed_keras", num_classes=7, seed=1)
    a.buffers["bn3.running_mean"][:] = 0.5
    path = tmp_path / "w.npz"
    a.save(path)
    b = an.AlexNet("seed_keras", num_classes=7, seed=2)
    b.load(path)
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
    c = an.AlexNet.from_file(path)
    assert c.variant == "seed_keras" and c.num_classes == 7
    np.testing.assert_array_equal(c.params["fc8.weight"], a.params["fc8.weight"])
    # the wrong model
    with pytest.raises(ValueError, match="num_classes=7 in the file, 10 here"):
        an.AlexNet("seed_keras", num_classes=10).load(path)
    # every mismatch at once
    sd = a.state_dict()
    sd.pop("conv1.bias")
    sd["extra"] = np.zeros(1, np.float32)
    sd["fc8.weight"] = np.zeros((3, 4096), np.float32)
    sd["fc7.bias"] = sd["fc7.bias"].astype(np.float64)
    with pytest.raises(ValueError) as err:
        b.load_state_dict(sd)
    msg = str(err.value)
    for part in (
        "missing keys: ['conv1.bias']",
        "unexpected keys: ['extra']",
        "fc8.weight: expected shape (7, 4096)",
        "fc7.bias: expected dtype float32",
    ):
        assert part in msg
    np.testing.assert_array_equal(b.params["fc8.weight"], a.params["fc8.weight"])  # nothing loaded


@pytest.mark.slow
def test_saving_is_atomic_and_loading_refuses_pickles(tmp_path, monkeypatch):
    m = an.AlexNet("torchvision", num_classes=3, input_size=64)
    path = tmp_path / "w.npz"
    m.save(path)
    before = path.read_bytes()

    def failing_savez(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        an.AlexNet("torchvision", num_classes=3, input_size=64, seed=9).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temp file left behind

    truncated = tmp_path / "t.npz"
    truncated.write_bytes(before[: len(before) // 2])
    with pytest.raises(ValueError, match="not a readable .npz"):
        an.AlexNet.from_file(truncated)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, **{"conv1.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="pickled objects"):
        an.io.load_npz(pickled)
    with pytest.raises(ValueError, match="no such file"):
        an.io.load_npz(tmp_path / "missing.npz")
    assert zipfile.is_zipfile(path) and os.path.getsize(path) > 0


def test_layer_macs_formula():
    conv = an.Conv2d(96, 256, 5, padding=2, groups=2)
    assert conv.macs((1, 96, 27, 27)) == 256 * 27 * 27 * 48 * 25
    assert an.Linear(7, 5).macs((3, 7)) == 35
    assert an.ReLU().macs((1, 5)) == 0


@pytest.mark.slow
def test_whole_network_directional_gradient_check():
    """single_tower at batch 1 in float64: analytic vs central-difference directional derivatives."""
    results = network_check("single_tower", n_directions=3, seed=0)
    for analytic, numeric, err in results:
        assert err < NETWORK_TOL, (analytic, numeric, err)
        assert analytic != 0.0


def test_the_placement_of_dropout_does_not_change_a_seeds_weights():
    """The classifier is built in one order for both placements: same seed, same fc weights."""
    a = an.AlexNet("single_tower", seed=3)
    b = an.AlexNet("torchvision", seed=3)
    for name in ("fc7.weight", "fc8.weight"):
        np.testing.assert_array_equal(a.params[name], b.params[name])
