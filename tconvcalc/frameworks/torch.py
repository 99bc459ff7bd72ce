"""PyTorch: torch.nn Conv/ConvTranspose/MaxPool/AvgPool/Upsample/PixelShuffle/MaxUnpool (torch 2.x).

Rules from torch/nn/modules/conv.py, aten/src/ATen/native/ConvUtils.h, Convolution.cpp,
Pool.h, MaxPooling.h, UpSample.cpp and torch/nn/functional.py; checked against torch itself
in tests/frameworks/test_torch.py.
"""

from ..arithmetic import (all_of, any_of, conv_out, conv_transpose_out, effective_kernel, floor_div, floor_scale,
                          maximum, split_pad, where)
from . import AxisOut, call, not_available, per_axis, possible

DEFAULT_PADDING = "zeros"


def _dims(values):
    """torch's "(a x b)" in shape messages."""
    return "(" + " x ".join(str(v) for v in values) + ")"


def _explicit_pads(layer, checks, what):
    """torch pads symmetrically per axis: an int or a tuple of ints, never before:after."""
    pads = layer.symmetric_pads
    if pads is None:
        not_available(f"torch {what} pads each axis symmetrically; got before:after pads",
                      "pad with F.pad first, or use -f jax/onnx/tf")
    checks.require(all_of(p >= 0 for p in pads), "negative padding is not supported")
    return pads


def conv(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if layer.padding == "same":
        checks.require(all_of(x == 1 for x in s), "padding='same' is not supported for strided convolutions")
        # ATen convolution_same: total d*(k-1), the odd pixel at the end.
        pairs = [split_pad(dj * (kj - 1)) for kj, dj in zip(k, d)]
        checks.note("padding='same': total pad d×(k-1) per axis, the extra pixel after")
    elif layer.padding == "valid":
        pairs = [(0, 0)] * layer.rank
    elif isinstance(layer.padding, str):
        checks.refuse(f"Invalid padding string '{layer.padding}', should be one of {{'valid', 'same'}}")
    else:
        pairs = [(p, p) for p in _explicit_pads(layer, checks, "Conv")]
    padded = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    kernels = [effective_kernel(kj, dj) for kj, dj in zip(k, d)]
    checks.require(
        all_of(pn >= ek for pn, ek in zip(padded, kernels)),
        f"Calculated padded input size per channel: {_dims(padded)}. Kernel size: {_dims(kernels)}. "
        "Kernel size can't be greater than actual input size")
    return tuple(AxisOut(conv_out(n, kj, sj, dj, b, a), (b, a))
                 for n, kj, sj, dj, (b, a) in zip(sizes, k, s, d, pairs))


def conv_transpose(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if isinstance(layer.padding, str):
        checks.refuse(f"conv_transpose{layer.rank}d(): argument 'padding' (position 5) must be tuple of ints, "
                      "but found element of type str at pos 0 (ConvTranspose has no 'same'/'valid')")
    pads = _explicit_pads(layer, checks, "ConvTranspose")
    smallest = [conv_transpose_out(n, kj, sj, dj, p, p, 0) for n, kj, sj, dj, p in zip(sizes, k, s, d, pads)]
    if layer.output_size is not None:
        # ConvTransposeNd._output_padding: the range depends on the stride only.
        largest = [lo + sj - 1 for lo, sj in zip(smallest, s)]
        checks.require(
            all(lo <= o <= hi for o, lo, hi in zip(layer.output_size, smallest, largest)),
            f"requested an output size of {list(map(int, layer.output_size))}, but valid sizes range from "
            f"{list(map(int, smallest))} to {list(map(int, largest))} "
            f"(for an input of torch.Size({list(map(int, sizes))}))")
        ops = [o - lo for o, lo in zip(layer.output_size, smallest)]
        checks.note("forward(output_size=...): output_padding = output_size - smallest output")
    else:
        ops = layer.output_padding or (0,) * layer.rank
    names = ("depth", "height", "width")[-max(layer.rank, 2):]
    shown = list(zip(ops, s, d)) if layer.rank > 1 else [(0, 1, 1)] + list(zip(ops, s, d))
    checks.require(
        all_of(op < sj or op < dj for op, sj, dj in zip(ops, s, d)),
        "output padding must be smaller than either stride or dilation, but got "
        + " ".join(f"output_padding_{n}: {v[0]}" for n, v in zip(names, shown)) + " "
        + " ".join(f"stride_{n}: {v[1]}" for n, v in zip(names, shown)) + " "
        + " ".join(f"dilation_{n}: {v[2]}" for n, v in zip(names, shown)))
    outputs = [conv_transpose_out(n, kj, sj, dj, p, p, op)
               for n, kj, sj, dj, p, op in zip(sizes, k, s, d, pads, ops)]
    as_2d = (lambda v: [1, *v]) if layer.rank == 1 else list
    checks.require(
        all_of(o >= 1 for o in outputs),
        f"Given input size per channel: {_dims(as_2d(sizes))}. "
        f"Calculated output size per channel: {_dims(as_2d(outputs))}. Output size is too small")
    return tuple(
        AxisOut(o, (p, p), op, possible(lo + extra for extra in range(max(sj, dj))))
        for o, lo, p, op, sj, dj in zip(outputs, smallest, pads, ops, s, d))


def _pool(layer, sizes, checks, name):
    k, s = layer.kernel, layer.stride
    d = layer.dilation if name == "max" else (1,) * layer.rank
    if isinstance(layer.padding, str):
        checks.refuse(f"{name}_pool{layer.rank}d(): argument 'padding' must be tuple of ints, "
                      "but found element of type str (torch pooling has no 'same'/'valid')")
    pads = _explicit_pads(layer, checks, "pooling")
    one_d_max = name == "max" and layer.rank == 1  # MaxPool1d without indices: its own checks
    if one_d_max:
        checks.require(all_of(p <= kj // 2 for p, kj in zip(pads, k)),
                       f"max_pool1d() padding should be at most half of kernel size, but got "
                       f"padding={int(pads[0])} and kernel_size={int(k[0])}")
    for kj, dj, p in zip(k, d, pads):  # Pool.h pooling_output_shape
        checks.require(p <= effective_kernel(kj, dj) // 2,
                       f"pad should be at most half of effective kernel size, but got pad={int(p)}, "
                       f"kernel_size={int(kj)} and dilation={int(dj)}")
    if not one_d_max:  # pool2d/3d_shape_check, which ignores dilation
        checks.require(all_of(kj // 2 >= p for kj, p in zip(k, pads)), _half_kernel_message(k, pads))
    outputs = []
    for n, kj, sj, dj, p in zip(sizes, k, s, d, pads):
        o = floor_div(n + 2 * p - effective_kernel(kj, dj) + (sj - 1 if layer.ceil_mode else 0), sj) + 1
        if layer.ceil_mode:
            # The last window must start inside the input or the left pad, never in the right pad.
            o = where((o - 1) * sj >= n + p, o - 1, o)
            checks.note("ceil_mode: a last window that would start in the right pad is dropped")
        outputs.append(o)
    if one_d_max:
        checks.require(all_of(o >= 1 for o in outputs),
                       f"max_pool1d() Invalid computed output size: {outputs[0]}")
    else:
        as_2d = (lambda v: ["C", 1, *v]) if layer.rank == 1 else (lambda v: ["C", *v])
        checks.require(all_of(o >= 1 for o in outputs),
                       f"Given input size: ({'x'.join(map(str, as_2d(sizes)))}). Calculated output size: "
                       f"({'x'.join(map(str, as_2d(outputs)))}). Output size is too small")
    return tuple(AxisOut(o, (p, p)) for o, p in zip(outputs, pads))


def _half_kernel_message(kernel, pads):
    # pool2d_shape_check names width before height; a 1-D pool runs as 2-D with height 1, pad 0.
    if len(kernel) == 1:
        kernel, pads = (1, *kernel), (0, *pads)
    named = {a: (int(kj), int(p)) for a, kj, p in zip("HW" if len(kernel) == 2 else "THW", kernel, pads)}
    order = [a for a in "TWH" if a in named]
    return ("pad should be smaller than or equal to half of kernel size, but got "
            + ", ".join(f"pad{a} = {named[a][1]}" for a in order) + ", "
            + ", ".join(f"k{a} = {named[a][0]}" for a in order))


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "max")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "avg")


def upsample(layer, sizes, checks):
    outputs = [floor_scale(n, f) for n, f in zip(sizes, layer.scale)]
    checks.note("output = floor(float64(input) × scale_factor)")
    names = ("D", "H", "W")[-layer.rank:]
    shown = lambda v: ", ".join(f"{a}: {x}" for a, x in zip(names, v))  # noqa: E731
    joiner = " and output" if layer.rank == 1 else " output"
    checks.require(all_of(o > 0 for o in outputs),
                   f"Input and output sizes should be greater than 0, but got input ({shown(sizes)})"
                   f"{joiner} ({shown(outputs)})")
    return tuple(AxisOut(o) for o in outputs)


def pixelshuffle(layer, sizes, checks):
    if layer.rank != 2:
        not_available("torch PixelShuffle rearranges the last two axes: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    checks.note(f"PixelShuffle({r}): (C×{r * r}, H, W) -> (C, H×{r}, W×{r}); the channels must divide by {r * r}")
    return tuple(AxisOut(n * r) for n in sizes)


def unpool(layer, sizes, checks):
    pads = _explicit_pads(layer, checks, "MaxUnpool")
    defaults = [(n - 1) * sj + kj - 2 * p for n, kj, sj, p in zip(sizes, layer.kernel, layer.stride, pads)]
    accepted = [tuple(range(max(0, o - sj + 1), o + sj)) for o, sj in zip(defaults, layer.stride)]
    if layer.output_size is None:
        outputs = defaults
        checks.warn(any_of(o == 0 for o in outputs), "the default output size is 0: MaxUnpool returns an empty tensor")
    else:
        outputs = list(layer.output_size)
        for dim, (o, lo, sj) in enumerate(zip(outputs, defaults, layer.stride)):
            checks.require(lo - sj < o < lo + sj,
                           f'invalid output_size "{list(map(int, outputs))}" (dim {dim} must be between '
                           f"{int(lo - sj)} and {int(lo + sj)})")
    return tuple(AxisOut(o, (p, p), accepted=acc) for o, p, acc in zip(outputs, pads, accepted))


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool,
          "upsample": upsample, "pixelshuffle": pixelshuffle, "unpool": unpool}


def code(layer, axes):
    r = layer.rank
    k, s, d = (per_axis(v) if v else None for v in (layer.kernel, layer.stride, layer.dilation))
    pads = layer.padding if isinstance(layer.padding, str) else (
        per_axis(layer.symmetric_pads) if layer.symmetric_pads is not None else None)
    pads = None if pads == 0 else pads
    d = None if d == 1 else d
    if layer.kind == "conv":
        return call(f"nn.Conv{r}d", "C_in", "C_out", kernel_size=k, stride=None if s == 1 else s,
                    padding=pads, dilation=d)
    if layer.kind == "convT":
        op = per_axis(ax.output_padding for ax in axes)
        return call(f"nn.ConvTranspose{r}d", "C_in", "C_out", kernel_size=k, stride=None if s == 1 else s,
                    padding=pads, output_padding=op or None, dilation=d)
    if layer.kind in ("maxpool", "avgpool"):
        name = "MaxPool" if layer.kind == "maxpool" else "AvgPool"
        return call(f"nn.{name}{r}d", kernel_size=k, stride=None if s == k else s, padding=pads,
                    dilation=d if layer.kind == "maxpool" else None, ceil_mode=layer.ceil_mode or None)
    if layer.kind == "upsample":
        scale = layer.scale[0] if len(set(layer.scale)) == 1 else layer.scale
        return call("nn.Upsample", scale_factor=scale, mode="nearest")
    if layer.kind == "pixelshuffle":
        return call("nn.PixelShuffle", int(layer.scale[0]))
    return call(f"nn.MaxUnpool{r}d", kernel_size=k, stride=None if s == k else s, padding=pads)
