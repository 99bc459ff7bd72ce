"""A small interpreter over Python files' syntax trees; it never runs the code.

It knows literals, constructor arguments, the torch layer constructors, ``nn.Sequential`` /
``nn.ModuleList`` / ``nn.ModuleDict``, and the classes and functions written in the file and in the
files of its package it imports (read with ast as well). Applying a module to a tensor records a
make_network item; ``torch.cat``, ``+`` and ``*`` of tensors record merges.

Every reading is bounded, so a hostile file is refused in a fraction of a second: steps interpreted,
the size of containers, the digits of integers, the layers a model holds, how deep calls nest.
"""

import ast
import math
import random
import re
from contextlib import contextmanager

from ..network import INPUT, MAX_NODES, SpecError
from .torch_layers import FUNCTIONAL_NEUTRAL, SIGNATURES, TENSOR_BINARY, bind, is_torch_layer, torch_layer
from .values import (MODULES, Bound, Function, Instance, Leaf, Namespace, Neutral, Partial, Ref, Seq, Shape, Size,
                     TorchClass, Unknown, Unsupported)

MAX_STEPS = 50_000  # statements and calls interpreted: a runaway loop is an error, not a hang
MAX_ELEMENTS = 100_000  # elements in one list, tuple, string or range
MAX_INT_BITS = 1024  # integers up to about 10^308: sizes are small, a k = k * k bomb is not
MAX_MODULES = 100_000  # layers one nn.Sequential may hold, nested Sequentials multiplied
MAX_DEPTH = 50  # modules / calls nested in each other
IMPORT_HINT = "to follow it by running the code, add --import"

_BUILTINS = {"int": int, "float": float, "max": max, "min": min, "abs": abs, "round": round, "len": len,
             "bool": bool, "str": str, "tuple": tuple, "list": list, "sum": sum, "divmod": divmod, "pow": pow}
_MATH = {"ceil": math.ceil, "floor": math.floor, "sqrt": math.sqrt, "log": math.log, "log2": math.log2,
         "log10": math.log10, "exp": math.exp, "pow": math.pow, "gcd": math.gcd, "lcm": math.lcm,
         "prod": math.prod, "isqrt": math.isqrt, "trunc": math.trunc, "fabs": math.fabs, "comb": math.comb,
         "factorial": math.factorial}
_MATH_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_DEFAULT_ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional", "torch": "torch", "math": "math",
                    "functools": "functools", "partial": "functools.partial"}
_WRAPPERS = ("weight_norm", "spectral_norm", "remove_weight_norm", "remove_spectral_norm", "orthogonal",
             "skip_init")  # nn.utils(.parametrizations).*(module, ...): the same module, reparametrised


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


def segment(text, node):
    """The source text of ``node`` on one line, cut to 80 characters (for messages)."""
    snippet = _source_segment(text, node) if text is not None else None
    if snippet is None:
        try:
            snippet = ast.unparse(node)
        except (RecursionError, ValueError):
            snippet = type(node).__name__
    snippet = " ".join(snippet[:400].split())
    return snippet if len(snippet) <= 80 else snippet[:77] + "..."


_LINES = {}  # id(text) -> (text, its lines): ast.get_source_segment splits the whole file on every call


def _source_segment(text, node):
    start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    if start is None or end is None:
        return None
    cached = _LINES.get(id(text))
    if cached is None or cached[0] is not text:
        cached = _LINES[id(text)] = (text, text.splitlines())
    lines = cached[1]
    if end > len(lines):
        return None
    end = min(end, start + 5)  # a message needs the start of it
    if start == end:
        return lines[start - 1][node.col_offset:node.end_col_offset]
    return "\n".join([lines[start - 1][node.col_offset:]] + lines[start:end])


_segment = segment


class BudgetError(SpecError):
    """A reading bound was reached (steps, sizes, digits, depth): always an error, never swallowed."""


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class SourceFile:
    """One Python file read with ast: its text (for messages) and what its top level defines."""

    def __init__(self, text, source, path=None):
        self.text, self.source, self.path = text, source, path
        self.classes = {}  # name -> Class
        self.globals = {}  # name -> value: literals, functions, imported names
        self.aliases = dict(_DEFAULT_ALIASES)  # name -> the dotted path it stands for: nn -> torch.nn


class Class:
    """A class written in a file: its syntax, methods and base-class names."""

    def __init__(self, node, file=None):
        self.node, self.name, self.file = node, node.name, file
        self.methods = {f.name: f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.bases = [dotted(b) or "" for b in node.bases]


class Reader:
    """Reads syntax trees: ``value`` evaluates an expression, ``block`` runs statements and ``apply``
    applies a module to a tensor; the layers and merges data flows through collect in ``items``."""

    MAX_STEPS = MAX_STEPS

    def __init__(self, text, source, file=None):
        self.file = file or SourceFile(text, source)
        self.items = []
        self.flat = set()  # nodes that are flattened (N, features) tensors
        self.missing = []  # the model's arguments without a default that --args did not give
        self.names = {INPUT}
        self.steps = 0
        self.depth = 0
        self.importer = None  # set by python.py: resolves `from .parts import X` to a SourceFile

    # -- the file being read -------------------------------------------------------------------------------

    @property
    def text(self):
        return self.file.text

    @property
    def source(self):
        return self.file.source

    @property
    def classes(self):
        return self.file.classes

    @property
    def globals(self):
        return self.file.globals

    @contextmanager
    def in_file(self, file):
        """Code of another file runs with that file's names and is named by its lines in messages."""
        previous = self.file
        self.file = file or previous
        try:
            yield
        finally:
            self.file = previous

    @contextmanager
    def deeper(self, node, what="modules and calls"):
        if self.depth >= MAX_DEPTH:
            self.refuse(node, f"{what} nest more than {MAX_DEPTH} deep (recursion?)")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def where(self, node):
        return f"{self.source}:{getattr(node, 'lineno', '?')}"

    def fail(self, node, message):
        raise SpecError(f"{self.where(node)}: {message}")

    def refuse(self, node, message):
        raise BudgetError(f"{self.where(node)}: {message}")

    def tick(self, node):
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            self.refuse(node, f"more than {self.MAX_STEPS} steps while reading the model; is there a loop "
                            "without a literal bound?")

    def qualified(self, node):
        """The dotted name with its head resolved through the file's imports: nn.Conv2d -> torch.nn.Conv2d."""
        name = dotted(node)
        if not name:
            return None
        head, dot, rest = name.partition(".")
        alias = self.file.aliases.get(head)
        return f"{alias}{dot}{rest}" if alias else name

    # -- names ------------------------------------------------------------------------------------------

    def unique(self, name):
        base, n = name, 1
        while name in self.names:
            n += 1
            name = f"{base}#{n}"
        self.names.add(name)
        return name

    unique_path = unique

    # -- bounded values -----------------------------------------------------------------------------------

    def bounded(self, value, node):
        """The value, if it is small enough to hold: refuses huge integers and containers."""
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            self.refuse(node, f"{segment(self.text, node)}: an integer of more than {MAX_INT_BITS} bits (about "
                            f"{int(MAX_INT_BITS * 0.30103)} digits); tconvcalc reads sizes, not such numbers")
        if isinstance(value, (list, tuple, str, range, dict)) and len(value) > MAX_ELEMENTS:
            self.refuse(node, f"{segment(self.text, node)}: {len(value)} elements; tconvcalc reads containers "
                            f"of at most {MAX_ELEMENTS}")
        if isinstance(value, Seq) and value.size > MAX_MODULES:
            self.refuse(node, f"{segment(self.text, node)}: a container of more than {MAX_MODULES} layers")
        return value

    # -- expressions ------------------------------------------------------------------------------------

    def value(self, node, env, ctx):
        """Evaluate an expression. ctx: {'self': Instance or None, 'prefix': str, 'hint': name or None,
        'init': bool}."""
        method = getattr(self, "v_" + type(node).__name__, None)
        if method is None:
            return Unknown(f"{segment(self.text, node)!r}")
        return method(node, env, ctx)

    def v_Constant(self, node, env, ctx):
        return self.bounded(node.value, node)

    def v_Name(self, node, env, ctx):
        if node.id in env:
            return env[node.id]
        if node.id in self.globals:
            return self.globals[node.id]
        if node.id in self.classes:
            return self.classes[node.id]
        alias = self.file.aliases.get(node.id)
        last = alias.rsplit(".", 1)[-1] if alias else None
        if alias and alias.startswith("torch.nn.") and (is_torch_layer(last) or last in _WRAPPERS):
            return TorchClass(last)  # from torch.nn import BatchNorm2d; from torch.nn.utils import weight_norm
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return Unknown(f"{node.id!r} is not defined in this file")

    def v_Tuple(self, node, env, ctx):
        return tuple(self._elements(node.elts, env, ctx))

    def v_List(self, node, env, ctx):
        return list(self._elements(node.elts, env, ctx))

    def v_Set(self, node, env, ctx):
        return Unknown("a set")

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
                    out.append(inner if isinstance(inner, Unknown) else Unknown(segment(self.text, element)))
                self.bounded(out, element)
            else:
                out.append(self.value(element, env, ctx))
        return out

    def v_Dict(self, node, env, ctx):
        out = {}
        for k, v in zip(node.keys, node.values):
            value = self.value(v, env, ctx)
            if k is None:  # {**other}
                if isinstance(value, dict):
                    out.update(value)
                continue
            try:
                out[self.value(k, env, ctx)] = value
            except TypeError:
                return Unknown("a dict with unhashable keys")
        return out

    def v_UnaryOp(self, node, env, ctx):
        operand = self.value(node.operand, env, ctx)
        if isinstance(operand, Ref):
            return operand
        if isinstance(operand, Size) and isinstance(node.op, ast.USub):
            return Size(lambda s: -operand.fn(s), operand.refs)
        if isinstance(operand, (int, float)):
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Invert) and isinstance(operand, int):
                return ~operand
        if isinstance(node.op, ast.Not) and not isinstance(operand, (Unknown, Ref)):
            return not operand
        return Unknown(segment(self.text, node))

    _ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
                   ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: a / b, ast.Mod: lambda a, b: a % b,
                   ast.Pow: lambda a, b: a ** b}

    def v_BinOp(self, node, env, ctx):
        left, right = self.value(node.left, env, ctx), self.value(node.right, env, ctx)
        if isinstance(left, Ref) and isinstance(right, Ref):
            op = "mul" if isinstance(node.op, (ast.Mult, ast.Div)) else "add"
            return self.merge(op, [left, right], node, ctx)
        if isinstance(left, Ref) or isinstance(right, Ref):
            return left if isinstance(left, Ref) else right  # a tensor with a scalar keeps its size
        operation = self._ARITHMETIC.get(type(node.op))
        if operation and any(isinstance(v, Size) for v in (left, right)) and \
                all(isinstance(v, (Size, int)) and not isinstance(v, bool) for v in (left, right)):
            return _size_arithmetic(operation, left, right)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if operation and numbers:
            self._check_growth(node, left, right)
            try:
                return self.bounded(operation(left, right), node)
            except (ZeroDivisionError, OverflowError, ValueError):
                return Unknown(segment(self.text, node))
        if isinstance(node.op, ast.Add) and isinstance(left, (list, tuple, str)) and type(left) is type(right):
            self._check_length(node, len(left) + len(right))
            return left + right
        if isinstance(node.op, ast.Mult) and isinstance(right, (list, tuple, str)) and isinstance(left, int):
            left, right = right, left
        if isinstance(node.op, ast.Mult) and isinstance(left, (list, tuple, str)) and isinstance(right, int) \
                and not isinstance(right, bool):
            self._check_length(node, len(left) * max(right, 0))
            result = left * right
            if isinstance(left, (list, tuple)) and any(isinstance(v, Seq) for v in left):
                self.bounded(Seq([(str(i), v) for i, v in enumerate(result)], "seq"), node)
            return result
        if isinstance(node.op, ast.Mod) and isinstance(left, str) and len(left) <= 1000:
            values = right if isinstance(right, tuple) else (right,)
            if all(_scalar(v) for v in values):  # 'conv%d' % i
                try:
                    return self.bounded(left % values, node)
                except (TypeError, ValueError, OverflowError):
                    pass
            return Unknown("a formatted string")
        return Unknown(segment(self.text, node))

    def _check_growth(self, node, left, right):
        """Refuse before computing an integer too large to hold (k = k * k forty times, 10**64**64)."""
        if not all(isinstance(v, int) for v in (left, right)):
            return
        bits = {ast.Mult: lambda: left.bit_length() + right.bit_length(),
                ast.Pow: lambda: left.bit_length() * right if right > 0 else 0}.get(type(node.op))
        if bits is not None and abs(left) > 1 and bits() > MAX_INT_BITS:
            self.refuse(node, f"{segment(self.text, node)}: an integer of more than {MAX_INT_BITS} bits (about "
                            f"{int(MAX_INT_BITS * 0.30103)} digits); tconvcalc reads sizes, not such numbers")

    def _check_length(self, node, length):
        if length > MAX_ELEMENTS:
            self.refuse(node, f"{segment(self.text, node)}: {length} elements; tconvcalc reads containers of at "
                            f"most {MAX_ELEMENTS}")

    def v_BoolOp(self, node, env, ctx):
        values = []
        for element in node.values:  # short-circuit as Python does: `a is None or a.x` never reads a.x
            value = self.value(element, env, ctx)
            values.append(value)
            if not isinstance(value, (Unknown, Ref)) and not isinstance(value, MODULES + (Bound,)):
                if isinstance(node.op, ast.And) and not value or isinstance(node.op, ast.Or) and value:
                    return value
        if any(isinstance(v, (Unknown, Ref)) for v in values):
            return Unknown(segment(self.text, node))
        return values[-1]

    def v_Compare(self, node, env, ctx):
        values = [self.value(node.left, env, ctx)] + [self.value(c, env, ctx) for c in node.comparators]
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and \
                not any(isinstance(v, Unknown) for v in values):  # self.downsample is not None
            pairs = zip(node.ops, values, values[1:])
            return all((a is b or _same_kind(a, b)) == isinstance(op, ast.Is) for op, a, b in pairs)
        unknown = next((v for v in values if isinstance(v, Unknown) and "argument" in v.why), None)
        if unknown is not None:  # netG == 'resnet_9blocks' where netG is an argument: say which
            return Unknown(unknown.why)
        if any(isinstance(v, (Unknown, Ref)) or isinstance(v, MODULES + (Bound,)) for v in values):
            return Unknown(segment(self.text, node))
        operations = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
                      ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
                      ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
        try:
            for op, a, b in zip(node.ops, values, values[1:]):
                if not operations[type(op)](a, b):
                    return False
        except Exception:
            return Unknown(segment(self.text, node))
        return True

    def v_IfExp(self, node, env, ctx):
        test = self.value(node.test, env, ctx)
        if isinstance(test, (Unknown, Ref)):
            body, orelse = self.value(node.body, env, ctx), self.value(node.orelse, env, ctx)
            if same_sizes(body, orelse):  # `a if cond else a`: either way the same sizes
                return body
            return Unknown(f"{segment(self.text, node)} depends on {segment(self.text, node.test)!r}")
        return self.value(node.body if test else node.orelse, env, ctx)

    def v_JoinedStr(self, node, env, ctx):
        """f"layer{i}" with known values (setattr/add_module names); else unknown."""
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            inner = self.value(value.value, env, ctx)
            if value.format_spec is not None or not _scalar(inner):
                return Unknown("an f-string")
            parts.append(str(inner))
        return self.bounded("".join(parts), node)

    def v_Lambda(self, node, env, ctx):
        return Function(node, self.file, dict(env), ctx)

    def v_Attribute(self, node, env, ctx):
        if isinstance(node.value, ast.Name) and node.value.id == "self" and ctx.get("self") is not None:
            instance = ctx["self"]
            if node.attr in instance.attrs:
                return Bound(instance.attrs[node.attr], join(ctx["prefix"], node.attr))
            if node.attr in instance.consts:
                return instance.consts[node.attr]
            found = self.class_attribute(instance.cls, node.attr)
            if found is not None:
                return found
            return Unknown(f"self.{node.attr} is not set in __init__")
        name = self.qualified(node)
        if name and name.startswith("torch.nn.") and (is_torch_layer(node.attr) or node.attr in _WRAPPERS):
            return TorchClass(node.attr)  # nn.BatchNorm2d, nn.utils.spectral_norm as values
        if name and name.startswith("math.") and node.attr in _MATH_CONSTANTS:
            return _MATH_CONSTANTS[node.attr]
        base = self.value(node.value, env, ctx)
        if isinstance(base, Class):  # a class attribute: expansion = 1
            found = self.class_attribute(base, node.attr)
            return found if found is not None else Unknown(segment(self.text, node))
        if isinstance(base, Namespace):  # blocks.ResBlock, where `from . import blocks`
            with self.in_file(base.file):
                return self.v_Name(ast.Name(id=node.attr), {}, ctx)
        if isinstance(base, Ref):
            if node.attr == "shape":
                return Shape(base)
            return Unknown(f"tensor attribute .{node.attr}")
        if isinstance(base, Partial) and node.attr == "func":
            return base.func
        if isinstance(base, dict) and node.attr in base:  # a config read by attribute (AttrDict, Namespace)
            return base[node.attr]
        if isinstance(base, Unknown) and not isinstance(base, Size) and "argument" in base.why:
            return base  # h.upsample_rates where h is an argument without a value: say so
        return Unknown(segment(self.text, node))

    def class_attribute(self, cls, attr, seen=None):
        """``expansion = 1`` or ``expansion: int = 1`` in the class body (or a base class's)."""
        for statement in cls.node.body:
            targets = statement.targets if isinstance(statement, ast.Assign) else \
                [statement.target] if isinstance(statement, ast.AnnAssign) and statement.value is not None else []
            if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
                with self.in_file(cls.file):
                    return self.value(statement.value, {}, {"self": None, "prefix": ""})
        seen = seen or set()
        for base in cls.bases:
            base_cls = self.find_class(base)
            if base_cls is not None and base_cls.name not in seen:
                seen.add(base_cls.name)
                found = self.class_attribute(base_cls, attr, seen)
                if found is not None:
                    return found
        return None

    def v_Subscript(self, node, env, ctx):
        base = self.value(node.value, env, ctx)
        index = self.value(node.slice, env, ctx)
        if isinstance(base, Ref):
            self.fail(node, f"{segment(self.text, node)}: slicing a tensor; tconvcalc cannot follow its size "
                            "(crop with a layer, or check this skip by hand)")
        if isinstance(base, Shape):
            if isinstance(index, int) and not isinstance(index, bool):
                return Size.of(base.ref, index + base.start if index >= 0 else index)
            if isinstance(index, slice) and index.stop is None and index.step is None and \
                    isinstance(index.start, int) and index.start >= 0:
                return Shape(base.ref, base.start + index.start)
            return Unknown("part of a tensor's shape")
        if isinstance(base, Bound) and isinstance(base.module, Unsupported):
            return base  # applying it names why
        if isinstance(base, Bound) and isinstance(base.module, Seq):
            children = self.children(base)
            if isinstance(index, slice):
                return children[index]
            if base.module.kind == "dict":
                found = [c for c in children if c.path.rsplit(".", 1)[-1] == str(index)]
                return found[0] if found else Unknown(segment(self.text, node))
            if isinstance(index, int) and -len(children) <= index < len(children):
                return children[index]
            return Unknown(segment(self.text, node))
        if isinstance(base, (list, tuple, dict, str)) and not isinstance(index, Unknown):
            try:
                return base[index]
            except (IndexError, KeyError, TypeError):
                pass
        return Unknown(segment(self.text, node))

    def v_Slice(self, node, env, ctx):
        parts = [self.value(p, env, ctx) if p is not None else None for p in (node.lower, node.upper, node.step)]
        if any(isinstance(p, (Unknown, Ref)) for p in parts):
            return Unknown("a slice")
        try:
            return slice(*parts)
        except TypeError:
            return Unknown("a slice")

    def v_ListComp(self, node, env, ctx):
        return self._comprehension(node, env, ctx, [node.elt])

    v_GeneratorExp = v_ListComp

    def v_DictComp(self, node, env, ctx):
        pairs = self._comprehension(node, env, ctx, [node.key, node.value])
        return dict(pairs) if isinstance(pairs, list) else pairs

    def _comprehension(self, node, env, ctx, parts):
        out = []

        def loop(generators, local):
            if not generators:
                self.tick(node)
                values = [self.value(part, local, ctx) for part in parts]
                out.append(values[0] if len(values) == 1 else tuple(values))
                self._check_length(node, len(out))
                return True
            generator = generators[0]
            iterable = self.iterate(self.value(generator.iter, local, ctx), generator.iter)
            if iterable is None:
                return False
            for element in iterable:
                inner = dict(local)
                self.assign(generator.target, element, inner, node)
                tests = [self.value(test, inner, ctx) for test in generator.ifs]
                if any(isinstance(t, (Unknown, Ref)) for t in tests):
                    return False
                if all(tests) and not loop(generators[1:], inner):
                    return False
            return True

        return out if loop(node.generators, dict(env)) else Unknown(segment(self.text, node))

    def children(self, bound):
        return [Bound(module, join(bound.path, name)) for name, module in bound.module.children]

    # -- calls ------------------------------------------------------------------------------------------

    def v_Call(self, node, env, ctx):
        self.tick(node)
        name = self.qualified(node.func)
        last = name.rsplit(".", 1)[-1] if name else None
        text = segment(self.text, node)
        torch_path = _is_torch_path(name)
        if isinstance(node.func, ast.Attribute) and not torch_path:
            owner = self.value(node.func.value, env, ctx)
            if isinstance(owner, list):
                return self.list_method(owner, node, env, ctx)
            if isinstance(owner, Ref):
                return self.tensor_method(owner, node, env, ctx)
            if isinstance(owner, Bound) and isinstance(owner.module, Seq) and \
                    node.func.attr in ("append", "extend", "insert", "add_module", "update"):
                return self.container_method(owner.module, node, env, ctx)
            if isinstance(owner, dict) and node.func.attr in ("items", "keys", "values", "get"):
                return self.dict_method(owner, node, env, ctx)
        method = self.own_method(node, ctx)
        if method is not None:  # self._make_layer(...), self._forward_impl(x): a method of this class
            return self.call_method(method, node, env, ctx)
        func = None if torch_path else self.value(node.func, env, ctx)
        args = self._elements(node.args, env, ctx)
        kwargs = {}
        for keyword in node.keywords:
            value = self.value(keyword.value, env, ctx)
            if keyword.arg is None:
                if isinstance(value, dict):
                    kwargs.update({str(k): v for k, v in value.items()})
                continue
            kwargs[keyword.arg] = value
        if func is not None and not isinstance(func, Unknown):
            return self.call(func, args, kwargs, node, ctx, text)
        if isinstance(node.func, ast.Call):  # nn.Sigmoid()(x): constructed, then applied above
            return Unknown(text)
        if last is None:
            return self.unknown_call(node, args, kwargs, text, func, ctx)
        if torch_path or name == last:
            if last in _WRAPPERS and args:
                return args[0]  # weight_norm(nn.Conv1d(...)): the same sizes
            try:
                module = torch_layer(last, args, kwargs, self.where(node), text)
            except BudgetError:
                raise
            except SpecError as error:  # an error only if data flows into it
                module = Unsupported("", str(error))
            if module is not None:
                return module
            if last in ("Sequential", "ModuleList", "ModuleDict", "ParameterList"):
                return self.container(last, args, kwargs, node, text)
        if last == "partial" and name in ("functools.partial", "partial") and args:
            return Partial(args[0], args[1:], kwargs)
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
        if name == "len" and len(args) == 1 and isinstance(args[0], Bound) and isinstance(args[0].module, Seq):
            return len(args[0].module.children)
        plain = not kwargs and not any(isinstance(a, (Unknown, Ref)) or isinstance(a, MODULES) for a in args)
        if name.startswith("math.") and last in _MATH and plain:
            return self.compute(_MATH[last], args, node, text)
        if name == last and last in _BUILTINS and plain:
            return self.compute(_BUILTINS[last], args, node, text)
        if name == "int" and len(args) == 1 and isinstance(args[0], Size):
            return args[0]
        if name == "range" and all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
            try:
                values = range(*args)
            except ValueError:
                return Unknown(text)
            self._check_length(node, len(values))
            return list(values)
        if name in ("reversed", "zip", "enumerate", "list", "tuple", "sorted") and args:
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
        if name == "isinstance" and len(args) == 2 and isinstance(args[0], (int, float, str, list, tuple)) \
                and not isinstance(args[0], bool) and isinstance(node.args[1], ast.Name) \
                and node.args[1].id in ("int", "float", "str", "list", "tuple"):
            return isinstance(args[0], {"int": int, "float": float, "str": str, "list": list,
                                        "tuple": tuple}[node.args[1].id])
        if name in ("setattr", "getattr") and node.args and isinstance(node.args[0], ast.Name) and \
                node.args[0].id == "self" and len(args) >= 2 and isinstance(args[1], str):
            attribute = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr=args[1], ctx=ast.Load())
            ast.copy_location(attribute, node)
            if name == "getattr":  # getattr(self, f"layer{i}")
                return self.v_Attribute(attribute, env, ctx)
            if len(args) == 3:  # setattr(self, f"conv{i}", nn.Conv2d(...))
                self.assign(attribute, args[2], env, node, ctx)
                return None
        if name == "super":
            return Unknown("super()")
        if name in _BUILTINS or name == "range" or name.startswith("math."):
            unknown = next((a for a in args if isinstance(a, Unknown) and "argument" in a.why), None)
            if unknown is not None:
                return unknown  # len(h.upsample_rates) where h has no value: the why goes along
        return self.unknown_call(node, args, kwargs, text, func, ctx)

    def compute(self, function, args, node, text):
        """A builtin or math function of literal numbers, within the integer bound."""
        flat = [v for a in args for v in (a if isinstance(a, (list, tuple)) else [a])]
        if function in (sum, str) and not all(isinstance(v, (int, float, bool, type(None))) or
                                              isinstance(v, str) and len(v) <= 1000 for v in flat):
            return Unknown(text)  # sum(lists, []) and str(nested lists) grow without bound
        if function in (pow, math.pow, math.factorial, math.comb) and any(
                isinstance(a, int) and abs(a) > 4096 for a in args):
            self.refuse(node, f"{text}: too large to compute; tconvcalc reads sizes")
        if function is math.prod or function is sum:
            values = args[0] if args and isinstance(args[0], (list, tuple)) else []
            if sum(v.bit_length() for v in values if isinstance(v, int)) > MAX_INT_BITS:
                self.refuse(node, f"{text}: an integer of more than {MAX_INT_BITS} bits")
        try:
            return self.bounded(function(*args), node)
        except SpecError:
            raise
        except Exception:
            return Unknown(text)

    def call(self, func, args, kwargs, node, ctx, text):
        """Call a value: build a layer, instantiate a class, run a function, apply a module."""
        if isinstance(func, Class):  # block(...) where block is a class of this file
            return self.instantiate(func, args, kwargs, node)
        if isinstance(func, Partial):
            return self.call(func.func, func.args + list(args), {**func.kwargs, **kwargs}, node, ctx, text)
        if isinstance(func, TorchClass) and func.name in _WRAPPERS:
            return args[0] if args else Unknown(text)  # norm_f(Conv1d(...)), norm_f = weight_norm
        if isinstance(func, TorchClass):
            try:
                module = torch_layer(func.name, args, kwargs, self.where(node), text)
            except SpecError as error:
                module = Unsupported("", str(error))
            return module if module is not None else self.container(func.name, args, kwargs, node, text)
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, node, ctx)
        if isinstance(func, (Bound,) + MODULES):  # applying a module: self.conv1(x), block(x), conv(x)
            refs = [a for a in args if isinstance(a, Ref)]
            if not refs:
                if not ctx.get("init"):
                    self.fail(node, f"{text}: cannot tell which tensor this module reads")
                return Unknown(text)
            if not isinstance(func, Bound):
                func = Bound(func, self.unique(join(ctx.get("prefix", ""), f"{_callee(node)}@L{node.lineno}")))
                return self.apply(func, refs[0], node, ctx, already_unique=True, args=args, kwargs=kwargs)
            return self.apply(func, refs[0], node, ctx, args=args, kwargs=kwargs)
        return self.unknown_call(node, args, kwargs, text, func, ctx)

    def call_function(self, function, args, kwargs, node, ctx, root=False):
        """A def or lambda of the file, with its arguments substituted."""
        with self.in_file(function.file), self.deeper(node, "calls"):
            defining = function.ctx or {}
            local = dict(function.closure)
            local.update(self.bind_params(function.node, args, kwargs, node, skip_self=False, root=root))
            fctx = {"self": defining.get("self"), "prefix": ctx.get("prefix", ""), "init": ctx.get("init", True),
                    "hint": None, "class": defining.get("class")}
            if isinstance(function.node, ast.Lambda):
                return self.value(function.node.body, local, fctx)
            try:
                self.block(function.node.body, local, fctx)
            except _Return as returned:
                return returned.value
        return None

    def own_method(self, node, ctx):
        func, instance = node.func, ctx.get("self")
        if instance is None or not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                                    and func.value.id == "self") or func.attr in instance.attrs \
                or func.attr in instance.consts:
            return None
        found = self._method(instance.cls, func.attr)
        return found if found is not None and func.attr not in ("__init__", "forward") else None

    def call_method(self, method, node, env, ctx):
        function, cls = method
        args = self._elements(node.args, env, ctx)
        kwargs = {k.arg: self.value(k.value, env, ctx) for k in node.keywords if k.arg}
        with self.in_file(cls.file), self.deeper(node, "calls"):
            local = self.bind_params(function, args, kwargs, node, skip_self=True)
            try:
                self.block(function.body, local, {**ctx, "hint": None, "class": cls})
            except _Return as returned:
                return returned.value
        return None

    def unknown_call(self, node, args, kwargs, text, func=None, ctx=None):
        name = dotted(node.func) or ""
        if name.startswith(("keras.", "layers.", "tf.keras.", "tensorflow.keras.")):
            raise SpecError(f"{self.where(node)}: {text}: Keras layers in Python source are not read; save the "
                            "model with model.to_json() and chain that file")
        if any(isinstance(a, Ref) for a in list(args) + list(kwargs.values())):
            origin = self.origin_of(node.func, ctx or {})
            if origin is not None:  # self.block(x), where __init__ set self.block to something unreadable
                where, statement = origin
                why = f" ({func.why})" if isinstance(func, Unknown) else ""
                raise SpecError(f"{where}: {statement}: not a module tconvcalc can read{why}; it is applied to "
                                f"a tensor at {self.where(node)}")
            why = f" ({func.why})" if isinstance(func, Unknown) and "not defined" in func.why else ""
            self.fail(node, f"{text}: unknown call on a tensor{why}; it could change the size, and tconvcalc "
                            "cannot follow it (supported: torch.nn layers, classes and functions of the file and "
                            "its package, torch.cat, +, *, F.pad/interpolate/max_pool/avg_pool/adaptive pools, "
                            "flatten/view, activations)")
        if text and re.match(r"(\w+\.)*[A-Z]\w*\(", text):  # looks like a module constructor
            why = f" ({func.why})" if isinstance(func, Unknown) else ""
            return Unsupported(self.where(node), f"{text}: unknown module{why}: not a torch.nn layer tconvcalc "
                                                 "knows, nor a class it can read; it could change the size")
        if isinstance(func, Unknown) and "imported from" in func.why:
            return Unknown(f"{text}: {func.why}")
        return Unknown(text)

    def origin_of(self, func, ctx):
        instance = ctx.get("self")
        if instance is not None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "self":
            return instance.set_at.get(func.attr)
        return None

    def container(self, kind, args, kwargs, node, text):
        if kind == "ModuleDict" or (kind == "Sequential" and len(args) == 1 and isinstance(args[0], dict)):
            mapping = args[0] if args else {}
            if isinstance(mapping, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in mapping):
                mapping = dict(mapping)
            if not isinstance(mapping, dict):
                return Unsupported(self.where(node), f"{text}: cannot read its modules")
            children = [(str(k), self.module_of(v, node, text)) for k, v in mapping.items()]
            return self.bounded(Seq(children, "dict" if kind == "ModuleDict" else "seq"), node)
        if kind in ("ModuleList", "ParameterList"):
            values = args[0] if args else []
            if not isinstance(values, (list, tuple)):
                return Unsupported(self.where(node), f"{text}: cannot read its modules")
            args = values
        if kind not in ("Sequential", "ModuleList", "ParameterList"):
            return Unsupported(self.where(node), f"{text}: unknown module")
        return self.bounded(Seq([(str(i), self.module_of(v, node, text)) for i, v in enumerate(args)], "seq"), node)

    def container_method(self, seq, node, env, ctx):
        """nn.ModuleList().append(...) / .extend([...]) / .insert(i, m); nn.Sequential().add_module(name, m)."""
        method, text = node.func.attr, segment(self.text, node)
        args = self._elements(node.args, env, ctx)
        if method == "append" and len(args) == 1:
            seq.children.append((str(len(seq.children)), self.module_of(args[0], node, text)))
        elif method in ("extend", "update") and len(args) == 1 and isinstance(args[0], (list, tuple, dict)):
            values = args[0].items() if isinstance(args[0], dict) else \
                [(str(len(seq.children) + i), v) for i, v in enumerate(args[0])]
            seq.children.extend((str(k), self.module_of(v, node, text)) for k, v in values)
        elif method == "insert" and len(args) == 2 and isinstance(args[0], int):
            seq.children.insert(args[0], ("", self.module_of(args[1], node, text)))
            seq.children[:] = [(str(i), m) for i, (_, m) in enumerate(seq.children)]
        elif method == "add_module" and len(args) == 2 and isinstance(args[0], str):
            seq.children.append((args[0], self.module_of(args[1], node, text)))
        else:
            return Unknown(text)
        self.bounded(seq, node)
        return None

    def dict_method(self, owner, node, env, ctx):
        method = node.func.attr
        args = [self.value(a, env, ctx) for a in node.args]
        if method == "items" and not args:
            return list(owner.items())
        if method == "keys" and not args:
            return list(owner)
        if method == "values" and not args:
            return list(owner.values())
        if method == "get" and 1 <= len(args) <= 2:
            try:
                return owner.get(*args)
            except TypeError:
                return Unknown(segment(self.text, node))
        return Unknown(segment(self.text, node))

    def module_of(self, value, node, text):
        if isinstance(value, Bound):
            return value.module
        if isinstance(value, MODULES):
            return value
        why = value.why if isinstance(value, Unknown) else repr(value)[:60]
        return Unsupported(self.where(node), f"{text}: cannot read a module from {why}")

    def functional(self, last, name, args, kwargs, node, ctx, text):
        """torch.cat, torch.add, F.relu, F.max_pool2d, F.interpolate, F.pad, ... on tensors; None if not one."""
        refs = [a for a in args if isinstance(a, Ref)]
        if last in ("cat", "concat", "concatenate", "stack") and args and isinstance(args[0], (list, tuple)):
            tensors = [a for a in args[0] if isinstance(a, Ref)]
            if len(tensors) != len(args[0]) or not tensors:
                self.fail(node, f"{text}: cannot tell which tensors are concatenated")
            if last == "stack":
                self.fail(node, f"{text}: torch.stack adds an axis; tconvcalc cannot follow it")
            return tensors[0] if len(tensors) == 1 else self.merge("concat", tensors, node, ctx)
        if last == "tensor" and name.startswith("torch.") and args and isinstance(args[0], list) \
                and len(args[0]) == 1 and isinstance(args[0][0], (Size, int)):
            return args[0][0]  # torch.tensor([x2.size()[2] - x1.size()[2]]): the U-Net's diff
        if last == "data_parallel" and len(args) >= 2 and isinstance(args[1], Ref) and \
                isinstance(args[0], (Bound,) + MODULES):  # nn.parallel.data_parallel(self.main, input, ...)
            return self.call(args[0], [args[1]], {}, node, ctx, text)
        if not refs:
            return None
        if last in TENSOR_BINARY and name.startswith("torch."):
            return self.merge(TENSOR_BINARY[last], refs, node, ctx) if len(refs) > 1 else refs[0]
        if last in FUNCTIONAL_NEUTRAL and args and isinstance(args[0], Ref):
            return args[0]
        if not isinstance(args[0], Ref):
            return None
        if last == "flatten" and name.startswith("torch."):
            return self.flatten(args[0], args[1:], kwargs, node, ctx, text)
        if last == "pad" and name.startswith("torch.nn.functional"):
            return self.pad(args[0], args[1:], kwargs, node, ctx, text)
        kind = re.match(r"(max_pool|avg_pool|max_unpool|adaptive_avg_pool|adaptive_max_pool)([123])d\Z", last)
        if kind or last in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle"):
            signature = {"max_pool": ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
                         "avg_pool": SIGNATURES["avgpool"], "max_unpool": ["indices", "kernel_size", "stride",
                                                                             "padding", "output_size"],
                         "adaptive_avg_pool": ["output_size"], "adaptive_max_pool": ["output_size", "return_indices"]}
            if kind:
                bound = bind(signature[kind[1]], args[1:], kwargs, self.where(node), text)
                if kind[1] == "max_unpool" and bound.get("output_size") is not None:
                    self.fail(node, f"{text}: output_size fixes the size from run-time values; not supported")
                bound.pop("indices", None)
                if kind[1] == "max_unpool":
                    bound.pop("output_size", None)
                layer = {"max_pool": "MaxPool", "avg_pool": "AvgPool", "max_unpool": "MaxUnpool",
                         "adaptive_avg_pool": "AdaptiveAvgPool", "adaptive_max_pool": "AdaptiveMaxPool"}[kind[1]] + \
                    kind[2] + "d"
            elif last == "pixel_shuffle":
                bound = bind(["upscale_factor"], args[1:], kwargs, self.where(node), text)
                layer = "PixelShuffle"
            else:
                bound = bind(["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                               "antialias"], args[1:], kwargs, self.where(node), text)
                bound.pop("antialias", None)
                like = like_node(bound.get("size"))
                if like is not None:
                    return self.leaf({"layer": "upsample", "like": like, "where": self.where(node)}, args[0],
                                     node, ctx, last)
                layer = "Upsample"
            module = torch_layer(layer, [], bound, self.where(node), text)
            if isinstance(module, Unsupported):
                raise SpecError(f"{module.where}: {module.why}")
            return self.apply(Bound(module, self.unique(join(ctx["prefix"], f"{last}@L{node.lineno}"))), args[0],
                              node, ctx, already_unique=True)
        return None

    def leaf(self, item, ref, node, ctx, what):
        """Record one layer item computed in forward() (no module: named by the function and the line)."""
        name = self.unique(join(ctx.get("prefix", ""), f"{what}@L{node.lineno}"))
        return self.apply(Bound(Leaf(item), name), ref, node, ctx, already_unique=True)

    def flatten(self, ref, args, kwargs, node, ctx, text):
        bound = bind(["start_dim", "end_dim"], args, kwargs, self.where(node), text)
        start, end = bound.get("start_dim", 0), bound.get("end_dim", -1)
        if start != 1 or end != -1:
            self.fail(node, f"{text}: tconvcalc follows flatten from axis 1 to the end (torch.flatten(x, 1)), "
                            f"not start_dim={start!r}, end_dim={end!r}")
        return self.leaf({"layer": "flatten", "where": self.where(node)}, ref, node, ctx, "flatten")

    def pad(self, ref, args, kwargs, node, ctx, text):
        """F.pad(x, [1, 1, 2, 2], mode=...) with literal pads, or the U-Net idiom that pads x to a skip's
        size: [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2]."""
        bound = bind(["pad", "mode", "value"], args, kwargs, self.where(node), text)
        pads, mode = bound.get("pad"), bound.get("mode", "constant")
        modes = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
        if not isinstance(mode, str) or mode not in modes:
            self.fail(node, f"{text}: mode {mode!r} is not one tconvcalc reads (constant, reflect, replicate, "
                            "circular)")
        if not isinstance(pads, (list, tuple)) or not pads or len(pads) % 2:
            self.fail(node, f"{text}: the pads are not a list of before/after pairs tconvcalc can read")
        item = {"layer": "pad", "where": self.where(node)}
        if modes[mode] != "zeros":
            item["padding_mode"] = modes[mode]
        if all(isinstance(p, int) and not isinstance(p, bool) for p in pads):
            pairs = [pads[i:i + 2] for i in range(0, len(pads), 2)][::-1]  # last axis first
            item["padding"] = "x".join(f"{a}:{b}" for a, b in pairs)
            return self.leaf(item, ref, node, ctx, "pad")
        like = padded_like(ref, pads)
        if like is None:
            self.fail(node, f"{text}: pads computed at run time that tconvcalc cannot follow (it reads literal "
                            "pads and the U-Net idiom [diff // 2, diff - diff // 2, ...] toward another tensor's "
                            "size)")
        item["like"] = like
        return self.leaf(item, ref, node, ctx, "pad")

    def tensor_method(self, ref, node, env, ctx):
        method = node.func.attr
        args = [self.value(a, env, ctx) for a in node.args]
        text = segment(self.text, node)
        if method in FUNCTIONAL_NEUTRAL or method in ("view_as", "type_as", "expand_as", "requires_grad_"):
            return ref
        if method in TENSOR_BINARY:
            refs = [a for a in args if isinstance(a, Ref)]
            return self.merge(TENSOR_BINARY[method], [ref, *refs], node, ctx) if refs else ref
        if method == "size":
            if not args:
                return Shape(ref)
            if len(args) == 1 and isinstance(args[0], int):
                return Size.of(ref, args[0])
        if method in ("mean", "amax", "sum"):
            reduced = self.spatial_mean(ref, node, env, ctx, method)
            if reduced is not None:
                return reduced
        if method in ("dim", "numel", "item", "size"):
            return Unknown("a tensor's size")
        if method == "flatten":
            kwargs = {k.arg: self.value(k.value, env, ctx) for k in node.keywords if k.arg}
            return self.flatten(ref, args, kwargs, node, ctx, text)
        if method in ("view", "reshape"):
            shape = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
            batch = len(shape) == 2 and (shape[1] == -1 or isinstance(shape[1], int) and shape[1] > 0) and \
                isinstance(shape[0], Size) and shape[0].refs == {ref.name} and _is_batch(shape[0], ref)
            features = len(shape) == 2 and shape[0] == -1 and isinstance(shape[1], int) and shape[1] > 0
            if batch or features:  # x.view(x.size(0), -1), x.view(-1, 256 * 6 * 6): the Linear after checks them
                flat = self.leaf({"layer": "flatten", "where": self.where(node)}, ref, node, ctx, method)
                self.flat.add(flat.name)
                return flat
            self.fail(node, f"{text}: .{method}() to a shape tconvcalc cannot follow (it reads "
                            f"x.{method}(x.size(0), -1) and x.{method}(-1, features), a flatten)")
        if method in ("squeeze", "unsqueeze") and ref.name in self.flat:
            return ref  # (N, 1) -> (N,) after a flatten: no spatial axes left to change
        self.fail(node, f"{text}: unknown tensor method .{method}(); it could change the size")

    def spatial_mean(self, ref, node, env, ctx, method):
        """x.mean((2, 3)) / x.mean([2, 3], keepdim=True): global pooling over every spatial axis (then a flatten
        unless keepdim); None for any other reduction."""
        args = [self.value(a, env, ctx) for a in node.args]
        kwargs = {k.arg: self.value(k.value, env, ctx) for k in node.keywords if k.arg}
        dims = args[0] if args else kwargs.get("dim")
        keep = args[1] if len(args) > 1 else kwargs.get("keepdim", False)
        dims = list(dims) if isinstance(dims, (list, tuple)) else None
        if not dims or not all(isinstance(d, int) for d in dims) or not isinstance(keep, bool):
            return None
        rank = len(dims)
        if sorted(d + 2 + rank if d < 0 else d for d in dims) != list(range(2, 2 + rank)):
            return None
        kind = "adaptiveavgpool" if method in ("mean", "sum") else "adaptivemaxpool"
        pooled = self.leaf({"layer": kind, "output_size": 1, "rank": rank, "where": self.where(node)}, ref, node, ctx,
                           method)
        if keep:
            return pooled
        flat = self.leaf({"layer": "flatten", "where": self.where(node)}, pooled, node, ctx, "flatten")
        self.flat.add(flat.name)
        return flat

    def list_method(self, owner, node, env, ctx):
        method = node.func.attr
        args = self._elements(node.args, env, ctx)
        if method == "append" and len(args) == 1:
            owner.append(args[0])
            self._check_length(node, len(owner))
            return None
        if method == "extend" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            owner.extend(args[0])
            self._check_length(node, len(owner))
            return None
        if method == "insert" and len(args) == 2 and isinstance(args[0], int):
            owner.insert(args[0], args[1])
            return None
        if method == "pop" and len(args) <= 1 and owner:
            try:
                return owner.pop(*(args if args and isinstance(args[0], int) else []))
            except IndexError:
                return Unknown("pop from a list")
        if method == "reverse" and not args:
            owner.reverse()
            return None
        if method == "copy" and not args:
            return list(owner)
        return Unknown(segment(self.text, node))

    # -- modules ----------------------------------------------------------------------------------------

    def find_class(self, name):
        """A base class named in `class A(B)`, in this file or imported into it."""
        last = name.rsplit(".", 1)[-1]
        found = self.classes.get(last)
        if found is None and "." in name:
            value = self.v_Attribute(ast.parse(name, mode="eval").body, {}, {"self": None, "prefix": ""})
            found = value if isinstance(value, Class) else None
        return found

    def instantiate(self, cls, args, kwargs, node, root=False):
        instance = Instance(cls, {}, {}, self.where(node))
        with self.in_file(cls.file):
            found = self._method(cls, "__init__")
            if found is None:
                return instance
            init, owner = found
            with self.deeper(node, "modules"), self.in_file(owner.file):
                env = self.bind_params(init, args, kwargs, node, skip_self=True, root=root)
                ctx = {"self": instance, "prefix": "", "init": True, "class": owner}
                try:
                    self.block(init.body, env, ctx)
                except _Return:
                    pass
        return instance

    def _method(self, cls, name, seen=None):
        """(the method's FunctionDef, the class defining it), through base classes; or None."""
        if name in cls.methods:
            return cls.methods[name], cls
        seen = seen or set()
        for base in cls.bases:
            with self.in_file(cls.file):
                base_cls = self.find_class(base)
            if base_cls is not None and base_cls.name not in seen:
                seen.add(base_cls.name)
                found = self._method(base_cls, name, seen)
                if found is not None:
                    return found
        return None

    def bind_params(self, function, args, kwargs, node, skip_self, root=False):
        parameters = function.args
        positional = [a.arg for a in parameters.posonlyargs + parameters.args]
        if skip_self and positional:
            positional = positional[1:]
        defaults = parameters.defaults
        env = {}
        offset = len(positional) - len(defaults)
        owner = getattr(function, "name", "lambda")
        for index, name in enumerate(positional):
            if index >= offset:
                env[name] = self.value(defaults[index - offset], {}, {"self": None, "prefix": ""})
            elif root:
                env[name] = Unknown(f"{name!r} is an argument of {owner}() without a default: give it with "
                                    f"--args '{name}=...'")
            else:
                env[name] = Unknown(f"{name!r} is an argument of {owner}() with no literal value here")
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
        if root:  # the model's own arguments that nobody gave: the answer says so
            self.missing += [name for index, name in enumerate(positional)
                             if index < offset and index >= len(args) and name not in kwargs]
        if parameters.kwarg is not None:
            env[parameters.kwarg.arg] = extra
        elif extra and root:
            raise SpecError(f"{self.where(function)}: {owner}() has no argument {sorted(extra)[0]!r} (from --args)")
        return env

    def apply(self, bound, ref, node, ctx, already_unique=False, args=None, kwargs=None):
        module, path = bound.module, bound.path
        self.tick(node)
        if isinstance(module, Neutral):
            return ref
        if isinstance(module, Leaf):
            if len(self.items) >= MAX_NODES:
                self.refuse(node, f"the model applies more than {MAX_NODES} layers; tconvcalc chains at most "
                                f"{MAX_NODES}")
            name = path if already_unique else self.unique(path)
            self.items.append({**module.item, "name": name, "input": ref.name})
            return Ref(name)
        if isinstance(module, Seq):
            for child in self.children(bound):
                ref = self.apply(child, first(ref), node, ctx)
            return ref
        if isinstance(module, Instance):
            found = self._method(module.cls, "forward")
            if found is None:  # no forward(): its sub-modules in order
                for name, child in module.attrs.items():
                    ref = self.apply(Bound(child, join(path, name)), first(ref), node, ctx)
                return ref
            return self.run_forward(module, found, args or [ref], kwargs or {}, path, node)
        if isinstance(module, Unsupported):
            raise SpecError(f"{module.where}: {module.why}" if module.where else module.why)
        self.fail(node, f"{segment(self.text, node)}: not a module tconvcalc can read")

    def run_forward(self, instance, found, args, kwargs, path, node):
        forward, owner = found
        with self.deeper(node, "modules"), self.in_file(owner.file):
            env = self.bind_params(forward, args, kwargs, node, skip_self=True)
            ctx = {"self": instance, "prefix": path, "init": False, "class": owner}
            try:
                self.block(forward.body, env, ctx)
                result = None
            except _Return as returned:
                result = returned.value
            if isinstance(result, (tuple, list)) and result and isinstance(result[0], Ref):
                return tuple(result)  # several tensors: `x, skip = block(x)`
            if not isinstance(result, Ref):
                self.fail(forward, f"{instance.cls.name}.forward() does not return a tensor tconvcalc can follow")
        return result

    def merge(self, op, refs, node, ctx):
        hint = ctx.get("hint") or {"concat": "cat"}.get(op, op)
        name = self.unique(join(ctx.get("prefix", ""), hint))
        if len(self.items) >= MAX_NODES:
            self.refuse(node, f"the model applies more than {MAX_NODES} layers; tconvcalc chains at most {MAX_NODES}")
        self.items.append({"layer": op, "name": name, "input": refs[0].name, "with": [r.name for r in refs[1:]],
                           "where": f"{self.where(node)}"})
        return Ref(name)

    # -- statements -------------------------------------------------------------------------------------

    def block(self, statements, env, ctx):
        for statement in statements:
            self.tick(statement)
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
        if self.importer is not None:
            self.importer(node, self.file, env)

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
        ast.fix_missing_locations(fake)
        current = self.value(node.target, env, ctx)
        if isinstance(current, list) and isinstance(node.op, ast.Add):  # layers += [...]
            extra = self.value(node.value, env, ctx)
            if isinstance(extra, (list, tuple)):
                current.extend(extra)
                self._check_length(node, len(current))
                return
        if isinstance(current, Bound) and isinstance(current.module, Seq) and isinstance(node.op, ast.Add):
            extra = self.value(node.value, env, ctx)  # self.blocks += [Block(...)]
            if isinstance(extra, (list, tuple)):
                current.module.children.extend((str(len(current.module.children) + i),
                                                self.module_of(v, node, segment(self.text, node)))
                                               for i, v in enumerate(extra))
                self.bounded(current.module, node)
                return
        self.assign(node.target, self.value(fake, env, {**ctx, "hint": hint}), env, node, ctx)

    def assign(self, target, value, env, node, ctx=None):
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, Shape):  # _, _, h, w = x.size()
                value = tuple(Size.of(value.ref, value.start + i) for i in range(len(target.elts)))
            if isinstance(value, Bound) and isinstance(value.module, Seq):  # for block, down in self.downs
                value = tuple(self.children(value))
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
            instance.set_at[target.attr] = (self.where(node), segment(self.text, node))
            if isinstance(value, MODULES):
                instance.attrs.pop(target.attr, None)
                instance.attrs[target.attr] = value
                instance.consts.pop(target.attr, None)
            else:
                instance.attrs.pop(target.attr, None)
                if isinstance(value, Unknown) and not isinstance(value, Size) and "self." not in value.why:
                    value = Unknown(f"self.{target.attr} is set at {self.where(node)} from {value.why}")
                instance.consts[target.attr] = value
        elif isinstance(target, ast.Subscript) and ctx is not None:  # self.blocks["down"] = Block(...)
            owner = self.value(target.value, env, ctx)
            key = self.value(target.slice, env, ctx)
            if isinstance(owner, Bound) and isinstance(owner.module, Seq) and isinstance(key, (str, int)):
                module = self.module_of(value, node, segment(self.text, node))
                children = owner.module.children
                names = [n for n, _ in children]
                if str(key) in names:
                    children[names.index(str(key))] = (str(key), module)
                else:
                    children.append((str(key), module))
            elif isinstance(owner, (dict, list)) and not isinstance(key, Unknown):
                try:
                    owner[key] = value
                except (TypeError, IndexError):
                    pass
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value, env, node, ctx)
        # other targets (other objects' attributes) hold nothing tconvcalc follows

    def s_Expr(self, node, env, ctx):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            owner = call.func.value
            if call.func.attr == "__init__" and (isinstance(owner, ast.Call) and dotted(owner.func) == "super"
                                                 or isinstance(owner, ast.Name) and owner.id in self.classes):
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
            except BudgetError:
                raise
            except SpecError:
                pass
            return  # calls in __init__ other than layers (weight init, prints) do not build the model
        self.value(call, env, ctx)

    def super_init(self, call, env, ctx):
        cls = ctx.get("class")
        if cls is None:
            return
        owner = call.func.value
        explicit = isinstance(owner, ast.Name)  # Base.__init__(self, ...)
        bases = [owner.id] if explicit else cls.bases
        for base in bases:
            with self.in_file(cls.file):
                base_cls = self.find_class(base)
            last = base.rsplit(".", 1)[-1]
            if base_cls is None and last in ("Sequential", "ModuleList", "ModuleDict") and ctx.get("self"):
                args = self._elements(call.args[1:] if explicit else call.args, env, ctx)
                built = self.container(last, args, {}, call, segment(self.text, call))  # class Block(nn.Sequential)
                if isinstance(built, Seq):
                    for name, module in built.children:
                        ctx["self"].attrs[name] = module
                return
            if base_cls is None:
                continue
            found = self._method(base_cls, "__init__")
            if found is None:
                return
            init, owner_cls = found
            args = self._elements(call.args[1:] if explicit else call.args, env, ctx)
            kwargs = {k.arg: self.value(k.value, env, ctx) for k in call.keywords if k.arg}
            with self.deeper(call, "modules"), self.in_file(owner_cls.file):
                base_env = self.bind_params(init, args, kwargs, call, skip_self=True)
                try:
                    self.block(init.body, base_env, {**ctx, "class": owner_cls})
                except _Return:
                    pass
            return

    def s_If(self, node, env, ctx):
        test = self.value(node.test, env, ctx)
        if isinstance(test, (Unknown, Ref)):
            self.both_branches(node, test, env, ctx)
            return
        self.block(node.body if test else node.orelse, env, ctx)

    def both_branches(self, node, test, env, ctx):
        """An ``if`` tconvcalc cannot decide: run both branches; where they build the same sizes (a test
        that only sets use_bias; both branches apply self.main), either is the answer. Values that differ
        become unknown, naming the condition; layers that differ are an error."""
        condition = segment(self.text, node.test)
        why = test.why if isinstance(test, Unknown) else "it tests a tensor"
        instance = ctx.get("self")
        start, names = len(self.items), set(self.names)
        outcomes = []
        saved = _snapshot(env, instance)
        for branch in (node.body, node.orelse):
            _restore(saved, env, instance)
            del self.items[start:]
            self.names = set(names)
            returned = None
            try:
                self.block(branch, env, ctx)
            except _Return as value:
                returned = value
            outcomes.append((_snapshot(env, instance), list(self.items[start:]), set(self.names), returned))
        (first_state, first_items, first_names, first_return), (second_state, second_items, _, second_return) = \
            outcomes
        if not _same_items(first_items, second_items) or (first_return is None) != (second_return is None) or \
                first_return is not None and not same_sizes(first_return.value, second_return.value):
            self.fail(node, f"if {condition}: cannot tell which branch runs ({why}), and the branches compute "
                            f"different sizes; {IMPORT_HINT}")
        del self.items[start:]
        self.items.extend(first_items)
        self.names = first_names
        merged = _merge_states(first_state, second_state,
                               lambda: Unknown(f"it depends on `if {condition}` ({self.where(node)}), which "
                                               "tconvcalc cannot decide without running the code"),
                               lambda: Unsupported(self.where(node), f"if {condition}: cannot tell which branch "
                                                                     f"runs ({why}), and the branches build "
                                                                     f"different layers; {IMPORT_HINT}"))
        _restore(merged, env, instance)
        if first_return is not None:
            raise first_return

    def s_For(self, node, env, ctx):
        iterable = self.iterate(self.value(node.iter, env, ctx), node.iter)
        if iterable is None and ctx.get("init"):  # weight init over self.modules() builds nothing, but a
            self.unknown_loop(node, env, ctx)     # loop of unknown length that builds layers: they are unknown
            return
        if iterable is None:
            value = self.value(node.iter, env, ctx)
            why = f" ({value.why})" if isinstance(value, Unknown) and not isinstance(value, Size) else ""
            self.fail(node, f"for ... in {segment(self.text, node.iter)}: cannot tell what it loops over{why}")
        for element in iterable:
            self.assign(node.target, element, env, node, ctx)
            self.block(node.body, env, ctx)
        self.block(node.orelse, env, ctx)

    def unknown_loop(self, node, env, ctx):
        """What a loop tconvcalc cannot count assigns or appends to is unknown, naming the loop, so that a model
        built in it is an error where it is used, never a model with layers missing."""
        why = f"built by the loop at {self.where(node)} ({segment(self.text, node.iter)}), whose length tconvcalc " \
              "cannot tell"
        instance = ctx.get("self")
        for inner in ast.walk(node):
            targets = inner.targets if isinstance(inner, ast.Assign) else \
                [inner.target] if isinstance(inner, (ast.AugAssign, ast.AnnAssign)) else \
                [inner.func.value] if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and \
                inner.func.attr in ("append", "extend", "insert", "add_module") else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id in env:
                    env[target.id] = Unknown(why)
                elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                        target.value.id == "self" and instance is not None:
                    instance.attrs[target.attr] = Unsupported(self.where(node), f"self.{target.attr} is {why}")
                    instance.consts.pop(target.attr, None)

    def s_While(self, node, env, ctx):
        if not ctx.get("init"):
            self.fail(node, "while statements in forward() are not supported")
        while True:
            test = self.value(node.test, env, ctx)
            if isinstance(test, (Unknown, Ref)):
                if ctx.get("init"):
                    return
                self.fail(node, f"while {segment(self.text, node.test)}: cannot tell how often it loops")
            if not test:
                break
            self.block(node.body, env, ctx)

    def iterate(self, value, node):
        if isinstance(value, Bound) and isinstance(value.module, Seq):
            return self.children(value)
        if isinstance(value, (list, tuple, range, str)):
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
        env[node.name] = Function(node, self.file, env, ctx)  # the closure sees later assignments too

    def s_ClassDef(self, node, env, ctx):
        env[node.name] = Class(node, self.file)

    def s_Delete(self, node, env, ctx):
        pass

    def s_Global(self, node, env, ctx):
        pass

    s_Nonlocal = s_Global


# ---- tensors' sizes ----------------------------------------------------------------------------------------


def _size_arithmetic(operation, left, right):
    def fn(sizes):
        a = left.fn(sizes) if isinstance(left, Size) else left
        b = right.fn(sizes) if isinstance(right, Size) else right
        return operation(a, b)

    refs = set().union(*(v.refs for v in (left, right) if isinstance(v, Size)))
    return Size(fn, refs)


class _Sizes(dict):
    """Random sizes for (node, axis), negative axes counted from the end of an NC + ``rank``-D tensor."""

    def __init__(self, rank, seed):
        super().__init__()
        self.rank, self.random = rank, random.Random(seed)

    def __missing__(self, key):
        name, axis = key
        if axis < 0:
            return self[(name, axis + 2 + self.rank)]
        self[key] = self.random.randint(1, 97)
        return self[key]


def _evaluate(value, sizes):
    try:
        return value.fn(sizes) if isinstance(value, Size) else value
    except (ArithmeticError, TypeError, KeyError):
        return None


def padded_like(ref, pads):
    """The node F.pad(ref, pads) pads toward, where pads are [d // 2, d - d // 2] per axis (last axis first)
    with d = other's size - ref's size on that axis; None if the pads are anything else."""
    others = set().union(*(p.refs for p in pads if isinstance(p, Size))) - {ref.name}
    if len(others) != 1:
        return None
    other, rank = next(iter(others)), len(pads) // 2
    for seed in range(8):
        sizes = _Sizes(rank, seed)
        for pair in range(rank):
            axis = 2 + rank - 1 - pair
            diff = sizes[(other, axis)] - sizes[(ref.name, axis)]
            if (_evaluate(pads[2 * pair], sizes), _evaluate(pads[2 * pair + 1], sizes)) != (diff // 2,
                                                                                          diff - diff // 2):
                return None
    return other


def like_node(size):
    """The node whose spatial size ``size=`` copies: ``other.shape[2:]``, ``other.size()[2:]`` or a tuple of
    its spatial sizes; None otherwise."""
    if isinstance(size, Shape) and size.start == 2:
        return size.ref.name
    if isinstance(size, (list, tuple)) and size and all(isinstance(s, Size) and len(s.refs) == 1 for s in size):
        (name,) = size[0].refs
        for seed in range(4):
            sizes = _Sizes(len(size), seed)
            if [_evaluate(s, sizes) for s in size] != [sizes[(name, 2 + i)] for i in range(len(size))]:
                return None
        return name
    return None


def _is_batch(size, ref):
    sizes = _Sizes(2, 0)
    return _evaluate(size, sizes) == sizes[(ref.name, 0)]


# ---- branches --------------------------------------------------------------------------------------------


def _copy(value):
    """Lists and containers are mutated in place (append); each branch gets its own."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, Seq):
        return Seq(list(value.children), value.kind)
    return value


def _snapshot(env, instance):
    attrs = {k: _copy(v) for k, v in instance.attrs.items()} if instance is not None else {}
    consts = {k: _copy(v) for k, v in instance.consts.items()} if instance is not None else {}
    return {k: _copy(v) for k, v in env.items()}, attrs, consts


def _restore(state, env, instance):
    values, attrs, consts = state
    env.clear()
    env.update({k: _copy(v) for k, v in values.items()})
    if instance is not None:
        instance.attrs.clear()
        instance.attrs.update({k: _copy(v) for k, v in attrs.items()})
        instance.consts.clear()
        instance.consts.update({k: _copy(v) for k, v in consts.items()})


def _merge_states(first, second, unknown, unsupported):
    merged = []
    for a, b in zip(first, second):
        out = {}
        for key in list(a) + [k for k in b if k not in a]:
            if key in a and key in b and same_sizes(a[key], b[key]):
                out[key] = a[key]
            else:
                value = a.get(key, b.get(key))
                out[key] = unsupported() if isinstance(value, MODULES) else unknown()
        merged.append(out)
    return tuple(merged)


def _same_items(first, second):
    strip = lambda items: [{k: v for k, v in item.items() if k != "where"} for item in items]  # noqa: E731
    return strip(first) == strip(second)


def same_sizes(a, b, depth=0):
    """Whether two values build the same sizes (a module's bias, a norm's affine do not count)."""
    if a is b:
        return True
    if depth > 20:
        return False
    if isinstance(a, Bound) and isinstance(b, Bound):
        return a.path == b.path and same_sizes(a.module, b.module, depth + 1)
    if isinstance(a, Leaf) and isinstance(b, Leaf):
        return {k: v for k, v in a.item.items() if k != "where"} == {k: v for k, v in b.item.items() if k != "where"}
    if isinstance(a, Neutral) and isinstance(b, Neutral):
        return True
    if isinstance(a, Seq) and isinstance(b, Seq):
        return a.kind == b.kind and len(a.children) == len(b.children) and all(
            n == m and same_sizes(x, y, depth + 1) for (n, x), (m, y) in zip(a.children, b.children))
    if isinstance(a, Instance) and isinstance(b, Instance):
        return a.cls is b.cls and list(a.attrs) == list(b.attrs) and all(
            same_sizes(a.attrs[k], b.attrs[k], depth + 1) for k in a.attrs) and \
            set(a.consts) == set(b.consts) and all(same_sizes(a.consts[k], b.consts[k], depth + 1) for k in a.consts)
    if isinstance(a, Ref) and isinstance(b, Ref):
        return a.name == b.name
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_sizes(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return False
    if isinstance(a, (int, float, str, bool, type(None))) and isinstance(b, (int, float, str, bool, type(None))):
        return type(a) is type(b) and a == b
    return isinstance(a, TorchClass) and a == b


def _same_kind(a, b):
    return isinstance(a, TorchClass) and a == b


def _scalar(value):
    return isinstance(value, (int, float, str, bool, type(None))) and not isinstance(value, Unknown)


def first(value):
    return value[0] if isinstance(value, tuple) else value


def _is_torch_path(name):
    return bool(name) and (name.startswith(("nn.", "torch.", "F.")) or ".nn." in name)


def _callee(node):
    func = node.func
    while isinstance(func, ast.Call):
        func = func.func
    return (dotted(func) or "call").rsplit(".", 1)[-1]


def join(prefix, name):
    return f"{prefix}.{name}" if prefix else str(name)


def _load(target):
    """A copy of an assignment target that can be read."""
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(copy, target)


