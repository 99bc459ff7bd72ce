"""Exit codes (issue 10, item 7): a value no framework can use as an argument -- stride 0, kernel 0, dilation 0,
an unknown padding word, a padding word the layer does not take -- is unusable input, exit 2, for every
layer kind and framework alike; exit 1 stays for configurations the framework refuses."""

import itertools

import pytest
from click.testing import CliRunner

from tconvcalc.cli import cli
from tconvcalc.frameworks import module
from tconvcalc.layer import FRAMEWORKS, KINDS, OPTIONS, PADDING_WORDS

SIZE = "8x8"


def invoke(kind, framework, **options):
    """forward SIZE with the options each kind needs (kernel 3, scale 2, pad 1) overridden by ``options``."""
    needs = {"kernel": "3"} if "kernel" in OPTIONS[kind] else {}
    if kind in ("upsample", "pixelshuffle"):
        needs["scale"] = "2"
    if kind == "pad":
        needs["padding"] = "1"
    args = ["forward", SIZE, "-l", kind, "-f", framework]
    for name, value in {**needs, **options}.items():
        args += [f"--{name.replace('_', '-')}", value]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stderr


def _cases(option, values):
    return [(kind, framework, option, value) for kind, framework, value in
            itertools.product(KINDS, FRAMEWORKS, values) if option in OPTIONS[kind]]


UNUSABLE = (_cases("stride", ("0", "-1", "2x0")) + _cases("kernel", ("0", "-3")) + _cases("dilation", ("0",))
            + _cases("padding", ("bogus", "same-ish")) + _cases("scale", ("0", "-2")))


@pytest.mark.parametrize("kind,framework,option,value", UNUSABLE)
def test_unusable_argument_is_exit_2(kind, framework, option, value):
    code, err = invoke(kind, framework, **{option: value})
    assert code == 2, (code, err)
    assert err.startswith("tconvcalc: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("kind,framework,word", [(kind, framework, word) for kind, framework, _, word
                                                 in _cases("padding", PADDING_WORDS) if kind != "pad"])
def test_a_padding_word_the_layer_lacks_is_exit_2(kind, framework, word):
    """Each padding word is taken (exit 0) or is not an argument this layer can use (exit 2): never exit 1."""
    code, err = invoke(kind, framework, padding=word)
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("tconvcalc: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("kind,framework", [(kind, framework) for kind, framework in itertools.product(KINDS, FRAMEWORKS)
                                            if kind not in module(framework).LAYERS])
def test_a_layer_the_framework_lacks_is_exit_2_in_forward_and_solve(kind, framework):
    forward_code, forward_err = invoke(kind, framework)
    solved = CliRunner().invoke(cli, ["solve", "8", "16", "-l", kind, "-f", framework])
    for code, err in ((forward_code, forward_err), (solved.exit_code, solved.stderr)):
        assert code == 2 and f"{framework} has no {kind}" in err and err.count("\n") == 1, (code, err)
