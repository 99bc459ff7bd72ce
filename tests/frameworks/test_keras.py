"""Differential test: tconvcalc's keras rules against keras 3 itself, on its three backends.

The tensorflow backend runs in this process; the jax and torch backends each run in one
subprocess (this file run as a script, KERAS_BACKEND in its environment) that reads a JSON list
of configurations on stdin and prints a JSON list of results.

Every configuration is built twice: on a keras.Input (symbolic, as in a Model) and called eagerly
on a (1, *size, 1) tensor. tconvcalc answers for a layer in a Model: the Model refuses when the
symbolic build refuses or when the layer cannot run at all (the tensorflow backend's
tf.nn.conv_transpose re-validation); where eager calls give a 0-size tensor instead, tconvcalc
must say so. TCONVCALC_DIFF_N configurations per layer kind and backend (default 1000).
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings

if __name__ != "__main__":  # the jax/torch workers get KERAS_BACKEND from their environment
    os.environ["KERAS_BACKEND"] = "tensorflow"
# TF's kernels as the environment sets them up (CI: the default, oneDNN on x86); compare() knows either.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

keras = pytest.importorskip("keras")

ANSI = re.compile(r"\x1b\[[0-9;]*m")
KINDS = ("conv", "convT", "maxpool", "avgpool", "upsample", "pad")
ZEROS = {"kernel_initializer": "zeros", "use_bias": False}  # no random initialisation to compile per shape


# ---- the keras side (also run by the workers) ------------------------------------------------------


def _keras_layer(c):
    layers = keras.layers
    r, kind = c["rank"], c["kind"]
    if kind == "upsample":
        size = c["scale"][0] if r == 1 else tuple(c["scale"])
        return getattr(layers, f"UpSampling{r}D")(size)
    if kind == "pad":  # crops where no value is positive; else ZeroPadding, which refuses a negative value
        pairs = tuple(tuple(pair) for pair in c["padding"])
        if max(v for pair in pairs for v in pair) <= 0:
            name, pairs = f"Cropping{r}D", tuple((-b, -a) for b, a in pairs)
        else:
            name = f"ZeroPadding{r}D"
        return getattr(layers, name)(pairs[0] if r == 1 else pairs)
    k, s = tuple(c["kernel"]), tuple(c["stride"])
    pad = c["padding"]
    if kind in ("maxpool", "avgpool"):
        name = ("MaxPooling{}D" if kind == "maxpool" else "AveragePooling{}D").format(r)
        return getattr(layers, name)(k, strides=s, padding=pad)
    d = tuple(c["dilation"])
    if kind == "conv":
        return getattr(layers, f"Conv{r}D")(1, k, strides=s, padding=pad, dilation_rate=d, **ZEROS)
    op = None if c["output_padding"] is None else tuple(c["output_padding"])
    return getattr(layers, f"Conv{r}DTranspose")(1, k, strides=s, padding=pad, output_padding=op, dilation_rate=d,
                                                 **ZEROS)


def _error(e):
    return f"{type(e).__name__}: {ANSI.sub('', str(e))[:700]}"


def keras_results(configs):
    """For each configuration: [symbolic, eager], each a spatial shape (list) or an error string.

    On the jax backend every eager call compiles XLA code (~50 ms); there the eager shape of a
    configuration that builds with no 0-size axis is taken, for 7 in 8 of them, from jax.eval_shape
    of the layer's call (the same lax shape rules, not compiled). Every configuration where eager
    may differ from the Model (a symbolic refusal or a 0-size axis) is really called.
    """
    import numpy as np

    abstract = keras.backend.backend() == "jax"
    results = []
    for i, c in enumerate(configs):
        shape = (1,) + tuple(c["size"]) + (1,)
        pair = []
        for eager in (False, True):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if not eager:
                        y = _keras_layer(c)(keras.Input(shape=shape[1:]))
                    elif c["kind"] == "maxpool" and isinstance(pair[0], str) and _onednn_eager():
                        pair.append("not run: oneDNN's empty max_pool kills the process (SIGFPE)")
                        continue
                    elif abstract and i % 8 and not isinstance(pair[0], str) and 0 not in pair[0]:
                        import jax

                        layer = _keras_layer(c)
                        layer.build(shape)
                        y = jax.eval_shape(layer, jax.ShapeDtypeStruct(shape, "float32"))
                    else:
                        y = _keras_layer(c)(np.zeros(shape, "float32"))
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
        size = [rng.choice((1, 1, 2, rng.randint(1, top), rng.randint(1, top))) for _ in range(r)]
        c = {"kind": kind, "rank": r, "size": size}
        if kind == "upsample":
            c["scale"] = [rng.randint(1, 4) for _ in range(r)]
            out.append(c)
            continue
        if kind == "pad":  # pads, crops (often as large as the size) and, now and then, both
            sign = rng.choice((1, 1, -1, -1, 0))
            c["padding"] = [[sign * rng.randint(0, n) if sign else rng.randint(-2, 3) for _ in "ba"] for n in size]
            out.append(c)
            continue
        c["kernel"] = [rng.randint(1, 6) for _ in range(r)]
        c["stride"] = [rng.choice((1, 1, 2, 3, 4)) for _ in range(r)]
        words = ["valid", "same"] * 8 + ["causal", "causal", "same_upper", 1, 2, -1]
        c["padding"] = rng.choice(words)
        if kind in ("conv", "convT"):
            dilated = rng.random() < 0.3
            c["dilation"] = [rng.choice((1, 2, 3)) if dilated else 1 for _ in range(r)]
            if dilated and rng.random() < 0.7:  # mostly stride 1, so the dilation rules are reached
                c["stride"] = [1] * r
        if kind == "convT":
            c["output_padding"] = (None if rng.random() < 0.4
                                   else [rng.randint(0, sj) if rng.random() < 0.85 else rng.randint(0, 5)
                                         for sj in c["stride"]])
        out.append(c)
    return out


def ours(c, backend):
    from tconvcalc import build_layer, forward
    from tconvcalc.errors import InputError, ShapeError

    def axes(values):
        return "x".join(str(v) for v in values)

    kwargs = {"backend": backend}
    if c["kind"] == "upsample":
        kwargs["scale"] = axes(c["scale"])
    elif c["kind"] == "pad":
        kwargs["padding"] = axes(f"{b}:{a}" for b, a in c["padding"])
    else:
        kwargs.update(kernel=axes(c["kernel"]), stride=axes(c["stride"]), padding=str(c["padding"]))
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


def _sets_sorted(text):
    """{'same', 'valid'} in either order: Python set order varies between runs."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def _our_core(message):
    """Our message as Keras prints it: our own remarks dropped, the channel placeholders as 1."""
    core = re.split(r" \((?:In a Model|keras on the)", message)[0]
    core = core.replace(", C)", ", 1)").replace("C, filters)", "1, 1)").replace(" C]", " 1]")
    return _sets_sorted(core)


def compare(configs, results, backend):
    mismatches, messages_checked = [], 0
    for c, (sym, eager) in zip(configs, results):
        mine = reference_kernels(ours(c, backend), backend)
        if isinstance(sym, str):
            truth, why = "refuse", sym
        elif isinstance(eager, str):
            truth, why = "refuse", eager  # builds in a Model, but cannot run
        else:
            if sym != eager:
                mismatches.append((c, mine, f"keras symbolic {sym} but eager {eager}"))
                continue
            truth, why = "ok", sym
        if truth == "ok":
            if mine[0] != "ok" or mine[1] != sym:
                mismatches.append((c, mine, f"keras gives {sym}"))
            elif 0 in sym and not mine[2]:
                mismatches.append((c, mine, f"keras gives {sym} (0-size) but we do not warn"))
            continue
        if mine[0] == "ok":
            mismatches.append((c, mine, f"keras refuses: {why[:300]}"))
            continue
        if mine[0] == "refuse" or (mine[0] == "input" and isinstance(c.get("padding"), str)):
            # "input": a padding word the layer's constructor refuses, exit 2 in Keras's words
            messages_checked += 1
            core = _our_core(mine[1])
            if core not in _sets_sorted(why) and not _onednn_words(mine, why):
                mismatches.append((c, mine, f"message differs; keras: {why[:400]}"))
            if isinstance(sym, str) and not isinstance(eager, str) and "eagerly" not in mine[1]:
                mismatches.append((c, mine, f"eager gives {eager} but our refusal does not say so"))
        elif not (isinstance(c.get("padding"), int) or _pads_and_crops(c)):  # the only unusable inputs here
            mismatches.append((c, mine, f"unusable input on our side, keras: {why[:300]}"))
    return mismatches, messages_checked


def _onednn_eager():
    return keras.backend.backend() == "tensorflow" and _onednn()


def _onednn():
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def reference_kernels(mine, backend):
    """Our answer as the tensorflow backend gives it on TF's reference CPU kernels (TF_ENABLE_ONEDNN_OPTS=0), when
    this process runs them: what our warning says they refuse becomes that refusal."""
    if backend != "tensorflow" or mine[0] != "ok" or _onednn():
        return mine
    for warning in mine[2]:
        if "the reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0" in warning:
            return ("refuse", warning.split('refuses it: "')[1].split('"')[0])
    return mine


def _onednn_words(mine, why):
    """Our refusal names the kernel-dependent words for it, and keras says them: oneDNN's, or the reference
    kernel's dilation refusal, which that kernel checks before the sizes (the default where oneDNN is off)."""
    return any(words in why and len(mine) > 2 and any(words in w for w in mine[2])
               for words in ("could not create a primitive descriptor",
                             "Current CPU implementations do not yet support dilation rates larger than 1"))


def _pads_and_crops(c):
    """A pad layer with positive and negative amounts: two Keras layers, each refusing a negative value."""
    values = [v for pair in c["padding"] for v in pair] if c["kind"] == "pad" else [0]
    return min(values) < 0 < max(values)


def _report(mismatches, total, backend):
    lines = [f"{len(mismatches)} of {total} keras[{backend}] configurations differ:"]
    for c, mine, theirs in mismatches[:20]:
        lines.append(f"  {json.dumps(c)}\n    ours: {mine}\n    {theirs}")
    return "\n".join(lines)


N = int(os.environ.get("TCONVCALC_DIFF_N", "1000"))
SEEDS = {"tensorflow": 1, "jax": 2, "torch": 3}


def _configs(backend):
    return [c for i, kind in enumerate(KINDS) for c in configurations(kind, N, SEEDS[backend] * 100 + i)]


@pytest.fixture(scope="module")
def workers():
    """Start the jax and torch workers first, so they run while the tensorflow backend is checked here."""
    started = {}
    for backend in ("jax", "torch"):
        configs = _configs(backend)
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        stdin, stdout, stderr = (tempfile.TemporaryFile("w+") for _ in range(3))
        json.dump(configs, stdin)
        stdin.seek(0)
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=stdin, stdout=stdout,
                                stderr=stderr, env=env, text=True)
        started[backend] = (proc, configs, stdout, stderr)
    yield started
    for proc, *_ in started.values():
        if proc.poll() is None:
            proc.kill()


def test_tensorflow_backend(workers):
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend before this module")
    configs = _configs("tensorflow")
    mismatches, checked = compare(configs, keras_results(configs), "tensorflow")
    assert not mismatches, _report(mismatches, len(configs), "tensorflow")
    assert checked >= len(configs) // 10  # refusals whose message was compared


def test_accepted_outputs_are_the_projection():
    """Multi-axis Conv*DTranspose: an axis accepts an output when some whole layer gives it -- output_padding None on
    every axis, or an int on every axis -- and runs (issue 10: 11x156 k3x8 s2x1 'same' accepts only 22 on H: the ints
    that give 21 force 155 on W, which tf.nn.conv_transpose refuses)."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend before this module")
    import itertools

    rng = random.Random("keras-projection")
    cases = [{"kind": "convT", "rank": 2, "size": [11, 156], "kernel": [3, 8], "stride": [2, 1], "padding": "same",
              "dilation": [1, 1]}]
    for _ in range(40):
        r = rng.choice((2, 2, 3))
        cases.append({"kind": "convT", "rank": r, "size": [rng.randint(2, 7) for _ in range(r)],
                      "kernel": [rng.randint(1, 5) for _ in range(r)], "stride": [rng.randint(1, 3) for _ in range(r)],
                      "padding": rng.choice(("valid", "same", "same")), "dilation": [1] * r})
    runs = [dict(c, output_padding=op) for c in cases
            for op in [None, *map(list, itertools.product(*(range(sj) for sj in c["stride"])))]]
    results = iter(keras_results(runs))
    problems = []
    for c in cases:
        given = [set() for _ in c["size"]]
        for op in [None, *itertools.product(*(range(sj) for sj in c["stride"]))]:
            sym, eager = next(results)
            if not isinstance(sym, str) and not isinstance(eager, str) and 0 not in sym:
                for axis, o in enumerate(sym):
                    given[axis].add(o)
        mine = ours(dict(c, output_padding=None), "tensorflow")
        if mine[0] != "ok":
            if any(given):
                problems.append((c, mine, given))
            continue
        from tconvcalc import build_layer, forward

        layer = build_layer("convT", "keras", c["rank"], kernel="x".join(map(str, c["kernel"])),
                            stride="x".join(map(str, c["stride"])), padding=c["padding"])
        accepted = [set(a) for a in forward(layer, tuple(c["size"])).accepted_outputs]
        if accepted != given:
            problems.append((c, accepted, given))
    assert not problems, problems[:5]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backend(workers, backend):
    from tests.frameworks.workers import finished_output  # the pytest side only: the workers run as scripts

    proc, configs, stdout, stderr = workers[backend]
    results = json.loads(finished_output(proc, stdout, stderr, backend)[-1])
    mismatches, checked = compare(configs, results, backend)
    assert not mismatches, _report(mismatches, len(configs), backend)
    assert checked >= len(configs) // 10  # refusals whose message was compared


if __name__ == "__main__":
    sys.stdout.write("\n" + json.dumps(keras_results(json.load(sys.stdin))) + "\n")
