"""Differential tests against Keras 3 on its three backends: DepthwiseConv1D/2D and SeparableConv1D/2D --
forward()'s size or refusal against keras building the layer in a Model and running it. Each backend runs in a
subprocess (KERAS_BACKEND is read once per process), one per backend for the whole list of configurations;
verify()'s values are compared on the default (tensorflow) backend."""

import json
import os
import random
import subprocess
import sys

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.frameworks.tf import REFERENCE_EQUAL_STRIDES
from tconvcalc.layer import build_layer

N = int(os.environ.get("TCONVCALC_DIFF_N", "200"))
C = 2


def _configs(seed, count):
    rng = random.Random(seed)
    configs = []
    for _ in range(count):
        rank = rng.choice([1, 2, 2, 3])
        per_axis = lambda low, high: [rng.randint(low, high) for _ in range(rank)]  # noqa: E731
        stride = per_axis(1, 3) if rng.random() < 0.3 else [rng.randint(1, 3)] * rank
        configs.append({"kind": rng.choice(["depthwise", "separable"]), "size": per_axis(1, 9),
                        "kernel": per_axis(1, 4), "strides": stride, "dilation": per_axis(1, 2),
                        "padding": rng.choice(["valid", "same", "causal"]) if rng.random() < 0.9 else 1})
    return configs


def keras_outcomes(configs):
    """Each config: the output size, 'constructor' (the layer refuses its arguments) or 'refused' (a Model refuses
    it, or running it does)."""
    import numpy as np

    import keras

    results = []
    for c in configs:
        rank = len(c["size"])
        try:
            if c["kind"] == "depthwise":
                layer = getattr(keras.layers, f"DepthwiseConv{rank}D")(
                    c["kernel"], strides=c["strides"], padding=c["padding"], dilation_rate=c["dilation"])
            else:
                layer = getattr(keras.layers, f"SeparableConv{rank}D")(
                    3, c["kernel"], strides=c["strides"], padding=c["padding"], dilation_rate=c["dilation"])
        except (AttributeError, ValueError, TypeError):
            results.append("constructor")
            continue
        try:
            model = keras.Model(inputs := keras.Input((*c["size"], C)), layer(inputs))
            y = model(np.zeros((1, *c["size"], C), "float32"))
            results.append(list(y.shape[1:-1]))
        except Exception:  # noqa: BLE001 -- ValueError from the Model, the backend's own error from running it
            results.append("refused")
    return results


def _ours(c, backend):
    options = {"kernel": "x".join(map(str, c["kernel"])), "stride": "x".join(map(str, c["strides"])),
               "dilation": "x".join(map(str, c["dilation"])), "padding": str(c["padding"])}
    try:
        layer = build_layer(c["kind"], "keras", len(c["size"]), backend=backend, **options)
        result = forward(layer, tuple(c["size"]))
        return list(result.output), result.warnings
    except ShapeError as error:
        return "refused", error.warnings
    except InputError:
        return "constructor", ()


def _run_keras(backend, configs, onednn="1"):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": onednn}
    code = ("import json, sys; sys.path.insert(0, %r); from test_new_kinds_keras import keras_outcomes; "
            "print(json.dumps(keras_outcomes(json.load(sys.stdin))))" % os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(configs), capture_output=True, text=True,
                          env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend, onednn", [("tensorflow", "1"), ("tensorflow", "0"), ("jax", "1"), ("torch", "1")])
def test_depthwise_and_separable_match_keras(backend, onednn):
    """TF's kernels both ways (oneDNN is the default on x86 CPUs where TF enables it): where the reference
    kernel alone refuses, our answer is oneDNN's and the warning names the reference kernel."""
    pytest.importorskip("keras")
    pytest.importorskip({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
    configs = _configs(31, N)
    outcomes = _run_keras(backend, configs, onednn)
    for c, expected in zip(configs, outcomes):
        ours, warned = _ours(c, backend)
        if expected == "refused" and onednn == "0" and REFERENCE_EQUAL_STRIDES in warned:
            continue
        assert ours == expected, (backend, onednn, c, ours, expected, warned)
    assert {isinstance(o, list) for o in outcomes} == {True, False}
    # strides with dilation, which Conv2D refuses, run here on every backend
    assert any(isinstance(o, list) and max(c["strides"]) > 1 and max(c["dilation"]) > 1
               for c, o in zip(configs, outcomes))


def test_verify_values_match_keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the values are compared on the default backend")
    from tconvcalc.numeric.verify import verify

    rng = random.Random(32)
    ran = 0
    while ran < 30:
        kind, rank = rng.choice(["depthwise", "separable"]), rng.randint(1, 2)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 2), "dilation": rng.randint(1, 2),
                   "padding": rng.choice(["valid", "same"])}
        try:
            layer = build_layer(kind, "keras", rank, **options)
            if 0 in forward(layer, size).output:
                continue
        except (ShapeError, InputError):
            continue
        result = verify(layer, size, channels=(2, 4))
        assert result.ok, (kind, size, options, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        ran += 1
