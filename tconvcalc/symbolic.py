"""Symbolic sizes (``H``, ``HxW``): sympy, imported only on this path.

The framework modules compute with the same code as for numbers; here symbols go in,
and the conditions their rules collected come out as one readable condition.
"""

import sympy


def symbols(size):
    """Size entries: symbol names become positive integer symbols; expressions and numbers stay."""
    return tuple(sympy.Symbol(n, integer=True, positive=True) if isinstance(n, str)
                 else n if isinstance(n, sympy.Basic) else sympy.Integer(n) for n in size)


def simplify(expr):
    if not isinstance(expr, sympy.Basic):
        return sympy.Integer(int(expr))
    if not expr.free_symbols:
        return expr
    if expr.has(sympy.Piecewise):  # simplify() takes seconds on these and rarely shortens them
        return _merge_floors(expr)
    return _merge_floors(sympy.simplify(_merge_floors(expr)))


def _merge_floors(expr):
    """floor((floor(u) + m) / n) = floor((u + m) / n) for integers m and n > 0, and the same for
    ceiling, so a stack of strided layers reads floor(H/16) instead of four nested floors."""
    def merge(node):
        kind = type(node)
        terms = sympy.expand(node.args[0]).as_coefficients_dict()
        inner = [t for t in terms if isinstance(t, kind)]
        if len(inner) != 1 or any(not (t == 1 or isinstance(t, kind)) for t in terms):
            return node
        n = 1 / terms[inner[0]]
        m = terms.get(sympy.Integer(1), 0) * n
        if not (n.is_integer and n > 0 and sympy.Rational(m).is_integer):
            return node
        return kind((inner[0].args[0] + m) / n)

    previous = None
    while previous != expr:
        previous, expr = expr, expr.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), merge)
    return expr


def describe_condition(conditions):
    """The conjunction of every collected rule, simplified; None when nothing is required."""
    if not conditions:
        return None
    combined = sympy.And(*(c for c, _ in conditions))
    free = sorted(combined.free_symbols, key=str)
    if len(free) == 1 and not combined.has(sympy.Piecewise):  # as_set() on Piecewise: seconds, no gain
        try:
            combined = combined.as_set().as_relational(free[0]) if combined.as_set() is not None else combined
        except (NotImplementedError, TypeError, ValueError):
            pass
    return str(combined)
