"""Which model a file holds, and its constructor arguments: ``FILE.py:Name`` and ``--args``.

The arguments are Python literals read with ``ast.literal_eval``, never evaluated: ``--args
'n_channels=3, n_classes=2'`` is parsed as the argument list of a call and nothing else.
"""

import ast
import os
import re
from dataclasses import dataclass

from ..errors import InputError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
MAX_ARGS_TEXT = 10_000  # a constructor's arguments, not a program


@dataclass(frozen=True)
class Target:
    """The model to read: the file, the class/function/variable named in it (None: the reader picks the
    only candidate), and its constructor arguments."""

    path: str
    name: str | None = None
    args: tuple = ()
    kwargs: tuple = ()  # (keyword, value) pairs, in the order written

    def call_text(self, name=None):
        """``UNet(n_channels=3, n_classes=2)``: the model as the user would construct it."""
        words = [repr(v) for v in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{name or self.name or 'model'}({', '.join(words)})"


def split_target(spec):
    """``models/unet.py:UNet`` -> ('models/unet.py', 'UNet'); a path without ``:Name`` -> (spec, None)."""
    path, colon, name = str(spec).rpartition(":")
    if colon and path and _NAME.match(name) and not os.path.exists(spec):
        return path, name
    return str(spec), None


def parse_args(text):
    """``'3, n_classes=2'`` -> ((3,), (('n_classes', 2),)); every value a literal."""
    if not text or not text.strip():
        return (), ()
    if len(text) > MAX_ARGS_TEXT:
        raise InputError(f"--args is {len(text)} characters long; at most {MAX_ARGS_TEXT}")
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise InputError(f"--args {_cut(text)!r} is not an argument list; write it as in the call, like "
                         "'n_channels=3, n_classes=2'") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "f":
        raise InputError(f"--args {_cut(text)!r} is not an argument list")
    args = tuple(_literal(node, text) for node in call.args)
    kwargs = []
    for keyword in call.keywords:
        if keyword.arg is None:
            raise InputError(f"--args: **{ast.unparse(keyword.value)[:40]} is not a literal argument")
        kwargs.append((keyword.arg, _literal(keyword.value, text)))
    return args, tuple(kwargs)


def _literal(node, text):
    if isinstance(node, ast.Starred):
        raise InputError(f"--args: *{ast.unparse(node.value)[:40]} is not a literal argument")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise InputError(f"--args: {ast.unparse(node)[:60]!r} is not a Python literal (numbers, strings, "
                         "True/False/None, tuples, lists, dicts); tconvcalc never evaluates it") from None


def _cut(text, width=60):
    return text if len(text) <= width else text[:width] + "..."
