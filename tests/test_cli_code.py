"""Emitted code and rankings through the CLI (issue 11): chain's channel names, solve -l any's order, design's
order and its why. The frameworks' own runs of the emitted code are in tests/frameworks/test_emitted_*.py."""

import re

import pytest


def _emit(run, size, spec, *options):
    code, out, err = run("chain", size, spec, "--emit", *options)
    assert code == 0, err
    return [line.strip().rstrip(",") for line in out.strip().splitlines()[1:-1]]


def _channels(line):
    """(in, out) of an nn.Conv / nn.ConvTranspose line."""
    found = re.search(r"nn\.(?:Conv|ConvTranspose)\dd\(([^,]+), ([^,]+),", line)
    return found.groups() if found else None


@pytest.mark.parametrize("between", ["maxpool k2", "avgpool k2", "lppool k2", "upsample x2", "pad p1",
                                     "adaptiveavgpool out=8", "unpool k2", "maxpool k2 | upsample x2 | pad p2"])
def test_a_layer_that_keeps_the_channels_keeps_their_name(run, between):
    lines = _emit(run, 64, f"conv k3 p1 | {between} | conv k3")
    convs = [_channels(line) for line in lines if _channels(line)]
    assert convs == [("C0", "C1"), ("C1", "C2")], lines


def test_pixelshuffle_divides_and_unshuffle_multiplies_the_channels(run):
    lines = _emit(run, 64, "conv k3 p1 | pixelshuffle x2 | conv k3 | pixelunshuffle x3 | conv k1")
    convs = [_channels(line) for line in lines if _channels(line)]
    assert convs == [("C0", "C1"), ("C1//4", "C2"), ("C2*9", "C3")], lines


def test_known_channels_are_numbers(run):
    lines = _emit(run, 66, "conv k3 in=3 c16 | maxpool k2 | conv k3 c32 | pixelshuffle x2 | conv k3 | "
                           "pixelunshuffle x2 | conv k1 c5")
    convs = [_channels(line) for line in lines if _channels(line)]
    assert convs == [("3", "16"), ("16", "32"), ("8", "C1"), ("C1*4", "5")], lines


def test_partly_known_channels_chain_from_the_numbers(run):
    lines = _emit(run, 66, "conv k3 in=3 | maxpool k2 | conv k3 | separable k3 c8 | depthwise k3 | "
                           "pixelunshuffle x2 | conv k1")
    assert lines[0] == "nn.Conv2d(3, C1, kernel_size=3)"
    assert lines[2] == "nn.Conv2d(C1, C2, kernel_size=3)"
    assert lines[3] == "nn.Sequential(nn.Conv2d(C2, C2, kernel_size=3, groups=C2), nn.Conv2d(C2, 8, kernel_size=1))"
    assert lines[-1] == "nn.Conv2d(32, C3, kernel_size=1)"  # 8 channels unshuffled by 2: 32


def test_the_emitted_sequential_is_python_that_names_each_channel_once(run):
    code, out, _ = run("chain", 64, "conv k3 p1 | maxpool k2 | conv k3 | upsample x2 | convT k2 s2", "--emit")
    assert code == 0
    compile(out, "<emitted>", "eval")
    names = re.findall(r"\bC\d+\b", out)
    assert sorted(set(names)) == ["C0", "C1", "C2", "C3"]


# ---- solve -l any -----------------------------------------------------------------------------------


def _row(s):
    return s["layer"], s["kernel"], s["stride"], s["padding"], s["scale"]


def test_solve_any_puts_the_classic_layers_and_upsample_first_and_unpool_last(run_json):
    code, data, _ = run_json("solve", "32x32", "64x64", "-l", "any", "--limit", 0)
    assert code == 0
    rows = [_row(s) for s in data["solutions"]]
    assert rows[:3] == [("convT", 2, 2, 0, None), ("convT", 4, 2, 1, None), ("upsample", None, None, None, 2.0)]
    kinds = [row[0] for row in rows]
    first_unpool = kinds.index("unpool")
    assert set(kinds[first_unpool:]) == {"unpool"}  # needs a pool's indices: after every other layer
    assert ("pixelshuffle", None, None, None, 2.0) in rows[:5]


def test_solve_any_lists_the_same_set_as_each_kind_alone(run_json):
    _, data, _ = run_json("solve", "32x32", "64x64", "-l", "any", "--limit", 0)
    alone = []
    for kind in ("convT", "conv", "upsample", "pixelshuffle", "unpool"):
        code, one, _ = run_json("solve", "32x32", "64x64", "-l", kind, "--limit", 0)
        alone += one["solutions"] if code == 0 else []
    key = lambda s: (s["layer"], str(s["kernel"]), str(s["stride"]), str(s["padding"]), str(s["output_padding"]),
                     str(s["scale"]))  # noqa: E731
    assert data["total"] == len(alone) and sorted(map(key, data["solutions"])) == sorted(map(key, alone))


def test_solve_any_conv_down_prefers_the_idioms(run_json):
    code, data, _ = run_json("solve", 64, 32, "-l", "any", "--limit", 4)
    assert code == 0
    assert [(s["kernel"], s["stride"], s["padding"]) for s in data["solutions"]] == [(2, 2, 0), (3, 2, 1),
                                                                                    (4, 2, 1), (5, 2, 2)]


# ---- design's order -----------------------------------------------------------------------------------


def _layers(stack):
    return [(s["kernel"], s["stride"], s["padding"], s["output_padding"]) for s in stack["layers"]]


def test_design_ranks_the_dcgan_stack_first_and_identity_layers_after_every_size_changing_stack(run_json):
    code, data, _ = run_json("design", 4, 64, "-n", 4, "--limit", 0)
    assert code == 0
    stacks = data["stacks"]
    assert _layers(stacks[0]) == [(4, 2, 1, 0)] * 4  # DCGAN
    assert stacks[0]["reasons"][0] == "every layer changes the size"
    assert "every layer k4 s2 p1, a common idiom" in stacks[0]["reasons"]
    assert [(2, 2, 0, 0)] * 4 in [_layers(stack) for stack in stacks[:16]]  # k=s: the next idiom
    assert all(stack["reasons"][0] == "every layer changes the size" for stack in stacks)  # 2000 before any k1 s1
    code, data, _ = run_json("design", 4, 16, "-n", 3, "--max-kernel", 4, "--max-stride", 2, "--max-padding", 1,
                             "--limit", 0)
    assert code == 0 and not data["more"]
    stacks = data["stacks"]
    kept = [any(a == b for a, b in zip(stack["sizes"], stack["sizes"][1:])) for stack in stacks]
    assert any(kept) and kept == sorted(kept)  # every stack with a layer wasted on the size comes last
    first_kept = stacks[kept.index(True)]
    assert first_kept["reasons"][0].endswith("keeps the size: ranked after every stack that changes it at each layer")


def test_design_from_1x1_starts_with_dcgan_k4_s1_p0(run_json):
    code, data, _ = run_json("design", 1, 64, "-n", 5, "--limit", 1)
    assert code == 0 and [s[0] for s in data["stacks"][0]["sizes"]] == [1, 4, 8, 16, 32, 64]
    assert _layers(data["stacks"][0]) == [(4, 1, 0, 0)] + [(4, 2, 1, 0)] * 4


@pytest.mark.parametrize("framework, padding", [("keras", "same"), ("tf", "same"), ("jax", "same"), ("onnx", 1)])
def test_design_dcgan_first_in_every_framework(run_json, framework, padding):
    code, data, _ = run_json("design", 4, 64, "-n", 4, "-f", framework, "--limit", 1)
    assert code == 0
    assert [(s["kernel"], s["stride"], s["padding"]) for s in data["stacks"][0]["layers"]] == [(4, 2, padding)] * 4


def test_design_conv_down_prefers_k3_s2_p1(run_json):
    code, data, _ = run_json("design", 64, 4, "-n", 4, "-l", "conv", "--limit", 1)
    assert code == 0 and _layers(data["stacks"][0]) == [(3, 2, 1, None)] * 4
