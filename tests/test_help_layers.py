"""`tconvcalc forward --help` lists every layer of the five frameworks' docs under its own name (issue 10): each
name of tconvcalc/names.py, every rank spelled out, whole on one line; and the help fits 80 columns."""

import pytest
from click.testing import CliRunner

from tconvcalc.cli import cli
from tconvcalc.layer import KINDS, parse_kind
from tconvcalc.names import NAMES, _ranked


def _help(width=80):
    result = CliRunner().invoke(cli, ["forward", "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output


def _spelled(kind, framework, name):
    return _ranked(name, framework, kind).split("/") if "{r}" in name else [name]


EVERY_NAME = [(kind, framework, spelled) for kind, frameworks in NAMES.items()
              for framework, names in frameworks.items() for name in names
              for spelled in _spelled(kind, framework, name)]


def _layers_section():
    lines = _help().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Layers"))
    return lines[start + 1:]


def _blocks():
    """kind -> its lines' text: a block starts at a line whose first word is a kind."""
    blocks, kind = {}, None
    for line in _layers_section():
        words = line.split()
        if words and line[2:3] != " " and words[0] in KINDS:
            kind = words[0]
            line = line.replace(kind, "", 1)
        blocks[kind] = blocks.get(kind, "") + " " + line
    return blocks


@pytest.mark.parametrize("kind,framework,name", EVERY_NAME)
def test_every_framework_name_is_listed_under_its_kind(kind, framework, name):
    """Whole, under its kind and after its framework's label, on the kind's lines."""
    block = _blocks().get(kind, "")
    tokens = [token.strip(",;") for token in block.split(", ") + block.split("; ") + block.split()]
    assert name in block and (name in tokens or f"{framework} {name}" in block
                              or any(t.endswith(name) for t in tokens)), (kind, framework, name, block)
    assert framework in block.split(), (kind, framework, block)


def test_every_kind_has_a_block():
    assert set(_blocks()) - {None} == set(KINDS) & set(NAMES)


@pytest.mark.parametrize("width", [60, 80])  # an 80-column terminal, or narrower
def test_help_lines_fit_80_columns(width):
    too_long = [line for line in _help(width).splitlines() if len(line) > 80]
    assert not too_long, too_long


def test_a_listed_name_is_one_l_takes():
    """What the help lists, -l understands: the plain names (no call syntax) parse to the kind they sit under."""
    for kind, framework, name in EVERY_NAME:
        if "(" in name or " " in name:
            continue
        assert parse_kind(name) == kind or (kind, name) in _SHARED, (kind, framework, name)


# A name two frameworks give to different layers: -l reads it as the first kind that lists it.
_SHARED = {("pad", "pad")}
