"""Known TensorFlow tf.nn cases (TF 2.21), no framework needed.

Every expected value was run on tensorflow-cpu 2.21.0 (the default oneDNN kernels, and where they differ
also TF_ENABLE_ONEDNN_OPTS=0, which the warnings name) or is quoted from
/work/shared/research/framework-semantics.md §3/§9 (marked [run] there); messages are TF's own.
"""

import pytest

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError


def run(kind, size, rank=None, **options):
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return forward(build_layer(kind, "tf", rank or len(size), **options), size)


# ---- outputs -----------------------------------------------------------------------------

OUTPUTS = [
    # (kind, size, options, output)
    ("conv", 4, dict(kernel=5), (0,)),                       # trunc: eager 0 (§9.7)
    ("conv", (4, 4), dict(kernel=5), (0, 0)),
    ("conv", (4, 4, 4), dict(kernel=5), (0, 0, 0)),
    ("conv", 1, dict(kernel=5, stride=3), (0,)),             # trunc(-1/3) = 0 (§9.8)
    ("conv", (5, 5), dict(kernel=4, stride=2, padding="same"), (3, 3)),
    ("conv", (6, 6), dict(kernel=3, stride=2, padding="same"), (3, 3)),
    ("conv", (2, 2), dict(kernel=7, stride=2, padding="same"), (1, 1)),
    ("conv", (9, 9), dict(kernel=3, stride=2, dilation=2), (3, 3)),  # conv2d takes stride with dilation
    ("conv", 9, dict(kernel=3, stride=2, dilation=2), (3,)),          # so does conv1d
    ("conv", 9, dict(kernel=3, dilation=2), (5,)),
    ("conv", (9, 9), dict(kernel=3, stride=2, dilation=2, padding="same"), (5, 5)),
    ("conv", 2, dict(kernel=5, stride=2, dilation=3, padding="same"), (1,)),
    ("conv", (4, 4), dict(kernel=3, padding="1:2"), (5, 5)),
    ("conv", (1, 1), dict(kernel=5, padding="1:2"), (0, 0)),
    ("conv", (8, 8, 8), dict(kernel=5, dilation=2), (0, 0, 0)),   # empty: returns before the dilation check
    ("conv", (8, 20, 20), dict(kernel=5, dilation=2), (0, 12, 12)),
    ("conv", (5, 3), dict(kernel=3, stride=2), (2, 1)),
    ("maxpool", (2, 2), dict(kernel=3), (0, 0)),              # §3: max_pool2d VALID i2,k3 -> 0
    ("maxpool", 2, dict(kernel=3), (0,)),
    ("avgpool", 2, dict(kernel=3), (0,)),
    ("avgpool", (3, 3, 3), dict(kernel=4, stride=2), (0, 0, 0)),
    ("maxpool", 10, dict(kernel=2, stride=5), (2,)),
    ("maxpool", (1, 1), dict(kernel=5, stride=3, padding="same"), (1, 1)),
    ("avgpool", (2, 2), dict(kernel=7, stride=2, padding="same"), (1, 1)),
    ("maxpool", 4, dict(kernel=3, stride=1, padding="1"), (4,)),     # max_pool1d takes explicit pads
    ("maxpool", (4, 4), dict(kernel=3, stride=1, padding="1"), (4, 4)),
    ("maxpool", (1, 1), dict(kernel=5, stride=1, padding="2:1"), (0, 0)),
    ("maxpool", (4, 9), dict(kernel=5, stride=1), (0, 5)),
    ("convT", 126, dict(kernel=4, stride=2, output_size=255), (255,)),   # §9.1
    ("convT", 126, dict(kernel=4, stride=2, output_size=254), (254,)),
    ("convT", 126, dict(kernel=4, stride=2, padding="same", output_size=252), (252,)),
    ("convT", 1, dict(kernel=4, stride=2, output_size=5), (5,)),           # §9.23
    ("convT", (5, 5), dict(kernel=3, stride=2, padding="1", output_size=9), (9, 9)),
    ("convT", (5, 5), dict(kernel=3, stride=2, output_size="11x12"), (11, 12)),
    ("pixelshuffle", (3, 5), dict(scale=2), (6, 10)),
]


@pytest.mark.parametrize("kind,size,options,expected", OUTPUTS)
def test_output(kind, size, options, expected):
    assert run(kind, size, **options).output == expected


ACCEPTED = [
    # (size, options, accepted output_shape per axis)
    (126, dict(kernel=4, stride=2), ((254, 255),)),                    # seed 001 / §9.1
    (126, dict(kernel=4, stride=2, padding="same"), ((251, 252),)),
    (1, dict(kernel=4, stride=2), ((4, 5),)),                          # §9.23
    (2, dict(kernel=1, stride=3, padding="same"), ((4, 5, 6),)),
    ((126, 126), dict(kernel=4, stride=2), ((254, 255), (254, 255))),
]


@pytest.mark.parametrize("size,options,expected", ACCEPTED)
def test_transpose_accepted_outputs(size, options, expected):
    size = size if isinstance(size, tuple) else (size,)
    result = run("convT", size, **options)
    assert result.output is None  # the caller chooses output_shape
    assert result.accepted_outputs == expected


# ---- refusals (ShapeError, TF's message) -----------------------------------------------------

REFUSALS = [
    ("conv", 2, dict(kernel=5),
     "Computed output size would be negative: -2 [input_size: 2, effective_filter_size: 5, stride: 1]"),
    ("conv", (2, 2, 2), dict(kernel=5),
     "Computed output size would be negative: -2 [input_size: 2, effective_filter_size: 5, stride: 1]"),
    ("conv", (1, 2), dict(kernel=5),  # H is checked first
     "Computed output size would be negative: -3 [input_size: 1, effective_filter_size: 5, stride: 1]"),
    ("conv", (2, 2), dict(kernel=5, padding="1:0"),
     "Computed output size would be negative: -1 [input_size: 2, effective_filter_size: 5, stride: 1]"),
    ("conv", (2, 2, 2), dict(kernel=5, dilation=2),  # the size check comes before the dilation check
     "Computed output size would be negative: -6 [input_size: 2, effective_filter_size: 9, stride: 1]"),
    ("conv", (4, 4), dict(kernel=3, padding="-1:2"), "All elements of explicit_paddings must be nonnegative"),
    ("conv", (1, 1), dict(kernel=5, padding="-1:0"), "All elements of explicit_paddings must be nonnegative"),
    ("maxpool", 1, dict(kernel=5, stride=1),
     "Computed output size would be negative: -3 [input_size: 1, effective_filter_size: 5, stride: 1]"),
    ("avgpool", (1, 1, 1), dict(kernel=5, stride=1),
     "Computed output size would be negative: -3 [input_size: 1, effective_filter_size: 5, stride: 1]"),
    ("maxpool", (1, 1), dict(kernel=5, stride=1, padding="1"),
     "Computed output size would be negative: -1 [input_size: 1, effective_filter_size: 5, stride: 1]"),
    ("maxpool", (4, 4), dict(kernel=3, stride=1, padding="5:5x1"), "Top padding 5 needs to be smaller than the window size 3"),
    ("maxpool", (4, 4), dict(kernel=3, stride=1, padding="0:3x4"), "Bottom padding 3 needs to be smaller than the window size 3"),
    ("maxpool", 4, dict(kernel=3, stride=1, padding="0:3"), "Right padding 3 needs to be smaller than the window size 3"),
    ("maxpool", (4, 4), dict(kernel=3, stride=1, padding="-1:1x1"), "All elements of explicit_paddings must be nonnegative"),
    # seed 001: SAME refuses 255 (computed = 128); 2-D reports spatial_dim 1 (H), 1-D spatial_dim 2 (W of (N,1,W,C))
    ("convT", (126, 126), dict(kernel=4, stride=2, padding="same", output_size=255),
     "Conv2DCustomBackpropInput: Size of out_backprop doesn't match computed: actual = 126, computed = 128 "
     "spatial_dim: 1 input: 255 filter: 4 output: 126 stride: 2 dilation: 1"),
    ("convT", 126, dict(kernel=4, stride=2, padding="same", output_size=255),
     "Conv2DCustomBackpropInput: Size of out_backprop doesn't match computed: actual = 126, computed = 128 "
     "spatial_dim: 2 input: 255 filter: 4 output: 126 stride: 2 dilation: 1"),
    ("convT", 126, dict(kernel=4, stride=2, output_size=256),
     "Conv2DCustomBackpropInput: Size of out_backprop doesn't match computed: actual = 126, computed = 127 "
     "spatial_dim: 2 input: 256 filter: 4 output: 126 stride: 2 dilation: 1"),
    ("convT", 126, dict(kernel=4, stride=2, output_size=253), "actual = 126, computed = 125"),
    ("convT", (12, 12, 12), dict(kernel=4, stride=2, padding="same", output_size=25),
     "Conv3DBackpropInputOp: Size of out_backprop doesn't match computed: actual = 12, computed = 13 "
     "spatial_dim: 1 input: 25 filter: 4 output: 12 stride: 2 dilation: 1"),
    ("convT", (5, 5, 5), dict(kernel=3, stride=2, output_size="11x11x13"),
     "Conv3DBackpropInputOp: Size of out_backprop doesn't match computed: actual = 5, computed = 6 "
     "spatial_dim: 3 input: 13 filter: 3 output: 5 stride: 2 dilation: 1"),
    ("convT", (5, 5), dict(kernel=3, stride=2, output_size="13x12"), "actual = 5, computed = 6 spatial_dim: 1 input: 13"),
    ("convT", (5, 5), dict(kernel=3, stride=2, padding="1", output_size=8), "actual = 5, computed = 4 spatial_dim: 1"),
    ("convT", 1, dict(kernel=4, stride=2, output_size=3), "actual = 1, computed = 0 spatial_dim: 2"),   # §9.23
    ("convT", 2, dict(kernel=1, stride=3, padding="same", output_size=7), "actual = 2, computed = 3"),
    ("convT", 1, dict(kernel=5, output_size=1),
     "Computed output size would be negative: -3 [input_size: 1, effective_filter_size: 5, stride: 1]"),
    # explicit pads run the reference kernel, oneDNN on or not: it refuses dilation before anything else
    ("convT", (5, 5), dict(kernel=3, dilation=2, padding="-1:0x0", output_size=9),
     "Current CPU implementations do not yet support dilation rates larger than 1."),
    ("convT", (5, 5), dict(kernel=3, dilation=2, padding="0", output_size=9),
     "Current CPU implementations do not yet support dilation rates larger than 1."),
    ("convT", (5, 5), dict(kernel=3, stride=2, padding="-1:1x1", output_size=8),
     "All elements of explicit_paddings must be nonnegative"),
    ("pixelshuffle", (3, 5), dict(scale=1), "Value for attr 'block_size' of 1 must be at least minimum 2"),
]


@pytest.mark.parametrize("kind,size,options,message", REFUSALS)
def test_refusal(kind, size, options, message):
    with pytest.raises(ShapeError) as error:
        run(kind, size, **options)
    assert message in str(error.value)


# ---- options tf.nn does not have (InputError, exit 2) -------------------------------------------

UNAVAILABLE = [
    ("conv", 9, dict(kernel=3, padding="1:1"), "only 'SAME'/'VALID'"),       # TypeError in TF
    ("conv", (9, 9, 9), dict(kernel=3, padding="1"), "only 'SAME'/'VALID'"),
    ("convT", 9, dict(kernel=3, padding="1", output_size=9), "only 'SAME'/'VALID'"),
    ("convT", (9, 9, 9), dict(kernel=3, padding="1", output_size=9), "only 'SAME'/'VALID'"),
    ("avgpool", (4, 4), dict(kernel=3, padding="1"), "only 'SAME'/'VALID'"),
    ("avgpool", 4, dict(kernel=3, padding="1"), "only 'SAME'/'VALID'"),
    ("maxpool", (4, 4, 4), dict(kernel=3, padding="1"), "only 'SAME'/'VALID'"),
    ("conv", 9, dict(kernel=3, padding="causal"), "no padding 'causal'"),
    ("convT", 9, dict(kernel=4, stride=2, output_padding=1), "no output_padding"),
    ("maxpool", 9, dict(kernel=3, dilation=2), "no dilation"),
    ("maxpool", 9, dict(kernel=2, ceil_mode=True), "no ceil_mode"),
    ("avgpool", (9, 9), dict(kernel=2, ceil_mode=True), "no ceil_mode"),
    ("upsample", (9, 9), dict(scale=2), "tf.image.resize"),
    ("unpool", (9, 9), dict(kernel=2), "no max-unpool"),
    ("pixelshuffle", 9, dict(scale=2), "2-D size"),
]


@pytest.mark.parametrize("kind,size,options,phrase", UNAVAILABLE)
def test_not_available(kind, size, options, phrase):
    with pytest.raises(InputError) as error:
        run(kind, size, **options)
    assert phrase in str(error.value)


# ---- pads, warnings, code ------------------------------------------------------------------

@pytest.mark.parametrize("size,kernel,stride,pads", [
    (5, 4, 1, (1, 2)),   # §9.9: the odd pixel after
    (5, 4, 2, (1, 2)),   # §9.10
    (6, 3, 2, (0, 1)),
    (2, 7, 2, (2, 3)),   # o = 1: total (1-1)*2 + 7 - 2 = 5
])
def test_same_split(size, kernel, stride, pads):
    assert run("conv", size, kernel=kernel, stride=stride, padding="same").axes[0].pads == pads


def test_empty_output_warns_about_graph_mode_and_onednn():
    result = run("conv", (4, 4), kernel=5)
    text = " ".join(result.warnings)
    assert "Negative dimension size caused by subtracting 5 from 4" in text
    assert "oneDNN" in text
    # oneDNN's empty VALID max_pool (tests/frameworks/test_tf_pool_modes.py): n - k + s > 0 aborts, else an empty W dies
    assert "a pooling forward propagation primitive" in " ".join(run("maxpool", 2, kernel=3).warnings)
    assert "SIGFPE" in " ".join(run("maxpool", 2, kernel=3, stride=1).warnings)
    assert "oneDNN" not in " ".join(run("maxpool", (1, 4), kernel="2x1", stride=1).warnings)
    assert run("conv", (5, 5), kernel=3).warnings == ()


@pytest.mark.parametrize("kind,size,options,phrase", [
    ("convT", 126, dict(kernel=4, stride=2, padding="same", output_size=255), "could not create a primitive descriptor"),
    ("convT", 1, dict(kernel=5, stride=3, output_size=8), "could not create a primitive descriptor"),
    ("conv", (4, 4), dict(kernel=3, padding="-1:2"), "do not check them in eager mode"),
])
def test_refusal_names_what_onednn_does(kind, size, options, phrase):
    with pytest.raises(ShapeError) as error:
        run(kind, size, **options)
    assert "oneDNN" not in str(error.value)  # the message stays TF's own
    warnings = getattr(error.value, "warnings", None)
    if warnings is None:
        pytest.skip("this ShapeError carries no warnings")
    assert any(phrase in w for w in warnings)


# Run on tensorflow-cpu 2.21 both ways (tests/frameworks/test_tf.py checks it on random layers): the default
# oneDNN kernels run these; the reference kernels (TF_ENABLE_ONEDNN_OPTS=0) refuse them.
DILATED = [
    ("convT", 5, dict(kernel=3, dilation=2, output_size=9), (9,),
     "Current CPU implementations do not yet support dilation rates larger than 1."),
    ("convT", (5, 5), dict(kernel=3, stride=2, dilation=2, output_size=13), (13, 13),
     "Current CPU implementations do not yet support dilation rates larger than 1."),
    ("convT", (5, 5, 5), dict(kernel=3, dilation=2, output_size=9), (9, 9, 9),
     "Current CPU implementation does not yet support dilation rates larger than 1."),
    ("conv", (9, 9, 9), dict(kernel=3, dilation=2), (5, 5, 5),
     "CPU implementation of Conv3D currently only supports dilated rates of 1."),
    ("conv", (9, 9, 9), dict(kernel=3, stride=2, dilation=2), (3, 3, 3),
     "CPU implementation of Conv3D currently only supports dilated rates of 1."),
]


@pytest.mark.parametrize("kind,size,options,output,reference", DILATED)
def test_dilation_is_answered_and_the_reference_kernel_named(kind, size, options, output, reference):
    result = run(kind, size, **options)
    assert result.output == output
    assert any("reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0" in w and reference in w for w in result.warnings)


def test_onednn_short_outputs_are_a_warning_not_an_answer():
    # n = 1, k5 s3 VALID: TF's shape function takes 5..7; oneDNN also runs 3 and 4 (trunc((O-5)/3) + 1 = 1)
    result = run("convT", 1, kernel=5, stride=3)
    assert result.accepted_outputs == ((5, 6, 7),)
    assert any("also accept output_shape 3, 4 on axis L" in w for w in result.warnings)
    with pytest.raises(ShapeError) as error:
        run("convT", 1, kernel=5, stride=3, output_size=4)
    assert any("also accept output_shape 4" in w for w in error.value.warnings)


def test_negative_output_is_refused_not_warned():
    with pytest.raises(ShapeError, match="would be negative"):
        run("conv", 3, kernel=5)


def test_code():
    assert run("convT", (126, 126), kernel=4, stride=2, output_size=255).code == (
        'tf.nn.conv2d_transpose(x, w, output_shape=[N, 255, 255, C_out], strides=[1, 2, 2, 1], padding="VALID")'
        '  # w: (4, 4, C_out, C_in)')
    assert "padding=[[0, 0], [1, 2], [1, 2], [0, 0]]" in run("conv", (4, 4), kernel=3, padding="1:2").code
    assert run("maxpool", (8, 8), kernel=2).code == 'tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")'
    assert run("pixelshuffle", (3, 5), scale=2).code == "tf.nn.depth_to_space(x, 2)"


# ---- pad: tf.pad (Pad for CONSTANT, MirrorPad for REFLECT/SYMMETRIC) ---------------------------

@pytest.mark.parametrize("size,options,expected", [
    ((5, 4), dict(padding="1:2x3"), (8, 10)),
    (5, dict(padding=4, padding_mode="reflect"), (13,)),       # REFLECT: each pad below the size
    (5, dict(padding="5:0", padding_mode="symmetric"), (10,)),  # SYMMETRIC: at most the size
    (1, dict(padding=1, padding_mode="symmetric"), (3,)),
])
def test_pad_output(size, options, expected):
    assert run("pad", size, **options).output == expected


@pytest.mark.parametrize("size,options,message", [
    (5, dict(padding="-1:2"), "Paddings must be non-negative: -1 2"),  # tf.pad never crops
    (5, dict(padding="-1:2", padding_mode="reflect"), "paddings must be non-negative: -1 2"),
    (5, dict(padding="5:0", padding_mode="reflect"), "paddings must be less than the dimension size: 5, 0 not less than 5"),
    (1, dict(padding="0:1", padding_mode="reflect"), "paddings must be less than the dimension size: 0, 1 not less than 1"),
    ((4, 5), dict(padding="9x-1", padding_mode="reflect"),  # MirrorPad checks axis by axis
     "paddings must be less than the dimension size: 9, 9 not less than 4"),
    (5, dict(padding="6:0", padding_mode="symmetric"),
     "paddings must be no greater than the dimension size: 6, 0 greater than 5"),
])
def test_pad_refusal(size, options, message):
    with pytest.raises(ShapeError) as error:
        run("pad", size, **options)
    assert str(error.value) == message


@pytest.mark.parametrize("mode", ["replicate", "circular"])
def test_pad_modes_tf_does_not_have(mode):
    with pytest.raises(InputError, match=f"Received `mode` = {mode.upper()}"):
        run("pad", 5, padding=1, padding_mode=mode)


def test_pad_code_and_symbols():
    assert run("pad", (5, 4), padding="1:2x3", padding_mode="reflect").code == (
        'tf.pad(x, [[0, 0], [1, 2], [3, 3], [0, 0]], mode="REFLECT")')
    assert run("pad", 5, padding=1).code == "tf.pad(x, [[0, 0], [1, 1], [0, 0]])"
    assert run("pad", ("H",), padding="1:2", padding_mode="reflect").condition == "3 <= H"  # the pads below H
