"""The NumPy executor: convolution and its exact adjoint, the transposed convolution, in 1-D/2-D/3-D.

The executor never re-derives a framework's rules. :func:`geometry` asks ``forward`` (the same
framework module the shape calculator uses) for each axis's resolved pads and output size, and the
two canonical operations below compute with them:

* ``conv``: cross-correlation over the input padded by ``before`` at the start (zeros, or a crop
  where negative), window taps ``t*d``, stride ``s``, exactly ``out`` outputs;
* ``conv_transpose``: the adjoint of that -- every input element scatters its kernel taps to
  ``i*s + t*d`` of the full ``(n-1)*s + d*(k-1) + 1`` result, which is then cropped by ``before``
  at the start and cut (or extended with zeros: output_padding) to ``out`` at the end.

Vectorised: the only Python loop is over kernel taps. conv gathers one strided view per tap into
an im2col matrix and does one batched BLAS matmul; conv_transpose does one batched matmul per tap
and adds it into a strided view of the full result. Channels-first throughout. Data layout: N, C, spatial... (torch's), weights in
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


def window(x, first_axis, starts, lengths, fill=0):
    """``x[start:start+length]`` on the axes from ``first_axis``, with ``fill`` (zeros) wherever that
    leaves ``x``: a view when it stays inside ``x``, else one filled array and one copy."""
    source, target, shape, inside = [slice(None)] * x.ndim, [slice(None)] * x.ndim, list(x.shape), True
    for j, (start, length) in enumerate(zip(starts, lengths)):
        axis = first_axis + j
        n = x.shape[axis]
        lo, hi = min(max(start, 0), n), min(max(start + length, 0), n)
        hi = max(hi, lo)
        zeros_before = min(max(lo - start, 0), length)
        source[axis] = slice(lo, hi)
        target[axis] = slice(zeros_before, zeros_before + hi - lo)
        shape[axis] = length
        inside = inside and zeros_before == 0 and hi - lo == length
    if inside:
        return x[tuple(source)]
    out = np.full(shape, fill, dtype=x.dtype)
    out[tuple(target)] = x[tuple(source)]
    return out


def _taps(g):
    """Each kernel tap and the slice (per axis) of the positions it touches in the padded/full array."""
    n = g.output if g.kind == "conv" else g.input
    for tap in product(*(range(kj) for kj in g.kernel)):
        yield tap, tuple(slice(t * dj, t * dj + (m - 1) * sj + 1 if m > 0 else t * dj, sj)
                         for t, dj, sj, m in zip(tap, g.dilation, g.stride, n))


def _span(m, k, s, d):
    """The extent a stride-s, dilation-d window needs for m positions: (m-1)*s + d*(k-1) + 1."""
    return (m - 1) * s + d * (k - 1) + 1 if m > 0 else 0


def conv(x, w, g, groups=1):
    """Cross-correlation of x (N, C_in, *n) with w (C_out, C_in/groups, *k) on the geometry ``g``:
    im2col (one strided view per tap into a (taps, C_in/G) x positions matrix) and one batched matmul."""
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    co, ci = c_out // groups, c_in // groups
    spans = [_span(m, kj, sj, dj) for m, kj, sj, dj in zip(g.output, g.kernel, g.stride, g.dilation)]
    check_size((n_batch, c_in, *spans), "padded input")
    check_size((n_batch, c_out, *g.output), "output")
    taps = int(np.prod(g.kernel, dtype=np.int64))
    check_size((n_batch, c_in * taps, *g.output), "im2col matrix")
    padded = window(x, 2, [-b for b in g.before], spans)
    positions = int(np.prod(g.output, dtype=np.int64))
    dtype = np.result_type(x, w)
    # polyphase: the padded input split once by position mod stride, so each tap reads unit-stride rows
    phases = {}
    cols = np.empty((n_batch, taps, c_in, *g.output), dtype=dtype)
    for j, tap in enumerate(product(*(range(kj) for kj in g.kernel))):
        offsets = [t * dj for t, dj in zip(tap, g.dilation)]
        phase = tuple(o % sj for o, sj in zip(offsets, g.stride))
        if phase not in phases:
            phases[phase] = np.ascontiguousarray(padded[(slice(None), slice(None)) + tuple(
                slice(r, None, sj) for r, sj in zip(phase, g.stride))])
        cols[:, j] = phases[phase][(slice(None), slice(None)) + tuple(
            slice(o // sj, o // sj + m) for o, sj, m in zip(offsets, g.stride, g.output))]
    # (C_out, ci, *k) -> (G, co, taps*ci), ordered like cols: tap-major, then channel
    wg = np.moveaxis(w.reshape(groups, co, ci, taps), 3, 2).reshape(groups, co, taps * ci)
    cols = np.moveaxis(cols.reshape(n_batch, taps, groups, ci, positions), 2, 1) if groups > 1 else cols
    out = np.matmul(wg, cols.reshape(n_batch, groups, taps * ci, positions))  # (N, G, co, P)
    return out.reshape(n_batch, c_out, *g.output)


def conv_transpose(y, w, g, groups=1):
    """The transposed convolution of y (N, C_in, *n) with w (C_in, C_out/groups, *k) on ``g``:
    the scatter-add of kernel taps (one batched matmul per tap, added into a strided view of the
    full result, channels-first throughout), cropped by ``g.before`` and cut/extended to ``g.output``."""
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    n_batch, c_in = y.shape[:2]
    co, ci = w.shape[1], c_in // groups
    full = [_span(m, kj, sj, dj) for m, kj, sj, dj in zip(g.input, g.kernel, g.stride, g.dilation)]
    check_size((n_batch, co * groups, *full), "full transposed-convolution result")
    check_size((n_batch, co * groups, *g.output), "output")
    positions = int(np.prod(g.input, dtype=np.int64))
    source = y.reshape(n_batch, groups, ci, positions)
    # (C_in, co, *k) -> (G, *k, co, ci): each tap's (co, ci) matrix
    wg = np.ascontiguousarray(np.moveaxis(w.reshape(groups, ci, co, *g.kernel), (1, 2), (-1, -2)))
    result = np.zeros((n_batch, groups, co, *full), dtype=np.result_type(y, w))
    lead = (slice(None),) * 3
    for tap, where in _taps(g):
        contribution = np.matmul(wg[(slice(None),) + tap], source)  # (N, G, co, P)
        result[lead + where] += contribution.reshape(n_batch, groups, co, *g.input)
    result = result.reshape(n_batch, groups * co, *full)
    return window(result, 2, g.before, g.output)


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
