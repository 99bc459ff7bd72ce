"""The layers real models use, in the engine: adaptive/global pools, flatten and linear, upsample/pad to another
node's size, grouped convs and their channel checks, broadcasting merges. The rules against the real frameworks
are in tests/frameworks/test_real_layers_frameworks.py; here the vocabulary, the messages and the valid-input
scan against numbers computed by hand."""

import pytest

from tconvcalc.errors import InputError, ShapeError
from tconvcalc.forward import forward
from tconvcalc.layer import build_layer
from tconvcalc.network import SpecError, build, chain, is_valid, make_network, parse_inline, valid_inputs

VGG = ("conv k3 p1 c64 in=3 | maxpool k2 | conv k3 p1 c128 | maxpool k2 | conv k3 p1 c256 | maxpool k2 | "
       "conv k3 p1 c512 | maxpool k2 | conv k3 p1 c512 | maxpool k2 | flatten | linear in=25088 c4096 | "
       "linear in=4096 c10")


# ---- single layers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [("7", (7, 7)), ("Nonex3", (None, 3)), ([None, 4], (None, 4)),
                                            ("0", (0, 0))])
def test_adaptive_output_sizes_parse_with_none_keeping_an_axis(text, expected):
    assert build_layer("adaptiveavgpool", "torch", 2, output_size=text).output_size == expected


@pytest.mark.parametrize("alias", ["globalavgpool", "global_avg_pool", "GlobalAveragePool", "gap", "globalmaxpool"])
def test_global_aliases_are_adaptive_pools_to_one(alias):
    layer = build_layer(alias, "torch", 3)
    assert layer.kind.startswith("adaptive") and layer.output_size == (1, 1, 1)


def test_global_pool_refuses_another_output_size():
    with pytest.raises(InputError, match="pools every axis to 1"):
        build_layer("globalavgpool", "torch", 2, output_size=3)


def test_torch_adaptive_pool_windows_and_sizes():
    layer = build_layer("adaptiveavgpool", "torch", 2, output_size="Nonex3")
    result = forward(layer, (10, 7))
    assert result.output == (10, 3)
    assert result.code == "nn.AdaptiveAvgPool2d((None, 3))"
    assert any("ceil((i+1)×n/out)" in note for note in result.notes)


def test_torch_adaptive_pool_output_zero_is_an_empty_tensor_warned():
    result = forward(build_layer("adaptivemaxpool", "torch", 1, output_size=0), (5,))
    assert result.output == (0,) and "empty tensor" in result.warnings[0]


@pytest.mark.parametrize("framework", ["tf", "jax", "onnx"])
def test_global_only_frameworks_refuse_another_output_size_with_exit_2(run, framework):
    code, _, err = run("forward", "14x14", "-l", "adaptiveavgpool", "--output-size", "7", "-f", framework)
    assert code == 2 and err.count("\n") == 1
    assert "other than 1" in err and "n/out" in err


@pytest.mark.parametrize("framework, code", [
    ("torch", "nn.AdaptiveMaxPool2d(1)"), ("keras", "layers.GlobalMaxPooling2D(keepdims=True)"),
    ("tf", "tf.reduce_max(x, axis=[1, 2], keepdims=True)"), ("jax", "jnp.max(x, axis=(2, 3), keepdims=True)"),
    ("onnx", 'helper.make_node("GlobalMaxPool", ["X"], ["Y"])')])
def test_global_pool_code_in_each_framework(framework, code):
    result = forward(build_layer("globalmaxpool", framework, 2), (9, 4))
    assert result.output == (1, 1) and result.code == code


def test_upsample_takes_a_scale_or_a_size_not_both():
    assert forward(build_layer("upsample", "torch", 2, output_size="9x10"), (3, 4)).output == (9, 10)
    with pytest.raises(InputError, match="not both"):
        build_layer("upsample", "torch", 2, output_size=9, scale=2)
    with pytest.raises(InputError, match="--output-size"):
        build_layer("upsample", "torch", 2)


def test_groups_in_the_code_and_transposed_convs_without_groups():
    assert "groups=4" in forward(build_layer("conv", "torch", 2, kernel=3, groups=4), (8, 8)).code
    assert "feature_group_count=4" in forward(build_layer("conv", "jax", 2, kernel=3, groups=4), (8, 8)).code
    for framework in ("keras", "tf", "jax"):
        with pytest.raises(InputError, match="no (groups|feature_group_count)"):
            forward(build_layer("convT", framework, 2, kernel=2, stride=2, groups=2), (8, 8))
    with pytest.raises(InputError, match="--groups does not apply to maxpool"):
        build_layer("maxpool", "torch", 2, kernel=2, groups=2)


# ---- networks: flatten and linear ---------------------------------------------------------------------


def test_vgg_without_adaptive_pool_accepts_exactly_the_sizes_whose_features_match():
    network = parse_inline(VGG)
    # by hand: five halvings leave floor(H/32) per axis, 512 x floor(H/32)^2 features must be 25088 = 512 x 7^2
    expected = {h for h in range(1, 700) if 512 * (h // 32) ** 2 == 25088}
    assert expected == set(range(224, 256))
    built = build(network, 2)
    assert {h for h in range(1, 700) if is_valid(built, (h, h))} == expected
    valid = valid_inputs(network, rank=2)
    assert set(valid.below) == expected and not valid.residues


def test_a_mismatched_linear_is_refused_in_torchs_words_with_the_in_features_it_needs():
    with pytest.raises(ShapeError) as error:
        chain(parse_inline(VGG), (200, 200))
    message = str(error.value)
    assert "mat1 and mat2 shapes cannot be multiplied (1x18432 and 25088x4096)" in message  # 512 x 6 x 6
    assert "in_features=18432" in message and "nearest valid inputs: 224" in message


def test_symbolic_chain_shows_the_features_and_the_in_features_needed():
    result = chain(parse_inline(VGG), ("H", "H"))
    flatten = next(step for step in result.steps if step.op == "flatten")
    assert flatten.output == () and flatten.channels == "512*floor(H/32)**2"
    linear = next(step for step in result.steps if step.op == "linear")
    assert "in_features must be 512*floor(H/32)**2" in linear.code
    assert "224" in result.condition and "255" in result.condition and "256" not in result.condition


def test_chain_json_after_flatten_has_no_spatial_axes_and_the_features_as_channels(run_json):
    code, data, _ = run_json("chain", "224x224", VGG)
    assert code == 0
    steps = data["steps"]
    assert steps[10]["op"] == "flatten" and steps[10]["output"] == [] and steps[10]["channels"] == 25088
    assert steps[-1]["channels"] == 10 and "nn.Linear(4096, 10)" in data["code"]


def test_chain_table_shows_features_where_no_spatial_axis_is_left(run):
    code, out, _ = run("chain", "224x224", VGG)
    assert code == 0 and "25088 features" in out


@pytest.mark.parametrize("framework, in_features, size, channels", [
    ("torch", 5, (4, 10), 7), ("onnx", 5, (4, 10), 7), ("keras", 7, (4, 5), 10), ("jax", 7, (4, 5), 10)])
def test_linear_on_an_unflattened_tensor_acts_on_the_last_axis(framework, in_features, size, channels):
    """torch (NCHW): the last spatial axis; Keras Dense, TF, JAX (NHWC): the channels."""
    network = make_network([{"layer": "conv", "kernel": 1, "channels": 7, "in_channels": 3},
                            {"layer": "linear", "in_channels": in_features, "channels": 10}], framework,
                           "tensorflow" if framework == "keras" else None)
    result = chain(network, (4, 5))
    assert (result.output, result.steps[-1].channels) == (size, channels)
    wrong = make_network([{"layer": "conv", "kernel": 1, "channels": 7, "in_channels": 3},
                          {"layer": "linear", "in_channels": in_features + 1, "channels": 10}], framework)
    with pytest.raises(ShapeError):
        chain(wrong, (4, 5))


def test_linear_needs_out_features():
    with pytest.raises(SpecError, match="needs its out_features"):
        make_network([{"layer": "flatten"}, {"layer": "linear", "in_channels": 4}])


def test_a_conv_after_a_flatten_is_refused():
    with pytest.raises(SpecError, match="after a flatten"):
        build(parse_inline("flatten | conv k1"), 1)


# ---- networks: channels -------------------------------------------------------------------------------


def test_in_channels_checked_against_a_concat_in_torchs_words():
    text = "e: conv k3 p1 c64 in=3 | d: conv k3 p1 c64 | concat e | conv k3 p1 c64 in=64"
    with pytest.raises(ShapeError) as error:
        chain(parse_inline(text), (32, 32))
    assert "expected input[1, 128, ...] to have 64 channels, but got 128 channels instead" in str(error.value)
    assert "in_channels=128" in str(error.value)


def test_groups_must_divide_both_channel_counts():
    with pytest.raises(ShapeError, match="in_channels must be divisible by groups"):
        chain(parse_inline("conv k3 c8 in=6 g=4"), (8,))
    with pytest.raises(ShapeError, match="out_channels must be divisible by groups"):
        chain(parse_inline("conv k3 c6 in=8 g=4"), (8,))
    depthwise = chain(parse_inline("conv k3 c8 in=8 g=8"), (8,))
    assert depthwise.steps[0].code == "nn.Conv1d(8, 8, kernel_size=3, groups=8)"


def test_channel_refusals_hold_for_every_size():
    with pytest.raises(ShapeError, match="to have 16 channels"):
        valid_inputs(parse_inline("conv k3 c8 in=4 | conv k1 c8 in=16"))


# ---- networks: like, merges ---------------------------------------------------------------------------


def test_pad_like_pads_diff_half_before_the_rest_after_and_crops_too():
    network = parse_inline("e: conv k3 p1 c8 in=4 | maxpool k2 | convT k2 s2 c8 | pad like=e | concat e")
    for n in (8, 9, 13):
        steps = chain(network, (n, n + 1)).steps
        assert steps[3].output == (n, n + 1)  # the U-Net pad: to e's size
    crop = parse_inline("e: conv k3 p1 c8 in=4 | convT k2 s2 c8 | pad like=e | add e")
    assert chain(crop, (5,)).steps[2].output == (5,)


def test_upsample_like_reads_the_other_nodes_size_for_every_h():
    network = parse_inline("e: conv k3 p1 c8 in=4 | maxpool k2 | conv k3 p1 c8 | upsample like=e | add e")
    assert valid_inputs(network).description == "2 <= H"  # maxpool k2 needs 2; the upsample always matches
    symbolic = chain(network, ("H",))
    assert symbolic.steps[3].output == ("H",)


@pytest.mark.parametrize("field, value, match", [("like", "nowhere", "unknown name"), ("scale", 2, "cannot be given")])
def test_like_errors(field, value, match):
    items = [{"layer": "conv", "kernel": 1, "name": "e"}, {"layer": "upsample", "like": "e", field: value}]
    if field == "like":
        items[1] = {"layer": "upsample", "like": value}
    with pytest.raises(SpecError, match=match):
        make_network(items)


def test_like_only_on_upsample_and_pad():
    with pytest.raises(SpecError, match="applies to upsample and pad"):
        make_network([{"layer": "conv", "kernel": 1, "name": "e"}, {"layer": "conv", "kernel": 1, "like": "e"}])


def test_squeeze_excitation_mul_broadcasts_silently():
    network = parse_inline("e: conv k3 p1 c8 in=4 | globalavgpool | conv k1 c8 | mul e")
    result = chain(network, (9, 9))
    assert result.output == (9, 9) and result.steps[-1].channels == 8 and not result.warnings


def test_add_broadcasting_one_axis_is_allowed_and_warned():
    result = chain(parse_inline("e: conv k3 p1 c8 in=4 | adaptiveavgpool out=Nonex1 | add e"), (6, 6))
    assert result.output == (6, 6) and "broadcasts a size-1 axis" in result.warnings[0]


def test_mismatched_mul_in_torchs_words_naming_the_last_axis_that_differs():
    with pytest.raises(ShapeError) as error:
        chain(parse_inline("e: conv k3 p1 c8 in=4 | s: maxpool k2 | mul e"), (8, 8))
    assert "The size of tensor a (4) must match the size of tensor b (8) at non-singleton dimension 3" in \
        str(error.value)


def test_broadcast_channels_of_one_and_a_mismatch():
    assert chain(parse_inline("e: conv k1 c8 in=4 | conv k1 c1 | mul e"), (4,)).steps[-1].channels == 8
    with pytest.raises(ShapeError, match="channels 4 and 8"):
        chain(parse_inline("e: conv k1 c8 in=4 | conv k1 c4 | add e"), (4,))


@pytest.mark.parametrize("framework", ["torch", "jax", "onnx"])
def test_symbolic_like_layers_give_the_other_nodes_size(framework):
    text = "e: conv k3 c8 | maxpool k2 | upsample like=e | pad like=e | add e"
    result = chain(parse_inline(text, framework), ("H",))
    assert result.steps[2].output == result.steps[0].output == result.steps[3].output


def test_symbolic_reflect_pad_like_reads_as_words_where_its_rule_needs_numbers():
    text = "e: conv k3 p1 c8 in=4 | maxpool k2 | convT k2 s2 c8 | pad like=e mode=reflect | concat e"
    result = chain(parse_inline(text), ("H",))
    assert result.steps[3].output == ("H",) and result.condition == "2 <= H"


# ---- verify: the executor's adaptive pools ------------------------------------------------------------


def _naive_adaptive(x, outputs, reduce):
    """Each output cell reduces its box of torch's windows, cell by cell."""
    import itertools

    import numpy as np

    sizes = x.shape[2:]
    out = np.zeros(x.shape[:2] + tuple(outputs))
    for cell in itertools.product(*(range(o) for o in outputs)):
        box = tuple(slice(i * n // o, -(-(i + 1) * n // o)) for i, n, o in zip(cell, sizes, outputs))
        out[(slice(None), slice(None)) + cell] = reduce(x[(slice(None), slice(None)) + box], axis=tuple(
            range(2, x.ndim)))
    return out


@pytest.mark.parametrize("seed", range(30))
def test_executor_adaptive_pools_equal_the_window_rule_cell_by_cell(seed):
    np = pytest.importorskip("numpy")
    import random

    from tconvcalc.numeric import layers

    rng = random.Random(seed)
    rank = rng.randint(1, 3)
    sizes = tuple(rng.randint(1, 9) for _ in range(rank))
    outputs = tuple(rng.randint(1, 11) for _ in range(rank))
    kind = rng.choice(["adaptiveavgpool", "adaptivemaxpool"])
    layer = build_layer(kind, "torch", rank, output_size=list(outputs))
    x = np.random.default_rng(seed).uniform(-1, 1, (2, 3, *sizes))
    got = layers.run(x, layers.plan(layer, sizes))
    expected = _naive_adaptive(x, outputs, np.mean if kind == "adaptiveavgpool" else np.max)
    assert got.shape == expected.shape and np.allclose(got, expected, atol=1e-12)
