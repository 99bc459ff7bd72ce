"""PyTorch: torch.nn Conv/ConvTranspose/MaxPool/AvgPool/Upsample/PixelShuffle/MaxUnpool (torch 2.x).

Rules from torch/nn/modules/conv.py, aten/src/ATen/native/ConvUtils.h, Convolution.cpp,
Pool.h, MaxPooling.h, UpSample.cpp and torch/nn/functional.py; checked against torch itself
in tests/frameworks/test_torch.py.
"""

import re

from ..arithmetic import (all_of, any_of, conv_out, conv_transpose_out, effective_kernel, equal, floor_div,
                          floor_scale, minimum, split_pad, where)
from . import AxisOut, adaptive_outputs, call, consecutive_outputs, not_available, per_axis, possible

DEFAULT_PADDING = "zeros"


def _dims(values):
    """torch's "(a x b)" in shape messages."""
    return "(" + " x ".join(str(v) for v in values) + ")"


def _num(value):
    """A value as torch prints it: the number, or the expression while it is symbolic."""
    try:
        return int(value)
    except TypeError:
        return value


def _explicit_pads(layer, what):
    """torch pads symmetrically per axis: an int or a tuple of ints, never before:after."""
    pads = layer.symmetric_pads
    if pads is None:
        not_available(f"torch {what} pads each axis symmetrically; got before:after pads",
                      "pad with F.pad first, or use -f jax/onnx/tf")
    return pads


def _require_each(checks, conditions, message):
    """checks.require per axis: with symbolic sizes each axis keeps its own readable condition."""
    for condition in conditions:
        checks.require(condition, message)


def _non_negative(pads, checks):
    """Convolution.cpp check_shape_forward."""
    checks.require(all(p >= 0 for p in pads), "negative padding is not supported")


def conv(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if layer.padding == "same":
        checks.require(all(x == 1 for x in s), "padding='same' is not supported for strided convolutions")
        # ATen convolution_same: total d*(k-1), the odd pixel at the end.
        pairs = [split_pad(dj * (kj - 1)) for kj, dj in zip(k, d)]
        checks.note("padding='same': total pad d×(k-1) per axis, the extra pixel after")
    elif layer.padding == "valid":
        pairs = [(0, 0)] * layer.rank
    elif isinstance(layer.padding, str):
        not_available(f"Invalid padding string '{layer.padding}', should be one of {{'valid', 'same'}}")
    else:
        pads = _explicit_pads(layer, "Conv")
        if layer.padding_mode != "zeros" and any(p < 0 for p in pads):
            not_available(f"negative padding with padding_mode='{layer.padding_mode}' is not modelled: torch crops "
                          "there with F.pad, whose checks end in internal errors for some sizes",
                          "crop the input first and use padding >= 0")
        _non_negative(pads, checks)
        pairs = [(p, p) for p in pads]
    _pad_with_input(layer, sizes, pairs, checks)
    padded = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    kernels = [effective_kernel(kj, dj) for kj, dj in zip(k, d)]
    _require_each(
        checks, [pn >= ek for pn, ek in zip(padded, kernels)],
        f"Calculated padded input size per channel: {_dims(padded)}. Kernel size: {_dims(kernels)}. "
        "Kernel size can't be greater than actual input size")
    return tuple(AxisOut(conv_out(n, kj, sj, dj, b, a), (b, a))
                 for n, kj, sj, dj, (b, a) in zip(sizes, k, s, d, pairs))


def _pad_with_input(layer, sizes, pairs, checks):
    """padding_mode other than zeros: Conv._conv_forward pads with F.pad(mode=...) before the conv, whose
    reflection stays inside the input and whose wrap goes round at most once (replicate takes any pad)."""
    if layer.padding_mode == "reflect":  # F.pad checks the last axis first
        for axis in reversed(range(layer.rank)):
            (before, after), n = pairs[axis], sizes[axis]
            checks.require(all_of([before < n, after < n]),
                           "Padding size should be less than the corresponding input dimension, but got: "
                           f"padding ({_num(before)}, {_num(after)}) at dimension {axis + 2}")
    elif layer.padding_mode == "circular":
        _require_each(checks, [p <= n for n, pair in zip(sizes, pairs) for p in pair],
                      "Padding value causes wrapping around more than once.")
    if layer.padding_mode != "zeros":
        checks.note(f"padding_mode='{layer.padding_mode}': F.pad fills the pads from the input, then the conv")


def conv_transpose(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if layer.padding_mode != "zeros":
        checks.refuse(f'Only "zeros" padding mode is supported for ConvTranspose{layer.rank}d')
    if isinstance(layer.padding, str):  # the ctor keeps the word; forward fails on it
        if layer.output_size is not None:  # _output_padding computes with the pads first
            not_available("unsupported operand type(s) for -: 'int' and 'str' (ConvTranspose has no 'same'/'valid')")
        not_available(f"conv_transpose{layer.rank}d(): argument 'padding' (position 5) must be tuple of ints, "
                      "but found element of type str at pos 0 (ConvTranspose has no 'same'/'valid')")
    pads = _explicit_pads(layer, "ConvTranspose")
    smallest = [conv_transpose_out(n, kj, sj, dj, p, p, 0) for n, kj, sj, dj, p in zip(sizes, k, s, d, pads)]
    if layer.output_size is not None:
        # ConvTransposeNd._output_padding (Python, before ATen sees the pads): the range depends on the
        # stride only, so an output_padding >= stride that dilation would allow is out of its reach.
        largest = [lo + sj - 1 for lo, sj in zip(smallest, s)]
        _require_each(
            checks, [c for o, lo, hi in zip(layer.output_size, smallest, largest) for c in (lo <= o, o <= hi)],
            f"requested an output size of {list(map(_num, layer.output_size))}, but valid sizes range from "
            f"{list(map(_num, smallest))} to {list(map(_num, largest))} "
            f"(for an input of torch.Size({list(map(_num, sizes))}))")
        ops = [o - lo for o, lo in zip(layer.output_size, smallest)]
        checks.note("forward(output_size=...): output_padding = output_size - smallest output")
    else:
        ops = layer.output_padding or (0,) * layer.rank
    _non_negative(pads, checks)
    names = ("depth", "height", "width")[-max(layer.rank, 2):]
    shown = list(zip(ops, s, d)) if layer.rank > 1 else [(0, 1, 1)] + list(zip(ops, s, d))
    _require_each(
        checks, [any_of([op < sj, op < dj]) for op, sj, dj in zip(ops, s, d)],
        lambda: "output padding must be smaller than either stride or dilation, but got "
        + " ".join(f"output_padding_{n}: {_num(v[0])}" for n, v in zip(names, shown)) + " "
        + " ".join(f"stride_{n}: {v[1]}" for n, v in zip(names, shown)) + " "
        + " ".join(f"dilation_{n}: {v[2]}" for n, v in zip(names, shown)))
    outputs = [conv_transpose_out(n, kj, sj, dj, p, p, op)
               for n, kj, sj, dj, p, op in zip(sizes, k, s, d, pads, ops)]
    as_2d = (lambda v: [1, *v]) if layer.rank == 1 else list
    def too_small(suffix=""):
        return (f"Given input size per channel: {_dims(as_2d(sizes))}. Calculated output size per channel: "
                f"{_dims(as_2d(outputs))}. Output size is too small{suffix}")

    if layer.rank > 1:
        # Found by tests/frameworks/test_torch.py: with oneDNN on (mkldnn, torch's CPU default)
        # ConvTranspose2d/3d returns an empty tensor when an axis is 0 and none is negative.
        checks.require(
            any_of([any_of(o < 0 for o in outputs), all_of(o >= 1 for o in outputs)]),
            lambda: too_small(" (the reference kernels refuse; with torch.backends.mkldnn enabled, the CPU "
                              f"default, ConvTranspose{layer.rank}d returns an empty tensor of this size instead)"))
    _require_each(checks, [o >= 1 for o in outputs], too_small)
    # Every output some output_padding the module accepts gives: op < stride or op < dilation.
    return tuple(
        AxisOut(o, (p, p), op, consecutive_outputs(lo, max(sj, dj)))
        for o, lo, p, op, sj, dj in zip(outputs, smallest, pads, ops, s, d))


def _pool(layer, sizes, checks, name):
    k, s = layer.kernel, layer.stride
    d = layer.dilation if name == "max" else (1,) * layer.rank
    r = layer.rank
    if isinstance(layer.padding, str):
        # AvgPool1d's ctor turns the word into a tuple of letters (_single); the others keep the str.
        found = "but found element of type str at pos 0" if name == "avg" and r == 1 else "not str"
        not_available(f"{name}_pool{r}d(): argument 'padding' (position 4) must be tuple of ints, {found} "
                      "(torch pooling has no 'same'/'valid')")
    pads = _explicit_pads(layer, "pooling")
    one_d_max = name == "max" and r == 1  # MaxPool1d without indices: MaxPooling.h check_max_pool1d
    if one_d_max:
        p, kj = int(pads[0]), int(k[0])
        checks.require(p >= 0, f"max_pool1d() padding must be non-negative, but got {p}")
        checks.require(p <= kj // 2, f"max_pool1d() padding should be at most half of kernel size, but got "
                                     f"padding={p} and kernel_size={kj}")
    for kj, dj, p in zip(k, d, pads):  # Pool.h pooling_output_shape, axis by axis (AvgPool1d: W after H=1)
        checks.require(p >= 0, f"pad must be non-negative, but got pad: {int(p)}")
        checks.require(p <= effective_kernel(kj, dj) // 2,
                       f"pad should be at most half of effective kernel size, but got pad={int(p)}, "
                       f"kernel_size={int(kj)} and dilation={int(dj)}")
    outputs = []
    for n, kj, sj, dj, p in zip(sizes, k, s, d, pads):
        o = floor_div(n + 2 * p - effective_kernel(kj, dj) + (sj - 1 if layer.ceil_mode else 0), sj) + 1
        if layer.ceil_mode:
            # The last window must start inside the input or the left pad, never in the right pad.
            o = where((o - 1) * sj >= n + p, o - 1, o)
        outputs.append(o)
    if layer.ceil_mode:
        checks.note("ceil_mode: a last window that would start in the right pad is dropped")
    if one_d_max:
        checks.require(outputs[0] >= 1,
                       f"max_pool1d() Invalid computed output size: {_num(outputs[0])}")
        return tuple(AxisOut(o, (p, p)) for o, p in zip(outputs, pads))
    if name == "avg" and r == 3:
        # avg_pool3d (AveragePool3d.cpp) asks pool3d_shape_check for check_input_size: the unpadded
        # input must hold the kernel, whatever the padding.
        _require_each(checks, [n >= kj for n, kj in zip(sizes, k)],
                       f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller than kernel size "
                       f"(kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    # pool2d/3d_shape_check: k/2 >= pad, which ignores dilation.
    checks.require(all(kj // 2 >= p for kj, p in zip(k, pads)), _half_kernel_message(k, pads))
    shown = (lambda v: ["C", 1, *v]) if r == 1 else (lambda v: ["C", *v])
    _require_each(checks, [o >= 1 for o in outputs],
                   f"Given input size: ({'x'.join(map(str, shown(sizes)))}). Calculated output size: "
                   f"({'x'.join(map(str, shown(outputs)))}). Output size is too small")
    return tuple(AxisOut(o, (p, p)) for o, p in zip(outputs, pads))


def _half_kernel_message(kernel, pads):
    kernel, pads = tuple(map(int, kernel)), tuple(map(int, pads))
    if len(kernel) == 3:  # pool3d_shape_check
        (kt, kh, kw), (pt, ph, pw) = kernel, pads
        return ("pad should be smaller than or equal to half of kernel size, but got "
                f"kT: {kt} kW: {kw} kH: {kh} padT: {pt} padW: {pw} padH: {ph}")
    if len(kernel) == 1:  # a 1-D pool runs as 2-D with height 1, pad 0
        kernel, pads = (1, *kernel), (0, *pads)
    (kh, kw), (ph, pw) = kernel, pads  # pool2d_shape_check names width before height
    return ("pad should be smaller than or equal to half of kernel size, but got "
            f"padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "max")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "avg")


def upsample(layer, sizes, checks):
    if layer.scale is None:  # Upsample(size=...) / F.interpolate(size=...)
        outputs = list(layer.output_size)
        checks.note("output = the size asked for (size=)")
    else:
        outputs = [floor_scale(n, f) for n, f in zip(sizes, layer.scale)]
        checks.note("output = floor(float64(input) × scale_factor)")
    names = ("D", "H", "W")[-layer.rank:]
    shown = lambda v: ", ".join(f"{a}: {x}" for a, x in zip(names, v))  # noqa: E731
    joiner = " and output" if layer.rank == 1 else " output"
    _require_each(checks, [o > 0 for o in outputs],
                   f"Input and output sizes should be greater than 0, but got input ({shown(sizes)})"
                   f"{joiner} ({shown(outputs)})")
    return tuple(AxisOut(o) for o in outputs)


def _adaptive(layer, sizes, checks):
    """AdaptivePooling.h: every input axis non-empty; an output of 0 gives an empty tensor."""
    r, kind = layer.rank, "avg" if layer.kind == "adaptiveavgpool" else "max"
    if r == 1 and layer.output_size == (None,):
        not_available(f"adaptive_{kind}_pool1d(): argument 'output_size' (position 2) must be tuple of ints, not "
                      "NoneType (None keeps an axis only in 2-D and 3-D)")
    # AdaptiveAvgPool1d runs as the 2-D op on (N, C, 1, W)
    name, shape = ((f"adaptive_{kind}_pool2d", [1, "C", 1, *sizes]) if (kind, r) == ("avg", 1)
                   else (f"adaptive_{kind}_pool{r}d", [1, "C", *sizes]))
    for dim, n in enumerate(shape[2:], 2):
        checks.require(n >= 1, lambda: f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                                       f"but input has sizes [{', '.join(str(_num(v)) if v != 'C' else v for v in shape)}] with "
                                       f"dimension {dim} being empty")
    outputs = adaptive_outputs(layer, sizes, checks)
    checks.warn(any_of(o <= 0 for o in outputs), "an output size is 0: adaptive pooling returns an empty tensor")
    return tuple(AxisOut(o) for o in outputs)


def pixelshuffle(layer, sizes, checks):
    if layer.rank != 2:
        not_available("torch PixelShuffle rearranges the last two axes: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    checks.note(f"PixelShuffle({r}): (C×{r * r}, H, W) -> (C, H×{r}, W×{r}); the channels must divide by {r * r}")
    return tuple(AxisOut(n * r) for n in sizes)


def unpool(layer, sizes, checks):
    # F.max_unpoolNd / _unpool_output_size: torch checks no padding sign; the default size may grow.
    if isinstance(layer.padding, str):
        not_available(f"unsupported operand type(s) for -: 'int' and 'str' (MaxUnpool{layer.rank}d has no "
                      f"padding '{layer.padding}': torch takes an int or a tuple of ints)")
    pads = _explicit_pads(layer, "MaxUnpool")
    defaults = [conv_transpose_out(n, kj, sj, 1, p, p, 0) for n, kj, sj, p in zip(sizes, layer.kernel, layer.stride, pads)]
    # An explicit output_size must lie strictly between default - stride and default + stride.
    accepted = [possible(o + shift for shift in range(1 - sj, sj)) for o, sj in zip(defaults, layer.stride)]
    if layer.output_size is None:
        outputs = defaults
    else:
        outputs = list(layer.output_size)
        for dim, (o, lo, sj) in enumerate(zip(outputs, defaults, layer.stride)):
            _require_each(checks, [lo - sj < o, o < lo + sj],
                           f'invalid output_size "{list(map(_num, outputs))}" (dim {dim} must be between '
                           f"{_num(lo - sj)} and {_num(lo + sj)})")
    for dim, o in enumerate(outputs):  # ATen max_unpooling_out_cpu
        checks.require(o >= 0, "max_unpooling: output_size must contain non-negative spatial dimensions, "
                               f"but got output_size[{dim}]={_num(o)}")
    for o in outputs:  # o >= 0 holds here, so o <= 0 means 0
        checks.warn(o <= 0, "an output size is 0: MaxUnpool returns an empty tensor (no error)")
    return tuple(AxisOut(o, (p, p), accepted=acc) for o, p, acc in zip(outputs, pads, accepted))


def pad(layer, sizes, checks):
    """F.pad as nn.ZeroPad/ReflectionPad/ReplicationPad/CircularPad run it: each axis grows by its pads."""
    if layer.padding_mode == "symmetric":
        not_available("torch has no symmetric padding (the edge repeated, then reflected)",
                      "use reflect or replicate, or -f tf/jax")
    pairs = layer.padding
    if layer.padding_mode != "zeros" and any(p < 0 for pair in pairs for p in pair):
        not_available(f"negative pads with mode '{layer.padding_mode}' are not modelled: F.pad crops there, and "
                      "its checks end in internal errors for some sizes", "crop with ZeroPad (negative) first")
    # constant_pad_nd narrows the negative pads away first: what is left must not be negative
    _require_each(checks, [n + minimum(b, 0) + minimum(a, 0) >= 0 for n, (b, a) in zip(sizes, pairs)],
                  "narrow(): length must be non-negative.")
    _pad_with_input(layer, sizes, pairs, checks)
    outputs = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    checks.warn(any_of(o <= 0 for o in outputs), "an output size is 0: F.pad returns an empty tensor")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


PAD_MODULES = {"zeros": "ZeroPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
               "circular": "CircularPad"}

def depthwise(layer, sizes, checks):
    """nn.Conv{r}d(groups=in_channels); separable: that, then a 1x1 Conv, which keeps the size."""
    checks.note("depthwise: Conv with groups = in_channels (out_channels a multiple of it): the conv's shape rule")
    return conv(layer, sizes, checks)


def lppool(layer, sizes, checks):
    """F.lp_pool{r}d: avg_pool{r}d of x**p with padding 0, times the window size, to the power 1/p."""
    if isinstance(layer.padding, str) or any(p != (0, 0) for p in layer.padding):
        not_available(f"torch LPPool{layer.rank}d has no padding", "pad with F.pad first, or use -f onnx")
    if max(layer.dilation) > 1:
        not_available(f"torch LPPool{layer.rank}d has no dilation", "use -f onnx (LpPool, opset 18+)")
    checks.note(f"LPPool{layer.rank}d runs avg_pool{layer.rank}d(x.pow(p), padding=0): its shape rule")
    return avgpool(layer, sizes, checks)


def pixelunshuffle(layer, sizes, checks):
    """F.pixel_unshuffle: (C, H×r, W×r) -> (C×r², H, W); H and W must divide by r."""
    if layer.rank != 2:
        not_available("torch PixelUnshuffle rearranges the last two axes: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    for name, axis, n in (("height", -2, sizes[0]), ("width", -1, sizes[1])):
        checks.require(equal(n % r, 0), f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                                   f"input.size({axis})={_num(n)} is not divisible by {r}")
    checks.note(f"PixelUnshuffle({r}): (C, H, W) -> (C×{r * r}, H/{r}, W/{r})")
    return tuple(AxisOut(floor_div(n, r)) for n in sizes)


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool,
          "upsample": upsample, "pixelshuffle": pixelshuffle, "unpool": unpool, "pad": pad,
          "adaptiveavgpool": _adaptive, "adaptivemaxpool": _adaptive, "depthwise": depthwise, "separable": depthwise,
          "lppool": lppool, "pixelunshuffle": pixelunshuffle}


def code(layer, axes):
    r = layer.rank
    k, s, d = (per_axis(v) if v else None for v in (layer.kernel, layer.stride, layer.dilation))
    pads = layer.padding if isinstance(layer.padding, str) else (
        per_axis(layer.symmetric_pads) if layer.symmetric_pads is not None else None)
    pads = None if pads == 0 else pads
    d = None if d == 1 else d
    groups = None if layer.groups == 1 else layer.groups
    if layer.kind in ("depthwise", "separable"):
        depthwise = call(f"nn.Conv{r}d", "C_in", "C_in" if layer.kind == "separable" else "C_out", kernel_size=k,
                         stride=None if s == 1 else s, padding=pads, dilation=d, groups="C_in",
                         padding_mode=None if layer.padding_mode == "zeros" else layer.padding_mode)
        depthwise = depthwise.replace("groups='C_in'", "groups=C_in")
        if layer.kind == "depthwise":
            return depthwise
        return f"nn.Sequential({depthwise}, nn.Conv{r}d(C_in, C_out, kernel_size=1))"
    if layer.kind == "lppool":
        return call(f"nn.LPPool{r}d", 2, kernel_size=k, stride=None if s == k else s,
                    ceil_mode=layer.ceil_mode or None)
    if layer.kind == "pixelunshuffle":
        return call("nn.PixelUnshuffle", int(layer.scale[0]))
    if layer.kind == "conv":
        return call(f"nn.Conv{r}d", "C_in", "C_out", kernel_size=k, stride=None if s == 1 else s,
                    padding=pads, dilation=d, groups=groups,
                    padding_mode=None if layer.padding_mode == "zeros" else layer.padding_mode)
    if layer.kind == "convT":
        try:
            op, later = per_axis(ax.output_padding for ax in axes), ""
        except TypeError:  # output_padding still depends on a symbolic size: pass output_size at call time
            op, later = None, f"  # then m(x, output_size={list(map(_num, layer.output_size))})"
        return call(f"nn.ConvTranspose{r}d", "C_in", "C_out", kernel_size=k, stride=None if s == 1 else s,
                    padding=pads, output_padding=op or None, groups=groups, dilation=d) + later
    if layer.kind in ("maxpool", "avgpool"):
        name = "MaxPool" if layer.kind == "maxpool" else "AvgPool"
        return call(f"nn.{name}{r}d", kernel_size=k, stride=None if s == k else s, padding=pads,
                    dilation=d if layer.kind == "maxpool" else None, ceil_mode=layer.ceil_mode or None)
    if layer.kind == "upsample":
        if layer.scale is None:
            return call("nn.Upsample", size=_one_or_tuple(layer.output_size), mode="nearest")
        scale = layer.scale[0] if len(set(layer.scale)) == 1 else layer.scale
        return call("nn.Upsample", scale_factor=scale, mode="nearest")
    if layer.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        name = "AdaptiveAvgPool" if layer.kind == "adaptiveavgpool" else "AdaptiveMaxPool"
        return call(f"nn.{name}{r}d", _one_or_tuple(layer.output_size))
    if layer.kind == "pixelshuffle":
        return call("nn.PixelShuffle", int(layer.scale[0]))
    if layer.kind == "pad":  # torch lists the last axis first: (left, right, top, bottom, ...)
        flat = tuple(_num(v) for pair in reversed(layer.padding) for v in pair)
        return call(f"nn.{PAD_MODULES[layer.padding_mode]}{r}d", flat[0] if len(set(flat)) == 1 else flat)
    return call(f"nn.MaxUnpool{r}d", kernel_size=k, stride=None if s == k else s, padding=pads)


def _one_or_tuple(values):
    """A size as torch takes it: one int for every axis, else a tuple (None keeps an axis)."""
    values = tuple(v if v is None or isinstance(v, int) else _num(v) for v in values)
    return values[0] if len(set(values)) == 1 and values[0] is not None else values


def stack(codes):
    """One stack of constructors: an nn.Sequential, channels chained C0 -> C1 -> ... where unknown. Only a conv
    names new channels: a pool, upsample or pad keeps its input's name; PixelShuffle(r) divides it by r*r,
    PixelUnshuffle(r) multiplies it (a number where the channels are known)."""
    lines, current, count = [], "C0", 0
    for code in codes:
        code = code.replace("C_in", current)
        if "C_out" in code:
            count += 1
            code = code.replace("C_out", f"C{count}")
        outs = _CONV_OUT.findall(code)
        shuffle = _SHUFFLE.match(code)
        if outs:
            current = outs[-1]
        elif shuffle:
            current = _scaled(current, int(shuffle[2]) ** 2, shuffle[1] == "Unshuffle")
        lines.append(code)
    return "nn.Sequential(\n" + "".join(f"    {line},\n" for line in lines) + ")"


_CONV_OUT = re.compile(r"nn\.(?:Conv|ConvTranspose)\dd\([^,()]+, ([^,()]+)[,)]")
_SHUFFLE = re.compile(r"nn\.Pixel(Shuffle|Unshuffle)\((\d+)\)")


def _scaled(channels, factor, up):
    """Channels after a pixel (un)shuffle: the number where known, else C1*4 / C1//4."""
    if channels.isdigit():
        return str(int(channels) * factor if up else int(channels) // factor)
    return f"{channels}*{factor}" if up else f"{channels}//{factor}"
