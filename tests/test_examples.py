"""Every command in examples/README.md runs and exits 0; the example networks hold their sizes."""

import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [line.strip()[len("$ tconvcalc "):] for line in (ROOT / "examples" / "README.md").read_text().splitlines()
            if line.strip().startswith("$ tconvcalc ")]


def test_there_are_examples():
    assert len(COMMANDS) >= 12


@pytest.mark.parametrize("command", COMMANDS)
def test_example_command(run, command, monkeypatch):
    if "--import" in command:
        pytest.importorskip("torch")  # import mode runs the model in torch
    monkeypatch.chdir(ROOT)
    code, out, err = run(*shlex.split(command))
    assert code == 0, err


def test_unet_572_names_the_first_broken_skip(run, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, _, err = run("chain", "572", "examples/unet.toml")
    assert code == 1
    assert "'up4' (70) and 'enc4' (71)" in err and "nearest valid inputs: 560, 576" in err


def test_unet_valid_inputs_are_multiples_of_16(run_json, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, data, _ = run_json("chain", "H", "examples/unet.toml")
    assert data["condition"] == "H ≡ 0 (mod 16), H ≥ 16"
    _, data, _ = run_json("chain", "H", "examples/unet.toml", "--valid-inputs", "1..100")
    assert data["valid_inputs"] == [16, 32, 48, 64, 80, 96]
