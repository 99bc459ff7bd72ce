"""verify(): run a layer on random data and prove its shape and values.

Three checks, each of which can fail on its own:

1. the executor's output shape equals forward()'s prediction;
2. the adjoint identity <conv(x), y> = <x, convT(y)> for the matching pair (the transposed conv is
   the transpose of the conv's matrix), to 1e-6 relative in float64 -- conv is computed as a gather
   and convT as a scatter, so this checks the two against each other;
3. where the framework is installed, its values equal the executor's to 1e-5 (scaled by the output's
   magnitude where the framework runs in float32: onnxruntime, jax without x64).

Pools, max-unpool, upsampling and pixel shuffle have no adjoint pair: for them verify checks the shape
and the framework's values (``adjoint_rel_error`` is None and a note says so). Max-unpool runs on the
executor's own maxpool of random data (values and indices), with the unpool's kernel, stride and pads.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import backends, kinds, layers
from .executor import buffers, check_held, check_size, geometry, run, weight_shape

ADJOINT_TOLERANCE = 1e-6
FRAMEWORK_TOLERANCE = 1e-5


@dataclass(frozen=True)
class VerifyResult:
    framework: str
    layer: str
    input: tuple
    output_shape: tuple  # the executor's output, spatial axes
    predicted: tuple  # forward()'s output
    ok: bool
    adjoint_rel_error: float | None  # None: not a conv/convT (no adjoint pair)
    framework_max_abs_diff: float | None  # None: the framework is not installed or has no such op
    framework_note: str | None
    failures: tuple  # one line per failed check
    notes: tuple


def random_data(rng, shape):
    """Uniform(-1, 1) values exactly representable in float32, held in float64: a framework that
    runs in float32 then sees the very same numbers."""
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32).astype(np.float64)


def adjoint_error(g, x, w, out, rng, groups=1):
    """|<op(x), y> - <x, op*(y)>| / max(|op(x)|·|y|, |x|·|op*(y)|, tiny) for a random y: relative to the norms,
    which bound the inner products, so that products that nearly cancel do not inflate rounding."""
    y = random_data(rng, out.shape)
    back = run(y, w, g.adjoint, groups)
    left, right = float(np.vdot(out, y)), float(np.vdot(x, back))
    norm = np.linalg.norm
    scale = max(float(norm(out) * norm(y)), float(norm(x) * norm(back)), np.finfo(float).tiny)
    return abs(left - right) / scale


def compare(layer, g, x, w, out, groups=1, runner=None):
    """(max abs diff or None, note, failure or None) against the installed framework."""
    if 0 in out.shape:  # nothing to compare, and TF's default oneDNN max_pool can kill the process here (SIGFPE)
        return None, "values not compared: the output is empty", None
    try:
        theirs = runner() if runner is not None else backends.run(layer, g, x, w, groups)
    except ImportError:
        return None, f"{layer.framework} is not installed: values not compared", None
    except backends.Unsupported as why:
        return None, f"values not compared: {why}", None
    except Exception as error:  # the framework refused what forward() accepts
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return None, None, f"{layer.framework} refused the layer forward() accepts: {type(error).__name__}: {first}"
    if theirs.shape != out.shape:
        return None, None, (f"{layer.framework} gave shape {tuple(theirs.shape[2:])}, "
                            f"the executor {tuple(out.shape[2:])}")
    # the same infinity (a max window wholly in the pads) or both nan (an average of nothing) agree
    with np.errstate(invalid="ignore"):
        gap = np.where((theirs == out) | (np.isnan(theirs) & np.isnan(out)), 0.0, np.abs(theirs - out))
    diff = float(np.max(gap)) if out.size else 0.0
    limit = tolerance(layer.framework, out)
    if not diff <= limit:  # also catches nan
        return diff, None, f"{layer.framework} values differ from the executor by {diff:.3g} (tolerance {limit:.3g})"
    return diff, None, None


def tolerance(framework, out):
    scale = float(np.max(np.abs(out))) if out.size else 0.0
    return FRAMEWORK_TOLERANCE * (max(1.0, scale) if framework in backends.FLOAT32 else 1.0)


ADJOINT_NOTE = "the adjoint identity applies to conv/convT only: checked the shape and the framework's values"


def verify(layer, size, channels=(2, 3), batch=1, seed=0, groups=1, framework=True, mode="nearest"):
    if layer.kind in kinds.KINDS:  # depthwise, separable, lppool, pixelunshuffle
        return kinds.verify(layer, size, channels, batch, seed, groups, framework, mode)
    if layer.kind not in ("conv", "convT"):
        return verify_layer(layer, size, channels, batch, seed, groups, framework, mode)
    if mode != "nearest":
        raise InputError("--mode is for upsample layers (nearest or bilinear)")
    g = geometry(layer, size)
    c_in, c_out = channels
    shape = weight_shape(g, c_in, c_out, groups)
    check_size((batch, c_in, *g.input), "input")
    check_size(shape, "weights")
    check_held(buffers(g, batch, c_in, c_out), "verify")
    rng = np.random.default_rng(seed)
    x, w = random_data(rng, (batch, c_in, *g.input)), random_data(rng, shape)
    out = run(x, w, g, groups)
    failures, notes = [], []
    if g.chosen_output:
        notes.append(f"{layer.framework} leaves the output to the caller: ran the smallest it accepts, "
                     f"{'x'.join(map(str, g.output))} (--output-size picks another)")
    predicted = tuple(g.output)
    if tuple(out.shape) != (batch, c_out, *predicted):
        failures.append(f"output shape {tuple(out.shape[2:])} differs from the prediction {predicted}")
    error = adjoint_error(g, x, w, out, rng, groups)
    if not error <= ADJOINT_TOLERANCE:
        failures.append(f"adjoint identity off by {error:.3g} relative (tolerance {ADJOINT_TOLERANCE:g})")
    diff, note = None, None
    if framework:
        diff, note, failure = compare(g.layer, g, x, w, out, groups)
        if failure:
            failures.append(failure)
    return VerifyResult(layer.framework, layer.kind, tuple(g.input), tuple(out.shape[2:]), predicted,
                        not failures, error, diff, note, tuple(failures), tuple(notes))


def verify_layer(layer, size, channels=(2, 3), batch=1, seed=0, groups=1, framework=True, mode="nearest"):
    """A pool, unpool, upsample, pixel shuffle or pad: the executor's shape against forward()'s, and its values
    against the framework's. The data has CIN channels (pixel shuffle: CIN×r² in, CIN out)."""
    if groups != 1:
        raise InputError(f"--groups is for conv and convT, not {layer.kind}")
    if mode != "nearest" and layer.kind != "upsample":
        raise InputError("--mode is for upsample layers (nearest or bilinear)")
    p = layers.plan(layer, size)
    channels_out = channels[0]
    channels_in = channels_out * int(p.scale[0]) ** 2 if p.kind == "pixelshuffle" else channels_out
    source = layers.pool_source(p) if p.kind == "unpool" else p.input
    check_size((batch, channels_in, *source), "input")
    check_held({"input": (batch, channels_in, *source), "output": (batch, channels_out, *p.output)}, "verify")
    rng = np.random.default_rng(seed)
    x = random_data(rng, (batch, channels_in, *source))
    out = layers.run(x, p, mode)
    failures, notes = [], [ADJOINT_NOTE]
    if p.kind == "unpool":
        notes.append(f"unpooled the executor's maxpool (values, indices) of a random {'x'.join(map(str, source))} input")
    if p.kind == "pixelshuffle":
        notes.append(f"{channels_in} channels in, {channels_out} out (--channels CIN: the output's channels)")
    elif channels[1] != channels[0]:
        notes.append(f"a {p.kind} keeps the channels: ran {channels_out} (COUT of --channels is not used)")
    if p.kind == "upsample":
        notes.append(f"mode {mode}")
    if p.kind == "pad":
        notes.append(f"padding mode {p.padding_mode}")
    predicted = tuple(p.output)
    if tuple(out.shape) != (batch, channels_out, *predicted):
        failures.append(f"output shape {tuple(out.shape[2:])} differs from the prediction {predicted}")
    diff, note = None, None
    if framework:
        diff, note, failure = compare(layer, None, x, None, out, runner=lambda: backends.run_layer(layer, p, x, mode))
        if failure:
            failures.append(failure)
    return VerifyResult(layer.framework, layer.kind, tuple(p.input), tuple(out.shape[2:]), predicted,
                        not failures, None, diff, note, tuple(failures), tuple(notes))
