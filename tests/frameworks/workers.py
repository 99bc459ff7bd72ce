"""The end of a framework worker run in a subprocess (one backend per process, as KERAS_BACKEND must be set
before keras is imported)."""

import pytest


def finished_output(proc, stdout, stderr, label):
    """The worker's stdout lines once it ends: a skip where the backend is not installed, a failure showing
    its stderr where it crashed."""
    code = proc.wait()
    stdout.seek(0)
    stderr.seek(0)
    out, err = stdout.read(), stderr.read()
    if code != 0:
        if "No module named" in err:
            pytest.skip(f"keras {label} backend unavailable: {err.strip().splitlines()[-1]}")
        pytest.fail(f"keras {label} worker failed:\n{err[-3000:]}")
    return out.strip().splitlines()
