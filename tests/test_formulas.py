"""The formula shown per axis (issue 11): for SAME, ONNX auto_pad and JAX the canonical form with the applied
pads as numbers and the total pad beside it -- not a nest of trunc(⌈…⌉) --, and every text evaluates to the
very numbers the framework's rules computed."""

import random

import pytest
import sympy

from tconvcalc import build_layer, forward
from tconvcalc.errors import TconvError

WORDS = {"torch": ["same", "1", "0"], "keras": ["same", "valid"], "tf": ["same", "valid"],
         "jax": ["same", "same_lower", "valid"], "onnx": ["same_upper", "same_lower", "valid", "1"]}


def evaluate(text):
    """Our own formula text as a number (test code: never user text)."""
    for ours, theirs in (("⌊", "floor("), ("⌋", ")"), ("⌈", "ceiling("), ("⌉", ")"), ("×", "*"), ("max(", "Max("), ("min(", "Min("),
                         (" mod ", "%")):
        text = text.replace(ours, theirs)
    return sympy.sympify(text, locals={"trunc": lambda x: sympy.Integer(int(x))})  # C++ division: toward zero


def cases(count, seed):
    rng = random.Random(seed)
    while count:
        framework = rng.choice(sorted(WORDS))
        kind = rng.choice(["conv", "convT", "maxpool", "avgpool"])
        options = dict(kernel=rng.randint(1, 7), stride=rng.randint(1, 4), padding=rng.choice(WORDS[framework]))
        try:
            layer = build_layer(kind, framework, 1, **options)
            result = forward(layer, (rng.randint(1, 60),))
        except TconvError:
            continue
        if result.output is None:
            continue
        count -= 1
        yield framework, kind, options, result


@pytest.mark.parametrize("seed", range(4))
def test_every_formula_gives_the_output_and_every_total_the_pads(seed):
    for framework, kind, options, result in cases(60, seed):
        ax = result.axes[0]
        left, _, right = ax.formula.rpartition(" = ")
        assert int(right) == ax.output and evaluate(left) == ax.output, (framework, kind, options, ax)
        if ax.pad_formula is not None:
            left, _, right = ax.pad_formula.rpartition(" = ")
            assert int(right) == sum(ax.pads) and evaluate(left) == sum(ax.pads), (framework, kind, options, ax)


@pytest.mark.parametrize("seed", range(2))
def test_padding_words_read_short(seed):
    for framework, kind, options, result in cases(60, 10 + seed):
        ax = result.axes[0]
        if options["padding"] in ("same", "same_upper", "same_lower"):
            assert "trunc" not in ax.formula and len(ax.formula) <= 50, (framework, kind, options, ax.formula)


@pytest.mark.parametrize("framework, padding, formula, pad_formula", [
    ("tf", "same", "⌈126/2⌉ = 63", "(63-1)×2+1×(3-1)+1-126 = 1"),
    ("onnx", "same_upper", "⌈126/2⌉ = 63", "(63-1)×2+1×(3-1)+1-126 = 1"),
    ("jax", "same_lower", "⌈126/2⌉ = 63", "(63-1)×2+1×(3-1)+1-126 = 1"),
])
def test_same_conv_shows_the_output_and_the_total_pad(framework, padding, formula, pad_formula):
    ax = forward(build_layer("conv", framework, 1, kernel=3, stride=2, padding=padding), (126,)).axes[0]
    assert (ax.formula, ax.pad_formula) == (formula, pad_formula)
    assert ax.pads == ((1, 0) if padding == "same_lower" else (0, 1))


def test_jax_transposed_formula_is_the_conv_over_the_dilated_input():
    ax = forward(build_layer("convT", "jax", 1, kernel=3, stride=2, padding="same"), (126,)).axes[0]
    assert ax.formula == "(126-1)×2+2+1-1×(3-1)+1 = 252"


def test_cli_table_and_explain_show_the_total_pad(run):
    code, out, _ = run("forward", 126, "-l", "conv", "-k", 3, "-s", 2, "-f", "onnx", "-p", "same_upper", "--explain")
    assert code == 0 and "trunc" not in out
    assert "total pad (63-1)×2+1×(3-1)+1-126 = 1: 0 before, 1 after" in out


def test_json_has_the_pad_formula(run_json):
    _, data, _ = run_json("forward", 126, "-l", "conv", "-k", 3, "-s", 2, "-f", "tf", "-p", "same")
    assert data["axes"][0]["pad_formula"] == "(63-1)×2+1×(3-1)+1-126 = 1"
    _, data, _ = run_json("forward", 126, "-l", "conv", "-k", 3, "-s", 2, "-p", 1)
    assert data["axes"][0]["pad_formula"] is None
