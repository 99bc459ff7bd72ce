"""convert(): the equivalent conv / convT layer in another framework, proved on numbers.

A conv or transposed conv with kernel k, stride s and dilation d is fixed, values and all, by two
numbers per axis that forward() resolves for each framework (the executor's
:class:`~tconvcalc.numeric.executor.Geometry`): ``before`` (conv: the pad before the input; convT: the
crop at the start of the full scatter result) and the output size. So:

* **exact**: a target layer (found by :func:`tconvcalc.solve.solve` with the same kernel, stride and
  dilation, or with the source's own resolved pads) whose geometry has the same ``before`` and output;
* **extra**: otherwise the target's VALID layer plus a pad/crop -- of the input for a conv (pad
  ``before`` and exactly what the last window needs), of the output for a convT (the full result
  cropped to the source's window, zeros where the source's output_padding reaches past it);
* **impossible**: the target refuses even that (its own message is the reason), or has no such layer.

Every verdict except impossible is proved by the executor: the source layer and the target layer
(plus the extra pad/crop) run on the same random data with the same weights -- moved to the target's
layout, and spatially flipped when exactly one side is jax's conv_transpose, which runs its kernel
unflipped -- and must agree to 1e-9.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, TconvError
from ..forward import forward
from ..layer import build_layer
from .executor import _span, buffers, check_held, geometry, run, weight_shape, window
from .verify import random_data

TOLERANCE = 1e-9
KINDS = ("conv", "convT")


@dataclass(frozen=True)
class ConvertResult:
    source: str  # "from" in JSON
    target: str  # "to" in JSON
    verdict: str  # "exact", "extra" or "impossible"
    code: str | None  # the target layer (and how to move the weights)
    extra: str | None  # the pad/crop to add, as code in the target framework
    max_abs_diff: float | None  # executor: source vs target (+ extra) on the same data and weights
    reason: str
    # for tests and the framework check: the layers and the pad/crop as numbers
    source_layer: object = None
    target_layer: object = None
    target_input: tuple | None = None  # the target layer's input size (conv: after the pre-pad)
    pads: tuple | None = None  # per axis (before, after): + pad, - crop; of the input (conv) or output (convT)

    def as_json(self):
        return {"from": self.source, "to": self.target, "verdict": self.verdict, "code": self.code,
                "extra": self.extra, "max_abs_diff": self.max_abs_diff, "reason": self.reason}


# ---- weights: every framework's layout, as axis names ------------------------------------------


def layout(framework, kind, rank):
    """The weight layout: O = output channels, I = input channels (per group), 0.. = spatial axes."""
    spatial = tuple(str(j) for j in range(rank))
    if framework in ("tf", "keras"):
        return (*spatial, "I", "O") if kind == "conv" else (*spatial, "O", "I")
    if framework == "jax":
        return ("O", "I", *spatial)  # conv_general_dilated and conv_transpose: OIHW (dimension_numbers)
    return ("O", "I", *spatial) if kind == "conv" else ("I", "O", *spatial)  # torch, onnx


def flips(layer):
    return layer.kind == "convT" and layer.framework == "jax"


def weights_code(source, target):
    """How to move the source's weights into the target layer, or None when they go as they are."""
    a, b = layout(source.framework, source.kind, source.rank), layout(target.framework, target.kind, target.rank)
    perm = tuple(a.index(name) for name in b)
    steps, expr = [], "w"
    if flips(source) != flips(target):
        spatial = tuple(a.index(str(j)) for j in range(source.rank))
        expr = f"np.flip({expr}, axis={spatial})"
        steps.append("flip the kernel's spatial axes (jax's conv_transpose runs it unflipped; "
                     "or pass transpose_kernel=True there)")
    if perm != tuple(range(len(perm))):
        expr = f"np.transpose({expr}, {perm})"
        steps.append(f"{source.framework} {'x'.join(a)} -> {target.framework} {'x'.join(b)}")
    if not steps:
        return None
    return f"w_{target.framework} = {expr}  # {'; '.join(steps)}"


# ---- pad / crop code ---------------------------------------------------------------------------


def pad_code(framework, pads, name):
    """``name`` padded (+) / cropped (-) by (before, after) per spatial axis, in the target's idiom."""
    if all(b == 0 and a == 0 for b, a in pads):
        return None
    if framework == "torch":
        flat = [v for b, a in reversed(pads) for v in (b, a)]
        return f"{name} = F.pad({name}, {tuple(flat)})  # last axis first; negative = crop"
    if framework == "jax":
        config = ", ".join(["(0, 0, 0)"] * 2 + [f"({b}, {a}, 0)" for b, a in pads])
        return f"{name} = lax.pad({name}, 0.0, ({config}))  # NC...; negative = crop"
    if framework == "onnx":
        begins = [0, 0] + [b for b, _ in pads]
        ends = [0, 0] + [a for _, a in pads]
        return (f'helper.make_node("Pad", ["{name}", "pads"], ["{name}_padded"], mode="constant")  '
                f"# pads = {begins + ends} (int64 initializer; negative = crop)")
    if framework == "keras":
        return _keras_pad_code(pads, name)
    # tf: channels last; tf.pad takes no negative pads -> pad, then slice
    fn = "tf.pad"
    lines = []
    if any(b > 0 or a > 0 for b, a in pads):
        widths = ", ".join(["[0, 0]"] + [f"[{max(b, 0)}, {max(a, 0)}]" for b, a in pads] + ["[0, 0]"])
        lines.append(f"{name} = {fn}({name}, [{widths}])")
    if any(b < 0 or a < 0 for b, a in pads):
        cuts = ", ".join([":"] + [f"{-b if b < 0 else ''}:{a if a < 0 else ''}" for b, a in pads] + [":"])
        lines.append(f"{name} = {name}[{cuts}]")
    return "\n".join(lines)


def _keras_pad_code(pads, name):
    """Keras layers: ZeroPadding{r}D for the pads (zeros, non-negative), then Cropping{r}D for the crops (non-negative)
    -- an axis may need both, a pad before and a crop after."""
    r, lines = len(pads), []
    for layer, keyword, amounts in (("ZeroPadding", "padding", [(max(b, 0), max(a, 0)) for b, a in pads]),
                                    ("Cropping", "cropping", [(max(-b, 0), max(-a, 0)) for b, a in pads])):
        if any(b or a for b, a in amounts):
            value = amounts[0] if r == 1 else tuple(amounts)
            lines.append(f"{name} = layers.{layer}{r}D({keyword}={value})({name})")
    return "\n".join(lines)


def apply_pads(x, pads):
    """The numbers behind pad_code: zeros added (+) or positions removed (-) on each spatial axis."""
    return window(x, 2, [-b for b, _ in pads], [n + b + a for n, (b, a) in zip(x.shape[2:], pads)])


# ---- finding the target layer ------------------------------------------------------------------


def _text(values):
    return "x".join(str(int(v)) for v in values)


def _pairs_text(pairs):
    return "x".join(f"{int(b)}:{int(a)}" for b, a in pairs)


def _build(kind, framework, rank, backend, **options):
    options = {k: v for k, v in options.items() if v is not None}
    return build_layer(kind, framework, rank, backend=backend if framework == "keras" else None, **options)


def _from_solution(solution, kind, framework, rank, backend):
    def text(value):
        if value is None:
            return None
        return _text(value) if isinstance(value, tuple) else str(value)

    padding = solution.padding
    if isinstance(padding, tuple) and padding and isinstance(padding[0], list):
        padding = _pairs_text(padding)
    else:
        padding = text(padding)
    return _build(kind, framework, rank, backend, kernel=text(solution.kernel), stride=text(solution.stride),
                  dilation=text(solution.dilation), padding=padding,
                  output_padding=text(solution.output_padding) if kind == "convT" else None,
                  output_size=text(solution.output_size))


def _same_shape_candidates(source, g, framework, backend):
    """Target layers with the same kernel, stride, dilation and output on this input, best first: the
    solver's (padding words, symmetric pads, output_padding, tf's output_shape), then the target built
    directly with explicit (before, after) pads that give the source's ``before`` (the solver works one
    axis at a time, so it misses pads a framework takes only at some ranks, like tf's 2-D-only pairs)."""
    from ..solve import solve

    fixed = {"kernel": tuple(g.kernel), "stride": tuple(g.stride), "dilation": tuple(g.dilation)}
    try:
        found = solve(tuple(g.input), tuple(g.output), kinds=(source.kind,), frameworks=(framework,),
                      fixed=fixed, backend=backend, limit=0).solutions
    except TconvError:
        found = ()
    seen = set()
    for solution in found:
        try:
            layer = _from_solution(solution, source.kind, framework, source.rank, backend)
        except TconvError:
            continue
        if layer not in seen:
            seen.add(layer)
            yield layer
    for options in _explicit_options(source, g):
        try:
            layer = _build(source.kind, framework, source.rank, backend, kernel=_text(g.kernel),
                           stride=_text(g.stride), dilation=_text(g.dilation), **options)
        except TconvError:
            continue
        if layer not in seen:
            seen.add(layer)
            yield layer


def _explicit_options(source, g):
    """Explicit pads (and output_padding / output size) that reproduce the geometry ``g``, in each
    framework's convention; the target's forward() decides which of them it takes."""
    from ..forward import forward as shape

    axes = shape(source, tuple(g.input)).axes
    own = tuple(tuple(int(v) for v in ax.pads) for ax in axes) if all(ax.pads for ax in axes) else ()
    k, s, d, n, b, o = g.kernel, g.stride, g.dilation, g.input, g.before, g.output
    if g.kind == "conv":
        need = tuple(_span(oj, kj, sj, dj) - nj - bj for oj, kj, sj, dj, nj, bj in zip(o, k, s, d, n, b))
        for pairs in (own, tuple(zip(b, need)), tuple((bj, bj) for bj in b)):
            if pairs:
                yield {"padding": _pairs_text(pairs)}
        return
    full = tuple(_span(nj, kj, sj, dj) for nj, kj, sj, dj in zip(n, k, s, d))
    after = tuple(f - bj - oj for f, bj, oj in zip(full, b, o))  # the crop at the end (negative: zeros added)
    symmetric_op = tuple(oj - (f - 2 * bj) for f, bj, oj in zip(full, b, o))
    out = _text(o)
    choices = [
        {"padding": _pairs_text(zip(b, after))},  # crops, torch/onnx/tf convention
        {"padding": _pairs_text((bj, max(aj, 0)) for bj, aj in zip(b, after)),
         "output_padding": _text(max(-aj, 0) for aj in after)},
        {"padding": _pairs_text((bj, bj) for bj in b), "output_padding": _text(symmetric_op)},
        # jax: (lo, hi) on the stride-dilated input, lo = d(k-1) - crop
        {"padding": _pairs_text((dj * (kj - 1) - bj, oj + bj - (nj - 1) * sj - 1)
                                for kj, dj, bj, oj, nj, sj in zip(k, d, b, o, n, s))},
    ]
    if own:
        choices.insert(0, {"padding": _pairs_text(own)})
    for options in choices:
        if "output_padding" in options and min(int(v) for v in options["output_padding"].split("x")) < 0:
            continue
        yield options
        yield {**options, "output_size": out}  # tf: the caller passes the output shape


def _valid_layer(source, framework, backend):
    """The target's layer with no padding (conv: VALID; convT: the full scatter result)."""
    padding = "valid" if framework in ("keras", "tf", "jax", "onnx") or source.kind == "conv" else "0"
    return _build(source.kind, framework, source.rank, backend, kernel=_text(source.kernel),
                  stride=_text(source.stride), dilation=_text(source.dilation), padding=padding)


# ---- the proof ---------------------------------------------------------------------------------


def _data(g, channels, seed):
    rng = np.random.default_rng(seed)
    c_in, c_out = channels
    x = random_data(rng, (1, c_in, *g.input))
    w = random_data(rng, weight_shape(g, c_in, c_out))
    return x, w


def target_weights(w, source, target):
    """The source's weights (executor layout) as the target layer must hold them to compute the same."""
    return np.flip(w, axis=tuple(range(2, w.ndim))).copy() if flips(source) != flips(target) else w


def target_output(x, w, source, tg, pads):
    """The target layer (geometry ``tg``) with the pad/crop, on the source's data and weights."""
    wt = target_weights(w, source, tg.layer)
    if tg.kind == "conv":
        return run(apply_pads(x, pads), wt, tg)
    return apply_pads(run(x, wt, tg), pads)


def _diff(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def convert(source, size, target_framework, backend="tensorflow", channels=(2, 3), seed=0):
    """The equivalent of ``source`` (a conv/convT Layer) on ``size`` in ``target_framework``."""
    if source.kind not in KINDS:
        raise InputError(f"convert handles conv and convT layers, not {source.kind}")
    size = tuple(int(n) for n in size)
    g = geometry(source, size)  # the source's refusal is the user's error (exit 1)
    check_held(buffers(g, 1, *channels), "convert", copies=4)  # the source's run, each candidate's, pads
    x, w = _data(g, channels, seed)
    expected = run(x, w, g)

    for layer in _same_shape_candidates(source, g, target_framework, backend):
        try:
            tg = geometry(layer, size)
        except TconvError:
            continue
        if tg.before != g.before or tg.output != g.output:
            continue
        none = ((0, 0),) * source.rank
        diff = _diff(target_output(x, w, source, tg, none), expected)
        if diff <= TOLERANCE:
            return _result(source, tg, "exact", None, diff, none, size,
                           f"same output {_text(g.output)} and the same {_what(g)} {_text(g.before)} per axis")

    try:
        valid = _valid_layer(source, target_framework, backend)
        if source.kind == "conv":
            pads = tuple((b, _span(o, kj, sj, dj) - n - b) for b, o, kj, sj, dj, n in
                         zip(g.before, g.output, g.kernel, g.stride, g.dilation, size))
            tg = geometry(valid, tuple(n + b + a for n, (b, a) in zip(size, pads)))
        else:
            tg = geometry(valid, size)
            pads = tuple((-b + tb, o - (to - b + tb)) for b, tb, o, to in zip(g.before, tg.before, g.output, tg.output))
    except TconvError as error:
        empty = ("the source's output is empty (0 on an axis) and " if 0 in g.output else "")
        return ConvertResult(source.framework, target_framework, "impossible", None, None, None,
                             f"{empty}{target_framework} has no layer with the same values: its layer with no padding "
                             f"(kernel {_text(source.kernel)}, stride {_text(source.stride)}, dilation "
                             f"{_text(source.dilation)}) is refused: {' '.join(str(error).split())}",
                             source, None, None, None)
    diff = _diff(target_output(x, w, source, tg, pads), expected)
    if not diff <= TOLERANCE:  # never expected: the geometry argument says they agree
        return ConvertResult(source.framework, target_framework, "impossible", None, None, diff,
                             f"the executor found no equivalent (VALID + pad/crop differs by {diff:.3g})",
                             source, tg.layer, tuple(tg.input), pads)
    where = "input before" if source.kind == "conv" else "output after"
    reason = (f"no {target_framework} padding gives the same {_what(g)} {_text(g.before)} with output "
              f"{_text(g.output)}: its {'VALID' if target_framework != 'torch' else 'unpadded'} layer with a "
              f"pad/crop of the {where} the layer, per axis {_pairs_text(pads)} (+ pad, - crop)")
    return _result(source, tg, "extra", pad_code(target_framework, pads, "x" if source.kind == "conv" else "y"),
                   diff, pads, tuple(tg.input), reason)


def _what(g):
    return "pad before" if g.kind == "conv" else "crop at the start"


def _result(source, tg, verdict, extra, diff, pads, target_input, reason):
    code = forward(tg.layer, tuple(tg.input)).code
    weights = weights_code(source, tg.layer)
    if weights:
        code += "\n" + weights
    if tg.chosen_output:
        reason += f" ({tg.layer.framework} takes the output shape from the caller: {_text(tg.output)})"
    return ConvertResult(source.framework, tg.layer.framework, verdict, code, extra, diff, reason,
                         source, tg.layer, tuple(target_input), tuple(pads))
