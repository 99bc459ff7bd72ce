"""Exit codes over layer kinds x frameworks x bad values (issue 10, item 7), through the CLI: a value that is not a
usable argument (stride/kernel/dilation 0, a negative kernel, an unknown padding word, a padding word the layer
does not take, groups 0, a scale of 0) is exit 2 in every command that takes it; stderr is one line naming the
value or its option (a second line may be a "hint:"), never a traceback; a configuration the framework refuses is
exit 1. tests/test_exit_codes.py holds the first sweep; this one adds the rank, solve and chain, and the words."""

import itertools

import pytest

from tconvcalc.frameworks import module
from tconvcalc.layer import FLAG, FRAMEWORKS, KINDS, OPTIONS, PADDING_WORDS

BAD = {"kernel": ("0", "-3", "3x0"), "stride": ("0", "-1", "2x0"), "dilation": ("0", "-2"),
       "padding": ("bogus", "VALIDD", "sme"), "groups": ("0", "-1"), "output_padding": ("-1",),
       "scale": ("0", "-2")}
SIZES = ("8", "8x8")


def _needs(kind):
    """The options a kind cannot run without (kernel 3, scale 2, pad 1, output size 1)."""
    needs = {"kernel": "3"} if "kernel" in OPTIONS[kind] else {}
    if kind in ("upsample", "pixelshuffle", "pixelunshuffle"):
        needs["scale"] = "2"
    if kind == "pad":
        needs["padding"] = "1"
    if kind.startswith("adaptive"):
        needs["output_size"] = "1"
    return needs


def _args(options):
    return [part for name, value in options.items() for part in (f"--{name.replace('_', '-')}", value)]


def _one_line(err):
    lines = err.splitlines()
    return "Traceback" not in err and err.startswith("tconvcalc: ") and (
        len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint:")))


def _names(err, option, value):
    """The value as typed (or its bad axis), or the option's flag or name."""
    shown = value.split("x")[-1] if "x" in value.strip("x") else value
    words = (shown, shown.lower(), FLAG[option], option.replace("_", " "), option.replace("_", "-"),
             option.replace("_", ""))
    return any(word in err for word in words)


FORWARD = [(kind, framework, size, option, value)
           for kind, framework, size in itertools.product(KINDS, FRAMEWORKS, SIZES)
           for option, values in BAD.items() if option in OPTIONS[kind] for value in values]


@pytest.mark.parametrize("kind,framework,size,option,value", FORWARD)
def test_forward_unusable_value_is_exit_2(run, kind, framework, size, option, value):
    code, _, err = run("forward", size, "-l", kind, "-f", framework, *_args({**_needs(kind), option: value}))
    assert code == 2, (code, err)
    assert _one_line(err), err
    assert _names(err, option, value), err


# solve and chain take the same values: solve fixes the option, chain writes it inline (k0, s0, p=bogus).
_INLINE = {"kernel": "k", "stride": "s", "dilation": "d", "padding": "p="}
SOLVE = [(kind, framework, option, value) for kind, framework in itertools.product(KINDS, FRAMEWORKS)
         if kind in module(framework).LAYERS for option in _INLINE if option in OPTIONS[kind]
         for value in BAD[option][:2]]


@pytest.mark.parametrize("kind,framework,option,value", SOLVE)
def test_solve_unusable_value_is_exit_2(run, kind, framework, option, value):
    code, _, err = run("solve", "8", "4", "-l", kind, "-f", framework, f"--{option}", value)
    assert code == 2 and _one_line(err) and _names(err, option, value), (code, err)


@pytest.mark.parametrize("kind,framework,option,value", SOLVE)
def test_chain_unusable_value_is_exit_2(run, kind, framework, option, value):
    code, _, err = run("chain", "8x8", "-f", framework, f"{kind} {_INLINE[option]}{value}")
    assert code == 2 and _one_line(err), (code, err)


WORDS = [(kind, framework, word) for kind, framework in itertools.product(KINDS, FRAMEWORKS)
         if "padding" in OPTIONS[kind] and kind != "pad" and kind in module(framework).LAYERS
         for word in PADDING_WORDS]


@pytest.mark.parametrize("kind,framework,word", WORDS)
def test_a_padding_word_is_taken_or_exit_2_naming_it(run, kind, framework, word):
    """A known word the layer does not take is unusable, not a refusal: exit 2 naming the word, never exit 1."""
    code, _, err = run("forward", "8x8", "-l", kind, "-f", framework, *_args({**_needs(kind), "padding": word}))
    assert code in (0, 2), (code, err)
    if code == 2:
        assert _one_line(err), err
        assert word in err.lower() or "pad" in err.lower() or " has no " in err, err


# A usable value the framework refuses for this configuration: exit 1 in the framework's words.
REFUSED = [("conv", "torch", "4", {"kernel": "5"}), ("conv", "onnx", "4", {"kernel": "5"}),
           ("conv", "keras", "4", {"kernel": "5"}), ("maxpool", "torch", "4", {"kernel": "5"}),
           ("maxpool", "tf", "3", {"kernel": "5", "stride": "1"}), ("avgpool", "keras", "4", {"kernel": "5"}),
           ("convT", "torch", "8", {"kernel": "3", "stride": "2", "output_padding": "2"}),
           ("pad", "torch", "3", {"padding": "3", "padding_mode": "reflect"}),
           ("pixelunshuffle", "torch", "9x9", {"scale": "2"})]


@pytest.mark.parametrize("kind,framework,size,options", REFUSED)
def test_a_refused_configuration_is_exit_1(run, kind, framework, size, options):
    code, _, err = run("forward", size, "-l", kind, "-f", framework, *_args(options))
    assert code == 1 and _one_line(err), (code, err)
