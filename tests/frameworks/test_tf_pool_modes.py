"""Differential test: TF pools (tf.nn.max_pool/avg_pool 1-D/2-D/3-D, VALID, SAME and explicit pads) and Keras
MaxPooling/AveragePooling on the tensorflow backend, windows larger than the input among them, in every mode TF
runs them: eager, a tf.function traced with the static shape and one of unknown (None) dims; Keras called eagerly,
in a Model (static and None dims) and in a tf.function -- each with oneDNN on (the default on x86) and off, in
subprocesses. What each mode must give is read from our answer and the warnings it carries: the answer is the
default's (eager, oneDNN), and a warning names what a mode does differently (graph shape inference refuses an
empty output; oneDNN's empty max_pool aborts or kills the process)."""

import json
import os
import random
import re
import subprocess
import sys

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer

TF_MODES = ("eager", "graph_static", "graph_unknown")
KERAS_MODES = ("k_eager", "k_model", "k_model_none", "k_function")
N = int(os.environ.get("TCONVCALC_POOL_MODES_N", "24"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _configs(seed, count):
    """Random pools, about half with a window larger than the input on some axis; every empty VALID max_pool
    whose process oneDNN would kill costs a restart, so those stay few."""
    rng = random.Random(seed)
    configs = []
    while len(configs) < count:
        rank, op = rng.randint(1, 3), rng.choice(["max", "avg"])
        size = [rng.randint(1, 6) for _ in range(rank)]
        kernel = [rng.randint(1, 8) if rng.random() < 0.5 else rng.randint(1, n) for n in size]
        stride = [rng.randint(1, 3) for _ in range(rank)]
        padding = rng.choice(["VALID", "VALID", "SAME", "explicit"])
        if padding == "explicit":
            if op == "avg" or rank == 3:  # explicit pads: tf.nn.max_pool1d/2d only
                continue
            padding = [[rng.randint(0, min(2, k - 1)) for _ in range(2)] for k in kernel]
        configs.append({"op": op, "rank": rank, "size": size, "kernel": kernel, "stride": stride, "padding": padding})
    return configs


# ---- the worker: one (config, mode) per line, run in the subprocess ------------------------------------------

def _run(c, mode):
    import tensorflow as tf

    rank, x = c["rank"], tf.zeros([1, *c["size"], 2])
    if mode.startswith("k_"):
        import keras

        cls = getattr(keras.layers, f"{'MaxPooling' if c['op'] == 'max' else 'AveragePooling'}{rank}D")
        layer = cls(pool_size=c["kernel"], strides=c["stride"], padding=c["padding"].lower())
        if mode == "k_eager":
            y = layer(x)
        elif mode == "k_function":
            y = tf.function(layer)(x)
        else:
            shape = (*c["size"], 2) if mode == "k_model" else (*[None] * rank, 2)
            inputs = keras.Input(shape=shape)
            y = keras.Model(inputs, layer(inputs))(x)
        return list(y.shape[1:-1])
    pool = getattr(tf.nn, f"{c['op']}_pool{rank}d")
    padding = c["padding"] if isinstance(c["padding"], str) else [[0, 0], *c["padding"], [0, 0]]
    call = lambda t: pool(t, ksize=c["kernel"], strides=c["stride"], padding=padding)  # noqa: E731
    if mode == "eager":
        y = call(x)
    elif mode == "graph_static":
        y = tf.function(call)(x)
    else:
        y = tf.function(call, input_signature=[tf.TensorSpec([None] * (rank + 2), tf.float32)])(x)
    return list(y.shape[1:-1])


def _worker(start):
    items = json.load(sys.stdin)
    for i in range(start, len(items)):
        try:
            outcome = _run(*items[i])
        except Exception as error:  # InvalidArgumentError, AbortedError, ValueError
            outcome = "refused " + type(error).__name__ + ": " + _ANSI.sub("", str(error))[:1500]
        print(json.dumps([i, outcome]), flush=True)


def run_modes(items, onednn):
    """Each (config, mode)'s outcome in a subprocess with TF_ENABLE_ONEDNN_OPTS=onednn: a shape, 'refused ...',
    or 'killed by signal N' -- then the next item runs in a fresh process."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    code = "import sys; sys.path.insert(0, %r); import test_tf_pool_modes as t; t._worker(int(sys.argv[1]))" % (
        os.path.dirname(os.path.abspath(__file__)))
    results, start = {}, 0
    while start < len(items):
        done = subprocess.run([sys.executable, "-c", code, str(start)], input=json.dumps(items), capture_output=True,
                              text=True, env=env, timeout=600)
        for line in done.stdout.splitlines():
            if line.startswith("["):
                i, outcome = json.loads(line)
                results[i] = outcome
        start = max(results, default=-1) + 1
        if done.returncode != 0:
            assert done.returncode < 0, done.stderr[-2000:]  # killed by a signal, not a Python error
            results[start] = f"killed by signal {-done.returncode}"
            start += 1
    return [results[i] for i in range(len(items))]


# ---- what each mode must give, from our answer -------------------------------------------------------------

def _ours(c, framework):
    padding = c["padding"].lower() if isinstance(c["padding"], str) else "x".join(f"{b}:{a}" for b, a in c["padding"])
    try:
        layer = build_layer(f"{c['op']}pool", framework, c["rank"], kernel="x".join(map(str, c["kernel"])),
                            stride="x".join(map(str, c["stride"])), padding=padding)
        result = forward(layer, tuple(c["size"]))
        return list(result.output), " ".join(result.warnings)
    except (InputError, ShapeError) as error:
        return ("refused", str(error)), " ".join(getattr(error, "warnings", ()))


def _tf_expected(c, mode, onednn):
    """tf.nn in this mode: our answer, but where our warnings name what this mode or kernel does instead."""
    answer, warned = _ours(c, "tf")
    if mode == "graph_static" and isinstance(answer, tuple) and answer[1].startswith("Computed output size would be "
                                                                                   "negative"):
        return ("refused", "Negative dimension size caused by subtracting")  # the same refusal, in shape inference
    if mode == "graph_static" and "traced with this static shape, shape inference refuses it" in warned:
        return ("refused", warned.split('refuses it: "')[1].split('"')[0])
    if onednn == "1" and mode != "graph_static":
        if "max_pool raises AbortedError 'could not create a descriptor for a pooling" in warned:
            return ("refused", "could not create a descriptor for a pooling forward propagation primitive")
        if "max_pool kills the process with a floating point exception (SIGFPE)" in warned:
            return "killed by signal 8"
    return answer


def _keras_expected(c, mode, onednn):
    """Keras: in a Model our answer; a refused empty output where our message says which calls run tf.nn."""
    answer, _ = _ours(c, "keras")
    if isinstance(answer, list):
        return answer
    message = answer[1]
    if mode == "k_model":  # Keras's words up to our aside, the channels (C) as run: 2
        return ("refused", message.split(" (In a Model")[0].replace(" C]", " 2]"))
    if mode == "k_function":
        assert "a tf.function of this static shape refuses it in shape inference" in message, message
        return ("refused", "Negative dimension size caused by subtracting")
    assert "called eagerly on a tensor" in message and "a Model whose Input has None dims" in message, message
    return _tf_expected(c, "eager", onednn)


def _matches(expected, outcome):
    if isinstance(expected, tuple):  # ("refused", words TF's message must hold)
        return isinstance(outcome, str) and outcome.startswith("refused") and expected[1] in outcome
    return expected == outcome


def _compare(onednn):
    configs = _configs(31 if onednn == "1" else 32, N)
    keras_configs = [c for c in configs if isinstance(c["padding"], str)]
    items = [[c, m] for c in configs for m in TF_MODES] + [[c, m] for c in keras_configs for m in KERAS_MODES]
    outcomes = run_modes(items, onednn)
    wrong, seen = [], set()
    for (c, mode), outcome in zip(items, outcomes):
        expected = (_keras_expected if mode.startswith("k_") else _tf_expected)(c, mode, onednn)
        if not _matches(expected, outcome):
            wrong.append(f"{mode} oneDNN={onednn} {json.dumps(c)}: ours {str(expected)[:200]}, TF {str(outcome)[:300]}")
        seen.add((mode, "empty" if isinstance(outcome, list) and 0 in outcome else
                  outcome.split(":")[0] if isinstance(outcome, str) else "size"))
    assert not wrong, f"{len(wrong)} of {len(items)} differ:\n" + "\n".join(wrong[:15])
    return seen


@pytest.mark.parametrize("onednn", ["1", "0"])
def test_pools_in_every_mode_match_tf(onednn):
    """Random pools, each in every mode; the sample must hold empty outputs, refusals and (oneDNN) the kill."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    seen = _compare(onednn)
    assert {("eager", "empty"), ("graph_unknown", "empty"), ("k_model_none", "empty")} <= seen, seen
    assert {("graph_static", "refused ValueError"), ("k_model", "refused ValueError"), ("eager", "size")} <= seen, seen


def test_onednn_empty_max_pool_rule():
    """The three things oneDNN's empty VALID max_pool does, each case run: abort (an empty axis with
    n - k + s > 0), SIGFPE (else an empty W), the empty tensor (only leading axes empty); and explicit pads
    run the reference kernel's empty tensor."""
    pytest.importorskip("tensorflow")
    cases = [{"op": "max", "rank": 1, "size": [2], "kernel": [3], "stride": [3], "padding": "VALID"},
             {"op": "max", "rank": 2, "size": [4, 1], "kernel": [1, 3], "stride": [1, 2], "padding": "VALID"},
             {"op": "max", "rank": 2, "size": [1, 4], "kernel": [3, 1], "stride": [2, 1], "padding": "VALID"},
             {"op": "max", "rank": 3, "size": [4, 1, 4], "kernel": [1, 4, 1], "stride": [1, 2, 1], "padding": "VALID"},
             {"op": "max", "rank": 3, "size": [1, 4, 3], "kernel": [2, 1, 5], "stride": [2, 1, 2], "padding": "VALID"},
             {"op": "max", "rank": 1, "size": [3], "kernel": [8], "stride": [3], "padding": [[0, 1]]}]
    outcomes = run_modes([[c, "eager"] for c in cases], "1")
    kinds = []
    for c, outcome in zip(cases, outcomes):
        expected = _tf_expected(c, "eager", "1")
        assert _matches(expected, outcome), (c, expected, outcome)
        kinds.append("abort" if isinstance(expected, tuple) else "kill" if isinstance(expected, str) else "empty")
    assert kinds == ["abort", "kill", "empty", "empty", "abort", "empty"], kinds
