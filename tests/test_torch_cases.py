"""Known PyTorch cases, each with the answer torch 2.13 gave (framework-semantics.md §1 and §9, and
runs of torch itself noted [run]); no framework needed to run them."""

import pytest

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError


def out(kind, rank, size, **options):
    return forward(build_layer(kind, "torch", rank, **options), size)


def refused(kind, rank, size, **options):
    with pytest.raises(ShapeError) as error:
        out(kind, rank, size, **options)
    return str(error.value)


# (kind, rank, size, options, expected output)
OUTPUTS = [
    ("convT", 1, (126,), dict(kernel=4, stride=2), (254,)),  # §9.1
    ("convT", 1, (126,), dict(kernel=4, stride=2, output_padding=1), (255,)),
    ("convT", 1, (126,), dict(kernel=4, stride=2, output_size=255), (255,)),
    ("convT", 1, (5,), dict(kernel=3, stride=1, output_padding=1, dilation=2), (10,)),  # §9.4: op < d saves it
    ("convT", 2, (6, 6), dict(kernel=3, stride=2, padding=1, output_size="12x12"), (12, 12)),  # §9.5
    ("convT", 3, (2, 2, 2), dict(kernel=3, stride=1, output_padding=3, dilation=4), (13, 13, 13)),  # [run]
    ("conv", 1, (5,), dict(kernel=4, padding="same"), (5,)),  # §9.9
    ("conv", 1, (2,), dict(kernel=5, padding="same"), (2,)),  # §9.11: no error when k > i
    ("conv", 1, (5,), dict(kernel=5), (1,)),  # i == ek gives 1, never 0
    ("conv", 2, (7, 9), dict(kernel=3, stride=2, padding=1, dilation=2), (3, 4)),  # (i+2p-ek)//s+1
    ("maxpool", 1, (5,), dict(kernel=2, stride=2, padding=1, ceil_mode=True), (3,)),  # §9.12 last-window rule
    ("maxpool", 2, (5, 5), dict(kernel=1, stride=3, ceil_mode=True), (2, 2)),  # §9.13
    ("maxpool", 2, (4, 4), dict(kernel=1, stride=2, ceil_mode=True), (2, 2)),
    ("avgpool", 2, (2, 2), dict(kernel=3, padding=1), (1, 1)),  # [run]
    ("upsample", 1, (100,), dict(scale=0.29), (28,)),  # §9.16: float64 floor
    ("upsample", 1, (5,), dict(scale=1.5), (7,)),
    ("upsample", 1, (3,), dict(scale=2.5), (7,)),
    ("upsample", 1, (10,), dict(scale=0.7), (7,)),
    ("upsample", 2, (10, 10), dict(scale="1.1x0.5"), (11, 5)),  # per-axis factors
    ("pixelshuffle", 2, (3, 4), dict(scale=2), (6, 8)),
    ("unpool", 2, (2, 2), dict(kernel=2, stride=2), (4, 4)),  # §9.22
    ("unpool", 2, (2, 2), dict(kernel=2, stride=2, output_size="5x5"), (5, 5)),
    ("unpool", 1, (3,), dict(kernel=2, stride=2, padding=-1), (8,)),  # [run]: torch checks no pad sign here
]


@pytest.mark.parametrize("kind,rank,size,options,expected", OUTPUTS)
def test_output(kind, rank, size, options, expected):
    assert out(kind, rank, size, **options).output == expected


# (kind, rank, size, options, the framework's words)
REFUSALS = [
    ("convT", 1, (126,), dict(kernel=4, stride=2, output_size=256),  # §9.1
     "requested an output size of [256], but valid sizes range from [254] to [255] "
     "(for an input of torch.Size([126]))"),
    ("convT", 2, (6, 6), dict(kernel=3, stride=2, padding=1, output_size="13x13"),  # §9.5
     "valid sizes range from [11, 11] to [12, 12] (for an input of torch.Size([6, 6]))"),
    ("convT", 1, (4,), dict(kernel=3, output_size=7), "valid sizes range from [6] to [6]"),  # stride only
    ("convT", 1, (5,), dict(kernel=3, stride=1, output_padding=1),  # §9.4
     "output padding must be smaller than either stride or dilation, but got output_padding_height: 0 "
     "output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"),
    ("convT", 3, (2, 2, 2), dict(kernel=3, output_padding="0x1x2"),  # [run]
     "output_padding_depth: 0 output_padding_height: 1 output_padding_width: 2 stride_depth: 1"),
    ("convT", 1, (1,), dict(kernel=3, padding=3),  # §9.6
     "Given input size per channel: (1 x 1). Calculated output size per channel: (1 x -3). Output size is too small"),
    ("convT", 3, (1, 1, 1), dict(kernel=3, padding=3),  # [run]
     "Given input size per channel: (1 x 1 x 1). Calculated output size per channel: (-3 x -3 x -3)."),
    ("convT", 1, (5,), dict(kernel=3, padding=-1), "negative padding is not supported"),  # [run]
    ("conv", 1, (4,), dict(kernel=5),  # §9.7
     "Calculated padded input size per channel: (4). Kernel size: (5). Kernel size can't be greater than actual "
     "input size"),
    ("conv", 3, (4, 4, 4), dict(kernel=5), "Calculated padded input size per channel: (4 x 4 x 4). Kernel size: "
     "(5 x 5 x 5)."),  # [run]
    ("conv", 1, (5,), dict(kernel=4, stride=2, padding="same"),  # §9.10
     "padding='same' is not supported for strided convolutions"),
    ("conv", 1, (5,), dict(kernel=3, padding=-1), "negative padding is not supported"),  # [run]
    ("maxpool", 2, (9, 9), dict(kernel=2, padding=2),  # §9.14
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1"),
    ("maxpool", 2, (9, 9), dict(kernel=3, dilation=2, padding=2),
     "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 3, kH = 3"),
    ("maxpool", 3, (9, 9, 9), dict(kernel=3, dilation=2, padding=2),  # [run]: the 3-D wording
     "pad should be smaller than or equal to half of kernel size, but got kT: 3 kW: 3 kH: 3 padT: 2 padW: 2 padH: 2"),
    ("maxpool", 1, (9,), dict(kernel=3, dilation=2, padding=2),
     "max_pool1d() padding should be at most half of kernel size, but got padding=2 and kernel_size=3"),
    ("maxpool", 1, (2,), dict(kernel=3), "max_pool1d() Invalid computed output size: 0"),  # §9.15
    ("maxpool", 1, (5,), dict(kernel=3, padding=-1), "max_pool1d() padding must be non-negative, but got -1"),
    ("maxpool", 2, (5, 5), dict(kernel=3, padding=-1), "pad must be non-negative, but got pad: -1"),  # [run]
    ("maxpool", 3, (2, 2, 2), dict(kernel=3), "x2x2x2). Calculated output size: ("),  # [run]
    ("avgpool", 1, (2,), dict(kernel=3), "x1x2). Calculated output size: ("),  # §9.15: the 2-D path
    ("avgpool", 3, (2, 2, 2), dict(kernel=3, padding=1),  # [run]: AvgPool3d ignores the padding here
     "input image (T: 2 H: 2 W: 2) smaller than kernel size (kT: 3 kH: 3 kW: 3)"),
    ("upsample", 1, (3,), dict(scale=0.3),  # §9.16
     "Input and output sizes should be greater than 0, but got input (W: 3) and output (W: 0)"),
    ("upsample", 2, (3, 3), dict(scale="0.3x1"),  # [run]
     "Input and output sizes should be greater than 0, but got input (H: 3, W: 3) output (H: 0, W: 3)"),
    ("upsample", 3, (3, 3, 3), dict(scale=0.3), "input (D: 3, H: 3, W: 3) output (D: 0, H: 0, W: 0)"),
    ("unpool", 2, (2, 2), dict(kernel=2, stride=2, output_size="6x7"),  # §9.22: 6 itself is rejected
     'invalid output_size "[6, 7]" (dim 0 must be between 2 and 6)'),
    ("unpool", 1, (1,), dict(kernel=2, stride=2, padding=2),  # [run]: a negative default size
     "max_unpooling: output_size must contain non-negative spatial dimensions, but got output_size[0]=-2"),
]


@pytest.mark.parametrize("kind,rank,size,options,words", REFUSALS)
def test_refusal(kind, rank, size, options, words):
    assert words in refused(kind, rank, size, **options)


# A padding word the layer does not take is not a usable argument: exit 2 (InputError), in torch's words.
UNUSABLE = [
    ("convT", 1, (5,), dict(kernel=3, padding="same"), "must be tuple of ints, but found element of type str"),
    ("conv", 1, (5,), dict(kernel=3, padding="causal"), "Invalid padding string 'causal'"),
]


@pytest.mark.parametrize("kind,rank,size,options,words", UNUSABLE)
def test_unusable_padding_word(kind, rank, size, options, words):
    with pytest.raises(InputError) as error:
        out(kind, rank, size, **options)
    assert words in str(error.value)


def test_convT_accepted_outputs():
    assert out("convT", 1, (126,), kernel=4, stride=2).accepted_outputs == ((254, 255),)
    # op < stride or op < dilation: dilation 3 with stride 1 lets op be 0, 1 or 2.
    assert out("convT", 1, (5,), kernel=3, dilation=3).accepted_outputs == ((11, 12, 13),)


def test_convT_output_size_picks_output_padding():
    result = out("convT", 1, (126,), kernel=4, stride=2, output_size=255)
    assert result.axes[0].output_padding == 1
    assert "output_padding=1" in result.code


def test_same_pads_put_the_odd_pixel_at_the_end():
    assert out("conv", 1, (5,), kernel=4, padding="same").axes[0].pads == (1, 2)  # §9.9
    assert out("conv", 1, (5,), kernel=4, dilation=3, padding="same").axes[0].pads == (4, 5)  # §9.11


def test_unpool_default_zero_is_an_empty_tensor():
    result = out("unpool", 2, (1, 1), kernel=2, stride=2, padding=1)  # [run]: torch returns (1, 1, 0, 0)
    assert result.output == (0, 0)
    assert any("empty tensor" in w for w in result.warnings)


def test_mkldnn_empty_convT_is_named():
    # [run] reference kernels refuse; oneDNN returns shape (0, 4)
    message = refused("convT", 2, (1, 1), kernel=4, stride=2, padding="2x0")
    assert "(0 x 4). Output size is too small" in message and "mkldnn" in message


def test_not_torch():
    with pytest.raises(InputError, match="symmetrically"):
        out("conv", 2, (5, 5), kernel=3, padding="1:2")
    with pytest.raises(InputError, match="last two axes"):
        out("pixelshuffle", 1, (5,), scale=2)
