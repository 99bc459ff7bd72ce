"""Import mode (chain ... --import): what tconvcalc reports for model files written in the idioms of real repos,
checked against the real models run by torch here; and model files that attack the child process.

Each child process imports torch (2-3 s), so every model is recorded once (a module fixture) and its network
reused for every size; the hostile files run as CLI calls side by side.
"""

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tconvcalc.errors import InputError  # noqa: E402
from tconvcalc.network import build, chain, sizes_through, valid_in_range  # noqa: E402
from tconvcalc.source.imported import network_from_import  # noqa: E402
from tconvcalc.source.selection import Target, parse_args  # noqa: E402

DATA = Path(__file__).parent / "data" / "import_models"
SHARED = Path(__file__).parent / "data" / "models"  # read by test_static_models.py too
HOSTILE = DATA / "hostile"
ESCAPE = "\x1b"


def record(file, name=None, args=""):
    positional, keywords = parse_args(args)
    return network_from_import(Target(str(file), name, positional, keywords), timeout=300)


RECORDED = {  # every model the tests read, recorded side by side (each child is mostly torch's import)
    "unet": (SHARED / "unet" / "model.py", "UNet", "in_channels=3, num_classes=2"),
    "unet_bilinear": (SHARED / "unet" / "model.py", "UNet", "in_channels=1, num_classes=3, bilinear=True"),
    "resnet": (DATA / "resnet_like.py", "ResNet", ""),
    "vggish": (DATA / "resnet_like.py", "VGGish", ""),
    "mobile_se": (DATA / "resnet_like.py", "MobileSE", ""),
    "segnet": (DATA / "segnet_like.py", "SegNet", ""),
    "script": (DATA / "script_style.py", None, ""),  # the module-level instance
    "esrgan": (SHARED / "esrgan_like.py", None, ""),  # the one class no other class of the file uses
    "checked": (DATA / "dynamic.py", "Checked", ""),
    "pad_to_even": (DATA / "dynamic.py", "PadToEven", ""),
    "two_models": (DATA / "two_models.py", None, ""),
    "autoencoder": (DATA / "two_models.py", "autoencoder", "width=8"),
    "missing": (DATA / "two_models.py", "Missing", ""),
}


@pytest.fixture(scope="module")
def recorded():
    """{key: a future of its Network}; .result() raises what network_from_import raised."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield {key: pool.submit(record, *spec) for key, spec in RECORDED.items()}


def real_model(module, name, args="", directory=DATA):
    """The model as the user builds it, imported here the way a training script next to it would."""
    top = sys.modules.get(module.split(".")[0])
    if top is not None and not str(getattr(top, "__file__", "")).startswith(str(directory)):
        for cached in [m for m in sys.modules if m == top.__name__ or m.startswith(top.__name__ + ".")]:
            del sys.modules[cached]  # a same-named file of another test directory (static_models/two_models.py)
    sys.path.insert(0, str(directory))
    try:
        factory = getattr(importlib.import_module(module), name)
    finally:
        sys.path.remove(str(directory))
    positional, keywords = parse_args(args)
    return factory(*positional, **dict(keywords)).eval()


def real_sizes(model, shape):
    """Every module's output size per call (name, name#2, ...) and the output, from a real forward pass."""
    names = {m: n for n, m in model.named_modules() if n}
    seen = {}

    def hook(module, inputs, output):
        if module in names and isinstance(output, torch.Tensor):
            name, count = names[module], 1
            while (name if count == 1 else f"{name}#{count}") in seen:
                count += 1
            seen[name if count == 1 else f"{name}#{count}"] = (tuple(output.shape[2:]) or tuple(output.shape[1:]),
                                                              output.shape[1])

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        with torch.no_grad():
            output = model(torch.randn(*shape))
    finally:
        handle.remove()
    return seen, output


def check_sizes(network, model, shape):
    """tconvcalc's size after every layer named like a module, and at the end, against torch's."""
    result = chain(network, tuple(shape[2:]))
    seen, output = real_sizes(model, shape)
    compared = 0
    for step in result.steps:
        if step.name in seen:
            size, channels = seen[step.name]
            assert tuple(step.output) == size or (step.op in ("flatten", "linear")), (step.name, step.output, size)
            if step.channels is not None:
                assert step.channels == channels, (step.name, step.channels, channels)
            compared += 1
    final = tuple(output.shape[2:]) if output.dim() > 2 else ()
    if final:
        assert tuple(result.output) == final
    assert result.steps[-1].channels in (None, output.shape[1])
    assert compared >= len(result.steps) // 2  # most steps are modules: the comparison covered them
    return result


def valid_by_torch(model, channels, sizes, rank=2):
    """The input sizes (equal on every axis) the real model runs at, on meta tensors (torch's own checks)."""
    meta = model.to("meta")
    valid = []
    for n in sizes:
        try:
            with torch.no_grad():
                meta(torch.empty(2, channels, *[n] * rank, device="meta"))
            valid.append(n)
        except Exception:  # noqa: BLE001 -- whatever torch refuses with
            pass
    return valid


# ---- models in the idioms of real repositories ------------------------------------------------------------

@pytest.fixture(scope="module")
def unet(recorded):
    return recorded["unet"].result()


def test_unet_package_with_relative_imports_and_the_pad_idiom(unet):
    assert unet.origin.startswith("imported UNet(in_channels=3, num_classes=2) from ")
    assert "traced it with torch.fx" in unet.origin
    pads = [node for node in unet.nodes if node.op == "pad"]
    assert len(pads) == 4 and all(node.like for node in pads)
    assert unet.nodes[0].where.endswith("unet/parts.py:21")  # ConvPair's forward: return self.body(x)
    model = real_model("unet.model", "UNet", "in_channels=3, num_classes=2", SHARED)
    for size in (75, 100):  # odd sizes on the way down: the pads are not 0
        check_sizes(unet, model, (1, 3, size, size))


def test_unet_valid_inputs_match_torch(unet):
    model = real_model("unet.model", "UNet", "in_channels=3, num_classes=2", SHARED)
    sizes = range(1, 41)
    assert list(valid_in_range(unet, 2, 1, 40)) == valid_by_torch(model, 3, sizes)


def test_unet_bilinear_upsampling(recorded):
    network = recorded["unet_bilinear"].result()
    assert any(node.op == "upsample" for node in network.nodes)
    check_sizes(network, real_model("unet.model", "UNet", "in_channels=1, num_classes=3, bilinear=True", SHARED),
                (1, 1, 75, 75))


@pytest.fixture(scope="module")
def resnet(recorded):
    return recorded["resnet"].result()


def test_resnet_adaptive_pool_flatten_linear(resnet):
    ops = [node.op for node in resnet.nodes]
    assert ops[-3:] == ["adaptiveavgpool", "flatten", "linear"]
    assert ops.count("add") == 4  # one residual add per block, the projection shortcut read as its branch
    model = real_model("resnet_like", "ResNet")
    for size in (33, 64):
        result = check_sizes(resnet, model, (1, 3, size, size))
        assert result.steps[-1].channels == 10
    assert list(valid_in_range(resnet, 2, 1, 24)) == valid_by_torch(model, 3, range(1, 25))


def test_flatten_into_linear_checks_in_features(recorded):
    network = recorded["vggish"].result()
    assert "recorded at 32x32" in network.origin  # the only size its Linear takes
    assert [node.op for node in network.nodes][-2:] == ["flatten", "linear"]
    model = real_model("resnet_like", "VGGish")
    check_sizes(network, model, (1, 3, 32, 32))
    assert list(valid_in_range(network, 2, 1, 40)) == valid_by_torch(model, 3, range(1, 41)) == [32, 33, 34, 35]


def test_depthwise_convs_and_squeeze_excitation_gates(recorded):
    network = recorded["mobile_se"].result()
    groups = [dict(node.options).get("groups") for node in network.nodes if node.op == "conv"]
    assert groups == [None, 8, None, 16, None]
    assert "mul" not in [node.op for node in network.nodes]  # x * gate.expand_as(x): the 1x1 gate keeps x's size
    model = real_model("resnet_like", "MobileSE")
    check_sizes(network, model, (1, 3, 75, 75))
    assert list(valid_in_range(network, 2, 1, 20)) == valid_by_torch(model, 3, range(1, 21))


def test_a_training_script_with_argparse_and_a_module_level_model(recorded):
    network = recorded["script"].result()
    assert network.origin.startswith("imported netG from ")
    sys.argv, argv = ["script_style.py"], sys.argv
    try:
        model = real_model("script_style", "Generator", "16, 8")
    finally:
        sys.argv = argv
    result = check_sizes(network, model, (1, 16, 1, 1))  # DCGAN: a 1x1 latent to 32x32
    assert tuple(result.output) == (32, 32)


def test_pools_returning_indices_and_unpools(recorded):
    network = recorded["segnet"].result()
    assert [node.op for node in network.nodes].count("unpool") == 2
    model = real_model("segnet_like", "SegNet")
    check_sizes(network, model, (1, 3, 64, 64))
    # unpool(x, indices) needs x the size of the indices' pool: not a rule tconvcalc has, so it says so
    assert "max unpool also needs its input to be the size of the pool" in network.origin
    assert set(valid_by_torch(model, 3, range(1, 31))) <= set(valid_in_range(network, 2, 1, 30))


def test_sizes_torch_computed_at_the_probes_are_checked():
    """The parent checks its own sizes against torch's at the probe sizes: a layer read wrong is an error."""
    from tconvcalc.network import make_network
    from tconvcalc.source.imported import ImportModeError, _check

    network = make_network([{"layer": "conv", "kernel": 3, "name": "c", "where": "m.py:3"}], "torch")
    _check(network, {"probes": [10], "rank": 2, "sizes": {"c": [[8, 8]]}}, "m.py")  # right: no error
    with pytest.raises(ImportModeError, match=r"m.py:3: 'c' is 9x9 in torch at input 10, but 8x8"):
        _check(network, {"probes": [10], "rank": 2, "sizes": {"c": [[9, 9]]}}, "m.py")


def test_esrgan_interpolate_scale_factor(recorded):
    network = recorded["esrgan"].result()
    assert network.origin.startswith("imported DenseUpscaler() from ")
    ups = [node for node in network.nodes if node.op == "upsample"]
    assert len(ups) == 2 and all(dict(node.options).get("scale") == 2 for node in ups)
    check_sizes(network, real_model("esrgan_like", "DenseUpscaler", directory=SHARED), (1, 3, 23, 23))


def test_fx_cannot_trace_shape_checks_so_runs_are_recorded(recorded):
    network = recorded["checked"].result()
    assert "recorded runs at" in network.origin and "torch.fx could not trace it" in network.origin
    assert network.nodes[-2].op == "upsample" and network.nodes[-2].like == "input"  # size=x.shape[2:]
    model = real_model("dynamic", "Checked")
    check_sizes(network, model, (1, 3, 37, 37))
    assert list(valid_in_range(network, 2, 1, 30)) == valid_by_torch(model, 3, range(1, 31))


def test_graph_that_differs_between_probe_sizes_is_said(recorded):
    network = recorded["pad_to_even"].result()
    assert "warning: the recorded graph differs between probe sizes" in network.origin
    model = real_model("dynamic", "PadToEven")
    check_sizes(network, model, (1, 3, 64, 64))  # the even path, which the network read follows


def test_two_classes_and_a_factory(recorded):
    with pytest.raises(InputError, match="defines 2 models: Encoder, Decoder; pick one"):
        recorded["two_models"].result()
    network = recorded["autoencoder"].result()
    assert network.origin.startswith("imported autoencoder(width=8) from ")
    check_sizes(network, real_model("two_models", "autoencoder", "width=8"), (1, 1, 40, 40))
    with pytest.raises(InputError, match="has no 'Missing'"):
        recorded["missing"].result()


def test_cli_json_answer_names_the_model_and_how(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tconvcalc", "chain", "64", f"{DATA / 'two_models.py'}:Encoder",
                          "--args", "width=4", "--import", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["model"].startswith("imported Encoder(width=4) from ")
    assert answer["output"] == [16, 16]


# ---- hostile model files: one line, exit 2, within the timeout, nothing left running, nothing raw ----------

HOSTILE_CASES = {  # file: (what the message must say, timeout given)
    "hangs": ("stopped the child process after 12 s", 12),
    "forks": (None, 120),  # works; the forked process must not outlive tconvcalc
    "escapes": ("escapes.py:18: RuntimeError: \\x1b]0;pwned", 120),
    "exits": ("exits.py:3 called sys.exit(3) while importing", 120),
    "os_exit": ("exited with status 7 before handing back the network (its last output: \\x1b[2Jbye)", 120),
    "allocates": ("allocates.py:1: needs more memory than import mode allows", 120),
    "needs_cuda": ("needs_cuda.py:8: needs a GPU", 120),
    "missing_dependency": ("missing_dependency.py:2 imports 'timm_is_not_installed_here', which is not installed",
                           120),
    "syntax_error": ("syntax_error.py:5: syntax error", 120),
    "init_error": ("init_error.py:6: ValueError: channels must be even, got 3 (while building Net())", 120),
    "internals": ("internals.py:2 imports 'recorder', which is not installed", 120),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every hostile file through the CLI at once: {name: (returncode, stdout, stderr, seconds, fork pid file)}."""
    directory = tmp_path_factory.mktemp("hostile")
    running = {}
    for name, (_, timeout) in HOSTILE_CASES.items():
        pidfile = directory / f"{name}.pid"
        env = {**os.environ, "TCONVCALC_TEST_PIDFILE": str(pidfile)}
        process = subprocess.Popen([sys.executable, "-m", "tconvcalc", "chain", "64", str(HOSTILE / f"{name}.py"),
                                    "--import", "--timeout", str(timeout)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, start_new_session=True)
        running[name] = (process, time.monotonic(), pidfile)
    done = {}
    for name, (process, start, pidfile) in running.items():
        out, err = process.communicate(timeout=HOSTILE_CASES[name][1] + 120)
        done[name] = (process.returncode, out.decode(), err.decode(), time.monotonic() - start, pidfile)
    return done


@pytest.mark.parametrize("name", [n for n, (message, _) in HOSTILE_CASES.items() if message])
def test_hostile_module_is_one_line_and_exit_2(hostile, name):
    code, out, err, seconds, _ = hostile[name]
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("tconvcalc: ")
    assert "Traceback" not in err and ESCAPE not in err and "\u202e" not in err and "\x07" not in err
    assert HOSTILE_CASES[name][0] in err
    assert seconds < HOSTILE_CASES[name][1] + 30
    if name == "hangs" and "(it was at" in err:  # where the stack dump before the timeout found it
        assert "hangs.py:7)" in err


def assert_stopped(pidfile):
    pid = int(pidfile.read_text())
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return  # gone
    assert "State:\tZ" in state  # killed, waiting for its reaper


def test_a_hanging_module_is_stopped(hostile):
    assert_stopped(hostile["hangs"][4])


def test_a_forked_process_is_killed_and_its_output_never_shown(hostile):
    code, out, err, _, pidfile = hostile["forks"]
    assert code == 0, err
    assert_stopped(pidfile)


def test_escapes_printed_by_the_module_never_reach_the_terminal(hostile):
    _, out, err, _, _ = hostile["escapes"]
    assert "pwned" not in out and ESCAPE not in out + err


def test_no_torch_is_one_line(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"--import needs torch \(pip install torch\)"):
        record(DATA / "two_models.py", "Encoder")


def test_recorded_items_are_validated(tmp_path):
    from tconvcalc.source.imported import ImportModeError, validated

    with pytest.raises(ImportModeError, match="unexpected field"):
        validated({"items": [{"layer": "conv", "kernel": 3, "exec": "rm -rf /"}]}, "m.py")
    with pytest.raises(ImportModeError, match="an unexpected value"):
        validated({"items": [{"layer": "conv", "kernel": {"a": 1}}]}, "m.py")
    items, *_ = validated({"items": [{"layer": "conv", "kernel": 3, "name": "\x1b[2Jc"}]}, "m.py")
    assert items[0]["name"] == "\\x1b[2Jc"
    with pytest.raises(ImportModeError, match=r"\\x1b\[31mboom"):
        validated({"error": "m.py:3: \x1b[31mboom"}, "m.py")


def test_sizes_through_agrees_with_chain(unet):
    """The fast path valid inputs use and the chain answer agree on the recorded network."""
    built = build(unet, 2)
    sizes = sizes_through(built, (75, 75))
    assert tuple(chain(unet, (75, 75)).output) == sizes[unet.nodes[-1].name]
