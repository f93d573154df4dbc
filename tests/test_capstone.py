"""The capstone: the solutions pass the per-layer check and train the mini AlexNet to the stated accuracy;
each planted wrong backward pass is named by the per-layer check (the function and the layers it breaks)."""

import pytest
from capstone_solutions import PLANTED, SOLUTIONS

from alexnet_np.exercises import capstone


def test_the_solutions_pass_the_per_layer_check():
    check = capstone.check_layers(SOLUTIONS)
    assert check.passed, str(check)
    assert check.layers["conv_backward"] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert check.layers["lrn_forward"] == ["lrn1", "lrn2"]


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_each_planted_wrong_backward_is_caught_by_name(bug):
    name, wrong = PLANTED[bug]
    check = capstone.check_layers({**SOLUTIONS, name: wrong})
    assert check.broken == [name], str(check)
    report = str(check)
    assert f"BROKEN {name}" in report and f"fix {name} before training" in report
    assert ", ".join(check.layers[name]) in report  # the layers it breaks are named


def test_a_missing_function_is_named():
    fns = dict(SOLUTIONS)
    del fns["lrn_backward"]
    with pytest.raises(KeyError, match="lrn_backward"):
        capstone.check_layers(fns)


def test_plugging_keeps_the_parameter_arrays():
    model = capstone.build_model()
    before = {k: id(v) for k, v in model.params.items()}
    capstone.plug(model, SOLUTIONS)
    assert {k: id(v) for k, v in model.params.items()} == before
    assert all(hasattr(model.layers[n], "fns") for n in ("conv1", "relu1", "lrn1", "pool1", "fc8"))


@pytest.mark.slow
def test_the_solutions_reach_the_stated_accuracy():
    """One training run (≈ 45 s of CPU on the loaded 2-core development machine)."""
    result = capstone.train(SOLUTIONS, log=None)
    assert result["diverged"] is None
    assert result["val_top1"] >= capstone.TARGET, result["history"]
