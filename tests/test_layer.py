"""Parsing what users type: one clear InputError naming the value and the rule."""

import pytest

from tconvcalc import InputError, build_layer
from tconvcalc.layer import parse_padding, parse_size


def test_sizes_and_symbols():
    assert parse_size("126") == (126,)
    assert parse_size("8x126x126") == (8, 126, 126)
    assert parse_size("126×100") == (126, 100)
    assert parse_size("HxW") == ("H", "W")


@pytest.mark.parametrize("text, phrase", [
    ("0", "size must be positive, got 0"),
    ("-3", "size must be positive, got -3"),
    ("12.5", "must be an integer, got '12.5'"),
    ("4x", "size '4x' is malformed"),
    ("1x2x3x4", "has 4 axes"),
    ("1000000000000000000", "too large"),
    ("2**10", "must be an integer"),
    ("__import__('os')", "must be an integer"),
])
def test_bad_sizes(text, phrase):
    with pytest.raises(InputError, match=None) as error:
        parse_size(text)
    assert phrase in str(error.value)


def test_padding_forms():
    assert parse_padding("same", 2) == "same"
    assert parse_padding("1", 2) == ((1, 1), (1, 1))
    assert parse_padding("1:2x0", 2) == ((1, 2), (0, 0))
    with pytest.raises(InputError, match="unknown padding 'full'"):
        parse_padding("full", 1)


@pytest.mark.parametrize("kwargs, phrase", [
    (dict(kind="conv", kernel=3, output_padding=1), "--output-padding does not apply to conv"),
    (dict(kind="conv", kernel=3, ceil_mode=True), "--ceil-mode does not apply to conv"),
    (dict(kind="upsample", kernel=3, scale=2), "-k/--kernel does not apply to upsample"),
    (dict(kind="conv"), "conv needs a kernel size"),
    (dict(kind="conv", kernel="3x3"), "kernel '3x3' has 2 axes but the size has 1"),
    (dict(kind="conv", kernel=0), "kernel must be positive, got 0"),
    (dict(kind="conv", kernel=3, stride=0), "stride must be positive, got 0"),
    (dict(kind="upsample", scale="nan"), "scale must be positive and finite"),
    (dict(kind="pixelshuffle", scale=1.5), "one integer upscale factor"),
    (dict(kind="nonsense", kernel=3), "unknown layer 'nonsense'"),
    (dict(kind="conv", framework="caffe", kernel=3), "unknown framework 'caffe'"),
])
def test_bad_layers(kwargs, phrase):
    with pytest.raises(InputError) as error:
        build_layer(rank=1, **kwargs)
    assert phrase in str(error.value)


def test_defaults_follow_the_framework():
    assert build_layer("maxpool", "torch", 2, kernel=3).stride == (3, 3)
    assert build_layer("conv", "torch", 1, kernel=3).padding == ((0, 0),)
    assert build_layer("convT", "deconv".replace("deconv", "torch"), 1, kernel=3).stride == (1,)
