"""The closed-form plan (strides, dilations, kernels and pads pruned before any framework call) against brute
force over random bounds: every framework, conv/convT/pools/unpool, refusals included -- a bound that cuts off
one solution fails here."""

import random

import pytest

from tconvcalc.layer import FRAMEWORKS
from tconvcalc.solve import Bounds, brute_force, closed_form


def _solved(n, target, framework, kind, bounds):
    try:
        return closed_form(n, target, framework, kind, bounds)
    except KeyError:  # the framework has no such layer
        return set()


def _brute(n, target, framework, kind, bounds):
    try:
        return brute_force(n, target, framework, kind, bounds)
    except KeyError:
        return set()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", ["conv", "convT", "maxpool", "avgpool", "unpool"])
def test_pruned_search_equals_brute_force_over_random_bounds(framework, kind):
    rng = random.Random(f"bounds-{framework}-{kind}")
    solved = 0
    for _ in range(14):
        bounds = Bounds(kernel=rng.randint(1, 6), stride=rng.randint(1, 4), dilation=1 if kind == "unpool" else rng.randint(1, 3),  # unpool has none

                        padding=rng.randint(0, 3))
        n = rng.choice((rng.randint(1, 6), rng.randint(7, 40)))
        if kind in ("convT", "unpool"):
            target = max(1, n * rng.randint(1, 4) + rng.randint(-3, 3))
        else:
            target = max(1, n // rng.randint(1, 4) + rng.randint(-2, 2))
        expected = _brute(n, target, framework, kind, bounds)
        assert _solved(n, target, framework, kind, bounds) == expected, (n, target, bounds)
        solved += bool(expected)
    assert solved or kind == "unpool" and framework not in ("torch", "onnx")
