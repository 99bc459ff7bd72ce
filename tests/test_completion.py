"""Shell completion (README: Shell completion): the scripts for bash, zsh and fish, and the values of the
options that take names, through click's completion protocol in a subprocess as the shell runs it."""
import os
import subprocess
import sys

import pytest

from tconvcalc.layer import FRAMEWORKS, KINDS


def complete(words):
    env = {**os.environ, "COMP_WORDS": " ".join(["tconvcalc", *words]), "COMP_CWORD": str(len(words)),
           "_TCONVCALC_COMPLETE": "bash_complete"}
    done = subprocess.run([sys.executable, "-m", "tconvcalc"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_script(shell):
    env = {**os.environ, "_TCONVCALC_COMPLETE": f"{shell}_source"}
    done = subprocess.run([sys.executable, "-m", "tconvcalc"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "_TCONVCALC_COMPLETE" in done.stdout, done.stderr


def test_framework_and_layer_values_complete():
    assert [value for _, value in complete(["forward", "24", "-f", ""])] == list(FRAMEWORKS)
    layers = [value for _, value in complete(["forward", "24", "-l", ""])]
    assert set(KINDS) <= set(layers)
    assert [value for _, value in complete(["forward", "24", "-l", "convT"])] == ["convT"]


def test_commands_complete_and_spec_completes_paths():
    commands = [value for _, value in complete([""])]
    assert {"forward", "solve", "chain", "verify"} <= set(commands)
    assert complete(["chain", "64", "exam"]) == [["file", "exam"]]
