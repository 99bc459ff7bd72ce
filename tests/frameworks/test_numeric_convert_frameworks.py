"""convert's verdicts on the real frameworks: for a sample of random conv/convT layers in every pair of
installed frameworks, the source framework runs the source layer, the target framework runs the layer
convert emitted (on the pre-padded input for a conv), the emitted pad/crop is applied -- by executing
the emitted code for torch and jax, by its numbers otherwise -- and the values must agree.
TCONVCALC_CONVERT_REAL_N layers per pair and kind (default 4)."""

import importlib.util
import itertools
import os
import random

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from tconvcalc.errors import TconvError
from tconvcalc.numeric import backends
from tconvcalc.numeric.convert import apply_pads, convert, target_weights
from tconvcalc.numeric.executor import geometry
from tconvcalc.numeric.verify import random_data

from tests.test_numeric_convert import random_source

N = int(os.environ.get("TCONVCALC_CONVERT_REAL_N", "4"))
MODULES = {"torch": "torch", "tf": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnxruntime"}
INSTALLED = [f for f, m in MODULES.items() if importlib.util.find_spec(m) is not None]


def run_extra(code, framework, array):
    """Execute the emitted pad/crop code (torch, jax) on ``array`` (N, C, ...)."""
    if framework == "torch":
        import torch
        import torch.nn.functional as F  # noqa: F401 (used by the code)

        name = code.split(" = ")[0]
        scope = {"F": F, name: torch.from_numpy(np.ascontiguousarray(array))}
        exec(code, scope)
        return scope[name].numpy()
    if framework == "jax":
        import jax.numpy as jnp
        from jax import lax  # noqa: F401

        name = code.split(" = ")[0]
        scope = {"lax": lax, name: jnp.asarray(array)}
        exec(code, scope)
        return np.asarray(scope[name], dtype=np.float64)
    return None


@pytest.mark.parametrize("kind", ["conv", "convT"])
@pytest.mark.parametrize("source_framework, target_framework",
                         [p for p in itertools.product(MODULES, MODULES) if p[0] != p[1]])
def test_convert_on_the_real_frameworks(source_framework, target_framework, kind):
    for framework in (source_framework, target_framework):
        pytest.importorskip(MODULES[framework])
    rng = random.Random(f"real-{source_framework}-{target_framework}-{kind}")
    failures, done, tried, executed = [], 0, 0, 0
    while done < N and tried < 100 * N:
        tried += 1
        try:
            source, size = random_source(rng, source_framework, kind)
            g = geometry(source, size)
        except TconvError:
            continue
        if 0 in g.output:
            continue
        result = convert(source, size, target_framework, seed=tried)
        if result.verdict == "impossible":
            continue
        data = np.random.default_rng(tried)
        x = random_data(data, (1, 2, *size))
        w = random_data(data, (3, 2, *g.kernel) if kind == "conv" else (2, 3, *g.kernel))
        try:
            theirs = backends.run(source, g, x, w)
        except backends.Unsupported:
            continue
        except Exception:  # the source framework itself refuses what forward() accepts: verify's business
            continue
        tg = geometry(result.target_layer, result.target_input)
        wt = target_weights(w, source, result.target_layer)
        done += 1
        try:
            if kind == "conv":
                xin = x if result.extra is None else (run_extra(result.extra, target_framework, x)
                                                       if target_framework in ("torch", "jax") else None)
                if xin is None:
                    xin = apply_pads(x, result.pads)
                else:
                    executed += result.extra is not None
                ours = backends.run(result.target_layer, tg, xin, wt)
            else:
                ours = backends.run(result.target_layer, tg, x, wt)
                if result.extra is not None:
                    emitted = run_extra(result.extra, target_framework, ours)
                    executed += emitted is not None
                    ours = emitted if emitted is not None else apply_pads(ours, result.pads)
            assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
            scale = max(1.0, float(np.max(np.abs(theirs))))
            assert float(np.max(np.abs(ours - theirs))) <= 1e-4 * scale
        except backends.Unsupported:  # a dilated TF transpose on TF's reference kernels: the warning says so
            done -= 1
        except AssertionError as error:
            failures.append(f"{source} size={size} -> {result.code} | {result.extra}: {error}")
    assert not failures, f"{len(failures)} of {done}:\n" + "\n".join(failures[:20])
