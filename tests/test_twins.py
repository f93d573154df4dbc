"""Twins match: each readable reference kernel and its Numba twin share the name and the positional arguments
(names and defaults), the twin's extras are keyword-only, and each docstring names the other in a "Twin:" line.

Cost: imports only (nothing is compiled), well under a second.
"""

import inspect

import pytest

from alexnet_np.ops import kernels, reference, winograd_kernels, winograd_reference

PAIRS = {
    (reference, kernels): {
        "im2col",
        "col2im",
        "space_to_depth",
        "depth_to_space",
        "maxpool_forward",
        "maxpool_backward",
        "lrn_forward",
        "lrn_backward",
        "relu_forward",
        "relu_backward",
        "sgd_paper_update",
    },
    (winograd_reference, winograd_kernels): {
        "filter_transform",
        "filter_transform_adjoint",
        "input_transform",
        "input_transform_adjoint",
        "output_transform",
        "output_transform_adjoint",
        "conv2d_winograd",
        "conv2d_winograd_backward",
    },
}


def _own_functions(module):
    return {
        name
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == module.__name__
    }


def _positional(fn):
    return [
        (p.name, p.default)
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


@pytest.mark.parametrize("ref,fast", list(PAIRS), ids=["kernels", "winograd"])
def test_every_pair_shares_name_and_positional_arguments(ref, fast):
    assert _own_functions(ref) & _own_functions(fast) == PAIRS[ref, fast]  # a new pair is listed here
    for name in sorted(PAIRS[ref, fast]):
        a, b = getattr(ref, name), getattr(fast, name)
        assert _positional(a) == _positional(b), name
        extras = [
            p for p in inspect.signature(b).parameters.values() if (p.name, p.default) not in _positional(a)
        ]
        assert all(p.kind == p.KEYWORD_ONLY for p in extras), f"{name}: extras {extras} must be keyword-only"
        assert not [p for p in inspect.signature(a).parameters.values() if p.kind == p.KEYWORD_ONLY], name
        assert f"Twin: :func:`{fast.__name__}.{name}`" in a.__doc__, name
        assert f"Twin: :func:`{ref.__name__}.{name}`" in b.__doc__, name


def test_a_changed_signature_is_caught():
    """The comparison sees a renamed argument and a positional extra (what the rule forbids)."""

    def renamed(x, kernel, stride=1, padding=0):
        pass

    def positional_extra(x, kernel_size, stride=1, padding=0, out=None):
        pass

    assert _positional(renamed) != _positional(reference.im2col)
    assert _positional(positional_extra) != _positional(reference.im2col)
