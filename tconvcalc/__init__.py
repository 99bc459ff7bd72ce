"""tconvcalc: exact output sizes of convolution, transposed convolution and friends,
in PyTorch, Keras, TensorFlow, JAX and ONNX conventions -- and the layers that give a size.

>>> from tconvcalc import build_layer, forward
>>> forward(build_layer("convT", "torch", 1, kernel=4, stride=2, padding=1), (126,)).output
(252,)
"""

from . import _startup  # noqa: F401  (first: Ctrl-C while the command line starts ends quietly)
from .errors import InputError, NoSolutionError, ShapeError, TconvError
from .forward import ForwardResult, forward
from .layer import Layer, build_layer

__all__ = ["Layer", "build_layer", "forward", "ForwardResult",
           "TconvError", "InputError", "ShapeError", "NoSolutionError"]
