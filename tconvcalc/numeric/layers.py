"""The executor's other layers: max/avg pooling (max with indices), max-unpool, nearest/bilinear
upsampling, pixel shuffle and pad, in 1-D/2-D/3-D, data N, C, spatial... (torch's layout).

As for conv, the geometry is forward()'s: :func:`plan` asks the framework module for each axis's
resolved (before, after) pads and output size and never re-derives a framework's shape rule. What a
shape does not say -- how each framework fills a window or picks a source pixel -- is in the tables
below, each with where it comes from:

* ``AVG_DIVISOR``: what an average divides by. torch ``count_include_pad=True`` (its default): the taps
  inside the padded input ``[-before, n + after)`` (a ceil_mode window running past the pad is cut);
  tf/keras ``avg_pool`` and onnx ``AveragePool`` (``count_include_pad=0``): the taps inside the input;
  jax: ``lax.reduce_window(add) / prod(k)`` as tconvcalc's jax code() writes it (the whole window).
* ``NEAREST``: torch ``interpolate(mode="nearest")`` reads ``min(floor(float32(j) * float32(1/scale)),
  n-1)`` (UpSample.h nearest_idx; 2-D only: ``j`` when the size is kept, ``j >> 1`` when doubled); keras
  UpSampling repeats each step (the same for its integer factors); onnx Resize (mode nearest, its
  defaults ``half_pixel`` + ``round_prefer_floor``) reads ``round((j + 0.5) / scale - 0.5)`` in float32,
  halves rounded down, clamped to the input.
* bilinear (torch ``align_corners=False``, keras UpSampling2D(interpolation="bilinear"), onnx Resize
  linear half_pixel): source ``(j + 0.5) / scale - 0.5`` clamped at 0, the two neighbours ``floor`` and
  ``floor + 1`` (the last index at the end) weighted linearly -- separable, so one pass per axis.
* ``PIXEL_ORDER``: torch PixelShuffle reads channel ``c*r*r + i*r + j`` (CRD); tf depth_to_space and
  onnx DepthToSpace (default mode DCR) read ``(i*r + j)*C + c``.
* ``PAD_FILL``: a pad's mode as numpy's ``np.pad`` names it (zeros -> constant 0, replicate -> edge,
  circular -> wrap). Negative pads crop first, then the rest is filled from what is left, as torch's
  constant_pad_nd narrows before it pads. Pads beyond the input repeat the pattern (numpy's, jnp.pad's);
  forward() says where a framework refuses them.

Vectorised: pools loop over kernel taps (a strided view each); unpool is one fancy-index scatter;
upsampling one ``take`` per axis; pixel shuffle one reshape/transpose; pad one slice and one ``np.pad``.
"""

from dataclasses import dataclass, replace
from itertools import product

import numpy as np

from ..arithmetic import conv_out
from ..errors import InputError
from .executor import _spans, check_size, refuse_input_dilation, window

AVG_DIVISOR = {"torch": "padded", "tf": "input", "keras": "input", "onnx": "input", "jax": "window"}
NEAREST = {"torch": "floor", "keras": "floor", "onnx": "half_pixel"}
PIXEL_ORDER = {"torch": "CRD", "tf": "DCR", "onnx": "DCR"}
MODES = ("nearest", "bilinear")
PAD_FILL = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
            "symmetric": "symmetric"}


@dataclass(frozen=True)
class Plan:
    """A pool / unpool / upsample / pixel shuffle / pad as the framework resolves it, per axis."""

    kind: str
    framework: str
    input: tuple
    output: tuple
    kernel: tuple = ()
    stride: tuple = ()
    dilation: tuple = ()
    pads: tuple = ()  # (before, after) per axis, as forward() applied them
    scale: tuple = ()
    layer: object = None
    padding_mode: str = "zeros"  # a pad layer's fill (PAD_FILL)

    @property
    def before(self):
        return tuple(b for b, _ in self.pads)


def plan(layer, size):
    """The framework-resolved plan of a non-conv ``layer`` on ``size`` (ints), from forward()."""
    from ..forward import forward

    if layer.kind in ("conv", "convT"):
        raise InputError("conv and convT run through tconvcalc.numeric.executor.geometry")
    refuse_input_dilation(layer)
    result = forward(layer, tuple(size))
    ints = lambda values: tuple(int(v) for v in values)  # noqa: E731
    pads = tuple((int(ax.pads[0]), int(ax.pads[1])) if ax.pads is not None else (0, 0) for ax in result.axes)
    return Plan(layer.kind, layer.framework, ints(size), ints(result.output),
                ints(layer.kernel or ()), ints(layer.stride or ()), ints(layer.dilation or ()) or (1,) * layer.rank,
                pads, tuple(float(f) for f in (layer.scale or ())), layer, layer.padding_mode)


# ---- pooling -----------------------------------------------------------------------------------


def _windows(x, p, fill):
    """Each tap: (tap index, the strided view of x padded by ``fill``) -- (N, C, *output) per tap."""
    spans = _spans(p, p.output)
    check_size((*x.shape[:2], *spans), "padded input")
    padded = window(x, 2, [-b for b in p.before], spans, fill=fill)
    for tap in product(*(range(kj) for kj in p.kernel)):
        yield tap, padded[(slice(None), slice(None)) + tuple(
            slice(t * dj, t * dj + (m - 1) * sj + 1 if m > 0 else t * dj, sj)
            for t, dj, sj, m in zip(tap, p.dilation, p.stride, p.output))]


def _sources(p, axis, t):
    """The input position tap ``t`` reads on ``axis`` for each output (may lie outside the input)."""
    return np.arange(p.output[axis]) * p.stride[axis] + t * p.dilation[axis] - p.before[axis]


def maxpool(x, p):
    """(values, indices): the max of each window (pads never win) and where it is, as a flat index into
    each (N, C) plane of the input -- torch's return_indices; the first maximum in tap order wins."""
    check_size((*x.shape[:2], *p.output), "output")
    best = np.full((*x.shape[:2], *p.output), -np.inf, dtype=x.dtype)
    index = np.full(best.shape, -1, dtype=np.int64)
    for tap, view in _windows(x, p, -np.inf):
        coords = np.ix_(*(_sources(p, axis, t) for axis, t in enumerate(tap)))
        # positions outside the input hold -inf and are never taken (clip only keeps the index valid)
        flat = np.ravel_multi_index(coords, p.input, mode="clip") if all(p.input) else -1
        better = view > best
        best = np.where(better, view, best)
        index = np.where(better, flat, index)
    return best, index


def avg_divisor(p, rule):
    """What each window's sum is divided by, (*output) -- see AVG_DIVISOR."""
    if rule == "window":
        return float(np.prod(p.kernel))
    counts = []
    for axis, (n, kj, (b, a)) in enumerate(zip(p.input, p.kernel, p.pads)):
        low, high = (0, n) if rule == "input" else (-b, n + a)
        taps = np.stack([_sources(p, axis, t) for t in range(kj)])
        counts.append(((taps >= low) & (taps < high)).sum(axis=0))
    divisor = counts[0]
    for c in counts[1:]:
        divisor = np.multiply.outer(divisor, c)
    return divisor


def avgpool(x, p, rule=None):
    check_size((*x.shape[:2], *p.output), "output")
    total = np.zeros((*x.shape[:2], *p.output), dtype=x.dtype)
    for _, view in _windows(x, p, 0.0):
        total += view
    divisor = avg_divisor(p, rule or AVG_DIVISOR[p.framework])
    with np.errstate(invalid="ignore", divide="ignore"):  # nothing to average over: nan (torch's 0/0)
        return np.where(divisor == 0, np.nan, total / divisor)


# ---- max-unpool ----------------------------------------------------------------------------------


def pool_source(p):
    """The input a maxpool of the unpool's k/s/pads pools to the unpool's input: the unpool's output
    when it does (the use MaxUnpool's output_size is for), else the default (n-1)*s + k - b - a."""
    pooled = lambda sizes: tuple(conv_out(o, kj, sj, 1, b, a)  # noqa: E731
                                 for o, kj, sj, (b, a) in zip(sizes, p.kernel, p.stride, p.pads))
    if pooled(p.output) == p.input:
        return p.output
    return tuple((n - 1) * sj + kj - b - a for n, kj, sj, (b, a) in zip(p.input, p.kernel, p.stride, p.pads))


def pool_for_unpool(x, p):
    """The executor's maxpool with the unpool's kernel, stride and pads: (values, indices) on x."""
    source = replace(p, kind="maxpool", input=tuple(x.shape[2:]), output=p.input, dilation=(1,) * len(p.input))
    return maxpool(x, source)


def unpool(values, indices, p):
    """Max-unpool: zeros of the output size with each value put at its flat index in its (N, C) plane."""
    n_batch, channels = values.shape[:2]
    plane = int(np.prod(p.output, dtype=np.int64))
    check_size((n_batch, channels, plane), "output")
    if plane == 0:  # an empty output (torch returns it without reading the indices)
        return np.zeros((n_batch, channels, *p.output), dtype=values.dtype)
    if indices.size and (indices.min() < 0 or indices.max() >= plane):
        bad = int(indices.max() if indices.max() >= plane else indices.min())
        raise InputError(f"Found an invalid max index: {bad} (output volumes are of size "
                         f"{'x'.join(map(str, p.output))}): the indices come from a larger input than the output")
    out = np.zeros((n_batch * channels, plane), dtype=values.dtype)
    rows = np.arange(n_batch * channels)[:, None]
    out[rows, indices.reshape(n_batch * channels, -1)] = values.reshape(n_batch * channels, -1)
    return out.reshape(n_batch, channels, *p.output)


# ---- upsampling --------------------------------------------------------------------------------


def nearest_sources(n, o, scale, rule, rank=2):
    """The input position each of the ``o`` outputs reads (see NEAREST)."""
    j = np.arange(o)
    if rule == "floor":
        # torch 2.13 on the CPU, measured: only the 2-D kernel takes nearest_idx's shortcuts (j where the
        # size is kept, j >> 1 where it doubles); 1-D/3-D always compute floor(j * (1/scale)):
        # scale 2.25 on 2 gives 0,0,1,1 in 2-D and 0,0,0,1 in 1-D and 3-D.
        if rank == 2 and o == n:
            return j
        if rank == 2 and o == 2 * n:
            return j >> 1
        ratio = np.float32(1.0 / scale)
        return np.minimum(np.floor(j.astype(np.float32) * ratio).astype(np.int64), n - 1)
    # half_pixel + round_prefer_floor, in float32
    f = np.float32(scale)
    source = (j.astype(np.float32) + np.float32(0.5)) / f - np.float32(0.5)
    away = np.sign(source) * np.floor(np.abs(source) + np.float32(0.5))  # std::round: halves away from 0
    rounded = np.where(source == np.trunc(source) + np.float32(0.5), np.floor(source), away)
    return np.clip(rounded.astype(np.int64), 0, n - 1)


def linear_sources(n, o, scale):
    """(lower, upper, weight of upper): half-pixel source positions clamped at 0 (align_corners=False)."""
    source = np.maximum((np.arange(o) + 0.5) * (1.0 / scale) - 0.5, 0.0)
    lower = np.minimum(np.floor(source).astype(np.int64), n - 1)
    upper = np.where(lower < n - 1, lower + 1, lower)
    weight = np.clip(source - lower, 0.0, 1.0)
    return lower, upper, weight


def upsample(x, p, mode="nearest"):
    if mode not in MODES:
        raise InputError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    check_size((*x.shape[:2], *p.output), "output")
    out = x
    scales = p.scale or tuple(o / n for n, o in zip(p.input, p.output))  # to a size: torch's scale is out/in
    for axis, (n, o, f) in enumerate(zip(p.input, p.output, scales)):
        if mode == "nearest":
            rule = NEAREST.get(p.framework, "floor")
            out = np.take(out, nearest_sources(n, o, f, rule, len(p.input)), axis=2 + axis)
        else:
            lower, upper, weight = linear_sources(n, o, f)
            shape = [1] * out.ndim
            shape[2 + axis] = o
            weight = weight.reshape(shape)
            out = np.take(out, lower, axis=2 + axis) * (1 - weight) + np.take(out, upper, axis=2 + axis) * weight
    return out


# ---- pixel shuffle -----------------------------------------------------------------------------


def pixel_shuffle(x, p):
    """(N, C*r*r, H, W) -> (N, C, H*r, W*r), the channel order of the framework (PIXEL_ORDER)."""
    n_batch, channels, h, w = x.shape
    r = int(p.scale[0])
    if channels % (r * r):
        raise InputError(f"pixel shuffle needs the channels to divide by {r * r} (upscale factor {r} squared), "
                         f"got {channels}")
    c = channels // (r * r)
    if PIXEL_ORDER.get(p.framework, "CRD") == "CRD":
        blocks = x.reshape(n_batch, c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        blocks = x.reshape(n_batch, r, r, c, h, w).transpose(0, 3, 4, 1, 5, 2)
    return blocks.reshape(n_batch, c, h * r, w * r)


# ---- pad ---------------------------------------------------------------------------------------


def pad(x, p):
    """Zeros: positions -before .. n + after of the input with zeros around it, so a crop past the input eats
    into the other side's zeros (lax.pad and ORT: 1 with -2:2 gives one zero). Other modes: each axis cropped by
    its negative pads, then filled by its positive ones from what is left (ORT; torch and jax refuse it)."""
    check_size((*x.shape[:2], *p.output), "output")
    if p.padding_mode == "zeros":
        return window(x, 2, [-b for b, _ in p.pads], p.output)
    kept = tuple(slice(-min(b, 0), n + min(a, 0)) for n, (b, a) in zip(p.input, p.pads))
    cropped = x[(slice(None), slice(None)) + kept]
    widths = [(0, 0), (0, 0), *((max(b, 0), max(a, 0)) for b, a in p.pads)]
    fill = PAD_FILL[p.padding_mode]
    if fill != "constant" and any(n == 0 and w != (0, 0) for n, w in zip(cropped.shape[2:], widths[2:])):
        raise InputError(f"padding mode {p.padding_mode} fills the pads from the input, and an axis is empty")
    return np.pad(cropped, widths, mode=fill)


def adaptive_pool(x, p):
    """torch's adaptive pooling: output i of an axis of n reduces input [floor(i·n/out), ceil((i+1)·n/out)).
    A box's mean (max) is the mean (max) along each axis in turn, so one pass per axis."""
    reduce = np.mean if p.kind == "adaptiveavgpool" else np.max
    out = x
    for axis, (n, o) in enumerate(zip(p.input, p.output), 2):
        bounds = [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]
        parts = [reduce(np.take(out, range(start, end), axis=axis), axis=axis, keepdims=True) for start, end in bounds]
        shape = list(out.shape)
        shape[axis] = 0
        out = np.concatenate(parts, axis=axis) if parts else np.zeros(shape, out.dtype)
    return out


def run(x, p, mode="nearest"):
    """The layer of plan ``p`` on x. unpool: x is the input of the maxpool whose (values, indices) it undoes."""
    if p.kind in ("adaptiveavgpool", "adaptivemaxpool"):
        return adaptive_pool(x, p)
    if p.kind == "maxpool":
        return maxpool(x, p)[0]
    if p.kind == "avgpool":
        return avgpool(x, p)
    if p.kind == "unpool":
        return unpool(*pool_for_unpool(x, p), p)
    if p.kind == "upsample":
        return upsample(x, p, mode)
    if p.kind == "pixelshuffle":
        return pixel_shuffle(x, p)
    if p.kind == "pad":
        return pad(x, p)
    raise InputError(f"the executor has no {p.kind} layer")
