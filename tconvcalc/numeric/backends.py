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
        if g.kind == "conv" and layer.padding_mode != "zeros":  # the module: torch's own F.pad before the conv
            module = getattr(torch.nn, f"Conv{r}d")(x.shape[1], w.shape[0], g.kernel, stride=g.stride,
                                                    padding=padding, dilation=g.dilation, groups=groups,
                                                    bias=False, padding_mode=layer.padding_mode, dtype=wt.dtype)
            module.weight.copy_(wt)
            out = module(xt)
        elif g.kind == "conv":
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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's kernels as installed: oneDNN by default
    import tensorflow as tf

    r = layer.rank
    word = _word(layer)
    spatial_weights = tuple(range(2, w.ndim))
    xt = tf.constant(_channels_last(x))
    if g.kind == "conv":
        filters = tf.constant(np.transpose(w, (*spatial_weights, 1, 0)))  # (*k, C_in/G, C_out)
        if _only_onednn_runs(g, r):
            xt, filters = tf.cast(xt, tf.float32), tf.cast(filters, tf.float32)
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
    if _only_onednn_runs(g, r):
        xt, filters = tf.cast(xt, tf.float32), tf.cast(filters, tf.float32)
    shape = [x.shape[0], *g.output, w.shape[1]]
    padding = word if word is not None else [[0, 0], *([b, a] for b, a in layer.padding), [0, 0]]
    if r == 1:
        out = tf.nn.conv1d_transpose(xt, filters, shape, strides=g.stride[0], padding=padding,
                                     dilations=g.dilation[0])
    else:
        out = tf.nn.conv_transpose(xt, filters, shape, strides=list(g.stride), padding=padding,
                                   dilations=list(g.dilation))
    return _channels_first(out)


def _only_onednn_runs(g, rank):
    """A dilated transposed conv, or a dilated 3-D conv: TF's default oneDNN kernels run it, in float32 only; the
    reference CPU kernels (TF_ENABLE_ONEDNN_OPTS=0, and every float64 op) refuse it. True: run it in float32."""
    if max(g.dilation) == 1 or g.kind == "conv" and rank < 3:
        return False
    from tensorflow.python.util import _pywrap_util_port

    if not _pywrap_util_port.IsMklEnabled():
        raise Unsupported("TF runs its reference CPU kernels here (TF_ENABLE_ONEDNN_OPTS=0), which refuse "
                          "dilation > 1 for this op; its default oneDNN kernels run it")
    return True


def _keras(layer, g, x, w, groups):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != layer.backend:
        raise Unsupported(f"keras runs on the {keras.backend.backend()} backend here, the layer is for "
                          f"{layer.backend} (set KERAS_BACKEND)")
    spatial_weights = tuple(range(2, w.ndim))
    xk = _channels_last(x).copy()
    if layer.backend == "tensorflow" and _only_onednn_runs(g, layer.rank):
        xk, w = xk.astype(np.float32), w.astype(np.float32)
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
                                 precision=precision, use_consistent_padding=layer.consistent_padding)
    return np.asarray(out, dtype=np.float64)


_AUTO_PAD = {"valid": "VALID", "same": "SAME_UPPER", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


def _onnx(layer, g, x, w, groups):
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
    session = _onnx_model(graph, g.kind)
    out = session.run(None, {"X": x.astype(np.float32)})[0]
    return out.astype(np.float64)


RUNNERS = {"torch": _torch, "tf": _tf, "keras": _keras, "jax": _jax, "onnx": _onnx}
FLOAT32 = {"jax", "onnx"}  # run in float32 here: the tolerance is scaled by the output's magnitude


# ---- pools, unpool, upsampling, pixel shuffle, pad ------------------------------------------------
# run_layer(layer, p, x, mode): the layer of plan ``p`` (tconvcalc.numeric.layers) on x, N C * in and
# out; unpool gets the maxpool input x and undoes the executor's own maxpool of it (values, indices).
# A pad runs the user's amounts and mode (layer.padding, layer.padding_mode), each framework's own way.


def run_layer(layer, p, x, mode="nearest"):
    return LAYER_RUNNERS[layer.framework](layer, p, x, mode)


def _unpool_inputs(p, x):
    from .layers import pool_for_unpool

    return pool_for_unpool(x, p)


_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _pad_mode(layer, names):
    """The framework's name for the layer's pad mode, or Unsupported where it has none."""
    if layer.padding_mode not in names:
        raise Unsupported(f"{layer.framework} has no {layer.padding_mode} padding")
    return names[layer.padding_mode]


def _crops(layer):
    """(before, after) cut from each axis: the negative pads."""
    return tuple((max(-b, 0), max(-a, 0)) for b, a in layer.padding)


def _fills(layer):
    """(before, after) added to each axis: the positive pads."""
    return tuple((max(b, 0), max(a, 0)) for b, a in layer.padding)


def _kept(layer, shape):
    """The slices of the spatial axes ``shape`` that the crops keep."""
    return tuple(slice(b, n - a) for n, (b, a) in zip(shape, _crops(layer)))


TORCH_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
TF_PAD = {"zeros": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}


def _torch_layer(layer, p, x, mode):
    import torch
    import torch.nn.functional as F

    torch.backends.mkldnn.enabled = False
    r = layer.rank
    xt = torch.from_numpy(np.ascontiguousarray(x))
    with torch.no_grad():
        if p.kind == "maxpool":
            out = getattr(F, f"max_pool{r}d")(xt, p.kernel, p.stride, padding=layer.symmetric_pads,
                                              dilation=p.dilation, ceil_mode=layer.ceil_mode)
        elif p.kind == "avgpool":
            out = getattr(F, f"avg_pool{r}d")(xt, p.kernel, p.stride, padding=layer.symmetric_pads,
                                              ceil_mode=layer.ceil_mode)
        elif p.kind == "unpool":
            values, indices = _unpool_inputs(p, x)
            out = getattr(F, f"max_unpool{r}d")(torch.from_numpy(values), torch.from_numpy(indices), p.kernel,
                                                p.stride, padding=layer.symmetric_pads, output_size=p.output)
        elif p.kind == "upsample":
            kwargs = {"mode": "nearest"} if mode == "nearest" else {"mode": _LINEAR[r], "align_corners": False}
            size = {"scale_factor": p.scale} if layer.scale is not None else {"size": p.output}
            out = F.interpolate(xt, **size, **kwargs)
        elif p.kind == "pad":  # torch lists the last axis first: (left, right, top, bottom, ...)
            flat = [int(v) for pair in reversed(layer.padding) for v in pair]
            out = F.pad(xt, flat, mode=_pad_mode(layer, TORCH_PAD))
        elif p.kind in ("adaptiveavgpool", "adaptivemaxpool"):
            name = "adaptive_avg_pool" if p.kind == "adaptiveavgpool" else "adaptive_max_pool"
            size = layer.output_size[0] if r == 1 else layer.output_size  # None keeps an axis
            out = getattr(F, f"{name}{r}d")(xt, size)
            out = out[0] if isinstance(out, tuple) else out
        else:
            out = F.pixel_shuffle(xt, int(p.scale[0]))
    return out.numpy()


def _tf_layer(layer, p, x, mode):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    r = layer.rank
    xt = tf.constant(_channels_last(x).astype(np.float32))  # AvgPool3D/MaxPool3D have no float64 kernel
    if p.kind == "pixelshuffle":
        return _channels_first(tf.nn.depth_to_space(xt, int(p.scale[0]))).astype(np.float64)
    if p.kind == "pad":  # tf.pad takes no negative amounts: the crops are a slice
        cropped = xt[(slice(None), *_kept(layer, p.input), slice(None))]
        out = tf.pad(cropped, [[0, 0], *_fills(layer), [0, 0]], mode=_pad_mode(layer, TF_PAD))
        return _channels_first(out).astype(np.float64)
    if p.kind in ("adaptiveavgpool", "adaptivemaxpool"):  # global only, as code() writes it
        reduce = tf.reduce_mean if p.kind == "adaptiveavgpool" else tf.reduce_max
        return _channels_first(reduce(xt, axis=list(range(1, r + 1)), keepdims=True)).astype(np.float64)
    if p.kind not in ("maxpool", "avgpool"):
        raise Unsupported(f"tf.nn has no {p.kind}")
    word = _word(layer)
    padding = word if word is not None else [[0, 0], *([b, a] for b, a in layer.padding), [0, 0]]
    op = getattr(tf.nn, f"{'max' if p.kind == 'maxpool' else 'avg'}_pool{r}d")
    return _channels_first(op(xt, list(p.kernel), list(p.stride), padding)).astype(np.float64)


def _keras_pad(keras, layer, xk):
    """Cropping{r}D by the negative amounts, then ZeroPadding{r}D by the positive ones (channels last)."""
    _pad_mode(layer, {"zeros": "zeros"})
    r = layer.rank
    out = xk
    for name, amounts in (("Cropping", _crops(layer)), ("ZeroPadding", _fills(layer))):
        if any(v for pair in amounts for v in pair):
            out = getattr(keras.layers, f"{name}{r}D")(amounts[0] if r == 1 else amounts)(out)
    return out


def _keras_layer(layer, p, x, mode):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != layer.backend:
        raise Unsupported(f"keras runs on the {keras.backend.backend()} backend here, the layer is for "
                          f"{layer.backend} (set KERAS_BACKEND)")
    xk = _channels_last(x).astype(np.float32)
    if p.kind in ("maxpool", "avgpool"):
        op = keras.ops.max_pool if p.kind == "maxpool" else keras.ops.average_pool
        out = op(xk, p.kernel, p.stride, padding=layer.padding, data_format="channels_last")
    elif p.kind == "pad":
        out = _keras_pad(keras, layer, xk)
    elif p.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        kind = "Average" if p.kind == "adaptiveavgpool" else "Max"
        if set(p.output) == {1}:  # code() writes the global layer
            out = getattr(keras.layers, f"Global{kind}Pooling{layer.rank}D")(keepdims=True)(xk)
        else:
            size = p.output[0] if layer.rank == 1 else tuple(p.output)
            out = getattr(keras.layers, f"Adaptive{kind}Pooling{layer.rank}D")(size)(xk)
    elif p.kind == "upsample":
        if layer.scale is None:
            raise Unsupported("the executor resizes to a size by torch's rule; Keras Resizing's is not modelled")
        size = tuple(int(f) for f in p.scale)
        if mode != "nearest" and layer.rank != 2:
            raise Unsupported(f"keras UpSampling{layer.rank}D only repeats (bilinear: UpSampling2D)")
        cls = getattr(keras.layers, f"UpSampling{layer.rank}D")
        if layer.rank == 1:
            out = cls(size[0])(xk)
        elif layer.rank == 2:
            out = cls(size, interpolation=mode)(xk)
        else:
            out = cls(size)(xk)
    else:
        raise Unsupported(f"keras has no {p.kind}")
    return _channels_first(keras.ops.convert_to_numpy(out)).astype(np.float64)


JAX_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
           "symmetric": "symmetric"}


def _jax_layer(layer, p, x, mode):
    import jax.numpy as jnp
    from jax import lax

    if p.kind == "pad" and layer.padding_mode == "zeros":  # lax.pad, as code() writes a crop: in one call,
        out = lax.pad(jnp.asarray(x, jnp.float32), 0.0,  # so a crop past the input eats the other side's zeros
                      [(0, 0, 0), (0, 0, 0), *((int(b), int(a), 0) for b, a in layer.padding)])
        return np.asarray(out, dtype=np.float64)
    if p.kind == "pad":  # jnp.pad takes no negative amounts (forward() refuses them): crop with lax.pad first
        cropped = lax.pad(jnp.asarray(x, jnp.float32), 0.0,
                          [(0, 0, 0), (0, 0, 0), *((-b, -a, 0) for b, a in _crops(layer))])
        out = jnp.pad(cropped, [(0, 0), (0, 0), *_fills(layer)], mode=_pad_mode(layer, JAX_PAD))
        return np.asarray(out, dtype=np.float64)
    if p.kind in ("adaptiveavgpool", "adaptivemaxpool"):  # global only, as code() writes it
        reduce = jnp.mean if p.kind == "adaptiveavgpool" else jnp.max
        out = reduce(jnp.asarray(x, jnp.float32), axis=tuple(range(2, layer.rank + 2)), keepdims=True)
        return np.asarray(out, dtype=np.float64)
    if p.kind not in ("maxpool", "avgpool"):
        raise Unsupported(f"jax.lax has no {p.kind}")
    word = _word(layer)
    padding = word if word is not None else ((0, 0), (0, 0), *((int(b), int(a)) for b, a in layer.padding))
    xj = jnp.asarray(x, jnp.float32)
    window = dict(window_dimensions=(1, 1, *p.kernel), window_strides=(1, 1, *p.stride), padding=padding,
                  window_dilation=(1, 1, *p.dilation))
    if p.kind == "maxpool":
        out = lax.reduce_window(xj, -jnp.inf, lax.max, **window)
    else:  # tconvcalc's jax code(): the window sum over the whole window size
        out = lax.reduce_window(xj, 0.0, lax.add, **window) / float(np.prod(p.kernel))
    return np.asarray(out, dtype=np.float64)


PAD_OPSET = 19  # Pad's first version with mode 'wrap'; frameworks.onnx.OPSET["pad"] takes over once it has one


def _onnx_model(graph, kind):
    """A session at the opset tconvcalc's ONNX rules describe (the op versions differ: AveragePool
    refuses negative pads through opset 17 and takes them from 19)."""
    import onnxruntime
    from onnx import helper

    from ..frameworks.onnx import OPSET

    opset = {"pad": PAD_OPSET, **OPSET}[kind]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _onnx_session(node, inputs, kind, initializers=()):
    from onnx import TensorProto, helper, numpy_helper

    types = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}
    graph = helper.make_graph(
        [node], "layer", [helper.make_tensor_value_info(name, types[a.dtype], list(a.shape)) for name, a in inputs],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, name) for name, a in initializers])
    session = _onnx_model(graph, kind)
    return session.run(None, dict(inputs))[0].astype(np.float64)


ONNX_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _onnx_layer(layer, p, x, mode):
    from onnx import helper

    x32 = x.astype(np.float32)
    if p.kind == "pad":  # Pad's pads input: every axis's begin, then every axis's end (negative: a crop)
        pads = np.array([0, 0, *(b for b, _ in layer.padding), 0, 0, *(a for _, a in layer.padding)], dtype=np.int64)
        node = helper.make_node("Pad", ["X", "pads"], ["Y"], mode=_pad_mode(layer, ONNX_PAD))
        return _onnx_session(node, [("X", x32)], p.kind, [("pads", pads)])
    if p.kind == "pixelshuffle":
        return _onnx_session(helper.make_node("DepthToSpace", ["X"], ["Y"], blocksize=int(p.scale[0])), [("X", x32)],
                             p.kind)
    if p.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        op = "GlobalAveragePool" if p.kind == "adaptiveavgpool" else "GlobalMaxPool"
        return _onnx_session(helper.make_node(op, ["X"], ["Y"]), [("X", x32)], p.kind)
    if p.kind == "upsample" and layer.scale is None:
        raise Unsupported("the executor resizes to a size by torch's rule; ORT Resize with sizes is not compared")
    if p.kind == "upsample":
        scales = np.array([1.0, 1.0, *p.scale], dtype=np.float32)
        node = helper.make_node("Resize", ["X", "", "scales"], ["Y"], mode="nearest" if mode == "nearest" else "linear")
        return _onnx_session(node, [("X", x32)], p.kind, [("scales", scales)])
    attrs = {"kernel_shape": list(p.kernel), "strides": list(p.stride)}
    if isinstance(layer.padding, str):
        attrs["auto_pad"] = _AUTO_PAD[layer.padding]
    else:
        attrs["pads"] = [int(b) for b, _ in layer.padding] + [int(a) for _, a in layer.padding]
    if p.kind in ("maxpool", "avgpool"):
        if layer.ceil_mode:
            attrs["ceil_mode"] = 1
        if any(d != 1 for d in p.dilation):  # AveragePool's dilations: opset 19 on
            attrs["dilations"] = list(p.dilation)
        node = helper.make_node("MaxPool" if p.kind == "maxpool" else "AveragePool", ["X"], ["Y"], **attrs)
        return _onnx_session(node, [("X", x32)], p.kind)
    values, indices = _unpool_inputs(p, x)
    planes = np.arange(values.shape[0] * values.shape[1], dtype=np.int64).reshape(values.shape[:2])
    # ORT's indices are flat over the whole output tensor (N, C, *spatial); the executor's per (N, C) plane
    total = indices + planes.reshape(*planes.shape, *(1,) * (indices.ndim - 2)) * int(np.prod(p.output))
    inputs = [("X", values.astype(np.float32)), ("I", total)]
    names = ["X", "I"]
    initializers = []
    if layer.output_size is not None:
        names.append("output_shape")
        initializers.append(("output_shape", np.array([*values.shape[:2], *p.output], dtype=np.int64)))
    return _onnx_session(helper.make_node("MaxUnpool", names, ["Y"], **attrs), inputs, p.kind, initializers)


LAYER_RUNNERS = {"torch": _torch_layer, "tf": _tf_layer, "keras": _keras_layer, "jax": _jax_layer, "onnx": _onnx_layer}
