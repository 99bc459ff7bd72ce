"""ONNX graphs read as protobuf (never run), checked against onnxruntime running them.

The graphs are built here with onnx.helper (and, where torch's TorchScript exporter works, exported from small
torch models written here); every size tconvcalc reports is compared with the shape of the same tensor when
ORT runs the model on a random input, over many input sizes, including the sizes ORT refuses: tconvcalc must
refuse exactly those, naming the node ORT names.
"""

import re

import pytest

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tconvcalc.errors import ShapeError  # noqa: E402
from tconvcalc.files import load_spec  # noqa: E402
from tconvcalc.network import SpecError, chain  # noqa: E402
from tconvcalc.source import onnx_graph  # noqa: E402

OPSET = 17
SIZES = range(1, 41)


# ---- building graphs ------------------------------------------------------------------------------------------


class Graph:
    """A graph under construction: nodes named as their output tensors, weights as initializers."""

    def __init__(self, channels=3, dims=("N", None, "H", "W")):
        self.nodes, self.inits, self.channels = [], [], channels
        shape = [channels if d is None else d for d in dims]
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)

    def const(self, name, values, dtype=np.int64):
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    def weight(self, name, shape):
        self.inits.append(numpy_helper.from_array(np.random.rand(*shape).astype(np.float32) - 0.5, name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, name, c_in, c_out, k=3, group=1, **attrs):
        return self.node("Conv", [x, self.weight(name + ".w", (c_out, c_in // group, k, k))], name,
                         kernel_shape=[k, k], group=group, **attrs)

    def conv_t(self, x, name, c_in, c_out, k=2, **attrs):
        return self.node("ConvTranspose", [x, self.weight(name + ".w", (c_in, c_out, k, k))], name,
                         kernel_shape=[k, k], **attrs)

    def model(self, output, opset=OPSET):
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, "g", [self.input], [out], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    def save(self, output, tmp_path, name="model.onnx", opset=OPSET):
        path = tmp_path / name
        onnx.save(self.model(output, opset), str(path))
        return str(path)


def unet(g):
    """Two levels: convs that keep the size, a pool, a transposed conv back up, a Concat skip, a 1x1 head."""
    e1 = g.node("Relu", [g.conv("x", "enc1", 3, 8, pads=[1, 1, 1, 1])], "enc1.relu")
    p1 = g.node("MaxPool", [e1], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    e2 = g.node("Relu", [g.conv(p1, "enc2", 8, 16, pads=[1, 1, 1, 1])], "enc2.relu")
    p2 = g.node("MaxPool", [e2], "pool2", kernel_shape=[2, 2], strides=[2, 2])
    mid = g.conv(p2, "mid", 16, 16, pads=[1, 1, 1, 1])
    u2 = g.conv_t(mid, "up2", 16, 16, strides=[2, 2])
    c2 = g.node("Concat", [u2, e2], "cat2", axis=1)
    d2 = g.conv(c2, "dec2", 32, 8, pads=[1, 1, 1, 1])
    u1 = g.conv_t(d2, "up1", 8, 8, strides=[2, 2])
    c1 = g.node("Concat", [u1, e1], "cat1", axis=1)
    return g.conv(c1, "head", 16, 2, k=1)


def valid_unet(g):
    """The original U-Net idiom: unpadded convs, the skip cropped with a Slice (counted from both ends)."""
    e1 = g.conv("x", "enc1", 3, 4)  # H - 2
    p1 = g.node("MaxPool", [e1], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    mid = g.conv(p1, "mid", 4, 4)
    up = g.conv_t(mid, "up", 4, 4, strides=[2, 2])
    crop = g.node("Slice", [e1, g.const("s0", [2, 2]), g.const("s1", [-2, -2]), g.const("sa", [2, 3])], "crop")
    return g.conv(g.node("Concat", [up, crop], "cat", axis=1), "head", 8, 1, k=1)


def classifier(g):
    x = g.node("Relu", [g.conv("x", "stem", 3, 8, strides=[2, 2], pads=[1, 1, 1, 1])], "stem.relu")
    x = g.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    x = g.conv(x, "dw", 8, 8, group=8, pads=[1, 1, 1, 1])
    x = g.node("GlobalAveragePool", [x], "gap")
    x = g.node("Flatten", [x], "flat", axis=1)
    return g.node("Gemm", [x, g.weight("fc.w", (10, 8)), g.weight("fc.b", (10,))], "fc", transB=1)


def fixed_features(g):
    """Flatten straight into a Gemm: in_features 4*8*8 fixes the input to the H whose conv gives 8."""
    x = g.conv("x", "conv", 3, 4, strides=[2, 2], pads=[1, 1, 1, 1])
    x = g.node("Flatten", [x], "flat", axis=1)
    return g.node("Gemm", [x, g.weight("fc.w", (4 * 8 * 8, 5))], "fc")


def resize_scales(g):
    x = g.conv("x", "conv", 3, 4, strides=[2, 2])
    x = g.node("Resize", [x, "", g.const("sc", [1, 1, 2, 2], np.float32)], "up2", mode="nearest")
    return g.node("Resize", [x, "", g.const("sc15", [1, 1, 1.5, 1.5], np.float32)], "up15", mode="linear")


def resize_like(g):
    """F.interpolate(x, size=skip.shape[2:]) as torch exports it: Shape -> Slice -> Concat -> Resize sizes."""
    skip = g.conv("x", "skip", 3, 4, pads=[1, 1, 1, 1])
    low = g.conv(skip, "down", 4, 4, strides=[3, 3])
    shape = g.node("Shape", [skip], "shape")
    spatial = g.node("Slice", [shape, g.const("a", [2]), g.const("b", [4]), g.const("ax", [0])], "spatial")
    batch = g.node("Slice", [g.node("Shape", [low], "shape_low"), g.const("z", [0]), g.const("two", [2])], "nc")
    sizes = g.node("Concat", [batch, spatial], "sizes", axis=0)
    up = g.node("Resize", [low, "", "", sizes], "resize", mode="nearest")
    fixed = g.node("Resize", [up, "", "", g.const("fixed", [1, 4, 12, 10])], "resize_fixed")
    return g.node("Add", [fixed, g.node("Resize", [skip, "", "", g.const("f2", [1, 4, 12, 10])], "skip12")], "sum")


def pads_and_pixels(g):
    x = g.node("Pad", [g.conv("x", "conv", 3, 8, k=3), g.const("p", [0, 0, 1, 2, 0, 0, 3, 0])], "pad")
    x = g.node("Pad", [x, g.const("pr", [0, 0, 2, 2, 0, 0, 2, 2])], "reflect", mode="reflect")
    x = g.node("Pad", [x, g.const("crops", [0, 0, -1, 0, 0, 0, 0, -2])], "crop")
    x = g.conv(x, "expand", 8, 16, k=1)
    return g.node("DepthToSpace", [x], "d2s", blocksize=2)


def same_and_transposed(g):
    x = g.conv("x", "same", 3, 4, k=3, strides=[2, 2], auto_pad="SAME_UPPER")
    x = g.node("AveragePool", [x], "avg", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")
    x = g.conv_t(x, "convT", 4, 4, k=3, strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    x = g.conv_t(x, "convT_same", 4, 2, k=3, strides=[2, 2], auto_pad="SAME_UPPER")
    return g.conv(x, "dilated", 2, 2, k=3, dilations=[2, 2])


def channels_last(g):
    """What tf2onnx makes of a Keras model: the NHWC input transposed for the convs, back to NHWC for the
    bias and the Flatten (so the features keep Keras's order), into a MatMul."""
    x = g.node("Transpose", ["x"], "to_nchw", perm=[0, 3, 1, 2])
    x = g.node("Relu", [g.conv(x, "conv", 3, 4, strides=[2, 2])], "relu")
    x = g.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Transpose", [x], "to_nhwc", perm=[0, 2, 3, 1])
    x = g.node("Add", [x, g.const("b", np.zeros(4), np.float32)], "bias")
    x = g.node("Flatten", [x], "flat")
    return g.node("MatMul", [x, g.weight("w", (3 * 3 * 4, 5))], "dense")


MODELS = {"unet": unet, "valid_unet": valid_unet, "classifier": classifier, "fixed_features": fixed_features,
          "resize_scales": resize_scales, "resize_like": resize_like, "pads_and_pixels": pads_and_pixels,
          "same_and_transposed": same_and_transposed}


# ---- the oracle: onnxruntime running the graph ------------------------------------------------------------


def ort_run(path, size, channels=3, last=False):
    """Every tensor's shape when ORT runs the model on a random input, or ORT's error text."""
    ort = pytest.importorskip("onnxruntime")
    model = onnx.load(path)
    known = {o.name for o in model.graph.output}
    for node in model.graph.node:
        for name in node.output:
            if name and name not in known:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
                known.add(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # run the graph as written
    options.log_severity_level = 4
    x = np.random.rand(1, *size, channels) if last else np.random.rand(1, channels, *size)
    x = x.astype(np.float32)
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        results = session.run(None, {session.get_inputs()[0].name: x})
    except Exception as error:  # ORT's Fail / InvalidArgument / RuntimeException
        return str(error)
    return {output.name: result.shape for output, result in zip(session.get_outputs(), results)}


def tensors_by_step(path):
    """tconvcalc's step name for each node (the node's name) -> the node's output tensor."""
    return {(node.name or node.output[0]).lstrip("/"): node.output[0] for node in onnx.load(path).graph.node}


def compare_with_ort(path, sizes=SIZES, channels=3, last=False):
    """For each input size: tconvcalc refuses exactly where ORT does (at the node ORT names), and otherwise
    every step's spatial size and channels are the shape ORT gives that tensor. Returns the valid sizes."""
    network = load_spec(path)
    tensors, valid = tensors_by_step(path), []
    for n in sizes:
        ort = ort_run(path, network.fit((n,)), channels, last)
        try:
            result = chain(network, network.fit((n,)))
        except ShapeError as error:
            assert isinstance(ort, str), f"H={n}: tconvcalc refuses ({error}) but ORT runs"
            named = re.search(r"Name:'([^']+)'", ort)
            if named:
                assert repr(named[1].lstrip("/")) in str(error) or named[1] in str(error), \
                    f"H={n}: ORT refuses at {named[1]!r} ({ort[:200]}); tconvcalc: {error}"
            continue
        assert not isinstance(ort, str), f"H={n}: ORT refuses ({ort[:300]}) but tconvcalc gives {result.output}"
        valid.append(n)
        for step in result.steps:
            # Reshape(N, F): a flatten, then F checked (NAME/size); ReduceMean without keepdims: NAME/flatten
            shape = ort[tensors[step.name.removesuffix("/size").removesuffix("/flatten")]]
            if len(shape) > 2:
                assert tuple(step.output) == tuple(shape[2:]), f"H={n}: {step.name}: {step.output} vs ORT {shape}"
            elif step.op == "flatten":
                assert step.channels in (None, shape[1]), f"H={n}: {step.name}: {step.channels} vs ORT {shape}"
            if step.channels is not None:
                assert step.channels == shape[1], f"H={n}: {step.name}: {step.channels} channels vs ORT {shape}"
    return valid


# ---- what the reader makes of each graph (the items, before make_network) --------------------------------


def items(g, output, tmp_path, opset=OPSET):
    path = g.save(output, tmp_path, opset=opset)
    return {item["name"]: item for item in onnx_graph._Reader(onnx_graph._load(path), path).read()}


def test_unet_items(tmp_path):
    g = Graph()
    got = items(g, unet(g), tmp_path)
    assert list(got) == ["enc1", "pool1", "enc2", "pool2", "mid", "up2", "cat2", "dec2", "up1", "cat1", "head"]
    assert got["enc1"] == {"layer": "conv", "kernel": 3, "padding": 1, "channels": 8, "in_channels": 3,
                           "input": "input", "rank": 2, "name": "enc1", "where": got["enc1"]["where"]}
    assert got["enc1"]["where"].endswith("model.onnx: node 0 (Conv 'enc1')")
    assert got["pool1"]["input"] == "enc1"  # through the Relu
    assert got["pool1"]["stride"] == 2 and got["pool1"]["kernel"] == 2
    assert got["up2"]["layer"] == "convT" and got["up2"]["channels"] == 16 and got["up2"]["in_channels"] == 16
    assert got["cat2"] == {**got["cat2"], "layer": "concat", "input": "up2", "with": ["enc2"]}
    assert "rank" not in got["cat2"]


def test_classifier_items(tmp_path):
    g = Graph()
    got = items(g, classifier(g), tmp_path)
    assert got["pool"]["ceil_mode"] is True and got["pool"]["padding"] == 1
    assert got["dw"]["groups"] == 8 and got["dw"]["in_channels"] == 8 and got["dw"]["channels"] == 8
    assert got["gap"]["layer"] == "adaptiveavgpool" and got["gap"]["output_size"] == 1
    assert got["flat"]["layer"] == "flatten" and got["flat"]["input"] == "gap"
    assert got["fc"] == {**got["fc"], "layer": "linear", "channels": 10, "in_channels": 8, "input": "flat"}


def test_gemm_without_trans_and_matmul(tmp_path):
    g = Graph()
    assert items(g, fixed_features(g), tmp_path)["fc"]["in_channels"] == 256
    g = Graph()
    x = g.node("Flatten", [g.node("GlobalMaxPool", ["x"], "gmp")], "flat")
    got = items(g, g.node("MatMul", [x, g.weight("w", (3, 7))], "mm"), tmp_path)
    assert got["gmp"]["layer"] == "adaptivemaxpool"
    assert got["mm"]["layer"] == "linear" and got["mm"]["channels"] == 7 and got["mm"]["in_channels"] == 3


def test_resize_items(tmp_path):
    g = Graph()
    got = items(g, resize_scales(g), tmp_path)
    assert got["up2"] == {**got["up2"], "layer": "upsample", "scale": "2.0x2.0"}
    assert got["up15"]["scale"] == "1.5x1.5"
    g = Graph()
    got = items(g, resize_like(g), tmp_path)
    assert got["resize"]["like"] == "skip" and got["resize"]["input"] == "down"
    assert got["resize_fixed"]["output_size"] == "12x10"
    assert got["sum"]["layer"] == "add" and got["sum"]["with"] == ["skip12"]


def test_upsample_opset9_and_resize10(tmp_path):
    g = Graph()
    x = g.node("Upsample", ["x", g.const("s", [1, 1, 2, 3], np.float32)], "up", mode="nearest")
    assert items(g, x, tmp_path, opset=9)["up"]["scale"] == "2.0x3.0"
    g = Graph()
    x = g.node("Resize", ["x", g.const("s", [1, 1, 0.5, 0.5], np.float32)], "down")
    assert items(g, x, tmp_path, opset=10)["down"]["scale"] == "0.5x0.5"


def test_pad_slice_and_depth_to_space_items(tmp_path):
    g = Graph()
    got = items(g, pads_and_pixels(g), tmp_path)
    assert got["pad"]["padding"] == "1:3x2:0" and "padding_mode" not in got["pad"]
    assert got["reflect"] == {**got["reflect"], "padding": 2, "padding_mode": "reflect"}
    assert got["crop"]["padding"] == "-1:0x0:-2"
    assert got["d2s"] == {**got["d2s"], "layer": "pixelshuffle", "scale": 2}
    g = Graph()
    assert items(g, valid_unet(g), tmp_path)["crop"]["padding"] == -2  # [2:-2] on both axes


def test_auto_pad_and_convtranspose_attributes(tmp_path):
    g = Graph()
    got = items(g, same_and_transposed(g), tmp_path)
    assert got["same"]["padding"] == "same_upper" and got["avg"]["padding"] == "same_lower"
    assert got["convT"]["output_padding"] == 1 and got["convT"]["padding"] == 1
    assert got["dilated"]["dilation"] == 2
    g = Graph()
    x = g.conv_t("x", "t", 3, 2, k=3, strides=[2, 2], output_shape=[9, 11])
    assert items(g, x, tmp_path)["t"]["output_size"] == "9x11"


def test_constant_operands_leave_the_size(tmp_path):
    # a bias [C,1,1] and a scale [1]: broadcast over the spatial axes, so nothing to chain for them
    g = Graph()
    x = g.node("Add", [g.conv("x", "c", 3, 4), g.const("b", np.zeros((4, 1, 1)), np.float32)], "bias")
    x = g.node("Mul", [x, g.const("k", [2.0], np.float32)], "scale")
    x = g.node("Mul", [x, g.node("Sigmoid", [g.node("GlobalAveragePool", [x], "se")], "gate")], "excite")
    got = items(g, x, tmp_path)
    assert list(got) == ["c", "se", "excite"]
    assert got["excite"] == {**got["excite"], "layer": "mul", "input": "c", "with": ["se"]}


def test_reshape_to_batch_and_features(tmp_path):
    # x.view(x.size(0), -1) exported: Shape -> Gather 0 -> Unsqueeze -> Concat with -1 -> Reshape
    g = Graph()
    c = g.conv("x", "c", 3, 4)
    n = g.node("Gather", [g.node("Shape", [c], "shape"), g.const("zero", 0)], "n", axis=0)
    target = g.node("Concat", [g.node("Unsqueeze", [n, g.const("ax", [0])], "n1"), g.const("m1", [-1])], "target",
                    axis=0)
    got = items(g, g.node("Reshape", [c, target], "view"), tmp_path)
    assert got["view"]["layer"] == "flatten"
    g = Graph()
    got = items(g, g.node("Reshape", [g.conv("x", "c", 3, 4), g.const("t", [0, -1])], "view"), tmp_path)
    assert got["view"]["layer"] == "flatten"


@pytest.mark.parametrize("build, message", [
    (lambda g: g.node("Transpose", [g.conv("x", "c", 3, 4)], "t", perm=[0, 1, 3, 2]),
     r"node 1 \(Transpose 't'\): perm \[0, 1, 3, 2\] moves spatial axes"),
    (lambda g: g.node("SpaceToDepth", ["x"], "s2d", blocksize=2),
     r"node 0 \(SpaceToDepth 's2d'\): op SpaceToDepth: it could change the size and tconvcalc cannot follow it"),
    (lambda g: g.node("Concat", [g.conv("x", "c", 3, 4), g.conv("x", "d", 3, 4)], "cat", axis=2),
     r"\(Concat 'cat'\): axis 2: tconvcalc follows concatenation along the channels"),
    (lambda g: g.node("Slice", ["x", g.const("s", [0]), g.const("e", [16]), g.const("a", [2])], "sl"),
     r"\(Slice 'sl'\): starts 0, ends 16 on axis 2: the crop depends on the input size"),
    (lambda g: g.node("Pad", ["x", g.const("p", [0, 1, 0, 0, 0, 1, 0, 0])], "pc"),
     r"\(Pad 'pc'\): pads .* pad N or C"),
    (lambda g: g.node("Resize", ["x", "", g.const("s", [1, 2, 1, 1], np.float32)], "rc"),
     r"\(Resize 'rc'\): scales .* resize N or C"),
    (lambda g: g.node("Reshape", ["x", g.const("t", [1, 3, 8, -1])], "rs"),
     r"\(Reshape 'rs'\): to shape \[1, 3, 8, -1\]; tconvcalc follows a reshape to \(N, -1\) only"),
    (lambda g: g.node("MatMul", ["x", g.weight("w", (4, 4))], "mm"), r"\(MatMul 'mm'\): a matrix product on a"),
    (lambda g: g.node("Add", ["x", g.const("b", np.zeros((1, 1, 5, 5)), np.float32)], "fixed"),
     r"\(Add 'fixed'\): a constant of shape \[1, 1, 5, 5\]"),
    (lambda g: g.node("Conv", ["x", g.weight("w", (2, 3, 3, 3))], "c", auto_pad="SAME"), r"auto_pad 'SAME'"),
])
def test_what_it_cannot_follow_is_one_line_naming_the_node(build, message, tmp_path):
    g = Graph()
    path = g.save(build(g), tmp_path)
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_an_unreadable_branch_off_the_output_is_ignored(tmp_path):
    g = Graph()
    c = g.conv("x", "c", 3, 4)
    g.node("TopK", [c, g.const("k", [1])], "side")  # not followed; nothing depends on it
    got = items(g, g.node("MaxPool", [c], "pool", kernel_shape=[2, 2], strides=[2, 2]), tmp_path)
    assert list(got) == ["c", "pool"]


def test_files_that_are_not_models(tmp_path, monkeypatch):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not protobuf\n" * 3)
    with pytest.raises(SpecError, match=r"notes.onnx: not an ONNX model"):
        load_spec(str(text))
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(SpecError, match=r"empty.onnx: not an ONNX model"):
        load_spec(str(empty))
    with pytest.raises(SpecError, match=r"missing.onnx: cannot read"):
        load_spec(str(tmp_path / "missing.onnx"))
    g = Graph()
    path = g.save(unet(g), tmp_path)
    monkeypatch.setattr(onnx_graph, "MAX_BYTES", 100)
    with pytest.raises(SpecError, match=r"model.onnx: 0 MiB; tconvcalc reads ONNX files up to 0 MiB"):
        load_spec(path)


def test_truncated_file(tmp_path):
    g = Graph()
    path = g.save(unet(g), tmp_path)
    data = open(path, "rb").read()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(SpecError, match=r"cut.onnx: not an ONNX model"):
        load_spec(str(cut))


def test_without_the_onnx_package(tmp_path, monkeypatch):
    g = Graph()
    path = g.save(unet(g), tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(SpecError, match=r"^reading ONNX files needs the onnx package "
                                        r"\(pip install 'tconvcalc\[onnx\]'\)$"):
        load_spec(path)


def test_two_inputs_and_the_framework(tmp_path):
    g = Graph()
    model = g.model(unet(g))
    model.graph.input.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8]))
    onnx.save(model, str(tmp_path / "two.onnx"))
    with pytest.raises(SpecError, match=r"the graph has 2 inputs \('x', 'y'\); tconvcalc chains graphs with one"):
        load_spec(str(tmp_path / "two.onnx"))
    g = Graph()
    with pytest.raises(SpecError, match=r"an ONNX graph follows ORT's rules: -f onnx, not -f torch"):
        load_spec(g.save(unet(g), tmp_path), "torch")


# ---- the network, end to end, against onnxruntime ----------------------------------------------------------


def test_unet_against_ort(tmp_path):
    g = Graph()
    path = g.save(unet(g), tmp_path)
    network = load_spec(path)
    assert network.framework == "onnx" and network.in_channels == 3
    assert network.origin == (f"read the ONNX graph of model.onnx (opset {OPSET}, {len(g.nodes)} nodes) "
                              "without running it")
    valid = compare_with_ort(path)
    assert valid == [n for n in SIZES if n % 4 == 0]  # two pools of 2 and back: what ORT ran


def test_symbolic_h_gives_the_valid_inputs_ort_runs(tmp_path):
    g = Graph()
    path = g.save(valid_unet(g), tmp_path)
    valid = compare_with_ort(path)
    result = chain(load_spec(path), ("H", "H"))
    # H - 2 pooled by 2 and back must meet the crop H - 6: what ORT ran, as tconvcalc words it
    assert valid == [n for n in SIZES if n % 2 == 0 and n >= 8]
    assert result.condition == "H ≡ 0 (mod 2), H ≥ 8"


@pytest.mark.parametrize("name", sorted(set(MODELS) - {"unet", "valid_unet"}))
def test_models_against_ort(name, tmp_path):
    g = Graph()
    path = g.save(MODELS[name](g), tmp_path)
    valid = compare_with_ort(path)
    assert valid, "no size ran at all: the comparison would be empty"


def test_fixed_features_fix_the_input(tmp_path):
    g = Graph()
    path = g.save(fixed_features(g), tmp_path)
    assert compare_with_ort(path) == [15, 16]  # conv k3 s2 p1 gives 8 only there: 4*8*8 features


def test_channels_last_input(tmp_path):
    g = Graph(dims=("N", "H", "W", 3))
    path = g.save(channels_last(g), tmp_path)
    network = load_spec(path)
    assert network.in_channels == 3
    # conv k3 s2: (H-3)//2+1; pool 2: 3 only for H in 13..16: 3*3*4 = 36 features into the MatMul
    assert compare_with_ort(path, range(4, 24), last=True) == [13, 14, 15, 16]


def test_fixed_input_shape_is_checked(tmp_path):
    g = Graph(dims=(1, None, 32, 32))
    path = g.save(unet(g), tmp_path)
    network = load_spec(path)
    assert network.fit((32,)) == (32, 32)
    assert network.fit(("H",)) == (32, 32)  # the graph's own size
    assert chain(network, network.fit((32,))).output == (32, 32)
    with pytest.raises(Exception, match=r"fixes the input's spatial size to 32x32 .*got 64x64"):
        network.fit((64,))


def test_unset_dims_are_symbols(tmp_path):
    g = Graph(dims=(None, 3, None, None))
    g.input.type.tensor_type.shape.dim[0].Clear()
    for axis in (2, 3):
        g.input.type.tensor_type.shape.dim[axis].Clear()
    path = g.save(unet(g), tmp_path)
    assert load_spec(path).fit(("H",)) == ("H", "H")


# ---- torch models exported with the TorchScript exporter ------------------------------------------------------


def export(model, channels, tmp_path, name):
    torch = pytest.importorskip("torch")
    path = str(tmp_path / f"{name}.onnx")
    try:
        torch.onnx.export(model.eval(), (torch.randn(1, channels, 32, 32),), path, dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}}, opset_version=OPSET)
    except TypeError:  # an exporter without the dynamo switch
        pytest.skip("this torch has no TorchScript ONNX exporter (dynamo=False)")
    return path


def torch_models():
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
            self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.outc = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down(x1)
            u = F.interpolate(self.up(x2), size=x1.shape[2:])
            return self.outc(torch.cat([x1, u], dim=1))

    class ESPCN(nn.Module):
        def __init__(self, r=3):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.Tanh(), nn.Conv2d(16, 8, 3, padding=1),
                                      nn.Tanh(), nn.Conv2d(8, r * r, 3, padding=1))
            self.shuffle = nn.PixelShuffle(r)

        def forward(self, x):
            return self.shuffle(self.body(x))

    class ResNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
            self.block = nn.Conv2d(8, 8, 3, 1, 1)
            self.down = nn.Conv2d(8, 16, 3, 2, 1)
            self.shortcut = nn.Conv2d(8, 16, 1, 2)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.stem(x)
            x = F.relu(self.block(x) + x)
            x = self.down(x) + self.shortcut(x)
            return self.fc(torch.flatten(self.pool(x), 1))

    class PadUNet(nn.Module):
        """The most copied PyTorch U-Net's Up: pad the upsampled map to the skip's size, then concatenate."""

        def __init__(self, double=False):
            super().__init__()
            self.double = double
            self.inc = nn.Conv2d(3, 4, 3)  # unpadded: odd sizes appear
            self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1))
            self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)

        def forward(self, x):
            x2 = self.inc(x)
            x1 = self.up(self.down(x2))
            diffY = x2.size()[2] - x1.size()[2]
            diffX = x2.size()[3] - x1.size()[3]
            if self.double:  # not the idiom: twice the difference
                x1 = F.pad(x1, [diffX, diffX, diffY, diffY])
            else:
                x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            return torch.cat([x2, x1], dim=1)

    return {"unet": (UNet(), 3), "espcn": (ESPCN(), 1), "resnet": (ResNetish(), 3), "pad_unet": (PadUNet(), 3),
            "pad_twice": (PadUNet(double=True), 3)}


@pytest.mark.parametrize("name", ["unet", "espcn", "resnet", "pad_unet"])
def test_torch_exports_against_ort(name, tmp_path):
    model, channels = torch_models()[name]
    path = export(model, channels, tmp_path, name)
    valid = compare_with_ort(path, range(1, 30), channels)
    assert valid


def test_corrupted_files_are_one_line(tmp_path):
    # bytes flipped at random places of a real graph: each read either works or is one SpecError/ShapeError line
    from tconvcalc.errors import TconvError

    g = Graph()
    data = bytearray(g.model(unet(g)).SerializeToString())
    rng = np.random.default_rng(0)
    outcomes = set()
    for trial in range(300):
        mutated = bytearray(data)
        for position in rng.integers(0, len(mutated), size=int(rng.integers(1, 4))):
            mutated[position] = int(rng.integers(0, 256))
        path = tmp_path / f"m{trial}.onnx"
        path.write_bytes(bytes(mutated))
        try:
            network = load_spec(str(path))
            chain(network, network.fit((16,)))
            outcomes.add("read")
        except TconvError as error:
            assert "\n" not in str(error)
            outcomes.add(type(error).__name__)
    assert "read" in outcomes and "SpecError" in outcomes


def test_weights_made_by_ops_keep_their_shapes(tmp_path):
    # a BatchNorm folded into Mul/Add with Unsqueezed (C,) constants; a weight filled by ConstantOfShape and
    # reshaped (as onnx's 'light' models store theirs): sizes and channels still come from the shapes
    g = Graph()
    w = g.node("Reshape", [g.node("ConstantOfShape", [g.const("wshape", [4, 27])], "fill"), g.const("k", [4, 3, 3, 3])],
               "w")
    x = g.node("Conv", ["x", w], "conv", kernel_shape=[3, 3])
    scale = g.node("Unsqueeze", [g.const("gamma", np.ones(4), np.float32), g.const("axes", [1, 2])], "gamma11")
    x = g.node("Add", [g.node("Mul", [x, scale], "bn_scale"), g.node("Sqrt", [scale], "root")], "bn_shift")
    fixed = g.node("Unsqueeze", [g.const("plane", np.ones((5, 5)), np.float32), g.const("ax0", [0])], "plane1")
    got = items(g, x, tmp_path)
    assert list(got) == ["conv"] and got["conv"]["channels"] == 4 and got["conv"]["in_channels"] == 3
    g.nodes.append(helper.make_node("Mul", [x, fixed], ["masked"], name="masked"))
    with pytest.raises(SpecError, match=r"\(Mul 'masked'\): a constant of shape \[1, 5, 5\] broadcast"):
        load_spec(g.save("masked", tmp_path, "masked.onnx"))


def test_reshape_to_batch_one_and_features(tmp_path):
    # caffe2-era exports: Reshape(x, [1, 256]) at a fixed batch of 1 is a flatten whose count is checked
    g = Graph(dims=(1, None, "H", "W"))
    x = g.node("GlobalAveragePool", [g.conv("x", "c", 3, 256, k=1)], "gap")
    x = g.node("Reshape", [x, g.const("t", [1, 256])], "flat")
    path = g.save(g.node("Gemm", [x, g.weight("fc.w", (10, 256))], "fc", transB=1), tmp_path)
    got = {node.name: node for node in load_spec(path).nodes}
    assert got["flat"].op == "flatten" and got["flat/size"].op == "linear" and got["flat/size"].in_channels == 256
    assert compare_with_ort(path, range(1, 12)) == list(range(1, 12))
    g = Graph(dims=(1, None, "H", "W"))
    x = g.node("Reshape", [g.conv("x", "c", 3, 4, k=1), g.const("t", [1, 64])], "flat")
    path = g.save(x, tmp_path, "fixed.onnx")
    assert compare_with_ort(path, range(1, 8)) == [4]  # 4 channels x 4x4 = 64 only there


def test_reading_imports_neither_onnx_nor_numpy(tmp_path):
    # the generated protobuf module alone: `import onnx` would load numpy and ml_dtypes for nothing
    import subprocess
    import sys

    g = Graph()
    path = g.save(unet(g), tmp_path)
    script = (f"import sys\nfrom tconvcalc.files import load_spec\nfrom tconvcalc.network import chain\n"
              f"network = load_spec({path!r})\n"
              "print(chain(network, (32, 32)).output, 'onnx' in sys.modules, 'numpy' in sys.modules)\n"
              f"import onnx\nprint(len(onnx.load({path!r}).graph.node))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["(32, 32) False False", str(len(g.nodes))]


@pytest.mark.parametrize("rank", [1, 3])
def test_1d_and_3d_graphs_against_ort(rank, tmp_path):
    g = Graph(channels=2, dims=("N", None, *["H"] * rank))
    k = lambda v: [v] * rank  # noqa: E731
    x = g.node("Conv", ["x", g.weight("w1", (4, 2, *k(3)))], "conv", kernel_shape=k(3), strides=k(2),
               pads=k(1) * 2)
    x = g.node("MaxPool", [x], "pool", kernel_shape=k(2), strides=k(2), ceil_mode=1)
    x = g.node("ConvTranspose", [x, g.weight("w2", (4, 3, *k(4)))], "up", kernel_shape=k(4), strides=k(2),
               pads=k(1) * 2)
    path = g.save(x, tmp_path)
    network = load_spec(path)
    assert network.rank == rank and network.fit((9,)) == (9,) * rank
    valid = compare_with_ort(path, range(1, 30 if rank == 1 else 12), channels=2)
    assert valid == list(range(1, 30 if rank == 1 else 12))  # ceil_mode keeps every size >= 1


def test_torch_pad_to_the_skip_is_read_as_like(tmp_path):
    model, channels = torch_models()["pad_unet"]
    nodes = {node.name: node for node in load_spec(export(model, channels, tmp_path, "pad_unet")).nodes}
    assert nodes["Pad"].op == "pad" and nodes["Pad"].like == "inc/Conv"
    model, channels = torch_models()["pad_twice"]
    with pytest.raises(SpecError, match=r"\(Pad '/Pad'\): its pads are computed from the graph's shapes in a way"):
        load_spec(export(model, channels, tmp_path, "pad_twice"))


def test_a_tensor_defined_twice_is_refused_as_ort_does(tmp_path):
    g = Graph()
    x = g.conv("x", "c", 3, 4)
    g.nodes.append(helper.make_node("Relu", ["x"], [x], name="again"))
    path = g.save(x, tmp_path)
    assert "Duplicate definition" in ort_run(path, (8, 8))
    with pytest.raises(SpecError, match=r"node 1 \(Relu 'again'\): defines 'c' a second time"):
        load_spec(path)


@pytest.mark.parametrize("keepdims", [0, 1])
def test_spatial_reductions_are_global_pools(keepdims, tmp_path):
    # torch's x.mean((2, 3)) exports as ReduceMean(axes=[2, 3], keepdims=0): a global pool, then a flatten
    g = Graph()
    x = g.node("ReduceMean", [g.conv("x", "c", 3, 6, strides=[2, 2])], "mean", axes=[2, 3], keepdims=keepdims)
    if not keepdims:
        x = g.node("Gemm", [x, g.weight("fc.w", (4, 6))], "fc", transB=1)
    path = g.save(x, tmp_path)
    ops = [node.op for node in load_spec(path).nodes]
    assert ops == (["conv", "adaptiveavgpool", "flatten", "linear"] if not keepdims else ["conv", "adaptiveavgpool"])
    assert compare_with_ort(path, range(1, 12)) == list(range(3, 12))  # conv k3 s2 needs 3
    g = Graph()
    path = g.save(g.node("ReduceMax", ["x"], "rmax", axes=[1, 2]), tmp_path, "partial.onnx")
    with pytest.raises(SpecError, match=r"\(ReduceMax 'rmax'\): axes \[1, 2\]: tconvcalc follows a reduction"):
        load_spec(path)


# ---- empty axes: ORT's rules for a 0-size spatial axis, op by op ---------------------------------------------


def _empty_axis_graph(g, rng, op):
    """x, then a Resize by 0.5 on H (and on W, half the time) that leaves 0 at H = 1, then ``op`` with random
    attributes: the op sees an empty axis at the smallest sizes and ordinary ones above."""
    both = bool(rng.integers(2))
    x = g.node("Resize", ["x", "", g.const("scales", [1, 1, 0.5, 0.5 if both else 1.0], np.float32)], "half",
               mode="nearest")
    k = int(rng.integers(1, 4))
    s = int(rng.integers(1, 3))
    pads = [int(rng.integers(0, k)) for _ in range(4)]
    if op in ("MaxPool", "AveragePool"):
        return g.node(op, [x], "op", kernel_shape=[k, k], strides=[s, s], pads=pads, ceil_mode=int(rng.integers(2)))
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        return g.node(op, [x], "op")
    if op == "Conv":
        return g.conv(x, "op", 4, 4, k=k, strides=[s, s], pads=[int(rng.integers(0, 3)) for _ in range(4)])
    if op == "ConvTranspose":
        attrs = {"output_shape": [int(rng.integers(1, 6))] * 2} if rng.integers(2) else {"pads": pads}
        return g.conv_t(x, "op", 4, 4, k=k, strides=[s, s], **attrs)
    if op == "Resize":
        if rng.integers(2):
            return g.node("Resize", [x, "", g.const("twice", [1, 1, 2.0, 2.0], np.float32)], "op", mode="nearest")
        return g.node("Resize", [x, "", "", g.const("sizes", [1, 4, 3, 3])], "op", mode="nearest")
    if op == "Pad":
        mode = ["constant", "reflect", "edge", "wrap"][int(rng.integers(4))]
        values = [0, 0, *(int(v) for v in rng.integers(-1, 3, 2)), 0, 0, *(int(v) for v in rng.integers(-1, 3, 2))]
        return g.node("Pad", [x, g.const("pads", values)], "op", mode=mode)
    return g.node("DepthToSpace", [x], "op", blocksize=2)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Conv",
                                "ConvTranspose", "Resize", "Pad", "DepthToSpace"])
def test_empty_axes_against_ort(op, tmp_path):
    # ORT refuses a pool on an empty axis where the formula gives an output; pads, resizes and convs have
    # their own rules there: every one is compared, on random attributes
    rng = np.random.default_rng(sum(map(ord, op)))
    refused_empty = 0
    for trial in range(12):
        g = Graph(channels=4)
        path = g.save(_empty_axis_graph(g, rng, op), tmp_path, f"{op}{trial}.onnx")
        valid = compare_with_ort(path, range(1, 7), channels=4)
        refused_empty += 1 not in valid
    if op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
        assert refused_empty == 12  # H = 1 leaves an empty axis, whatever the pool's attributes


def test_a_pool_after_a_pool_that_left_nothing_is_refused(run):
    code, out, err = run("chain", "1", "-f", "onnx", "maxpool k3 s2 | maxpool k1")
    assert code == 1 and "Invalid input shape. Only N can be zero. Got:{N,C,0}" in err
    code, out, err = run("chain", "2", "-f", "onnx", "maxpool k3 s2 | maxpool k1")  # 2 -> 1 -> 1
    assert code == 0, err


@pytest.mark.parametrize("mode, pads", [
    ("edge", [0, 0, 0, 1, 0, 0, 0, 1]),  # the empty H is not padded: ORT runs it
    ("reflect", [0, 0, -1, 1, 0, 0, 0, 2]),  # H = 0 - 1 + 1 stays empty: runs (no reflect check on W)
    ("reflect", [0, 0, 1, 0, 0, 0, 0, 0]),  # grows the empty H: refused
    ("wrap", [0, 0, 0, 0, 0, 0, 0, 0]),  # wrap refuses an empty input whole
    ("edge", [0, 0, -2, 0, 0, 0, 0, 0]),  # leaves 0 of 2 rows at H = 4: zero effective input extent
])
def test_pads_of_an_empty_axis_against_ort(mode, pads, tmp_path):
    g = Graph(channels=4)
    x = g.node("Resize", ["x", "", g.const("scales", [1, 1, 0.5, 1.0], np.float32)], "half", mode="nearest")
    path = g.save(g.node("Pad", [x, g.const("pads", pads)], "op", mode=mode), tmp_path)
    valid = compare_with_ort(path, range(1, 7), channels=4)
    assert (1 in valid) == (mode != "wrap" and pads[2] + pads[6] == 0)  # H = 1: Resize leaves 0 rows
