"""Known jax.lax cases (framework-semantics.md §4, §9 and the jax docs), checked without jax.

Every expected value was observed by running jax 0.10.2 or is stated by its docstrings:
conv_general_dilated, conv_transpose (padding / use_consistent_padding), padtype_to_pads,
reduce_window.
"""

import pytest

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError


def run(kind, size, rank=None, **options):
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return forward(build_layer(kind, "jax", rank or len(size), **options), size)


# ---- lax.conv_general_dilated ---------------------------------------------------------------------

@pytest.mark.parametrize("size, options, output, pads", [
    (5, dict(kernel=4, padding="same"), 5, (1, 2)),               # §9.9: SAME, extra pad at the end
    (5, dict(kernel=4, padding="same_lower"), 5, (2, 1)),         # §9.9: SAME_LOWER, extra at the start
    (5, dict(kernel=4, stride=2, padding="same"), 3, (1, 2)),     # §9.10
    (6, dict(kernel=3, stride=2, padding="same"), 3, (0, 1)),     # §9.10: total 1
    (10, dict(kernel=3, dilation=2), 6, (0, 0)),                  # VALID (the default), ek = 5
    (10, dict(kernel=3, dilation=2, stride=3, padding="2:-1"), 3, (2, -1)),  # explicit, negative allowed
    (7, dict(kernel=3, stride=2, padding="same", dilation=3), 4, (3, 3)),     # SAME sees the dilated kernel
])
def test_conv(size, options, output, pads):
    result = run("conv", size, **options)
    assert result.output == (output,)
    assert result.axes[0].pads == pads
    assert result.warnings == ()


@pytest.mark.parametrize("size, options", [
    (2, dict(kernel=5)),             # §4: i2,k5 gives 0
    (4, dict(kernel=5)),             # §9.7: conv VALID i=4,k=5 -> 0 (torch refuses)
    (1, dict(kernel=5, stride=3)),   # §9.8
    (4, dict(kernel=2, padding="-2:-2")),  # padded size 0: no refusal, an empty output
])
def test_conv_clamps_to_zero_with_a_warning(size, options):
    result = run("conv", size, **options)
    assert result.output == (0,)
    assert any("empty array" in w for w in result.warnings)


def test_conv_negative_padding_refusal():
    with pytest.raises(ShapeError) as error:
        run("conv", 4, kernel=2, padding="-3:-2")
    assert str(error.value) == ("Negative padding is larger than the size of the corresponding dimension: "
                                "got padding=((-3, -2),) for lhs_shape[2:]=(np.int64(4),)")
    with pytest.raises(ShapeError, match=r"got padding=\(\(-3, -2\), \(0, -5\)\) for "
                                         r"lhs_shape\[2:\]=\(np.int64\(4\), np.int64\(4\)\)"):
        run("conv", (4, 4), kernel=2, padding="-3:-2x0:-5")


@pytest.mark.parametrize("word, shown", [("same_upper", "SAME_UPPER"), ("causal", "CAUSAL")])
@pytest.mark.parametrize("kind", ["conv", "maxpool", "avgpool"])
def test_words_jax_does_not_have(kind, word, shown):
    with pytest.raises(InputError) as error:  # an argument jax cannot use: exit 2
        run(kind, 5, kernel=3, padding=word)
    assert str(error.value).startswith(
        f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {shown}.")


def test_conv_code():
    assert run("conv", 5, kernel=4, stride=2, padding="same").code == \
        'lax.conv_general_dilated(x, w, window_strides=(2,), padding="SAME", rhs_dilation=(1,))'
    assert run("conv", (5, 6), kernel="3x2", padding="1:2x0:0", dilation="1x2").code == \
        "lax.conv_general_dilated(x, w, window_strides=(1, 1), padding=((1, 2), (0, 0)), rhs_dilation=(1, 2))"


def test_conv_symbolic_same():
    result = run("conv", "H", kernel=4, stride=2, padding="same")
    assert result.output == ("ceil(H/2)",)


# ---- lax.conv_transpose --------------------------------------------------------------------------

@pytest.mark.parametrize("size, options, output", [
    (126, dict(kernel=4, stride=2), 254),                     # §9.1: JAX VALID 254
    (126, dict(kernel=4, stride=2, padding="same"), 252),     # §9.1: JAX SAME 252
    (5, dict(kernel=1, stride=3, padding="same"), 15),        # §9.3 / §9.17: SAME = i*s even when k < s
    (5, dict(kernel=1, stride=3, padding="valid"), 15),       # §4: VALID (i-1)*s + max(ek, s)
    (5, dict(kernel=4, stride=2), 12),                        # §4: VALID i5,k4,s2 -> 12
    (5, dict(kernel=3, stride=2, dilation=2), 13),            # VALID with rhs_dilation: ek = 5
    (5, dict(kernel=3, stride=2, dilation=3, padding="same"), 10),  # SAME: i*s with any dilation
])
def test_conv_transpose_words(size, options, output):
    result = run("convT", size, **options)
    assert result.output == (output,)
    assert result.accepted_outputs == ((output,),)  # one output, nothing to choose
    assert result.warnings == ()


@pytest.mark.parametrize("size, options, output", [
    (5, dict(kernel=4, stride=2, padding=1), 8),   # §9.20: lax (1,1) gives 8, torch p=1 gives 10
    (5, dict(kernel=3, stride=2, padding=1), 9),   # §9.20: k3,p1 coincides with torch (9)
    (6, dict(kernel=5, padding="-3:-2"), 0),       # cropping to nothing: an empty output
])
def test_conv_transpose_explicit_pads_are_used_as_given(size, options, output):
    result = run("convT", size, **options)
    assert result.output == (output,)
    assert any("use_consistent_padding" in w for w in result.warnings)
    assert result.axes[0].pads == tuple(build_layer("convT", "jax", 1, **options).padding[0])


def test_conv_transpose_negative_padding_names_the_dilated_input():
    with pytest.raises(ShapeError) as error:  # the input is first dilated to (4-1)*2+1 = 7
        run("convT", 4, kernel=2, stride=2, padding="-9:0")
    assert str(error.value) == ("Negative padding is larger than the size of the corresponding dimension: "
                                "got padding=((-9, 0),) for lhs_shape[2:]=(np.int64(7),)")


def test_conv_transpose_other_words():
    message = "String padding is not implemented for transposed convolution using this op."
    for word in ("same_lower", "same_upper", "causal"):  # any stride > 1: refused before the word is read
        with pytest.raises(InputError, match=message):
            run("convT", (5, 6), kernel=3, stride="1x2", padding=word)
    # every stride 1: SAME_LOWER is passed on as the padding of a stride-1 forward conv, so o = i
    assert run("convT", (5, 4), kernel=3, padding="same_lower").output == (5, 4)
    with pytest.raises(InputError, match="Unrecognized padding type: .* got SAME_UPPER"):
        run("convT", 5, kernel=3, padding="same_upper")


def test_conv_transpose_has_no_output_padding_or_output_size():
    with pytest.raises(InputError, match="no output_padding"):
        run("convT", 5, kernel=3, stride=2, output_padding=1)
    with pytest.raises(InputError, match="no output size"):
        run("convT", 5, kernel=3, stride=2, output_size=10)


def test_conv_transpose_code_and_symbols():
    assert run("convT", 126, kernel=4, stride=2).code == \
        'lax.conv_transpose(x, w, strides=(2,), padding="VALID", dimension_numbers=("NCH", "OIH", "NCH"))'
    assert run("convT", (5, 5), kernel=4, stride=2, padding="same").code == \
        'lax.conv_transpose(x, w, strides=(2, 2), padding="SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))'
    assert run("convT", ("H", "W"), kernel=4, stride=2, padding="same").output == ("2*H", "2*W")


# ---- lax.reduce_window ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind, size, options, output", [
    ("maxpool", (5, 7), dict(kernel=3, stride=2, padding="same", dilation=2), (3, 4)),  # window_dilation
    ("avgpool", 5, dict(kernel=3, padding=1), (2,)),              # stride defaults to the kernel
    ("avgpool", 7, dict(kernel=3, stride=2, padding="1:0"), (3,)),
    ("maxpool", 5, dict(kernel=4, stride=2, padding="same_lower"), (3,)),
])
def test_pools(kind, size, options, output):
    assert run(kind, size, **options).output == output


@pytest.mark.parametrize("kind, size, options", [
    ("maxpool", 2, dict(kernel=3, stride=1)),                # §4 Flax: VALID k > i gives 0
    ("maxpool", 5, dict(kernel=3, stride=2, padding="-4:-3")),  # no negative-padding refusal in reduce_window
    ("avgpool", 5, dict(kernel=3, stride=2, padding="-6:0")),
])
def test_pools_clamp_to_zero(kind, size, options):
    result = run(kind, size, **options)
    assert result.output == (0,)
    assert any("empty array" in w for w in result.warnings)


def test_pool_code_and_ceil_mode():
    assert run("maxpool", (5, 7), kernel=3, stride=2, padding="same", dilation=2).code == (
        'lax.reduce_window(x, -jnp.inf, lax.max, window_dimensions=(1, 1, 3, 3), window_strides=(1, 1, 2, 2), '
        'padding="SAME", window_dilation=(1, 1, 2, 2))')
    assert run("avgpool", 5, kernel=3, padding=1).code == (
        "lax.reduce_window(x, 0.0, lax.add, window_dimensions=(1, 1, 3), window_strides=(1, 1, 3), "
        "padding=((0, 0), (0, 0), (1, 1))) / 3")
    with pytest.raises(InputError, match="ceil_mode"):
        run("maxpool", 5, kernel=2, ceil_mode=True)


@pytest.mark.parametrize("kind, alternative", [
    ("upsample", "jax.image.resize"), ("pixelshuffle", "rearrange"), ("unpool", "at[")])
def test_layers_jax_lax_does_not_have(kind, alternative):
    options = dict(scale=2) if kind in ("upsample", "pixelshuffle") else dict(kernel=2)
    with pytest.raises(InputError, match=alternative.replace("[", r"\[")):
        run(kind, (4, 4), **options)


# ---- pad: jnp.pad, or lax.pad for a crop -------------------------------------------------------

@pytest.mark.parametrize("size,options,output", [
    ((5, 4), dict(padding="1:2x3"), (8, 10)),
    (2, dict(padding="7", padding_mode="reflect"), (16,)),      # numpy's reflect goes round as often as needed
    (1, dict(padding="3:2", padding_mode="circular"), (6,)),    # wrap
    (5, dict(padding="-7:3"), (1,)),                            # lax.pad: a crop past the input, made up for
    (5, dict(padding="-6:1"), (0,)),
])
def test_pad(size, options, output):
    assert run("pad", size, **options).output == output


def test_pad_crop_refusals():
    with pytest.raises(ShapeError) as error:
        run("pad", (5, 4), padding="-6:0x0")
    assert str(error.value) == (
        "Dimension size after padding is not at least 0, got result shape (N, C, -1, 4), for padding_config "
        "((0, 0, 0), (0, 0, 0), (-6, 0, 0), (0, 0, 0)) and operand shape (N, C, 5, 4)")
    with pytest.raises(ShapeError, match="^index can't contain negative values"):  # jnp.pad does not crop
        run("pad", 5, padding="-1:2", padding_mode="reflect")
    assert any("empty array" in w for w in run("pad", 5, padding="-5:0").warnings)


def test_pad_code():
    assert run("pad", (5, 4), padding="1:2x3", padding_mode="replicate").code == (
        'jnp.pad(x, ((0, 0), (0, 0), (1, 2), (3, 3)), mode="edge")')
    assert run("pad", 5, padding=1).code == "jnp.pad(x, ((0, 0), (0, 0), (1, 1)))"
    assert run("pad", 5, padding="-1:2").code == "lax.pad(x, 0.0, ((0, 0, 0), (0, 0, 0), (-1, 2, 0)))"
