"""The network commands: chain (sizes through a stack, skips, valid inputs) and mirror (the decoder)."""

import os

import click

from .. import render
from ..errors import InputError, ShapeError
from ..layer import FRAMEWORKS, parse_framework, parse_int, parse_size
from .options import (FRAMEWORK, FRAMEWORKS as FRAMEWORK_LIST, SIZE, SPEC, Text, backend_option, emit_option,
                      one_output, plain_warnings, quiet_option, reports, size_command)
from .progress import progress

STDIN_NAMES = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")  # SPEC read from the pipe


def read_network(spec, framework, backend, model_args=None, run_import=False, paths=(), timeout=None):
    """SPEC is a file (TOML, JSON, YAML, Python source, a print(model) text, ONNX, Keras), ``FILE.py:Name``,
    ``-`` (stdin: the kind is sniffed) or the inline mini-language. Only ``run_import`` runs the user's code
    (in a child process)."""
    from ..files import load_spec, load_text
    from ..network import parse_inline
    from ..source.selection import Target, parse_args, split_target

    path, name = split_target(spec)
    framework = None if framework is None else parse_framework(framework)
    if path in STDIN_NAMES:
        if run_import:
            raise InputError("--import runs a Python file: give its path, not stdin")
        args, kwargs = parse_args(model_args)
        return load_text(_stdin_text(), "stdin", None, framework, backend, Target("stdin", name, args, kwargs))
    if os.path.exists(path):
        args, kwargs = parse_args(model_args)
        target = Target(path, name, args, kwargs)
        if run_import:
            if not path.endswith(".py"):
                raise InputError(f"{path}: --import reads a Python file (model.py:Name), not a {_suffix(path)} file")
            from ..source.imported import network_from_import

            return network_from_import(target, framework, backend, paths=paths, timeout=timeout)
        return load_spec(path, framework, backend, target=target)
    if run_import or model_args is not None or name:
        raise InputError(f"{path}: no such file")
    if "." in spec and "|" not in spec and " " not in spec.strip():
        raise InputError(f"{spec}: no such file")
    return parse_inline(spec, framework or "torch", backend)


def _stdin_text():
    """Read once per command (mirror -f all reads the network once per framework)."""
    from ..files import read_stdin

    meta = click.get_current_context().meta
    if "tconvcalc.stdin" not in meta:
        meta["tconvcalc.stdin"] = read_stdin(click.get_text_stream("stdin"))
    return meta["tconvcalc.stdin"]


def _suffix(path):
    return os.path.splitext(path)[1] or "suffix-less"


def model_options(command):
    """How a model file is read: which model and its arguments, and whether to run the user's code."""
    options = [
        click.option("--args", "model_args", metavar="ARGS",
                     help="The model's constructor arguments as Python literals, e.g. 'n_channels=3, n_classes=2' "
                          "(read, never evaluated)."),
        click.option("--import", "run_import", is_flag=True,
                     help="Import the model file and record the network in a child process (runs your code; "
                          "needs torch). Without it, no user code ever runs."),
        click.option("--path", "paths", multiple=True, metavar="DIR",
                     help="With --import: a directory to add to the import path (repeatable)."),
        click.option("--timeout", type=click.FloatRange(min=1, max=3600), default=120, show_default=True,
                     metavar="SECONDS", help="With --import: stop the child process after this long."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


MAX_EVALUATIONS = 1_000_000  # --valid-inputs evaluated size by size (where no congruence describes them)
MAX_RANGE = 1 << 22  # sizes --valid-inputs lists (from the congruence, any network)


def _range(text):
    low, _, high = text.partition("..")
    if not high:
        raise InputError(f"--valid-inputs takes a range like 1..1024, got {text!r}")
    low, high = parse_int(low, "--valid-inputs start"), parse_int(high, "--valid-inputs end")
    if high < low or high - low >= MAX_RANGE:
        raise InputError(f"--valid-inputs {text!r}: the range must go up, and span at most {MAX_RANGE:,} sizes")
    return low, high


@size_command(short_help="Sizes through a network: a spec, source, print(model), ONNX, Keras.")
@click.argument("size", type=SIZE)
@click.argument("spec", type=SPEC)
@click.option("-f", "--framework", type=FRAMEWORK,
              help="torch (default), keras, tf, jax or onnx; a spec file may name its own.")
@backend_option()
@click.option("--expect", type=SIZE,
              help="Exit 1 with a one-line diff unless the final output is this size (for CI); 256 on a "
                   "2-D network means 256x256.")
@click.option("--valid-inputs", "valid_range", type=Text("LOW..HIGH"),
              help="List the input sizes in LOW..HIGH for which the network works.")
@model_options
@quiet_option("the final output size")
@emit_option("the network's code (nn.Sequential; a network with skips has none)")
@reports
def chain(size, spec, framework, backend, expect, valid_range, model_args, run_import, paths, timeout, quiet, emit,
          as_json):
    """Sizes through a stack of layers for input SIZE (126, 572x572, or symbols H, HxW).

    \b
    SPEC is a file (a TOML/JSON/YAML spec, Python source, print(model) text, Keras
    to_json or .keras, ONNX), FILE.py:Name to pick one model of a file, - for stdin,
    or inline: "c1: conv k3 p1 | maxpool k2 | convT k2 s2 | concat c1"

    \b
    tconvcalc chain H examples/unet.toml       # each size in H, and which H work
    tconvcalc chain 256 examples/unet.toml --expect 256 -q     # a CI check
    python -c 'print(model)' | tconvcalc chain 64x64 -         # print(model) text
    """
    one_output(quiet=quiet, emit=emit, as_json=as_json)
    from ..network import build, chain as run_chain, valid_in_range

    if run_import:
        with progress(f"importing {spec} in a child process"):
            network = read_network(spec, framework, backend, model_args, run_import, paths, timeout)
    else:
        network = read_network(spec, framework, backend, model_args, run_import, paths, timeout)
    sizes = network.fit(parse_size(size))
    if valid_range:
        low, high = _range(valid_range)
        valid = valid_in_range(network, len(sizes), low, high, MAX_EVALUATIONS)
        if as_json:
            click.echo(render.json_dumps({"valid_inputs": list(valid), "count": len(valid)}))
        else:
            click.echo(" ".join(map(str, valid)) if valid else f"no valid input in {low}..{high}")
        return
    wanted = None if expect is None else parse_size(expect)
    build(network, len(sizes))
    result = run_chain(network, sizes)
    got = tuple(result.output) or (result.steps[-1].channels,)  # a flattened output: its features
    if wanted is not None and result.output and len(wanted) == 1:
        wanted = tuple(wanted) * len(got)  # as SIZE: 256 on a 2-D network is 256x256
    if wanted is not None and tuple(wanted) != got:  # before any output: one JSON object
        got_text = render.size_text(got) + ("" if result.output else " features")
        raise ShapeError(f"expected {render.size_text(wanted)}, got {got_text} "
                         f"(from {render.size_text(result.input)} through {len(result.steps)} layers)")
    if as_json:
        click.echo(render.to_json(result))
    elif quiet:
        click.echo(render.size_text(result.output) if result.output else f"{got[0]} features")
        plain_warnings(result.warnings)
    elif emit:
        if not result.code:
            raise InputError("--emit: this network has no nn.Sequential code (it merges or splits); "
                             "each layer's code is in --json")
        click.echo(result.code)
        plain_warnings(result.warnings)
    else:
        out, err = render.consoles()
        render.print_chain(result, out)
        render.print_warnings(result.warnings, err)


@size_command(short_help="The decoder that restores every size of an encoder.")
@click.argument("size", type=SIZE)
@click.argument("spec", type=SPEC)
@click.option("-f", "--framework", "frameworks", type=FRAMEWORK_LIST,
              help="torch (default), keras, tf, jax, onnx, a comma list or 'all'; a spec file may name its own.")
@backend_option()
@emit_option("the decoder's code, one layer a line")
@reports
def mirror(size, spec, frameworks, backend, emit, as_json):
    """The decoder that restores every size of an encoder exactly: per encoder layer, last first,
    the transposed layer (kernel and stride kept, padding and output_padding solved) and its code.
    SPEC is read as chain reads it.

    \b
    tconvcalc mirror 101 "conv k3 s2 p1 | conv k3 s2 p1"   # 101 -> 51 -> 26 and back
    tconvcalc mirror 64x64 "conv k4 s2 p1 | conv k3 s2" -f all  # every framework
    tconvcalc mirror 101 "conv k3 s2 p1 | conv k3 s2" --emit
    """
    one_output(emit=emit, as_json=as_json)
    from ..errors import TconvError
    from ..network import mirror_decoder

    sizes = parse_size(size)
    if any(isinstance(v, str) for v in sizes):
        raise InputError("mirror takes a numeric size")
    names = FRAMEWORKS if frameworks == "all" else (
        [parse_framework(name) for name in frameworks.split(",")] if frameworks is not None else [None])
    results, failures = [], []
    for name in names:
        network = read_network(spec, name, backend)
        fitted = network.fit(sizes)
        try:
            decoder = mirror_decoder(network, fitted)
        except TconvError as error:
            if len(names) == 1:
                raise
            failures.append(f"{network.framework}: {error}")
            continue
        results.append(render.Decoder(network.framework, fitted, tuple(
            render.DecoderLayer(node.name, solution.code, tuple(small), tuple(big), solution.reasons)
            for node, solution, small, big in decoder)))
    if not results:
        raise ShapeError("; ".join(failures))
    if as_json:
        click.echo(render.json_dumps({"decoders": [render.asdict(r) for r in results], "failures": failures}))
        return
    if emit:
        for result in results:
            click.echo("\n".join(layer.code for layer in result.layers))
        plain_warnings(failures)
        return
    out, err = render.consoles()
    for result in results:
        render.print_decoder(result, out)
    render.print_warnings(failures, err)

