"""Chains agree with forward layer by layer; valid-input congruences equal brute force; bad specs
give one error naming the file, line or item, and field."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tconvcalc import ShapeError, build_layer, forward
from tconvcalc.files import load_spec
from tconvcalc.network import SpecError, build, chain, is_valid, parse_inline, valid_inputs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

layer_text = st.one_of(
    st.builds("conv k{} s{} p{}".format, st.integers(1, 5), st.integers(1, 3), st.integers(0, 2)),
    st.builds("convT k{} s{} p{}".format, st.integers(1, 5), st.integers(1, 3), st.integers(0, 2)),
    st.builds("maxpool k{} s{}".format, st.integers(1, 3), st.integers(1, 3)),
    st.builds("maxpool k{} s{} ceil".format, st.integers(2, 3), st.integers(1, 3)),
)
stacks = st.lists(layer_text, min_size=1, max_size=5).map(" | ".join)


def by_hand(text, n):
    """The sizes of a plain stack, one forward() at a time."""
    sizes = [(n,)]
    for item in text.split(" | "):
        kind, *options = item.split()
        fields = {"k": "kernel", "s": "stride", "p": "padding"}
        kwargs = {fields[o[0]]: o[1:] for o in options if o != "ceil"}
        layer = build_layer(kind, "torch", 1, ceil_mode=("ceil" in options) or None, **kwargs)
        sizes.append(forward(layer, sizes[-1]).output)
    return sizes


@settings(max_examples=80, deadline=None)
@given(stacks, st.integers(1, 200))
def test_chain_agrees_with_forward_layer_by_layer(text, n):
    try:
        expected = by_hand(text, n)
    except ShapeError:
        with pytest.raises(ShapeError):
            chain(parse_inline(text), (n,))
        return
    steps = chain(parse_inline(text), (n,)).steps
    assert [steps[0].input] + [s.output for s in steps] == expected


def brute_force_valid(network, up_to=2048):
    built = build(network, 1)
    return {n for n in range(1, up_to + 1) if is_valid(built, (n,))}


def described(valid, up_to=2048):
    return {n for n in range(1, up_to + 1)
            if n in valid.below or (n >= valid.threshold and n % valid.modulus in valid.residues)}


@pytest.mark.parametrize("spec", ["unet.toml", "fcn_decoder.json", "autoencoder_odd.toml", "dcgan_generator.toml"])
def test_valid_inputs_of_the_examples_equal_brute_force(spec):
    network = load_spec(EXAMPLES / spec)
    assert described(valid_inputs(network)) == brute_force_valid(network)


skip_stacks = st.tuples(st.integers(1, 3), st.integers(1, 3), st.sampled_from(["convT k{s} s{s}", "convT k{k} s{s} p1"]),
                        st.sampled_from(["conv k3 p1", "conv k1", "maxpool k2 ceil"]))


@settings(max_examples=25, deadline=None)
@given(skip_stacks)
def test_valid_inputs_of_random_skip_networks_equal_brute_force(params):
    depth, s, up, level = params
    down = " | ".join(f"e{i}: {level} | maxpool k{s} s{s}" for i in range(depth))
    ups = " | ".join(f"{up.format(k=2 * s, s=s)} | concat e{i}" for i in reversed(range(depth)))
    network = parse_inline(f"{down} | conv k3 p1 | {ups}")
    assert described(valid_inputs(network)) == brute_force_valid(network)


def test_strides_that_differ_per_axis_repeat_with_their_lcm():
    # back to n only where n ≡ 1 on both axes (concat: add would broadcast a size-1 axis, as torch does)
    network = parse_inline("conv k1 s2x3 | convT k1 s2x3 | concat input")
    valid = valid_inputs(network, rank=2)
    assert valid.description == "H ≡ 1 (mod 6), H ≥ 1"
    assert described(valid) == {n for n in range(1, 2049) if is_valid(build(network, 2), (n, n))}


def test_a_bare_bound_reads_as_forward_writes_it():
    assert chain(parse_inline("conv k3 | conv k3 s2"), ("H",)).condition == "5 <= H"


def test_symbolic_unet_sizes():
    result = chain(load_spec(EXAMPLES / "unet.toml"), ("H",))
    assert result.output == ("16*floor(H/16)",)
    assert result.condition == "H ≡ 0 (mod 16), H ≥ 16"


def test_channels_add_up_on_concat():
    steps = chain(load_spec(EXAMPLES / "unet.toml"), (64, 64)).steps
    assert {s.name: s.channels for s in steps}["skip1"] == 128


def test_channels_pass_through_pools_and_divide_in_a_pixel_shuffle():
    network = parse_inline("conv k3 p1 c36 | pixelshuffle x3 | maxpool k2 | upsample x2 | conv k1 c5", "torch")
    assert network.rank == 2  # a pixel shuffle is 2-D in every framework: 8 stands for 8x8
    result = chain(network, network.fit((8,)))
    assert [s.channels for s in result.steps] == [36, 4, 4, 4, 5]
    assert result.output == (24, 24) and "nn.Conv2d(4, 5, kernel_size=1)" in result.code


def test_a_pixel_shuffle_refuses_channels_r2_does_not_divide():
    network = parse_inline("conv k3 p1 c18 | pixelshuffle x2", "torch")
    with pytest.raises(ShapeError, match=r"'pixelshuffle2': a pixel shuffle by 2 needs input channels divisible "
                                         r"by 2² = 4, got 18"):
        chain(network, (8, 8))


@pytest.mark.parametrize("text, phrase", [
    ("", "empty item"),
    ("conv k3 | | conv k3", "layer 2 ('') : empty item".replace(" : ", ": ")),
    ("conv k=", "option 'k' needs a value"),
    ("conv q3", "unknown option 'q'"),
    ("blur k3", "unknown layer 'blur'"),
    ("conv k3 | concat nowhere", "unknown name 'nowhere'"),
    ("a: conv k3 | a: conv k3", "the name 'a' is used twice"),
    ("conv k3 | concat", "needs the node it merges"),
    ("conv k3 c0", "channels must be a positive integer"),
    ("conv k3 | add conv1 k3", "'kernel' does not apply to add"),
])
def test_bad_inline_specs(text, phrase):
    with pytest.raises(SpecError) as error:
        parse_inline(text)
    assert phrase in str(error.value)


@pytest.mark.parametrize("name, content, phrase", [
    ("bad.toml", "[[layers]\nlayer = 'conv'", "bad.toml: syntax error"),
    ("bad.json", '{"layers": [', "bad.json: syntax error"),
    ("missing.toml", "[[layers]]\nkernel = 3\n", "missing.toml: layers[0] (line 1): missing field 'layer'"),
    ("unknown.toml", "[[layers]]\nlayer = 'conv'\nkernel = 3\n\n[[layers]]\nlayer = 'conv'\nkernal = 3\n",
     "unknown.toml: layers[1] (line 5): unknown field 'kernal'"),
    ("kind.json", '{"layers": [{"layer": "blur"}]}', "kind.json: layers[0]: field 'layer': unknown layer 'blur'"),
    ("cycle.toml", "[[layers]]\nname = 'a'\nlayer = 'concat'\nwith = 'b'\n\n[[layers]]\nname = 'b'\nlayer = 'conv'\n"
     "kernel = 1\n", "unknown name 'b'"),
    ("empty.toml", "layers = []\n", "the network has no layers"),
    ("top.toml", "layer = 3\nlayers = []\n", "unknown top-level field 'layer'"),
    ("value.toml", "[[layers]]\nlayer = 'conv'\nkernel = 'x3'\n", "value.toml: layers[0] (line 1): kernel 'x3' is malformed"),
])
def test_bad_spec_files(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpecError) as error:
        chain(load_spec(path), (32,))
    assert phrase in str(error.value).replace(str(tmp_path) + "/", "")


def test_absurdly_many_layers():
    with pytest.raises(SpecError, match="at most 1000"):
        parse_inline(" | ".join(["conv k1"] * 1001))


def test_cli_expect_and_bad_spec(run, tmp_path):
    code, _, err = run("chain", "64", "conv k3 s2 p1 | convT k4 s2 p1", "--expect", "63")
    assert code == 1 and err.strip() == "tconvcalc: expected 63, got 64 (from 64 through 2 layers)"
    code, _, err = run("chain", "64", "missing.toml")
    assert code == 2 and "missing.toml: no such file" in err
    (tmp_path / "bad.toml").write_text("[[layers]]\nlayer = 'conv'\nkernal = 3\n")
    code, _, err = run("chain", "64", str(tmp_path / "bad.toml"))
    assert code == 2 and "unknown field 'kernal'" in err and len(err.strip().splitlines()) == 1


def test_symbolic_chain_warnings_name_the_sizes_they_apply_to():
    network = parse_inline("conv k3 s2 | maxpool k3 s2 ceil", "onnx")
    result = chain(network, ("H",))
    assert result.warnings == (
        "maxpool2: when H ∈ {3, 4}, e.g. H = 3: onnx shape inference gives 1 on axis 0, ORT 0",
        "maxpool2: when H ∈ {3, 4}, e.g. H = 3: the output size is 0: ORT MaxPool returns an empty tensor")
    assert {s.name: s.warnings for s in result.steps}["conv1"] == ()
    # the numbers agree: of the valid H (3 <= H), exactly 3 and 4 warn, each with both
    assert result.condition == "3 <= H"
    warned = [n for n in range(3, 60) if chain(network, (n,)).warnings]
    assert warned == [3, 4] and all(len(chain(network, (n,)).warnings) == 2 for n in warned)
