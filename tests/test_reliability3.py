"""Reliability, third round (issue 20): what a file or an argument may make us allocate, overwrite or trust.

Every test that would ask for a large allocation on a regression runs the command in a child process under
``resource.setrlimit(RLIMIT_AS)``: a regression fails there (MemoryError, a refusal missing) instead of
swapping the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.errors import BadFile

CAP = 1024 * 2**20  # virtual memory of a capped child: the interpreter, NumPy, Numba, and our work


def run_capped(*argv, cap=CAP, code=None):
    """``python -m alexnet_np ARGV`` (or ``python -c CODE``) with its address space capped at ``cap`` bytes."""
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(p for p in [os.path.abspath("src"), os.environ.get("PYTHONPATH")] if p),
    )

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "alexnet_np", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=limit, timeout=600)


def one_line_refusal(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


# ---- item 11: a summary needs no weights -------------------------------------------------------


def test_a_summary_of_a_giant_input_allocates_no_weights():
    """fc6 of the paper's network at 3×1200×1200 holds 1.3 billion weights (5.1 GiB in float32); the table
    is printed under a 1 GiB cap, with the parameter count the layer shapes give."""
    r = run_capped("summary", "--variant", "paper", "--input", "3x1200x1200", "--columns", "type,params")
    assert r.returncode == 0, r.stderr[-2000:]
    model = an.AlexNet.shapes_only("paper", input_size=1200)
    assert f"{model.num_params():,}" in r.stdout and model.num_params() > 1.3e9


@pytest.mark.parametrize("variant, size", [("seed_keras", 224), ("torchvision", 131), ("mini", 45)])
def test_the_shape_only_model_has_the_real_models_table(variant, size):
    real = an.AlexNet(variant, num_classes=7, input_size=size)
    plan = an.AlexNet.shapes_only(variant, num_classes=7, input_size=size)
    columns = list(real.summary().COLUMNS)
    shape = (4, 3, size, size)
    assert plan.summary(shape).table(columns) == real.summary(shape).table(columns)
    assert plan.construction_bytes() == real.construction_bytes()
    drawn = [p for p in plan.params.values() if p.ndim > 1]  # BatchNorm's γ, β are real (and small)
    assert drawn and not any(p.flags.writeable for p in drawn)  # never to be trained by mistake


# ---- item 6: the memory columns never overflow -------------------------------------------------


def test_summary_refuses_a_batch_its_figures_cannot_hold(capsys):
    from alexnet_np.tools.cli import main

    assert (
        main(["summary", "--variant", "torchvision", "--batch", str(10**15), "--columns", "train_mib"]) == 2
    )
    err = capsys.readouterr().err
    assert "int64" in err and "largest batch" in err and err.count("\n") == 1


def test_summary_figures_at_a_huge_batch_scale_exactly():
    """Below the limit, every layer's figure at batch B is B times its batch-1 figure (no wrap-around)."""
    model = an.AlexNet.shapes_only("mini", num_classes=10)
    big = 10**12
    one, many = model.summary((1, 3, 31, 31)), model.summary((big, 3, 31, 31))
    for a, b in zip(one.rows, many.rows):
        assert b.memory["kept"] == big * a.memory["kept"] and b.memory["kept"] >= 0
        assert b.memory["im2col"] == big * a.memory["im2col"]


# ---- items 8, 9, 10, 19: every loader checks declared sizes against one budget --------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved mini model and a small photograph."""
    from PIL import Image

    from alexnet_np.training.data import sample_image

    root = tmp_path_factory.mktemp("files")
    an.AlexNet("mini", num_classes=10).save(root / "mini.npz")
    Image.fromarray(sample_image("coffee")[::8, ::8]).save(root / "photo.jpg")
    return root


def rewritten(src, dst, meta=None, arrays=None):
    """A copy of the .npz ``src`` with its metadata and arrays changed by the given functions."""
    from alexnet_np.io import load_npz, save_npz_atomic

    a, m = load_npz(src)
    save_npz_atomic(dst, arrays(a) if arrays else a, meta(m) if meta else m)
    return str(dst)


def test_a_bare_state_dict_with_a_huge_fc8_is_refused_before_a_model_is_built(tmp_path, files):
    """fc8.weight declared (3,000,000, 0): a torchvision model with 3 million classes would be 49 GB."""
    path = tmp_path / "bare.npz"
    np.savez(path, **{"fc8.weight": np.zeros((3_000_000, 0), np.float32)})
    assert path.stat().st_size < 1000
    r = run_capped("predict", str(files / "photo.jpg"), "--weights", str(path), "--variant", "torchvision")
    one_line_refusal(r, str(path), "num_classes", "3000000")  # read off fc8.weight's declared shape


@pytest.mark.parametrize(
    "edit, words",
    [
        (dict(input_size=[3000, 3000]), ["fc6.weight", "8952064"]),  # fc6 of 2.3 billion weights
        (dict(num_classes=4_000_000), ["num_classes", "4000000"]),  # past AlexNet's limit on the classes
        (dict(input_size=[31, "31"]), ["input_size"]),
    ],
)
def test_a_model_file_declaring_sizes_is_refused_before_allocating(tmp_path, files, edit, words):
    def meta(m):
        return {**m, **edit}

    def arrays(a):  # keep fc8 consistent with num_classes, so only the model's size is wrong
        if "num_classes" in edit:
            a["fc8.weight"] = np.zeros((edit["num_classes"], 0), np.float32)
        return a

    path = rewritten(files / "mini.npz", tmp_path / "m.npz", meta, arrays)
    r = run_capped("predict", str(files / "photo.jpg"), "--weights", path)
    one_line_refusal(r, path, *words)


def test_a_description_whose_weights_exceed_the_budget_is_refused_before_allocating():
    config = dict(variant="mini", num_classes=10, input_size=[3000, 3000], lrn=True)
    with pytest.raises(
        BadFile, match=r"ckpt.npz: AlexNet\(.*2,29\d,\d{3},\d{3} parameters would take .* GiB"
    ):
        an.AlexNet.plan(config, where="ckpt.npz")
    with pytest.raises(BadFile, match="num_classes must be a positive integer, got True"):
        an.AlexNet.from_config({**config, "num_classes": True}, where="ckpt.npz")


def test_a_model_of_huge_inputs_with_small_weights_predicts_in_budget_sized_batches(tmp_path, files):
    """torchvision's adaptive pool keeps fc6 at 9216 inputs whatever the input size: 1500×1500 inputs make
    every image's forward pass ~0.25 GiB, so predict runs fewer images at a time instead of asking for 8 GiB."""
    model = an.AlexNet.shapes_only("torchvision", num_classes=5, input_size=1500)
    per_image = model.forward_bytes(1)
    assert 2**27 < per_image < 2**29
    assert model.batch_within_budget(32, "x") == an.io.MEMORY_BUDGET // per_image < 32
    tiny = an.AlexNet.shapes_only("torchvision", num_classes=5, input_size=20_000)
    with pytest.raises(BadFile, match="one image's forward pass"):
        tiny.batch_within_budget(1, "model.npz")


def test_a_preprocessing_record_that_asks_for_a_giant_image_is_blamed(tmp_path, files):
    def meta(m):
        return {**m, "preprocessing": {**m["preprocessing"], "resize": 30_000}}

    path = rewritten(files / "mini.npz", tmp_path / "m.npz", meta)
    r = run_capped("predict", str(files / "photo.jpg"), "--weights", path)
    one_line_refusal(r, path, "resize 30000", "40,000,000")


@pytest.mark.parametrize("edit", [dict(std=[1e-300, 1, 1]), dict(scale=1e300), dict(mean=[0, 0, 1e12])])
def test_a_preprocessing_record_that_overflows_is_blamed_not_the_weights(tmp_path, files, edit):
    def meta(m):
        return {**m, "preprocessing": {**m["preprocessing"], **edit}}

    path = rewritten(files / "mini.npz", tmp_path / "m.npz", meta)
    r = run_capped("predict", str(files / "photo.jpg"), "--weights", path)
    one_line_refusal(r, path, "preprocessing record", "overflow")
    assert "weights" not in r.stderr


PTH_BOMB = """
import sys, zipfile
import alexnet_np.io
from alexnet_np.tools.cli import main
alexnet_np.io.MEMORY_BUDGET = 32 * 2**20  # the budget scaled down, so that the bomb is small to write
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    with zf.open("archive/data/0", "w", force_zip64=True) as member:
        for _ in range(40):
            member.write(bytes(2**20))
sys.exit(main(["convert-weights", sys.argv[1], sys.argv[2]]))
"""


@pytest.mark.slow
def test_a_pth_that_inflates_past_the_budget_is_refused_before_torch_reads_it(tmp_path):
    pytest.importorskip("torch")
    bomb, out = tmp_path / "bomb.pth", tmp_path / "out.npz"
    r = run_capped(
        code=PTH_BOMB.replace("sys.argv[1]", repr(str(bomb))).replace("sys.argv[2]", repr(str(out)))
    )
    one_line_refusal(r, str(bomb), "unpacked")
    assert bomb.stat().st_size < 2**20 and not out.exists()


@pytest.mark.slow
def test_a_pth_whose_tensor_is_a_view_larger_than_its_data_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "view.pth"
    torch.save({"classifier.6.weight": torch.zeros(1).expand(5_000_000, 4096)}, path)
    assert path.stat().st_size < 4096
    r = run_capped("convert-weights", str(path), str(tmp_path / "out.npz"), cap=2 * CAP)
    one_line_refusal(r, str(path), "classifier.6.weight", "declares shape")


# ---- item 0: the data are prepared for the model being trained; item 3: a run writes over its own files only


def cli(capsys, *argv):
    from alexnet_np.tools.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train_photos(capsys, photos, out, *more):
    return cli(capsys, "train", "--dataset", "folder", "--data-dir", photos, "--out", out, "--quiet", *more)


@pytest.mark.slow
def test_a_folder_of_photos_is_prepared_for_the_model_being_trained(capsys, tmp_path, photos):
    code, out, err = train_photos(capsys, photos, tmp_path / "a", "--epochs", "1")
    assert code == 0, err
    model = an.AlexNet.from_file(tmp_path / "a" / "model.npz")
    assert (model.preprocessing.input_size, model.preprocessing.resize) == (31, 35)
    code, out, err = train_photos(capsys, photos, tmp_path / "b", "--epochs", "1", "--input-size", "47")
    assert code == 0, err
    assert an.AlexNet.from_file(tmp_path / "b" / "model.npz").preprocessing.input_size == 47
    # a 224×224 variant: the data are prepared at 256, cropped to 224 (exit 1 would be a failed check, not a refusal)
    code, out, err = cli(
        capsys, "train", "--dataset", "folder", "--data-dir", photos, "--variant", "seed_keras", "--overfit-batch",
        "--steps", "1", "--batch-size", "2",
    )  # fmt: skip
    assert code in (0, 1) and "prepared for" not in err, err


@pytest.mark.slow
def test_a_run_writes_over_only_its_own_files(capsys, tmp_path, photos):
    out = tmp_path / "run"
    assert train_photos(capsys, photos, out, "--epochs", "1")[0] == 0
    model = (out / "model.npz").read_bytes()
    # the checkpoint deleted to save space: a new run there would replace another run's model
    (out / "checkpoint.npz").unlink()
    code, _, err = train_photos(capsys, photos, out, "--epochs", "1", "--seed", "3")
    assert code == 2 and "model.npz" in err and "--force" in err and err.count("\n") == 1, err
    assert (out / "model.npz").read_bytes() == model
    # --force replaces them; the run that did so may then --resume over its own outputs
    assert train_photos(capsys, photos, out, "--epochs", "1", "--seed", "3", "--force")[0] == 0
    assert (out / "model.npz").read_bytes() != model
    assert train_photos(capsys, photos, out, "--epochs", "2", "--resume")[0] == 0
    # a file the user changed (or put) there is not the run's own any more
    (out / "history.json").write_text("my notes")
    code, _, err = train_photos(capsys, photos, out, "--epochs", "3", "--resume")
    assert code == 2 and "history.json" in err and "--force" in err, err
    assert (out / "history.json").read_text() == "my notes"
    # a new run into a folder with a checkpoint names both ways out
    code, _, err = train_photos(capsys, photos, out, "--epochs", "1")
    assert code == 2 and "checkpoint.npz" in err and "--resume" in err and "--force" in err, err


# ---- items 7, 12, 13: a checkpoint's metadata is checked whole before anything uses it -------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint of one epoch of the mini AlexNet on 48 digits (a Trainer, no CLI)."""
    from alexnet_np.training.experiments import subset
    from alexnet_np.training.train import TrainConfig, Trainer

    train, val = an.load_digits(seed=0)
    path = tmp_path_factory.mktemp("ck") / "checkpoint.npz"
    trainer = Trainer(
        an.AlexNet("mini", num_classes=10), subset(train, 48), subset(val, 16), TrainConfig(epochs=1)
    )
    trainer.fit(checkpoint=path, progress=False, log=None)
    return path


def _drop(key):
    def edit(m):
        m = dict(m)
        del m[key]
        return m

    return edit


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda m: {**m, "epoch": -3}, ["epoch"]),
        (lambda m: {**m, "epoch": 2, "history": m["history"] * 2}, ["epoch"]),  # past its config's epochs
        (lambda m: {**m, "config": {**m["config"], "pca_noise": float("nan")}}, ["pca_noise", "nan"]),
        (lambda m: {**m, "config": {**m["config"], "flip": "yes"}}, ["flip", "'yes'"]),
        (lambda m: {**m, "config": {**m["config"], "warmup": 5}}, ["config", "warmup"]),
        (_drop("data"), ["'data'"]),
        (_drop("dropout_rngs"), ["'dropout_rngs'"]),
        (lambda m: {**m, "schedule": {**m["schedule"], "kind": "nope"}}, ["schedule", "'plateau'"]),
        (
            lambda m: {**m, "history": [{k: v for k, v in m["history"][0].items() if k != "epoch"}]},
            ["history"],
        ),
        (lambda m: {**m, "rng": {"bit_generator": "MT19937"}}, ["rng"]),
        (lambda m: {**m, "classes": m["classes"][:3]}, ["class names"]),
        (lambda m: {**m, "model": {**m["model"], "num_classes": 10**7}}, ["10 class names", "10000000"]),
    ],
)
def test_a_hand_edited_checkpoint_is_refused_in_one_line(tmp_path, capsys, checkpoint, edit, words):
    from alexnet_np.training.train import load_checkpoint_file

    path = rewritten(checkpoint, tmp_path / "checkpoint.npz", edit)
    with pytest.raises(BadFile) as info:
        load_checkpoint_file(path)
        from alexnet_np.training.train import model_from_checkpoint

        model_from_checkpoint(path)  # the model's arrays are checked when it is built
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    code, _, err = cli(capsys, "evaluate", "--checkpoint", path)
    assert code == 2 and err.count("\n") == 1 and path in err, err


@pytest.mark.parametrize(
    "model, words",
    [
        (dict(input_size=[4096, 4096]), ["fc6.weight"]),  # 1.07 billion fc6 weights the file does not hold
        (dict(variant="torchvision", lrn=False, input_size=[224, 224]), ["conv1.weight"]),
    ],
)
def test_a_checkpoint_declaring_another_model_is_refused_before_it_is_built(
    tmp_path, checkpoint, model, words
):
    path = rewritten(
        checkpoint, tmp_path / "checkpoint.npz", lambda m: {**m, "model": {**m["model"], **model}}
    )
    one_line_refusal(run_capped("evaluate", "--checkpoint", path), path, *words)


def test_deeply_nested_metadata_is_a_bad_file_not_a_recursion_error(tmp_path):
    from alexnet_np.io import load_npz

    path = tmp_path / "nested.npz"
    np.savez(path, __meta__=np.array('{"a": ' + "[" * 60_000 + "]" * 60_000 + "}"))
    with pytest.raises(BadFile, match="nested"):
        load_npz(path)


# ---- items 16 and 17: empty data, and the overfitting check's stop and words ----------------------


def test_training_on_empty_data_is_refused_before_any_statistic():
    from alexnet_np.training.data import Dataset
    from alexnet_np.training.train import _no_data

    train, _ = an.load_digits(seed=0)
    with pytest.raises(an.errors.BadInput, match="empty"):
        an.fit(an.AlexNet("mini", num_classes=10), _no_data(train), epochs=1, log=None)
    broken = Dataset(train.images[:8].copy(), train.labels[:8], train.classes, train.preprocessing)
    broken.images[3, 1, 2, 2] = np.nan
    with pytest.raises(an.errors.BadInput, match="NaN"):
        an.fit(an.AlexNet("mini", num_classes=10), broken, epochs=1, log=None)


def test_the_overfit_check_stops_once_passed_and_says_its_verdict_first(capsys):
    code, out, err = cli(capsys, "train", "--overfit-batch", "--steps", str(10**9))
    lines = out.splitlines()
    assert code == 0, err
    assert lines[1].startswith("initial loss") and lines[2].startswith("step    1")
    reached = int(lines[-1].split("at step ")[1].split()[0])
    assert lines[-1].startswith("pass") and reached < 200


def test_a_long_overfit_run_reports_progress_by_time(digits_small):
    logged = []
    result = an.overfit_batch(
        an.AlexNet("mini", num_classes=10, dropout=0), digits_small, steps=4, lr=1e-9, log=logged.append,
        log_every=10**6,
    )  # fmt: skip
    assert result["steps"] == 4 and result["reached"] is None
    # the verdict, step 1 (due), then steps 2-4 by time (log_seconds=10 not reached: the last step only)
    assert logged[0].startswith("initial loss") and [line.split()[1] for line in logged[1:]] == ["1", "4"]
    from alexnet_np.training.train import TrainConfig, Trainer, _no_data

    trainer = Trainer(
        an.AlexNet("mini", num_classes=10, dropout=0),
        digits_small,
        _no_data(digits_small),
        TrainConfig(lr=1e-9),
    )
    logged.clear()
    trainer.overfit_batch(steps=4, log_every=10**6, log=logged.append, log_seconds=0.0)
    assert [line.split()[1] for line in logged[1:]] == ["1", "2", "3", "4"]


@pytest.fixture(scope="module")
def digits_small():
    from alexnet_np.training.experiments import subset

    return subset(an.load_digits(seed=0)[0], 32)
