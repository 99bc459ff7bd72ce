"""solve: every layer that maps one size to another, best first."""

import sys

import click

from .. import render
from ..errors import InputError, NoSolutionError
from ..layer import FRAMEWORKS, parse_backend, parse_framework, parse_int, parse_kind, parse_padding, parse_per_axis, \
    parse_size
from .options import SIZE_COMMAND, reports


@click.command(context_settings=SIZE_COMMAND)
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
    from ..solve import SOLVABLE, Bounds, solve as solve_sizes

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
