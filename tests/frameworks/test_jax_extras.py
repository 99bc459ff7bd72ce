"""Differential tests against jax for the options only jax has: lax.conv_general_dilated with lhs_dilation
(--input-dilation), lax.reduce_window with base_dilation and window_dilation (pools: --input-dilation, -d), and
lax.conv_transpose(use_consistent_padding=True) (--consistent-padding) -- forward()'s size or refusal against jax
running the op on random configurations, and verify()'s values where the executor runs the layer."""

import os
import random

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "200"))
C = 2
RUN_EVERY = 6
WORDS = ["valid", "same", "same_lower"]


def _text(values):
    return "x".join(str(v) for v in values)


def _padding(rng, rank, low=-1, high=2, words=WORDS):
    """(our -p, jax's padding)."""
    if rng.random() < 0.4:
        word = rng.choice(words)
        return word, word.upper()
    pairs = [(rng.randint(low, high), rng.randint(low, high)) for _ in range(rank)]
    return _text(f"{b}:{a}" for b, a in pairs), pairs


def _numbers(rank):
    spatial = "DHW"[-rank:] if rank > 1 else "H"
    return f"NC{spatial}", f"OI{spatial}", f"NC{spatial}"


def _ours(kind, rank, options, size):
    try:
        return tuple(forward(build_layer(kind, "jax", rank, **options), size).output)
    except ShapeError:
        return "exit 1"
    except InputError:
        return "exit 2"


_CALLS = [0]


def _theirs(op, *shapes, **kwargs):
    """The op's output shape for arrays of these shapes: run on zeros every RUN_EVERY-th call, else traced with
    jax.eval_shape (the same Python argument checks and shape rules, without compiling: a compile per shape is
    0.1-0.2 s here)."""
    _CALLS[0] += 1
    try:
        if _CALLS[0] % RUN_EVERY == 0:
            return tuple(op(*(np.zeros(shape, np.float32) for shape in shapes), **kwargs).shape[2:])
        structs = [jax.ShapeDtypeStruct(shape, jnp.float32) for shape in shapes]
        return tuple(jax.eval_shape(lambda *arrays: op(*arrays, **kwargs), *structs).shape[2:])
    except (TypeError, ValueError, NotImplementedError):  # jax's refusals of the arguments or the shapes
        return "refused"


def _agree(got, expected):
    return got == expected or expected == "refused" and got in ("exit 1", "exit 2")


def _axes(rng, rank, low, high):
    return [rng.randint(low, high) for _ in range(rank)]


def test_conv_general_dilated_lhs_dilation_matches_jax():
    rng = random.Random(61)
    outcomes = set()
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(_axes(rng, rank, 1, 7))
        k, s, d, ld = _axes(rng, rank, 1, 4), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 2), _axes(rng, rank, 1, 3)
        ours_padding, padding = _padding(rng, rank, low=-3, high=2)
        expected = _theirs(lax.conv_general_dilated, (1, C, *size), (1, C, *k),
                           window_strides=s, padding=padding, lhs_dilation=ld, rhs_dilation=d,
                           dimension_numbers=_numbers(rank))
        options = {"kernel": _text(k), "stride": _text(s), "dilation": _text(d), "padding": ours_padding,
                   "input_dilation": _text(ld)}
        got = _ours("conv", rank, options, size)
        assert _agree(got, expected), (size, options, got, expected)
        outcomes.add(got if isinstance(got, str) else "size")
    assert outcomes >= {"size", "exit 2"}  # sizes, and the string padding jax refuses with lhs_dilation


@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
def test_reduce_window_base_and_window_dilation_match_jax(kind):
    rng = random.Random(62 if kind == "maxpool" else 63)
    outcomes = set()
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(_axes(rng, rank, 1, 7))
        k, s, d, ld = _axes(rng, rank, 1, 4), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 3)
        low = 0 if all(kj == 1 for kj in k) else -1  # a window of 1 with a negative pad aborts jax (we warn)
        ours_padding, padding = _padding(rng, rank, low=low, high=2)
        jax_padding = padding if isinstance(padding, str) else [(0, 0), (0, 0), *padding]
        init, op = (-jnp.inf, lax.max) if kind == "maxpool" else (0.0, lax.add)
        expected = _theirs(lambda x: lax.reduce_window(x, init, op, (1, 1, *k), (1, 1, *s), jax_padding,
                                                       base_dilation=(1, 1, *ld), window_dilation=(1, 1, *d)),
                           (1, C, *size))
        options = {"kernel": _text(k), "stride": _text(s), "dilation": _text(d), "padding": ours_padding,
                   "input_dilation": _text(ld)}
        got = _ours(kind, rank, options, size)
        assert _agree(got, expected), (kind, size, options, got, expected)
        outcomes.add("empty" if isinstance(got, tuple) and 0 in got else "size" if isinstance(got, tuple) else got)
    assert outcomes >= {"size", "empty"}


def test_conv_transpose_consistent_padding_matches_jax():
    rng = random.Random(64)
    outcomes = set()
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(_axes(rng, rank, 1, 7))
        k, s, d = _axes(rng, rank, 1, 4), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 2)
        ours_padding, padding = _padding(rng, rank, low=-1, high=4, words=["valid", "same", "same_lower", "same_upper"])
        if not isinstance(padding, str):
            padding = [tuple(pair) for pair in padding]  # _conv_transpose_padding takes (lo, hi) tuples
        expected = _theirs(lax.conv_transpose, (1, C, *size), (1, C, *k), strides=s,
                           padding=padding, rhs_dilation=d, dimension_numbers=_numbers(rank),
                           use_consistent_padding=True)
        options = {"kernel": _text(k), "stride": _text(s), "dilation": _text(d), "padding": ours_padding,
                   "consistent_padding": True}
        got = _ours("convT", rank, options, size)
        assert _agree(got, expected), (size, options, got, expected)
        outcomes.add(got if isinstance(got, str) else "size")
    assert outcomes >= {"size", "exit 2"}  # sizes, and the padding words use_consistent_padding refuses


def test_consistent_padding_is_torchs_size():
    """use_consistent_padding=True with pads p: torch's ConvTranspose size (i-1)s + d(k-1) + 1 - 2p, run by jax."""
    torch_size = lambda n, k, s, d, p: (n - 1) * s + d * (k - 1) + 1 - 2 * p  # noqa: E731
    for n, k, s, d, p in [(10, 4, 2, 1, 1), (7, 3, 3, 2, 0), (5, 5, 1, 1, 2), (9, 2, 2, 3, 1)]:
        ran = lax.conv_transpose(jnp.zeros((1, 1, n)), jnp.ones((1, 1, k)), (s,), ((p, p),), rhs_dilation=(d,),
                                 dimension_numbers=_numbers(1), use_consistent_padding=True).shape[2]
        ours = forward(build_layer("convT", "jax", 1, kernel=k, stride=s, dilation=d, padding=p,
                                   consistent_padding=True), (n,)).output[0]
        assert ours == ran == torch_size(n, k, s, d, p)


def test_verify_values_match_jax():
    """verify() runs the dilated pools and the consistent-padding convT in jax and in the executor."""
    pytest.importorskip("numpy")
    from tconvcalc.numeric.verify import verify

    rng = random.Random(65)
    checked = 0
    for _ in range(14):
        rank = rng.randint(1, 2)
        size = tuple(_axes(rng, rank, 3, 8))
        kind = rng.choice(["maxpool", "avgpool", "convT"])
        k, s, d = _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 2), _axes(rng, rank, 1, 2)
        options = {"kernel": _text(k), "stride": _text(s), "dilation": _text(d),
                   "padding": _text(f"{rng.randint(0, 1)}:{rng.randint(0, 1)}" for _ in range(rank))}
        if kind == "convT":
            options["consistent_padding"] = True
        try:
            layer = build_layer(kind, "jax", rank, **options)
            if 0 in forward(layer, size).output:
                continue  # an empty output has no values to compare
        except (ShapeError, InputError):
            continue
        checked += 1
        result = verify(layer, size)
        assert result.ok and result.framework_max_abs_diff is not None, (kind, size, options, result.failures)
    assert checked >= 7
