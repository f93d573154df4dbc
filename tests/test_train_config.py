"""TrainConfig is the one source of the training defaults and the one place their values are checked."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import alexnet_np as an
from alexnet_np.errors import BadArgument
from alexnet_np.tools.cli import build_parser
from alexnet_np.training.train import OVERFIT_BATCH_SIZE, OVERFIT_STEPS, TrainConfig


@pytest.mark.parametrize(
    "field, value",
    [
        ("lr", math.nan),
        ("lr", -0.1),
        ("lr", 0),
        ("momentum", math.inf),
        ("momentum", 1.0),
        ("weight_decay", -1e-4),
        ("pca_noise", math.nan),
        ("batch_size", 2.5),
        ("batch_size", True),
        ("epochs", 0),
        ("flip", "yes"),
        ("flip", 1),
        ("crop", None),
        ("schedule", "cosine"),
        ("seed", -3),
        ("patience", np.float64(2)),
    ],
)
def test_train_config_refuses_what_cannot_be_right(field, value):
    with pytest.raises(BadArgument) as info:
        TrainConfig(**{field: value})
    message = str(info.value)
    assert field in message and repr(value) in message and "must be" in message


def test_train_config_keeps_plain_values_for_its_json():
    config = TrainConfig(lr=1, batch_size=np.int64(8), flip=np.bool_(False), pca_noise=np.float32(0.5))
    values = dataclasses.asdict(config)
    assert type(values["lr"]) is float and type(values["batch_size"]) is int
    assert values["flip"] is False and type(values["pca_noise"]) is float


def test_the_cli_defaults_are_train_configs():
    """The train options take their defaults from the dataclass, not a second table."""
    args = build_parser().parse_args(["train"])
    defaults = TrainConfig.defaults()
    assert args.epochs == defaults["epochs"] == 25  # the README's command line
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["train"].format_help().split())
    for name in ("batch_size", "lr", "pca_noise", "seed"):
        assert f"default {defaults[name]}" in help_text, name
    assert f"--overfit-batch: {OVERFIT_BATCH_SIZE}" in help_text and OVERFIT_STEPS == 100


@pytest.mark.parametrize("steps", [-5, 0, 2.0])
def test_overfit_batch_refuses_a_step_count_that_is_no_count(steps, digits):
    train, _ = digits
    with pytest.raises(BadArgument, match="steps"):
        an.overfit_batch(an.AlexNet("mini", num_classes=10, dropout=0), train, steps=steps, log=None)


@pytest.fixture(scope="module")
def digits():
    return an.load_digits(seed=0)
