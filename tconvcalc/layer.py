"""The Layer: one framework's layer, normalised to per-axis tuples; and parsing of what users type.

Everything a user writes (``126x100``, ``4x3``, ``1:2``, ``same``) is parsed here, once,
into plain tuples; the core never sees text. Nothing here evaluates user text.
"""

import re
from dataclasses import dataclass

from .errors import InputError

FRAMEWORKS = ("torch", "keras", "tf", "jax", "onnx")
KINDS = ("conv", "convT", "maxpool", "avgpool", "upsample", "pixelshuffle", "unpool", "pad", "adaptiveavgpool",
         "adaptivemaxpool", "depthwise", "separable", "lppool", "pixelunshuffle")
_KIND_ALIASES = {
    "conv": "conv", "convolution": "conv",
    "convt": "convT", "conv-transpose": "convT", "conv_transpose": "convT", "convtranspose": "convT",
    "deconv": "convT", "transpose": "convT",
    "maxpool": "maxpool", "max-pool": "maxpool", "max_pool": "maxpool",
    "avgpool": "avgpool", "avg-pool": "avgpool", "avg_pool": "avgpool",
    "upsample": "upsample", "interpolate": "upsample",
    "pixelshuffle": "pixelshuffle", "pixel-shuffle": "pixelshuffle", "pixel_shuffle": "pixelshuffle",
    "depth_to_space": "pixelshuffle",
    "unpool": "unpool", "maxunpool": "unpool", "max-unpool": "unpool", "max_unpool": "unpool",
    "pad": "pad",
    **{f"{prefix}{sep}{word}{sep}pool": f"adaptive{kind}pool" for prefix in ("adaptive", "global")
       for kind, words in (("avg", ("avg", "average")), ("max", ("max",))) for word in words for sep in ("", "_", "-")},
    "gap": "adaptiveavgpool", "gmp": "adaptivemaxpool",
    **{f"{word}{sep}conv": kind for word, kind in (("depthwise", "depthwise"), ("separable", "separable"))
       for sep in ("", "_", "-")},
    "depthwise": "depthwise", "dwconv": "depthwise", "separable": "separable", "sepconv": "separable",
    "lppool": "lppool", "lp-pool": "lppool", "lp_pool": "lppool",
    "pixelunshuffle": "pixelunshuffle", "pixel-unshuffle": "pixelunshuffle", "pixel_unshuffle": "pixelunshuffle",
    "space_to_depth": "pixelunshuffle", "space-to-depth": "pixelunshuffle", "spacetodepth": "pixelunshuffle",
    "depth-to-space": "pixelshuffle", "depthtospace": "pixelshuffle",
}
# Global pooling is adaptive pooling to one value per axis.
GLOBAL_ALIASES = frozenset(alias for alias in _KIND_ALIASES if alias.startswith("global") or alias in ("gap", "gmp"))
PADDING_WORDS = ("valid", "same", "same_upper", "same_lower", "causal")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")  # torch Conv's padding_mode
PAD_MODES = PADDING_MODES + ("symmetric",)  # a pad layer's: numpy's names aside (edge = replicate, wrap = circular)
KERAS_BACKENDS = ("tensorflow", "jax", "torch")
KERAS_APIS = ("layers", "ops")  # keras.layers.Conv2D(...) or keras.ops.conv(...): their rules differ

# Which options each kind of layer takes (the CLI's option names, for messages).
OPTIONS = {
    "conv": {"kernel", "stride", "padding", "dilation", "padding_mode", "groups", "input_dilation"},
    "convT": {"kernel", "stride", "padding", "dilation", "output_padding", "output_size", "padding_mode", "groups",
              "consistent_padding"},
    "maxpool": {"kernel", "stride", "padding", "dilation", "ceil_mode", "input_dilation"},
    "avgpool": {"kernel", "stride", "padding", "dilation", "ceil_mode", "input_dilation"},
    "upsample": {"scale", "output_size"},
    "pixelshuffle": {"scale"},
    "unpool": {"kernel", "stride", "padding", "output_size"},
    "pad": {"padding", "padding_mode"},
    "adaptiveavgpool": {"output_size"},
    "adaptivemaxpool": {"output_size"},
    # groups = the input channels (depthwise); separable: that, then a 1x1 conv, which keeps the spatial size
    "depthwise": {"kernel", "stride", "padding", "dilation", "padding_mode"},
    "separable": {"kernel", "stride", "padding", "dilation"},
    "lppool": {"kernel", "stride", "padding", "dilation", "ceil_mode"},
    "pixelunshuffle": {"scale"},
}
ADAPTIVE = ("adaptiveavgpool", "adaptivemaxpool")
FLAG = {
    "kernel": "-k/--kernel", "stride": "-s/--stride", "padding": "-p/--padding",
    "dilation": "-d/--dilation", "output_padding": "--output-padding",
    "output_size": "--output-size", "ceil_mode": "--ceil-mode", "scale": "--scale",
    "padding_mode": "--padding-mode", "groups": "--groups",
    "input_dilation": "--input-dilation", "consistent_padding": "--consistent-padding",
}
# Options only some frameworks have, per (option, kind): who has them, for the one-line refusal elsewhere.
EXTRAS = {
    ("input_dilation", "conv"): ("jax", "jax lax.conv_general_dilated(lhs_dilation=...)"),
    ("input_dilation", "maxpool"): ("jax", "jax lax.reduce_window(base_dilation=...)"),
    ("input_dilation", "avgpool"): ("jax", "jax lax.reduce_window(base_dilation=...)"),
    ("consistent_padding", "convT"): ("jax", "jax lax.conv_transpose(use_consistent_padding=True)"),
    ("dilation", "avgpool"): ("onnx jax", "onnx AveragePool(dilations=..., opset 19) and jax "
                                          "lax.reduce_window(window_dilation=...)"),
}
MAX_INT = 2**31 - 1  # no framework indexes beyond this per axis in practice; larger is a typo
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[+-]?[0-9]+\Z")  # ASCII digits only: int() would also take '١٢' as 12
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")  # float() also takes '1_0', 'nan', '١'
# Accepted outputs (convT, unpool) and the inputs a conv folds together are listed one per value below
# the stride or dilation, so a larger stride or dilation is a typo, not a layer.
MAX_STRIDE = 2**16
MAX_SCALE_CHARS = 32
_AXIS_SEPARATOR = re.compile(r"\s*[x×,]\s*")


@dataclass(frozen=True)
class Layer:
    """One layer of one framework, every per-axis value a tuple of length ``rank``.

    ``padding`` is a padding word (``"same"``, ``"valid"``, ...) or a (before, after) pair per axis.
    ``output_padding`` None means the framework's default (Keras: inferred).
    """

    kind: str
    framework: str
    rank: int
    kernel: tuple = ()
    stride: tuple = ()
    dilation: tuple = ()
    padding: object = ()
    output_padding: tuple | None = None
    output_size: tuple | None = None
    ceil_mode: bool = False
    scale: tuple | None = None
    backend: str = "tensorflow"
    padding_mode: str = "zeros"  # torch: what the pads hold (zeros, or the input reflected/replicated/wrapped)
    groups: int = 1  # conv/convT: channels split into groups (depthwise: groups == in channels)
    api: str = "layers"  # keras: "layers" (keras.layers.Conv2D) or "ops" (keras.ops.conv, run eagerly)
    input_dilation: tuple | None = None  # jax: lhs_dilation (conv) / base_dilation (pools); None: 1 on every axis
    consistent_padding: bool = False  # jax conv_transpose(use_consistent_padding=True): pads are the forward conv's

    @property
    def symmetric_pads(self):
        """Per-axis ints when every explicit pad is symmetric, else None."""
        if isinstance(self.padding, str) or any(b != a for b, a in self.padding):
            return None
        return tuple(b for b, _ in self.padding)


# ---- parsing ----------------------------------------------------------------------------


def parse_kind(text):
    """A kind by tconvcalc's name or alias, or by a framework's own name (``Conv2DTranspose``, ``LpPool``)."""
    kind = _KIND_ALIASES.get(str(text).strip().lower())
    if kind is None:
        from .names import framework_kind

        named = framework_kind(text)
        if named is None:
            raise InputError(f"unknown layer {str(text)[:60]!r}; expected one of: {', '.join(KINDS)}, or a "
                             "framework's layer name (see tconvcalc forward --help)")
        kind = named[0]
    return kind


def _named_rank(kind, rank):
    """A framework name's own rank (Conv2d is 2-D) must be the size's; a global pool's name pools to 1."""
    from .names import framework_kind

    named = framework_kind(kind) if str(kind).strip().lower() not in _KIND_ALIASES else None
    if named is not None and named[1] is not None and named[1] != rank:
        raise InputError(f"{str(kind).strip()} is a {named[1]}-D layer, but the size has {rank} "
                         f"ax{'is' if rank == 1 else 'es'}")
    return named is not None and named[2]


def parse_framework(text):
    name = str(text).strip().lower()
    name = {"pytorch": "torch", "tensorflow": "tf", "ort": "onnx", "onnxruntime": "onnx"}.get(name, name)
    if name not in FRAMEWORKS:
        raise InputError(f"unknown framework {text!r}; expected one of: {', '.join(FRAMEWORKS)}")
    return name


def parse_backend(text):
    """A Keras backend; None is the default, tensorflow (an empty --backend '' is a mistake, not the default)."""
    if text is None:
        return "tensorflow"
    name = str(text).strip().lower()
    name = {"tf": "tensorflow"}.get(name, name)
    if name not in KERAS_BACKENDS:
        raise InputError(f"unknown keras backend {text!r}; expected one of: {', '.join(KERAS_BACKENDS)}")
    return name


def parse_api(text):
    """keras.layers (None, the default) or keras.ops."""
    if text is None:
        return "layers"
    name = str(text).strip().lower()
    name = {"keras.layers": "layers", "keras.ops": "ops", "layer": "layers", "op": "ops"}.get(name, name)
    if name not in KERAS_APIS:
        raise InputError(f"unknown keras api {str(text)[:40]!r}; expected one of: {', '.join(KERAS_APIS)}")
    return name


def parse_int(text, name, minimum=1):
    """One integer in [minimum, MAX_INT]."""
    text = str(text).strip()
    if not _INT.match(text):
        raise InputError(f"{name} must be an integer, got {text!r}")
    if len(text.lstrip("+-0")) > 18:  # before int(): huge digit strings are slow, and above 4300 digits an error
        raise InputError(f"{name} {text[:20]}{'...' if len(text) > 20 else ''} is too large (at most {MAX_INT})")
    value = int(text)
    if value < minimum:
        rule = "positive" if minimum == 1 else f"at least {minimum}"
        raise InputError(f"{name} must be {rule}, got {value}")
    if abs(value) > MAX_INT:
        raise InputError(f"{name} {value} is too large (at most {MAX_INT})")
    return value


def _axes(text, name="value"):
    if isinstance(text, (tuple, list)):
        if not text:
            raise InputError(f"{name} is empty: give a value, or one per axis")
        return [str(part) for part in text]
    parts = _AXIS_SEPARATOR.split(str(text).strip())
    if not all(parts):
        raise InputError(f"{name} {text!r} is malformed: expected numbers separated by 'x', like 126x100")
    return parts


_SIZE_SEPARATOR = re.compile(r"\s*[×,]\s*")


def _size_axes(text):
    """A size's axes. 'x' separates them unless '×' or ',' does (then 'x' is a letter: ``exec,W``); split on
    'x', a symbol must be one letter, since ``exec`` would read as the two axes e and ec."""
    if isinstance(text, (tuple, list)) or not _SIZE_SEPARATOR.search(str(text)):
        parts = _axes(text, "size")
        long_symbol = next((p for p in parts if _SYMBOL.match(p) and len(p) > 1), None)
        if "x" in str(text) and long_symbol and not isinstance(text, (tuple, list)):
            shown = str(text)[:40]
            raise InputError(f"size {shown!r} is ambiguous: 'x' separates axes, so it reads as "
                             f"{' x '.join(parts)[:60]}; separate axes with ',' (like {shown.replace('x', ',', 1)}) "
                             "or name the symbol without an x")
        return parts
    parts = _SIZE_SEPARATOR.split(str(text).strip())
    if not all(parts):
        raise InputError(f"size {text!r} is malformed: expected numbers or symbols separated by ',', like H,W")
    return parts


def parse_size(text):
    """``126`` -> (126,); ``8x126x126`` -> (8, 126, 126); ``HxW`` -> ('H', 'W') (symbol names);
    ``Hin,Win`` -> ('Hin', 'Win'): with ',' or '×' between axes a symbol may be longer and hold an x."""
    parts = _size_axes(text)
    if len(parts) > 3:
        raise InputError(f"size {text!r} has {len(parts)} axes; 1-D, 2-D and 3-D are supported")
    size = []
    for part in parts:
        if _SYMBOL.match(part):
            size.append(part)
        else:
            size.append(parse_int(part, "size"))
    return tuple(size)


def parse_per_axis(text, rank, name, minimum=1):
    """``4`` -> (4,)*rank; ``4x3`` -> (4, 3), which must have ``rank`` entries."""
    values = tuple(parse_int(part, name, minimum) for part in _axes(text, name))
    if name in ("stride", "dilation") and max(values) > MAX_STRIDE:
        raise InputError(f"{name} {max(values)} is too large (at most {MAX_STRIDE})")
    return _broadcast(values, rank, name, text)


def _broadcast(values, rank, name, text):
    if len(values) == 1:
        return values * rank
    if len(values) != rank:
        raise InputError(f"{name} {text!r} has {len(values)} axes but the size has {rank}")
    return values


def parse_padding(text, rank):
    """A padding word, or per-axis ints where ``b:a`` gives an asymmetric (before, after) pair."""
    word = str(text).strip().lower()
    if word in PADDING_WORDS:
        return word
    if re.fullmatch(r"[a-z_]+", word):
        raise InputError(f"unknown padding {text!r}; expected an integer or one of: {', '.join(PADDING_WORDS)}")
    pairs = []
    for part in _axes(text, "padding"):
        ends = part.split(":")
        if len(ends) > 2:
            raise InputError(f"malformed padding {part!r}: expected P or BEFORE:AFTER")
        before, after = (parse_int(end, "padding", minimum=-MAX_INT) for end in (ends * 2)[:2])
        pairs.append((before, after))
    return _broadcast(tuple(pairs), rank, "padding", text)


def parse_scale(text, rank):
    values = []
    for part in _axes(text, "scale"):
        if len(part) > MAX_SCALE_CHARS:  # float() of 40,000 digits is slow, and no scale needs them
            raise InputError(f"scale {part[:20]}... has {len(part)} characters (at most {MAX_SCALE_CHARS})")
        if not _NUMBER.match(part) and part.lower().lstrip("+-") not in ("nan", "inf", "infinity"):
            raise InputError(f"scale must be a number, got {part[:40]!r}")
        value = float(part)
        if not 0 < value < 1e9:  # also rejects nan and inf
            raise InputError(f"scale must be positive and finite, got {part!r}")
        values.append(value)
    return _broadcast(tuple(values), rank, "scale", text)


def build_layer(kind, framework="torch", rank=1, *, kernel=None, stride=None, padding=None,
                dilation=None, output_padding=None, output_size=None, ceil_mode=False, scale=None,
                backend=None, padding_mode=None, groups=None, api=None, input_dilation=None,
                consistent_padding=False):
    """Parse and validate every option once; the result is the only thing the core sees."""
    from .frameworks import module

    if str(kind).strip().lower() in GLOBAL_ALIASES or _named_rank(kind, rank):
        output_size = _global_output_size(kind, output_size)
    kind, framework = parse_kind(kind), parse_framework(framework)
    given = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
             "output_padding": output_padding, "output_size": output_size,
             "ceil_mode": ceil_mode or None, "scale": scale, "padding_mode": padding_mode, "groups": groups,
             "input_dilation": input_dilation, "consistent_padding": consistent_padding or None}
    for option, value in given.items():
        if value is not None and option not in OPTIONS[kind]:
            takers = [k for k in KINDS if option in OPTIONS[k]]
            raise InputError(f"{FLAG[option]} does not apply to {kind} (it applies to {', '.join(takers)})")
        framework_has(option, kind, framework, value)
    if backend is not None and framework != "keras":
        raise InputError("--backend applies to -f keras only")
    backend = parse_backend(backend)
    if api is not None and framework != "keras":
        raise InputError("--api applies to -f keras only")
    api = parse_api(api)

    fields = {}
    if "kernel" in OPTIONS[kind]:
        if kernel is None:
            raise InputError(f"{kind} needs a kernel size: -k/--kernel")
        fields["kernel"] = parse_per_axis(kernel, rank, "kernel")
        default_stride = fields["kernel"] if kind in ("maxpool", "avgpool", "unpool", "lppool") else (1,) * rank
        fields["stride"] = default_stride if stride is None else parse_per_axis(stride, rank, "stride")
        fields["dilation"] = (1,) * rank if dilation is None else parse_per_axis(dilation, rank, "dilation")
        fields["padding"] = (module(framework).DEFAULT_PADDING if padding is None
                             else parse_padding(padding, rank))
        if fields["padding"] == "zeros":
            fields["padding"] = ((0, 0),) * rank
    if kind == "pad":
        fields["padding"] = _pad_amounts(padding, rank)
    if output_padding is not None:
        fields["output_padding"] = parse_per_axis(output_padding, rank, "output_padding", minimum=0)
    if kind in ADAPTIVE:
        fields["output_size"] = parse_adaptive_size(output_size, rank, kind)
    elif output_size is not None:
        fields["output_size"] = parse_per_axis(output_size, rank, "output size")
    if kind == "upsample" and (scale is None) == (output_size is None):
        raise InputError("upsample needs one of --scale (scale_factor) or --output-size (size), not both"
                         if scale is not None else "upsample needs a scale factor (--scale) or an output size "
                         "(--output-size)")
    if groups is not None:
        fields["groups"] = parse_int(groups, "groups")
    if kind in ("pixelshuffle", "pixelunshuffle") or (kind == "upsample" and scale is not None):
        if scale is None:
            raise InputError(f"{kind} needs a scale factor: --scale")
        fields["scale"] = parse_scale(scale, rank)
        if kind != "upsample":
            factors = fields["scale"]
            if any(f != int(f) for f in factors) or len(set(factors)) > 1:
                factor = "upscale" if kind == "pixelshuffle" else "downscale (block size)"
                raise InputError(f"{kind} takes one integer {factor} factor, got {scale!r}")
    if padding_mode is not None:
        fields["padding_mode"] = parse_padding_mode(padding_mode, framework, kind)
    if input_dilation is not None:
        fields["input_dilation"] = parse_per_axis(input_dilation, rank, "input dilation")
    return Layer(kind, framework, rank, ceil_mode=bool(ceil_mode), backend=backend, api=api,
                 consistent_padding=bool(consistent_padding), **fields)


def framework_has(option, kind, framework, value):
    """An option only some frameworks have (EXTRAS) is exit 2 elsewhere, in one line naming who has it;
    -d 1 on an average pool stays the no-op it always was."""
    extra = EXTRAS.get((option, kind))
    if value is None or extra is None or framework in extra[0].split():
        return
    if option == "dilation" and all(str(part).strip().lstrip("+0") in ("1",) for part in _axes(value, "dilation")):
        return
    aside = " (its padding already is the forward conv's)" if option == "consistent_padding" else ""
    raise InputError(f"{FLAG[option]} on {kind}: {framework} has none{aside}; {extra[1]} ha"
                     f"{'ve' if ' ' in extra[0] else 's'} it")


def _global_output_size(kind, output_size):
    """Global pooling is adaptive pooling to 1 on every axis; another output size is not global."""
    if output_size is not None and any(str(part).strip() != "1" for part in _axes(output_size, "output size")):
        raise InputError(f"{kind} pools every axis to 1; for --output-size {output_size} use adaptiveavgpool or "
                         "adaptivemaxpool")
    return 1


def parse_adaptive_size(text, rank, kind="adaptiveavgpool"):
    """An adaptive pool's output size per axis: ints >= 0, or None (torch's None: keep that axis)."""
    if text is None:
        raise InputError(f"{kind} needs the output size: --output-size (7, or per axis 7x7; None keeps an axis)")
    values = tuple(None if str(part).strip().lower() == "none" else parse_int(part, "output size", minimum=0)
                   for part in _axes(text, "output size"))
    return _broadcast(values, rank, "output size", text)


def _pad_amounts(text, rank):
    """A pad layer's (before, after) per axis: integers only (negative: a crop)."""
    if text is None:
        raise InputError("pad needs the amounts: -p/--padding (P, or BEFORE:AFTER per axis such as 1:2x0:1)")
    padding = parse_padding(text, rank)
    if isinstance(padding, str):
        raise InputError(f"pad takes integer amounts (P, or BEFORE:AFTER per axis), not {padding!r}")
    return padding


def parse_padding_mode(text, framework, kind="conv"):
    """torch Conv's padding_mode (its own refusal for an unknown word; other frameworks' convs pad with zeros),
    or a pad layer's mode (each framework says which it has)."""
    mode = str(text).strip().lower()
    mode = {"constant": "zeros", "edge": "replicate", "wrap": "circular"}.get(mode, mode) if kind == "pad" else mode
    if kind == "pad":
        if mode not in PAD_MODES:
            raise InputError(f"unknown pad mode {str(text)[:40]!r}; expected one of: {', '.join(PAD_MODES)}")
        return mode
    if mode not in PADDING_MODES:
        raise InputError(f"padding_mode must be one of {{'circular', 'replicate', 'reflect', 'zeros'}}, "
                         f"but got padding_mode={str(text)[:40]!r}")
    if mode != "zeros" and framework != "torch":
        raise InputError(f"--padding-mode {mode} is torch's; {framework} convolutions pad with zeros: pad the "
                         f"input first ({_PAD_OPS[framework]}) and use padding='valid'")
    return mode


_PAD_OPS = {"keras": "keras.ops.pad(x, pads, mode=...)", "tf": "tf.pad(x, pads, mode='REFLECT'/'SYMMETRIC')",
            "jax": "jnp.pad(x, pads, mode='reflect'/'edge'/'wrap')", "onnx": "a Pad node, mode reflect/edge/wrap"}
