"""ONNX as onnxruntime 1.31 (CPU) runs it: Conv, ConvTranspose, MaxPool, AveragePool, MaxUnpool (opset 22),
Resize (opset 19, mode nearest, scales), DepthToSpace (opset 13) and Pad (opset 25, modes constant / reflect /
edge / wrap, negative pads crop): the newest version of each op that ORT 1.31 supports (ai.onnx up to opset 26;
DepthToSpace-28 is beyond it).

ORT is the truth. Rules from onnxruntime/core/providers/common.h (ComputePad), cpu/nn/conv_attributes.h,
conv_transpose_attributes.h, pool_attributes.h, unpool.cc, upsamplebase.h and tensor/pad.cc, and from running
ORT 1.31.1;
checked against it in tests/frameworks/test_onnx.py. Where onnx.shape_inference.infer_shapes (onnx 1.23)
gives another size, a warning says so.
"""

import struct
from dataclasses import replace

from ..arithmetic import (Traced, all_of, any_of, ceil_div, conv_out, conv_transpose_out, effective_kernel, equal,
                          floor_div,
                          floor_scale, is_symbolic, maximum, minimum, same_out, same_total, split_pad, trunc_div, unequal,
                          where)
from . import AxisOut, call, consecutive_outputs, not_available

DEFAULT_PADDING = "zeros"

OPSET = {"conv": 22, "convT": 22, "maxpool": 22, "avgpool": 22, "unpool": 22, "adaptiveavgpool": 22,
         "adaptivemaxpool": 22, "upsample": 19, "pixelshuffle": 13, "depthwise": 22, "separable": 22, "lppool": 22,
         "pixelunshuffle": 13,
         "pad": 25}
_AUTO_PAD = {"valid": "VALID", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER", "same": "SAME_UPPER"}


def _braces(values):
    """ORT's TensorShape::ToString: {5,5}."""
    return "{" + ",".join(str(v) for v in values) + "}"


def _auto_pad(layer, checks):
    """The auto_pad attribute for the layer's padding; explicit pads must be >= 0 (checked when ORT loads the model)."""
    if isinstance(layer.padding, str):
        if layer.padding == "causal":
            not_available("onnx has no causal padding", "give explicit pads instead: -p (k-1)*d:0")
        if layer.padding == "same":
            checks.note("'same' is auto_pad SAME_UPPER (the odd pixel at the end); same_lower puts it at the start")
        return _AUTO_PAD[layer.padding]
    checks.require(all(b >= 0 and a >= 0 for b, a in layer.padding),
                   "[ShapeInferenceError] Attribute pads must not contain negative values")
    return "NOTSET"


def _lower_split(total, extra_at_end):
    """(head, tail) as ORT splits a total pad with C++ division (toward zero; totals may be negative)."""
    head = trunc_div(total, 2) if extra_at_end else trunc_div(total + 1, 2)
    return head, total - head


def conv(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    mode = _auto_pad(layer, checks)
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        checks.require(all(dj == 1 for dj in d),
                       "Dilation not supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER.")
        pairs = []
        for n, kj, sj in zip(sizes, k, s):  # common.h ComputePad
            target = same_out(n, sj)
            total = same_total(n, kj, sj)
            # ORT adds one pixel where that total, put on both sides, still falls short of ceil(n/s).
            total = where(conv_out(n, kj, sj, 1, total, total) < target, total + 1, total)
            pairs.append(_lower_split(total, mode == "SAME_UPPER"))
        checks.note(f"auto_pad {mode}: total pad (ceil(n/s)-1)×s+k-n, the odd pixel "
                    + ("at the end" if mode == "SAME_UPPER" else "at the start"))
    elif mode == "VALID":
        pairs = [(0, 0)] * layer.rank
    else:
        pairs = list(layer.padding)
    # ORT computes int(double(n+pads-ek)/s + 1): below 1 exactly where the floor formula is.
    outputs = [conv_out(n, kj, sj, dj, b, a) for n, kj, sj, dj, (b, a) in zip(sizes, k, s, d, pairs)]
    checks.require(all_of(o >= 1 for o in outputs), f"Invalid input shape: {_braces(sizes)}")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


def _distribute(total, mode):
    """conv_transpose pads from a total (>= 0): SAME_UPPER puts the odd pixel at the end, every other mode at the
    start (common.h DistributePadding)."""
    return split_pad(total, extra_at_end=mode == "SAME_UPPER")


def conv_transpose(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    mode = _auto_pad(layer, checks)
    ops = layer.output_padding or (0,) * layer.rank
    for i, (op, sj, dj) in enumerate(zip(ops, s, d)):
        limit = max(sj, dj)
        checks.require(op < limit, f"output_padding[{i}] ({int(op)}) must be less than max(stride, dilation) "
                                   f"({int(limit)}) for spatial dimension {i}.")
    if layer.output_size is not None:
        for n in sizes:  # conv_transpose_attributes.h, before the output_shape is compared
            checks.require(n >= 1, lambda n=n: f"Input spatial dimension must be positive. Got: {n}")
        checks.note("output_shape: total pad = natural size - output_shape (at least 0); SAME_UPPER puts the odd "
                    "pixel at the end, NOTSET/VALID/SAME_LOWER at the start; output_padding adds no size")
        if mode == "NOTSET" and any(b or a for b, a in layer.padding):
            checks.warn(True, "ORT ignores pads when output_shape is given")
    axes = []
    for i, (n, kj, sj, dj, op) in enumerate(zip(sizes, k, s, d, ops)):
        natural = conv_transpose_out(n, kj, sj, dj, 0, 0, op)
        if layer.output_size is not None:
            out = layer.output_size[i]
            pads = _distribute(maximum(0, natural - out), mode)
            expected = conv_out(out, kj, sj, dj, *pads)
            checks.require(
                equal(expected, n),
                "Explicit output_shape is inconsistent with input spatial dimensions and convolution parameters. "
                f"Expected input size {expected} but got {n} (output_size={int(out)}, kernel={int(kj)}, "
                f"stride={int(sj)}, dilation={int(dj)}, output_padding={int(op)}).")
            checks.note(f"ORT accepts output_shape from 1 to {(n - 1) * sj + effective_kernel(kj, dj) + sj - 1} "
                        "here (a smaller one is reached by padding)")
        else:
            if mode in ("SAME_UPPER", "SAME_LOWER"):
                # ORT pads toward n*s, never below 0: min(n*s, natural).
                pads = _distribute(maximum(0, natural - n * sj), mode)
            elif mode == "VALID":
                pads = (0, 0)
            else:
                pads = layer.padding[i]
            out = conv_transpose_out(n, kj, sj, dj, pads[0], pads[1], op)
            expected = conv_out(out, kj, sj, dj, *pads)  # ORT runs the forward conv back: n + op//s
            checks.require(
                equal(expected, n),
                "Computed output shape is inconsistent with input spatial dimensions. "
                f"output_padding ({int(op)}) may be too large for stride ({int(sj)}). "
                f"Expected input size {expected} but got {n}.")
            checks.require(out >= 1, f"Computed output dimension is <= 0 for dim {i}. Input shape: {_braces(sizes)}")
            if mode in ("SAME_UPPER", "SAME_LOWER"):
                # onnx shape inference takes the total pad as max(0, ek - s), without output_padding.
                inferred = conv_transpose_out(n, kj, sj, dj, 0, 0, op) - maximum(0, effective_kernel(kj, dj) - sj)
                checks.warn(unequal(inferred, out), f"onnx shape inference gives {inferred} on axis {i}, ORT {out}")
        # output_padding < max(s, d) passes the first check, but ORT's forward check then needs op < s.
        # The reachable outputs are consecutive: from op 0 on, s of them (SAME: capped at n*s).
        base = (0, 0) if mode in ("VALID", "SAME_UPPER", "SAME_LOWER") else layer.padding[i]
        lowest = conv_transpose_out(n, kj, sj, dj, *base, 0)
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            lowest = minimum(n * sj, lowest)
            count = minimum(sj, n * sj - lowest + 1)
        else:
            count = sj
        axes.append(AxisOut(out, pads, op, consecutive_outputs(lowest, count)))
    return tuple(axes)


def _empty_axes_refused(sizes, checks):
    """ORT's pools (MaxPool, AveragePool, LpPool, Global*Pool) refuse an input with a 0-size spatial axis, even
    where the formula gives an output (pool_attributes.h SetOutputSize; found by running ORT on empty tensors)."""
    checks.require(all_of(n >= 1 for n in sizes),
                   lambda: f"Invalid input shape. Only N can be zero. Got:{_braces(['N', 'C', *sizes])}")


def _pool(layer, sizes, checks, name):
    _empty_axes_refused(sizes, checks)
    k, s = layer.kernel, layer.stride
    d = layer.dilation  # AveragePool's dilations (opset 19): ORT 1.32 dilates its windows as MaxPool's
    mode = _auto_pad(layer, checks)
    if mode == "NOTSET":
        checks.require(all(b < kj and a < kj for (b, a), kj in zip(layer.padding, k)),
                       "Pad should be smaller than kernel.")
    outputs, pairs = [], []
    for i, (n, kj, sj, dj) in enumerate(zip(sizes, k, s, d)):
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            # pool_attributes.h pads for the undilated kernel (and may pad negatively when k < s).
            head, tail = _lower_split(same_total(n, kj, sj), mode == "SAME_UPPER")
        elif mode == "VALID":
            head, tail = 0, 0
        else:
            head, tail = layer.padding[i]
        numerator = n + head + tail - effective_kernel(kj, dj)
        if layer.ceil_mode:
            o = ceil_div(numerator, sj) + 1
            # The last window must start inside the input or the head pad (onnx#5741).
            o = where((o - 1) * sj >= n + head, o - 1, o)
            if mode in ("NOTSET", "VALID"):
                # onnx shape inference rounds up as trunc((x + s - 1)/s): 1 more where x is negative.
                inferred = trunc_div(numerator + sj - 1, sj) + 1
                inferred = where((inferred - 1) * sj >= n + head, inferred - 1, inferred)
                checks.warn(unequal(inferred, o), f"onnx shape inference gives {inferred} on axis {i}, ORT {o}")
        else:
            o = trunc_div(numerator, sj) + 1  # pool_attributes.h divides in C++: toward zero
        outputs.append(o)
        pairs.append((head, tail))
    if layer.ceil_mode:
        checks.note("ceil_mode: a last window that would start in the end pad is dropped")
    checks.require(all_of(o >= 0 for o in outputs),
                   "Calculated output dimension is negative. Check kernel_shape, pads, strides and dilations.")
    if name == "MaxPool" and all(dj == 1 for dj in d):  # the MLAS kernel, used without dilation
        checks.require(all_of(b >= 0 for pair in pairs for b in pair), "padding values must be non-negative")
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        for i, (n, sj, o) in enumerate(zip(sizes, s, outputs)):
            checks.warn(unequal(o, same_out(n, sj)), f"onnx shape inference gives ceil(n/s) = {same_out(n, sj)} on axis {i}, "
                                              f"ORT {o} (it pads for the undilated kernel)")
    checks.warn(any_of(equal(o, 0) for o in outputs), f"the output size is 0: ORT {name} returns an empty tensor")
    return tuple(AxisOut(o, p) for o, p in zip(outputs, pairs))


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "MaxPool")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "AveragePool")


def lppool(layer, sizes, checks):
    """LpPool (p, dilations and ceil_mode from opset 18): ORT computes its shape as MaxPool's, dilations included,
    without the MLAS kernel's check of the pads' sign (found by running both on random attributes)."""
    return _pool(layer, sizes, checks, "LpPool")


def depthwise(layer, sizes, checks):
    """Conv with group = C (depthwise); separable: that, then a 1x1 Conv, which keeps the size."""
    checks.note("depthwise: Conv with group = the input channels: Conv's shape rule")
    return conv(layer, sizes, checks)


def pixelunshuffle(layer, sizes, checks):
    """SpaceToDepth(blocksize): (C, H×r, W×r) -> (C×r², H, W) on a 4-D NCHW tensor; ORT checks H, then W."""
    if layer.rank != 2:
        not_available("onnx SpaceToDepth takes a 4-D NCHW tensor (Input tensor must be 4-dimensional): give a 2-D "
                      "size (HxW)")
    r = int(layer.scale[0])
    for name, n in zip(("height", "width"), sizes):
        checks.require(equal(n % r, 0), f"SpaceToDepth requires input {name} to be a multiple of block_size")
    checks.note(f"SpaceToDepth(blocksize={r}): (C, H, W) -> (C×{r * r}, H/{r}, W/{r})")
    return tuple(AxisOut(floor_div(n, r)) for n in sizes)


def _float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def resize_out(n, scale):
    """ORT Resize: int64(float(scale) * n), the product rounded to float32 (upsamplebase.h ComputeOutputShape)."""
    scale = _float32(scale)
    if is_symbolic(n):
        return floor_scale(n, scale)  # symbolic sizes: the float32 rounding of the product is not modelled
    value = int(_float32(scale * float(n)))
    return Traced(value, f"int(f32({scale:g}×{int(n)}))") if isinstance(n, Traced) else value


def adaptive(layer, sizes, checks):
    """GlobalAveragePool / GlobalMaxPool: every spatial axis to 1."""
    if any(o != 1 for o in layer.output_size):
        not_available("onnx has no adaptive pooling to an output size other than 1 (GlobalAveragePool/"
                      "GlobalMaxPool)", "where out divides n, AveragePool/MaxPool with kernel_shape = strides = n/out "
                      "gives torch's windows")
    _empty_axes_refused(sizes, checks)
    checks.note("GlobalAveragePool/GlobalMaxPool: every spatial axis to 1")
    return tuple(AxisOut(1) for _ in sizes)


def upsample(layer, sizes, checks):
    if layer.scale is None:  # Resize with sizes
        for i, (n, o) in enumerate(zip(sizes, layer.output_size)):  # upsamplebase.h: the scale is o / n
            checks.require(any_of([n >= 1, equal(o, 0)]), lambda i=i, n=n, o=o: (
                "Input dim is zero but required output dim is non-zero. Cannot scale 0 by any factor to generate a "
                f"non-zero value. Dimension: {i + 2} Input dim value: {n} Output dim value: {o}"))
            checks.require(any_of([equal(n, 0), o >= 1]), "Scale value should be greater than 0.")
        checks.note("Resize (nearest, sizes): output = the sizes asked for")
        return tuple(AxisOut(o) for o in layer.output_size)
    outputs = [resize_out(n, f) for n, f in zip(sizes, layer.scale)]
    checks.note("Resize (nearest, scales): output = int(float32(scale) × input), the product taken in float32")
    for i, (n, f, o) in enumerate(zip(sizes, layer.scale, outputs)):
        inferred = floor_scale(n, _float32(f))  # onnx shape inference: floor in double
        checks.warn(unequal(inferred, o), f"onnx shape inference gives {inferred} on axis {i}, ORT {o} "
                                   "(ORT rounds the product to float32)")
    checks.warn(any_of(equal(o, 0) for o in outputs), "the output size is 0: ORT Resize returns an empty tensor")
    return tuple(AxisOut(o) for o in outputs)


def pixelshuffle(layer, sizes, checks):
    if layer.rank != 2:
        not_available("onnx DepthToSpace takes a 4-D NCHW tensor: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    checks.note(f"DepthToSpace(blocksize={r}): (C×{r * r}, H, W) -> (C, H×{r}, W×{r}); "
                "ORT: 'DepthToSpace requires input depth to be a multiple of (block_size * block_size)'")
    return tuple(AxisOut(n * r) for n in sizes)


def unpool(layer, sizes, checks):
    if isinstance(layer.padding, str):
        not_available("onnx MaxUnpool has no auto_pad", "give explicit pads: -p B:A")
    k, s = layer.kernel, layer.stride
    # MaxUnpool takes negative pads (nothing checks them); they must be below the kernel (unpool.h).
    checks.require(all(b < kj and a < kj for (b, a), kj in zip(layer.padding, k)), "Pad should be smaller than kernel.")
    defaults = [conv_transpose_out(n, kj, sj, 1, b, a, 0) for n, kj, sj, (b, a) in zip(sizes, k, s, layer.padding)]
    for i, o in enumerate(defaults):
        checks.require(o > 0, f"Computed output dimension is not positive for axis {i + 2}. "
                              "Check kernel_shape, strides, and pads attributes.")
    if layer.output_size is None:
        outputs = defaults
    else:
        outputs = list(layer.output_size)
        wanted, least = 1, 1
        for o, lo in zip(outputs, defaults):
            wanted, least = wanted * o, least * lo
        # unpool.cc compares the element counts, not each axis: 12x28 passes where 10x29 is the default.
        checks.require(wanted >= least,
                       f"output_shape is smaller than minimum required. output_shape:{_braces(['N', 'C', *outputs])} "
                       f"inferred output shape:{_braces(['N', 'C', *defaults])}")
        checks.note("output_shape: accepted when it has at least as many elements as the default (n-1)×s+k-pads")
    return tuple(AxisOut(o, pair) for o, pair in zip(outputs, layer.padding))


PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_MODE_NUMBER = {"constant": 0, "reflect": 1, "edge": 2, "wrap": 3}  # ORT's Mode enum, as its messages print it


def pad(layer, sizes, checks):
    """Pad: each axis grows by its pads; a negative pad slices the input first.

    ORT allocates the output first (no axis below 0), then needs some input left on every axis
    (except constant, which fills), then checks reflect on its flattened view of the tensor."""
    mode = PAD_MODES.get(layer.padding_mode)
    if mode is None:
        not_available("onnx Pad has no symmetric mode (mode must be constant, reflect, edge or wrap)",
                      "use reflect or edge, or -f tf/jax (SYMMETRIC / 'symmetric')")
    pairs = layer.padding
    outputs = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    checks.require(all_of(o >= 0 for o in outputs), "Tensor shape.Size() must be >= 0")
    empty = any_of([equal(n, 0) for n in sizes])
    if mode != "constant":
        _empty_pad_checks(mode, sizes, outputs, empty, checks)
        unless_empty = _Unless(empty, checks)  # the checks of a non-empty input (found by running ORT)
        extents = [n + minimum(b, 0) + minimum(a, 0) for n, (b, a) in zip(sizes, pairs)]
        unless_empty.require(all_of(e >= 1 for e in extents),
                             f"Pad: invalid mode: {_MODE_NUMBER[mode]} with zero effective input extent")
        if mode == "reflect":
            _reflect_checks(sizes, pairs, unless_empty)
    checks.warn(any_of(equal(o, 0) for o in outputs), "the output size is 0: ORT Pad returns an empty tensor")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


def _empty_pad_checks(mode, sizes, outputs, empty, checks):
    """An input with a 0-size axis skips pad.cc's extent and reflect checks: wrap refuses it whole; edge and
    reflect refuse only to grow a 0-size axis (its output above 0)."""
    shape = _braces(["N", "C", *sizes])
    if mode == "wrap":
        checks.require(all_of(unequal(n, 0) for n in sizes), f"Unexpected mode of {_MODE_NUMBER[mode]}")
        return
    for n, o in zip(sizes, outputs):
        checks.require(any_of([unequal(n, 0), equal(o, 0)]),
                       f"Cannot use '{mode}' mode to pad dimension with a value of 0. Input shape:{shape}")


class _Unless:
    """Checks that ORT makes only where ``skip`` does not hold (a symbolic ``skip``: a condition more)."""

    def __init__(self, skip, checks):
        self.skip, self.checks = skip, checks

    def require(self, condition, message):
        if self.skip is not True:
            self.checks.require(condition if self.skip is False else any_of([self.skip, condition]), message)


def _reflect_checks(sizes, pairs, checks):
    """PadImpl's reflect checks run on a flattened view when no pad is negative: the innermost axes
    without pads are folded into the innermost axis with one, which multiplies its size and its pads by
    theirs. The rule stays 'each pad below the length', but the message's numbers are multiplied: a pad of 1
    on an axis of length 1 followed by a 4 is 'pre-pad (4) exceeds maximum allowed (3)'."""
    dims = [1, 1, *sizes]  # N and C are never padded
    befores, afters = [0, 0, *(b for b, _ in pairs)], [0, 0, *(a for _, a in pairs)]
    inner_axis, inner = len(dims) - 1, 1
    flattens = min(befores + afters) >= 0
    while flattens and inner_axis > 0 and befores[inner_axis] == 0 and afters[inner_axis] == 0:
        inner *= dims[inner_axis]
        inner_axis -= 1
    shape = _braces(["N", "C", *sizes])
    for axis in range(inner_axis + 1):
        scale = inner if axis == inner_axis else 1
        before, after = befores[axis], afters[axis]
        pre, post = maximum(before, 0) * scale, maximum(after, 0) * scale
        extent = (dims[axis] + minimum(before, 0) + minimum(after, 0)) * scale
        if before > 0 or after > 0:
            checks.require(extent >= 2, f"Pad reflect requires axis length >= 2 after slicing. Input shape:{shape}")
        checks.require(pre <= extent - 1, f"Pad reflect: pre-pad ({pre}) exceeds maximum allowed ({extent - 1}) "
                                          f"for axis {axis}. Input shape:{shape}")
        checks.require(post <= extent - 1, f"Pad reflect: post-pad ({post}) exceeds maximum allowed ({extent - 1}) "
                                            f"for axis {axis}. Input shape:{shape}")


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool,
          "upsample": upsample, "pixelshuffle": pixelshuffle, "unpool": unpool, "pad": pad,
          "adaptiveavgpool": adaptive, "adaptivemaxpool": adaptive, "depthwise": depthwise, "separable": depthwise,
          "lppool": lppool, "pixelunshuffle": pixelunshuffle}


def _ints(values):
    return [int(v) for v in values]


def code(layer, axes):
    node = lambda op, inputs, **attrs: call("helper.make_node", f'"{op}"', inputs, '["Y"]', **attrs)  # noqa: E731
    if layer.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        return node("GlobalAveragePool" if layer.kind == "adaptiveavgpool" else "GlobalMaxPool", '["X"]')
    if layer.kind == "upsample" and layer.scale is None:
        sizes = ["N", "C", *(int(o) for o in layer.output_size)]
        return node("Resize", '["X", "", "", "sizes"]', mode="nearest") + f"  # sizes = [{', '.join(map(str, sizes))}]"
    if layer.kind == "upsample":
        scales = [1.0, 1.0, *(float(f) for f in layer.scale)]
        return node("Resize", '["X", "", "scales"]', mode="nearest") + f"  # scales = {scales}"
    if layer.kind == "pixelshuffle":
        return node("DepthToSpace", '["X"]', blocksize=int(layer.scale[0]))
    if layer.kind == "pixelunshuffle":
        return node("SpaceToDepth", '["X"]', blocksize=int(layer.scale[0]))
    if layer.kind in ("depthwise", "separable"):
        conv_node = code(replace(layer, kind="conv", groups=1), axes)[:-1] + ", group=C_in)"
        if layer.kind == "depthwise":
            return conv_node
        return conv_node.replace('["Y"]', '["D"]', 1) + '; helper.make_node("Conv", ["D", "P"], ["Y"], kernel_shape=' \
            + str([1] * layer.rank) + ")  # P: (C_out, C_in, 1...)"
    if layer.kind == "pad":  # pads: every axis's start, then every axis's end (N and C included)
        pads = [0, 0, *(int(b) for b, _ in layer.padding), 0, 0, *(int(a) for _, a in layer.padding)]
        mode = PAD_MODES[layer.padding_mode]
        return node("Pad", '["X", "pads"]', mode=None if mode == "constant" else mode) + f"  # pads = {pads}"
    attrs = {"kernel_shape": _ints(layer.kernel)}
    if layer.kind != "unpool" and any(v != 1 for v in layer.stride) or layer.kind == "unpool":
        attrs["strides"] = _ints(layer.stride)
    if isinstance(layer.padding, str):
        attrs["auto_pad"] = _AUTO_PAD.get(layer.padding, layer.padding)
    elif any(b or a for b, a in layer.padding) and not (layer.kind == "convT" and layer.output_size):
        attrs["pads"] = [int(b) for b, _ in layer.padding] + [int(a) for _, a in layer.padding]
    if layer.kind in ("conv", "convT", "maxpool", "avgpool", "lppool") and any(v != 1 for v in layer.dilation):
        attrs["dilations"] = _ints(layer.dilation)
    if layer.kind in ("conv", "convT") and layer.groups != 1:
        attrs["group"] = layer.groups
    if layer.kind == "conv":
        return node("Conv", '["X", "W"]', **attrs)
    if layer.kind == "convT":
        ops = [int(ax.output_padding or 0) for ax in axes]
        if any(ops):
            attrs["output_padding"] = ops
        if layer.output_size is not None:
            attrs["output_shape"] = _ints(layer.output_size)
        return node("ConvTranspose", '["X", "W"]', **attrs)
    if layer.kind in ("maxpool", "avgpool", "lppool"):
        if layer.ceil_mode:
            attrs["ceil_mode"] = 1
        if layer.kind == "lppool":
            return node("LpPool", '["X"]', **attrs, p=2)
        return node("MaxPool" if layer.kind == "maxpool" else "AveragePool", '["X"]', **attrs)
    inputs = '["X", "I", "output_shape"]' if layer.output_size is not None else '["X", "I"]'
    return node("MaxUnpool", inputs, **attrs)


def stack(codes):
    """One stack of nodes, each reading the previous node's output."""
    lines = [code.replace('["X", "W"], ["Y"]', f'["X{i}", "W{i + 1}"], ["X{i + 1}"]', 1) for i, code in enumerate(codes)]
    return "nodes = [\n" + "".join(f"    {line},\n" for line in lines) + "]"
