"""design: stacks of N layers from one size to another (the click command over tconvcalc.design)."""

import click

from .. import render
from ..errors import InputError, NoSolutionError
from ..layer import parse_backend, parse_framework, parse_int, parse_kind, parse_size
from .boundary import Written
from .options import FRAMEWORK, KIND, SIZE, Text, backend_option, emit_option, one_output, reports, size_command
from .progress import progress


@size_command(short_help="Stacks of N layers from one size to another.")
@click.argument("size", type=SIZE)
@click.argument("target", type=SIZE, metavar="TARGET")
@click.option("-n", "--depth", type=Text("N"), help="How many layers the stack has (1..12).")
@click.option("--layers", "depth_alias", type=Text("N"), hidden=True)  # the old name of --depth
@click.option("-l", "--layer", "kind", default="convT", show_default=True, type=KIND,
              help="convT (upsampling) or conv.")
@click.option("-f", "--framework", default="torch", show_default=True, type=FRAMEWORK,
              help="torch, keras, tf, jax or onnx.")
@click.option("--max-kernel", default="8", show_default=True, type=Text("K"), help="Largest kernel tried per layer.")
@click.option("--max-stride", default="4", show_default=True, type=Text("S"), help="Largest stride tried per layer.")
@click.option("--max-dilation", default="1", show_default=True, type=Text("D"),
              help="Largest dilation tried per layer.")
@click.option("--max-padding", default="8", show_default=True, type=Text("P"),
              help="Largest integer padding tried per layer.")
@click.option("--tied", is_flag=True, help="The same kernel, stride, dilation and padding in every layer.")
@click.option("-s", "--stride", type=Text("S"), help="Fix every layer's stride.")
@click.option("--no-checkerboard", is_flag=True, help="Only kernels that are a multiple of their stride.")
@backend_option()
@click.option("--limit", default="10", show_default=True, type=Text("N"),
              help="How many stacks to list; 0 lists all (up to 2000).")
@emit_option("the code of the best stack")
@reports
def design(size, target, depth, depth_alias, kind, framework, max_kernel, max_stride, max_dilation, max_padding,
           tied, stride, no_checkerboard, backend, limit, emit, as_json):
    """Stacks of N layers mapping SIZE to TARGET, best first, with the whole Sequential code.

    \b
    tconvcalc design 1 64 -n 5                  # DCGAN: 1 -> 4 -> 8 -> 16 -> 32 -> 64
    tconvcalc design 7 224 -n 5 --tied          # 7 -> 14 -> ... -> 224
    tconvcalc design 256 8 -n 5 -l conv -f keras --emit
    """
    one_output(emit=emit, as_json=as_json)
    from ..design import MAX_LAYERS, design as design_stacks
    from ..solve import Bounds

    if depth is None and depth_alias is None:
        raise click.UsageError("Missing option '-n' / '--depth': how many layers the stack has")
    sizes, targets = parse_size(size), parse_size(target)
    if any(isinstance(v, str) for v in sizes + targets):
        raise InputError("design takes numeric sizes")
    count = parse_int(depth if depth is not None else depth_alias, "--depth")
    if count > MAX_LAYERS:
        raise InputError(f"--depth must be between 1 and {MAX_LAYERS}, got {count}")
    kind = parse_kind(kind)
    bounds = Bounds(*(parse_int(value, f"--max-{name}", minimum=0 if name == "padding" else 1)
                      for name, value in (("kernel", max_kernel), ("stride", max_stride),
                                          ("dilation", max_dilation), ("padding", max_padding))))
    with progress(f"designing {count} layers {render.size_text(sizes)} -> {render.size_text(targets)}"):
        result = design_stacks(sizes, targets, count, parse_framework(framework), kind, bounds, tied=tied,
                               strides=None if stride is None else parse_int(stride, "--stride"),
                               no_checkerboard=no_checkerboard, limit=parse_int(limit, "--limit", minimum=0),
                               backend=_backend(backend, framework))
    if not result.stacks:
        if as_json:  # the result (nearest sizes) and the error keys every failure carries
            click.echo(render.json_dumps({**render.asdict(result), "error": render.message_line(result.explanation),
                                          "exit_code": NoSolutionError.exit_code}))
            raise Written(result.explanation, NoSolutionError.exit_code)
        raise NoSolutionError(result.explanation)
    if as_json:
        click.echo(render.to_json(result))
    elif emit:
        click.echo(result.stacks[0].code)
    else:
        print_design(result, render.consoles()[0])


def _backend(backend, framework):
    if backend is not None and parse_framework(framework) != "keras":
        raise InputError("--backend applies to -f keras only")
    return parse_backend(backend)


def print_design(result, console):
    text = render.size_text
    more = ", more exist (--limit)" if result.more else ""
    rows = [([str(number), " -> ".join(text(size) for size in stack.sizes),
              "; ".join(_layer_text(s) for s in stack.layers), "; ".join(stack.reasons)],
             "yellow" if stack.checkerboard else None) for number, stack in enumerate(result.stacks, 1)]
    # too wide: sizes and layers wrap at their spaces, then why goes (the code below says every layer)
    columns = [render.Column("#", "right"), render.Column("sizes", wrap=16), render.Column("layers", wrap=20),
               render.Column("why", wrap=16)]
    table, _ = render.fit_table(console, columns, rows, drop_order=("why",),
                                title=f"{result.framework} {result.layer} x{result.layers}: {text(result.input)} -> "
                                      f"{text(result.target)}: {result.count} stack"
                                      f"{'s' if result.count != 1 else ''}{more}")
    console.print(table)
    for number, stack in enumerate(result.stacks, 1):
        console.print(f"\n# {number}: {' -> '.join(text(size) for size in stack.sizes)}", soft_wrap=True)
        console.print(stack.code, soft_wrap=True, markup=False)


def _layer_text(s):
    cell = render._cell
    padding = s.padding if isinstance(s.padding, str) else f"p{cell(s.padding)}"
    parts = [f"k{cell(s.kernel)}", f"s{cell(s.stride)}", padding]
    if s.dilation not in (None, 1):
        parts.append(f"d{cell(s.dilation)}")
    if s.output_size is not None:
        parts.append(f"out {cell(s.output_size)}")
    elif s.output_padding:
        parts.append(f"op{cell(s.output_padding)}")
    return " ".join(parts)

