"""Keras ``model.to_json()`` (Keras 3, and Keras 2's inbound_nodes lists): Sequential models are
chains; Functional models follow ``inbound_nodes``. Framework "keras"."""

import re

from ..network import INPUT, SpecError, make_network
from .items import axes_text, reachable

_KERAS_CONV = re.compile(r"(?:Conv|Convolution|SeparableConv|SeparableConvolution|DepthwiseConv)([123])D\Z")
_KERAS_CONVT = re.compile(r"(?:Conv|Convolution)([123])DTranspose\Z")
_KERAS_POOL = re.compile(r"(Max|Average|Avg)Pool(?:ing)?([123])D\Z")
_KERAS_UP = re.compile(r"UpSampling([123])D\Z")
_KERAS_PAD = re.compile(r"(ZeroPadding|Cropping)([123])D\Z")
KERAS_NEUTRAL = {
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Activation", "ReLU",
    "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity",
    "Rescaling", "Normalization", "Masking",
}
_KERAS_MERGES = {"Concatenate": "concat", "Add": "add", "Subtract": "add", "Multiply": "add", "Average": "add",
                 "Maximum": "add", "Minimum": "add"}


def network_from_keras_json(data, path, backend=None):
    """A Network from Keras ``model.to_json()`` (Sequential or Functional), framework keras."""
    source = str(path)
    kind = data.get("class_name")
    config = data.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise SpecError(f"{source}: a Keras {kind} with no config.layers list; expected model.to_json() of a "
                        "Sequential or Functional model")
    if kind == "Sequential":
        items, channels = _keras_sequential(config["layers"], source)
    elif kind in ("Functional", "Model"):
        items, channels = _keras_functional(config, source)
    else:
        raise SpecError(f"{source}: Keras class_name {kind!r}; expected a Sequential or Functional model")
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size; nothing to chain")
    return make_network(items, "keras", backend, source=source, in_channels=channels)


def _keras_where(source, index, layer):
    return f"{source}: layers[{index}] ({layer.get('class_name')} {_keras_name(layer)!r})"


def _keras_name(layer):
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(layer.get("name") or config.get("name") or "")


def _keras_layer(layer, where):
    """The make_network item for one Keras layer; None for shape-neutral layers and InputLayer."""
    kind = layer.get("class_name")
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    if kind == "InputLayer" or kind in KERAS_NEUTRAL:
        return None
    if kind in _KERAS_MERGES:
        return {"layer": _KERAS_MERGES[kind]}

    def field(name, required=True):
        value = config.get(name)
        if value is None and required:
            raise SpecError(f"{where}: missing config field {name!r}")
        if value is not None and not (isinstance(value, (int, str)) or
                                      (isinstance(value, list) and all(isinstance(v, int) for v in value))):
            raise SpecError(f"{where}: cannot read config field {name}={value!r}")
        return axes_text(value)

    conv = _KERAS_CONV.match(kind) or _KERAS_CONVT.match(kind)
    if conv:
        item = {"layer": "convT" if _KERAS_CONVT.match(kind) else "conv", "kernel": field("kernel_size"),
                "stride": field("strides"), "padding": field("padding"), "dilation": field("dilation_rate"),
                "rank": int(conv[1])}
        if item["layer"] == "convT" and config.get("output_padding") is not None:
            item["output_padding"] = field("output_padding")
        filters = config.get("filters")
        if isinstance(filters, int) and filters > 0:
            item["channels"] = filters
        return item
    pool = _KERAS_POOL.match(kind)
    if pool:
        item = {"layer": "maxpool" if pool[1] == "Max" else "avgpool", "kernel": field("pool_size"),
                "padding": field("padding"), "rank": int(pool[2])}
        if config.get("strides") is not None:
            item["stride"] = field("strides")
        return item
    up = _KERAS_UP.match(kind)
    if up:
        return {"layer": "upsample", "scale": field("size"), "rank": int(up[1])}
    pad = _KERAS_PAD.match(kind)
    if pad:
        crop = pad[1] == "Cropping"
        return {"layer": "pad", "padding": _pad_text(config.get("cropping" if crop else "padding"), int(pad[2]),
                                                     crop, where), "rank": int(pad[2])}
    raise SpecError(f"{where}: unsupported Keras layer {kind}: it could change the size and tconvcalc cannot "
                    "follow it (supported: Conv*D, Conv*DTranspose, MaxPooling*D, AveragePooling*D, "
                    "UpSampling*D, ZeroPadding*D, Cropping*D, Concatenate, Add, and shape-neutral layers)")


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


def _keras_sequential(layers, source):
    items, channels = [], None
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise SpecError(f"{source}: layers[{index}]: expected a layer object")
        where = _keras_where(source, index, layer)
        if index == 0:
            channels = _input_channels(layer)
        item = _keras_layer(layer, where)
        if item is None:
            continue
        if item["layer"] in ("concat", "add"):
            raise SpecError(f"{where}: a merge layer in a Sequential model")
        items.append({**item, "name": _keras_name(layer) or f"layer{index}", "where": where})
    return items, channels


def _keras_functional(config, source):
    alias = {}  # (layer name, node index) -> the node name that holds its output
    inputs, items, channels = set(), [], None
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
        if layer.get("class_name") in ("Sequential", "Functional", "Model"):
            raise SpecError(f"{where}: a nested model; save it flat or chain it on its own")
        item = _keras_layer(layer, where)
        calls = _inbound(layer, where)
        if not calls:
            continue  # a layer never called does not take part
        for call_index, refs in enumerate(calls):
            resolved = []
            for ref in refs:
                if ref not in alias:
                    raise SpecError(f"{where}: reads {ref[0]!r} (call {ref[1]}), which is not defined before it")
                resolved.append(alias[ref])
            node_name = name if call_index == 0 else f"{name}#{call_index + 1}"
            if item is None:  # shape-neutral: its output is its input
                alias[(name, call_index)] = resolved[0]
                continue
            entry = {**item, "name": node_name, "where": where, "input": resolved[0]}
            if item["layer"] in ("concat", "add"):
                if len(resolved) < 2:
                    raise SpecError(f"{where}: a {item['layer']} of one tensor")
                entry["with"] = resolved[1:]
            elif len(resolved) != 1:
                raise SpecError(f"{where}: a layer called on {len(resolved)} tensors")
            items.append(entry)
            alias[(name, call_index)] = node_name
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
                if isinstance(entry, list) and len(entry) >= 2 and isinstance(entry[0], str):
                    refs.append((entry[0], int(entry[1])))
        if not refs:
            raise SpecError(f"{where}: cannot read which tensors this layer reads")
        calls.append(refs)
    return calls


def _tensors(value, refs):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if isinstance(history, list) and len(history) >= 2:
                refs.append((str(history[0]), int(history[1])))
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
