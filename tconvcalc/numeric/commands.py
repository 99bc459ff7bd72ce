"""The numeric commands: verify, matrix, convert. numpy is imported only inside each command."""

import sys

import click

from ..errors import InputError
from ..layer import parse_int, parse_size
from ..options import SIZE_COMMAND, layer_options, make_layer, reports


def _need_numpy(command):
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise InputError(f"{command} needs numpy: pip install 'tconvcalc[numpy]'") from None


def _numeric_size(text, command):
    sizes = parse_size(text)
    if any(isinstance(v, str) for v in sizes):
        raise InputError(f"{command} runs the layer on numbers: give a numeric size")
    return sizes


def _channels(text):
    parts = str(text).split(":")
    if len(parts) != 2:
        raise InputError(f"--channels takes CIN:COUT, like 2:3; got {text!r}")
    return tuple(parse_int(p, "channels") for p in parts)


def _fail(message, as_json):
    click.echo(f"tconvcalc: {message}", err=True)
    sys.exit(1)


@click.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@layer_options
@click.option("--channels", default="2:3", show_default=True, help="Input and output channels, CIN:COUT.")
@click.option("--batch", default="1", show_default=True, help="Batch size.")
@click.option("--seed", default="0", show_default=True, help="Seed of the random data.")
@click.option("--groups", default="1", show_default=True, help="Grouped convolution: groups dividing both channels.")
@reports
def verify(size, as_json, channels, batch, seed, groups, **options):
    """Run the layer on random float64 data: the shape equals forward's, the transposed conv is the
    adjoint of the conv, and (where installed) the framework gives the same values.

    \b
    tconvcalc verify 126 -l convT -k 4 -s 2 -p 1
    tconvcalc verify 9x8 -l convT -f tf -k 3 -s 2 -p same --output-size 18x16 --json
    """
    _need_numpy("verify")
    from . import render
    from .verify import verify as run_verify
    from ..render import consoles, to_json

    sizes = _numeric_size(size, "verify")
    layer = make_layer(len(sizes), **options)
    result = run_verify(layer, sizes, _channels(channels), parse_int(batch, "--batch"),
                        parse_int(seed, "--seed", minimum=0), parse_int(groups, "--groups"))
    if as_json:
        click.echo(to_json(result))
    else:
        render.print_verify(result, consoles()[0])
    if not result.ok:
        _fail("verify failed: " + "; ".join(result.failures), as_json)


@click.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@layer_options
@click.option("--no-matrix", is_flag=True, help="Only the overlap and index maps (no size limit).")
@reports
def matrix(size, as_json, no_matrix, **options):
    """The conv as a matrix C and the transposed conv as Cᵀ (small sizes), the overlap of the transposed
    conv's taps (checkerboard risk) and which inputs feed each output.

    \b
    tconvcalc matrix 4x4 -l conv -k 3          # seed 002: C is 4×16
    tconvcalc matrix 8 -l convT -k 3 -s 2 -p 1 # uneven overlap: checkerboard
    """
    _need_numpy("matrix")
    from . import render
    from .matrix import matrix as run_matrix
    from ..render import consoles, to_json

    sizes = _numeric_size(size, "matrix")
    result = run_matrix(make_layer(len(sizes), **options), sizes, show_matrix=not no_matrix)
    if as_json:
        click.echo(to_json(result))
    else:
        render.print_matrix(result, consoles()[0])


COMMANDS = [verify, matrix]
