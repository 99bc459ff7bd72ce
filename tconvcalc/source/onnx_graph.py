"""An ONNX graph read with the ``onnx`` package's protobuf classes: nothing runs (no onnxruntime, no shape
inference). Framework "onnx" (ORT's rules); channels come from the weights.

Each tensor of the graph is one of four values: data (a node of the network, with its rank), a constant
(an initializer or Constant node: its shape, and its values when small), a shape value (what ``Shape`` and
the small integer ops after it compute: per element an int or "axis a of node X", so ``sizes`` made from
another tensor's Shape become ``like``), or blocked (an op tconvcalc cannot follow; it is reported only when
the output depends on it).
"""

import importlib.util
import math
import os
import struct
import sys
from dataclasses import dataclass, field, replace

from ..errors import InputError, TconvError
from ..network import INPUT, Network, SpecError, make_network
from .items import reachable

MAX_BYTES = 1 << 30  # protobuf refuses 2 GiB; weights past 1 GiB belong in external data, which is not read
MAX_GRAPH_NODES = 50_000
MAX_VALUES = 4096  # constants decoded for their values (pads, scales, shapes); weights only by shape
BIG = 1 << 30  # a Slice end at or past this means "to the end" (exporters write INT64_MAX or INT32_MAX)
NEUTRAL = {
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Gelu",
    "Mish", "Softplus", "Softsign", "ThresholdedRelu", "Clip", "Erf", "Exp", "Log", "Sqrt", "Neg", "Abs",
    "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Identity", "Dropout", "Cast", "CastLike",
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization",
    "LpNormalization", "MeanVarianceNormalization", "LRN", "Softmax", "LogSoftmax", "QuantizeLinear",
    "DequantizeLinear", "Shrink", "IsNaN", "IsInf", "Not",
}
BROADCASTING = {"Add": "add", "Sub": "add", "Mul": "mul", "Div": "mul", "Sum": "add", "Max": "mul",
                "Min": "mul", "Mean": "add", "Pow": "mul"}
_AUTO_PAD = {"SAME_UPPER": "same_upper", "SAME_LOWER": "same_lower", "VALID": "valid"}
_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@dataclass(frozen=True)
class Data:
    node: str  # the network node that holds its spatial size (INPUT for the graph's input)
    rank: int  # tensor rank: 2 + spatial axes, or 2 once flattened
    last: bool = False  # channels last (N, H, W, C), after a Transpose: tf2onnx's graphs around their convs


@dataclass(frozen=True)
class Const:
    shape: tuple | None  # None: a constant whose shape tconvcalc did not compute
    values: tuple | None = None  # flat, where small enough to decode


@dataclass(frozen=True)
class ShapeValue:
    elements: tuple  # flat: ints, (node, axis) for that axis of that node's tensor, or (op, a, b) of those
    shape: tuple | None = None  # None: 1-D (torch's F.pad export reshapes its pads to pairs)

    @property
    def dims(self):
        return self.shape if self.shape is not None else (len(self.elements),)


@dataclass(frozen=True)
class Blocked:
    reason: str


@dataclass(frozen=True)
class OnnxNetwork(Network):
    """A Network read from an ONNX graph, with the graph's input shape: a fixed spatial axis is checked
    against SIZE (a symbol there takes the graph's own size)."""

    input_shape: tuple = field(default=())  # the spatial axes: an int where the graph fixes it, else None

    def fit(self, size):
        size = super().fit(size)
        if len(size) != len(self.input_shape):
            return size
        fitted = []
        for axis, (given, fixed) in enumerate(zip(size, self.input_shape)):
            if fixed is not None and isinstance(given, int) and given != fixed:
                raise InputError(f"{self.source}: the graph fixes the input's spatial size to {_text(self.input_shape)}"
                                 f" (axis {axis + 2} is {fixed}), got {_text(size)}; export it with dynamic axes "
                                 "to chain other sizes")
            fitted.append(fixed if fixed is not None else given)
        return tuple(fitted)


def _text(size):
    return "x".join("?" if v is None else str(v) for v in size)


def network_from_onnx(path, framework=None, backend=None):
    """A Network from an ONNX model file, read as protobuf (never run); framework onnx."""
    source = str(path)
    if framework not in (None, "onnx"):
        raise SpecError(f"{source}: an ONNX graph follows ORT's rules: -f onnx, not -f {framework}")
    model = _load(source)
    reader = _Reader(model, source)
    items = reader.read()
    network = make_network(items, "onnx", backend, source=source, in_channels=reader.in_channels)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    origin = (f"read the ONNX graph of {os.path.basename(source)} (opset {opset}, {len(model.graph.node)} nodes) "
              "without running it")
    fields = {name: getattr(network, name) for name in network.__dataclass_fields__}
    return OnnxNetwork(**{**fields, "origin": origin}, input_shape=reader.fixed)


def _protobuf_classes():
    """onnx's generated protobuf classes (ModelProto, ...). ``import onnx`` also loads numpy and ml_dtypes' native
    dtypes (several seconds here) for helpers tconvcalc does not use, so the generated module is loaded on its
    own, from the installed onnx package, where onnx itself is not imported yet."""
    missing = SpecError("reading ONNX files needs the onnx package (pip install 'tconvcalc[onnx]')")
    if "onnx" in sys.modules and sys.modules["onnx"] is None:  # marked not importable
        raise missing
    loaded = sys.modules.get("onnx.onnx_ml_pb2") or sys.modules.get("_tconvcalc_onnx_ml_pb2")
    if loaded is not None:
        return loaded
    try:
        package = importlib.util.find_spec("onnx")
        spec = importlib.util.spec_from_file_location(
            "_tconvcalc_onnx_ml_pb2", os.path.join(package.submodule_search_locations[0], "onnx_ml_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[spec.name] = module  # loaded once: the descriptors are registered once
    except (ImportError, AttributeError, TypeError, OSError):  # no onnx, no protobuf, or another layout
        raise missing from None
    return module


def _load(source):
    proto = _protobuf_classes()
    try:
        size = os.path.getsize(source)
        if size > MAX_BYTES:
            raise SpecError(f"{source}: {size / (1 << 20):.0f} MiB; tconvcalc reads ONNX files up to "
                            f"{MAX_BYTES >> 20} MiB (save the weights as external data: the graph stays small)")
        with open(source, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise SpecError(f"{source}: cannot read: {error.strerror}") from None
    model = proto.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as error:  # protobuf's DecodeError, or a RecursionError on a deeply nested message
        raise SpecError(f"{source}: not an ONNX model (protobuf cannot parse it: {' '.join(str(error).split())[:80]})"
                        ) from None
    if not model.HasField("graph") or not model.graph.node or not model.ir_version:
        raise SpecError(f"{source}: not an ONNX model (no graph with nodes and no IR version in it)")
    if len(model.graph.node) > MAX_GRAPH_NODES:
        raise SpecError(f"{source}: {len(model.graph.node)} nodes; tconvcalc reads graphs of up to {MAX_GRAPH_NODES}")
    return model


class _Reader:
    """Walks the nodes in order (an ONNX graph is sorted), giving every tensor a value and collecting items."""

    def __init__(self, model, source):
        self.graph, self.source = model.graph, source
        self.values, self.items, self.names = {}, [], set()
        self.in_channels, self.fixed = None, ()

    # ---- the walk ----

    def read(self):
        for tensor in self.graph.initializer:
            self.values[tensor.name] = self._constant(tensor)
        self._input()
        for index, node in enumerate(self.graph.node):
            where = f"{self.source}: node {index} ({node.op_type} {_node_name(node)!r})"
            try:
                outputs = self._node(node, where)
            except _Refusal as refusal:
                outputs = [Blocked(f"{where}: {refusal}")]
            except TconvError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError) as error:
                # a malformed node (attributes of the wrong type, indices past the end): said where it matters
                outputs = [Blocked(f"{where}: cannot read this node ({type(error).__name__}: "
                                   f"{' '.join(str(error).split())[:80]})")]
            for name, value in zip(node.output, outputs if isinstance(outputs, list) else [outputs]):
                if name in self.values:
                    raise SpecError(f"{where}: defines {name!r} a second time; not a valid ONNX graph (ORT "
                                    "refuses it: 'Duplicate definition of name')")
                self.values[name] = value
        output = self.graph.output[0].name if self.graph.output else None
        value = self.values.get(output)
        if isinstance(value, Blocked):
            raise SpecError(value.reason)
        if not isinstance(value, Data):
            raise SpecError(f"{self.source}: the graph's output {output!r} does not come from its input")
        items = reachable(self.items, value.node)
        if not items:
            raise SpecError(f"{self.source}: no node between the input and output {output!r} changes the size; "
                            "nothing to chain")
        return items

    def _input(self):
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise SpecError(f"{self.source}: the graph has {len(inputs)} inputs "
                            f"({', '.join(repr(i.name) for i in inputs[:4])}); tconvcalc chains graphs with one input")
        tensor = inputs[0]
        dims = tensor.type.tensor_type.shape.dim
        if not 3 <= len(dims) <= 5:
            raise SpecError(f"{self.source}: input {tensor.name!r} has {len(dims)} axes; expected N, C and 1 to 3 "
                            "spatial axes (NCL, NCHW or NCDHW)")
        fixed = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
        self.batch, self.in_channels, self.fixed = fixed[0], fixed[1], tuple(fixed[2:])
        self.rank = len(dims) - 2
        self.input_dims, self.input_name, self.input_read = fixed, tensor.name, False
        self.values[tensor.name] = Data(INPUT, len(dims))

    def _node(self, node, where):
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            return self._other(node, f"op {node.domain}.{op} (not the standard ONNX domain)")
        inputs = [self.values.get(name, Blocked(f"{where}: reads {name!r}, which no node makes")) if name else None
                  for name in node.input]
        if op == "Constant":
            return self._constant_node(node, where)
        blocked = next((v for v in inputs if isinstance(v, Blocked)), None)
        if blocked:
            return blocked
        if op == "Shape":
            return self._shape(inputs[0], self._attrs(node))
        if not any(isinstance(v, Data) for v in inputs):
            return self._compute(node, inputs, where)
        if op in NEUTRAL:
            return [inputs[0]] + [Blocked(f"{where}: a second output")] * (len(node.output) - 1)
        method = getattr(self, f"_op_{op}", None)
        if method is None:
            return self._other(node, f"op {op}: it could change the size and tconvcalc cannot follow it")
        try:
            return method(node, inputs, self._attrs(node), where)
        finally:
            self.input_read = self.input_read or self.input_name in node.input

    def _other(self, node, reason):
        raise _Refusal(f"{reason} (supported: Conv, ConvTranspose, MaxPool, AveragePool, Global*Pool, Resize, "
                       "Upsample, DepthToSpace, Pad, Concat, Add/Sub/Mul/Div, Slice, Flatten, Reshape, Gemm, "
                       "MatMul, spatial ReduceMean/Max and shape-neutral ops)")

    def _attrs(self, node):
        return {a.name: _attribute(a) for a in node.attribute}

    def _emit(self, node, item, data, where, rank=None, suffix=""):
        """Adds an item reading ``data``; returns the Data value of its output."""
        name = (_node_name(node).lstrip("/") or f"{node.op_type}{len(self.items)}") + suffix
        while name in self.names or name == INPUT:
            name += "_"
        self.names.add(name)
        item = {**item, "name": name, "input": data.node, "where": where}
        if rank is None and item["layer"] not in ("concat", "add", "mul", "flatten", "linear"):
            item["rank"] = self.rank
        self.items.append(item)
        return Data(name, rank if rank is not None else data.rank)

    # ---- constants and shape values ----

    def _constant(self, tensor):
        return Const(tuple(tensor.dims), _tensor_values(tensor))

    def _constant_node(self, node, where):
        attrs = {a.name: a for a in node.attribute}
        if "value" in attrs:
            return self._constant(attrs["value"].t)
        for name in ("value_int", "value_float"):
            if name in attrs:
                return Const((), (_attribute(attrs[name]),))
        for name in ("value_ints", "value_floats"):
            if name in attrs:
                values = tuple(_attribute(attrs[name]))
                return Const((len(values),), values)
        return Blocked(f"{where}: a Constant tconvcalc cannot read")

    def _ints(self, value, what, where):
        """A constant or shape value as a list of ints and (node, axis) elements."""
        if isinstance(value, ShapeValue):
            return list(value.elements)
        if isinstance(value, Const) and value.values is not None:
            return [int(v) for v in value.values]
        raise _Refusal(f"its {what} is not a constant or a shape tconvcalc can read")

    def _floats(self, value, what):
        if isinstance(value, Const) and value.values is not None:
            return [float(v) for v in value.values]
        raise _Refusal(f"its {what} is not a constant")

    def _compute(self, node, inputs, where):
        """Ops on constants and shape values: a weight's shape through Unsqueeze/Cast/... (a BatchNorm folded into
        Mul/Add), and Shape's arithmetic, as exporters write it to size a Resize or Reshape. What is not
        followed becomes blocked (reported only where a size depends on it)."""
        op, attrs = node.op_type, self._attrs(node)
        present = [v for v in inputs if v is not None]
        if all(isinstance(v, Const) for v in present) and op not in ("Concat", "Gather", "Slice"):
            return _constant_op(op, present, attrs)
        try:
            values = [self._ints(v, "input", where) if v is not None else None for v in inputs]
            dims = [v.dims if isinstance(v, ShapeValue) else v.shape if isinstance(v, Const) else None
                    for v in inputs]
            if op in ("Identity", "Cast"):
                return ShapeValue(tuple(values[0]), dims[0] if len(dims[0] or ()) > 1 else None)
            if op in ("Unsqueeze", "Squeeze"):  # shape values are flat lists
                return ShapeValue(tuple(values[0]))
            if op in _ARITHMETIC:
                return ShapeValue(_elementwise(op, values[0], values[1]))
            if op == "ConstantOfShape":
                fill = attrs.get("value")
                fill = int((_tensor_values(fill) or (0,))[0]) if fill is not None else 0
                count = math.prod(values[0])
                if not 0 <= count <= MAX_VALUES:
                    raise _Refusal("too many values")
                return ShapeValue((fill,) * count)
            if op == "Reshape":
                return ShapeValue(tuple(values[0]), _reshaped(len(values[0]), values[1], dims[0]))
            if op == "Transpose" and len(dims[0] or ()) == 2 and list(attrs.get("perm", [1, 0])) == [1, 0]:
                rows, cols = dims[0]
                return ShapeValue(tuple(values[0][r * cols + c] for c in range(cols) for r in range(rows)),
                                  (cols, rows))
            if op == "Slice" and len(dims[0] or ()) == 2:
                return _slice_rows(values[0], dims[0], values[1:])
            if op == "Gather" and attrs.get("axis", 0) == 0:
                return ShapeValue(tuple(values[0][i] for i in values[1]))
            if op == "Concat":
                return ShapeValue(tuple(e for v in values for e in v))
            if op == "Slice":
                return ShapeValue(tuple(_slice(values[0], values[1:], attrs)))
        except (_Refusal, IndexError, TypeError, ValueError):
            pass
        if all(isinstance(v, Const) for v in present):
            return Const(None)  # a constant tconvcalc did not compute: its shape unknown
        return Blocked(f"{where}: computes a shape with {op}, which tconvcalc does not follow")

    def _shape(self, value, attrs):
        """Shape of a tensor: its dims, each "axis a of node X" for the image tensor."""
        if isinstance(value, ShapeValue):
            dims = list(value.dims)
        elif isinstance(value, Const):
            if value.shape is None:
                raise _Refusal("the Shape of a constant tconvcalc did not compute")
            dims = list(value.shape)
        else:  # each axis by its NCHW number, also where the tensor is channels last
            order = [0, *range(2, value.rank), 1] if value.last else range(value.rank)
            dims = [(value.node, axis) for axis in order]
        start, end = attrs.get("start", 0), attrs.get("end", len(dims))
        return ShapeValue(tuple(dims[slice(start, end)]))

    # ---- layers ----

    def _weight(self, inputs, where, rank):
        weight = inputs[1] if len(inputs) > 1 else None
        if isinstance(weight, Const) and weight.shape is not None and len(weight.shape) == rank + 2:
            return weight.shape
        return None

    def _window(self, attrs, rank, where=None, kernel=None):
        """kernel, stride, padding, dilation as make_network fields; ONNX strides default to 1 (pools too)."""
        kernel = attrs.get("kernel_shape", kernel)
        if kernel is None:
            raise _Refusal("no kernel_shape and no constant weight to read it from")
        item = {"kernel": _axes(kernel, rank, "kernel_shape"), "stride": _axes(attrs.get("strides", [1] * rank), rank,
                                                                              "strides")}
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in _AUTO_PAD:
            item["padding"] = _AUTO_PAD[auto]
        elif auto == "NOTSET":
            pads = list(attrs.get("pads", [0] * 2 * rank))
            if len(pads) != 2 * rank:
                raise _Refusal(f"pads {pads} has {len(pads)} values; expected {2 * rank}")
            item["padding"] = _pairs(pads[:rank], pads[rank:])
        else:
            raise _Refusal(f"auto_pad {auto!r}; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID")
        if any(d != 1 for d in attrs.get("dilations", ())):
            item["dilation"] = _axes(attrs["dilations"], rank, "dilations")
        return item

    def _conv_window(self, attrs, weight):
        """A conv's window without the defaults it shares with make_network (stride 1, no pads)."""
        item = self._window(attrs, self.rank, None, weight and list(weight[2:]))
        for field, default in (("stride", 1), ("padding", 0)):
            if item.get(field) == default:
                del item[field]
        return item

    def _spatial(self, data, where):
        if not isinstance(data, Data) or data.rank != self.rank + 2:
            raise _Refusal("its input is not the image tensor (N, C, spatial axes): tconvcalc cannot follow it")
        if data.last:
            raise _Refusal("its input is channels last (N, spatial axes, C) after a Transpose; ONNX's spatial ops "
                           "read N, C first")
        return data

    def _op_Transpose(self, node, inputs, attrs, where):
        """Between channels first and last, as tf2onnx writes around the convs of a Keras model; a graph input
        transposed to channels first before anything reads it is channels last (N, H, W, C)."""
        data = inputs[0]
        if not isinstance(data, Data) or data.rank < 3:
            raise _Refusal("a Transpose of a tensor that is not the image tensor")
        r = data.rank
        perm = list(attrs.get("perm", range(r - 1, -1, -1)))
        to_last, to_first = [0, *range(2, r), 1], [0, r - 1, *range(1, r - 1)]
        if perm == list(range(r)):
            return data
        if data.node == INPUT and not data.last and perm == to_first and not self.input_read:
            dims = self.input_dims
            self.in_channels, self.fixed = dims[-1], tuple(dims[1:-1])
            return Data(INPUT, r)
        if perm == (to_first if data.last else to_last):
            return Data(data.node, r, not data.last)
        raise _Refusal(f"perm {perm} moves spatial axes; tconvcalc follows a Transpose between channels first "
                       f"({to_last} to channels last) and last ({to_first} back)")

    def _op_Conv(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        weight = self._weight(inputs, where, self.rank)
        item = {"layer": "conv", **self._conv_window(attrs, weight)}
        group = attrs.get("group", 1)
        if group != 1:
            item["groups"] = group
        if weight:
            item["channels"], item["in_channels"] = weight[0], weight[1] * group
        return self._emit(node, item, data, where)

    def _op_ConvTranspose(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        weight = self._weight(inputs, where, self.rank)
        item = {"layer": "convT", **self._conv_window(attrs, weight)}
        group = attrs.get("group", 1)
        if group != 1:
            item["groups"] = group
        if weight:
            item["channels"], item["in_channels"] = weight[1] * group, weight[0]
        if attrs.get("output_padding"):
            item["output_padding"] = _axes(attrs["output_padding"], self.rank, "output_padding")
        if attrs.get("output_shape"):
            shape = list(attrs["output_shape"])
            item["output_size"] = _axes(shape[-self.rank:], self.rank, "output_shape")
        return self._emit(node, item, data, where)

    def _pool(self, node, inputs, attrs, where, layer):
        data = self._spatial(inputs[0], where)
        if len(node.output) > 1 and node.output[1]:
            raise _Refusal("MaxPool's indices output (for MaxUnpool) is not followed")
        item = {"layer": layer, **self._window(attrs, self.rank, where)}
        if attrs.get("ceil_mode"):
            item["ceil_mode"] = True
        if layer == "avgpool" and "dilation" in item:
            raise _Refusal("a dilated AveragePool (opset 19) is not followed")
        return self._emit(node, item, data, where)

    def _op_MaxPool(self, node, inputs, attrs, where):
        return self._pool(node, inputs, attrs, where, "maxpool")

    def _op_AveragePool(self, node, inputs, attrs, where):
        return self._pool(node, inputs, attrs, where, "avgpool")

    def _op_GlobalAveragePool(self, node, inputs, attrs, where):
        return self._emit(node, {"layer": "adaptiveavgpool", "output_size": 1}, self._spatial(inputs[0], where),
                          where)

    def _op_GlobalMaxPool(self, node, inputs, attrs, where):
        return self._emit(node, {"layer": "adaptivemaxpool", "output_size": 1}, self._spatial(inputs[0], where),
                          where)

    def _reduce(self, node, inputs, attrs, where):
        """ReduceMean/Max/... over every spatial axis (torch's x.mean((2, 3))): a global pool, then (keepdims 0)
        a flatten. Their sizes do not depend on which reduction; the values do, and are not tconvcalc's."""
        data = self._spatial(inputs[0], where)
        full = self.rank + 2
        axes = attrs.get("axes")
        if axes is None and len(inputs) > 1 and inputs[1] is not None:  # opset 18: axes as an input
            axes = self._ints(inputs[1], "axes", where)
        if axes is None or sorted(a % full for a in axes) != list(range(2, full)):
            raise _Refusal(f"axes {axes}: tconvcalc follows a reduction over every spatial axis (2 to {full - 1})")
        kind = "adaptivemaxpool" if node.op_type == "ReduceMax" else "adaptiveavgpool"
        pooled = self._emit(node, {"layer": kind, "output_size": 1}, data, where)
        if attrs.get("keepdims", 1):
            return pooled
        return self._emit(node, {"layer": "flatten"}, pooled, where, rank=2, suffix="/flatten")

    _op_ReduceMean = _op_ReduceMax = _op_ReduceSum = _op_ReduceMin = _op_ReduceL2 = _reduce

    def _op_Resize(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        full = self.rank + 2
        axes = [a % full for a in attrs.get("axes", range(full))]
        policy = attrs.get("keep_aspect_ratio_policy", b"stretch")
        scales = inputs[2] if len(inputs) > 2 else None
        sizes = inputs[3] if len(inputs) > 3 else None
        if len(inputs) == 2:  # Resize-10 and Upsample-9: (X, scales)
            scales = inputs[1]
        if isinstance(scales, Const) and not scales.shape == (0,) and (scales.values is None or scales.values):
            values = dict(zip(axes, self._floats(scales, "scales")))
            return self._emit(node, {"layer": "upsample", "scale": self._spatial_scale(values, full)}, data, where)
        if sizes is None:
            raise _Refusal("neither scales nor sizes")
        if (policy.decode() if isinstance(policy, bytes) else policy) != "stretch":
            raise _Refusal(f"keep_aspect_ratio_policy {policy!r} is not followed (only stretch)")
        elements = dict(zip(axes, self._ints(sizes, "sizes", where)))
        spatial = [elements.get(a) for a in range(2, full)]
        return self._emit(node, {"layer": "upsample", **_target_size(spatial)}, data, where)

    def _op_Upsample(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        full = self.rank + 2
        if "scales" in attrs:
            values = dict(enumerate(attrs["scales"]))
        else:
            values = dict(enumerate(self._floats(inputs[1] if len(inputs) > 1 else None, "scales")))
        return self._emit(node, {"layer": "upsample", "scale": self._spatial_scale(values, full)}, data, where)

    def _spatial_scale(self, values, full):
        if any(values.get(a, 1.0) != 1.0 for a in (0, 1)):
            raise _Refusal(f"scales {[values.get(a, 1.0) for a in range(full)]} resize N or C, not only the "
                           "spatial axes")
        scale = [values.get(a, 1.0) for a in range(2, full)]
        if any(not 0 < s < 1e9 for s in scale):
            raise _Refusal(f"scales {scale}: each must be positive")
        return "x".join(repr(float(s)) for s in scale)

    def _op_DepthToSpace(self, node, inputs, attrs, where):
        return self._emit(node, {"layer": "pixelshuffle", "scale": attrs.get("blocksize")},
                          self._spatial(inputs[0], where), where)

    def _op_Pad(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        full = self.rank + 2
        if "pads" in attrs:  # Pad-2
            pads = list(attrs["pads"])
        else:
            pads = self._ints(inputs[1] if len(inputs) > 1 else None, "pads", where)
        if any(not isinstance(p, int) for p in pads):
            like = _pad_like(pads, data.node, full)
            if like is None:
                raise _Refusal("its pads are computed from the graph's shapes in a way tconvcalc does not "
                               "recognise (it follows constant pads, and pads to another tensor's size)")
            return self._emit(node, {"layer": "pad", "like": like}, data, where)
        axes = list(range(full))
        if len(inputs) > 3 and inputs[3] is not None:
            axes = [a % full for a in self._ints(inputs[3], "axes", where)]
        if len(pads) != 2 * len(axes):
            raise _Refusal(f"pads {pads} has {len(pads)} values; expected {2 * len(axes)}")
        before, after = dict(zip(axes, pads[:len(axes)])), dict(zip(axes, pads[len(axes):]))
        if any(before.get(a, 0) or after.get(a, 0) for a in (0, 1)):
            raise _Refusal(f"pads {pads} pad N or C, not only the spatial axes")
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode not in _PAD_MODES:
            raise _Refusal(f"mode {mode!r}; expected constant, reflect, edge or wrap")
        item = {"layer": "pad", "padding": _pairs([before.get(a, 0) for a in range(2, full)],
                                                  [after.get(a, 0) for a in range(2, full)])}
        if mode != "constant":
            item["padding_mode"] = _PAD_MODES[mode]
        return self._emit(node, item, data, where)

    def _op_Slice(self, node, inputs, attrs, where):
        data = self._spatial(inputs[0], where)
        full = self.rank + 2
        if "starts" in attrs:  # Slice-1
            starts, ends = list(attrs["starts"]), list(attrs["ends"])
            axes, steps = list(attrs.get("axes", range(len(starts)))), [1] * len(starts)
        else:
            starts, ends = (self._ints(v, what, where) for v, what in ((inputs[1], "starts"), (inputs[2], "ends")))
            axes = self._ints(inputs[3], "axes", where) if len(inputs) > 3 and inputs[3] else list(range(len(starts)))
            steps = self._ints(inputs[4], "steps", where) if len(inputs) > 4 and inputs[4] else [1] * len(starts)
        crops = {}
        for axis, start, end, step in zip(axes, starts, ends, steps):
            if not all(isinstance(v, int) for v in (axis, start, end, step)):
                raise _Refusal("it slices at a size computed from the graph's shapes")
            axis %= full
            if step != 1:
                raise _Refusal(f"a step of {step} on axis {axis}; tconvcalc follows crops (step 1)")
            keeps_all = start == 0 and end >= BIG
            if axis < 2 and not keeps_all:
                raise _Refusal(f"it slices axis {axis} (N or C), not only spatial axes")
            if start < 0 or 0 <= end < BIG and end != 0 and axis >= 2:
                raise _Refusal(f"starts {start}, ends {end} on axis {axis}: the crop depends on the input size "
                               "(tconvcalc follows crops counted from both ends: start >= 0, end < 0 or to the end)")
            if end == 0:
                raise _Refusal(f"ends 0 on axis {axis}: an empty slice")
            crops[axis] = (-start, 0 if end >= BIG else end)
        item = {"layer": "pad", "padding": _pairs([crops.get(a, (0, 0))[0] for a in range(2, full)],
                                                  [crops.get(a, (0, 0))[1] for a in range(2, full)])}
        return self._emit(node, item, data, where)

    def _op_Concat(self, node, inputs, attrs, where):
        data = [v for v in inputs if v is not None]
        if not all(isinstance(v, Data) for v in data):
            raise _Refusal("it concatenates a constant or a shape with the image tensor")
        rank, last = data[0].rank, data[0].last
        axis = attrs.get("axis", 1) % rank
        if any(d.last != last for d in data):
            raise _Refusal("it concatenates a channels-first tensor with a channels-last one")
        if axis != (rank - 1 if last and rank > 2 else 1):
            raise _Refusal(f"axis {attrs.get('axis')}: tconvcalc follows concatenation along the channels (axis 1)")
        if len(data) == 1:
            return data[0]
        return self._merge(node, "concat", data, where)

    def _merge(self, node, op, data, where):
        names = [d.node for d in data]
        item = {"layer": op, "with": names[1:]}
        merged = self._emit(node, item, data[0], where, rank=max(d.rank for d in data))
        return replace(merged, last=data[0].last)

    def _broadcast(self, node, inputs, attrs, where):
        """Add/Mul/...: two tensors of the graph merge (broadcasting); a constant operand (a bias, a scale)
        leaves the size alone where it broadcasts over the spatial axes (their sizes 1)."""
        present = [v for v in inputs if v is not None]
        data = [v for v in present if isinstance(v, Data)]
        rank, last = max(d.rank for d in data), data[0].last
        spatial = range(1, rank - 1) if last else range(2, rank) if rank > 2 else ()
        for other in present:
            if isinstance(other, Const):
                if other.shape is None:
                    raise _Refusal("a constant operand whose shape tconvcalc did not compute")
                # aligned from the right, the constant must be 1 on every spatial axis (a bias: C x 1 x 1)
                shape = list(other.shape)
                axes = range(rank - len(shape), rank)
                if len(shape) > rank or any(n != 1 for axis, n in zip(axes, shape) if axis in spatial):
                    raise _Refusal(f"a constant of shape {shape} broadcast against the image tensor "
                                   "would fix or change its spatial size")
            elif not isinstance(other, Data):
                raise _Refusal("an operand computed from shapes")
        if len(data) == 1:
            return data[0]
        if len({(d.rank, d.last) for d in data}) > 1:
            raise _Refusal("it broadcasts tensors of different ranks or layouts")
        return self._merge(node, BROADCASTING[node.op_type], data, where)

    _op_Add = _op_Sub = _op_Mul = _op_Div = _op_Sum = _op_Max = _op_Min = _op_Mean = _op_Pow = _broadcast

    def _op_Flatten(self, node, inputs, attrs, where):
        data = inputs[0]
        if not isinstance(data, Data):
            raise _Refusal("its input is not the image tensor")
        if attrs.get("axis", 1) % data.rank != 1:
            raise _Refusal(f"axis {attrs.get('axis')}: tconvcalc follows Flatten after the channels (axis 1)")
        if data.rank == 2:
            return data
        return self._emit(node, {"layer": "flatten"}, data, where, rank=2)

    def _op_Reshape(self, node, inputs, attrs, where):
        data = inputs[0]
        if not isinstance(data, Data):
            raise _Refusal("its input is not the image tensor")
        shape = self._ints(inputs[1], "shape", where)
        # the batch kept: copied (0), read from the tensor's Shape, or 1 where the graph fixes the batch to 1
        batch_kept = shape and (shape[0] == 0 or isinstance(shape[0], tuple) and shape[0][1] == 0 or
                                shape[0] == 1 and self.batch == 1)
        features = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else 0
        if batch_kept and (features == -1 or features > 0):
            flat = data if data.rank == 2 else self._emit(node, {"layer": "flatten"}, data, where, rank=2)
            if features == -1:
                return flat
            # Reshape(N, F) refuses any other count: a linear F -> F checks it, and changes no size
            check = {"layer": "linear", "channels": features, "in_channels": features}
            return self._emit(node, check, flat, where, rank=2, suffix="/size" if flat is not data else "")
        raise _Refusal(f"to shape {_shown(shape)}; tconvcalc follows a reshape to (N, -1) only")

    def _linear(self, node, data, weight_shape, where):
        if not isinstance(data, Data) or data.rank != 2:
            raise _Refusal("a matrix product on a tensor that is not flattened (N, features): it would act on "
                           "the last spatial axis")
        in_features, out_features = weight_shape
        return self._emit(node, {"layer": "linear", "channels": out_features, "in_channels": in_features}, data,
                          where, rank=2)

    def _op_Gemm(self, node, inputs, attrs, where):
        weight = inputs[1]
        if attrs.get("transA"):
            raise _Refusal("transA=1 (the features on the first axis)")
        if not isinstance(weight, Const) or weight.shape is None or len(weight.shape) != 2:
            raise _Refusal("its weight is not a constant matrix")
        shape = weight.shape[::-1] if attrs.get("transB") else weight.shape
        return self._linear(node, inputs[0], shape, where)

    def _op_MatMul(self, node, inputs, attrs, where):
        weight = inputs[1]
        if not isinstance(weight, Const) or weight.shape is None or len(weight.shape) != 2:
            raise _Refusal("its second operand is not a constant matrix")
        return self._linear(node, inputs[0], weight.shape, where)


# AttributeProto.type -> the field that holds the value (onnx.helper.get_attribute_value without onnx)
_ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 4: "t", 6: "floats", 7: "ints", 8: "strings"}
# TensorProto.data_type -> (struct format of raw_data, the typed field otherwise)
_TENSOR_TYPES = {1: ("f", "float_data"), 2: ("B", "int32_data"), 3: ("b", "int32_data"), 4: ("H", "int32_data"),
                 5: ("h", "int32_data"), 6: ("i", "int32_data"), 7: ("q", "int64_data"), 9: ("?", "int32_data"),
                 10: ("e", None), 11: ("d", "double_data"), 12: ("I", "uint64_data"), 13: ("Q", "uint64_data")}


def _attribute(attribute):
    field = _ATTRIBUTE_FIELDS.get(attribute.type)
    if field is None:
        return None  # graphs, sparse tensors, types: nothing tconvcalc reads
    value = getattr(attribute, field)
    return list(value) if field in ("floats", "ints", "strings") else value


def _tensor_values(tensor):
    """A small tensor's values, flat (None for large, external or unreadable ones: their shape still serves)."""
    count = math.prod(tensor.dims)
    kind = _TENSOR_TYPES.get(tensor.data_type)
    if count > MAX_VALUES or kind is None or tensor.data_location == 1:  # 1: EXTERNAL
        return None
    form, field = kind
    if tensor.raw_data:
        if len(tensor.raw_data) != count * struct.calcsize(form):
            return None
        return struct.unpack(f"<{count}{form}", tensor.raw_data)
    values = tuple(getattr(tensor, field)) if field else ()
    return values if len(values) == count else None


def _constant_op(op, consts, attrs):
    """A constant made from constants, by its shape (and its values where they pass unchanged)."""
    first = consts[0] if consts else Const(None)
    try:
        if op in NEUTRAL:
            return Const(first.shape, first.values if op in ("Identity", "Cast") else None)
        if op == "ConstantOfShape":  # a filled tensor: a weight by its shape
            return Const(tuple(int(v) for v in first.values))
        if op in ("Unsqueeze", "Squeeze"):
            axes = attrs.get("axes")
            if axes is None and len(consts) > 1:
                axes = [int(v) for v in consts[1].values]
            shape = list(first.shape)
            if op == "Unsqueeze":
                rank = len(shape) + len(axes)
                for axis in sorted(a % rank for a in axes):
                    shape.insert(axis, 1)
            else:
                drop = {a % len(shape) for a in axes} if axes else {i for i, n in enumerate(shape) if n == 1}
                shape = [n for i, n in enumerate(shape) if i not in drop]
            return Const(tuple(shape), first.values)
        if op in BROADCASTING:
            return Const(_broadcast_shapes([c.shape for c in consts]))
        if op == "Reshape":  # 0 copies an axis, -1 takes what is left
            target = [int(v) for v in consts[1].values]
            shape = [first.shape[i] if n == 0 else n for i, n in enumerate(target)]
            if -1 in shape:
                known = math.prod(n for n in shape if n != -1)
                shape[shape.index(-1)] = math.prod(first.shape) // known
            return Const(tuple(shape), first.values)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        pass
    return Const(None)


def _broadcast_shapes(shapes):
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded):
        others = {n for n in sizes if n != 1}
        if len(others) > 1:
            raise ValueError("shapes do not broadcast")
        out.append(others.pop() if others else 1)
    return tuple(out)


def _node_name(node):
    return node.name or (node.output[0] if node.output else "")


class _Refusal(Exception):
    """A node tconvcalc cannot follow; becomes a Blocked value naming the node."""


def _axes(values, rank, name):
    values = [int(v) for v in values]
    if len(values) != rank:
        raise _Refusal(f"{name} {values} has {len(values)} values; expected {rank}")
    return values[0] if len(set(values)) == 1 else "x".join(map(str, values))


def _pairs(befores, afters):
    if len(set(befores)) == 1 and befores == afters:
        return befores[0]
    return "x".join(f"{b}:{a}" for b, a in zip(befores, afters))


def _target_size(spatial):
    """Resize's spatial sizes: constants (output_size), or every axis of one other node (like)."""
    if all(isinstance(e, int) for e in spatial):
        return {"output_size": spatial[0] if len(set(spatial)) == 1 else "x".join(map(str, spatial))}
    nodes = {e[0] for e in spatial if _is_dim(e)}
    if len(nodes) == 1 and all(_is_dim(e) and e[1] == axis + 2 for axis, e in enumerate(spatial)):
        return {"like": nodes.pop()}
    raise _Refusal(f"sizes {_shown(spatial)}: neither constants nor another tensor's spatial size")


def _shown(elements):
    return "[" + ", ".join(f"{e[0]}.shape[{e[1]}]" if _is_dim(e) else "..." if isinstance(e, tuple) else str(e)
                           for e in elements) + "]"


_ARITHMETIC = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
               "Div": lambda a, b: _trunc_div(a, b)}


def _trunc_div(a, b):
    """Integer Div as ORT runs it (C++: toward zero)."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def _is_dim(element):
    return isinstance(element, tuple) and len(element) == 2


def _elementwise(op, first, second):
    """Add/Sub/Mul/Div of shape values, broadcasting a single element; an operand that is not a number yet
    (an axis of a tensor) makes an expression, evaluated where the result is used."""
    if len(first) != len(second) and 1 not in (len(first), len(second)):
        raise _Refusal("operands of different lengths")
    count = max(len(first), len(second))
    first, second = (first * count if len(first) == 1 else first), (second * count if len(second) == 1 else second)
    return tuple(_ARITHMETIC[op](a, b) if isinstance(a, int) and isinstance(b, int) and (op != "Div" or b)
                 else (op, a, b) for a, b in zip(first, second))


def _evaluate(element, sizes):
    """An element's value when each (node, axis) has the size ``sizes`` gives it."""
    if isinstance(element, int):
        return element
    if _is_dim(element):
        return sizes(element)
    op, a, b = element
    a, b = _evaluate(a, sizes), _evaluate(b, sizes)
    if op == "Div" and b == 0:
        raise ZeroDivisionError
    return _ARITHMETIC[op](a, b)


def _leaves(element):
    if _is_dim(element):
        return {element}
    if isinstance(element, tuple):
        return _leaves(element[1]) | _leaves(element[2])
    return set()


def _pad_like(pads, node, full):
    """The node whose spatial size computed pads reach, where they are the U-Net's ``F.pad(x1, [diffX // 2,
    diffX - diffX // 2, ...])`` with diff = that node's size - this one's; else None. Recognised by evaluating
    the pads at random sizes: each spatial axis's two pads add up to the difference, N and C's to 0."""
    import random

    if len(pads) != 2 * full:
        return None
    leaves = set().union(*(_leaves(p) for p in pads))
    others = {leaf[0] for leaf in leaves} - {node}
    if len(others) != 1:
        return None
    like = others.pop()
    draw = random.Random(0)
    for _ in range(8):
        sizes = {leaf: draw.randint(1, 4096) for leaf in leaves | {(like, a) for a in range(full)} |
                 {(node, a) for a in range(full)}}
        try:
            values = [_evaluate(p, sizes.__getitem__) for p in pads]
        except (ZeroDivisionError, KeyError):
            return None
        for axis in range(full):
            wanted = 0 if axis < 2 else sizes[(like, axis)] - sizes[(node, axis)]
            if values[axis] + values[axis + full] != wanted:
                return None
    return like


def _reshaped(count, target, dims):
    """A shape value's new shape: 0 copies an axis, -1 takes the rest."""
    shape = [dims[i] if n == 0 else n for i, n in enumerate(target)]
    if shape.count(-1) == 1:
        known = math.prod(n for n in shape if n != -1)
        shape[shape.index(-1)] = count // known if known else 0
    if math.prod(shape) != count or any(not isinstance(n, int) for n in shape):
        raise _Refusal("a Reshape tconvcalc does not compute")
    return None if len(shape) == 1 else tuple(shape)


def _slice_rows(values, dims, arguments):
    """Slice of a 2-D shape value along axis 0 (steps -1 reverses the rows: torch's pads, last axis first)."""
    starts, ends = arguments[0], arguments[1]
    axes = arguments[2] if len(arguments) > 2 and arguments[2] else [0]
    steps = arguments[3] if len(arguments) > 3 and arguments[3] else [1]
    if axes != [0] or len(starts) != 1:
        raise _Refusal("a Slice tconvcalc does not compute")
    rows, cols = dims
    picked = list(range(rows))[slice(_clamp(starts[0], rows, steps[0]), _clamp(ends[0], rows, steps[0]), steps[0])]
    return ShapeValue(tuple(values[r * cols + c] for r in picked for c in range(cols)), (len(picked), cols))


def _clamp(index, n, step):
    """ONNX Slice's start/end for Python slicing: negative counts from the end, far values clamp."""
    if index < 0:
        index += n
    return max(-1 if step < 0 else 0, min(index, n - 1 if step < 0 else n)) if index >= 0 or step > 0 else None


def _slice(values, arguments, attrs):
    """Slice of a 1-D shape value: starts, ends (axes 0, steps 1)."""
    starts, ends = arguments[0], arguments[1]
    steps = arguments[3] if len(arguments) > 3 and arguments[3] else [1]
    if len(starts) != 1 or steps != [1]:
        raise _Refusal("a Slice tconvcalc does not compute")
    n = len(values)
    start, end = starts[0], min(ends[0], n)
    return values[slice(start, end)]
