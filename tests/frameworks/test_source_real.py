"""The networks tconvcalc reads from source / print(model) / to_json(), built for real: every
intermediate size and the output agree with tconvcalc.network.chain.

Here the test itself imports the fixture modules to build the real models; tconvcalc never does.
"""
import importlib.util
import json
import os
import pathlib

import pytest

from tconvcalc.errors import ShapeError
from tconvcalc.files import load_spec
from tconvcalc.network import chain
from tconvcalc.source import network_from_keras_json

pytestmark = pytest.mark.filterwarnings("ignore:The structure of")
DATA = pathlib.Path(__file__).parent.parent / "data"


def _module(name):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- torch ---------------------------------------------------------------------------------------------------


def _torch_sizes(model, size):
    """Every leaf module's output spatial size by its named_modules() path, and the model output's."""
    torch = pytest.importorskip("torch")
    seen = {}
    hooks = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, inputs, output, name=name):
                output = output[0] if isinstance(output, tuple) else output
                seen.setdefault(name, []).append(tuple(output.shape[2:]))
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, _in_channels(model), *size))
    finally:
        for handle in hooks:
            handle.remove()
    return seen, tuple((out[0] if isinstance(out, tuple) else out).shape[2:])


def _in_channels(model):
    import torch.nn as nn

    first = next(m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)))
    return first.in_channels


def _compare_torch(network, model, size):
    """Both accept with equal sizes at every layer node, or both refuse."""
    try:
        result = chain(network, size)
    except ShapeError as error:
        with pytest.raises(RuntimeError):
            _torch_sizes(model, size)
        return str(error)
    seen, out = _torch_sizes(model, size)
    for step in result.steps:
        if step.op in ("concat", "add"):
            continue
        path, _, call = step.name.partition("#")
        if "@L" in path:  # a functional call in forward(): no module to hook
            continue
        index = int(call) - 1 if call else 0
        assert path in seen, (step.name, sorted(seen))
        assert seen[path][index] == tuple(step.output), (size, step.name, seen[path], step.output)
    assert tuple(result.output) == out, (size, result.output, out)
    return None


@pytest.fixture(scope="module")
def torch_ready():
    torch = pytest.importorskip("torch")
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    return torch


def test_unet_seed000_real(torch_ready):
    network = load_spec(str(DATA / "unet_seed000.py"))
    model = _module("unet_seed000").Unet(3, 1).eval()
    failures = 0
    for size in [(16, 16), (32, 48), (64, 64), (48, 80), (20, 20), (17, 16), (40, 40)]:
        failures += _compare_torch(network, model, size) is not None
    assert failures == 3  # 20, 17 and 40 are not multiples of 16


def test_unet_seed000_print_real(torch_ready):
    """print(model) is read as a chain: compare with the model's own modules run in that order."""
    import torch.nn as nn

    network = load_spec(str(DATA / "unet_seed000_print.txt"))
    model = _module("unet_seed000").Unet(3, 1).eval()
    leaves = nn.Sequential(*[m for m in model.modules() if not list(m.children())]).eval()
    assert str(model) + "\n" == (DATA / "unet_seed000_print.txt").read_text()  # the fixture is this torch's print
    # the chain ignores channels; run the leaves on a tensor whose channels fit each conv
    x = torch_ready.zeros(1, 3, 64, 64)
    outputs = []
    with torch_ready.no_grad():
        for module in leaves:
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and x.shape[1] != module.in_channels:
                x = torch_ready.zeros(1, module.in_channels, *x.shape[2:])
            if isinstance(module, nn.BatchNorm2d) and x.shape[1] != module.num_features:
                continue
            x = module(x)
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d)):
                outputs.append(tuple(x.shape[2:]))
    assert [tuple(step.output) for step in chain(network, (64, 64)).steps] == outputs


def test_mixed_print_real(torch_ready):
    import torch.nn as nn

    network = load_spec(str(DATA / "mixed_print.txt"))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect"), nn.ReLU(),
                          *[nn.Conv2d(8, 8, 3, stride=2, padding=1) for _ in range(3)],
                          nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.Upsample(scale_factor=2),
                          nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, output_padding=1),
                          nn.PixelShuffle(2), nn.AvgPool2d(2))
    for size in [(64, 64), (30, 30), (13, 21), (100, 7)]:
        expected = []
        x = torch_ready.zeros(1, 3, *size)
        try:
            with torch_ready.no_grad():
                for module in model:
                    x = module(x)
                    if not isinstance(module, nn.ReLU):
                        expected.append(tuple(x.shape[2:]))
        except RuntimeError:
            with pytest.raises(ShapeError):
                chain(network, size)
            continue
        assert [tuple(step.output) for step in chain(network, size).steps] == expected, size


def test_torch_features_real(torch_ready):
    network = load_spec(str(DATA / "torch_features.py"))
    features = _module("torch_features")
    model = features.Net().eval()
    refused = 0
    for size in [(64, 64), (56, 40), (48, 48), (50, 50), (33, 64), (8, 8), (16, 24), (9, 9)]:
        refused += _compare_torch(network, model, size) is not None
    assert 0 < refused < 8


# ---- keras ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_ready():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return pytest.importorskip("keras")


def _keras_layer_sizes(keras, model, size, channels):
    """Per layer name, its output's spatial size, from a sub-model per layer (run on zeros)."""
    import numpy as np

    x = np.zeros((1, *size, channels), dtype="float32")
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers if not
                                       isinstance(layer, keras.layers.InputLayer)])
    outputs = probe(x)
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return {name: tuple(out.shape[1:-1]) for name, out in zip(names, outputs)}


def _rebuild(keras, model, size):
    """The same architecture for another input size: from its own config, with the new input shape."""
    config = json.loads(model.to_json())
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, *size, layer["config"]["batch_shape"][-1]]
    return keras.models.model_from_json(json.dumps(config))


@pytest.mark.parametrize("fixture, make", [("keras_sequential.json", "sequential"),
                                           ("keras_functional_unet.json", "functional")])
def test_keras_fixtures_real(keras_ready, fixture, make):
    keras = keras_ready
    keras.backend.clear_session()  # auto-generated layer names count up across the session otherwise
    maker = _module("make_keras_fixtures")
    model = getattr(maker, make)()
    fresh = network_from_keras_json(json.loads(model.to_json()), fixture)
    committed = load_spec(str(DATA / fixture))
    assert [(n.name, n.op, n.options, n.inputs, n.channels) for n in fresh.nodes] == \
        [(n.name, n.op, n.options, n.inputs, n.channels) for n in committed.nodes]  # the fixture is current
    channels = committed.in_channels
    checked = refused = 0
    for size in [(28, 28), (64, 64), (66, 66), (30, 17), (7, 7), (32, 48), (5, 5), (96, 80)]:
        try:
            result = chain(committed, size)
        except ShapeError:
            refused += 1
            with pytest.raises(Exception):
                real = _rebuild(keras, model, size)
                _keras_layer_sizes(keras, real, size, channels)
            continue
        real = _rebuild(keras, model, size)
        seen = _keras_layer_sizes(keras, real, size, channels)
        for step in result.steps:
            assert seen[step.name] == tuple(step.output), (size, step.name, seen[step.name], step.output)
        assert tuple(real(__import__("numpy").zeros((1, *size, channels), "float32")).shape[1:-1]) == \
            tuple(result.output)
        checked += 1
    assert checked >= 3


def test_resnet_like_real(torch_ready):
    network = load_spec(str(DATA / "resnet_like.py"))
    model = _module("resnet_like").ResNet().eval()
    for size in [(224, 224), (33, 47), (1, 1), (64, 9)]:
        _compare_torch(network, model, size)


def test_cyclegan_generator_example_real(torch_ready):
    """Reflection pads (and their refusal below 2 at the residual blocks) as torch runs them."""
    path = pathlib.Path(__file__).parent.parent.parent / "examples" / "cyclegan_generator.py"
    spec = importlib.util.spec_from_file_location("cyclegan_generator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    network, model = load_spec(str(path)), module.ResnetGenerator().eval()
    # small sizes keep it quick: 18 -> 9 -> 5 comes back as 20; the first reflection pad of 3 needs 4
    refused = [size for size in [(16, 16), (18, 18), (5, 5), (9, 13), (3, 3), (3, 8)]
               if _compare_torch(network, model, size) is not None]
    assert refused == [(3, 3), (3, 8)]
