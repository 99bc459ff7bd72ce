"""Differential test: tconvcalc's jax rules against jax.lax itself.

Seeded random configurations per layer kind and rank (including invalid ones: kernels larger
than the input, negative and oversized pads, unsupported padding words, dilation with stride,
size 1) are built with build_layer (the CLI's path) and compared with jax on a (1, 1, *size)
array. jax's own shape rules run through jax.eval_shape for every configuration (the same Python
code that decides the shape and raises, without an XLA compile per shape); a sample of each kind,
weighted to empty outputs and negative pads, is also executed for real.

TCONVCALC_DIFF_N: configurations per layer kind (split over 1-D/2-D/3-D), default 3000.
TCONVCALC_DIFF_RUN_N: configurations per layer kind also executed for real, default 16.
"""

import os
import random

import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from jax._src.lax.convolution import _conv_transpose_padding  # noqa: E402  (no public name)

from tconvcalc import build_layer, forward  # noqa: E402
from tconvcalc.errors import InputError, ShapeError  # noqa: E402

N = int(os.environ.get("TCONVCALC_DIFF_N", "3000"))
RUN_N = int(os.environ.get("TCONVCALC_DIFF_RUN_N", "16"))
KINDS = ("conv", "convT", "maxpool", "avgpool")
MAX_SIZE = {1: 14, 2: 9, 3: 6}
SPATIAL = {1: "H", 2: "HW", 3: "DHW"}
# What a jax user writes for each of our padding words.
JAX_WORDS = {"valid": "VALID", "same": "SAME", "same_lower": "SAME_LOWER", "same_upper": "SAME_UPPER",
             "causal": "CAUSAL"}


def random_config(rng, kind, rank):
    size = tuple(1 if rng.random() < 0.1 else rng.randint(1, MAX_SIZE[rank]) for _ in range(rank))
    if kind == "pad":  # pads past the input (numpy modes repeat it), and crops, some past it too
        low = -rng.randint(1, 2 * MAX_SIZE[rank]) if rng.random() < 0.4 else 0
        padding = tuple((rng.randint(low, 2 * n + 2), rng.randint(low, 2 * n + 2)) for n in size)
        mode = rng.choice(("zeros", "zeros", "reflect", "symmetric", "replicate", "circular"))
        return {"kind": kind, "rank": rank, "size": size, "padding": padding, "padding_mode": mode}
    kernel = tuple(rng.randint(1, 6) for _ in range(rank))
    stride = tuple(1 if rng.random() < 0.3 else rng.randint(1, 4) for _ in range(rank))
    dilation = (tuple(1 if rng.random() < 0.5 else rng.randint(1, 3) for _ in range(rank))
                if kind != "avgpool" else None)
    roll = rng.random()
    if roll < 0.12:
        padding = "valid"
    elif roll < 0.26:
        padding = "same"
    elif roll < 0.34:
        padding = "same_lower"
    elif roll < 0.40:
        padding = rng.choice(("same_upper", "causal"))
    elif roll < 0.5:  # symmetric, torch-like
        padding = tuple((p, p) for p in (rng.randint(0, 3) for _ in range(rank)))
    else:  # before:after, often negative, sometimes larger than the input
        padding = tuple((rng.randint(-7, 6), rng.randint(-7, 6)) for _ in range(rank))
    if kind == "convT" and rng.random() < 0.15:
        stride = (1,) * rank  # the only case where SAME_LOWER reaches conv_transpose's forward path
    return {"kind": kind, "rank": rank, "size": size, "kernel": kernel, "stride": stride,
            "dilation": dilation, "padding": padding}


def padding_text(padding):
    if isinstance(padding, str):
        return padding
    return "x".join(f"{b}:{a}" for b, a in padding)


def ours(cfg):
    """Our output sizes (with warnings and accepted sets), or the ShapeError."""
    if cfg["kind"] == "pad":
        layer = build_layer("pad", "jax", cfg["rank"], padding=padding_text(cfg["padding"]),
                            padding_mode=cfg["padding_mode"])
    else:
        layer = build_layer(cfg["kind"], "jax", cfg["rank"], kernel="x".join(map(str, cfg["kernel"])),
                            stride="x".join(map(str, cfg["stride"])), padding=padding_text(cfg["padding"]),
                            dilation=None if cfg["dilation"] is None else "x".join(map(str, cfg["dilation"])))
    try:
        return forward(layer, cfg["size"])
    except (ShapeError, InputError) as error:  # InputError: a padding word jax cannot use (exit 2)
        return error


def jax_call(cfg):
    """The jax function on (x, w) for this configuration, NCHW layout."""
    kind, rank = cfg["kind"], cfg["rank"]
    if kind == "pad":
        return _pad_call(cfg)
    padding = cfg["padding"]
    padding = JAX_WORDS[padding] if isinstance(padding, str) else tuple(padding)
    stride, dilation = cfg["stride"], cfg["dilation"] or (1,) * rank
    sp = SPATIAL[rank]
    if kind == "conv":
        return lambda x, w: lax.conv_general_dilated(x, w, stride, padding, rhs_dilation=dilation)
    if kind == "convT":
        return lambda x, w: lax.conv_transpose(x, w, stride, padding, rhs_dilation=dilation,
                                               dimension_numbers=("NC" + sp, "OI" + sp, "NC" + sp))
    window, strides = (1, 1) + cfg["kernel"], (1, 1) + stride
    pads = padding if isinstance(padding, str) else ((0, 0), (0, 0)) + padding
    if kind == "maxpool":
        return lambda x, w: lax.reduce_window(x, -jnp.inf, lax.max, window, strides, pads,
                                              window_dilation=(1, 1) + dilation)
    return lambda x, w: lax.reduce_window(x, 0.0, lax.add, window, strides, pads)


def _pad_call(cfg):
    """jnp.pad in numpy's mode names; a zero pad with a negative amount is lax.pad (jnp.pad does not crop)."""
    mode = {"zeros": "constant", "replicate": "edge", "circular": "wrap"}.get(cfg["padding_mode"], cfg["padding_mode"])
    pads = tuple(cfg["padding"])
    if mode == "constant" and min(v for pair in pads for v in pair) < 0:
        return lambda x, w: lax.pad(x, 0.0, ((0, 0, 0), (0, 0, 0), *((b, a, 0) for b, a in pads)))
    return lambda x, w: jnp.pad(x, ((0, 0), (0, 0), *pads), mode=mode)


def theirs(cfg, execute=False):
    """jax's output spatial shape, or the exception it raises."""
    fn = jax_call(cfg)
    x_shape, w_shape = (1, 1) + cfg["size"], (1, 1) + cfg.get("kernel", ())
    try:
        if execute:
            out = fn(np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32))
            out = np.asarray(out)
        else:
            out = jax.eval_shape(fn, jax.ShapeDtypeStruct(x_shape, jnp.float32),
                                 jax.ShapeDtypeStruct(w_shape, jnp.float32))
        return tuple(int(v) for v in out.shape[2:])
    except (ValueError, RuntimeError, TypeError) as error:
        return error


def expected_pads(cfg):
    """The (before, after) pads jax applies: padtype_to_pads for a forward window, and
    _conv_transpose_padding (on the stride-dilated input) for conv_transpose's SAME/VALID."""
    padding, rank = cfg["padding"], cfg["rank"]
    if not isinstance(padding, str):
        return tuple(padding)
    word = JAX_WORDS[padding]
    dilation = cfg["dilation"] or (1,) * rank
    window = [d * (k - 1) + 1 for k, d in zip(cfg["kernel"], dilation)]
    if cfg["kind"] == "convT" and word in ("SAME", "VALID"):
        return tuple(tuple(int(p) for p in _conv_transpose_padding(ek, s, word))
                     for ek, s in zip(window, cfg["stride"]))
    return tuple(tuple(int(p) for p in pair)
                 for pair in lax.padtype_to_pads(cfg["size"], window, cfg["stride"], word))


def compare(cfg, mine, real, problems):
    if isinstance(real, Exception) or isinstance(mine, Exception):
        if not (isinstance(real, Exception) and isinstance(mine, Exception)):
            problems.append((cfg, _show(mine), _show(real)))
        elif _first_line(real, cfg) not in str(mine):  # the same words, values filled in
            problems.append((cfg, f"message {mine}", f"message {real}"))
        return
    if mine.output != real:
        problems.append((cfg, mine.output, real))
        return
    empty = 0 in real
    if empty != any("empty array" in w for w in mine.warnings):
        problems.append((cfg, f"warnings {mine.warnings}", f"output {real}"))
    pads = expected_pads(cfg)
    if tuple(ax.pads for ax in mine.axes) != pads:
        problems.append((cfg, f"pads {tuple(ax.pads for ax in mine.axes)}", f"pads {pads}"))
    if cfg["kind"] == "convT" and mine.accepted_outputs != tuple((o,) for o in real):
        problems.append((cfg, f"accepted {mine.accepted_outputs}", f"output {real}"))


def _first_line(error, cfg):
    """jax's message; for a pad, the (1, 1, ...) shapes it prints are (N, C, ...) in ours."""
    line = str(error).split("\n")[0]
    return line.replace("(1, 1, ", "(N, C, ") if cfg["kind"] == "pad" else line


def _show(value):
    return f"{type(value).__name__}: {value}" if isinstance(value, Exception) else getattr(value, "output", value)


def _fail(problems, total):
    if problems:
        lines = [f"{len(problems)} of {total} configurations differ from jax (ours vs jax):"]
        lines += [f"  {cfg}\n    ours: {a}\n    jax:  {b}" for cfg, a, b in problems[:20]]
        pytest.fail("\n".join(lines))


def configs(kind, rank, count):
    rng = random.Random(f"jax-{kind}-{rank}")
    return [random_config(rng, kind, rank) for _ in range(count)]


@pytest.mark.parametrize("rank", (1, 2, 3))
@pytest.mark.parametrize("kind", KINDS)
def test_shapes_match_jax(kind, rank):
    count = max(1, N // 3)
    problems, refused = [], 0
    for cfg in configs(kind, rank, count):
        mine, real = ours(cfg), theirs(cfg)
        refused += isinstance(real, Exception)
        compare(cfg, mine, real, problems)
    _fail(problems, count)
    assert refused > 0 or count < 200, "the random configurations should include some jax refuses"


@pytest.mark.parametrize("rank", (1, 2, 3))
def test_pad_matches_jax(rank):
    count = max(1, N // 3)
    problems, refused, empty = [], 0, 0
    for cfg in configs("pad", rank, count):
        mine, real = ours(cfg), theirs(cfg)
        refused += isinstance(real, Exception)
        empty += not isinstance(real, Exception) and 0 in real
        compare(cfg, mine, real, problems)
    _fail(problems, count)
    assert (refused > 0 and empty > 0) or count < 200, "the configurations should include refusals and empty outputs"


@pytest.mark.parametrize("kind", KINDS + ("pad",))
def test_executed_shapes_match(kind):
    """XLA really runs these (no shape-only shortcut): empty outputs and negative pads first."""
    pool = [cfg for rank in (1, 2, 3) for cfg in configs(kind, rank, 60)]
    def edgy(cfg):
        mine = ours(cfg)
        negative = not isinstance(cfg["padding"], str) and any(b < 0 or a < 0 for b, a in cfg["padding"])
        return isinstance(mine, Exception) or 0 in mine.output or negative
    chosen = [c for c in pool if edgy(c)][: RUN_N // 2]
    chosen += [c for c in pool if c not in chosen][: RUN_N - len(chosen)]
    problems = []
    for cfg in chosen:
        compare(cfg, ours(cfg), theirs(cfg, execute=True), problems)
    _fail(problems, len(chosen))
