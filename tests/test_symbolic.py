"""Symbolic sizes equal the numeric ones at every H, and ceil_mode pools, truncating divisions and SAME pads
read without Piecewise / Max (settled per residue of H)."""

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from tconvcalc import build_layer, forward
from tconvcalc.errors import TconvError

H = sympy.Symbol("H", integer=True, positive=True)


def value(text, n):
    """Our own printed expression at H = n (test code: never user text)."""
    return sympy.sympify(text, locals={"H": H}).subs(H, n) if isinstance(text, str) else text


layers = st.one_of(
    st.builds(lambda f, k, s, p: ("conv", f, dict(kernel=k, stride=s, padding=p)),
              st.sampled_from(["torch", "keras", "tf", "jax", "onnx"]), st.integers(1, 7), st.integers(1, 5),
              st.sampled_from(["valid", "same", "0", "1", "2"])),
    st.builds(lambda f, kind, k, s, p, ceil: (kind, f, dict(kernel=k, stride=s, padding=p, ceil_mode=ceil or None)),
              st.sampled_from(["torch", "onnx"]), st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 5),
              st.integers(1, 4), st.sampled_from(["0", "1"]), st.booleans()),
)


@settings(max_examples=120, deadline=None)
@given(layers)
def test_symbolic_output_and_pads_equal_the_numbers_at_every_h(spec):
    kind, framework, options = spec
    if framework in ("keras", "tf", "jax") and options["padding"] not in ("valid", "same") and kind == "conv":
        options = {**options, "padding": "same" if framework == "keras" else options["padding"]}
    if framework == "onnx" and options["padding"] == "same":
        options = {**options, "padding": "same_upper"}
    try:
        layer = build_layer(kind, framework, 1, **options)
        symbolic = forward(layer, ("H",))
    except TconvError:  # a layer the framework does not have, or refuses for every H
        return
    if symbolic.output is None:
        return
    for n in range(1, 41):
        try:
            numeric = forward(layer, (n,))
        except TconvError:
            continue
        assert value(symbolic.output[0], n) == numeric.output[0], (n, symbolic.output)
        if symbolic.axes[0].pads is not None:
            assert tuple(value(p, n) for p in symbolic.axes[0].pads) == numeric.axes[0].pads, (n, symbolic.axes)


@pytest.mark.parametrize("framework, kind, options, output, pads, condition", [
    # torch's ceil_mode drop (a window starting in the right pad) never happens here: Piecewise gone
    ("torch", "maxpool", dict(kernel=3, stride=2, padding=1, ceil_mode=True), "floor(H/2) + 1", (1, 1), None),
    ("torch", "maxpool", dict(kernel=3, stride=2, ceil_mode=True), "floor(H/2)", (0, 0), "floor(H/2) >= 1"),
    ("jax", "conv", dict(kernel=3, stride=2, padding="same"), "ceiling(H/2)", ("Mod(H, 2)", 1), None),
    ("keras", "conv", dict(kernel=4, stride=2, padding="same"), "ceiling(H/2)", (1, "Mod(H, 2) + 1"), None),
    ("onnx", "conv", dict(kernel=3, stride=2, padding="same_lower"), "ceiling(H/2)", (1, "Mod(H, 2)"), None),
])
def test_settled_forms(framework, kind, options, output, pads, condition):
    result = forward(build_layer(kind, framework, 1, **options), ("H",))
    assert result.output == (output,) and result.axes[0].pads == pads and result.condition == condition


def test_onnx_output_shape_rule_compares_values_not_expressions():
    # ORT pads a convT down to output_shape 2 for every input from 2 on; `==` on sympy compared the structure
    # of Max(0, H - 2) + 2 and H and refused every H.
    layer = build_layer("convT", "onnx", 1, kernel=1, padding="valid", output_size=2)
    assert forward(layer, ("H",)).output == (2,) and forward(layer, (5,)).output == (2,)
