"""The NumPy executor without any framework: a naive loop reference, the adjoint identity as a property,
the matrix view against the executor, the overlap map, and the verify/matrix commands."""

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tconvcalc import build_layer
from tconvcalc.errors import InputError
from tconvcalc.numeric import backends
from tconvcalc.numeric.executor import Geometry, conv, conv_transpose, geometry, window
from tconvcalc.numeric.matrix import basis_outputs, matrices, matrix
from tconvcalc.numeric.verify import adjoint_error, random_data, verify


# ---- a naive reference: the textbook definitions, one output (or input) element at a time ----------


def naive_conv(x, w, g, groups):
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    co, ci = c_out // groups, c_in // groups
    out = np.zeros((n_batch, c_out, *g.output))
    for b, oc in itertools.product(range(n_batch), range(c_out)):
        group = oc // co
        for pos in itertools.product(*(range(o) for o in g.output)):
            total = 0.0
            for ic, tap in itertools.product(range(ci), itertools.product(*(range(k) for k in g.kernel))):
                src = [p * s + t * d - bf for p, s, t, d, bf in zip(pos, g.stride, tap, g.dilation, g.before)]
                if all(0 <= i < n for i, n in zip(src, g.input)):
                    total += x[(b, group * ci + ic, *src)] * w[(oc, ic, *tap)]
            out[(b, oc, *pos)] = total
    return out


def naive_conv_transpose(y, w, g, groups):
    n_batch, c_in = y.shape[:2]
    co, ci = w.shape[1], c_in // groups
    out = np.zeros((n_batch, co * groups, *g.output))
    for b, ic in itertools.product(range(n_batch), range(c_in)):
        group = ic // ci
        for pos in itertools.product(*(range(n) for n in g.input)):
            for oc, tap in itertools.product(range(co), itertools.product(*(range(k) for k in g.kernel))):
                dst = [p * s + t * d - bf for p, s, t, d, bf in zip(pos, g.stride, tap, g.dilation, g.before)]
                if all(0 <= j < o for j, o in zip(dst, g.output)):
                    out[(b, group * co + oc, *dst)] += y[(b, ic, *pos)] * w[(ic, oc, *tap)]
    return out


def _flip_free(g):
    return g if not g.flip else Geometry(**{**g.__dict__, "flip": False})


geometries = st.integers(1, 3).flatmap(lambda r: st.tuples(
    st.just(r),
    st.sampled_from(["conv", "convT"]),
    st.lists(st.integers(1, 4), min_size=r, max_size=r),  # kernel
    st.lists(st.integers(1, 3), min_size=r, max_size=r),  # stride
    st.lists(st.integers(1, 3), min_size=r, max_size=r),  # dilation
    st.lists(st.integers(-3, 4), min_size=r, max_size=r),  # before (negative: a crop)
    st.lists(st.integers(1, 5), min_size=r, max_size=r),  # input
    st.lists(st.integers(0, 7), min_size=r, max_size=r),  # output (0: empty)
    st.sampled_from([1, 2]),  # groups
    st.booleans(),  # flip
))


def _make(spec):
    r, kind, k, s, d, before, n, o, groups, flip = spec
    return Geometry(kind, tuple(k), tuple(s), tuple(d), tuple(before), tuple(n), tuple(o), flip), groups


def _data(rng, g, groups):
    c_in, c_out = 2 * groups, 3 * groups
    x = rng.standard_normal((2, c_in, *g.input))
    w_shape = (c_out, c_in // groups, *g.kernel) if g.kind == "conv" else (c_in, c_out // groups, *g.kernel)
    return x, rng.standard_normal(w_shape)


@settings(max_examples=150, deadline=None)
@given(geometries, st.integers(0, 2**32 - 1))
def test_executor_equals_the_naive_definitions(spec, seed):
    g, groups = _make(spec)
    g = _flip_free(g)
    if np.prod(g.output) * np.prod(g.kernel) * np.prod(g.input) > 20000:
        return
    rng = np.random.default_rng(seed)
    x, w = _data(rng, g, groups)
    naive = naive_conv if g.kind == "conv" else naive_conv_transpose
    assert np.allclose(conv(x, w, g, groups) if g.kind == "conv" else conv_transpose(x, w, g, groups),
                       naive(x, w, g, groups), atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(geometries, st.integers(0, 2**32 - 1))
def test_adjoint_identity(spec, seed):
    g, groups = _make(spec)
    rng = np.random.default_rng(seed)
    x, w = _data(rng, g, groups)
    out = (conv if g.kind == "conv" else conv_transpose)(x, w, g, groups)
    assert out.shape[2:] == g.output
    assert adjoint_error(g, x, w, out, rng, groups) <= 1e-12


@pytest.mark.parametrize("kernel, stride, dilation, before, size, output, subpixel", [
    ((4, 4), (2, 2), (1, 1), (1, 1), (5, 4), (10, 8), True),  # k a multiple of s: 4 phases of 2x2 taps
    ((16,), (8,), (1,), (4,), (9,), (72,), True),  # the audio case: 8 phases of 2 taps
    ((6, 3, 4), (3, 3, 2), (1, 1, 1), (2, 0, 1), (3, 2, 3), (9, 7, 7), True),
    ((3, 4), (2, 2), (1, 1), (1, 0), (5, 4), (10, 11), False),  # k=3, s=2: phases of 2 and 1 taps
    ((4,), (2,), (3,), (0,), (6,), (19,), False),  # dilation 3: the phases read different shifts
    ((2,), (3,), (1,), (0,), (4,), (12,), True),  # k < s: a phase with no tap (zeros), the others stacked
    ((3,), (1,), (2,), (2,), (7,), (7,), True),  # stride 1: one phase
    ((4,), (2,), (1,), (-2,), (3,), (12,), True),  # a negative crop and output_padding-like extension
])
@pytest.mark.parametrize("block_bytes", [None, 512])  # 512: many blocks of lines
@pytest.mark.parametrize("groups", [1, 2])
def test_transposed_conv_phases_equal_the_naive_definition(kernel, stride, dilation, before, size, output,
                                                           subpixel, block_bytes, groups, monkeypatch):
    from tconvcalc.numeric import executor

    if block_bytes:
        monkeypatch.setattr(executor, "BLOCK_BYTES", block_bytes)
    g = Geometry("convT", kernel, stride, dilation, before, size, output)
    assert (len(list(executor._phase_convs(g))) == 1) == subpixel  # sub-pixel: one conv for every phase
    rng = np.random.default_rng(7)
    y, w = rng.standard_normal((2, 3 * groups, *size)), rng.standard_normal((3 * groups, 2, *kernel))
    assert np.allclose(conv_transpose(y, w, g, groups), naive_conv_transpose(y, w, g, groups), atol=1e-12)


@pytest.mark.parametrize("block_bytes", [None, 512])  # 512: many blocks of lines, buffer reused
@pytest.mark.parametrize("kernel, stride, dilation, before, size, c_in, c_out, cells", [
    ((16,), (8,), (1,), (4,), (80,), 4, 2, True),  # the audio case: cells of 8 positions, 2 shifts, no copy
    ((3,), (1,), (1,), (1,), (20,), 4, 2, True),  # stride 1: 3 shifts
    ((4,), (2,), (1,), (-1,), (11,), 4, 2, True),  # a crop at the start; the end cut short
    ((16,), (8,), (1,), (4,), (80,), 2, 9, False),  # rows of 16 values, 9 to add per shift: im2col instead
    ((4,), (3,), (1,), (0,), (20,), 4, 2, False),  # k not a multiple of s
    ((4, 4), (2, 2), (1, 1), (1, 1), (18, 20), 3, 2, False),
    ((3, 4, 4), (1, 2, 2), (2, 1, 1), (2, 1, 1), (7, 9, 8), 2, 3, False),
])
def test_conv_forms_equal_the_naive_definition(kernel, stride, dilation, before, size, c_in, c_out, cells,
                                                 block_bytes, monkeypatch):
    from tconvcalc.numeric import executor

    if block_bytes:
        monkeypatch.setattr(executor, "BLOCK_BYTES", block_bytes)
    output = tuple((n + 2 * b - d * (k - 1) - 1) // s + 1
                   for n, k, s, d, b in zip(size, kernel, stride, dilation, before))
    g = Geometry("conv", kernel, stride, dilation, before, size, output)
    assert executor._in_cells(g, c_in, c_out) == cells
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((3, c_in, *size)), rng.standard_normal((c_out, c_in, *kernel))
    assert np.allclose(conv(x, w, g), naive_conv(x, w, g, 1), atol=1e-12)


NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda r: st.tuples(
    st.lists(st.integers(1, 4), min_size=r, max_size=r),  # kernel
    st.lists(st.integers(1, 3), min_size=r, max_size=r),  # stride
    st.lists(st.integers(1, 2), min_size=r, max_size=r),  # dilation
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=r, max_size=r),  # pads
    st.lists(st.integers(4, 6), min_size=r, max_size=r),  # input, above every pad
)), st.sampled_from(sorted(NUMPY_MODES)), st.integers(0, 2**32 - 1))
def test_padding_modes_equal_numpy_pad_then_a_valid_conv(spec, mode, seed):
    kernel, stride, dilation, pads, size = spec
    spans = [n + b + a for n, (b, a) in zip(size, pads)]
    output = tuple((m - d * (k - 1) - 1) // s + 1 for m, k, s, d in zip(spans, kernel, stride, dilation))
    if min(output) < 1:
        return
    g = Geometry("conv", tuple(kernel), tuple(stride), tuple(dilation), tuple(b for b, _ in pads), tuple(size),
                 output, padding_mode=mode)
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((2, 2, *size)), rng.standard_normal((3, 2, *kernel))
    padded = np.pad(x, [(0, 0), (0, 0), *pads], mode=NUMPY_MODES[mode])
    valid = Geometry("conv", g.kernel, g.stride, g.dilation, (0,) * len(size), tuple(spans), output)
    out = conv(x, w, g)
    assert np.allclose(out, naive_conv(padded, w, valid, 1), atol=1e-12)
    assert adjoint_error(g, x, w, out, rng) <= 1e-12  # convT of g folds the pads back onto the input


@pytest.mark.parametrize("groups, c_in, kernel, per_group", [(2, 8, (3, 3), True), (4, 16, (3, 3), True),
                                                          (2, 4, (3,), False), (3, 6, (2, 2, 2), False)])
def test_grouped_conv_forms_equal_the_naive_definition(groups, c_in, kernel, per_group, monkeypatch):
    from tconvcalc.numeric import executor

    rank = len(kernel)
    assert (c_in // groups * int(np.prod(kernel)) >= executor.GROUP_DEPTH) == per_group
    g = Geometry("conv", kernel, (2,) * rank, (1,) * rank, (1,) * rank, (7,) * rank, (4,) * rank)
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, c_in, *g.input)), rng.standard_normal((2 * groups, c_in // groups, *kernel))
    expected = naive_conv(x, w, g, groups)
    assert np.allclose(conv(x, w, g, groups), expected, atol=1e-12)
    for depth in (0, 10**9):  # each form forced: one channels-last conv per group, the batched matmul
        monkeypatch.setattr(executor, "GROUP_DEPTH", depth)
        assert np.allclose(conv(x, w, g, groups), expected, atol=1e-12)


def test_adjoint_error_detects_a_wrong_pair():
    g = Geometry("conv", (3,), (2,), (1,), (1,), (9,), (5,))
    rng = np.random.default_rng(1)
    x, w = random_data(rng, (1, 1, 9)), random_data(rng, (1, 1, 3))
    out = conv(x, w, g)
    shifted = Geometry("conv", (3,), (2,), (1,), (0,), (9,), (5,))  # a convT cropping one less
    assert adjoint_error(shifted, x, w, out, rng) > 1e-3


def test_window_pads_and_crops():
    x = np.arange(1, 6, dtype=float)[None, None]
    assert window(x, 2, [-2], [4]).tolist() == [[[0, 0, 1, 2]]]
    assert window(x, 2, [3], [4]).tolist() == [[[4, 5, 0, 0]]]
    assert window(x, 2, [7], [2]).tolist() == [[[0, 0]]]
    assert window(x, 2, [-5], [2]).tolist() == [[[0, 0]]]


# ---- geometry from forward: every framework's padding resolved by forward() -----------------------


@pytest.mark.parametrize("framework, kind, options, size, before, output", [
    ("torch", "convT", dict(kernel=4, stride=2, padding=1), (126,), (1,), (252,)),
    ("tf", "conv", dict(kernel=4, stride=2, padding="same"), (7,), (1,), (4,)),  # total 3: 1 before, 2 after
    ("onnx", "conv", dict(kernel=4, stride=2, padding="same_lower"), (7,), (2,), (4,)),
    # keras SAME = tf's: the forward pad on 10 is (5-1)*2+3-10 = 1 in all, the odd pixel after -> crop 0
    ("keras", "convT", dict(kernel=3, stride=2, padding="same"), (5,), (0,), (10,)),
    # jax SAME k3 s2: pads (2, 1) on the stride-dilated input -> crop d(k-1) - lo = 0 at the start
    ("jax", "convT", dict(kernel=3, stride=2, padding="same"), (5,), (0,), (10,)),
])
def test_geometry_uses_the_frameworks_pads(framework, kind, options, size, before, output):
    g = geometry(build_layer(kind, framework, len(size), **options), size)
    assert (g.before, g.output) == (before, output)
    assert g.flip == (framework == "jax" and kind == "convT")


def test_tf_transpose_without_output_shape_runs_the_smallest_accepted():
    g = geometry(build_layer("convT", "tf", 1, kernel=3, stride=2, padding="same"), (9,))
    assert g.chosen_output and g.output == (17,)


def test_pools_run_elsewhere():
    with pytest.raises(InputError, match="conv and convT"):
        geometry(build_layer("maxpool", "torch", 1, kernel=2), (8,))


def test_huge_sizes_are_refused_before_allocating():
    layer = build_layer("conv", "torch", 3, kernel=3)
    with pytest.raises(InputError, match="more than 100,000,000"):
        verify(layer, (1000, 1000, 1000), framework=False)


# ---- the matrix view ---------------------------------------------------------------------------


def test_seed_002_matrix_of_a_3x3_kernel_on_4x4():
    _, c, t, diff = matrices(geometry(build_layer("conv", "torch", 2, kernel=3), (4, 4)))
    assert c.shape == (4, 16)
    # output (0, 0) reads inputs (0..2, 0..2): row-major positions 0,1,2, 4,5,6, 8,9,10
    assert c[0].tolist() == [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0]
    assert c[3].tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]
    assert (t == c.T).all() and diff < 1e-12


@settings(max_examples=60, deadline=None)
@given(geometries, st.integers(0, 2**32 - 1))
def test_matrix_view_equals_the_executor(spec, seed):
    g, _ = _make(spec)
    if np.prod(g.input) * np.prod(g.output) > 4096:
        return
    rng = np.random.default_rng(seed)
    kernel = rng.standard_normal(g.kernel)
    m = basis_outputs(g, kernel)
    x = rng.standard_normal((1, 1, *g.input))
    direct = (conv if g.kind == "conv" else conv_transpose)(x, kernel[None, None], g)
    assert np.allclose(m @ x.reshape(-1), direct.reshape(-1), atol=1e-12)
    assert np.allclose(basis_outputs(g.adjoint, kernel), m.T, atol=1e-12)


def test_overlap_flags_the_checkerboard_of_k3_s2():
    result = matrix(build_layer("convT", "torch", 1, kernel=3, stride=2, padding=1), (8,))
    assert result.overlap == [1, 2] * 7 + [1]
    assert result.checkerboard and "multiple of the stride" in result.fix
    assert result.index_map[0][:4] == [[0], [0, 1], [1], [1, 2]]


def test_overlap_of_k4_s2_is_even_inside():
    result = matrix(build_layer("convT", "torch", 2, kernel=4, stride=2, padding=1), (4, 4))
    assert result.overlap[0] == [1, 2, 2, 2, 2, 2, 2, 1]
    assert result.overlap[3] == [2, 4, 4, 4, 4, 4, 4, 2]
    assert not result.checkerboard and result.fix is None


def naive_overlap(g):
    """Taps landing on each output of the transposed conv ``g``, counted one (input, tap) pair at a time."""
    counts = np.zeros(g.output, dtype=int)
    for pos in itertools.product(*(range(n) for n in g.input)):
        for tap in itertools.product(*(range(k) for k in g.kernel)):
            dst = [p * s + t * d - b for p, s, t, d, b in zip(pos, g.stride, tap, g.dilation, g.before)]
            if all(0 <= j < o for j, o in zip(dst, g.output)):
                counts[tuple(dst)] += 1
    return counts


@pytest.mark.parametrize("rank, options, size", [
    (1, dict(kernel=4, stride=2, padding=1), (8,)),  # 1 at the borders
    (1, dict(kernel=4, stride=2, padding=2), (8,)),  # the borders cropped: 2 everywhere
    (2, dict(kernel=(5, 3), stride=(2, 1), padding=(2, 1)), (5, 6)),
    (1, dict(kernel=1, stride=2), (6,)),  # every other output gets no tap: 0
    (1, dict(kernel=3, stride=2, padding=1, output_padding=1), (5,)),
    (2, dict(kernel=6, stride=2, dilation=(1, 2), padding=3), (4, 5)),
])
def test_overlap_min_and_max_are_the_fewest_and_most_taps_on_an_output(rank, options, size):
    layer = build_layer("convT", "torch", rank, **options)
    expected = naive_overlap(geometry(layer, size))
    result = matrix(layer, size, show_matrix=False)
    assert np.array_equal(np.asarray(result.overlap), expected)
    assert (result.overlap_min, result.overlap_max) == (expected.min(), expected.max())


def test_overlap_min_in_the_json(run_json):
    code, data, _ = run_json("matrix", "8", "-l", "convT", "-k", "4", "-s", "2", "-p", "2", "--no-matrix")
    assert code == 0 and min(data["overlap"]) == data["overlap_min"] == 2


# ---- the commands ------------------------------------------------------------------------------


def test_verify_json(run_json):
    code, data, _ = run_json("verify", "12", "-l", "convT", "-k", "4", "-s", "2", "-p", "1", "--channels", "4:2",
                             "--groups", "2", "--batch", "2")
    assert code == 0
    assert data["output_shape"] == data["predicted"] == [24]
    assert data["ok"] is True and data["adjoint_rel_error"] < 1e-6
    assert set(data) >= {"output_shape", "predicted", "ok", "adjoint_rel_error", "framework_max_abs_diff"}


def test_verify_fails_with_one_line_when_values_differ(run, monkeypatch):
    monkeypatch.setitem(backends.RUNNERS, "torch", lambda layer, g, x, w, groups: conv(x, w, g, groups) + 1e-3)
    code, out, err = run("verify", "9", "-l", "conv", "-k", "3")
    assert code == 1
    assert err.count("\n") == 1 and "torch values differ" in err


def test_verify_fails_when_the_framework_refuses(run, monkeypatch):
    def refuse(layer, g, x, w, groups):
        raise RuntimeError("no\nsecond line")

    monkeypatch.setitem(backends.RUNNERS, "torch", refuse)
    code, _, err = run("verify", "9", "-l", "conv", "-k", "3")
    assert code == 1 and "torch refused the layer forward() accepts: RuntimeError: no" in err
    assert "second line" not in err


def test_verify_skips_a_framework_that_is_not_installed(run_json, monkeypatch):
    def missing(*args):
        raise ImportError("no torch")

    monkeypatch.setitem(backends.RUNNERS, "torch", missing)
    code, data, _ = run_json("verify", "9", "-l", "conv", "-k", "3")
    assert code == 0 and data["framework_max_abs_diff"] is None


def test_verify_refusal_of_the_framework_is_exit_1(run):
    code, _, err = run("verify", "2", "-l", "conv", "-k", "3")
    assert code == 1 and "Kernel size can't be greater than actual input size" in err


def test_missing_numpy_is_one_line_exit_2(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)
    code, _, err = run("verify", "9", "-l", "conv", "-k", "3")
    assert code == 2 and err.strip() == "tconvcalc: verify needs numpy: pip install 'tconvcalc[numpy]'"


def test_matrix_command(run, run_json):
    code, out, _ = run("matrix", "4x4", "-l", "conv", "-k", "3")
    assert code == 0 and "4×16" in out and "checkerboard risk" not in out
    code, data, _ = run_json("matrix", "8", "-l", "convT", "-k", "3", "-s", "2", "-p", "1")
    assert code == 0 and data["checkerboard"] is True and len(data["conv_matrix"]) == 8
    code, _, err = run("matrix", "100x100", "-l", "conv", "-k", "3")
    assert code == 2 and "at most 4096" in err and err.count("\n") == 1
    code, out, _ = run("matrix", "100x100", "-l", "convT", "-k", "3", "-s", "2", "--no-matrix")
    assert code == 0 and "checkerboard risk" in out


def test_png_without_matplotlib_is_one_line_exit_2(run, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "overlap.png"
    code, _, err = run("matrix", "8", "-l", "convT", "-k", "3", "-s", "2", "--png", str(target))
    assert code == 2 and err.strip() == "tconvcalc: --png needs matplotlib: pip install matplotlib"
    assert not target.exists()


@pytest.mark.parametrize("args", [["8", "-l", "convT", "-k", "3", "-s", "2", "-p", "1"],
                                  ["6x6", "-l", "convT", "-k", "3", "-s", "2", "--no-matrix"],
                                  ["3x4x4", "-l", "convT", "-k", "3", "-s", "2", "--no-matrix"]])
def test_png_is_a_valid_image(run, tmp_path, args):
    pytest.importorskip("matplotlib")
    import zlib

    target = tmp_path / "overlap.png"
    code, out, _ = run("matrix", *args, "--png", str(target))
    assert code == 0 and f"wrote {target}" in out.replace("\n", "")
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100
    # every chunk's CRC holds and the image data inflates: a valid PNG, not just its signature
    offset, idat = 8, b""
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        kind, body = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        assert zlib.crc32(kind + body) == int.from_bytes(data[offset + 8 + length:offset + 12 + length], "big")
        idat += body if kind == b"IDAT" else b""
        offset += 12 + length
    assert kind == b"IEND" and len(zlib.decompress(idat)) > width * height
