"""solve: every layer that maps one size to another, best first."""

import click

from .. import render
from ..errors import InputError, NoSolutionError
from ..layer import FRAMEWORKS, framework_has, parse_api, parse_backend, parse_framework, parse_int, parse_kind, \
    parse_padding, parse_per_axis, parse_size
from .boundary import Written
from .options import (FRAMEWORKS as FRAMEWORK_LIST, KINDS, PADDING, SIZE, Text, api_option, backend_option,
                      emit_option, one_output, reports, size_command)
from .progress import progress


def _not_searched(input_dilation, consistent_padding):
    """jax's --input-dilation and --consistent-padding are forward's: solve does not search them, and says so
    rather than answer for a layer without them."""
    if input_dilation is not None:
        raise InputError("solve does not search with --input-dilation (jax lhs_dilation / base_dilation): tconvcalc "
                         "forward IN -f jax --input-dilation D gives a layer's size, tconvcalc inputs its inputs")
    if consistent_padding:
        raise InputError("solve does not search with --consistent-padding: jax conv_transpose(use_consistent_padding="
                         "True) pads are torch's padding, so solve -f torch lists the same sizes")


def _lacks(option, kind, framework, value):
    try:
        framework_has(option, kind, framework, value)
    except InputError:
        return True
    return False


@size_command(short_help="Every layer that maps one size to another, best first.")
@click.argument("size", type=SIZE)
@click.argument("target", type=SIZE, metavar="TARGET")
@click.option("-l", "--layer", "kinds", default="convT", show_default=True, type=KINDS,
              help="convT, conv, upsample, pixelshuffle, unpool, a comma list, or 'any' (all of them).")
@click.option("-f", "--framework", "frameworks", default="torch", show_default=True, type=FRAMEWORK_LIST,
              help="torch, keras, tf, jax, onnx, a comma list, or 'all'.")
@click.option("--max-kernel", default="16", show_default=True, type=Text("K"), help="Largest kernel tried.")
@click.option("--max-stride", default="8", show_default=True, type=Text("S"), help="Largest stride tried.")
@click.option("--max-dilation", default="1", show_default=True, type=Text("D"), help="Largest dilation tried.")
@click.option("--max-padding", default="8", show_default=True, type=Text("P"), help="Largest integer padding tried.")
@click.option("-k", "--kernel", type=Text("K"), help="Fix the kernel (4, or per axis 4x3).")
@click.option("-s", "--stride", type=Text("S"), help="Fix the stride.")
@click.option("-p", "--padding", type=PADDING,
              help="Fix the padding: an integer, BEFORE:AFTER, or a word (valid, same, ...).")
@click.option("-d", "--dilation", type=Text("D"), help="Fix the dilation.")
@click.option("--output-padding", type=Text("OP"), help="Fix the output_padding.")
@click.option("--input-dilation", hidden=True, help="Not searched: solve says so.")
@click.option("--consistent-padding", is_flag=True, default=None, hidden=True, help="Not searched: solve says so.")
@backend_option()
@api_option()
@click.option("--limit", default="10", show_default=True, type=Text("N"),
              help="How many solutions to list; 0 lists all.")
@emit_option("the code of the best solution")
@reports
def solve(size, target, kinds, frameworks, as_json, emit, limit, backend, api, **options):
    """Every layer that maps input SIZE to TARGET, best first, with its code.

    \b
    tconvcalc solve 126 255 -f tf                 # VALID k4 s2, output_shape 255
    tconvcalc solve 126 255 -f tf -s 2 -p same    # refused: 255 needs input 128
    tconvcalc solve 16000 256 -l conv --max-kernel 1024 --max-stride 64 --emit
    """
    one_output(emit=emit, as_json=as_json)
    from ..solve import SOLVABLE, Bounds, solve as solve_sizes

    _not_searched(options.pop("input_dilation"), options.pop("consistent_padding"))

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
    if options["dilation"] is not None and max(fixed["dilation"]) > 1:  # -d 2 -l avgpool -f torch: exit 2, as forward
        if all(_lacks("dilation", kind, framework, options["dilation"]) for kind in kinds for framework in frameworks):
            framework_has("dilation", kinds[0], frameworks[0], options["dilation"])
    if backend is not None and "keras" not in frameworks:
        raise InputError("--backend applies to -f keras only")
    if api is not None:  # a fixed choice of the keras layer: solve reads it from fixed, as the other options
        if "keras" not in frameworks:
            raise InputError("--api applies to -f keras only")
        fixed["api"] = parse_api(api)
    with progress(f"solving {render.size_text(sizes)} -> {render.size_text(targets)}"):
        result = solve_sizes(sizes, targets, kinds, frameworks, bounds, fixed, parse_backend(backend), limit)
    if not result.solutions:
        if as_json:  # the result (nearest sizes, explanation) and the error keys every failure carries
            click.echo(render.json_dumps({**render.asdict(result), "error": render.message_line(result.explanation),
                                          "exit_code": NoSolutionError.exit_code}))
            raise Written(result.explanation, NoSolutionError.exit_code, result.hint)
        raise NoSolutionError(result.explanation, result.hint)
    if as_json:
        click.echo(render.to_json(result))
    elif emit:
        click.echo(result.solutions[0].code)
    else:
        render.print_solutions(result, render.consoles()[0])
