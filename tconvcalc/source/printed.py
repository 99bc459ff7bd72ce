"""``print(model)`` text. It has no data flow: its modules are read in the order they are printed
(registration order) as one sequential chain, and every answer says so. Where the text itself shows
what a plain sequence cannot be -- ModuleLists/ModuleDicts of blocks, branch modules (``downsample``,
``branch1``, ``aux_classifier``), a layer built for more channels than the one before it gives (a
concatenated skip) -- the warning names it. Each module's constructor text is read by the
interpreter, like a call in the source. Reading is bounded (lines, depth, repeat counts, layers)."""

import ast
import os
import re
from dataclasses import replace

from ..network import INPUT, MAX_NODES, SpecError, make_network
from .interpreter import MAX_DEPTH, Reader, dotted, join
from .torch_layers import torch_layer
from .values import Leaf, Unsupported

_PRINT_OPEN = re.compile(r"(?P<indent>\s*)(?:\((?P<name>[^()]+)\):\s*)?(?:(?P<count>\d+) x )?(?P<type>[\w.]+)\($")
_PRINT_LEAF = re.compile(r"(?P<indent>\s*)\((?P<name>[^()]+)\):\s*(?:(?P<count>\d+) x )?(?P<expr>[\w.]+\(.*\))\s*$")
_PRINT_CLOSE = re.compile(r"\s*\)\s*$")
MAX_PRINT_CHARS = 2_000_000
MAX_PRINT_DEPTH = 100  # modules nested in the text (torchvision's deepest models nest about 6)
NO_DATA_FLOW = ("print(model) text has no data flow: skips, F.pad, interpolation and reshapes in forward() are "
                "invisible, so these are the sizes of its modules run as one plain sequence in the order printed; "
                "chain the model's source (or --import it) for the real data flow")
_BRANCH = re.compile(r"(downsample|shortcut|skip|residual|identity|proj(ection)?|branch\w*|aux\w*|side\w*|"
                     r"expand\d\w*)\Z", re.IGNORECASE)
_ENCODER_DECODER = re.compile(r"(down|up|enc|dec|encoder|decoder|contract|expand)(s|_?\w*)?\Z", re.IGNORECASE)


def looks_printed(text):
    """print(model) text: a first line like ``Net(`` and indented ``(name): ...`` lines after it."""
    lines = [line for line in text[:MAX_PRINT_CHARS].splitlines()[:200] if line.strip()]
    return bool(lines) and bool(re.fullmatch(r"[\w.]+\(", lines[0].strip())) and \
        any(re.match(r"\s+\([^()]+\):\s", line) for line in lines[1:])


class _Printed:
    def __init__(self, name, type_, expr, count, line):
        self.name, self.type, self.expr, self.count, self.line = name, type_, expr, count, line
        self.children = []


def network_from_print(text, source, framework=None, backend=None):
    """``print(model)`` text: every printed module in order, as one sequential chain (it has no data flow);
    the answer carries a warning that says so, and names what in the text a plain sequence cannot be."""
    items, warnings = items_from_print(text, source)
    network = make_network(items, framework or "torch", backend if framework == "keras" else None,
                           source=source)
    origin = f"read the print(model) text in {os.path.basename(str(source))} as one plain sequence (nothing ran)"
    return replace(network, origin=origin, warnings=tuple(warnings))


def items_from_print(text, source):
    """(the make_network items, the warnings every answer from this text carries)."""
    if len(text) > MAX_PRINT_CHARS:
        raise SpecError(f"{source}: more than {MAX_PRINT_CHARS} characters of print(model) text")
    root = _parse(text, source)
    items, names, notes = [], {INPUT}, []
    _flatten(root, "", items, names, source, notes)
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size; nothing to chain")
    _check_channels(items, notes)
    parts = [path for note in notes if isinstance(note, tuple) for path in note[1:]]
    notes = [note for note in notes if not isinstance(note, tuple)]
    if parts:
        shown = ", ".join(parts[:8]) + (f" and {len(parts) - 8} more" if len(parts) > 8 else "")
        notes.insert(0, f"{shown} look like encoder/decoder parts: a U-Net's forward() concatenates skips and may pad "
                        "or interpolate, which the text does not show")
    return items, [NO_DATA_FLOW] + list(dict.fromkeys(notes))


def _count(match, source, number):
    text = match["count"] or "1"
    if len(text) > 4 or int(text) > MAX_NODES:
        raise SpecError(f"{source}:{number}: '{text[:12]}{'...' if len(text) > 12 else ''} x' repeats a module "
                        f"more than {MAX_NODES} times; tconvcalc chains at most {MAX_NODES} layers")
    return int(text)


def _parse(text, source):
    root, stack = None, []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        opened = _PRINT_OPEN.fullmatch(line)
        leaf = None if opened else _PRINT_LEAF.fullmatch(line)
        if opened:
            node = _Printed(opened["name"], opened["type"], None, _count(opened, source, number), number)
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise SpecError(f"{source}:{number}: a second model after the first one closed")
            stack.append(node)
            if len(stack) > MAX_PRINT_DEPTH:
                raise SpecError(f"{source}:{number}: modules nest more than {MAX_PRINT_DEPTH} deep")
        elif leaf:
            if not stack:
                raise SpecError(f"{source}:{number}: a module outside the model: {line.strip()[:80]}")
            _syntax(leaf["expr"], f"{source}:{number}")
            stack[-1].children.append(_Printed(leaf["name"], None, leaf["expr"], _count(leaf, source, number),
                                               number))
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
    return root


def _flatten(node, path, items, names, source, notes):
    if node.type in ("ModuleList", "ModuleDict") and path:
        notes.append(f"{path} is a {node.type}: forward() decides how its modules are used (in a loop, with "
                     "skips?), which the text does not show")
    if _ENCODER_DECODER.match(path.rsplit(".", 1)[-1] or "") and node.children:
        notes.append(("parts", path))
    for child in node.children:
        for repeat in range(child.count):
            name = child.name or "0"
            if child.count > 1 and re.fullmatch(r"\d+-\d+", name):  # torch's "(0-2): 3 x Conv2d(...)"
                name = str(int(name.split("-")[0]) + repeat)
            child_path = join(path, name)
            if _BRANCH.match(name.split(".")[-1]):
                notes.append(f"{child_path} looks like a parallel branch (a shortcut, an Inception branch, an "
                             "auxiliary head): read here in series after the module before it, so the sizes from "
                             "it on are not the model's")
            if child.expr is None:
                _flatten(child, child_path, items, names, source, notes)
                continue
            if len(items) >= MAX_NODES:
                raise SpecError(f"{source}:{child.line}: more than {MAX_NODES} layers; tconvcalc chains at most "
                                f"{MAX_NODES}")
            _leaf(child, child_path, items, names, source, notes)


def _syntax(expr, where):
    try:
        return ast.parse(expr, mode="eval").body
    except SyntaxError as error:
        if "integer string conversion" in str(error.msg):  # Python's own 4300-digit limit, in our words
            raise SpecError(f"{where}: a number of more than 4300 digits; tconvcalc reads sizes, not such "
                            "numbers") from None
        raise SpecError(f"{where}: syntax error: {error.msg[:100]}: {expr[:80]}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SpecError(f"{where}: cannot read {expr[:40]}...: {str(error)[:80]}") from None


def _leaf(child, child_path, items, names, source, notes):
    where = f"{source}:{child.line}"
    call = _syntax(child.expr, where)
    if not isinstance(call, ast.Call) or not dotted(call.func):
        raise SpecError(f"{where}: expected a module like Conv2d(...), got {child.expr[:80]}")
    reader = Reader(child.expr, source)
    env = _BareNames()
    try:
        args = [reader.value(a, env, {"self": None, "prefix": ""}) for a in call.args]
        kwargs = {k.arg: reader.value(k.value, env, {"self": None, "prefix": ""}) for k in call.keywords if k.arg}
    except SpecError as error:
        raise SpecError(f"{where}: {str(error).split(': ', 1)[-1]}") from None
    except RecursionError:
        raise SpecError(f"{where}: the module text nests too deeply") from None
    kind = dotted(call.func).rsplit(".", 1)[-1]
    module = torch_layer(kind, args, kwargs, where, child.expr if len(child.expr) <= 80 else kind + "(...)")
    if module is None:
        raise SpecError(f"{where}: unknown module {kind}(...): it could change the size, and tconvcalc "
                        "cannot follow it")
    if isinstance(module, Unsupported):
        raise SpecError(f"{module.where}: {module.why}")
    if isinstance(module, Leaf):
        item = dict(module.item)
        if item["layer"] == "linear" and items and items[-1]["layer"] not in ("flatten", "linear"):
            notes.append(f"{child_path}: a Linear after {items[-1]['name']} with no Flatten printed: forward() "
                         "must flatten there (torch.flatten is invisible in the text); read as flattened")
            items.append({"layer": "flatten", "name": _unique(f"{child_path}.flatten?", names), "where": where})
        items.append({**item, "name": _unique(child_path, names)})


def _unique(path, names):
    unique, n = path, 1
    while unique in names:
        n += 1
        unique = f"{path}#{n}"
    names.add(unique)
    return unique


def _check_channels(items, notes):
    """A conv built for other input channels than the module before it gives: forward() concatenates or
    branches there. The text cannot say what; the warning names it, and the check is left out (it would
    refuse a model that runs)."""
    channels = None
    for item in items:
        built_for = item.get("in_channels")
        if built_for is not None and item["layer"] in ("conv", "convT") and channels is not None \
                and built_for != channels:
            notes.append(f"{item['name']} is built for {built_for} input channels, but the module printed before "
                         f"it gives {channels}: forward() must concatenate (a skip) or branch there, which the text "
                         "does not show")
        if item["layer"] in ("conv", "convT"):
            item.pop("in_channels", None)
        if item["layer"] in ("conv", "convT", "linear"):
            channels = item.get("channels")
        elif item["layer"] in ("flatten", "pixelshuffle"):
            channels = None


class _BareNames(dict):
    """print(model) writes some strings unquoted (padding=same, padding_mode=reflect): a bare name is its text."""

    def __contains__(self, key):
        return True

    def __missing__(self, key):
        return key


__all__ = ["MAX_DEPTH", "looks_printed", "network_from_print", "items_from_print"]
