"""The exact set of valid input sizes, for one layer or a whole network.

Each strided layer folds s inputs together, so whether a size is valid repeats with the product of
the strides once the size is past the layer's own numbers (kernel extent, pads, output size). The
rules are evaluated over several periods past that point, and the valid residues reduced to the
smallest period: exact, with nothing but the numeric rules. Free of sympy and of forward/network,
so both can use it.
"""

import math
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_PERIOD = 2048  # scanning 8 periods of a longer one would take many seconds
REACH = 4096  # a network scans this far past its periods: its layers' numbers compound
MAX_SCAN = 8 * MAX_PERIOD + REACH  # sizes evaluated at most (a layer's rule costs ~10-20 µs)


@dataclass(frozen=True)
class ValidInputs:
    description: str  # "H ≡ 0 (mod 16), H ≥ 16"
    modulus: int
    residues: tuple  # the valid sizes n >= threshold are exactly those with n % modulus in residues
    threshold: int
    below: tuple  # the valid sizes under the threshold

    @property
    def every_size(self):
        return self.modulus == 1 and self.residues == (0,) and self.threshold == 1


def period(layers):
    """Validity is periodic in the input size with this period (for sizes past a threshold): each
    strided layer folds s inputs together, a scale p/q repeats every q. ``None`` entries (merges) skip."""
    total = 1
    for layer in layers:
        if layer is None:
            continue
        if layer.kind in ("conv", "maxpool", "avgpool", "depthwise", "separable", "lppool"):
            total *= math.lcm(*layer.stride)  # axes of one size: each axis repeats with its own stride
        elif layer.kind == "pixelunshuffle":  # the size must divide by the block
            total *= int(layer.scale[0])
        elif layer.kind == "upsample":
            total *= math.lcm(*(Fraction(f).limit_denominator(1000).denominator for f in layer.scale or (1,)))
    return total


def reach(layer, margin=True):
    """A size past which one layer's validity is periodic. Every rule compares sizes that grow with the
    input (n, n·s, n/s) with the layer's own numbers, so past their sum each rule is decided or repeats
    with the stride; twice that sum, plus a margin, is safely past (without ``margin``: the sum, for a
    network, whose bounds compose and multiply it by its strides)."""
    numbers = [*layer.kernel, *layer.stride, *layer.dilation, *(layer.output_padding or ()),
               *(v for v in layer.output_size or () if v is not None)]
    numbers += [k * d for k, d in zip(layer.kernel, layer.dilation)]
    if not isinstance(layer.padding, str):
        numbers += [abs(p) for pair in layer.padding for p in pair]
    numbers += [math.ceil(1 / f) for f in layer.scale or ()]
    return 2 * sum(numbers) + 64 if margin else sum(numbers) + 1


def growth(layer):
    """A lower bound on the layer's output: ``(a, c)`` with out >= a·n - c for every input n it accepts, or
    ``(0, 0)`` where the output is fixed (an output size is given); None for a layer kind it does not know.
    Each is the canonical formula with its floor taken at its worst, so a stack's bounds stay tight."""
    kind, stride = layer.kind, layer.stride
    explicit = not isinstance(layer.padding, str) and layer.padding
    pads = min(b + a for b, a in layer.padding) if explicit else 0  # padding words apply pads >= 0
    extent = max((d * (k - 1) + 1 for k, d in zip(layer.kernel, layer.dilation)), default=1)
    if layer.output_size is not None and kind in ("convT", "unpool", "upsample") or \
            kind.startswith("adaptive") and None not in layer.output_size:
        return Fraction(0), Fraction(0)
    if kind in ("conv", "maxpool", "avgpool", "depthwise", "separable", "lppool"):
        s = max(stride)  # floor((n + pads - extent) / s) + 1 >= (n + pads - extent + 1) / s
        return Fraction(1, s), Fraction(extent - 1 - pads, s)
    if kind in ("convT", "unpool"):
        s = min(stride)  # (n - 1)·s - pads + extent + output_padding; jax's explicit pads add instead
        if layer.framework == "jax" and explicit:
            return Fraction(s), Fraction(s + extent + max(abs(b) + abs(a) for b, a in layer.padding))
        return Fraction(s), Fraction(s + max(b + a for b, a in layer.padding) - extent if explicit else s)
    if kind == "upsample":  # floor(n·scale), the scale rounded down to be safe
        return Fraction(min(layer.scale)).limit_denominator(1000) * Fraction(999, 1000), Fraction(1)
    if kind == "pixelshuffle":
        return Fraction(int(layer.scale[0])), Fraction(0)
    if kind == "pixelunshuffle":  # floor(n/r) >= n/r - (r-1)/r
        r = int(layer.scale[0])
        return Fraction(1, r), Fraction(r - 1, r)
    if kind == "pad":
        return Fraction(1), Fraction(-pads)
    return None


def scan(is_valid, period, symbol="H", reach=REACH):
    """The valid sizes of ``is_valid`` (a predicate on n >= 1, periodic with ``period`` past ``reach``)
    as a congruence past a bound; None where that cannot be read within MAX_SCAN sizes."""
    span = 8 * period + reach
    if period > MAX_PERIOD or span > MAX_SCAN:
        return None
    ok = [False] + [is_valid(n) for n in range(1, span + 1)]
    threshold = 1 + max((n for n in range(1, span - period + 1) if ok[n] != ok[n + period]), default=0)
    if threshold > span - 4 * period:  # not seen to repeat for long enough to trust it
        return None
    modulus, residues = _smallest_period(period, sorted({n % period for n in range(threshold, threshold + period)
                                                         if ok[n]}))
    congruent = lambda n: n % modulus in residues  # noqa: E731
    # Walk the bound down while the congruence still describes every size exactly.
    bound = threshold
    while bound > 1 and ok[bound - 1] == congruent(bound - 1):
        bound -= 1
    below = tuple(n for n in range(1, bound) if ok[n])
    first = next((n for n in range(bound, bound + modulus) if congruent(n)), None)
    return ValidInputs(_describe(symbol, modulus, residues, first, below), modulus, tuple(residues), bound, below)


def least_valid(is_valid, symbol="H", limit=2**31 - 1):
    """The valid sizes of an upward-closed ``is_valid`` (valid at n, valid past n): ``N <= H`` for the least
    valid N, found by doubling then bisection -- no period to scan, however long."""
    high = 1
    while not is_valid(high):
        if high >= limit:
            return ValidInputs(_describe(symbol, 1, (), None, ()), 1, (), 1, ())
        high = min(2 * high, limit)
    low = high // 2  # invalid (or 0): the least valid size is in (low, high]
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if is_valid(middle) else (middle, high)
    return ValidInputs(_describe(symbol, 1, (0,), high, ()), 1, (0,), high, ())


def scanned_warnings(warnings_at, period, symbol="H", reach=REACH):
    """Each warning ``warnings_at(n)`` gives, with the sizes it applies to, read like the valid sizes (``at H
    = 1: ...``, ``when H ≡ 1 (mod 2), H ≥ 3, e.g. H = 3: ...``); a warning is known by its text with the numbers
    taken out. None where that cannot be read."""
    seen = {}

    def at(n):
        if n not in seen:
            seen[n] = tuple(warnings_at(n))
        return seen[n]

    if scan(lambda n: bool(at(n)), period, symbol, reach) is None:  # also evaluates every n the scans read
        return None
    examples = {}
    for n in sorted(seen):
        for text in seen[n]:
            examples.setdefault(_without_numbers(text), (n, text))
    described = []
    for key, (n, text) in examples.items():
        where = scan(lambda m: key in map(_without_numbers, at(m)), period, symbol, reach)
        if where is None:
            return None
        if where.every_size:
            described.append(text if key == text else f"for every {symbol}, e.g. {symbol} = {n}: {text}")
        elif where.below == (n,) and not where.residues:
            described.append(f"at {symbol} = {n}: {text}")
        else:
            described.append(f"when {where.description}, e.g. {symbol} = {n}: {text}")
    return tuple(described)


def _without_numbers(text):
    return re.sub(r"-?\d+", "#", text)


def _describe(symbol, modulus, residues, first, below):
    """``3 <= H``, ``H ≡ 0 (mod 16), H ≥ 16``, ``H mod 4 ∈ {1, 2}, H ≥ 5; also H ∈ {2}``, ``H ∈ {50, 51}``."""
    listed = f"{symbol} ∈ {{{', '.join(map(str, below))}}}"
    if first is None:
        return listed if below else "no input size is valid"
    if modulus == 1:
        description = f"{first} <= {symbol}"
    else:
        congruence = (f"{symbol} ≡ {residues[0]} (mod {modulus})" if len(residues) == 1
                      else f"{symbol} mod {modulus} ∈ {{{', '.join(map(str, residues))}}}")
        description = f"{congruence}, {symbol} ≥ {first}"
    return f"{description}; also {listed}" if below else description


def _smallest_period(p, residues):
    for candidate in range(1, p + 1):
        if p % candidate == 0:
            reduced = sorted({r % candidate for r in residues})
            if all((r % candidate) in reduced for r in residues) and \
                    len(reduced) * (p // candidate) == len(residues):
                return candidate, reduced
    return p, residues
