"""The README's console examples are the tool's real output: each `$ tconvcalc ...` in a ```console block is
run and its output compared line by line with the lines under it. A line `...` stands for any number of
lines, a line ending in `...` for any line that starts with the rest; `$ echo $?` shows the exit code."""

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from tconvcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
WIDTH = "120"  # the README's tables are drawn at 120 columns


def examples(text):
    """(command, expected lines, expected exit code or None) for each command of each console block."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            lines = chunk.rstrip("\n").split("\n")
            if not lines[0].startswith("$ "):
                continue
            if lines[0] == "$ echo $?":
                command, expected, _ = found[-1]
                found[-1] = (command, expected, int(lines[1]))
            else:
                found.append((lines[0][2:], lines[1:], None))
    return found


def matches(expected, actual):
    """Whether the ACTUAL lines fit the EXPECTED lines with their `...` wildcards."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[start:]) for start in range(len(actual) + 1))
    if not actual:
        return False
    fits = actual[0].startswith(head[:-3].rstrip()) if head.endswith("...") else actual[0] == head
    return fits and matches(rest, actual[1:])


EXAMPLES = examples((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("command, expected, code", EXAMPLES, ids=[command for command, _, _ in EXAMPLES])
def test_readme_example_is_the_real_output(command, expected, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)
    assert args[0] == "tconvcalc"
    result = CliRunner(env={"COLUMNS": WIDTH}).invoke(cli, args[1:])
    actual = [line.rstrip() for line in result.output.rstrip("\n").split("\n")]
    assert matches([line.rstrip() for line in expected], actual), "\n".join(actual)
    assert result.exit_code == (code if code is not None else (1 if actual[-1:] and
                                                                actual[-1].startswith("tconvcalc: ") else 0))


def test_the_matcher_can_fail():
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"]) and matches(["ab..."], ["abc"])
    assert not matches(["a", "z"], ["a", "b", "z"]) and not matches(["a..."], ["b"]) and not matches([], ["a"])
