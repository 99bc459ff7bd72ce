"""Differential tests against jax: a depthwise conv is lax.conv_general_dilated with feature_group_count = C (a
separable one then a 1x1 conv) -- forward()'s size or refusal against jax running it, and verify()'s values."""

import os
import random

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))
C = 2


def _padding(rng, rank):
    """(our -p, jax's padding)."""
    if rng.random() < 0.5:
        word = rng.choice(["valid", "same", "same_lower"])
        return word, word.upper()
    pairs = [(rng.randint(-1, 2), rng.randint(-1, 2)) for _ in range(rank)]
    return "x".join(f"{b}:{a}" for b, a in pairs), pairs


def test_depthwise_and_separable_match_jax():
    rng = random.Random(41)
    outcomes = set()
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        k, s, d = ([rng.randint(low, high) for _ in range(rank)] for low, high in ((1, 4), (1, 3), (1, 2)))
        ours_padding, padding = _padding(rng, rank)
        kind = rng.choice(["depthwise", "separable"])
        spatial = "DHW"[-rank:] if rank > 1 else "H"
        numbers = (f"NC{spatial}", f"OI{spatial}", f"NC{spatial}")
        try:
            y = lax.conv_general_dilated(jnp.zeros((1, C, *size)), jnp.ones((2 * C, 1, *k)), window_strides=s,
                                         padding=padding, rhs_dilation=d, dimension_numbers=numbers,
                                         feature_group_count=C)
            if kind == "separable":
                y = lax.conv_general_dilated(y, jnp.ones((3, 2 * C, *[1] * rank)), (1,) * rank, "VALID",
                                             dimension_numbers=numbers)
            expected = tuple(y.shape[2:])
        except (TypeError, ValueError):
            expected = "refused"
        options = {"kernel": "x".join(map(str, k)), "stride": "x".join(map(str, s)),
                   "dilation": "x".join(map(str, d)), "padding": ours_padding}
        try:
            got = tuple(forward(build_layer(kind, "jax", rank, **options), size).output)
        except (ShapeError, InputError):
            got = "refused"
        assert got == expected, (kind, size, options, got, expected)
        outcomes.add(isinstance(got, tuple))
    assert outcomes == {True, False}


def test_verify_values_match_jax():
    from tconvcalc.numeric.verify import verify

    rng = random.Random(42)
    ran = 0
    while ran < 30:
        kind, rank = rng.choice(["depthwise", "separable"]), rng.randint(1, 3)
        size = tuple(rng.randint(1, 8) for _ in range(rank))
        options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 2), "dilation": rng.randint(1, 2),
                   "padding": _padding(rng, rank)[0]}
        try:
            layer = build_layer(kind, "jax", rank, **options)
            if 0 in forward(layer, size).output:
                continue
        except (ShapeError, InputError):
            continue
        result = verify(layer, size, channels=(2, 4))
        assert result.ok, (kind, size, options, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        ran += 1
