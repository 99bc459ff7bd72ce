"""The one-layer commands: forward (the output size) and inputs (the input sizes that give an output)."""

import click

from .. import render
from ..errors import InputError
from ..forward import forward as forward_size
from ..layer import parse_size
from .options import SIZE_COMMAND, layer_options, make_layer, reports


@click.command(context_settings=SIZE_COMMAND)
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
        from ..solve import mirror as mirror_layer

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



@click.command(context_settings=SIZE_COMMAND)
@click.argument("output")
@layer_options
@reports
def inputs(output, as_json, **options):
    """Every input size from which the layer gives OUTPUT (a strided conv folds s inputs onto one).

    \b
    tconvcalc inputs 32 -l conv -k 3 -s 2 -p 1       # 63, 64
    tconvcalc inputs 255 -l convT -f tf -k 4 -s 2 -p same   # 128 (seed 001)
    """
    from ..solve import inputs_for

    sizes = parse_size(output)
    if any(isinstance(v, str) for v in sizes):
        raise InputError("inputs takes a numeric output size")
    result = inputs_for(make_layer(len(sizes), **options), sizes)
    if as_json:
        click.echo(render.to_json(result))
    else:
        render.print_inputs(result, render.consoles()[0])
