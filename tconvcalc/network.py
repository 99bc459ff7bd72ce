"""Networks: sizes through whole stacks, skip-connection checks, the exact set of valid input sizes.

A Network is a list of named nodes, each a layer (the options as written, built into a Layer once
the rank is known) or a merge (concat / add) of earlier nodes. Every size comes from forward(), so
a chain uses exactly the framework rules a single layer does.
"""

import math
import re
from dataclasses import dataclass, field, replace

from .arithmetic import unequal
from .errors import InputError, ShapeError
from .forward import evaluate, forward
from .frameworks import module
from .forward import symbolic as symbolic_sizes
from .layer import GLOBAL_ALIASES, MAX_INT, build_layer, parse_kind
from .validity import (MAX_SCAN, REACH, ValidInputs, growth, least_valid, period, reach, scan,
                       scanned_warnings)

MERGES = {"concat": "concat", "cat": "concat", "add": "add", "sum": "add", "mul": "mul", "multiply": "mul"}
# Nodes that are not one framework layer on the spatial axes: merges, and flatten/linear, which fold the spatial
# axes into features (N, C, *spatial) -> (N, C·prod(spatial)) and map features (torch Linear, Keras Dense).
FEATURE_OPS = {"flatten": "flatten", "linear": "linear", "dense": "linear", "fc": "linear", "gemm": "linear"}
NETWORK_OPS = frozenset(MERGES.values()) | frozenset(FEATURE_OPS.values())
LAYER_FIELDS = ("kernel", "stride", "padding", "dilation", "output_padding", "output_size", "ceil_mode", "scale",
                "padding_mode", "groups", "input_dilation", "consistent_padding", "api")  # api: keras layers/ops
NODE_FIELDS = {"name", "layer", "channels", "input", "with", "inputs", "rank", "in_channels", "like"}
LIKE_KINDS = ("upsample", "pad")  # layers that may take their output size from another node (like: NAME)
INPUT = "input"  # the name of the network's input
MAX_NODES = 1000
MAX_NAME = 256


class SpecError(InputError):
    """A network spec that cannot be read; the message names the file, line or item, and field."""


@dataclass(frozen=True)
class Node:
    name: str
    op: str  # a layer kind (conv, convT, ...) or a merge (concat, add)
    options: tuple  # (field, value) pairs as written, for build_layer
    inputs: tuple  # names of the nodes it reads
    channels: int | None  # output channels, where given
    where: str  # where it was written, for messages: "unet.toml: layers[3]", "item 2"
    rank: int | None = None  # the spatial axes its layer is written for (Conv2d: 2), where known
    in_channels: int | None = None  # conv/convT in_channels, linear in_features: checked against the input
    like: str | None = None  # upsample/pad: take the spatial size of this node (also the last of ``inputs``)


@dataclass(frozen=True)
class Network:
    nodes: tuple
    framework: str = "torch"
    backend: str | None = None
    source: str = "inline"
    in_channels: int | None = None
    origin: str | None = None  # which model was read and how: "read UNet(n_classes=2) from unet.py without running it"
    warnings: tuple = ()  # what the reader could not see, on every answer (print(model) text has no data flow)

    @property
    def rank(self):
        """The spatial axes its layers are written for (a network of Conv2d: 2), or None where none says."""
        return next((node.rank for node in self.nodes if node.rank), None)

    def fit(self, size):
        """SIZE for this network's rank: one value stands for every axis (64 -> 64x64 for Conv2d)."""
        rank = self.rank
        if rank is None or len(size) == rank:
            return tuple(size)
        if len(size) == 1:
            return tuple(size) * rank
        first = next(node for node in self.nodes if node.rank)
        raise InputError(f"{_text(size)} has {len(size)} axes, but the network is {rank}-D ({first.where}): "
                         f"give {rank} sizes, or one for all")


@dataclass(frozen=True)
class Step:
    name: str
    op: str
    description: str
    inputs: tuple  # the node names it reads
    input: tuple  # its input size
    output: tuple
    channels: int | None
    code: str | None
    warnings: tuple


@dataclass(frozen=True)
class ChainResult:
    framework: str
    input: tuple
    output: tuple
    steps: tuple
    condition: str | None  # symbolic: when every layer and every skip is valid
    code: str | None  # nn.Sequential / keras Sequential for a plain stack, else None
    warnings: tuple
    model: str | None = None  # which model was read and how (Network.origin)


# ---- building networks ------------------------------------------------------------------------------


def make_network(items, framework="torch", backend=None, source="inline", in_channels=None):
    """A Network from dicts ``{"layer": "conv", "kernel": 3, "name": ..., "with": ...}``,
    checking names, references and fields; ``where`` of each dict names it in messages."""
    items = list(items)
    if not items:
        raise SpecError(f"{source}: the network has no layers")
    if len(items) > MAX_NODES:
        raise SpecError(f"{source}: {len(items)} layers; at most {MAX_NODES}")
    nodes, known = [], [INPUT]
    for index, item in enumerate(items):
        where = item.pop("where", f"{source}: layers[{index}]")
        unknown = set(item) - NODE_FIELDS - set(LAYER_FIELDS)
        if unknown:
            raise SpecError(f"{where}: unknown field {sorted(unknown)[0]!r}; expected some of: "
                            f"{', '.join(sorted(NODE_FIELDS | set(LAYER_FIELDS)))}")
        if "layer" not in item:
            raise SpecError(f"{where}: missing field 'layer' (conv, convT, maxpool, ..., concat, add)")
        op_text = str(item["layer"]).strip().lower()
        op = MERGES.get(op_text) or FEATURE_OPS.get(op_text)
        try:
            op = op or parse_kind(op_text)
        except InputError as error:
            raise SpecError(f"{where}: field 'layer': {error}") from None
        if op_text in GLOBAL_ALIASES and item.get("output_size") is None:
            item = {**item, "output_size": 1}
        name = str(item.get("name", f"{op}{index + 1}"))
        if len(name) > MAX_NAME:  # it would be every table's widest cell, and every message's
            raise SpecError(f"{where}: a name of {len(name):,} characters (at most {MAX_NAME})")
        if name in known:
            raise SpecError(f"{where}: the name {name!r} is used twice")
        previous = known[-1]
        inputs = _references(item, op, previous, known, where)
        options = tuple((field, item[field]) for field in LAYER_FIELDS if item.get(field) is not None)
        if op in NETWORK_OPS and options:
            raise SpecError(f"{where}: field {options[0][0]!r} does not apply to {op}")
        channels = _positive(item, "channels", where)
        built_for = _positive(item, "in_channels", where)
        if built_for is not None and op not in ("conv", "convT", "linear"):
            raise SpecError(f"{where}: field 'in_channels' applies to conv, convT and linear, not {op}")
        if op == "linear" and channels is None:
            raise SpecError(f"{where}: a linear layer needs its out_features: field 'channels'")
        like = _like(item, op, options, known, where)
        if like is not None:
            inputs += (like,)
        rank = _rank(item.get("rank", 2 if op in ("pixelshuffle", "pixelunshuffle") else None), op, nodes, where)  # NCHW in all
        nodes.append(Node(name, op, options, inputs, channels, where, rank, built_for, like))
        known.append(name)
    return Network(tuple(nodes), framework, backend, source, in_channels)


def _positive(item, field, where):
    value = item.get(field)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_INT):
        raise SpecError(f"{where}: field {field!r} must be an integer in 1..{MAX_INT}, got {value!r}")
    return value


def _like(item, op, options, known, where):
    """``like: NAME``: an upsample or pad that takes NAME's spatial size (F.interpolate(x, size=skip.shape[2:]),
    the U-Net's F.pad to the skip); NAME is read for its size only, not as data."""
    like = item.get("like")
    if like is None:
        return None
    if op not in LIKE_KINDS:
        raise SpecError(f"{where}: field 'like' applies to {' and '.join(LIKE_KINDS)}, not {op}")
    if not isinstance(like, str) or like not in known:
        raise SpecError(f"{where}: field 'like': unknown name {like!r} (known so far: {', '.join(known)})")
    clash = next((field for field, _ in options if field in ("scale", "output_size", "padding")), None)
    if clash:
        raise SpecError(f"{where}: field 'like' gives the size; {clash!r} cannot be given too")
    return like


def _rank(rank, op, nodes, where):
    """A layer's rank (1, 2 or 3), which must agree with the layers before it: sizes follow one rank."""
    if rank is None:
        return None
    if not isinstance(rank, int) or rank not in (1, 2, 3) or isinstance(rank, bool) or op in MERGES.values():
        raise SpecError(f"{where}: field 'rank' must be 1, 2 or 3 on a layer, got {rank!r}")
    other = next((node for node in nodes if node.rank not in (None, rank)), None)
    if other:
        raise SpecError(f"{where}: a {rank}-D layer after the {other.rank}-D {other.where}; a network follows "
                        "one rank (tconvcalc cannot follow a reshape between them)")
    return rank


def _references(item, op, previous, known, where):
    """The names a node reads: the previous node, plus `with` for merges, or `input`/`inputs`."""
    merge = op in MERGES.values()
    if "inputs" in item:
        names = item["inputs"]
        if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
            raise SpecError(f"{where}: field 'inputs' must be a list of names (at least one)")
    elif merge:
        others = item.get("with")
        if others is None:
            raise SpecError(f"{where}: a {op} needs the node it merges: field 'with'")
        if not isinstance(others, (str, list, tuple)) or not others:
            raise SpecError(f"{where}: field 'with' must be a name or a list of names, got {others!r}")
        names = [item.get("input", previous), *([others] if isinstance(others, str) else others)]
    else:
        names = [item.get("input", previous)]
    for name in names:
        if name not in known:
            raise SpecError(f"{where}: unknown name {name!r} (known so far: {', '.join(known)}; "
                            "a node can only read nodes written before it, so there are no cycles)")
    if not merge and len(names) != 1:
        raise SpecError(f"{where}: a {op} layer reads one node, got {len(names)}")
    return tuple(names)


# ---- the inline mini-language -------------------------------------------------------------------------

_KEYS = {"k": "kernel", "kernel": "kernel", "s": "stride", "stride": "stride", "p": "padding", "pad": "padding",
         "padding": "padding", "d": "dilation", "dilation": "dilation", "op": "output_padding",
         "output_padding": "output_padding", "out": "output_size", "output_size": "output_size",
         "scale": "scale", "x": "scale", "c": "channels", "ch": "channels", "channels": "channels",
         "filters": "channels", "ceil": "ceil_mode", "ceil_mode": "ceil_mode", "name": "name", "input": "input",
         "with": "with", "mode": "padding_mode", "padding_mode": "padding_mode", "g": "groups", "groups": "groups",
         "in": "in_channels", "in_channels": "in_channels", "in_features": "in_channels", "like": "like",
         "input_dilation": "input_dilation", "lhs_dilation": "input_dilation", "base_dilation": "input_dilation",
         "consistent": "consistent_padding", "consistent_padding": "consistent_padding"}
_TOKEN = re.compile(r"(?P<key>[a-z_]+?)=?(?P<value>[-+\d.][\w.:x×-]*)?\Z")


def parse_inline(text, framework="torch", backend=None):
    """``"enc: conv k3 p1 c64 | maxpool k2 | convT k2 s2 | concat enc"`` -> Network.

    Each item: an optional ``name:``, the layer (or ``concat NAME`` / ``add NAME``), then options
    as ``k3`` or ``k=3``: k kernel, s stride, p padding (``p=same``), d dilation, op output_padding,
    out output size, scale (or x2), c channels, ceil (ceil_mode), input=NAME.
    """
    items = []
    for index, chunk in enumerate(str(text).split("|")):
        where = f"layer {index + 1} ({chunk.strip()!r})"
        words = chunk.split()
        if not words:
            raise SpecError(f"{where}: empty item between '|'")
        item = {"where": where}
        if words[0].endswith(":"):
            item["name"] = words.pop(0)[:-1]
            if not words:
                raise SpecError(f"{where}: a name with no layer")
        item["layer"] = words.pop(0)
        if MERGES.get(item["layer"].lower()) and words and "=" not in words[0]:
            item["with"] = words.pop(0)
        for word in words:
            field, value = _option(word, where)
            item[field] = value
        items.append(item)
    return make_network(items, framework, backend, source="inline")


def _option(word, where):
    if "=" in word:
        key, value = word.split("=", 1)
    else:
        match = _TOKEN.match(word.lower())
        if not match:
            raise SpecError(f"{where}: cannot read option {word!r}; write it like k3 or k=3")
        key, value = match["key"], match["value"]
    field = _KEYS.get(key.lower())
    if field is None:
        raise SpecError(f"{where}: unknown option {key!r} in {word!r}; expected one of: "
                        "k, s, p, d, op, out, scale, c, ceil, mode, g, in, like, name, input, with, "
                        "input_dilation, consistent")
    if field in ("ceil_mode", "consistent_padding"):
        return field, True
    if value in (None, ""):
        raise SpecError(f"{where}: option {key!r} needs a value, like {key}=3")
    if field in ("channels", "in_channels"):
        if not value.isdigit() or int(value) < 1:
            raise SpecError(f"{where}: channels must be a positive integer, got {value!r}")
        return field, int(value)
    return field, value


# ---- evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """A network with its Layers built for one rank: built once, run for many sizes."""

    network: Network
    rank: int
    layers: tuple  # per node: a Layer, or None for a merge, flatten or linear
    in_channels: int | None = None  # the input's channels: the network's, or its first layer's in_channels
    features: bool = False  # a flatten or linear: channels depend on the size, so sizes_through follows them
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # _evaluated's: (node, size) -> outcome


def build(network, rank):
    """Every node's Layer, once; the channel rules that do not depend on the size are checked here."""
    layers, flat = [], {INPUT: False}  # flat: the node has no spatial axes left (after a flatten)
    for node in network.nodes:
        if node.op in NETWORK_OPS:
            layers.append(None)
            flat[node.name] = _flat_after(node, flat)
            continue
        if flat[node.inputs[0]]:
            raise SpecError(f"{node.where}: a {node.op} layer after a flatten: tconvcalc cannot follow a reshape "
                            "back to spatial axes")
        flat[node.name] = False
        options = dict(node.options)
        for flag in ("ceil_mode", "consistent_padding"):
            if flag in options:
                options[flag] = bool(options[flag])
        if node.like is not None:  # a placeholder size: each input size fills in the size of node.like
            options.update({"output_size": 1} if node.op == "upsample" else {"padding": 0})
        try:
            layers.append(build_layer(node.op, network.framework, rank, backend=network.backend,
                                      **{k: v for k, v in options.items()}))
            if node.op not in module(network.framework).LAYERS:  # keras has no unpool, tf no lppool, ...
                raise InputError(f"{network.framework} has no {node.op} layer")
        except InputError as error:
            raise SpecError(f"{node.where}: {error}") from None
    first = network.nodes[0]
    in_channels = network.in_channels or (first.in_channels if first.inputs[0] == INPUT else None)
    built = Built(network, rank, tuple(layers), in_channels, any(n.op in FEATURE_OPS.values() for n in network.nodes))
    _channels_through(built)  # the size-free channel rules: groups, in_channels, merges
    return built


def _flat_after(node, flat):
    """Whether a network op's output has no spatial axes: after a flatten, or reading only such nodes."""
    inputs = [flat[name] for name in node.inputs]
    if node.op == "flatten":
        return True
    if len(set(inputs)) > 1:
        raise SpecError(f"{node.where}: {node.op} of a flattened and an unflattened tensor")
    return inputs[0]


def _channels_through(built, sizes=None):
    """Every node's channels (None where unknown), checking each channel rule; with ``sizes`` (the nodes'
    spatial sizes) also the rules that depend on them (a flatten's features against the next linear)."""
    channels = {INPUT: built.in_channels}
    for node, layer in zip(built.network.nodes, built.layers):
        c_in = [channels[name] for name in node.inputs]
        incoming = None if sizes is None else [sizes[name] for name in node.inputs]
        channels[node.name] = _node_channels(node, layer, c_in, incoming, built.network.framework)
    return channels


def _node_channels(node, layer, c_in, incoming, framework):
    """One node's output channels (features after a flatten) from its inputs' (None: unknown); ShapeError where
    the framework refuses. ``incoming`` (the inputs' spatial sizes) is None where the size is not known."""
    first = c_in[0]
    if node.op in MERGES.values():
        if None in c_in:
            return None
        if node.op == "concat":
            return sum(c_in)
        return _broadcast_axis(node, c_in, framework, "channels")
    if node.op == "flatten":
        if first is None or incoming is None:
            return None
        return math.prod(incoming[0], start=first)
    if node.op == "linear":
        return _linear_channels(node, first, incoming, framework)
    if node.op in ("conv", "convT"):
        _conv_channels(node, layer, first)
        return node.channels
    return _layer_channels(node, layer, first)


def _conv_channels(node, layer, c_in):
    """groups divides both channel counts; in_channels as built equals the channels that arrive."""
    built_for = node.in_channels or c_in
    for what, count in (("in_channels", built_for), ("out_channels", node.channels)):
        if count is not None and count % layer.groups:
            raise ShapeError(f"{_label(node)}: {what} must be divisible by groups ({what}={count}, "
                             f"groups={layer.groups})")
    if node.in_channels is None or c_in is None or node.in_channels == c_in:
        return
    if layer.framework == "torch":
        out = "C_out" if node.channels is None else node.channels
        weight = ([node.in_channels, f"{out}/{layer.groups}" if layer.groups > 1 and out == "C_out" else
                   out if layer.groups == 1 else out // layer.groups] if node.op == "convT"
                  else [out, node.in_channels // layer.groups])
        given = "transposed=1" if node.op == "convT" else f"groups={layer.groups}"
        words = (f"Given {given}, weight of size [{', '.join(map(str, weight + list(layer.kernel)))}], expected "
                 f"input[1, {c_in}, ...] to have "
                 f"{node.in_channels} channels, but got {c_in} channels instead")
    else:
        words = f"the layer was built for {node.in_channels} input channels, but the input has {c_in}"
    raise ShapeError(f"{_label(node)}: {words}; build it with in_channels={c_in}, or give it "
                     f"{node.in_channels} channels")


def _linear_channels(node, c_in, incoming, framework):
    """torch Linear / Keras Dense: in_features against the features that arrive, which after a flatten are C x
    the product of the spatial sizes. On an unflattened tensor they act on the last axis: torch's (and ONNX
    MatMul's) is the last spatial axis of NCHW, Keras', TF's and JAX's the channels of NHWC."""
    need = node.in_channels
    spatial = None if incoming is None else incoming[0]
    if spatial == () or framework in ("keras", "tf", "jax"):  # the features are the channels
        have = c_in
        if need is not None and have is not None and _decided(unequal(have, need)):
            raise ShapeError(f"{_label(node)}: {_linear_words(framework, have, need, node.channels)}; "
                             f"{_needs_in_features(have, need, spatial)}")
        return node.channels
    if spatial is not None and need is not None and _decided(unequal(spatial[-1], need)):
        rows = math.prod(spatial[:-1], start=c_in) if c_in is not None else "N"
        raise ShapeError(f"{_label(node)}: mat1 and mat2 shapes cannot be multiplied ({rows}x{spatial[-1]} and "
                         f"{need}x{node.channels}); torch's Linear acts on the last axis: flatten first "
                         f"(nn.Flatten()), or build it with in_features={spatial[-1]}")
    return c_in


def _linear_words(framework, have, need, out):
    if framework in ("torch", "onnx"):
        return f"mat1 and mat2 shapes cannot be multiplied (1x{have} and {need}x{out})"
    return f"Dense built for {need} input features gets {have}"


def _needs_in_features(have, need, spatial):
    if spatial:
        return f"the Linear needs in_features={have} for this input"
    return f"the Linear needs in_features={have} for this input (written: {need})"


def _decided(condition):
    """True where a (maybe symbolic) condition holds for certain: a symbolic mismatch is a note, not a refusal."""
    return condition is True or (not isinstance(condition, bool) and bool(condition == True))  # noqa: E712


def _broadcast_axis(node, values, framework, what, dim=1):
    """One axis of an elementwise add/mul: equal, or 1 (broadcast) in every framework (torch, NumPy/ONNX,
    TF, JAX, Keras Add/Multiply)."""
    out = values[0]
    for value in values[1:]:
        if value == out or value == 1:
            continue
        if out == 1:
            out = value
            continue
        if isinstance(value, int) and isinstance(out, int):
            raise ShapeError(f"{_label(node)}: {_broadcast_words(framework, out, value, dim)} ({what} {out} and "
                             f"{value}: equal, or one of them 1)")
    return out


def sizes_through(built, size, warnings=None):
    """Every node's output size for one numeric input, or the first refusal as ShapeError
    naming the node: the fast path (no formula text, no code) for scanning many inputs. A dict
    ``warnings`` receives each node's warnings by name."""
    sizes = {INPUT: tuple(size)}
    for node, layer in zip(built.network.nodes, built.layers):
        incoming = [sizes[name] for name in node.inputs]
        if layer is None:
            sizes[node.name] = _network_op(node, incoming, built.network)
            if warnings is not None and _partial_broadcast(node, incoming):
                warnings[node.name] = (_broadcast_note(node, incoming, sizes[node.name]),)
            continue
        if node.like is not None:
            layer = _resolved(node, layer, incoming)
        try:
            sizes[node.name], noted = _evaluated(built, node, layer, incoming[0])
        except ShapeError as error:
            raise ShapeError(f"{_label(node)}: {error}", error.warnings) from None
        if warnings is not None and noted:
            warnings[node.name] = noted
    if built.features:
        _channels_through(built, sizes)  # a flatten's features against the linear that reads them
    return sizes


MAX_MEMO = 200_000  # remembered layer evaluations per network (~50 MB)


def _evaluated(built, node, layer, size):
    """(output size, warnings) of one layer, remembered per node and input size: across a scan of H, a layer
    past a few strides sees only a few distinct sizes. A refusal is remembered too."""
    key = (node.name, size)
    outcome = built.memo.get(key) if node.like is None else None
    if outcome is None:
        try:
            axes, checks = evaluate(layer, size)
            if any(ax.output is None for ax in axes):
                raise ShapeError("the caller chooses this layer's output size; give it output_size in the spec")
            outcome = tuple(int(ax.output) for ax in axes), tuple(dict.fromkeys(checks.warnings))
        except ShapeError as error:
            outcome = error
        if node.like is None and len(built.memo) < MAX_MEMO:
            built.memo[key] = outcome
    if isinstance(outcome, ShapeError):
        raise outcome
    return outcome


def network_period(built, constraints_only=False):
    """The period in H of what each node does: along each path the product of its strides (an upsampling by
    p/q counts q), over parallel paths their lcm — a downsample branch beside a strided conv counts once.
    With ``constraints_only``, of the validity alone: only the nodes whose rule is not upward-closed (merges,
    linears, blocks that divide, chosen outputs) count, since every other layer is valid past one size."""
    periods, counted = {INPUT: 1}, [1]
    for node, layer in zip(built.network.nodes, built.layers):
        incoming = math.lcm(*(periods[name] for name in node.inputs))
        periods[node.name] = incoming * (period((layer,)) if layer is not None else 1)
        if not constraints_only or not _closed(node, layer):
            counted.append(periods[node.name])
    return math.lcm(*counted)


def _network_op(node, incoming, network):
    """The spatial size after a merge, flatten or linear: flatten leaves none; a linear on an unflattened
    tensor maps torch's last axis (NCHW: W) to out_features; add/mul broadcast."""
    if node.op == "flatten":
        return ()
    if node.op == "linear":
        last_is_spatial = incoming[0] and network.framework in ("torch", "onnx")
        return incoming[0][:-1] + (node.channels,) if last_is_spatial else incoming[0]
    if node.op == "concat":
        _check_merge(node, incoming, network)
        return incoming[0]
    if len({len(size) for size in incoming}) > 1:
        raise ShapeError(f"{_label(node)}: {node.op} of sizes with different axes")
    try:
        axes = list(enumerate(zip(*incoming), 2))[::-1]  # torch names the last axis that differs
        return tuple(_broadcast_axis(node, axis, network.framework, "sizes", dim) if len(set(axis)) > 1 else axis[0]
                     for dim, axis in axes)[::-1]
    except ShapeError as error:
        first, other = incoming[0], next(size for size in incoming[1:] if size != incoming[0])
        other_name = node.inputs[incoming.index(other)]
        raise ShapeError(f"{error}; {node.op} of {node.inputs[0]!r} ({_text(first)}) and {other_name!r} "
                         f"({_text(other)}): {_fix(first, other, node.inputs[0], other_name)}") from None


def _partial_broadcast(node, incoming):
    """An add/mul that broadcasts some axes of a tensor that is not 1 on every axis: allowed, but unlike the
    squeeze-excitation idiom (1x1 against HxW) it is usually a skip whose sizes came out wrong."""
    if node.op not in ("add", "mul") or len(set(incoming)) == 1:
        return False
    top = tuple(max(axis) for axis in zip(*incoming))
    return any(size != top and any(v != 1 for v in size) for size in incoming)


def _broadcast_note(node, incoming, out):
    shown = " and ".join(f"{name!r} ({_text(size)})" for name, size in zip(node.inputs, incoming))
    return f"{node.op} broadcasts a size-1 axis: {shown} give {_text(out)}"


def _broadcast_words(framework, a, b, dim):
    if framework == "torch":
        return f"The size of tensor a ({a}) must match the size of tensor b ({b}) at non-singleton dimension {dim}"
    if framework == "keras":
        return "Inputs have incompatible shapes"
    if framework == "tf":
        return "Incompatible shapes"
    return "incompatible shapes for broadcasting"


def _resolved(node, layer, incoming):
    """A ``like: NAME`` layer with NAME's size filled in: upsample to it, or pad (crop where negative) to it,
    diff // 2 before and the rest after, as the U-Net's F.pad does."""
    own, target = incoming[0], incoming[-1]
    if len(target) != len(own):
        raise ShapeError(f"{_label(node)}: like {node.like!r} has {len(target)} spatial axes, the input {len(own)}")
    if node.op == "upsample":
        return replace(layer, output_size=tuple(target))
    diffs = [t - n for n, t in zip(own, target)]
    return replace(layer, padding=tuple((d // 2, d - d // 2) for d in diffs))


def _label(node):
    return f"{node.where} {node.name!r}" if node.name not in node.where else node.where


def _check_merge(node, incoming, network):
    first = incoming[0]
    for name, other in zip(node.inputs[1:], incoming[1:]):
        if other != first:
            raise ShapeError(f"{_label(node)}: {node.op} of {node.inputs[0]!r} ({_text(first)}) and "
                             f"{name!r} ({_text(other)}): the sizes differ; "
                             f"{_fix(first, other, node.inputs[0], name)}")


def _fix(first, other, first_name, other_name):
    """The nearest pad/crop that makes the two match."""
    diff = [a - b for a, b in zip(first, other)]
    if all(d >= 0 for d in diff):
        return f"crop {first_name!r} by {_text(diff)} or pad {other_name!r} by {_text(diff)}"
    if all(d <= 0 for d in diff):
        return f"pad {first_name!r} by {_text([-d for d in diff])} or crop {other_name!r} by {_text([-d for d in diff])}"
    return f"the difference per axis is {_text(diff)}"


def _text(size):
    return "x".join(str(v) for v in size)


def chain(network, size):
    """Per-node sizes (with code) through the network for a numeric or symbolic input size."""
    rank = len(size)
    built = build(network, rank)
    symbolic = any(isinstance(v, str) for v in size)
    if symbolic and len(network.nodes) > MAX_SYMBOLIC_LAYERS:  # sympy takes ~25 ms a layer, the scan more
        raise InputError(f"{network.source}: {len(network.nodes)} layers; a symbolic size is followed through at "
                         f"most {MAX_SYMBOLIC_LAYERS}: give a numeric size, or list the valid inputs with "
                         "--valid-inputs LOW..HIGH")
    if symbolic:
        from .symbolic import symbols

        sizes = {INPUT: symbols(size)}
    else:
        try:
            sizes_through(built, size)  # the first refusal, named, before anything else
        except ShapeError as error:
            raise ShapeError(f"{error}{_nearest_valid_hint(built, size)}", error.warnings) from None
        sizes = {INPUT: tuple(size)}
    steps, warnings = [], []
    channels = {INPUT: built.in_channels}
    for node, layer in zip(network.nodes, built.layers):
        incoming = [sizes[name] for name in node.inputs]
        if layer is None:
            out, channel, notes, code = _feature_step(node, incoming, [channels[name] for name in node.inputs],
                                                      network.framework)
        else:
            layer = _resolved(node, layer, incoming) if node.like is not None else layer
            if symbolic:
                _check_growth(node, incoming[0])
                out, notes, code = (symbolic_sizes(layer, incoming[0]) if node.like is None
                                    else _symbolic_like(node, layer, incoming))
            else:
                result = forward(layer, incoming[0])
                out, notes, code = result.output, result.warnings, result.code
            if out is None or None in out:  # numeric sizes stop in sizes_through already; symbolic ones here
                raise ShapeError(f"{_label(node)}: the caller chooses this layer's output size; give it "
                                 "output_size in the spec")
            channel = _node_channels(node, layer, [channels[name] for name in node.inputs], incoming,
                                     network.framework)
        sizes[node.name], channels[node.name] = out, channel
        warnings += [f"{node.name}: {w}" for w in notes]
        steps.append(Step(node.name, node.op, _describe(node), node.inputs, _shown(incoming[0]), _shown(out),
                          _shown_channels(channel),
                          _with_channels(_depthwise(layer, code, channels[node.inputs[0]], channel),
                                         channels[node.inputs[0]], channel),
                          tuple(notes)))
    condition = None
    if symbolic:
        symbol, outcome = _symbol_name(size), _outcomes(built, rank)
        condition = _valid_inputs(built, lambda n: outcome(n)[0], symbol).description
        if len(set(size)) == 1:  # one symbol on every axis: each warning with the sizes it applies to
            p, far = network_period(built), network_reach(built)
            warned = {name for _, by_name in outcome.seen.values() for name in by_name}  # the scan saw these
            steps = [_scanned(step, outcome, p, symbol, far) if step.name in warned else replace(step, warnings=())
                     for step in steps]
            warnings = [f"{step.name}: {w}" for step in steps for w in step.warnings]
    return ChainResult(network.framework, _shown(size), _shown(sizes[network.nodes[-1].name]), tuple(steps),
                       condition, _sequential(network, steps), tuple(network.warnings) + tuple(warnings),
                       network.origin)


def _symbolic_like(node, layer, incoming):
    """A ``like: NAME`` layer for a symbolic size: its output is NAME's size (valid where the numeric scan says);
    the framework's code where its rules take the symbolic pads, else the idiom in words."""
    try:
        return symbolic_sizes(layer, incoming[0])
    except TypeError:  # a rule that compares the symbolic pads in Python (reflect: pad < n)
        what = "resize" if node.op == "upsample" else "pad (crop where negative) diff // 2 before, the rest after"
        return incoming[-1], (), f"# {what} to the size of {node.like!r}"


def _feature_step(node, incoming, c_in, framework):
    """(output size, channels, notes, code) of a merge, flatten or linear, for numbers or symbols."""
    out = _network_op(node, incoming, Network((), framework)) if node.op != "concat" else incoming[0]
    channel = _node_channels(node, None, c_in, incoming, framework)
    notes = ()
    if node.op == "linear" and node.in_channels is not None and not incoming[0] and c_in[0] is not None \
            and not isinstance(unequal(c_in[0], node.in_channels), bool):  # symbolic: needed as an expression
        notes = (f"in_features must be {c_in[0]} for this input (written: {node.in_channels})",)
    if node.op == "flatten" and c_in[0] is None:
        notes = ("the input channels are unknown, so are the features: give in_channels (the network's or the "
                 "first layer's)",)
    code = FEATURE_CODE[framework].get(node.op)
    if code is not None:
        features = c_in[0] if incoming[0] == () or framework in ("keras", "tf", "jax") else incoming[0][-1]
        features = node.in_channels or features  # as written; a mismatch is refused or noted above
        code = code.format(i="in_features" if features is None else _shown_channels(features), o=node.channels)
        if node.op == "linear" and notes:
            code += f"  # {notes[0]}"
    if all(isinstance(v, int) for v in out) and _partial_broadcast(node, incoming):
        notes = (_broadcast_note(node, incoming, out),)
    return out, channel, notes, code


# Flatten and Linear in each framework's words (merges are written as operators: no constructor).
FEATURE_CODE = {
    "torch": {"flatten": "nn.Flatten()", "linear": "nn.Linear({i}, {o})"},
    "keras": {"flatten": "layers.Flatten()", "linear": "layers.Dense({o})"},
    "tf": {"flatten": "tf.reshape(x, [tf.shape(x)[0], -1])", "linear": "tf.matmul(x, w)  # w: ({i}, {o})"},
    "jax": {"flatten": "x.reshape(x.shape[0], -1)", "linear": "x @ w  # w: ({i}, {o})"},
    "onnx": {"flatten": "Flatten(axis=1)", "linear": "Gemm(transB=1)  # B: ({o}, {i})"},
}


def _shown_channels(value):
    return value if value is None or isinstance(value, int) else (int(value) if not getattr(value, "free_symbols", True)
                                                                  else _display(value))


def _display(value):
    """A sympy size as a person reads it (ceil(H/2), not floor(H/2 - 1/2) + 1): for display only."""
    from .symbolic import display

    return display(value)


MAX_SYMBOLIC_LAYERS = MAX_NODES  # each layer ~3 ms with the scan (benchmarks/chain.py)
MAX_SYMBOLIC_OPS = 24  # a size expression this large: sympy's next layer takes seconds, the one after minutes


def _check_growth(node, size):
    """Refuse before sympy's work explodes: each ceil-mode pool nests the Piecewise of the one before."""
    ops = max((v.count_ops() for v in size if hasattr(v, "count_ops")), default=0)
    if ops > MAX_SYMBOLIC_OPS:
        raise InputError(f"{_label(node)}: its symbolic input has grown to {ops} operations (at most "
                         f"{MAX_SYMBOLIC_OPS}); give a numeric size, or list the valid inputs with --valid-inputs "
                         "LOW..HIGH")


def _shown(size):
    return tuple(v if isinstance(v, (int, str)) else _display(v) for v in size)


def _symbol_name(size):
    return ", ".join(dict.fromkeys(v for v in size if isinstance(v, str)))


def _layer_channels(node, layer, c_in):
    """A layer's output channels: as written for conv/convT; C/r² for a pixel shuffle, whose input channels
    r² must divide (every framework refuses otherwise); the input's for pools and upsampling."""
    if layer.kind in ("conv", "convT"):
        return node.channels
    if layer.kind == "pixelshuffle" and c_in is not None:
        r = int(layer.scale[0])
        if c_in % (r * r):
            raise ShapeError(f"{_label(node)}: a pixel shuffle by {r} needs input channels divisible by "
                             f"{r}² = {r * r}, got {c_in}")
        return c_in // (r * r)
    if layer.kind == "pixelunshuffle":
        return None if c_in is None else c_in * int(layer.scale[0]) ** 2
    if layer.kind == "depthwise":  # C_in x depth_multiplier: out_channels a multiple of groups = C_in
        if node.channels is not None and c_in is not None and node.channels % c_in:
            raise ShapeError(f"{_label(node)}: out_channels must be divisible by groups (out_channels="
                             f"{node.channels}, groups={c_in}): a depthwise conv gives C_in x depth_multiplier")
        return node.channels or c_in
    if layer.kind == "separable":  # the pointwise 1x1 conv's filters
        return node.channels
    return c_in


def _describe(node):
    if node.op in MERGES.values():
        return f"{node.op} {(' + ' if node.op != 'mul' else ' * ').join(node.inputs)}"
    if node.op == "linear":
        return f"linear {node.in_channels or '?'}->{node.channels}"
    if node.like is not None:
        return f"{node.op} like {node.like}"
    short = {"kernel": "k", "stride": "s", "padding": "p", "dilation": "d", "output_padding": "op",
             "output_size": "out", "scale": "x", "ceil_mode": "ceil", "padding_mode": "mode", "groups": "g",
             "input_dilation": "input_dilation", "consistent_padding": "consistent", "api": "api"}
    def option(field, value):
        if field in ("ceil_mode", "consistent_padding"):
            return short[field]
        return f"{short[field]}={value}" if str(value)[:1].isalpha() else f"{short[field]}{value}"

    return " ".join([node.op] + [option(f, v) for f, v in node.options])


def _depthwise(layer, code, c_in, c_out):
    """A conv whose groups are its input channels in the framework's depthwise idiom, where it has one (Keras
    DepthwiseConv1D/2D, tf.nn.depthwise_conv2d); torch, jax and onnx write it with groups as it is."""
    if layer is not None and layer.kind == "depthwise" and c_in is not None:
        idiom = getattr(module(layer.framework), "depthwise_code", None)
        return (idiom and idiom(layer, c_in, c_out or c_in)) or code
    if layer is None or layer.kind != "conv" or layer.groups == 1 or layer.groups != c_in:
        return code
    idiom = getattr(module(layer.framework), "depthwise_code", None)
    return (idiom and idiom(layer, c_in, c_out)) or code


def _with_channels(code, c_in, c_out):
    """Constructor code with the real channel counts where the spec gives them."""
    if code is None:
        return None
    if c_in is not None:
        code = code.replace("C_in", str(c_in))
    if c_out is not None:
        code = code.replace("C_out", str(c_out)).replace("(filters,", f"({c_out},")
    return code


def _sequential(network, steps):
    """A plain stack (no merges, each node reading the previous one) as one stack of code."""
    previous = INPUT
    for step in steps:
        if step.op in MERGES.values() or step.inputs != (previous,) or step.code is None:
            return None
        previous = step.name
    return module(network.framework).stack([step.code for step in steps])


# ---- which inputs are valid -----------------------------------------------------------------------------

def is_valid(built, size):
    try:
        sizes_through(built, size)
    except ShapeError:
        return False
    return True


def valid_inputs(network, rank=1, symbol="H"):
    """The exact set of valid input sizes (equal on every axis), as a congruence past a bound:
    found by evaluating the rules over several periods past the point where they become periodic."""
    built = build(network, rank)
    return _valid_inputs(built, lambda n: is_valid(built, (n,) * rank), symbol)


MAX_SCAN_EVALUATIONS = 5_000_000  # layer evaluations a validity scan may take (a few seconds)


def _valid_inputs(built, is_valid_at, symbol):
    if all(_closed(node, layer) for node, layer in zip(built.network.nodes, built.layers)):
        return least_valid(is_valid_at, symbol)
    p, far = network_period(built, constraints_only=True), network_reach(built)
    if (8 * p + far) * len(built.layers) > MAX_SCAN_EVALUATIONS:
        far = MAX_SCAN  # scan() refuses such a span: "not described"
    return scan(is_valid_at, p, symbol, far) or ValidInputs(
        f"not described: the valid inputs repeat only every {p} sizes; list them with --valid-inputs LOW..HIGH",
        0, (), 0, ())


def _closed(node, layer):
    """Whether a node is valid for every input past its least valid one, its output growing with its input:
    every layer but a block that must divide the size and a chosen output size; not a merge, flatten or
    linear, whose sizes must meet exactly."""
    return (layer is not None and node.like is None and layer.kind != "pixelunshuffle"
            and not (layer.output_size is not None and layer.kind in ("convT", "unpool")))


def network_reach(built):
    """An input size past which the network's validity repeats with its period: where every layer's input is
    past that layer's own reach. Each node's size is bounded below by a·H - c, composed from the layers'
    growth bounds (sizes only grow with H); a layer whose input is fixed (after an output size) decides the
    same for every H. Falls back to the fixed REACH where a bound is not known."""
    bounds, needed = {INPUT: (1, 0)}, 1
    for node, layer in zip(built.network.nodes, built.layers):
        incoming = [bounds[name] for name in node.inputs]
        if node.like is not None:  # its output has node.like's size
            bounds[node.name] = bounds[node.like]
            continue
        if layer is None:
            if len({a > 0 for a, _ in incoming}) > 1:  # a fixed size merged with a growing one
                return max(needed, REACH)
            needed = max(needed, _features_reach(node, incoming[0], built))
            bounds[node.name] = incoming[0]  # a valid merge has equal sizes: any input bounds it
            continue
        (a, c), grows = incoming[0], growth(layer)
        if grows is None:
            return max(needed, REACH)
        if a > 0:
            needed = max(needed, math.ceil((reach(layer, margin=False) + c) / a))
        ga, gc = grows
        bounds[node.name] = (ga * a, ga * c + gc) if a > 0 and ga > 0 else (0, 0)  # fixed: c is not used
    return needed


def _features_reach(node, bound, built):
    """A linear reading a flatten accepts one count of features, C x prod(spatial): past the H where the spatial
    sizes' lower bound a·H - c gives more than its in_features, no input is valid (1 where that does not apply)."""
    source = next((n for n in built.network.nodes if n.name == node.inputs[0]), None)
    if node.op != "linear" or node.in_channels is None or source is None or source.op != "flatten":
        return 1
    channels = _channels_through(built)[source.inputs[0]]
    a, c = bound
    if not channels or a <= 0:
        return 1
    return math.ceil(((node.in_channels / channels) ** (1 / built.rank) + c) / a) + 1


def _outcomes(built, rank):
    """Per input size n, equal on every axis and remembered: (valid, each node's warnings by name)."""
    seen = {}

    def outcome(n):
        if n not in seen:
            warnings = {}
            try:
                sizes_through(built, (n,) * rank, warnings)
                seen[n] = True, warnings
            except ShapeError:
                seen[n] = False, {}
        return seen[n]

    outcome.seen = seen  # every size evaluated so far, for the steps that warn at any of them
    return outcome


def _scanned(step, outcome, p, symbol, far):
    """The step with its warnings read per input size like the valid inputs (``at H = 1: ...``) instead of
    sympy's text, where that can be read."""
    described = scanned_warnings(lambda n: outcome(n)[1].get(step.name, ()), p, symbol, far)
    return step if described is None else replace(step, warnings=described)


def valid_in_range(network, rank, low, high, max_evaluations=None):
    """The valid inputs in low..high (equal on every axis): listed from the congruence where the network's valid
    set is described, for any range; else evaluated one by one, refused past ``max_evaluations`` layers."""
    built = build(network, rank)
    valid = _valid_inputs(built, lambda n: is_valid(built, (n,) * rank), "H")
    if valid.modulus:
        start = max(low, valid.threshold)
        return tuple(n for n in valid.below if low <= n <= high) + tuple(
            n for base in range(start - start % valid.modulus, high + 1, valid.modulus)
            for n in (base + r for r in valid.residues) if start <= n <= high)
    evaluations = (high - low + 1) * len(network.nodes)
    if max_evaluations is not None and evaluations > max_evaluations:  # ~15 us a layer
        raise InputError(f"--valid-inputs {low}..{high} through {len(network.nodes)} layers is {evaluations:,} "
                         f"layer evaluations (at most {max_evaluations:,}), and the valid inputs have no "
                         "short description; narrow the range")
    return tuple(n for n in range(low, high + 1) if is_valid(built, (n,) * rank))


def _nearest_valid_hint(built, size, reach=256):
    """For a numeric input that fails: the nearest inputs (equal per axis as given) that work."""
    if len(set(size)) != 1:
        return ""
    n = size[0]
    below = next((m for m in range(n - 1, max(0, n - reach), -1) if is_valid(built, (m,) * built.rank)), None)
    above = next((m for m in range(n + 1, n + reach) if is_valid(built, (m,) * built.rank)), None)
    near = [str(m) for m in (below, above) if m is not None]
    return f"; nearest valid inputs: {', '.join(near)}" if near else ""


def mirror_decoder(network, size):
    """For an encoder stack: per layer (last first), the transposed layer that restores the size it had."""
    from .solve import mirror

    built = build(network, len(size))
    sizes = sizes_through(built, size)
    decoder = []
    for node, layer in reversed(list(zip(network.nodes, built.layers))):
        if layer is None:
            raise SpecError(f"{node.where}: mirror takes a plain encoder stack (no merges)")
        before = sizes[node.inputs[0]]
        decoder.append((node, mirror(layer, before), sizes[node.name], before))
    return decoder
