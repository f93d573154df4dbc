"""The ReLU-vs-tanh measure of experiments.py: the replay finds the same first iteration as probing every step."""

import math

import numpy as np
import pytest

from alexnet_np.training import experiments
from alexnet_np.training.data import load_digits_data


@pytest.fixture(scope="module")
def digits():
    return load_digits_data(seed=0)[0]


def test_probing_every_8_steps_finds_the_same_first_iteration_as_probing_every_step(digits):
    kwargs = dict(activation="tanh", seed=100, lr=0.03, target=0.6, max_iterations=24, probe_size=64)
    every = experiments.iterations_to_error(digits, probe_every=1, **kwargs)
    sparse = experiments.iterations_to_error(digits, probe_every=8, **kwargs)
    assert every["iterations"] is not None and every["iterations"] > 1
    assert sparse["iterations"] == every["iterations"]
    fine = dict(every["curve"])
    for it, error in sparse["curve"]:  # the replayed steps give the same probe errors
        assert error == fine[it]
    assert all(e >= 0.6 for it, e in every["curve"] if it < every["iterations"])


def test_the_ratio_interval_is_a_t_interval_on_log_ratios():
    r = experiments.ratio_interval([10, 10, None, 5], [20, 80, 7, 10])
    assert r["ratios"] == [2.0, 8.0, 2.0]  # the seed that missed the target is left out
    logs = np.log([2.0, 8.0, 2.0])
    assert math.isclose(r["geometric_mean"], math.exp(logs.mean()))
    half = 4.302652729749464 * logs.std(ddof=1) / math.sqrt(3)  # t(0.975, 2 degrees of freedom)
    assert math.isclose(r["low"], math.exp(logs.mean() - half), rel_tol=1e-9)
    assert math.isclose(r["high"], math.exp(logs.mean() + half), rel_tol=1e-9)
    assert experiments.ratio_interval([None], [3])["geometric_mean"] is None


def test_tuning_takes_the_rate_with_the_fewest_median_iterations(monkeypatch):
    table = {0.01: [50, 60], 0.03: [20, None], 0.1: [None, None], 0.3: [30, 40]}
    monkeypatch.setattr(
        experiments,
        "iterations_to_error",
        lambda train, activation, seed, lr: {"iterations": table[lr][seed]},
    )
    best, measured = experiments.tune_learning_rate(None, "relu", list(table), seeds=(0, 1))
    assert best == 0.3 and measured == table  # 0.03's median is infinite: one seed never got there
