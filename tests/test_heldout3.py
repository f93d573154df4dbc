"""The grader on a third held-out set: one tester's answers to eleven exercises (85 wrong, 31 correct), written by
someone who had not read the mistake catalogue or the grader, and measured before they joined the suite
(tests/heldout3_judgement.md has the reports and, answer by answer, whether each names the mistake). The suite holds
the verdicts: no wrong answer passes, no correct one fails."""

import pytest
from heldout3_answers import ANSWERS

from alexnet_np.exercises import grade


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a.exercise}-{a.kind}-{i}" for i, a in enumerate(ANSWERS)])
def test_the_verdict(answer):
    result = grade(answer.exercise, answer.fn)
    if answer.kind == "correct":
        assert result.passed, str(result)
    else:
        assert not result.passed, f"a wrong answer passed ({answer.mistake})"
