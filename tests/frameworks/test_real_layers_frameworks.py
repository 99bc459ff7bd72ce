"""Differential tests: the layers real models use against the real frameworks -- adaptive/global pools, flatten
into linear, upsample to a size, pad to another node's size, grouped convs and their channel checks, and the
broadcasting of add/mul. Each framework is imported where installed; the Keras backends run in subprocesses
(KERAS_BACKEND is read once per process), one per backend for a whole list of configurations."""

import json
import os
import random
import re
import subprocess
import sys

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer
from tconvcalc.network import build, chain, is_valid, make_network, parse_inline

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))


def _outcome(fn):
    try:
        return tuple(fn())
    except (ShapeError, InputError, RuntimeError, ValueError, TypeError) as error:
        return type(error).__name__


def _adaptive_cases(rng, count, allow_none=True, allow_zero=True):
    for _ in range(count):
        rank = rng.randint(1, 3)
        sizes = tuple(rng.randint(1, 13) for _ in range(rank))
        outputs = tuple(None if allow_none and rng.random() < 0.15 else
                        rng.randint(0 if allow_zero else 1, 15) for _ in range(rank))
        yield rng.choice(["adaptiveavgpool", "adaptivemaxpool"]), sizes, outputs


# ---- torch ------------------------------------------------------------------------------------------


def test_torch_adaptive_pools_match_torch():
    torch = pytest.importorskip("torch")
    rng = random.Random(0)
    for kind, sizes, outputs in _adaptive_cases(rng, N):
        rank = len(sizes)
        if rng.random() < 0.1:  # an empty input axis, as a previous layer may leave
            sizes = tuple(0 if i == 0 else n for i, n in enumerate(sizes))
        name = ("AdaptiveAvgPool" if kind == "adaptiveavgpool" else "AdaptiveMaxPool") + f"{rank}d"
        module = getattr(torch.nn, name)(outputs if rank > 1 else outputs[0])
        expected = _outcome(lambda: module(torch.zeros(1, 2, *sizes)).shape[2:])
        layer = build_layer(kind, "torch", rank, output_size=list(outputs))
        got = _outcome(lambda: forward(layer, sizes).output)
        assert (got == "ShapeError") == (expected == "RuntimeError"), (kind, sizes, outputs, got, expected)
        assert (got == "InputError") == (expected == "TypeError"), (kind, sizes, outputs, got, expected)
        if isinstance(expected, tuple):
            assert got == expected, (kind, sizes, outputs)
            if 0 in expected:
                assert forward(layer, sizes).warnings, "an empty result is warned"


def test_torch_adaptive_pool_refusal_in_torchs_words():
    torch = pytest.importorskip("torch")
    for rank, kind in [(1, "adaptiveavgpool"), (2, "adaptivemaxpool"), (3, "adaptiveavgpool")]:
        sizes = (0,) + (4,) * (rank - 1)
        name = ("AdaptiveAvgPool" if kind == "adaptiveavgpool" else "AdaptiveMaxPool") + f"{rank}d"
        with pytest.raises(RuntimeError) as real:
            getattr(torch.nn, name)(2)(torch.zeros(1, 3, *sizes))
        with pytest.raises(ShapeError) as ours:
            forward(build_layer(kind, "torch", rank, output_size=2), sizes)
        # ours names the channels C where torch has the number
        assert str(ours.value).replace("C", "3") == str(real.value)


def test_torch_upsample_to_a_size_matches_interpolate():
    torch = pytest.importorskip("torch")
    rng = random.Random(1)
    for _ in range(50):
        rank = rng.randint(1, 3)
        sizes, target = (tuple(rng.randint(1, 12) for _ in range(rank)) for _ in range(2))
        real = torch.nn.functional.interpolate(torch.zeros(1, 1, *sizes), size=target).shape[2:]
        assert forward(build_layer("upsample", "torch", rank, output_size=list(target)), sizes).output == tuple(real)


def _vgg_like(rng):
    """A random conv/pool stack into flatten and linear, in the inline language and in torch."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    rank, c = rng.randint(1, 2), rng.randint(1, 3)
    text, modules = [], []
    conv, pool = getattr(nn, f"Conv{rank}d"), getattr(nn, f"MaxPool{rank}d")
    for _ in range(rng.randint(1, 3)):
        k, p, out = rng.choice([1, 3]), rng.choice([0, 1]), rng.randint(1, 4)
        text.append(f"conv k{k} p{p} c{out} in={c}")
        modules.append(conv(c, out, k, padding=p))
        s = rng.choice([2, 3])
        text.append(f"maxpool k{s}")
        modules.append(pool(s))
        c = out
    side = rng.randint(1, 4)
    features = c * side ** rank
    text += ["flatten", f"linear in={features} c3"]
    modules += [nn.Flatten(), nn.Linear(features, 3)]
    return rank, " | ".join(text), nn.Sequential(*modules)


def test_torch_flatten_into_linear_valid_sizes_match_torch():
    torch = pytest.importorskip("torch")
    rng = random.Random(2)
    for _ in range(12):
        rank, text, model = _vgg_like(rng)
        built = build(parse_inline(text), rank)
        channels = model[0].in_channels
        for n in range(1, 90):
            try:
                with torch.no_grad():
                    model(torch.zeros(1, channels, *(n,) * rank))
                real = True
            except RuntimeError:
                real = False
            assert is_valid(built, (n,) * rank) == real, (text, n)


def test_torch_linear_mismatch_message_is_torchs():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(200, 10))
    with pytest.raises(RuntimeError) as real:
        model(torch.zeros(1, 3, 10, 10))
    with pytest.raises(ShapeError) as ours:
        chain(parse_inline("conv k3 c8 in=3 | flatten | linear in=200 c10"), (10, 10))
    assert str(real.value) in str(ours.value)  # mat1 and mat2 shapes cannot be multiplied (1x512 and 200x10)


def test_torch_linear_on_the_last_axis_matches_torch():
    torch = pytest.importorskip("torch")
    rng = random.Random(3)
    for _ in range(40):
        sizes = (rng.randint(1, 6), rng.randint(1, 6))
        in_features = rng.choice([sizes[-1], sizes[-1] + 1])
        real = _outcome(lambda: torch.nn.Linear(in_features, 5)(torch.zeros(1, 4, *sizes)).shape[2:])
        ours = _outcome(lambda: chain(parse_inline(f"conv k1 c4 in=2 | linear in={in_features} c5"), sizes).output)
        assert (ours == "ShapeError") == (real == "RuntimeError") and (real == "RuntimeError" or ours == real)


def _torch_channel_error(torch, kind, c_in, built_for, c_out, groups, rank=2):
    nn = torch.nn
    try:
        module = (getattr(nn, f"Conv{rank}d") if kind == "conv" else getattr(nn, f"ConvTranspose{rank}d"))(
            built_for, c_out, 3, groups=groups)
        module(torch.zeros(1, c_in, *(5,) * rank))
    except (RuntimeError, ValueError) as error:
        return str(error)
    return None


def test_torch_conv_channel_checks_match_torch():
    torch = pytest.importorskip("torch")
    rng = random.Random(4)
    for _ in range(N):
        kind = rng.choice(["conv", "convT"])
        c_in, built_for, c_out, groups = (rng.randint(1, 8) for _ in range(4))
        if rng.random() < 0.5:
            built_for = c_in
        real = _torch_channel_error(torch, kind, c_in, built_for, c_out, groups)
        text = f"e: conv k1 c{c_in} in=1 | {kind} k3 c{c_out} in={built_for} g={groups}"
        try:
            chain(parse_inline(text), (5, 5))
            ours = None
        except ShapeError as error:
            ours = str(error)
        assert (ours is None) == (real is None), (text, real, ours)
        if real is not None and "expected input" in real:  # ours shows the spatial sizes as '...'
            assert re.sub(r"input\[1, (\d+), [\d, ]+\]", r"input[1, \1, ...]", real) in ours
        elif real is not None:
            assert real in ours


def test_torch_add_and_mul_broadcast_as_torch_does():
    torch = pytest.importorskip("torch")
    rng = random.Random(5)
    for _ in range(N):
        shapes = [(rng.choice([1, 2, 3]), rng.choice([1, 2, 3]), rng.choice([1, 3])) for _ in range(2)]
        op = rng.choice(["add", "mul"])
        (ca, ha, wa), (cb, hb, wb) = shapes
        real = _outcome(lambda: (torch.zeros(1, ca, ha, wa) + torch.zeros(1, cb, hb, wb)).shape[1:])
        text = (f"a0: conv k1 c{ca} in=2 | a: adaptiveavgpool out={ha}x{wa} | b0: conv k1 c{cb} input=input | "
                f"b: adaptiveavgpool out={hb}x{wb} | {op} a")
        try:
            step = chain(parse_inline(text), (6, 6)).steps[-1]
            ours = (step.channels, *step.output)
        except ShapeError:
            ours = "ShapeError"
        assert (ours == "ShapeError") == (real == "RuntimeError"), (shapes, real, ours)
        if real != "RuntimeError":
            assert ours == real


def test_torch_pad_like_is_the_unet_idiom():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = random.Random(6)
    for _ in range(60):
        small, large = (rng.randint(1, 9), rng.randint(1, 9)), (rng.randint(1, 9), rng.randint(1, 9))
        x1, x2 = torch.arange(small[0] * small[1], dtype=torch.float32).reshape(1, 1, *small), \
            torch.zeros(1, 1, *large)
        diff_y, diff_x = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        padded = functional.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        text = (f"e: adaptiveavgpool out={large[0]}x{large[1]} | s: adaptiveavgpool out={small[0]}x{small[1]} "
                "input=input | pad like=e")
        assert chain(parse_inline(text), (9, 9)).output == tuple(padded.shape[2:])


# ---- keras (every backend) --------------------------------------------------------------------------


def _keras_worker(configs):
    """Run in a subprocess: each config's output shape, refusal, or whether NaN came out."""
    import numpy as np
    import keras

    results = []
    for c in configs:
        kind = "Average" if c["kind"] == "adaptiveavgpool" else "Max"
        rank = len(c["sizes"])
        try:
            layer = getattr(keras.layers, f"Adaptive{kind}Pooling{rank}D")(
                c["outputs"][0] if rank == 1 else tuple(c["outputs"]))
            x = np.random.default_rng(0).uniform(1, 2, (1, *c["sizes"], 1)).astype("float32")
            y = np.asarray(layer(x))
            results.append({"shape": list(y.shape[1:-1]), "nan": bool(np.isnan(y).any())})
        except Exception as error:  # noqa: BLE001 -- each backend raises its own type
            results.append({"error": type(error).__name__})
    return results


def _run_keras(backend, configs, onednn=None):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    code = ("import json, sys; sys.path.insert(0, %r); from test_real_layers_frameworks import _keras_worker; "
            "print(json.dumps(_keras_worker(json.load(sys.stdin))))" % os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(configs), capture_output=True, text=True,
                          env=env, timeout=600)
    return done.returncode, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _keras_crashes(kind, sizes, outputs):
    """The tensorflow backend's max pool window of ceil(n/out) + 1 past the last axis (see frameworks/keras.py)."""
    return kind == "adaptivemaxpool" and (sizes[-1] == 1 or outputs[-1] == 1)


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_keras_adaptive_pools_match_keras(backend):
    pytest.importorskip("keras")
    pytest.importorskip({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
    rng = random.Random(7)
    cases = [(kind, sizes, outputs) for kind, sizes, outputs in _adaptive_cases(rng, 120, allow_none=False)
             if not (backend == "tensorflow" and _keras_crashes(kind, sizes, outputs))]
    if backend == "jax":  # windows whose float32 bounds round past the pools
        cases += [("adaptivemaxpool", (7,), (7,)), ("adaptiveavgpool", (3, 7), (7, 7))]
    code, out = _run_keras(backend, [{"kind": k, "sizes": s, "outputs": o} for k, s, o in cases])
    assert code == 0, out
    results = json.loads(out)
    assert backend != "jax" or {r.get("nan") for r in results} >= {True, False}
    for (kind, sizes, outputs), real in zip(cases, results):
        layer = build_layer(kind, "keras", len(sizes), output_size=list(outputs), backend=backend)
        try:
            result = forward(layer, sizes)
        except InputError:
            assert "error" in real, (kind, sizes, outputs, real)  # output 0: refused on every backend
            continue
        assert "error" not in real and tuple(real["shape"]) == result.output, (kind, sizes, outputs, real)
        assert real["nan"] == any("NaN" in w for w in result.warnings), (backend, kind, sizes, outputs, real)


def test_keras_tensorflow_backend_adaptive_max_pool_crash_is_what_the_warning_says():
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    crash, runs = ("adaptivemaxpool", (5, 5), (3, 1)), ("adaptivemaxpool", (5, 5), (1, 3))
    for onednn, (kind, sizes, outputs), crashes in [("1", crash, True), ("0", crash, False), ("1", runs, False)]:
        code, _ = _run_keras("tensorflow", [{"kind": kind, "sizes": sizes, "outputs": outputs}], onednn)
        assert (code != 0) == crashes, (onednn, sizes, outputs, code)
        warned = forward(build_layer(kind, "keras", 2, output_size=list(outputs)), sizes).warnings
        assert bool(warned) == crashes or onednn == "0"
        assert not crashes or "crashes" in warned[0]


def test_keras_add_and_multiply_broadcast():
    keras = pytest.importorskip("keras")
    rng = random.Random(8)
    for _ in range(40):
        (ha, wa), (hb, wb) = ((rng.choice([1, 2, 3]), rng.choice([1, 3])) for _ in range(2))
        merge = rng.choice(["add", "mul"])
        layer = keras.layers.Add() if merge == "add" else keras.layers.Multiply()
        real = _outcome(lambda: layer([keras.Input((ha, wa, 4)), keras.Input((hb, wb, 4))]).shape[1:3])
        items = [{"layer": "conv", "kernel": 1, "channels": 4, "in_channels": 2},
                 {"layer": "adaptiveavgpool", "output_size": f"{ha}x{wa}", "name": "a"},
                 {"layer": "conv", "kernel": 1, "channels": 4, "input": "input"},
                 {"layer": "adaptiveavgpool", "output_size": f"{hb}x{wb}"}, {"layer": merge, "with": "a"}]
        ours = _outcome(lambda: chain(make_network(items, "keras", keras.backend.backend()), (6, 6)).output)
        assert (ours == "ShapeError") == (real == "ValueError"), ((ha, wa), (hb, wb), real, ours)
        if real != "ValueError":
            assert ours == real


# ---- tf, jax, onnx ----------------------------------------------------------------------------------


def test_tf_grouped_conv_runs_in_1d_and_2d_and_is_refused_in_3d():
    tf = pytest.importorskip("tensorflow")
    for rank in (1, 2, 3):
        x, w = tf.zeros((1, *(6,) * rank, 4)), tf.zeros((*(3,) * rank, 2, 6))
        op = {1: tf.nn.conv1d, 2: tf.nn.conv2d, 3: tf.nn.conv3d}[rank]
        strides = 1 if rank < 3 else [1] * 5
        try:
            real = tuple(op(x, w, strides, "VALID").shape[1:-1])
        except tf.errors.InvalidArgumentError:
            real = "refused"
        ours = _outcome(lambda: forward(build_layer("conv", "tf", rank, kernel=3, groups=2), (6,) * rank).output)
        assert ours == real or (real, ours) == ("refused", "ShapeError"), (rank, real, ours)


def test_tf_global_pool_and_resize():
    tf = pytest.importorskip("tensorflow")
    x = tf.zeros((1, 7, 5, 3))
    assert tuple(tf.reduce_mean(x, axis=[1, 2], keepdims=True).shape[1:3]) == \
        forward(build_layer("globalavgpool", "tf", 2), (7, 5)).output
    assert tuple(tf.image.resize(x, size=[9, 4], method="nearest").shape[1:3]) == \
        forward(build_layer("upsample", "tf", 2, output_size="9x4"), (7, 5)).output


def test_jax_resize_any_rank_and_global_pool():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rng = random.Random(9)
    for _ in range(20):
        rank = rng.randint(1, 3)
        sizes, target = (tuple(rng.randint(1, 8) for _ in range(rank)) for _ in range(2))
        real = jax.image.resize(jnp.zeros((1, 2, *sizes)), (1, 2, *target), method="nearest").shape[2:]
        assert forward(build_layer("upsample", "jax", rank, output_size=list(target)), sizes).output == real
        pooled = jnp.max(jnp.zeros((1, 2, *sizes)), axis=tuple(range(2, rank + 2)), keepdims=True).shape[2:]
        assert forward(build_layer("globalmaxpool", "jax", rank), sizes).output == pooled


def test_onnx_global_pools_and_resize_sizes_in_onnxruntime():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np
    from onnx import TensorProto, helper

    rng = random.Random(10)
    for _ in range(12):
        rank = rng.randint(1, 3)
        sizes, target = (tuple(rng.randint(1, 7) for _ in range(rank)) for _ in range(2))
        op = rng.choice(["GlobalAveragePool", "GlobalMaxPool", "Resize"])
        inputs = ["X", "", "", "sizes"] if op == "Resize" else ["X"]
        initializers = [helper.make_tensor("sizes", TensorProto.INT64, [rank + 2], [1, 2, *target])] \
            if op == "Resize" else []
        graph = helper.make_graph(
            [helper.make_node(op, inputs, ["Y"], **({"mode": "nearest"} if op == "Resize" else {}))], "g",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2, *sizes])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        real = session.run(None, {"X": np.zeros((1, 2, *sizes), np.float32)})[0].shape[2:]
        layer = build_layer("upsample", "onnx", rank, output_size=list(target)) if op == "Resize" else \
            build_layer("globalavgpool" if op == "GlobalAveragePool" else "globalmaxpool", "onnx", rank)
        assert forward(layer, sizes).output == tuple(real), (op, sizes, target)


# ---- verify runs the adaptive pools against each framework ------------------------------------------


@pytest.mark.parametrize("framework", ["torch", "tf", "jax", "onnx", "keras"])
def test_verify_adaptive_pools_against_the_framework(framework):
    pytest.importorskip("numpy")
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "jax": "jax", "onnx": "onnxruntime",
                         "keras": "keras"}[framework])
    if framework == "keras":
        import keras

        if keras.backend.backend() != "tensorflow":
            pytest.skip("the keras runner compares on the backend keras runs here")
    from tconvcalc.numeric.verify import verify

    rng = random.Random(11)
    compared = 0
    for kind, sizes, outputs in _adaptive_cases(rng, 40, allow_none=framework == "torch", allow_zero=False):
        if framework in ("tf", "jax", "onnx"):
            outputs = (1,) * len(sizes)
        if framework == "torch" and len(sizes) == 1 and outputs == (None,):
            continue
        if framework == "keras" and _keras_crashes(kind, sizes, outputs):
            continue
        layer = build_layer(kind, framework, len(sizes), output_size=list(outputs))
        result = verify(layer, sizes, channels=(3, 3), batch=2, seed=compared)
        assert result.ok, (kind, sizes, outputs, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        compared += 1
    assert compared >= 20


# ---- depthwise convs ----------------------------------------------------------------------------------


def _depthwise_cases(rng, count, rank):
    """Strides with dilation left out: Keras DepthwiseConv takes them where Conv(groups=) refuses (tconvcalc
    answers Conv's rule), and tf.nn.depthwise_conv2d only warns that its strides must then be 1."""
    for _ in range(count):
        sizes = tuple(rng.randint(1, 12) for _ in range(rank))
        kernel = tuple(rng.randint(1, 4) for _ in range(rank))
        stride = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rank))
        dilation = tuple(rng.choice([1, 1, 2]) for _ in range(rank))
        if max(stride) > 1 and max(dilation) > 1:
            dilation = (1,) * rank
        yield sizes, kernel, stride, dilation, rng.choice(["valid", "same"])


def _text(values):
    return "x".join(map(str, values))


def test_keras_depthwise_conv_matches_the_grouped_conv_tconvcalc_writes_as_it():
    keras = pytest.importorskip("keras")
    rng = random.Random(12)
    for rank in (1, 2):
        for sizes, kernel, stride, dilation, padding in _depthwise_cases(rng, 60, rank):
            try:
                real = tuple(getattr(keras.layers, f"DepthwiseConv{rank}D")(
                    kernel, strides=stride, padding=padding, dilation_rate=dilation, depth_multiplier=2)(
                    keras.Input((*sizes, 3))).shape[1:-1])
            except ValueError:
                real = "refused"
            items = [{"layer": "conv", "kernel": _text(kernel), "stride": _text(stride), "dilation": _text(dilation),
                      "padding": padding, "groups": 3, "in_channels": 3, "channels": 6}]
            try:
                result = chain(make_network(items, "keras", keras.backend.backend()), sizes)
                ours = result.output
                assert result.steps[0].code.startswith(f"layers.DepthwiseConv{rank}D(")
            except ShapeError:
                ours = "refused"
            assert ours == real, (sizes, kernel, stride, dilation, padding)


def test_tf_depthwise_conv2d_matches_the_grouped_conv_tconvcalc_writes_as_it():
    tf = pytest.importorskip("tensorflow")
    rng = random.Random(13)
    for sizes, kernel, stride, dilation, padding in _depthwise_cases(rng, 80, 2):
        try:
            real = tuple(tf.nn.depthwise_conv2d(tf.zeros((1, *sizes, 3)), tf.zeros((*kernel, 3, 2)),
                                                [1, *stride, 1], padding.upper(), dilations=list(dilation)).shape[1:3])
            real = real if all(real) else "empty"
        except (tf.errors.InvalidArgumentError, ValueError):
            real = "refused"
        items = [{"layer": "conv", "kernel": _text(kernel), "stride": _text(stride), "dilation": _text(dilation),
                  "padding": padding, "groups": 3, "in_channels": 3, "channels": 6}]
        try:
            result = chain(make_network(items, "tf"), sizes)
            ours = result.output if all(result.output) else "empty"
            assert result.steps[0].code.startswith("tf.nn.depthwise_conv2d(")
        except ShapeError:
            ours = "refused"
        if ours == "empty":  # oneDNN's wrong non-empty shape is forward's warning (tests/frameworks/test_tf.py)
            assert "oneDNN" in result.warnings[0]
            continue
        if real == "refused" and ours != "refused" and stride[0] != stride[1]:  # the reference kernel, warned
            assert any("equal length strides" in w for w in result.warnings), result.warnings
            continue
        assert ours == real, (sizes, kernel, stride, dilation, padding)


def test_verify_upsample_to_a_size_against_torch():
    pytest.importorskip("numpy")
    pytest.importorskip("torch")
    from tconvcalc.numeric.verify import verify

    rng = random.Random(14)
    for seed in range(40):
        rank = rng.randint(1, 3)
        sizes, target = (tuple(rng.randint(1, 9) for _ in range(rank)) for _ in range(2))
        mode = rng.choice(["nearest", "bilinear"]) if rank == 2 else "nearest"
        result = verify(build_layer("upsample", "torch", rank, output_size=list(target)), sizes, seed=seed, mode=mode)
        assert result.ok and result.framework_max_abs_diff is not None, (sizes, target, mode, result.failures)
