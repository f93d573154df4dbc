"""Grade every held-out student answer (tests/heldout_answers.py) and print what the grader said.

    PYTHONPATH=src python tests/heldout_report.py [--lines N] [--exercise NAME]

For each answer: the exercise, the kind (correct / wrong), the student's mistake, PASSED or FAILED, and the
first lines of the grader's report, with an empty ``names the mistake? [ ]`` field for a human to fill in by
reading the report beside the mistake. At the end: wrong answers that passed, correct answers that failed.
Not a pytest module: it measures the grader, it does not gate it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import textwrap
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from heldout_answers import ANSWERS  # noqa: E402

from alexnet_np.exercises import grade  # noqa: E402


def _grade(exercise, fn):
    """(passed, report text); an exception from the grader itself is reported, not raised."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            result = grade(exercise, fn)
        except Exception as e:  # the grader should never raise on a student's answer
            return False, f"GRADER RAISED {type(e).__name__}: {e}"
    return bool(result.passed), str(result)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=6, help="report lines to show per answer")
    ap.add_argument("--exercise", default=None, help="only this exercise")
    args = ap.parse_args(argv)

    answers = [a for a in ANSWERS if args.exercise in (None, a.exercise)]
    wrong_passed, correct_failed = [], []
    per_ex = Counter()
    for i, ans in enumerate(answers, 1):
        passed, text = _grade(ans.exercise, ans.fn)
        per_ex[ans.exercise, ans.kind, passed] += 1
        surprise = (ans.kind == "wrong") == passed
        if surprise:
            (wrong_passed if passed else correct_failed).append(ans)
        flag = "  <-- " + ("WRONG ANSWER PASSED" if passed else "CORRECT ANSWER FAILED") if surprise else ""
        print(
            f"[{i:3d}] {ans.exercise} | {ans.kind} | {ans.fn.__name__} | {'PASSED' if passed else 'FAILED'}{flag}"
        )
        if ans.mistake:
            print(
                textwrap.fill(ans.mistake, 110, initial_indent="      mistake: ", subsequent_indent=" " * 15)
            )
        lines = text.splitlines()
        for line in lines[: args.lines]:
            print("      | " + line)
        if len(lines) > args.lines:
            print(f"      | ... ({len(lines) - args.lines} more lines)")
        if ans.kind == "wrong":
            print("      names the mistake? [ ]")
        print()

    print("=" * 110)
    print(f"{'exercise':24s} {'correct: pass/fail':>20s} {'wrong: fail/pass':>20s}")
    for ex in dict.fromkeys(a.exercise for a in answers):
        c_ok, c_bad = per_ex[ex, "correct", True], per_ex[ex, "correct", False]
        w_ok, w_bad = per_ex[ex, "wrong", False], per_ex[ex, "wrong", True]
        print(f"{ex:24s} {f'{c_ok}/{c_bad}':>20s} {f'{w_ok}/{w_bad}':>20s}")
    n_c = sum(a.kind == "correct" for a in answers)
    n_w = len(answers) - n_c
    print(f"\nanswers: {n_c} correct, {n_w} wrong")
    print(f"wrong answers that PASSED:  {len(wrong_passed)}")
    for a in wrong_passed:
        print(f"    {a.exercise}: {a.fn.__name__}: {a.mistake}")
    print(f"correct answers that FAILED: {len(correct_failed)}")
    for a in correct_failed:
        print(f"    {a.exercise}: {a.fn.__name__}")
    print(
        "reports that name the mistake: ___ / "
        + str(n_w - len(wrong_passed))
        + " failing wrong answers (fill in)"
    )


if __name__ == "__main__":
    main()
