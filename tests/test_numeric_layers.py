"""The executor's pools, max-unpool, upsampling, pixel shuffle and pad without any framework: hand-derived
values from the frameworks' documented behaviour, a naive loop reference, and the shape against forward()."""

import itertools
import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tconvcalc import build_layer
from tconvcalc.errors import InputError, TconvError
from tconvcalc.layer import PAD_MODES
from tconvcalc.numeric import layers
from tconvcalc.numeric.layers import Plan, maxpool, pixel_shuffle, plan, unpool, upsample
from tconvcalc.numeric.verify import verify


def _1d(values):
    return np.asarray(values, dtype=np.float64).reshape(1, 1, -1)


def _run(kind, framework, values, size=None, mode="nearest", **options):
    x = np.asarray(values, dtype=np.float64)
    x = x.reshape(1, 1, *x.shape) if x.ndim < 3 else x
    p = plan(build_layer(kind, framework, x.ndim - 2, **options), size or x.shape[2:])
    return layers.run(x, p, mode)


# ---- known values (the frameworks' documented semantics, worked by hand) ----------------------


@pytest.mark.parametrize("framework, padding, expected", [
    ("torch", 1, [1, 2, 3, 7 / 3]),  # count_include_pad=True: the pads count in the divisor
    ("onnx", "1:1", [1.5, 2, 3, 3.5]),  # count_include_pad=0 (the default)
    ("tf", "same", [1.5, 2, 3, 3.5]),  # tf.nn.avg_pool: only the input counts
    ("keras", "same", [1.5, 2, 3, 3.5]),
    ("jax", "1:1", [1, 2, 3, 7 / 3]),  # reduce_window(add) / prod(k), as tconvcalc's jax code() writes it
])
def test_average_divisors(framework, padding, expected):
    out = _run("avgpool", framework, [1, 2, 3, 4], kernel=3, stride=1, padding=padding)
    assert np.allclose(out.ravel(), expected)


def test_torch_ceil_mode_average_cuts_the_last_window_at_the_input():
    # avg_pool1d([1..5], 2, 2, ceil_mode=True): the last window holds only 5 (hend = min(6, 5 + 0))
    assert np.allclose(_run("avgpool", "torch", [1, 2, 3, 4, 5], kernel=2, stride=2, ceil_mode=True).ravel(),
                       [1.5, 3.5, 5])


def test_maxpool_values_and_indices_like_torch_return_indices():
    p = plan(build_layer("maxpool", "torch", 1, kernel=2, stride=2), (5,))
    values, indices = maxpool(_1d([1, 3, 2, 5, 4]), p)
    assert values.ravel().tolist() == [3, 5] and indices.ravel().tolist() == [1, 3]


def test_maxpool_pads_never_win_and_dilation_skips():
    # torch max_pool1d(k=3, s=1, p=1, dilation=1) on negatives: the -inf pads are never the max
    out = _run("maxpool", "torch", [-1, -2, -3], kernel=3, stride=1, padding=1)
    assert out.ravel().tolist() == [-1, -1, -2]
    out = _run("maxpool", "torch", [5, 0, 1, 9, 2], kernel=2, stride=1, dilation=3)  # pairs (0,3), (1,4)
    assert out.ravel().tolist() == [9, 2]


def test_unpool_of_torchs_doc_example():
    # MaxUnpool1d(2, stride=2) after MaxPool1d(2, stride=2, return_indices=True) on 1..8
    assert _run("unpool", "torch", np.arange(1, 9), size=(4,), kernel=2, stride=2).ravel().tolist() == \
        [0, 2, 0, 4, 0, 6, 0, 8]
    # output_size=9 (an odd input pooled): the same positions, one more zero
    assert _run("unpool", "torch", np.arange(1, 10), size=(4,), kernel=2, stride=2, output_size=9).ravel().tolist() \
        == [0, 2, 0, 4, 0, 6, 0, 8, 0]


def test_unpool_refuses_indices_beyond_the_output():
    p = Plan("unpool", "torch", (2,), (3,), (2,), (2,), (1,), ((0, 0),))
    with pytest.raises(InputError, match="invalid max index: 3"):
        unpool(_1d([1, 2]), np.array([[[0, 3]]]), p)


@pytest.mark.parametrize("rank, expected", [(1, [0, 0, 0, 1]), (2, [0, 0, 1, 1]), (3, [0, 0, 0, 1])])
def test_torch_nearest_scale_2_25_on_2(rank, expected):
    # measured on torch 2.13: the 2-D kernel halves when the size doubles, 1-D/3-D use floor(j / 2.25)
    x = np.arange(2.0).reshape(1, 1, *(1,) * (rank - 1), 2)
    out = _run("upsample", "torch", x, scale="x".join(["1"] * (rank - 1) + ["2.25"]))
    assert out.ravel().tolist() == expected


def test_onnx_nearest_is_half_pixel_round_prefer_floor():
    # Resize(scales=0.6) on 0..4: out 3; (j + 0.5)/0.6 - 0.5 = 0.33, 2, 3.67 -> 0, 2, 4 (torch: 0, 1, 3)
    assert _run("upsample", "onnx", np.arange(5.0), scale=0.6).ravel().tolist() == [0, 2, 4]
    assert _run("upsample", "torch", np.arange(5.0), scale=0.6).ravel().tolist() == [0, 1, 3]
    # a half rounds down: scale 2 on 0..2 reads (j + 0.5)/2 - 0.5 = -0.25, 0.25, 0.75, 1.25, ...
    assert _run("upsample", "onnx", np.arange(3.0), scale=2).ravel().tolist() == [0, 0, 1, 1, 2, 2]


def test_bilinear_align_corners_false():
    # torch interpolate([0, 10], scale 2, linear, align_corners=False) = [0, 2.5, 7.5, 10]
    assert np.allclose(_run("upsample", "torch", [0.0, 10.0], mode="bilinear", scale=2).ravel(), [0, 2.5, 7.5, 10])
    out = _run("upsample", "torch", np.array([[0.0, 10.0], [20.0, 30.0]]), mode="bilinear", scale=2)[0, 0]
    assert np.allclose(out[0], [0, 2.5, 7.5, 10]) and np.allclose(out[:, 0], [0, 5, 15, 20])


def test_pixel_shuffle_channel_orders():
    x = np.arange(8.0).reshape(1, 8, 1, 1)  # channel k holds k
    torch = pixel_shuffle(x, plan(build_layer("pixelshuffle", "torch", 2, scale=2), (1, 1)))
    assert torch[0].tolist() == [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]  # CRD: c*r*r + i*r + j
    for framework in ("tf", "onnx"):  # DCR: (i*r + j)*C + c
        dcr = pixel_shuffle(x, plan(build_layer("pixelshuffle", framework, 2, scale=2), (1, 1)))
        assert dcr[0].tolist() == [[[0, 2], [4, 6]], [[1, 3], [5, 7]]]
    with pytest.raises(InputError, match="divide by 4"):
        pixel_shuffle(np.zeros((1, 6, 2, 2)), plan(build_layer("pixelshuffle", "torch", 2, scale=2), (2, 2)))


@pytest.mark.parametrize("mode, expected", [
    ("zeros", [0, 0, 1, 2, 3, 4, 0]),
    ("reflect", [3, 2, 1, 2, 3, 4, 3]),  # the edge is not repeated
    ("replicate", [1, 1, 1, 2, 3, 4, 4]),
    ("circular", [3, 4, 1, 2, 3, 4, 1]),
])
def test_pad_modes_on_one_axis(mode, expected):
    assert _run("pad", "torch", [1, 2, 3, 4], padding="2:1", padding_mode=mode).ravel().tolist() == expected


def test_pad_symmetric_repeats_the_edge_and_crops_come_first():
    symmetric = Plan("pad", "jax", (4,), (7,), pads=((2, 1),), padding_mode="symmetric")
    assert layers.run(_1d([1, 2, 3, 4]), symmetric).ravel().tolist() == [2, 1, 1, 2, 3, 4, 4]
    assert _run("pad", "torch", [1, 2, 3, 4], padding="-1:2").ravel().tolist() == [2, 3, 4, 0, 0]
    # reflect after a crop of 1: [2, 3, 4] reflected, never the cropped 1
    cropped = Plan("pad", "onnx", (4,), (5,), pads=((-1, 2),), padding_mode="reflect")
    assert layers.run(_1d([1, 2, 3, 4]), cropped).ravel().tolist() == [2, 3, 4, 3, 2]


def test_pad_refuses_to_fill_from_an_empty_axis():
    p = Plan("pad", "jax", (2,), (1,), pads=((-2, 1),), padding_mode="replicate")
    with pytest.raises(InputError, match="replicate fills the pads from the input, and an axis is empty"):
        layers.run(_1d([1, 2]), p)
    zeros = replace(p, padding_mode="zeros")
    assert layers.run(_1d([1, 2]), zeros).ravel().tolist() == [0]


# ---- a naive reference: one output element at a time ---------------------------------------------


def naive_pool(x, p, op, rule):
    out = np.zeros((*x.shape[:2], *p.output))
    index = np.zeros(out.shape, dtype=np.int64)
    for b, c, pos in itertools.product(range(x.shape[0]), range(x.shape[1]),
                                       itertools.product(*(range(o) for o in p.output))):
        taken = []
        for tap in itertools.product(*(range(k) for k in p.kernel)):
            src = [q * s + t * d - bf for q, s, t, d, bf in zip(pos, p.stride, tap, p.dilation, p.before)]
            if all(0 <= i < n for i, n in zip(src, p.input)):
                taken.append((x[(b, c, *src)], int(np.ravel_multi_index(src, p.input))))
        if op == "max":
            best = max(taken, key=lambda v: v[0], default=(-np.inf, -1))
            best = next(t for t in taken if t[0] == best[0]) if taken else best  # the first maximum
            out[(b, c, *pos)], index[(b, c, *pos)] = best
        else:
            if rule == "window":
                divisor = np.prod(p.kernel)
            else:
                divisor = 1
                for q, s, k, d, (bf, af), n in zip(pos, p.stride, p.kernel, p.dilation, p.pads, p.input):
                    low, high = (0, n) if rule == "input" else (-bf, n + af)
                    divisor *= sum(low <= q * s + t * d - bf < high for t in range(k))
            out[(b, c, *pos)] = sum(v for v, _ in taken) / divisor if divisor else np.nan
    return out, index


plans = st.integers(1, 3).flatmap(lambda r: st.tuples(
    st.lists(st.integers(1, 6), min_size=r, max_size=r),  # input
    st.lists(st.integers(1, 3), min_size=r, max_size=r),  # kernel
    st.lists(st.integers(1, 3), min_size=r, max_size=r),  # stride
    st.lists(st.integers(1, 2), min_size=r, max_size=r),  # dilation
    st.lists(st.tuples(st.integers(-1, 2), st.integers(-1, 2)), min_size=r, max_size=r),  # pads
    st.lists(st.integers(0, 1), min_size=r, max_size=r),  # one more output (a ceil_mode window)
))


@settings(max_examples=80, deadline=None)
@given(plans, st.sampled_from(["padded", "input", "window"]), st.integers(0, 2**32 - 1))
def test_pools_equal_the_naive_reference(spec, rule, seed):
    size, k, s, d, pads, extra = spec
    output = tuple(max((n + b + a - (kj - 1) * dj - 1) // sj + 1 + e, 0)
                   for n, kj, sj, dj, (b, a), e in zip(size, k, s, d, pads, extra))
    p = Plan("maxpool", "torch", tuple(size), output, tuple(k), tuple(s), tuple(d), tuple(pads))
    x = np.random.default_rng(seed).standard_normal((2, 2, *size))
    values, indices = maxpool(x, p)
    expected, expected_index = naive_pool(x, p, "max", rule)
    assert np.array_equal(values, expected)
    assert np.array_equal(np.where(np.isfinite(values), indices, -1), np.where(np.isfinite(expected), expected_index, -1))
    assert np.allclose(layers.avgpool(x, p, rule), naive_pool(x, p, "avg", rule)[0], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.sampled_from([0.5, 0.6, 1, 1.5, 2, 2.25, 3]), st.integers(0, 2**32 - 1))
def test_bilinear_is_the_naive_two_neighbour_blend(n, scale, seed):
    x = np.random.default_rng(seed).standard_normal((1, 1, n))
    p = plan(build_layer("upsample", "torch", 1, scale=scale), (n,))
    out = upsample(x, p, "bilinear").ravel()
    for j, value in enumerate(out):
        source = max((j + 0.5) / scale - 0.5, 0.0)
        low = min(int(source), n - 1)
        high = min(low + 1, n - 1)
        weight = source - low if low < n - 1 else 0.0
        assert value == pytest.approx(x[0, 0, low] * (1 - weight) + x[0, 0, high] * weight, abs=1e-12)


def naive_source(i, m, mode):
    """The position of the cropped axis (length m) that position i (may lie outside it) holds, or None
    for a zero: the pattern repeats with the mode's period however far the pad reaches."""
    if 0 <= i < m:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if i < 0 else m - 1
    if mode == "circular":
        return i % m
    if mode == "reflect":  # ... 2 1 | 0 1 2 | 1 0 ...: period 2(m - 1)
        if m == 1:
            return 0
        t = i % (2 * (m - 1))
        return t if t < m else 2 * (m - 1) - t
    t = i % (2 * m)  # symmetric: ... 1 0 | 0 1 2 | 2 1 ...: period 2m
    return t if t < m else 2 * m - 1 - t


def naive_pad(x, size, pads, mode):
    crops = [max(-b, 0) for b, _ in pads]
    kept = [n + min(b, 0) + min(a, 0) for n, (b, a) in zip(size, pads)]
    output = [m + max(b, 0) + max(a, 0) for m, (b, a) in zip(kept, pads)]
    out = np.zeros((*x.shape[:2], *output))
    for pos in itertools.product(*(range(o) for o in output)):
        sources = [naive_source(j - max(b, 0), m, mode) for j, m, (b, _) in zip(pos, kept, pads)]
        if None not in sources:
            out[(slice(None), slice(None), *pos)] = x[(slice(None), slice(None),
                                                       *(c + s for c, s in zip(crops, sources)))]
    return out


@st.composite
def pad_plans(draw):
    """(size, pads, mode): any rank, crops and pads wider than the input; the crops leave the axis
    non-empty where the mode fills from it."""
    rank = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(PAD_MODES))
    size, pads = [], []
    for _ in range(rank):
        n = draw(st.integers(1, 6))
        before, after = draw(st.integers(-n, 9)), draw(st.integers(-n, 9))
        kept = n + min(before, 0) + min(after, 0)
        if kept < 0 or (kept == 0 and mode != "zeros" and max(before, after) > 0):
            before, after = max(before, 0), max(after, 0)
        size.append(n)
        pads.append((before, after))
    return tuple(size), tuple(pads), mode


@settings(max_examples=150, deadline=None)
@given(pad_plans(), st.integers(0, 2**32 - 1))
def test_pad_equals_the_naive_reference(spec, seed):
    size, pads, mode = spec
    output = tuple(n + b + a for n, (b, a) in zip(size, pads))
    p = Plan("pad", "jax", size, output, pads=pads, padding_mode=mode)
    x = np.random.default_rng(seed).standard_normal((2, 2, *size))
    out = layers.run(x, p)
    assert out.shape == (2, 2, *output)
    assert np.array_equal(out, naive_pad(x, size, pads, mode))


# ---- the shape: forward()'s, for every framework, without running any framework ------------------


def test_the_executor_gives_forwards_shape_in_every_framework():
    rng = random.Random(5)
    kinds = ["maxpool", "avgpool", "unpool", "upsample", "pixelshuffle", "pad"]
    checked = 0
    for _ in range(1800):
        framework, kind, rank = rng.choice(["torch", "tf", "keras", "jax", "onnx"]), rng.choice(kinds), rng.randint(1, 3)
        rank = 2 if kind == "pixelshuffle" else rank
        options = {}
        if kind in ("maxpool", "avgpool", "unpool"):
            options = {"kernel": rng.randint(1, 4), "stride": rng.randint(1, 3),
                       "padding": rng.choice(["valid", "same", "0", "1", "1:0", "0:2", "-1:1"])}
            if rng.random() < 0.3:
                options["ceil_mode"] = True
        elif kind == "pad":
            options = {"padding": rng.choice(["0", "2", "1:0", "0:3", "-1:2", "-2:-1"]),
                       "padding_mode": rng.choice(PAD_MODES)}
        else:
            options["scale"] = rng.choice([1, 2, 3, 1.5, 0.5])
        size = tuple(rng.randint(1, 8) for _ in range(rank))
        try:
            layer = build_layer(kind, framework, rank, **options)
            result = verify(layer, size, framework=False)
        except TconvError:
            continue
        checked += 1
        assert result.ok and result.output_shape == result.predicted, (framework, kind, options, size, result)
        assert result.adjoint_rel_error is None and "conv/convT only" in result.notes[0]
    assert checked > 500


# ---- the command -----------------------------------------------------------------------------------


def test_verify_json_of_a_pool(run_json):
    code, data, _ = run_json("verify", "9x9", "-l", "avgpool", "-k", "3", "-s", "2", "-p", "1", "--ceil-mode")
    assert code == 0 and data["ok"] is True and data["output_shape"] == data["predicted"] == [5, 5]
    assert data["adjoint_rel_error"] is None and any("conv/convT only" in n for n in data["notes"])


def test_verify_json_of_a_pad(run_json):
    code, data, _ = run_json("verify", "6x5", "-l", "pad", "-p", "2:1x-1:3", "--channels", "2:2")
    assert code == 0 and data["ok"] is True and data["output_shape"] == data["predicted"] == [9, 7]
    assert data["adjoint_rel_error"] is None and "padding mode zeros" in data["notes"]


def test_verify_mode_only_for_upsample(run):
    code, _, err = run("verify", "8", "-l", "maxpool", "-k", "2", "--mode", "bilinear")
    assert code == 2 and "--mode is for upsample" in err
    code, _, err = run("verify", "8", "-l", "upsample", "--scale", "2", "--mode", "cubic")
    assert code == 2 and "'cubic' is not one of 'nearest', 'bilinear'" in err
