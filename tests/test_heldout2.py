"""The grader on a second held-out set: 60 wrong and 20 correct answers written, by someone who had not read the
catalogue or the grader, after the grader's changes (tests/heldout2_judgement.md has the reports and, answer by
answer, whether each names the mistake: 56 of 60). The suite holds the verdicts: no wrong answer passes, no
correct one fails."""

import pytest
from heldout2_answers import ANSWERS

from alexnet_np.exercises import grade


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a.exercise}-{a.kind}-{i}" for i, a in enumerate(ANSWERS)])
def test_the_verdict(answer):
    result = grade(answer.exercise, answer.fn)
    if answer.kind == "correct":
        assert result.passed, str(result)
    else:
        assert not result.passed, f"a wrong answer passed ({answer.mistake})"
