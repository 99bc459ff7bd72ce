"""The JSON keys of every command, exactly as README.md documents them: a change here is a change of
the contract CI scripts depend on."""

import pytest

pytest.importorskip("numpy")  # verify, matrix and convert run the executor

SOLUTION = ["framework", "layer", "kernel", "stride", "padding", "dilation", "output_padding", "output_size",
            "scale", "pads", "output", "checkerboard", "reasons", "code", "api"]
CASES = [
    (["forward", "126", "-k", "4", "-s", "2"], ["framework", "layer", "input", "output", "axes", "accepted_outputs",
                                                "condition", "warnings", "notes", "code"]),
    (["solve", "3", "6", "-k", "3", "-s", "2"], ["input", "target", "solutions", "count", "total", "nearest",
                                                 "explanation", "hint"]),
    (["inputs", "32", "-l", "conv", "-k", "3", "-s", "2", "-p", "1"], ["framework", "layer", "output", "inputs", "code"]),
    (["chain", "64", "a: conv k3 p1 | conv k3 s2 p1 | convT k4 s2 p1 | concat a"],
     ["framework", "input", "output", "steps", "condition", "code", "warnings", "model"]),
    (["chain", "H", "conv k3 s2 p1", "--valid-inputs", "1..10"], ["valid_inputs", "count"]),
    (["mirror", "101", "conv k3 s2 p1"], ["decoders", "failures"]),
    (["verify", "12", "-l", "convT", "-k", "4", "-s", "2", "-p", "1"],
     ["framework", "layer", "input", "output_shape", "predicted", "ok", "adjoint_rel_error", "framework_max_abs_diff",
      "framework_note", "failures", "notes"]),
    (["matrix", "4x4", "-l", "conv", "-k", "3"],
     ["framework", "layer", "input", "output", "kernel_values", "conv_matrix", "transpose_matrix",
      "transpose_max_abs_diff", "overlap", "overlap_min", "overlap_max", "checkerboard", "residues", "fix", "index_map"]),
    (["convert", "convT", "--from", "torch", "--to", "keras", "-k", "4", "-s", "2", "-p", "1", "--size", "8"],
     ["from", "to", "verdict", "code", "extra", "max_abs_diff", "reason"]),
]


@pytest.mark.parametrize("args, keys", CASES, ids=[c[0][0] + "-" + str(i) for i, c in enumerate(CASES)])
def test_top_level_keys(run_json, args, keys):
    code, data, _ = run_json(*args)
    assert code == 0 and list(data) == keys


def test_nested_keys(run_json):
    assert list(run_json("solve", 3, 6, "-k", 3, "-s", 2)[1]["solutions"][0]) == SOLUTION
    assert list(run_json("forward", 126, "-k", 4, "-s", 2, "-p", 1, "--mirror")[1]["mirror"]) == SOLUTION
    assert list(run_json("forward", 126, "-k", 4, "-s", 2)[1]["axes"][0]) == ["input", "output", "pads",
                                                                             "output_padding", "formula", "accepted",
                                                                             "pad_formula"]
    step = run_json("chain", 64, "conv k3 s2 p1")[1]["steps"][0]
    assert list(step) == ["name", "op", "description", "inputs", "input", "output", "channels", "code", "warnings"]
    decoder = run_json("mirror", 101, "conv k3 s2 p1")[1]["decoders"][0]
    assert list(decoder) == ["framework", "input", "layers"]
    assert list(decoder["layers"][0]) == ["restores", "code", "input", "output", "reasons"]


def test_error_object(run_json):
    code, data, _ = run_json("forward", "4", "-l", "conv", "-k", "5")
    assert code == 1 and list(data) == ["error", "exit_code", "warnings", "hint"]
