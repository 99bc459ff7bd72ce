"""What tconvcalc knows of torch: the torch.nn constructors that change sizes (their signatures, read
into make_network items), and the modules and functions that keep every size. Shared by the Python
reader and the print(model) reader."""

import re

from ..network import SpecError
from .items import axes_text
from .values import Leaf, Neutral, Unknown, Unsupported

_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode", "device", "dtype"]
_CONVT = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
          "dilation", "padding_mode", "device", "dtype"]
SIGNATURES = {  # torch.nn's constructor signatures, in order
    "conv": _CONV,
    "lazyconv": _CONV[1:],
    "convT": _CONVT,
    "lazyconvT": _CONVT[1:],
    "maxpool": ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"],
    "avgpool": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"],
    "upsample": ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"],
    "pixelshuffle": ["upscale_factor"],
    "unpool": ["kernel_size", "stride", "padding"],
    "pad": ["padding", "value"],
    "adaptive": ["output_size", "return_indices"],
    "linear": ["in_features", "out_features", "bias", "device", "dtype"],
    "lazylinear": ["out_features", "bias", "device", "dtype"],
    "flatten": ["start_dim", "end_dim"],
}
TORCH_LAYER = re.compile(r"(?P<lazy>Lazy)?(?P<what>Conv|ConvTranspose|MaxPool|AvgPool|MaxUnpool)(?P<rank>[123])d\Z")
TORCH_ADAPTIVE = re.compile(r"Adaptive(?P<what>Avg|Max)Pool(?P<rank>[123])d\Z")
TORCH_PAD = re.compile(r"(?P<mode>Zero|Constant|Reflection|Replication|Circular)Pad(?P<rank>[123])d\Z")
_PAD_MODES = {"Zero": "zeros", "Constant": "zeros", "Reflection": "reflect", "Replication": "replicate",
              "Circular": "circular"}  # ConstantPad's value changes no size
_UPSAMPLE = {"Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"}
TORCH_NEUTRAL = {
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d",
    "LazyInstanceNorm2d", "LazyInstanceNorm3d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm",
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Tanhshrink", "Softplus",
    "Softsign", "LogSigmoid", "Threshold", "Softmax", "Softmax2d", "LogSoftmax", "Softmin",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity",
    "ChannelShuffle",
}
FUNCTIONAL_NEUTRAL = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu", "elu_", "selu", "celu", "gelu",
    "silu", "mish", "sigmoid", "tanh", "hardtanh", "hardswish", "hardsigmoid", "softplus", "softsign",
    "logsigmoid", "softmax", "log_softmax", "softmin", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "feature_alpha_dropout", "batch_norm", "instance_norm", "group_norm", "layer_norm",
    "local_response_norm", "normalize", "clamp", "clip", "abs", "exp", "neg", "sqrt", "contiguous", "clone",
    "float", "double", "half", "to", "detach", "relu6_", "sigmoid_", "tanh_", "clamp_", "type", "cpu", "cuda",
    "randn_like", "rand_like", "zeros_like", "ones_like", "empty_like", "full_like",
}
TENSOR_BINARY = {  # elementwise operations of two tensors, and the merge each is: + and - add, * and / mul
    **dict.fromkeys(["add", "sub", "add_", "sub_", "subtract", "maximum", "minimum"], "add"),
    **dict.fromkeys(["mul", "div", "mul_", "div_", "multiply", "divide", "true_divide"], "mul"),
}
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}


def is_torch_layer(name):
    """Whether ``nn.<name>`` is a module tconvcalc knows (to hold ``nn.BatchNorm2d`` as a value)."""
    return bool(TORCH_LAYER.match(name) or TORCH_PAD.match(name) or TORCH_ADAPTIVE.match(name)) or \
        name in _UPSAMPLE or name in TORCH_NEUTRAL or name in _CONTAINERS or \
        name in ("PixelShuffle", "Linear", "LazyLinear", "Flatten")


def torch_layer(name, args, kwargs, where, call_text):
    """The module a torch.nn constructor makes (Leaf / Neutral / Unsupported / None if not torch.nn's)."""
    match, pad = TORCH_LAYER.match(name), TORCH_PAD.match(name)
    if pad:
        kind, signature = "pad", SIGNATURES["pad"]
    elif match:
        what = match["what"]
        kind = {"Conv": "conv", "ConvTranspose": "convT", "MaxPool": "maxpool", "AvgPool": "avgpool",
                "MaxUnpool": "unpool"}[what]
        signature = SIGNATURES[("lazy" if match["lazy"] else "") + kind] if kind in ("conv", "convT") \
            else SIGNATURES[kind]
    elif name in _UPSAMPLE:
        kind, signature = "upsample", SIGNATURES["upsample"]
    elif name == "PixelShuffle":
        kind, signature = "pixelshuffle", SIGNATURES["pixelshuffle"]
    elif name in TORCH_NEUTRAL:
        return Neutral()
    elif name in ("Linear", "LazyLinear", "Flatten") or TORCH_ADAPTIVE.match(name):
        return _features_layer(name, bind(SIGNATURES[_FEATURES[name] if name in _FEATURES else "adaptive"], args,
                                          kwargs, where, call_text), where, call_text)
    else:
        return None
    bound = bind(signature, args, kwargs, where, call_text)
    item = {"layer": kind, "where": where}
    rank = (match or pad)["rank"] if match or pad else name[-2] if name.endswith("2d") else None  # Upsampling..2d
    if rank:
        item["rank"] = int(rank)

    def literal(field, required=False):
        value = bound.get(field)
        if value is None:
            if required:
                raise SpecError(f"{where}: {call_text}: missing argument {field!r}")
            return None
        if isinstance(value, Unknown):
            raise SpecError(f"{where}: {call_text}: {field} is not a literal ({value.why}); "
                            "tconvcalc reads the source without running it")
        if isinstance(value, bool) or not isinstance(value, (int, float, str, list, tuple)):
            raise SpecError(f"{where}: {call_text}: cannot read {field}={value!r}")
        return value

    if kind in ("conv", "convT", "maxpool", "avgpool", "unpool"):
        item["kernel"] = axes_text(literal("kernel_size", required=True))
        stride = literal("stride")
        if stride is not None:
            item["stride"] = axes_text(stride)
        padding = literal("padding")
        if padding is not None:
            item["padding"] = axes_text(padding)
    if kind in ("conv", "convT", "maxpool"):
        dilation = literal("dilation")
        if dilation is not None:
            item["dilation"] = axes_text(dilation)
    if kind == "convT":
        output_padding = literal("output_padding")
        if output_padding is not None:
            item["output_padding"] = axes_text(output_padding)
    if kind in ("maxpool", "avgpool"):
        ceil = bound.get("ceil_mode")
        if isinstance(ceil, Unknown):
            raise SpecError(f"{where}: {call_text}: ceil_mode is not a literal ({ceil.why})")
        if ceil:
            item["ceil_mode"] = True
    if kind == "upsample":
        if bound.get("size") is not None:
            item["output_size"] = _output_size(literal("size"), where, call_text)
        else:
            item["scale"] = axes_text(literal("scale_factor", required=True))
    if kind == "pixelshuffle":
        item["scale"] = literal("upscale_factor", required=True)
    if kind == "pad":
        item["padding"] = _pad_text(literal("padding", required=True), int(pad["rank"]), where, call_text)
        item["padding_mode"] = _PAD_MODES[pad["mode"]]
    if kind in ("conv", "convT"):
        mode = literal("padding_mode")
        if mode is not None and mode != "zeros":
            item["padding_mode"] = mode
        for field, key in (("out_channels", "channels"), ("in_channels", "in_channels"), ("groups", "groups")):
            value = bound.get(field)
            if _positive(value) and (key != "groups" or value > 1):
                item[key] = value
    return Leaf(item)


_FEATURES = {"Linear": "linear", "LazyLinear": "lazylinear", "Flatten": "flatten"}


def _positive(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _features_layer(name, bound, where, call_text):
    """nn.Linear, nn.Flatten and the adaptive pools, as the make_network items linear / flatten /
    adaptiveavgpool / adaptivemaxpool."""
    adaptive = TORCH_ADAPTIVE.match(name)
    if adaptive:
        size = bound.get("output_size")
        if size is None or isinstance(size, Unknown):
            why = f" ({size.why})" if isinstance(size, Unknown) else ""
            return Unsupported(where, f"{call_text}: output_size is not a literal{why}")
        return Leaf({"layer": f"adaptive{adaptive['what'].lower()}pool", "rank": int(adaptive["rank"]),
                     "output_size": _output_size(size, where, call_text), "where": where})
    if name == "Flatten":
        if bound.get("start_dim", 1) != 1 or bound.get("end_dim", -1) != -1:
            return Unsupported(where, f"{call_text}: tconvcalc follows Flatten from axis 1 to the end only")
        return Leaf({"layer": "flatten", "where": where})
    item = {"layer": "linear", "where": where}
    for field, key in (("out_features", "channels"), ("in_features", "in_channels")):
        value = bound.get(field)
        if _positive(value):
            item[key] = value
        elif field == "out_features":
            why = f" ({value.why})" if isinstance(value, Unknown) else ""
            return Unsupported(where, f"{call_text}: out_features is not a literal{why}")
    return Leaf(item)


def _output_size(size, where, call_text):
    """An adaptive pool's or Upsample's output size: 7 -> 7, (7, None) -> '7xNone' (None keeps that axis)."""
    values = list(size) if isinstance(size, (list, tuple)) else [size]
    if not values or not all(v is None or _positive(v) for v in values):
        raise SpecError(f"{where}: {call_text}: output size {size!r} is not positive integers (or None)")
    if len(values) == 1 or len(set(values)) == 1 and None not in values:
        return values[0]
    return "x".join("None" if v is None else str(v) for v in values)


def _pad_text(padding, rank, where, call_text):
    """nn.*Pad{r}d's padding -- an int, or 2r ints with the last axis first -- as before:after per axis."""
    if isinstance(padding, int):
        return padding
    if not isinstance(padding, (list, tuple)) or len(padding) != 2 * rank or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in padding):
        raise SpecError(f"{where}: {call_text}: padding must be an int or {2 * rank} ints, got {padding!r}")
    pairs = [padding[i:i + 2] for i in range(0, 2 * rank, 2)][::-1]
    return "x".join(f"{before}:{after}" for before, after in pairs)


def bind(signature, args, kwargs, where, call_text):
    """Arguments by parameter name, bound as Python binds a call to ``signature``."""
    if len(args) > len(signature):
        raise SpecError(f"{where}: {call_text}: takes at most {len(signature)} positional arguments, "
                        f"got {len(args)}")
    bound = dict(zip(signature, args))
    for key, value in kwargs.items():
        if key not in signature:
            raise SpecError(f"{where}: {call_text}: unexpected keyword argument {key!r}")
        if key in bound:
            raise SpecError(f"{where}: {call_text}: got multiple values for argument {key!r}")
        bound[key] = value
    return bound
