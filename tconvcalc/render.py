"""Presenting results: rich tables for people, JSON for scripts. The core never prints."""

import json
import os
import re
import sys
from dataclasses import asdict, dataclass

from .console import Column, consoles, escape, fit_table  # noqa: F401  (consoles: for the commands)

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# Characters a terminal acts on instead of showing (C0/C1 controls, so ESC sequences and OSC; bidi overrides
# and invisible format characters): names read from files are shown as their escapes, \x1b, \u202e.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                     "\ufeff\ufff9-\ufffb]")


def visible(text):
    """TEXT with every character a terminal would act on written as its escape; newlines and tabs stay."""
    return _UNSAFE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(text))


MAX_WORD = 240  # a longer word in a message (a 131,000-character option value) is cut to its start
MAX_MESSAGE = 1000


def message_line(text):
    """An error or warning as one line a terminal shows as text: long values cut, escapes made visible."""
    line = visible(" ".join(str(text).splitlines()))
    line = re.sub(r"\S{%d,}" % (MAX_WORD + 1), lambda m: f"{m[0][:60]}...({len(m[0])} characters)", line)
    return line if len(line) <= MAX_MESSAGE else f"{line[:MAX_MESSAGE]}... (cut)"


class styled(str):  # noqa: N801 -- used like a function: styled("[bold]how[/bold]")
    """Text of ours that carries rich markup; every other string is shown as it is (user names hold '[red]')."""


def json_dumps(data):
    """JSON with names exact, and every character a terminal would act on as a \\u escape (json itself leaves
    C1 controls such as U+009B, a CSI, and bidi overrides raw); outside strings JSON is plain ASCII."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(data, ensure_ascii=False))


def to_json(result, **extra):
    """The JSON contract: the result dataclass as a dict (documented in the README)."""
    data = asdict(result)
    data.update({key: None if value is None else asdict(value) for key, value in extra.items()})
    return json_dumps(data)


def size_text(values):
    """126x100; a symbolic axis with an operator in parentheses, (floor(H/2) + 1)x(floor(H/2) + 1)."""
    if len(values) == 1:
        return "?" if values[0] is None else str(values[0])
    return "x".join("?" if v is None else f"({v})" if " " in str(v) else str(v) for v in values)


def forward_table(result, console):
    """The table, and whether the formulas were left out to fit the width (print_forward shows them below)."""
    rank = len(result.input)
    axes = result.axes
    columns = [("axis", lambda name, ax: name),
               ("in", lambda name, ax: str(ax.input)),
               ("out", lambda name, ax: "?" if ax.output is None else str(ax.output))]
    if any(ax.pads is not None for ax in axes):
        columns.append(("pads", lambda name, ax: "" if ax.pads is None else f"{ax.pads[0]}, {ax.pads[1]}"))
    if any(ax.output_padding is not None for ax in axes):
        columns.append(("out pad", lambda name, ax: "" if ax.output_padding is None else str(ax.output_padding)))
    if any(ax.accepted for ax in axes):
        columns.append(("accepted outputs", lambda name, ax: _ranges(ax.accepted)))
    if any(ax.formula != str(ax.output) for ax in axes):
        columns.append(("formula", lambda name, ax: formula_text(ax)))
    shown = [Column(header, "left" if header in ("axis", "formula", "pads", "accepted outputs") else "right",
                    "bold" if header == "out" else None, wrap=12 if header == "accepted outputs" else 0)
             for header, _ in columns]
    rows = [([cell(name, ax) for _, cell in columns], None) for name, ax in zip(AXIS_NAMES[rank], axes)]
    table, dropped = fit_table(console, shown, rows, drop_order=("formula",),
                               title=f"{result.framework} {result.layer} {rank}-D: "
                                     f"{size_text(result.input)} -> {size_text(result.output or [None] * rank)}")
    return table, bool(dropped)


def formula_text(ax):
    """An axis's formula, with a padding word's total pad after it (its split is the pads column)."""
    return ax.formula if ax.pad_formula is None else f"{ax.formula}; total pad {ax.pad_formula}"


def _ranges(values):
    """254, 255, 256 -> '254..256'; gaps are listed."""
    if not values:
        return ""
    values = list(values)
    numeric = all(isinstance(v, int) for v in values)  # symbolic sizes arrive as text
    if numeric and len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))


def print_forward(result, console, explain=False):
    table, formulas_below = forward_table(result, console)
    console.print(table)
    if formulas_below and not explain:  # too wide for the table: one line per axis, never folded
        for ax, name in zip(result.axes, AXIS_NAMES[len(result.input)]):
            console.print(f"{name}: {formula_text(ax)}", soft_wrap=True)
    if result.condition:
        console.print(f"valid when: {result.condition}")
    if result.output is None:
        console.print("the output size is the caller's choice: pass one of the accepted sizes "
                      "(--output-size picks it)")
    if explain:
        console.print(styled("\n[bold]how[/bold]"))
        for ax, name in zip(result.axes, AXIS_NAMES[len(result.input)]):
            console.print(f"  {name}: {ax.formula}")
            if ax.pad_formula is not None:
                console.print(f"  {name}: total pad {ax.pad_formula}: {ax.pads[0]} before, {ax.pads[1]} after")
        for note in result.notes:
            console.print(f"  - {note}")
        console.print(styled(f"\n[bold]code[/bold]\n  {escape(result.code)}"), soft_wrap=True)


def print_warnings(warnings, console):
    for warning in warnings:
        console.print(styled(f"[yellow]warning:[/yellow] {escape(str(warning))}"), highlight=False)


SOLUTION_HEADERS = ("#", "framework", "layer", "kernel", "stride", "padding", "dilation", "out pad", "why")
# A solve table too wide for the terminal: first the columns with one value on every row move to the title,
# then why, dilation and out pad go (the code lines below the table hold every value).
SOLUTION_DROPS = ("framework", "layer", "dilation", "out pad", "padding", "stride", "kernel")


def print_solutions(result, console):
    shared = _shared_reasons(result.solutions)
    rows = [([str(number), s.framework, s.layer, *(_cell(v) for v in (
        s.kernel if s.scale is None else f"scale {_cell(s.scale)}", s.stride, s.padding, s.dilation,
        s.output_padding if s.output_size is None else f"output_shape {_cell(s.output_size)}")),
        "; ".join(r for r in s.reasons if r not in shared)], "yellow" if s.checkerboard else None)
        for number, s in enumerate(result.solutions, 1)]
    constant = [h for h in SOLUTION_DROPS if len(rows) > 1 and len({cells[SOLUTION_HEADERS.index(h)]
                                                                    for cells, _ in rows}) == 1]
    values = {h: rows[0][0][SOLUTION_HEADERS.index(h)] for h in constant}
    if not any(cells[-1] for cells, _ in rows):
        constant.insert(0, "why")  # every reason is shared: said once, below
    drops = tuple(constant) + tuple(h for h in ("why", "dilation", "out pad") if h not in constant)

    def title(dropped):
        same = [_titled(h, values[h]) for h in dropped if h in values and values[h]]
        return (f"{size_text(result.input)} -> {size_text(result.target)}: "
                f"{result.total} solution{'s' if result.total != 1 else ''}"
                + (f", the best {result.count}" if result.count < result.total else "")
                + (f" ({', '.join(same)})" if same else ""))

    columns = [Column(h, "right" if h == "#" else "left", wrap=16 if h == "why" else 0) for h in SOLUTION_HEADERS]
    table, _ = fit_table(console, columns, rows, drop_order=drops, title=title)
    console.print(table)
    if shared:
        console.print(f"every one: {'; '.join(shared)}")
    console.print()
    for number, s in enumerate(result.solutions, 1):
        console.print(f"{number:>3}  {s.code}", soft_wrap=True)


def _shared_reasons(solutions):
    """Reasons every solution gives (said once, not on every row); none for a single solution."""
    if len(solutions) < 2:
        return []
    return [r for r in solutions[0].reasons if all(r in s.reasons for s in solutions[1:])]


def _titled(header, value):
    return value if header in ("framework", "layer") else f"{header} {value}"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return "x".join(_cell(v) for v in value) if not any(isinstance(v, (tuple, list)) for v in value) \
            else " ".join(f"{v[0]}:{v[1]}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def print_inputs(result, console):
    console.print(f"{result.framework} {result.layer}: the inputs that give {size_text(result.output)}")
    rows = [([name, str(out), _ranges(sizes)], None)
            for name, out, sizes in zip(AXIS_NAMES[len(result.output)], result.output, result.inputs)]
    table, _ = fit_table(console, [Column("axis"), Column("output", "right"), Column("inputs", wrap=12)], rows)
    console.print(table)
    console.print(result.code, soft_wrap=True)


CHAIN_HEADERS = ("#", "name", "layer", "in", "out", "channels")


def print_chain(result, console):
    if result.model:
        console.print(result.model, markup=False, highlight=False, soft_wrap=True)
    last = result.steps[-1].channels if result.steps else None
    shown = size_text(result.output) or ("" if last is None else f"{last} features")  # after a flatten
    rows = []
    for number, step in enumerate(result.steps, 1):
        merge = step.op in ("concat", "add", "mul")
        # after a flatten no spatial axes are left: the features are the size
        features = "" if step.channels is None else f"{step.channels} features"
        rows.append(([str(number), step.name, step.description, size_text(step.input) or "features",
                      size_text(step.output) or features, "" if step.channels is None else str(step.channels)],
                     "cyan" if merge else None))
    # too wide: the layer description wraps at its spaces, then the numbers go, then the channels
    columns = [Column(h, "right" if h in ("#", "channels") else "left", wrap={"layer": 14, "name": 40}.get(h, 0))
               for h in CHAIN_HEADERS]
    table, _ = fit_table(console, columns, rows, drop_order=("#", "channels"),
                         title=f"{result.framework}: {size_text(result.input)} -> {shown} "
                               f"through {len(result.steps)} layers")
    console.print(table)
    if result.condition:
        console.print(f"valid inputs: {result.condition}")
    if result.code:
        console.print(result.code, soft_wrap=True)


@dataclass(frozen=True)
class DecoderLayer:
    restores: str  # the encoder node this layer undoes
    code: str
    input: tuple
    output: tuple
    reasons: tuple


@dataclass(frozen=True)
class Decoder:
    framework: str
    input: tuple
    layers: tuple


def print_decoder(result, console):
    rows = [([str(number), layer.restores, size_text(layer.input), size_text(layer.output)], None)
            for number, layer in enumerate(result.layers, 1)]
    table, _ = fit_table(console, [Column("#", "right"), Column("undoes", wrap=12), Column("in"), Column("out")],
                         rows, title=f"{result.framework} decoder restoring {size_text(result.input)}")
    console.print(table)
    for number, layer in enumerate(result.layers, 1):  # code lines are never folded
        console.print(f"{number:>3}  {layer.code}", soft_wrap=True)
