"""Known Keras 3 cases (keras 3.15, run on its tensorflow, jax and torch backends; see
/work/shared/research/framework-semantics.md §2 and §9 and the Keras layer docs). No framework needed."""

import pytest

from tconvcalc import build_layer, forward
from tconvcalc.errors import InputError, ShapeError


def keras(kind, rank, size, **options):
    return forward(build_layer(kind, "keras", rank, **options), size)


# (kind, rank, size, options, expected output)
OUTPUTS = [
    # §9.1: Conv1DTranspose valid i=126, k=4, s=2: 254; output_padding=1: 255
    ("convT", 1, (126,), dict(kernel=4, stride=2), (254,)),
    ("convT", 1, (126,), dict(kernel=4, stride=2, output_padding=1), (255,)),
    # §9.2: k=4, s=2, 'same', i=5: op None 10, op=1 9, op=0 8 on jax/torch
    ("convT", 1, (5,), dict(kernel=4, stride=2, padding="same"), (10,)),
    ("convT", 1, (5,), dict(kernel=4, stride=2, padding="same", output_padding=1), (9,)),
    ("convT", 1, (5,), dict(kernel=4, stride=2, padding="same", output_padding=0, backend="jax"), (8,)),
    ("convT", 1, (5,), dict(kernel=4, stride=2, padding="same", output_padding=0, backend="torch"), (8,)),
    # §9.3: 'same' with op given: (i-1)s + ek%2 + op; op None: i*s
    ("convT", 1, (5,), dict(kernel=1, stride=3, padding="same", output_padding=0), (13,)),
    ("convT", 1, (5,), dict(kernel=2, stride=3, padding="same", output_padding=1, backend="jax"), (13,)),
    ("convT", 1, (5,), dict(kernel=1, stride=3, padding="same"), (15,)),
    # §2 / §9.26: valid op None = (i-1)s + max(ek, s): k=1, s=3, i=5 gives 15
    ("convT", 1, (5,), dict(kernel=1, stride=3), (15,)),
    # run on jax and torch: dilation 2, k=3, i=5 valid gives 9
    ("convT", 1, (5,), dict(kernel=3, dilation=2, backend="jax"), (9,)),
    ("convT", 2, (3, 3), dict(kernel=3, dilation="1x2", backend="torch"), (5, 7)),
    # §9.10: SAME i=5, k=4, s=2: 3
    ("conv", 1, (5,), dict(kernel=4, stride=2, padding="same"), (3,)),
    ("conv", 2, (2, 2), dict(kernel=5, stride=3, padding="same"), (1, 1)),
    # §9.24: Conv1D(k=4, s=2, 'causal') i=5 gives 3
    ("conv", 1, (5,), dict(kernel=4, stride=2, padding="causal"), (3,)),
    ("conv", 1, (126,), dict(kernel=3), (124,)),
    ("conv", 1, (9,), dict(kernel=3, dilation=2), (5,)),
    # Pooling: strides default to pool_size; valid floor((i-k)/s)+1; same ceil(i/s)
    ("maxpool", 2, (5, 7), dict(kernel=2), (2, 3)),
    ("avgpool", 1, (2,), dict(kernel=5, stride=1, padding="same"), (2,)),
    ("avgpool", 2, (5, 5), dict(kernel=3, stride=2, padding="same"), (3, 3)),
    # UpSampling: o = i*f
    ("upsample", 3, (2, 3, 4), dict(scale="2x1x3"), (4, 3, 12)),
    ("upsample", 1, (7,), dict(scale=2), (14,)),
]


@pytest.mark.parametrize("kind, rank, size, options, expected", OUTPUTS)
def test_outputs(kind, rank, size, options, expected):
    assert keras(kind, rank, size, **options).output == expected


# (kind, rank, size, options, a distinctive phrase of the framework's message)
REFUSALS = [
    # §9.2: the tensorflow backend re-validates through tf.nn.conv_transpose
    ("convT", 1, (5,), dict(kernel=4, stride=2, padding="same", output_padding=0),
     "Size of out_backprop doesn't match computed: actual = 5, computed = 4 spatial_dim: 2 input: 8 filter: 4"),
    ("convT", 3, (5, 5, 5), dict(kernel=4, stride=2, padding="same", output_padding=0),
     "Conv3DBackpropInputOp: Size of out_backprop doesn't match computed: actual = 5, computed = 4 spatial_dim: 1"),
    # §9.4: op must be strictly < s (no dilation escape)
    ("convT", 1, (5,), dict(kernel=3, output_padding=1, dilation=2),
     "`output_padding` must be strictly less than `strides` for all dimensions. At dimension 0, "
     "`output_padding` is 1 but `strides` is 1"),
    ("convT", 1, (5,), dict(kernel=3, stride=2, output_padding=2), "`output_padding` is 2 but `strides` is 2"),
    ("convT", 1, (5,), dict(kernel=3, stride=2, dilation=2),
     "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides=(2,) and "
     "dilation_rate=(2,)"),
    # §9.7: kernel larger than the input
    ("conv", 1, (4,), dict(kernel=5), "Computed output size would be zero or negative. Received `inputs shape=(None, 4"),
    ("conv", 1, (9,), dict(kernel=3, stride=2, dilation=2), "`strides > 1` not supported in conjunction with"),
    # §9.15: a valid pool with o <= 0 is refused in a Model
    ("maxpool", 1, (2,), dict(kernel=3),
     "Computed output size would be zero or negative. Received: `inputs.shape=[None 2"),
    ("avgpool", 2, (2, 5), dict(kernel=3), "`pool_size=[3 3]`, `strides=(3, 3)`, `padding=valid`"),
    # torch backend: AveragePooling3D 'same' with symmetric pads hands them to F.avg_pool3d
    ("avgpool", 3, (1, 4, 1), dict(kernel="3x5x3", stride="1x3x2", padding="same", backend="torch"),
     "input image (T: 1 H: 4 W: 1) smaller than kernel size (kT: 3 kH: 5 kW: 3)"),
]


@pytest.mark.parametrize("kind, rank, size, options, phrase", REFUSALS)
def test_refusals(kind, rank, size, options, phrase):
    with pytest.raises(ShapeError) as error:
        keras(kind, rank, size, **options)
    assert phrase in str(error.value)


UNAVAILABLE = [
    # a padding word the constructor refuses: unusable input (exit 2), in Keras's words
    ("convT", 1, (5,), dict(kernel=3, padding="causal"),
     "The `padding` argument must be a list/tuple or one of {'valid', 'same'}. Received: causal"),
    # §9.24: causal is for rank-1 layers only
    ("conv", 2, (5, 5), dict(kernel=3, padding="causal"), "Received: causal"),
    ("maxpool", 1, (5,), dict(kernel=3, padding="causal"),
     "Argument `padding` must be either 'valid' or 'same'. Received: padding=causal"),
    ("conv", 1, (5,), dict(kernel=3, padding=1), "no numeric padding"),
    ("maxpool", 1, (5,), dict(kernel=3, padding=1), "no numeric padding"),
    ("maxpool", 1, (5,), dict(kernel=3, dilation=2), "no dilation"),
    ("avgpool", 1, (5,), dict(kernel=3, ceil_mode=True), "no ceil_mode"),
    ("upsample", 2, (5, 5), dict(scale=1.5), "integer size factors"),
    ("pixelshuffle", 2, (5, 5), dict(scale=2), "keras has no pixelshuffle layer"),
    ("unpool", 1, (5,), dict(kernel=2), "keras has no unpool layer"),
]


@pytest.mark.parametrize("kind, rank, size, options, phrase", UNAVAILABLE)
def test_not_available(kind, rank, size, options, phrase):
    with pytest.raises(InputError) as error:
        keras(kind, rank, size, **options)
    assert phrase in str(error.value)


def test_eager_pool_behaviour_is_named():
    # §9.15: eagerly, keras on tensorflow/jax gives a 0-size tensor where a Model refuses
    with pytest.raises(ShapeError) as error:
        keras("maxpool", 1, (2,), kernel=3, backend="jax")
    assert "eagerly" in str(error.value) and "0-size" in str(error.value)


def test_zero_size_transpose_warns_on_every_backend():
    # run: Conv1DTranspose(k=2, s=3, 'same', output_padding=0) on i=1 gives a 0-size output on jax and
    # torch, and on the tensorflow backend with the default oneDNN kernels; TF's reference kernels
    # (TF_ENABLE_ONEDNN_OPTS=0) refuse it ("actual = 1, computed = 0")
    result = keras("convT", 1, (1,), kernel=2, stride=3, padding="same", output_padding=0, backend="jax")
    assert result.output == (0,) and result.warnings
    result = keras("convT", 1, (1,), kernel=2, stride=3, padding="same", output_padding=0)
    assert result.output == (0,)
    assert any("reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0) refuses it" in w and "actual = 1, computed = 0" in w
               for w in result.warnings)


def test_dilation_runs_on_the_tensorflow_backend_and_names_the_reference_kernel():
    # run on TF 2.21: the default oneDNN kernels run Conv1DTranspose/Conv3DTranspose(dilation_rate=2)
    for rank, size, phrase in ((1, (5,), "Current CPU implementations do not yet support dilation rates"),
                               (3, (3, 3, 3), "Current CPU implementation does not yet support dilation rates")):
        result = keras("convT", rank, size, kernel=3, dilation=2)
        assert result.output == tuple(n + 4 for n in size)
        assert any("reference CPU kernel (TF_ENABLE_ONEDNN_OPTS=0" in w and phrase in w for w in result.warnings)


def test_accepted_outputs():
    # §9.1: op None 254, op 0 254, op 1 255
    assert keras("convT", 1, (126,), kernel=4, stride=2).accepted_outputs == ((254, 255),)
    # §9.2/§9.3: k=4, s=2, same, i=5: None 10, op 0 8, op 1 9; the TF backend accepts only 9 and 10
    assert keras("convT", 1, (5,), kernel=4, stride=2, padding="same", backend="jax").accepted_outputs == ((8, 9, 10),)
    assert keras("convT", 1, (5,), kernel=4, stride=2, padding="same").accepted_outputs == ((9, 10),)
    # dilation 2 runs on jax and torch (the TF backend refuses it)
    assert keras("convT", 1, (5,), kernel=3, dilation=2, backend="torch").accepted_outputs == ((9,),)


def test_same_pads_extra_after():
    # §9.9/§9.10: SAME i=5, k=4, s=2 pads (1, 2); causal k=4 pads (3, 0)
    assert keras("conv", 1, (5,), kernel=4, stride=2, padding="same").axes[0].pads == (1, 2)
    assert keras("conv", 1, (5,), kernel=4, stride=2, padding="causal").axes[0].pads == (3, 0)


def test_output_size_chooses_output_padding():
    result = keras("convT", 2, (5, 6), kernel=3, stride=2, padding="same", output_size="10x11")
    assert result.output == (10, 11)
    assert "output_padding=(1, 0)" in result.code
    with pytest.raises(ShapeError, match="no output_padding giving an output of 13"):
        keras("convT", 1, (6,), kernel=3, stride=2, padding="same", output_size=13)


def test_code():
    assert keras("convT", 2, (126, 126), kernel=4, stride=2).code == \
        'layers.Conv2DTranspose(filters, 4, strides=2, padding="valid")'
    assert keras("maxpool", 2, (6, 6), kernel=2).code == 'layers.MaxPooling2D(pool_size=2, padding="valid")'
    assert keras("upsample", 2, (6, 6), scale="2x3").code == "layers.UpSampling2D(size=(2, 3))"


def test_symbolic():
    result = keras("conv", 1, ("H",), kernel=3, stride=2)
    assert result.condition is not None and "H" in result.condition
    assert keras("convT", 1, ("H",), kernel=3, stride=2, padding="same").output == ("2*H",)


# ---- pad: layers.ZeroPadding / layers.Cropping ----------------------------------------------------

def test_pad_and_crop():
    assert keras("pad", 2, (5, 4), padding="1:2x3").output == (8, 10)
    assert keras("pad", 2, (5, 4), padding="1:2x3").code == "layers.ZeroPadding2D(((1, 2), (3, 3)))"
    crop = keras("pad", 3, (5, 4, 3), padding="-2x0x-1:0")
    assert crop.output == (1, 4, 2)
    assert crop.code == "layers.Cropping3D(((2, 2), (0, 0), (1, 0)))"
    assert keras("pad", 1, (5,), padding=-1).code == "layers.Cropping1D(1)"


@pytest.mark.parametrize("rank, size, padding, message", [
    (1, (5,), "-2:-3", "`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                       "Received: input_shape=(None, 5, C), cropping=(2, 3)"),
    (2, (5, 4), "-2:-3x0", "Values in `cropping` argument should be smaller than the corresponding spatial dimension "
                           "of the input. Received: input_shape=(None, 5, 4, C), cropping=((2, 3), (0, 0))"),
])
def test_crop_refusals(rank, size, padding, message):
    with pytest.raises(ShapeError) as error:
        keras("pad", rank, size, padding=padding)
    assert str(error.value) == message


def test_pad_keras_has_no_layer_for():
    with pytest.raises(InputError, match=r"layers.Cropping1D\(\(1, 0\)\), then layers.ZeroPadding1D\(\(0, 2\)\)"):
        keras("pad", 1, (5,), padding="-1:2")
    with pytest.raises(InputError, match=r'keras.ops.pad\(x, \[\[0, 0\], \[1, 1\], \[0, 0\]\], mode="reflect"\)'):
        keras("pad", 1, (5,), padding=1, padding_mode="reflect")
