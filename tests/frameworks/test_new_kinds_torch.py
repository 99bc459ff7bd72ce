"""Differential tests against torch: depthwise and separable convs (Conv with groups = in_channels, then a 1x1
Conv), LPPool1d/2d/3d and PixelUnshuffle -- forward()'s size or refusal against torch running the layer, and
verify()'s values against torch's."""

import os
import random

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer

torch = pytest.importorskip("torch")

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))
C = 2


def _ours(layer_args, size):
    """Our size, or which refusal: 'exit 1' (ShapeError) or 'exit 2' (InputError)."""
    try:
        return tuple(forward(build_layer(*layer_args[:3], **layer_args[3]), size).output)
    except ShapeError:
        return "exit 1"
    except InputError:
        return "exit 2"


def _theirs(make, x):
    """torch's size; 'exit 2' where the constructor takes no such argument (TypeError), 'refused' where it refuses
    a combination (ValueError: padding='same' with strides, as tconvcalc's conv says with exit 1), 'exit 1' where
    running refuses."""
    try:
        module = make()
    except TypeError:
        return "exit 2"
    except ValueError:
        return "refused"
    try:
        with torch.no_grad():
            return tuple(module(x).shape[2:])
    except RuntimeError:
        return "exit 1"


def _agree(got, expected):
    return got == expected or expected == "refused" and got in ("exit 1", "exit 2")


def _padding(rng):
    return rng.choice([0, 1, 2, "same", "valid"])


def test_depthwise_and_separable_match_torch():
    rng = random.Random(1)
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(rng.randint(1, 10) for _ in range(rank))
        k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        padding, mode = _padding(rng), rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
        kind = rng.choice(["depthwise", "separable"])
        options = {"kernel": k, "stride": s, "dilation": d, "padding": padding}
        if kind == "depthwise":
            options["padding_mode"] = mode
        else:
            mode = "zeros"
        conv = getattr(torch.nn, f"Conv{rank}d")

        def make():
            depthwise = conv(C, 2 * C, k, stride=s, padding=padding, dilation=d, groups=C, padding_mode=mode)
            return depthwise if kind == "depthwise" else torch.nn.Sequential(depthwise, conv(2 * C, 3, 1))

        expected = _theirs(make, torch.zeros(1, C, *size))
        got = _ours((kind, "torch", rank, options), size)
        assert _agree(got, expected), (kind, size, options, got, expected)


def test_lppool_matches_torch():
    rng = random.Random(2)
    refused = 0
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(rng.randint(1, 10) for _ in range(rank))
        k, s, ceil = rng.randint(1, 4), rng.choice([None, 1, 2, 3]), rng.random() < 0.5
        options = {"kernel": k, "stride": s, "ceil_mode": ceil}
        expected = _theirs(lambda: getattr(torch.nn, f"LPPool{rank}d")(2, k, stride=s, ceil_mode=ceil),
                           torch.rand(1, C, *size))
        got = _ours(("lppool", "torch", rank, options), size)
        assert _agree(got, expected), (size, options, got, expected)
        refused += not isinstance(got, tuple)
    assert refused, "some configurations are refused"
    # torch's LPPool has no padding and no dilation: its constructor takes neither (exit 2)
    for extra in ({"padding": 1}, {"dilation": 2}):
        assert _ours(("lppool", "torch", 2, {"kernel": 2, **extra}), (8, 8)) == "exit 2"


def test_pixel_unshuffle_matches_torch():
    rng = random.Random(3)
    outcomes = set()
    for _ in range(N):
        size = (rng.randint(1, 12), rng.randint(1, 12))
        r = rng.randint(1, 4)
        expected = _theirs(lambda: torch.nn.PixelUnshuffle(r), torch.zeros(1, C, *size))
        got = _ours(("pixelunshuffle", "torch", 2, {"scale": r}), size)
        assert _agree(got, expected), (size, r, got, expected)
        outcomes.add(isinstance(got, tuple))
    assert outcomes == {True, False}
    assert _ours(("pixelunshuffle", "torch", 1, {"scale": 2}), (8,)) == "exit 2"


def test_verify_values_match_torch():
    """The executor's depthwise/separable conv, LP pool and pixel unshuffle against torch's values."""
    from tconvcalc.numeric.verify import verify

    pytest.importorskip("numpy")
    rng = random.Random(4)
    ran = 0
    while ran < 40:
        kind = rng.choice(["depthwise", "separable", "lppool", "pixelunshuffle"])
        rank = 2 if kind == "pixelunshuffle" else rng.randint(1, 3)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        if kind == "pixelunshuffle":
            options = {"scale": rng.randint(1, 3)}
        elif kind == "lppool":
            options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 3), "ceil_mode": rng.random() < 0.5}
        else:
            options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 2), "dilation": rng.randint(1, 2),
                       "padding": rng.choice([0, 1, "same"])}
        try:
            layer = build_layer(kind, "torch", rank, **options)
            forward(layer, size)
        except (ShapeError, InputError):
            continue
        result = verify(layer, size, channels=(2, 4))
        assert result.ok, (kind, size, options, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        ran += 1
