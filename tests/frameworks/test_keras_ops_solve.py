"""Differential test: solve --api ops (and --api layers) against keras.ops itself, on its three backends.

For random small 1-D cases, every candidate of solve's domain (kernel 1..K, stride 1..S, dilation 1..D, each padding
word, output_padding None and 0..max(s, d)-1) is called eagerly with keras.ops.conv / conv_transpose on a (1, n, 1)
tensor, one subprocess per backend (this file run as a script, KERAS_BACKEND in its environment, TF as installed:
oneDNN on x86). The layers keras.ops accepts and that land on the target are the exact solution set: solve must list
each of them (as one layer per set of applied pads and output) and nothing else. The layers API must list no conv
with strides > 1 and dilation > 1; keras.ops on jax and torch gives such solutions, on tensorflow it refuses them.
The same workers run conv_transpose with output_padding 0..7 (keras.ops on jax/torch take any), against forward().
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import warnings

K, S, D = 3, 3, 2  # solve's bounds here
WORDS = ("valid", "same", "same_upper", "same_lower", "causal")  # every word solve tries (tconvcalc.layer)
BACKENDS = ("tensorflow", "jax", "torch")
SIZES = int(os.environ.get("TCONVCALC_DIFF_N", "2"))  # input sizes per kind and backend; each with many targets


# ---- the keras side (run by the workers) ----------------------------------------------------------


def _call(c, x):
    import numpy as np
    from keras import ops

    w = ops.convert_to_tensor(np.zeros((c["k"], 1, 1), "float32"))
    if c["kind"] == "conv":
        return ops.conv(x, w, strides=c["s"], padding=c["padding"], dilation_rate=c["d"])
    return ops.conv_transpose(x, w, strides=c["s"], padding=c["padding"], output_padding=c["op"],
                              dilation_rate=c["d"])


def keras_outputs(calls):
    """Each call's output length, or the error's class name (a refusal). jax: jax.eval_shape (the same shape rules
    and checks, not compiled), one call in 128 run for real."""
    import keras
    import numpy as np

    abstract = keras.backend.backend() == "jax"
    results = []
    for i, c in enumerate(calls):
        shape = (1, c["n"], 1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if abstract and i % 128:
                    import jax

                    y = jax.eval_shape(lambda x, c=c: _call(c, x), jax.ShapeDtypeStruct(shape, "float32"))
                else:
                    y = _call(c, keras.ops.convert_to_tensor(np.zeros(shape, "float32")))
            results.append(int(tuple(y.shape)[1]))
        except Exception as e:  # noqa: BLE001 -- any refusal is the framework's answer
            results.append(type(e).__name__)
    return results


# ---- cases and the domain ------------------------------------------------------------------------


def inputs(backend):
    """(kind, n): the domain is called once per input size, and read for every target."""
    rng = random.Random(BACKENDS.index(backend) + 40)
    return [(kind, rng.randint(2, 12)) for kind in ("conv", "convT") for _ in range(SIZES)]


def cases(kind, n, backend):
    """Targets for one input: a conv's every output 1..n, a convT's six of n..3n+3."""
    if kind == "conv":
        return [{"kind": kind, "n": n, "target": t} for t in range(1, n + 1)]
    rng = random.Random(n * 7 + BACKENDS.index(backend))
    return [{"kind": kind, "n": n, "target": t} for t in sorted(rng.sample(range(n, 3 * n + 4), 6))]


def domain(case):
    """solve's domain for one input (case: kind and n), as keras.ops calls."""
    calls = []
    for k in range(1, K + 1):
        for s in range(1, S + 1):
            for d in range(1, D + 1):
                ops = [None] + list(range(max(s, d))) if case["kind"] == "convT" else [None]
                for word in WORDS:
                    calls += [{"kind": case["kind"], "n": case["n"], "k": k, "s": s, "d": d, "padding": word,
                               "op": op} for op in ops]
    return calls


def op_scan():
    """conv_transpose with output_padding 0..7, beyond strides: keras.ops on jax/torch run them all."""
    rng = random.Random(7)
    return [{"kind": "convT", "n": rng.randint(1, 6), "k": rng.randint(1, 4), "s": rng.randint(1, 3),
             "d": rng.randint(1, 2), "padding": rng.choice(("valid", "same")), "op": op}
            for _ in range(8) for op in range(8)]


# ---- our side ------------------------------------------------------------------------------------


def _layer(c, backend, api="ops"):
    from tconvcalc.layer import build_layer

    return build_layer(c["kind"], "keras", 1, kernel=str(c["k"]), stride=str(c["s"]), dilation=str(c["d"]),
                       padding=c["padding"], output_padding=None if c.get("op") is None else str(c["op"]),
                       backend=backend, api=api)


def _identity(layer, size):
    """The layer as solve tells layers apart (applied pads, output padding, output): tconvcalc.solve.layer_identity."""
    from tconvcalc.forward import evaluate
    from tconvcalc.solve import layer_identity

    axes, _ = evaluate(layer, size)
    return layer_identity(layer, axes)


ONEDNN_WRONG = "returns a wrong non-empty shape"  # keras_ops.py: the TF default kernel's wrong size, warned


def expected(case, calls, results, backend):
    """The identities of the candidates keras.ops accepts with the target, and the ones it gives it for."""
    from tconvcalc.errors import TconvError
    from tconvcalc.forward import forward

    found, mismatches = set(), []
    for c, out in zip(calls, results):
        if out != case["target"]:
            continue
        c = {**c, "target": case["target"]}
        layer = _layer(c, backend)
        try:
            result = forward(layer, (c["n"],))
        except TconvError as e:
            if not any(ONEDNN_WRONG in w for w in getattr(e, "warnings", ())):
                mismatches.append((c, f"keras.ops gives {out}; forward refuses: {e}"))
            continue
        if result.output != (out,):
            mismatches.append((c, f"keras.ops gives {out}; forward gives {result.output}"))
            continue
        found.add(_identity(layer, (c["n"],)))
    return found, mismatches


def solved(case, backend, api):
    from tconvcalc.solve import Bounds, solve

    fixed = {"api": api}
    result = solve((case["n"],), (case["target"],), (case["kind"],), ("keras",), Bounds(K, S, D, 0), fixed, backend,
                   limit=0)
    return result.solutions


def _solution_call(case, solution):
    """The keras.ops call a solution spells (output_padding None: Keras infers it)."""
    op = solution.output_padding if solution.layer == "convT" else None
    return {**case, "k": solution.kernel, "s": solution.stride, "d": solution.dilation,
            "padding": solution.padding, "op": op}


def compare(backend, results):
    """Mismatches between solve --api ops and keras.ops; the strided dilated convs listed (ops, layers)."""
    index, mismatches, seen = 0, [], {"ops": 0, "layers": 0}
    for kind, n in inputs(backend):
        calls = domain({"kind": kind, "n": n})
        outs = results[index:index + len(calls)]
        index += len(calls)
        for case in cases(kind, n, backend):
            mismatches += _compare_case(case, calls, outs, backend, seen)
    return mismatches, seen, index


def _compare_case(case, calls, outs, backend, seen):
    mismatches = []
    want, wrong = expected(case, calls, outs, backend)
    mismatches += wrong
    accepted = {json.dumps({**c, "target": case["target"]}, sort_keys=True)
                for c, out in zip(calls, outs) if out == case["target"]}
    solutions = solved(case, backend, "ops")
    got = set()
    for solution in solutions:
        spelled = _solution_call(case, solution)
        if json.dumps(spelled, sort_keys=True) not in accepted:
            mismatches.append((case, f"solve lists {solution.code}, which keras.ops does not give "
                                     f"{case['target']} for"))
        got.add(_identity(_layer(spelled, backend), (case["n"],)))
        seen["ops"] += _strided_dilated_conv(solution)
    for missing in want - got:
        mismatches.append((case, f"solve misses {missing}"))
    for solution in solved(case, backend, "layers"):
        if _strided_dilated_conv(solution):
            mismatches.append((case, f"the layers api lists {solution.code}"))
            seen["layers"] += 1
    return mismatches


def _strided_dilated_conv(solution):
    return solution.layer == "conv" and solution.stride > 1 and solution.dilation > 1


def compare_op_scan(backend, calls, results):
    from tconvcalc.errors import TconvError
    from tconvcalc.forward import forward

    mismatches = []
    for c, out in zip(calls, results):
        try:
            mine = forward(_layer(c, backend), (c["n"],)).output[0]
        except TconvError:
            mine = "refuses"
        if isinstance(out, str) != (mine == "refuses") or (isinstance(out, int) and mine != out):
            mismatches.append((c, f"keras.ops: {out}, forward: {mine}"))
    return mismatches


# ---- the workers -------------------------------------------------------------------------------------


def _start(backend):
    calls = [c for kind, n in inputs(backend) for c in domain({"kind": kind, "n": n})] + op_scan()
    # TF as installed on x86 (oneDNN: it runs dilated transposed convs); a machine without AVX512 defaults otherwise
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="1")
    stdin, stdout, stderr = (tempfile.TemporaryFile("w+") for _ in range(3))
    json.dump(calls, stdin)
    stdin.seek(0)
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=stdin, stdout=stdout, stderr=stderr,
                            env=env, text=True)
    return proc, stdout, stderr


def _finish(worker, backend):
    from tests.frameworks.workers import finished_output  # the pytest side only: the workers run as scripts

    return json.loads(finished_output(*worker, backend)[-1])


def _report(mismatches, backend):
    return "\n".join([f"{len(mismatches)} keras.ops[{backend}] differences:"] +
                     [f"  {json.dumps(c)}: {why}" for c, why in mismatches[:20]])


if __name__ != "__main__":
    import pytest

    pytest.importorskip("keras")

    @pytest.fixture(scope="module")
    def workers():
        started = {backend: _start(backend) for backend in BACKENDS}
        yield started
        for proc, *_ in started.values():
            if proc.poll() is None:
                proc.kill()

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_solve_is_keras_ops(workers, backend):
        results = _finish(workers[backend], backend)
        mismatches, seen, used = compare(backend, results)
        mismatches += compare_op_scan(backend, op_scan(), results[used:])
        assert not mismatches, _report(mismatches, backend)
        assert seen["layers"] == 0
        if backend == "tensorflow":  # tf.nn.convolution refuses strides > 1 with dilation > 1
            assert seen["ops"] == 0
        else:  # the test can fail: the cases hold solutions only keras.ops has
            assert seen["ops"] > 0, seen
        if backend != "tensorflow":  # output_padding beyond strides runs, and was compared
            assert all(isinstance(out, int) for out in results[used:])


if __name__ == "__main__":
    calls = json.load(sys.stdin)
    import keras  # noqa: F401  (KERAS_BACKEND from the environment)

    sys.stdout.write("\n" + json.dumps(keras_outputs(calls)) + "\n")
