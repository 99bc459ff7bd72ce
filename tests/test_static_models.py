"""The reader that does not run code, on model files written in the idioms of real repositories
(tests/data/static_models/: a pix2pix/CycleGAN ResNet generator, a DCGAN, a torchvision-style ResNet, a
HiFi-GAN-like vocoder, a file with two models and a factory; tests/data/models/, shared with the import-mode
tests: a U-Net package with relative imports and an ESRGAN-like network),
and on hostile files that must be refused quickly.

The torch part builds the same models for real (the test imports the files; tconvcalc never does) and
checks every size tconvcalc reports against the tensors torch computes.
"""
import importlib
import importlib.util
import os
import pathlib
import resource
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*is deprecated")

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.files import load_spec
from tconvcalc.network import SpecError, chain
from tconvcalc.source.printed import NO_DATA_FLOW, items_from_print
from tconvcalc.source.python import items_from_python
from tconvcalc.source.selection import Target

MODELS = pathlib.Path(__file__).parent / "data" / "static_models"
SHARED = pathlib.Path(__file__).parent / "data" / "models"  # read by test_import_mode.py too
UNET = SHARED / "unet" / "model.py"
ESRGAN = SHARED / "esrgan_like.py"
HIFI = {"up_rates": [8, 8, 4], "up_kernels": [16, 16, 8], "width": 64, "block_kernels": [3, 5],
        "block_dilations": [[1, 3, 5], [1, 3, 5]]}


def read(file, name=None, **kwargs):
    path = str(MODELS / file)
    return load_spec(path, target=Target(path, name, (), tuple(kwargs.items())))


def items(file, name=None, **kwargs):
    path = str(MODELS / file)
    return items_from_python((MODELS / file).read_text(), path, Target(path, name, (), tuple(kwargs.items())))


# ---- which model, and how it was read ----------------------------------------------------------------------


@pytest.mark.parametrize("file, listed", [
    ("two_models.py", ["Encoder (class", "make_decoder() (function"]),
    ("resnet.py", ["resnet18() (function", "resnet50() (function", "resnext50_32x4d()"]),
    ("dcgan.py", ["Generator (class", "Discriminator (class"]),
])
def test_several_candidates_are_listed_not_guessed(file, listed):
    with pytest.raises(InputError) as error:
        read(file)
    message = str(error.value)
    assert "holds several models" in message and all(word in message for word in listed)
    assert f"name one, like {file}:" in message


def test_the_cli_lists_candidates_in_one_line_exit_2(run):
    code, out, err = run("chain", "64", str(MODELS / "two_models.py"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Encoder" in err and "make_decoder" in err


def test_origin_says_what_was_read_and_how():
    network = read(UNET, "UNet", in_channels=3, num_classes=2)
    assert network.origin == "read UNet(in_channels=3, num_classes=2) from model.py without running it"
    assert chain(network, (64, 64)).model == network.origin
    assert read("resnet.py", "resnet50", num_classes=10).origin == \
        "read resnet50(num_classes=10) from resnet.py without running it"


def test_a_module_level_variable_can_be_named(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import torch.nn as nn\nsmall = nn.Sequential(nn.Conv2d(1, 2, 3))\n"
                    "big = nn.Sequential(nn.Conv2d(1, 2, 5), nn.MaxPool2d(2))\n")
    with pytest.raises(InputError, match="holds several models: small .line 2., big .line 3."):
        load_spec(str(path))
    network = load_spec(str(path), target=Target(str(path), "big"))
    assert [n.op for n in network.nodes] == ["conv", "maxpool"]
    assert network.origin == "read big = nn.Sequential(nn.Conv2d(1, 2, 5), nn.MaxPool2d(2)) (line 3) from m.py " \
                             "without running it"
    with pytest.raises(InputError, match="big is a variable"):
        load_spec(str(path), target=Target(str(path), "big", (3,)))
    with pytest.raises(InputError, match="no class, function or model variable named 'Nope'"):
        load_spec(str(path), target=Target(str(path), "Nope"))


def test_arguments_are_substituted():
    found, _ = items(UNET, "UNet", in_channels=5, num_classes=7)
    by_name = {item["name"]: item for item in found}
    assert by_name["stem.body.0"]["in_channels"] == 5 and by_name["head.proj"]["channels"] == 7
    with pytest.raises(SpecError, match="has no argument 'colour'"):
        items(UNET, "UNet", in_channels=3, num_classes=2, colour=1)


def test_a_missing_argument_says_to_give_it_with_args():
    with pytest.raises(SpecError, match=r"'cfg' is an argument of __init__\(\) without a default: give it with "
                                        r"--args 'cfg=...'"):
        read("hifigan.py", "Generator")


# ---- the constructs real files use ---------------------------------------------------------------------------


def test_unet_package_follows_relative_imports_pad_and_two_tensor_forward():
    found, _ = items(UNET, "UNet", in_channels=3, num_classes=2)
    by_name = {item["name"]: item for item in found}
    pad = by_name["dec1.pad@L52"]  # F.pad(low, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2]) in parts.py
    assert pad["layer"] == "pad" and pad["like"] == "enc3.steps.1.body.3"
    assert by_name["dec1.merged"]["layer"] == "concat" and by_name["dec1.merged"]["input"] == "enc3.steps.1.body.3"
    assert by_name["dec1.merged"]["with"] == ["dec1.pad@L52"]
    assert by_name["dec1.upsample"]["layer"] == "convT"
    assert [by_name[f"dec{i}.pad@L52"]["like"] for i in (2, 3, 4)] == ["enc2.steps.1.body.3", "enc1.steps.1.body.3",
                                                                       "stem.body.3"]  # the loop over the skips
    bilinear, _ = items(UNET, "UNet", in_channels=3, num_classes=2, bilinear=True)
    assert {i["name"]: i for i in bilinear}["dec1.upsample"] == {"layer": "upsample", "scale": 2,
                                                                 "where": f"{UNET.parent / 'parts.py'}:41",
                                                                 "name": "dec1.upsample",
                                                                 "input": "enc4.steps.1.body.3"}


def test_resnet_helpers_annotated_expansion_downsample_and_head():
    found, _ = items("resnet.py", "resnet50")
    by_name = {item["name"]: item for item in found}
    assert by_name["layer1.0.conv3"]["channels"] == 256  # planes * Bottleneck.expansion (expansion: int = 4)
    assert by_name["layer2.0.downsample.0"] == {**by_name["layer2.0.downsample.0"], "kernel": 1, "stride": 2}
    assert by_name["avgpool"]["layer"] == "adaptiveavgpool" and by_name["avgpool"]["output_size"] == 1
    assert by_name["flatten@L113"]["layer"] == "flatten"
    assert by_name["fc"] == {**by_name["fc"], "layer": "linear", "in_channels": 2048, "channels": 1000}
    grouped = {i["name"]: i for i in items("resnet.py", "resnext50_32x4d")[0]}
    assert grouped["layer1.0.conv2"]["groups"] == 32 and grouped["layer1.0.conv2"]["channels"] == 128


def test_pix2pix_partial_norm_layer_and_use_bias_test():
    # `if isinstance(norm, functools.partial):` and a dict of variants chosen by a string argument
    found, _ = items("resnet_generator.py", "build_generator", in_colours=3, out_colours=3, base=64,
                     variant="resnet_9blocks", norm="instance")
    assert sum(1 for i in found if i["layer"] == "add") == 9
    assert [i["layer"] for i in found[:2]] == ["pad", "conv"]
    plain, _ = items("resnet_generator.py", "ResidualGenerator", in_colours=3, out_colours=3)
    assert sum(1 for i in plain if i["layer"] == "add") == 6


def test_dcgan_if_is_cuda_both_branches_apply_main():
    found, origin = items("dcgan.py", "Generator")  # ngpu unknown: `if input.is_cuda and self.ngpu > 1`
    assert [i["layer"] for i in found] == ["convT"] * 5
    assert origin == "read Generator() from dcgan.py without running it (ngpu not given: unknown)"


def test_hifigan_weight_norm_modulelist_append_and_config_by_attribute():
    found, _ = items("hifigan.py", "Generator", cfg=HIFI)
    by_name = {item["name"]: item for item in found}
    assert [by_name[f"upsamplers.{i}"]["stride"] for i in range(3)] == [8, 8, 4]
    assert by_name["blocks.5.dilated.2"]["dilation"] == 5 and by_name["blocks.5.dilated.2"]["rank"] == 1
    assert by_name["post"]["channels"] == 1


def test_mul_of_squeeze_excitation_and_math_of_literals():
    found, _ = items("two_models.py", "Encoder")
    assert found[-1]["layer"] == "mul" and found[-1]["with"] == ["se.3"]
    decoder, _ = items("two_models.py", "make_decoder", scale=16)  # depth=int(math.log2(scale)) = 4
    assert [i["layer"] for i in decoder] == ["convT"] * 4 + ["conv"]
    assert decoder[-1]["kernel"] == 3  # int(math.sqrt(9))


def test_layer_classes_as_values_partial_and_lambda(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        import functools
        import torch.nn as nn
        from torch.nn.utils import parametrizations

        Norm = functools.partial(nn.GroupNorm, 8)
        def block(cin, cout, conv=nn.Conv2d, norm=Norm, act=lambda: nn.SiLU()):
            return nn.Sequential(parametrizations.spectral_norm(conv(cin, cout, 3, padding=1)), norm(cout), act())
        class Net(nn.Module):
            def __init__(self, layer=nn.Conv2d):
                super().__init__()
                self.stem = block(3, 16)
                self.down = layer(16, 16, 4, stride=2, padding=1)
                self.blocks = nn.ModuleList()
                self.blocks.extend([block(16, 16) for _ in range(2)])
            def forward(self, x):
                x = self.down(self.stem(x))
                for b in self.blocks:
                    x = b(x)
                return x
    """))
    network = load_spec(str(path))
    assert [n.name for n in network.nodes] == ["stem.0", "down", "blocks.0.0", "blocks.1.0"]
    assert chain(network, (32, 32)).output == (16, 16)


def test_errors_name_the_init_line_and_suggest_import(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        from timm.layers import create_conv2d
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = create_conv2d(3, 8, 3)
            def forward(self, x):
                return self.stem(x)
    """))
    with pytest.raises(SpecError) as error:
        load_spec(str(path))
    message = str(error.value)
    assert message.startswith(f"{path}:7: self.stem = create_conv2d(3, 8, 3)")
    assert "imported from timm.layers" in message and "--import" in message and "applied to a tensor at" in message


def test_an_undecidable_if_with_different_layers_is_an_error_naming_it(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self, cfg):
                super().__init__()
                if cfg.fast:
                    self.down = nn.Conv2d(1, 1, 3, stride=2)
                else:
                    self.down = nn.Conv2d(1, 1, 3)
            def forward(self, x):
                return self.down(x)
    """))
    with pytest.raises(SpecError, match=r"m.py:6: if cfg.fast: cannot tell which branch runs .*different layers.*"
                                        r"--import"):
        load_spec(str(path))


def test_a_loop_of_unknown_length_never_drops_layers_silently(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self, n_blocks):
                super().__init__()
                layers = [nn.Conv2d(1, 1, 3)]
                for _ in range(n_blocks):
                    layers += [nn.Conv2d(1, 1, 3)]
                self.body = nn.Sequential(*layers)
            def forward(self, x):
                return self.body(x)
    """))
    with pytest.raises(SpecError, match=r"m.py:9: .*loop at .*m.py:7 .*range\(n_blocks\)"):
        load_spec(str(path))
    network = load_spec(str(path), target=Target(str(path), None, (), (("n_blocks", 2),)))
    assert len(network.nodes) == 3


# ---- print(model) text ---------------------------------------------------------------------------------------


RESNET_PRINT = """ResNet(
  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
  (bn1): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (relu): ReLU(inplace=True)
  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
  (layer1): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (downsample): Sequential(
        (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
  )
  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))
  (fc): Linear(in_features=128, out_features=10, bias=True)
)
"""


def test_every_print_answer_says_it_has_no_data_flow(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("Net(\n  (c): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n)\n")
    result = chain(load_spec(str(path)), (8, 8))
    assert NO_DATA_FLOW in result.warnings and "print(model) text" in result.model


def test_print_text_names_the_structure_a_sequence_cannot_be():
    found, warnings = items_from_print(RESNET_PRINT, "resnet.txt")
    text = " ".join(warnings)
    assert "layer1.0.downsample looks like a parallel branch" in text
    assert "layer1.0.downsample.0 is built for 64 input channels, but the module printed before it gives 128" in text
    assert "fc: a Linear after avgpool with no Flatten printed" in text
    assert [i["layer"] for i in found[-3:]] == ["adaptiveavgpool", "flatten", "linear"]
    _, unet = items_from_print("UNet(\n  (downs): ModuleList(\n    (0): Conv2d(1, 8, kernel_size=(3, 3))\n  )\n"
                               "  (ups): ModuleList(\n    (0): ConvTranspose2d(8, 8, kernel_size=(2, 2), "
                               "stride=(2, 2))\n  )\n)\n", "u.txt")
    assert any("downs is a ModuleList" in w for w in unet) and any("downs, ups look like encoder/decoder parts" in w for w in unet)


# ---- hostile files: one line, exit 2, quickly --------------------------------------------------------------

_MODEL = ("\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.c = nn.Conv2d(1, 1, K)\n    def forward(self, x):\n        return self.c(x)\n")


def _python(prelude, kernel="3"):
    return "import torch.nn as nn\n" + prelude + _MODEL.replace("K", kernel)


BOMBS = {
    "listcomp.py": _python("x = [[j for j in range(10000)] for i in range(10000)]\n", "len(x)"),
    "square.py": _python("k = 2\n" + "k = k * k\n" * 40, "k"),
    "double.py": _python("l = [0]\n" + "l = l + l\n" * 40, "len(l)"),
    "power.py": _python("x = ((10**64)**64)**64\n", "x"),
    "literal.py": _python("x = [" + "0, " * 2_000_000 + "]\n"),
    "nested.py": "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                 "        a = nn.Sequential(*[nn.Conv2d(1, 1, 1)] * 1000)\n        b = nn.Sequential(*[a] * 1000)\n"
                 "        self.body = nn.Sequential(*[b] * 1000)\n    def forward(self, x):\n"
                 "        return self.body(x)\n",
    "while.py": _python("", "3)\n        while True:\n            pass\n        (0"),
    "recursion.py": _python("def f(n):\n    return f(n + 1)\n", "f(1)"),
    "deep.py": _python("x = " + "1 + " * 100_000 + "1\n"),
    "hex.py": _python("x = 0x" + "f" * 40_000 + "\n", "x"),
    "digits.py": _python("x = " + "9" * 40_000 + "\n", "x"),
    "range.py": _python("", "len(range(10**9))"),
    "string.py": _python("s = 'ab' * 10**8\n"),
    "selfbuild.py": "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.a = Net()\n    def forward(self, x):\n        return self.a(x)\n",
    "appends.py": "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                  "        self.l = nn.ModuleList()\n        for i in range(10000):\n"
                  "            self.l.append(nn.Conv2d(1, 1, 1))\n    def forward(self, x):\n"
                  "        for m in self.l:\n            x = m(x)\n        return x\n",
    "count.txt": "Net(\n  (0-999999999): 1000000000 x Conv2d(1, 1, kernel_size=(1, 1))\n)\n",
    "counts.txt": "Net(\n  (0-999): 1000 x Sequential(\n    (0-999): 1000 x Conv2d(1, 1, kernel_size=(1, 1))\n  )\n)\n",
    "countdigits.txt": "Net(\n  (0-1): " + "9" * 40_000 + " x Conv2d(1, 1, kernel_size=(1, 1))\n)\n",
    "deep.txt": "Net(\n" + "".join(f" (m{i}): Sequential(\n" for i in range(5000)) +
                " (c): Conv2d(1, 1, kernel_size=(1, 1))\n" + " )\n" * 5000 + ")\n",
    "digits5k.txt": "Net(\n  (c): Conv2d(1, 1, kernel_size=(" + "9" * 5000 + ", 1))\n)\n",
    "digits4k.txt": "Net(\n  (c): Conv2d(1, 1, kernel_size=(" + "9" * 4000 + ", 1))\n)\n",
}


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GB


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_are_refused_in_one_line_quickly(tmp_path, name):
    path = tmp_path / name
    path.write_text(BOMBS[name])
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tconvcalc", "chain", "64", str(path)], capture_output=True,
                          text=True, timeout=20, preexec_fn=_limits, env={**os.environ, "COLUMNS": "200"})
    elapsed = time.monotonic() - start
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "set_int_max_str_digits" not in done.stderr  # Python's advice is not the user's
    assert elapsed < 6, elapsed  # about 1 s on this machine, most of it Python's start


def test_bombs_in_process_are_fast():
    """The same bounds without a process start: each refused promptly (most within 0.1 s), never a hang; the
    bound is loose because the machine running the tests may be busy."""
    for name, text in BOMBS.items():
        if name == "literal.py":
            continue  # refused by its length before anything is parsed
        start = time.monotonic()
        with pytest.raises((SpecError, InputError)):
            (items_from_print if name.endswith(".txt") else items_from_python)(text, name)
        assert time.monotonic() - start < 5, name


# ---- against torch ---------------------------------------------------------------------------------------------


def _import(module):
    pytest.importorskip("torch")  # the model files import torch
    for directory in (MODELS, SHARED):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    cached = sys.modules.get(module)
    if cached is not None and not str(getattr(cached, "__file__", "")).startswith((str(MODELS), str(SHARED))):
        del sys.modules[module]  # a same-named file of another test directory (import_models/two_models.py)
    return importlib.import_module(module)


def _torch_run(model, shape):
    """Each module's outputs (channels, spatial sizes) by its path, in call order, and the model's output."""
    torch = pytest.importorskip("torch")
    seen, hooks = {}, []
    for name, module in model.named_modules():
        if name:
            def hook(mod, inputs, output, name=name):
                output = output[0] if isinstance(output, tuple) else output
                seen.setdefault(name, []).append(tuple(output.shape[1:]))
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(*shape))
            out = out[0] if isinstance(out, tuple) else out  # (x, feature maps): the first is the output
    finally:
        for handle in hooks:
            handle.remove()
    return seen, tuple(out.shape[1:])


def _agree(network, model, size, channels):
    """tconvcalc's chain and torch agree at every module node (spatial size and channels), or both refuse.
    Returns the number of sizes compared."""
    try:
        result = chain(network, size)
    except ShapeError:
        with pytest.raises(RuntimeError):
            _torch_run(model, (1, channels, *size))
        return 0
    seen, out = _torch_run(model, (1, channels, *size))
    compared = 0
    for step in result.steps:
        path, _, call = step.name.partition("#")
        if "@L" in path or path not in seen:  # merges and functional calls: no module to hook
            continue
        got = seen[path][int(call) - 1 if call else 0]
        if step.op not in ("flatten", "linear"):
            assert got[1:] == tuple(step.output), (size, step.name, got, step.output)
        if step.channels is not None:
            assert got[0] == step.channels, (size, step.name, got, step.channels)
        compared += 1
    assert out[1:] == tuple(result.output) or (not result.output and len(out) == 1), (size, out, result.output)
    return compared


def test_against_torch_unet_package():
    unet = _import("unet.model")
    for bilinear in (False, True):
        model = unet.UNet(in_channels=3, num_classes=2, bilinear=bilinear)
        network = read(UNET, "UNet", in_channels=3, num_classes=2, bilinear=bilinear)
        assert sum(_agree(network, model, (n, n), 3) for n in (16, 37)) > 2 * 20


def test_against_torch_resnet_generator():
    module = _import("resnet_generator")
    model = module.build_generator(3, 3, 16, "resnet_9blocks", norm="instance")
    network = read("resnet_generator.py", "build_generator", in_colours=3, out_colours=3, base=16,
                   variant="resnet_9blocks", norm="instance")
    assert sum(_agree(network, model, (n, m), 3) for n, m in ((32, 32), (33, 47), (64, 40))) > 3 * 20


def test_against_torch_dcgan():
    module = _import("dcgan")
    generator = module.Generator(1)
    network = read("dcgan.py", "Generator", ngpu=1)
    assert _agree(network, generator, (1, 1), 100) == 5
    discriminator = module.Discriminator(1)
    network = read("dcgan.py", "Discriminator", ngpu=1)
    assert _agree(network, discriminator, (64, 64), 3) == 5


@pytest.mark.parametrize("factory", ["resnet18", "resnet50", "resnext50_32x4d"])
def test_against_torch_resnet(factory):
    module = _import("resnet")
    model = getattr(module, factory)(num_classes=10)
    network = read("resnet.py", factory, num_classes=10)
    for n in (32, 45, 64):
        assert _agree(network, model, (n, n), 3) > 15


def test_against_torch_hifigan():
    pytest.importorskip("torch")
    module = _import("hifigan")
    model = module.Generator(module.Config(HIFI))
    network = read("hifigan.py", "Generator", cfg=HIFI)
    for n in (8, 13, 32):
        assert _agree(network, model, (n,), 80) > 30


def test_against_torch_two_models():
    module = _import("two_models")
    for name, model, kwargs in (("Encoder", module.Encoder(), {}), ("make_decoder", module.make_decoder(16),
                                                                    {"scale": 16})):
        network = read("two_models.py", name, **kwargs)
        channels = 3 if name == "Encoder" else 256  # the decoder of depth 4 starts at 32 * 2 ** 3
        for n in (8, 17, 32):
            assert _agree(network, model, (n, n), channels) >= 5


def test_against_torch_print_text_of_a_plain_sequence():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d((5, 5)), nn.Flatten(),
                          nn.Linear(200, 10))
    found, warnings = items_from_print(str(model), "seq.txt")
    assert [i["layer"] for i in found] == ["conv", "adaptiveavgpool", "flatten", "linear"]
    assert warnings == [NO_DATA_FLOW]  # nothing in this text contradicts a plain sequence


def test_package_imports_absolute_module_and_cyclic(tmp_path):
    """from models.blocks import X, import models.blocks as mb, from . import blocks; a cycle ends."""
    package = tmp_path / "repo" / "models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .net import Net\n")
    (package / "blocks.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from .net import helper_kernel  # a cycle: net imports blocks too
        class ResBlock(nn.Module):
            def __init__(self, c, k=3):
                super().__init__()
                self.conv = nn.Conv2d(c, c, k, padding=k // 2)
            def forward(self, x):
                return x + self.conv(x)
        def down(c):
            return nn.Sequential(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU())
    """))
    (package / "net.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from models.blocks import ResBlock
        import models.blocks as mb
        from . import blocks
        helper_kernel = 5
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = ResBlock(8)
                self.b = mb.down(8)
                self.c = blocks.ResBlock(16, k=helper_kernel)
            def forward(self, x):
                return self.c(self.b(self.a(x)))
    """))
    network = load_spec(str(package / "net.py"))
    assert [n.name for n in network.nodes] == ["a.conv", "a.add", "b.0", "c.conv", "c.add"]
    assert chain(network, (32, 32)).output == (16, 16)
    assert {n.name: n for n in network.nodes}["c.conv"].where.endswith("blocks.py:7")


def test_an_import_from_a_library_is_named_in_the_error(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import torch.nn as nn\nfrom timm.layers import DropPath, SqueezeExcite\n"
                    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.se = SqueezeExcite(8)\n    def forward(self, x):\n        return self.se(x)\n")
    with pytest.raises(SpecError, match=r"m.py:6: SqueezeExcite\(8\): unknown module \('SqueezeExcite' is imported "
                                        r"from timm.layers, which tconvcalc does not read.*--import"):
        load_spec(str(path))


def test_against_torch_sequential_subclasses(tmp_path):
    """class ConvBNReLU(nn.Sequential) with super().__init__(layers...), MobileNet style; an OrderedDict head."""
    pytest.importorskip("torch")
    path = tmp_path / "mobile_blocks.py"
    path.write_text(textwrap.dedent("""
        from collections import OrderedDict
        import torch.nn as nn
        class ConvBNReLU(nn.Sequential):
            def __init__(self, cin, cout, k=3, stride=1, groups=1):
                padding = (k - 1) // 2
                super().__init__(nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))
        class Head(nn.Sequential):
            def __init__(self, c, classes):
                super(Head, self).__init__(OrderedDict([("pool", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()),
                                                        ("fc", nn.Linear(c, classes))]))
        class Net(nn.Module):
            def __init__(self, classes=10):
                super().__init__()
                self.features = nn.Sequential(ConvBNReLU(3, 16, stride=2), ConvBNReLU(16, 16, groups=16),
                                              ConvBNReLU(16, 32, stride=2))
                self.head = Head(32, classes)
            def forward(self, x):
                return self.head(self.features(x))
    """))
    network = load_spec(str(path), target=Target(str(path), "Net"))
    assert [n.op for n in network.nodes] == ["conv", "conv", "conv", "adaptiveavgpool", "flatten", "linear"]
    spec = importlib.util.spec_from_file_location("mobile_blocks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for n in (1, 7, 64):
        assert _agree(network, module.Net(), (n, n), 3) == 6


def test_against_torch_esrgan_like():
    """ESRGAN-like: partial of a block class into a repeat helper, dense concats, x + 0.2 * e, interpolate."""
    module = _import("esrgan_like")
    model = module.DenseUpscaler(3, 3, width=8, groups=2, growth=4)
    network = read(ESRGAN, "DenseUpscaler", in_channels=3, out_channels=3, width=8, groups=2, growth=4)
    assert sum(1 for n in network.nodes if n.op == "concat") == 2 * 3 * 4
    for n in (5, 16):
        assert _agree(network, model, (n, n), 3) == 2 * 3 * 5 + 6
    found, _ = items(ESRGAN, "DenseUpscaler", in_channels=3, out_channels=3, width=64, groups=23, growth=32)
    assert len(found) == 1 + 23 * 3 * (5 + 4 + 1) + 23 + 1 + 1 + 2 * 2 + 2  # 23 RRDBs as in ESRGAN: 722 nodes


def test_against_torch_setattr_getattr_formatted_names_and_spatial_means(tmp_path):
    """setattr(self, f"conv{i}", ...), add_module('se%d' % i, ...), getattr(self, ...) in forward; squeeze-excitation
    by x.mean((2, 3), keepdim=True) and a head on x.mean(dim=[-2, -1])."""
    pytest.importorskip("torch")
    path = tmp_path / "named_blocks.py"
    path.write_text(textwrap.dedent("""
        import torch.nn as nn
        class SE(nn.Module):
            def __init__(self, c, r=4):
                super().__init__()
                self.fc1 = nn.Conv2d(c, c // r, 1)
                self.fc2 = nn.Conv2d(c // r, c, 1)
            def forward(self, x):
                s = x.mean((2, 3), keepdim=True)
                return x * self.fc2(self.fc1(s)).sigmoid()
        class Net(nn.Module):
            def __init__(self, depth=3):
                super().__init__()
                self.depth = depth
                for i in range(depth):
                    setattr(self, f"conv{i}", nn.Conv2d(8, 8, 3, stride=2, padding=1))
                    self.add_module('se%d' % i, SE(8))
                self.fc = nn.Linear(8, 2)
            def forward(self, x):
                for i in range(self.depth):
                    x = getattr(self, 'se%d' % i)(getattr(self, f"conv{i}")(x))
                return self.fc(x.mean(dim=[-2, -1]))
    """))
    network = load_spec(str(path))
    assert [n.op for n in network.nodes][-6:] == ["conv", "conv", "mul", "adaptiveavgpool", "flatten", "linear"]
    spec = importlib.util.spec_from_file_location("named_blocks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for n in (1, 9, 64):
        assert _agree(network, module.Net(), (n, n), 8) == 3 * 3 + 1


def test_against_torch_ddpm_style_unet():
    module = _import("ddpm_unet")
    network = read("ddpm_unet.py", "UNet")
    assert sum(1 for n in network.nodes if n.op == "concat") == 4
    for n in (8, 30, 32):
        assert _agree(network, module.UNet(), (n, n), 3) >= 20
