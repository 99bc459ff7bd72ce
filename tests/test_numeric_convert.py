"""convert: known cases, and seeded random layers in every framework pair checked on numbers by a naive
reference (not the executor), with a brute-force search of the target's paddings that an "extra" or
"impossible" verdict did not miss an exact layer."""

import itertools
import os
import random

import numpy as np
import pytest

from tconvcalc import build_layer
from tconvcalc.errors import TconvError
from tconvcalc.layer import FRAMEWORKS
from tconvcalc.numeric.convert import apply_pads, convert, layout, target_weights, weights_code
from tconvcalc.numeric.executor import geometry

N = int(os.environ.get("TCONVCALC_CONVERT_N", "12"))  # random layers per framework pair


# ---- a naive reference: one output element at a time, from forward()'s pads --------------------


def naive(x, w, g):
    """conv: sum over taps of x[j*s + t*d - before]; convT: the scatter, cropped by before to output."""
    if g.flip:
        w = np.flip(w, axis=tuple(range(2, w.ndim)))
    c_out = w.shape[0] if g.kind == "conv" else w.shape[1]
    out = np.zeros((x.shape[0], c_out, *g.output))
    taps = list(itertools.product(*(range(k) for k in g.kernel)))
    if g.kind == "conv":
        for pos in itertools.product(*(range(o) for o in g.output)):
            for tap in taps:
                src = [p * s + t * d - b for p, s, t, d, b in zip(pos, g.stride, tap, g.dilation, g.before)]
                if all(0 <= i < n for i, n in zip(src, g.input)):
                    out[(slice(None), slice(None), *pos)] += x[(slice(None), slice(None), *src)] @ w[
                        (slice(None), slice(None), *tap)].T
        return out
    for pos in itertools.product(*(range(n) for n in g.input)):
        for tap in taps:
            dst = [p * s + t * d - b for p, s, t, d, b in zip(pos, g.stride, tap, g.dilation, g.before)]
            if all(0 <= j < o for j, o in zip(dst, g.output)):
                out[(slice(None), slice(None), *dst)] += x[(slice(None), slice(None), *pos)] @ w[
                    (slice(None), slice(None), *tap)]
    return out


def check_numbers(result, size, seed=0):
    """The source layer and the target layer plus its pad/crop agree on random data (naive reference)."""
    g = geometry(result.source_layer, size)
    tg = geometry(result.target_layer, result.target_input)
    rng = np.random.default_rng(seed)
    c_in, c_out = 2, 3
    x = rng.standard_normal((1, c_in, *size))
    w = rng.standard_normal((c_out, c_in, *g.kernel) if g.kind == "conv" else (c_in, c_out, *g.kernel))
    expected = naive(x, w, g)
    wt = target_weights(w, result.source_layer, result.target_layer)
    if g.kind == "conv":
        got = naive(apply_pads(x, result.pads), wt, tg)
    else:
        got = apply_pads(naive(x, wt, tg), result.pads)
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-12)


# ---- known cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, source, options, size, target, verdict, code, extra", [
    # the Keras torch-backend bug (existing-tools pain point 17): torch's p=1 crops the first pixel,
    # keras "same" with k=3 s=2 puts the odd pad pixel at the end: a VALID layer and a crop of one
    ("convT", "torch", dict(kernel=3, stride=2, padding=1, output_padding=1), (8,), "keras", "extra",
     'padding="valid"', "y = layers.Cropping1D(cropping=(1, 0))(y)"),
    # k=4 s=2 p=1 (DCGAN): SAME's total pad 2 splits 1/1 -- exact everywhere
    ("convT", "torch", dict(kernel=4, stride=2, padding=1), (8, 8), "keras", "exact", 'padding="same"', None),
    ("convT", "torch", dict(kernel=4, stride=2, padding=1), (8, 8), "tf", "exact",
     "output_shape=[N, 16, 16, C_out]", None),
    ("convT", "torch", dict(kernel=4, stride=2, padding=1), (8, 8), "onnx", "exact", "pads=[1, 1, 1, 1]", None),
    ("convT", "torch", dict(kernel=4, stride=2, padding=1), (8, 8), "jax", "exact", "np.flip(w, axis=(2, 3))", None),
    # jax SAME k=3 s=2: crop 0 at the start, 2n out; torch's p=0 gives 2n+1: crop one at the end
    ("convT", "jax", dict(kernel=3, stride=2, padding="same"), (5,), "torch", "extra",
     "kernel_size=3, stride=2)", "y = F.pad(y, (0, -1))"),
    # tf SAME conv k=3 s=2 on 8: pads (0, 1); torch pads symmetrically: F.pad then valid
    ("conv", "tf", dict(kernel=3, stride=2, padding="same"), (8,), "torch", "extra", "padding='valid'",
     "x = F.pad(x, (0, 1))"),
    ("conv", "torch", dict(kernel=3, padding=1), (9, 9), "keras", "exact", 'padding="same"', None),
    ("conv", "torch", dict(kernel=3, stride=2, padding=1), (8,), "keras", "extra", 'padding="valid"',
     "x = layers.ZeroPadding1D(padding=(1, 0))(x)"),
    # onnx SAME_LOWER k=3 s=2 on 8: total pad 1, before -> (1, 0); jax's symmetric (1, 1) gives the same 4
    ("conv", "onnx", dict(kernel=3, stride=2, padding="same_lower"), (8,), "jax", "exact",
     "padding=((1, 1),)", None),
    # tf.nn.conv2d_transpose runs dilation > 1 on TF's default oneDNN kernels with a padding word (explicit pads
    # run the reference kernel, which refuses): VALID, then the crop
    ("convT", "torch", dict(kernel=3, stride=2, padding=1, dilation=2), (8, 8), "tf", "extra", 'padding="VALID"',
     "y = y[:, 1:-1, 1:-1, :]"),
    ("convT", "torch", dict(kernel=5, stride=3, padding=2, output_padding=2), (7,), "torch", "exact",
     "output_padding=2", None),
])
def test_known_conversions(kind, source, options, size, target, verdict, code, extra):
    result = convert(build_layer(kind, source, len(size), **options), size, target)
    assert result.verdict == verdict, result.reason
    if verdict == "impossible":
        assert "dilation" in result.reason and result.code is None
        return
    assert code in result.code
    assert result.extra == extra or extra in result.extra
    assert result.max_abs_diff == 0.0
    check_numbers(result, size)


def test_weights_code_moves_the_layout():
    torch_t = build_layer("convT", "torch", 2, kernel=3)
    keras_t = build_layer("convT", "keras", 2, kernel=3)
    jax_t = build_layer("convT", "jax", 2, kernel=3)
    assert weights_code(torch_t, keras_t) == "w_keras = np.transpose(w, (2, 3, 1, 0))  # torch IxOx0x1 -> keras 0x1xOxI"
    assert weights_code(torch_t, build_layer("convT", "onnx", 2, kernel=3)) is None
    # the emitted transpose is right: a torch-layout array moved by it has keras's axis order
    w = np.zeros((5, 7, 2, 3))  # I=5, O=7, kH, kW
    assert np.transpose(w, (2, 3, 1, 0)).shape == (2, 3, 7, 5)
    assert layout("keras", "convT", 2) == ("0", "1", "O", "I")
    assert "np.flip" in weights_code(jax_t, torch_t) and "np.flip" in weights_code(keras_t, jax_t)
    assert weights_code(jax_t, jax_t) is None


def test_convert_command(run, run_json):
    code, data, _ = run_json("convert", "convT", "--from", "torch", "--to", "keras", "-k", "3", "-s", "2", "-p", "1",
                             "--output-padding", "1", "--size", "16")
    assert code == 0
    assert set(data) == {"from", "to", "verdict", "code", "extra", "max_abs_diff", "reason"}
    assert (data["from"], data["to"], data["verdict"], data["extra"]) == ("torch", "keras", "extra",
                                                                "y = layers.Cropping1D(cropping=(1, 0))(y)")
    code, out, _ = run("convert", "convT", "--from", "torch", "--to", "jax", "-k", "4", "-s", "2", "-p", "1",
                       "--size", "8x8")
    assert code == 0 and "exact" in out and 'padding="SAME"' in out
    code, out, _ = run("convert", "convT", "--from", "torch", "--to", "tf", "-k", "3", "-s", "2", "-d", "2",
                       "--size", "8")
    assert code == 0 and "exact" in out and "VALID" in out
    code, _, err = run("convert", "maxpool", "--from", "torch", "--to", "tf", "-k", "2", "--size", "8")
    assert code == 2 and "conv and convT" in err
    code, _, err = run("convert", "conv", "--from", "torch", "--to", "tf", "-k", "3", "--size", "2")
    assert code == 1 and "Kernel size can't be greater" in err  # the source itself is refused


# ---- random layers in every framework pair -----------------------------------------------------


def random_source(rng, framework, kind):
    rank = rng.choice([1, 1, 2])
    options = {"kernel": "x".join(str(rng.randint(1, 5)) for _ in range(rank)),
               "stride": "x".join(str(rng.randint(1, 3)) for _ in range(rank))}
    words = ["valid", "same"] + (["same_lower"] if framework in ("jax", "onnx") else [])
    numeric = framework in ("torch", "jax", "onnx") or (framework == "tf" and (kind == "conv" or rank == 2))
    if framework == "torch" and kind == "convT":
        words = []
    if words and (not numeric or rng.random() < 0.4):
        options["padding"] = rng.choice(words)
    elif framework == "torch":
        options["padding"] = "x".join(str(rng.randint(0, 3)) for _ in range(rank))
    else:
        low = -2 if framework == "jax" else 0
        options["padding"] = "x".join(f"{rng.randint(low, 3)}:{rng.randint(low, 3)}" for _ in range(rank))
    if rng.random() < 0.25:
        options["dilation"] = "x".join(str(rng.randint(1, 2)) for _ in range(rank))
    if kind == "convT" and framework in ("torch", "onnx", "keras") and rng.random() < 0.4:
        options["output_padding"] = "x".join(str(rng.randint(0, 2)) for _ in range(rank))
    size = tuple(rng.randint(1, 9) for _ in range(rank))
    return build_layer(kind, framework, rank, **options), size


def _target_domain(source, framework):
    """Brute force, rank 1: every padding word, pair (-2..5) and output_padding the target might take."""
    k, s, d = source.kernel[0], source.stride[0], source.dilation[0]
    paddings = ["valid", "same", "same_upper", "same_lower", "causal"]
    paddings += [str(p) for p in range(0, 6)] + [f"{b}:{a}" for b in range(-2, 6) for a in range(-2, 6)]
    ops = [None] + (list(range(max(s, d))) if source.kind == "convT" else [])
    for padding, op in itertools.product(paddings, ops):
        try:
            yield build_layer(source.kind, framework, 1, kernel=k, stride=s, dilation=d, padding=padding,
                              output_padding=op)
        except TconvError:
            continue


def exact_exists(source, size, framework, g):
    for layer in _target_domain(source, framework):
        try:
            if layer.framework == "tf" and layer.kind == "convT":
                layer = build_layer("convT", "tf", 1, kernel=layer.kernel[0], stride=layer.stride[0],
                                    dilation=layer.dilation[0],
                                    padding=layer.padding if isinstance(layer.padding, str) else
                                    f"{layer.padding[0][0]}:{layer.padding[0][1]}", output_size=g.output[0])
            tg = geometry(layer, size)
        except TconvError:
            continue
        if tg.before == g.before and tg.output == g.output:
            return layer
    return None


@pytest.mark.parametrize("kind", ["conv", "convT"])
@pytest.mark.parametrize("source_framework, target_framework", list(itertools.product(FRAMEWORKS, FRAMEWORKS)))
def test_random_conversions_hold_on_numbers(source_framework, target_framework, kind):
    rng = random.Random(f"{source_framework}-{target_framework}-{kind}")
    failures, done, tried, verdicts = [], 0, 0, set()
    while done < N and tried < 40 * N:
        tried += 1
        try:
            source, size = random_source(rng, source_framework, kind)
            g = geometry(source, size)
        except TconvError:
            continue  # the source framework refuses this layer
        if np.prod(g.output) * np.prod(g.kernel) > 4000:
            continue
        done += 1
        result = convert(source, size, target_framework, seed=tried)
        verdicts.add(result.verdict)
        where = f"{source} size={size}: {result.verdict} ({result.reason})"
        try:
            if result.verdict == "impossible":
                assert result.code is None and result.reason
            else:
                check_numbers(result, size, seed=tried)
                assert (result.extra is None) == (result.verdict == "exact") == all(p == (0, 0) for p in result.pads)
            if source.rank == 1 and result.verdict != "exact":
                missed = exact_exists(source, size, target_framework, g)
                assert missed is None, f"exact layer missed: {missed}"
        except AssertionError as error:
            failures.append(f"{where}: {error}")
    assert done >= N
    assert not failures, f"{len(failures)} of {done}:\n" + "\n".join(failures[:20])
    if source_framework == target_framework:
        assert verdicts == {"exact"}, verdicts
