"""Where people read the output: rich consoles sized to the terminal, and tables that fit its width.

Imported only by the human-readable paths: -q and --json never load rich.

Width: ``COLUMNS`` if set, else the terminal's width, else 80 (a pipe, a CI log). Lines carry no trailing
spaces. A table too wide for the width first loses the columns in its stated drop order (the caller shows
what they held elsewhere: a formula below the table, a value shared by every row in the title); a column
that wraps (``why``) wraps at spaces down to its minimum width; headers are never folded. Code is printed
with soft wrap, so a line of code is never folded.
"""

import functools
import os
import re
import sys
from dataclasses import dataclass

DEFAULT_WIDTH = 80  # piped output without COLUMNS
MIN_WIDTH = 20

_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def width_for(stream):
    """COLUMNS, or the width of the terminal STREAM is, or 80."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    try:
        if stream is not None and stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
    except (OSError, ValueError, AttributeError):
        pass
    return DEFAULT_WIDTH


@functools.lru_cache(maxsize=None)
def _console_class():
    from rich.console import Console

    from .render import styled, visible

    class SafeConsole(Console):
        """Markup and emoji codes are read only in ``styled`` text; control characters never reach the
        terminal; no line ends in spaces."""

        def render_str(self, text, **options):
            if isinstance(text, styled):
                return super().render_str(visible(text), **{**options, "markup": True})
            return super().render_str(visible(text), **{**options, "markup": False, "emoji": False})

        def _render_buffer(self, buffer):
            return _TRAILING.sub(r"\1", super()._render_buffer(buffer))

        def on_broken_pipe(self):
            """The reader went away (| head): quiet, exit 141 as a shell reports SIGPIPE (rich's own: 1)."""
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(141)

    return SafeConsole


def console(stderr=False):
    """A console on stdout (or stderr) as wide as ``width_for`` says; rich honours NO_COLOR and writes plain
    text when the stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    return _console_class()(stderr=stderr, width=width_for(stream), highlight=False, markup=False, emoji=False)


def consoles():
    """(stdout, stderr) consoles."""
    return console(), console(stderr=True)


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"
    style: str = None
    wrap: int = 0  # 0: never wraps; else wraps at spaces, down to this many characters


def fit_table(console, columns, rows, drop_order=(), title=None, **table_options):
    """A rich Table of the COLUMNS (and rows: one cell per column) that fits the console's width, and the
    headers of the columns left out for it, dropped in DROP_ORDER (the caller says where their content went).
    ``rows`` are (cells, style) pairs; TITLE is text, or a function of the dropped headers giving it."""
    dropped = []
    for count in range(len(drop_order) + 1):
        dropped = list(drop_order[:count])
        options = {**table_options, "title": title(dropped) if callable(title) else title}
        table = _table([c for c in columns if c.header not in dropped],
                       [([cell for c, cell in zip(columns, cells) if c.header not in dropped], style)
                        for cells, style in rows], options)
        if _narrowest(columns, rows, dropped) <= console.width:
            break
    return table, dropped


def _narrowest(columns, rows, dropped):
    """The table's least width: each column's least, a space either side, and a rule between two."""
    widths = []
    for index, column in enumerate(columns):
        if column.header in dropped:
            continue
        widths.append(_least_width(column, [str(cells[index]) for cells, _ in rows]))
    return sum(widths) + 3 * len(widths) - 1


def _least_width(column, cells):
    """A column that never wraps is as wide as its widest cell; one that wraps goes down to its ``wrap``
    (a longer word folds), and no wider than its widest cell."""
    from rich.cells import cell_len

    widest = max([cell_len(column.header)] + [cell_len(cell) for cell in cells])
    return min(widest, max(column.wrap, cell_len(column.header))) if column.wrap else widest


def _table(columns, rows, table_options):
    from rich.table import Table

    table = Table(show_edge=False, title_justify="left", **table_options)
    for index, column in enumerate(columns):
        if column.wrap:
            table.add_column(column.header, justify=column.justify, style=column.style, overflow="fold",
                             min_width=_least_width(column, [str(cells[index]) for cells, _ in rows]))
        else:
            table.add_column(column.header, justify=column.justify, style=column.style, no_wrap=True)
    for cells, style in rows:
        table.add_row(*cells, style=style)
    return table


def escape(text):
    from rich.markup import escape as rich_escape

    return rich_escape(text)
