"""PyTorch source, read with ``ast`` and the interpreter (never executed).

The model is the one named (``FILE.py:Name``: a class, a function or a module-level variable, with the
``--args`` substituted), else the file's only candidate: its module-level ``model = Net(...)``, else the
``nn.Module`` class nothing else in the file refers to. Several candidates and no name: they are
listed, and nothing is guessed. Its layers come from ``__init__`` (``self.x = nn.Conv2d(...)``,
Sequentials, ModuleLists, classes and helper functions of the file and of the package files it
imports -- ``from .parts import *`` is read with ast too, never imported), and the data flow from
``forward()``: ``y = self.x(x)``, ``torch.cat([a, b], dim=1)`` (concat), ``a + b`` (add), ``a * b``
(mul), F.pad / F.interpolate toward another tensor's size, flatten / view into nn.Linear, loops over
ModuleLists, lists of skips. A module without forward() is a plain chain of its sub-modules in the
order they are assigned. Shape-neutral layers (norms, activations, dropout) are skipped; anything
that could change the size and is not understood is an error naming file:line.
Layer nodes are named by their torch module path (``conv1.conv.0``, as ``named_modules()`` names
them); merges by the variable they are assigned to.
"""

import ast
import os
import re

from ..errors import InputError
from ..network import INPUT, SpecError, make_network
from .interpreter import IMPORT_HINT, BudgetError, Class, Reader, SourceFile, dotted, first, segment
from .items import reachable
from .torch_layers import TORCH_LAYER, is_torch_layer
from .values import MODULES, Bound, Function, Namespace, Ref, Unknown

MAX_SOURCE_CHARS = 1_000_000  # one model file (torchvision's largest is ~40 KB)
MAX_TOKENS = 150_000  # ast.parse takes about 1 KB and 5 us a token: a 2,000,000-element literal is refused first
MAX_FILES = 64  # files of the package read for one model
_LIBRARIES = {"torch", "torchvision", "torchaudio", "numpy", "np", "scipy", "math", "functools", "collections",
              "typing", "os", "sys", "re", "copy", "itertools", "warnings", "logging", "timm", "einops",
              "dataclasses", "abc", "enum", "random", "json", "pathlib", "argparse", "time", "__future__"}


def network_from_python(text, source, framework=None, backend=None, target=None):
    """A Network from PyTorch source, read with ast; never executed. ``target`` (selection.Target): the model
    to read (class, function or variable; None: the file's model) and its constructor arguments."""
    items, origin = items_from_python(text, source, target)
    framework = framework or "torch"
    network = make_network(items, framework, backend if framework == "keras" else None, source=source,
                           in_channels=None)
    return _with_origin(network, origin)


def items_from_python(text, source, target=None):
    """The make_network items of the model in ``text`` and the sentence saying what was read."""
    try:
        return _read(text, source, target)
    except RecursionError:
        raise SpecError(f"{source}: the code nests too deeply to read") from None
    except MemoryError:
        raise SpecError(f"{source}: too large to read") from None


def _read(text, source, target):
    package = _Package(source)
    file = package.load_text(text, source, os.path.abspath(source))
    reader = package.reader
    with reader.in_file(file):
        model, call = _choose(reader, file, file.statements, target, source)
        try:
            ref = first(reader.apply(Bound(model, ""), Ref(INPUT), file.tree, {"self": None, "prefix": ""}))
        except BudgetError:
            raise
        except SpecError as error:
            raise SpecError(_with_hint(str(error))) from None
    items = reachable(reader.items, ref.name)
    if not items:
        raise SpecError(f"{source}: the model has no layer that changes the size (found only shape-neutral "
                        "layers); nothing to chain")
    missing = [name for name in dict.fromkeys(reader.missing)]
    unknown = f" ({', '.join(missing)} not given: unknown)" if missing else ""
    return items, f"read {call} from {os.path.basename(source)} without running it{unknown}"


def _with_hint(message):
    return message if "--import" in message or "--args" in message else f"{message}; {IMPORT_HINT}"


def _with_origin(network, origin):
    from dataclasses import replace

    return replace(network, origin=origin)


# ---- the files of the package --------------------------------------------------------------------------------


class _Package:
    """The files one model is read from: the user's file and the files of its package it imports, each read
    once with ast (never imported), sharing one Reader."""

    def __init__(self, source):
        self.source = source
        self.reader = Reader(None, source)
        self.reader.importer = self.import_names
        self.files = {}  # absolute path -> SourceFile

    def load_text(self, text, source, path):
        tree = _parse(text, source)
        file = SourceFile(text, source, path)
        file.tree = tree
        self.files[path] = file
        file.statements = _top_level(tree.body)
        with self.reader.in_file(file):
            for statement in file.statements:
                self.define(statement, file)
        return file

    def load(self, path, node):
        path = os.path.abspath(path)
        if path in self.files:
            return self.files[path]
        if len(self.files) >= MAX_FILES:
            self.reader.refuse(node, f"the model's package has more than {MAX_FILES} files to read")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(MAX_SOURCE_CHARS + 1)
        except (OSError, UnicodeDecodeError) as error:
            self.reader.fail(node, f"cannot read {path}: {getattr(error, 'strerror', None) or error}")
        shown = path if os.path.isabs(self.source) else os.path.relpath(path)
        return self.load_text(text, shown, path)

    def define(self, statement, file):
        """What one top-level statement makes known, without running it."""
        reader = self.reader
        if isinstance(statement, ast.ClassDef):
            file.classes[statement.name] = Class(statement, file)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            file.globals[statement.name] = Function(statement, file)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            self.import_names(statement, file, file.globals)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and _is_definition(statement.value):
                try:
                    value = reader.value(statement.value, {}, {"self": None, "prefix": "", "init": True})
                except BudgetError:
                    raise
                except SpecError as error:  # a definition tconvcalc cannot read is unknown, not an error
                    value = Unknown(str(error))
                file.globals[targets[0].id] = value

    def import_names(self, node, file, env):
        """``from .parts import *``, ``from models.blocks import ResBlock``, ``from . import blocks``,
        ``import models.blocks as mb``: the package's files read with ast; torch's names as aliases;
        anything else unknown, naming where it comes from."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                found = self.find(alias.name, 0, file, node) if alias.asname or "." not in alias.name else None
                if found is not None:
                    env[name] = Namespace(found)
                else:
                    file.aliases[name] = alias.name if alias.asname else name
            return
        module = node.module or ""
        found = self.find(module, node.level, file, node) if module or node.level else None
        for alias in node.names:
            name = alias.asname or alias.name
            if alias.name == "*":
                if found is not None:
                    self.star(found, env, file)
                continue
            if found is not None:
                value = self.name_in(found, alias.name, node)
                if value is not None:
                    self.bind(env, file, name, value)
                    continue
                sub = self.find(f"{module}.{alias.name}" if module else alias.name, node.level, file, node)
                if sub is not None:
                    env[name] = Namespace(sub)
                    continue
            if not node.level and module.split(".")[0] in ("torch", "math", "functools", "collections"):
                file.aliases[name] = f"{module}.{alias.name}"
            else:
                where = "." * node.level + module
                env[name] = Unknown(f"{alias.name!r} is imported from {where}, which tconvcalc does not read "
                                    "(not a file of this package)")

    def bind(self, env, file, name, value):
        if isinstance(value, Class):
            file.classes[name] = value
            env.pop(name, None)
        else:
            env[name] = value

    def star(self, found, env, file):
        names = found.globals.get("__all__")
        names = names if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names) else None
        for key, value in found.classes.items():
            if (names is None and not key.startswith("_")) or (names and key in names):
                file.classes[key] = value
        for key, value in found.globals.items():
            if (names is None and not key.startswith("_")) or (names and key in names):
                env[key] = value
        for key, value in found.aliases.items():
            file.aliases.setdefault(key, value)

    def name_in(self, found, name, node):
        if name in found.classes:
            return found.classes[name]
        if name in found.globals:
            return found.globals[name]
        if name in found.aliases and found.aliases[name] != name:
            return None
        return None

    def find(self, module, level, file, node):
        """The file ``module`` names, relative to ``file`` (level dots) or to its folder and its parents; None
        for a library or a module not found."""
        if not level and module.split(".")[0] in _LIBRARIES:
            return None
        here = os.path.dirname(file.path or os.path.abspath(self.reader.source or "."))
        if level:
            bases = [here]
            for _ in range(level - 1):
                bases = [os.path.dirname(bases[0])]
        else:
            bases, base = [], here
            for _ in range(6):  # the package root is the file's folder or one of its parents
                bases.append(base)
                base = os.path.dirname(base)
        for base in bases:
            stem = os.path.join(base, *module.split(".")) if module else base
            for path in (stem + ".py", os.path.join(stem, "__init__.py")):
                if os.path.isfile(path):
                    return self.load(path, node)
        return None


def _parse(text, source):
    if len(text) > MAX_SOURCE_CHARS:
        raise SpecError(f"{source}: more than {MAX_SOURCE_CHARS} characters; a model file is smaller")
    tokens = sum(1 for _ in re.finditer(r"\w+|[^\w\s]", text))
    if tokens > MAX_TOKENS:
        raise SpecError(f"{source}: more than {MAX_TOKENS} tokens; tconvcalc reads model files smaller than that")
    try:
        return ast.parse(text, filename=source)
    except SyntaxError as error:
        if "integer string conversion" in str(error.msg):  # Python's own 4300-digit limit, in our words
            raise SpecError(f"{source}:{error.lineno}: a number of more than 4300 digits; tconvcalc reads sizes, "
                            "not such numbers") from None
        detail = f"{error.msg}" + (f": {error.text.strip()[:80]}" if error.text and error.text.strip() else "")
        raise SpecError(f"{source}:{error.lineno}: syntax error: {detail}") from None
    except (ValueError, OverflowError) as error:  # null bytes; a number too long
        raise SpecError(f"{source}: cannot read as Python: {str(error)[:100]}") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"{source}: the code nests too deeply to read") from None


def _is_definition(node):
    """A module-level value worth knowing before the model is built: literals, names, layer classes,
    functools.partial, lambdas -- not the model itself (which is built when chosen)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            name = (dotted(n.func) or "").rsplit(".", 1)[-1]
            if name not in ("partial", "dict", "tuple", "list", "int", "float", "range", "len", "max", "min",
                            "ceil", "floor", "log2", "sqrt", "OrderedDict"):
                return False
    return True


def _top_level(body):
    """Module statements, plus those under ``if __name__ == "__main__":`` and ``try:``."""
    out = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, ast.If) and "__name__" in ast.unparse(statement.test):
            out.extend(_top_level(statement.body))
        elif isinstance(statement, ast.Try):
            out.extend(_top_level(statement.body))
    return out


# ---- which model --------------------------------------------------------------------------------------------


def _choose(reader, file, statements, target, source):
    """(the model's module, how it was called) for the name the user gave, or the file's one candidate."""
    name = target.name if target else None
    args, kwargs = (list(target.args), dict(target.kwargs)) if target else ([], {})
    call_text = (lambda shown: target.call_text(shown)) if target else (lambda shown: f"{shown}()")
    variables = _model_variables(reader, file, statements)
    if name:
        return _named(reader, file, variables, name, args, kwargs, call_text, source)
    if len(variables) == 1 and not (args or kwargs):
        return _variable(reader, *variables[0])
    if args or kwargs:  # arguments are for a class: the file's one model class
        variables = []
    candidates = _roots(file) + _factories(file) if not variables else []
    if not variables and not candidates and len(_all_candidates(file)) == 1:
        candidates = _all_candidates(file)  # the file's one model class, used by its own main()
    if len(variables) > 1 or len(candidates) > 1 or not candidates:
        listed = [f"{n} (line {s.lineno})" for n, s in variables] or \
            [_describe(file, c) for c in (candidates or _all_candidates(file))]
        if not listed:
            raise SpecError(f"{source}: no PyTorch model found (expected an nn.Module class, an nn.Sequential, "
                            "or print(model) text)")
        base = os.path.basename(source)
        one = (variables[0][0] if variables else (candidates or _all_candidates(file))[0].name)
        raise InputError(f"{source} holds several models: {_cut_list(listed)}; name one, like {base}:{one}")
    return _named(reader, file, variables, candidates[0].name, args, kwargs, call_text, source)


def _named(reader, file, variables, name, args, kwargs, call_text, source):
    head, _, rest = name.partition(".")
    if name in file.classes:
        cls = file.classes[name]
        return reader.instantiate(cls, args, kwargs, cls.node, root=True), call_text(name)
    value = file.globals.get(name)
    if isinstance(value, Function):
        module = reader.call_function(value, args, kwargs, value.node, {"self": None, "prefix": "", "init": True},
                                      root=True)
        module = module.module if isinstance(module, Bound) else module
        if not isinstance(module, MODULES):
            why = f" ({module.why})" if isinstance(module, Unknown) else ""
            raise SpecError(f"{source}:{value.node.lineno}: {name}() does not return a model tconvcalc can "
                            f"read{why}; {IMPORT_HINT}")
        return module, call_text(name)
    for variable, statement in variables:
        if variable == name:
            if args or kwargs:
                raise InputError(f"{source}: {name} is a variable (line {statement.lineno}); --args applies to a "
                                 "class or a function")
            return _variable(reader, variable, statement)
    listed = [_describe(file, c) for c in _all_candidates(file)] + [f"{n} (line {s.lineno})" for n, s in variables]
    raise InputError(f"{source}: no class, function or model variable named {name!r}"
                     + (f"; it holds: {_cut_list(listed)}" if listed else ""))


def _variable(reader, name, statement):
    module = reader.value(_built(statement.value), {}, {"self": None, "prefix": "", "init": True})
    module = module.module if isinstance(module, Bound) else module
    if not isinstance(module, MODULES):
        raise SpecError(f"{reader.where(statement)}: {name} = {segment(reader.text, statement.value)}: not a "
                        f"model tconvcalc can read; {IMPORT_HINT}")
    return module, f"{name} = {segment(reader.text, statement.value)} (line {statement.lineno})"


_MOVES = ("to", "cuda", "cpu", "eval", "train", "float", "double", "half", "requires_grad_")


def _built(value):
    """``Net().to(device).eval()`` -> ``Net()``: moving a model keeps its sizes."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _MOVES \
            and isinstance(value.func.value, ast.Call):
        value = value.func.value
    return value


def _model_variables(reader, file, statements):
    """Module-level ``model = Net(...)`` / ``nn.Sequential(...)`` / ``resnet18()``: (name, statement)."""
    out = []
    for statement in statements:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name) and isinstance(_built(statement.value), ast.Call)):
            continue
        callee = dotted(_built(statement.value).func) or ""
        last = callee.rsplit(".", 1)[-1]
        if last in file.classes or last in ("Sequential", "ModuleList") or TORCH_LAYER.match(last) or \
                isinstance(file.globals.get(last), Function):
            out.append((statement.targets[0].id, statement))
    last = {n: s for n, s in out}  # `model = Net(); model = Net(3)`: the last one
    return [(n, s) for n, s in out if last[n] is s]


def _module_classes(file):
    return [c for c in file.classes.values() if c.file is file and _is_module_class(c, file.classes)]


def _roots(file):
    """The file's nn.Module classes nothing else in it refers to (a block used by the model is not a model)."""
    classes = _module_classes(file)
    referenced = set()
    for statement in file.tree.body:
        if isinstance(statement, ast.If) and "__name__" in ast.unparse(statement.test):
            continue
        owner = statement.name if isinstance(statement, ast.ClassDef) else None
        for node in ast.walk(statement):
            word = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if word and word != owner:
                referenced.add(word)
    return [c for c in classes if c.name not in referenced]


def _factories(file, unreferenced=True):
    """The file's public functions (nothing else in it calls) that return one of its models (resnet18())."""
    classes = {c.name for c in _module_classes(file)}
    functions = {n: v for n, v in file.globals.items() if isinstance(v, Function) and v.file is file}
    referenced = {node.id for statement in file.tree.body if not (isinstance(statement, ast.If) and "__name__" in
                                                                  ast.unparse(statement.test))
                  for node in ast.walk(statement) if isinstance(node, ast.Name)}
    builds = {name: {n.func.id for n in ast.walk(f.node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
              for name, f in functions.items()}

    def makes_model(name, seen=()):
        return bool(builds[name] & classes) or any(
            callee in functions and callee not in seen and makes_model(callee, seen + (name,))
            for callee in builds[name])

    return [f for name, f in functions.items() if not name.startswith("_") and
            (name not in referenced or not unreferenced) and makes_model(name) and any(isinstance(n, ast.Return) and n.value is not None
                                          for n in ast.walk(f.node))]


def _all_candidates(file):
    """Every model class of the file, and its functions that build one (resnet18())."""
    return list(_module_classes(file)) + _factories(file, unreferenced=False)


def _describe(file, candidate):
    if isinstance(candidate, Class):
        return f"{candidate.name} (class, line {candidate.node.lineno})"
    return f"{candidate.name}() (function, line {candidate.node.lineno})"


def _cut_list(words, limit=12):
    return ", ".join(words[:limit]) + (f", and {len(words) - limit} more" if len(words) > limit else "")


def _is_module_class(cls, classes, seen=()):
    for base in cls.bases:
        last = base.rsplit(".", 1)[-1]
        if last in ("Module", "Sequential", "ModuleList", "ModuleDict") or is_torch_layer(last):
            return True
        if last in classes and last not in seen and _is_module_class(classes[last], classes, seen + (last,)):
            return True
    return False
