"""The validity scan reads as far as each network needs, not a fixed 4,096 sizes: network_reach bounds every
layer's input from below and scans past the point where each is past its own reach. The sets it describes
must equal brute force far beyond that point, for random networks with strides, transposed convs, upsampling,
crops and skips."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tconvcalc.network import build, chain, is_valid, network_reach, parse_inline, valid_in_range, valid_inputs
from tconvcalc.validity import REACH

UP_TO = 4096

layer = st.one_of(
    st.builds("conv k{} s{} p{} d{}".format, st.integers(1, 7), st.integers(1, 3), st.integers(0, 3),
              st.integers(1, 2)),
    st.builds("convT k{} s{} p{}".format, st.integers(1, 5), st.integers(1, 3), st.integers(0, 2)),
    st.builds("maxpool k{} s{} p{}".format, st.integers(2, 3), st.integers(1, 3), st.integers(0, 1)),
    st.builds("avgpool k{} s{} ceil".format, st.integers(2, 3), st.integers(1, 3)),
    st.builds("upsample x{}".format, st.sampled_from(["2", "3", "1.5", "0.5"])),
    st.builds("pad p{}:{}".format, st.integers(-3, 2), st.integers(-3, 2)),
)


def described(valid, up_to=UP_TO):
    return {n for n in range(1, up_to + 1)
            if n in valid.below or (n >= valid.threshold and n % valid.modulus in valid.residues)}


def brute_force(network, up_to=UP_TO):
    built = build(network, 1)
    return {n for n in range(1, up_to + 1) if is_valid(built, (n,))}


@settings(max_examples=30, deadline=None)
@given(st.lists(layer, min_size=1, max_size=4), st.booleans())
def test_the_described_set_equals_brute_force(layers, skip):
    text = " | ".join(["a: conv k1", *layers] + (["add a"] if skip else []))
    network = parse_inline(text)
    valid = valid_inputs(network)
    if valid.modulus == 0:  # not described: nothing claimed
        return
    assert described(valid) == brute_force(network), text


def test_a_stride_1_network_scans_only_a_little_way():
    network = parse_inline(" | ".join(["conv k3 p1"] * 50))
    assert network_reach(build(network, 1)) < 200


def test_deeper_encoders_need_more_and_get_it():
    shallow = network_reach(build(parse_inline("conv k3 | maxpool k2"), 1))
    deep = network_reach(build(parse_inline(" | ".join(["conv k3 | maxpool k2"] * 4)), 1))
    assert deep > 8 * shallow > 8


def test_an_unknown_bound_falls_back_to_the_fixed_reach():
    network = parse_inline("conv k3 | convT k4 s2 out=20 | add input")  # a fixed size merged with a growing one
    assert network_reach(build(network, 1)) >= REACH


@settings(max_examples=20, deadline=None)
@given(st.lists(layer, min_size=1, max_size=3), st.integers(1, 300), st.integers(0, 600))
def test_valid_inputs_in_a_range_read_from_the_congruence_equal_brute_force(layers, low, span):
    network = parse_inline(" | ".join(["a: conv k1", *layers, "add a"]))
    built = build(network, 1)
    assert valid_in_range(network, 1, low, low + span) == tuple(
        n for n in range(low, low + span + 1) if is_valid(built, (n,)))


def test_a_range_far_past_any_scan_is_listed_from_the_congruence():
    network = parse_inline("conv k3 s2 p1 | convT k4 s2 p1 | add input")  # valid exactly for even H
    assert valid_in_range(network, 1, 99_990, 100_000) == (99_990, 99_992, 99_994, 99_996, 99_998, 100_000)


def test_a_decoder_that_pads_to_its_skip_takes_every_size_in_h():
    """The milesial U-Net idiom: F.pad to the skip's size (like) makes odd sizes valid, in H too."""
    network = parse_inline("a: conv k3 p1 | maxpool k2 | convT k2 s2 | pad like=a | concat a")
    result = chain(network, ("H",))
    assert result.condition == "2 <= H" and result.output == ("H",)
    assert described(valid_inputs(network), 512) == brute_force(network, 512)


@settings(max_examples=40, deadline=None)
@given(st.lists(layer, min_size=1, max_size=14))
def test_a_chain_without_merges_is_every_size_past_the_least_one(layers):
    """No merge: valid past the least valid size, found without a period -- also where the strides multiply
    past any scan (period 2^14 and more); brute force agrees."""
    network = parse_inline(" | ".join(layers))
    valid = valid_inputs(network)
    assert valid.modulus == 1 and valid.below == ()
    assert described(valid, 1024) == brute_force(network, 1024), " | ".join(layers)


def test_a_deep_stack_with_a_period_of_2_to_the_20_is_described():
    network = parse_inline(" | ".join(["conv k3 p1 | maxpool k2 | convT k2 s2"] * 20))
    assert valid_inputs(network).description == "2 <= H"
    assert chain(network, ("H",)).condition == "2 <= H"


@settings(max_examples=30, deadline=None)
@given(st.lists(layer, min_size=1, max_size=3), st.lists(layer, min_size=1, max_size=6))
def test_layers_past_the_last_merge_add_no_period(head, tail):
    """Only merges and blocks that divide make the valid set periodic: a strided tail past the last merge
    needs no period of its own, and the set still equals brute force."""
    network = parse_inline(" | ".join(["a: conv k1", *head, "add a", *tail]))
    valid = valid_inputs(network)
    if valid.modulus == 0:
        return
    assert described(valid) == brute_force(network), " | ".join(["a: conv k1", *head, "add a", *tail])


def test_a_skip_before_eleven_strided_convs_is_h_even():
    """The strides multiply to 2^12, past any period scanned, but only the skip's 2 is a period of validity."""
    network = parse_inline(" | ".join(["a: conv k1", "conv k3 s2 p1", "convT k4 s2 p1", "add a"] + ["conv k3 s2 p1"] * 11))
    valid = valid_inputs(network)
    assert valid.description == "H ≡ 0 (mod 2), H ≥ 2; also H ∈ {1}"
    assert described(valid, 1024) == brute_force(network, 1024)
