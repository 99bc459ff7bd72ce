"""Keras 3: layers.Conv1D/2D/3D, Conv1D/2D/3DTranspose, MaxPooling/AveragePooling1D/2D/3D, UpSampling1D/2D/3D,
ZeroPadding1D/2D/3D and Cropping1D/2D/3D (a pad layer: pads >= 0 pad with zeros, pads <= 0 crop).

Rules from keras/src/ops/operation_utils.py (compute_conv_output_shape, compute_pooling_output_shape),
backend/common/backend_utils.py (compute_conv_transpose_output_shape and the jax/torch lowerings),
layers/convolutional/base_conv.py, base_conv_transpose.py, layers/pooling/base_pooling.py,
utils/argument_validation.py, layers/reshaping/cropping{1,2,3}d.py (compute_output_shape) and the
tensorflow backend's tf.nn.conv_transpose call; checked against
keras 3 on its tensorflow, jax and torch backends in tests/frameworks/test_keras.py.

The answer models a layer used in a Model (built on a keras.Input): that is where Keras validates
shapes. Eager calls differ only where they return a 0-size tensor, which the messages say.
"""

import math
import struct

from ..arithmetic import (all_of, any_of, conv_out, conv_transpose_out, effective_kernel, floor_div, is_symbolic,
                          maximum, minimum, same_out, same_total_pad)
from . import AxisOut, adaptive_outputs, call, not_available, per_axis, possible
from .tf import (REFERENCE_DILATION, REFERENCE_DILATION_TRANSPOSE, REFERENCE_DILATION_TRANSPOSE_3D,
                 REFERENCE_EQUAL_STRIDES, same_pads, transpose_outputs, windowed_output)

DEFAULT_PADDING = "valid"

_NAMES = {"conv": "Conv{}D", "convT": "Conv{}DTranspose", "maxpool": "MaxPooling{}D",
          "avgpool": "AveragePooling{}D", "upsample": "UpSampling{}D", "depthwise": "DepthwiseConv{}D",
          "separable": "SeparableConv{}D"}


def _name(layer):
    return _NAMES[layer.kind].format(layer.rank)


def _tuple(values):
    """A Python tuple as Keras prints it: (2,) or (2, 2)."""
    return repr(tuple(int(v) for v in values))


def _array(values):
    """A numpy array as Keras prints it: [2 2]."""
    return "[" + " ".join(str(v) for v in values) + "]"


def _no_explicit_pads(layer, checks):
    """Keras layers take only padding words; numbers are not an option."""
    if not isinstance(layer.padding, str):
        said = ("a Model refuses it: Argument `padding` must be either 'valid' or 'same'"
                if layer.kind in ("maxpool", "avgpool") else
                "the constructor raises AttributeError: 'int' object has no attribute 'lower'")
        not_available(f"keras {_name(layer)} has no numeric padding ({said})",
                      f"pad with layers.ZeroPadding{layer.rank}D first and use padding='valid', "
                      "or use -f torch/jax/onnx/tf")


def _standardize_padding(layer, checks, allow_causal):
    """utils/argument_validation.standardize_padding, run by the conv constructors."""
    allowed = "{'valid', 'same', 'causal'}" if allow_causal else "{'valid', 'same'}"
    if layer.padding not in (("valid", "same", "causal") if allow_causal else ("valid", "same")):
        # The constructor's ValueError: a word the layer does not take is unusable input (exit 2).
        not_available(f"The `padding` argument must be a list/tuple or one of {allowed}. "
                      f"Received: {layer.padding}")


def _no_dilated_strides(layer, checks):
    """base_conv / base_conv_transpose constructors."""
    s, d = layer.stride, layer.dilation
    if max(s) > 1 and max(d) > 1:
        checks.refuse("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                      f"Received: strides={_tuple(s)} and dilation_rate={_tuple(d)}")


def conv(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    _no_explicit_pads(layer, checks)
    _standardize_padding(layer, checks, allow_causal=layer.rank == 1)
    _no_dilated_strides(layer, checks)
    if layer.padding == "valid":
        pairs = [(0, 0)] * layer.rank
    elif layer.padding == "same":
        # The backends split SAME as TF does: the odd pixel after (on the TF backend, TF's own 3-D rule).
        rank = layer.rank if layer.backend == "tensorflow" else 2
        pairs = [same_pads(n, kj, sj, dj, rank) for n, kj, sj, dj in zip(sizes, k, s, d)]
        checks.note("padding='same': output ceil(n/s); total pad max(0, (ceil(n/s)-1)×s + ek - n), extra after")
        return tuple(AxisOut(same_out(n, sj), p) for n, sj, p in zip(sizes, s, pairs))
    else:  # causal (Conv1D._compute_causal_padding): d×(k-1) on the left, then valid
        pairs = [(dj * (kj - 1), 0) for kj, dj in zip(k, d)]
        checks.note("padding='causal': left pad d×(k-1), then 'valid'")
    outputs = [conv_out(n, kj, sj, dj, b, a) for n, kj, sj, dj, (b, a) in zip(sizes, k, s, d, pairs)]
    # compute_conv_output_shape, run by build(): only 'valid' can come out empty.
    checks.require(
        all_of(o >= 1 for o in outputs),
        "Computed output size would be zero or negative. Received "
        f"`inputs shape=(None, {', '.join(str(n) for n in sizes)}, C)`, "
        f"`kernel shape=({', '.join(str(int(kj)) for kj in k)}, C, filters)`, "
        f"`dilation_rate={_array(int(dj) for dj in d)}`, `strides={_tuple(s)}`, `padding={layer.padding}`.")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


def _transpose_output(n, k, s, d, padding, op, checks=None):
    """backend_utils._get_output_shape_given_tf_padding, one axis (op None = inferred).

    valid: (n-1)s + ek + op, op None = max(ek, s) - ek; same: n×s for op None, else
    (n-1)s + ek%2 + op: the convT formula with ek//2 cut from each side.
    """
    step = checks.step if checks is not None else (lambda name, value: value)
    ek = effective_kernel(k, d)
    if padding == "valid":
        if op is None:
            op = step("inferred output_padding max(ek, s) - ek", maximum(ek, s) - ek)
        return conv_transpose_out(n, k, s, d, 0, 0, op)
    if op is None:
        return n * s
    half = step("'same' cut per side ek//2", floor_div(ek, 2))
    return conv_transpose_out(n, k, s, d, half, half, op)


def _transpose_crops(k, s, d, padding, op):
    """(before, after) cut from the full (n-1)s+ek output; negative = zeros added.

    backend_utils._convert_conv_transpose_padding_args_from_keras_to_jax gives the jax pads
    (lo, hi); the torch backend crops ek-1-lo and ek-1-hi; TF SAME splits the same way.
    """
    ek = effective_kernel(k, d)
    if padding == "valid":
        lo, hi = ek - 1, ek - 1 + (maximum(ek, s) - ek if op is None else op)
    else:
        pad_len = s + ek - 2 if op is None else ek + ek % 2 - 2 + op
        lo = minimum(floor_div(pad_len, 2) + pad_len % 2, ek - 1)
        hi = pad_len - lo
    return ek - 1 - lo, ek - 1 - hi


def _tf_accepts(n, k, s, d, padding, o):
    """The tensorflow backend hands Keras's shape to tf.nn.conv_transpose, which re-validates it."""
    if is_symbolic(n):  # the same rule, as a condition: TF's forward size of o must be n
        import sympy

        return sympy.Eq(windowed_output(o, k, s, d, padding), n)
    return any_of(o == a for a in transpose_outputs(n, k, s, d, padding))


def conv_transpose(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if layer.groups != 1:
        not_available(f"keras Conv{layer.rank}DTranspose has no groups", "use -f torch or onnx")
    _no_explicit_pads(layer, checks)
    _standardize_padding(layer, checks, allow_causal=False)
    tf_backend = layer.backend == "tensorflow"
    ops = layer.output_padding
    if ops is not None and layer.api == "layers":  # the constructor's check; keras.ops leave it to the backend
        for i, (op, sj) in enumerate(zip(ops, s)):
            if op >= sj:
                checks.refuse("`output_padding` must be strictly less than `strides` for all dimensions. "
                              f"At dimension {i}, `output_padding` is {int(op)} but `strides` is {int(sj)}. "
                              f"Received: output_padding={_tuple(ops)}, strides={_tuple(s)}")
    if layer.api == "layers":
        _no_dilated_strides(layer, checks)

    # Every output this backend accepts per axis: the inferred (None) one and each int op < s.
    def runs(n, kj, sj, dj, o):
        if tf_backend:
            return _tf_accepts(n, kj, sj, dj, layer.padding, o)
        return True

    # output_padding is None on every axis or an int on every axis, so an axis's accepted outputs are the projection
    # of the whole layer's: None's output where None runs on every axis, each int's where every axis has one that runs.
    axes = list(zip(sizes, k, s, d))
    inferred = [_transpose_output(n, kj, sj, dj, layer.padding, None) for n, kj, sj, dj in axes]
    by_int = [[o for o in (_transpose_output(n, kj, sj, dj, layer.padding, op) for op in range(int(sj)))
               if _is_true(runs(n, kj, sj, dj, o))] for n, kj, sj, dj in axes]
    inferred_runs = all(_is_true(runs(*axis, o)) for axis, o in zip(axes, inferred))
    ints_run = all(by_int)
    accepted = [_sorted_unique(possible(([o] if inferred_runs else []) + (options if ints_run else [])))
                for o, options in zip(inferred, by_int)]

    if layer.output_size is not None:
        ops = _choose_output_padding(layer, sizes, checks)
        checks.note("--output-size: keras has no output_size; output_padding chosen to give it")
    per_axis_ops = ops if ops is not None else (None,) * layer.rank
    outputs = [_transpose_output(n, kj, sj, dj, layer.padding, op, checks)
               for n, kj, sj, dj, op in zip(sizes, k, s, d, per_axis_ops)]
    if layer.padding == "valid":
        checks.note("padding='valid': (n-1)s + max(ek, s) with output_padding None, else (n-1)s + ek + op")
    else:
        checks.note("padding='same': n×s with output_padding None, else (n-1)s + ek%2 + op")

    if tf_backend:
        _tf_checks(layer, sizes, outputs, checks)
    else:
        checks.warn(any_of(o < 1 for o in outputs),
                    f"keras {_name(layer)} gives a 0-size output here (padding='same', an even effective kernel, "
                    "output_padding=0 on an input of 1); the tensorflow backend's reference CPU kernel "
                    "(TF_ENABLE_ONEDNN_OPTS=0) refuses it")
        if max(d) > 1:
            checks.note("dilation_rate > 1 runs on this backend; on the tensorflow backend the reference CPU kernel "
                        "(TF_ENABLE_ONEDNN_OPTS=0) refuses it")
    return tuple(
        AxisOut(o, _transpose_crops(kj, sj, dj, layer.padding, op), op, acc)
        for o, kj, sj, dj, op, acc in zip(outputs, k, s, d, per_axis_ops, accepted))


def _tf_checks(layer, sizes, outputs, checks):
    """tf.nn.conv_transpose (Conv2DBackpropInput / Conv3DBackpropInputV2 on CPU), as TF orders them."""
    k, s, d = layer.kernel, layer.stride, layer.dilation
    three_d = layer.rank == 3
    # tf.nn.conv_transpose with a padding word: the default oneDNN CPU kernels run dilation, the reference ones refuse.
    checks.warn(max(d) > 1, REFERENCE_DILATION.format(REFERENCE_DILATION_TRANSPOSE_3D if three_d
                                                      else REFERENCE_DILATION_TRANSPOSE))
    op_name = "Conv3DBackpropInputOp" if three_d else "Conv2DCustomBackpropInput"
    first_dim = 2 if layer.rank == 1 else 1  # conv1d runs as 2-D NHWC with H=1
    padding = layer.padding
    # A 0-size output: the default oneDNN kernels return it empty, as the jax and torch backends do.
    numeric = not any(is_symbolic(v) for v in (*sizes, *outputs))
    empty = numeric and any(o < 1 for o in outputs)
    for axis, (n, o, kj, sj, dj) in enumerate(zip(sizes, outputs, k, s, d)):
        computed = windowed_output(o, kj, sj, dj, padding)
        accepts = _tf_accepts(n, kj, sj, dj, padding, o)
        checks.warn(numeric and not empty and not accepts,
                    "with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) TF says AbortedError 'could "
                    "not create a primitive descriptor' here instead of the reference kernels' size message")
        checks.warn(empty and not accepts,
                    f"a 0-size output: the default oneDNN CPU kernels return it empty (as the jax and torch backends "
                    f"do), but the reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0) refuses it: \"{op_name}: Size of "
                    f"out_backprop doesn't match computed: actual = {n}, computed = {computed}\"")
        checks.require(
            empty or accepts,
            f"{op_name}: Size of out_backprop doesn't match computed: actual = {n}, computed = {computed} "
            f"spatial_dim: {first_dim + axis} input: {o} filter: {int(kj)} output: {n} stride: {int(sj)} "
            f"dilation: {int(dj)} (keras on the jax and torch backends gives {o})")


def _choose_output_padding(layer, sizes, checks):
    """--output-size: output_padding None when it gives every axis's size, else an int per axis."""
    if any(is_symbolic(n) for n in sizes):
        not_available("keras --output-size needs numeric sizes")
    axes = list(zip(sizes, layer.kernel, layer.stride, layer.dilation, layer.output_size))
    if all(int(_transpose_output(n, kj, sj, dj, layer.padding, None)) == int(want) for n, kj, sj, dj, want in axes):
        return None
    chosen = []
    for n, kj, sj, dj, want in axes:
        gives = {int(_transpose_output(n, kj, sj, dj, layer.padding, op)): op for op in reversed(range(int(sj)))}
        checks.require(int(want) in gives,
                       f"keras {_name(layer)} has no output_padding giving an output of {int(want)} here; "
                       f"an int output_padding gives {sorted(gives)}, None gives "
                       f"{int(_transpose_output(n, kj, sj, dj, layer.padding, None))}")
        chosen.append(gives[int(want)])
    return tuple(chosen)


def _is_true(condition):
    """Numbers decide; a symbolic condition keeps the option (it holds for some sizes)."""
    try:
        return bool(condition)
    except TypeError:
        return True


def _sorted_unique(values):
    """Sorted, each once; symbolic sizes sort by their offset from the first (2H-1 < 2H)."""
    values = list(dict.fromkeys(values))
    if not values:
        return ()
    try:
        return tuple(sorted(values, key=lambda v: int(v - values[0])))
    except TypeError:
        return tuple(values)


def _pool(layer, sizes, checks):
    k, s = layer.kernel, layer.stride
    if max(layer.dilation) > 1:
        not_available(f"keras {_name(layer)} has no dilation", "use -f torch or onnx for dilated max pooling")
    if layer.ceil_mode:
        not_available(f"keras {_name(layer)} has no ceil_mode",
                      "use padding='same' (ceil(n/s)), or layers.ZeroPadding first")
    _no_explicit_pads(layer, checks)
    if layer.padding not in ("valid", "same"):  # compute_pooling_output_shape
        eager = (" (In a Model; called eagerly on a tensor, the torch backend runs any word but 'same' as "
                 "'valid'.)" if layer.backend == "torch" else "")
        not_available(f"Argument `padding` must be either 'valid' or 'same'. Received: padding={layer.padding}"
                      + eager)
    if layer.padding == "same":
        checks.note("padding='same': output floor((n-1)/s) + 1 = ceil(n/s), extra pad after")
        totals = [same_total_pad(n, kj, sj, 1) for n, kj, sj in zip(sizes, k, s)]
        rank = layer.rank if layer.backend == "tensorflow" else 2  # TF's own 3-D rule on its backend
        pairs = [same_pads(n, kj, sj, 1, rank) for n, kj, sj in zip(sizes, k, s)]
        if layer.backend == "torch" and layer.kind == "avgpool" and layer.rank == 3:
            # backend/torch/nn.py _apply_same_padding: symmetric pads on every axis go to
            # F.avg_pool3d as its padding (else the input is padded first), and avg_pool3d checks
            # the unpadded input against the kernel (ATen Pool.h pool3d_shape_check).
            odd = [t - 2 * floor_div(t, 2) >= 1 for t in totals]
            named = ", ".join(f"{a}: {n}" for a, n in zip("THW", sizes))
            kernel = ", ".join(f"k{a}: {int(kj)}" for a, kj in zip("THW", k))
            checks.require(any_of([any_of(odd), all_of(n >= kj for n, kj in zip(sizes, k))]),
                           f"input image ({named.replace(',', '')}) smaller than kernel size "
                           f"({kernel.replace(',', '')}) (keras on the tensorflow and jax backends gives "
                           f"{', '.join(str(same_out(n, sj)) for n, sj in zip(sizes, s))})")
        return tuple(AxisOut(same_out(n, sj), p) for n, sj, p in zip(sizes, s, pairs))
    outputs = [conv_out(n, kj, sj, 1, 0, 0) for n, kj, sj in zip(sizes, k, s)]
    # Measured in tests/frameworks/test_tf_pool_modes.py: eager and a Model of None dims run tf.nn's pool.
    eager = {"tensorflow": "a 0-size tensor (or tf.nn's 'Computed output size would be negative' error"
                           + ("; max pooling on the default oneDNN CPU kernels raises AbortedError 'could not create "
                              "a descriptor for a pooling forward propagation primitive' where an empty axis has "
                              "n - k + s > 0, else kills the process with a floating point exception where the last "
                              "axis is empty)"
                              if layer.kind == "maxpool" else ")"),
             "jax": "a 0-size tensor", "torch": "torch's own pooling error"}[layer.backend]
    checks.require(
        all_of(o >= 1 for o in outputs),
        "Computed output size would be zero or negative. Received: "
        f"`inputs.shape={_array(['None', *sizes, 'C'])}`, `pool_size={_array(int(kj) for kj in k)}`, "
        f"`strides={_tuple(s)}`, `padding=valid`. (In a Model; called eagerly on a tensor, the "
        f"{layer.backend} backend gives {eager} instead"
        + (", and so does a Model whose Input has None dims; a tf.function of this static shape refuses it in shape "
           "inference.)"
           if layer.backend == "tensorflow" else ".)"))
    return tuple(AxisOut(o, (0, 0)) for o in outputs)


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks)


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks)


def upsample(layer, sizes, checks):
    if layer.scale is None:  # layers.Resizing(height, width): images only
        if layer.rank != 2:
            not_available(f"keras resizes to a size only in 2-D (layers.Resizing(height, width)); got a "
                          f"{layer.rank}-D size", "use UpSampling{r}D with an integer factor, or -f torch/jax")
        checks.note("Resizing(height, width): output = the size asked for")
        return tuple(AxisOut(o) for o in layer.output_size)
    if any(f != int(f) for f in layer.scale):
        not_available(f"keras {_name(layer)} takes integer size factors, got {', '.join(f'{f:g}' for f in layer.scale)}",
                      "use layers.Resizing(height, width) for other sizes")
    checks.note("UpSampling repeats each step `size` times: output = input × size")
    return tuple(AxisOut(n * int(f)) for n, f in zip(sizes, layer.scale))


# keras.ops.pad's numpy names, and the backends where each runs (checked on keras 3.15).
_OPS_PAD = {"reflect": ("reflect", "every backend"), "symmetric": ("symmetric", "the tensorflow and jax backends"),
            "replicate": ("edge", "the jax backend only"), "circular": ("wrap", "the jax backend only")}


def pad(layer, sizes, checks):
    """ZeroPadding{r}D when every pad is >= 0, Cropping{r}D when every pad is <= 0 (the crop is the negated pad).

    Both refuse a negative value in their constructor (standardize_tuple, value >= 0), so a layer that pads
    and crops is two Keras layers. Cropping's compute_output_shape wants something left on every axis."""
    r, pairs = layer.rank, layer.padding
    values = [v for pair in pairs for v in pair]
    if layer.padding_mode != "zeros":
        name, where = _OPS_PAD[layer.padding_mode]
        not_available(f"keras has no {layer.padding_mode} padding layer (layers.ZeroPadding{r}D pads with zeros)",
                      f"pad in a layer of your own: layers.Lambda(lambda x: keras.ops.pad(x, {_ops_pads(pairs)}, "
                      f"mode=\"{name}\")) (runs on {where})")
    if min(values) < 0 < max(values):
        crops = tuple((max(0, -b), max(0, -a)) for b, a in pairs)
        pads = tuple((max(0, b), max(0, a)) for b, a in pairs)
        not_available(f"keras pads with layers.ZeroPadding{r}D and crops with layers.Cropping{r}D, each taking "
                      "values >= 0: this layer does both",
                      f"use two layers: layers.Cropping{r}D({_keras_pairs(crops)}), "
                      f"then layers.ZeroPadding{r}D({_keras_pairs(pads)})")
    if min(values) >= 0:
        checks.note(f"layers.ZeroPadding{r}D: output = input + before + after")
        return tuple(AxisOut(n + b + a, (b, a)) for n, (b, a) in zip(sizes, pairs))
    crops = tuple((-b, -a) for b, a in pairs)
    outputs = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    message = ("`cropping` parameter of `Cropping1D` layer must be smaller than the input length" if r == 1 else
               "Values in `cropping` argument should be smaller than the corresponding spatial dimension of the input")
    checks.require(all_of(o >= 1 for o in outputs),
                   f"{message}. Received: input_shape=(None, {', '.join(str(n) for n in sizes)}, C), "
                   f"cropping={_keras_pairs(crops) if r > 1 else crops[0]}")
    checks.note(f"layers.Cropping{r}D: output = input - the crops, at least 1")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


def _keras_pairs(pairs):
    """The argument as Keras prints it: (1, 2) in 1-D, else one pair per axis."""
    pairs = tuple((int(b), int(a)) for b, a in pairs)
    return repr(pairs[0] if len(pairs) == 1 else pairs)


def _pad_argument(pairs):
    """A layer's argument as one would write it: 1 where every value is 1, else _keras_pairs."""
    pairs = tuple(pairs)
    values = {int(v) for pair in pairs for v in pair}
    return str(values.pop()) if len(values) == 1 else _keras_pairs(pairs)


def _ops_pads(pairs):
    """keras.ops.pad's pad_width on a channels-last batch: [[0, 0], [b, a], ..., [0, 0]]."""
    return [[0, 0], *[[int(b), int(a)] for b, a in pairs], [0, 0]]


def adaptive(layer, sizes, checks):
    """layers.AdaptiveAverage/MaxPooling{1,2,3}D (Keras 3.12+): torch's windows, an int > 0 per axis."""
    if None in layer.output_size:
        not_available("keras adaptive pooling takes an int per axis: The `output_size` argument must be a tuple of "
                      f"{layer.rank} integers (no None: give that axis's size)")
    if 0 in layer.output_size:
        not_available(f"The `output_size` argument must be a tuple of {layer.rank} integers. Received output_size="
                      f"{tuple(layer.output_size)}, including values {{0}} that do not satisfy `value > 0`")
    outputs = adaptive_outputs(layer, sizes, checks)
    if layer.kind == "adaptivemaxpool" and layer.backend == "tensorflow" and set(layer.output_size) != {1}:
        # backend/tensorflow/nn.py max-pools windows of ceil(n/out) and ceil(n/out) + 1, VALID, axis by axis;
        # found by tests/frameworks/test_real_layers_frameworks.py: oneDNN's max pool whose window is longer than
        # the last axis kills the process.
        n, o = sizes[-1], layer.output_size[-1]
        checks.warn(any_of([n <= 1, o <= 1]),
                    "on the tensorflow backend with oneDNN (TF's default on x86) this AdaptiveMaxPooling crashes the "
                    "process (Floating point exception): its second window on the last axis, ceil(n/out) + 1, is "
                    "longer than the input; GlobalMaxPooling (out 1) or TF_ENABLE_ONEDNN_OPTS=0 runs")
    if layer.backend == "jax" and all(isinstance(n, int) for n in sizes):
        wrong = [_two_pool_windows(int(n), int(o)) for n, o in zip(sizes, outputs)]
        if any(nan for _, nan in wrong):
            checks.warn(True, "the jax backend's output holds NaN: its two-pool gather reads past the pooled input "
                              "where a window of torch's rule is shorter than ceil(n/out)")
        elif any(differs for differs, _ in wrong):
            checks.warn(True, "the jax backend pools ceil(n/out) values where a window of torch's rule is shorter: "
                              "the values differ from torch's (the shape does not)")
    return tuple(AxisOut(o) for o in outputs)


def _two_pool_windows(n, out):
    """Keras's two-pool gather (backend/jax/nn.py): pools of ceil(n/out) and ceil(n/out) + 1 values side by side,
    the output taking the long one where its window is that long, else the short one from the window's start.
    The window bounds are float32 i·n/out, which XLA computes as i·n × float32(1/out): 49 × (1/7) rounds up to
    7.0000005, so the last of 7 windows over 7 reads 2 values and its index falls past both pools (NaN).
    Returns (some window differs from torch's, some index falls past the pools)."""
    short, recip = -(-n // out), _f32(1 / out)
    short_pools, long_pools = n - short + 1, n - short
    differs = past = False
    for i in range(out):
        start = math.floor(_f32(_f32(i * n) * recip))
        end = math.ceil(_f32(_f32((i + 1) * n) * recip))
        exact = (i * n // out, -(-(i + 1) * n // out))
        index = start + short_pools if end - start == short + 1 else start
        differs |= (start, end) != exact or exact[1] - exact[0] not in (short, short + 1)
        past |= index >= short_pools + long_pools or (index == start and start >= short_pools)
    return differs, past


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def depthwise(layer, sizes, checks):
    """DepthwiseConv1D/2D and SeparableConv1D/2D (its pointwise 1x1 conv keeps the size): Conv's shape rule, but
    strides > 1 with dilation_rate > 1 are taken (the tensorflow backend runs them dilated at stride 1, then
    subsamples) and 'causal' is not (standardize_padding allows only 'valid' and 'same')."""
    if layer.rank == 3:
        not_available(f"keras has no {_name(layer).format(3)} (Depthwise/SeparableConv are 1-D and 2-D)",
                      "use layers.Conv3D(filters, k, groups=C_in), or -f torch/jax/onnx")
    k, s, d = layer.kernel, layer.stride, layer.dilation
    _no_explicit_pads(layer, checks)
    _standardize_padding(layer, checks, allow_causal=False)
    if layer.backend == "tensorflow" and layer.rank == 2 and s[0] != s[1] and not (max(s) > 1 and max(d) > 1):
        # backend/tensorflow/nn.py calls tf.nn.depthwise_conv2d, whose CPU kernel takes one stride for H and W
        # (a Model builds; calling it refuses) -- on the reference kernel only: oneDNN runs it.
        checks.warn(True, REFERENCE_EQUAL_STRIDES)
    if layer.padding == "same":
        rank = layer.rank if layer.backend == "tensorflow" else 2
        pairs = [same_pads(n, kj, sj, dj, rank) for n, kj, sj, dj in zip(sizes, k, s, d)]
        checks.note("padding='same': output ceil(n/s); total pad max(0, (ceil(n/s)-1)×s + ek - n), extra after")
        return tuple(AxisOut(same_out(n, sj), p) for n, sj, p in zip(sizes, s, pairs))
    outputs = [conv_out(n, kj, sj, dj, 0, 0) for n, kj, sj, dj in zip(sizes, k, s, d)]
    filters = "C×depth_multiplier" if layer.kind == "depthwise" else "filters"
    checks.require(
        all_of(o >= 1 for o in outputs),
        "Computed output size would be zero or negative. Received "
        f"`inputs shape=(None, {', '.join(str(n) for n in sizes)}, C)`, "
        f"`kernel shape=({', '.join(str(int(kj)) for kj in k)}, C, {filters})`, "
        f"`dilation_rate={_array(int(dj) for dj in d)}`, `strides={_tuple(s)}`, `padding=valid`.")
    return tuple(AxisOut(o, (0, 0)) for o in outputs)


def lppool(layer, sizes, checks):
    not_available("keras has no LPPool layer",
                  f"layers.AveragePooling{layer.rank}D on x**p, times the window size, to the power 1/p "
                  "(the size of the AveragePooling), or -f torch/onnx")


def pixelunshuffle(layer, sizes, checks):
    not_available("keras has no space_to_depth / PixelUnshuffle layer",
                  "layers.Reshape + layers.Permute, or keras.ops.reshape/transpose in a layer of your own (the size: "
                  "each axis divided by the block)")


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool, "upsample": upsample,
          "pad": pad, "adaptiveavgpool": adaptive, "adaptivemaxpool": adaptive, "depthwise": depthwise,
          "separable": depthwise, "lppool": lppool, "pixelunshuffle": pixelunshuffle}


def _by_api(kind, rule):
    """keras.layers (the default) or keras.ops (--api ops: keras_ops.py, each backend's own rules)."""
    def run(layer, sizes, checks):
        if layer.api == "layers":
            return rule(layer, sizes, checks)
        from .keras_ops import LAYERS as OPS

        if kind not in OPS:
            not_available(f"--api ops models keras.ops.conv, conv_transpose, max_pool and average_pool; a {kind} "
                          "layer is --api layers")
        return OPS[kind](layer, sizes, checks)

    return run


LAYERS = {kind: _by_api(kind, rule) for kind, rule in LAYERS.items()}


class _Quoted(str):
    """A string shown as Keras code writes it: "same"."""

    def __repr__(self):
        return f'"{self}"'


def code(layer, axes):
    if layer.api == "ops":
        from .keras_ops import code as ops_code

        return ops_code(layer, axes)
    if layer.kind == "depthwise":
        return depthwise_code(layer, None, None)
    if layer.kind == "separable":
        k, s, d = (per_axis(v) for v in (layer.kernel, layer.stride, layer.dilation))
        return call(f"layers.SeparableConv{layer.rank}D", "filters", k, strides=None if s == 1 else s,
                    padding=_Quoted(layer.padding), dilation_rate=None if d == 1 else d)
    if layer.kind == "pad":
        if all(v >= 0 for pair in layer.padding for v in pair):
            return f"layers.ZeroPadding{layer.rank}D({_pad_argument(layer.padding)})"
        return f"layers.Cropping{layer.rank}D({_pad_argument((-b, -a) for b, a in layer.padding)})"
    if layer.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        kind = "Average" if layer.kind == "adaptiveavgpool" else "Max"
        if all(o == 1 for o in layer.output_size):
            return f"layers.Global{kind}Pooling{layer.rank}D(keepdims=True)"
        return call(f"layers.Adaptive{kind}Pooling{layer.rank}D", per_axis(layer.output_size))
    if layer.kind == "upsample" and layer.scale is None:
        return call("layers.Resizing", *(int(o) for o in layer.output_size), interpolation=_Quoted("nearest"))
    name = "layers." + _name(layer)
    if layer.kind == "upsample":
        return call(name, size=per_axis(int(f) for f in layer.scale))
    k, s, d = (per_axis(v) for v in (layer.kernel, layer.stride, layer.dilation))
    padding = _Quoted(layer.padding) if isinstance(layer.padding, str) else None
    if layer.kind in ("maxpool", "avgpool"):
        return call(name, pool_size=k, strides=None if layer.stride == layer.kernel else s, padding=padding)
    kwargs = {"strides": None if s == 1 else s, "padding": padding}
    if layer.kind == "convT":
        ops = [ax.output_padding for ax in axes]
        if ops[0] is not None:
            kwargs["output_padding"] = per_axis(ops)
    kwargs["dilation_rate"] = None if d == 1 else d
    kwargs["groups"] = None if layer.groups == 1 else layer.groups
    return call(name, "filters", k, **kwargs)


def depthwise_code(layer, c_in, c_out):
    """groups = in channels: DepthwiseConv1D/2D (no 3-D one), each input channel to c_out/c_in outputs."""
    if layer.rank == 3:
        return None
    multiplier = c_out // c_in if c_out is not None and c_out % c_in == 0 else None
    k, s, d = (per_axis(v) for v in (layer.kernel, layer.stride, layer.dilation))
    return call(f"layers.DepthwiseConv{layer.rank}D", k, strides=None if s == 1 else s,
                padding=_Quoted(layer.padding), depth_multiplier=None if multiplier == 1 else multiplier,
                dilation_rate=None if d == 1 else d)


def stack(codes):
    """One stack of layers: a keras.Sequential; with keras.ops calls, one call per line on the previous result."""
    if any(code.startswith("keras.ops.") for code in codes):
        return "\n".join("x = " + (code if code.startswith("keras.ops.") else f"{code}(x)") for code in codes)
    return "keras.Sequential([\n" + "".join(f"    {code},\n" for code in codes) + "])"
