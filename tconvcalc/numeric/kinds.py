"""verify() for depthwise and separable convs, LP pooling and pixel unshuffle (space_to_depth).

The geometry is forward()'s, as for every layer (pads and output size from the framework module); what the
shape does not say is here, each with where it comes from:

* depthwise: a conv with groups = C_in, output channel ``c*m + j`` from input channel c (torch's grouped
  weight (C_in*m, 1, *k); Keras/tf's depthwise kernel (*k, C_in, m) orders its outputs the same way);
  separable: then a 1x1 conv (pointwise, (C_out, C_in*m)). The adjoint identity is checked on the depthwise
  conv, as for any conv.
* LP pooling (p = 2, as code() writes it): ONNX LpPool is (sum over the window of |x|^p)^(1/p), pads adding
  nothing; torch's F.lp_pool is avg_pool(x^p, padding 0) times the window size, to 1/p -- so a ceil_mode
  window cut by the input's end is scaled up by kernel/taps inside (count_include_pad over no pads).
* pixel unshuffle: torch PixelUnshuffle writes channel ``c*r*r + i*r + j`` (CRD), tf space_to_depth and
  onnx SpaceToDepth ``(i*r + j)*C + c`` (DCR).
"""

from dataclasses import replace

import numpy as np

from ..errors import InputError
from . import backends, layers
from .executor import Geometry, check_held, check_size, run

KINDS = ("depthwise", "separable", "lppool", "pixelunshuffle")
P = 2.0  # the LP norm tconvcalc's code() writes (norm_type / p); the shape does not depend on it
UNSHUFFLE_ORDER = {"torch": "CRD", "tf": "DCR", "onnx": "DCR"}


def verify(layer, size, channels=(2, 3), batch=1, seed=0, groups=1, framework=True, mode="nearest"):
    from .verify import ADJOINT_NOTE, VerifyResult, adjoint_error, compare, random_data

    if groups != 1:
        raise InputError(f"--groups does not apply to {layer.kind} (a depthwise conv's groups are its input channels)")
    if mode != "nearest":
        raise InputError("--mode is for upsample layers (nearest or bilinear)")
    rng = np.random.default_rng(seed)
    notes, failures, error = [], [], None
    if layer.kind in ("depthwise", "separable"):
        g = conv_geometry(layer, size)
        c_in, c_out = channels
        multiplier = c_out // c_in if layer.kind == "depthwise" and c_out % c_in == 0 else 1
        if layer.kind == "depthwise" and c_out % c_in:
            notes.append(f"COUT {c_out} is not a multiple of CIN {c_in}: ran depth_multiplier 1 ({c_in} out)")
            c_out = c_in
        wide = c_in * multiplier
        check_size((batch, c_in, *g.input), "input")
        check_held({"input": (batch, c_in, *g.input), "depthwise": (batch, wide, *g.output),
                    "output": (batch, c_out, *g.output)}, "verify")
        x, w = random_data(rng, (batch, c_in, *g.input)), random_data(rng, (wide, 1, *g.kernel))
        pw = random_data(rng, (c_out, wide)) if layer.kind == "separable" else None
        inner = run(x, w, g, c_in)
        out = inner if pw is None else pointwise(inner, pw)
        error = adjoint_error(g, x, w, inner, rng, c_in)
        if not error <= 1e-6:
            failures.append(f"adjoint identity off by {error:.3g} relative (tolerance 1e-6)")
        notes.append(f"depth_multiplier {multiplier}" + ("; then a 1x1 pointwise conv" if pw is not None else ""))
        runner = lambda: run_depthwise(layer, g, x, w, pw)  # noqa: E731
        predicted, shape_in = g.output, g.input
        expected = (batch, c_out, *g.output)
    else:
        p = layers.plan(layer, size)
        r = int(p.scale[0]) if p.scale else 1
        c_in = channels[0]
        c_out = c_in * r * r if p.kind == "pixelunshuffle" else c_in
        check_size((batch, c_in, *p.input), "input")
        check_held({"input": (batch, c_in, *p.input), "output": (batch, c_out, *p.output)}, "verify")
        x = random_data(rng, (batch, c_in, *p.input))
        out = lp_pool(x, p) if p.kind == "lppool" else pixel_unshuffle(x, p)
        notes.append(ADJOINT_NOTE)
        notes.append(f"p = {P:g}" if p.kind == "lppool" else f"{c_in} channels in, {c_out} out")
        runner = lambda: run_layer(layer, p, x)  # noqa: E731
        predicted, shape_in, expected = p.output, p.input, (batch, c_out, *p.output)
    if tuple(out.shape) != tuple(expected):
        failures.append(f"output shape {tuple(out.shape[2:])} differs from the prediction {tuple(predicted)}")
    diff, note = None, None
    if framework:
        diff, note, failure = compare(layer, None, x, None, out, runner=runner)
        if failure:
            failures.append(failure)
    return VerifyResult(layer.framework, layer.kind, tuple(shape_in), tuple(out.shape[2:]), tuple(predicted),
                        not failures, error, diff, note, tuple(failures), tuple(notes))


# ---- the executor ---------------------------------------------------------------------------------


def conv_geometry(layer, size):
    """The depthwise conv's geometry: forward()'s pads and output, run as a conv."""
    from ..forward import forward

    result = forward(layer, tuple(size))
    ints = lambda values: tuple(int(v) for v in values)  # noqa: E731
    return Geometry("conv", ints(layer.kernel), ints(layer.stride), ints(layer.dilation),
                    tuple(int(ax.pads[0]) for ax in result.axes), ints(size), ints(result.output),
                    layer=layer, padding_mode=layer.padding_mode)


def pointwise(y, pw):
    """A 1x1 conv: (N, C, *spatial) -> (N, C_out, *spatial)."""
    return np.einsum("oc,nc...->no...", pw, y)


def lp_pool(x, p):
    """(sum |x|^P over the window)^(1/P); torch scales a window cut by the input's end as avg_pool does."""
    check_size((*x.shape[:2], *p.output), "output")
    total = np.zeros((*x.shape[:2], *p.output), dtype=x.dtype)
    for _, view in layers._windows(np.abs(x) ** P, p, 0.0):
        total += view
    if p.framework == "torch":
        total = total * float(np.prod(p.kernel)) / layers.avg_divisor(p, "padded")
    return total ** (1.0 / P)


def pixel_unshuffle(x, p):
    """(N, C, H*r, W*r) -> (N, C*r*r, H, W) in the framework's channel order (UNSHUFFLE_ORDER)."""
    n_batch, c, height, width = x.shape
    r = int(p.scale[0])
    if height % r or width % r:
        raise InputError(f"pixel unshuffle needs H and W divisible by {r}, got {height}x{width}")
    h, w = height // r, width // r
    blocks = x.reshape(n_batch, c, h, r, w, r)
    if UNSHUFFLE_ORDER.get(p.framework, "CRD") == "CRD":
        out = blocks.transpose(0, 1, 3, 5, 2, 4)  # (N, C, i, j, h, w)
    else:
        out = blocks.transpose(0, 3, 5, 1, 2, 4)  # (N, i, j, C, h, w)
    return out.reshape(n_batch, c * r * r, h, w)


# ---- the frameworks -------------------------------------------------------------------------------


def run_depthwise(layer, g, x, w, pw):
    """The framework's depthwise (separable) conv on x: Keras/tf their own ops; torch, jax and onnx as
    tconvcalc's code() writes them, a grouped conv (then a 1x1 conv)."""
    c_in = x.shape[1]
    if layer.framework in ("keras", "tf"):
        return (_keras_depthwise if layer.framework == "keras" else _tf_depthwise)(layer, g, x, w, pw)
    conv = replace(layer, kind="conv", groups=c_in)
    out = backends.run(conv, replace(g, layer=conv), x, w, c_in)
    if pw is None:
        return out
    one = replace(conv, kernel=(1,) * layer.rank, stride=(1,) * layer.rank, dilation=(1,) * layer.rank,
                  padding=((0, 0),) * layer.rank, groups=1, padding_mode="zeros")
    g1 = Geometry("conv", one.kernel, one.stride, one.dilation, (0,) * layer.rank, g.output, g.output, layer=one)
    return backends.run(one, g1, out, pw.reshape(*pw.shape, *(1,) * layer.rank), 1)


def _depthwise_kernel(w, c_in, rank):
    """torch's grouped weight (C_in*m, 1, *k) as Keras/tf's depthwise kernel (*k, C_in, m)."""
    m = w.shape[0] // c_in
    return np.transpose(w.reshape(c_in, m, *w.shape[2:]), (*range(2, 2 + rank), 0, 1)).copy()


def _keras_depthwise(layer, g, x, w, pw):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != layer.backend:
        raise backends.Unsupported(f"keras runs on the {keras.backend.backend()} backend here, the layer is for "
                                   f"{layer.backend} (set KERAS_BACKEND)")
    kernel = _depthwise_kernel(w, x.shape[1], layer.rank)
    xk = np.moveaxis(x, 1, -1).copy()
    common = {"strides": g.stride, "padding": layer.padding, "data_format": "channels_last",
              "dilation_rate": g.dilation}
    if pw is None:
        out = keras.ops.depthwise_conv(xk, kernel, **common)
    else:
        pointwise_kernel = pw.T.reshape(*(1,) * layer.rank, *pw.T.shape).copy()
        out = keras.ops.separable_conv(xk, kernel, pointwise_kernel, **common)
    return np.moveaxis(keras.ops.convert_to_numpy(out), -1, 1).astype(np.float64)


def _tf_depthwise(layer, g, x, w, pw):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    import tensorflow as tf

    if max(g.stride) > 1 and max(g.dilation) > 1:
        raise backends.Unsupported("tf.nn computes other values than the strided dilated conv here (its UserWarning: "
                                   "strides must be 1 with dilations > 1); the shape agrees")
    padding = (layer.padding.upper() if isinstance(layer.padding, str)
               else [[0, 0], *([int(b), int(a)] for b, a in layer.padding), [0, 0]])
    xt = tf.constant(np.moveaxis(x, 1, -1).copy())
    kernel = tf.constant(_depthwise_kernel(w, x.shape[1], layer.rank))
    strides = [1, *g.stride, 1]
    with warnings.catch_warnings():  # strides with dilations: nn_impl's UserWarning, which forward() gives
        warnings.simplefilter("ignore")
        if pw is None:
            out = tf.nn.depthwise_conv2d(xt, kernel, strides, padding, dilations=list(g.dilation))
        else:
            pointwise_kernel = tf.constant(pw.T.reshape(1, 1, *pw.T.shape).copy())
            out = tf.nn.separable_conv2d(xt, kernel, pointwise_kernel, strides, padding, dilations=list(g.dilation))
    return np.moveaxis(out.numpy(), -1, 1).astype(np.float64)


def run_layer(layer, p, x):
    """The framework's LP pool or pixel unshuffle on x (N C * in and out)."""
    if layer.framework == "torch":
        import torch
        import torch.nn.functional as F

        xt = torch.from_numpy(np.ascontiguousarray(x))
        with torch.no_grad():
            if p.kind == "lppool":
                out = getattr(F, f"lp_pool{layer.rank}d")(xt, P, p.kernel, p.stride, ceil_mode=layer.ceil_mode)
            else:
                out = F.pixel_unshuffle(xt, int(p.scale[0]))
        return out.numpy()
    if layer.framework == "tf" and p.kind == "pixelunshuffle":
        import tensorflow as tf

        out = tf.nn.space_to_depth(tf.constant(np.moveaxis(x, 1, -1).copy()), int(p.scale[0]))
        return np.moveaxis(out.numpy(), -1, 1).astype(np.float64)
    if layer.framework == "onnx":
        from onnx import helper

        x32 = x.astype(np.float32)
        if p.kind == "pixelunshuffle":
            node = helper.make_node("SpaceToDepth", ["X"], ["Y"], blocksize=int(p.scale[0]))
        else:
            attrs = {"kernel_shape": list(p.kernel), "strides": list(p.stride), "dilations": list(p.dilation),
                     "ceil_mode": int(layer.ceil_mode), "p": int(P)}
            if isinstance(layer.padding, str):
                attrs["auto_pad"] = backends._AUTO_PAD[layer.padding]
            else:
                attrs["pads"] = [int(b) for b, _ in layer.padding] + [int(a) for _, a in layer.padding]
            node = helper.make_node("LpPool", ["X"], ["Y"], **attrs)
        return backends._onnx_session(node, [("X", x32)], p.kind)
    raise backends.Unsupported(f"{layer.framework} has no {p.kind}")
