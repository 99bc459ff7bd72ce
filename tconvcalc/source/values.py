"""The values of the interpreter over a Python file (interpreter.py): what an expression can be
without running the code -- a literal, something unknown, a tensor, or a module."""


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
