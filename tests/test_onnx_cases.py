"""Known ONNX / onnxruntime 1.31 cases (framework-semantics.md §5/§9 and runs of ORT 1.31.1); no framework needed."""

import pytest

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError


def run(kind, size, **options):
    return forward(build_layer(kind, "onnx", len(size), **options), size)


OUTPUTS = [
    # §9.1: ConvTranspose k4 s2 on 126.
    ("convT", (126,), dict(kernel=4, stride=2), (254,)),
    ("convT", (126,), dict(kernel=4, stride=2, output_padding=1), (255,)),
    ("convT", (126,), dict(kernel=4, stride=2, padding="same_upper"), (252,)),
    # §9.17: SAME_UPPER k1 s3 i5 gives 13 in ORT (not i*s = 15).
    ("convT", (5,), dict(kernel=1, stride=3, padding="same_upper"), (13,)),
    # §9.18: SAME_UPPER op=1 k3 s2 i3: ORT 6 (inference 7).
    ("convT", (3,), dict(kernel=3, stride=2, padding="same", output_padding=1), (6,)),
    # §9.19: output_shape 10 and 12 (larger than the natural 11) are accepted.
    ("convT", (5,), dict(kernel=3, stride=2, output_size=10), (10,)),
    ("convT", (5,), dict(kernel=3, stride=2, output_size=12), (12,)),
    ("convT", (5,), dict(kernel=3, stride=2, output_size=4), (4,)),  # ORT run: tiny output_shape is padded away
    # §9.9/§9.10: SAME forward convs.
    ("conv", (5,), dict(kernel=4, padding="same_upper"), (5,)),
    ("conv", (5,), dict(kernel=4, stride=2, padding="same"), (3,)),
    ("conv", (6,), dict(kernel=3, stride=2, padding="same_lower"), (3,)),
    ("conv", (126, 100), dict(kernel=3, stride=2, padding=1), (63, 50)),
    # §9.12/§9.13: ceil_mode with the last-window rule.
    ("maxpool", (5,), dict(kernel=2, stride=2, padding=1, ceil_mode=True), (3,)),
    ("maxpool", (5, 5), dict(kernel=1, stride=3, ceil_mode=True), (2, 2)),
    ("maxpool", (4, 4), dict(kernel=1, stride=2, ceil_mode=True), (2, 2)),
    # §9.25: MaxPool SAME_UPPER d2 k3 i5 (stride 1) gives 3 in ORT (inference 5).
    ("maxpool", (5,), dict(kernel=3, stride=1, dilation=2, padding="same_upper"), (3,)),
    # §5: ORT MaxPool with k > i returns a 0-size output (stride 1); ORT run: with stride 3, -1/3 rounds to 0: 1.
    ("maxpool", (2,), dict(kernel=3, stride=1), (0,)),
    ("maxpool", (2,), dict(kernel=3), (1,)),
    # ORT run: AveragePool k2 s2 on 1 divides -1/2 toward zero: 1 window.
    ("avgpool", (1,), dict(kernel=2, stride=2), (1,)),
    ("avgpool", (7, 7), dict(kernel=3, stride=2, padding=1, ceil_mode=True), (4, 4)),
    # ORT runs: Resize multiplies in float32 (100×0.29f rounds to 29.0; torch gives 28).
    ("upsample", (100,), dict(scale=0.29), (29,)),
    ("upsample", (10,), dict(scale=0.7), (7,)),
    ("upsample", (5,), dict(scale=1.5), (7,)),
    ("upsample", (1,), dict(scale=0.5), (0,)),
    ("pixelshuffle", (3, 5), dict(scale=2), (6, 10)),
    # MaxUnpool: default (n-1)s+k-pads; output_shape with at least as many elements (ORT run: 12x28 vs 10x29).
    ("unpool", (5, 5), dict(kernel=2), (10, 10)),
    ("unpool", (8, 7), dict(kernel="5x6", stride="1x4", padding="0:2x1:0", output_size="12x28"), (12, 28)),
    ("unpool", (5,), dict(kernel=2, padding="-1:0"), (11,)),
]


@pytest.mark.parametrize("kind,size,options,expected", OUTPUTS)
def test_output(kind, size, options, expected):
    assert run(kind, size, **options).output == expected


REFUSALS = [
    # §9.4: op=1, s=1, d=2 passes op < max(s, d) but ORT's forward check then fails.
    ("convT", (5,), dict(kernel=3, stride=1, dilation=2, output_padding=1),
     "Computed output shape is inconsistent with input spatial dimensions. output_padding (1) may be too large "
     "for stride (1). Expected input size 6 but got 5."),
    ("convT", (5,), dict(kernel=3, stride=2, output_padding=2),
     "output_padding[0] (2) must be less than max(stride, dilation) (2) for spatial dimension 0."),
    # §9.6
    ("convT", (1,), dict(kernel=3, padding=2), "Computed output dimension is <= 0 for dim 0. Input shape: {1}"),
    # ORT run: output_shape 13 for k3 s2 i5 (the largest accepted is 12).
    ("convT", (5,), dict(kernel=3, stride=2, output_size=13),
     "Explicit output_shape is inconsistent with input spatial dimensions and convolution parameters. "
     "Expected input size 6 but got 5 (output_size=13, kernel=3, stride=2, dilation=1, output_padding=0)."),
    # §9.7, §5
    ("conv", (4,), dict(kernel=5), "Invalid input shape: {4}"),
    ("conv", (2, 3), dict(kernel=5), "Invalid input shape: {2,3}"),
    ("conv", (5,), dict(kernel=3, padding="-1"), "Attribute pads must not contain negative values"),
    # §9.25
    ("conv", (5,), dict(kernel=3, dilation=2, padding="same_upper"),
     "Dilation not supported for AutoPadType::SAME_UPPER or AutoPadType::SAME_LOWER."),
    # §9.14
    ("maxpool", (4,), dict(kernel=2, padding=2), "Pad should be smaller than kernel."),
    ("avgpool", (4,), dict(kernel=2, padding="0:2"), "Pad should be smaller than kernel."),
    # ORT runs.
    ("maxpool", (1,), dict(kernel=3, stride=1, dilation=2), "Calculated output dimension is negative."),
    ("maxpool", (2,), dict(kernel=1, stride=2, padding="same"), "padding values must be non-negative"),
    ("unpool", (1,), dict(kernel=2, padding=1), "Computed output dimension is not positive for axis 2."),
    ("unpool", (5, 5), dict(kernel=2, output_size="12x8"), "output_shape is smaller than minimum required."),
]


@pytest.mark.parametrize("kind,size,options,phrase", REFUSALS)
def test_refusal(kind, size, options, phrase):
    with pytest.raises(ShapeError) as caught:
        run(kind, size, **options)
    assert phrase in str(caught.value)


def test_pads_split():
    # §9.9: SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start.
    assert run("conv", (5,), kernel=4, padding="same_upper").axes[0].pads == (1, 2)
    assert run("conv", (5,), kernel=4, padding="same_lower").axes[0].pads == (2, 1)
    # §9.19 and an ORT run with values: output_shape 10 trims the start unless SAME_UPPER.
    assert run("convT", (5,), kernel=3, stride=2, output_size=10).axes[0].pads == (1, 0)
    assert run("convT", (5,), kernel=3, stride=2, padding="same_lower", output_size=10).axes[0].pads == (1, 0)
    assert run("convT", (5,), kernel=3, stride=2, padding="same_upper", output_size=10).axes[0].pads == (0, 1)


def test_accepted_outputs():
    # ORT: op < s reaches 254 and 255; SAME clamps to i*s.
    assert run("convT", (126,), kernel=4, stride=2).accepted_outputs == ((254, 255),)
    assert run("convT", (126,), kernel=4, stride=2, padding="same").accepted_outputs == ((252,),)
    # op=1 < d=2 passes the first check but not the second: stride 1 leaves one output.
    assert run("convT", (5,), kernel=3, stride=1, dilation=2).accepted_outputs == ((9,),)


def test_inference_warnings():
    assert any("shape inference gives 7" in w for w in run("convT", (3,), kernel=3, stride=2, padding="same",
                                                           output_padding=1).warnings)
    assert any("shape inference gives 28" in w for w in run("upsample", (100,), scale=0.29).warnings)
    assert any("shape inference" in w for w in run("maxpool", (5,), kernel=3, stride=1, dilation=2,
                                                   padding="same_upper").warnings)
    assert not run("conv", (5,), kernel=3).warnings
    assert any("empty tensor" in w for w in run("maxpool", (2,), kernel=3, stride=1).warnings)


def test_not_available():
    with pytest.raises(InputError, match="causal"):
        run("conv", (5,), kernel=3, padding="causal")
    with pytest.raises(InputError, match="DepthToSpace"):
        run("pixelshuffle", (5,), scale=2)


def test_code():
    code = run("convT", (126, 126), kernel=4, stride=2, padding=1).code
    assert code == ('helper.make_node("ConvTranspose", ["X", "W"], ["Y"], kernel_shape=[4, 4], strides=[2, 2], '
                    "pads=[1, 1, 1, 1])")
    assert "auto_pad='SAME_UPPER'" in run("conv", (5,), kernel=3, padding="same").code
    assert "output_shape=[10]" in run("convT", (5,), kernel=3, stride=2, output_size=10).code


# ---- pad: the Pad operator ----------------------------------------------------------------------

@pytest.mark.parametrize("size,options,expected", [
    ((5, 4), dict(padding="1:2x3"), (8, 10)),
    ((5,), dict(padding="-7:3"), (1,)),                          # constant: a crop past the input, made up for
    ((5,), dict(padding="-4:9", padding_mode="replicate"), (10,)),
    ((2,), dict(padding=7, padding_mode="circular"), (16,)),     # wrap goes round as often as needed
    ((5, 5), dict(padding="-4:0x4:0", padding_mode="reflect"), (1, 9)),
])
def test_pad_output(size, options, expected):
    assert run("pad", size, **options).output == expected


@pytest.mark.parametrize("size,options,message", [
    ((5,), dict(padding="-3"), "Tensor shape.Size() must be >= 0"),
    ((5,), dict(padding="-6:1", padding_mode="replicate"), "Pad: invalid mode: 2 with zero effective input extent"),
    ((5,), dict(padding="5:0", padding_mode="reflect"),
     "Pad reflect: pre-pad (5) exceeds maximum allowed (4) for axis 2. Input shape:{N,C,5}"),
    ((2, 4), dict(padding="0:2x0:1", padding_mode="reflect"),
     "Pad reflect: post-pad (2) exceeds maximum allowed (1) for axis 2. Input shape:{N,C,2,4}"),
    # the unpadded last axis is folded into the one before: its size and pads times 4
    ((1, 4), dict(padding="1:0x0", padding_mode="reflect"),
     "Pad reflect: pre-pad (4) exceeds maximum allowed (3) for axis 2. Input shape:{N,C,1,4}"),
    ((3, 1), dict(padding="0x1:0", padding_mode="reflect"),
     "Pad reflect requires axis length >= 2 after slicing. Input shape:{N,C,3,1}"),
])
def test_pad_refusal(size, options, message):
    with pytest.raises(ShapeError) as error:
        run("pad", size, **options)
    assert str(error.value) == message


def test_pad_code_and_no_symmetric():
    assert run("pad", (5, 4), padding="1:2x3", padding_mode="circular").code == (
        'helper.make_node("Pad", ["X", "pads"], ["Y"], mode=\'wrap\')  # pads = [0, 0, 1, 3, 0, 0, 2, 3]')
    with pytest.raises(InputError, match="no symmetric mode"):
        run("pad", (5,), padding=1, padding_mode="symmetric")
