"""Symbolic sizes equal the numeric ones at every H, and ceil_mode pools, truncating divisions and SAME pads
read without Piecewise / Max (settled per residue of H); the condition names exactly the H the numbers accept."""

import re

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError, TconvError

H = sympy.Symbol("H", integer=True, positive=True)


def value(text, n):
    """Our own printed expression at H = n (test code: never user text)."""
    return sympy.sympify(text, locals={"H": H, "ceil": sympy.ceiling}).subs(H, n) if isinstance(text, str) else text


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
    ("torch", "maxpool", dict(kernel=3, stride=2, ceil_mode=True), "floor(H/2)", (0, 0), "2 <= H"),
    ("jax", "conv", dict(kernel=3, stride=2, padding="same"), "ceil(H/2)", ("Mod(H, 2)", 1), None),
    ("keras", "conv", dict(kernel=4, stride=2, padding="same"), "ceil(H/2)", (1, "Mod(H, 2) + 1"), None),
    ("onnx", "conv", dict(kernel=3, stride=2, padding="same_lower"), "ceil(H/2)", (1, "Mod(H, 2)"), None),
])
def test_settled_forms(framework, kind, options, output, pads, condition):
    result = forward(build_layer(kind, framework, 1, **options), ("H",))
    assert result.output == (output,) and result.axes[0].pads == pads and result.condition == condition


@st.composite
def single_layers(draw):
    """A conv or pool of any framework, 1-D or 2-D (per-axis kernels and strides), any padding: the
    framework refuses what it does not have."""
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "convT", "unpool"]))
    rank = draw(st.integers(1, 2))

    def per_axis(low, high):
        return "x".join(str(draw(st.integers(low, high))) for _ in range(rank))

    options = dict(kernel=per_axis(1, 7), stride=per_axis(1, 5),
                   padding=draw(st.sampled_from(["valid", "same", "same_upper", "same_lower", "causal",
                                                 "0", "1", "2", "1:2", "2:0", "-1:1"])))
    if kind in ("conv", "maxpool", "convT"):
        options["dilation"] = draw(st.sampled_from(["1", "2"]))
    if kind in ("maxpool", "avgpool"):
        options["ceil_mode"] = draw(st.booleans()) or None
    if kind in ("convT", "unpool"):
        options["output_size"] = draw(st.none() | st.integers(1, 60).map(str))
    return kind, draw(st.sampled_from(["torch", "keras", "tf", "jax", "onnx"])), rank, options


def described(condition):
    """The sizes a printed condition names, as a predicate (test code reading our own output: an inexact
    form -- sympy's text -- fails here)."""
    if condition is None:
        return lambda n: True
    main, _, also = condition.partition("; also ")
    listed = {int(v) for v in re.fullmatch(r"H ∈ \{([\d, ]+)\}", also)[1].split(", ")} if also else set()
    if match := re.fullmatch(r"(\d+) <= H", main):
        return lambda n: n in listed or n >= int(match[1])
    if match := re.fullmatch(r"H ≡ (\d+) \(mod (\d+)\), H ≥ (\d+)", main):
        r, m, t = map(int, match.groups())
        return lambda n: n in listed or (n >= t and n % m == r)
    if match := re.fullmatch(r"H mod (\d+) ∈ \{([\d, ]+)\}, H ≥ (\d+)", main):
        m, residues, t = int(match[1]), {int(v) for v in match[2].split(", ")}, int(match[3])
        return lambda n: n in listed or (n >= t and n % m in residues)
    if match := re.fullmatch(r"H ∈ \{([\d, ]+)\}", main):
        return {int(v) for v in match[1].split(", ")}.__contains__
    assert main == "no input size is valid", f"not an exact description: {condition}"
    return lambda n: False


def accepts(layer, n):
    try:
        forward(layer, (n,) * layer.rank)
    except ShapeError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(single_layers())
def test_the_condition_names_exactly_the_sizes_the_numbers_accept(spec):
    kind, framework, rank, options = spec
    try:
        layer = build_layer(kind, framework, rank, **options)
        result = forward(layer, ("H",) * rank)
    except InputError:  # an option or layer this framework does not have
        assume(False)
    except ShapeError:  # refused whatever H is
        assert not any(accepts(layer, n) for n in range(1, 201))
        return
    valid = described(result.condition)
    assert [n for n in range(1, 201) if valid(n) != accepts(layer, n)] == [], result.condition


@pytest.mark.parametrize("framework, kind, size, options, condition", [
    ("onnx", "conv", ("H",), dict(kernel=3, stride=2), "3 <= H"),  # was floor(H/2 - 3/2) + 1 >= 1
    ("torch", "conv", ("H",), dict(kernel=150, dilation=3), "448 <= H"),  # far past a few periods
    ("onnx", "maxpool", ("H",), dict(kernel=3, stride=2, ceil_mode=True), None),  # H = 1 gives an empty tensor
    ("onnx", "maxpool", ("H", "H"), dict(kernel=3, stride=4, padding="same_lower"), "H mod 4 ∈ {1, 2, 3}, H ≥ 1"),
    ("onnx", "maxpool", ("H", 5), dict(kernel=1, stride=4, padding="same_upper", ceil_mode=True),
     "H ≡ 1 (mod 4), H ≥ 1"),
    ("torch", "convT", ("H",), dict(kernel=4, stride=2, padding=1, output_size=64), "H ∈ {32}"),
    ("torch", "unpool", ("H",), dict(kernel=2, output_size=9), "H ∈ {4, 5}"),
    ("torch", "upsample", ("H",), dict(scale=0.25), "4 <= H"),
    ("torch", "conv", ("H", "W"), dict(kernel=3), "(H >= 3) & (W >= 3)"),  # several symbols: the rules conjoined
])
def test_exact_conditions(framework, kind, size, options, condition):
    assert forward(build_layer(kind, framework, len(size), **options), size).condition == condition


def test_onnx_output_shape_rule_compares_values_not_expressions():
    # ORT pads a convT down to output_shape 2 for every input from 2 on; `==` on sympy compared the structure
    # of Max(0, H - 2) + 2 and H and refused every H.
    layer = build_layer("convT", "onnx", 1, kernel=1, padding="valid", output_size=2)
    assert forward(layer, ("H",)).output == (2,) and forward(layer, (5,)).output == (2,)


def warned(layer, n):
    """The numeric warnings at H = n, their numbers taken out (how the symbolic warnings name them)."""
    try:
        return {re.sub(r"-?\d+", "#", w) for w in forward(layer, (n,) * layer.rank).warnings}
    except ShapeError:
        return set()


@settings(max_examples=100, deadline=None)
@given(single_layers())
def test_each_symbolic_warning_names_exactly_the_sizes_it_applies_to(spec):
    kind, framework, rank, options = spec
    try:
        layer = build_layer(kind, framework, rank, **options)
        result = forward(layer, ("H",) * rank)
    except (InputError, ShapeError):
        assume(False)
    for warning in result.warnings:
        match = re.fullmatch(r"(?:when (.+?), e\.g\. H = \d+|at H = (\d+)|for every H, e\.g\. H = \d+): (.+)", warning)
        text = match[3] if match else warning  # a warning without numbers, for every H
        where = described(match[1]) if match and match[1] else (
            (lambda n, at=int(match[2]): n == at) if match and match[2] else described(None))
        key = re.sub(r"-?\d+", "#", text)
        assert [n for n in range(1, 121) if where(n) != (key in warned(layer, n))] == [], warning
    every = set().union(*(warned(layer, n) for n in range(1, 121)))
    named = {re.sub(r"-?\d+", "#", w.split(": ", 1)[1] if w.startswith(("when ", "at H", "for every")) else w)
             for w in result.warnings}
    assert every <= named, every - named


def test_onnx_ceil_mode_pool_warns_at_h_1_only():
    result = forward(build_layer("maxpool", "onnx", 1, kernel=3, stride=2, ceil_mode=True), ("H",))
    assert result.warnings == ("at H = 1: onnx shape inference gives 1 on axis 0, ORT 0",
                               "at H = 1: the output size is 0: ORT MaxPool returns an empty tensor")


# ---- display: simplified for reading, equal in value ----------------------------------------------------

R = sympy.Rational


@pytest.mark.parametrize("expr, shown", [
    (sympy.floor(H / 2 - R(1, 2)) + 1, "ceil(H/2)"),
    (2 * sympy.floor(H / 2 - R(5, 2)) + 3, "2*ceil(H/2) - 3"),
    (sympy.floor(H / 2 - R(3, 2)) + 1, "ceil(H/2) - 1"),
    (sympy.ceiling(H / 3 - R(2, 3)), "floor(H/3)"),
    (sympy.floor(H / 4 + R(1, 4)), "floor((H + 1)/4)"),
    (16 * sympy.floor(H / 16), "16*floor(H/16)"),
])
def test_display_simplifies_the_named_cases(expr, shown):
    from tconvcalc.symbolic import display

    assert display(expr) == shown
    assert all(value(shown, n) == expr.subs(H, n) for n in range(1, 400))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(-20, 20), st.integers(1, 9), st.integers(-9, 9), st.booleans(), st.booleans())
def test_display_equals_the_expression_at_every_h(p, q, b, c, ceil, square):
    from tconvcalc.symbolic import display

    rounding = sympy.ceiling if ceil else sympy.floor
    expr = c * rounding((p * H + q) / b) + q
    expr = expr ** 2 if square else expr
    shown = display(expr)
    assert len(shown) <= len(str(expr).replace("ceiling", "ceil")) + 2, (expr, shown)
    for n in range(1, 120):
        assert value(shown, n) == expr.subs(H, n), (expr, shown, n)


def test_symbolic_chain_sizes_read_simplified(run_json):
    code, data, _ = run_json("chain", "H", "conv k7 s2 p3 | maxpool k3 s2 p1 | conv k3 s2 p1")
    assert code == 0
    assert [step["output"] for step in data["steps"]] == [["ceil(H/2)"], ["ceil(H/4)"], ["ceil(H/8)"]]
    for n in range(1, 300):  # the numbers through the same chain
        _, numeric, _ = run_json("chain", n, "conv k7 s2 p3 | maxpool k3 s2 p1 | conv k3 s2 p1") if n % 37 == 1 \
            else (None, None, None)
        if numeric:
            assert [value(s["output"][0], n) for s in data["steps"]] == [s["output"][0] for s in numeric["steps"]]
