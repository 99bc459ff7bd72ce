"""Differential tests against onnxruntime for AveragePool with dilations (an attribute since opset 19; tconvcalc
emits opset 22): forward()'s size or refusal against ORT running the node that forward()'s own emitted code builds,
over random kernels, strides, dilations, pads, auto_pad words and ceil_mode; the warning where onnx shape
inference disagrees with ORT; and verify()'s values against ORT's."""

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
from onnx import TensorProto, helper  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "300"))
C = 2
AUTO_PAD = {"valid": "VALID", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


def _model(node, shape, opset):
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return model


def _run(model, shape):
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return tuple(session.run(None, {"X": np.random.rand(*shape).astype(np.float32)})[0].shape[2:])
    except Exception:  # ORT's Fail / InvalidArgument / RuntimeException
        return "refused"


def _inferred(model):
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception:  # noqa: BLE001 -- onnx raises its own InferenceError
        return None
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    return tuple(d.dim_value for d in dims[2:]) if dims and all(d.HasField("dim_value") for d in dims) else None


def _config(rng):
    rank = rng.randint(1, 3)
    size = tuple(rng.randint(1, 9) for _ in range(rank))
    k = [rng.randint(1, 4) for _ in range(rank)]
    s = [rng.randint(1, 3) for _ in range(rank)]
    d = [rng.randint(1, 3) for _ in range(rank)]
    word = rng.choice(["pads", "pads", "pads", "valid", "same_upper", "same_lower"])
    padding = word if word != "pads" else "x".join(f"{rng.randint(0, 3)}:{rng.randint(0, 3)}" for _ in range(rank))
    options = {"kernel": "x".join(map(str, k)), "stride": "x".join(map(str, s)), "dilation": "x".join(map(str, d)),
               "padding": padding, "ceil_mode": rng.random() < 0.4}
    return rank, size, options


def _attrs(rank, options):
    """ORT's attributes for the same options, written independently of tconvcalc's code()."""
    ints = lambda text: [int(v) for v in text.split("x")]  # noqa: E731
    attrs = {"kernel_shape": ints(options["kernel"]), "strides": ints(options["stride"]),
             "dilations": ints(options["dilation"]), "ceil_mode": int(options["ceil_mode"])}
    if options["padding"] in AUTO_PAD:
        attrs["auto_pad"] = AUTO_PAD[options["padding"]]
    else:
        pairs = [[int(v) for v in pair.split(":")] for pair in options["padding"].split("x")]
        attrs["pads"] = [b for b, _ in pairs] + [a for _, a in pairs]
    return attrs


def test_averagepool_dilations_match_onnxruntime():
    rng = random.Random(71)
    outcomes = set()
    for _ in range(N):
        rank, size, options = _config(rng)
        shape = (1, C, *size)
        expected = _run(_model(helper.make_node("AveragePool", ["X"], ["Y"], **_attrs(rank, options)), shape,
                               OPSET["avgpool"]), shape)
        try:
            result = forward(build_layer("avgpool", "onnx", rank, **options), size)
            got = tuple(result.output)
        except (ShapeError, InputError):
            got = "refused"
        assert got == expected, (size, options, got, expected)
        outcomes.add("empty" if got != "refused" and 0 in got else "size" if got != "refused" else got)
    assert outcomes == {"size", "empty", "refused"}


def test_emitted_node_runs_and_warns_where_shape_inference_differs():
    """The emitted helper.make_node(...) line, run by ORT, gives forward()'s size; where onnx shape inference
    says another size, forward() warns."""
    rng = random.Random(72)
    dilated = warned = 0
    for _ in range(N // 2):
        rank, size, options = _config(rng)
        try:
            result = forward(build_layer("avgpool", "onnx", rank, **options), size)
        except (ShapeError, InputError):
            continue
        node = eval(result.code, {"helper": helper})  # noqa: S307 -- our own emitted code, in a test
        dilated += any(v != 1 for v in next((a.ints for a in node.attribute if a.name == "dilations"), []))
        model = _model(node, (1, C, *size), OPSET["avgpool"])
        assert _run(model, (1, C, *size)) == tuple(result.output), (size, options, result.code)
        inferred = _inferred(model)
        if inferred is not None and inferred != tuple(result.output):
            assert any("shape inference" in w for w in result.warnings), (size, options, inferred, result.warnings)
            warned += 1
    assert dilated > 20 and warned > 0


def test_dilations_need_opset_19():
    """Why the emitted opset matters: before opset 19 AveragePool has no dilations attribute (ORT refuses it)."""
    assert OPSET["avgpool"] >= 19
    node = helper.make_node("AveragePool", ["X"], ["Y"], kernel_shape=[3], dilations=[2])
    assert _run(_model(node, (1, C, 10), 18), (1, C, 10)) == "refused"
    assert _run(_model(node, (1, C, 10), 19), (1, C, 10)) == (6,)
    assert forward(build_layer("avgpool", "onnx", 1, kernel=3, stride=1, dilation=2), (10,)).output == (6,)


def test_verify_values_match_onnxruntime():
    from tconvcalc.numeric.verify import verify

    rng = random.Random(73)
    checked = 0
    for _ in range(40):
        rank, size, options = _config(rng)
        size = tuple(n + 3 for n in size)
        try:
            layer = build_layer("avgpool", "onnx", rank, **options)
            if 0 in forward(layer, size).output:
                continue
        except (ShapeError, InputError):
            continue
        result = verify(layer, size)
        assert result.ok and result.framework_max_abs_diff is not None, (size, options, result.failures)
        checked += 1
    assert checked >= 15
