"""The values of the interpreter over a Python file (interpreter.py): what an expression can be
without running the code -- a literal, something unknown, a tensor, a tensor's size, a module, or
something callable (a class, a function, a torch layer class, a functools.partial)."""


class Unknown:
    """A value that cannot be known without running the code (a constructor argument without a
    literal, an imported helper)."""

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return f"<unknown: {self.why}>"


class Size(Unknown):
    """A number computed from tensors' sizes (``x2.size()[2] - x1.size()[2]``): unknown until run, but
    ``fn`` gives its value for given sizes, so an idiom like F.pad's diff // 2 can be recognised.
    ``fn`` maps {(node name, axis): size} to the value; ``refs`` are the node names it reads."""

    def __init__(self, fn, refs):
        super().__init__("a tensor's size, known only when it runs")
        self.fn, self.refs = fn, frozenset(refs)

    @classmethod
    def of(cls, ref, axis):
        return cls(lambda sizes: sizes[(ref.name, axis)], {ref.name})


class Shape:
    """``x.shape`` / ``x.size()``: its entries are Size values; ``[2:]`` keeps the spatial axes."""

    def __init__(self, ref, start=0):
        self.ref, self.start = ref, start


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
    """nn.Sequential / nn.ModuleList / nn.ModuleDict: named children in order. ``size`` counts the layers
    it holds (a Sequential of Sequentials multiplies), to refuse a model of a billion modules up front."""

    def __init__(self, children, kind):
        self.children, self.kind = children, kind  # [(name, module)]
        self._counted = 0, 0  # (children counted, layers in them)

    @property
    def size(self):
        """The layers it holds, counted on from the last count (an append loop stays linear)."""
        counted, total = self._counted if self._counted[0] <= len(self.children) else (0, 0)
        total += sum(getattr(module, "size", 1) for _, module in self.children[counted:])
        self._counted = len(self.children), total
        return total


class Instance:
    """An instance of a class defined in the file or a file it imports."""

    def __init__(self, cls, attrs, consts, where):
        self.cls, self.attrs, self.consts, self.where = cls, attrs, consts, where
        self.set_at = {}  # attribute -> the __init__ line that set it, for messages

    size = 1


class Bound:
    """A module together with its path in the model (``conv1.conv.0``)."""

    def __init__(self, module, path):
        self.module, self.path = module, path


class TorchClass:
    """A torch.nn class held as a value (``norm_layer=nn.BatchNorm2d``): calling it builds the layer."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, TorchClass) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class Function:
    """A ``def`` or ``lambda`` of the file (module level, or nested with the variables it sees)."""

    def __init__(self, node, file, closure=None, ctx=None):
        self.node, self.file, self.closure, self.ctx = node, file, closure or {}, ctx
        self.name = getattr(node, "name", "<lambda>")


class Partial:
    """``functools.partial(f, *args, **kwargs)``."""

    def __init__(self, func, args, kwargs):
        self.func, self.args, self.kwargs = func, list(args), dict(kwargs)


class Namespace:
    """An imported file of the same package (``from . import blocks``; ``blocks.ResBlock``)."""

    def __init__(self, file):
        self.file = file


MODULES = (Leaf, Neutral, Unsupported, Seq, Instance)
