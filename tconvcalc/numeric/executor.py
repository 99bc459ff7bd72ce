"""The NumPy executor: convolution and its exact adjoint, the transposed convolution, in 1-D/2-D/3-D.

The executor never re-derives a framework's rules. :func:`geometry` asks ``forward`` (the same
framework module the shape calculator uses) for each axis's resolved pads and output size, and the
two canonical operations below compute with them:

* ``conv``: cross-correlation over the input padded by ``before`` at the start (zeros, or a crop
  where negative), window taps ``t*d``, stride ``s``, exactly ``out`` outputs;
* ``conv_transpose``: the adjoint of that -- every input element scatters its kernel taps to
  ``i*s + t*d`` of the full ``(n-1)*s + d*(k-1) + 1`` result, which is then cropped by ``before``
  at the start and cut (or extended with zeros: output_padding) to ``out`` at the end.

Vectorised: the only Python loop is over kernel taps; each tap is one batched BLAS matmul over
(groups) x (batch * positions, channels). Data layout: N, C, spatial... (torch's), weights in
torch's layouts: conv (C_out, C_in/groups, *k), conv_transpose (C_in, C_out/groups, *k).
"""

from dataclasses import dataclass, replace
from itertools import product

import numpy as np

from ..errors import InputError

MAX_ELEMENTS = 10**8  # beyond this an array is refused before it is allocated


@dataclass(frozen=True)
class Geometry:
    """One conv / conv-transpose as the framework resolves it, per axis, in canonical terms."""

    kind: str  # "conv" or "convT"
    kernel: tuple
    stride: tuple
    dilation: tuple
    before: tuple  # conv: the pad before the input; convT: the crop at the start of the full result
    input: tuple
    output: tuple
    flip: bool = False  # jax conv_transpose (transpose_kernel=False): the kernel runs unflipped
    chosen_output: bool = False  # the framework leaves the output to the caller: the smallest was taken
    output_padding: tuple | None = None  # as forward() resolved it (framework runners pass it on)
    layer: object = None  # the layer as run (tf convT: with the chosen output_size)

    @property
    def adjoint(self):
        """The matching pair: same kernel, stride, dilation and ``before``; input and output swapped."""
        return replace(self, kind="conv" if self.kind == "convT" else "convT",
                       input=self.output, output=self.input)


def geometry(layer, size):
    """The framework-resolved geometry of ``layer`` on ``size`` (ints): pads and output from forward()."""
    from ..forward import forward

    if layer.kind not in ("conv", "convT"):
        raise InputError(f"the executor runs conv and convT layers, not {layer.kind}")
    result = forward(layer, tuple(size))
    chosen = False
    if result.output is None:  # tf conv_transpose: the caller chooses output_shape; take the smallest
        layer = replace(layer, output_size=tuple(ax.accepted[0] for ax in result.axes))
        result, chosen = forward(layer, tuple(size)), True
    k, s, d = (tuple(int(v) for v in values) for values in (layer.kernel, layer.stride, layer.dilation))
    pads = [tuple(int(p) for p in ax.pads) for ax in result.axes]
    flip = layer.kind == "convT" and layer.framework == "jax"
    if flip:
        # lax.conv_transpose is conv_general_dilated(lhs_dilation=s) with its (lo, hi) pads on the
        # stride-dilated input and the kernel unflipped: the scatter form crops d*(k-1) - lo at the start.
        before = tuple(dj * (kj - 1) - lo for kj, dj, (lo, _) in zip(k, d, pads))
    else:
        # conv: the pad before. convT: torch/onnx/keras give the crops from the full result; tf gives the
        # forward conv's pads on the output -- the same number, as convT is that conv's adjoint.
        before = tuple(b for b, _ in pads)
    ops = tuple(ax.output_padding for ax in result.axes)
    return Geometry(layer.kind, k, s, d, before, tuple(int(n) for n in size),
                    tuple(int(o) for o in result.output), flip, chosen,
                    None if all(op is None for op in ops) else ops, layer)


def check_size(shape, what="array"):
    """Refuse, before allocating, an array of more than MAX_ELEMENTS elements."""
    count = int(np.prod([int(v) for v in shape], dtype=object))
    if count > MAX_ELEMENTS:
        raise InputError(f"the {what} would have {count:,} elements (more than {MAX_ELEMENTS:,}); "
                         "use a smaller size, batch or channel count")
    return count


def window(x, first_axis, starts, lengths):
    """``x[start:start+length]`` on the axes from ``first_axis``, with zeros wherever that leaves ``x``."""
    for j, (start, length) in enumerate(zip(starts, lengths)):
        axis = first_axis + j
        n = x.shape[axis]
        lo, hi = min(max(start, 0), n), min(max(start + length, 0), n)
        hi = max(hi, lo)
        zeros_before = min(max(lo - start, 0), length)
        zeros_after = length - zeros_before - (hi - lo)
        index = [slice(None)] * x.ndim
        index[axis] = slice(lo, hi)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (zeros_before, zeros_after)
        x = np.pad(x[tuple(index)], widths)
    return x


def _taps(g):
    """Each kernel tap and the slice (per axis) of the positions it touches in the padded/full array."""
    n = g.output if g.kind == "conv" else g.input
    for tap in product(*(range(kj) for kj in g.kernel)):
        yield tap, tuple(slice(t * dj, t * dj + (m - 1) * sj + 1 if m > 0 else t * dj, sj)
                         for t, dj, sj, m in zip(tap, g.dilation, g.stride, n))


def _span(m, k, s, d):
    """The extent a stride-s, dilation-d window needs for m positions: (m-1)*s + d*(k-1) + 1."""
    return (m - 1) * s + d * (k - 1) + 1 if m > 0 else 0


def _grouped(x, groups):
    """(N, C, *sp) -> (G, N, *sp, C/G): groups first, channels last, for batched matmuls."""
    n, c = x.shape[:2]
    x = np.moveaxis(x.reshape(n, groups, c // groups, *x.shape[2:]), (1, 2), (0, -1))
    return x


def _ungrouped(y):
    """(G, N, *sp, C/G) -> (N, G*C/G, *sp)."""
    g, n, c = y.shape[0], y.shape[1], y.shape[-1]
    y = np.moveaxis(y, (0, -1), (1, 2))
    return y.reshape(n, g * c, *y.shape[3:])


def conv(x, w, g, groups=1):
    """Cross-correlation of x (N, C_in, *n) with w (C_out, C_in/groups, *k) on the geometry ``g``."""
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    co, ci = c_out // groups, c_in // groups
    spans = [_span(m, kj, sj, dj) for m, kj, sj, dj in zip(g.output, g.kernel, g.stride, g.dilation)]
    check_size((n_batch, c_in, *spans), "padded input")
    check_size((n_batch, c_out, *g.output), "output")
    padded = _grouped(window(x, 2, [-b for b in g.before], spans), groups)  # (G, N, *spans, ci)
    # (C_out, ci, *k) -> (G, *k, ci, co)
    wg = np.moveaxis(w.reshape(groups, co, ci, *g.kernel), (1, 2), (-1, -2))
    rows = n_batch * int(np.prod(g.output, dtype=np.int64))
    out = np.zeros((groups, rows, co), dtype=np.result_type(x, w))
    for tap, where in _taps(g):
        patch = padded[(slice(None), slice(None)) + where].reshape(groups, rows, ci)
        out += patch @ wg[(slice(None),) + tap]
    return _ungrouped(out.reshape(groups, n_batch, *g.output, co))


def conv_transpose(y, w, g, groups=1):
    """The transposed convolution of y (N, C_in, *n) with w (C_in, C_out/groups, *k) on ``g``:
    the scatter-add of kernel taps, cropped by ``g.before`` and cut/extended to ``g.output``."""
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    n_batch, c_in = y.shape[:2]
    co, ci = w.shape[1], c_in // groups
    full = [_span(m, kj, sj, dj) for m, kj, sj, dj in zip(g.input, g.kernel, g.stride, g.dilation)]
    check_size((n_batch, co * groups, *full), "full transposed-convolution result")
    check_size((n_batch, co * groups, *g.output), "output")
    rows = n_batch * int(np.prod(g.input, dtype=np.int64))
    source = _grouped(y, groups).reshape(groups, rows, ci)
    # (C_in, co, *k) -> (G, *k, ci, co)
    wg = np.moveaxis(w.reshape(groups, ci, co, *g.kernel), (1, 2), (-2, -1))
    result = np.zeros((groups, n_batch, *full, co), dtype=np.result_type(y, w))
    for tap, where in _taps(g):
        contribution = source @ wg[(slice(None),) + tap]
        result[(slice(None), slice(None)) + where] += contribution.reshape(groups, n_batch, *g.input, co)
    return _ungrouped(window(result, 2, g.before, g.output))


def run(x, w, g, groups=1):
    """The layer of geometry ``g`` on x (conv or convT by ``g.kind``)."""
    return (conv if g.kind == "conv" else conv_transpose)(x, w, g, groups)


def weight_shape(g, c_in, c_out, groups=1):
    """The torch-layout weight shape for this layer: conv (C_out, C_in/G, *k), convT (C_in, C_out/G, *k)."""
    if c_in % groups or c_out % groups:
        raise InputError(f"--groups {groups} must divide both channel counts ({c_in}:{c_out})")
    if g.kind == "conv":
        return (c_out, c_in // groups, *g.kernel)
    return (c_in, c_out // groups, *g.kernel)
