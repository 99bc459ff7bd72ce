"""TensorFlow tf.nn: conv1d/2d/3d, conv{1,2,3}d_transpose, max_pool/avg_pool 1d/2d/3d, depth_to_space; tf.pad.

Rules from tensorflow/core/framework/kernel_shape_util.cc (GetWindowedOutputSizeVerbose),
core/kernels/conv_grad_shape_utils.cc (ConvBackpropExtractAndVerifyDimension),
core/kernels/pooling_ops_common.cc (CheckPaddingSize), the Conv2D/Conv3D kernels and the Pad and
MirrorPad kernels (pad_op.cc, mirror_pad_op.cc: no negative paddings, so tf.pad never crops); checked
against TF 2.21 itself in tests/frameworks/test_tf.py: the default install (x86: the oneDNN CPU kernels)
in process, the reference CPU kernels (TF_ENABLE_ONEDNN_OPTS=0, CPU builds without oneDNN) in a subprocess.
Where only one of them refuses, the answer is the default's and the warning names the other; where the
default is the buggy one (empty outputs, n = 1 windows that do not fit), the answer is TF's shape function.

TF divides with C++ integer division (trunc), so a window that does not fit gives 0, not an
error, as long as the numerator stays above -stride; only a negative size is refused.
"""

from ..arithmetic import (all_of, any_of, conv_transpose_out, effective_kernel, equal, floor_div, is_symbolic,
                          same_out, same_total, same_total_pad, split_pad, trunc_div)
from . import AxisOut, call, consecutive_outputs, not_available, per_axis, possible

DEFAULT_PADDING = "valid"

# What the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) do differently, run on TF 2.21.
_ONEDNN_EMPTY_CONV = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) tf.nn.conv{r}d returns "
                      "a wrong non-empty shape here instead (e.g. input 4, kernel 5 -> 4)")
# An empty VALID max_pool on oneDNN (eager, or a tf.function of unknown shape), measured on TF 2.21 in
# tests/frameworks/test_tf_pool_modes.py: an empty axis whose n - k + s > 0 makes it abort; else an empty last
# axis (W) kills the process; else (only D/H empty) it returns the empty tensor. Explicit pads: the reference kernel.
_ONEDNN_EMPTY_MAXPOOL_ABORT = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) this VALID max_pool "
                               "raises AbortedError 'could not create a descriptor for a pooling forward propagation "
                               "primitive' instead (an empty axis with n - k + s > 0), eagerly and in a tf.function of "
                               "unknown shape")
_ONEDNN_EMPTY_MAXPOOL = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) this VALID max_pool "
                         "kills the process with a floating point exception (SIGFPE) instead (its last axis, W, "
                         "is empty), eagerly and in a tf.function of unknown shape")
_ONEDNN_EMPTY_MAXPOOL_SYMBOLIC = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) an empty VALID "
                                  "max_pool raises AbortedError 'could not create a descriptor for a pooling forward "
                                  "propagation primitive' where an empty axis has n - k + s > 0, else kills the "
                                  "process with a floating point exception (SIGFPE) where the last axis (W) is empty")
_ONEDNN_NEGATIVE_PADS = ("TF's shape function, graph mode and the reference CPU kernels refuse negative pads; "
                         "the default oneDNN CPU kernels do not check them in eager mode and return a wrong "
                         "shape or AbortedError 'could not create a primitive descriptor'")
_ONEDNN_UNCHECKED_PHASES = ("the reference CPU kernels refuse this; the default oneDNN CPU kernels do not check "
                            "the space_to_batch phases and return a wrong non-empty shape")
# Refusals keep TF's message verbatim; what oneDNN does instead is a warning issued just before.
_ONEDNN_TRANSPOSE = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) this output_shape gives "
                     "AbortedError 'could not create a primitive descriptor' instead of TF's size message")
# oneDNN checks trunc((O + pads - ek) / s) + 1 == n: with n = 1 it also takes an output_shape the window does not fit.
_ONEDNN_SHORT_TRANSPOSE = ("the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) also accept output_shape "
                           "{sizes} on axis {axis}, shorter than the window (their check rounds "
                           "trunc((O + pads - ek)/s) + 1 = 1), where TF's shape function and the reference "
                           "CPU kernels refuse")
# The reference CPU kernels refuse dilation where the default oneDNN kernels run it.
REFERENCE_DILATION = ("dilation > 1: the default oneDNN CPU kernels run this, but the reference CPU kernel "
                      "(TF_ENABLE_ONEDNN_OPTS=0, or a CPU build without oneDNN) refuses it: \"{}\"")
REFERENCE_DILATION_TRANSPOSE = "Current CPU implementations do not yet support dilation rates larger than 1."
REFERENCE_DILATION_TRANSPOSE_3D = "Current CPU implementation does not yet support dilation rates larger than 1."
REFERENCE_DILATION_CONV3D = "CPU implementation of Conv3D currently only supports dilated rates of 1."


def windowed_output(n, kernel, stride, dilation, padding):
    """TF's forward size: SAME ceil(n/s); VALID/EXPLICIT trunc((n + pads - ek + s) / s)."""
    if padding == "same":
        return same_out(n, stride)
    before, after = (0, 0) if padding == "valid" else padding
    # C++ integer division rounds toward zero: kernel_shape_util.cc GetWindowedOutputSizeVerbose.
    return trunc_div(n + before + after - effective_kernel(kernel, dilation) + stride, stride)


def transpose_outputs(n, kernel, stride, dilation, padding):
    """Every output_shape O >= 1 that conv_transpose accepts: TF runs the forward size on O and
    requires it to equal the input n (conv_grad_shape_utils.cc)."""
    lowest = _transpose_candidates(n, kernel, stride, dilation, padding)[0]
    return consecutive_outputs(lowest, stride)


def _transpose_candidates(n, kernel, stride, dilation, padding):
    """The s sizes O with forward(O) = n. For n >= 1 the forward numerator is positive, so trunc
    is floor and these are a strided conv's preimage (SAME: the O with ceil(O/s) = n)."""
    if padding == "same":
        lowest = (n - 1) * stride + 1
    else:
        before, after = (0, 0) if padding == "valid" else padding
        lowest = conv_transpose_out(n, kernel, stride, dilation, before, after, 0)
    return tuple(lowest + j for j in range(int(stride)))  # noqa: the s consecutive candidates


def _pad_pairs(layer, sizes, what, ranks):
    """The (before, after) pairs TF applies; explicit pads only where the op takes them."""
    if layer.padding in ("valid", "same"):
        return layer.padding
    if isinstance(layer.padding, str):
        not_available(f"tf.nn has no padding '{layer.padding}' (only 'SAME', 'VALID' and explicit pads)",
                      "pad with tf.pad and use VALID, or use keras Conv1D(padding='causal')")
    if layer.rank not in ranks:
        explicit_ranks = " and ".join(f"{r}-D" for r in ranks) or "no rank"
        not_available(f"tf.nn.{what} takes only 'SAME'/'VALID' padding (explicit pads: {explicit_ranks} only; "
                      "TF raises TypeError: Expected string for argument 'padding')",
                      "pad with tf.pad first and use padding='VALID'")
    return layer.padding


def same_pads(n, k, s, d, rank):
    """SAME's (before, after): the total max(0, (ceil(n/s)-1)*s + ek - n), the odd pixel after.
    conv3d and the 3-D pools do not clamp the total at 0: with a negative total they put trunc(T/2)
    before the input, so the window starts inside it (found by the NumPy executor: conv3d k1 s3 on
    n=3 reads x[1]). The output size is the same either way."""
    if rank != 3:
        return split_pad(same_total_pad(n, k, s, d))
    total = same_total(n, k, s, d)
    before = trunc_div(total, 2)
    return before, total - before


def _axis_pads(n, k, s, d, padding, rank=2):
    if padding == "same":
        return same_pads(n, k, s, d, rank)
    return (0, 0) if padding == "valid" else padding


def _forward_sizes(layer, sizes, checks, padding, dilation, reverse=False):
    """GetWindowedOutputSizeVerbose per axis, in axis order (D, H, W) or, reversed, (W, H, D)."""
    axes = list(zip(sizes, layer.kernel, layer.stride, dilation, _per_axis_padding(layer, padding)))
    outputs = [windowed_output(n, k, s, d, pad) for n, k, s, d, pad in axes]
    for o, (n, k, s, d, _) in (reversed if reverse else list)(list(zip(outputs, axes))):
        checks.require(o >= 0, f"Computed output size would be negative: {o} [input_size: {n}, "
                               f"effective_filter_size: {effective_kernel(k, d)}, stride: {s}]")
    return outputs


def _per_axis_padding(layer, padding):
    return padding if not isinstance(padding, str) else (padding,) * layer.rank


def conv(layer, sizes, checks):
    r, d = layer.rank, layer.dilation
    if layer.groups != 1:
        _groups(layer, checks)
    padding = _pad_pairs(layer, sizes, f"conv{r}d", ranks=(2,))
    if not isinstance(padding, str):
        negative = not all_of(b >= 0 and a >= 0 for b, a in padding)
        checks.warn(negative, _ONEDNN_NEGATIVE_PADS)
        checks.require(not negative, "All elements of explicit_paddings must be nonnegative")
    outputs = _forward_sizes(layer, sizes, checks, padding, d)
    if r == 3 and any(dj != 1 for dj in d):
        # conv_ops_3d.cc: an empty output returns before the reference kernel's dilation check.
        checks.warn(all_of(o >= 1 for o in outputs), REFERENCE_DILATION.format(REFERENCE_DILATION_CONV3D))
    if padding != "same":
        _warn_empty(layer, sizes, checks, outputs, padding, d, _ONEDNN_EMPTY_CONV.format(r=r))
    else:
        checks.note("SAME: output ceil(n/s); total pad max(0, (o-1)·s + ek - n), the odd pixel after")
    return tuple(AxisOut(o, _axis_pads(n, k, s, dj, p, r))
                 for o, n, k, s, dj, p in zip(outputs, sizes, layer.kernel, layer.stride, d,
                                                 _per_axis_padding(layer, padding)))


def _warn_empty(layer, sizes, checks, outputs, padding, dilation, onednn, pool=False):
    """o = 0: eager returns an empty tensor; graph shape inference subtracts first and refuses (a pool's shape
    function only where the shape is static: a tf.function of unknown (None) dims runs it as eager does)."""
    pads = _per_axis_padding(layer, padding)
    where = ("in eager mode and in a tf.function of unknown (None) dims, but in one traced with this static "
             "shape," if pool else "in eager mode, but in a tf.function/graph")
    for n, k, dj, p, o in zip(sizes, layer.kernel, dilation, pads, outputs):
        before, after = (0, 0) if p == "valid" else p
        checks.warn(o < 1,
                    f"output size 0: TF returns an empty tensor {where} shape inference refuses it: \"Negative "
                    f"dimension size caused by subtracting {effective_kernel(k, dj)} from {n + before + after}\""
                    + (f"; {onednn}" if onednn else ""))


def _onednn_empty_maxpool(sizes, kernel, stride, outputs, padding):
    """What oneDNN's max_pool does with an empty VALID output, by the rule measured (see _ONEDNN_EMPTY_MAXPOOL)."""
    if padding != "valid":
        return ""  # explicit pads run the reference kernel, oneDNN on or not
    if any(is_symbolic(v) for v in (*sizes, *outputs)):
        return _ONEDNN_EMPTY_MAXPOOL_SYMBOLIC
    empty = [o == 0 for o in outputs]
    if any(e and n - k + s > 0 for e, n, k, s in zip(empty, sizes, kernel, stride)):
        return _ONEDNN_EMPTY_MAXPOOL_ABORT
    return _ONEDNN_EMPTY_MAXPOOL if empty[-1] else ""


def _groups(layer, checks):
    """conv1d/conv2d group by the filter's depth (C_in/groups); Conv3D (MklNativeConv3D) does not."""
    if layer.rank == 3:
        checks.refuse("input and filter must have the same depth: C_in vs C_in/groups (tf.nn.conv3d has no groups)")
    checks.note(f"groups={layer.groups}: a filter of depth C_in/{layer.groups}; depthwise (groups = C_in): "
                "tf.nn.depthwise_conv2d")
    if layer.rank == 2:
        checks.warn(layer.stride[0] != layer.stride[1], "as tf.nn.depthwise_conv2d (groups = C_in), "
                    + REFERENCE_EQUAL_STRIDES)


def conv_transpose(layer, sizes, checks):
    r, k, s, d = layer.rank, layer.kernel, layer.stride, layer.dilation
    if layer.groups != 1:
        not_available("tf.nn.conv_transpose has no groups", "use -f torch or onnx")
    if layer.output_padding is not None:
        not_available("tf.nn.conv_transpose has no output_padding",
                      "choose the output with --output-size (tf's output_shape)")
    padding = _pad_pairs(layer, sizes, f"conv{r}d_transpose", ranks=(2,))
    if any(dj != 1 for dj in d):  # the reference kernel checks it before anything else
        message = REFERENCE_DILATION_TRANSPOSE_3D if r == 3 else REFERENCE_DILATION_TRANSPOSE
        if not isinstance(padding, str):  # explicit pads run the reference kernel, oneDNN on or not
            checks.refuse(message)
        checks.warn(True, REFERENCE_DILATION.format(message))
    if not isinstance(padding, str):
        checks.require(all_of(b >= 0 and a >= 0 for b, a in padding),
                       "All elements of explicit_paddings must be nonnegative")
    pads = _per_axis_padding(layer, padding)
    candidates = [_transpose_candidates(n, kj, sj, dj, p) for n, kj, sj, dj, p in zip(sizes, k, s, d, pads)]
    accepted = [possible(c) for c in candidates]
    label = "Conv3DBackpropInputOp" if r == 3 else "Conv2DCustomBackpropInput"
    # 1-D runs as 2-D on (N, 1, W, C): its axis is spatial_dim 2.
    spatial_dims = [2] if r == 1 else list(range(1, r + 1))
    if layer.output_size is None:
        for n, cands, kj, sj, dj, p, dim in zip(sizes, candidates, k, s, d, pads, spatial_dims):
            # With no output_shape >= 1 left, every choice fails; show TF's answer for output_shape 1.
            checks.require(cands[-1] >= 1, "no output_shape is accepted on this axis; for output_shape 1 TF says: "
                           + _transpose_message(label, 1, n, kj, sj, dj, p, dim))
        checks.note("tf.nn.conv_transpose: the caller chooses output_shape; TF accepts O when the forward "
                    "size of O equals the input")
        for n, kj, sj, dj, p, dim in zip(sizes, k, s, d, pads, spatial_dims):
            short = _onednn_short_outputs(n, kj, sj, dj, p)
            checks.warn(bool(short), _ONEDNN_SHORT_TRANSPOSE.format(sizes=_listed(short), axis=_axis_name(r, dim)))
        return tuple(AxisOut(None, None if p == "same" else _axis_pads(0, 1, 1, 1, p), accepted=acc)
                     for p, acc in zip(pads, accepted))
    axes = list(zip(sizes, layer.output_size, k, s, d, pads, spatial_dims))
    # oneDNN runs an output_shape where every axis fits or is one of its short ones.
    shorts = [_onednn_short(n, o, kj, sj, dj, p) for n, o, kj, sj, dj, p, _ in axes]
    onednn_only = any(shorts) and all(short or windowed_output(o, kj, sj, dj, p) == n
                                      for short, (n, o, kj, sj, dj, p, _) in zip(shorts, axes))
    if onednn_only:
        checks.warn(True, _ONEDNN_SHORT_TRANSPOSE.format(
            sizes=_listed(o for short, (_, o, *_) in zip(shorts, axes) if short),
            axis=", ".join(_axis_name(r, dim) for short, (*_, dim) in zip(shorts, axes) if short)))
    for n, o, kj, sj, dj, p, dim in axes:
        computed = windowed_output(o, kj, sj, dj, p)
        checks.require(computed >= 0, f"Computed output size would be negative: {computed} [input_size: {o}, "
                                      f"effective_filter_size: {effective_kernel(kj, dj)}, stride: {sj}]")
        # Both sides: an equality test stays symbolic for sympy sizes. Explicit pads run the reference kernel.
        checks.warn(all_of([any_of([computed < n, computed > n]), not onednn_only, isinstance(p, str)]),
                    _ONEDNN_TRANSPOSE)
        checks.require(all_of([computed <= n, computed >= n]), _transpose_message(label, o, n, kj, sj, dj, p, dim))
    return tuple(AxisOut(o, _axis_pads(o, kj, sj, dj, p), accepted=acc)
                 for o, kj, sj, dj, p, acc in zip(layer.output_size, k, s, d, pads, accepted))


def _onednn_short_outputs(n, k, s, d, padding):
    """The output_shape sizes only oneDNN accepts: with n = 1 and no SAME, the O >= 1 whose padded size
    lies strictly between ek - s and ek, VALID (trunc rounds its negative quotient up to 0, and 0 + 1 = n)."""
    if padding != "valid" or is_symbolic(n) or n != 1:
        return ()  # explicit pads run the reference kernel, oneDNN on or not
    ek = effective_kernel(k, d)
    return tuple(range(max(1, int(ek - s + 1)), int(ek)))


def _onednn_short(n, o, k, s, d, padding):
    return int(o) in _onednn_short_outputs(n, k, s, d, padding) if not is_symbolic(o) else False


def _axis_name(rank, spatial_dim):
    """The axis as the forward table names it (L; H, W; D, H, W) from TF's spatial_dim."""
    return "L" if rank == 1 else "DHW"[3 - rank + spatial_dim - 1]


def _listed(sizes):
    return ", ".join(str(v) for v in sizes)


def _transpose_message(label, o, n, k, s, d, padding, spatial_dim):
    computed = windowed_output(o, k, s, d, padding)
    return (f"{label}: Size of out_backprop doesn't match computed: actual = {n}, computed = {computed} "
            f"spatial_dim: {spatial_dim} input: {o} filter: {k} output: {n} stride: {s} dilation: {d}")


def _pool(layer, sizes, checks, name):
    r = layer.rank
    if layer.ceil_mode:
        not_available(f"tf.nn.{name}_pool{r}d has no ceil_mode",
                      "pad with tf.pad (or explicit max_pool pads) so the last window fits")
    if any(dj != 1 for dj in layer.dilation):
        not_available(f"tf.nn.{name}_pool{r}d has no dilation",
                      "tf.nn.pool(..., dilations=...) dilates (with strides 1)")
    padding = _pad_pairs(layer, sizes, f"{name}_pool{r}d", ranks=(1, 2) if name == "max" else ())
    ones = (1,) * r
    if not isinstance(padding, str):
        checks.require(all_of(b >= 0 and a >= 0 for b, a in padding),
                       "All elements of explicit_paddings must be nonnegative")
        # pooling_ops_common.cc CheckPaddingSize; 1-D runs as 2-D with a height-1 window.
        sides = (("Top", "Bottom"), ("Left", "Right")) if r == 2 else (("Left", "Right"),)
        for (b, a), kj, (first, second) in zip(padding, layer.kernel, sides):
            checks.require(b < kj, f"{first} padding {b} needs to be smaller than the window size {kj}")
            checks.require(a < kj, f"{second} padding {a} needs to be smaller than the window size {kj}")
    # Pooling3DOp::Compute checks x, y, z: W first, D last.
    outputs = _forward_sizes(layer, sizes, checks, padding, ones, reverse=r == 3)
    if padding != "same":
        onednn = _onednn_empty_maxpool(sizes, layer.kernel, layer.stride, outputs, padding) if name == "max" else ""
        _warn_empty(layer, sizes, checks, outputs, padding, ones, onednn, pool=True)
    return tuple(AxisOut(o, _axis_pads(n, k, s, 1, p, r))
                 for o, n, k, s, p in zip(outputs, sizes, layer.kernel, layer.stride,
                                         _per_axis_padding(layer, padding)))


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "max")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "avg")


def upsample(layer, sizes, checks):
    if layer.scale is None:
        return resize(layer, sizes, checks)
    not_available("tf.nn has no upsample layer",
                  "use tf.image.resize(x, size=[H, W], method='nearest') with an explicit size, "
                  "or keras layers.UpSampling2D(size=...) (-f keras)")


def unpool(layer, sizes, checks):
    not_available("tf.nn has no max-unpool layer",
                  "scatter with tf.nn.max_pool_with_argmax's indices (tf.scatter_nd), "
                  "or use -f torch/onnx (MaxUnpool)")


def pixelshuffle(layer, sizes, checks):
    if layer.rank != 2:
        not_available("tf.nn.depth_to_space rearranges the two spatial axes of NHWC: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    checks.require(r >= 2, f"Value for attr 'block_size' of {r} must be at least minimum 2")
    checks.note(f"depth_to_space({r}): (H, W, C×{r * r}) -> (H×{r}, W×{r}, C); the channels must divide by {r * r}")
    return tuple(AxisOut(n * r) for n in sizes)


_PAD_MODES = {"zeros": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}
_NO_PAD_MODE = {"replicate": "numpy's 'edge': use -f torch/jax/onnx (SYMMETRIC equals it for pads of 1)",
                "circular": "numpy's 'wrap': use -f torch/jax/onnx, or tf.concat the wrapped slices around x"}


def pad(layer, sizes, checks):
    """tf.pad: the Pad op (CONSTANT) or MirrorPad (REFLECT, SYMMETRIC), each axis checked in order.

    Neither crops: a negative padding is refused. REFLECT leaves the edge out, so each pad must be
    below the size; SYMMETRIC repeats the edge, so a pad may equal it."""
    mode = _PAD_MODES.get(layer.padding_mode)
    if mode is None:
        not_available(f"tf.pad has no {layer.padding_mode} mode (Value of argument `mode` expected to be one of "
                      f'"CONSTANT", "REFLECT", or "SYMMETRIC". Received `mode` = {layer.padding_mode.upper()})',
                      _NO_PAD_MODE[layer.padding_mode])
    for n, (b, a) in zip(sizes, layer.padding):
        checks.require(b >= 0 and a >= 0, f"{'P' if mode == 'CONSTANT' else 'p'}addings must be non-negative: {b} {a}")
        if mode == "REFLECT":
            checks.require(max(b, a) < n,
                           f"paddings must be less than the dimension size: {b}, {a} not less than {n}")
        elif mode == "SYMMETRIC":
            checks.require(max(b, a) <= n,
                           f"paddings must be no greater than the dimension size: {b}, {a} greater than {n}")
    if mode != "CONSTANT":
        checks.note(f"tf.pad mode='{mode}': each pad " + ("below" if mode == "REFLECT" else "at most") + " the size")
    return tuple(AxisOut(n + b + a, (b, a)) for n, (b, a) in zip(sizes, layer.padding))


def adaptive(layer, sizes, checks):
    """tf has global pooling only (tf.reduce_mean / reduce_max over the spatial axes, keepdims=True)."""
    if any(o != 1 for o in layer.output_size):
        not_available("tf has no adaptive pooling to an output size other than 1 (only tf.reduce_mean/reduce_max "
                      "over the spatial axes)", "where out divides n, tf.nn.avg_pool/max_pool with ksize = strides = "
                      "n/out and padding='VALID' gives torch's windows; else keras layers.Adaptive*Pooling (-f keras)")
    checks.note("global pooling: tf.reduce_mean/reduce_max over the spatial axes, keepdims=True")
    return tuple(AxisOut(1) for _ in sizes)


def resize(layer, sizes, checks):
    """tf.image.resize(x, size=[H, W]): images (N, H, W, C) only."""
    if layer.rank != 2:
        not_available(f"tf.image.resize takes 2-D images; got a {layer.rank}-D size", "use -f torch or jax")
    checks.note("tf.image.resize(size=[H, W]): output = the size asked for")
    return tuple(AxisOut(o) for o in layer.output_size)


# oneDNN (the default x86 CPU kernels) runs unequal strides; only the reference kernel refuses them.
REFERENCE_EQUAL_STRIDES = ("unequal strides: oneDNN (the default x86 CPU kernels) runs this, but the reference CPU "
                           "kernel (TF_ENABLE_ONEDNN_OPTS=0, or a CPU where TF does not enable oneDNN) refuses it: "
                           "\"Current implementation only supports equal length strides in the row and column "
                           "dimensions. [Op:DepthwiseConv2dNative]\"")


def depthwise(layer, sizes, checks):
    """tf.nn.depthwise_conv2d and separable_conv2d (its pointwise 1x1 conv keeps the size): 2-D only; the CPU
    kernel (DepthwiseConv2dNative) takes one stride for H and W; strides > 1 with dilations > 1 run (nn_impl
    warns that they should not)."""
    name = "depthwise_conv2d" if layer.kind == "depthwise" else "separable_conv2d"
    if layer.rank != 2:
        not_available(f"tf.nn.{name} is 2-D only: give a 2-D size (HxW)",
                      "for 1-D use keras layers.DepthwiseConv1D/SeparableConv1D, or tf.nn.conv1d with groups")
    s, d = layer.stride, layer.dilation
    padding = _pad_pairs(layer, sizes, name, ranks=(2,))
    if not isinstance(padding, str):
        negative = not all_of(b >= 0 and a >= 0 for b, a in padding)
        checks.warn(negative, _ONEDNN_NEGATIVE_PADS)
        checks.require(not negative, "All elements of explicit_paddings must be nonnegative")
    checks.warn(s[0] != s[1], REFERENCE_EQUAL_STRIDES)
    if max(d) > 1:
        return _space_to_batch(layer, sizes, checks, padding)
    outputs = _forward_sizes(layer, sizes, checks, padding, d)
    if padding != "same":
        _warn_empty(layer, sizes, checks, outputs, padding, d,
                    _ONEDNN_EMPTY_CONV.replace("tf.nn.conv{r}d", f"tf.nn.{name}"))
    return tuple(AxisOut(o, _axis_pads(n, k, sj, dj, p, 2))
                 for o, n, k, sj, dj, p in zip(outputs, sizes, layer.kernel, s, d, _per_axis_padding(layer, padding)))


def lppool(layer, sizes, checks):
    not_available("tf.nn has no LP pooling", "tf.nn.avg_pool on x**p, times the window size, to the power 1/p (the "
                                             "avg_pool's size), or -f torch/onnx")


def _space_to_batch(layer, sizes, checks, padding):
    """nn_impl runs a dilated depthwise conv as nn_ops.with_space_to_batch: each axis padded (SAME: (k-1)·d split,
    the odd pixel after -- whatever the stride), then to a multiple of d; split into d phases of m = padded/d; each
    convolved VALID with the undilated kernel at the stride; interleaved back (× d) and the extra pad cropped. At
    stride 1 that is the dilated conv; with strides it is another layer (the shape below, other values)."""
    outputs, pairs, phases = [], [], []
    for n, k, sj, dj, p in zip(sizes, layer.kernel, layer.stride, layer.dilation, _per_axis_padding(layer, padding)):
        if p == "same":
            before = floor_div((k - 1) * dj, 2)
            p = (before, (k - 1) * dj - before)
        before, after = (0, 0) if p == "valid" else p
        full = n + before + after
        extra = (dj - full % dj) % dj
        m = floor_div(full + extra, dj)
        phase = trunc_div(m - k + sj, sj)
        checks.warn(phase < 0, _ONEDNN_UNCHECKED_PHASES)
        checks.require(phase >= 0, f"Computed output size would be negative: {phase} [input_size: {m}, "
                                   f"effective_filter_size: {k}, stride: {sj}]")
        phases.append((phase, dj, extra))
        pairs.append((before, after))
    for axis, (phase, dj, extra) in enumerate(phases):
        out = phase * dj - extra
        checks.warn(out < 0, _ONEDNN_UNCHECKED_PHASES)
        checks.require(out >= 0, f"cropped_shape[{axis}]={out} must be non-negative [Op:BatchToSpaceND]")
        outputs.append(out)
    checks.warn(max(layer.stride) > 1, "tf.nn warns (UserWarning): When dilation rate is greater than 1, then all "
                                       "values of strides must be 1 -- and runs it through space_to_batch: the "
                                       "size is this one, not a strided dilated conv's (keras DepthwiseConv2D "
                                       "runs that), and so are the values")
    checks.warn(any_of(o < 1 for o in outputs), "output size 0: TF returns an empty tensor; "
                + _ONEDNN_EMPTY_CONV.replace("tf.nn.conv{r}d", "the phase conv"))
    checks.note("dilations > 1: space_to_batch by d, a VALID conv of the undilated kernel, batch_to_space, crop")
    return tuple(AxisOut(o, pair) for o, pair in zip(outputs, pairs))


def pixelunshuffle(layer, sizes, checks):
    """tf.nn.space_to_depth: (H×r, W×r, C) -> (H, W, C×r²); H and W must divide by r, r >= 2."""
    if layer.rank != 2:
        not_available("tf.nn.space_to_depth rearranges the two spatial axes of NHWC: give a 2-D size (HxW)")
    r = int(layer.scale[0])
    if r < 2:
        not_available(f"Value for attr 'block_size' of {r} must be at least minimum 2 (tf.nn.space_to_depth)")
    height, width = sizes
    checks.require(all_of([equal(height % r, 0), equal(width % r, 0)]),
                   f"Image width {width} and height {height} should be divisible by block_size: {r} [Op:SpaceToDepth]")
    checks.note(f"space_to_depth({r}): (H, W, C) -> (H/{r}, W/{r}, C×{r * r})")
    return tuple(AxisOut(floor_div(n, r)) for n in sizes)


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool,
          "upsample": upsample, "pixelshuffle": pixelshuffle, "unpool": unpool, "pad": pad,
          "adaptiveavgpool": adaptive, "adaptivemaxpool": adaptive, "depthwise": depthwise, "separable": depthwise,
          "pixelunshuffle": pixelunshuffle, "lppool": lppool}


def _padding_arg(layer):
    if isinstance(layer.padding, str):
        return f'"{layer.padding.upper()}"'
    return str([[0, 0], *[[int(b), int(a)] for b, a in layer.padding], [0, 0]])


def _chosen_output(layer, ax):
    """output_shape for the code line: the --output-size, else VALID/explicit's smallest accepted size
    (torch's default) and SAME's largest (n·s, what keras passes)."""
    if ax.output is not None:
        return ax.output
    return ax.accepted[-1 if layer.padding == "same" else 0] if ax.accepted else "O"


def code(layer, axes):
    r = layer.rank
    k, s, d = (per_axis(v) for v in (layer.kernel, layer.stride, layer.dilation))
    padding = _padding_arg(layer)
    if layer.kind == "depthwise":
        return depthwise_code(layer, "C_in", None)
    if layer.kind == "separable":
        strides = [1, *(int(v) for v in layer.stride), 1]
        dilations = "" if d == 1 else f", dilations={[int(v) for v in layer.dilation]}"
        return (f"tf.nn.separable_conv2d(x, dw, pw, strides={strides}, padding={padding}{dilations})  "
                f"# dw: ({', '.join(str(int(v)) for v in layer.kernel)}, C_in, multiplier), pw: (1, 1, C_in*multiplier, C_out)")
    if layer.kind == "pixelunshuffle":
        return call("tf.nn.space_to_depth", "x", int(layer.scale[0]))
    if layer.kind == "conv":
        if r == 3:
            return (f"tf.nn.conv3d(x, w, strides=[1, {', '.join(str(int(v)) for v in layer.stride)}, 1], "
                    f"padding={padding}"
                    + ("" if d == 1 else f", dilations=[1, {', '.join(str(int(v)) for v in layer.dilation)}, 1]")
                    + ")" + _filter(layer, "C_in, C_out"))
        if layer.groups != 1:  # the filter's depth groups the channels
            depth = f"C_in/{layer.groups}"
            return (f"tf.nn.conv{r}d(x, w, {'stride' if r == 1 else 'strides'}={per_axis(layer.stride)}, "
                    f"padding={padding}" + ("" if d == 1 else f", dilations={d}")
                    + f")  # w: ({', '.join(map(str, layer.kernel))}, {depth}, C_out); groups = C_in: "
                    "tf.nn.depthwise_conv2d(x, w, strides=[1, s, s, 1], padding=...)")
        stride_name = "stride" if r == 1 else "strides"
        return (f"tf.nn.conv{r}d(x, w, {stride_name}={list(map(int, layer.stride)) if r == 2 and isinstance(s, tuple) else s}, "
                f"padding={padding}" + ("" if d == 1 else f", dilations={list(d) if isinstance(d, tuple) else d}")
                + ")" + _filter(layer, "C_in, C_out"))
    if layer.kind == "convT":
        shape = ", ".join(str(_chosen_output(layer, ax)) for ax in axes)
        strides = "[1, " + ", ".join(str(int(v)) for v in layer.stride) + ", 1]"
        return (f"tf.nn.conv{r}d_transpose(x, w, output_shape=[N, {shape}, C_out], strides={strides}, "
                f"padding={padding})" + _filter(layer, "C_out, C_in"))
    if layer.kind in ("maxpool", "avgpool"):
        name = "max" if layer.kind == "maxpool" else "avg"
        as_arg = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
        return f"tf.nn.{name}_pool{r}d(x, ksize={as_arg(k)}, strides={as_arg(s)}, padding={padding})"
    if layer.kind == "pixelshuffle":
        return call("tf.nn.depth_to_space", "x", int(layer.scale[0]))
    if layer.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        reduce = "reduce_mean" if layer.kind == "adaptiveavgpool" else "reduce_max"
        return f"tf.{reduce}(x, axis={list(range(1, r + 1))}, keepdims=True)"
    if layer.kind == "upsample":
        return f"tf.image.resize(x, size={[int(o) for o in layer.output_size]}, method='nearest')"
    if layer.kind == "pad":
        mode = _PAD_MODES[layer.padding_mode]
        return f"tf.pad(x, {_padding_arg(layer)}" + ("" if mode == "CONSTANT" else f', mode="{mode}"') + ")"
    not_available(f"tf.nn has no {layer.kind} layer")


def _filter(layer, channels):
    """The filter's shape as TF takes it (tf.nn.conv2d: (kh, kw, in, out); conv2d_transpose: (kh, kw, out, in)):
    the kernel lives in w, so k4 and k5 differ only here."""
    return f"  # w: ({', '.join(str(int(k)) for k in layer.kernel)}, {channels})"


def depthwise_code(layer, c_in, c_out):
    """groups = in channels in 2-D: tf.nn.depthwise_conv2d, a filter (kh, kw, C_in, multiplier)."""
    if layer.rank != 2:
        return None
    multiplier = c_out // c_in if c_out is not None and isinstance(c_in, int) and c_out % c_in == 0 else "multiplier"
    strides = [1, *(int(v) for v in layer.stride), 1]
    dilations = "" if set(layer.dilation) == {1} else f", dilations={[int(v) for v in layer.dilation]}"
    return (f"tf.nn.depthwise_conv2d(x, w, strides={strides}, padding={_padding_arg(layer)}{dilations})  "
            f"# w: ({', '.join(str(int(k)) for k in layer.kernel)}, {c_in}, {multiplier})")


def stack(codes):
    """One stack of calls, each on the previous result, each with its own weights."""
    return "\n".join("x = " + code.replace("(x, w,", f"(x, w{i},", 1).replace("# w:", f"# w{i}:", 1)
                     for i, code in enumerate(codes, 1))
