"""The package's layout: a core that never imports its wings, and names that stay where users find them."""

import subprocess
import sys

import pytest

CORE = [
    "alexnet_np",
    "alexnet_np.errors",
    "alexnet_np.shapes",
    "alexnet_np.ops",
    "alexnet_np.ops.reference",
    "alexnet_np.ops.kernels",
    "alexnet_np.ops.naive",
    "alexnet_np.layers",
    "alexnet_np.gradcheck",
    "alexnet_np.model",
    "alexnet_np.summary",
    "alexnet_np.budget",
    "alexnet_np.io",
]
WINGS = ("alexnet_np.training", "alexnet_np.tools", "alexnet_np.exercises", "alexnet_np.distributed")


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_wing(module):
    """Each core module, imported alone in a fresh interpreter and used, loads no module of a wing."""
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); import alexnet_np as an; "
        "an.AlexNet('mini', num_classes=10).summary(); "
        f"print(sorted(m for m in sys.modules if m.startswith({WINGS!r})))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"importing {module} pulled in {r.stdout.strip()}"


def test_the_public_names_are_still_there():
    import alexnet_np as an

    for name in (
        "AlexNet",
        "VARIANTS",
        "Conv2d",
        "Linear",
        "MaxPool2d",
        "AdaptiveAvgPool2d",
        "LocalResponseNorm",
        "BatchNorm1d",
        "BatchNorm2d",
        "ReLU",
        "Tanh",
        "Flatten",
        "Dropout",
        "Sequential",
        "CrossEntropyLoss",
        "Layer",
        "BACKENDS",
        "get_backend",
        "set_backend",
        "use_backend",
        "conv_output_size",
        "gradcheck",
    ):
        assert hasattr(an, name), name
    for module in ("layers", "gradcheck", "model", "shapes"):
        __import__(f"alexnet_np.{module}")
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        an.nonexistent  # noqa: B018


def test_no_code_outside_a_layer_switches_on_its_type():
    """Layers answer their own facts (describe, macs, output_arithmetic, gemm_shapes, torch_spec)."""
    import pathlib

    import alexnet_np

    root = pathlib.Path(alexnet_np.__file__).parent
    layer_names = (
        "Conv2d",
        "Linear",
        "MaxPool2d",
        "AdaptiveAvgPool2d",
        "LocalResponseNorm",
        "BatchNorm",
        "ReLU",
        "Tanh",
        "Flatten",
        "Dropout",
    )
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "isinstance(" in line and any(n in line.split("isinstance(", 1)[1] for n in layer_names):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, offenders
