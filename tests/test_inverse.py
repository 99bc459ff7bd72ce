"""Conv inverse (the inputs a layer maps to an output) and --mirror (the transposed layer that
restores the input), each checked against forward over ranges of sizes."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tconvcalc import NoSolutionError, build_layer, forward
from tconvcalc.errors import ShapeError
from tconvcalc.solve import inputs_for, mirror


def outputs_by_brute_force(layer, out, up_to):
    found = []
    for n in range(1, up_to):
        try:
            if forward(layer, (n,)).output == (out,):
                found.append(n)
        except ShapeError:
            pass
    return tuple(found)


@settings(max_examples=60, deadline=None)
@given(framework=st.sampled_from(["torch", "tf", "jax", "onnx"]), k=st.integers(1, 6), s=st.integers(1, 4),
       padding=st.sampled_from(["0", "1", "2", "same", "valid"]), out=st.integers(1, 40))
def test_conv_inputs_equal_brute_force(framework, k, s, padding, out):
    try:
        layer = build_layer("conv", framework, 1, kernel=k, stride=s, padding=padding)
        forward(layer, (64,))
    except Exception:  # a configuration this framework does not take at all
        return
    expected = outputs_by_brute_force(layer, out, out * s + k + 8)
    if expected:
        assert inputs_for(layer, (out,)).inputs == (expected,)
    else:
        with pytest.raises(NoSolutionError):
            inputs_for(layer, (out,))


def test_seed_004_stride_folds_s_inputs():
    layer = build_layer("conv", "torch", 2, kernel=3, stride=2, padding=1)
    assert inputs_for(layer, (32, 16)).inputs == ((63, 64), (31, 32))


def test_tf_transpose_same_needs_input_128_for_255():
    layer = build_layer("convT", "tf", 1, kernel=4, stride=2, padding="same")
    assert inputs_for(layer, (255,)).inputs == ((128,),)


@settings(max_examples=60, deadline=None)
@given(framework=st.sampled_from(["torch", "keras", "onnx", "tf"]), n=st.integers(2, 300), k=st.integers(1, 7),
       s=st.integers(1, 4), padding=st.sampled_from(["0", "1", "same", "valid"]))
@example(framework="tf", n=2, k=3, s=1, padding="valid")  # tf's empty output: the partner solves from 0
def test_mirror_restores_the_input(framework, n, k, s, padding):
    try:
        layer = build_layer("conv", framework, 1, kernel=k, stride=s, padding=padding)
        forward(layer, (n,))
    except Exception:
        return
    try:
        restore = mirror(layer, (n,))
    except NoSolutionError:
        return  # e.g. keras output_padding must stay below the stride: reported, not faked
    assert restore.output == (n,)
    assert (restore.kernel, restore.stride) == (k, s)


def test_mirror_odd_sizes(run):
    code, out, _ = run("forward", 101, "-l", "conv", "-k", 3, "-s", 2, "-p", 1, "--mirror")
    assert code == 0
    assert "mirror: nn.ConvTranspose1d(C_in, C_out, kernel_size=3, stride=2, padding=1)" in out


def test_inputs_cli(run, run_json):
    code, data, _ = run_json("inputs", 32, "-l", "conv", "-k", 3, "-s", 2, "-p", 1)
    assert code == 0 and data["inputs"] == [[63, 64]]
    code, out, err = run("inputs", 1, "-l", "convT", "-k", 4, "-s", 2)
    assert code == 1 and "no input size gives 1" in err


@settings(max_examples=40, deadline=None)
@given(framework=st.sampled_from(["torch", "onnx", "jax"]), n=st.integers(1, 200), k=st.integers(1, 6),
       s=st.integers(1, 4), p=st.integers(0, 2))
def test_mirror_of_a_transposed_layer_is_a_conv_that_restores_the_input(framework, n, k, s, p):
    try:
        layer = build_layer("convT", framework, 1, kernel=k, stride=s, padding=p)
        forward(layer, (n,))
        restore = mirror(layer, (n,))
    except (ShapeError, NoSolutionError):
        return
    assert restore.layer == "conv" and restore.output == (n,) and (restore.kernel, restore.stride) == (k, s)
