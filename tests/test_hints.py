"""Refusals and empty searches say what to do (issue 11): the hint line on stderr, "hint" in JSON, and every
layer a hint names checked against the real framework where it is installed."""

import random
import re

import pytest


def hint_of(err):
    lines = [line for line in err.splitlines() if line.startswith("hint: ")]
    assert len(lines) == 1, err
    return lines[0][len("hint: "):]


def test_torch_convt_target_one_output_padding_away(run, run_json):
    code, out, err = run("solve", 12, 24, "-k", 3, "-s", 2, "-p", 1, "--output-padding", 0)
    assert code == 1
    assert err.startswith("tconvcalc: no torch convT maps 12 to 24")
    assert hint_of(err) == "use output_padding=1 or output_size=24"
    code, data, _ = run_json("solve", 12, 24, "-k", 3, "-s", 2, "-p", 1, "--output-padding", 0)
    assert code == 1 and data["hint"] == "use output_padding=1 or output_size=24" and data["nearest"] == [23]


def test_torch_output_size_out_of_reach_names_what_reaches_it(run_json):
    code, data, _ = run_json("forward", 11, "-k", 4, "-s", 2, "-p", 1, "--output-size", 24)
    assert code == 1 and "valid sizes range from [22] to [23]" in data["error"]
    assert data["hint"] == "torch accepts output_size 22, 23 here; for 24 use padding=0; or the input must be 12"


def test_every_refusal_object_has_a_hint_key(run_json):
    code, data, _ = run_json("forward", 4, "-l", "conv", "-k", 5)
    assert code == 1 and "hint" in data and data["hint"] is None


@pytest.mark.parametrize("size, pads, same_split", [(12, 1, (0, 1)), (13, 1, (1, 1))])
def test_torch_strided_same_gives_the_explicit_padding(run, size, pads, same_split):
    code, _, err = run("forward", size, "-l", "conv", "-k", 3, "-s", 2, "-p", "same")
    assert code == 1 and "padding='same' is not supported for strided convolutions" in err
    hint = hint_of(err)
    assert f"use padding={pads}" in hint and "convert conv --from tf --to torch" in hint
    if same_split[0] != same_split[1]:
        assert f"{same_split[0]} before, {same_split[1]} after" in hint


def test_torch_strided_same_hint_against_torch_and_tf(run):
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    import numpy as np

    rng = random.Random(11)
    for _ in range(6):
        n, k, s = rng.randint(5, 40), rng.choice([2, 3, 4, 5, 7]), rng.choice([2, 3])
        code, _, err = run("forward", n, "-l", "conv", "-k", k, "-s", s, "-p", "same")
        assert code == 1
        hint = hint_of(err)
        x = np.random.default_rng(0).standard_normal((1, 1, n))
        w = np.random.default_rng(1).standard_normal((1, 1, k))
        expected = tf.nn.conv1d(x.transpose(0, 2, 1), w.transpose(2, 1, 0), s, "SAME").numpy().transpose(0, 2, 1)
        padding = int(re.search(r"use padding=(\d+)", hint)[1])
        got = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), stride=s, padding=padding)
        assert got.shape[-1] == expected.shape[-1], (n, k, s, hint)
        flat = re.search(r"F\.pad\(x, \((\d+), (\d+)\)\)", hint)
        if flat:  # uneven SAME: the pads named give TF's values exactly
            padded = torch.nn.functional.pad(torch.tensor(x), (int(flat[1]), int(flat[2])))
            got = torch.nn.functional.conv1d(padded, torch.tensor(w), stride=s)
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)


def test_tf_output_shape_refusal_lists_the_accepted_values(run):
    code, _, err = run("forward", 126, "-l", "convT", "-f", "tf", "-k", 4, "-s", 2, "-p", "same",
                       "--output-size", 255)
    assert code == 1
    hint = hint_of(err)
    assert hint.startswith("tf accepts output_shape 251, 252 here")
    assert "the input must be 128" in hint


def test_tf_accepted_output_shapes_against_tf(run):
    tf = pytest.importorskip("tensorflow")
    _, _, err = run("forward", 20, "-l", "convT", "-f", "tf", "-k", 3, "-s", 3, "-p", "same", "--output-size", 70)
    listed = re.search(r"output_shape ([\d., ]+) here", hint_of(err))[1]
    low, _, high = listed.partition("..")
    accepted = list(range(int(low), int(high) + 1)) if high else [int(v) for v in listed.split(", ")]
    x, w = tf.zeros([1, 20, 1]), tf.zeros([3, 1, 1])
    for out in range(50, 70):
        try:
            tf.nn.conv1d_transpose(x, w, [1, out, 1], 3, "SAME")
            works = True
        except (tf.errors.InvalidArgumentError, ValueError, tf.errors.AbortedError):
            works = False
        assert works == (out in accepted), out


def test_output_padding_hints_against_torch(run):
    torch = pytest.importorskip("torch")
    rng = random.Random(3)
    checked = 0
    while checked < 12:
        n, k, s, p = rng.randint(2, 30), rng.randint(1, 7), rng.randint(2, 4), rng.randint(0, 3)
        smallest = (n - 1) * s - 2 * p + k
        if smallest < 1:
            continue
        target = smallest + rng.randint(1, s - 1)
        code, _, err = run("solve", n, target, "-k", k, "-s", s, "-p", p, "--output-padding", 0)
        assert code == 1
        hint = hint_of(err)
        op = int(re.fullmatch(rf"use output_padding=(\d+) or output_size={target}", hint)[1])
        layer = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op)
        assert layer(torch.zeros(1, 1, n)).shape[-1] == target
        assert torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, n),
                                                                      output_size=[target]).shape[-1] == target
        checked += 1


def test_solve_past_max_stride_names_the_stride_needed(run, run_json):
    code, data, err = run_json("solve", 4, 500)
    assert code == 1
    needed = int(re.search(r"a stride of at least (\d+) is needed", data["hint"])[1])
    assert "--max-stride 8" in data["hint"]
    assert data["nearest"], "the largest reachable size is named"
    # the needed stride is the least: the search finds it with that bound, and nothing one below
    assert run("solve", 4, 500, "--max-stride", needed, "--limit", 1)[0] == 0
    code, data, _ = run_json("solve", 4, 500, "--max-stride", needed - 1)
    assert code == 1


def test_solve_nearest_is_filled_far_from_the_target(run_json):
    code, data, _ = run_json("solve", 500, 4, "-l", "conv")
    assert code == 1 and data["nearest"]
    for size in data["nearest"]:
        assert run_json("solve", 500, size, "-l", "conv", "--limit", 1)[0] == 0
