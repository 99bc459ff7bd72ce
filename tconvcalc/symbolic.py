"""Symbolic sizes (``H``, ``HxW``): sympy, imported only on this path.

The framework modules compute with the same code as for numbers; here symbols go in,
and the conditions their rules collected come out as one readable condition.
"""

import functools

import sympy


def symbols(size):
    """Size entries: symbol names become positive integer symbols; expressions and numbers stay."""
    return tuple(sympy.Symbol(n, integer=True, positive=True) if isinstance(n, str)
                 else n if isinstance(n, sympy.Basic) else sympy.Integer(n) for n in size)


@functools.lru_cache(maxsize=4096)  # a deep network's layers pass the same few expressions on
def simplify(expr):
    if not isinstance(expr, sympy.Basic):
        return sympy.Integer(int(expr))
    if not expr.free_symbols:
        return expr
    expr = settle(expr)
    if not expr.has(sympy.Piecewise):  # simplify() takes seconds on these and rarely shortens them
        expr = sympy.simplify(_merge_floors(expr))
    return _merge_floors(expr)


MAX_PERIOD = 64  # residues tried by settle(); past it the expression is left as it is


def settle(expr):
    """Each Piecewise, Max and Min of one size symbol H replaced by the branch it takes for every H >= 1.

    Pool ceil_mode, TF/ONNX truncation and SAME pads give these: ``Piecewise((floor(H/2), H <= 2*floor(H/2)
    - 1), (floor(H/2) + 1, True))`` is ``floor(H/2) + 1``. Every floor and ceiling of H becomes linear in q
    when H = M*q + r (M the period of their denominators), so each residue r decides the branch for all
    q >= 0 or for none; a branch is kept only where one choice holds for every residue.
    """
    free = expr.free_symbols
    if len(free) != 1 or not expr.has(sympy.Piecewise, sympy.Max, sympy.Min):
        return expr
    (h,) = free
    period = _period(expr, h)
    if period is None:
        return expr
    q = sympy.Symbol("q", integer=True, nonnegative=True)
    cases = [{h: period * q + r} for r in range(1, period + 1)]  # H = M*q + r covers every H >= 1

    def choice(node):
        if isinstance(node, sympy.Piecewise):
            branches = [pair.expr for pair in node.args]
            picked = set.intersection(*({_first_true(node, case)} for case in cases))
        else:
            branches = node.args
            picked = set.intersection(*(_extremes(node, case) for case in cases))
        picked.discard(None)
        return branches[min(picked)] if picked else node

    settled = expr.replace(lambda e: isinstance(e, (sympy.Piecewise, sympy.Max, sympy.Min)), choice)
    periodic = settled.replace(lambda e: e.is_Add and e.has(sympy.floor, sympy.ceiling),
                               lambda e: _by_residue(e, h, period, cases) or e)
    return _by_residue(periodic, h, period, cases) or periodic


def _by_residue(expr, h, period, cases):
    """``a + b*Mod(±H, M)`` where that is the value for every residue (a SAME pad: Mod(H, 2)), else None."""
    values = [expr.subs(case) for case in cases]
    if not all(value.is_Rational for value in values):
        return None
    base = values[-1]  # H = M*(q+1): the residue 0
    for sign in (1, -1):
        slopes = {(value - base) / ((sign * r) % period) for r, value in enumerate(values[:-1], start=1)}
        if len(slopes) <= 1:
            return base + (slopes.pop() if slopes else 0) * sympy.Mod(sign * h, period)
    return None


def _period(expr, h):
    """The lcm of the denominators of H's coefficients inside floor and ceiling; None past MAX_PERIOD."""
    period = 1
    for node in expr.atoms(sympy.floor, sympy.ceiling):
        coefficient = sympy.expand(node.args[0]).coeff(h)
        if not coefficient.is_Rational:
            return None
        period = sympy.ilcm(period, coefficient.q)
    return period if period <= MAX_PERIOD else None


def _first_true(piecewise, case):
    """The index of the branch a Piecewise takes for H = M*q + r, whatever q; None if that depends on q."""
    for index, (_, condition) in enumerate(piecewise.args):
        decided = condition.subs(case)
        if decided is sympy.true:
            return index
        if decided is not sympy.false:
            return None
    return None


def _extremes(node, case):
    """The indices of the arguments a Max / Min gives for H = M*q + r, whatever q (ties: all of them)."""
    values = [arg.subs(case) for arg in node.args]
    larger = isinstance(node, sympy.Max)
    return {index for index, value in enumerate(values)
            if all((value - other).is_nonnegative if larger else (value - other).is_nonpositive for other in values)}


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
    combined = sympy.And(*(settle(c) for c, _ in conditions))
    if combined is sympy.true:
        return None
    free = sorted(combined.free_symbols, key=str)
    if len(free) == 1 and not combined.has(sympy.Piecewise):  # as_set() on Piecewise: seconds, no gain
        try:
            combined = combined.as_set().as_relational(free[0]) if combined.as_set() is not None else combined
        except (NotImplementedError, TypeError, ValueError):
            pass
    return str(combined)


# ---- display: the same value, written the way a person would ------------------------------------


@functools.lru_cache(maxsize=4096)  # a node's input is the output shown before it; stages repeat sizes
def display(expr):
    """A size expression as text, simplified for reading only (the value computed with is left as it is):
    ``floor(H/2 - 1/2) + 1`` reads ``ceil(H/2)``, ``2*floor(H/2 - 5/2) + 3`` reads ``2*ceil(H/2) - 3``.

    Each floor((p*H + q)/b) of integers is floor((p*H + r)/b) + m with q = m*b + r, 0 <= r < b, which is
    floor(p*H/b) + m for r = 0 and ceil(p*H/b) + m for r = b - 1 (both exact for integer H); ceil alike.
    The shorter of the result and its expansion is printed, ceiling as ``ceil``.

    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> display(sympy.floor(H/2 - sympy.Rational(1, 2)) + 1)
    'ceil(H/2)'
    """
    if not isinstance(expr, sympy.Basic) or not expr.free_symbols:
        return str(expr)
    rewritten = expr.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), _normal_rounding)
    texts = {_PRINTER.doprint(e) for e in (expr, rewritten, sympy.expand(rewritten))}
    return min(texts, key=lambda text: (len(text), text))


def _normal_rounding(node):
    """floor/ceiling of (p*H + q)/b with the constant moved out as an integer (see display)."""
    numerator, denominator = sympy.fraction(sympy.together(node.args[0]))
    if not (denominator.is_Integer and denominator > 0):
        return node
    constant, variable = numerator.as_coeff_Add()
    if not (constant.is_Integer and all(c.is_Integer for c in variable.as_coefficients_dict().values())):
        return node
    b = int(denominator)
    if isinstance(node, sympy.floor):
        m, r = divmod(int(constant), b)  # 0 <= r < b
        if r == b - 1:
            return sympy.ceiling(variable / b) + m if b > 1 else node
        return sympy.floor((variable + r) / b) + m
    m, r = divmod(int(constant), b)  # ceil((x + m*b + r)/b) with 0 <= r < b: ceil((x + r)/b) + m
    if r == 0:
        return sympy.ceiling(variable / b) + m
    if r == 1:
        return sympy.floor(variable / b) + m + 1
    if 2 * r <= b:
        return sympy.ceiling((variable + r) / b) + m
    return sympy.ceiling((variable + r - b) / b) + m + 1


class _Printer(sympy.printing.str.StrPrinter):
    """sympy's text, with ceiling written ceil and a rounding's argument as one fraction: floor((H + 1)/4)."""

    def _print_ceiling(self, expr):
        return f"ceil({self._rounded(expr.args[0])})"

    def _print_floor(self, expr):
        return f"floor({self._rounded(expr.args[0])})"

    def _rounded(self, arg):
        together = sympy.together(arg)
        numerator, denominator = sympy.fraction(together)
        if denominator.is_Integer and denominator != 1 and numerator.is_Add:
            return f"({self._print(numerator)})/{self._print(denominator)}"
        return self._print(arg)


_PRINTER = _Printer()
