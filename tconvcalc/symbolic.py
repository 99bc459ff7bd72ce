"""Symbolic sizes (``H``, ``HxW``): sympy, imported only on this path.

The framework modules compute with the same code as for numbers; here symbols go in,
and the conditions their rules collected come out as one readable condition.
"""

import sympy


def symbols(size):
    """Size entries: symbol names become positive integer symbols, numbers stay numbers."""
    return tuple(sympy.Symbol(n, integer=True, positive=True) if isinstance(n, str) else sympy.Integer(n)
                 for n in size)


def simplify(expr):
    expr = sympy.sympify(expr)  # our own expression objects, never user text
    return sympy.simplify(expr) if expr.free_symbols else expr


def describe_condition(conditions):
    """The conjunction of every collected rule, simplified; None when nothing is required."""
    if not conditions:
        return None
    combined = sympy.And(*(c for c, _ in conditions))
    free = sorted(combined.free_symbols, key=str)
    if len(free) == 1:
        try:
            combined = combined.as_set().as_relational(free[0]) if combined.as_set() is not None else combined
        except (NotImplementedError, TypeError, ValueError):
            pass
    return str(combined)
