"""The README's first Python snippet runs as written and trains."""

import contextlib
import io
import pathlib
import re
import warnings

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_the_readme_snippet_trains(seed):
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    assert "seed=0" in block and "for step in range(50)" in block
    if seed != 0:  # the hand-written loop for a second seed; the three epochs of fit once are enough
        block = block[: block.index("# The whole recipe")]
    scope = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(block.replace("seed=0", f"seed={seed}"), str(README), "exec"), scope)
    # fit checks a run's first loss against ln 10: the block gives it a fresh model, so nothing to warn about
    assert not [w for w in caught if "initial loss" in str(w.message)], [str(w.message) for w in caught]
    losses = scope["losses"]
    assert abs(losses[0] - np.log(10)) < 0.2 * np.log(10)  # a fresh network guesses near uniformly
    assert min(losses) < losses[0] / 2, np.round(losses, 2)  # the hand-written loop trains
    if seed == 0:
        assert scope["history"][-1]["val_top1"] > 0.5  # three epochs of fit: far above chance (0.1)
