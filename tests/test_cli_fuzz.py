"""A demanding user's QA pass: every command with random and adversarial arguments.

Whatever goes in: exit 0, 1 or 2 (never 3, the internal error), no traceback, one line on stderr when
the exit is nonzero, valid JSON on stdout with --json, and an answer within a few seconds.
"""

import json
import signal

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tconvcalc.cli import cli

TIMEOUT = 20  # seconds per call: longer is a hang


class Hang(BaseException):  # not an Exception: the CLI's catch-all must not swallow it
    pass


def _alarm(signum, frame):
    raise Hang()


def invoke(args):
    """(exit code, stdout, stderr), asserting the contract every call keeps."""
    args = [str(a) for a in args]
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    try:
        result = CliRunner().invoke(cli, args)
    except Hang:
        pytest.fail(f"hang (> {TIMEOUT} s): {args}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    code, out, err = result.exit_code, result.stdout, result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        (args, result.exception)
    assert code in (0, 1, 2), (args, code, err)
    assert "Traceback" not in out + err, args
    assert "internal error" not in err, (args, err)
    if code != 0:
        lines = err.strip().splitlines()  # one line, and at most a hint of what to do instead
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), (args, err)
    if "--json" in args:
        data = json.loads(out)
        if code != 0 and isinstance(data, dict) and "error" in data:
            assert data["exit_code"] == code, (args, data)
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Spec files a careless user might pass."""
    root = tmp_path_factory.mktemp("specs")
    contents = {
        "binary.toml": b"\x00\xff\xfe\x89PNG",
        "binary.json": b"\xff\xfe",
        "empty.toml": b"",
        "empty.json": b"",
        "empty.py": b"",
        "trunc.json": b'{"layers": [',
        "dict_layers.toml": b"layers = {a = 1}\n",
        "list_kernel.toml": b'[[layers]]\nlayer = "conv"\nkernel = [[3]]\n',
        "float_channels.toml": b'[[layers]]\nlayer = "conv"\nkernel = 3\nchannels = 2.5\n',
        "with_int.json": b'{"layers": [{"layer": "conv", "kernel": 3}, {"layer": "concat", "with": 5}]}',
        "with_dict.json": b'{"layers": [{"layer": "conv", "kernel": 3}, {"layer": "concat", "with": {"a": 1}}]}',
        "input_list.json": b'{"layers": [{"layer": "conv", "kernel": 3, "input": ["a"]}]}',
        "layer_list.json": b'{"layers": [{"layer": ["conv"], "kernel": 3}]}',
        "backend_list.json": b'{"layers": [{"layer": "conv", "kernel": 3}], "backend": ["jax"], "framework": "keras"}',
        "framework_int.json": b'{"layers": [{"layer": "conv", "kernel": 3}], "framework": 5}',
        "channels_text.json": b'{"layers": [{"layer": "conv", "kernel": 3}], "input_channels": "abc"}',
        "padding_dict.json": b'{"layers": [{"layer": "conv", "kernel": 3, "padding": {"a": 1}}]}',
        "kernel_huge.json": b'{"layers": [{"layer": "conv", "kernel": 1e400}]}',
        "scale_list.json": b'{"layers": [{"layer": "upsample", "scale": [2, 3]}]}',
        "list.json": b"[1, 2]",
        "keras_bad.json": b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": 5}]}}',
        "keras_inbound.json": b'{"class_name": "Functional", "config": {"layers": [{"class_name": "Conv2D", "name": "c",'
                              b' "config": {"kernel_size": [3, 3]}, "inbound_nodes": 5}]}}',
        "nested.yaml": b"layers:\n  - layer: conv\n    kernel: [3, [3]]\n",
        "evil.yaml": b'layers: !!python/object/apply:os.system ["echo hi"]\n',
        "syntax.py": b"def f(:\n  pass\n",
        "binary.py": b"\x00\x01garbage",
        "nested_list.py": b'import torch.nn as nn\nmodel = nn.Sequential(nn.Conv2d(1, 2, 3, stride="a"), '
                          b"nn.ConvTranspose2d(1, 2, [[3]]))\n",
        "self_building.py": b"import torch.nn as nn\nclass N(nn.Module):\n    def __init__(self):\n"
                            b"        super().__init__()\n        self.a = N()\n    def forward(self, x):\n"
                            b"        return self.a(x)\n",
        "forward_loop.py": b"import torch.nn as nn\nclass N(nn.Module):\n    def __init__(self):\n"
                           b"        super().__init__()\n        self.c = nn.Conv2d(1, 1, 3)\n"
                           b"    def forward(self, x):\n        for i in range(10**12):\n            x = self.c(x)\n"
                           b"        return x\n",
        "print.txt": b"Sequential(\n  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
                     b"  (1): ConvTranspose2d(2, 1, kernel_size=(a, 3))\n)\n",
    }
    for name, data in contents.items():
        (root / name).write_bytes(data)
    (root / "directory.toml").mkdir()
    return root


SIZES = ["0", "-1", "1e3", "10**18", "1000000000000000000", "1x", "x1", "HxWxDxT", "H+1", "__import__('os')",
         "١٢", "nan", "", " ", "9" * 5000, "x".join(["1"] * 50), "H" * 10000, "12 x 12", "2147483647", "H"]

NASTY = [
    # forward: sizes, absurd and malformed options
    *(["forward", size, "-k", "3"] for size in SIZES),
    ["forward", "12", "-k", "9" * 5000],
    ["forward", "12", "-k", "١"],
    ["forward", "2147483647", "-k", "4096", "-s", "4096"],
    ["forward", "2147483647", "-k", "4096", "-s", "4096", "-l", "conv", "--json"],
    ["forward", "2147483647", "-k", "2147483647", "-s", "2147483647", "-d", "2147483647"],
    ["forward", "2147483647", "-k", "2147483647", "-s", "65536", "-l", "unpool", "--json"],
    ["forward", "12x12x12", "-k", "3", "-s", "65536", "-f", "tf", "--json"],
    ["forward", "H", "-k", "3", "-s", "65536"],
    ["forward", "H", "-k", "3", "-s", "4096", "-f", "onnx"],
    ["forward", "2147483647", "-l", "upsample", "--scale", "1e308"],
    ["forward", "12", "-l", "upsample", "--scale", "0.0000001"],
    ["forward", "12", "-l", "upsample", "--scale", "1_0"],
    ["forward", "12", "-l", "upsample", "--scale", "nan"],
    ["forward", "12", "-l", "pixelshuffle", "--scale", "2.5"],
    ["forward", "12", "-k", "3", "-p", "1:2:3"],
    ["forward", "12", "-k", "3", "-p", "::"],
    ["forward", "12", "-k", "3", "-p", "2147483647:2147483647", "-l", "conv", "-f", "jax"],
    ["forward", "12", "-k", "3", "-p", "causal"],
    ["forward", "12x12", "-k", "3x3x3"],
    ["forward", "12", "-k", "3", "--output-padding", "2147483647"],
    ["forward", "12", "-k", "3", "--output-size", "2147483647", "-f", "tf"],
    ["forward", "12", "-k", "3", "--backend", "jax"],
    ["forward", "12", "-l", "frob", "-k", "3", "--json"],
    ["forward", "12", "-k", "3", "--json", "--frob"],
    ["forward", "--json"],
    ["forward", "H", "-l", "unpool", "-k", "3"],
    ["forward", "H", "-l", "convT", "-k", "3", "-f", "tf", "-p", "same", "-s", "3", "--output-size", "40"],
    ["forward", "H", "-k", "3", "--mirror"],
    ["forward", "12", "-k", "3", "--mirror", "-f", "tf"],
    ["forward", "12", "-l", "upsample", "--scale", "1.5", "--mirror", "--json"],
    ["forward", "12x12", "-l", "pixelshuffle", "--scale", "2", "--mirror"],
    # solve
    ["solve", "0", "5"], ["solve", "H", "5"], ["solve", "5", "5x5"],
    ["solve", "126", "255", "--max-kernel", "1000000000"],
    ["solve", "126", "255", "--max-stride", "1000000000"],
    ["solve", "126", "255", "--max-padding", "1000000000"],
    ["solve", "126", "255", "--max-kernel", "-1"], ["solve", "126", "255", "--limit", "-1"],
    ["solve", "126", "255", "-l", ","], ["solve", "126", "255", "-f", ""],
    ["solve", "126", "255", "-p", "1:2:3"], ["solve", "126", "255", "-s", "9", "--max-stride", "2"],
    ["solve", "1", "2147483647", "--max-kernel", "2147483647", "--max-stride", "2147483647"],
    ["solve", "126", "255", "--json", "extra"],
    # inputs
    ["inputs", "0", "-k", "3"], ["inputs", "H", "-k", "3"],
    ["inputs", "2147483647", "-k", "3", "-l", "conv", "-s", "2147483647"],
    ["inputs", "1", "-k", "2147483647", "-l", "conv", "-s", "65536", "-d", "65536"],
    ["inputs", "5", "-l", "upsample", "--scale", "0.0000001"],
    ["inputs", "5", "-l", "upsample", "--scale", "999999999"],
    ["inputs", "5", "-l", "pixelshuffle", "--scale", "2"],
    ["inputs", "10x10", "-l", "pixelshuffle", "--scale", "2", "--json"],
    # chain: inline specs with odd tokens
    ["chain", "12", "conv k3 |"], ["chain", "12", "| |"], ["chain", "12", "a: b: conv"], ["chain", "12", "concat"],
    ["chain", "12", "conv k=١"], ["chain", "12", "conv k3 p=1:2:3"], ["chain", "12", "upsample scale=0.0000001"],
    ["chain", "H", "convT k3 | conv k3", "-f", "tf"], ["chain", "H", "conv k3 s256 | conv k3 s256"],
    ["chain", "12", "conv k3 s2", "--valid-inputs", "1..100000000"],
    ["chain", "12", "conv k3 s2", "--valid-inputs", "100..1"],
    ["chain", "12", "conv k3 s2", "--expect", "H", "--json"],
    ["chain", "12", "a.b"], ["chain", "12", ""], ["chain", "12", "conv k3 | " * 2000],
    # mirror
    ["mirror", "H", "conv k3 s2"], ["mirror", "12", "upsample x2"], ["mirror", "12x12", "pixelshuffle x2"],
    ["mirror", "12", "conv k3 s2", "-f", ","], ["mirror", "12", "convT k3 s2", "-f", "tf"],
    ["mirror", "2147483647", "conv k2147483647 s2147483647"],
    # design
    ["design", "1", "64", "--layers", "100"], ["design", "1", "64", "--layers", "0"],
    ["design", "1", "64", "--layers", "12", "--max-kernel", "1000000000"],
    ["design", "1", "64", "--layers", "3", "--max-kernel", "64", "--max-stride", "16"],
    ["design", "1", "64", "--layers", "5", "-s", "9999999"],
    ["design", "1", "2147483647", "--layers", "12"],
    ["design", "1", "2147483647", "--layers", "12", "--max-stride", "8", "--json"],
    ["design", "H", "64", "--layers", "5"], ["design", "1x1", "64", "--layers", "5"],
    ["design", "1", "64", "--layers", "5", "--limit", "2147483647", "--json"],
    ["design", "1", "64", "--layers", "3", "--backend", "jax"],
    # hostile values (issue 13): each refused in one line, none echoed whole
    ["forward", "exec", "-l", "conv", "-k", "3"], ["forward", "exec,8", "-l", "conv", "-k", "3", "--json"],
    ["forward", "8", "-l", "conv", "-k", "3", "-f", "keras", "--backend", ""],
    ["solve", "8", "16", "--backend", "jax", "--json"], ["solve", "8", "16", "-f", "torch,,onnx"],
    ["solve", "1000", "1000", "-l", "conv", "--max-kernel", "2800000", "--max-stride", "1", "--limit", "0"],
    ["solve", "30x30x30", "60x60x60", "-l", "any", "-f", "all", "--max-kernel", "64", "--max-stride", "16"],
    ["forward", "126", "-l", "upsample", "--scale", "1" * 40001],
    ["forward", "1000000", "-l", "maxpool", "-k", "1000000", "--mirror"],
    ["mirror", "8", "conv k3", "-f", "torch,,onnx"], ["chain", "8", "conv k3", "-f", ""],
    ["chain", "8", "[/red]: conv k3"], ["chain", "8", "[red]x[/red]: conv k3 | \x1b[2Jy: conv k1", "--json"],
    ["chain", "H", " | ".join(["maxpool k3 s2 p1 ceil"] * 20)],
    ["forward", "8", "-l", "a" * 131_000], ["forward", "8", "-l", "conv", "-k", "3", "-p", "b" * 131_000],
    ["verify", "5000x5000", "-l", "conv", "-k", "1", "--json"],
    ["convert", "conv", "--from", "torch", "--to", "keras", "-k", "3", "--size", "400x400x400"],
    # numeric commands
    ["verify", "2147483647", "-l", "conv", "-k", "4", "-s", "2", "--json"],
    ["verify", "10", "-l", "conv", "-k", "4", "--channels", "1:2:3"],
    ["verify", "10", "-l", "conv", "-k", "4", "--groups", "3"],
    ["verify", "10", "-l", "conv", "-k", "4", "--seed", "-1"],
    ["verify", "10", "-l", "maxpool", "-k", "2"], ["verify", "10", "-l", "upsample", "--scale", "2"],
    ["verify", "10x10", "-l", "pixelshuffle", "--scale", "2"], ["verify", "10", "-l", "unpool", "-k", "2"],
    ["matrix", "2147483647", "-l", "conv", "-k", "3"],
    ["matrix", "8", "-l", "convT", "-k", "3", "-s", "65536", "--no-matrix"],
    ["matrix", "H", "-l", "convT", "-k", "4", "-s", "2"],
    ["convert", "frob", "--from", "tf", "--to", "torch", "-k", "3", "--size", "64"],
    ["convert", "conv", "--from", "tf", "--to", "torch", "-k", "3", "--size", "H"],
    ["convert", "conv", "--from", "tf", "--to", "torch", "-k", "2147483647", "--size", "100"],
    ["convert", "convT", "--from", "tf", "--to", "torch", "-k", "3", "-s", "65536", "--size", "100"],
    ["convert", "conv", "--to", "tf", "-k", "3", "--size", "10", "--json"],
]


@pytest.mark.parametrize("args", NASTY, ids=lambda a: " ".join(a)[:60])
def test_nasty_arguments(args):
    code, out, err = invoke(args)
    assert len(err) < 2000, (args[:3], len(err))  # long values are cut, not echoed whole
    assert "\x1b" not in out + err and "\u202e" not in out + err


@pytest.mark.parametrize("command", ["chain", "mirror"])
def test_broken_spec_files(files, command):
    for path in sorted(files.iterdir()):
        invoke([command, "12x12", str(path)])
        invoke([command, "H", str(path), "--json"])
    invoke([command, "12", str(files / "missing.toml")])


def test_unicode_digits_are_not_numbers():
    code, _, err = invoke(["forward", "١٢", "-k", "3"])
    assert code == 2 and "must be an integer" in err


def test_usage_errors_keep_the_json_contract():
    code, out, _ = invoke(["forward", "12", "-k", "3", "--json", "--frob"])
    assert code == 2 and "No such option" in json.loads(out)["error"]


def test_fixes_give_the_right_answers():
    """The paths that crashed now answer correctly, not just without a traceback."""
    assert json.loads(invoke(["inputs", "10x10", "-l", "pixelshuffle", "--scale", "2", "--json"])[1])["inputs"] \
        == [[5], [5]]
    assert json.loads(invoke(["inputs", "5", "-l", "upsample", "--scale", "0.5", "--json"])[1])["inputs"] == [[10, 11]]
    code, out, _ = invoke(["inputs", "255", "-l", "convT", "-f", "tf", "-k", "4", "-s", "2", "-p", "same"])
    assert code == 0 and "output_shape=[N, 255, C_out]" in out
    code, out, _ = invoke(["forward", "H", "-l", "unpool", "-k", "3"])
    assert code == 0 and "3*H - 2, 3*H - 1, 3*H, 3*H + 1, 3*H + 2" in out


def test_numeric_sizes_are_bounded_before_allocating():
    for args in (["verify", "10", "-l", "conv", "-k", "4", "--channels", "100000:100000"],
                 ["matrix", "2147483647", "-l", "conv", "-k", "3", "--no-matrix"]):
        code, out, err = invoke(args)
        assert code == 2 and ("elements" in err or "entries" in err), err


# ---- hypothesis: random and adversarial text in every argument ------------------------------------------

WORDS = st.sampled_from(["0", "-1", "1", "2", "3", "4", "7", "65536", "65537", "2147483647", "2147483648",
                         "1e3", "x", "1x", "3x3", "3x3x3", "3x3x3x3", "1:2", "1:2:3", "-3:-3", "same", "valid",
                         "same_upper", "same_lower", "causal", "frob", "H", "HxW", "", "nan", "inf", "0.5",
                         "1e-7", "1e308", "١", "__import__('os')"])
TEXT = st.one_of(WORDS, st.text(max_size=12))
LAYERS = st.sampled_from(["conv", "convT", "maxpool", "avgpool", "upsample", "pixelshuffle", "unpool", "deconv",
                          "frob"])
FRAMEWORKS = st.sampled_from(["torch", "keras", "tf", "jax", "onnx", "all", "frob"])
OPTIONS = ["-k", "-s", "-p", "-d", "--output-padding", "--output-size", "--scale", "--backend"]


def _layer_args(draw_options):
    return st.lists(st.tuples(st.sampled_from(OPTIONS), TEXT), max_size=4).map(
        lambda pairs: [part for pair in pairs for part in pair])


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@FUZZ
@given(command=st.sampled_from(["forward", "inputs"]), size=TEXT, layer=LAYERS, framework=FRAMEWORKS,
       options=_layer_args(None), flags=st.lists(st.sampled_from(["--json", "--ceil-mode", "-q", "--emit",
                                                                    "--explain", "--mirror"]), max_size=2))
def test_fuzz_layer_commands(command, size, layer, framework, options, flags):
    if command == "inputs":
        flags = [f for f in flags if f in ("--json", "--ceil-mode")]
    invoke([command, size, "-l", layer, "-f", framework, *options, *flags])


@FUZZ
@given(size=TEXT, target=TEXT, layer=st.one_of(LAYERS, st.just("any")), framework=FRAMEWORKS,
       bounds=st.lists(st.tuples(st.sampled_from(["--max-kernel", "--max-stride", "--max-dilation", "--max-padding",
                                                  "--limit", "-k", "-s", "-p"]), WORDS), max_size=3),
       as_json=st.booleans())
def test_fuzz_solve(size, target, layer, framework, bounds, as_json):
    invoke(["solve", size, target, "-l", layer, "-f", framework, *[p for pair in bounds for p in pair],
            *(["--json"] if as_json else [])])


ITEM = st.builds(lambda name, layer, opts: " ".join(filter(None, [name, layer, *opts])),
                 st.sampled_from(["", "a:", "b:", ":", "a: b:"]),
                 st.sampled_from(["conv", "convT", "maxpool", "upsample", "concat", "add a", "concat input", "frob"]),
                 st.lists(st.sampled_from(["k3", "k=0", "s2", "s65537", "p1", "p=same", "p=1:2:3", "d2", "op1",
                                           "out=9", "x2", "scale=1e-7", "c4", "c=1.5", "ceil", "input=a", "zz",
                                           "k=١"]), max_size=3))


@FUZZ
@given(command=st.sampled_from(["chain", "mirror"]), size=st.sampled_from(["12", "101", "H", "12x12", "0", "HxW"]),
       items=st.lists(ITEM, min_size=1, max_size=4), framework=st.sampled_from(["torch", "tf", "keras", "all", "x"]),
       as_json=st.booleans())
def test_fuzz_network_commands(command, size, items, framework, as_json):
    invoke([command, size, " | ".join(items), "-f", framework, *(["--json"] if as_json else [])])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(size=st.sampled_from(["1", "7", "64", "1x1", "0", "2147483647"]),
       target=st.sampled_from(["64", "224", "1", "8x8", "2147483647"]),
       layers=st.sampled_from(["1", "3", "5", "13", "0"]), layer=st.sampled_from(["convT", "conv", "maxpool"]),
       framework=FRAMEWORKS, extra=st.lists(st.sampled_from(["--tied", "--no-checkerboard", "--json"]), max_size=2),
       stride=st.sampled_from([None, "1", "2", "3", "100000", "0"]))
def test_fuzz_design(size, target, layers, layer, framework, extra, stride):
    invoke(["design", size, target, "--layers", layers, "-l", layer, "-f", framework, *extra,
            *(["-s", stride] if stride else [])])
