"""A small interpreter over a Python file's syntax tree; it never runs the code.

It knows only literals, constructor arguments, the torch layer constructors, ``nn.Sequential`` /
``nn.ModuleList`` and classes written in the same file. Applying a module to a tensor records a
make_network item; ``torch.cat`` and ``+`` of tensors record merges.
"""

import ast
import re

from ..network import INPUT, SpecError
from .torch_layers import FUNCTIONAL_NEUTRAL, SIGNATURES, TENSOR_BINARY, bind, torch_layer
from .values import MODULES, Bound, Instance, Leaf, Neutral, Ref, Seq, Unknown, Unsupported

_BUILTINS = {"int": int, "float": float, "max": max, "min": min, "abs": abs, "round": round, "len": len,
             "bool": bool, "str": str, "tuple": tuple, "list": list, "sum": sum}


def dotted(node):
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


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class Class:
    """A class written in the file: its syntax, methods and base-class names."""

    def __init__(self, node):
        self.node, self.name = node, node.name
        self.methods = {f.name: f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.bases = [dotted(b) or "" for b in node.bases]


class Reader:
    """Reads one file's syntax tree: ``value`` evaluates an expression, ``block`` runs statements and
    ``apply`` applies a module to a tensor; the layers and merges data flows through collect in ``items``."""

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
                return Bound(instance.attrs[node.attr], join(ctx["prefix"], node.attr))
            if node.attr in instance.consts:
                return instance.consts[node.attr]
            return Unknown(f"self.{node.attr} is not set in __init__")
        base = self.value(node.value, env, ctx)
        if isinstance(base, Class):  # a class attribute: expansion = 1
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
        return [Bound(module, join(bound.path, name)) for name, module in bound.module.children]

    # -- calls ------------------------------------------------------------------------------------------

    def v_Call(self, node, env, ctx):
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            self.fail(node, "too many steps while reading the model; is there a loop without a literal bound?")
        name = dotted(node.func)
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
        if isinstance(func, Class):  # block(...) where block is a class of this file
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
                path = self.unique_path(join(ctx["prefix"], f"{dotted(node.func.func) or 'call'}@L{node.lineno}"))
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
        name = dotted(node.func) or ""
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
        if last in TENSOR_BINARY and name.startswith("torch."):
            return self.merge("add", refs, node, ctx) if len(refs) > 1 else refs[0]
        if last in FUNCTIONAL_NEUTRAL and args and isinstance(args[0], Ref):
            return args[0]
        kind = re.match(r"(max_pool|avg_pool|max_unpool)([123])d\Z", last)
        if kind or last in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle"):
            if not isinstance(args[0], Ref):
                return None
            signature = {"max_pool": ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
                         "avg_pool": SIGNATURES["avgpool"], "max_unpool": ["indices", "kernel_size", "stride",
                                                                             "padding", "output_size"]}
            if kind:
                bound = bind(signature[kind[1]], args[1:], kwargs, self.where(node), text)
                if kind[1] == "max_unpool" and bound.get("output_size") is not None:
                    self.fail(node, f"{text}: output_size fixes the size from run-time values; not supported")
                bound.pop("indices", None)
                bound.pop("output_size", None)
                layer = {"max_pool": "MaxPool", "avg_pool": "AvgPool", "max_unpool": "MaxUnpool"}[kind[1]] + \
                    kind[2] + "d"
            elif last == "pixel_shuffle":
                bound = bind(["upscale_factor"], args[1:], kwargs, self.where(node), text)
                layer = "PixelShuffle"
            else:
                bound = bind(["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                               "antialias"], args[1:], kwargs, self.where(node), text)
                bound.pop("antialias", None)
                if bound.get("size") is not None:
                    self.fail(node, f"{text}: interpolate(size=...) takes its output size from run-time values; "
                                    "tconvcalc follows scale_factor only")
                layer = "Upsample"
            module = torch_layer(layer, [], bound, self.where(node), text)
            path = self.unique_path(join(ctx["prefix"], f"{last}@L{node.lineno}"))
            return self.apply(Bound(module, path), args[0], node, ctx, already_unique=True)
        if last == "pad" or last.endswith("pad"):
            self.fail(node, f"{text}: padding a tensor in forward(); tconvcalc cannot follow its size "
                            "(for a skip, the mismatch it fixes is what `tconvcalc chain` reports)")
        return None

    def tensor_method(self, ref, node, env, ctx):
        method = node.func.attr
        args = [self.value(a, env, ctx) for a in node.args]
        if method in FUNCTIONAL_NEUTRAL or method in ("view_as", "type_as", "expand_as", "requires_grad_"):
            return ref
        if method in TENSOR_BINARY:
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
                ref = self.apply(child, first(ref), node, ctx)
            return ref
        if isinstance(module, Instance):
            forward = self._method(module.cls, "forward")
            if forward is None:  # no forward(): its sub-modules in order
                for name, child in module.attrs.items():
                    ref = self.apply(Bound(child, join(path, name)), first(ref), node, ctx)
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
        name = self.unique(join(ctx.get("prefix", ""), hint))
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
            if call.func.attr == "__init__" and isinstance(owner, ast.Call) and dotted(owner.func) == "super":
                self.super_init(call, env, ctx)
                return
            if call.func.attr in ("add_module", "register_module") and dotted(owner) == "self" \
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


def first(value):
    return value[0] if isinstance(value, tuple) else value


def _is_torch_path(name):
    return bool(name) and (name.startswith(("nn.", "torch.", "F.")) or ".nn." in name)


def join(prefix, name):
    return f"{prefix}.{name}" if prefix else str(name)


def _load(target):
    """A copy of an assignment target that can be read."""
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copy, target)

