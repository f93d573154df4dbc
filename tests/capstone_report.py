"""Train the capstone with the solutions and with each planted wrong backward; print accuracy and times.

PYTHONPATH=src python tests/capstone_report.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capstone_solutions import PLANTED, SOLUTIONS  # noqa: E402

from alexnet_np.exercises import capstone  # noqa: E402


def main():
    runs = {"solutions": SOLUTIONS}
    runs.update({bug: {**SOLUTIONS, name: fn} for bug, (name, fn) in PLANTED.items()})
    print("| run | named by the per-layer check | held-out top-1 per epoch | wall s | CPU s |")
    print("|---|---|---|---|---|")
    for label, fns in runs.items():
        broken = capstone.check_layers(fns).broken
        r = capstone.train(fns, log=None)
        tops = ", ".join(f"{h['val_top1']:.3f}" for h in r["history"]) + (
            " (diverged)" if r["diverged"] else ""
        )
        print(
            f"| {label} | {', '.join(broken) or '-'} | {tops} | {r['seconds']:.0f} | {r['cpu_seconds']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
