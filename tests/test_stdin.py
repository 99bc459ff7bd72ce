"""SPEC `-`: the spec is read from stdin, its kind sniffed (TOML, JSON, YAML, print(model) text, Python source
or the one-line mini-language)."""
import json

import pytest
from click.testing import CliRunner

from tconvcalc.cli import cli

TOML = """framework = "torch"
[[layers]]
layer = "conv"
kernel = 3
padding = 1
[[layers]]
layer = "maxpool"
kernel = 2
"""
PRINTED = """Sequential(
  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
)
"""


@pytest.mark.parametrize("text", [TOML, PRINTED, "conv k3 p1 | maxpool k2\n",
                                  json.dumps({"layers": [{"layer": "conv", "kernel": 3, "padding": 1},
                                                         {"layer": "maxpool", "kernel": 2}]})])
def test_each_kind_of_spec_is_read_from_stdin(text):
    result = CliRunner().invoke(cli, ["chain", "64x64", "-", "--json"], input=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == [32, 32]


@pytest.mark.parametrize("text, phrase", [("", "not a spec"), ("conv k3 | bogus k2", "unknown layer 'bogus'"),
                                          ("a\nb\n", "not a spec")])
def test_an_unreadable_stdin_is_one_line_exit_2(text, phrase):
    result = CliRunner().invoke(cli, ["chain", "64", "-"], input=text)
    assert result.exit_code == 2 and phrase in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr
