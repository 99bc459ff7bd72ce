"""forward(): the output size of one layer in one framework, or the framework's refusal."""

import functools
from dataclasses import dataclass, replace

from .arithmetic import Traced, conv_out, conv_transpose_out, effective_kernel, is_symbolic, same_out
from .checks import Checks
from .errors import InputError, ShapeError
from .frameworks import module, not_available
from .validity import period, reach, scan, scanned_warnings


@dataclass(frozen=True)
class AxisResult:
    input: object
    output: object  # None where the caller chooses (tf conv_transpose without --output-size)
    pads: tuple | None  # (before, after) as the framework applies them
    output_padding: object
    formula: str  # the formula with this axis's numbers: "(126-1)×2-0-0+1×(4-1)+0+1 = 254"
    accepted: tuple | None  # every output the caller may choose (convT), else None
    pad_formula: str | None = None  # a padding word's total pad with the numbers, "(63-1)×2+3-126 = 1"


@dataclass(frozen=True)
class ForwardResult:
    framework: str
    layer: str
    input: tuple
    output: tuple | None
    axes: tuple
    accepted_outputs: tuple | None
    condition: str | None  # symbolic sizes: when the framework accepts the layer
    warnings: tuple
    notes: tuple
    code: str


def forward(layer, size):
    """The output of ``layer`` for input ``size`` (ints, or symbol names for symbolic sizes).

    >>> from tconvcalc.layer import build_layer
    >>> forward(build_layer("convT", "torch", 1, kernel=4, stride=2, padding=1), (126,)).output
    (252,)

    Raises ShapeError, in the framework's words, where the framework refuses.
    """
    if len(size) != layer.rank:
        raise ValueError(f"size {size} has {len(size)} axes, the layer {layer.rank}")
    compute = module(layer.framework).LAYERS.get(layer.kind)
    if compute is None:
        not_available(f"{layer.framework} has no {layer.kind} layer")
    symbolic = any(not isinstance(n, int) for n in size)
    if symbolic:
        from .symbolic import symbols

        _symbolic_bounds(layer)
        sizes, traced_layer = symbols(size), layer
    else:
        sizes, traced_layer = tuple(Traced(n) for n in size), _traced(layer)
    checks = Checks()
    try:
        axes = compute(traced_layer, sizes, checks)
    except ShapeError as error:  # the refusal says what to do instead, where the rules can tell
        if error.hint is None:
            from .hints import for_refusal

            error.hint = for_refusal(layer, size)
        raise
    condition, warnings = None, tuple(dict.fromkeys(checks.warnings))
    if symbolic:
        from .symbolic import simplify

        axes = [replace(ax, output=None if ax.output is None else simplify(ax.output),
                        pads=None if ax.pads is None else tuple(simplify(p) if getattr(p, "free_symbols", None)
                                                                else p for p in ax.pads)) for ax in axes]
        values = _by_values(layer, size)
        condition = _condition(layer, size, checks.conditions, values)
        warnings = _scanned_warnings(layer, warnings, values)
    results = tuple(_axis_result(_plain(n), ax, None if symbolic else _Axis(layer, i, n))
                    for i, (n, ax) in enumerate(zip(size, axes)))
    outputs = tuple(r.output for r in results)
    return ForwardResult(
        framework=layer.framework,
        layer=layer.kind,
        input=tuple(_plain(n) for n in size),
        output=None if None in outputs else outputs,
        axes=results,
        accepted_outputs=(tuple(r.accepted for r in results)
                          if layer.kind == "convT" and not symbolic else None),
        condition=condition,
        warnings=warnings,
        notes=tuple(checks.notes),
        code=module(layer.framework).code(layer, axes),
    )


@functools.lru_cache(maxsize=1024)  # a network repeats its blocks: the same layer on the same size
def symbolic(layer, size):
    """(sympy output per axis -- None where the caller chooses --, warnings, code) for sizes that are
    sympy expressions: what a chain passes from layer to layer, in one pass."""
    from .symbolic import simplify, symbols

    _symbolic_bounds(layer)
    checks = Checks()
    axes = module(layer.framework).LAYERS[layer.kind](layer, symbols(size), checks)
    outputs = tuple(None if ax.output is None else simplify(ax.output) for ax in axes)
    return outputs, tuple(dict.fromkeys(checks.warnings)), module(layer.framework).code(layer, axes)


def _by_values(layer, size):
    """With one symbol in ``size`` (on every axis, or beside numbers): (the symbol, a function of its value
    n giving (accepted, warnings) by the numeric rules, remembered per n); else None."""
    names = {n for n in size if not isinstance(n, int)}
    if len(names) != 1 or not all(isinstance(n, (int, str)) for n in size):
        return None
    (symbol,) = names
    seen = {}

    def at(n):
        if n not in seen:
            try:
                _, checks = evaluate(layer, tuple(n if v == symbol else v for v in size))
                seen[n] = True, tuple(dict.fromkeys(checks.warnings))
            except ShapeError:
                seen[n] = False, ()
        return seen[n]

    return symbol, at


def _condition(layer, size, conditions, values):
    """When the framework accepts the layer, or None for every size. With one symbol: the exact set of its
    values, read from the numeric rules over a few periods as a network's valid inputs are (``3 <= H``,
    ``H ≡ 1 (mod 2), H ≥ 3``); else the rules conjoined by sympy."""
    if not conditions:
        return None
    if values is not None:
        symbol, at = values
        valid = scan(lambda n: at(n)[0], period((layer,)), symbol, reach(layer))
        if valid is not None:
            return None if valid.every_size else valid.description
    from .symbolic import describe_condition

    return describe_condition(conditions)


def _scanned_warnings(layer, warnings, values):
    """Each warning with the values of the symbol it applies to, read from the numeric rules like the
    condition (``at H = 1: the output size is 0 ...``); the sympy texts where that cannot be read."""
    if not warnings or values is None:
        return warnings
    symbol, at = values
    described = scanned_warnings(lambda n: at(n)[1], period((layer,)), symbol, reach(layer))
    return warnings if described is None else described


MAX_SYMBOLIC_STRIDE = 1024


def _symbolic_bounds(layer):
    """The framework modules list a convT's / unpool's accepted outputs one sympy expression per value
    below the stride (or dilation): about 1 ms each, so a symbolic size takes strides up to this."""
    if layer.kind in ("convT", "unpool") and max(layer.stride + layer.dilation, default=1) > MAX_SYMBOLIC_STRIDE:
        raise InputError(f"symbolic sizes take a {layer.kind} stride and dilation up to {MAX_SYMBOLIC_STRIDE}; "
                         f"got {max(layer.stride + layer.dilation)}: give a number")


def evaluate(layer, size, strict=True):
    """The framework's per-axis AxisOut for plain int sizes, with no formula text or code:
    the solver's inner loop. Returns (axes, checks); raises like forward() when strict."""
    checks = Checks(strict)
    return module(layer.framework).LAYERS[layer.kind](layer, size, checks), checks


def _traced(layer):
    """The layer with every number traced, so formulas show them substituted."""
    def trace(values):
        return None if values is None else tuple(Traced(v) for v in values)

    padding = layer.padding
    if not isinstance(padding, str):
        padding = tuple((Traced(b), Traced(a)) for b, a in padding)
    return replace(layer, kernel=trace(layer.kernel), stride=trace(layer.stride),
                   dilation=trace(layer.dilation), padding=padding,
                   output_padding=trace(layer.output_padding))


def _plain(value):
    if value is None:
        return None
    if is_symbolic(value) and getattr(value, "free_symbols", True):  # a settled sympy pad may be a number
        from .symbolic import display

        return display(value)
    return int(value)


def _axis_result(n, ax, axis=None):
    output = ax.output
    if output is None:
        formula = "chosen by the caller"
    elif isinstance(output, Traced) and output.text != str(int(output)):
        formula = f"{output.text} = {int(output)}"
    else:
        formula = str(_plain(output))
    pads = None if ax.pads is None else tuple(_plain(p) for p in ax.pads)
    accepted = None if ax.accepted is None else tuple(_plain(a) for a in ax.accepted)
    pad_formula = None
    if axis is not None and output is not None and pads is not None:
        formula = min([formula, *axis.canonical(int(output), pads, ax.output_padding)], key=len)
        pad_formula = axis.pad_total(int(output), pads, ax.output_padding)
    return AxisResult(n, _plain(output), pads, _plain(ax.output_padding), formula, accepted, pad_formula)


WINDOWS = ("conv", "maxpool", "avgpool")  # the kinds whose output is a sliding window's count


@dataclass(frozen=True)
class _Axis:
    """One axis of a layer, for the formula shown: the canonical form with the applied pads as plain numbers.

    The frameworks compute SAME / auto_pad pads from the output and then the output from the pads (ONNX),
    or through truncating divisions (TF); their traced text nests ⌈…⌉ in trunc(…) for 100 characters. The
    canonical form with the numbers says the same in 25, and is shown only where it gives the very output the
    framework computed (so a ceil_mode drop or a truncation keeps the framework's own text)."""

    layer: object
    index: int
    n: int

    def _values(self):
        layer, i = self.layer, self.index
        dilation = layer.dilation[i] if layer.dilation else 1  # an avgpool's too (onnx, jax; elsewhere -d 1)
        return Traced(self.n), Traced(layer.kernel[i]), Traced(layer.stride[i]), Traced(dilation)

    def canonical(self, output, pads, output_padding):
        """Texts ``formula = output`` of the canonical forms that give ``output``."""
        layer = self.layer
        if layer.kind not in (*WINDOWS, "convT") or not layer.kernel or not all(isinstance(p, int) for p in pads):
            return []
        if layer.input_dilation is not None and set(layer.input_dilation) != {1}:
            return []  # jax's lhs/base dilation: the window runs over (n-1)×ld+1, which the framework's text shows
        n, k, s, d = self._values()
        before, after = Traced(pads[0]), Traced(pads[1])
        if layer.kind in WINDOWS:
            texts = [conv_out(n, k, s, d, before, after)]
            if isinstance(layer.padding, str) and layer.padding.startswith("same") and int(s) > 1:
                texts.append(same_out(n, s))
        elif layer.framework == "jax":  # a stride-1 conv over the stride-dilated input, its pads added
            texts = [(n - 1) * s + before + after - d * (k - 1) + 1]
        else:
            op = Traced(int(output_padding or 0))
            texts = [conv_transpose_out(n, k, s, d, before, after, op)]
        return [f"{t.text} = {int(t)}" for t in texts if int(t) == output]

    def pad_total(self, output, pads, output_padding):
        """A padding word's total pad with the numbers ("(63-1)×2+3-126 = 1"), where the rule gives ``pads``."""
        layer = self.layer
        if not (isinstance(layer.padding, str) and layer.padding != "valid" and layer.kernel
                and all(isinstance(p, int) for p in pads)):
            return None
        n, k, s, d = self._values()
        total = pads[0] + pads[1]
        if layer.kind in WINDOWS:
            # SAME keeps ceil(n/s) outputs: (out-1)*s + ek - n in all; with stride 1 that is d*(k-1)
            raw = d * (k - 1) if int(s) == 1 else (Traced(output) - 1) * s + effective_kernel(k, d) - n
        elif layer.kind == "convT" and layer.framework != "jax":
            raw = (n - 1) * s + effective_kernel(k, d) + Traced(int(output_padding or 0)) - Traced(output)
        else:
            return None
        if int(raw) == total:
            return f"{raw.text} = {total}"
        if int(raw) < 0 and total == 0:  # clamped: a kernel shorter than the stride
            return f"max(0, {raw.text}) = 0"
        return None
