"""One module per framework, each saying only what is its own.

A framework module defines:

* ``DEFAULT_PADDING`` -- ``"zeros"`` (explicit pads of 0) or a padding word;
* ``LAYERS`` -- layer kind -> ``fn(layer, sizes, checks) -> tuple[AxisOut, ...]``: how its padding
  words become (before, after), its refusals (``checks.require``, in the framework's own words),
  and the outputs the caller may choose;
* ``code(layer, axes) -> str`` -- the constructor a user pastes;
* ``stack(codes) -> str`` -- several constructors joined into one stack (nn.Sequential, ...).

Sizes arrive as ints, traced ints or sympy symbols; the module computes with the canonical
formulas of :mod:`tconvcalc.arithmetic` and never branches in Python on a size
(``where`` and ``checks.require`` do that), so one rule serves numbers and symbols.
"""

import functools
import importlib
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class AxisOut:
    """What a framework computes for one axis."""

    output: object  # None where the caller chooses the size (tf conv_transpose without output_shape)
    pads: tuple | None = None  # (before, after) as applied
    output_padding: object = None
    accepted: tuple | None = None  # every output size the caller may choose, where it may choose


@functools.cache  # the inner loops of solve and chain look it up per layer and size
def module(framework):
    return importlib.import_module(f"{__name__}.{framework}")


def not_available(what, alternative=""):
    """A layer or option the framework does not have: unusable input, exit 2."""
    raise InputError(what + (f"; {alternative}" if alternative else ""))


def per_axis(values):
    """An int where every axis agrees, else a tuple: how constructors are written."""
    values = tuple(int(v) for v in values)
    return values[0] if len(set(values)) == 1 else values


def call(name, *args, **kwargs):
    """``name(args..., key=value...)`` with keyword arguments whose value is None left out."""
    parts = [str(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items() if v is not None]
    return f"{name}({', '.join(parts)})"


def possible(sizes):
    """The sizes that can be at least 1 -- all of them while they are symbolic."""
    if isinstance(sizes, range) and sizes.step == 1:
        return range(max(sizes.start, 1), max(sizes.stop, 1))
    def can_be_positive(size):
        try:
            return bool(size >= 1)
        except TypeError:
            return True

    return tuple(size for size in sizes if can_be_positive(size))


def consecutive_outputs(lowest, count):
    """The ``count`` consecutive output sizes from ``lowest`` that can be at least 1 -- a lazy range
    for numbers (the solver asks for these in its inner loop, with strides in the hundreds)."""
    if isinstance(lowest, int):
        return range(max(int(lowest), 1), int(lowest) + int(count))
    return possible(lowest + extra for extra in range(int(count)))


def adaptive_outputs(layer, sizes, checks):
    """An adaptive pool's output per axis (None keeps the axis), with the window rule every framework that has
    one shares (torch's): window i spans [floor(i*n/out), ceil((i+1)*n/out)), a fixed pool only where out
    divides n."""
    checks.note("window i covers input [floor(i×n/out), ceil((i+1)×n/out)): kernel = stride = n/out only "
                "where out divides n")
    return [n if o is None else o for n, o in zip(sizes, layer.output_size)]
