"""Keras 3 keras.ops.conv / conv_transpose / max_pool / average_pool (``--api ops``), called eagerly on a tensor.

The layers validate in their constructors and in a Model's symbolic build; the ops hand their arguments straight to
the backend (keras/src/backend/{tensorflow,jax,torch}/nn.py), so each backend's own rules apply: the jax and torch
backends run strides > 1 with dilation > 1 and output_padding >= strides, the tensorflow backend refuses the first
(tf.nn.convolution) and re-validates the second (tf.nn.conv_transpose). The eager call is the answer; where the
same op on a symbolic tensor (keras.Input, a functional Model: ops/operation_utils.py) gives another size or
refuses, a warning says so. Checked against keras 3.15 on its three backends in tests/frameworks/test_keras_ops.py.
"""

from dataclasses import replace

from ..arithmetic import all_of, any_of, ceil_div, conv_out, effective_kernel, is_symbolic, same_out
from . import AxisOut, call, not_available, per_axis
from . import jax as jax_rules
from . import tf as tf_rules
from . import torch as torch_rules
from .tf import same_pads

_NAMES = {"conv": "conv", "convT": "conv_transpose", "maxpool": "max_pool", "avgpool": "average_pool"}
_EMPTY_START = "The convolution operation resulted in an empty output."
_EMPTY_END = ("This can happen if the input is too small for the given kernel size, strides, dilation rate, and "
              "padding mode.")
_EMPTY = f"{_EMPTY_START} {_EMPTY_END}"
_ONEDNN_WRONG = ("with the default oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS unset) the tensorflow backend's "
                 "tf.nn.convolution returns a wrong non-empty shape here instead of this error")


def _word(layer):
    """ops lower-case the padding (padding.lower()): a number is not an argument they can use."""
    if not isinstance(layer.padding, str):
        not_available(f"keras.ops.{_NAMES[layer.kind]} takes a padding word ('valid' or 'same'), not numbers "
                      "(AttributeError: 'int' object has no attribute 'lower')",
                      "pad with keras.ops.pad first and use padding='valid'")
    return layer.padding


def _array(values):
    return "[" + " ".join(str(int(v)) for v in values) + "]"


def _symbolic_outputs(layer, sizes, word):
    """compute_conv_output_shape / compute_pooling_output_shape: the size a functional Model sees, or its refusal."""
    k, s = layer.kernel, layer.stride
    d = layer.dilation if layer.kind in ("conv", "convT") else (1,) * layer.rank
    if layer.kind == "convT":  # compute_conv_transpose_output_shape: the backend's own checks come later
        from .keras import _transpose_output

        ops = layer.output_padding or (None,) * layer.rank
        return [_transpose_output(n, kj, sj, dj, word, op) for n, kj, sj, dj, op in zip(sizes, k, s, d, ops)], None
    pooling = layer.kind != "conv"
    if word == "valid":
        outputs = [conv_out(n, kj, sj, dj, 0, 0) for n, kj, sj, dj in zip(sizes, k, s, d)]
        return outputs, None if all_of(o >= 1 for o in outputs) is True else "Computed output size would be zero or negative"
    if word == "same" or (word == "causal" and not pooling):
        return [same_out(n, sj) for n, sj in zip(sizes, s)], None
    return None, ("Argument `padding` must be either 'valid' or 'same'" if pooling else
                  "`padding` must be either `'valid'` or `'same'`") + f". Received: {word}"


def _warn_symbolic(layer, sizes, word, axes, checks):
    """The eager answer stands; a functional Model's symbolic shape that differs is a warning naming it."""
    if any(is_symbolic(n) for n in sizes):
        return
    outputs, refusal = _symbolic_outputs(layer, sizes, word)
    eager = [int(ax.output) for ax in axes] if axes is not None else None
    if refusal is not None and eager is not None:
        checks.warn(True, f"on a symbolic tensor (keras.Input, a functional Model) keras.ops.{_NAMES[layer.kind]} "
                          f"refuses instead: {refusal}")
    elif refusal is None and eager is None:
        checks.warn(True, f"on a symbolic tensor (keras.Input, a functional Model) keras.ops.{_NAMES[layer.kind]} "
                          f"gives {tuple(int(o) for o in outputs)} instead")
    elif refusal is None and [int(o) for o in outputs] != eager:
        checks.warn(True, f"on a symbolic tensor (keras.Input, a functional Model) keras.ops.{_NAMES[layer.kind]} "
                          f"gives {tuple(int(o) for o in outputs)}; called on a tensor it gives {tuple(eager)}")


def _eager(rule, layer, sizes, word, checks):
    """Run the backend's rule; the symbolic warning is added whether it answers or refuses."""
    from ..errors import ShapeError

    try:
        axes = rule(layer, sizes, checks)
    except ShapeError as refusal:
        _warn_symbolic(layer, sizes, word, None, checks)
        raise ShapeError(str(refusal), tuple(checks.warnings), refusal.hint) from None
    _warn_symbolic(layer, sizes, word, axes, checks)
    return axes


# ---- conv ----------------------------------------------------------------------------------------------------


def conv(layer, sizes, checks):
    word = _word(layer)
    rule = {"tensorflow": _tf_conv, "jax": _jax_conv, "torch": _torch_conv}[layer.backend]
    return _eager(rule, layer, sizes, word, checks)


def _tf_conv(layer, sizes, checks):
    """backend/tensorflow/nn.py conv: tf.nn.convolution(padding.upper()), then an empty output is refused."""
    s, d, word = layer.stride, layer.dilation, layer.padding
    if max(s) > 1 and max(d) > 1:
        checks.refuse("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                      f"Received: strides={_array(s)} and dilation_rate={_array(d)}")
    if word not in ("valid", "same"):
        if max(d) > 1:  # tf.nn.convolution's dilated path checks the word itself
            checks.refuse(f"`padding` must be one of 'SAME' or 'VALID'. Received: padding={word.upper()}")
        allowed = '"SAME", "VALID"' + ("" if layer.rank == 3 else ', "EXPLICIT"')
        checks.refuse(f"Value for attr 'padding' of \"{word.upper()}\" is not in the list of allowed values: {allowed}")
    if word == "same":  # space_to_batch keeps SAME's size: ceil(n/s)
        return tuple(AxisOut(same_out(n, sj), same_pads(n, kj, sj, dj, layer.rank))
                     for n, kj, sj, dj in zip(sizes, layer.kernel, s, d))
    # With a dilation (strides are 1 then) tf.nn.convolution runs space_to_batch: each axis becomes ceil(n/d) long,
    # the kernel undilated (so the reference Conv3D kernel's dilation refusal is never reached); TF's size check
    # sees those numbers.
    dilated = max(d) > 1
    axes = [(ceil_div(n, dj), kj, 1, 1) if dilated else (n, kj, sj, dj) for n, kj, sj, dj in zip(sizes, layer.kernel, s, d)]
    windows = [tf_rules.windowed_output(n, kj, sj, dj, "valid") for n, kj, sj, dj in axes]
    for (n, kj, sj, dj), o in zip(axes, windows):
        checks.require(o >= 0, f"Computed output size would be negative: {o} [input_size: {n}, "
                               f"effective_filter_size: {effective_kernel(kj, dj)}, stride: {sj}]")
    outputs = [conv_out(n, kj, sj, dj, 0, 0) for n, kj, sj, dj in zip(sizes, layer.kernel, s, d)]
    checks.warn(any_of(o < 1 for o in outputs), _ONEDNN_WRONG)
    checks.require(all_of(o >= 1 for o in outputs),
                   f"{_EMPTY_START} Output shape: (N, {', '.join(str(max(int(o), 0)) for o in outputs)}, C). "
                   f"{_EMPTY_END}")
    return tuple(AxisOut(o, (0, 0)) for o in outputs)


def _jax_conv(layer, sizes, checks):
    """backend/jax/nn.py conv: lax.conv_general_dilated(padding.upper()), then an empty output is refused."""
    if layer.padding not in ("valid", "same", "same_lower"):
        checks.refuse(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {layer.padding}.")
    axes = jax_rules.conv(replace(layer, framework="jax"), sizes, _Quiet(checks))
    checks.require(all_of(ax.output >= 1 for ax in axes), _EMPTY)
    return axes


def _torch_conv(layer, sizes, checks):
    """backend/torch/nn.py conv: 'same' pads as TF does (symmetric pads go to F.conv, else F.pad first); any other
    word is 'valid'."""
    return _torch_windowed(layer, sizes, checks, torch_rules.conv, layer.dilation)


def _torch_windowed(layer, sizes, checks, rule, dilation):
    word = layer.padding
    if word != "same":
        if word != "valid":
            checks.warn(True, f"padding='{word}' is no keras.ops padding: the torch backend runs it as 'valid' (the "
                              "tensorflow and jax backends refuse it)")
        pairs = [(0, 0)] * layer.rank
    else:
        pairs = [same_pads(n, kj, sj, dj, 2) for n, kj, sj, dj in zip(sizes, layer.kernel, layer.stride, dilation)]
    if all(b == a for b, a in pairs):
        torch_layer = replace(layer, framework="torch", padding=tuple(pairs))
        return rule(torch_layer, sizes, checks)
    padded = tuple(n + b + a for n, (b, a) in zip(sizes, pairs))
    torch_layer = replace(layer, framework="torch", padding=((0, 0),) * layer.rank)
    axes = rule(torch_layer, padded, checks)
    return tuple(replace(ax, pads=pair) for ax, pair in zip(axes, pairs))


class _Quiet:
    """Checks that keep a rule's refusals but not its warnings (the backend's own check comes first)."""

    def __init__(self, checks):
        self._checks = checks

    def warn(self, condition, message):
        pass

    def __getattr__(self, name):
        return getattr(self._checks, name)


# ---- conv_transpose ----------------------------------------------------------------------------------------------


def conv_transpose(layer, sizes, checks):
    """compute_conv_transpose_output_shape on every backend (no constructor: output_padding >= strides and strides
    with dilation go to the backend); keras.py's conv_transpose holds the rule for both APIs."""
    from .keras import conv_transpose as keras_conv_transpose

    word = _word(layer)
    if word not in ("valid", "same"):
        not_available(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={word}")
    if layer.backend != "tensorflow":  # tf.nn.conv_transpose re-validates: there only op < s gives an accepted size
        checks.note(f"the {layer.backend} backend runs any output_padding >= 0, each adding one to the output (checked "
                    "to 7 in tests/frameworks/test_keras_ops_solve.py); accepted outputs lists those of the inferred "
                    "None and output_padding < strides, whose forward conv gives the input back")
    return _eager(keras_conv_transpose, layer, sizes, word, checks)


# ---- pools -------------------------------------------------------------------------------------------------------


def _pool(layer, sizes, checks, name):
    word = _word(layer)
    if max(layer.dilation) > 1:
        not_available(f"keras.ops.{_NAMES[layer.kind]} has no dilation", "use -f jax or onnx for dilated pooling")
    if layer.ceil_mode:
        not_available(f"keras.ops.{_NAMES[layer.kind]} has no ceil_mode", "use padding='same' (ceil(n/s))")
    rule = {"tensorflow": _tf_pool, "jax": _jax_pool, "torch": _torch_pool}[layer.backend]
    return _eager(lambda lay, sz, ch: rule(lay, sz, ch, name), layer, sizes, word, checks)


def _tf_pool(layer, sizes, checks, name):
    """tf.nn.max_pool / avg_pool(padding.upper())."""
    if layer.padding not in ("valid", "same"):
        allowed = '"SAME", "VALID"' + (', "EXPLICIT"' if name == "max" and layer.rank < 3 else "")
        checks.refuse(f"Value for attr 'padding' of \"{layer.padding.upper()}\" is not in the list of allowed values: "
                      f"{allowed}")
    return tf_rules.maxpool(replace(layer, framework="tf"), sizes, checks) if name == "max" else \
        tf_rules.avgpool(replace(layer, framework="tf"), sizes, checks)


def _jax_pool(layer, sizes, checks, name):
    """backend/jax/nn.py _pool: 'same' or 'valid', then lax.reduce_window."""
    if layer.padding not in ("valid", "same"):
        checks.refuse(f"Invalid padding '{layer.padding}', must be 'same' or 'valid'.")
    jax_layer = replace(layer, framework="jax")
    return jax_rules.maxpool(jax_layer, sizes, checks) if name == "max" else jax_rules.avgpool(jax_layer, sizes, checks)


def _torch_pool(layer, sizes, checks, name):
    """backend/torch/nn.py max_pool / average_pool: 'same' as TF splits it (F.pad with replicate where it is not
    symmetric), any other word 'valid'."""
    rule = torch_rules.maxpool if name == "max" else torch_rules.avgpool
    return _torch_windowed(layer, sizes, checks, rule, (1,) * layer.rank)


def maxpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "max")


def avgpool(layer, sizes, checks):
    return _pool(layer, sizes, checks, "avg")


LAYERS = {"conv": conv, "convT": conv_transpose, "maxpool": maxpool, "avgpool": avgpool}


class _Quoted(str):
    """A string shown as Keras code writes it: "same"."""

    def __repr__(self):
        return f'"{self}"'


def code(layer, axes):
    """The call a user writes, on a channels-last x; kernel: (*kernel_size, C_in, C_out) (conv_transpose: C_out,
    C_in)."""
    k, s = per_axis(layer.kernel), per_axis(layer.stride)
    padding = _Quoted(layer.padding)
    if layer.kind in ("maxpool", "avgpool"):
        return call(f"keras.ops.{_NAMES[layer.kind]}", "x", k, strides=None if layer.stride == layer.kernel else s,
                    padding=padding)
    d = per_axis(layer.dilation)
    kwargs = {"strides": None if s == 1 else s, "padding": padding}
    if layer.kind == "convT" and axes and axes[0].output_padding is not None:
        kwargs["output_padding"] = per_axis(ax.output_padding for ax in axes)
    kwargs["dilation_rate"] = None if d == 1 else d
    channels = ("C_out", "C_in") if layer.kind == "convT" else ("C_in", "C_out")
    shape = ", ".join([*(str(int(kj)) for kj in layer.kernel), *channels])
    return call(f"keras.ops.{_NAMES[layer.kind]}", "x", "kernel", **kwargs) + f"  # kernel: ({shape})"
