"""Differential test: tconvcalc's keras.ops rules (--api ops) against keras 3 itself, on its three backends.

keras.ops.conv / conv_transpose / max_pool / average_pool are called eagerly on a (1, *size, 1) tensor -- the
answer -- and on a symbolic keras.KerasTensor (what a functional Model sees), which is a warning where it differs.
Each backend runs in one subprocess (this file run as a script, KERAS_BACKEND in its environment) that reads a JSON
list of configurations on stdin and prints a JSON list of [eager, symbolic] results; the tensorflow backend runs
once more with the other TF kernel mode (TF_ENABLE_ONEDNN_OPTS flipped), since the two differ on dilated transposed
convolutions. TCONVCALC_DIFF_N configurations per layer kind and backend (default 400).
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings

ANSI = re.compile(r"\x1b\[[0-9;]*m")
KINDS = ("conv", "convT", "maxpool", "avgpool")


# ---- the keras side (run by the workers) ----------------------------------------------------------


def _call(c, x):
    import numpy as np
    from keras import ops

    k, s = tuple(c["kernel"]), tuple(c["stride"])
    pad = c["padding"]
    if c["kind"] == "maxpool":
        return ops.max_pool(x, k, strides=s, padding=pad)
    if c["kind"] == "avgpool":
        return ops.average_pool(x, k, strides=s, padding=pad)
    w = ops.convert_to_tensor(np.zeros(k + (1, 1), "float32"))
    d = tuple(c["dilation"])
    if c["kind"] == "conv":
        return ops.conv(x, w, strides=s, padding=pad, dilation_rate=d)
    op = None if c["output_padding"] is None else tuple(c["output_padding"])
    return ops.conv_transpose(x, w, strides=s, padding=pad, output_padding=op, dilation_rate=d)


SIGFPE = "not run: oneDNN's empty max_pool kills the process (Floating point exception)"


def _empty_max_pool(c):
    """A VALID max_pool whose output is empty (TF's size, C++ division: 0 on some axis, none negative): oneDNN's kernel
    divides by zero. A negative size is refused before it runs."""
    if c["kind"] != "maxpool" or c["padding"] != "valid":
        return False
    sizes = [int((n - k + s) / s) for n, k, s in zip(c["size"], c["kernel"], c["stride"])]
    return 0 in sizes and min(sizes) >= 0


def _onednn():
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def _error(e):
    return f"{type(e).__name__}: {ANSI.sub('', str(e))[:700]}"


def keras_results(configs):
    """For each configuration: [eager, symbolic], each a spatial shape (list) or an error string.

    On the jax backend an eager call compiles XLA code; there 7 in 8 configurations take the eager shape from
    jax.eval_shape of the same call (the same lax shape rules and checks, not compiled)."""
    import keras
    import numpy as np

    abstract = keras.backend.backend() == "jax"
    onednn = keras.backend.backend() == "tensorflow" and _onednn()
    results = []
    for i, c in enumerate(configs):
        shape = (1,) + tuple(c["size"]) + (1,)
        pair = []
        for eager in (True, False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if not eager:
                        y = _call(c, keras.KerasTensor(shape, "float32"))
                    elif onednn and _empty_max_pool(c):
                        pair.append(SIGFPE)  # test_onednn_empty_max_pool_kills shows it on a few, one process each
                        continue
                    elif abstract and i % 8:
                        import jax

                        y = jax.eval_shape(lambda x, c=c: _call(c, x), jax.ShapeDtypeStruct(shape, "float32"))
                    else:
                        y = _call(c, keras.ops.convert_to_tensor(np.zeros(shape, "float32")))
                pair.append([int(v) for v in tuple(y.shape)[1:-1]])
            except Exception as e:  # noqa: BLE001 -- any refusal is the framework's answer
                pair.append(_error(e))
        results.append(pair)
    return results


# ---- configurations ---------------------------------------------------------------------------------


def configurations(kind, n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.choice((1, 1, 2, 2, 3))
        top = (1, 12, 9, 6)[r]
        size = [rng.choice((1, 2, rng.randint(1, top), rng.randint(1, top))) for _ in range(r)]
        c = {"kind": kind, "rank": r, "size": size,
             "kernel": [rng.randint(1, 5) for _ in range(r)],
             "stride": [rng.choice((1, 1, 2, 3)) for _ in range(r)],
             "padding": rng.choice(["valid", "same"] * 6 + ["causal", "same_upper"])}
        if kind in ("conv", "convT"):  # strides with dilations often: that is where ops and layers differ
            dilated = rng.random() < 0.5
            c["dilation"] = [rng.choice((1, 2, 3)) if dilated else 1 for _ in range(r)]
        if kind == "convT":
            c["output_padding"] = (None if rng.random() < 0.4
                                   else [rng.randint(0, sj) if rng.random() < 0.8 else rng.randint(0, 4)
                                         for sj in c["stride"]])
        out.append(c)
    return out


def ours(c, backend):
    from tconvcalc import build_layer, forward
    from tconvcalc.errors import InputError, ShapeError

    def axes(values):
        return "x".join(str(v) for v in values)

    kwargs = {"backend": backend, "api": "ops", "kernel": axes(c["kernel"]), "stride": axes(c["stride"]),
              "padding": str(c["padding"])}
    if "dilation" in c:
        kwargs["dilation"] = axes(c["dilation"])
    if c.get("output_padding") is not None:
        kwargs["output_padding"] = axes(c["output_padding"])
    try:
        result = forward(build_layer(c["kind"], "keras", c["rank"], **kwargs), tuple(c["size"]))
    except ShapeError as e:
        return ("refuse", str(e), e.warnings)
    except InputError as e:
        return ("input", str(e))
    return ("ok", list(result.output), result.warnings)


# ---- comparison -------------------------------------------------------------------------------------


REFERENCE = "the reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0"
ONEDNN_WRONG = "returns a wrong non-empty shape"
_EMPTY_START = "The convolution operation resulted in an empty output."


def as_run(mine, onednn):
    """Our answer as this TF kernel mode gives it: on the reference kernels, the refusal our warning names (their
    dilation check comes before any other). The fourth element marks such a refusal."""
    if onednn or mine[0] == "input":
        return mine
    for warning in mine[2]:
        if REFERENCE in warning:
            return ("refuse", warning.split('refuses it: "')[1].split('"')[0], mine[2], "reference")
    return mine


def compare(configs, results, backend, onednn=True):
    """Mismatches of the eager answer, of the refusal's words, and symbolic shapes we do not warn about."""
    mismatches, messages = [], 0
    for c, (eager, symbolic) in zip(configs, results):
        mine = as_run(ours(c, backend), onednn)
        if eager == SIGFPE:
            # not run here (it can kill the worker): the answer is the empty output, and which warning oneDNN's
            # outcome gets (SIGFPE, AbortedError, or none where it returns the empty tensor) is measured per
            # case against real TF in tests/frameworks/test_tf_pool_modes.py
            if mine[0] != "ok" or 0 not in mine[1]:
                mismatches.append((c, mine, "an empty max_pool output not answered as 0"))
            continue
        if onednn and mine[0] == "refuse" and any(ONEDNN_WRONG in w for w in mine[2]) and not isinstance(eager, str):
            continue  # the default kernel's wrong shape, which our warning names; the answer is TF's shape function
        if not isinstance(eager, str):
            if mine[0] != "ok" or mine[1] != eager:
                mismatches.append((c, mine, f"keras.ops gives {eager}"))
            elif symbolic != eager and not any("symbolic" in w for w in mine[2]):
                mismatches.append((c, mine, f"symbolic gives {symbolic} but we do not warn"))
            elif 0 in eager and not mine[2]:
                mismatches.append((c, mine, f"keras.ops gives {eager} (0-size) but we do not warn"))
            continue
        if mine[0] == "ok":
            mismatches.append((c, mine, f"keras.ops refuses: {eager[:300]}"))
            continue
        messages += 1
        core = mine[1].split(" (")[0].split("; ")[0]
        if c["kind"] in ("maxpool", "avgpool") and c["rank"] == 3 and "would be negative" in core:
            core = core.split(":")[0]  # which axis TF names first differs between its 3-D pool kernels
        if not onednn and "BatchToSpaceND" in eager and "must be non-negative" in eager and _EMPTY_START in core:
            continue  # the reference kernels' space_to_batch path refuses an empty dilated conv in its own words
        if core not in eager and not _onednn_words(mine, eager):
            mismatches.append((c, mine, f"message differs; keras: {eager[:400]}"))
        if mine[0] == "refuse" and not isinstance(symbolic, str) and not any("symbolic" in w for w in mine[2]) \
                and mine[-1] != "reference":
            mismatches.append((c, mine, f"symbolic gives {symbolic} but we do not warn"))
    return mismatches, messages


def _onednn_words(mine, why):
    """Our refusal is TF's own message, and a warning names oneDNN's words for it, which keras says."""
    words = "could not create a primitive descriptor"
    return words in why and len(mine) > 2 and any(words in w for w in mine[2])


def _report(mismatches, total, label):
    lines = [f"{len(mismatches)} of {total} keras.ops[{label}] configurations differ:"]
    for c, mine, theirs in mismatches[:20]:
        lines.append(f"  {json.dumps(c)}\n    ours: {mine}\n    {theirs}")
    return "\n".join(lines)


N = int(os.environ.get("TCONVCALC_DIFF_N", "400"))
SEEDS = {"tensorflow": 11, "jax": 12, "torch": 13}


def _configs(backend):
    return [c for i, kind in enumerate(KINDS) for c in configurations(kind, N, SEEDS[backend] * 100 + i)]


def _start(backend, onednn=None):
    """One worker subprocess; onednn None leaves TF's kernel mode as installed (what the environment sets)."""
    configs = _configs(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn else "0"
    stdin, stdout, stderr = (tempfile.TemporaryFile("w+") for _ in range(3))
    json.dump(configs, stdin)
    stdin.seek(0)
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=stdin, stdout=stdout, stderr=stderr,
                            env=env, text=True)
    return proc, configs, stdout, stderr


def _finish(worker, label):
    from tests.frameworks.workers import finished_output  # the pytest side only: the workers run as scripts

    proc, configs, stdout, stderr = worker
    lines = finished_output(proc, stdout, stderr, label)
    onednn = lines[-2] == "onednn"
    return configs, json.loads(lines[-1]), onednn


if __name__ != "__main__":
    import pytest

    pytest.importorskip("keras")

    @pytest.fixture(scope="module")
    def workers():
        """All four workers start at once and run while the first is compared."""
        started = {"jax": _start("jax"), "torch": _start("torch"), "tensorflow": _start("tensorflow", onednn=True),
                   "tensorflow-reference": _start("tensorflow", onednn=False)}
        yield started
        for proc, *_ in started.values():
            if proc.poll() is None:
                proc.kill()

    @pytest.mark.parametrize("label", ["tensorflow", "tensorflow-reference", "jax", "torch"])
    def test_backend(workers, label):
        configs, results, onednn = _finish(workers[label], label)
        backend = label.split("-")[0]
        mismatches, messages = compare(configs, results, backend, onednn)
        assert not mismatches, _report(mismatches, len(configs), label)
        assert messages >= len(configs) // 10  # refusals whose words were compared


    def test_onednn_empty_max_pool_kills():
        """What the workers do not run: an empty VALID max_pool on oneDNN, in a process of its own, dies of SIGFPE
        (and our answer, the empty size, warns so); on the reference kernels it returns the empty tensor."""
        c = {"kind": "maxpool", "rank": 1, "size": [2], "kernel": [3], "stride": [1], "padding": "valid"}
        assert _empty_max_pool(c)
        script = ("import os, numpy as np, keras; from keras import ops; "
                  "print(ops.max_pool(ops.convert_to_tensor(np.zeros((1, 2, 1), 'float32')), (3,), strides=(1,), "
                  "padding='valid').shape)")
        seen = {}
        for onednn in ("1", "0"):
            env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS=onednn)
            done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
            if "No module named" in done.stderr:
                pytest.skip("tensorflow unavailable")
            seen[onednn] = (done.returncode, done.stdout.strip().splitlines()[-1:] or [""])
        assert seen["1"][0] == -8, seen  # SIGFPE
        assert seen["0"] == (0, ["(1, 0, 1)"]), seen
        mine = ours(c, "tensorflow")
        assert mine[0] == "ok" and mine[1] == [0] and any("floating point exception" in w for w in mine[2]), mine


if __name__ == "__main__":
    configs = json.load(sys.stdin)
    import keras  # noqa: F401  (KERAS_BACKEND from the environment)

    mode = "reference" if os.environ.get("KERAS_BACKEND") == "tensorflow" and not _onednn() else "onednn"
    results = keras_results(configs)
    sys.stdout.write(f"\n{mode}\n{json.dumps(results)}\n")
