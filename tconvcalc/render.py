"""Presenting results: rich tables for people, JSON for scripts. The core never prints."""

import json
import os
import re
import sys
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


class _SafeConsole(Console):
    """Markup and emoji codes are read only in ``styled`` text; control characters never reach the terminal."""

    def render_str(self, text, **options):
        if isinstance(text, styled):
            return super().render_str(visible(text), **{**options, "markup": True})
        return super().render_str(visible(text), **{**options, "markup": False, "emoji": False})

    def on_broken_pipe(self):
        """The reader went away (| head): quiet, exit 141 as a shell reports SIGPIPE (rich's own: 1, 'refused')."""
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141)


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


def forward_table(result):
    rank = len(result.input)
    axes = result.axes
    table = Table(title=f"{result.framework} {result.layer} {rank}-D: "
                        f"{size_text(result.input)} -> {size_text(result.output or [None] * rank)}",
                  title_justify="left", show_edge=False)
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
        columns.append(("formula", lambda name, ax: ax.formula))
    for header, _ in columns:
        table.add_column(header, overflow="fold", style="bold" if header == "out" else None,
                         justify="left" if header in ("axis", "formula", "pads", "accepted outputs") else "right")
    for name, ax in zip(AXIS_NAMES[rank], axes):
        table.add_row(*(cell(name, ax) for _, cell in columns))
    return table


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
    console.print(forward_table(result))
    if result.condition:
        console.print(f"valid when: {result.condition}")
    if result.output is None:
        console.print("the output size is the caller's choice: pass one of the accepted sizes "
                      "(--output-size picks it)")
    if explain:
        console.print(styled("\n[bold]how[/bold]"))
        for ax, name in zip(result.axes, AXIS_NAMES[len(result.input)]):
            console.print(f"  {name}: {ax.formula}")
        for note in result.notes:
            console.print(f"  - {note}")
        console.print(styled(f"\n[bold]code[/bold]\n  {escape(result.code)}"))


def print_warnings(warnings, console):
    for warning in warnings:
        console.print(styled(f"[yellow]warning:[/yellow] {escape(str(warning))}"), highlight=False)


def consoles():
    """(stdout, stderr) consoles; rich honours NO_COLOR and plain output when not a terminal."""
    out = _SafeConsole(highlight=False, markup=False, emoji=False)
    if not out.is_terminal:  # pipes and CI logs: don't fold formulas at 80 columns
        out = _SafeConsole(highlight=False, markup=False, emoji=False, width=160)
    return out, _SafeConsole(stderr=True, highlight=False, markup=False, emoji=False, width=160)


def print_solutions(result, console):
    table = Table(title=f"{size_text(result.input)} -> {size_text(result.target)}: "
                        f"{result.total} solution{'s' if result.total != 1 else ''}"
                        + (f", the best {result.count}" if result.count < result.total else ""),
                  title_justify="left", show_edge=False)
    for header in ("#", "framework", "layer", "kernel", "stride", "padding", "dilation", "out pad", "why"):
        table.add_column(header, overflow="fold")
    for number, s in enumerate(result.solutions, 1):
        table.add_row(str(number), s.framework, s.layer, *(_cell(v) for v in (
            s.kernel if s.scale is None else f"scale {_cell(s.scale)}", s.stride, s.padding, s.dilation,
            s.output_padding if s.output_size is None else f"output_shape {_cell(s.output_size)}")),
            "; ".join(s.reasons), style="yellow" if s.checkerboard else None)
    console.print(table)
    console.print()
    for number, s in enumerate(result.solutions, 1):
        console.print(f"{number:>3}  {s.code}", soft_wrap=True)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return "x".join(_cell(v) for v in value) if not any(isinstance(v, (tuple, list)) for v in value) \
            else " ".join(f"{v[0]}:{v[1]}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def print_inputs(result, console):
    console.print(f"{result.framework} {result.layer}: the inputs that give {size_text(result.output)}")
    table = Table(show_edge=False)
    for header in ("axis", "output", "inputs"):
        table.add_column(header)
    for name, out, sizes in zip(AXIS_NAMES[len(result.output)], result.output, result.inputs):
        table.add_row(name, str(out), _ranges(sizes))
    console.print(table)
    console.print(result.code, soft_wrap=True)


def print_chain(result, console):
    if result.model:
        console.print(result.model, markup=False, highlight=False)
    last = result.steps[-1].channels if result.steps else None
    shown = size_text(result.output) or ("" if last is None else f"{last} features")  # after a flatten
    table = Table(title=f"{result.framework}: {size_text(result.input)} -> {shown} "
                        f"through {len(result.steps)} layers", title_justify="left", show_edge=False)
    for header in ("#", "name", "layer", "in", "out", "channels"):
        table.add_column(header, overflow="fold", justify="right" if header in ("#", "channels") else "left")
    for number, step in enumerate(result.steps, 1):
        merge = step.op in ("concat", "add", "mul")
        # after a flatten no spatial axes are left: the features are the size
        features = "" if step.channels is None else f"{step.channels} features"
        table.add_row(str(number), step.name, step.description, size_text(step.input) or "features",
                      size_text(step.output) or features,
                      "" if step.channels is None else str(step.channels), style="cyan" if merge else None)
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
    table = Table(title=f"{result.framework} decoder restoring {size_text(result.input)}", title_justify="left",
                  show_edge=False)
    for header in ("#", "undoes", "in", "out", "layer"):
        table.add_column(header, overflow="fold")
    for number, layer in enumerate(result.layers, 1):
        table.add_row(str(number), layer.restores, size_text(layer.input), size_text(layer.output), layer.code)
    console.print(table)
