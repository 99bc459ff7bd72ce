"""The command-line contract: exit codes, stdout vs stderr, JSON."""

import subprocess
import sys

import pytest


def test_forward_human_output_shows_formula(run):
    code, out, err = run("forward", 126, "-l", "convT", "-k", 4, "-s", 2)
    assert code == 0 and err == ""
    assert "(126-1)×2-0-0+1×(4-1)+0+1 = 254" in out


def test_forward_json_contract(run_json):
    code, data, _ = run_json("forward", "126", "-k", "4", "-s", "2")
    assert code == 0
    assert data["output"] == [254]
    assert data["accepted_outputs"] == [[254, 255]]
    assert data["code"] == "nn.ConvTranspose1d(C_in, C_out, kernel_size=4, stride=2)"


def test_seed_000_output_padding(run_json):
    _, data, _ = run_json("forward", "3x3", "-k", 3, "-s", 2, "-p", 1, "--output-padding", 1)
    assert data["output"] == [6, 6]
    assert data["axes"][0]["formula"] == "(3-1)×2-1-1+1×(3-1)+1+1 = 6"


def test_refusal_is_exit_1_one_line_and_json_error(run):
    code, out, err = run("forward", 4, "-l", "conv", "-k", 5, "--json")
    assert code == 1
    assert "Kernel size can't be greater than actual input size" in err
    assert len(err.strip().splitlines()) == 1
    assert '"error"' in out


@pytest.mark.parametrize("args, phrase", [
    (["forward", "0", "-k", "3"], "size must be positive, got 0"),
    (["forward", "-5", "-k", "3"], "size must be positive, got -5"),
    (["forward", "abc!", "-k", "3"], "must be an integer"),
    (["forward", "8", "-l", "spline", "-k", "3"], "unknown layer 'spline'"),
    (["forward", "8", "-f", "caffe", "-k", "3"], "unknown framework 'caffe'"),
    (["forward", "8", "-k", "3x3"], "has 2 axes but the size has 1"),
    (["forward", "8", "-l", "conv", "-k", "3", "--output-padding", "1"], "does not apply to conv"),
    (["forward", "8", "-k", "99999999999999999999"], "too large"),
    (["forward", "8", "-k"], "requires an argument"),
    (["forward"], "Missing argument"),
    (["frobnicate"], "No such command"),
])
def test_unusable_input_is_exit_2_one_line(run, args, phrase):
    code, out, err = run(*args)
    assert code == 2
    assert phrase in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_quiet_and_emit(run):
    assert run("forward", "126x100", "-k", 4, "-s", 2, "-q")[1].strip() == "254x202"
    assert run("forward", 126, "-k", 4, "-s", 2, "-p", 1, "--emit")[1].strip() == \
        "nn.ConvTranspose1d(C_in, C_out, kernel_size=4, stride=2, padding=1)"


def test_symbolic_size(run_json):
    code, data, _ = run_json("forward", "H", "-k", 4, "-s", 2, "-p", 1)
    assert code == 0 and data["output"] == ["2*H"]
    code, data, _ = run_json("forward", "H", "-l", "conv", "-k", 3, "-s", 2)
    assert data["output"] == ["ceil(H/2) - 1"]  # floor(H/2 - 3/2) + 1, simplified for display
    assert data["condition"] == "3 <= H"


def test_plain_numeric_call_imports_neither_sympy_nor_numpy():
    probe = ("import sys\nfrom tconvcalc.cli import cli\n"
             "try:\n    cli.main(['forward', '126', '-l', 'convT', '-k', '4', '-s', '2'])\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in ('sympy', 'numpy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "tconvcalc", "forward", "126", "-k", "4", "-s", "2", "-q"],
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "254")


def test_readme_documents_every_command_and_its_first_lines_install_and_test():
    from pathlib import Path

    from tconvcalc.cli import cli

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [name for name in cli.list_commands(None) if f"### `tconvcalc {name}" not in readme]
    assert not missing, f"README has no section for: {missing}"
    first = readme.splitlines()[:8]
    assert any(line.strip().startswith("pip install . && tconvcalc ") for line in first)
    test_command = "pip install -e '.[test]' && python -m pytest"
    assert test_command in [line.strip() for line in first]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()
