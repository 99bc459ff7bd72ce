"""design: stacks of N layers from one size to another (the click command over tconvcalc.design)."""

import sys

import click

from .. import render
from ..errors import InputError, NoSolutionError
from ..layer import parse_backend, parse_framework, parse_int, parse_kind, parse_size
from .options import SIZE_COMMAND, reports


@click.command(context_settings=SIZE_COMMAND)
@click.argument("size")
@click.argument("target")
@click.option("-n", "--layers", "layers", required=True, help="How many layers the stack has (1..12).")
@click.option("-l", "--layer", "kind", default="convT", show_default=True, help="convT (upsampling) or conv.")
@click.option("-f", "--framework", default="torch", show_default=True, help="torch, keras, tf, jax or onnx.")
@click.option("--max-kernel", default="8", show_default=True, help="Largest kernel tried per layer.")
@click.option("--max-stride", default="4", show_default=True, help="Largest stride tried per layer.")
@click.option("--max-dilation", default="1", show_default=True, help="Largest dilation tried per layer.")
@click.option("--max-padding", default="8", show_default=True, help="Largest integer padding tried per layer.")
@click.option("--tied", is_flag=True, help="The same kernel, stride, dilation and padding in every layer.")
@click.option("-s", "--stride", help="Fix every layer's stride.")
@click.option("--no-checkerboard", is_flag=True, help="Only kernels that are a multiple of their stride.")
@click.option("--backend", help="Keras backend: tensorflow (default), jax or torch.")
@click.option("--limit", default="10", show_default=True, help="How many stacks to list; 0 lists all (up to 2000).")
@reports
def design(size, target, layers, kind, framework, max_kernel, max_stride, max_dilation, max_padding, tied,
           stride, no_checkerboard, backend, limit, as_json):
    """Stacks of N layers mapping SIZE to TARGET, best first, with the whole Sequential code.

    \b
    tconvcalc design 1 64 --layers 5             # DCGAN: 1 -> 4 -> 8 -> 16 -> 32 -> 64
    tconvcalc design 7 224 --layers 5 --tied     # 7 -> 14 -> ... -> 224
    tconvcalc design 256 8 --layers 5 -l conv -f keras
    """
    from ..design import MAX_LAYERS, design as design_stacks
    from ..solve import Bounds

    sizes, targets = parse_size(size), parse_size(target)
    if any(isinstance(v, str) for v in sizes + targets):
        raise InputError("design takes numeric sizes")
    count = parse_int(layers, "--layers")
    if count > MAX_LAYERS:
        raise InputError(f"--layers must be between 1 and {MAX_LAYERS}, got {count}")
    kind = parse_kind(kind)
    bounds = Bounds(*(parse_int(value, f"--max-{name}", minimum=0 if name == "padding" else 1)
                      for name, value in (("kernel", max_kernel), ("stride", max_stride),
                                          ("dilation", max_dilation), ("padding", max_padding))))
    result = design_stacks(sizes, targets, count, parse_framework(framework), kind, bounds, tied=tied,
                           strides=None if stride is None else parse_int(stride, "--stride"),
                           no_checkerboard=no_checkerboard, limit=parse_int(limit, "--limit", minimum=0),
                           backend=_backend(backend, framework))
    if as_json:
        click.echo(render.to_json(result))
        if not result.stacks:
            click.echo(f"tconvcalc: {result.explanation}", err=True)
            sys.exit(NoSolutionError.exit_code)
        return
    if not result.stacks:
        raise NoSolutionError(result.explanation)
    print_design(result, render.consoles()[0])


def _backend(backend, framework):
    if backend is not None and parse_framework(framework) != "keras":
        raise InputError("--backend applies to -f keras only")
    return parse_backend(backend)


def print_design(result, console):
    from rich.table import Table

    text = render.size_text
    more = ", more exist (--limit)" if result.more else ""
    table = Table(title=f"{result.framework} {result.layer} x{result.layers}: {text(result.input)} -> "
                        f"{text(result.target)}: {result.count} stack{'s' if result.count != 1 else ''}{more}",
                  title_justify="left", show_edge=False)
    for header in ("#", "sizes", "layers (kernel/stride/padding/out pad)", "why"):
        table.add_column(header, overflow="fold")
    for number, stack in enumerate(result.stacks, 1):
        layers = "; ".join(_layer_text(s) for s in stack.layers)
        table.add_row(str(number), " -> ".join(text(size) for size in stack.sizes), layers,
                      "; ".join(stack.reasons), style="yellow" if stack.checkerboard else None)
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

