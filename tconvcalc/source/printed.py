"""``print(model)`` text. It has no data flow: its modules are read in the order they are printed
(registration order) as one sequential chain, skips and all. Use the source for skip checks.
Each module's constructor text is read by the interpreter, like a call in the source."""

import ast
import re

from ..network import INPUT, SpecError, make_network
from .interpreter import Reader, dotted, join
from .torch_layers import torch_layer
from .values import Leaf, Unsupported

_PRINT_OPEN = re.compile(r"(?P<indent>\s*)(?:\((?P<name>[^()]+)\):\s*)?(?:(?P<count>\d+) x )?(?P<type>[\w.]+)\($")
_PRINT_LEAF = re.compile(r"(?P<indent>\s*)\((?P<name>[^()]+)\):\s*(?:(?P<count>\d+) x )?(?P<expr>[\w.]+\(.*\))\s*$")
_PRINT_CLOSE = re.compile(r"\s*\)\s*$")


def looks_printed(text):
    """print(model) text: a first line like ``Net(`` and indented ``(name): ...`` lines after it."""
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
            child_path = join(path, name)
            if child.expr is None:
                _flatten(child, child_path, items, names, source)
                continue
            where = f"{source}:{child.line}"
            try:
                call = ast.parse(child.expr, mode="eval").body
            except SyntaxError as error:
                raise SpecError(f"{where}: syntax error: {error.msg}: {child.expr[:80]}") from None
            if not isinstance(call, ast.Call) or not dotted(call.func):
                raise SpecError(f"{where}: expected a module like Conv2d(...), got {child.expr[:80]}")
            reader = Reader(child.expr, source)
            env = _BareNames()
            args = [reader.value(a, env, {"self": None, "prefix": ""}) for a in call.args]
            kwargs = {k.arg: reader.value(k.value, env, {"self": None, "prefix": ""}) for k in call.keywords if k.arg}
            kind = dotted(call.func).rsplit(".", 1)[-1]
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

