"""Keras 3 ``.keras`` archives: tconvcalc reads their config.json with zipfile + json (nothing deserialised, keras
not imported), and every size it reports is the shape keras itself gives the same layer's output when it runs
the model, over many input sizes, refusing where keras refuses.

The archives are built here with keras (model.save); the malformed ones by hand with zipfile.
"""

import json
import os
import zipfile

import pytest

from tconvcalc.errors import ShapeError
from tconvcalc.files import load_spec
from tconvcalc.network import SpecError, chain
from tconvcalc.source import keras_json


def keras_module():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return pytest.importorskip("keras")


def save(model, tmp_path, name="model.keras"):
    path = tmp_path / name
    model.save(str(path))
    return str(path)


def functional_unet(keras, channels=3):
    """A Functional U-Net in the idioms of keras.io's examples, with a squeeze-excitation on the skip."""
    layers = keras.layers
    inputs = keras.Input((None, None, channels), name="image")
    e1 = layers.Conv2D(8, 3, padding="same", activation="relu", name="enc1")(inputs)
    p1 = layers.MaxPooling2D(2, name="pool1")(e1)
    e2 = layers.SeparableConv2D(16, 3, padding="same", name="enc2")(p1)
    e2 = layers.BatchNormalization(name="bn2")(e2)
    p2 = layers.MaxPooling2D(2, name="pool2")(layers.Activation("relu", name="act2")(e2))
    mid = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="mid")(p2)
    u2 = layers.Conv2DTranspose(16, 2, strides=2, name="up2")(mid)
    c2 = layers.Concatenate(name="cat2")([u2, e2])
    u1 = layers.UpSampling2D(2, name="up1")(layers.Conv2D(8, 3, padding="same", name="dec2")(c2))
    se = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(e1)
    se = layers.Dense(8, activation="sigmoid", name="excite")(se)
    skip = layers.Multiply(name="scale")([e1, se])
    c1 = layers.Add(name="sum1")([u1, skip])
    padded = layers.ZeroPadding2D(((1, 2), (0, 3)), name="pad")(c1)
    cropped = layers.Cropping2D(((2, 1), (1, 2)), name="crop")(padded)
    outputs = layers.Conv2D(2, 1, name="head")(cropped)
    return keras.Model(inputs, outputs, name="unet")


def sequential_classifier(keras, size=None):
    layers = keras.layers
    return keras.Sequential([
        keras.Input((size, size, 3)),
        layers.Conv2D(8, 3, strides=2, padding="same", name="stem"),
        layers.MaxPooling2D(3, strides=2, name="pool"),
        layers.Conv2D(16, 3, name="conv"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dropout(0.2, name="drop"),
        layers.Dense(10, activation="softmax", name="classes"),
    ], name="classifier")


def flatten_classifier(keras, size):
    layers = keras.layers
    return keras.Sequential([keras.Input((size, size, 1)), layers.Conv2D(4, 3, strides=2, name="conv"),
                             layers.Flatten(name="flat"), layers.Dense(5, name="fc")])


def keras_shapes(model, size, channels):
    """Each layer's output shape when keras runs the model on a random input, or keras's error text."""
    keras = keras_module()
    import numpy as np

    operations = [op for op in getattr(model, "operations", model.layers)  # keras.ops calls are operations too
                  if not isinstance(op, keras.layers.InputLayer)]
    probe = keras.Model(model.inputs, [op.output for op in operations])
    try:
        outputs = probe(np.random.rand(1, *size, channels).astype("float32"), training=False)
    except Exception as error:  # keras's ValueError, TF's InvalidArgumentError
        return str(error)
    named = [op.name for op in operations]
    shapes = {name: tuple(output.shape) for name, output in zip(named, outputs)}
    # An empty output is a refusal: Keras's shape function refuses it (and oneDNN, TF's x86 default, errors);
    # only TF's reference CPU kernel, called eagerly, returns the empty tensor.
    empty = [name for name, shape in shapes.items() if 0 in shape[1:-1]]
    return f"empty output at {empty[0]}: {shapes[empty[0]]}" if empty else shapes


def compare_with_keras(path, model, sizes, channels=3):
    """tconvcalc refuses exactly where keras does; elsewhere each layer's last step has keras's size and
    channels (channels last). Returns the sizes that ran."""
    network = load_spec(path)
    valid = []
    for n in sizes:
        shapes = keras_shapes(model, (n, n), channels)
        try:
            result = chain(network, network.fit((n,)))
        except ShapeError as error:
            assert isinstance(shapes, str), f"H={n}: tconvcalc refuses ({error}) but keras runs"
            continue
        assert not isinstance(shapes, str), f"H={n}: keras refuses ({shapes[:300]}) but tconvcalc: {result.output}"
        valid.append(n)
        last = {step.name.split("/")[0]: step for step in result.steps}  # SeparableConv: its pointwise step
        for name, step in last.items():
            shape = shapes[name]
            if len(shape) > 2:
                assert tuple(step.output) == shape[1:-1], f"H={n}: {step.name}: {step.output} vs keras {shape}"
            if step.channels is not None:
                assert step.channels == shape[-1], f"H={n}: {step.name}: {step.channels} channels vs keras {shape}"
    return valid


# ---- reading the archive ----------------------------------------------------------------------------------


def test_unet_archive_is_read_from_its_config(tmp_path):
    keras = keras_module()
    path = save(functional_unet(keras), tmp_path)
    network = load_spec(path)
    nodes = {node.name: node for node in network.nodes}
    assert network.framework == "keras" and network.in_channels == 3
    assert network.origin == "read the config.json of model.keras (a Keras Functional) without deserialising or " \
                             "running it"
    assert nodes["enc2"].op == "conv" and nodes["enc2/pointwise"].channels == 16  # depthwise, then pointwise
    assert nodes["mid"].channels == 32 and dict(nodes["mid"].options)["groups"] == 16  # depth_multiplier 2
    assert nodes["squeeze"].op == "adaptiveavgpool"  # keepdims: no flatten after it
    assert nodes["excite"].op == "conv" and nodes["excite"].channels == 8  # Dense on (N, 1, 1, C)
    assert nodes["scale"].op == "mul" and nodes["scale"].inputs == ("enc1", "excite")
    assert nodes["cat2"].inputs == ("up2", "enc2/pointwise")  # through BatchNormalization


def test_sequential_classifier_is_read(tmp_path):
    keras = keras_module()
    network = load_spec(save(sequential_classifier(keras, 32), tmp_path))
    ops = [(node.name, node.op) for node in network.nodes]
    assert ops == [("stem", "conv"), ("pool", "maxpool"), ("conv", "conv"), ("gap", "adaptiveavgpool"),
                   ("gap/flatten", "flatten"), ("classes", "linear")]
    assert network.nodes[-1].channels == 10 and network.nodes[-1].in_channels == 16


def test_nothing_is_deserialised(tmp_path, monkeypatch):
    # the reader imports neither keras nor anything from the archive: reading works with keras unimportable
    keras = keras_module()
    path = save(sequential_classifier(keras, 32), tmp_path)
    import sys

    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    assert load_spec(path).nodes[0].name == "stem"


def write_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return str(path)


def test_archives_that_are_not_models(tmp_path, monkeypatch):
    not_zip = tmp_path / "a.keras"
    not_zip.write_text("not a zip")
    with pytest.raises(SpecError, match=r"a.keras: not a .keras file \(not a zip archive"):
        load_spec(str(not_zip))
    with pytest.raises(SpecError, match=r"b.keras: a zip without config.json"):
        load_spec(write_zip(tmp_path / "b.keras", {"metadata.json": "{}"}))
    with pytest.raises(SpecError, match=r"c.keras: config.json is not JSON"):
        load_spec(write_zip(tmp_path / "c.keras", {"config.json": "{nope"}))
    with pytest.raises(SpecError, match=r"d.keras: config.json holds no Keras model"):
        load_spec(write_zip(tmp_path / "d.keras", {"config.json": "[1, 2]"}))
    with pytest.raises(SpecError, match=r"missing.keras: cannot read"):
        load_spec(str(tmp_path / "missing.keras"))


def test_zip_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    # 64 MiB of spaces compress to ~64 KiB: the header's uncompressed size is checked before reading
    bomb = write_zip(tmp_path / "bomb.keras", {"config.json": b" " * (64 << 20)})
    assert os.path.getsize(bomb) < 1 << 20
    with pytest.raises(SpecError, match=r"bomb.keras: config.json is 64 MiB uncompressed; tconvcalc reads configs "
                                        r"up to 32 MiB"):
        load_spec(bomb)
    # a header that lies about the size: the read itself stops at the bound
    monkeypatch.setattr(keras_json, "MAX_CONFIG", 1000)
    small = write_zip(tmp_path / "liar.keras", {"config.json": b" " * 999 + b"{}"})
    with pytest.raises(SpecError, match=r"liar.keras: config.json is 0 MiB uncompressed"):
        load_spec(small)


def test_a_layer_it_cannot_follow_is_named(tmp_path):
    keras = keras_module()
    layers = keras.layers
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(4, 3, name="c"),
                              layers.Permute((2, 1, 3), name="swap")])
    with pytest.raises(SpecError, match=r"model.keras: layers\[2\] \(Permute 'swap'\): unsupported Keras layer "
                                        r"Permute"):
        load_spec(save(model, tmp_path))


def test_reshape_to_features_is_a_flatten(tmp_path):
    keras = keras_module()
    layers = keras.layers
    model = keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(4, 3, name="c"),
                              layers.Reshape((144,), name="r"), layers.Dense(3, name="d")])
    network = load_spec(save(model, tmp_path))
    # Reshape((144,)): a flatten, and a 144 -> 144 linear that checks the count as keras does
    assert [(node.name, node.op) for node in network.nodes] == [("c", "conv"), ("r", "flatten"),
                                                                 ("r/size", "linear"), ("d", "linear")]
    assert network.nodes[-1].in_channels == 144
    import numpy as np

    for n in (8, 10):  # 6*6*4 = 144 features at 8; 8*8*4 = 256 at 10, which keras's Reshape refuses
        x = np.zeros((1, n, n, 2), "float32")
        try:
            for layer in model.layers:
                x = layer(x)
            keras_runs = True
        except Exception:
            keras_runs = False
        try:
            chain(network, (n, n))
            tconvcalc_runs = True
        except ShapeError:
            tconvcalc_runs = False
        assert keras_runs == tconvcalc_runs == (n == 8)
    model = keras.Sequential([keras.Input((8, 8, 2)), layers.Reshape((4, 32), name="r")])
    with pytest.raises(SpecError, match=r"\(Reshape 'r'\): Reshape to \[4, 32\]"):
        load_spec(save(model, tmp_path, "r2.keras"))


def test_resizing_reads_its_output_size(tmp_path):
    keras = keras_module()
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Resizing(20, 24, name="resize")])
    node = load_spec(save(model, tmp_path)).nodes[0]
    assert node.op == "upsample" and dict(node.options)["output_size"] == "20x24"
    layers = keras.layers
    model = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(4, 3, strides=2, name="conv"),
                              layers.Resizing(20, 24, name="resize"), layers.Conv2D(2, 5, name="head")])
    # conv k3 s2 valid needs H >= 3; after Resizing every input gives 20x24 -> 16x20
    assert compare_with_keras(save(model, tmp_path, "r.keras"), model, range(1, 12)) == list(range(3, 12))


# ---- against keras running the model ----------------------------------------------------------------------


def test_unet_sizes_are_keras_sizes(tmp_path):
    keras = keras_module()
    model = functional_unet(keras)
    valid = compare_with_keras(save(model, tmp_path), model, range(4, 21))
    assert valid == [n for n in range(4, 21) if n % 4 == 0]  # two pools of 2, back up, Add and Concatenate


def test_classifier_sizes_are_keras_sizes(tmp_path):
    keras = keras_module()
    model = sequential_classifier(keras)
    # stem same s2: ceil(H/2); pool 3 s2 valid: (x-3)//2+1; conv 3 valid needs 3 of them: ceil(H/2) >= 7
    valid = compare_with_keras(save(model, tmp_path), model, range(8, 30, 3))
    assert valid == [n for n in range(8, 30, 3) if (n + 1) // 2 >= 7]
    fixed = sequential_classifier(keras, 32)
    result = chain(load_spec(save(fixed, tmp_path, "fixed.keras")), (32, 32))
    assert result.steps[-1].channels == fixed.output_shape[-1]
    assert [s.output for s in result.steps if s.name == "conv"][0] == tuple(
        fixed.get_layer("conv").output.shape[1:3])


def test_flatten_into_dense_fixes_the_input(tmp_path):
    keras = keras_module()
    import numpy as np

    model = flatten_classifier(keras, 9)  # conv (9-3)//2+1 = 4: Dense built on 4*4*4 = 64 features
    network = load_spec(save(model, tmp_path))
    keras_runs, tconvcalc_runs = [], []
    for n in range(5, 14):
        x = np.zeros((1, n, n, 1), "float32")
        try:
            for layer in model.layers:  # the built layers themselves, past the Input's own size check
                x = layer(x)
            keras_runs.append(n)
        except Exception:  # Dense: the input's last dimension must be 64
            pass
        try:
            chain(network, (n, n))
            tconvcalc_runs.append(n)
        except ShapeError:
            pass
    assert tconvcalc_runs == keras_runs == [9, 10]


def test_keras_applications_idioms(tmp_path):
    # EfficientNet's squeeze-excitation (GlobalAveragePooling2D, Reshape((1, 1, C)), 1x1 convs, Multiply),
    # MobileNetV3's hard-swish written with operators (x + 3.0, * (1/6): keras.ops layers with a number), and
    # DenseNet's Concatenate(axis=3)
    keras = keras_module()
    layers = keras.layers
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(16, 3, strides=2, padding="same", name="stem")(inputs)
    x = x * layers.ReLU(6.0, name="relu6")(x + 3.0) * (1.0 / 6.0)
    se = layers.GlobalAveragePooling2D(name="squeeze")(x)
    se = layers.Reshape((1, 1, 16), name="se_reshape")(se)
    se = layers.Conv2D(4, 1, activation="relu", name="se_reduce")(se)
    se = layers.Conv2D(16, 1, activation="sigmoid", name="se_expand")(se)
    x = layers.Multiply(name="excite")([x, se])
    x = layers.Concatenate(axis=3, name="dense_cat")([x, layers.Conv2D(8, 3, padding="same", name="grow")(x)])
    model = keras.Model(inputs, layers.MaxPooling2D(name="pool")(x))
    path = save(model, tmp_path)
    nodes = {node.name: node for node in load_spec(path).nodes}
    assert nodes["se_reduce"].inputs == ("squeeze",)  # the Reshape undoes the pool's flatten
    assert "squeeze/flatten" not in nodes
    assert nodes["dense_cat"].op == "concat"
    # stem same s2: ceil(H/2); the valid 2x2 pool needs 2 of them: H >= 3
    assert compare_with_keras(path, model, range(1, 20)) == list(range(3, 20))


def test_nested_sequential_blocks_are_inlined(tmp_path):
    keras = keras_module()
    layers = keras.layers
    block = keras.Sequential([layers.Conv2D(8, 3, padding="same", name="conv"), layers.BatchNormalization(name="bn"),
                              layers.MaxPooling2D(2, name="pool")], name="down")
    inputs = keras.Input((None, None, 8))
    once = block(inputs)
    twice = block(once)  # the same block again: its layers twice, named down#2/...
    up = layers.UpSampling2D(2, name="up")(twice)
    model = keras.Model(inputs, layers.Concatenate(name="cat")([up, once]))
    path = save(model, tmp_path)
    nodes = {node.name: node for node in load_spec(path).nodes}
    assert list(nodes) == ["down/conv", "down/pool", "down#2/conv", "down#2/pool", "up", "cat"]
    assert nodes["cat"].inputs == ("up", "down/pool")
    assert nodes["down/conv"].where.endswith("model.keras: layers[1] (Sequential 'down'): layers[1] (Conv2D 'conv')")
    network = load_spec(path)
    for n in range(2, 20):
        shapes = keras_shapes(model, (n, n), 8)
        try:
            result = chain(network, (n, n))
        except ShapeError:
            assert isinstance(shapes, str), f"H={n}: tconvcalc refuses, keras runs"
            continue
        assert not isinstance(shapes, str), f"H={n}: keras refuses ({shapes[:200]})"
        assert result.output == shapes["cat"][1:3] and result.steps[-1].channels == shapes["cat"][-1]


def test_corrupted_configs_are_one_line(tmp_path):
    # random leaves of a real config replaced by values of other types: each read works or is one line
    import random

    from tconvcalc.errors import TconvError

    keras = keras_module()
    path = save(functional_unet(keras), tmp_path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    draw, outcomes = random.Random(0), set()

    def leaves(value, trail=()):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from leaves(inner, trail + (key,))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                yield from leaves(inner, trail + (index,))
        yield trail

    trails = list(leaves(config))
    for trial in range(200):
        mutated = json.loads(json.dumps(config))
        for _ in range(draw.randint(1, 3)):
            trail = draw.choice(trails[:-1])
            target = mutated
            try:
                for step in trail[:-1]:
                    target = target[step]
                target[trail[-1]] = draw.choice([None, -1, 0, 2**40, "x", [], {}, [1, 2, 3], True, 1.5])
            except (KeyError, IndexError, TypeError):
                continue
        archive = write_zip(tmp_path / f"m{trial}.keras", {"config.json": json.dumps(mutated)})
        try:
            network = load_spec(archive)
            chain(network, network.fit((16,)))
            outcomes.add("read")
        except TconvError as error:
            assert "\n" not in str(error)
            outcomes.add(type(error).__name__)
    assert "read" in outcomes and "SpecError" in outcomes
