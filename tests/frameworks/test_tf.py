"""Differential test: tconvcalc's tf rules against TensorFlow tf.nn itself (reference CPU kernels).

Seeded random configurations per layer kind and rank (kernels larger than the input, big and
negative explicit pads, explicit pads where tf.nn takes none, padding words tf lacks, dilation with
stride, odd sizes, size 1; for conv_transpose an output_shape inside and outside the accepted set)
are built with build_layer (the CLI's path) and run on a (1, *size, 1) tensor. Both must succeed
with the same shape, or both refuse; where both refuse with a ShapeError, TF's message must contain
ours verbatim. Without --output-size, every output_shape near the accepted set is tried per axis:
TF must accept exactly the sizes we list.

TF_ENABLE_ONEDNN_OPTS=0 is set before TF is imported: the reference kernels are the truth. A
subprocess samples what the default oneDNN kernels do instead (named in tf.py's warnings).

TCONVCALC_DIFF_N: configurations per layer kind (split over 1-D/2-D/3-D), default 6000 (~1 min).
"""

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
from tensorflow.python.util import _pywrap_util_port  # noqa: E402

from tconvcalc import build_layer, forward  # noqa: E402
from tconvcalc.errors import InputError, ShapeError  # noqa: E402

if _pywrap_util_port.IsMklEnabled():
    pytest.skip("tensorflow was imported with oneDNN on before this module set TF_ENABLE_ONEDNN_OPTS=0; "
                "run this file alone", allow_module_level=True)

N = int(os.environ.get("TCONVCALC_DIFF_N", "6000"))
MAX_SIZE = {1: 40, 2: 14, 3: 8}
MAX_KERNEL = {1: 7, 2: 6, 3: 5}
TF_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, ValueError, TypeError)


class NoSuchArgument(Exception):
    """tf.nn has no argument for this option (output_padding, pool dilation, ceil_mode)."""


# ---- configurations ------------------------------------------------------------------------


def random_config(rng, kind, rank):
    size = tuple(1 if rng.random() < 0.1 else rng.randint(1, MAX_SIZE[rank]) for _ in range(rank))
    cfg = {"kind": kind, "rank": rank, "size": size}
    if kind == "pixelshuffle":
        cfg["scale"] = rng.choice((1, 2, 2, 3, 4))
        return cfg
    if kind == "pad":  # around the size: REFLECT wants pads below it, SYMMETRIC at most it; sometimes negative
        low = -2 if rng.random() < 0.15 else 0
        cfg["padding"] = tuple((rng.randint(low, n + 1), rng.randint(low, n + 1)) for n in size)
        cfg["padding_mode"] = rng.choice(("zeros", "reflect", "reflect", "symmetric", "symmetric", "replicate",
                                          "circular"))
        return cfg
    cfg["kernel"] = tuple(rng.randint(1, MAX_KERNEL[rank]) for _ in range(rank))
    cfg["stride"] = tuple(1 if rng.random() < 0.3 else rng.randint(1, 4) for _ in range(rank))
    dilated = {"conv": 0.35, "convT": 0.1, "maxpool": 0.05, "avgpool": 0.0}[kind]
    cfg["dilation"] = tuple(1 if rng.random() >= dilated else rng.randint(1, 3) for _ in range(rank))
    # Explicit pads reach TF's shape rules only in conv2d(_transpose) and max_pool1d/2d; elsewhere
    # a few suffice to check the refusal.
    takes_pads = (kind in ("conv", "convT") and rank == 2) or (kind == "maxpool" and rank < 3)
    valid, same, explicit = (0.3, 0.6, 0.95) if takes_pads else (0.45, 0.87, 0.95)
    roll = rng.random()
    if roll < valid:
        cfg["padding"] = "valid"
    elif roll < same:
        cfg["padding"] = "same"
    elif roll < explicit:
        low = -1 if rng.random() < 0.15 else 0
        # max_pool wants pads below the window: mostly below, sometimes at or above it
        highs = cfg["kernel"] if kind == "maxpool" and rng.random() < 0.8 else (6,) * rank
        cfg["padding"] = tuple((rng.randint(low, h), rng.randint(low, h)) for h in highs)
    else:
        cfg["padding"] = rng.choice(("causal", "same_lower"))
    if kind in ("maxpool", "avgpool"):
        cfg["ceil_mode"] = rng.random() < 0.04
    if kind == "convT":
        if rng.random() < 0.03:
            cfg["output_padding"] = tuple(rng.randint(0, 2) for _ in range(rank))
        if rng.random() < 0.75:
            # Mostly inside the window TF can accept (s sizes from the lowest), sometimes just outside.
            cfg["output_size"] = tuple(
                max(1, lo + (rng.randint(0, s - 1) if rng.random() < 0.8 else rng.randint(-2, s + 1)))
                for lo, s in zip(lowest_outputs(cfg), cfg["stride"]))
    return cfg


def lowest_outputs(cfg):
    """The smallest output_shape the forward formula could map back to the input (test-side)."""
    result = []
    for j, (n, k, s, d) in enumerate(zip(cfg["size"], cfg["kernel"], cfg["stride"], cfg["dilation"])):
        if cfg["padding"] == "same":
            result.append((n - 1) * s + 1)
        else:
            b, a = cfg["padding"][j] if isinstance(cfg["padding"], tuple) else (0, 0)
            result.append((n - 1) * s + d * (k - 1) + 1 - b - a)
    return result


def configs(kind, rank, count):
    rng = random.Random(f"tf-{kind}-{rank}")
    return [random_config(rng, kind, rank) for _ in range(count)]


# ---- ours and theirs -----------------------------------------------------------------------


def axes_text(values):
    return "x".join(str(v) for v in values)


def build(cfg, output_size="cfg"):
    padding = cfg.get("padding")
    if isinstance(padding, tuple):
        padding = axes_text(f"{b}:{a}" for b, a in padding)
    output_size = cfg.get("output_size") if output_size == "cfg" else output_size
    dilation = None if cfg["kind"] == "avgpool" else cfg.get("dilation")  # avg pools take no -d
    options = dict(kernel=cfg.get("kernel"), stride=cfg.get("stride"), dilation=dilation,
                   output_padding=cfg.get("output_padding"), output_size=output_size, scale=cfg.get("scale"))
    options = {k: axes_text(v) if isinstance(v, tuple) else v for k, v in options.items() if v is not None}
    if padding is not None:
        options["padding"] = padding
    if cfg.get("ceil_mode"):
        options["ceil_mode"] = True
    if cfg.get("padding_mode"):
        options["padding_mode"] = cfg["padding_mode"]
    return build_layer(cfg["kind"], "tf", cfg["rank"], **options)


def ours(cfg, output_size="cfg"):
    """("ok", output, result) or ("refused", error)."""
    try:
        result = forward(build(cfg, output_size), cfg["size"])
    except (ShapeError, InputError) as error:
        return ("refused", error)
    return ("ok", result.output, result)


def tf_padding(cfg):
    padding = cfg["padding"]
    if isinstance(padding, tuple):
        return [[0, 0], *[[b, a] for b, a in padding], [0, 0]]
    return padding.upper()


def tf_call(cfg, output_shape=None):
    """Run tf.nn on a (1, *size, 1) tensor; returns the spatial output shape (raises TF's error)."""
    kind, r, size = cfg["kind"], cfg["rank"], cfg["size"]
    if kind == "pixelshuffle":
        scale = cfg["scale"]
        return tuple(tf.nn.depth_to_space(tf.zeros([1, *size, scale * scale]), scale).shape[1:-1])
    if kind == "pad":  # tf's own mode names; REPLICATE and CIRCULAR are refused by tf.pad itself
        mode = {"zeros": "CONSTANT"}.get(cfg["padding_mode"], cfg["padding_mode"].upper())
        return tuple(tf.pad(tf.zeros([1, *size, 1]), tf_padding(cfg), mode=mode).shape[1:-1])
    if cfg.get("output_padding") or cfg.get("ceil_mode") or (kind == "maxpool" and set(cfg["dilation"]) != {1}):
        raise NoSuchArgument
    x = tf.zeros([1, *size, 1])
    k, s, d, padding = cfg["kernel"], list(cfg["stride"]), list(cfg["dilation"]), tf_padding(cfg)
    if kind == "conv":
        w = tf.zeros([*k, 1, 1])
        if r == 1:
            y = tf.nn.conv1d(x, w, stride=s[0], padding=padding, dilations=d[0])
        elif r == 2:
            y = tf.nn.conv2d(x, w, strides=s, padding=padding, dilations=d)
        else:
            y = tf.nn.conv3d(x, w, strides=[1, *s, 1], padding=padding, dilations=[1, *d, 1])
    elif kind == "convT":
        w = tf.zeros([*k, 1, 1])
        shape = [1, *output_shape, 1]
        if r == 1:
            y = tf.nn.conv1d_transpose(x, w, shape, strides=s[0], padding=padding, dilations=d[0])
        elif r == 2:
            y = tf.nn.conv2d_transpose(x, w, shape, strides=s, padding=padding, dilations=d)
        else:
            y = tf.nn.conv3d_transpose(x, w, shape, strides=[1, *s, 1], padding=padding, dilations=[1, *d, 1])
    else:
        pool = getattr(tf.nn, f"{'max' if kind == 'maxpool' else 'avg'}_pool{r}d")
        y = pool(x, ksize=list(k), strides=s, padding=padding)
    return tuple(y.shape[1:-1])


def theirs(cfg, output_shape=None):
    try:
        return ("ok", tf_call(cfg, output_shape))
    except NoSuchArgument:
        return ("refused", "tf.nn has no such argument")
    except TF_ERRORS as error:
        return ("refused", error)


def tf_message(error):
    text = error.message if hasattr(error, "message") else str(error)
    return text.split(" [Op:")[0]


def compare(cfg, mine, real, problems):
    if mine[0] != real[0]:
        problems.append((cfg, _show(mine), _show(real)))
    elif mine[0] == "ok" and tuple(mine[1]) != tuple(real[1]):
        problems.append((cfg, _show(mine), _show(real)))
    elif mine[0] == "ok" and 0 in mine[1] and not any("empty tensor" in w for w in mine[2].warnings):
        problems.append((cfg, "no warning for the empty output " + str(mine[1]), _show(real)))
    elif mine[0] == "refused" and isinstance(mine[1], ShapeError) and not isinstance(real[1], str):
        message = str(mine[1])
        if message not in tf_message(real[1]):
            problems.append((cfg, f"message {message!r}", f"message {tf_message(real[1])!r}"))


def _show(outcome):
    if outcome[0] == "ok":
        return f"ok {tuple(outcome[1])}"
    error = outcome[1]
    return f"refused {type(error).__name__}: {str(error)[:200]}"


def _fail(problems, total):
    lines = [f"{len(problems)} of {total} configurations disagree with tf.nn; the first 20:"]
    for cfg, mine, real in problems[:20]:
        lines.append(f"  {cfg}\n      ours: {mine}\n      tf:   {real}")
    pytest.fail("\n".join(lines))


# ---- tests ---------------------------------------------------------------------------------

CASES = [(kind, rank) for kind in ("conv", "convT", "maxpool", "avgpool", "pad") for rank in (1, 2, 3)]


@pytest.mark.parametrize("kind,rank", CASES)
def test_shapes_match_tf(kind, rank):
    problems, cases = [], configs(kind, rank, max(1, N // 3))
    for cfg in cases:
        if kind == "convT" and "output_size" not in cfg:
            check_accepted_sets(cfg, problems)
            continue
        compare(cfg, ours(cfg), theirs(cfg, cfg.get("output_size")), problems)
    if problems:
        _fail(problems, len(cases))


def check_accepted_sets(cfg, problems):
    """No --output-size: TF must accept exactly the output_shape sizes we list, axis by axis."""
    mine = ours(cfg)
    lows = lowest_outputs(cfg)
    windows = [range(max(1, lo - 3), max(lo + s + 3, 5)) for lo, s in zip(lows, cfg["stride"])]
    if mine[0] == "refused":
        # Every output_shape must be refused: try the whole window on each axis at once.
        for offset in range(max(len(w) for w in windows)):
            shape = [w[min(offset, len(w) - 1)] for w in windows]
            real = theirs(cfg, shape)
            if real[0] == "ok":
                problems.append((cfg, _show(mine), f"tf accepts output_shape {shape}"))
                return
        return
    accepted = [ax.accepted for ax in mine[2].axes]
    if mine[1] is not None:
        problems.append((cfg, f"output {mine[1]} without --output-size", "tf: the caller chooses"))
    for j, window in enumerate(windows):
        for o in window:
            shape = [acc[0] for acc in accepted]
            shape[j] = o
            real = theirs(cfg, shape)
            if (real[0] == "ok") != (o in accepted[j]):
                problems.append((cfg, f"axis {j} accepted {accepted[j]}", f"output_shape {shape}: {_show(real)}"))
                return
        # The rest of the accepted set, outside the window, is checked directly.
        for o in set(accepted[j]) - set(window):
            shape = [acc[0] for acc in accepted]
            shape[j] = o
            if theirs(cfg, shape)[0] != "ok":
                problems.append((cfg, f"axis {j} accepted {accepted[j]}", f"tf refuses output_shape {shape}"))
                return


def test_pixelshuffle_matches_tf():
    problems, cases = [], configs("pixelshuffle", 2, max(1, N // 3))
    for cfg in cases:
        compare(cfg, ours(cfg), theirs(cfg), problems)
    if problems:
        _fail(problems, len(cases))


def test_seed_001():
    """Input 126, k4 s2: VALID accepts {254, 255}; SAME accepts {251, 252} and refuses 255 (computed = 128)."""
    for padding, accepted in (("valid", (254, 255)), ("same", (251, 252))):
        cfg = {"kind": "convT", "rank": 1, "size": (126,), "kernel": (4,), "stride": (2,), "dilation": (1,),
               "padding": padding}
        assert [o for o in range(249, 258) if theirs(cfg, [o])[0] == "ok"] == list(accepted)
        assert ours(cfg)[2].accepted_outputs == (accepted,)
    real = theirs(cfg, [255])
    assert "computed = 128" in tf_message(real[1])
    mine = ours(dict(cfg, output_size=(255,)))
    assert str(mine[1]) in tf_message(real[1])


def test_graph_mode_refuses_what_eager_empties():
    """Our warning for output 0: a tf.function (graph shape inference) refuses, with these words."""
    checked = 0
    for kind in ("conv", "maxpool", "avgpool"):
        for cfg in configs(kind, 2, 400):
            mine = ours(cfg)
            if mine[0] != "ok" or 0 not in mine[1] or cfg.get("ceil_mode"):
                continue
            warning = next(w for w in mine[2].warnings if "empty tensor" in w)
            with pytest.raises(ValueError) as error:
                tf.function(lambda cfg=cfg: tf_call(cfg) and tf.zeros([1]), autograph=False)()
            quoted = warning.split('refuses it: "')[1].split('"')[0]
            assert quoted in str(error.value), (cfg, warning, str(error.value)[:300])
            checked += 1
            if checked >= 8:
                return
    assert checked > 0


ONEDNN_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    def run(f):
        try:
            return "ok " + "x".join(map(str, f().shape[1:-1]))
        except Exception as error:
            return "refused " + type(error).__name__ + " " + str(error).splitlines()[0]
    if sys.argv[1] == "crash":
        tf.nn.max_pool1d(tf.ones([1, 4, 1]), 5, 1, "VALID")
        sys.exit(0)
    x2, w2 = tf.ones([1, 4, 4, 1]), tf.ones([5, 5, 1, 1])
    print(run(lambda: tf.nn.conv2d(x2, w2, 1, "VALID")))
    print(run(lambda: tf.nn.conv2d_transpose(tf.ones([1, 5, 5, 1]), tf.ones([3, 3, 1, 1]), [1, 9, 9, 1], 1,
                                             "VALID", dilations=2)))
    print(run(lambda: tf.nn.conv2d_transpose(tf.ones([1, 126, 126, 1]), tf.ones([4, 4, 1, 1]), [1, 255, 255, 1], 2,
                                             "SAME")))
    print(run(lambda: tf.nn.conv3d(tf.ones([1, 9, 9, 9, 1]), tf.ones([3, 3, 3, 1, 1]), [1, 1, 1, 1, 1], "VALID",
                                   dilations=[1, 2, 2, 2, 1])))
""")


def test_onednn_sample_matches_the_warnings():
    """What the default oneDNN kernels do on degenerate shapes, as tf.py's warnings say."""
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1")
    done = subprocess.run([sys.executable, "-c", ONEDNN_SCRIPT, "sample"], capture_output=True, text=True,
                          env=env, timeout=120)
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stderr[-2000:]
    empty_conv, dilated_transpose, wrong_output_shape, dilated_conv3d = lines
    assert empty_conv.startswith("ok ") and empty_conv != "ok 0x0"  # a wrong, non-empty shape
    assert "wrong non-empty shape" in " ".join(ours({"kind": "conv", "rank": 2, "size": (4, 4), "kernel": (5, 5),
                                                      "stride": (1, 1), "dilation": (1, 1),
                                                      "padding": "valid"})[2].warnings)
    assert dilated_transpose == "ok 9x9"
    assert "could not create a primitive descriptor" in wrong_output_shape
    assert dilated_conv3d == "ok 5x5x5"
    crashed = subprocess.run([sys.executable, "-c", ONEDNN_SCRIPT, "crash"], capture_output=True, env=env,
                             timeout=120)
    assert crashed.returncode == -signal.SIGFPE
