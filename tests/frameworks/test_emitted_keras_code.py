"""convert's Keras code, run by Keras: for random torch conv / convT layers that Keras needs an extra pad/crop
for, the emitted layers.ZeroPadding{r}D / Cropping{r}D lines and the VALID layer run as written (channels last)
and give the source's output size."""

import os
import random
import re

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")
layers = keras.layers

C_IN, C_OUT = 2, 3
COUNT = 30


def _sources(seed):
    rng = random.Random(seed)
    while True:
        kind = rng.choice(["conv", "convT"])
        rank = rng.choice([1, 2, 3])
        size = [rng.randint(3, 9) for _ in range(rank)]
        k, s = rng.randint(1, 5), rng.randint(1, 3)
        options = ["-k", k, "-s", s, "-p", rng.randint(0, 3)]
        if kind == "convT":
            options += ["--output-padding", rng.randint(0, s - 1)]
        yield kind, "x".join(map(str, size)), size, options


def _run(code, extra, kind, size):
    """The emitted lines as a user runs them: the pad before a conv, the crop after a convT."""
    layer_line = code.splitlines()[0].replace("(filters,", f"({C_OUT},", 1)
    layer = eval(layer_line, {}, {"layers": layers})  # noqa: S307 -- our own output, parsed by the test
    x = np.random.default_rng(0).normal(size=(1, *size, C_IN)).astype("float32")
    names = {"layers": layers}
    if kind == "conv":
        names["x"] = x
        exec(extra, {}, names)  # noqa: S102
        return tuple(layer(names["x"]).shape)
    names["y"] = layer(x)
    exec(extra, {}, names)  # noqa: S102
    return tuple(names["y"].shape)


def test_keras_pad_and_crop_layers_run_and_give_the_source_size(run_json):
    checked, seen = 0, set()
    for kind, text, size, options in _sources("emitted-keras"):
        code, source, _ = run_json("forward", text, "-f", "torch", "-l", kind, *options)
        if code != 0:
            continue
        code, data, _ = run_json("convert", text, "-l", kind, "-f", "torch", "--to", "keras", *options)
        if code != 0 or data["verdict"] != "extra":
            continue
        extra = data["extra"]
        assert "keras.ops" not in extra and "[:" not in extra, extra  # layers, not ops or slices
        seen |= set(re.findall(r"layers\.(ZeroPadding|Cropping)(\d)D", extra))
        assert _run(data["code"], extra, kind, size) == (1, *source["output"], C_OUT), (kind, size, options, extra)
        checked += 1
        if checked == COUNT:
            break
    assert {layer for layer, _ in seen} == {"ZeroPadding", "Cropping"} and {r for _, r in seen} == {"1", "2", "3"}


@pytest.mark.parametrize("pads, expected", [
    (((1, 0),), ["x = layers.ZeroPadding1D(padding=(1, 0))(x)"]),
    (((-1, 0), (0, -2)), ["x = layers.Cropping2D(cropping=((1, 0), (0, 2)))(x)"]),
    (((2, -1), (0, 0), (1, 1)), ["x = layers.ZeroPadding3D(padding=((2, 0), (0, 0), (1, 1)))(x)",
                                 "x = layers.Cropping3D(cropping=((0, 1), (0, 0), (0, 0)))(x)"]),
])
def test_pad_code_splits_pads_and_crops_into_the_two_layers(pads, expected):
    from tconvcalc.numeric.convert import apply_pads, pad_code

    assert pad_code("keras", pads, "x").splitlines() == expected
    x = np.random.default_rng(1).normal(size=(1, *(5,) * len(pads), 1)).astype("float32")
    names = {"layers": layers, "x": x}
    exec(pad_code("keras", pads, "x"), {}, names)  # noqa: S102
    # the same values as the executor's pad/crop (channels first there)
    want = apply_pads(np.moveaxis(x, -1, 1).astype("float64"), pads)
    assert np.allclose(np.moveaxis(np.asarray(names["x"]), -1, 1), want)
