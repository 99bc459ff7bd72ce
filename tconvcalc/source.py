"""Networks read from PyTorch source, ``print(model)`` text and Keras ``model.to_json()``.

Nothing here imports, executes or evaluates the user's code: Python is read with ``ast`` and a
small interpreter over the syntax tree that knows only literals, constructor arguments, the
torch layer constructors, ``nn.Sequential``/``nn.ModuleList`` and classes written in the same
file; Keras JSON is read with ``json``.

PyTorch source: the network is the last ``model = Net(...)`` / ``nn.Sequential(...)`` assigned at
module level, else the last ``nn.Module`` class that no other class in the file uses. Its layers
come from ``__init__`` (``self.x = nn.Conv2d(...)``, Sequentials, ModuleLists, other classes of the
file with their constructor arguments substituted where literal), and the data flow from
``forward()``: ``y = self.x(x)``, ``torch.cat([a, b], dim=1)`` (concat), ``a + b`` (add), loops over
ModuleLists, lists of skips (append/pop/reversed/zip). A module without forward() is a plain chain
of its sub-modules in the order they are assigned. Shape-neutral layers (norms, activations,
dropout) are skipped; anything that could change the size and is not understood is an error
naming file:line. Layer nodes are named by their torch module path (``conv1.conv.0``, as
``named_modules()`` names them); merges by the variable they are assigned to.

``print(model)`` text has no data flow: its modules are read in the order they are printed
(registration order) as one sequential chain, skips and all. Use the source for skip checks.

Keras ``model.to_json()`` (Keras 3, and Keras 2's inbound_nodes lists): Sequential models are
chains; Functional models follow ``inbound_nodes``. Framework "keras".
"""

import ast
import re

from .network import INPUT, SpecError, make_network

# ---- values of the little interpreter ------------------------------------------------------------------


class Unknown:
    """A value that cannot be known without running the code (a constructor argument without a
    literal, a tensor's .shape, an imported helper)."""

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return f"<unknown: {self.why}>"


class Ref:
    """A tensor in forward(): the name of the node that produced it."""

    def __init__(self, name):
        self.name = name


class Leaf:
    """One size-changing layer: the make_network item without name/input."""

    def __init__(self, item):
        self.item = item


class Neutral:
    """A layer that keeps every spatial size (norms, activations, dropout, Identity)."""


class Unsupported:
    """A module that may change the size and that tconvcalc cannot follow; an error if data flows into it."""

    def __init__(self, where, why):
        self.where, self.why = where, why


class Seq:
    """nn.Sequential / nn.ModuleList / nn.ModuleDict: named children in order."""

    def __init__(self, children, kind):
        self.children, self.kind = children, kind  # [(name, module)]


class Instance:
    """An instance of a class defined in the same file."""

    def __init__(self, cls, attrs, consts, where):
        self.cls, self.attrs, self.consts, self.where = cls, attrs, consts, where


class Bound:
    """A module together with its path in the model (``conv1.conv.0``)."""

    def __init__(self, module, path):
        self.module, self.path = module, path


MODULES = (Leaf, Neutral, Unsupported, Seq, Instance)


# ---- torch layer constructors --------------------------------------------------------------------------

_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode", "device", "dtype"]
_CONVT = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
          "dilation", "padding_mode", "device", "dtype"]
_SIGNATURES = {  # torch.nn's constructor signatures, in order
    "conv": _CONV,
    "lazyconv": _CONV[1:],
    "convT": _CONVT,
    "lazyconvT": _CONVT[1:],
    "maxpool": ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"],
    "avgpool": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
    "upsample": ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"],
    "pixelshuffle": ["upscale_factor"],
    "unpool": ["kernel_size", "stride", "padding"],
}
_TORCH_LAYER = re.compile(r"(?P<lazy>Lazy)?(?P<what>Conv|ConvTranspose|MaxPool|AvgPool|MaxUnpool)(?P<rank>[123])d\Z")
_UPSAMPLE = {"Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"}
TORCH_NEUTRAL = {
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
    "LazyInstanceNorm2d", "LazyInstanceNorm3d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm",
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Tanhshrink", "Softplus",
    "Softsign", "LogSigmoid", "Threshold", "Softmax", "Softmax2d", "LogSoftmax", "Softmin",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity",
    "ChannelShuffle",
}
_FUNCTIONAL_NEUTRAL = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu", "elu_", "selu", "celu", "gelu",
    "silu", "mish", "sigmoid", "tanh", "hardtanh", "hardswish", "hardsigmoid", "softplus", "softsign",
    "logsigmoid", "softmax", "log_softmax", "softmin", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "feature_alpha_dropout", "batch_norm", "instance_norm", "group_norm", "layer_norm",
    "local_response_norm", "normalize", "clamp", "clip", "abs", "exp", "neg", "sqrt", "contiguous", "clone",
    "float", "double", "half", "to", "detach", "relu6_", "sigmoid_", "tanh_", "clamp_", "type", "cpu", "cuda",
}
_TENSOR_BINARY = {"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "maximum", "minimum", "subtract",
                  "multiply"}
_BUILTINS = {"int": int, "float": float, "max": max, "min": min, "abs": abs, "round": round, "len": len,
             "bool": bool, "str": str, "tuple": tuple, "list": list, "sum": sum}


def _axes_text(value):
    """A literal per-axis value as build_layer reads it: 3 -> 3, (3, 3) -> '3x3'."""
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str)) for v in value) and len(set(value)) == 1:  # [[3]]: unhashable
            return value[0]
        return "x".join(str(v) for v in value)
    return value


def torch_layer(name, args, kwargs, where, call_text):
    """The module a torch.nn constructor makes (Leaf / Neutral / Unsupported / None if not torch.nn's)."""
    match = _TORCH_LAYER.match(name)
    if match:
        what = match["what"]
        kind = {"Conv": "conv", "ConvTranspose": "convT", "MaxPool": "maxpool", "AvgPool": "avgpool",
                "MaxUnpool": "unpool"}[what]
        signature = _SIGNATURES[("lazy" if match["lazy"] else "") + kind] if kind in ("conv", "convT") \
            else _SIGNATURES[kind]
    elif name in _UPSAMPLE:
        kind, signature = "upsample", _SIGNATURES["upsample"]
    elif name == "PixelShuffle":
        kind, signature = "pixelshuffle", _SIGNATURES["pixelshuffle"]
    elif name in TORCH_NEUTRAL:
        return Neutral()
    else:
        return None
    bound = _bind(signature, args, kwargs, where, call_text)
    item = {"layer": kind, "where": where}
    rank = match["rank"] if match else name[-2] if name.endswith("2d") else None  # UpsamplingNearest2d: 2-D
    if rank:
        item["rank"] = int(rank)

    def literal(field, required=False):
        value = bound.get(field)
        if value is None:
            if required:
                raise SpecError(f"{where}: {call_text}: missing argument {field!r}")
            return None
        if isinstance(value, Unknown):
            raise SpecError(f"{where}: {call_text}: {field} is not a literal ({value.why}); "
                            "tconvcalc reads the source without running it")
        if isinstance(value, bool) or not isinstance(value, (int, float, str, list, tuple)):
            raise SpecError(f"{where}: {call_text}: cannot read {field}={value!r}")
        return value

    if kind in ("conv", "convT", "maxpool", "avgpool", "unpool"):
        item["kernel"] = _axes_text(literal("kernel_size", required=True))
        stride = literal("stride")
        if stride is not None:
            item["stride"] = _axes_text(stride)
        padding = literal("padding")
        if padding is not None:
            item["padding"] = _axes_text(padding)
    if kind in ("conv", "convT", "maxpool"):
        dilation = literal("dilation")
        if dilation is not None:
            item["dilation"] = _axes_text(dilation)
    if kind == "convT":
        output_padding = literal("output_padding")
        if output_padding is not None:
            item["output_padding"] = _axes_text(output_padding)
    if kind in ("maxpool", "avgpool"):
        ceil = bound.get("ceil_mode")
        if isinstance(ceil, Unknown):
            raise SpecError(f"{where}: {call_text}: ceil_mode is not a literal ({ceil.why})")
        if ceil:
            item["ceil_mode"] = True
    if kind == "upsample":
        if bound.get("size") is not None:
            return Unsupported(where, f"{call_text}: Upsample(size=...) fixes the output size whatever the "
                                      "input; tconvcalc chains follow scale_factor")
        item["scale"] = _axes_text(literal("scale_factor", required=True))
    if kind == "pixelshuffle":
        item["scale"] = literal("upscale_factor", required=True)
    if kind in ("conv", "convT"):
        channels = bound.get("out_channels")
        if isinstance(channels, int) and not isinstance(channels, bool) and channels > 0:
            item["channels"] = channels
    return Leaf(item)


def _bind(signature, args, kwargs, where, call_text):
    if len(args) > len(signature):
        raise SpecError(f"{where}: {call_text}: takes at most {len(signature)} positional arguments, "
                        f"got {len(args)}")
    bound = dict(zip(signature, args))
    for key, value in kwargs.items():
        if key not in signature:
            raise SpecError(f"{where}: {call_text}: unexpected keyword argument {key!r}")
        if key in bound:
            raise SpecError(f"{where}: {call_text}: got multiple values for argument {key!r}")
        bound[key] = value
    return bound


def _dotted(node):
    """'nn.Conv2d' for nn.Conv2d, 'torch.nn.functional.relu', or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _segment(text, node):
    snippet = ast.get_source_segment(text, node) if text is not None else None
    snippet = " ".join((snippet or ast.unparse(node)).split())
    return snippet if len(snippet) <= 80 else snippet[:77] + "..."


# ---- the interpreter over a Python file ----------------------------------------------------------------


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Class:
    def __init__(self, node):
        self.node, self.name = node, node.name
        self.methods = {f.name: f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.bases = [_dotted(b) or "" for b in node.bases]


class _Reader:
    MAX_STEPS = 200_000  # statements interpreted; a runaway loop is an error, not a hang

    def __init__(self, text, source):
        self.text, self.source = text, source
        self.classes = {}
        self.globals = {}
        self.items = []
        self.names = {INPUT}
        self.calls = {}
        self.steps = 0

    def where(self, node):
        return f"{self.source}:{getattr(node, 'lineno', '?')}"

    def fail(self, node, message):
        raise SpecError(f"{self.where(node)}: {message}")

    # -- names ------------------------------------------------------------------------------------------

    def unique(self, name):
        base, n = name, 1
        while name in self.names:
            n += 1
            name = f"{base}#{n}"
        self.names.add(name)
        return name

    # -- expressions ------------------------------------------------------------------------------------

    def value(self, node, env, ctx):
        """Evaluate an expression. ctx: {'self': Instance or None, 'prefix': str, 'hint': name or None,
        'forward': bool}."""
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            return Unknown(f"{_segment(self.text, node)!r}")
        return method(node, env, ctx)

    def v_Constant(self, node, env, ctx):
        return node.value

    def v_Name(self, node, env, ctx):
        if node.id in env:
            return env[node.id]
        if node.id in self.globals:
            return self.globals[node.id]
        if node.id in self.classes:
            return self.classes[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return Unknown(f"{node.id!r} is not defined in this file")

    def v_Tuple(self, node, env, ctx):
        return tuple(self._elements(node.elts, env, ctx))

    def v_List(self, node, env, ctx):
        return list(self._elements(node.elts, env, ctx))

    def _elements(self, nodes, env, ctx):
        out = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                inner = self.value(element.value, env, ctx)
                if isinstance(inner, (list, tuple)):
                    out.extend(inner)
                elif isinstance(inner, Bound) and isinstance(inner.module, Seq):
                    out.extend(self.children(inner))
                else:
                    out.append(Unknown(_segment(self.text, element)))
            else:
                out.append(self.value(element, env, ctx))
        return out

    def v_Dict(self, node, env, ctx):
        keys = [self.value(k, env, ctx) if k is not None else None for k in node.keys]
        values = [self.value(v, env, ctx) for v in node.values]
        try:
            return dict(zip(keys, values))
        except TypeError:
            return Unknown("a dict with unhashable keys")

    def v_UnaryOp(self, node, env, ctx):
        operand = self.value(node.operand, env, ctx)
        if isinstance(operand, Ref):
            return operand
        if isinstance(operand, (int, float)):
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
        if isinstance(node.op, ast.Not) and not isinstance(operand, (Unknown, Ref)):
            return not operand
        return Unknown(_segment(self.text, node))

    _ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
                   ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: a / b, ast.Mod: lambda a, b: a % b,
                   ast.Pow: lambda a, b: a ** b if abs(b) <= 64 else None}

    def v_BinOp(self, node, env, ctx):
        left, right = self.value(node.left, env, ctx), self.value(node.right, env, ctx)
        if isinstance(left, Ref) and isinstance(right, Ref):
            return self.merge("add", [left, right], node, ctx)
        if isinstance(left, Ref) or isinstance(right, Ref):
            return left if isinstance(left, Ref) else right  # a tensor with a scalar keeps its size
        operation = self._ARITHMETIC.get(type(node.op))
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if operation and numbers:
            try:
                result = operation(left, right)
            except (ZeroDivisionError, OverflowError):
                result = None
            if result is not None:
                return result
        if isinstance(node.op, ast.Add) and isinstance(left, (list, tuple)) and type(left) is type(right):
            return left + right
        if isinstance(node.op, ast.Mult) and isinstance(left, (list, tuple)) and isinstance(right, int) \
                and 0 <= right <= 1000:
            return left * right
        return Unknown(_segment(self.text, node))

    def v_BoolOp(self, node, env, ctx):
        values = [self.value(v, env, ctx) for v in node.values]
        if any(isinstance(v, (Unknown, Ref)) for v in values):
            return Unknown(_segment(self.text, node))
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def v_Compare(self, node, env, ctx):
        values = [self.value(node.left, env, ctx)] + [self.value(c, env, ctx) for c in node.comparators]
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and \
                not any(isinstance(v, Unknown) for v in values):  # self.downsample is not None
            pairs = zip(node.ops, values, values[1:])
            return all((a is b) == isinstance(op, ast.Is) for op, a, b in pairs)
        if any(isinstance(v, (Unknown, Ref)) or isinstance(v, MODULES + (Bound,)) for v in values):
            return Unknown(_segment(self.text, node))
        operations = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
                      ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
                      ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
                      ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
        try:
            for op, a, b in zip(node.ops, values, values[1:]):
                if not operations[type(op)](a, b):
                    return False
        except Exception:
            return Unknown(_segment(self.text, node))
        return True

    def v_IfExp(self, node, env, ctx):
        test = self.value(node.test, env, ctx)
        if isinstance(test, (Unknown, Ref)):
            return Unknown(_segment(self.text, node))
        return self.value(node.body if test else node.orelse, env, ctx)

    def v_JoinedStr(self, node, env, ctx):
        return Unknown("an f-string")

    def v_Attribute(self, node, env, ctx):
        if isinstance(node.value, ast.Name) and node.value.id == "self" and ctx.get("self") is not None:
            instance = ctx["self"]
            if node.attr in instance.attrs:
                return Bound(instance.attrs[node.attr], _join(ctx["prefix"], node.attr))
            if node.attr in instance.consts:
                return instance.consts[node.attr]
            return Unknown(f"self.{node.attr} is not set in __init__")
        base = self.value(node.value, env, ctx)
        if isinstance(base, _Class):  # a class attribute: expansion = 1
            for statement in base.node.body:
                if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.attr
                                                             for t in statement.targets):
                    return self.value(statement.value, {}, {"self": None, "prefix": ""})
            return Unknown(_segment(self.text, node))
        if isinstance(base, Ref):
            if node.attr in ("shape",):
                return Unknown("a tensor's shape")
            return Unknown(f"tensor attribute .{node.attr}")
        return Unknown(_segment(self.text, node))

    def v_Subscript(self, node, env, ctx):
        base = self.value(node.value, env, ctx)
        index = self.value(node.slice, env, ctx)
        if isinstance(base, Ref):
            self.fail(node, f"{_segment(self.text, node)}: slicing a tensor; tconvcalc cannot follow its size "
                            "(crop with a layer, or check this skip by hand)")
        if isinstance(base, Bound) and isinstance(base.module, Seq):
            children = self.children(base)
            if isinstance(index, slice):
                return children[index]
            if base.module.kind == "dict":
                found = [c for c in children if c.path.rsplit(".", 1)[-1] == str(index)]
                return found[0] if found else Unknown(_segment(self.text, node))
            if isinstance(index, int) and -len(children) <= index < len(children):
                return children[index]
            return Unknown(_segment(self.text, node))
        if isinstance(base, (list, tuple, dict, str)) and not isinstance(index, Unknown):
            try:
                return base[index]
            except (IndexError, KeyError, TypeError):
                pass
        return Unknown(_segment(self.text, node))

    def v_Slice(self, node, env, ctx):
        parts = [self.value(p, env, ctx) if p is not None else None for p in (node.lower, node.upper, node.step)]
        if any(isinstance(p, (Unknown, Ref)) for p in parts):
            return Unknown("a slice")
        return slice(*parts)

    def v_ListComp(self, node, env, ctx):
        if len(node.generators) != 1 or node.generators[0].ifs:
            return Unknown(_segment(self.text, node))
        generator = node.generators[0]
        iterable = self.iterate(self.value(generator.iter, env, ctx), generator.iter)
        if iterable is None:
            return Unknown(_segment(self.text, node))
        out = []
        for element in iterable:
            local = dict(env)
            self.assign(generator.target, element, local, node)
            out.append(self.value(node.elt, local, ctx))
        return out

    def children(self, bound):
        return [Bound(module, _join(bound.path, name)) for name, module in bound.module.children]

    # -- calls ------------------------------------------------------------------------------------------

    def v_Call(self, node, env, ctx):
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            self.fail(node, "too many steps while reading the model; is there a loop without a literal bound?")
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1] if name else None
        text = _segment(self.text, node)
        # a method on a list of tensors / modules
        if isinstance(node.func, ast.Attribute):
            owner = self.value(node.func.value, env, ctx) if not (name and name.startswith(("nn.", "torch.", "F."))) \
                else None
            if isinstance(owner, list):
                return self.list_method(owner, node, env, ctx)
            if isinstance(owner, Ref):
                return self.tensor_method(owner, node, env, ctx)
        method = self.own_method(node, ctx)
        if method is not None:  # self._make_layer(...), self._forward_impl(x): a method of this class
            return self.call_method(method, node, env, ctx)
        func = None
        if not (isinstance(node.func, ast.Name) and node.func.id in self.classes) and \
                not (name and _is_torch_path(name)):
            func = self.value(node.func, env, ctx)
        if isinstance(func, _Class):  # block(...) where block is a class of this file
            args = self._elements(node.args, env, ctx)
            kwargs = {k.arg: self.value(k.value, env, ctx) for k in node.keywords if k.arg}
            return self.instantiate(func, args, kwargs, node)
        if isinstance(func, Bound):  # applying a module: self.conv1(x), block(x), self.layers[0](x)
            args = [self.value(a, env, ctx) for a in node.args]
            refs = [a for a in args if isinstance(a, Ref)]
            if not refs:
                self.fail(node, f"{text}: cannot tell which tensor this module reads")
            return self.apply(func, refs[0], node, ctx)
        args = self._elements(node.args, env, ctx)
        kwargs = {}
        for keyword in node.keywords:
            value = self.value(keyword.value, env, ctx)
            if keyword.arg is None:
                if isinstance(value, dict):
                    kwargs.update(value)
                continue
            kwargs[keyword.arg] = value
        if isinstance(node.func, ast.Call):  # nn.Sigmoid()(x): construct, then apply
            constructed = self.value(node.func, env, ctx)
            refs = [a for a in args if isinstance(a, Ref)]
            if isinstance(constructed, MODULES) and refs:
                path = self.unique_path(_join(ctx["prefix"], f"{_dotted(node.func.func) or 'call'}@L{node.lineno}"))
                return self.apply(Bound(constructed, path), refs[0], node, ctx, already_unique=True)
        if last is None:
            return self.unknown_call(node, args, kwargs, text)
        if last in self.classes and (name == last or not _is_torch_path(name)):
            return self.instantiate(self.classes[last], args, kwargs, node)
        if _is_torch_path(name) or name == last:
            try:
                module = torch_layer(last, args, kwargs, self.where(node), text)
            except SpecError as error:  # an error only if data flows into it
                module = Unsupported("", str(error))
            if module is not None:
                return module
        if last in ("Sequential", "ModuleList", "ModuleDict", "ParameterList"):
            return self.container(last, args, kwargs, node, text)
        if last == "OrderedDict" and len(args) <= 1:
            pairs = args[0] if args else []
            if isinstance(pairs, dict):
                return dict(pairs)
            if isinstance(pairs, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
                return dict(pairs)
            return Unknown(text)
        functional = self.functional(last, name, args, kwargs, node, ctx, text)
        if functional is not None:
            return functional
        if name == last and last in _BUILTINS and not kwargs and \
                not any(isinstance(a, (Unknown, Ref)) or isinstance(a, MODULES) for a in args):
            try:
                return _BUILTINS[last](*args)
            except Exception:
                return Unknown(text)
        if name in ("range",) and all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
            values = range(*args)
            if len(values) > 10_000:
                self.fail(node, f"{text}: a range of {len(values)} steps; at most 10000")
            return list(values)
        if name in ("reversed", "zip", "enumerate", "list", "tuple") and args:
            lists = [self.iterate(a, node) for a in args]
            if all(part is not None for part in lists):
                if name == "reversed" and len(lists) == 1:
                    return list(reversed(lists[0]))
                if name == "zip":
                    return [tuple(group) for group in zip(*lists)]
                if name == "enumerate" and len(lists) == 1:
                    return list(enumerate(lists[0]))
                if name in ("list", "tuple") and len(lists) == 1:
                    return list(lists[0])
        if name in ("super",):
            return Unknown("super()")
        return self.unknown_call(node, args, kwargs, text)

    def own_method(self, node, ctx):
        func, instance = node.func, ctx.get("self")
        if instance is None or not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                                    and func.value.id == "self") or func.attr in instance.attrs:
            return None
        method = self._method(instance.cls, func.attr)
        return method if method is not None and func.attr not in ("__init__", "forward") else None

    def call_method(self, method, node, env, ctx):
        depth = getattr(self, "depth", 0)
        if depth > 50:
            self.fail(node, "calls nest more than 50 deep (recursion?)")
        args = self._elements(node.args, env, ctx)
        kwargs = {k.arg: self.value(k.value, env, ctx) for k in node.keywords if k.arg}
        local = self.bind_params(method, args, kwargs, node, skip_self=True)
        self.depth = depth + 1
        try:
            self.block(method.body, local, {**ctx, "hint": None})
        except _Return as returned:
            return returned.value
        finally:
            self.depth = depth
        return None

    def unknown_call(self, node, args, kwargs, text):
        name = _dotted(node.func) or ""
        if name.startswith(("keras.", "layers.", "tf.keras.", "tensorflow.keras.")):
            raise SpecError(f"{self.where(node)}: {text}: Keras layers in Python source are not read; save the "
                            "model with model.to_json() and chain that file")
        if any(isinstance(a, Ref) for a in list(args) + list(kwargs.values())):
            self.fail(node, f"{text}: unknown call on a tensor; it could change the size, and tconvcalc cannot "
                            "follow it (supported: torch.nn layers, classes in this file, torch.cat, +, "
                            "F.max_pool/avg_pool/interpolate/pixel_shuffle, activations)")
        if text and re.match(r"(\w+\.)*[A-Z]\w*\(", text):  # looks like a module constructor
            return Unsupported(self.where(node), f"{text}: unknown module (not a torch.nn layer tconvcalc "
                                                 "knows, nor a class in this file); it could change the size")
        return Unknown(text)

    def container(self, kind, args, kwargs, node, text):
        if kind == "ModuleDict" or (kind == "Sequential" and len(args) == 1 and isinstance(args[0], dict)):
            mapping = args[0] if args else {}
            if not isinstance(mapping, dict):
                return Unsupported(self.where(node), f"{text}: cannot read its modules")
            children = [(str(k), self.module_of(v, node, text)) for k, v in mapping.items()]
            return Seq(children, "dict" if kind == "ModuleDict" else "seq")
        if kind in ("ModuleList", "ParameterList"):
            values = args[0] if args else []
            if not isinstance(values, (list, tuple)):
                return Unsupported(self.where(node), f"{text}: cannot read its modules")
            args = values
        return Seq([(str(i), self.module_of(v, node, text)) for i, v in enumerate(args)], "seq")

    def module_of(self, value, node, text):
        if isinstance(value, Bound):
            return value.module
        if isinstance(value, MODULES):
            return value
        why = value.why if isinstance(value, Unknown) else repr(value)
        return Unsupported(self.where(node), f"{text}: cannot read a module from {why}")

    def functional(self, last, name, args, kwargs, node, ctx, text):
        """torch.cat, torch.add, F.relu, F.max_pool2d, F.interpolate, ... on tensors; None if not one."""
        refs = [a for a in args if isinstance(a, Ref)]
        if last in ("cat", "concat", "concatenate") and args and isinstance(args[0], (list, tuple)):
            tensors = [a for a in args[0] if isinstance(a, Ref)]
            if len(tensors) != len(args[0]) or not tensors:
                self.fail(node, f"{text}: cannot tell which tensors are concatenated")
            return tensors[0] if len(tensors) == 1 else self.merge("concat", tensors, node, ctx)
        if not refs:
            return None
        if last in _TENSOR_BINARY and name.startswith("torch."):
            return self.merge("add", refs, node, ctx) if len(refs) > 1 else refs[0]
        if last in _FUNCTIONAL_NEUTRAL and args and isinstance(args[0], Ref):
            return args[0]
        kind = re.match(r"(max_pool|avg_pool|max_unpool)([123])d\Z", last)
        if kind or last in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle"):
            if not isinstance(args[0], Ref):
                return None
            signature = {"max_pool": ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
                         "avg_pool": _SIGNATURES["avgpool"], "max_unpool": ["indices", "kernel_size", "stride",
                                                                             "padding", "output_size"]}
            if kind:
                bound = _bind(signature[kind[1]], args[1:], kwargs, self.where(node), text)
                if kind[1] == "max_unpool" and bound.get("output_size") is not None:
                    self.fail(node, f"{text}: output_size fixes the size from run-time values; not supported")
                bound.pop("indices", None)
                bound.pop("output_size", None)
                layer = {"max_pool": "MaxPool", "avg_pool": "AvgPool", "max_unpool": "MaxUnpool"}[kind[1]] + \
                    kind[2] + "d"
            elif last == "pixel_shuffle":
                bound = _bind(["upscale_factor"], args[1:], kwargs, self.where(node), text)
                layer = "PixelShuffle"
            else:
                bound = _bind(["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                               "antialias"], args[1:], kwargs, self.where(node), text)
                bound.pop("antialias", None)
                if bound.get("size") is not None:
                    self.fail(node, f"{text}: interpolate(size=...) takes its output size from run-time values; "
                                    "tconvcalc follows scale_factor only")
                layer = "Upsample"
            module = torch_layer(layer, [], bound, self.where(node), text)
            path = self.unique_path(_join(ctx["prefix"], f"{last}@L{node.lineno}"))
            return self.apply(Bound(module, path), args[0], node, ctx, already_unique=True)
        if last == "pad" or last.endswith("pad"):
            self.fail(node, f"{text}: padding a tensor in forward(); tconvcalc cannot follow its size "
                            "(for a skip, the mismatch it fixes is what `tconvcalc chain` reports)")
        return None

    def tensor_method(self, ref, node, env, ctx):
        method = node.func.attr
        args = [self.value(a, env, ctx) for a in node.args]
        if method in _FUNCTIONAL_NEUTRAL or method in ("view_as", "type_as", "expand_as", "requires_grad_"):
            return ref
        if method in _TENSOR_BINARY:
            refs = [a for a in args if isinstance(a, Ref)]
            return self.merge("add", [ref, *refs], node, ctx) if refs else ref
        if method in ("size", "dim", "numel", "item"):
            return Unknown("a tensor's size")
        self.fail(node, f"{_segment(self.text, node)}: unknown tensor method .{method}(); it could change the size")

    def list_method(self, owner, node, env, ctx):
        method = node.func.attr
        args = [self.value(a, env, ctx) for a in node.args]
        if method == "append" and len(args) == 1:
            owner.append(args[0])
            return None
        if method == "extend" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            owner.extend(args[0])
            return None
        if method == "insert" and len(args) == 2 and isinstance(args[0], int):
            owner.insert(args[0], args[1])
            return None
        if method == "pop" and len(args) <= 1 and owner:
            return owner.pop(*(args if args and isinstance(args[0], int) else []))
        if method == "reverse" and not args:
            owner.reverse()
            return None
        return Unknown(_segment(self.text, node))

    # -- modules ----------------------------------------------------------------------------------------

    def unique_path(self, path):
        return self.unique(path)

    def instantiate(self, cls, args, kwargs, node):
        init = self._method(cls, "__init__")
        instance = Instance(cls, {}, {}, self.where(node))
        env = {}
        if init is not None:
            depth = getattr(self, "depth", 0)
            if depth > 50:  # a class that builds itself (self.a = N()) would recurse without end
                self.fail(node, "modules nest more than 50 deep (recursion?)")
            env = self.bind_params(init, args, kwargs, node, skip_self=True)
            self.depth = depth + 1
            try:
                self.run_init(cls, instance, env, node)
            finally:
                self.depth = depth
        return instance

    def _method(self, cls, name, seen=None):
        if name in cls.methods:
            return cls.methods[name]
        seen = seen or set()
        for base in cls.bases:
            base = base.rsplit(".", 1)[-1]
            if base in self.classes and base not in seen:
                seen.add(base)
                found = self._method(self.classes[base], name, seen)
                if found is not None:
                    return found
        return None

    def bind_params(self, function, args, kwargs, node, skip_self):
        parameters = function.args
        positional = [a.arg for a in parameters.posonlyargs + parameters.args]
        if skip_self and positional:
            positional = positional[1:]
        defaults = parameters.defaults
        env = {}
        offset = len(positional) - len(defaults)
        for index, name in enumerate(positional):
            if index >= offset:
                env[name] = self.value(defaults[index - offset], {}, {"self": None, "prefix": ""})
            else:
                env[name] = Unknown(f"{name!r} is an argument of {function.name}() with no literal value here")
        for arg, default in zip(parameters.kwonlyargs, parameters.kw_defaults):
            env[arg.arg] = self.value(default, {}, {"self": None, "prefix": ""}) if default is not None else \
                Unknown(f"{arg.arg!r} is an argument with no literal value here")
        for name, value in zip(positional, args):
            env[name] = value
        if parameters.vararg is not None:
            env[parameters.vararg.arg] = list(args[len(positional):])
        extra = {}
        for key, value in kwargs.items():
            if key in env and key in positional + [a.arg for a in parameters.kwonlyargs]:
                env[key] = value
            else:
                extra[key] = value
        if parameters.kwarg is not None:
            env[parameters.kwarg.arg] = extra
        return env

    def run_init(self, cls, instance, env, node):
        init = self._method(cls, "__init__")
        ctx = {"self": instance, "prefix": "", "init": True, "class": cls}
        try:
            self.block(init.body, env, ctx)
        except _Return:
            pass
        # a base class of the file: its __init__ runs through super().__init__(...), see s_Expr

    def apply(self, bound, ref, node, ctx, already_unique=False):
        module, path = bound.module, bound.path
        if isinstance(module, Neutral):
            return ref
        if isinstance(module, Leaf):
            name = path if already_unique else self.unique(path)
            self.items.append({**module.item, "name": name, "input": ref.name})
            return Ref(name)
        if isinstance(module, Seq):
            for child in self.children(bound):
                ref = self.apply(child, _first(ref), node, ctx)
            return ref
        if isinstance(module, Instance):
            forward = self._method(module.cls, "forward")
            if forward is None:  # no forward(): its sub-modules in order
                for name, child in module.attrs.items():
                    ref = self.apply(Bound(child, _join(path, name)), _first(ref), node, ctx)
                return ref
            return self.run_forward(module, forward, ref, path, node)
        if isinstance(module, Unsupported):
            raise SpecError(f"{module.where}: {module.why}" if module.where else module.why)
        self.fail(node, f"{_segment(self.text, node)}: not a module tconvcalc can read")

    def run_forward(self, instance, forward, ref, path, node):
        depth = getattr(self, "depth", 0)
        if depth > 50:
            self.fail(node, "modules nest more than 50 deep (recursion?)")
        self.depth = depth + 1
        env = self.bind_params(forward, [ref], {}, node, skip_self=True)
        ctx = {"self": instance, "prefix": path, "init": False}
        try:
            self.block(forward.body, env, ctx)
            result = None
        except _Return as returned:
            result = returned.value
        finally:
            self.depth = depth
        if isinstance(result, (tuple, list)) and result and isinstance(result[0], Ref):
            return tuple(result)  # several tensors: `x, skip = block(x)`
        if not isinstance(result, Ref):
            self.fail(forward, f"{instance.cls.name}.forward() does not return a tensor tconvcalc can follow")
        return result

    def merge(self, op, refs, node, ctx):
        hint = ctx.get("hint") or ("cat" if op == "concat" else "add")
        name = self.unique(_join(ctx.get("prefix", ""), hint))
        self.items.append({"layer": op, "name": name, "input": refs[0].name, "with": [r.name for r in refs[1:]],
                           "where": f"{self.where(node)}"})
        return Ref(name)

    # -- statements -------------------------------------------------------------------------------------

    def block(self, statements, env, ctx):
        for statement in statements:
            self.steps += 1
            if self.steps > self.MAX_STEPS:
                self.fail(statement, "too many steps while reading the model; is there an unbounded loop?")
            handler = getattr(self, "s_" + type(statement).__name__, None)
            if handler is not None:
                handler(statement, env, ctx)
            elif not ctx.get("init"):
                self.fail(statement, f"{type(statement).__name__.lower()} statements in forward() are not "
                                     "supported")

    def s_Pass(self, node, env, ctx):
        pass

    def s_Assert(self, node, env, ctx):
        pass

    def s_Import(self, node, env, ctx):
        pass

    s_ImportFrom = s_Import

    def s_Return(self, node, env, ctx):
        raise _Return(self.value(node.value, env, ctx) if node.value is not None else None)

    def s_Assign(self, node, env, ctx):
        target = node.targets[0]
        hint = target.id if isinstance(target, ast.Name) else None
        value = self.value(node.value, env, {**ctx, "hint": hint})
        for target in node.targets:
            self.assign(target, value, env, node, ctx)

    def s_AnnAssign(self, node, env, ctx):
        if node.value is not None:
            hint = node.target.id if isinstance(node.target, ast.Name) else None
            self.assign(node.target, self.value(node.value, env, {**ctx, "hint": hint}), env, node, ctx)

    def s_AugAssign(self, node, env, ctx):
        hint = node.target.id if isinstance(node.target, ast.Name) else None
        fake = ast.BinOp(left=_load(node.target), op=node.op, right=node.value)
        ast.copy_location(fake, node)
        current = self.value(node.target, env, ctx)
        if isinstance(current, list) and isinstance(node.op, ast.Add):  # layers += [...]
            extra = self.value(node.value, env, ctx)
            if isinstance(extra, (list, tuple)):
                current.extend(extra)
                return
        self.assign(node.target, self.value(fake, env, {**ctx, "hint": hint}), env, node, ctx)

    def assign(self, target, value, env, node, ctx=None):
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (tuple, list)) and len(value) == len(target.elts):
                for element, item in zip(target.elts, value):
                    self.assign(element, item, env, node, ctx)
            else:  # x, indices = self.pool(x): the first is the tensor
                for index, element in enumerate(target.elts):
                    self.assign(element, value if index == 0 else Unknown("a second return value"), env, node, ctx)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self" \
                and ctx is not None and ctx.get("self") is not None:
            instance = ctx["self"]
            if isinstance(value, Bound):
                value = value.module
            if isinstance(value, MODULES):
                instance.attrs.pop(target.attr, None)
                instance.attrs[target.attr] = value
                instance.consts.pop(target.attr, None)
            else:
                instance.consts[target.attr] = value
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value, env, node, ctx)
        # other targets (subscripts, other objects) hold nothing tconvcalc follows

    def s_Expr(self, node, env, ctx):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            owner = call.func.value
            if call.func.attr == "__init__" and isinstance(owner, ast.Call) and _dotted(owner.func) == "super":
                self.super_init(call, env, ctx)
                return
            if call.func.attr in ("add_module", "register_module") and _dotted(owner) == "self" \
                    and len(call.args) == 2 and ctx.get("self") is not None:
                name = self.value(call.args[0], env, ctx)
                module = self.value(call.args[1], env, ctx)
                if isinstance(name, str):
                    self.assign(ast.Attribute(value=ast.Name(id="self"), attr=name), module, env, node, ctx)
                return
        if isinstance(call, ast.Constant):
            return  # a docstring
        if ctx.get("init"):
            try:
                self.value(call, env, ctx)
            except SpecError:
                pass  # calls in __init__ other than layers (weight init, prints) do not build the model
            return
        self.value(call, env, ctx)

    def super_init(self, call, env, ctx):
        cls = ctx.get("class")
        if cls is None:
            return
        for base in cls.bases:
            base = self.classes.get(base.rsplit(".", 1)[-1])
            if base is not None and "__init__" in base.methods:
                args = self._elements(call.args, env, ctx)
                kwargs = {k.arg: self.value(k.value, env, ctx) for k in call.keywords if k.arg}
                base_env = self.bind_params(base.methods["__init__"], args, kwargs, call, skip_self=True)
                try:
                    self.block(base.methods["__init__"].body, base_env, {**ctx, "class": base})
                except _Return:
                    pass
                return

    def s_If(self, node, env, ctx):
        test = self.value(node.test, env, ctx)
        if isinstance(test, (Unknown, Ref)):
            if ctx.get("init"):
                self.fail(node, f"if {_segment(self.text, node.test)}: cannot tell which branch builds the model "
                                f"({test.why if isinstance(test, Unknown) else 'it tests a tensor'})")
            self.fail(node, f"if {_segment(self.text, node.test)}: forward() branches on a value known only when "
                            "it runs")
        self.block(node.body if test else node.orelse, env, ctx)

    def s_For(self, node, env, ctx):
        iterable = self.iterate(self.value(node.iter, env, ctx), node.iter)
        if iterable is None and ctx.get("init"):
            return  # e.g. weight init over self.modules(): builds nothing
        if iterable is None:
            self.fail(node, f"for ... in {_segment(self.text, node.iter)}: cannot tell what it loops over")
        for element in iterable:
            self.assign(node.target, element, env, node, ctx)
            self.block(node.body, env, ctx)
        self.block(node.orelse, env, ctx)

    def iterate(self, value, node):
        if isinstance(value, Bound) and isinstance(value.module, Seq):
            return self.children(value)
        if isinstance(value, (list, tuple, range)):
            return list(value)
        if isinstance(value, dict):
            return list(value)
        return None

    def s_With(self, node, env, ctx):
        self.block(node.body, env, ctx)

    def s_Try(self, node, env, ctx):
        self.block(node.body, env, ctx)
        self.block(node.orelse, env, ctx)
        self.block(node.finalbody, env, ctx)

    def s_FunctionDef(self, node, env, ctx):
        if not ctx.get("init"):
            self.fail(node, "functions defined inside forward() are not supported")

    def s_Delete(self, node, env, ctx):
        pass

    def s_Global(self, node, env, ctx):
        pass


def _first(value):
    return value[0] if isinstance(value, tuple) else value


def _is_torch_path(name):
    return bool(name) and (name.startswith(("nn.", "torch.", "F.")) or ".nn." in name)


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else str(name)


def _load(target):
    """A copy of an assignment target that can be read."""
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copy, target)


# ---- PyTorch source ------------------------------------------------------------------------------------


def network_from_source(text, path, framework=None, backend=None):
    """A Network from PyTorch source or ``print(model)`` text, read with ast; never executed."""
    source = str(path)
    if looks_printed(text):
        return network_from_print(text, source, framework, backend)
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as error:
        detail = f"{error.msg}" + (f": {error.text.strip()}" if error.text and error.text.strip() else "")
        raise SpecError(f"{source}:{error.lineno}: syntax error: {detail}") from None
    except ValueError as error:  # null bytes
        raise SpecError(f"{source}: cannot read as Python: {error}") from None
    reader = _Reader(text, source)
    statements = _top_level(tree.body)
    for statement in statements:
        if isinstance(statement, ast.ClassDef):
            reader.classes[statement.name] = _Class(statement)
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            value = reader.value(statement.value, {}, {"self": None, "prefix": "", "init": True}) \
                if _is_literal(statement.value) else None
            if value is not None:
                reader.globals[statement.targets[0].id] = value
    root = _root(reader, statements)
    if root is None:
        raise SpecError(f"{source}: no PyTorch model found (expected an nn.Module class, an nn.Sequential, or "
                        "print(model) text)")
    framework = framework or "torch"
    ref = _first(reader.apply(Bound(root, ""), Ref(INPUT), tree, {"self": None, "prefix": ""}))
    items = _reachable(reader.items, ref)
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size (found only shape-neutral "
                        "layers); nothing to chain")
    return make_network(items, framework, backend if framework == "keras" else None, source=source,
                        in_channels=None)


def _is_literal(node):
    return all(isinstance(n, (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.BinOp, ast.operator,
                              ast.unaryop, ast.Load, ast.Name)) for n in ast.walk(node))


def _top_level(body):
    """Module statements, plus those under ``if __name__ == "__main__":``."""
    out = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, ast.If) and "__name__" in ast.unparse(statement.test):
            out.extend(_top_level(statement.body))
    return out


def _root(reader, statements):
    """The model: the last module-level ``x = Net(...)``/``nn.Sequential(...)``, else the last nn.Module
    class no other class of the file uses."""
    for statement in reversed(statements):
        value = statement.value if isinstance(statement, (ast.Assign, ast.Expr)) else None
        if isinstance(value, ast.Call):
            name = _dotted(value.func) or ""
            last = name.rsplit(".", 1)[-1]
            if last in reader.classes or last in ("Sequential", "ModuleList") or _TORCH_LAYER.match(last):
                module = reader.value(value, {}, {"self": None, "prefix": "", "init": True})
                if isinstance(module, MODULES):
                    return module
    modules = [c for c in reader.classes.values() if _is_module_class(c, reader.classes)]
    used = set()
    for cls in modules:
        for node in ast.walk(cls.node):
            if isinstance(node, ast.Call):
                name = (_dotted(node.func) or "").rsplit(".", 1)[-1]
                if name != cls.name:
                    used.add(name)
    roots = [c for c in modules if c.name not in used]
    if not roots:
        return None
    cls = roots[-1]
    return reader.instantiate(cls, [], {}, cls.node)


def _is_module_class(cls, classes, seen=()):
    for base in cls.bases:
        last = base.rsplit(".", 1)[-1]
        if last in ("Module", "Sequential", "ModuleList"):
            return True
        if last in classes and last not in seen and _is_module_class(classes[last], classes, seen + (last,)):
            return True
    return False


def _reachable(items, ref):
    """The nodes the output depends on, in order (forward() may compute things it does not return)."""
    if not items or ref.name == INPUT:
        return []
    by_name = {item["name"]: item for item in items}
    needed, stack = set(), [ref.name]
    while stack:
        name = stack.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        item = by_name[name]
        stack.append(item["input"])
        stack.extend(item.get("with", []))
    return [item for item in items if item["name"] in needed]


# ---- print(model) text ---------------------------------------------------------------------------------

_PRINT_OPEN = re.compile(r"(?P<indent>\s*)(?:\((?P<name>[^()]+)\):\s*)?(?:(?P<count>\d+) x )?(?P<type>[\w.]+)\($")
_PRINT_LEAF = re.compile(r"(?P<indent>\s*)\((?P<name>[^()]+)\):\s*(?:(?P<count>\d+) x )?(?P<expr>[\w.]+\(.*\))\s*$")
_PRINT_CLOSE = re.compile(r"\s*\)\s*$")


def looks_printed(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and bool(re.fullmatch(r"[\w.]+\(", lines[0].strip())) and \
        any(re.match(r"\s+\([^()]+\):\s", line) for line in lines[1:])


class _Printed:
    def __init__(self, name, type_, expr, count, line):
        self.name, self.type, self.expr, self.count, self.line = name, type_, expr, count, line
        self.children = []


def network_from_print(text, source, framework=None, backend=None):
    """``print(model)`` text: every printed module in order, as one sequential chain (it has no data flow)."""
    root, stack = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        opened = _PRINT_OPEN.fullmatch(line)
        leaf = None if opened else _PRINT_LEAF.fullmatch(line)
        if opened:
            node = _Printed(opened["name"], opened["type"], None, int(opened["count"] or 1), number)
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise SpecError(f"{source}:{number}: a second model after the first one closed")
            stack.append(node)
        elif leaf:
            if not stack:
                raise SpecError(f"{source}:{number}: a module outside the model: {line.strip()}")
            try:
                ast.parse(leaf["expr"], mode="eval")
            except SyntaxError as error:
                raise SpecError(f"{source}:{number}: syntax error: {error.msg}: {leaf['expr'][:80]}") from None
            stack[-1].children.append(_Printed(leaf["name"], None, leaf["expr"], int(leaf["count"] or 1), number))
        elif _PRINT_CLOSE.fullmatch(line):
            if not stack:
                raise SpecError(f"{source}:{number}: ')' closes nothing")
            stack.pop()
        else:
            raise SpecError(f"{source}:{number}: cannot read this line of print(model) text: {line.strip()[:80]}")
    if root is None:
        raise SpecError(f"{source}: no model found in the print(model) text")
    if stack:
        raise SpecError(f"{source}: the print(model) text ends before {stack[-1].type} (line {stack[-1].line}) "
                        "closes")
    items, names = [], {INPUT}
    _flatten(root, "", items, names, source)
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size; nothing to chain")
    return make_network(items, framework or "torch", backend if framework == "keras" else None, source=source)


def _flatten(node, path, items, names, source):
    for child in node.children:
        for repeat in range(child.count):
            name = child.name or "0"
            if child.count > 1 and re.fullmatch(r"\d+-\d+", name):  # torch's "(0-2): 3 x Conv2d(...)"
                name = str(int(name.split("-")[0]) + repeat)
            child_path = _join(path, name)
            if child.expr is None:
                _flatten(child, child_path, items, names, source)
                continue
            where = f"{source}:{child.line}"
            try:
                call = ast.parse(child.expr, mode="eval").body
            except SyntaxError as error:
                raise SpecError(f"{where}: syntax error: {error.msg}: {child.expr[:80]}") from None
            if not isinstance(call, ast.Call) or not _dotted(call.func):
                raise SpecError(f"{where}: expected a module like Conv2d(...), got {child.expr[:80]}")
            reader = _Reader(child.expr, source)
            env = _BareNames()
            args = [reader.value(a, env, {"self": None, "prefix": ""}) for a in call.args]
            kwargs = {k.arg: reader.value(k.value, env, {"self": None, "prefix": ""}) for k in call.keywords if k.arg}
            kind = _dotted(call.func).rsplit(".", 1)[-1]
            module = torch_layer(kind, args, kwargs, where, child.expr if len(child.expr) <= 80 else kind + "(...)")
            if module is None:
                raise SpecError(f"{where}: unknown module {kind}(...): it could change the size, and tconvcalc "
                                "cannot follow it")
            if isinstance(module, Unsupported):
                raise SpecError(f"{module.where}: {module.why}")
            if isinstance(module, Leaf):
                unique, n = child_path, 1
                while unique in names:
                    n += 1
                    unique = f"{child_path}#{n}"
                names.add(unique)
                items.append({**module.item, "name": unique})


class _BareNames(dict):
    """print(model) writes some strings unquoted (padding=same, padding_mode=reflect): a bare name is its text."""

    def __contains__(self, key):
        return True

    def __missing__(self, key):
        return key


# ---- Keras model.to_json() -----------------------------------------------------------------------------

_KERAS_CONV = re.compile(r"(?:Conv|Convolution|SeparableConv|SeparableConvolution|DepthwiseConv)([123])D\Z")
_KERAS_CONVT = re.compile(r"(?:Conv|Convolution)([123])DTranspose\Z")
_KERAS_POOL = re.compile(r"(Max|Average|Avg)Pool(?:ing)?([123])D\Z")
_KERAS_UP = re.compile(r"UpSampling([123])D\Z")
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
        return _axes_text(value)

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
    raise SpecError(f"{where}: unsupported Keras layer {kind}: it could change the size and tconvcalc cannot "
                    "follow it (supported: Conv*D, Conv*DTranspose, MaxPooling*D, AveragePooling*D, "
                    "UpSampling*D, Concatenate, Add, and shape-neutral layers)")


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
            items = _reachable(items, Ref(final))
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
