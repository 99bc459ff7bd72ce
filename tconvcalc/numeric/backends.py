"""The same layer run by the real framework, for comparison with the executor.

Each runner takes the layer as the user wrote it (so the framework resolves its own padding words),
the executor's :class:`~tconvcalc.numeric.executor.Geometry` (for what forward() chose: output_padding,
tf's output_shape), data in the executor's layout (N, C, spatial...) and weights in torch's layout,
and returns the framework's output in the executor's layout. Layouts: torch/onnx/jax N C *,
tf/keras N * C. A framework that is not installed raises ImportError (the caller skips it);
``Unsupported`` marks an option the framework's op does not take (e.g. groups in a transposed conv).
"""

import os

import numpy as np


class Unsupported(Exception):
    """The framework has no op for this combination; nothing to compare."""


def run(layer, g, x, w, groups=1):
    return RUNNERS[layer.framework](layer, g, x, w, groups)


def _word(layer):
    return layer.padding.upper() if isinstance(layer.padding, str) else None


def _torch(layer, g, x, w, groups):
    import torch
    import torch.nn.functional as F

    torch.backends.mkldnn.enabled = False  # the reference kernels are the truth (README)
    r = layer.rank
    padding = layer.padding if isinstance(layer.padding, str) else layer.symmetric_pads
    xt, wt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w))
    with torch.no_grad():
        if g.kind == "conv":
            out = getattr(F, f"conv{r}d")(xt, wt, stride=g.stride, padding=padding, dilation=g.dilation,
                                          groups=groups)
        else:
            out = getattr(F, f"conv_transpose{r}d")(xt, wt, stride=g.stride, padding=padding,
                                                    output_padding=tuple(int(op or 0) for op in g.output_padding),
                                                    groups=groups, dilation=g.dilation)
    return out.numpy()


def _channels_last(a):
    return np.moveaxis(a, 1, -1)


def _channels_first(a):
    return np.moveaxis(np.asarray(a), -1, 1)


def _tf(layer, g, x, w, groups):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # reference kernels (before TF's first import)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    r = layer.rank
    word = _word(layer)
    spatial_weights = tuple(range(2, w.ndim))
    xt = tf.constant(_channels_last(x))
    if g.kind == "conv":
        filters = tf.constant(np.transpose(w, (*spatial_weights, 1, 0)))  # (*k, C_in/G, C_out)
        # tf.nn.conv1d/conv2d/conv3d, the ops tconvcalc.frameworks.tf models (tf.nn.convolution refuses
        # strides > 1 with dilations > 1 in Python before any kernel runs).
        padding = word if word is not None else [[0, 0], *([b, a] for b, a in layer.padding), [0, 0]]
        if r == 1:
            out = tf.nn.conv1d(xt, filters, stride=g.stride[0], padding=padding, dilations=g.dilation[0])
        elif r == 2:
            out = tf.nn.conv2d(xt, filters, strides=g.stride, padding=padding, dilations=g.dilation)
        else:
            out = tf.nn.conv3d(xt, filters, strides=[1, *g.stride, 1], padding=padding,
                               dilations=[1, *g.dilation, 1])
        return _channels_first(out)
    if groups != 1:
        raise Unsupported("tf.nn.conv_transpose has no groups")
    filters = tf.constant(np.transpose(w, (*spatial_weights, 1, 0)))  # (*k, C_out, C_in)
    shape = [x.shape[0], *g.output, w.shape[1]]
    padding = word if word is not None else [[0, 0], *([b, a] for b, a in layer.padding), [0, 0]]
    if r == 1:
        out = tf.nn.conv1d_transpose(xt, filters, shape, strides=g.stride[0], padding=padding,
                                     dilations=g.dilation[0])
    else:
        out = tf.nn.conv_transpose(xt, filters, shape, strides=list(g.stride), padding=padding,
                                   dilations=list(g.dilation))
    return _channels_first(out)


def _keras(layer, g, x, w, groups):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != layer.backend:
        raise Unsupported(f"keras runs on the {keras.backend.backend()} backend here, the layer is for "
                          f"{layer.backend} (set KERAS_BACKEND)")
    spatial_weights = tuple(range(2, w.ndim))
    xk = _channels_last(x).copy()
    if g.kind == "conv":
        kernel = np.transpose(w, (*spatial_weights, 1, 0)).copy()
        padding = layer.padding
        if padding == "causal":  # Conv1D(padding="causal") pads d*(k-1) on the left, then runs "valid"
            xk = np.pad(xk, [(0, 0), (g.dilation[0] * (g.kernel[0] - 1), 0), (0, 0)])
            padding = "valid"
        out = keras.ops.conv(xk, kernel, strides=g.stride, padding=padding, data_format="channels_last",
                             dilation_rate=g.dilation)
        return _channels_first(keras.ops.convert_to_numpy(out))
    if groups != 1:
        raise Unsupported("keras conv_transpose has no groups")
    kernel = np.transpose(w, (*spatial_weights, 1, 0)).copy()  # (*k, C_out, C_in)
    ops = None if g.output_padding is None or None in g.output_padding else tuple(int(v) for v in g.output_padding)
    out = keras.ops.conv_transpose(xk, kernel, strides=g.stride, padding=layer.padding, output_padding=ops,
                                   data_format="channels_last", dilation_rate=g.dilation)
    return _channels_first(keras.ops.convert_to_numpy(out))


def _jax(layer, g, x, w, groups):
    import jax.numpy as jnp
    from jax import lax

    word = _word(layer)
    padding = word if word is not None else tuple((int(b), int(a)) for b, a in layer.padding)
    spatial = "DHW"[-layer.rank:] if layer.rank > 1 else "H"
    numbers = (f"NC{spatial}", f"OI{spatial}", f"NC{spatial}")
    # float32 (jax's default without x64) at the highest precision; the caller scales the tolerance.
    xj, precision = jnp.asarray(x, jnp.float32), lax.Precision.HIGHEST
    if g.kind == "conv":
        out = lax.conv_general_dilated(xj, jnp.asarray(w, jnp.float32), window_strides=g.stride, padding=padding,
                                       rhs_dilation=g.dilation, dimension_numbers=numbers,
                                       feature_group_count=groups, precision=precision)
    else:
        if groups != 1:
            raise Unsupported("lax.conv_transpose has no feature_group_count")
        # rhs[o, i] = w[i, o]: conv_transpose runs the kernel unflipped (the executor flips it, g.flip).
        out = lax.conv_transpose(xj, jnp.asarray(np.swapaxes(w, 0, 1), jnp.float32), strides=g.stride,
                                 padding=padding, rhs_dilation=g.dilation, dimension_numbers=numbers,
                                 precision=precision)
    return np.asarray(out, dtype=np.float64)


_AUTO_PAD = {"valid": "VALID", "same": "SAME_UPPER", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


def _onnx(layer, g, x, w, groups):
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    attrs = {"kernel_shape": list(g.kernel), "strides": list(g.stride), "dilations": list(g.dilation),
             "group": groups}
    if isinstance(layer.padding, str):
        attrs["auto_pad"] = _AUTO_PAD[layer.padding]
    elif not (g.kind == "convT" and layer.output_size is not None):
        attrs["pads"] = [int(b) for b, _ in layer.padding] + [int(a) for _, a in layer.padding]
    if g.kind == "convT":
        if g.output_padding is not None and any(g.output_padding):
            attrs["output_padding"] = [int(op or 0) for op in g.output_padding]
        if layer.output_size is not None:
            attrs["output_shape"] = [int(v) for v in layer.output_size]
    node = helper.make_node("Conv" if g.kind == "conv" else "ConvTranspose", ["X", "W"], ["Y"], **attrs)
    graph = helper.make_graph(
        [node], "layer", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w.astype(np.float32), "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": x.astype(np.float32)})[0]
    return out.astype(np.float64)


RUNNERS = {"torch": _torch, "tf": _tf, "keras": _keras, "jax": _jax, "onnx": _onnx}
FLOAT32 = {"jax", "onnx"}  # run in float32 here: the tolerance is scaled by the output's magnitude
