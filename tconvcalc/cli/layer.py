"""The one-layer commands: forward (the output size) and inputs (the input sizes that give an output)."""

import click

from .. import render
from ..errors import InputError, NoSolutionError
from ..layer import KINDS, parse_size
from ..names import help_lines
from .options import (SIZE, emit_option, layer_options, make_layer, one_output, plain_warnings, quiet_option,
                      reports, size_command)


# Every layer of the five frameworks' docs under its own name (-l takes each); \b keeps click from rewrapping.
LAYERS_EPILOG = ("\b\nLayers (-l takes a kind or a framework's name; 1d/2d/3d is its rank):\n"
                 + "\n".join(help_lines(KINDS)))


@size_command(short_help="The output size of one layer (or a symbolic one).", epilog=LAYERS_EPILOG)
@click.argument("size", type=SIZE)
@layer_options
@click.option("--explain", is_flag=True, help="Show the derivation and the framework rules that applied.")
@emit_option("the constructor code for the framework")
@quiet_option("the output size (126x126 form)")
@click.option("--mirror", is_flag=True,
              help="Also give the layer that restores SIZE from the output (convT for a conv or pool, "
                   "conv for a convT).")
@reports
def forward(size, as_json, explain, emit, quiet, mirror, **options):
    """The output size of one layer for input SIZE (126, 126x100, 8x126x126, or symbols: H, HxW).

    \b
    tconvcalc forward 126 -l convT -k 4 -s 2 -p 1           # torch: 252
    tconvcalc forward 126 -l convT -f tf -k 4 -s 2 -p same  # tf's output_shapes
    tconvcalc forward H -l conv -k 3 -s 2 -q                # floor(H/2 - 3/2) + 1
    """
    one_output(quiet=quiet, emit=emit, as_json=as_json)
    from ..forward import forward as forward_size

    sizes = parse_size(size)
    layer = make_layer(len(sizes), **options)
    result = forward_size(layer, sizes)
    restore = None
    if mirror:
        from ..solve import mirror as mirror_layer

        restore = mirror_layer(layer, sizes)
    if as_json:
        click.echo(render.to_json(result, mirror=restore) if mirror else render.to_json(result))
        return
    if (quiet or emit) and result.output is None:
        raise InputError(_callers_choice(result, "-q" if quiet else "--emit"))
    if quiet or emit:
        click.echo(render.size_text(result.output) if quiet else result.code)
        if restore:
            click.echo(restore.code if emit else render.size_text(sizes))
        plain_warnings(result.warnings)
        return
    out, err = render.consoles()
    render.print_forward(result, out, explain)
    if restore:
        out.print(f"mirror: {restore.code}  ({'; '.join(restore.reasons)})", soft_wrap=True)
    render.print_warnings(result.warnings, err)


def _callers_choice(result, flag):
    accepted = "; ".join(f"{name} {render._ranges(values)}" for name, values in
                         zip(render.AXIS_NAMES[len(result.input)], result.accepted_outputs))
    return (f"{flag}: the output size is the caller's choice here (accepted: {accepted}); "
            "pass one with --output-size")


@size_command(short_help="Every input size that gives an output size.")
@click.argument("output", type=SIZE)
@layer_options(hidden=("output_size",))
@quiet_option("the input sizes, one line per axis (63 64)")
@reports
def inputs(output, as_json, quiet, **options):
    """Every input size from which the layer gives OUTPUT (a strided conv folds s inputs onto one).

    \b
    tconvcalc inputs 32 -l conv -k 3 -s 2 -p 1               # 63, 64
    tconvcalc inputs 255 -l convT -f tf -k 4 -s 2 -p same    # 128
    tconvcalc inputs 7x7 -l maxpool -k 2 -q                  # 14 15, per axis
    """
    one_output(quiet=quiet, as_json=as_json)
    from ..solve import inputs_for

    sizes = parse_size(output)
    if any(isinstance(v, str) for v in sizes):
        raise InputError("inputs takes a numeric output size")
    result = inputs_for(make_layer(len(sizes), **options), sizes)
    if as_json:
        click.echo(render.to_json(result))
    elif quiet:
        if not any(result.inputs):
            raise NoSolutionError(f"no input gives {render.size_text(sizes)}")
        for values in result.inputs:
            click.echo(" ".join(map(str, values)))
    else:
        render.print_inputs(result, render.consoles()[0])
