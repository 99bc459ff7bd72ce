"""Terminal pictures for the numeric commands: verify's checks, the matrices, the overlap heatmap."""

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..render import AXIS_NAMES, size_text, styled

_HEAT = ("grey23", "blue", "cyan", "green", "yellow", "dark_orange", "red", "magenta")
MAX_SHOWN = 64  # heatmap columns/rows shown


def print_verify(result, console):
    table = Table(title=f"{result.framework} {result.layer}: {size_text(result.input)} -> "
                        f"{size_text(result.output_shape)}", title_justify="left", show_edge=False)
    for header in ("check", "result", "value"):
        table.add_column(header)
    shape_ok = tuple(result.output_shape) == tuple(result.predicted)
    table.add_row("output shape = forward's prediction", _mark(shape_ok),
                  f"{size_text(result.output_shape)} vs {size_text(result.predicted)}")
    if result.adjoint_rel_error is not None:
        table.add_row("adjoint <conv(x), y> = <x, convT(y)>", _mark(result.adjoint_rel_error <= 1e-6),
                      f"{result.adjoint_rel_error:.2e} relative")
    else:
        table.add_row("adjoint identity", "n/a", "conv/convT only")
    if result.framework_max_abs_diff is not None:
        failed = any(result.framework in f for f in result.failures)
        table.add_row(f"{result.framework} values = executor", _mark(not failed),
                      f"{result.framework_max_abs_diff:.2e} max abs diff")
    elif result.framework_note:
        table.add_row(f"{result.framework} values", "skipped", result.framework_note)
    else:
        table.add_row(f"{result.framework} values", _mark(False), "the framework failed")
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    console.print(styled("[green]ok[/green]" if result.ok else "[red]FAILED[/red]: " + escape("; ".join(result.failures))),
                  soft_wrap=True)


def _mark(ok):
    return styled("[green]ok[/green]" if ok else "[red]FAILED[/red]")


def matrix_table(rows, row_label, column_label):
    table = Table(show_edge=False, pad_edge=False, padding=(0, 1), show_header=True, box=None)
    table.add_column(f"{row_label}\\{column_label}", justify="right", style="dim")
    for j in range(len(rows[0]) if rows else 0):
        table.add_column(str(j), justify="right")
    for i, row in enumerate(rows):
        table.add_row(str(i), *(styled("[dim]·[/dim]") if v == 0 else str(v) for v in row))
    return table


def heatmap(counts, low, high):
    """Nested lists of counts -> Text with one coloured cell per position (2-D: rows; 3-D: slices)."""
    text = Text()
    def cells(row):
        for value in row[:MAX_SHOWN]:
            level = 0 if high == low else round((value - low) / (high - low) * (len(_HEAT) - 2)) + 1
            text.append(f"{value:>3}", style=f"black on {_HEAT[min(level, len(_HEAT) - 1)]}")
        if len(row) > MAX_SHOWN:
            text.append(f" … {len(row) - MAX_SHOWN} more")
        text.append("\n")

    depth = _depth(counts)
    if depth == 1:
        cells(counts)
    elif depth == 2:
        for row in counts[:MAX_SHOWN]:
            cells(row)
    else:
        for d, plane in enumerate(counts[:8]):
            text.append(f"D={d}\n")
            for row in plane[:MAX_SHOWN]:
                cells(row)
    return text


def _depth(values):
    depth = 0
    while isinstance(values, list):
        depth, values = depth + 1, values[0] if values else None
    return depth


def print_matrix(result, console):
    rank = len(result.input)
    if result.conv_matrix is not None:
        k = "x".join(str(len(v)) for v in _shape(result.kernel_values))
        console.print(f"kernel ({k}, row-major): {result.kernel_values}", soft_wrap=True)
        conv_out = result.output if result.layer == "conv" else result.input
        conv_in = result.input if result.layer == "conv" else result.output
        c = result.conv_matrix
        console.print(styled(f"\n[bold]C[/bold]: the conv as a matrix, {len(c)}×{len(c[0]) if c else 0} "
                      f"({size_text(conv_out)} outputs × {size_text(conv_in)} inputs, positions row-major)"),
                      soft_wrap=True)
        console.print(matrix_table(c, "out", "in"))
        ct = result.transpose_matrix
        console.print(styled(f"\n[bold]Cᵀ[/bold]: the transposed conv, {len(ct)}×{len(ct[0]) if ct else 0}"))
        console.print(matrix_table(ct, "out", "in"))
        console.print(f"convT(y) = Cᵀy and the executor's convT matrix = Cᵀ: max abs diff "
                      f"{result.transpose_max_abs_diff:.1e}")
    console.print(styled(f"\n[bold]overlap[/bold]: kernel taps landing on each output of the transposed conv "
                         f"({result.overlap_min}..{result.overlap_max})"))
    console.print(heatmap(result.overlap, result.overlap_min, result.overlap_max), end="")
    if result.checkerboard:
        console.print(styled(f"[yellow]checkerboard risk[/yellow]: uneven overlap (taps per phase: "
                             f"{'; '.join(', '.join(map(str, p)) for p in result.residues)}); fix: {escape(result.fix)}"),
                      soft_wrap=True)
    else:
        console.print("even overlap away from the borders: no checkerboard from the kernel/stride")
    for axis, (name, feeds) in enumerate(zip(AXIS_NAMES[rank], result.index_map)):
        console.print(styled(f"\n[bold]index map[/bold] ({name}): the inputs feeding each output"))
        for j, inputs in enumerate(feeds[:MAX_SHOWN]):
            console.print(f"  out {j:>3} <- {', '.join(map(str, inputs)) if inputs else '(none: zeros)'}")
        if len(feeds) > MAX_SHOWN:
            console.print(f"  … {len(feeds) - MAX_SHOWN} more")


def _shape(values):
    shape = []
    while isinstance(values, list):
        shape.append(values)
        values = values[0] if values else None
    return shape


def print_convert(result, console):
    verdict = {"exact": "[green]exact[/green]", "extra": "[yellow]needs an extra pad/crop[/yellow]",
               "impossible": "[red]impossible[/red]"}[result.verdict]
    console.print(styled(f"{result.source} {result.source_layer.kind} -> {result.target}: {verdict}"), soft_wrap=True)
    if result.code:
        console.print(result.code, soft_wrap=True, markup=False, highlight=False)
    if result.extra:
        console.print(("before the layer:" if result.source_layer.kind == "conv" else "after the layer:"))
        console.print(result.extra, soft_wrap=True, markup=False, highlight=False)
    console.print(result.reason, soft_wrap=True, markup=False, highlight=False)
    if result.max_abs_diff is not None:
        console.print(f"executor, same data and weights: max abs diff {result.max_abs_diff:.1e}")
