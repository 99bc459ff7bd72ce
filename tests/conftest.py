import json
import os

# The default install is the truth (README): TensorFlow's own default kernels (oneDNN on x86) unless the
# environment says otherwise; tests/frameworks/test_tf.py runs the other kernel mode in a subprocess.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
from click.testing import CliRunner

from tconvcalc.cli import cli

# Network sources the reader parses (never imports): data, not test modules.
collect_ignore_glob = ["data/*"]


@pytest.fixture
def run():
    """Run the CLI in-process: returns (exit_code, stdout, stderr)."""
    def invoke(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
            result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


@pytest.fixture
def run_json(run):
    def invoke(*args):
        code, out, err = run(*args, "--json")
        return code, json.loads(out), err

    return invoke
