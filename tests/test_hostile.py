"""Hostile input, as an attacker would send it: every command in a subprocess under a time and memory limit.

Each case asserts the whole contract: the exit code, one line on stderr when it fails, no traceback, no
internal error, no raw control character or interpreted markup in the output, an answer within the time
limit, and that no bait ran (specs and sources written to create a marker file if they were ever evaluated).
The cases run concurrently (they are separate processes), so the suite takes a few seconds of wall time.
"""

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

CPU_SECONDS = 20  # CPU time per call: a hang burns it and is killed (SIGXCPU), however loaded the machine is
TIMEOUT = 120  # wall seconds per call: catches a hang that only waits (a FIFO with no writer)
MEMORY = 2 << 30  # bytes of address space per call: a blow-up dies here as a MemoryError (exit 3)
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # a terminal would act on these


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(args, env=None, stdout=subprocess.PIPE, cwd=None):
    started = time.monotonic()
    try:
        process = subprocess.run([sys.executable, "-m", "tconvcalc", *map(str, args)], stdout=stdout,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                                 preexec_fn=_limits, env={**os.environ, "COLUMNS": "1000", **(env or {})}, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None
    decode = lambda data: (data or b"").decode("utf-8", "replace")  # noqa: E731
    return process.returncode, decode(process.stdout), decode(process.stderr), time.monotonic() - started


def _layers(text, count):
    return " | ".join([text] * count)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Bombs, baits and odd files; every bait would create a file under ``root/ran`` if it were evaluated."""
    root = tmp_path_factory.mktemp("hostile")
    ran = root / "ran"
    ran.mkdir()
    touch = f"open({str(ran / 'marker')!r}, 'w').write('ran')"
    files = {
        "big_int.toml": "[[layers]]\nlayer = 'conv'\nkernel = " + "1" * 5000 + "\n",
        "big_int.json": '{"layers": [{"layer": "conv", "kernel": ' + "1" * 40000 + "}]}",
        "big_channels.toml": "[[layers]]\nlayer = 'conv'\nkernel = 3\nchannels = " + "9" * 4000 + "\n",
        "big_float.json": '{"layers": [{"layer": "upsample", "scale": ' + "1" * 40000 + ".5}]}",
        "big_scale.toml": "[[layers]]\nlayer = 'upsample'\nscale = '" + "1" * 40001 + "'\n",
        "stride_empty.json": '{"layers": [{"layer": "conv", "kernel": 3, "stride": []}]}',
        "dilation_empty.json": '{"layers": [{"layer": "conv", "kernel": 3, "dilation": []}]}',
        "rank_float.json": '{"layers": [{"layer": "conv", "kernel": 3, "rank": 2.0}]}',
        "inputs_empty.json": '{"layers": [{"layer": "conv", "kernel": 3, "name": "a"}, '
                             '{"layer": "concat", "inputs": []}]}',
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "names.toml": '[[layers]]\nlayer = "conv"\nkernel = 3\nname = "\\u001b]0;PWNED\\u0007\\u001b[2J[red]r[/red]'
                      '[link=http://evil]l[/link]\\u202e"\n[[layers]]\nlayer = "conv"\nkernel = 1\nname = "[/red]"\n',
        "names.json": json.dumps({"layers": [{"layer": "conv", "kernel": 3, "name": "\x1b[31mRED\x9b:cat:"},
                                             {"layer": "conv", "kernel": 3, "name": "[bold]b"}]}),
        "names.py": "from collections import OrderedDict\nimport torch.nn as nn\n\nmodel = nn.Sequential(OrderedDict([\n"
                    '    ("\\x1b[2J[red]r[/red]\\u202e", nn.Conv2d(3, 8, 3)),\n    ("ok", nn.ReLU()),\n]))\n',
        "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                     "layers: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
        "bait.yaml": f"layers:\n  - !!python/object/apply:os.system ['touch {ran / 'marker'}']\n",
        "bait.py": f"import os\n{touch}\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n"
                   f"    def __init__(self, n=__import__('os').system('touch {ran / 'marker'}')):\n"
                   f"        super().__init__()\n        {touch}\n        self.conv = nn.Conv2d(3, 8, 3)\n\n"
                   "    def forward(self, x):\n        return self.conv(x)\n",
        "bait.json": json.dumps({"layers": [{"layer": "conv", "kernel": f"__import__('os').system('touch {ran}/m')"}]}),
        "bait.toml": f"[[layers]]\nlayer = \"conv\"\nkernel = 3\nname = \"{{{{7*7}}}}\"\n"
                     f"padding = \"__import__('os').system('touch {ran}/m')\"\n",
        "many.toml": "".join("[[layers]]\nlayer = 'conv'\nkernel = 1\n" for _ in range(1001)),
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "binary.toml").write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n")
    (root / "directory.toml").mkdir()
    os.mkfifo(root / "fifo.toml")
    return root


def _file(name, tail=""):
    return lambda root: str(root / name) + tail


# (id, args (callables take the root), expected exit code, text the output must hold)
POOLS_CEIL = _layers("maxpool k3 s2 p1 ceil", 20)
CASES = [
    # hangs and blow-ups
    ("ceil-pools-symbolic", ["chain", "H", POOLS_CEIL], 2, "at most 24"),
    ("conv1000-symbolic", ["chain", "H", _layers("conv k1", 1000)], 0, "through 1000 layers"),
    ("conv1000-numeric", ["chain", "64", _layers("conv k1", 1000)], 0, "through 1000 layers"),
    ("layers-1001", ["chain", "64", _file("many.toml")], 2, "at most 1000"),
    ("valid-inputs-wide", ["chain", "H", _layers("conv k1", 1000), "--valid-inputs", "1..65536"], 0, " 65536"),
    ("design-limit", ["design", "1", "64", "--layers", "5", "--limit", "2147483647"], 2, "at most 2000"),
    ("solve-kernels", ["solve", "1000", "1000", "-l", "conv", "--max-kernel", "2800000", "--max-stride", "1",
                       "--limit", "0"], 2, "more than 2500"),
    ("solve-3d-wide", ["solve", "30x30x30", "60x60x60", "-l", "any", "-f", "all", "--max-kernel", "64",
                       "--max-stride", "16", "--max-padding", "64"], 2, "more than 2500"),
    ("solve-strides", ["solve", "1000", "1", "-l", "conv", "--max-stride", "2000000", "--max-kernel", "1"], 2,
     "at most 100000"),
    ("scale-digits", ["forward", "126", "-l", "upsample", "--scale", "1" * 40001], 2, "at most 32"),
    ("scale-digits-inline", ["chain", "126", "upsample scale=" + "1" * 40001], 2, "at most 32"),
    ("scale-digits-toml", ["chain", "126", _file("big_scale.toml")], 2, "at most 32"),
    ("mirror-pool-stride", ["forward", "1000000", "-l", "maxpool", "-k", "1000000", "--mirror"], 2, "65536"),
    ("mirror-huge-3d", ["mirror", "2147483647x2147483647x2147483647", "conv k3 s65536 p1000000 | conv k3 s65536"],
     0, "decoder"),
    ("mirror-flag-huge", ["forward", "2147483647", "-l", "conv", "-k", "3", "-p", "2147483647", "--mirror"], 0,
     "mirror:"),
    ("dev-zero", ["chain", "8", "/dev/zero"], 2, "not a file"),
    ("dev-urandom", ["chain", "8", "/dev/urandom"], 2, "not a file"),
    ("fifo", ["chain", "8", _file("fifo.toml")], 2, "a FIFO"),
    ("directory", ["chain", "8", _file("directory.toml")], 2, "a directory"),
    ("binary", ["chain", "8", _file("binary.toml")], 2, "cannot read"),
    ("deep-json", ["chain", "8", _file("deep.json")], 2, "syntax error"),
    ("yaml-bomb", ["chain", "8", _file("bomb.yaml")], 2, "YAML"),
    ("verify-memory", ["verify", "10000x10000", "-l", "conv", "-k", "1"], 2, "elements"),
    ("verify-held", ["verify", "5000x5000", "-l", "conv", "-k", "1"], 2, "at most 40,000,000"),
    ("convert-huge", ["convert", "conv", "--from", "torch", "--to", "keras", "-k", "3", "--size", "100000x100000"],
     2, "at most 40,000,000"),
    ("convert-3d", ["convert", "conv", "--from", "torch", "--to", "keras", "-k", "3", "--size", "400x400x400"], 2,
     "at most 40,000,000"),
    # wrong exit codes
    ("toml-5000-digits", ["chain", "8", _file("big_int.toml")], 2, "4300 digits"),
    ("json-40000-digits", ["chain", "8", _file("big_int.json")], 2, "4300 digits"),
    ("channels-4000-digits", ["chain", "8", _file("big_channels.toml")], 2, "2147483647"),
    ("json-float-digits", ["chain", "8", _file("big_float.json")], 2, "finite"),
    ("stride-empty", ["chain", "8", _file("stride_empty.json")], 2, "stride is empty"),
    ("dilation-empty", ["chain", "8", _file("dilation_empty.json")], 2, "dilation is empty"),
    ("rank-float", ["chain", "8", _file("rank_float.json")], 2, "'rank'"),
    ("inputs-empty", ["chain", "8", _file("inputs_empty.json")], 2, "'inputs'"),
    ("markup-name-inline", ["chain", "8", "[/red]: conv k3"], 0, "[/red]"),
    ("backend-empty", ["forward", "8", "-l", "conv", "-f", "keras", "-k", "3", "--backend", ""], 2, "backend"),
    ("backend-torch-solve", ["solve", "8", "16", "--backend", "jax"], 2, "-f keras only"),
    ("backend-torch-design", ["design", "1", "64", "-n", "3", "--backend", "jax"], 2, "-f keras only"),
    ("framework-empty-solve", ["solve", "8", "16", "-f", "torch,,onnx"], 2, "unknown framework ''"),
    ("framework-empty-mirror", ["mirror", "8", "conv k3", "-f", "torch,,onnx"], 2, "unknown framework ''"),
    ("framework-empty-chain", ["chain", "8", "conv k3", "-f", ""], 2, "unknown framework ''"),
    ("symbol-with-x", ["forward", "exec", "-l", "conv", "-k", "3"], 2, "ambiguous"),
    ("symbol-with-x-comma", ["forward", "exec,8", "-l", "conv", "-k", "3", "-q"], 0, "(exec - 2)x6"),
    # user text reaching the terminal
    ("names-toml", ["chain", "8", _file("names.toml")], 0, "[red]r[/red][link=http://evil]l[/link]"),
    ("names-json", ["chain", "8", _file("names.json")], 0, "[bold]b"),
    ("names-python", ["chain", "64", _file("names.py", ":model")], 0, "[red]r[/red]"),
    ("names-inline", ["chain", "8", "[red]x[/red]: conv k3 | \x1b[2Jz: conv k1 | \u202ey: conv k1"], 0, "[red]x[/red]"),
    ("names-in-error", ["chain", "2", "\x1b]0;PWNED\x07: conv k3"], 1, "PWNED"),
    ("names-in-json", ["chain", "8", _file("names.json"), "--json"], 0, "RED"),
    # long values are cut
    ("long-layer", ["forward", "8", "-l", "a" * 131_000], 2, "unknown layer 'aaaa"),
    ("long-framework", ["forward", "8", "-f", "b" * 131_000, "-k", "3"], 2, "characters"),
    ("long-padding", ["forward", "8", "-l", "conv", "-k", "3", "-p", "c" * 131_000], 2, "characters"),
    ("long-backend", ["forward", "8", "-f", "keras", "-l", "conv", "-k", "3", "--backend", "d" * 131_000], 2,
     "characters"),
    ("long-spaced", ["forward", "8", "-l", "conv x " * 15_000], 2, "unknown layer 'conv x conv"),
    ("long-name", ["chain", "8", "n" * 100_000 + ": conv k3"], 2, "at most 256"),
    # baits: nothing may run
    ("bait-python", ["chain", "64", _file("bait.py", ":Net")], 0, "62x62"),
    ("bait-args", ["chain", "64", _file("bait.py", ":Net"), "--args", "n=__import__('os').system('touch x')"], 2, ""),
    ("bait-yaml", ["chain", "8", _file("bait.yaml")], 2, "YAML"),
    ("bait-json", ["chain", "8", _file("bait.json")], 2, "kernel"),
    ("bait-toml", ["chain", "8", _file("bait.toml")], 2, "padding"),
    ("bait-inline", ["chain", "8", "conv k=__import__('os').system('touch_m')"], 2, ""),
    ("bait-size", ["forward", "__import__('os').system('touch_m')", "-l", "conv", "-k", "3"], 2, "size"),
]


@pytest.fixture(scope="module")
def outcomes(root):
    """Every case, run concurrently: {id: (code, stdout, stderr, seconds) or None for a timeout}."""
    def one(case):
        name, args, _, _ = case
        return name, run([a(root) if callable(a) else a for a in args], cwd=root)

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        return dict(pool.map(one, CASES))


def check_contract(result, code, label):
    """What every hostile call keeps, whatever it was given."""
    assert result is not None, f"{label}: no answer within {TIMEOUT} s"
    got, out, err, _ = result
    assert got != -signal.SIGXCPU, f"{label}: more than {CPU_SECONDS} s of CPU time"
    assert "Traceback" not in out + err, (label, err[-2000:])
    assert "internal error" not in err, (label, err[-500:])
    assert not RAW.search(out + err), (label, RAW.search(out + err), (out + err)[:500])
    assert got == code, (label, got, err[-500:])
    if got != 0:
        lines = err.strip().splitlines()  # one line, and at most a hint of what to do instead
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), (label, err[-2000:])
        assert len(err) < 2000, (label, len(err))


@pytest.mark.parametrize("name, args, code, needle", CASES, ids=[case[0] for case in CASES])
def test_hostile(outcomes, root, name, args, code, needle):
    result = outcomes[name]
    check_contract(result, code, name)
    _, out, err, _ = result
    assert needle in out + err, (name, needle, (out + err)[:1000])
    assert not any((root / "ran").iterdir()), f"{name}: a bait ran"
    assert not (root / "x").exists() and not (root / "touch_m").exists()


def test_json_keeps_names_exact(outcomes):
    """JSON is the contract for scripts: names stay as written (json escapes the controls itself)."""
    data = json.loads(outcomes["names-in-json"][1])
    assert data["steps"][0]["name"] == "\x1b[31mRED\x9b:cat:"
    assert data["steps"][1]["name"] == "[bold]b"


def test_escapes_are_shown(outcomes):
    """A control character in a name is shown as its escape, not dropped: the user can see what is there."""
    assert "\\x1b]0;PWNED\\x07" in outcomes["names-toml"][1]
    assert "\\u202e" in outcomes["names-toml"][1]


def test_full_disk(root):
    with open("/dev/full", "w") as full:
        result = run(["chain", "8", "conv k3 | conv k1"], stdout=full)
    check_contract(result, 2, "/dev/full")
    assert "No space left" in result[2]


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "POSIX", "PYTHONUTF8": "0",
                                                                  "PYTHONIOENCODING": ""}])
def test_narrow_encodings(env):
    for args in (["forward", "8", "-l", "conv", "-k", "3", "--explain"], ["chain", "H", "c: conv k3 s2 | maxpool k2"]):
        result = run(args, env=env)
        check_contract(result, 0, f"{env} {args}")
        result[1].encode("ascii")  # everything shown, non-ASCII as escapes


def test_closed_pipe():
    """The reader went away (| head -0): exit 141 as a shell reports SIGPIPE, and nothing on stderr."""
    for args in (["solve", "8", "16", "-l", "any", "-f", "all", "--limit", "0"], ["forward", "8", "-l", "conv", "-k",
                                                                                  "3", "--emit"]):
        read, write = os.pipe()
        os.close(read)
        try:
            result = run(args, stdout=write)
        finally:
            os.close(write)
        assert result[0] == 141 and result[2] == "", (args, result)


def _interrupt(args, when):
    """SIGINT once ``when(line)`` holds for a line of stderr (python -X importtime writes one per import)."""
    process = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "tconvcalc", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_limits)
    lines = []
    for line in process.stderr:
        lines.append(line.decode("utf-8", "replace"))
        if when(lines[-1]):
            process.send_signal(signal.SIGINT)
            break
    out, rest = process.communicate(timeout=TIMEOUT)
    err = [line for line in lines + rest.decode("utf-8", "replace").splitlines(True)
           if not line.startswith("import time:")]
    return process.returncode, "".join(err)


def test_ctrl_c_while_starting():
    code, err = _interrupt(["forward", "8", "-l", "conv", "-k", "3"], lambda line: "tconvcalc.errors" in line)
    assert code == 130 and "Traceback" not in err and not err.strip(), (code, err)


def test_ctrl_c_while_working():
    """In a search that takes seconds: SIGINT once the command has started (its last import is in)."""
    code, err = _interrupt(["chain", "H", _layers("maxpool k3 s2 p1 ceil", 3) + " | conv k3"],
                           lambda line: "sympy" in line and "|" in line and line.rstrip().endswith("sympy"))
    assert code == 130 and "Traceback" not in err and not err.strip(), (code, err)


def test_terminal_gets_only_styles():
    """Under a pseudo-terminal rich colours its own text (SGR), and that is the only escape that reaches it."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tconvcalc", "chain", "8",
         "[red]x[/red]: conv k3 | \x1b]0;PWNED\x07\x1b[2Jz: conv k1 | \u202ey: conv k1"],
        stdin=slave, stdout=slave, stderr=slave, preexec_fn=_limits,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"})
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert process.wait(timeout=TIMEOUT) == 0
    text = data.decode("utf-8", "replace")
    assert "[red]x[/red]" in text and "\\x1b]0;PWNED\\x07" in text and "\\u202e" in text
    assert not re.findall(r"\x1b(?!\[[0-9;]*m)", text) and "\u202e" not in text and "\x07" not in text
