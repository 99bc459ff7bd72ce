"""Import mode (``chain ... --import``): the only door that runs the user's code, and only when asked.

The user's module is imported by a child process (``recorder.py``, run by this Python, which needs torch)
that records the network and writes it as JSON to a file; here it is validated and built like every other
spec. The child runs in its own process group with a timeout (the whole group is killed when it ends, so
nothing it forked stays), an address-space limit, no GPU visible, its standard input closed and its output
captured: nothing it prints reaches the terminal; a failure is one escaped line.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile

from ..errors import InputError
from ..network import INPUT, LAYER_FIELDS, NODE_FIELDS, make_network

RECORDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorder.py")
MEMORY_LIMIT = 4 << 30  # address space: torch imports in about 0.7 GiB of it; meta tensors take none
MAX_ANSWER = 16 << 20  # bytes of JSON the child may hand back
MAX_TEXT = 300  # characters of any one string from the child (a name, a message)


def child_env():
    """The child's environment: no GPU; one thread (nothing is computed on meta tensors, and each thread's
    stack and malloc arena would count against the address-space limit)."""
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


class ImportModeError(InputError):
    """The user's module could not be imported, built or recorded (exit 2)."""


def network_from_import(target, framework=None, backend=None, paths=(), timeout=120, memory=MEMORY_LIMIT):
    """A Network recorded from ``target`` (a selection.Target) by importing it in a child process."""
    if framework not in (None, "torch"):
        raise InputError(f"--import records a PyTorch model; -f {framework} does not apply")
    if importlib.util.find_spec("torch") is None:
        raise InputError("--import needs torch (pip install torch)")
    for directory in paths:
        if not os.path.isdir(directory):
            raise InputError(f"--path {escape(directory)}: no such directory")
    answer = run_child(target, paths, timeout, memory)
    items, in_channels, origin, warnings = validated(answer, target.path)
    network = make_network(items, "torch", backend, source=target.path, in_channels=in_channels)
    _check(network, answer.get("check"), escape(target.path))
    if warnings:
        origin += "; warning: " + "; ".join(warnings)
    from dataclasses import replace

    return replace(network, origin=origin)


# ---- the child process ---------------------------------------------------------------------------------------

def run_child(target, paths, timeout, memory):
    """The child's JSON answer; every way it can fail (timeout, crash, no answer) as an ImportModeError."""
    shown = escape(target.path)
    with tempfile.TemporaryDirectory(prefix="tconvcalc-import-") as directory:
        files = {key: os.path.join(directory, key) for key in ("request.json", "result.json", "stack", "stderr")}
        request = {"path": os.path.abspath(target.path), "name": target.name, "args": repr(tuple(target.args)),
                   "kwargs": repr(dict(target.kwargs)), "paths": [os.path.abspath(p) for p in paths],
                   "result": files["result.json"], "stack": files["stack"], "timeout": timeout, "memory": memory}
        with open(files["request.json"], "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        with open(files["stderr"], "wb") as stderr:
            status, timed_out = _run([sys.executable, RECORDER, files["request.json"]], child_env(), stderr, timeout)
        if timed_out:
            where = _hang_site(files["stack"], target.path)
            raise ImportModeError(f"{shown}: --import stopped the child process after {timeout:g} s"
                                  f"{' (it was at ' + where + ')' if where else ''}; a module that hangs, or a "
                                  "model slower to build than --timeout")
        text = _read(files["result.json"])
        if text is None:
            raise ImportModeError(f"{shown}: the child process {_status_text(status)} before handing back the "
                                  f"network{_last_line(files['stderr'])}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ImportModeError(f"{shown}: the child process handed back something that is not JSON") from None


def _run(command, env, stderr, timeout):
    """(exit status, timed out): the child in its own session, its whole process group killed at the end."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                               env=env, start_new_session=True, close_fds=True)
    timed_out = False
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:  # also on Ctrl-C: what the user's module forked must not outlive tconvcalc
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    return process.returncode, timed_out


def _status_text(status):
    if status == -signal.SIGXFSZ:
        return "was stopped for writing a file over the limit (64 MiB)"
    if status is not None and status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def _read(path, limit=MAX_ANSWER):
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        raise ImportModeError(f"the child process handed back more than {limit >> 20} MB")
    return data.decode("utf-8", errors="replace")


def _last_line(path):
    """The last line the child wrote to stderr, escaped and cut: ' (last output: ...)', or ''."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in tail.splitlines() if line.strip()]
    return f" (its last output: {escape(lines[-1].strip(), 160)})" if lines else ""


def _hang_site(stack_path, model_path):
    """Where the child was when it was stopped: the innermost frame of the user's files in the stack dump
    faulthandler wrote just before the timeout (most recent call first)."""
    import re

    text = _read(stack_path) or ""
    roots = os.path.dirname(os.path.abspath(model_path))
    for filename, line in re.findall(r'File "([^"]+)", line (\d+)', text):
        if os.path.abspath(filename).startswith(roots + os.sep) and "site-packages" not in filename:
            return escape(f"{os.path.relpath(filename)}:{line}")
    return None


def _check(network, check, shown):
    """tconvcalc's own sizes at the probe sizes against those torch computed there, node by node: a rule the
    recording got wrong stops here instead of answering (also for every other size)."""
    from ..errors import ShapeError
    from ..network import build, sizes_through

    if not isinstance(check, dict) or not isinstance(check.get("sizes"), dict):
        return
    probes, rank, recorded = check.get("probes"), check.get("rank"), check["sizes"]
    if rank not in (1, 2, 3) or not isinstance(probes, list):
        return
    built = build(network, rank)
    for index, probe in enumerate(probes):
        if not isinstance(probe, int) or isinstance(probe, bool):
            return
        try:
            sizes = sizes_through(built, (probe,) * rank)
        except ShapeError as error:
            raise ImportModeError(f"{shown}: torch runs the model at {probe}, but tconvcalc's rules for the "
                                  f"recorded network refuse it: {error}") from None
        for node in network.nodes:
            theirs = recorded.get(node.name)
            if isinstance(theirs, list) and index < len(theirs) and isinstance(theirs[index], list) and \
                    theirs[index] and tuple(sizes[node.name]) != tuple(theirs[index]):
                ours = "x".join(map(str, sizes[node.name]))
                raise ImportModeError(f"{node.where}: {node.name!r} is {'x'.join(map(str, theirs[index]))} in torch "
                                      f"at input {probe}, but {ours} by the recorded layer ({node.op}); tconvcalc "
                                      "cannot read this layer right")


# ---- what the child handed back ---------------------------------------------------------------------------------

def validated(answer, path):
    """(items, in_channels, origin, warnings) from the child's JSON, checked field by field: the child ran the
    user's code, so nothing in its answer is trusted beyond its shape."""
    shown = escape(path)
    if not isinstance(answer, dict):
        raise ImportModeError(f"{shown}: the child process handed back an unexpected answer")
    if "error" in answer:
        if not isinstance(answer["error"], str):
            raise ImportModeError(f"{shown}: the child process handed back an unreadable error")
        raise ImportModeError(escape(answer["error"]))
    items = answer.get("items")
    if not isinstance(items, list) or not items:
        raise ImportModeError(f"{shown}: the recorded network has no layers")
    known = NODE_FIELDS | set(LAYER_FIELDS) | {"where"}
    checked = [_item(item, index, known, shown) for index, item in enumerate(items)]
    in_channels = answer.get("in_channels")
    if not (isinstance(in_channels, int) and not isinstance(in_channels, bool) and in_channels > 0):
        in_channels = None
    origin = answer.get("origin")
    origin = escape(origin, 500) if isinstance(origin, str) else f"imported {shown}"
    warnings = [escape(w) for w in answer.get("warnings", []) if isinstance(w, str)][:10]
    return checked, in_channels, origin, warnings


def _item(item, index, known, shown):
    if not isinstance(item, dict):
        raise ImportModeError(f"{shown}: recorded item {index} is not a table")
    clean = {}
    for key, value in item.items():
        if key not in known:
            raise ImportModeError(f"{shown}: recorded item {index} has an unexpected field {escape(str(key), 40)!r}")
        clean[key] = _value(value, f"{shown}: recorded item {index}, field {key}")
    for key in ("name", "input", "like"):
        if key in clean and not isinstance(clean[key], str):
            raise ImportModeError(f"{shown}: recorded item {index}: {key} must be a name")
    clean.setdefault("input", INPUT)
    return clean


def _value(value, where):
    if isinstance(value, str):
        return escape(value)
    if value is None or isinstance(value, (bool, int, float)):
        if isinstance(value, int) and abs(value) > 1 << 62:
            raise ImportModeError(f"{where}: a number too large")
        return value
    if isinstance(value, list) and len(value) <= 1000 and all(isinstance(v, (str, int, float)) for v in value):
        return [_value(v, where) for v in value]  # names ("with"): one level, never nested
    raise ImportModeError(f"{where}: an unexpected value")


def escape(text, width=MAX_TEXT):
    """User text as one printable line: control characters (escapes, bidi overrides) shown as \\x.. / \\u....,
    cut to ``width`` characters."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
    return text if len(text) <= width else text[:width - 3] + "..."
