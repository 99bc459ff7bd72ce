"""PyTorch source, read with ``ast`` and the interpreter (never executed).

The network is the last ``model = Net(...)`` / ``nn.Sequential(...)`` assigned at module level, else
the last ``nn.Module`` class that no other class in the file uses. Its layers come from ``__init__``
(``self.x = nn.Conv2d(...)``, Sequentials, ModuleLists, other classes of the file with their
constructor arguments substituted where literal), and the data flow from ``forward()``:
``y = self.x(x)``, ``torch.cat([a, b], dim=1)`` (concat), ``a + b`` (add), loops over ModuleLists,
lists of skips (append/pop/reversed/zip). A module without forward() is a plain chain of its
sub-modules in the order they are assigned. Shape-neutral layers (norms, activations, dropout) are
skipped; anything that could change the size and is not understood is an error naming file:line.
Layer nodes are named by their torch module path (``conv1.conv.0``, as ``named_modules()`` names
them); merges by the variable they are assigned to.
"""

import ast

from ..network import INPUT, SpecError, make_network
from .interpreter import Class, Reader, dotted, first
from .items import reachable
from .torch_layers import TORCH_LAYER
from .values import MODULES, Bound, Ref


def network_from_python(text, source, framework=None, backend=None, target=None):
    """A Network from PyTorch source, read with ast; never executed. ``target`` (selection.Target): the model
    to read (class, function or variable; None: the file's model) and its constructor arguments."""
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as error:
        detail = f"{error.msg}" + (f": {error.text.strip()}" if error.text and error.text.strip() else "")
        raise SpecError(f"{source}:{error.lineno}: syntax error: {detail}") from None
    except ValueError as error:  # null bytes
        raise SpecError(f"{source}: cannot read as Python: {error}") from None
    reader = Reader(text, source)
    statements = _top_level(tree.body)
    for statement in statements:
        if isinstance(statement, ast.ClassDef):
            reader.classes[statement.name] = Class(statement)
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
    ref = first(reader.apply(Bound(root, ""), Ref(INPUT), tree, {"self": None, "prefix": ""}))
    items = reachable(reader.items, ref.name)
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
            name = dotted(value.func) or ""
            last = name.rsplit(".", 1)[-1]
            if last in reader.classes or last in ("Sequential", "ModuleList") or TORCH_LAYER.match(last):
                module = reader.value(value, {}, {"self": None, "prefix": "", "init": True})
                if isinstance(module, MODULES):
                    return module
    modules = [c for c in reader.classes.values() if _is_module_class(c, reader.classes)]
    used = set()
    for cls in modules:
        for node in ast.walk(cls.node):
            if isinstance(node, ast.Call):
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
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

