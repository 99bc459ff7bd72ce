"""The executor's values against each real framework, on seeded random layers the framework accepts.

For every framework installed: TCONVCALC_NUMERIC_N random conv and convT layers (default 100 each, about a minute for all five)
that forward() accepts are run by verify(), which runs the framework on the same data and weights and
fails when the shape, the adjoint identity or the values (1e-5; scaled for float32 frameworks) differ,
or when the framework refuses a layer forward() accepts. A framework that is not installed is skipped.
"""

import os
import random

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from tconvcalc import build_layer
from tconvcalc.errors import TconvError
from tconvcalc.numeric.verify import verify

N = int(os.environ.get("TCONVCALC_NUMERIC_N", "100"))
MODULES = {"torch": "torch", "tf": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnxruntime"}


def _padding(rng, framework, kind, rank):
    words = {"torch": ["valid", "same"] if kind == "conv" else [],
             "tf": ["valid", "same"], "keras": ["valid", "same"],
             "jax": ["valid", "same", "same_lower"], "onnx": ["valid", "same", "same_lower"]}[framework]
    explicit = (framework in ("torch", "jax", "onnx") or (framework == "tf" and rank == 2))
    if words and (not explicit or rng.random() < 0.4):
        return rng.choice(words)
    if framework == "torch":
        return "x".join(str(rng.randint(0, 3)) for _ in range(rank))
    low = -2 if framework == "jax" else 0
    return "x".join(f"{rng.randint(low, 3)}:{rng.randint(low, 3)}" for _ in range(rank))


def _config(rng, framework, kind):
    rank = rng.choice([1, 2, 3] if framework != "tf" or kind == "conv" else [1, 2, 3])
    options = {"kernel": "x".join(str(rng.randint(1, 4)) for _ in range(rank)),
               "stride": "x".join(str(rng.randint(1, 3)) for _ in range(rank)),
               "padding": _padding(rng, framework, kind, rank)}
    if rng.random() < 0.3 and not (framework == "tf" and kind == "convT"):
        options["dilation"] = "x".join(str(rng.randint(1, 2)) for _ in range(rank))
    if framework == "torch" and kind == "conv" and rng.random() < 0.4:
        options["padding_mode"] = rng.choice(["reflect", "replicate", "circular"])
    if kind == "convT":
        if framework in ("torch", "onnx", "keras") and rng.random() < 0.4:
            options["output_padding"] = "x".join(str(rng.randint(0, 2)) for _ in range(rank))
        elif framework in ("torch", "onnx", "tf") and rng.random() < 0.3:
            options["output_size"] = "x".join(str(rng.randint(1, 14)) for _ in range(rank))
    size = tuple(rng.randint(1, 9 if rank < 3 else 5) for _ in range(rank))
    groups = rng.choice([1, 1, 2]) if framework in ("torch", "jax", "onnx") and (
        kind == "conv" or framework != "jax") else 1
    channels = (groups * rng.randint(1, 2), groups * rng.randint(1, 2))
    return rank, options, size, groups, channels


@pytest.mark.parametrize("kind", ["conv", "convT"])
@pytest.mark.parametrize("framework", list(MODULES))
def test_executor_equals_the_framework(framework, kind):
    pytest.importorskip(MODULES[framework])
    if framework == "torch":
        import torch

        torch.backends.mkldnn.enabled = False
    rng = random.Random(f"{framework}-{kind}")
    failures, compared, tried = [], 0, 0
    while compared < N and tried < 50 * N:
        tried += 1
        rank, options, size, groups, channels = _config(rng, framework, kind)
        try:
            layer = build_layer(kind, framework, rank, **options)
            result = verify(layer, size, channels=channels, batch=rng.randint(1, 2), seed=tried, groups=groups)
        except TconvError:
            continue  # forward() refuses (the shape tests compare refusals with the framework)
        if result.framework_max_abs_diff is None and result.ok:
            continue  # nothing compared (e.g. an op the framework lacks)
        compared += 1
        if not result.ok:
            failures.append(f"{kind} {options} size={size} groups={groups} channels={channels}: {result.failures}")
    assert compared >= N, f"only {compared} of {N} configurations could be compared ({tried} tried)"
    assert not failures, f"{len(failures)} of {compared} differ:\n" + "\n".join(failures[:20])
