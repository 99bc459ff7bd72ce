"""Differential tests against TensorFlow: tf.nn.depthwise_conv2d, tf.nn.separable_conv2d and tf.nn.space_to_depth
-- forward()'s size or refusal against TF running the op, in the default install (oneDNN on x86) in process and
with the reference CPU kernels (TF_ENABLE_ONEDNN_OPTS=0) in a subprocess: here the two agree; and verify()'s
values against TF's."""

import json
import os
import random
import subprocess
import sys
import warnings

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.frameworks.tf import REFERENCE_EQUAL_STRIDES
from tconvcalc.layer import build_layer

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))
C = 2


def _configs(seed, count):
    rng = random.Random(seed)
    configs = []
    for _ in range(count):
        kind = rng.choice(["depthwise", "separable", "space_to_depth"])
        size = [rng.randint(1, 10), rng.randint(1, 10)]
        if kind == "space_to_depth":
            configs.append({"kind": kind, "size": size, "block": rng.randint(1, 4)})
            continue
        stride = rng.randint(1, 3)
        strides = [stride, stride] if rng.random() < 0.8 else [rng.randint(1, 3), rng.randint(1, 3)]
        dilation = rng.randint(1, 2)
        padding = rng.choice(["VALID", "SAME", "explicit"])
        if padding == "explicit":
            padding = [[rng.randint(-1 if rng.random() < 0.1 else 0, 2) for _ in range(2)] for _ in range(2)]
        configs.append({"kind": kind, "size": size, "kernel": [rng.randint(1, 4), rng.randint(1, 4)],
                        "strides": strides, "dilation": dilation, "padding": padding})
    return configs


def tf_outcomes(configs):
    """Each config's output size as TF gives it, or 'refused'."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    results = []
    for c in configs:
        x = tf.zeros([1, *c["size"], C])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # strides with dilations: nn_impl's UserWarning
                if c["kind"] == "space_to_depth":
                    y = tf.nn.space_to_depth(x, c["block"])
                else:
                    w = tf.ones([*c["kernel"], C, 2])
                    padding = c["padding"] if isinstance(c["padding"], str) else [[0, 0], *c["padding"], [0, 0]]
                    strides, dilations = [1, *c["strides"], 1], [c["dilation"]] * 2
                    if c["kind"] == "depthwise":
                        y = tf.nn.depthwise_conv2d(x, w, strides, padding, dilations=dilations)
                    else:
                        y = tf.nn.separable_conv2d(x, w, tf.ones([1, 1, 2 * C, 3]), strides, padding,
                                                   dilations=dilations)
            results.append(list(y.shape[1:3]))
        except Exception:  # InvalidArgumentError, ValueError
            results.append("refused")
    return results


def _ours(c):
    try:
        if c["kind"] == "space_to_depth":
            layer = build_layer("space_to_depth", "tf", 2, scale=c["block"])
        else:
            padding = c["padding"].lower() if isinstance(c["padding"], str) else \
                "x".join(f"{b}:{a}" for b, a in c["padding"])
            layer = build_layer(c["kind"], "tf", 2, kernel="x".join(map(str, c["kernel"])),
                                stride="x".join(map(str, c["strides"])), dilation=c["dilation"], padding=padding)
        result = forward(layer, tuple(c["size"]))
        return list(result.output), result.warnings
    except (ShapeError, InputError) as error:
        return "refused", getattr(error, "warnings", ())


def _compare(configs, outcomes, mode):
    for c, expected in zip(configs, outcomes):
        ours, warned = _ours(c)
        if expected == "refused" and mode == "reference kernels" and REFERENCE_EQUAL_STRIDES in warned:
            continue
        if ours != expected and mode != "reference kernels":  # where oneDNN differs, the warning says so
            assert any("oneDNN" in w for w in warned), (c, ours, expected, warned)
            continue
        assert ours == expected, (mode, c, ours, expected)
    assert {isinstance(o, list) for o in outcomes} == {True, False}


def _outcomes_with(configs, onednn):
    """TF's outcomes with oneDNN on or off, in a subprocess (whether it is on by default depends on the CPU)."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
    code = ("import json, sys; sys.path.insert(0, %r); from test_new_kinds_tf import tf_outcomes; "
            "print(json.dumps(tf_outcomes(json.load(sys.stdin))))" % os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(configs), capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_depthwise_separable_space_to_depth_match_tf_default_kernels():
    pytest.importorskip("tensorflow")
    configs = _configs(21, N)
    _compare(configs, _outcomes_with(configs, "1"), "default (oneDNN)")


def test_depthwise_separable_space_to_depth_match_tf_reference_kernels():
    """The reference kernel refuses unequal strides, which oneDNN runs: our answer is oneDNN's, warned."""
    pytest.importorskip("tensorflow")
    configs = _configs(22, N)
    _compare(configs, _outcomes_with(configs, "0"), "reference kernels")


def test_strided_dilated_depthwise_is_warned():
    layer = build_layer("depthwise", "tf", 2, kernel=3, stride=2, dilation=2)
    assert any("strides must be 1" in w for w in forward(layer, (20, 20)).warnings)
    assert not forward(build_layer("depthwise", "tf", 2, kernel=3, stride=2), (20, 20)).warnings


def test_verify_values_match_tf():
    pytest.importorskip("tensorflow")
    from tconvcalc.numeric.verify import verify

    rng = random.Random(23)
    ran = 0
    while ran < 30:
        kind = rng.choice(["depthwise", "separable", "pixelunshuffle"])
        size = (rng.randint(1, 9), rng.randint(1, 9))
        if kind == "pixelunshuffle":
            options = {"scale": rng.randint(2, 3)}
        else:
            options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 2), "dilation": 1,
                       "padding": rng.choice(["valid", "same", "1:0x0:2"])}
        try:
            layer = build_layer(kind, "tf", 2, **options)
            if 0 in forward(layer, size).output:
                continue
        except (ShapeError, InputError):
            continue
        result = verify(layer, size, channels=(2, 4))
        assert result.ok, (kind, size, options, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        ran += 1
