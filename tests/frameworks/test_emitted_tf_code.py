"""The tf.nn code tconvcalc emits, run by TensorFlow: for random conv / convT layers the call runs with a filter of
the shape the code's comment gives (tf.nn.convNd: (k..., C_in, C_out); convNd_transpose: (k..., C_out, C_in)) and
gives the output forward() predicts. C_in != C_out, so a filter with its channels the wrong way round fails."""

import os
import random
import re

import pytest

tf = pytest.importorskip("tensorflow")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
C_IN, C_OUT = 2, 3
COUNT = 40


def _configs(seed):
    rng = random.Random(seed)
    for _ in range(COUNT * 3):
        kind = rng.choice(["conv", "convT"])
        rank = rng.choice([1, 2, 2, 3])
        size = [rng.randint(1, 9) for _ in range(rank)]
        kernel = [rng.randint(1, 5) for _ in range(rank)]
        stride = rng.randint(1, 3)
        options = ["-k", "x".join(map(str, kernel)), "-s", stride, "-p", rng.choice(["valid", "same"])]
        if kind == "conv" and stride == 1 and rng.random() < 0.3:
            options += ["-d", 2]
        yield kind, size, options, rng


def _emitted(run_json, kind, size, options, rng):
    """(code, output size) of one layer, the output chosen among TF's accepted ones for a convT."""
    code, data, _ = run_json("forward", "x".join(map(str, size)), "-f", "tf", "-l", kind, *options)
    if code != 0:
        return None
    if data["output"] is None:  # conv_transpose: the caller passes output_shape
        chosen = [rng.choice(accepted) for accepted in data["accepted_outputs"]]
        code, data, _ = run_json("forward", "x".join(map(str, size)), "-f", "tf", "-l", kind, *options,
                                 "--output-size", "x".join(map(str, chosen)))
        assert code == 0
    return data["code"], data["output"]


def _run(code, size):
    """Run one emitted line: the call on x, w built from the comment's shape."""
    call, shape = re.fullmatch(r"(tf\.nn\.\w+\(x, w, .*\))  # w: (\(.*\))", code).groups()
    names = {"tf": tf, "N": 1, "C_in": C_IN, "C_out": C_OUT}
    # our own output, parsed by the test: the shape tuple and the call's literal arguments
    w = tf.random.normal(eval(shape, {}, names))  # noqa: S307
    x = tf.random.normal([1, *size, C_IN])
    return tuple(eval(call, {}, {**names, "x": x, "w": w}).shape)  # noqa: S307


def test_random_tf_conv_and_conv_transpose_code_runs_and_gives_the_predicted_shape(run_json):
    checked = 0
    for kind, size, options, rng in _configs("emitted-tf"):
        emitted = _emitted(run_json, kind, size, options, rng)
        if emitted is None:  # refused (exit 1): nothing to run
            continue
        code, output = emitted
        assert re.search(r"# w: \(", code), code
        assert _run(code, size) == (1, *output, C_OUT), (code, size)
        checked += 1
        if checked == COUNT:
            break
    assert checked == COUNT


def test_the_filter_shape_tells_kernels_apart_and_follows_tf_layouts(run_json):
    codes = {k: run_json("forward", "8x8", "-f", "tf", "-l", "convT", "-k", k, "-s", 2, "-p", "same")[1]["code"]
             for k in (4, 5)}
    assert codes[4] != codes[5]
    assert codes[4].endswith("# w: (4, 4, C_out, C_in)") and codes[5].endswith("# w: (5, 5, C_out, C_in)")
    conv = run_json("forward", "8x8x8", "-f", "tf", "-l", "conv", "-k", "3x4x5")[1]["code"]
    assert conv.endswith("# w: (3, 4, 5, C_in, C_out)")


def test_a_tf_chain_runs_layer_by_layer_with_numbered_filters(run):
    code, out, err = run("chain", "16x16", "conv k3 p=same in=2 c3 | conv k3 s2 c4 | conv k1 c5", "-f", "tf",
                         "--emit")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert [re.search(r"# (w\d):", line)[1] for line in lines] == ["w1", "w2", "w3"]
    x = tf.random.normal([1, 16, 16, 2])
    for line in lines:  # x = tf.nn.conv2d(x, w1, ...)  # w1: (3, 3, 2, 3)
        call, name, shape = re.fullmatch(r"x = (.*)  # (w\d): (\(.*\))", line).groups()
        w = tf.random.normal(eval(shape))  # noqa: S307
        x = eval(call, {}, {"tf": tf, "x": x, name: w})  # noqa: S307
    assert tuple(x.shape) == (1, 7, 7, 5)
