"""The command line: parse -> core -> render, nothing else.

Errors are turned into one line on stderr and an exit code here, in one place:
2 for input tconvcalc cannot use, 1 where the framework refuses or nothing is found.
"""

import errno
import json
import os
import sys

import click

from . import _startup, render
from .errors import InputError, NoSolutionError
from .forward import forward as forward_size
from .layer import (FRAMEWORKS, parse_backend, parse_framework, parse_int, parse_kind, parse_padding, parse_per_axis,
                    parse_size)
from .options import SIZE_COMMAND, layer_options, make_layer, reports


class _Quit(BaseException):
    """Ctrl-C (130) or a closed pipe (141) inside a command, carried past click, which would print a blank line
    and 'Aborted!' for one and exit 1 for the other."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class OneLineErrors(click.Group):
    """click's own usage errors also become one line: 'tconvcalc: <what is wrong>'; Ctrl-C, a closed pipe and
    output that cannot be written end quietly (130, 141) or in one line (2), never in a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Quit(130) from None
        except BrokenPipeError:
            raise _Quit(141) from None

    def main(self, args=None, prog_name=None, **extra):
        _startup.started()
        _survive_narrow_encodings()
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name=prog_name or "tconvcalc", standalone_mode=False, **extra)
            if sys.stdout is not None:
                sys.stdout.flush()  # a full disk shows here, as one line, not at exit as a traceback
        except _Quit as stop:
            if stop.code == 141:
                _detach_output()
            sys.exit(stop.code)
        except (KeyboardInterrupt, click.exceptions.Abort):
            sys.exit(130)
        except click.ClickException as error:
            message = render.message_line(error.format_message())
            hint = f" (see: tconvcalc {error.ctx.info_name} --help)" if getattr(error, "ctx", None) else ""
            if "--json" in (sys.argv[1:] if args is None else args):  # the JSON contract holds for usage errors too
                click.echo(json.dumps({"error": message + hint, "exit_code": error.exit_code, "warnings": []}))
            click.echo(f"tconvcalc: {message}{hint}", err=True)
            sys.exit(error.exit_code)
        except OSError as error:
            if error.errno == errno.EPIPE:  # the reader went away (| head): nothing to say to anyone
                _detach_output()
                sys.exit(141)
            if error.filename is not None:  # not the output: a file we read, not turned into a line: a bug
                _internal(error)
            _detach_output()
            click.echo(f"tconvcalc: cannot write the output: {error.strerror or error}", err=True)
            sys.exit(2)
        except RecursionError:
            click.echo("tconvcalc: the input is nested too deeply to follow", err=True)
            sys.exit(2)
        except Exception as error:  # a bug of ours: still one line, and an exit code of its own
            _internal(error)
        sys.exit(code or 0)


def _internal(error):
    click.echo(render.message_line(f"tconvcalc: internal error ({type(error).__name__}: {error}); please report it"),
               err=True)
    sys.exit(3)


def _survive_narrow_encodings():
    """stdout in ASCII or Latin-1 (PYTHONIOENCODING=ascii, LC_ALL=POSIX): show ≥ and → as escapes, not exit 3."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if stream is not None and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _detach_output():
    """Point stdout at /dev/null, so the interpreter's last flush at exit does not fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tconvcalc", message="%(version)s")
def cli():
    """Exact output sizes of convolution, transposed convolution, pooling and upsampling
    in PyTorch, Keras, TensorFlow, JAX and ONNX -- and the layers that give a size."""


@cli.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@layer_options
@click.option("--explain", is_flag=True, help="Show the derivation and the framework rules that applied.")
@click.option("--emit", is_flag=True, help="Print only the constructor code for the framework.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the output size (126x126 form).")
@click.option("--mirror", is_flag=True,
              help="Also give the layer that restores SIZE from the output (convT for a conv or pool, conv for a convT).")
@reports
def forward(size, as_json, explain, emit, quiet, mirror, **options):
    """The output size of one layer for input SIZE (126, 126x100, 8x126x126, or symbols: H, HxW).

    \b
    tconvcalc forward 126 -l convT -k 4 -s 2 -p 1          # torch: 252
    tconvcalc forward 126 -l convT -f tf -k 4 -s 2 -p same  # tf: which output_shape it accepts
    tconvcalc forward H -l conv -k 3 -s 2                   # symbolic
    """
    sizes = parse_size(size)
    layer = make_layer(len(sizes), **options)
    result = forward_size(layer, sizes)
    restore = None
    if mirror:
        from .solve import mirror as mirror_layer

        restore = mirror_layer(layer, sizes)
    out, err = render.consoles()
    if as_json:
        click.echo(render.to_json(result, mirror=restore) if mirror else render.to_json(result))
    elif emit:
        click.echo(result.code)
    elif quiet:
        click.echo(render.size_text(result.output) if result.output else "")
    else:
        render.print_forward(result, out, explain)
    if restore and not as_json:
        out.print(f"mirror: {restore.code}  ({'; '.join(restore.reasons)})", soft_wrap=True)
    if not as_json:
        render.print_warnings(result.warnings, err)


@cli.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@click.argument("target")
@click.option("-l", "--layer", "kinds", default="convT", show_default=True,
              help="convT, conv, upsample, pixelshuffle, unpool, a comma list, or 'any' (all of them).")
@click.option("-f", "--framework", "frameworks", default="torch", show_default=True,
              help="torch, keras, tf, jax, onnx, a comma list, or 'all'.")
@click.option("--max-kernel", default="16", show_default=True, help="Largest kernel tried.")
@click.option("--max-stride", default="8", show_default=True, help="Largest stride tried.")
@click.option("--max-dilation", default="1", show_default=True, help="Largest dilation tried.")
@click.option("--max-padding", default="8", show_default=True, help="Largest integer padding tried.")
@click.option("-k", "--kernel", help="Fix the kernel (4, or per axis 4x3).")
@click.option("-s", "--stride", help="Fix the stride.")
@click.option("-p", "--padding", help="Fix the padding: an integer, BEFORE:AFTER, or a word (valid, same, ...).")
@click.option("-d", "--dilation", help="Fix the dilation.")
@click.option("--output-padding", help="Fix the output_padding.")
@click.option("--backend", help="Keras backend: tensorflow (default), jax or torch.")
@click.option("--limit", default="10", show_default=True, help="How many solutions to list; 0 lists all.")
@reports
def solve(size, target, kinds, frameworks, as_json, limit, backend, **options):
    """Every layer that maps input SIZE to TARGET, best first, with its code.

    \b
    tconvcalc solve 126 255 -f tf            # seed 001: VALID k4 s2 with output_shape 255
    tconvcalc solve 126 255 -f tf -s 2 -p same   # refused: 255 needs input 128
    tconvcalc solve 126x100 255x199 -l any -f all
    """
    from .solve import SOLVABLE, Bounds, solve as solve_sizes

    sizes, targets = parse_size(size), parse_size(target)
    if any(isinstance(v, str) for v in sizes + targets):
        raise InputError("solve takes numeric sizes; use forward for symbolic ones")
    rank = len(sizes)
    bounds = Bounds(*(parse_int(options.pop(f"max_{name}"), f"--max-{name}", minimum=0 if name == "padding" else 1)
                      for name in ("kernel", "stride", "dilation", "padding")))
    fixed = {name: parse_per_axis(value, rank, name, minimum=0 if name == "output_padding" else 1)
             for name, value in options.items() if value is not None and name != "padding"}
    if options["padding"] is not None:
        padding = parse_padding(options["padding"], rank)
        fixed["padding"] = padding if isinstance(padding, str) else tuple(padding)
    kinds = SOLVABLE if kinds.strip().lower() == "any" else tuple(parse_kind(k) for k in kinds.split(","))
    frameworks = FRAMEWORKS if frameworks.strip().lower() == "all" else tuple(
        parse_framework(f) for f in frameworks.split(","))
    limit = parse_int(limit, "--limit", minimum=0)
    if backend is not None and "keras" not in frameworks:
        raise InputError("--backend applies to -f keras only")
    result = solve_sizes(sizes, targets, kinds, frameworks, bounds, fixed, parse_backend(backend), limit)
    out, err = render.consoles()
    if as_json:
        click.echo(render.to_json(result))
    elif result.solutions:
        render.print_solutions(result, out)
    if not result.solutions:
        if as_json:  # the JSON above carries the explanation and the nearest sizes; stderr gets the line
            click.echo(f"tconvcalc: {result.explanation}", err=True)
            sys.exit(NoSolutionError.exit_code)
        raise NoSolutionError(result.explanation)


@cli.command(context_settings=SIZE_COMMAND)
@click.argument("output")
@layer_options
@reports
def inputs(output, as_json, **options):
    """Every input size from which the layer gives OUTPUT (a strided conv folds s inputs onto one).

    \b
    tconvcalc inputs 32 -l conv -k 3 -s 2 -p 1       # 63, 64
    tconvcalc inputs 255 -l convT -f tf -k 4 -s 2 -p same   # 128 (seed 001)
    """
    from .solve import inputs_for

    sizes = parse_size(output)
    if any(isinstance(v, str) for v in sizes):
        raise InputError("inputs takes a numeric output size")
    result = inputs_for(make_layer(len(sizes), **options), sizes)
    if as_json:
        click.echo(render.to_json(result))
    else:
        render.print_inputs(result, render.consoles()[0])


def _register_optional_commands():
    """Commands whose modules live elsewhere (each imports its heavy dependencies lazily)."""
    import importlib

    for module_name in ("tconvcalc.network_commands", "tconvcalc.design_command", "tconvcalc.numeric.commands"):
        try:
            commands = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not module_name.startswith(str(error.name)):
                raise
            continue
        for command in commands.COMMANDS:
            cli.add_command(command)


_register_optional_commands()


def main():
    cli.main()
