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
    refuse_input_dilation(layer)
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


def refuse_input_dilation(layer):
    """The executor has no lhs/base dilation: say so rather than run the layer without it."""
    if layer.input_dilation is not None and any(v != 1 for v in layer.input_dilation):
        raise InputError("the numeric executor does not run --input-dilation (jax lhs_dilation / base_dilation); "
                         "tconvcalc forward gives its size")


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
    out = np.zeros((x.shape[0], w.shape[0], *g.output), dtype=np.result_type(x, w))
    if out.size and x.shape[1]:
        _conv_into(x, w, g, groups, _into(out))
    return out


GROUP_DEPTH = 32  # a group's GEMM depth (C_in/G x taps) from which one channels-last conv per group pays


def _conv_into(x, w, g, groups, sink):
    """Run the conv block by block, handing each block's result to ``sink`` (see _conv_channels_last).
    Grouped: one channels-last conv per group where a group's GEMM is deep enough (measured, N=8, 64
    channels, 56x56, k3: G=4 13 ms instead of 31, G=16 16 instead of 26; G=32, depth 18, 27 instead of 23),
    else channels-first with one batched matmul over the groups."""
    if groups == 1:
        return _conv_channels_last(x, w, g, sink)
    ci, co = x.shape[1] // groups, w.shape[0] // groups
    if ci * _count(g.kernel) < GROUP_DEPTH:
        return _conv_grouped(x, w, g, groups, sink)
    for i in range(groups):
        _conv_channels_last(x[:, i * ci:(i + 1) * ci], w[i * co:(i + 1) * co], g, sink, slice(i * co, (i + 1) * co))


def _into(out):
    """The sink that writes a conv's blocks (items, output rows, channels; block channels-last) into ``out``
    (N, C, *o), channels-first: one transposing copy of a cache-sized block."""
    def sink(items, rows, channels, block):
        out[items, channels, rows] = np.moveaxis(block, -1, 1)
    return sink


def _count(shape):
    return int(np.prod(shape, dtype=np.int64))


BLOCK_BYTES = 2 * 2**20  # an im2col block this size stays in cache between its copy and its GEMM


def _parts(n_batch, output, position_bytes):
    """The blocks a conv runs in, (items, rows) slices, each about BLOCK_BYTES of im2col at ``position_bytes``
    per output position: several whole batch items, or lines of the first output axis of one item. The
    first block is the largest (the buffers are sized by it)."""
    per_item = _count(output)
    if per_item * position_bytes <= BLOCK_BYTES:
        step = max(1, BLOCK_BYTES // max(1, per_item * position_bytes))
        return [(slice(b, min(b + step, n_batch)), slice(0, output[0])) for b in range(0, n_batch, step)]
    per_line = per_item // output[0]
    step = max(1, BLOCK_BYTES // (per_line * position_bytes))
    return [(slice(b, b + 1), slice(i, min(i + step, output[0])))
            for b in range(n_batch) for i in range(0, output[0], step)]


def _slab_window(g, rows):
    """(starts, lengths) per axis of the input that the output rows ``rows`` (first axis) read."""
    starts = [rows.start * g.stride[0] - g.before[0], *(-b for b in g.before[1:])]
    lengths = [_span(rows.stop - rows.start, g.kernel[0], g.stride[0], g.dilation[0]), *_spans(g, g.output)[1:]]
    return starts, lengths


ALIASING = 1024  # a channel stride that is a multiple of this many bytes: stage the transposing copy


def _staged(block, buffer):
    """``block`` (n, C, *m) copied into ``buffer`` with a channel stride that is no multiple of ALIASING: the
    transposing copy from a channel stride of 4 KB is 4x slower than from any other (cache-set aliasing,
    measured: 8x64x64x64 float32 to channels-last 7.7 ms, from 8x64x66x66 1.7 ms); the plain copy costs 0.9."""
    n, c, plane = block.shape[0], block.shape[1], _count(block.shape[2:])
    stride = plane + 16 if (plane + 16) * block.itemsize % ALIASING else plane + 32
    stage = buffer[:n * c * stride].reshape(n, c, stride)[:, :, :plane].reshape(block.shape)
    np.copyto(stage, block)
    return stage


def _slab(x, items, starts, lengths, buffer, staging=None):
    """The input a block reads, channels-last with zeros outside ``x``: (items, *lengths, C) in the flat
    reused ``buffer`` -- the padding and the layout change in one copy (two where the channel stride
    aliases: ``staging``, see _staged)."""
    n, c = items.stop - items.start, x.shape[1]
    slab = buffer[:n * _count(lengths) * c].reshape(n, *lengths, c)
    source, target = [items, slice(None)], [slice(None)]
    for axis, (start, length) in enumerate(zip(starts, lengths)):
        size = x.shape[2 + axis]
        lo, hi = min(max(start, 0), size), min(max(start + length, 0), size)
        hi = max(hi, lo)
        zeros = min(max(lo - start, 0), length)
        source.append(slice(lo, hi))
        target.append(slice(zeros, zeros + hi - lo))
        lead = (slice(None),) * (1 + axis)
        slab[lead + (slice(0, zeros),)] = 0
        slab[lead + (slice(zeros + hi - lo, None),)] = 0
    inside = x[tuple(source)]
    if staging is not None:
        inside = _staged(inside, staging)
    np.copyto(slab[tuple(target)], np.moveaxis(inside, 1, -1))
    return slab


def _staging_size(parts, slab_size, c_in):
    """Elements of the staging buffer for slabs of ``slab_size`` (see _staged: 32 more per channel plane)."""
    return slab_size + (parts[0][0].stop - parts[0][0].start) * c_in * 32


def _in_cells(g, c_in, c_out):
    """Whether the cells form applies (1-D, kernel a multiple of the stride, d = 1) and pays: it saves copying
    a row of s*C_in values per extra shift and adds C_out values instead (measured: the 1-D audio conv
    0.79 ms instead of 0.89; the 1-D audio convT's stride-1 sub-pixel conv, C_in 32 and C_out 128, slower)."""
    if len(g.kernel) != 1:
        return False
    (k,), (s,), (d,) = g.kernel, g.stride, g.dilation
    return d == 1 and k % s == 0 and k > s and s * c_in >= 2 * c_out


def _channels_last_sizes(g, n_batch, c_in, c_out, itemsize=8):
    """(blocks, cells, elements of the slab, im2col and product buffers) of a channels-last conv: what
    _conv_channels_last allocates, and workspace() counts."""
    cells = _in_cells(g, c_in, c_out)
    depth = c_in * _count(g.kernel)
    parts = _parts(n_batch, g.output, (g.stride[0] * c_in if cells else depth) * itemsize)
    items, rows = parts[0]
    n, lines = items.stop - items.start, rows.stop - rows.start
    positions = n * lines * _count(g.output[1:])
    _, lengths = _slab_window(g, rows)
    slab = n * _count(lengths) * c_in
    if cells:
        products = 2 * n * (lines + g.kernel[0] // g.stride[0] - 1) * c_out  # the sum and one shift's product
        return parts, cells, slab, 0, products
    return parts, cells, slab, positions * depth, positions * c_out


def _aliases(x):
    """Whether the channel stride of ``x`` calls for a staged transposing copy (see _staged)."""
    return x.shape[1] > 1 and x.strides[1] % ALIASING == 0


def _conv_channels_last(x, w, g, sink, channels=slice(None)):
    """conv with groups=1, block by block: the block's input padded and turned channels-last in one copy
    (_slab), its windows a strided view of that (sliding_window_view: (n, *out, *k, C), no copy), the im2col
    rows copied out of the view into one reused buffer and multiplied at once, (positions, k*C) @ (k*C, C_out)
    -- measured 1.5-2x faster than a channels-first im2col over the whole batch (benchmarks/executor.py): the
    copies move C contiguous values and the block stays in cache. ``sink(items, rows, channels, block)``
    takes each result, channels-last; no array of the whole batch is made besides the caller's output."""
    from numpy.lib.stride_tricks import sliding_window_view

    n_batch, c_in = x.shape[:2]
    c_out, rank = w.shape[0], x.ndim - 2
    dtype = np.result_type(x, w)
    parts, cells, slab_size, cols_size, products_size = _channels_last_sizes(g, n_batch, c_in, c_out,
                                                                                 dtype.itemsize)
    slabs = np.empty(slab_size, dtype)
    staging = np.empty(_staging_size(parts, slab_size, c_in), dtype) if _aliases(x) else None
    if cells:
        shifts, s = g.kernel[0] // g.stride[0], g.stride[0]
        weights = np.ascontiguousarray(w.reshape(c_out, c_in, shifts, s).transpose(2, 3, 1, 0), dtype=dtype)
        weights = weights.reshape(shifts, s * c_in, c_out)
        products = np.empty(products_size, dtype)
    else:
        reach = [dj * (kj - 1) + 1 for kj, dj in zip(g.kernel, g.dilation)]
        depth = c_in * _count(g.kernel)
        # (*k, C_in, C_out) in one copy: the im2col rows are ordered taps first, then channels
        weights = np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2)), dtype=dtype).reshape(depth, c_out)
        cols, products = np.empty(cols_size, dtype), np.empty(products_size, dtype)
        pick = (slice(None),) + tuple(slice(None, None, sj) for sj in g.stride) + (slice(None),) + tuple(
            slice(None, None, dj) for dj in g.dilation)
    for items, rows in parts:
        slab = _slab(x, items, *_slab_window(g, rows), slabs, staging)
        if cells:
            block = _cells_block(slab, weights, rows.stop - rows.start, products)
        else:
            views = np.moveaxis(sliding_window_view(slab, reach, axis=tuple(range(1, rank + 1)))[pick],
                                rank + 1, -1)  # (n, *out, *k, C)
            count = _count(views.shape[:rank + 1])
            if views.flags.c_contiguous:  # k = 1, s = 1: the slab is the matrix
                matrix = views.reshape(count, depth)
            else:
                matrix = cols[:count * depth].reshape(count, depth)
                np.copyto(matrix.reshape(views.shape), views)
            result = products[:count * c_out].reshape(count, c_out)
            np.matmul(matrix, weights, out=result)
            block = result.reshape(*views.shape[:rank + 1], c_out)
        sink(items, rows, channels, block)


def _cells_block(slab, weights, lines, products):
    """1-D conv with a kernel of k/s shifts of the stride: the block's input (n, (lines + k/s - 1)*s, C) read
    as cells of s positions (s*C contiguous values) already is the im2col matrix of each shift, q cells
    further on -- k/s GEMMs and no copy. The last k/s - 1 cells of each item give rows past its end, dropped."""
    n = slab.shape[0]
    shifts, width, c_out = weights.shape
    rows = slab.reshape(-1, width)
    total = len(rows)
    count = total - shifts + 1
    result = products[:total * c_out].reshape(total, c_out)
    extra = products[total * c_out:2 * total * c_out].reshape(total, c_out)
    np.matmul(rows[:count], weights[0], out=result[:count])
    for q in range(1, shifts):
        np.matmul(rows[q:q + count], weights[q], out=extra[:count])
        result[:count] += extra[:count]
    return result.reshape(n, lines + shifts - 1, c_out)[:, :lines]


def _grouped_sizes(g, n_batch, c_in, c_out, itemsize=8):
    """(blocks, elements of the padded block, im2col and product) of _conv_grouped."""
    taps = _count(g.kernel)
    parts = _parts(n_batch, g.output, c_in * taps * itemsize)
    items, rows = parts[0]
    n, lines = items.stop - items.start, rows.stop - rows.start
    positions = n * lines * _count(g.output[1:])
    _, lengths = _slab_window(g, rows)
    return parts, n * c_in * _count(lengths), positions * c_in * taps, positions * c_out


def _conv_grouped(x, w, g, groups, sink):
    """Grouped conv, channels-first, block by block: the block's padded input (window), its im2col (one
    strided slice per tap into a (groups, taps x C_in/G, positions) matrix) and one batched matmul."""
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    co, ci = c_out // groups, c_in // groups
    taps = _count(g.kernel)
    dtype = np.result_type(x, w)
    parts = _grouped_sizes(g, n_batch, c_in, c_out, dtype.itemsize)[0]
    # (C_out, ci, *k) -> (G, co, taps*ci), ordered like the im2col: tap-major, then channel
    wg = np.moveaxis(w.reshape(groups, co, ci, taps), 3, 2).reshape(groups, co, taps * ci).astype(dtype, copy=False)
    for items, rows in parts:
        starts, lengths = _slab_window(g, rows)
        padded = window(x[items], 2, starts, lengths)
        n, shape = padded.shape[0], (rows.stop - rows.start, *g.output[1:])
        cols = np.empty((n, groups, taps, ci, *shape), dtype=dtype)
        for j, tap in enumerate(product(*(range(kj) for kj in g.kernel))):
            where = tuple(slice(t * dj, t * dj + (m - 1) * sj + 1, sj)
                          for t, dj, sj, m in zip(tap, g.dilation, g.stride, shape))
            cols[:, :, j] = padded[(slice(None), slice(None)) + where].reshape(n, groups, ci, *shape)
        result = np.matmul(wg, cols.reshape(n, groups, taps * ci, -1))  # (n, G, co, P)
        sink(items, rows, slice(None), np.moveaxis(result.reshape(n, c_out, *shape), 1, -1))


def conv_transpose(y, w, g, groups=1):
    """The transposed convolution of y (N, C_in, *n) with w (C_in, C_out/groups, *k) on ``g``: every input
    scatters its kernel taps to ``i*s + t*d`` of the full result, which is cropped by ``g.before`` and
    cut (or extended with zeros) to ``g.output``. Computed as gathers, one stride-1 conv per set of output
    phases (_phase_convs), each block of it written into its strided slice of the output: no scatter-add
    and no array of the full result."""
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
    out = np.zeros((y.shape[0], w.shape[1] * groups, *g.output), dtype=np.result_type(y, w))
    if out.size and y.size:
        for sub, combos in _phase_convs(g):
            weights = _phase_weights(w, groups, combos)
            _conv_into(y, weights, sub, groups, _into_phases(out, g, groups, combos))
    return out


def _axis_phases(k, s, d, full):
    """One axis of a transposed conv by output phase: the full result at ``u*s + r`` is ``sum y[u - delta]
    * w[t]`` over the taps with ``t*d = r (mod s)``, ``delta = (t*d - r) / s``. Per phase with a tap:
    (r, taps from the largest, their deltas, how many full positions have that phase)."""
    phases = []
    for r in range(min(s, full)):
        taps = [t for t in reversed(range(k)) if (t * d) % s == r]
        if taps:
            phases.append((r, tuple(taps), tuple((t * d - r) // s for t in taps), -(-(full - r) // s)))
    return phases


def _phase_convs(g):
    """The transposed conv as stride-1 convs of its input, one per set of phase combinations that read the
    same shifts (all of them at once in the sub-pixel case, e.g. k a multiple of s with d = 1): its
    kernel is the shifts (their gap, d/gcd(d, s), the dilation; the largest the pad before), and each
    combination's taps are a block of its output channels. Yields (geometry, combos); a combo is per axis
    (r, taps, deltas, count)."""
    axes = [_axis_phases(kj, sj, dj, f) for kj, sj, dj, f in zip(g.kernel, g.stride, g.dilation, _spans(g, g.input))]
    sets = {}
    for combo in product(*axes):
        sets.setdefault(tuple(deltas for _, _, deltas, _ in combo), []).append(combo)
    for shifts, combos in sets.items():
        sub = Geometry("conv", tuple(len(d) for d in shifts), (1,) * len(shifts),
                       tuple(d[0] - d[1] if len(d) > 1 else 1 for d in shifts), tuple(d[0] for d in shifts),
                       tuple(g.input), tuple(max(c[axis][3] for c in combos) for axis in range(len(shifts))))
        yield sub, combos


def _phase_weights(w, groups, combos):
    """The stride-1 conv's weights (G*M*co, ci, *taps): per group, each of the M combos' taps of w (C_in, co,
    *k) as a block of co output channels (group-major, so every group's channels stay together)."""
    c_in, co = w.shape[:2]
    ci = c_in // groups
    conv_form = np.swapaxes(w.reshape(groups, ci, co, *w.shape[2:]), 1, 2)  # (G, co, ci, *k)
    lead = (slice(None),) * 3
    stacked = np.stack([conv_form[lead + np.ix_(*(taps for _, taps, _, _ in combo))] for combo in combos], axis=1)
    return stacked.reshape(groups * len(combos) * co, ci, *stacked.shape[4:])


def _into_phases(out, g, groups, combos):
    """The sink of a phase conv: combo m's output u (per axis) is the full result's u*s + r, i.e. the
    output's u*s + r - before where that lies in the output (and u below the phase's count). Where the
    combos are every phase in order (the sub-pixel case), the block's interior -- the u whose every phase
    lands in the output -- is interleaved in one copy, and only its frame phase by phase."""
    n_batch, c_out = out.shape[:2]
    co, m_count = c_out // groups, len(combos)
    by_group = out.reshape(n_batch, groups, co, *g.output)
    grid = [tuple(r for r, *_ in combo) for combo in combos] == list(product(*(range(s) for s in g.stride)))

    def sink(items, rows, channels, block):
        first = (channels.start or 0) // (m_count * co)
        count = block.shape[-1] // (m_count * co)
        parts = block.reshape(*block.shape[:-1], count, m_count, co)
        bounds = [(rows.start, rows.stop), *((0, m) for m in block.shape[2:-1])]
        lead = (items, slice(first, first + count), slice(None))
        box = _interior(g, combos, bounds) if grid else None
        if box is None:
            regions = [bounds]
        else:
            _write_interior(by_group, lead, parts, g, bounds, box)
            regions = [[*bounds[:axis], edge, *bounds[axis + 1:]] for axis, ((lo, hi), (start, stop))
                       in enumerate(zip(box, bounds)) for edge in ((start, lo), (hi, stop)) if edge[1] > edge[0]]
        for region in regions:
            _write_phases(by_group, lead, parts, g, combos, bounds, region)
    return sink


def _interior(g, combos, bounds):
    """Per axis the u in ``bounds`` whose every phase r lands in the output and below its count, or None."""
    box = []
    for axis, ((start, stop), s, before, size) in enumerate(zip(bounds, g.stride, g.before, g.output)):
        total = min(combo[axis][3] for combo in combos)
        lo, hi = max(start, -(-before // s)), min(stop, total, (size - s + before) // s + 1)
        if hi <= lo:
            return None
        box.append((lo, hi))
    return box


def _write_interior(by_group, lead, parts, g, bounds, box):
    """The interior box in one copy: output j = u*s + r - before for every phase r, i.e. the output's run
    from lo*s - before, read as (u, r) pairs."""
    rank = len(box)
    targets = tuple(slice(lo * s - before, hi * s - before) for (lo, hi), s, before in zip(box, g.stride, g.before))
    target = by_group[lead + targets]
    target = target.reshape(*target.shape[:3], *(m for (lo, hi), s in zip(box, g.stride) for m in (hi - lo, s)))
    source = parts[(slice(None), *(slice(lo - start, hi - start) for (lo, hi), (start, _) in zip(box, bounds)))]
    source = source.reshape(*source.shape[:rank + 2], *g.stride, source.shape[-1])  # (n, *u, G, *r, co)
    order = [0, rank + 1, 2 * rank + 2] + [i for axis in range(rank) for i in (1 + axis, rank + 2 + axis)]
    np.copyto(target, source.transpose(order))


def _write_phases(by_group, lead, parts, g, combos, bounds, region):
    """Each combo's u in ``region`` written into its strided slice of the output."""
    for m, combo in enumerate(combos):
        sources, targets = [], []
        for (r, _, _, total), s, before, size, (start, _), (lo, hi) in zip(combo, g.stride, g.before, g.output,
                                                                             bounds, region):
            lo = max(lo, -((r - before) // s))
            hi = min(hi, total, (size - 1 - r + before) // s + 1)
            if hi <= lo:
                break
            j = lo * s + r - before
            sources.append(slice(lo - start, hi - start))
            targets.append(slice(j, j + (hi - lo - 1) * s + 1, s))
        else:
            source = parts[(slice(None), *sources, slice(None), m, slice(None))]
            by_group[lead + tuple(targets)] = np.moveaxis(source, (-2, -1), (1, 2))


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
