"""TensorFlow tf.nn: conv1d/2d/3d, conv{1,2,3}d_transpose, max_pool/avg_pool, depth_to_space.

Rules from tensorflow/core/framework/kernel_shape_util.cc (GetWindowedOutputSizeVerbose) and
core/kernels/conv_grad_shape_utils.cc; checked against TF itself (reference kernels,
TF_ENABLE_ONEDNN_OPTS=0) in tests/frameworks/test_tf.py.
"""

from ..arithmetic import conv_preimage, effective_kernel, same_out, trunc_div
from . import not_available

DEFAULT_PADDING = "valid"


def windowed_output(n, kernel, stride, dilation, padding):
    """TF's forward size: SAME ceil(n/s); VALID/EXPLICIT trunc((n + pads - ek + s) / s)."""
    if padding == "same":
        return same_out(n, stride)
    before, after = (0, 0) if padding == "valid" else padding
    return trunc_div(n + before + after - effective_kernel(kernel, dilation) + stride, stride)


def transpose_outputs(n, kernel, stride, dilation, padding):
    """Every output_shape O that conv_transpose accepts: TF runs the forward size on O and
    requires it to equal the input n (conv_grad_shape_utils.cc)."""
    if padding == "same":
        return tuple(range((n - 1) * stride + 1, n * stride + 1))
    before, after = (0, 0) if padding == "valid" else padding
    return tuple(o for o in conv_preimage(n, kernel, stride, dilation, before, after) if o >= 0)


LAYERS = {}


def code(layer, axes):
    not_available("tf code emission is not written yet")
