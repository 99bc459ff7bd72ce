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
