"""The NumPy executor: convolution and its exact adjoint, the transposed convolution, in 1-D/2-D/3-D.

The executor never re-derives a framework's rules. :func:`geometry` asks ``forward`` (the same
framework module the shape calculator uses) for each axis's resolved pads and output size, and the
two canonical operations below compute with them:

* ``conv``: cross-correlation over the input padded by ``before`` at the start (zeros, or a crop
  where negative), window taps ``t*d``, stride ``s``, exactly ``out`` outputs;
* ``conv_transpose``: the adjoint of that -- every input element scatters its kernel taps to
  ``i*s + t*d`` of the full ``(n-1)*s + d*(k-1) + 1`` result, which is then cropped by ``before``
  at the start and cut (or extended with zeros: output_padding) to ``out`` at the end.

Vectorised: no Python loop over pixels or channels. Python loops run over kernel taps, output phases
(at most s^rank) and cache-sized blocks of batch items or rows (BLOCK_BYTES), each a BLAS GEMM or one
strided copy:

* conv (groups=1): the padded input turned channels-last once, its windows a ``sliding_window_view``,
  and per block one im2col copy (into one reused buffer) and one GEMM (positions, k*C_in) @ (k*C_in, C_out);
  in 1-D with k a multiple of s, no copy at all: cells of s positions are the rows, k/s GEMMs;
* conv_transpose (groups=1), sub-pixel form where every output phase reads the same input shifts (k a
  multiple of s with d=1, stride 1, ...): one stride-1 conv of the input whose output channels are every
  phase's taps, interleaved into the full result in one copy; otherwise the scatter form, one GEMM
  (positions, C_in) @ (C_in, k*C_out) per block and each tap's slice added into a strided view;
* groups > 1: a channels-last conv per group where a group's GEMM is deep enough (C_in/G x taps >= 32),
  else channels-first, a polyphase im2col with one batched matmul (conv); one batched matmul per tap added
  into a strided view (conv_transpose).

Data layout in and out: N, C, spatial... (torch's), weights in torch's layouts: conv (C_out, C_in/groups,
*k), conv_transpose (C_in, C_out/groups, *k). benchmarks/executor.py compares with torch.
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
    padding_mode: str = "zeros"  # torch: the conv's pads copy the input (convT here: that conv's adjoint)

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
                    None if all(op is None for op in ops) else ops, layer, layer.padding_mode)


def check_size(shape, what="array"):
    """Refuse, before allocating, an array of more than MAX_ELEMENTS elements."""
    count = int(np.prod([int(v) for v in shape], dtype=object))
    if count > MAX_ELEMENTS:
        raise InputError(f"the {what} would have {count:,} elements (more than {MAX_ELEMENTS:,}); "
                         "use a smaller size, batch or channel count")
    return count


MAX_HELD = 4 * 10**7  # values a command holds at once in all its arrays (float64: 320 MB; with copies ~1 GB)


def check_held(arrays, what, copies=3):
    """Refuse before anything is allocated: the arrays a command holds at once ({name: shape}), each held
    ``copies`` times (the run, the adjoint check or the target layer, the framework's own tensors)."""
    import math

    counts = {name: math.prod(int(v) for v in shape) for name, shape in arrays.items()}
    total = copies * sum(counts.values())
    if total > MAX_HELD:
        largest = max(counts, key=counts.get)
        raise InputError(f"{what} would hold {total:,} values at once (at most {MAX_HELD:,}; the {largest} alone "
                         f"has {counts[largest]:,}); use a smaller size, batch or channel count")


def buffers(g, batch, c_in, c_out):
    """The arrays one run of ``g`` holds: input, weights, output and the padded input (conv) or the full
    scatter result (convT)."""
    if g.kind == "conv":
        extra = ("padded input", (batch, c_in, *_spans(g, g.output)))
    else:
        extra = ("full transposed-convolution result", (batch, c_out, *_spans(g, g.input)))
    return {"input": (batch, c_in, *g.input), "weights": (c_in, c_out, *g.kernel),
            "output": (batch, c_out, *g.output), extra[0]: extra[1]}


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


def _spans(g, counts):
    """Per axis, the extent that ``counts`` windows of ``g`` (or of a pool plan) reach."""
    return [_span(m, kj, sj, dj) for m, kj, sj, dj in zip(counts, g.kernel, g.stride, g.dilation)]


def conv(x, w, g, groups=1):
    """Cross-correlation of x (N, C_in, *n) with w (C_out, C_in/groups, *k) on the geometry ``g``."""
    if g.padding_mode != "zeros":  # torch pads with F.pad(mode=...) first, then convolves with no padding
        sources, g = _padding_sources(g)
        for axis, source in enumerate(sources):
            x = np.take(x, source, axis=2 + axis)
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    if groups > 1 and x.shape[1] // groups * int(np.prod(g.kernel)) >= GROUP_DEPTH:
        return _conv_per_group(x, w, g, groups)
    if groups > 1:
        return _conv_grouped(x, w, g, groups)
    return _conv_channels_last(x, w, g)


GROUP_DEPTH = 32  # a group's GEMM depth (C_in/G x taps) from which one channels-last conv per group pays


def _conv_per_group(x, w, g, groups):
    """Grouped conv as one channels-last conv per group: faster than the batched channels-first matmul of
    _conv_grouped from GROUP_DEPTH on (measured, N=8, 64 channels, 56x56, k3: G=4 13 ms instead of 31, G=16
    16 instead of 26; G=32, depth 18, 27 instead of 23)."""
    ci, co = x.shape[1] // groups, w.shape[0] // groups
    return np.concatenate([_conv_channels_last(x[:, i * ci:(i + 1) * ci], w[i * co:(i + 1) * co], g)
                           for i in range(groups)], axis=1)


BLOCK_BYTES = 2 * 2**20  # an im2col block this size stays in cache between its copy and its GEMM


def _conv_channels_last(x, w, g):
    """conv with groups=1, channels-first in and out (see _conv_rows)."""
    return np.ascontiguousarray(np.moveaxis(_conv_rows(x, w, g), -1, 1))


def _conv_rows(x, w, g):
    """conv with groups=1 as (N, *out, C_out), channels-last (maybe a view): the padded input turned
    channels-last once, every window a strided view of it (sliding_window_view: (N, *out, *k, C) with no
    copy), and the im2col of a block of batch items or output rows (about BLOCK_BYTES) copied out of that
    view into one reused buffer and multiplied at once, (positions, k*C) @ (k*C, C_out) -- measured 1.5-2x
    faster than the channels-first im2col over the whole batch (benchmarks/executor.py): the copies move C
    contiguous values and the block stays in cache."""
    from numpy.lib.stride_tricks import sliding_window_view

    n_batch, c_in = x.shape[:2]
    c_out, rank = w.shape[0], x.ndim - 2
    spans = _spans(g, g.output)
    check_size((n_batch, c_in, *spans), "padded input")
    check_size((n_batch, c_out, *g.output), "output")
    dtype = np.result_type(x, w)
    if 0 in (n_batch, c_in, c_out, *g.output):
        return np.zeros((n_batch, *g.output, c_out), dtype=dtype)
    padded = np.ascontiguousarray(np.moveaxis(window(x, 2, [-b for b in g.before], spans), 1, -1), dtype=dtype)
    if _in_cells(g, c_in, c_out):
        return _conv_cells(padded, w.astype(dtype, copy=False), g)
    reach = [dj * (kj - 1) + 1 for kj, dj in zip(g.kernel, g.dilation)]
    views = sliding_window_view(padded, reach, axis=tuple(range(1, rank + 1)))  # (N, *starts, C, *reach)
    views = views[(slice(None),) + tuple(slice(None, None, sj) for sj in g.stride) + (slice(None),)
                  + tuple(slice(None, None, dj) for dj in g.dilation)]
    views = np.moveaxis(views, rank + 1, -1)  # (N, *out, *k, C)
    depth = c_in * int(np.prod(g.kernel, dtype=np.int64))
    weights = np.ascontiguousarray(np.moveaxis(w, 1, -1).reshape(c_out, depth).T, dtype=dtype)  # (k*C, C_out)
    out = np.empty((n_batch, *g.output, c_out), dtype=dtype)
    for rows, target in _blocks(views, out, depth):
        np.matmul(rows, weights, out=target)
    return out


def _in_cells(g, c_in, c_out):
    """Whether _conv_cells applies (1-D, kernel a multiple of the stride, d = 1) and pays: it saves copying
    a row of s*C_in values per extra shift and adds C_out values instead (measured: the 1-D audio conv
    0.79 ms instead of 0.89; the 1-D audio convT's stride-1 sub-pixel conv, C_in 32 and C_out 128, slower)."""
    if len(g.kernel) != 1:
        return False
    (k,), (s,), (d,) = g.kernel, g.stride, g.dilation
    return d == 1 and k % s == 0 and k > s and s * c_in >= 2 * c_out


def _conv_cells(padded, w, g):
    """1-D conv with a kernel of k/s shifts of the stride: the padded input (N, (out + k/s - 1)*s, C) read
    as cells of s positions (s*C contiguous values) already is the im2col matrix of each shift, q cells
    further on -- k/s GEMMs and no copy. The last k/s - 1 cells of each item give rows past its end, dropped."""
    n_batch, _, c_in = padded.shape
    c_out, (k,), (s,), (o,) = w.shape[0], g.kernel, g.stride, g.output
    shifts = k // s
    rows = padded.reshape(-1, s * c_in)
    weights = np.ascontiguousarray(w.reshape(c_out, c_in, shifts, s).transpose(2, 3, 1, 0)).reshape(
        shifts, s * c_in, c_out)
    out = np.empty((len(rows), c_out), dtype=padded.dtype)
    count = len(rows) - shifts + 1
    np.matmul(rows[:count], weights[0], out=out[:count])
    for q in range(1, shifts):
        out[:count] += rows[q:q + count] @ weights[q]
    return out.reshape(n_batch, o + shifts - 1, c_out)[:, :o]


def _blocks(views, out, depth):
    """Pairs (im2col rows, output rows) over blocks of batch items or of first-axis lines, about BLOCK_BYTES
    each, the rows copied out of ``views`` into one reused buffer -- or the whole of ``views`` at once, with
    no copy, where it already is a matrix."""
    if views.flags.c_contiguous:
        yield views.reshape(-1, depth), out.reshape(-1, out.shape[-1])
        return
    n_batch, lines = out.shape[0], out.shape[1:-1]
    per_item = int(np.prod(lines, dtype=np.int64))
    row_bytes = depth * views.dtype.itemsize
    if per_item * row_bytes <= BLOCK_BYTES:  # several batch items per block
        step = max(1, BLOCK_BYTES // (per_item * row_bytes))
        parts = [np.s_[b:b + step] for b in range(0, n_batch, step)]
    else:  # lines of the first axis per block
        step = max(1, BLOCK_BYTES // (per_item // lines[0] * row_bytes))
        parts = [np.s_[b, i:i + step] for b in range(n_batch) for i in range(0, lines[0], step)]
    targets = [out[part].reshape(-1, out.shape[-1]) for part in parts]
    check_size((len(targets[0]), depth), "im2col block")
    buffer = np.empty((len(targets[0]), depth), dtype=views.dtype)
    for part, target in zip(parts, targets):
        rows = buffer[:len(target)]
        np.copyto(rows.reshape(views[part].shape), views[part])
        yield rows, target


def _conv_grouped(x, w, g, groups):
    """Grouped conv, channels-first: im2col (one strided view per tap, read from the polyphase split of the
    padded input, into a (taps, C_in/G) x positions matrix per group) and one batched matmul."""
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    co, ci = c_out // groups, c_in // groups
    spans = _spans(g, g.output)
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
    """The transposed convolution of y (N, C_in, *n) with w (C_in, C_out/groups, *k) on ``g``: every input
    scatters its kernel taps to ``i*s + t*d`` of the full result, which is cropped by ``g.before`` and
    cut (or extended with zeros) to ``g.output``."""
    if g.padding_mode != "zeros":  # the adjoint of the conv that padded with the input: fold the pads back
        sources, padded = _padding_sources(g.adjoint)
        full = conv_transpose(y, w, padded.adjoint, groups)
        for axis, source in enumerate(sources):
            folded = np.zeros(full.shape[:2 + axis] + (g.output[axis],) + full.shape[3 + axis:], dtype=full.dtype)
            np.add.at(folded, (slice(None),) * (2 + axis) + (source,), full)
            full = folded
        return full
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    if groups > 1:
        return _conv_transpose_grouped(y, w, g, groups)
    return _conv_transpose_subpixel(y, w, g)


def _padding_sources(g):
    """For a conv whose pads copy the input (torch padding_mode reflect, replicate, circular): per axis, the
    input position each position of the padded input reads, and the same conv on that padded input."""
    spans = _spans(g, g.output)
    sources = []
    for n, before, span in zip(g.input, g.before, spans):
        i = np.arange(-before, span - before)
        if g.padding_mode == "reflect":  # forward() holds each pad below n: one reflection at most
            i = np.where(i < 0, -i, np.where(i > n - 1, 2 * (n - 1) - i, i))
        elif g.padding_mode == "replicate":
            i = np.clip(i, 0, n - 1)
        else:  # circular: each pad at most n
            i = i % n
        sources.append(i)
    return sources, replace(g, before=(0,) * len(spans), input=tuple(spans), padding_mode="zeros")


def _conv_transpose_channels_last(y, w, g):
    """convT with groups=1, channels-last: for a block of batch items or input rows (about BLOCK_BYTES of
    products), one GEMM (positions, C_in) @ (C_in, k*C_out) gives every tap's contribution, and each tap's
    slice is added into a strided view of the full result (C_out contiguous values per position)."""
    n_batch, c_in = y.shape[:2]
    c_out, rank = w.shape[1], y.ndim - 2
    full = _spans(g, g.input)
    check_size((n_batch, c_out, *full), "full transposed-convolution result")
    check_size((n_batch, c_out, *g.output), "output")
    dtype = np.result_type(y, w)
    taps = int(np.prod(g.kernel, dtype=np.int64))
    result = np.zeros((n_batch, *full, c_out), dtype=dtype)
    if result.size and y.size:
        source = np.ascontiguousarray(np.moveaxis(y, 1, -1), dtype=dtype)  # (N, *n, C_in)
        weights = np.ascontiguousarray(np.moveaxis(w, 1, -1).reshape(c_in, taps * c_out), dtype=dtype)
        tap_list = list(product(*(range(kj) for kj in g.kernel)))
        positions = int(np.prod(g.input, dtype=np.int64))
        item = positions * taps * c_out * dtype.itemsize
        if item <= BLOCK_BYTES:  # several batch items per block
            step = max(1, BLOCK_BYTES // item)
            blocks = [(slice(b, b + step), 0, g.input[0]) for b in range(0, n_batch, step)]
        else:  # rows of the first input axis per block
            row = positions // g.input[0]
            step = max(1, BLOCK_BYTES // (row * taps * c_out * dtype.itemsize))
            check_size((step * row, taps * c_out), "contribution block")
            blocks = [(slice(b, b + 1), i, min(i + step, g.input[0]))
                      for b in range(n_batch) for i in range(0, g.input[0], step)]
        for items, first, last in blocks:
            block = source[items, first:last]
            products = (block.reshape(-1, c_in) @ weights).reshape(*block.shape[:-1], taps, c_out)
            counts = (last - first, *g.input[1:])
            for j, tap in enumerate(tap_list):
                where = tuple(slice(o + t * dj, o + t * dj + (m - 1) * sj + 1, sj) for t, dj, sj, m, o in
                              zip(tap, g.dilation, g.stride, counts, (first * g.stride[0],) + (0,) * (rank - 1)))
                result[(items,) + where] += products[..., j, :]
    cropped = window(result, 1, g.before, g.output)
    return np.ascontiguousarray(np.moveaxis(cropped, -1, 1))


def _subpixel_axes(g, full):
    """Per axis (phases [(r, taps ordered like the sub-kernel, positions)], shifts) when every phase reads
    the same input shifts (e.g. k a multiple of s, d = 1), else None."""
    axes = []
    for kj, sj, dj, f in zip(g.kernel, g.stride, g.dilation, full):
        phases, shifts = [], None
        for r in range(min(sj, f)):
            taps = sorted((t for t in range(kj) if (t * dj) % sj == r), reverse=True)
            mine = [(t * dj - r) // sj for t in taps]
            if shifts is None:
                shifts = mine
            if mine != shifts or not taps:
                return None
            phases.append((r, taps, -(-(f - r) // sj)))
        gaps = {b - a for a, b in zip(shifts[1:], shifts[:-1])}
        if len(gaps) > 1:
            return None
        axes.append((phases, shifts, gaps.pop() if gaps else 1))
    return axes


def _conv_transpose_subpixel(y, w, g):
    """convT with groups=1 in sub-pixel form, where every output phase reads the same input shifts: the full
    result at ``u*s + r`` is ``sum_t y[u - delta] * w[t]`` over the taps with ``t*d = r (mod s)``,
    ``delta = (t*d - r) / s``. So one stride-1 conv of y (shifts reversed as its kernel, their gap as its
    dilation, the largest shift as its pad) with every phase's taps stacked as output channels -- one
    channels-last im2col GEMM, s^rank times wider than a phase alone -- and each phase's channels written
    once into its strided slice of the full result. No scatter-add. Falls back to the scatter form."""
    n_batch, c_in = y.shape[:2]
    c_out, rank = w.shape[1], y.ndim - 2
    full = _spans(g, g.input)
    axes = _subpixel_axes(g, full) if all(full) and y.size else None
    if axes is None:
        return _conv_transpose_channels_last(y, w, g)
    check_size((n_batch, c_out, *full), "full transposed-convolution result")
    check_size((n_batch, c_out, *g.output), "output")
    combos = list(product(*(phases for phases, _, _ in axes)))
    conv_weights = np.swapaxes(w, 0, 1)  # (C_out, C_in, *k)
    stacked = np.concatenate([conv_weights[np.ix_(range(c_out), range(c_in), *(taps for _, taps, _ in combo))]
                              for combo in combos])
    sub = Geometry("conv", tuple(len(shifts) for _, shifts, _ in axes), (1,) * rank,
                   tuple(gap for _, _, gap in axes), tuple(shifts[0] for _, shifts, _ in axes), tuple(g.input),
                   tuple(phases[0][2] for phases, _, _ in axes))
    rows = _conv_rows(y, stacked, sub)  # (N, *positions of phase 0, phases * C_out)
    counts = [len(phases) for phases, _, _ in axes]
    # interleave in one copy: (N, *U, *phases, C_out) -> (N, C_out, U_0, phase_0, U_1, phase_1, ...)
    parts = rows.reshape(n_batch, *sub.output, *counts, c_out)
    order = [0, 1 + 2 * rank] + [i for axis in range(rank) for i in (1 + axis, 1 + rank + axis)]
    interleaved = np.ascontiguousarray(parts.transpose(order)).reshape(
        n_batch, c_out, *(u * c for u, c in zip(sub.output, counts)))
    result = interleaved[(slice(None), slice(None)) + tuple(slice(0, f) for f in full)]  # phases past the end
    return window(result, 2, g.before, g.output)


def _conv_transpose_grouped(y, w, g, groups):
    """Grouped convT, channels-first: one batched matmul per tap, added into a strided view of the
    full result, which is then cropped by ``g.before`` and cut/extended to ``g.output``."""
    n_batch, c_in = y.shape[:2]
    co, ci = w.shape[1], c_in // groups
    full = _spans(g, g.input)
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
