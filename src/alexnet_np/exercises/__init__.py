"""The exercises wing: a grader that says *where* a student's layer is wrong, and the workbook's tools.

>>> from alexnet_np.exercises import grade, list_exercises
>>> print(grade("output_size", lambda n, k, s, p: (n + 2 * p - k) // s + 1))
output_size: PASSED (10/10 cases)

``grade(name, fn)`` runs ``fn`` in a child process on the exercise's cases (odd sizes, stride > 1, padding,
overlapping windows, ties, a batch of one, the LRN's edge channels, large logits) against the library in float64,
plus a central-difference case for the backward passes and, last, one case again with its random inputs drawn
anew (a result kept by shape from an earlier call shows), calls it again on the first case's inputs (state kept
between calls shows), and returns a :class:`GradeResult` whose ``str()`` is a short report
and whose ``heatmap()`` draws the error over (H, W). Built on the core; the core never imports it.
"""

from __future__ import annotations

from .catalogue import EXERCISES
from .classroom import ClassReport, class_report
from .grader import TOL, GradeResult, compare, grade_cases, new_values_twin, redrawn
from .workbook import build_workbook, report, write_solution_copy, write_student_copy

__all__ = [
    "EXERCISES",
    "ClassReport",
    "TOL",
    "GradeResult",
    "build_workbook",
    "class_report",
    "compare",
    "grade",
    "list_exercises",
    "report",
    "write_solution_copy",
    "write_student_copy",
]


def list_exercises() -> str:
    """One line per exercise: its name and the signature the student writes."""
    return "\n".join(f"{e.name:<22} {e.signature}" for e in EXERCISES.values())


def grade(exercise_name: str, student_fn, *, time_limit: float = 20.0, isolate: bool = True) -> GradeResult:
    """Grade ``student_fn`` on the exercise ``exercise_name`` (see :func:`list_exercises`).

    ``student_fn`` runs in a forked child process (exercises.sandbox): it sees the inputs only, calls into
    alexnet_np's own implementations are refused by name, and each call must return within ``time_limit``
    seconds. ``isolate=False`` runs it in this process (a debugger can step into it; nothing is protected).
    """
    if exercise_name not in EXERCISES:
        raise KeyError(f"no exercise {exercise_name!r}; the exercises are: {', '.join(EXERCISES)}")
    ex = EXERCISES[exercise_name]
    allowed = tuple(m for m in ex.allowed if not (ex.name == "output_size" and m == "alexnet_np.shapes"))
    cases = ex.cases()
    return grade_cases(
        ex.name,
        student_fn,
        cases,
        ex.numeric,
        hints=ex.hints,
        allowed=allowed,
        isolate=isolate,
        time_limit=time_limit,
        last=new_values_twin(cases, redrawn(ex.cases)),
    )
