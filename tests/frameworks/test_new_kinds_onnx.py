"""Differential tests against onnxruntime (the truth for ONNX): depthwise and separable convs (Conv with group = C,
then a 1x1 Conv), LpPool (p, auto_pad, pads, dilations and ceil_mode, opset 22) and SpaceToDepth -- forward()'s
size or refusal against ORT running the node, and verify()'s values against ORT's."""

import os
import random

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.frameworks.onnx import OPSET
from tconvcalc.layer import build_layer

np = pytest.importorskip("numpy")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))
C = 2
AUTO_PAD = {"valid": "VALID", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


def _run(nodes, shape, kind, weights=()):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, name) for name, w in weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET[kind])])
    model.ir_version = 10
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return tuple(session.run(None, {"X": np.random.rand(*shape).astype(np.float32)})[0].shape[2:])
    except Exception:  # ORT's Fail / InvalidArgument / RuntimeException
        return "refused"


def _ours(kind, rank, options, size):
    try:
        return tuple(forward(build_layer(kind, "onnx", rank, **options), size).output)
    except ShapeError:
        return "exit 1"
    except InputError:
        return "exit 2"


def _padding(rng, rank):
    """(our -p, ORT's attributes)."""
    word = rng.choice(["pads", "pads", "valid", "same_upper", "same_lower"])
    if word != "pads":
        return word, {"auto_pad": AUTO_PAD[word]}
    pads = [rng.randint(0, 2) for _ in range(2 * rank)]
    return "x".join(f"{b}:{a}" for b, a in zip(pads[:rank], pads[rank:])), {"pads": pads}


def _agree(got, expected):
    return got == expected or expected == "refused" and got in ("exit 1", "exit 2")


def test_lppool_matches_onnxruntime():
    rng = random.Random(11)
    outcomes = set()
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        k = [rng.randint(1, 4) for _ in range(rank)]
        s = [rng.randint(1, 3) for _ in range(rank)]
        d = [rng.randint(1, 2) for _ in range(rank)]
        ceil = rng.random() < 0.5
        padding, attrs = _padding(rng, rank)
        node = helper.make_node("LpPool", ["X"], ["Y"], kernel_shape=k, strides=s, dilations=d, ceil_mode=int(ceil),
                                p=rng.choice([1, 2, 3]), **attrs)
        expected = _run([node], (1, C, *size), "lppool")
        options = {"kernel": "x".join(map(str, k)), "stride": "x".join(map(str, s)),
                   "dilation": "x".join(map(str, d)), "padding": padding, "ceil_mode": ceil}
        got = _ours("lppool", rank, options, size)
        assert _agree(got, expected), (size, options, got, expected)
        outcomes.add(isinstance(got, tuple))
    assert outcomes == {True, False}


def test_depthwise_and_separable_match_onnxruntime():
    rng = random.Random(12)
    for _ in range(N):
        rank = rng.randint(1, 3)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        k = [rng.randint(1, 4) for _ in range(rank)]
        s = [rng.randint(1, 3) for _ in range(rank)]
        d = [rng.randint(1, 2) for _ in range(rank)]
        padding, attrs = _padding(rng, rank)
        kind = rng.choice(["depthwise", "separable"])
        weights = [("W", np.ones((2 * C, 1, *k), np.float32))]
        nodes = [helper.make_node("Conv", ["X", "W"], ["D" if kind == "separable" else "Y"], kernel_shape=k,
                                  strides=s, dilations=d, group=C, **attrs)]
        if kind == "separable":
            weights.append(("P", np.ones((3, 2 * C, *[1] * rank), np.float32)))
            nodes.append(helper.make_node("Conv", ["D", "P"], ["Y"], kernel_shape=[1] * rank))
        expected = _run(nodes, (1, C, *size), kind, weights)
        options = {"kernel": "x".join(map(str, k)), "stride": "x".join(map(str, s)),
                   "dilation": "x".join(map(str, d)), "padding": padding}
        got = _ours(kind, rank, options, size)
        assert _agree(got, expected), (kind, size, options, got, expected)


def test_space_to_depth_matches_onnxruntime():
    rng = random.Random(13)
    outcomes = set()
    for _ in range(N):
        size = (rng.randint(1, 12), rng.randint(1, 12))
        r = rng.randint(1, 4)
        expected = _run([helper.make_node("SpaceToDepth", ["X"], ["Y"], blocksize=r)], (1, C, *size),
                        "pixelunshuffle")
        got = _ours("pixelunshuffle", 2, {"scale": r}, size)
        assert _agree(got, expected), (size, r, got, expected)
        outcomes.add(isinstance(got, tuple))
    assert outcomes == {True, False}
    assert _ours("pixelunshuffle", 3, {"scale": 2}, (4, 4, 4)) == "exit 2"  # Input tensor must be 4-dimensional


def test_verify_values_match_onnxruntime():
    from tconvcalc.numeric.verify import verify

    rng = random.Random(14)
    ran = 0
    while ran < 40:
        kind = rng.choice(["depthwise", "separable", "lppool", "pixelunshuffle"])
        rank = 2 if kind == "pixelunshuffle" else rng.randint(1, 3)
        size = tuple(rng.randint(1, 9) for _ in range(rank))
        if kind == "pixelunshuffle":
            options = {"scale": rng.randint(1, 3)}
        else:
            options = {"kernel": rng.randint(1, 3), "stride": rng.randint(1, 2), "dilation": rng.randint(1, 2),
                       "padding": _padding(rng, rank)[0]}
            if kind == "lppool":
                options["ceil_mode"] = rng.random() < 0.5
        try:
            layer = build_layer(kind, "onnx", rank, **options)
            if 0 in forward(layer, size).output:
                continue
        except (ShapeError, InputError):
            continue
        result = verify(layer, size, channels=(2, 4))
        assert result.ok, (kind, size, options, result.failures)
        assert result.framework_max_abs_diff is not None, result.framework_note
        ran += 1
