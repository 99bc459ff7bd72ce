"""Differential test: tconvcalc's tf rules against TensorFlow tf.nn itself, in both CPU kernel modes.

Seeded random configurations per layer kind and rank (kernels larger than the input, big and
negative explicit pads, explicit pads where tf.nn takes none, padding words tf lacks, dilation with
stride, odd sizes, size 1; for conv_transpose an output_shape inside and outside the accepted set)
are built with build_layer (the CLI's path) and run on a (1, *size, 1) tensor. Both must succeed
with the same shape, or both refuse; where both refuse with a ShapeError, TF's message must contain
ours verbatim. Without --output-size, every output_shape near the accepted set is tried per axis:
TF must accept exactly the sizes we list.

The truth is the default install: on x86 the oneDNN CPU kernels. This process runs TF as the
environment sets it up (CI leaves TF_ENABLE_ONEDNN_OPTS unset: oneDNN); the other mode (the
reference kernels, TF_ENABLE_ONEDNN_OPTS=0, or oneDNN when this process has the reference ones) runs
in a subprocess -- this file as a script -- on every configuration whose answer carries a warning
naming a kernel, and on a sample of the others. Where the two modes differ, our answer is the
default's and a warning names the other (expected() reads each warning as what that mode must do).

TCONVCALC_DIFF_N: configurations per layer kind (split over 1-D/2-D/3-D), default 6000. Measured on 2 shared
cores: oneDNN in process 5.6 min wall / 2.3 min CPU (its conv_transpose calls are slower: convT 3-D 62 s against
9 s), the reference kernels in process 2.0 min / 1.5 min; TCONVCALC_DIFF_OTHER_N (default 1500) sets how many
kernel-neutral configurations the other mode re-runs besides every kernel-dependent one.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
from tensorflow.python.util import _pywrap_util_port  # noqa: E402

from tconvcalc import build_layer, forward  # noqa: E402
from tconvcalc.errors import InputError, ShapeError  # noqa: E402
from tconvcalc.frameworks import tf as tf_rules  # noqa: E402

ONEDNN = bool(_pywrap_util_port.IsMklEnabled())  # the kernels this process runs
N = int(os.environ.get("TCONVCALC_DIFF_N", "6000"))
OTHER_SAMPLE = int(os.environ.get("TCONVCALC_DIFF_OTHER_N", "1500"))  # kernel-neutral configs re-run in the other mode
MAX_SIZE = {1: 40, 2: 14, 3: 8}
MAX_KERNEL = {1: 7, 2: 6, 3: 5}
TF_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.AbortedError, ValueError,
             TypeError)


# oneDNN's kernels refuse what the reference kernels refuse, but check the axes in another order, or say
# "could not create a primitive descriptor" where the reference kernels name the rule.
ONEDNN_ORDER = ("Computed output size would be negative", "could not create a primitive descriptor")


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


def expected(cfg, mine, onednn):
    """What TF must give in this kernel mode, read from our answer and the kernel warnings it carries:
    ("ok", shape) -- shape None: some non-empty shape, a oneDNN bug we warn about --, ("refused", the
    text TF's message contains, or None), ("any", None) where oneDNN does not check what TF's shape
    function refuses, or ("skip", why) where running it would kill the process."""
    if mine[0] == "refused":
        error = mine[1]
        warned = " ".join(error.warnings) if isinstance(error, ShapeError) else ""
        if onednn and "also accept output_shape" in warned:
            return ("ok", tuple(cfg["output_size"]))
        if onednn and "do not check them in eager mode" in warned:
            return ("any", None)
        if onednn and "could not create a primitive descriptor" in warned:
            return ("refused", "could not create a primitive descriptor")
        if not onednn and "the reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0" in warned:  # checked first
            return ("refused", warned.split('refuses it: "')[1].split('"')[0])
        return ("refused", str(error) if isinstance(error, ShapeError) else None)
    warned = " ".join(mine[2].warnings)
    if not onednn and "the reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0" in warned:
        return ("refused", warned.split('refuses it: "')[1].split('"')[0])
    if onednn and "returns a wrong non-empty shape" in warned:
        return ("ok", None)
    if onednn and "max_pool raises AbortedError 'could not create a descriptor for a pooling" in warned:
        return ("refused", "could not create a descriptor for a pooling forward propagation primitive")  # oneDNN's empty max_pool, warned
    if onednn and "floating point exception" in warned:
        return ("skip", "oneDNN's empty max_pool kills the process (test_onednn_sample_matches_the_warnings)")
    return ("ok", None if mine[1] is None else tuple(mine[1]))


def kernel_dependent(mine):
    """Our answer names a kernel: the other mode must be run on it."""
    warnings = mine[1].warnings if mine[0] == "refused" and isinstance(mine[1], ShapeError) else (
        mine[2].warnings if mine[0] == "ok" else ())
    return any("oneDNN" in w or "reference CPU kernel" in w for w in warnings)


def compare(cfg, mine, real, problems, onednn=ONEDNN):
    want = expected(cfg, mine, onednn)
    mode = "oneDNN" if onednn else "reference kernels"
    if want[0] in ("skip", "any"):
        return
    if want[0] != real[0]:
        problems.append((cfg, f"{_show(mine)} (expected of the {mode}: {want})", _show(real)))
    elif want[0] == "ok" and want[1] is not None and tuple(want[1]) != tuple(real[1]):
        problems.append((cfg, f"{_show(mine)} (expected of the {mode}: {want})", _show(real)))
    elif want[0] == "ok" and want[1] is None and 0 in real[1]:
        problems.append((cfg, f"{_show(mine)}: a wrong non-empty shape expected of the {mode}", _show(real)))
    elif mine[0] == "ok" and want[1] is not None and 0 in mine[1] and not any("empty tensor" in w
                                                                              for w in mine[2].warnings):
        problems.append((cfg, "no warning for the empty output " + str(mine[1]), _show(real)))
    elif want[0] == "refused" and want[1] is not None and not isinstance(real[1], str):
        said = tf_message(real[1])
        if onednn and any(w in said for w in ONEDNN_ORDER):
            return  # oneDNN checks the same rules in another order (the other-mode run compares verbatim)
        if want[1] not in said:
            problems.append((cfg, f"message {want[1]!r} ({mode})", f"message {tf_message(real[1])!r}"))


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


def runs(kind, rank):
    """Every (configuration, our answer) of one kind and rank, output_shape probes included: a convT
    without --output-size is probed with each output_shape near its accepted set, per axis."""
    for cfg in configs(kind, rank, max(1, N // 3)):
        if kind == "convT" and "output_size" not in cfg:
            mine = ours(cfg)
            for shape in probe_shapes(cfg, mine):
                yield dict(cfg, output_size=tuple(shape)), ours(cfg, tuple(shape)), mine
        else:
            yield cfg, ours(cfg), None


def probe_shapes(cfg, mine):
    """The output_shapes to try: each axis through a window around its accepted sizes (the others at their
    first accepted size), and every accepted size outside it; with no accepted size, the window on every axis."""
    lows = lowest_outputs(cfg)
    windows = [range(max(1, lo - 3), max(lo + s + 3, 5)) for lo, s in zip(lows, cfg["stride"])]
    if mine[0] == "refused":
        return [[w[min(offset, len(w) - 1)] for w in windows] for offset in range(max(len(w) for w in windows))]
    accepted = [ax.accepted for ax in mine[2].axes]
    shapes = []
    for j, window in enumerate(windows):
        for o in sorted(set(window) | set(accepted[j])):
            shape = [acc[0] for acc in accepted]
            shape[j] = o
            shapes.append(shape)
    return shapes


def check_listing(cfg, mine, whole, problems):
    """An output_shape probe agrees with the accepted set listed without --output-size (and its warnings)."""
    if whole[0] != "ok":
        if mine[0] == "ok":
            problems.append((cfg, f"refused without --output-size ({whole[1]}) but accepts this output_shape",
                             "-"))
        return
    listed = all(o in ax.accepted for o, ax in zip(cfg["output_size"], whole[2].axes))
    if listed != (mine[0] == "ok"):
        problems.append((cfg, f"accepted sets {[ax.accepted for ax in whole[2].axes]}", f"with it: {_show(mine)}"))
    extra = expected(cfg, mine, True)[0] == "ok" and mine[0] == "refused"
    if extra and not any(str(o) in w for w in whole[2].warnings for o in cfg["output_size"]):
        problems.append((cfg, "only oneDNN accepts this output_shape, but the listing does not say so",
                         str(whole[2].warnings)))


@pytest.mark.parametrize("kind,rank", CASES)
def test_shapes_match_tf(kind, rank):
    problems, total = [], 0
    for cfg, mine, whole in runs(kind, rank):
        total += 1
        if whole is not None:
            check_listing(cfg, mine, whole, problems)
        if expected(cfg, mine, ONEDNN)[0] == "skip":
            continue
        compare(cfg, mine, theirs(cfg, cfg.get("output_size")), problems)
    if problems:
        _fail(problems, total)


def _to_json(cfg):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}


def _from_json(cfg):
    def back(v):
        return tuple(back(x) for x in v) if isinstance(v, list) else v

    return {k: back(v) for k, v in cfg.items()}


def other_mode(cfgs):
    """Run the configurations in the other kernel mode, in a subprocess (TF reads the variable once)."""
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1" if not ONEDNN else "0", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, os.path.abspath(__file__)], input=json.dumps([_to_json(c) for c in cfgs]),
                          capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    mode, results = json.loads(done.stdout.strip().splitlines()[-1])
    assert mode != ONEDNN, "the subprocess ran the same kernels"
    return [("ok", tuple(r[1])) if r[0] == "ok" else ("refused", r[1]) for r in results]


def test_other_kernel_mode():
    """Where our answer names a kernel (dilation the reference kernel refuses, oneDNN's bugs), and on a sample
    of the rest, the other CPU kernel mode does what the warnings say."""
    rng = random.Random("tf-other-mode")
    chosen = []
    for kind, rank in CASES:
        for cfg, mine, _ in runs(kind, rank):
            if expected(cfg, mine, not ONEDNN)[0] == "skip":
                continue
            if kernel_dependent(mine) or rng.random() < OTHER_SAMPLE / (5 * N):
                chosen.append((cfg, mine))
    dependent = sum(kernel_dependent(mine) for _, mine in chosen)
    assert dependent >= 50, f"only {dependent} kernel-dependent configurations drawn"
    problems = []
    for (cfg, mine), real in zip(chosen, other_mode([cfg for cfg, _ in chosen])):
        if real[0] == "refused":
            real = ("refused", RuntimeError(real[1]))
        compare(cfg, mine, real, problems, onednn=not ONEDNN)
    if problems:
        _fail(problems, len(chosen))


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
    mine = ours(dict(cfg, output_size=(255,)))
    if ONEDNN:  # oneDNN's own words, which our warning names
        assert "could not create a primitive descriptor" in tf_message(real[1])
        assert any("could not create a primitive descriptor" in w for w in mine[1].warnings)
    else:
        assert "computed = 128" in tf_message(real[1])
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


def test_dilated_transpose_follows_the_shape_function():
    """The default oneDNN kernels run dilated conv*_transpose (stride > 1 too): the output_shapes they take are
    those whose forward size is the input (tf's shape function), as the warning-free answer lists."""
    cases = [c for c in configs("convT", 2, 600) if max(c["dilation"]) > 1][:40]
    assert len(cases) >= 20
    for cfg in cases:
        cfg = {k: v for k, v in cfg.items() if k not in ("output_size", "output_padding")}
        mine = ours(cfg)
        if mine[0] != "ok":
            continue
        assert any("reference CPU kernel" in w for w in mine[2].warnings), mine[2].warnings
        problems = []
        for shape in probe_shapes(cfg, mine):
            compare(dict(cfg, output_size=tuple(shape)), ours(cfg, tuple(shape)), theirs(cfg, shape), problems)
        assert not problems, problems[:3]


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


def _worker():
    """This file as a script: the configurations on stdin, run in this process's kernel mode."""
    results = []
    for cfg in map(_from_json, json.load(sys.stdin)):
        real = theirs(cfg, cfg.get("output_size"))
        results.append(["ok", list(real[1])] if real[0] == "ok" else
                       ["refused", real[1] if isinstance(real[1], str) else tf_message(real[1])])
    print("\n" + json.dumps([bool(_pywrap_util_port.IsMklEnabled()), results]))


if __name__ == "__main__":
    _worker()
