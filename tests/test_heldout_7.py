"""The held-out verdicts of class7 (tests/test_heldout.py has the rest and the method)."""

import pytest
from test_heldout import check_verdict, verdict_params


@pytest.mark.parametrize("answer", list(verdict_params(["class7"])))
def test_the_verdict(answer):
    check_verdict(answer)
