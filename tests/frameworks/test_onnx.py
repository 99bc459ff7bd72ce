"""Differential test: tconvcalc's ONNX rules against onnxruntime itself (CPU), one-node models.

Each configuration is built with build_layer (the CLI's path) and, independently, as an ONNX node
from the same raw options; both must give the same spatial output shape, or both refuse (with ORT's
message). onnx.shape_inference runs on every model too: where its shape disagrees with ORT's, our
result must carry a warning saying so, and where they agree it must not.
TCONVCALC_DIFF_N sets the number of configurations per layer kind.
"""

import os
import random

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
np = pytest.importorskip("numpy")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tconvcalc import build_layer, forward  # noqa: E402
from tconvcalc.errors import InputError, ShapeError  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "1500"))
OPSET = {"conv": 22, "convT": 22, "maxpool": 22, "avgpool": 22, "unpool": 22, "upsample": 19, "pixelshuffle": 13,
         "pad": 25}
PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
             "symmetric": "symmetric"}  # onnx has no symmetric: ORT must refuse it too
AUTO_PAD = {"valid": "VALID", "same": "SAME_UPPER", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}
ort.set_default_logger_severity(4)


# ---- random configurations --------------------------------------------------------------------------


def _axes(rng, rank, lo, hi, one_bias=0.0):
    return [1 if rng.random() < one_bias else rng.randint(lo, hi) for _ in range(rank)]


def _config(rng, kind):
    rank = 2 if kind == "pixelshuffle" else rng.choice((1, 1, 2, 2, 3))
    cfg = {"kind": kind, "rank": rank, "size": _axes(rng, rank, 1, 12, one_bias=0.08)}
    if kind == "upsample":
        cfg["scale"] = [rng.choice((0.29, 0.3, 0.5, 0.7, 1 / 3, 1.5, 2.0, 2.5, 3.3, 0.9, 1.1,
                                    round(rng.uniform(0.1, 4), rng.choice((1, 2, 3)))))] * rank
        if rng.random() < 0.3:
            cfg["scale"] = [round(rng.uniform(0.1, 4), 2) for _ in range(rank)]
        return cfg
    if kind == "pixelshuffle":
        cfg["scale"] = [rng.randint(1, 4)] * 2
        return cfg
    if kind == "pad":  # often negative (a crop), sometimes past the input; reflect most, where ORT checks most
        low = -rng.randint(1, 8) if rng.random() < 0.4 else 0
        cfg["padding"] = [(rng.randint(low, 6), rng.randint(low, 6)) for _ in range(rank)]
        if rng.random() < 0.3:  # some axes unpadded: ORT folds them into the padded axis before them
            cfg["padding"] = [(0, 0) if rng.random() < 0.5 else pair for pair in cfg["padding"]]
        cfg["padding_mode"] = rng.choice(("zeros", "reflect", "reflect", "replicate", "circular", "symmetric"))
        return cfg
    cfg["kernel"] = _axes(rng, rank, 1, 6)
    cfg["stride"] = _axes(rng, rank, 1, 4, one_bias=0.3)
    cfg["dilation"] = _axes(rng, rank, 1, 3, one_bias=0.5) if kind in ("conv", "convT", "maxpool") else [1] * rank
    words = ["valid", "same", "same_upper", "same_lower"] if kind != "unpool" else []
    if words and rng.random() < 0.3:
        cfg["padding"] = rng.choice(words)
    else:
        low = -1 if rng.random() < 0.1 else 0
        cfg["padding"] = [(rng.randint(low, 4), rng.randint(low, 4)) for _ in range(rank)]
    if kind == "convT":
        if rng.random() < 0.5:
            cfg["output_padding"] = [rng.randint(0, 3) for _ in range(rank)]
        if rng.random() < 0.25:
            cfg["output_size"] = [rng.randint(1, (n - 1) * s + d * (k - 1) + 1 + 2 * s)
                                  for n, k, s, d in zip(cfg["size"], cfg["kernel"], cfg["stride"], cfg["dilation"])]
    if kind in ("maxpool", "avgpool"):
        cfg["ceil_mode"] = rng.random() < 0.4
    if kind == "unpool":
        cfg["stride"] = cfg["kernel"] if rng.random() < 0.5 else cfg["stride"]
        if rng.random() < 0.3:
            cfg["output_size"] = [max(1, (n - 1) * s + k + rng.randint(-3, 3))
                                  for n, k, s in zip(cfg["size"], cfg["kernel"], cfg["stride"])]
    return cfg


def _text(values):
    return "x".join(str(v) for v in values)


def _ours(cfg):
    kw = {}
    for key in ("kernel", "stride", "dilation", "output_padding", "output_size", "scale"):
        if key in cfg:
            kw[key] = _text(cfg[key])
    if "padding" in cfg:
        kw["padding"] = cfg["padding"] if isinstance(cfg["padding"], str) else _text(f"{b}:{a}" for b, a in cfg["padding"])
    if cfg.get("ceil_mode"):
        kw["ceil_mode"] = True
    if "padding_mode" in cfg:
        kw["padding_mode"] = cfg["padding_mode"]
    if cfg["kind"] in ("avgpool", "unpool"):
        kw.pop("dilation", None)
    layer = build_layer(cfg["kind"], "onnx", cfg["rank"], **kw)
    return forward(layer, tuple(cfg["size"]))


# ---- the real thing ----------------------------------------------------------------------------------


def _model(cfg, output_padding=None):
    kind, size = cfg["kind"], cfg["size"]
    channels = cfg["scale"][0] ** 2 if kind == "pixelshuffle" else 1
    inits, attrs = [], {}
    if kind in ("conv", "convT", "maxpool", "avgpool", "unpool"):
        attrs["kernel_shape"] = cfg["kernel"]
        attrs["strides"] = cfg["stride"]
        if kind != "unpool" and kind != "avgpool":
            attrs["dilations"] = cfg["dilation"]
        if isinstance(cfg["padding"], str):
            attrs["auto_pad"] = AUTO_PAD[cfg["padding"]]
        else:
            attrs["pads"] = [b for b, _ in cfg["padding"]] + [a for _, a in cfg["padding"]]
    if kind == "conv":
        op, inputs = "Conv", ["X", "W"]
        inits.append(numpy_helper.from_array(np.ones([1, 1, *cfg["kernel"]], np.float32), "W"))
    elif kind == "convT":
        op, inputs = "ConvTranspose", ["X", "W"]
        inits.append(numpy_helper.from_array(np.ones([1, 1, *cfg["kernel"]], np.float32), "W"))
        ops = output_padding if output_padding is not None else cfg.get("output_padding")
        if ops is not None:
            attrs["output_padding"] = ops
        if "output_size" in cfg:
            attrs["output_shape"] = cfg["output_size"]
    elif kind in ("maxpool", "avgpool"):
        op, inputs = ("MaxPool" if kind == "maxpool" else "AveragePool"), ["X"]
        attrs["ceil_mode"] = int(cfg["ceil_mode"])
    elif kind == "unpool":
        op, inputs = "MaxUnpool", ["X", "I"]
        inits.append(numpy_helper.from_array(np.zeros([1, 1, *size], np.int64), "I"))
        if "output_size" in cfg:
            inputs.append("output_shape")
            inits.append(numpy_helper.from_array(np.array([1, 1, *cfg["output_size"]], np.int64), "output_shape"))
    elif kind == "pad":
        op, inputs = "Pad", ["X", "pads"]
        pads = [0, 0, *(b for b, _ in cfg["padding"]), 0, 0, *(a for _, a in cfg["padding"])]
        inits.append(numpy_helper.from_array(np.array(pads, np.int64), "pads"))
        attrs["mode"] = PAD_MODES[cfg["padding_mode"]]
    elif kind == "upsample":
        op, inputs = "Resize", ["X", "", "scales"]
        inits.append(numpy_helper.from_array(np.array([1, 1, *cfg["scale"]], np.float32), "scales"))
        attrs["mode"] = "nearest"
    else:
        op, inputs = "DepthToSpace", ["X"]
        attrs["blocksize"] = cfg["scale"][0]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, channels, *size])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node(op, inputs, ["Y"], **attrs)], "g", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET[kind])])
    model.ir_version = 10
    return model, channels


def _ort(model, cfg, channels):
    """The spatial output shape, or the exception's text."""
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 4
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        y = session.run(None, {"X": np.zeros([1, channels, *cfg["size"]], np.float32)})[0]
        return tuple(y.shape[2:])
    except Exception as e:  # noqa: BLE001 -- ORT raises several exception types
        return str(e)


def _inferred(model, rank):
    try:
        out = onnx.shape_inference.infer_shapes(model).graph.output[0].type.tensor_type
    except Exception:  # noqa: BLE001
        return None
    if not out.HasField("shape") or len(out.shape.dim) != rank + 2:
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in out.shape.dim[2:]]
    return None if None in dims else tuple(dims)


# ---- the test ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["conv", "convT", "maxpool", "avgpool", "upsample", "pixelshuffle", "unpool", "pad"])
def test_against_onnxruntime(kind):
    rng = random.Random(f"onnx-{kind}")
    mismatches, refusals, both_ok, inference_checked = [], 0, 0, 0
    for _ in range(N):
        cfg = _config(rng, kind)
        try:
            ours = _ours(cfg)
        except (ShapeError, InputError) as e:
            ours = e
        model, channels = _model(cfg)
        real = _ort(model, cfg, channels)
        if isinstance(ours, InputError):  # not an onnx option (pad mode symmetric): ORT has no such mode either
            if not isinstance(real, str):
                mismatches.append((cfg, f"we say it is not available ({ours}), ORT gives {real}"))
            continue
        if isinstance(ours, ShapeError):
            if not isinstance(real, str):
                mismatches.append((cfg, f"we refuse ({ours}), ORT gives {real}"))
                continue
            refusals += 1
            expected = str(ours).replace("{N,C,", "{1,1,")
            if expected not in real:
                mismatches.append((cfg, f"message differs: ours {str(ours)!r}, ORT {real[-300:]!r}"))
            continue
        if isinstance(real, str):
            mismatches.append((cfg, f"we give {ours.output}, ORT refuses: {real[-300:]}"))
            continue
        if tuple(ours.output) != real:
            mismatches.append((cfg, f"we give {ours.output}, ORT {real}"))
            continue
        both_ok += 1
        inferred = _inferred(model, cfg["rank"])
        if inferred is not None:
            inference_checked += 1
            warned = any("shape inference" in w for w in ours.warnings)
            if (inferred != real) != warned:
                mismatches.append((cfg, f"shape inference {inferred}, ORT {real}, our warnings {ours.warnings}"))
    report = "\n".join(f"{cfg}: {why}" for cfg, why in mismatches[:20])
    assert not mismatches, f"{len(mismatches)} of {N} {kind} configurations differ from ORT:\n{report}"
    assert refusals > N // 50 and both_ok > N // 5 or kind in ("upsample", "pixelshuffle"), (refusals, both_ok)
    assert inference_checked > N // 10


def test_conv_transpose_accepted_outputs():
    """`accepted` is every output some output_padding ORT accepts reaches, axis by axis."""
    rng = random.Random("onnx-accepted")
    mismatches, checked = [], 0
    while checked < max(30, N // 20):
        cfg = _config(rng, "convT")
        cfg.pop("output_size", None)
        cfg.pop("output_padding", None)
        try:
            ours = _ours(cfg)
        except ShapeError:
            continue
        checked += 1
        for axis in range(cfg["rank"]):
            reached = set()
            for op in range(max(cfg["stride"][axis], cfg["dilation"][axis]) + 1):
                ops = [0] * cfg["rank"]
                ops[axis] = op
                model, channels = _model(cfg, output_padding=ops)
                real = _ort(model, cfg, channels)
                if not isinstance(real, str):
                    reached.add(real[axis])
            if tuple(sorted(reached)) != tuple(ours.accepted_outputs[axis]):
                mismatches.append((cfg, axis, sorted(reached), ours.accepted_outputs[axis]))
    assert not mismatches, "\n".join(map(str, mismatches[:20]))
