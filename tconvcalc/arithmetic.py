"""Integer arithmetic written once for three kinds of number.

Every formula in tconvcalc is ordinary Python arithmetic over values that are

* plain ``int`` -- the fast path a shell call takes;
* :class:`Traced` -- an ``int`` that also carries the formula that produced it,
  so tables show "(126-1)×2-0-0+1×(4-1)+0+1 = 254" from the very code that computed 254;
* sympy expressions -- for symbolic sizes such as ``H``; sympy is imported only
  when such a value shows up.

Shapes (per axis; ``ek = d*(k-1)+1`` is the effective kernel):

    conv:   out = floor((n + before + after - ek) / s) + 1
    convT:  out = (n - 1)*s - before - after + ek + output_padding
"""

ATOM, MUL, ADD = 3, 2, 1


class Traced(int):
    """An int that remembers how it was computed.

    >>> n, k = Traced(126), Traced(4)
    >>> out = (n - 1) * 2 + k
    >>> out, out.text
    (254, '(126-1)×2+4')
    """

    def __new__(cls, value, text=None, prec=ATOM):
        self = super().__new__(cls, value)
        self.text = text if text is not None else (str(int(value)) if value >= 0 else f"({int(value)})")
        self.prec = prec
        return self

    __repr__ = int.__repr__
    __str__ = int.__repr__

    def __add__(self, other):
        return _binary(self, other, "+", ADD, int(self) + int(other))

    def __radd__(self, other):
        return _binary(other, self, "+", ADD, int(other) + int(self))

    def __sub__(self, other):
        return _binary(self, other, "-", ADD, int(self) - int(other))

    def __rsub__(self, other):
        return _binary(other, self, "-", ADD, int(other) - int(self))

    def __mul__(self, other):
        return _binary(self, other, "×", MUL, int(self) * int(other))

    def __rmul__(self, other):
        return _binary(other, self, "×", MUL, int(other) * int(self))

    def __floordiv__(self, other):
        return Traced(int(self) // int(other), f"⌊{_text(self, MUL)}/{_text(other, ATOM)}⌋")

    def __rfloordiv__(self, other):
        return Traced(int(other) // int(self), f"⌊{_text(other, MUL)}/{_text(self, ATOM)}⌋")

    def __mod__(self, other):
        return Traced(int(self) % int(other), f"({_text(self, MUL)} mod {_text(other, ATOM)})")

    def __neg__(self):
        return Traced(-int(self), f"-{_text(self, ATOM)}", ADD)

    def __pos__(self):
        return self


def _text(value, need):
    """The text of a value, in parentheses when it binds looser than its place needs."""
    if isinstance(value, Traced):
        return value.text if value.prec >= need else f"({value.text})"
    return str(value) if value >= 0 else f"({value})"


def _binary(left, right, symbol, prec, value):
    # The right side of "-" must be wrapped when it is itself a sum: a-(b+c).
    right_need = prec + 1 if symbol == "-" else prec
    return Traced(value, f"{_text(left, prec)}{symbol}{_text(right, right_need)}", prec)


def is_symbolic(value):
    return not isinstance(value, (int, bool))


def floor_div(a, b):
    """floor(a / b) for ints, traced ints and sympy."""
    return a // b


def ceil_div(a, b):
    """ceil(a / b)."""
    if is_symbolic(a) or is_symbolic(b):
        import sympy

        return sympy.ceiling(a / b)
    if isinstance(a, Traced) or isinstance(b, Traced):
        return Traced(-(-int(a) // int(b)), f"⌈{_text(a, MUL)}/{_text(b, ATOM)}⌉")
    return -(-a // b)


def trunc_div(a, b):
    """C++ integer division (rounds toward zero), as TensorFlow and ONNX compute it."""
    if is_symbolic(a) or is_symbolic(b):
        import sympy

        q = a / b
        return sympy.Piecewise((sympy.floor(q), a >= 0), (sympy.ceiling(q), True))
    value = abs(int(a)) // abs(int(b)) * (1 if (a >= 0) == (b > 0) else -1)
    if isinstance(a, Traced) or isinstance(b, Traced):
        return Traced(value, f"trunc({_text(a, MUL)}/{_text(b, ATOM)})")
    return value


def maximum(a, b):
    if is_symbolic(a) or is_symbolic(b):
        import sympy

        return sympy.Max(a, b)
    if isinstance(a, Traced) or isinstance(b, Traced):
        return Traced(max(int(a), int(b)), f"max({_text(a, ADD)}, {_text(b, ADD)})")
    return max(a, b)


def minimum(a, b):
    if is_symbolic(a) or is_symbolic(b):
        import sympy

        return sympy.Min(a, b)
    if isinstance(a, Traced) or isinstance(b, Traced):
        return Traced(min(int(a), int(b)), f"min({_text(a, ADD)}, {_text(b, ADD)})")
    return min(a, b)


def where(condition, if_true, if_false):
    """``if_true if condition else if_false``, also when the condition is symbolic."""
    if isinstance(condition, bool):
        return if_true if condition else if_false
    import sympy

    return sympy.Piecewise((if_true, condition), (if_false, True))


def settle(value):
    """Forget how a traced value was computed, keeping the number (for named intermediates)."""
    return Traced(int(value)) if isinstance(value, Traced) else value


# ---- the canonical formulas -------------------------------------------------------------


def effective_kernel(kernel, dilation):
    """Shape: ek = d*(k-1) + 1."""
    return dilation * (kernel - 1) + 1


def conv_out(n, kernel, stride, dilation, before, after):
    """Shape: out = floor((n + before + after - d*(k-1) - 1) / s) + 1."""
    return floor_div(n + before + after - dilation * (kernel - 1) - 1, stride) + 1


def conv_transpose_out(n, kernel, stride, dilation, before, after, output_padding):
    """Shape: out = (n - 1)*s - before - after + d*(k-1) + output_padding + 1."""
    return (n - 1) * stride - before - after + dilation * (kernel - 1) + output_padding + 1


def same_out(n, stride):
    """Shape: out = ceil(n / s) -- every framework's SAME for a forward window."""
    return ceil_div(n, stride)


def same_total(n, kernel, stride, dilation=1):
    """Shape: (ceil(n/s) - 1)*s + ek - n: what SAME must pad in all to keep ceil(n/s) outputs --
    negative when the kernel is shorter than the stride (some runtimes then pad negatively)."""
    return (ceil_div(n, stride) - 1) * stride + effective_kernel(kernel, dilation) - n


def same_total_pad(n, kernel, stride, dilation):
    """Shape: T = max(0, (ceil(n/s) - 1)*s + ek - n): the padding SAME adds in all."""
    return maximum(0, same_total(n, kernel, stride, dilation))


def split_pad(total, extra_at_end=True):
    """(before, after) for a total pad; the odd pixel goes to the end or to the start."""
    # The pads are shown in their own column, so formulas use them as plain numbers.
    total = settle(total)
    small = settle(floor_div(total, 2))
    return (small, settle(total - small)) if extra_at_end else (settle(total - small), small)


def conv_preimage(out, kernel, stride, dilation, before, after):
    """Every n with conv_out(n) == out: the s consecutive sizes a strided conv folds together.

    >>> conv_preimage(3, 3, 2, 1, 1, 1)
    range(5, 7)
    """
    lowest = (out - 1) * stride + effective_kernel(kernel, dilation) - before - after
    return range(lowest, lowest + stride)


def floor_scale(n, scale):
    """Shape: out = floor(n * scale), the product taken in float64 as torch and numpy do."""
    if is_symbolic(n):
        import sympy

        return sympy.floor(n * sympy.Rational(repr(scale)))
    value = int(float(n) * scale)
    return Traced(value, f"⌊{_text(n, MUL)}×{scale:g}⌋") if isinstance(n, Traced) else value


def all_of(conditions):
    """``all(conditions)``, also when some are symbolic (then a sympy And)."""
    conditions = list(conditions)
    if all(isinstance(c, bool) for c in conditions):
        return all(conditions)
    import sympy

    return sympy.And(*conditions)


def equal(a, b):
    """``a == b``, also when one is symbolic (then a sympy Eq: ``==`` on sympy compares the expressions'
    structure, so ``Max(0, H - 2) + 2 == H`` would be False for every H)."""
    if not (is_symbolic(a) or is_symbolic(b)):
        return a == b
    import sympy

    return sympy.Eq(a, b)


def unequal(a, b):
    """``a != b`` by value, also when one is symbolic (a sympy Ne; see equal)."""
    if not (is_symbolic(a) or is_symbolic(b)):
        return a != b
    import sympy

    return sympy.Ne(a, b)


def any_of(conditions):
    conditions = list(conditions)
    if all(isinstance(c, bool) for c in conditions):
        return any(conditions)
    import sympy

    return sympy.Or(*conditions)
