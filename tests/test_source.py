"""Networks read from PyTorch source, print(model) text and Keras to_json(): never executed.

Expected sizes are worked out by hand from torch's and Keras' documented formulas (comments show
the arithmetic); tests/frameworks/test_source_real.py checks the same files against the real frameworks.
"""
import json
import pathlib
import textwrap

import pytest

from tconvcalc.errors import ShapeError
from tconvcalc.files import load_spec
from tconvcalc.network import SpecError, chain
from tconvcalc.source import network_from_keras_json, network_from_source

DATA = pathlib.Path(__file__).parent / "data"


def sizes(network, size):
    return {step.name: step.output for step in chain(network, size).steps}


def source(text, tmp_path, name="model.py", framework=None):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_spec(str(path), framework)


# ---- seed 000's UNet ---------------------------------------------------------------------------------------


def test_unet_nodes_follow_forward():
    network = load_spec(str(DATA / "unet_seed000.py"))
    nodes = {node.name: node for node in network.nodes}
    assert network.framework == "torch"
    assert [n.name for n in network.nodes[:3]] == ["conv1.conv.0", "conv1.conv.3", "pool1"]
    assert len(network.nodes) == 18 + 4 + 4 + 4 + 1  # 9 DoubleConvs, 4 pools, 4 ups, 4 cats, conv10
    assert nodes["merge6"].op == "concat" and nodes["merge6"].inputs == ("up6", "conv4.conv.3")
    assert nodes["merge9"].inputs == ("up9", "conv1.conv.3")
    assert nodes["conv6.conv.0"].inputs == ("merge6",)
    assert dict(nodes["conv1.conv.0"].options) == {"kernel": 3, "padding": 1}
    assert dict(nodes["up6"].options) == {"kernel": 2, "stride": 2}
    assert dict(nodes["pool1"].options) == {"kernel": 2}
    # out_ch substituted from TwoConvs(…, 64); conv10's out_ch is Unet's argument: unknown
    assert nodes["conv1.conv.3"].channels == 64 and nodes["conv5.conv.0"].channels == 1024
    assert nodes["conv10"].channels is None
    assert nodes["conv10"].where.endswith("unet_seed000.py:36")


def test_unet_sizes_576():
    # convs k3 p1 keep the size; pools halve: 576 288 144 72 36; ups double back: 72 144 288 576
    got = sizes(load_spec(str(DATA / "unet_seed000.py")), (576, 576))
    assert got["conv1.conv.3"] == (576, 576)
    assert got["pool1"] == (288, 288) and got["pool4"] == (36, 36) and got["conv5.conv.3"] == (36, 36)
    assert got["up6"] == (72, 72) and got["merge6"] == (72, 72)
    assert got["up9"] == (576, 576) and got["conv10"] == (576, 576)
    result = chain(load_spec(str(DATA / "unet_seed000.py")), (576, 576))
    assert {s.name: s.channels for s in result.steps}["merge6"] == 512 + 512


def test_unet_572_breaks_at_the_first_skip():
    # 572 -> 286 -> 143 -> 71 -> 35; up6 gives 70 but c4 is 71
    with pytest.raises(ShapeError) as error:
        chain(load_spec(str(DATA / "unet_seed000.py")), (572, 572))
    message = str(error.value)
    assert "merge6" in message and "70x70" in message and "71x71" in message
    assert "unet_seed000.py:" in message


def test_unet_symbolic_cli(run):
    code, out, err = run("chain", "H", str(DATA / "unet_seed000.py"))
    assert code == 0, err
    assert "H ≡ 0 (mod 16), H ≥ 16" in out


# ---- never executed ------------------------------------------------------------------------------------------


def test_source_is_never_executed(tmp_path):
    marker = tmp_path / "executed.marker"
    path = tmp_path / "evil.py"
    path.write_text(textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("module body ran")
        import torch.nn as nn
        __import__("os").system("touch {marker}")

        def conv_kernel():
            pathlib.Path({str(marker)!r}).write_text("a helper ran")
            return 3

        class Net(nn.Module):
            pathlib.Path({str(marker)!r}).write_text("class body ran")

            def __init__(self):
                super().__init__()
                pathlib.Path({str(marker)!r}).write_text("__init__ ran")
                self.conv = nn.Conv2d(1, 4, 3)
                self.pool = nn.MaxPool2d(2)

            def forward(self, x):
                pathlib.Path({str(marker)!r}).write_text("forward ran")
                return self.pool(self.conv(x))

        raise SystemExit("this file must not run")
    """))
    network = load_spec(str(path))
    assert [n.name for n in network.nodes] == ["conv", "pool"]
    assert sizes(network, (10,)) == {"conv": (8,), "pool": (4,)}
    assert not marker.exists()


def test_helper_calls_are_not_run(tmp_path):
    marker = tmp_path / "m"
    text = f"""
        import torch.nn as nn
        def k():
            open({str(marker)!r}, "w").write("ran")
            return 3
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 1, k())
            def forward(self, x):
                return self.conv(x)
    """
    # the helper is read with ast (its `return 3` is followed), its open() never runs
    assert sizes(source(text, tmp_path), (10, 10)) == {"conv": (8, 8)}
    assert not marker.exists()


# ---- PyTorch source features ------------------------------------------------------------------------------


def test_features_fixture_sizes():
    network = load_spec(str(DATA / "torch_features.py"))
    got = sizes(network, (64, 64))
    # stem: conv k5 p2 keeps 64, maxpool k3 s1 p1 keeps 64; Down: conv k3 p1 keeps, pool k2 ceil halves
    assert got["stem.body.conv"] == (64, 64) and got["stem.body.pool"] == (64, 64)
    assert got["downs.0.pool"] == (32, 32) and got["downs.2.pool"] == (8, 8)
    assert got["max_pool2d@L61"] == (9, 9)  # (8 + 2 - 2) // 1 + 1
    assert got["avg_pool2d@L62"] == (8, 8)  # (9 - 2) // 1 + 1
    assert got["ups.0"] == (16, 16)  # (8 - 1) * 2 - 2 + 3 + 1
    assert got["pool"] == (32, 32) and got["unpool"] == (64, 64)
    assert got["interpolate@L70"] == (128, 128) and got["head"] == (128, 128)  # head: k3x1 p1x0 keeps
    nodes = {n.name: n for n in network.nodes}
    assert nodes["x"].op == "add" and nodes["x"].inputs == ("ups.0", "downs.2.conv")  # skips reversed
    assert nodes["x#3"].inputs == ("ups.2", "downs.0.conv")
    assert nodes["x#4"].op == "concat" and nodes["x#4"].inputs == ("x#3", "unpool")
    assert dict(nodes["ups.1"].options) == {"kernel": 3, "stride": 2, "padding": 1, "output_padding": 1}
    assert dict(nodes["head"].options) == {"kernel": "3x1", "padding": "1x0"}
    assert nodes["downs.1.conv"].channels == 32  # WIDTH * 2 ** 2 through a list comprehension
    assert nodes["ups.1"].channels == 32


def test_features_skip_mismatch_named():
    # 50 -> 25 -> 13 -> 7 (ceil); pools -> 8 -> 7; ups.0: (7-1)*2-2+3+1 = 14 vs downs.2.conv 13
    with pytest.raises(ShapeError, match=r"torch_features.py:65 'x': .*add of 'ups.0' \(14x14\) and "
                                         r"'downs.2.conv' \(13x13\)"):
        chain(load_spec(str(DATA / "torch_features.py")), (50, 50))


def test_positional_arguments_follow_torch_signatures(tmp_path):
    network = source("""
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.ConvTranspose1d(1, 2, 3, 2, 1, 1, 1, True, 2)  # dilation is 9th
                self.b = nn.MaxPool1d(3, 2, 1, 2, False, True)  # dilation 2, ceil_mode
                self.c = nn.AvgPool1d(3, None, 1, True)  # stride defaults to kernel, ceil_mode
                self.d = nn.Conv1d(2, 4, 3, 1, "same", 2)
                self.e = nn.Upsample(None, 1.5)
                self.f = nn.LazyConv1d(8, 5, 2)
            def forward(self, x):
                return self.f(self.e(self.d(self.c(self.b(self.a(x))))))
    """, tmp_path)
    options = {n.name: dict(n.options) for n in network.nodes}
    assert options["a"] == {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "output_padding": 1}
    assert options["b"] == {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}
    assert options["c"] == {"kernel": 3, "padding": 1, "ceil_mode": True}
    assert options["d"] == {"kernel": 3, "stride": 1, "padding": "same", "dilation": 2}
    assert options["e"] == {"scale": 1.5}
    assert options["f"] == {"kernel": 5, "stride": 2}
    assert {n.name: n.channels for n in network.nodes}["f"] == 8
    # a: (10-1)*2 - 2 + 2*(3-1) + 1 + 1 = 22; b: ceil((22 + 2 - 4 - 1) / 2) + 1 = 11 (last window starts
    # at 20 < 22 + 1); c: ceil((11 + 2 - 3) / 3) + 1 = 5, its last window starts at 12 >= 11 + 1: 4;
    # d keeps 4; e: floor(4 * 1.5) = 6; f: (6 - 5) // 2 + 1 = 1
    assert sizes(network, (10,)) == {"a": (22,), "b": (11,), "c": (4,), "d": (4,), "e": (6,), "f": (1,)}


def test_module_level_sequential_and_class_without_forward(tmp_path):
    network = source("""
        import torch.nn as nn
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Dropout(0.1), nn.MaxPool2d(2, 2))
    """, tmp_path)
    assert [(n.name, n.op) for n in network.nodes] == [("0", "conv"), ("3", "maxpool")]
    network = source("""
        import torch.nn as nn
        class Body(nn.Module):
            def __init__(self, k=5):
                super().__init__()
                self.layers = nn.Sequential(nn.Conv2d(1, 1, k), nn.GELU())
                self.down = nn.AvgPool2d(k - 1)
        class Other(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 1, 1)
        net = Body(k=3)
    """, tmp_path)
    assert [(n.name, dict(n.options)) for n in network.nodes] == [("layers.0", {"kernel": 3}),
                                                                    ("down", {"kernel": 2})]


def test_root_is_the_class_nobody_uses(tmp_path):
    network = source("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.block = Block(7)
            def forward(self, x):
                return self.block(x)
        class Block(nn.Module):
            def __init__(self, k):
                super().__init__()
                self.conv = nn.Conv2d(1, 1, kernel_size=k, stride=2)
            def forward(self, x):
                y = self.conv(x)
                return y
    """, tmp_path)
    assert [(n.name, dict(n.options)) for n in network.nodes] == [("block.conv", {"kernel": 7, "stride": 2})]


def test_if_on_constructor_arguments(tmp_path):
    network = source("""
        import torch.nn as nn
        class Up(nn.Module):
            def __init__(self, bilinear=True):
                super().__init__()
                if bilinear:
                    self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
                else:
                    self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
                self.bilinear = bilinear
            def forward(self, x):
                if self.bilinear:
                    return self.up(x)
                return self.up(x) * 2
        model = Up(False)
    """, tmp_path)
    assert [(n.op, dict(n.options)) for n in network.nodes] == [("convT", {"kernel": 2, "stride": 2})]


def test_unused_branches_pruned(tmp_path):
    network = source("""
        import torch, torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(1, 1, 3)
                self.aux = nn.Conv2d(1, 1, 5)
                self.unused = nn.Linear(4, 4)
                self.unknown_kernel = nn.Conv2d(1, 1, some_size)
            def forward(self, x):
                side = self.aux(x)
                return self.a(x)
    """, tmp_path)
    assert [n.name for n in network.nodes] == ["a"]


# ---- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, pattern", [
    ("class Net(nn.Module):\n    def __init__(self)\n        pass\n", r"model.py:3: syntax error"),
    ("x = 1\n", r"model.py: no PyTorch model found"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.rnn = nn.LSTM(3, 4)\n    def forward(self, x):\n        return self.rnn(x)\n",
     r"model.py:5: nn.LSTM\(3, 4\): unknown module"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.act = nn.ReLU()\n    def forward(self, x):\n        return self.act(x)\n",
     r"model.py: the model has no layer that changes the size"),
    ("import torch.nn.functional as F\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, 3)\n    def forward(self, x):\n        x = self.c(x)\n"
     "        return F.pad(x, [x.size(2), 0])\n",
     r"model.py:9: F.pad\(x, \[x.size\(2\), 0\]\): pads computed at run time"),
    ("class Net(nn.Module):\n    def __init__(self, k):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, k)\n    def forward(self, x):\n        return self.c(x)\n",
     r"model.py:5: nn.Conv2d\(1, 1, k\): kernel_size is not a literal \('k' is an argument of __init__"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, 3, bogus=2)\n    def forward(self, x):\n        return self.c(x)\n",
     r"model.py:5: .*unexpected keyword argument 'bogus'"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, 3)\n    def forward(self, x):\n        return mystery(self.c(x))\n",
     r"model.py:7: mystery\(self.c\(x\)\): unknown call on a tensor"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, 3)\n    def forward(self, x):\n        return self.c(x)[:, :, 1:]\n",
     r"model.py:7: .*slicing a tensor"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        self.c = nn.Conv2d(1, 1, 3)\n    def forward(self, x):\n        while True:\n"
     "            x = self.c(x)\n        return x\n",
     r"model.py:7: while statements in forward\(\) are not supported"),
    ("from tensorflow import keras\nfrom keras import layers\n"
     "model = keras.Sequential([layers.Conv2D(8, 3), layers.MaxPooling2D()])\n",
     r"model.py:4: layers.Conv2D\(8, 3\): Keras layers in Python source are not read; .*model.to_json\(\)"),
])
def test_errors_name_file_and_line(tmp_path, body, pattern):
    with pytest.raises(SpecError, match=pattern):
        source("import torch.nn as nn\n" + body, tmp_path)


def test_error_through_cli_is_one_line(run, tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("import torch.nn as nn\nclass Net(nn.Module:\n    pass\n")
    code, out, err = run("chain", "64", str(path))
    assert code == 2
    assert "bad.py:2: syntax error" in err and "Traceback" not in err


# ---- print(model) --------------------------------------------------------------------------------------------


def test_print_unet_is_a_sequential_chain():
    network = load_spec(str(DATA / "unet_seed000_print.txt"))
    assert not any(n.op == "concat" for n in network.nodes)  # print(model) has no data flow
    names = [n.name for n in network.nodes]
    assert names[:3] == ["conv1.conv.0", "conv1.conv.3", "pool1"] and names[-1] == "conv10"
    assert len(names) == 27
    got = sizes(network, (64, 64))
    assert got["pool4"] == (4, 4) and got["up6"] == (8, 8) and got["conv10"] == (64, 64)
    assert {n.name: n.channels for n in network.nodes}["conv10"] == 1


def test_print_mixed():
    network = load_spec(str(DATA / "mixed_print.txt"))
    nodes = {n.name: dict(n.options) for n in network.nodes}
    # printed unquoted: padding=same, padding_mode=reflect
    assert nodes["0"] == {"kernel": 3, "stride": 1, "padding": "same", "padding_mode": "reflect"}
    assert [n for n in nodes if n.startswith("2.")] == ["2.0", "2.1", "2.2"]  # "(0-2): 3 x Conv2d(...)"
    # 64 same -> 64; three k3 s2 p1 -> 32 16 8; maxpool k3 s2 p1 ceil: ceil(7/2)+1 = 5 (start 8 < 8+1);
    # upsample x2 -> 10; convT k4 s2 p1 op1: 9*2-2+4+1 = 21; pixelshuffle x2 -> 42; avgpool 2 -> 21
    assert list(sizes(network, (64, 64)).values()) == [(64, 64), (32, 32), (16, 16), (8, 8), (5, 5), (10, 10),
                                                        (21, 21), (42, 42), (21, 21)]


def test_print_errors(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("Net(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n  (rnn): LSTM(4, 2, "
                    "batch_first=True)\n)\n")
    with pytest.raises(SpecError, match=r"p.txt:3: unknown module LSTM"):
        load_spec(str(path))
    path.write_text("Net(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3)\n")
    with pytest.raises(SpecError, match=r"p.txt:2: syntax error"):
        load_spec(str(path))
    path.write_text("Net(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3))\n  what is this\n)\n")
    with pytest.raises(SpecError, match=r"p.txt:3: cannot read this line"):
        load_spec(str(path))


# ---- Keras to_json() ------------------------------------------------------------------------------------------


def test_keras_sequential_fixture():
    network = load_spec(str(DATA / "keras_sequential.json"))
    assert network.framework == "keras" and network.in_channels == 3
    # 28 same -> 28; pool 2 -> 14; conv k3 s2 valid: (14-3)//2+1 = 6; convT k3 s2 same op1: (6-1)*2+3-2*1+1 = 12
    # (keras same pads (k-1)//2 ... here total k-s=1 -> output 6*2 = 12 with output_padding 1 matching);
    # upsample 2 -> 24; avgpool k3 s2 same: ceil(24/2) = 12; convT k4 s2 valid: (12-1)*2+4 = 26
    got = sizes(network, (28, 28))
    assert list(got.values()) == [(28, 28), (14, 14), (6, 6), (12, 12), (24, 24), (12, 12), (26, 26)]
    assert [n.channels for n in network.nodes] == [16, None, 32, 16, None, None, 8]


def test_keras_functional_fixture():
    network = load_spec(str(DATA / "keras_functional_unet.json"))
    nodes = {n.name: n for n in network.nodes}
    assert network.in_channels == 1
    assert nodes["skip2"].op == "concat" and nodes["skip2"].inputs == ("up2", "enc2")
    assert nodes["skip1"].op == "add" and nodes["skip1"].inputs == ("up1", "proj1")
    assert nodes["pool1"].inputs == ("enc1",)  # through the ReLU
    assert nodes["proj1"].inputs == ("enc1",)
    got = sizes(network, (64, 64))
    assert got["pool2"] == (16, 16) and got["up2"] == (32, 32) and got["head"] == (64, 64)
    # 66 -> pool1 33 -> pool2 16 -> up2 32 vs enc2 33
    with pytest.raises(ShapeError, match=r"'skip2'.*'up2' \(32x32\) and 'enc2' \(33x33\)"):
        chain(network, (66, 66))


def test_keras_errors(tmp_path):
    data = json.loads((DATA / "keras_sequential.json").read_text())
    data["config"]["layers"].append({"class_name": "LSTM", "config": {"name": "rnn", "units": 3}})
    with pytest.raises(SpecError, match=r"m.json: layers\[9\] \(LSTM 'rnn'\): unsupported Keras layer LSTM"):
        network_from_keras_json(data, "m.json")
    with pytest.raises(SpecError, match="expected a Sequential or Functional"):
        network_from_keras_json({"class_name": "Conv2D", "config": {"layers": []}}, "m.json")
    with pytest.raises(SpecError, match="no config.layers"):
        network_from_keras_json({"class_name": "Sequential"}, "m.json")


def test_keras2_inbound_nodes(tmp_path):
    # tf.keras 2 wrote inbound_nodes as [[[layer, node_index, tensor_index, kwargs], ...]]
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 32, 32, 3], "name": "in"},
         "name": "in", "inbound_nodes": []},
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "same", "dilation_rate": [1, 1]},
         "name": "c", "inbound_nodes": [[["in", 0, 0, {}]]]},
        {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2], "strides": [2, 2],
                                                  "padding": "valid"},
         "name": "p", "inbound_nodes": [[["c", 0, 0, {}]]]},
        {"class_name": "UpSampling2D", "config": {"name": "u", "size": [2, 2]},
         "name": "u", "inbound_nodes": [[["p", 0, 0, {}]]]},
        {"class_name": "Concatenate", "config": {"name": "cat", "axis": -1},
         "name": "cat", "inbound_nodes": [[["u", 0, 0, {}], ["c", 0, 0, {}]]]},
    ]
    data = {"class_name": "Functional", "config": {"layers": layers, "output_layers": [["cat", 0, 0]]}}
    network = network_from_keras_json(data, "k2.json")
    assert network.in_channels == 3
    assert [(n.name, n.inputs) for n in network.nodes] == [("c", ("input",)), ("p", ("c",)), ("u", ("p",)),
                                                            ("cat", ("u", "c"))]
    assert sizes(network, (32, 32))["cat"] == (32, 32)


def test_resnet_like_helpers_and_residuals():
    network = load_spec(str(DATA / "resnet_like.py"))
    nodes = {n.name: n for n in network.nodes}
    assert nodes["layer2.0.out"].op == "add" and nodes["layer2.0.out"].inputs == ("layer2.0.conv2",
                                                                                   "layer2.0.downsample.0")
    assert nodes["layer1.0.out"].inputs == ("layer1.0.conv2", "maxpool")  # no downsample: identity
    assert "layer1.0.downsample.0" not in nodes
    got = sizes(network, (224, 224))
    # conv k7 s2 p3: (224+6-7)//2+1 = 112; maxpool k3 s2 p1: 56; each stage's stride-2 conv k3 p1 halves
    assert got["conv1"] == (112, 112) and got["maxpool"] == (56, 56)
    assert got["layer2.0.conv1"] == (28, 28) and got["layer4.1.out"] == (7, 7)


def test_text_without_a_file():
    network = network_from_source("import torch.nn as nn\nnet = nn.Sequential(nn.Conv1d(1, 1, 4, 4))\n", "inline.py")
    assert sizes(network, (16,)) == {"0": (4,)}


# ---- the rank a source writes its layers for ---------------------------------------------------------------


def test_a_conv2d_network_takes_one_size_for_both_axes_and_refuses_three(run, run_json):
    network = load_spec(str(DATA / "unet_seed000.py"))
    assert network.rank == 2 and network.fit((64,)) == (64, 64) and network.fit((64, 32)) == (64, 32)
    code, result, _ = run_json("chain", 64, DATA / "unet_seed000.py")
    assert code == 0 and result["input"] == [64, 64] and result["output"] == [64, 64]
    code, out, err = run("chain", "64x64x64", DATA / "unet_seed000.py")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "64x64x64 has 3 axes, but the network is 2-D (" in err and "unet_seed000.py:" in err


@pytest.mark.parametrize("fixture, rank", [("unet_seed000_print.txt", 2), ("keras_sequential.json", 2),
                                            ("keras_functional_unet.json", 2)])
def test_printed_and_keras_networks_know_their_rank(fixture, rank):
    assert load_spec(str(DATA / fixture)).rank == rank


def test_padding_mode_is_read_and_checked(tmp_path):
    network = source("""
        import torch.nn as nn
        net = nn.Sequential(nn.Conv2d(3, 8, 7, padding=3, padding_mode="reflect"), nn.Conv2d(8, 8, 3, padding=1))
        """, tmp_path)
    assert dict(network.nodes[0].options)["padding_mode"] == "reflect"
    assert "padding_mode" not in dict(network.nodes[1].options)  # zeros: torch's default, not written
    assert sizes(network, (4, 4))["1"] == (4, 4)
    with pytest.raises(ShapeError, match=r"model.py:3: Padding size should be less than the corresponding "
                                         r"input dimension, but got: padding \(3, 3\) at dimension 3"):
        chain(network, (3, 3))


def test_functional_pools_and_1d_layers_carry_their_rank(tmp_path):
    network = source("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(1, 4, 3)

            def forward(self, x):
                return F.max_pool1d(self.conv(x), 2)
        """, tmp_path)
    assert [node.rank for node in network.nodes] == [1, 1]
    assert sizes(network, network.fit((10,))) == {"conv": (8,), "max_pool1d@L11": (4,)}


def test_a_network_mixing_ranks_is_refused(tmp_path):
    with pytest.raises(SpecError, match=r"model.py:\d+: a 2-D layer after the 1-D .*model.py:\d+; a network "
                                        r"follows one rank"):
        source("""
            import torch.nn as nn
            net = nn.Sequential(nn.Conv1d(1, 4, 3), nn.Conv2d(4, 4, 3))
            """, tmp_path)


def test_rank_in_a_spec_file_is_checked(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text('[[layers]]\nlayer = "conv"\nkernel = 3\nrank = 4\n')
    with pytest.raises(SpecError, match=r"net.toml: layers\[0\] \(line 1\): field 'rank' must be 1, 2 or 3 on a layer, got 4"):
        load_spec(str(path))
    path.write_text('[[layers]]\nlayer = "conv"\nkernel = 3\nrank = 3\n')
    assert load_spec(str(path)).fit((8,)) == (8, 8, 8)


def test_torch_pad_modules_read_as_pad_layers(tmp_path):
    network = source("""
        import torch.nn as nn
        net = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(3, 8, 7), nn.ZeroPad2d((0, 1, 2, 3)),
                            nn.CircularPad2d(1), nn.ConstantPad2d(-1, 0.5))
        """, tmp_path)
    options = [dict(node.options) for node in network.nodes]
    assert options[0] == {"padding": 3, "padding_mode": "reflect"}
    assert options[2] == {"padding": "2:3x0:1", "padding_mode": "zeros"}  # torch lists the last axis first
    assert options[3] == {"padding": 1, "padding_mode": "circular"}
    assert options[4] == {"padding": -1, "padding_mode": "zeros"}  # ConstantPad: a value, the same sizes
    # 10 -> reflect 3: 16 -> k7: 10 -> (2+3, 0+1): 15x11 -> circular 1: 17x13 -> crop 1: 15x11
    assert sizes(network, network.fit((10,)))["4"] == (15, 11)
    with pytest.raises(SpecError, match=r"padding must be an int or 4 ints, got \[1, 2\]"):
        source("import torch.nn as nn\nnet = nn.Sequential(nn.ZeroPad2d([1, 2]))\n", tmp_path)


def test_keras_zero_padding_and_cropping_read_as_pads(tmp_path):
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3]}},
              {"class_name": "ZeroPadding2D", "config": {"padding": [[1, 2], [3, 4]]}},
              {"class_name": "Cropping2D", "config": {"cropping": [[1, 1], [0, 2]]}},
              {"class_name": "ZeroPadding1D", "config": {"padding": [1, 3]}}]
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": layers[:3]}}))
    network = load_spec(str(path))
    assert [dict(n.options)["padding"] for n in network.nodes] == ["1:2x3:4", "-1:-1x0:-2"]
    assert network.rank == 2
    path.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": [layers[0], layers[3]]}}))
    assert dict(load_spec(str(path)).nodes[0].options)["padding"] == "1:3"
