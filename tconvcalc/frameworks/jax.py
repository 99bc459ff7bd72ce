"""JAX: jax.lax conv_general_dilated, conv_transpose and reduce_window (max / add pools), jax 0.10.x;
a pad layer is jnp.pad (every mode, pads >= 0) or, for zeros with a negative pad (a crop), lax.pad.

Rules from jax/_src/lax/convolution.py (conv_general_dilated, conv_transpose, _conv_transpose_padding,
conv_shape_tuple), jax/_src/lax/lax.py (padtype_to_pads), jax/_src/lax/windowed_reductions.py
(reduce_window_shape_tuple), jax/_src/lax/lax.py (_pad_shape_rule), jax/_src/numpy (pad) and jax/_src/core.py (stride_dim: max(0, ...), so jax clamps an
empty window count to 0 instead of refusing); checked against jax itself in tests/frameworks/test_jax.py.
Layout: NCHW (conv_general_dilated's default), so pools carry N and C in their window dimensions.
"""

from ..arithmetic import (all_of, any_of, ceil_div, conv_out, effective_kernel, maximum, same_out,
                          same_total_pad, split_pad)
from . import AxisOut, call, not_available

DEFAULT_PADDING = "valid"

_WORDS = ("VALID", "SAME", "SAME_LOWER")  # PaddingType: every string padtype_to_pads accepts
_STRING_TRANSPOSE = ("String padding is not implemented for transposed convolution using this op. "
                     "Please either exactly specify the required padding or use conv_transpose.")


class _Quoted(str):
    """A string that shows itself in double quotes in emitted code: padding="SAME"."""

    def __repr__(self):
        return '"' + self + '"'


def _word(layer):
    """Our padding word as jax spells it: 'same' -> 'SAME', 'same_lower' -> 'SAME_LOWER'."""
    return layer.padding.upper()


def _unrecognized(word):
    return f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {word}."


def _refuse_word(layer, checks):
    word = _word(layer)
    hint = ""
    if word == "CAUSAL":
        causal = _pairs([(dj * (kj - 1), 0) for kj, dj in zip(layer.kernel, layer.dilation)])
        hint = f" (jax.lax has no causal padding: pass explicit pads {causal}, i.e. (d*(k-1), 0), instead)"
    elif word == "SAME_UPPER":
        hint = " (jax's 'SAME' is ONNX's SAME_UPPER: the odd pixel at the end)"
    not_available(_unrecognized(word) + hint)  # jax's ValueError for an argument it cannot use: exit 2


def _window_pads(layer, sizes, checks):
    """padtype_to_pads: (before, after) per axis for a forward window (conv or pool)."""
    if not isinstance(layer.padding, str):
        return list(layer.padding)
    word = _word(layer)
    if word not in _WORDS:
        _refuse_word(layer, checks)
    if word == "VALID":
        return [(0, 0)] * layer.rank
    # SAME: total max(0, (ceil(n/s)-1)*s + ek - n); SAME puts the odd pixel at the end, SAME_LOWER at the start.
    checks.note(f"padding='{word}': total max(0, (⌈n/s⌉-1)×s + ek - n), the extra pixel "
                + ("after" if word == "SAME" else "before"))
    return [split_pad(same_total_pad(n, kj, sj, dj), extra_at_end=word == "SAME")
            for n, kj, sj, dj in zip(sizes, layer.kernel, layer.stride, layer.dilation)]


def _shapes(values):
    """conv_shape_tuple prints lhs_shape[2:] as a tuple of numpy ints."""
    return "(" + "".join(f"np.int64({v}), " for v in values)[:-2] + ("," if len(values) == 1 else "") + ")"


def _pairs(pads):
    """The pads as jax prints them: ((1, 2),) -- str() keeps symbolic pads readable."""
    return "(" + "".join(f"({b}, {a}), " for b, a in pads)[:-2] + ("," if len(pads) == 1 else "") + ")"


def _clamped(raw, checks, what):
    """core.stride_dim: max(0, (padded - ek) // s + 1) -- an empty result, never a refusal."""
    checks.warn(any_of(o < 1 for o in raw),
                f"{what}: the padded input is shorter than the (dilated) window on some axis; "
                "jax clamps that axis to 0 and returns an empty array instead of raising")
    return [maximum(0, o) for o in raw]


def _window_outputs(layer, sizes, pads, checks, what):
    """A forward window's output: ⌈n/s⌉ under SAME/SAME_LOWER (what their pads give), else stride_dim."""
    if isinstance(layer.padding, str) and layer.padding != "valid":
        return [same_out(n, sj) for n, sj in zip(sizes, layer.stride)]
    raw = [conv_out(n, kj, sj, dj, b, a)
           for n, kj, sj, dj, (b, a) in zip(sizes, layer.kernel, layer.stride, layer.dilation, pads)]
    return _clamped(raw, checks, what)


def _base_dilated(layer, sizes, checks, what):
    """lhs_dilation / base_dilation: ld-1 zeros between input values, so n becomes (n-1)×ld + 1 (None: as given)."""
    ld = layer.input_dilation
    if ld is None or all(v == 1 for v in ld):
        return None
    checks.note(f"{what}: the input grows to (n-1)×ld + 1 (ld-1 zeros between its values) before the pads")
    return [(n - 1) * v + 1 for n, v in zip(sizes, ld)]


def conv(layer, sizes, checks):
    dilated = _base_dilated(layer, sizes, checks, "lhs_dilation")
    if dilated is not None and isinstance(layer.padding, str):  # jax's ValueError for the argument: exit 2
        not_available(_STRING_TRANSPOSE, "with lhs_dilation give explicit (lo, hi) pads: -p B:A")
    pads = _window_pads(layer, sizes, checks)
    shape = sizes if dilated is None else dilated  # conv_shape_tuple runs on the dilated input
    checks.require(all_of(n + b + a >= 0 for n, (b, a) in zip(shape, pads)),
                   "Negative padding is larger than the size of the corresponding dimension: "
                   f"got padding={_pairs(pads)} for lhs_shape[2:]={_shapes(shape)}")
    if dilated is None:
        outputs = _window_outputs(layer, sizes, pads, checks, "lax.conv_general_dilated")
    else:
        raw = [conv_out(n, kj, sj, dj, b, a)
               for n, kj, sj, dj, (b, a) in zip(dilated, layer.kernel, layer.stride, layer.dilation, pads)]
        outputs = _clamped(raw, checks, "lax.conv_general_dilated")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pads))


def _transpose_pads(ek, s, word):
    """_conv_transpose_padding: the pads conv_transpose puts on the stride-dilated input for SAME/VALID."""
    if word == "SAME":
        pad_len = ek + s - 2
        before = ek - 1 if s > ek - 1 else ceil_div(pad_len, 2)
    else:  # VALID
        pad_len = ek + s - 2 + maximum(ek - s, 0)
        before = ek - 1
    return before, pad_len - before


def conv_transpose(layer, sizes, checks):
    k, s, d = layer.kernel, layer.stride, layer.dilation
    if layer.groups != 1:
        not_available("lax.conv_transpose has no feature_group_count", "use -f torch or onnx")
    if layer.output_padding is not None:
        not_available("lax.conv_transpose has no output_padding",
                      "change the explicit (lo, hi) pads instead: each extra unit of hi adds one output")
    if layer.output_size is not None:
        not_available("lax.conv_transpose takes no output size: its output follows from k, s and the pads",
                      "give explicit (lo, hi) pads; o = (i-1)*s + 1 + lo + hi - d*(k-1)")
    kernels = [effective_kernel(kj, dj) for kj, dj in zip(k, d)]
    word = _word(layer) if isinstance(layer.padding, str) else None
    if layer.consistent_padding and word not in (None, "SAME", "VALID"):
        not_available(f"Invalid padding mode: {word} (use_consistent_padding=True takes 'SAME', 'VALID' or "
                      "(lo, hi) pairs)")  # _conv_transpose_padding's ValueError: exit 2
    if word in ("SAME", "VALID"):
        pads = [_transpose_pads(ek, sj, word) for ek, sj in zip(kernels, s)]
        checks.note(f"padding='{word}' is the forward conv's padding: conv_transpose pads the stride-dilated "
                    "input by " + ("(ek-1, s-1) if s > ek-1 else (⌈(ek+s-2)/2⌉, ⌊(ek+s-2)/2⌋), so o = i×s"
                                   if word == "SAME" else "(ek-1, s-1+max(ek-s, 0)), so o = (i-1)×s + max(ek, s)"))
    elif word is not None:
        # Any other string goes to conv_general_dilated with lhs_dilation = strides, which refuses a string
        # first whenever a stride is > 1; with every stride 1 it is an ordinary forward padding word.
        if any(sj != 1 for sj in s):  # jax's NotImplementedError for the argument: exit 2
            not_available(_STRING_TRANSPOSE)
        if word not in _WORDS:
            _refuse_word(layer, checks)
        pads = _window_pads(layer, sizes, checks)  # SAME_LOWER, stride 1: a stride-1 forward conv
        checks.note("padding='SAME_LOWER' is not a conv_transpose mode: with stride 1 it is passed on as the "
                    "forward padding of a stride-1 conv, so o = i")
    elif layer.consistent_padding:  # _conv_transpose_padding of a tuple: ek-1-p on each side, torch's padding
        pads = [(ek - 1 - b, ek - 1 - a) for ek, (b, a) in zip(kernels, layer.padding)]
        checks.note("use_consistent_padding=True: (lo, hi) is the forward conv's padding, so the stride-dilated "
                    "input is padded by (ek-1-lo, ek-1-hi) and o = (i-1)×s + ek - lo - hi, torch's size")
    else:
        pads = list(layer.padding)
        checks.note("explicit pads are applied as given to the stride-dilated input (use_consistent_padding=False)")
        checks.warn(True, "lax.conv_transpose pads the stride-dilated input by (lo, hi) as given "
                    "(use_consistent_padding=False, the default): torch's ConvTranspose padding=p instead removes p, "
                    "which is lax.conv_transpose(..., use_consistent_padding=True) or pads (d*(k-1)-p, d*(k-1)-p)")
    # conv_general_dilated(lhs_dilation=s, window_strides=1): the input grows to (i-1)*s+1, then a stride-1 conv.
    dilated = [(n - 1) * sj + 1 for n, sj in zip(sizes, s)]
    checks.require(all_of(n + b + a >= 0 for n, (b, a) in zip(dilated, pads)),
                   "Negative padding is larger than the size of the corresponding dimension: "
                   f"got padding={_pairs(pads)} for lhs_shape[2:]={_shapes(dilated)}")
    raw = [conv_out(n, kj, 1, dj, b, a) for n, kj, dj, (b, a) in zip(dilated, k, d, pads)]
    outputs = _clamped(raw, checks, "lax.conv_transpose")
    return tuple(AxisOut(o, (b, a), accepted=(o,)) for o, (b, a) in zip(outputs, pads))


def _pool(layer, sizes, checks, name):
    if layer.ceil_mode:
        not_available("lax.reduce_window has no ceil_mode",
                      "add the extra pixels to the 'after' pad explicitly (padding b:a)")
    pads = _window_pads(layer, sizes, checks)  # a padding word's pads: for the undilated input (_reduce_window)
    dilated = _base_dilated(layer, sizes, checks, "base_dilation")
    # reduce_window_shape_tuple has no negative-padding check: a negative padded size also clamps to 0.
    if dilated is None:
        outputs = _window_outputs(layer, sizes, pads, checks, f"lax.reduce_window ({name})")
    else:
        if isinstance(layer.padding, str) and layer.padding != "valid":
            checks.warn(True, f"padding='{_word(layer)}' with base_dilation: jax computes the pads for the "
                              "undilated input, then pools the dilated one, so the output is not ⌈n/s⌉")
        raw = [conv_out(n, kj, sj, dj, b, a)
               for n, kj, sj, dj, (b, a) in zip(dilated, layer.kernel, layer.stride, layer.dilation, pads)]
        outputs = _clamped(raw, checks, f"lax.reduce_window ({name})")
    checks.warn(all_of([all(kj == 1 for kj in layer.kernel), any_of(p < 0 for pair in pads for p in pair)]),
                "jax 0.10.2 aborts the whole process here (an XLA check failure in algebraic_simplifier for a "
                "window of 1 on every axis with a negative pad): crop with lax.slice instead")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pads))


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "max")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "add")


def resize(layer, sizes, checks):
    """jax.image.resize(x, shape, method): any rank, the output shape given."""
    checks.note("jax.image.resize(x, shape): output = the shape asked for")
    return tuple(AxisOut(o) for o in layer.output_size)


def adaptive(layer, sizes, checks):
    """jax has global pooling only: jnp.mean / jnp.max over the spatial axes."""
    if any(o != 1 for o in layer.output_size):
        not_available("jax has no adaptive pooling to an output size other than 1 (only jnp.mean/jnp.max over the "
                      "spatial axes)", "where out divides n, lax.reduce_window with window = stride = n/out gives "
                      "torch's windows; flax has no adaptive pool either")
    checks.note("global pooling: jnp.mean/jnp.max over the spatial axes, keepdims=True")
    return tuple(AxisOut(1) for _ in sizes)


def upsample(layer, sizes, checks):
    if layer.scale is None:
        return resize(layer, sizes, checks)
    not_available("jax.lax has no upsampling layer with a scale factor",
                  "jax.image.resize(x, shape, method='nearest') takes the output shape itself")


def pixelshuffle(layer, sizes, checks):
    not_available("jax.lax has no pixel shuffle / depth_to_space",
                  "reshape and transpose: einops.rearrange(x, 'n (c r1 r2) h w -> n c (h r1) (w r2)', r1=r, r2=r)")


def unpool(layer, sizes, checks):
    not_available("jax.lax has no max-unpool",
                  "scatter the pooled values back with x.at[indices].set(values) on a zeros array of the size you want")


# jnp.pad's (numpy's) names for our pad modes.
_JNP_MODES = {"zeros": "constant", "reflect": "reflect", "symmetric": "symmetric", "replicate": "edge",
              "circular": "wrap"}


def _crops(layer):
    """A zero pad with a negative amount: lax.pad, the one jax pad that crops."""
    return layer.padding_mode == "zeros" and any(v < 0 for pair in layer.padding for v in pair)


def pad(layer, sizes, checks):
    """jnp.pad (numpy's rules: reflect, symmetric and wrap go round the input as often as needed, so any
    pad >= 0 fits), or lax.pad for a crop, which needs only each padded size >= 0: a crop may reach past
    the input where the other side's pad makes up for it."""
    pairs = layer.padding
    outputs = [n + b + a for n, (b, a) in zip(sizes, pairs)]
    if not _crops(layer):
        if any(v < 0 for pair in pairs for v in pair):
            checks.refuse(f"index can't contain negative values (jnp.pad does not crop; mode "
                          f"'{_JNP_MODES[layer.padding_mode]}': crop with x[..., b:n-a] first)")
        if layer.padding_mode != "zeros":
            checks.note(f"jnp.pad mode='{_JNP_MODES[layer.padding_mode]}' repeats the input as often as a pad needs")
        return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))
    checks.require(all_of(o >= 0 for o in outputs),
                   "Dimension size after padding is not at least 0, got result shape "
                   f"{_shape(['N', 'C', *outputs])}, for padding_config "
                   f"{_shape(_shape(t) for t in [(0, 0, 0), (0, 0, 0), *[(b, a, 0) for b, a in pairs]])} "
                   f"and operand shape {_shape(['N', 'C', *sizes])}")
    checks.note("lax.pad: output = input + before + after, a negative amount cropping")
    checks.warn(any_of(o < 1 for o in outputs), "lax.pad: an output size is 0: jax returns an empty array")
    return tuple(AxisOut(o, (b, a)) for o, (b, a) in zip(outputs, pairs))


def _shape(values):
    """A tuple as jax prints it, with symbols and N, C where it prints numbers (never 1 value long here)."""
    return "(" + ", ".join(str(v) for v in values) + ")"


def lppool(layer, sizes, checks):
    not_available("jax.lax has no LP pooling", "lax.reduce_window(x**p, 0.0, lax.add, ...) ** (1/p): the size of "
                                               "the sum pool (-l avgpool), or -f torch/onnx")


def pixelunshuffle(layer, sizes, checks):
    not_available("jax.lax has no space_to_depth / pixel unshuffle",
                  "reshape and transpose: einops.rearrange(x, 'n c (h r1) (w r2) -> n (c r1 r2) h w', r1=r, r2=r)")


def depthwise(layer, sizes, checks):
    """lax.conv_general_dilated(feature_group_count=C); separable: that, then a 1x1 conv, which keeps the size."""
    checks.note("depthwise: conv_general_dilated with feature_group_count = the input channels: its shape rule")
    return conv(layer, sizes, checks)


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool,
          "upsample": upsample, "pixelshuffle": pixelshuffle, "unpool": unpool, "pad": pad,
          "adaptiveavgpool": adaptive, "adaptivemaxpool": adaptive, "depthwise": depthwise, "separable": depthwise,
          "lppool": lppool, "pixelunshuffle": pixelunshuffle}


def _ints(values):
    return tuple(int(v) for v in values)


def _input_dilation(layer):
    ld = layer.input_dilation
    return None if ld is None or set(ld) == {1} else _ints(ld)


def _padding(layer):
    if isinstance(layer.padding, str):
        return _Quoted(_word(layer))
    return tuple((int(b), int(a)) for b, a in layer.padding)


def code(layer, axes):
    if layer.kind == "pad":  # NCHW: N and C are not padded
        pairs = tuple((int(b), int(a)) for b, a in layer.padding)
        if _crops(layer):
            return f"lax.pad(x, 0.0, {((0, 0, 0), (0, 0, 0), *((b, a, 0) for b, a in pairs))})"
        mode = _JNP_MODES[layer.padding_mode]
        return f"jnp.pad(x, {((0, 0), (0, 0), *pairs)}" + ("" if mode == "constant" else f', mode="{mode}"') + ")"
    r = layer.rank
    if layer.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        reduce = "jnp.mean" if layer.kind == "adaptiveavgpool" else "jnp.max"
        return f"{reduce}(x, axis={tuple(range(2, r + 2))}, keepdims=True)"
    if layer.kind == "upsample" and layer.scale is None:
        return f'jax.image.resize(x, (N, C, {", ".join(str(int(o)) for o in layer.output_size)}), method="nearest")'
    k, s, d = _ints(layer.kernel), _ints(layer.stride), _ints(layer.dilation)
    padding = _padding(layer)
    if layer.kind == "conv":
        return call("lax.conv_general_dilated", "x", "w", window_strides=s, padding=padding,
                    lhs_dilation=_input_dilation(layer), rhs_dilation=d,
                    feature_group_count=None if layer.groups == 1 else layer.groups)
    if layer.kind in ("depthwise", "separable"):
        text = call("lax.conv_general_dilated", "x", "w", window_strides=s, padding=padding, rhs_dilation=d)
        text = text[:-1] + ", feature_group_count=C_in)"
        if layer.kind == "depthwise":
            return text + "  # w: (C_out, 1, *kernel)"
        return (f"lax.conv_general_dilated({text.replace('(x, w,', '(x, dw,', 1)}, pw, window_strides={(1,) * r}, "
                f"padding=\"VALID\")  # dw: (C_in*multiplier, 1, *kernel), pw: (C_out, C_in*multiplier, {', '.join(['1'] * r)})")
    if layer.kind == "convT":
        spatial = "DHW"[-r:] if r > 1 else "H"
        return call("lax.conv_transpose", "x", "w", strides=s, padding=padding,
                    rhs_dilation=None if set(d) == {1} else d,
                    dimension_numbers=tuple(_Quoted(f"{io}{spatial}") for io in ("NC", "OI", "NC")),
                    use_consistent_padding=True if layer.consistent_padding else None)
    if layer.kind in ("maxpool", "avgpool"):
        init, op = ("-jnp.inf", "lax.max") if layer.kind == "maxpool" else ("0.0", "lax.add")
        ld = _input_dilation(layer)
        if not isinstance(padding, str):
            padding = ((0, 0), (0, 0)) + padding
        text = call("lax.reduce_window", "x", init, op, window_dimensions=(1, 1) + k, window_strides=(1, 1) + s,
                    padding=padding, base_dilation=None if ld is None else (1, 1) + ld,
                    window_dilation=None if set(d) == {1} else (1, 1) + d)
        if layer.kind == "avgpool":  # the sum over each window; divide for the mean (padding counted)
            size = 1
            for kj in k:
                size *= kj
            text += f" / {size}"
        return text
    not_available(f"jax has no {layer.kind} layer")


def stack(codes):
    """One stack of calls, each on the previous result, each with its own weights."""
    return "\n".join("x = " + code.replace("(x, w,", f"(x, w{i},", 1) for i, code in enumerate(codes, 1))
