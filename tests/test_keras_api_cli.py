"""--api layers|ops on the command line: keras.layers (the default) or keras.ops, each answered by its own rules.

What keras.ops itself gives is checked in tests/frameworks/test_keras_ops.py (forward) and test_keras_ops_solve.py
(solve); here: the option reaches every command that takes a layer, and its errors are one line, exit 2.
"""

import pytest

from tconvcalc.cli import cli

LAYER_COMMANDS = ("forward", "inputs", "verify", "matrix")
STRIDED_DILATED = ("-l", "conv", "-f", "keras", "-k", "3", "-s", "2", "-d", "2")


@pytest.mark.parametrize("command", LAYER_COMMANDS + ("solve", "convert"))
def test_every_layer_command_lists_api(run, command):
    code, out, _ = run(command, "--help")
    assert code == 0 and "--api" in out


def test_api_completes_its_words():
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "tconvcalc", "_TCONVCALC_COMPLETE")
    assert [item.value for item in complete.get_completions(["forward", "--api"], "")] == ["layers", "ops"]
    assert [item.value for item in complete.get_completions(["solve", "--api"], "o")] == ["ops"]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_forward_ops_runs_strides_with_dilation(run_json, backend):
    code, data, _ = run_json("forward", "10", *STRIDED_DILATED, "--api", "ops", "--backend", backend)
    assert code == 0, data
    assert data["output"] == [3]  # floor((10 - 5)/2) + 1
    assert data["code"].startswith("keras.ops.conv(x, kernel, strides=2")


@pytest.mark.parametrize("args", [("--api", "layers", "--backend", "jax"), ("--backend", "jax"),
                                  ("--api", "ops", "--backend", "tensorflow")])
def test_layers_and_the_tf_backend_refuse_strides_with_dilation(run, args):
    code, _, err = run("forward", "10", *STRIDED_DILATED, *args)
    assert code == 1
    assert len(err.strip().splitlines()) <= 2  # the refusal, and a hint where there is one


def test_emit_shows_the_kernel_shape(run):
    code, out, _ = run("forward", "10x10", *STRIDED_DILATED, "--api", "ops", "--backend", "jax", "--emit")
    assert code == 0
    assert out.strip() == ('keras.ops.conv(x, kernel, strides=2, padding="valid", dilation_rate=2)  '
                           '# kernel: (3, 3, C_in, C_out)')
    code, out, _ = run("forward", "5", "-l", "convT", "-f", "keras", "-k", "3", "-s", "2", "-p", "same",
                       "--api", "ops", "--backend", "torch", "--emit")
    assert code == 0 and out.strip().endswith("# kernel: (3, C_out, C_in)")


@pytest.mark.parametrize("command", LAYER_COMMANDS)
def test_api_with_another_framework_is_one_line_exit_2(run, command):
    code, _, err = run(command, "10", "-l", "conv", "-f", "torch", "-k", "3", "--api", "ops")
    assert code == 2
    assert err.strip() == "tconvcalc: --api applies to -f keras only"


@pytest.mark.parametrize("command", LAYER_COMMANDS)
def test_an_unknown_api_is_exit_2(run, command):
    code, _, err = run(command, "10", "-l", "conv", "-f", "keras", "-k", "3", "--api", "functional")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "unknown keras api 'functional'" in err


def test_solve_ops_lists_strided_dilated_convs_and_layers_do_not(run_json):
    args = ("solve", "10", "4", "-l", "conv", "-f", "keras", "--backend", "jax", "--max-dilation", "3", "--limit", "0")
    code, ops, _ = run_json(*args, "--api", "ops")
    assert code == 0
    strided_dilated = [s for s in ops["solutions"] if s["stride"] > 1 and s["dilation"] > 1]
    assert strided_dilated and all(s["code"].startswith("keras.ops.conv(") for s in strided_dilated)
    assert {s["api"] for s in ops["solutions"]} == {"ops"}
    for layers in (run_json(*args, "--api", "layers")[1], run_json(*args)[1]):
        assert layers["solutions"] and {s["api"] for s in layers["solutions"]} == {"layers"}
        assert not [s for s in layers["solutions"] if s["stride"] > 1 and s["dilation"] > 1]
        assert layers["total"] < ops["total"]


def test_solve_ops_on_tf_has_no_strided_dilated_conv(run_json):
    code, data, _ = run_json("solve", "10", "4", "-l", "conv", "-f", "keras", "--api", "ops", "--max-dilation", "3",
                             "--limit", "0")
    assert code == 0
    assert not [s for s in data["solutions"] if s["stride"] > 1 and s["dilation"] > 1]


def test_solve_other_frameworks_have_no_api_key_value(run_json):
    code, data, _ = run_json("solve", "10", "4", "-l", "conv", "-f", "torch")
    assert code == 0 and {s["api"] for s in data["solutions"]} == {None}


@pytest.mark.parametrize("args", [("-f", "torch", "--api", "ops"), ("-f", "keras", "--api", "graph")])
def test_solve_api_errors_are_one_line_exit_2(run, args):
    code, _, err = run("solve", "10", "4", "-l", "conv", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_solve_ops_has_no_upsample(run):
    code, _, err = run("solve", "4", "8", "-l", "upsample", "-f", "keras", "--api", "ops")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "keras.ops" in err


def test_inputs_follow_the_api(run_json):
    code, data, _ = run_json("inputs", "3", *STRIDED_DILATED, "--api", "ops", "--backend", "torch")
    assert code == 0 and data["inputs"] == [[9, 10]]
    code, _, _ = run_json("inputs", "3", *STRIDED_DILATED, "--backend", "torch")
    assert code == 1


def test_convert_takes_the_source_api(run):
    code, _, err = run("convert", "10", "-l", "conv", "-f", "torch", "--to", "keras", "-k", "3", "--api", "ops")
    assert code == 2 and err.strip() == "tconvcalc: --api applies to -f keras only"


SPEC = """framework = "keras"
backend = "{backend}"
[[layers]]
layer = "conv"
kernel = 3
stride = 2
dilation = 2
{api}
[[layers]]
layer = "conv"
kernel = 3
padding = "same"
"""


def test_chain_takes_a_per_layer_api_field(run_json, tmp_path):
    spec = tmp_path / "ops.toml"
    spec.write_text(SPEC.format(backend="jax", api='api = "ops"'))
    code, data, _ = run_json("chain", "32x32", spec)
    assert code == 0 and data["output"] == [14, 14]
    assert data["steps"][0]["code"].startswith("keras.ops.conv(x, kernel, strides=2")
    assert data["code"].splitlines()[1] == 'x = layers.Conv2D(filters, 3, padding="same")(x)'
    spec.write_text(SPEC.format(backend="jax", api=""))  # the layers api: Conv2D refuses strides with dilation
    assert run_json("chain", "32x32", spec)[0] == 1
    spec.write_text(SPEC.format(backend="jax", api='api = "ops"').replace('framework = "keras"', 'framework = "torch"')
                    .replace('backend = "jax"\n', ""))
    code, _, err = run_json("chain", "32x32", spec)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "keras only" in err
