"""The options only some frameworks have, through the CLI: jax's --input-dilation (lax.conv_general_dilated
lhs_dilation, lax.reduce_window base_dilation) and --consistent-padding (lax.conv_transpose
use_consistent_padding=True), and -d on an average pool (onnx AveragePool dilations, jax window_dilation) --
forward, chain (inline and TOML), --emit, solve and inputs; every other framework is exit 2 in one line naming who
has the option. Sizes are the textbook formulas written here; tests/frameworks/test_jax_extras.py and
test_onnx_avgpool_dilation.py check them against jax and onnxruntime."""

import pytest


def conv_size(n, k, s=1, d=1, pads=(0, 0), ld=1):
    """floor(((n-1)*ld + 1 + pads - d*(k-1) - 1) / s) + 1: a window over the lhs-dilated, padded input."""
    return ((n - 1) * ld + 1 + sum(pads) - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("n, k, s, d, p, ld", [(10, 3, 1, 1, 1, 2), (7, 4, 2, 2, 0, 3), (5, 2, 3, 1, 2, 1)])
def test_forward_conv_input_dilation(run_json, n, k, s, d, p, ld):
    code, data, _ = run_json("forward", n, "-l", "conv", "-f", "jax", "-k", k, "-s", s, "-d", d, "-p", p,
                             "--input-dilation", ld)
    assert code == 0 and data["output"] == [conv_size(n, k, s, d, (p, p), ld)]
    assert ("lhs_dilation" in data["code"]) == (ld != 1)


def test_forward_conv_input_dilation_per_axis_and_emit(run):
    code, out, _ = run("forward", "9x6", "-l", "conv", "-f", "jax", "-k", 3, "-p", "1:0x0", "--input-dilation",
                       "2x3", "--emit")
    assert code == 0
    assert out.strip() == ("lax.conv_general_dilated(x, w, window_strides=(1, 1), padding=((1, 0), (0, 0)), "
                           "lhs_dilation=(2, 3), rhs_dilation=(1, 1))")


def test_conv_input_dilation_with_a_padding_word_is_jax_refusal(run):
    code, _, err = run("forward", 10, "-l", "conv", "-f", "jax", "-k", 3, "-p", "same", "--input-dilation", 2)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "String padding is not implemented" in err


@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
def test_forward_pool_base_and_window_dilation(run_json, kind):
    n, k, s, d, ld = 11, 3, 2, 2, 3
    code, data, _ = run_json("forward", n, "-l", kind, "-f", "jax", "-k", k, "-s", s, "-d", d, "-p", "1:2",
                             "--input-dilation", ld)
    assert code == 0 and data["output"] == [conv_size(n, k, s, d, (1, 2), ld)]
    assert "base_dilation=(1, 1, 3)" in data["code"] and "window_dilation=(1, 1, 2)" in data["code"]


def test_pool_same_with_base_dilation_warns(run_json):
    """_reduce_window pads for the undilated input, then pools the dilated one: not ceil(n/s)."""
    n, k, s, ld = 10, 3, 2, 2
    total = max(0, (-(-n // s) - 1) * s + k - n)
    code, data, _ = run_json("forward", n, "-l", "maxpool", "-f", "jax", "-k", k, "-s", s, "-p", "same",
                             "--input-dilation", ld)
    assert code == 0 and data["output"] == [conv_size(n, k, s, 1, (total // 2, total - total // 2), ld)]
    assert any("base_dilation" in w for w in data["warnings"])


@pytest.mark.parametrize("n, k, s, d, p", [(10, 4, 2, 1, 1), (6, 3, 3, 2, 0), (5, 5, 1, 1, 2)])
def test_forward_consistent_padding_is_torchs_size(run_json, n, k, s, d, p):
    args = ("forward", n, "-l", "convT", "-k", k, "-s", s, "-d", d, "-p", p)
    code, data, _ = run_json(*args, "-f", "jax", "--consistent-padding")
    _, torch_data, _ = run_json(*args, "-f", "torch")
    assert code == 0 and data["output"] == torch_data["output"] == [(n - 1) * s + d * (k - 1) + 1 - 2 * p]
    assert "use_consistent_padding=True" in data["code"]
    assert not any("use_consistent_padding=False" in w for w in data["warnings"])


def test_consistent_padding_refuses_other_words(run):
    code, _, err = run("forward", 10, "-l", "convT", "-f", "jax", "-k", 3, "-s", 2, "-p", "same_lower",
                       "--consistent-padding")
    assert code == 2 and "Invalid padding mode: SAME_LOWER" in err


def test_onnx_avgpool_dilations(run_json):
    n, k, s, d = 10, 3, 2, 2
    code, data, _ = run_json("forward", n, "-l", "avgpool", "-f", "onnx", "-k", k, "-s", s, "-d", d, "-p", 1)
    assert code == 0 and data["output"] == [conv_size(n, k, s, d, (1, 1))]
    assert "dilations=[2]" in data["code"]


@pytest.mark.parametrize("args, who", [
    (["-l", "conv", "-f", "torch", "-k", 3, "--input-dilation", 2], "jax"),
    (["-l", "maxpool", "-f", "onnx", "-k", 3, "--input-dilation", 2], "jax"),
    (["-l", "avgpool", "-f", "keras", "-k", 3, "--input-dilation", 1], "jax"),
    (["-l", "convT", "-f", "tf", "-k", 3, "--consistent-padding"], "jax"),
    (["-l", "convT", "-f", "onnx", "-k", 3, "--consistent-padding"], "jax"),
    (["-l", "avgpool", "-f", "torch", "-k", 3, "-d", 2], "onnx"),
    (["-l", "avgpool", "-f", "tf", "-k", 3, "-d", 2], "onnx"),
    (["-l", "avgpool", "-f", "keras", "-k", 3, "-d", "1x2"], "onnx"),
])
def test_an_option_the_framework_lacks_is_exit_2_naming_who_has_it(run, args, who):
    code, out, err = run("forward", "12x12" if "1x2" in args else 12, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert who in err and "has none" in err


def test_avgpool_dilation_1_stays_a_no_op_everywhere(run_json):
    for framework in ("torch", "keras", "tf"):
        code, data, _ = run_json("forward", 12, "-l", "avgpool", "-f", framework, "-k", 3, "-d", 1)
        assert code == 0 and data["output"] == [4]


@pytest.mark.parametrize("args", [
    ["-l", "upsample", "-f", "jax", "--scale", 2, "--input-dilation", 2],
    ["-l", "conv", "-f", "jax", "-k", 3, "--consistent-padding"],
])
def test_options_on_other_kinds_are_exit_2(run, args):
    code, _, err = run("forward", 12, *args)
    assert code == 2 and "does not apply to" in err


def test_chain_inline_and_toml(run_json, tmp_path):
    inline = "conv k3 p1 input_dilation2 | avgpool k2 d2 | maxpool k2 base_dilation2 | convT k4 s2 p1 consistent"
    code, data, _ = run_json("chain", 10, inline, "-f", "jax")
    assert code == 0
    n1 = conv_size(10, 3, 1, 1, (1, 1), 2)
    n2 = conv_size(n1, 2, 2, 2)
    n3 = conv_size(n2, 2, 2, 1, (0, 0), 2)
    n4 = (n3 - 1) * 2 + 4 - 2
    assert data["output"] == [n4]
    spec = tmp_path / "net.toml"
    spec.write_text('framework = "jax"\n\n[[layers]]\nlayer = "conv"\nkernel = 3\npadding = 1\ninput_dilation = 2\n\n'
                    '[[layers]]\nlayer = "avgpool"\nkernel = 2\ndilation = 2\n\n'
                    '[[layers]]\nlayer = "maxpool"\nkernel = 2\ninput_dilation = 2\n\n'
                    '[[layers]]\nlayer = "convT"\nkernel = 4\nstride = 2\npadding = 1\nconsistent_padding = true\n')
    code, from_file, _ = run_json("chain", 10, str(spec))
    assert code == 0 and from_file["output"] == data["output"]


def test_chain_refuses_the_option_elsewhere(run):
    code, _, err = run("chain", 10, "conv k3 input_dilation2", "-f", "torch")
    assert code == 2 and "jax" in err


def test_solve_says_what_it_does_not_search(run):
    for option in (["--input-dilation", 2], ["--consistent-padding"]):
        code, _, err = run("solve", 10, 19, "-l", "conv", "-f", "jax", *option)
        assert code == 2 and "solve does not search" in err
    code, _, err = run("solve", 10, 4, "-l", "avgpool", "-f", "torch", "-d", 2)
    assert code == 2 and "onnx" in err


def test_solve_searches_avgpool_dilation_only_where_it_exists(run_json):
    args = ("solve", 10, 4, "-l", "avgpool", "--max-dilation", 2, "--max-kernel", 4, "--max-stride", 3, "--limit", 0)
    _, torch_data, _ = run_json(*args, "-f", "torch")
    _, onnx_data, _ = run_json(*args, "-f", "onnx")
    assert {s["dilation"] for s in torch_data["solutions"]} == {1}
    assert 2 in {s["dilation"] for s in onnx_data["solutions"]}
    for s in onnx_data["solutions"]:
        if s["dilation"] == 2 and isinstance(s["padding"], int):
            assert conv_size(10, s["kernel"], s["stride"], 2, (s["padding"],) * 2) == 4


def test_inputs_and_mirror(run_json, run):
    code, data, _ = run_json("inputs", 19, "-l", "conv", "-f", "jax", "-k", 3, "-p", 1, "--input-dilation", 2)
    assert code == 0 and data["inputs"] == [[n for n in range(1, 40) if conv_size(n, 3, 1, 1, (1, 1), 2) == 19]]
    code, _, err = run("forward", 10, "-l", "conv", "-f", "jax", "-k", 3, "-p", 1, "--input-dilation", 2, "--mirror")
    assert code == 2 and "--mirror" in err


def test_verify_says_it_does_not_run_input_dilation(run):
    pytest.importorskip("numpy")
    code, _, err = run("verify", 10, "-l", "conv", "-f", "jax", "-k", 3, "-p", 1, "--input-dilation", 2)
    assert code == 2 and "does not run --input-dilation" in err


def test_formulas_show_the_dilations_that_applied(run_json):
    """The formula column carries the avgpool's window dilation and the lhs-dilated input, never a d=1 or
    undilated form that happens to give the same number."""
    _, data, _ = run_json("forward", 3, "-l", "avgpool", "-f", "onnx", "-k", 3, "-d", 2)
    assert "2×(3-1)" in data["axes"][0]["formula"]
    _, data, _ = run_json("forward", 11, "-l", "maxpool", "-f", "jax", "-k", 3, "-s", 2, "-d", 2, "-p", "1:2",
                          "--input-dilation", 3)
    assert "(11-1)×3+1" in data["axes"][0]["formula"]
