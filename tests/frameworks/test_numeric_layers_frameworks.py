"""The executor's pools, max-unpool, upsampling, pixel shuffle and pad against each real framework.

For every framework installed and every layer it has: TCONVCALC_NUMERIC_N seeded random layers (default
100 each) that forward() accepts -- odd sizes, size 1, ceil_mode, asymmetric and negative pads where the
framework parses them, dilation, non-integer scales, nearest and bilinear -- run by verify(), which runs the
framework on the same data and fails when the shape or the values (1e-5; scaled for float32
frameworks) differ, or when the framework refuses a layer forward() accepts. Skipped where missing.
"""

import os
import random

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from tconvcalc import build_layer
from tconvcalc.errors import InputError, TconvError
from tconvcalc.layer import PAD_MODES, Layer
from tconvcalc.numeric import backends, layers
from tconvcalc.numeric.verify import random_data, verify

N = int(os.environ.get("TCONVCALC_NUMERIC_N", "100"))
MODULES = {"torch": "torch", "tf": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnxruntime"}
HAS = {"torch": ["maxpool", "avgpool", "unpool", "upsample", "pixelshuffle"],
       "tf": ["maxpool", "avgpool", "pixelshuffle"],
       "keras": ["maxpool", "avgpool", "upsample"],
       "jax": ["maxpool", "avgpool"],
       "onnx": ["maxpool", "avgpool", "unpool", "upsample", "pixelshuffle"]}
CASES = [(framework, kind) for framework, kinds in HAS.items() for kind in kinds]


def _axes(rng, rank, low, high):
    return "x".join(str(rng.randint(low, high)) for _ in range(rank))


def _padding(rng, framework, kind, rank):
    if framework == "torch":
        return _axes(rng, rank, 0, 2)
    if framework in ("tf", "keras") or (framework == "onnx" and rng.random() < 0.3 and kind != "unpool"):
        words = ["valid", "same"] if framework != "onnx" else ["valid", "same", "same_lower"]
        if framework == "tf" and kind == "maxpool" and rank < 3 and rng.random() < 0.4:
            return "x".join(f"{rng.randint(0, 2)}:{rng.randint(0, 2)}" for _ in range(rank))
        return rng.choice(words)
    if framework == "jax" and rng.random() < 0.4:
        return rng.choice(["valid", "same", "same_lower"])
    low = -1 if framework in ("jax", "onnx") else 0
    return "x".join(f"{rng.randint(low, 2)}:{rng.randint(low, 2)}" for _ in range(rank))


def _config(rng, framework, kind):
    rank = 2 if kind == "pixelshuffle" else rng.choice([1, 2, 3])
    options, mode = {}, "nearest"
    if kind in ("maxpool", "avgpool", "unpool"):
        options["kernel"] = _axes(rng, rank, 1, 4)
        options["stride"] = _axes(rng, rank, 1, 3)
        options["padding"] = _padding(rng, framework, kind, rank)
        if kind == "maxpool" and framework in ("torch", "onnx", "jax") and rng.random() < 0.3:
            options["dilation"] = _axes(rng, rank, 1, 2)
        if kind != "unpool" and framework in ("torch", "onnx") and rng.random() < 0.4:
            options["ceil_mode"] = True
        if kind == "unpool" and rng.random() < 0.3:
            options["output_size"] = _axes(rng, rank, 1, 12)
    elif kind == "upsample":
        if framework == "keras" or rng.random() < 0.5:
            options["scale"] = _axes(rng, rank, 1, 3)
        else:
            options["scale"] = "x".join(f"{rng.choice([0.5, 0.6, 0.75, 1.5, 1.7, 2.25, 2.5, 3.3])}" for _ in range(rank))
        if rng.random() < 0.5 and (framework != "keras" or rank == 2):
            mode = "bilinear"
    else:
        options["scale"] = rng.randint(1 if framework != "tf" else 2, 3)
    size = tuple(rng.randint(1, 9 if rank < 3 else 6) for _ in range(rank))
    return rank, options, size, mode


def xla_aborts(layer):
    """jax 0.10.2: lax.reduce_window with a window of 1 on every axis and a negative pad kills the process
    (XLA algebraic_simplifier.cc:586 "Check failed ... ShapeUtil::Compatible"): never run it here."""
    return (layer.framework == "jax" and set(layer.kernel) == {1} and not isinstance(layer.padding, str)
            and any(b < 0 or a < 0 for b, a in layer.padding))


def onednn_pool_differs(layer):
    """TF's default oneDNN kernels give other values than TF's reference kernel for a 3-D SAME pool whose stride
    exceeds its kernel on an axis (the sizes agree): the executor follows the reference kernel."""
    if not (layer.framework == "tf" or layer.framework == "keras" and layer.backend == "tensorflow") or layer.kind not in ("maxpool", "avgpool") or layer.rank != 3 \
            or layer.padding != "same" or not any(s > k for s, k in zip(layer.stride, layer.kernel)):
        return False
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


@pytest.mark.parametrize("framework, kind", CASES)
def test_executor_equals_the_framework(framework, kind):
    pytest.importorskip(MODULES[framework])
    rng = random.Random(f"{framework}-{kind}")
    failures, compared, tried = [], 0, 0
    while compared < N and tried < 50 * N:
        tried += 1
        rank, options, size, mode = _config(rng, framework, kind)
        try:
            layer = build_layer(kind, framework, rank, **options)
            if xla_aborts(layer) or onednn_pool_differs(layer):
                continue
            result = verify(layer, size, channels=(rng.randint(1, 2), 1), batch=rng.randint(1, 2), seed=tried,
                            mode=mode)
        except TconvError:
            continue  # forward() refuses (the shape tests compare refusals with the framework)
        if result.framework_max_abs_diff is None and result.ok:
            continue  # nothing compared
        compared += 1
        if not result.ok:
            failures.append(f"{kind} {options} size={size} mode={mode}: {result.failures}")
    assert compared >= N, f"only {compared} of {N} configurations could be compared ({tried} tried)"
    assert not failures, f"{len(failures)} of {compared} differ:\n" + "\n".join(failures[:20])


# ---- pad ---------------------------------------------------------------------------------------


def _pad_config(rng):
    """A random pad layer: rank 1-3, crops, pads up to twice a small input, any mode."""
    rank = rng.randint(1, 3)
    size = tuple(rng.randint(1, 7 if rank < 3 else 5) for _ in range(rank))
    padding = "x".join(f"{rng.randint(-2, 2 * n)}:{rng.randint(-2, 2 * n)}" for n in size)
    return rank, {"padding": padding, "padding_mode": rng.choice(PAD_MODES)}, size


@pytest.mark.parametrize("framework", list(MODULES))
def test_pad_executor_equals_the_framework(framework):
    pytest.importorskip(MODULES[framework])
    rng = random.Random(f"{framework}-pad")
    failures, compared, tried, without_pad = [], 0, 0, 0
    while compared < N and tried < 50 * N:
        tried += 1
        rank, options, size = _pad_config(rng)
        try:
            layer = build_layer("pad", framework, rank, **options)
            result = verify(layer, size, channels=(rng.randint(1, 2), 1), batch=rng.randint(1, 2), seed=tried)
        except InputError as error:
            without_pad += "has no pad layer" in str(error)
            continue
        except TconvError:
            continue  # forward() refuses (the shape tests compare refusals with the framework)
        if result.framework_max_abs_diff is None and result.ok:
            continue
        compared += 1
        if not result.ok:
            failures.append(f"pad {options} size={size}: {result.failures}")
    if compared == 0 and without_pad == tried:
        pytest.skip(f"{framework}'s forward() has no pad layer yet")
    assert compared >= N, f"only {compared} of {N} configurations could be compared ({tried} tried)"
    assert not failures, f"{len(failures)} of {compared} differ:\n" + "\n".join(failures[:20])


# Each framework's pad modes (the rest: backends.Unsupported). keras: ZeroPadding/Cropping only.
PAD_RUNNER_MODES = {"torch": {"zeros", "reflect", "replicate", "circular"},
                    "tf": {"zeros", "reflect", "symmetric"},
                    "keras": {"zeros"},
                    "jax": set(PAD_MODES),
                    "onnx": {"zeros", "reflect", "replicate", "circular"}}
# (size, pads): after the crops, each reflect pad is below the axis, each other pad at most the axis, and
# no axis empty -- what every framework's op takes (keras Cropping, tf MirrorPad and ORT's non-constant
# Pad refuse an axis cropped to nothing)
PAD_CASES = [((5,), ((2, 1),)), ((5, 4), ((1, 2), (0, 3))), ((4, 3, 5), ((1, 0), (2, 2), (0, 4))),
             ((6,), ((-2, 1),)), ((6, 5), ((-1, 2), (2, -2))), ((5, 4, 3), ((-1, -1), (1, -2), (0, 0)))]


@pytest.mark.parametrize("framework, mode", [(f, m) for f in MODULES for m in PAD_MODES])
def test_pad_runner_on_fixed_cases(framework, mode):
    """The runners called directly, with the executor's plan built by hand (whatever forward() says)."""
    pytest.importorskip(MODULES[framework])
    rng = np.random.default_rng(7)
    for size, pads in PAD_CASES:
        layer = Layer("pad", framework, len(size), padding=pads, padding_mode=mode)
        p = layers.Plan("pad", framework, size, tuple(n + b + a for n, (b, a) in zip(size, pads)), pads=pads,
                        layer=layer, padding_mode=mode)
        x = random_data(rng, (2, 3, *size))
        if mode not in PAD_RUNNER_MODES[framework]:
            with pytest.raises(backends.Unsupported, match=f"{framework} has no {mode} padding"):
                backends.run_layer(layer, p, x)
            return
        theirs = backends.run_layer(layer, p, x)
        assert theirs.shape == (2, 3, *p.output), (size, pads)
        assert np.array_equal(theirs, layers.run(x, p)), (size, pads)
