"""The convolution as a matrix (seeds 001/002), the overlap of a transposed conv's taps (seeds 000/003)
and which inputs feed each output -- all computed by the executor itself, never re-derived.

* ``C`` has one row per output and one column per input position (one channel): the executor's conv
  applied to every unit basis input at once (a batch of the identity), so C equals the executor;
* the transposed conv is C's transpose: the executor's conv_transpose on every basis vector gives
  ``T``, and ``T == Cᵀ`` and ``convT(y) == Cᵀ y`` are checked numerically;
* the overlap map is conv_transpose of ones with a kernel of ones: how many taps land on each output.
"""

from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError
from .executor import conv, conv_transpose, geometry

MAX_ENTRIES = 4096
MAX_MAP = 10**6
MAX_INDEX_OUTPUTS = 256


@dataclass(frozen=True)
class MatrixResult:
    framework: str
    layer: str
    input: tuple
    output: tuple
    kernel_values: list | None  # the kernel used for C: 1, 2, ... in row-major tap order
    conv_matrix: list | None  # C: rows = outputs of the conv, columns = its inputs (row-major positions)
    transpose_matrix: list | None  # the transposed conv's own matrix, built by the executor
    transpose_max_abs_diff: float | None  # max |T - Cᵀ| and |convT(y) - Cᵀy| for a random y
    overlap: list  # taps landing on each output of the transposed conv (nested per axis)
    overlap_min: int
    overlap_max: int
    checkerboard: bool  # uneven overlap away from the borders on some axis
    residues: list  # per axis: taps per output phase (i*s + t*d mod s); uneven = checkerboard
    fix: str | None
    index_map: list  # per axis: for each output position, the input positions feeding it


def conv_geometry(g):
    """The conv of the pair (the layer itself, or the conv whose adjoint the convT is)."""
    return g if g.kind == "conv" else g.adjoint


def basis_outputs(g, kernel):
    """The layer's own matrix: row j = the layer's output for the j-th unit input (one channel)."""
    count = int(np.prod(g.input, dtype=np.int64))
    eye = np.eye(count).reshape(count, 1, *g.input)
    out = (conv if g.kind == "conv" else conv_transpose)(eye, kernel[None, None], g)
    return out.reshape(count, int(np.prod(g.output, dtype=np.int64))).T  # (outputs, inputs)


def matrices(g, check_limit=True):
    """(kernel, C, T, max diff): C the conv's matrix, T the transposed conv's, from the executor."""
    cg = conv_geometry(g)
    entries = int(np.prod(cg.input, dtype=object) * np.prod(cg.output, dtype=object))
    if check_limit and entries > MAX_ENTRIES:
        raise InputError(f"the matrix would have {entries} entries ({_text(cg.output)} outputs × "
                         f"{_text(cg.input)} inputs); matrix shows at most {MAX_ENTRIES}: use a smaller size")
    kernel = np.arange(1, int(np.prod(g.kernel)) + 1, dtype=np.float64).reshape(g.kernel)
    c = basis_outputs(cg, kernel)
    t = basis_outputs(cg.adjoint, kernel)
    y = np.random.default_rng(0).standard_normal((1, 1, *cg.output))
    convt_y = conv_transpose(y, kernel[None, None], cg.adjoint).reshape(-1)
    diff = max(float(np.max(np.abs(t - c.T), initial=0.0)),
               float(np.max(np.abs(convt_y - c.T @ y.reshape(-1)), initial=0.0)))
    return kernel, c, t, diff


def overlap(g):
    """How many kernel taps land on each output of the transposed conv of the pair."""
    tg = g if g.kind == "convT" else g.adjoint
    entries = int(np.prod([int(v) for v in tg.output], dtype=object))
    if entries > MAX_MAP:  # before allocating: a map this large is neither computable quickly nor readable
        raise InputError(f"the overlap map would have {entries:,} entries (more than {MAX_MAP:,}); use a smaller size")
    ones = np.ones((1, 1, *tg.input))
    return conv_transpose(ones, np.ones((1, 1, *tg.kernel)), tg)[0, 0], tg


def residues(k, s, d):
    """Taps per phase: away from the borders, output j gets the taps t with t*d ≡ j + before (mod s)."""
    return np.bincount((np.arange(k) * d) % s, minlength=s)


def index_map(g, axis):
    """For each output on ``axis``, the input positions that feed it (the other axes of size 1)."""
    if g.input[axis] > MAX_ENTRIES:
        return []
    one = replace(g, kernel=(g.kernel[axis],), stride=(g.stride[axis],), dilation=(g.dilation[axis],),
                  before=(g.before[axis],), input=(g.input[axis],), output=(min(g.output[axis], MAX_INDEX_OUTPUTS),))
    pattern = basis_outputs(one, np.ones(one.kernel))
    return [np.flatnonzero(row).tolist() for row in pattern]


def fix_text(g):
    s, k = g.stride, g.kernel
    multiple = "x".join(str(-(-kj // sj) * sj) for kj, sj in zip(k, s))
    return (f"use a kernel that is a multiple of the stride (e.g. -k {multiple} with -s {'x'.join(map(str, s))}), "
            "or resize then convolve: nearest/bilinear upsample by the stride followed by a stride-1 conv")


def matrix(layer, size, show_matrix=True):
    g = geometry(layer, size)
    kernel = c = t = diff = None
    if show_matrix:
        kernel, c, t, diff = matrices(g)
    counts, tg = overlap(g)
    phases = [residues(kj, sj, dj) for kj, sj, dj in zip(tg.kernel, tg.stride, tg.dilation)]
    uneven = any(p.min() != p.max() for p in phases) and counts.size > 0 and counts.min() != counts.max()
    return MatrixResult(
        layer.framework, layer.kind, tuple(g.input), tuple(g.output),
        None if kernel is None else kernel.astype(int).tolist(),
        None if c is None else c.astype(int).tolist(), None if t is None else t.astype(int).tolist(), diff,
        counts.astype(int).tolist(), *_extremes(counts), bool(uneven),
        [p.tolist() for p in phases], fix_text(tg) if uneven else None,
        [index_map(g, axis) for axis in range(len(g.input))])


def _extremes(counts):
    """(fewest, most) taps on one output; (0, 0) for an empty map. (min(initial=0) gave 0 always.)"""
    if counts.size == 0:
        return 0, 0
    return int(counts.min()), int(counts.max())


def _text(values):
    return "x".join(map(str, values))
