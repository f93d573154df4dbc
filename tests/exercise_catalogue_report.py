"""Print the exercises and, for each mistake of the catalogue, the grader's report on it (Markdown).

    python tests/exercise_catalogue_report.py > catalogue.md
    python tests/exercise_catalogue_report.py --cost      # what the child process costs, per exercise

Regenerates the list that the exercises' closing note quotes: every exercise with its signature, then every
mistake in ``tests/exercise_mistakes.py`` (``MISTAKES`` and ``OTHER_STYLE``) with the words the tests require
in its diagnosis and the report the grader prints for it, verbatim.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # exercise_mistakes lives beside this file

import time  # noqa: E402

from exercise_mistakes import CORRECT, MISTAKES, OTHER_STYLE  # noqa: E402

from alexnet_np.exercises import EXERCISES, grade  # noqa: E402


def main() -> int:
    print(f"## Exercises ({len(EXERCISES)})\n")
    print("| exercise | the student writes |\n|---|---|")
    for ex in EXERCISES.values():
        print(f"| `{ex.name}` | `{ex.signature}` |")
    for title, mistakes in (("Mistakes", MISTAKES), ("Mistakes written in other styles", OTHER_STYLE)):
        print(f"\n## {title} ({len(mistakes)})\n")
        for k, (name, exercise, fn, words) in enumerate(mistakes, 1):
            result = grade(exercise, fn)
            verdict = "passes (a convention)" if result.passed else "fails"
            print(f"{k}. **{name}** (`{exercise}`, {verdict}; the tests require {words!r})\n")
            print("   ```text")
            for line in str(result).splitlines():
                print(f"   {line}")
            print("   ```")
    return 0


def cost(repeats: int = 3) -> int:
    """Seconds per grade of the loop solutions, in this process and in the child (best of ``repeats``)."""
    print("| exercise | in-process s | isolated s | isolation s |\n|---|---|---|---|")
    for name, fn in CORRECT.items():
        best = []
        for isolate in (False, True):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                assert grade(name, fn, isolate=isolate).passed
                times.append(time.perf_counter() - t0)
            best.append(min(times))
        print(f"| `{name}` | {best[0]:.3f} | {best[1]:.3f} | {best[1] - best[0]:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(cost() if "--cost" in sys.argv[1:] else main())
