"""The example spec networks built for real from the code tconvcalc emits (torch modules, keras
layers) give the sizes `chain` predicts, layer by layer -- or both refuse."""

import os
from pathlib import Path

import pytest

from tconvcalc import ShapeError, forward
from tconvcalc.files import load_spec
from tconvcalc.network import INPUT, build, chain, parse_inline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIZES = [16, 17, 24, 31, 32, 48, 64, 100, 101]


def channel_code(code, c_in, c_out):
    """Our own emitted constructor text (never user text), with real channel counts."""
    return code.replace("C_in", str(c_in)).replace("C_out", str(c_out)).replace("(filters,", f"({c_out},")


def run_torch(network, size):
    """Every node's output size from real torch modules built from the emitted code."""
    import torch
    from torch import nn

    torch.backends.mkldnn.enabled = False  # the reference kernels are the truth
    built = build(network, len(size))
    tensors = {INPUT: torch.zeros(1, network.in_channels or 2, *size)}
    for node, layer in zip(network.nodes, built.layers):
        incoming = [tensors[name] for name in node.inputs]
        if layer is None:
            tensors[node.name] = torch.cat(incoming, 1) if node.op == "concat" else incoming[0] + incoming[1]
            continue
        c_in = incoming[0].shape[1]
        code = channel_code(forward(layer, tuple(incoming[0].shape[2:])).code, c_in, node.channels or c_in)
        module = eval(code, {"nn": nn})  # noqa: S307 -- tconvcalc's own generated code
        tensors[node.name] = module(incoming[0])
    return {name: tuple(t.shape[2:]) for name, t in tensors.items()}


def run_keras(network, size):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    from keras import layers

    built = build(network, len(size))
    tensors = {INPUT: keras.Input((*size, network.in_channels or 2))}
    for node, layer in zip(network.nodes, built.layers):
        incoming = [tensors[name] for name in node.inputs]
        if layer is None:
            merge = layers.Concatenate() if node.op == "concat" else layers.Add()
            tensors[node.name] = merge(incoming)
            continue
        c_in = incoming[0].shape[-1]
        code = channel_code(forward(layer, tuple(incoming[0].shape[1:-1])).code, c_in, node.channels or c_in)
        tensors[node.name] = eval(code, {"layers": layers})(incoming[0])  # noqa: S307 -- our own code
    return {name: tuple(t.shape[1:-1]) for name, t in tensors.items()}


def compare(network, size, runner):
    try:
        predicted = {step.name: step.output for step in chain(network, size).steps}
    except ShapeError:
        predicted = None
    try:
        real = runner(network, size)
    except (RuntimeError, ValueError, TypeError) as error:  # the framework refuses
        assert predicted is None, f"{network.source} {size}: the framework refused ({error}), chain did not"
        return "refused"
    assert predicted is not None, f"{network.source} {size}: chain refused, the framework gave {real}"
    assert {name: real[name] for name in predicted} == predicted
    return "agreed"


@pytest.mark.parametrize("spec", ["unet.toml", "dcgan_generator.toml", "audio_upsampler.toml"])
def test_torch_examples_built_for_real(spec):
    pytest.importorskip("torch")
    network = load_spec(EXAMPLES / spec)
    rank = 1 if "audio" in spec else 2
    outcomes = [compare(network, (n,) * rank, run_torch) for n in ([1, 2, 3] if "dcgan" in spec else SIZES)]
    assert "agreed" in outcomes


@pytest.mark.parametrize("spec", ["fcn_decoder.json", "autoencoder_odd.toml"])
def test_keras_examples_built_for_real(spec):
    pytest.importorskip("tensorflow")
    network = load_spec(EXAMPLES / spec)
    rank = 2 if "fcn" in spec else 1
    outcomes = [compare(network, (n,) * rank, run_keras) for n in SIZES]
    assert "agreed" in outcomes and ("fcn" not in spec or "refused" in outcomes)


def test_random_torch_stacks_built_for_real():
    pytest.importorskip("torch")
    import random

    rng = random.Random(7)
    outcomes = set()
    for _ in range(60):
        items = []
        for i in range(rng.randint(1, 4)):
            kind = rng.choice(["conv", "convT", "maxpool"])
            k, s = rng.randint(1, 4), rng.randint(1, 3)
            items.append(f"{kind} k{k} s{s}" + (f" p{rng.randint(0, k // 2)}" if kind != "maxpool" else ""))
        network = parse_inline(" | ".join(items))
        outcomes.add(compare(network, (rng.randint(1, 40),), run_torch))
    assert outcomes == {"agreed", "refused"}
