"""What to do instead: the hint a refusal or an empty search carries (core: no I/O, no click).

A hint is found with the framework's own rules -- the same evaluate()/solve() a forward call runs --
never written from a formula of its own, so every layer a hint names is one the framework accepts.
Each function returns a short sentence, or None where there is nothing better to say.
"""

from dataclasses import replace

from .arithmetic import ceil_div, effective_kernel
from .errors import TconvError
from .layer import Layer

# Words a user types for the output each framework lets the caller choose.
CHOSEN_OUTPUT = {"torch": "output_size", "tf": "output_shape", "onnx": "output_shape"}
MAX_STRIDE_TRIED = 256  # strides tried past the lowest that could reach the target
MAX_SCAN = 4096  # how far from the target a reachable size is looked for
MAX_FULL_CHECKS = 8  # sizes per side read with the framework's rules (50 ms-1 s each) before the scan gives up


_busy = []  # a hint is being looked for: the forward()/solve() calls it makes look for none (no recursion)


def _quietly(find):
    """Run ``find`` with hints off for the calls it makes; None where it is itself called while finding one."""
    def wrapper(*args):
        if _busy:
            return None
        _busy.append(True)
        try:
            return find(*args)
        finally:
            _busy.pop()

    return wrapper


@_quietly
def for_refusal(layer, size):
    """The hint for ``forward(layer, size)`` refused (numeric sizes; None for symbolic ones)."""
    if any(not isinstance(n, int) for n in size):
        return None
    try:
        if layer.framework == "torch" and layer.kind == "conv" and layer.padding == "same":
            return _torch_strided_same(layer, size)
        target = _asked_output(layer, size)
        return None if target is None else reach(layer, size, target)
    except TconvError:
        return None


def _asked_output(layer, size):
    """The output the caller asked for: an output_size / output_shape, or what the output_padding would give."""
    if layer.kind in ("convT", "unpool") and layer.output_size is not None:
        return tuple(layer.output_size)
    if layer.kind == "convT" and layer.output_padding is not None:
        from .forward import evaluate

        axes, _ = evaluate(layer, size, strict=False)
        if all(ax.output is not None for ax in axes):
            return tuple(int(ax.output) for ax in axes)
    return None


def reach(layer, size, target):
    """How ``layer`` (its kernel, stride and dilation kept) gives ``target`` from ``size``: the output padding or
    output size to ask for, else the outputs it accepts and the padding or input that gives ``target``."""
    base = replace(layer, output_size=None, output_padding=None)
    asks = _asks(base, size, target)
    if asks:
        return "use " + " or ".join(asks)
    parts = []
    accepted = _accepted(base, size)
    if accepted:
        word = CHOSEN_OUTPUT.get(layer.framework, "output") if layer.kind == "convT" else "output_size"
        parts.append(f"{layer.framework} accepts {word} {accepted} here")
    other = _other_padding(base, size, target)
    if other:
        parts.append(f"for {_text(target)} use {other}")
    inputs = _inputs(base, target)
    if inputs:
        parts.append(f"{'or ' if other else 'for ' + _text(target) + ' '}the input must be {inputs}")
    return "; ".join(parts) or None


def _asks(layer, size, target):
    """The arguments of this very layer (same pads) that give ``target``: output_padding=1, output_size=24."""
    from .forward import evaluate

    try:
        axes, _ = evaluate(layer, size)
    except TconvError:
        axes = None
    asks = []
    if layer.kind == "convT" and axes and all(ax.output is not None for ax in axes):
        ops = tuple(int(t) - int(ax.output) + int(ax.output_padding or 0) for t, ax in zip(target, axes))
        if min(ops) >= 0 and _gives(replace(layer, output_padding=ops), size, target):
            asks.append(f"output_padding={_scalar(ops)}")
    word = CHOSEN_OUTPUT.get(layer.framework) if layer.kind == "convT" else (
        "output_size" if layer.kind == "unpool" else None)
    if word and _gives(replace(layer, output_size=tuple(target)), size, target):
        asks.append(f"{word}={_scalar(target)}")
    return asks


def _gives(layer, size, target):
    from .forward import evaluate

    try:
        axes, _ = evaluate(layer, size)
    except TconvError:
        return False
    return all(ax.output is not None and int(ax.output) == t for ax, t in zip(axes, target))


def _accepted(layer, size):
    """The outputs the caller may choose here, per axis as text ('251, 252'; '22..23')."""
    from .forward import evaluate

    try:
        axes, _ = evaluate(layer, size)
    except TconvError:
        return None
    lists = [list(ax.accepted) for ax in axes if ax.accepted]
    if len(lists) != len(axes):
        return None
    return " x ".join(_ranges(values) for values in lists)


def _other_padding(layer, size, target):
    """The best layer with the same kernel, stride and dilation that gives ``target``, as its arguments."""
    from .solve import Bounds, api_of, solve

    fixed = {"kernel": layer.kernel, "stride": layer.stride, "dilation": layer.dilation, **api_of(layer)}
    widest = max(max(layer.kernel, default=1) * max(layer.dilation, default=1), 8)
    kind = layer.kind if layer.kind in ("conv", "convT", "unpool") else None
    if kind is None:
        return None
    found = solve(tuple(size), tuple(target), (kind,), (layer.framework,), Bounds(padding=widest), fixed,
                  layer.backend, limit=1).solutions
    if not found:
        return None
    best = found[0]
    words = [f"padding={best.padding!r}"]
    if best.output_padding:
        words.append(f"output_padding={best.output_padding}")
    if best.output_size is not None:
        words.append(f"{CHOSEN_OUTPUT.get(layer.framework, 'output_size')}={best.output_size}")
    return ", ".join(words)


def _inputs(layer, target):
    from .solve import inputs_for

    try:
        found = inputs_for(layer, tuple(target)).inputs
    except TconvError:
        return None
    return " x ".join(" or ".join(map(str, axis)) for axis in found) if all(found) else None


def _torch_strided_same(layer, size):
    """torch has no padding='same' with a stride: the explicit padding that gives SAME's size ceil(n/s), and how
    to get SAME's values too where its pads are uneven."""
    from .forward import evaluate

    same, symmetric, exact = [], [], True
    for n, k, s, d in zip(size, layer.kernel, layer.stride, layer.dilation):
        ek = effective_kernel(k, d)
        out = ceil_div(n, s)
        total = max(0, (out - 1) * s + ek - n)
        same.append((total // 2, total - total // 2))
        exact = exact and total % 2 == 0
        symmetric.append((total + 1) // 2)
    pads = tuple((p, p) for p in symmetric)
    try:
        axes, _ = evaluate(replace(layer, padding=pads), size)
    except TconvError:
        return None
    if tuple(int(ax.output) for ax in axes) != tuple(ceil_div(n, s) for n, s in zip(size, layer.stride)):
        return None
    output = "x".join(str(int(ax.output)) for ax in axes)
    padding = _scalar(symmetric)
    if exact:
        return (f"use padding={padding}: the output {output} and the pads of TF/Keras SAME here "
                "(tconvcalc convert conv --from tf --to torch ... proves it on numbers)")
    flat = tuple(v for pair in reversed(same) for v in pair)  # F.pad lists the last axis first
    return (f"use padding={padding} for SAME's size {output}; SAME's own pads here are uneven "
            f"({', '.join(f'{b} before, {a} after' for b, a in same)}): "
            f"F.pad(x, {flat}) then padding=0 gives its values too (tconvcalc convert conv --from tf --to torch)")


# ---- a search that found nothing -----------------------------------------------------------------


def no_solution(size, target, kinds, frameworks, bounds, fixed, backend, nearest):
    """(nearest, hint) for solve() with no solution: the reachable sizes nearest the target, found past
    solve's small window where that window is empty, and what to change -- the output_padding of a layer whose
    kernel and stride are fixed, or the bound that stands in the way (a stride of at least S is needed)."""
    found = _no_solution(size, target, kinds, frameworks, bounds, fixed, backend, nearest)
    return (nearest, None) if found is None else found


@_quietly
def _no_solution(size, target, kinds, frameworks, bounds, fixed, backend, nearest):
    from .solve import _fixed_axis

    for axis, (n, t) in enumerate(zip(size, target)):
        axis_fixed = _fixed_axis(fixed, axis)
        if _reachable(n, t, kinds, frameworks, bounds, axis_fixed, backend):
            continue
        if not nearest:
            nearest = _scan_nearest(n, t, kinds, frameworks, bounds, axis_fixed, backend)
        return nearest, (_fixed_layer_hint(size, target, kinds, frameworks, fixed, backend)
                         or _needed_stride(n, t, kinds, frameworks, bounds, axis_fixed, backend, len(size) > 1, axis))
    return nearest, None


def _fixed_layer_hint(size, target, kinds, frameworks, fixed, backend):
    """One framework's transposed conv with its kernel and stride fixed (solve 12 24 -k 3 -s 2 -p 1
    --output-padding 0): what that very layer needs for the target, as a refused forward() would say."""
    if len(kinds) != 1 or len(frameworks) != 1 or kinds[0] not in ("convT", "unpool"):
        return None
    if fixed.get("kernel") is None or fixed.get("stride") is None:
        return None
    rank = len(size)

    def axes(value, default):
        value = default if value is None else value
        return tuple(value) if isinstance(value, tuple) else (value,) * rank

    padding = fixed.get("padding")
    padding = padding if isinstance(padding, str) else tuple(
        pair if isinstance(pair, tuple) else (pair, pair) for pair in axes(padding, 0))
    output_padding = fixed.get("output_padding")
    layer = Layer(kinds[0], frameworks[0], rank, kernel=axes(fixed["kernel"], 1), stride=axes(fixed["stride"], 1),
                  dilation=axes(fixed.get("dilation"), 1), padding=padding,
                  output_padding=None if output_padding is None else axes(output_padding, 0), backend=backend,
                  api=fixed.get("api", "layers") if frameworks[0] == "keras" else "layers")
    try:
        return reach(layer, tuple(size), tuple(target))
    except TconvError:
        return None


def _reachable(n, t, kinds, frameworks, bounds, fixed, backend):
    from .solve import _reachable as reachable

    return reachable(n, t, kinds, frameworks, bounds, fixed, backend)


def _scan_nearest(n, t, kinds, frameworks, bounds, fixed, backend):
    """The reachable size closest below and above ``t`` (unreachable sizes cost microseconds: solve's stride
    filter rejects them before any layer is read)."""
    found = []
    below = range(t - 1, max(0, t - MAX_SCAN), -1)
    above = range(t + 1, t + MAX_SCAN)
    for side in (below, above):
        hopeful = (c for c in side if _could_reach(n, c, kinds, bounds))
        for tried, c in enumerate(hopeful):
            if tried == MAX_FULL_CHECKS:
                break
            if _reachable(n, c, kinds, frameworks, bounds, fixed, backend):
                found.append(c)
                break
    return tuple(sorted(found))


def _could_reach(n, c, kinds, bounds):
    """A necessary condition, so that a scan skips at once the sizes no layer within the bounds gives. With
    ek = D*(K-1) + 1 at its widest: a conv gives between floor((n - ek)/S) + 1 and n + 2P; a transposed layer
    at most (n-1)S + ek + max(S, D) - 1 (output_padding < max(s, d); tf's largest output_shape is the same) or,
    jax's explicit pads adding, (n-1)S + 1 + 2P; at least n - max(2P, ek - 1). Resampling: the full check."""
    k, s, d, p = bounds.kernel, bounds.stride, bounds.dilation, bounds.padding
    ek = d * (k - 1) + 1
    for kind in kinds:
        if kind == "conv" and (n - ek) // s + 1 <= c <= n + 2 * p:
            return True
        if kind in ("convT", "unpool") and n - max(2 * p, ek - 1) <= c <= (n - 1) * s + max(ek + max(s, d) - 1,
                                                                                            1 + 2 * p):
            return True
        if kind in ("upsample", "pixelshuffle"):
            return True
    return False


def _needed_stride(n, t, kinds, frameworks, bounds, fixed, backend, several, axis):
    """'a stride of at least S is needed' where a stride past --max-stride reaches ``t`` (the other bounds
    kept), else None."""
    from .solve import Bounds

    if fixed.get("stride") is not None or not set(kinds) & {"conv", "convT", "unpool"}:
        return None
    for s in range(_lowest_stride(n, t, kinds, bounds), _lowest_stride(n, t, kinds, bounds) + MAX_STRIDE_TRIED):
        wider = Bounds(bounds.kernel, s, bounds.dilation, bounds.padding)
        if _reachable(n, t, kinds, frameworks, wider, {**fixed, "stride": s}, backend):
            where = f" on axis {axis + 1}" if several else ""
            return f"no solution within --max-stride {bounds.stride}{where}: a stride of at least {s} is needed " \
                   f"(--max-stride {s})"
    return None


def _lowest_stride(n, t, kinds, bounds):
    """A stride below which no layer within the other bounds can reach ``t``, loose on purpose: a transposed
    layer gives at most (n-1)s + d*K + s + 2P (jax's explicit pads add), a conv at least (n - d*K)/s."""
    widest = bounds.dilation * bounds.kernel + 2 * bounds.padding + 1
    lows = []
    if set(kinds) & {"convT", "unpool"}:
        lows.append((t - widest) // n)
    if "conv" in kinds:
        lows.append((n - widest) // (t + 1))
    return max(bounds.stride + 1, min(lows))


def _scalar(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _text(values):
    return "x".join(map(str, values))


def _ranges(values):
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))
