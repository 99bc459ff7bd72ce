"""Import mode's child process: import the user's model file, build the model on torch's meta device and
record its network as plain ``make_network`` items.

Run as ``python recorder.py REQUEST.json`` by ``imported.py``, never imported by tconvcalc itself. It
imports only the standard library and torch, so nothing the user's module does can reach tconvcalc: the
answer (``{"items": ..., "origin": ...}`` or ``{"error": "one line"}``) is written as JSON to the file the
request names, and the parent trusts nothing in it beyond the JSON.

How the network is recorded: the model runs on meta tensors (no data, no memory) at two or more probe sizes,
under global module hooks (the torch.nn layers that change sizes: their constructor's attributes) and a
TorchFunctionMode (the functional ops between them: cat, add, pad, interpolate, pools, flatten/view, ...). A
tensor that keeps its shape keeps its node (activations, norms, dropout, arithmetic with a scalar). Values that
differ between the probe sizes are sizes computed from other tensors: ``like: NAME`` where they follow NAME's
size. torch.fx traces the model first: where it can, the model has no Python control flow on tensor sizes,
so two runs suffice; where it cannot, three runs are compared and a graph that differs between them is said.
"""

import os
import sys

# Run as a script, this file's directory heads sys.path: the user's imports must not find tconvcalc's modules.
if sys.path and os.path.realpath(sys.path[0] or ".") == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]

import faulthandler  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sysconfig  # noqa: E402
import traceback  # noqa: E402

INPUT = "input"
# Probe sizes, tried in order until RUNS succeed: odd-ish sizes first (they tell a computed pad from a constant
# one, and take the other branch of shape-dependent code), then the sizes fixed-input models are built for.
PROBES = {1: (1000, 1101, 1024, 4096, 16384, 8192, 2048, 256, 64, 65536, 16000),
          2: (100, 75, 128, 96, 160, 64, 256, 224, 32, 512, 299, 28, 48, 16, 1024),
          3: (36, 35, 40, 32, 48, 64, 16, 112)}
RUNS = 3  # successful probe runs wanted (2 where torch.fx traced the model: one path for every size)
BATCH = 2  # > 1, so that view(N, -1) is told from view(-1)
MAX_FILE = 64 << 20  # bytes in any file the child writes: its captured output, the answer

_CONV = re.compile(r"(Conv|ConvTranspose)([123])d\Z")
_POOL = re.compile(r"(MaxPool|AvgPool|AdaptiveAvgPool|AdaptiveMaxPool|MaxUnpool)([123])d\Z")
_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
_SIZE_QUERIES = {"size", "dim", "numel", "__len__", "ndimension", "nelement"}
_BINARY = {"add", "add_", "__add__", "__radd__", "__iadd__", "sub", "sub_", "__sub__", "__rsub__", "__isub__",
           "subtract", "mul", "mul_", "__mul__", "__rmul__", "__imul__", "multiply", "div", "div_", "__truediv__",
           "__rtruediv__", "__itruediv__", "true_divide", "maximum", "minimum"}
_REDUCTIONS = {"mean", "sum", "amax", "max", "amin", "min", "nanmean", "logsumexp", "norm"}


class Failure(Exception):
    """A one-line reason the network could not be recorded."""


# ---- which files are the user's ------------------------------------------------------------------------

class UserFiles:
    """Frames of the user's own files (under the model's roots, outside the standard library, site-packages,
    torch and this file), for messages that point at the user's line."""

    def __init__(self, roots, shown):
        self.shown = shown  # the model file, as shown in messages
        self.roots = [os.path.realpath(r) + os.sep for r in roots]
        system = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        self.system = [os.path.realpath(p) + os.sep for p in system] + [os.path.realpath(__file__)]
        self.known = {}  # filename -> owned

    def owns(self, filename):
        if filename not in self.known:
            self.known[filename] = self._owns(filename)
        return self.known[filename]

    def _owns(self, filename):
        path = os.path.realpath(filename)
        return any(path.startswith(r) for r in self.roots) and not any(path.startswith(s) for s in self.system)

    def where(self, filename, line):
        shown = os.path.relpath(filename)
        return f"{filename if shown.startswith('..') else shown}:{line}"

    def from_stack(self):
        frame = sys._getframe(1)
        while frame is not None:
            if self.owns(frame.f_code.co_filename):
                return self.where(frame.f_code.co_filename, frame.f_lineno)
            frame = frame.f_back
        return None

    def from_traceback(self, error):
        """The user's innermost frame of an exception: where their code called what failed."""
        found = None
        for entry in traceback.extract_tb(error.__traceback__):
            if self.owns(entry.filename):
                found = self.where(entry.filename, entry.lineno)
        return found



# ---- importing the user's module and picking the model ---------------------------------------------------

def module_name(path):
    """The dotted name the file has as ``python train.py`` next to its package would import it, and the
    directory to import it from: walk up while the directory is a package (has __init__.py)."""
    directory, stem = os.path.split(os.path.abspath(path))
    name = stem[:-3] if stem.endswith(".py") else stem
    parts = [name]
    while os.path.isfile(os.path.join(directory, "__init__.py")) and os.path.basename(directory).isidentifier():
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    return ".".join(parts), directory


def import_user_module(path, paths):
    import importlib
    import importlib.util

    dotted, root = module_name(path)
    for entry in [*paths, os.path.dirname(os.path.abspath(path)), root][::-1]:
        sys.path.insert(0, os.path.abspath(entry))
    sys.argv = [path]  # as `python model.py` has it: an argparse at module level sees no arguments
    if "." in dotted and all(part.isidentifier() for part in dotted.split(".")):
        return importlib.import_module(dotted)
    name = dotted if dotted.isidentifier() else "user_model"
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def candidates(module, nn):
    """The models a file defines: its module-level nn.Module instances, else its nn.Module classes."""
    instances, classes = [], []
    for key, value in vars(module).items():
        if key.startswith("__"):
            continue
        if isinstance(value, nn.Module):
            instances.append(key)
        elif isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            classes.append(key)
    return instances or unused(classes, module)


def unused(classes, module):
    """The classes no other class of the file uses (a block inside the model is not a candidate), read from
    the file's syntax tree; all of them where that cannot be read."""
    import ast

    try:
        with open(module.__file__, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return classes
    used = {node.id for top in tree.body if isinstance(top, ast.ClassDef) for node in ast.walk(top)
            if isinstance(node, ast.Name) and node.id != top.name}
    return [name for name in classes if name not in used] or classes


def pick(module, name, nn, shown):
    if name is None:
        found = candidates(module, nn)
        if len(found) != 1:
            if not found:
                raise Failure(f"{shown} defines no nn.Module class or instance; name the model as {shown}:Name")
            raise Failure(f"{shown} defines {len(found)} models: {', '.join(found)}; pick one as {shown}:Name")
        name = found[0]
    value = module
    for part in name.split("."):
        if not hasattr(value, part):
            found = candidates(module, nn)
            raise Failure(f"{shown} has no {name!r}" + (f" (its models: {', '.join(found)})" if found else ""))
        value = getattr(value, part)
    return name, value


def build(value, name, args, kwargs, torch, shown):
    nn = torch.nn
    if isinstance(value, nn.Module):
        if args or kwargs:
            raise Failure(f"{shown}: {name} is a model instance; --args does not apply")
        return value.to("meta")
    if not callable(value):
        raise Failure(f"{shown}: {name} is a {type(value).__name__}, not a model class, function or instance")
    with torch.device("meta"):
        model = value(*args, **kwargs)
    if not isinstance(model, nn.Module):
        raise Failure(f"{shown}: {name}(...) returned a {type(model).__name__}, not an nn.Module")
    return model


def input_layouts(model, nn, shown):
    """[(channels, rank)] the input may have: the convolutions' in_channels and spatial axes, the first
    defined first (usually the first called)."""
    found = [(m.in_channels, len(m.kernel_size)) for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    if found:
        return list(dict.fromkeys(found))[:4]
    raise Failure(f"{shown}: the model has no Conv/ConvTranspose layer to tell its input's channels and axes; "
                  "import mode reads convolutional networks")


# ---- recording one run -----------------------------------------------------------------------------------

def axes(value):
    """A per-axis value as make_network reads it: (3, 3) -> 3, (3, 1) -> '3x1'."""
    if isinstance(value, (list, tuple)):
        values = ["None" if v is None else number(v) for v in value]
        return values[0] if len(set(values)) == 1 and values[0] != "None" else "x".join(map(str, values))
    return number(value)


def pairs(values):
    return "x".join(f"{before}:{after}" for before, after in values)


class Recording:
    """One run's events: per op that changes sizes, an item (with the values that may differ between probe
    sizes under "_vary"), keyed by the nodes the tensors belong to."""

    def __init__(self, torch, user, module_names):
        self.torch, self.user, self.module_names = torch, user, module_names
        self.node = {}  # id(tensor) -> node name
        self.kept = []  # the tensors seen, so that their ids stay theirs
        self.trusted = {INPUT: True}  # node -> its channels are those make_network will compute
        self.untrusted = set()  # ids of tensors whose channels differ from their node's
        self.events, self.taken, self.queried = [], set(), []
        self.depth = 0  # inside a recorded layer: its own functional calls are not recorded
        self.scope = []  # the modules being called (their names), for the names of functional ops
        self.gates = set()  # ids of 1x1 tensors expanded to a map's size (x * se(x).expand_as(x))

    # tensors and nodes
    def track(self, tensor, name):
        self.node[id(tensor)] = name
        self.kept.append(tensor)

    def name_of(self, tensor):
        return self.node.get(id(tensor))

    def trust(self, tensor):
        return self.trusted.get(self.name_of(tensor), False) and id(tensor) not in self.untrusted

    def fresh(self, base):
        name, n = base, 1
        while name in self.taken or name == INPUT:
            n += 1
            name = f"{base}#{n}"
        self.taken.add(name)
        return name

    def where(self):
        return self.user.from_stack() or self.user.shown

    def emit(self, base, item, inputs, out, trusted=True, functional=True):
        """One item reading ``inputs`` (tensors), whose output tensor is ``out``; a functional op is named
        after the module it is called in (up1.pad)."""
        scope = next((s for s in reversed(self.scope) if s), "")
        name = self.fresh(f"{scope}.{base}" if functional and scope else base)
        item = {"name": name, "where": self.where(), **item}
        item["input"] = self.name_of(inputs[0])
        if len(inputs) > 1:
            item["with"] = [self.name_of(t) for t in inputs[1:]]
        item["_out"] = [int(v) for v in out.shape[2:]]
        self.events.append(item)
        self.track(out, name)
        self.trusted[name] = trusted
        self.queried = []
        return item

    def alias(self, out, source):
        self.node[id(out)] = self.name_of(source)
        self.kept.append(out)
        if out.dim() > 1 and source.dim() > 1 and out.shape[1] != source.shape[1]:
            self.untrusted.add(id(out))
        elif id(source) in self.untrusted:
            self.untrusted.add(id(out))

    def fail(self, what, source, out):
        """An op that changes sizes in a way no item says: an error if the output depends on it."""
        name = self.fresh("unfollowed")
        self.events.append({"name": name, "where": self.where(), "layer": "unfollowed", "input": self.name_of(source),
                            "_why": f"{what} changes the size ({shape_text(source)} -> {shape_text(out)}); "
                                    "tconvcalc cannot follow it", "_out": [int(v) for v in out.shape[2:]]})
        self.track(out, name)
        self.trusted[name] = False

    # torch.nn layers, from the global module hooks
    def layer(self, module, inputs, output):
        torch = self.torch
        tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
        if isinstance(output, (tuple, list)) and output:  # max pool with return_indices: (values, indices)
            output = output[0]
        if not tensors or not isinstance(output, torch.Tensor) or self.name_of(tensors[0]) is None:
            return
        x, kind = tensors[0], type(module).__name__
        item = layer_item(module, x, output, torch.nn)
        if item is None:
            self.fail(kind, x, output)
            return
        if "in_channels" in item and not self.trust(x):
            del item["in_channels"]
        self.emit(self.module_names.get(id(module), kind), item, [x], output, functional=False)

    # the functional ops, from the TorchFunctionMode
    def function(self, func, args, kwargs, result):
        torch = self.torch
        name = getattr(func, "__name__", "") or ""
        if name == "__get__":  # x.shape (and x.dtype, ...: not sizes)
            owner = args[0] if args else None
            attribute = getattr(getattr(func, "__self__", None), "__name__", "")
            if attribute == "shape" and isinstance(owner, torch.Tensor) and self.name_of(owner) is not None:
                self.queried.append(self.name_of(owner))
            return
        tensors = [t for t in _flat((args, kwargs)) if isinstance(t, torch.Tensor) and self.name_of(t) is not None]
        if not tensors:
            return
        if name in _SIZE_QUERIES:
            self.queried.append(self.name_of(tensors[0]))
            return
        outputs = [t for t in _flat(result) if isinstance(t, torch.Tensor)]
        if not outputs:
            return
        x, out = tensors[0], outputs[0]
        known = functional_item(name, args, kwargs, x, out, self)
        if known is not None:
            base, item, inputs = known
            if item is None:  # neutral
                self.alias(out, inputs[0])
            else:
                self.emit(base, item, inputs, out, trusted=all(self.trust(t) for t in inputs))
            return
        if name in ("expand", "expand_as", "broadcast_to") and x.dim() > 2 and _prod(x.shape[2:]) == 1:
            self.alias(out, x)  # a 1x1 gate broadcast to a map's size: the merge that uses it broadcasts anyway
            self.gates.add(id(out))
            return
        for out in outputs:
            self.by_shape(name, x, out)

    def by_shape(self, name, x, out):
        """An op tconvcalc has no rule for, read from the shapes it produced."""
        if tuple(out.shape) == tuple(x.shape) or (out.dim() == x.dim() and out.dim() > 2 and
                                                  out.shape[0] == x.shape[0] and out.shape[2:] == x.shape[2:]):
            self.alias(out, x)  # keeps every spatial size (perhaps not the channels)
            return
        if x.dim() > 2 and out.shape[0] == x.shape[0]:
            if out.dim() == 2 and out.shape[1] == _prod(x.shape[1:]):
                self.emit("flatten", {"layer": "flatten"}, [x], out, self.trust(x))
                return
            if name in _REDUCTIONS and out.dim() in (2, x.dim()) and out.shape[1] == x.shape[1] and \
                    _prod(out.shape[2:]) == 1:
                kind = "adaptivemaxpool" if name in ("amax", "max") else "adaptiveavgpool"
                self.emit(name, {"layer": kind, "output_size": 1}, [x], out, self.trust(x))
                if out.dim() == 2:  # the pooled axes dropped: a flatten
                    self.emit("flatten", {"layer": "flatten"}, [out], out, self.trust(x))
                return
        self.fail(name, x, out)


def shape_text(tensor):
    return "x".join(map(str, tensor.shape))


def _prod(values):
    total = 1
    for v in values:
        total *= int(v)
    return total


def _flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _flat(v)
    else:
        yield value


def torch_base(module):
    """The torch.nn class a module is (its own, or the one a user's subclass derives from)."""
    return next((c for c in type(module).__mro__ if c.__module__.startswith("torch.nn.")), None)


def is_layer(module, nn):
    """The torch.nn layers recorded whole (their attributes say more than the functional call inside); a
    subclass whose forward() is its own is followed inside instead (it may pad before its conv)."""
    base = torch_base(module)
    if base is None or type(module).forward is not base.forward:
        return False
    return isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) or _POOL.match(base.__name__) is not None


def layer_item(module, x, out, nn):
    """The item of a torch.nn layer that changes sizes, from its attributes (None: not one of those)."""
    kind = torch_base(module).__name__
    conv = isinstance(module, nn.modules.conv._ConvNd)
    if conv:
        rank = len(module.kernel_size)
        item = {"layer": "convT" if module.transposed else "conv", "kernel": axes(module.kernel_size),
                "stride": axes(module.stride), "padding": axes(module.padding), "dilation": axes(module.dilation),
                "channels": module.out_channels, "in_channels": module.in_channels, "rank": rank}
        if module.groups != 1:
            item["groups"] = module.groups
        if module.padding_mode != "zeros":
            item["padding_mode"] = module.padding_mode
        if module.transposed:  # what ran: output_padding as built, or as forward(x, output_size=...) chose it
            item["_vary"] = {"output_padding": [
                int(o) - ((int(n) - 1) * s - 2 * p + d * (k - 1) + 1)
                for n, o, s, p, d, k in zip(x.shape[2:], out.shape[2:], module.stride, module.padding,
                                            module.dilation, module.kernel_size)]}
        return item
    match = _POOL.match(kind)
    if match:
        what, rank = match[1], int(match[2])
        if what.startswith("Adaptive"):
            return {"layer": what.lower(), "output_size": axes(module.output_size), "rank": rank}
        item = {"layer": {"MaxPool": "maxpool", "AvgPool": "avgpool", "MaxUnpool": "unpool"}[what],
                "kernel": axes(module.kernel_size), "stride": axes(module.stride), "padding": axes(module.padding),
                "rank": rank}
        if what == "MaxPool":
            item["dilation"] = axes(module.dilation)
        if getattr(module, "ceil_mode", False):
            item["ceil_mode"] = True
        return item
    if isinstance(module, nn.Linear):
        return {"layer": "linear", "channels": module.out_features, "in_channels": module.in_features} \
            if x.dim() == 2 else None
    return None


def _bind(names, args, kwargs):
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound


def functional_item(name, args, kwargs, x, out, rec):
    """(base name, item or None for a shape-neutral op, input tensors) for the functional ops tconvcalc has a
    rule for; None for the others."""
    torch = rec.torch
    rank = x.dim() - 2
    spatial = lambda t: [int(v) for v in t.shape[2:]]  # noqa: E731
    if name in ("cat", "concat", "concatenate"):
        bound = _bind(["tensors", "dim"], args, kwargs)
        parts = [t for t in bound["tensors"] if isinstance(t, torch.Tensor)]
        tracked = [t for t in parts if rec.name_of(t) is not None]
        dim = bound.get("dim", 0)
        if out.dim() > 2 and dim % out.dim() == 1:
            if len(tracked) == 1:
                return "concat", None, tracked
            return "concat", {"layer": "concat"}, tracked
        return None
    if name in _BINARY:
        base = "mul" if "mul" in name or "div" in name else "add"
        other = [t for t in _flat((args, kwargs)) if isinstance(t, torch.Tensor) and t is not x
                 and rec.name_of(t) is not None]
        if not other or other[0].dim() < 2:
            return base, None, [x]  # a scalar, a bias, a parameter: no size changes
        y = other[0]
        if tuple(x.shape) == tuple(y.shape) and not {id(x), id(y)} & rec.gates:
            return base, {"layer": base}, [x, y]
        for big, small in ((x, y), (y, x)):  # a gate pooled to 1x1 (squeeze-excitation): big keeps its size
            if tuple(big.shape) == tuple(out.shape) and small.dim() > 2 and _prod(small.shape[2:]) == 1:
                return base, None, [big]
        if id(x) in rec.gates or id(y) in rec.gates:
            return base, None, [y if id(x) in rec.gates else x]
        return base, {"layer": "mul"}, [x, y]  # broadcasting: torch's rule is the mul merge's
    if re.fullmatch(r"conv[123]d", name) or re.fullmatch(r"conv_transpose[123]d", name):
        transposed = "transpose" in name
        names = ["input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"] \
            if transposed else ["input", "weight", "bias", "stride", "padding", "dilation", "groups"]
        bound = _bind(names, args, kwargs)
        weight, groups = bound["weight"], int(bound.get("groups", 1))
        item = {"layer": "convT" if transposed else "conv", "kernel": axes([int(k) for k in weight.shape[2:]]),
                "stride": axes(bound.get("stride", 1)), "padding": axes(bound.get("padding", 0)),
                "dilation": axes(bound.get("dilation", 1)), "rank": rank,
                "channels": int(weight.shape[1]) * groups if transposed else int(weight.shape[0])}
        if groups != 1:
            item["groups"] = groups
        if transposed:
            item["output_padding"] = axes(bound.get("output_padding", 0))
        return item["layer"], item, [x]
    pool = re.fullmatch(r"_?(max|avg)_pool([123])d(_with_indices)?", name)
    if pool:
        names = ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"] if pool[1] == "max" \
            else ["input", "kernel_size", "stride", "padding", "ceil_mode"]
        bound = _bind(names, args, kwargs)
        kernel = bound["kernel_size"]
        stride = bound.get("stride") or kernel  # None or () default to the kernel
        item = {"layer": pool[1] + "pool", "kernel": axes(kernel), "stride": axes(stride),
                "padding": axes(bound.get("padding", 0)), "rank": int(pool[2])}
        if pool[1] == "max":
            item["dilation"] = axes(bound.get("dilation", 1))
        if bound.get("ceil_mode"):
            item["ceil_mode"] = True
        return pool[1] + "pool", item, [x]
    adaptive = re.fullmatch(r"_?adaptive_(max|avg)_pool([123])d(_with_indices)?", name)
    if adaptive:
        size = _bind(["input", "output_size"], args, kwargs)["output_size"]
        return f"adaptive{adaptive[1]}pool", {"layer": f"adaptive{adaptive[1]}pool", "output_size": axes(size),
                                               "rank": int(adaptive[2])}, [x]
    if name == "pad":
        bound = _bind(["input", "pad", "mode", "value"], args, kwargs)
        pad = [int(v) for v in bound["pad"]]
        if len(pad) > 2 * rank and any(pad[2 * rank:]):
            return None  # pads the channels: by_shape says it cannot follow
        per_axis = [(pad[i], pad[i + 1]) for i in range(0, min(len(pad), 2 * rank), 2)]
        per_axis = per_axis[::-1]  # last axis first in F.pad
        per_axis = [(0, 0)] * (rank - len(per_axis)) + per_axis
        mode = _PAD_MODES.get(bound.get("mode") or "constant", bound.get("mode"))
        item = {"layer": "pad", "rank": rank, "_vary": {"pads": per_axis, "out": spatial(out), "in": spatial(x),
                                                        "sources": list(rec.queried)}}
        if mode != "zeros":
            item["padding_mode"] = mode
        return "pad", item, [x]
    if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
        bound = _bind(["input", "size", "scale_factor"], args, kwargs)
        if bound.get("size") is None and bound.get("scale_factor") is not None \
                and not bound.get("recompute_scale_factor"):
            return "upsample", {"layer": "upsample", "scale": axes(bound["scale_factor"]), "rank": rank}, [x]
        return "upsample", {"layer": "upsample", "rank": rank, "_vary": {
            "size": spatial(out), "in": spatial(x), "sources": list(rec.queried)}}, [x]
    if name == "pixel_shuffle":
        factor = _bind(["input", "upscale_factor"], args, kwargs)["upscale_factor"]
        return "pixelshuffle", {"layer": "pixelshuffle", "scale": int(factor)}, [x]
    if name == "linear":
        weight = _bind(["input", "weight"], args, kwargs)["weight"]
        if x.dim() != 2:
            return None
        item = {"layer": "linear", "channels": int(weight.shape[0]), "in_channels": int(weight.shape[1])}
        if not rec.trust(x):
            del item["in_channels"]
        return "linear", item, [x]
    return None


def record_run(model, size, channels, rank, torch, user):
    """The events of one run at spatial size ``size`` on every axis, and the output's node."""
    from torch.overrides import TorchFunctionMode

    nn = torch.nn
    names = {id(m): n for n, m in model.named_modules() if n}
    rec = Recording(torch, user, names)

    def pre_hook(module, inputs):
        rec.scope.append(names.get(id(module), ""))
        if is_layer(module, nn):
            rec.depth += 1

    def hook(module, inputs, output):
        if rec.scope:
            rec.scope.pop()
        if is_layer(module, nn):
            rec.depth -= 1
            if rec.depth == 0:
                rec.layer(module, inputs, output)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            if rec.depth == 0:
                rec.function(func, args, kwargs, result)
            return result

    x = torch.empty((BATCH, channels) + (size,) * rank, device="meta")
    rec.track(x, INPUT)
    handles = [nn.modules.module.register_module_forward_pre_hook(pre_hook),
               nn.modules.module.register_module_forward_hook(hook)]
    try:
        with torch.no_grad(), Mode():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    tensors = [t for t in _flat(output) if isinstance(t, torch.Tensor) and rec.name_of(t) is not None]
    if not tensors:
        raise Failure(f"{user.shown}: the model's output is not a tensor computed from its input")
    return rec.events, rec.name_of(tensors[0]), len(tensors)


def defer_dynamo():
    """Meta kernels written in Python (``x * 0.2`` on a meta tensor) ask torch._dynamo, on their first call, to
    keep torch.compile out of them: importing it costs 2-3 s, more than recording a 300-layer model. Until
    something else is asked of it, a stand-in answers ``disable(fn)`` with fn -- nothing compiles here."""
    import importlib
    import types

    if "torch._dynamo" in sys.modules:
        return

    class Deferred(types.ModuleType):
        def disable(self, fn=None, recursive=True, **options):
            return fn if fn is not None else (lambda function: function)

        def __getattr__(self, name):  # anything else: the real module
            if sys.modules.get("torch._dynamo") is self:
                del sys.modules["torch._dynamo"]
            return getattr(importlib.import_module("torch._dynamo"), name)

    sys.modules["torch._dynamo"] = Deferred("torch._dynamo")


def trace(model):
    """Whether torch.fx traces the model: (True, None), or (False, why not). A traced graph has no Python
    control flow on tensor values or sizes, so every input size takes the path the probe runs record."""
    import torch.fx as fx

    try:
        fx.Tracer().trace(model)
        return True, None
    except Exception as error:  # noqa: BLE001 -- any failure to trace means: record more runs instead
        return False, one_line(f"{type(error).__name__}: {error}", 120)


# ---- several probe sizes into one network ----------------------------------------------------------------

def signature(events):
    return [(e["where"], json.dumps({k: v for k, v in e.items() if not k.startswith("_")}, sort_keys=True,
                                    default=str)) for e in events]


def probe_runs(model, channels, rank, torch, user, wanted):
    """Runs at the probe sizes until ``wanted`` succeed: [(size, events, output, outputs)], and the first
    failure."""
    runs, first_error = [], None
    for size in PROBES[rank]:
        if len(runs) >= wanted:
            break
        try:
            runs.append((size, *record_run(model, size, channels, rank, torch, user)))
        except Failure:
            raise
        except Exception as error:  # noqa: BLE001 -- this size does not run; another may
            if first_error is None:
                first_error = (size, error)
    return runs, first_error


def resolve_vary(event, values, index, spatial_of):
    """A value that may differ between the probe sizes, as the item's fields: a constant, or ``like``."""
    where, layer = event["where"], event["layer"]
    if "output_padding" in values[0]:
        if any(v["output_padding"] != values[0]["output_padding"] for v in values):
            raise Failure(f"{where}: the output_padding of {event['name']} depends on the input size "
                          "(forward(x, output_size=...)); tconvcalc cannot follow it")
        return {"output_padding": axes(values[0]["output_padding"])}
    key = "pads" if layer == "pad" else "size"
    varies = any(v[key] != values[0][key] for v in values)
    computed = bool(values[0]["sources"])  # the code read tensor sizes just before
    like = like_node(event, values, index, spatial_of) if varies or computed else None
    if like is not None:
        return {"like": like}
    if layer == "pad":
        if not varies:
            return {"padding": pairs(values[0]["pads"])}
        raise Failure(f"{where}: the padding of F.pad changes with the input size ("
                      + ", ".join(pairs(v["pads"]) for v in values) + " at the probe sizes) in a way tconvcalc "
                      "cannot express (like: NAME pads to NAME's size, diff // 2 before)")
    ratios = {s / n if n else None for v in values for s, n in zip(v["size"], v["in"])}
    if varies and len(ratios) == 1 and None not in ratios:
        return {"scale": number(ratios.pop())}
    if not varies:
        return {"output_size": axes(values[0]["size"])}
    raise Failure(f"{where}: the size F.interpolate is given changes with the input size in a way tconvcalc "
                  "cannot express (a fixed size, a scale, or like: NAME)")


def like_node(event, values, index, spatial_of):
    """The node whose spatial size the op's output takes at every probe size (for a pad: diff // 2 before,
    the rest after), preferring the tensors whose size the code read just before (x2.size() in the U-Net)."""
    key = "out" if event["layer"] == "pad" else "size"

    def fits(name):
        for sizes, v in zip(spatial_of, values):
            size = sizes.get(name)
            if size is None or list(size) != v[key]:
                return False
            if event["layer"] == "pad" and any((b, a) != ((t - n) // 2, (t - n) - (t - n) // 2)
                                               for (b, a), t, n in zip(v["pads"], size, v["in"])):
                return False
        return True

    sources = [s for s in reversed(values[0]["sources"]) if s != event["input"]]
    earlier = [n for n in reversed(list(spatial_of[0])[:index + 1]) if n != event["input"]]
    return next((name for name in [*sources, *earlier] if fits(name)), None)


def network_items(runs, rank):
    """Items, the probe sizes they hold for and warnings, from the probe runs grouped by the graph each
    recorded (the largest group wins)."""
    groups = {}
    for run in runs:
        groups.setdefault(json.dumps(signature(run[1])), []).append(run)
    chosen = max(groups.values(), key=len)
    warnings = []
    if len(groups) > 1:
        counts = ", ".join(f"{len(events)} ops at {size}" for size, events, _, _ in runs)
        warnings.append(f"the recorded graph differs between probe sizes ({counts}): data-dependent control flow; "
                        f"the network read is the one at {', '.join(str(r[0]) for r in chosen)}, and holds for "
                        "inputs that take that path")
    size, events, output, count = chosen[0]
    if count > 1:
        warnings.append(f"the model returns {count} tensors; the network read ends at the first")
    spatial_of = [{INPUT: [size] * rank, **{e["name"]: e["_out"] for e in run_events}}
                  for size, run_events, _, _ in chosen]
    items = []
    for index, event in enumerate(events):
        item = {k: v for k, v in event.items() if not k.startswith("_") or k == "_why"}
        if "_vary" in event:
            item.update(resolve_vary(event, [run[1][index]["_vary"] for run in chosen], index, spatial_of))
        items.append(item)
    items = [{k: v for k, v in item.items() if k != "_why"} for item in reachable(items, output)]
    unpools = [item["where"] for item in items if item["layer"] == "unpool"]
    if unpools:
        warnings.append(f"{unpools[0]}: torch's max unpool also needs its input to be the size of the pool whose "
                        "indices it takes, which tconvcalc does not check: the valid inputs may include sizes "
                        "torch refuses")
    # what torch computed at each probe size, for the parent to check its own sizes against
    check = {item["name"]: [sizes[item["name"]] for sizes in spatial_of] for item in items
             if spatial_of[0].get(item["name"])}
    return items, [run[0] for run in chosen], warnings, check


def reachable(items, output):
    """The items the output depends on, in order; an op tconvcalc could not follow among them stops here.
    (items.reachable's twin on purpose: this child imports nothing of tconvcalc, and it also follows ``like``.)"""
    by_name = {item["name"]: item for item in items}
    needed, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        item = by_name[name]
        stack += [item.get("input"), *item.get("with", ()), item.get("like")]
    kept = [item for item in items if item["name"] in needed]
    for item in kept:
        if item["layer"] == "unfollowed":
            raise Failure(f"{item['where']}: {item['_why']}")
    return kept


def number(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


# ---- the child's main --------------------------------------------------------------------------------------

def one_line(text, width=300):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def describe(error, user, phase, shown):
    """One line for an exception raised by the user's code: where in their files first, then what, then
    what tconvcalc was doing."""
    if isinstance(error, SyntaxError):
        where = user.where(error.filename, error.lineno) if error.filename else shown
        return f"{where}: syntax error: {error.msg}"
    where = user.from_traceback(error) or shown
    if isinstance(error, ModuleNotFoundError) and error.name:
        return f"{where} imports {error.name!r}, which is not installed (for {sys.executable})"
    if isinstance(error, SystemExit):
        return f"{where} called sys.exit({error.code!r}) while {phase}"
    if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        what = f"needs more memory than import mode allows ({LIMIT_TEXT}): {type(error).__name__}"
    elif isinstance(error, KeyboardInterrupt):
        what = "KeyboardInterrupt"
    elif isinstance(error, RecursionError):
        what = "RecursionError: maximum recursion depth exceeded"
    else:
        text = f"{type(error).__name__}: {error}"
        what = one_line(text, 200)
        if re.search(r"CUDA|cuda|NVIDIA|GPU", text):
            what = f"needs a GPU: {one_line(text, 160)}; import mode runs on the CPU, with no GPU visible"
    return f"{where}: {what} (while {phase})"


LIMIT_TEXT = "no limit"


def record(request):
    """The answer for one request: the network's items and how they were read, or a Failure."""
    import ast

    path, name = request["path"], request.get("name")
    args, kwargs = ast.literal_eval(request.get("args", "()")), ast.literal_eval(request.get("kwargs", "{}"))
    paths = request.get("paths", ())
    _, root = module_name(path)
    user = UserFiles([*paths, os.path.dirname(os.path.abspath(path)), root], None)
    shown = user.shown = user.where(path, "")[:-1]
    phase, call, first_error = f"importing {shown}", name or "the model", None
    try:
        module = import_user_module(path, paths)  # first: a module that fails early fails before torch loads
        try:
            import torch
        except ModuleNotFoundError as error:
            if error.name != "torch":
                raise
            raise Failure("--import needs torch (pip install torch)") from None
        name, value = pick(module, name, torch.nn, shown)
        words = [repr(v) for v in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        call = f"{name}({', '.join(words)})" if not isinstance(value, torch.nn.Module) else name
        phase = f"building {call}"
        model = build(value, name, args, kwargs, torch, shown)
        model.eval()
        layouts = input_layouts(model, torch.nn, shown)
        phase = f"tracing {call}"
        traced, why_not = trace(model)
        phase = f"running {call}"
        defer_dynamo()
        for attempt, (channels, rank) in enumerate(layouts):
            runs, error = probe_runs(model, channels, rank, torch, user, 2 if traced else RUNS)
            first_error = first_error if attempt else error
            if runs or "channel" not in str(error[1]).lower():  # another in_channels only for a channel error
                break
    except Failure:
        raise
    except BaseException as error:  # noqa: BLE001 -- the user's code may raise anything, SystemExit included
        raise Failure(describe(error, user, phase, shown)) from None
    if not runs:
        size, error = first_error
        channels, rank = layouts[0]
        shape = "x".join(map(str, [BATCH, channels] + [size] * rank))
        raise Failure(describe(error, user, f"running {call} on a {shape} meta tensor (and "
                                            f"{len(PROBES[rank]) - 1} other sizes)", shown))
    items, sizes, warnings, check = network_items(runs, rank)
    probes = " and ".join("x".join([str(s)] * rank) for s in sizes)
    how = f"traced it with torch.fx, recorded at {probes}" if traced else \
        f"recorded runs at {probes} (torch.fx could not trace it: {why_not})"
    return {"items": items, "in_channels": channels, "warnings": warnings, "check": {"probes": sizes, "rank": rank,
                                                                                      "sizes": check},
            "origin": f"imported {call} from {shown} and {how}"}


def limit_resources(limit):
    """The address space (``limit`` bytes) and the size of any file written (the captured output included)."""
    global LIMIT_TEXT
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        LIMIT_TEXT = f"a {limit / 2**30:g} GiB address-space limit"
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE, MAX_FILE))


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    pid = os.getpid()
    limit_resources(request.get("memory"))
    stack = open(request["stack"], "w")  # noqa: SIM115 -- open until the process ends
    if request.get("timeout"):  # where it hangs, written shortly before the parent stops it
        faulthandler.dump_traceback_later(max(0.5, request["timeout"] - 1.0), file=stack)
    try:
        answer = record(request)
    except Failure as failure:
        answer = {"error": str(failure)}
    except BaseException as error:  # noqa: BLE001
        answer = {"error": one_line(f"recording failed: {type(error).__name__}: {error}")}
    if os.getpid() != pid:  # a fork of the user's module came this far: only the process started answers
        os._exit(0)
    temporary = request["result"] + ".part"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(answer, handle, default=str)
    os.replace(temporary, request["result"])
    os._exit(0)  # no atexit handlers or threads of the user's module run after the answer


if __name__ == "__main__":
    main(sys.argv)
