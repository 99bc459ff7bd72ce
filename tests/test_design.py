"""design: every stack is what forward() gives layer by layer; the DP finds exactly the stacks the
product of per-layer choices finds (small N and bounds); the known decoder stacks; the CLI."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tconvcalc import build_layer, forward
from tconvcalc.design import Bounds, design, design_keys, product_keys
from tconvcalc.layer import FRAMEWORKS


def _axes(value):
    if value is None:
        return None
    return "x".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def _padding(value):
    if value is None or isinstance(value, (str, int)):
        return None if value is None else str(value)
    if all(isinstance(v, int) for v in value):
        return "x".join(map(str, value))
    return "x".join(f"{b}:{a}" for b, a in value)


def replay(stack, kind, framework, rank):
    """Rebuild every layer from the reported fields, the way the CLI builds layers, and run forward()."""
    size = stack.sizes[0]
    for solution, expected in zip(stack.layers, stack.sizes[1:]):
        layer = build_layer(kind, framework, rank, kernel=_axes(solution.kernel), stride=_axes(solution.stride),
                            padding=_padding(solution.padding), dilation=_axes(solution.dilation),
                            output_padding=_axes(solution.output_padding) if kind == "convT" else None,
                            output_size=_axes(solution.output_size) if kind == "convT" else None)
        if solution.output_size is None and framework == "keras" and solution.output_padding is not None:
            pass  # keras: an explicit output_padding is part of the layer (None = inferred)
        result = forward(layer, size)
        assert result.output == tuple(expected), (solution, size, result.output, expected)
        assert result.code == solution.code
        size = result.output
    return size


# ---- known cases (issue 4, semantics §9 seeds) -----------------------------------------------------


def _shape(stack):
    return [(s.kernel, s.stride, s.padding) for s in stack.layers]


def test_dcgan_1_to_64_in_five_layers():
    result = design((1,), (64,), 5, bounds=Bounds(kernel=4, stride=2, padding=1), no_checkerboard=True, limit=0)
    dcgan = [(4, 1, 0)] + [(4, 2, 1)] * 4
    found = [stack for stack in result.stacks if _shape(stack) == dcgan]
    assert found and [s[0] for s in found[0].sizes] == [1, 4, 8, 16, 32, 64]
    assert "nn.ConvTranspose1d(C1, C2, kernel_size=4, stride=2, padding=1)" in found[0].code
    for stack in result.stacks:
        assert replay(stack, "convT", "torch", 1) == (64,)


def test_7_to_224_in_five_layers_doubles():
    result = design((7,), (224,), 5, tied=True, limit=0)
    assert [s[0] for s in result.stacks[0].sizes] == [7, 14, 28, 56, 112, 224]
    assert [(4, 2, 1)] * 5 in [_shape(stack) for stack in result.stacks]
    assert all(len(set(_shape(stack))) == 1 for stack in result.stacks)  # tied


def test_3_to_6_and_2_to_4():
    three = design((3,), (6,), 1, limit=0).stacks
    assert any((s.layers[0].kernel, s.layers[0].stride, s.layers[0].padding, s.layers[0].output_padding)
               == (3, 2, 1, 1) for s in three)
    best, second = (stack.layers[0] for stack in design((2,), (4,), 1, strides=2).stacks[:2])
    # the idioms in their order (solve.IDIOMS): k=2s p=s/2 (DCGAN's k4 s2 p1), then k=s (k2 s2)
    assert (best.kernel, best.stride, best.padding, best.output_padding, best.checkerboard) == (4, 2, 1, 0, False)
    assert (second.kernel, second.stride, second.padding, second.output_padding) == (2, 2, 0, 0)


def test_ranking_no_checkerboard_then_no_output_padding():
    stacks = design((5,), (41,), 3, limit=0).stacks
    keys = [(sum(s.checkerboard for s in st.layers), sum(bool(s.output_padding) for s in st.layers))
            for st in stacks]
    assert keys == sorted(keys)
    assert all(not s.checkerboard for s in design((5,), (41,), 3, no_checkerboard=True, limit=0).stacks)


def test_fixed_stride_and_tied():
    stacks = design((3,), (24,), 3, strides=2, limit=0).stacks
    assert stacks and all(s.stride == 2 for st in stacks for s in st.layers)


# ---- soundness: every stack reproduced by forward ----------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind, size_in, size_out", [("convT", (5,), (37,)), ("conv", (100,), (6,)),
                                                     ("convT", (5, 7), (20, 28)), ("conv", (64, 50), (8, 7))])
def test_every_stack_is_reproduced_by_forward(framework, kind, size_in, size_out):
    result = design(size_in, size_out, 3, framework, kind, Bounds(kernel=5, stride=3, dilation=2, padding=2),
                    limit=25)
    assert result.stacks, result.explanation
    for stack in result.stacks:
        assert stack.sizes[0] == size_in and stack.sizes[-1] == size_out
        assert replay(stack, kind, framework, len(size_in)) == size_out


def test_multi_axis_prefers_one_config_for_all_axes():
    stack = design((7, 14), (224, 448), 5).stacks[0]
    assert all(isinstance(s.kernel, int) and isinstance(s.stride, int) for s in stack.layers)
    odd = design((5, 6), (21, 25), 2, limit=5).stacks
    assert odd and all(replay(st, "convT", "torch", 2) == (21, 25) for st in odd)


# ---- completeness: the DP against the product of per-layer choices --------------------------------------

TINY = Bounds(kernel=3, stride=2, dilation=1, padding=1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", ["convT", "conv"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_complete_against_product_enumeration(framework, kind, data):
    layers = data.draw(st.integers(1, 2), "layers")
    n = data.draw(st.integers(1, 9), "in")
    target = data.draw(st.integers(1, 4 * n + 6) if kind == "convT" else st.integers(1, n + 3), "target")
    expected = product_keys(n, target, layers, framework, kind, TINY)
    assert design_keys(n, target, layers, framework, kind, TINY) == expected


@pytest.mark.parametrize("framework, n, target", [("torch", 2, 9), ("tf", 3, 12), ("jax", 4, 7)])
def test_complete_three_layers_and_tied(framework, n, target):
    bounds = Bounds(kernel=2, stride=2, dilation=1, padding=0)
    assert design_keys(n, target, 3, framework, "convT", bounds) == product_keys(n, target, 3, framework,
                                                                                 "convT", bounds)
    assert design_keys(n, target, 3, framework, "convT", bounds, tied=True) == product_keys(
        n, target, 3, framework, "convT", bounds, tied=True)


def test_completeness_is_not_vacuous():
    assert len(product_keys(3, 12, 2, "torch", "convT", TINY)) > 3


# ---- the issue's performance case answers (its time is measured in benchmarks/design.py) -----------


def test_six_layers_with_the_issue_bounds():
    result = design((64,), (4096,), 6, bounds=Bounds(kernel=8, stride=4, dilation=2, padding=8))
    assert result.stacks


# ---- CLI ---------------------------------------------------------------------------------------------


def test_cli_table_and_code(run):
    code, out, err = run("design", 1, 64, "--layers", 5, "--limit", 2)
    assert code == 0 and "1 -> 4 -> 8 -> 16 -> 32 -> 64" in out and "nn.Sequential(" in out


def test_cli_json(run_json):
    code, data, _ = run_json("design", 7, 224, "-n", 5, "--tied", "--limit", 3)
    assert code == 0 and data["count"] == len(data["stacks"]) == 3 and data["more"]
    stack = data["stacks"][0]
    assert [s[0] for s in stack["sizes"]] == [7, 14, 28, 56, 112, 224]
    assert stack["code"].startswith("nn.Sequential(") and len(stack["layers"]) == 5


def test_cli_keras_sequential(run_json):
    code, data, _ = run_json("design", "8x8", "32x32", "-n", 2, "-f", "keras", "--limit", 1)
    assert code == 0 and data["stacks"][0]["code"].startswith("keras.Sequential([")


def test_cli_no_stack_exit_1_with_nearest(run, run_json):
    code, out, err = run("design", 7, 24, "-n", 1, "-s", 2, "--max-padding", 0)
    assert code == 1 and "reachable nearby: 18, 19, 20, 21" in err and len(err.strip().splitlines()) == 1
    code, data, _ = run_json("design", 7, 24, "-n", 1, "-s", 2, "--max-padding", 0)
    assert code == 1 and data["count"] == 0 and data["nearest"] == [18, 19, 20, 21]
    for near in data["nearest"]:  # (7-1)*2 + k + output_padding, k <= 8, output_padding <= 1
        assert design((7,), (near,), 1, strides=2, bounds=Bounds(kernel=8, stride=4, padding=0)).stacks


@pytest.mark.parametrize("args, phrase", [
    (["design", 7, 224, "-n", 1000], "--depth must be between 1 and 12"),
    (["design", 7, 224, "-n", 0], "--depth must be positive"),
    (["design", 7, 224, "-n", "many"], "--depth must be an integer"),
    (["design", 7, 224], "Missing option"),
    (["design", "7x7", 224, "-n", 2], "has 2 axes but the target"),
    (["design", "H", 224, "-n", 2], "numeric sizes"),
    (["design", 7, 224, "-n", 2, "-l", "maxpool"], "design builds stacks of convT or conv"),
    (["design", 7, 224, "-n", 2, "-f", "caffe"], "unknown framework"),
    (["design", 7, 224, "-n", 2, "--max-kernel", 10**6], "bounds too large"),
    (["design", 7, 224, "-n", 2, "--limit", -1], "--limit must be at least 0"),
    (["design", 7, 224, "-n", 2, "-s", 0], "--stride must be positive"),
])
def test_bad_input_one_line_exit_2(run, args, phrase):
    code, out, err = run(*args)
    assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1, (code, err)
