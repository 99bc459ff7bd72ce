"""Keras ``model.to_json()`` (Keras 3, and Keras 2's inbound_nodes lists): Sequential models are
chains; Functional models follow ``inbound_nodes``. Framework "keras"."""

import os
import re
from dataclasses import replace

from ..errors import TconvError
from ..network import INPUT, SpecError, make_network
from .items import axes_text, reachable

_KERAS_CONV = re.compile(r"(Conv|Convolution|SeparableConv|SeparableConvolution|DepthwiseConv)([123])D\Z")
_KERAS_CONVT = re.compile(r"(?:Conv|Convolution)([123])DTranspose\Z")
_KERAS_POOL = re.compile(r"(Max|Average|Avg)Pool(?:ing)?([123])D\Z")
_KERAS_UP = re.compile(r"UpSampling([123])D\Z")
_KERAS_PAD = re.compile(r"(ZeroPadding|Cropping)([123])D\Z")
_KERAS_GLOBAL = re.compile(r"Global(Max|Average|Avg)Pool(?:ing)?([123])D\Z")
KERAS_NEUTRAL = {
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Activation", "ReLU",
    "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity",
    "Rescaling", "Normalization", "Masking",
}
# Multiply broadcasts (a squeeze-excitation's (1, 1, C) scale); the others are read as equal-size merges
_KERAS_MERGES = {"Concatenate": "concat", "Add": "add", "Subtract": "add", "Multiply": "mul", "Average": "add",
                 "Maximum": "add", "Minimum": "add", "Divide": "mul", "TrueDivide": "mul"}  # the last: keras.ops
MAX_ARCHIVE = 4 << 30  # the weights make it big, and are never read: zipfile reads the directory only
MAX_CONFIG = 32 << 20  # config.json uncompressed: real models' are a few MiB; a zip bomb's is far more


def network_from_keras_json(data, path, backend=None):
    """A Network from Keras ``model.to_json()`` (Sequential or Functional), framework keras."""
    source = str(path)
    kind = data.get("class_name")
    config = data.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise SpecError(f"{source}: a Keras {kind} with no config.layers list; expected model.to_json() of a "
                        "Sequential or Functional model")
    if kind not in ("Sequential", "Functional", "Model"):
        raise SpecError(f"{source}: Keras class_name {kind!r}; expected a Sequential or Functional model")
    try:
        if kind == "Sequential":
            items, channels, _ = _keras_sequential(config["layers"], source)
        else:
            items, channels = _keras_functional(config, source)
    except TconvError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as error:
        # a field of the wrong type somewhere in a hand-edited or damaged config
        raise SpecError(f"{source}: cannot read the Keras config ({type(error).__name__}: "
                        f"{' '.join(str(error).split())[:80]})") from None
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size; nothing to chain")
    return make_network(items, "keras", backend, source=source, in_channels=channels)


def network_from_keras_file(path, backend=None):
    """A Network from a Keras 3 ``.keras`` archive: its config.json, read with zipfile and json only
    (no object is deserialised, keras is not imported, the weights are not read)."""
    import json
    import zipfile

    source = str(path)
    try:
        if os.path.getsize(source) > MAX_ARCHIVE:
            raise SpecError(f"{source}: {os.path.getsize(source) >> 20} MiB; tconvcalc reads .keras files up to "
                            f"{MAX_ARCHIVE >> 20} MiB")
        with zipfile.ZipFile(source) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise SpecError(f"{source}: a zip without config.json; expected a Keras 3 .keras file "
                                "(model.save('model.keras'))") from None
            if info.file_size > MAX_CONFIG:
                raise SpecError(f"{source}: config.json is {info.file_size >> 20} MiB uncompressed; tconvcalc reads "
                                f"configs up to {MAX_CONFIG >> 20} MiB")
            with archive.open(info) as handle:
                text = handle.read(MAX_CONFIG + 1)  # the header's size may lie: never read past the bound
    except OSError as error:
        raise SpecError(f"{source}: cannot read: {error.strerror or error}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, RuntimeError) as error:
        raise SpecError(f"{source}: not a .keras file (not a zip archive Python can read: {error})") from None
    if len(text) > MAX_CONFIG:
        raise SpecError(f"{source}: config.json is larger than {MAX_CONFIG >> 20} MiB uncompressed")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise SpecError(f"{source}: config.json is not JSON ({' '.join(str(error).split())[:80]})") from None
    if not isinstance(data, dict) or "class_name" not in data:
        raise SpecError(f"{source}: config.json holds no Keras model (no class_name)")
    network = network_from_keras_json(data, source, backend)
    return replace(network, origin=f"read the config.json of {os.path.basename(source)} (a Keras "
                                   f"{data.get('class_name')}) without deserialising or running it")


def _keras_where(source, index, layer):
    return f"{source}: layers[{index}] ({layer.get('class_name')} {_keras_name(layer)!r})"


def _keras_name(layer):
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(layer.get("name") or config.get("name") or "")


def _keras_layer(layer, where, flat=False):
    """The make_network items for one Keras layer (SeparableConv: two), each reading the one before; [] for
    shape-neutral layers and InputLayer. ``flat``: the layer reads a flattened (N, features) tensor."""
    kind = layer.get("class_name")
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    if kind == "InputLayer" or kind in KERAS_NEUTRAL:
        return []
    if kind in _KERAS_MERGES:
        if kind == "Concatenate" and config.get("axis", -1) not in (-1, (_tensor_rank(layer) or 0) - 1):
            raise SpecError(f"{where}: Concatenate on axis {config.get('axis')}; tconvcalc follows concatenation "
                            "along the channels (axis -1)")
        return [{"layer": _KERAS_MERGES[kind]}]

    def field(name, required=True):
        value = config.get(name)
        if value is None and required:
            raise SpecError(f"{where}: missing config field {name!r}")
        if value is not None and not (isinstance(value, (int, str)) or
                                      (isinstance(value, list) and all(isinstance(v, int) for v in value))):
            raise SpecError(f"{where}: cannot read config field {name}={value!r}")
        return axes_text(value)

    channels_in = _built_channels(layer)
    if flat and kind not in ("Dense", "Flatten", "Reshape"):
        raise SpecError(f"{where}: a {kind} after the tensor was flattened to (N, features); tconvcalc cannot "
                        "follow it")
    conv = _KERAS_CONV.match(kind) or _KERAS_CONVT.match(kind)
    if conv:
        transposed = bool(_KERAS_CONVT.match(kind))
        rank = int(conv[1] if transposed else conv[2])
        item = {"layer": "convT" if transposed else "conv", "kernel": field("kernel_size"),
                "stride": field("strides"), "padding": field("padding"), "dilation": field("dilation_rate"),
                "rank": rank}
        if transposed and config.get("output_padding") is not None:
            item["output_padding"] = field("output_padding")
        groups = config.get("groups", 1)
        if isinstance(groups, int) and groups > 1:
            item["groups"] = groups
        filters = config.get("filters")
        if not transposed and conv[1].startswith(("Separable", "Depthwise")):
            return _depthwise(item, config, channels_in, filters, conv[1].startswith("Separable"), where)
        if isinstance(filters, int) and filters > 0:
            item["channels"] = filters
        if channels_in:
            item["in_channels"] = channels_in
        return [item]
    pool = _KERAS_POOL.match(kind)
    if pool:
        item = {"layer": "maxpool" if pool[1] == "Max" else "avgpool", "kernel": field("pool_size"),
                "padding": field("padding"), "rank": int(pool[2])}
        if config.get("strides") is not None:
            item["stride"] = field("strides")
        return [item]
    pooled = _KERAS_GLOBAL.match(kind)
    if pooled:  # adaptive to 1, then (keepdims False, the default) the 1x1 folded away: a flatten
        item = {"layer": "adaptivemaxpool" if pooled[1] == "Max" else "adaptiveavgpool", "output_size": 1,
                "rank": int(pooled[2])}
        return [item] if config.get("keepdims") else [item, {"layer": "flatten", "flat": True, "suffix": "/flatten"}]
    up = _KERAS_UP.match(kind)
    if up:
        return [{"layer": "upsample", "scale": field("size"), "rank": int(up[1])}]
    if kind == "Resizing":
        if config.get("crop_to_aspect_ratio") or config.get("pad_to_aspect_ratio"):
            raise SpecError(f"{where}: Resizing with crop_to_aspect_ratio/pad_to_aspect_ratio is not followed")
        height, width = config.get("height"), config.get("width")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (height, width)):
            raise SpecError(f"{where}: cannot read height={height!r}, width={width!r}")
        return [{"layer": "upsample", "output_size": axes_text([height, width]), "rank": 2}]
    pad = _KERAS_PAD.match(kind)
    if pad:
        crop = pad[1] == "Cropping"
        return [{"layer": "pad", "padding": _pad_text(config.get("cropping" if crop else "padding"), int(pad[2]),
                                                      crop, where), "rank": int(pad[2])}]
    if kind == "Flatten":
        return [] if flat else [{"layer": "flatten", "flat": True}]
    if kind == "Reshape":
        target = config.get("target_shape")
        if isinstance(target, list) and len(target) == 1 and isinstance(target[0], int) and target[0] != 0:
            items = [] if flat else [{"layer": "flatten", "flat": True}]
            if target[0] > 0:  # Reshape((F,)) refuses any other count: a linear F -> F checks it, sizes unchanged
                items.append({"layer": "linear", "channels": target[0], "in_channels": target[0], "flat": True,
                              "suffix": "/size" if items else ""})
            return items
        raise SpecError(f"{where}: Reshape to {target!r}; tconvcalc follows a reshape to one axis of features "
                        "(a flatten) only")
    if kind == "Dense":
        units = config.get("units")
        if not (isinstance(units, int) and not isinstance(units, bool) and units > 0):
            raise SpecError(f"{where}: cannot read units={units!r}")
        if not flat:  # Dense on (N, H, W, C) acts on the channels only: the sizes of a 1x1 conv
            item = {"layer": "conv", "kernel": 1, "channels": units}
            return [{**item, "in_channels": channels_in} if channels_in else item]
        item = {"layer": "linear", "channels": units, "flat": True}
        return [{**item, "in_channels": channels_in} if channels_in else item]
    raise SpecError(f"{where}: unsupported Keras layer {kind}: it could change the size and tconvcalc cannot "
                    "follow it (supported: Conv*D, Conv*DTranspose, SeparableConv*D, DepthwiseConv*D, "
                    "MaxPooling*D, AveragePooling*D, GlobalMax/AveragePooling*D, UpSampling*D, Resizing, "
                    "ZeroPadding*D, Cropping*D, Flatten, Reshape to features, Dense, Concatenate, Add, Multiply, "
                    "and shape-neutral layers)")


def _depthwise(item, config, channels_in, filters, separable, where):
    """DepthwiseConv: groups = in channels, out = in x depth_multiplier; SeparableConv: that, then a 1x1 conv
    to ``filters`` (the pointwise step, which keeps the size)."""
    multiplier = config.get("depth_multiplier", 1)
    if not (isinstance(multiplier, int) and multiplier > 0):
        raise SpecError(f"{where}: cannot read depth_multiplier={multiplier!r}")
    item.pop("groups", None)
    if channels_in:
        item.update(channels=channels_in * multiplier, in_channels=channels_in, groups=channels_in)
    if not separable:
        return [item]
    pointwise = {"layer": "conv", "kernel": 1, "rank": item["rank"], "suffix": "/pointwise"}
    if isinstance(filters, int) and filters > 0:
        pointwise["channels"] = filters
    return [item, pointwise]


def _tensor_rank(layer):
    """The rank of the tensor a layer reads (N included), from its build_config or its first inbound tensor."""
    build = layer.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and shape and isinstance(shape[0], list):  # a merge: one shape per input
        shape = shape[0]
    if isinstance(shape, list) and shape:
        return len(shape)
    for node in layer.get("inbound_nodes") or []:
        for arg in (node.get("args") or [None]) if isinstance(node, dict) else []:
            first = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(first, dict) and isinstance((first.get("config") or {}).get("shape"), list):
                return len(first["config"]["shape"])
    return None


def _scalar_operand(layer):
    """Whether a merge's call has a number among its arguments (keras.ops in a Functional model: x + 3.0,
    x * (1/6) in a hard-swish): broadcast over everything, it leaves the size alone."""
    return any(isinstance(arg, (int, float)) and not isinstance(arg, bool)
               for node in layer.get("inbound_nodes") or [] if isinstance(node, dict)
               for arg in node.get("args") or [])


def _built_channels(layer):
    """The input channels a layer was built for (Keras 3 saves build_config.input_shape: channels last)."""
    build = layer.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and shape and isinstance(shape[-1], int) and not isinstance(shape[-1], bool) \
            and shape[-1] > 0:
        return shape[-1]
    return None


def _input_channels(layer):
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and isinstance(layer.get("build_config"), dict):
        shape = layer["build_config"].get("input_shape")
    if isinstance(shape, list) and len(shape) >= 3:
        channel = shape[1] if config.get("data_format") == "channels_first" else shape[-1]
        if isinstance(channel, int) and channel > 0:
            return channel
    return None


def _named(items, name, first_input, where):
    """A layer's items named for it (the first takes the layer's name, SeparableConv's pointwise step
    ``name/pointwise``), each reading the one before; the markers the reader keeps are taken out."""
    named, previous = [], first_input
    for item in items:
        item = dict(item)
        item.pop("flat", None)
        item_name = name + item.pop("suffix", "")
        named.append({**item, "name": item_name, "where": where, "input": previous})
        previous = item_name
    return named


def _unflattened(layer, source, pooled):
    """Reshape((1, 1, C)) of a global pool's (N, C) -- the squeeze-excitation idiom -- is the pool's (N, 1, 1, C)
    again: the node before the flatten, or None."""
    target = (layer.get("config") or {}).get("target_shape") if layer.get("class_name") == "Reshape" else None
    if source in pooled and isinstance(target, list) and len(target) >= 2 and all(v == 1 for v in target[:-1]):
        return pooled[source]
    return None


def _pooled(entries):
    """{flatten node: the global pool before it} for a GlobalPooling without keepdims."""
    if len(entries) == 2 and entries[1]["layer"] == "flatten" and entries[0]["layer"].startswith("adaptive"):
        return {entries[1]["name"]: entries[0]["name"]}
    return {}


def _flattens(items, flat):
    """Whether the tensor is (N, features) after these items."""
    return any(item.get("flat") for item in items) or flat and not items


def _keras_sequential(layers, source, previous=INPUT, prefix="", flat=False):
    """A Sequential's layers in a chain from ``previous``: (items, input channels, whether the output is
    flat). Nested, its layers are named ``prefix`` + theirs and its messages start with the outer layer."""
    items, channels, pooled = [], None, {}
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise SpecError(f"{source}: layers[{index}]: expected a layer object")
        where = _keras_where(source, index, layer)
        if index == 0:
            channels = _input_channels(layer)
        if layer.get("class_name") == "Sequential":
            inner = _nested_layers(layer, where)
            entries, _, flat = _keras_sequential(inner, where, previous, f"{prefix}{_keras_name(layer)}/", flat)
            items += entries
            previous = entries[-1]["name"] if entries else previous
            continue
        restored = _unflattened(layer, previous, pooled)
        if restored:
            items = [item for item in items if item["name"] != previous]  # the flatten is undone
            previous, flat = restored, False
            continue
        layer_items = _keras_layer(layer, where, flat)
        if not layer_items:
            continue
        if layer_items[0]["layer"] in ("concat", "add", "mul"):
            raise SpecError(f"{where}: a merge layer in a Sequential model")
        flat = _flattens(layer_items, flat)
        entries = _named(layer_items, prefix + (_keras_name(layer) or f"layer{index}"), previous, where)
        items += entries
        pooled.update(_pooled(entries))
        previous = items[-1]["name"]
    return items, channels, flat


def _nested_layers(layer, where):
    layers = (layer.get("config") or {}).get("layers")
    if not isinstance(layers, list):
        raise SpecError(f"{where}: a nested Sequential without a layers list")
    return layers


def _keras_functional(config, source):
    alias = {}  # (layer name, node index) -> the node name that holds its output
    inputs, items, channels, flat = set(), [], None, set()  # flat: the nodes whose tensor is (N, features)
    pooled = {}  # a global pool's flatten -> the pool
    for index, layer in enumerate(config["layers"]):
        if not isinstance(layer, dict):
            raise SpecError(f"{source}: layers[{index}]: expected a layer object")
        where = _keras_where(source, index, layer)
        name = _keras_name(layer)
        if layer.get("class_name") == "InputLayer":
            if inputs:
                raise SpecError(f"{where}: a second input; tconvcalc chains models with one input")
            inputs.add(name)
            alias[(name, 0)] = INPUT
            channels = _input_channels(layer)
            continue
        if layer.get("class_name") in ("Functional", "Model"):
            raise SpecError(f"{where}: a nested Functional model; save it flat or chain it on its own")
        calls = _inbound(layer, where)
        for call_index, refs in enumerate(calls):
            resolved = []
            for ref in refs:
                if ref not in alias:
                    raise SpecError(f"{where}: reads {ref[0]!r} (call {ref[1]}), which is not defined before it")
                resolved.append(alias[ref])
            reads_flat = resolved[0] in flat
            node_name = name if call_index == 0 else f"{name}#{call_index + 1}"
            if layer.get("class_name") == "Sequential":  # a nested Sequential: its layers, inline
                if len(resolved) != 1:
                    raise SpecError(f"{where}: a nested Sequential called on {len(resolved)} tensors")
                entries, _, flat_out = _keras_sequential(_nested_layers(layer, where), where, resolved[0],
                                                         f"{node_name}/", reads_flat)
                items += entries
                alias[(name, call_index)] = entries[-1]["name"] if entries else resolved[0]
                if flat_out:
                    flat.add(alias[(name, call_index)])
                continue
            restored = _unflattened(layer, resolved[0], pooled)
            if restored:
                alias[(name, call_index)] = restored
                continue
            layer_items = _keras_layer(layer, where, reads_flat)
            if not layer_items:  # shape-neutral: its output is its input
                alias[(name, call_index)] = resolved[0]
                continue
            entries = _named(layer_items, node_name, resolved[0], where)
            if layer_items[0]["layer"] in ("concat", "add", "mul"):
                if len(resolved) == 1 and _scalar_operand(layer):
                    alias[(name, call_index)] = resolved[0]
                    continue
                if len(resolved) < 2:
                    raise SpecError(f"{where}: a {layer_items[0]['layer']} of one tensor")
                entries[0]["with"] = resolved[1:]
            elif len(resolved) != 1:
                raise SpecError(f"{where}: a layer called on {len(resolved)} tensors")
            items += entries
            pooled.update(_pooled(entries))
            alias[(name, call_index)] = entries[-1]["name"]
            if _flattens(layer_items, reads_flat):
                flat.add(entries[-1]["name"])
    outputs = config.get("output_layers")
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], list):
        outputs = outputs[0]
    if isinstance(outputs, list) and len(outputs) >= 2 and isinstance(outputs[0], str):
        final = alias.get((outputs[0], outputs[1]))
        if final is not None:
            items = reachable(items, final)
    return items, channels


def _inbound(layer, where):
    """Per call of the layer, the (layer name, node index) of each tensor it reads, in order."""
    nodes = layer.get("inbound_nodes") or []
    if not isinstance(nodes, list):
        raise SpecError(f"{where}: inbound_nodes is not a list")
    calls = []
    for node in nodes:
        refs = []
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            _tensors(node.get("args", []), refs)
        elif isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            for entry in node:
                if isinstance(entry, list) and len(entry) >= 2 and isinstance(entry[0], str) and _index(entry[1]):
                    refs.append((entry[0], entry[1]))
        if not refs:
            raise SpecError(f"{where}: cannot read which tensors this layer reads")
        calls.append(refs)
    return calls


def _index(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensors(value, refs):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if isinstance(history, list) and len(history) >= 2 and _index(history[1]):
                refs.append((str(history[0]), history[1]))
            return
        for inner in value.values():
            _tensors(inner, refs)
    elif isinstance(value, list):
        for inner in value:
            _tensors(inner, refs)


def _pad_text(value, rank, crop, where):
    """ZeroPadding/Cropping's config -- (before, after) per axis, 1-D a bare pair -- as before:after text;
    a crop is a negative pad."""
    pairs = [value] if rank == 1 else value
    if not (isinstance(pairs, list) and len(pairs) == rank and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
            for p in pairs)):
        raise SpecError(f"{where}: cannot read the {'cropping' if crop else 'padding'} {value!r}")
    sign = -1 if crop else 1
    return "x".join(f"{sign * before}:{sign * after}" for before, after in pairs)
