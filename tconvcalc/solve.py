"""solve(): every layer configuration that maps an input size to a target size.

No rule is written twice: each framework's own layer function (the one forward() uses) is read in
lenient mode -- broken rules recorded, not raised -- and its output solved in closed form per
(kernel, stride, dilation):

* output_padding adds to the output one for one in every framework, so op = target - out(op=0);
* the output is monotone in a symmetric integer padding p, so the p that reach the target form an
  interval, found by bisection in O(log P) evaluations instead of P;
* each padding word costs one evaluation; where the caller chooses the output (tf), the framework's
  accepted set answers.

Every candidate is then re-checked strictly by the same function, so a solution is exactly what
forward() accepts. The search domain: kernel 1..K, stride 1..S, dilation 1..D, integer padding 0..P
and every padding word, every output_padding; duplicates (the same layer written two ways) are
listed once, in the framework's own idiom.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from itertools import product

from .checks import Checks
from .errors import InputError, NoSolutionError, ShapeError, TconvError
from .forward import evaluate, forward
from .frameworks import module
from .layer import EXTRAS, MAX_INT, MAX_STRIDE, OPTIONS, PADDING_WORDS, Layer

SOLVABLE = ("conv", "convT", "upsample", "pixelshuffle", "unpool")
MAX_WORK = 20_000_000  # (stride, dilation, kernel) triples x paddings: beyond this, bounds are a typo
MAX_COMBINATIONS = 20_000  # per-axis tuples tried for multi-axis sizes
MAX_PAIRS = 100_000  # (stride, dilation) pairs per axis and kind: each is checked for reach before its kernels
MAX_PADDINGS = 64  # integer pads listed per kernel, smallest first
MAX_TRIALS = 2_500  # kernels tried in all (0.3-5 ms each with their paddings: 2.8 million would take hours)


@dataclass(frozen=True)
class Bounds:
    kernel: int = 16
    stride: int = 8
    dilation: int = 1
    padding: int = 8


@dataclass(frozen=True)
class Solution:
    framework: str
    layer: str
    kernel: object  # int, or a per-axis tuple
    stride: object
    padding: object  # int, per-axis tuple of ints or [before, after] pairs, or a padding word
    dilation: object
    output_padding: object  # int, per-axis tuple, or None (framework default / inferred / caller's choice)
    output_size: object  # where the caller passes the output (tf output_shape), else None
    scale: object  # upsample / pixelshuffle factor, else None
    pads: tuple  # (before, after) per axis, as applied
    output: tuple
    checkerboard: bool
    reasons: tuple
    code: str
    api: str | None = None  # keras: "layers" or "ops" (--api); None for the other frameworks


@dataclass(frozen=True)
class SolveResult:
    input: tuple
    target: tuple
    solutions: tuple
    count: int  # how many solutions are listed (at most --limit)
    total: int  # how many solutions there are within the bounds
    nearest: tuple  # with no solution: the nearest reachable output sizes (first axis differing)
    explanation: str | None
    hint: str | None = None  # with no solution: what to change (hints.no_solution), where it can be told


def solve(size, target, kinds=("convT",), frameworks=("torch",), bounds=Bounds(), fixed=None,
          backend="tensorflow", limit=10):
    """Every configuration within ``bounds`` mapping ``size`` to ``target``, best first.

    >>> best = solve((3,), (6,), fixed={"kernel": 3, "stride": 2}).solutions[0]
    >>> best.code
    'nn.ConvTranspose1d(C_in, C_out, kernel_size=3, stride=2, padding=1, output_padding=1)'
    """
    fixed = fixed or {}
    if "pad" in kinds:
        raise InputError("solve does not search pad layers: a pad's output is its input plus both pads "
                         "(tconvcalc forward IN -l pad -p BEFORE:AFTER)")
    adaptive = next((kind for kind in kinds if kind in ("adaptiveavgpool", "adaptivemaxpool")), None)
    if adaptive:
        raise InputError(f"solve does not search {adaptive}: its output is the output_size asked for, from any "
                         f"input (tconvcalc forward IN -l {adaptive} --output-size OUT)")
    _check_request(size, target, bounds)
    memo = {}  # each distinct axis's search plan and candidates, shared by the search and _nearest
    _check_search(size, target, kinds, frameworks, bounds, fixed, memo)
    found = []
    searched = [(framework, kind) for framework, kind in product(frameworks, kinds)
                if _takes(framework, kind, fixed)]  # keras has no unpool, tf no upsample, ...
    if not searched:
        raise InputError(f"{' and '.join(frameworks)} {'has' if len(frameworks) == 1 else 'have'} no "
                         f"{' or '.join(kinds)} layer" + (" in keras.ops (--api ops)" if fixed.get("api") == "ops"
                                                          else ""))
    share = MAX_COMBINATIONS // len(searched) if searched else 0  # the multi-axis tuples tried, in all
    for framework, kind in searched:
        found += _solve_layer(size, target, framework, kind, bounds, fixed, backend, share, memo)
    found.sort(key=lambda item: item[0])
    shown = found if not limit else found[:limit]
    solutions = tuple(make_solution(layer, reasons, size) for _, layer, reasons in shown)
    if solutions:
        return SolveResult(tuple(size), tuple(target), solutions, len(solutions), len(found), (), None)
    nearest = _nearest(size, target, kinds, frameworks, bounds, fixed, backend, memo)
    from .hints import no_solution

    nearest, hint = no_solution(size, target, kinds, frameworks, bounds, fixed, backend, nearest)
    return SolveResult(tuple(size), tuple(target), (), 0, 0, nearest,
                       _explain_none(size, target, kinds, frameworks, fixed, backend, nearest, bounds), hint)


def _check_request(size, target, bounds):
    if len(size) != len(target):
        raise InputError(f"input {size} has {len(size)} axes but the target {target} has {len(target)}")
    work = bounds.stride * bounds.dilation * bounds.kernel
    if work * (len(PADDING_WORDS) + 2) > MAX_WORK:
        raise InputError(f"bounds too large: {bounds.kernel} kernels x {bounds.stride} strides x "
                         f"{bounds.dilation} dilations; narrow --max-kernel/--max-stride/--max-dilation")


def _check_search(size, target, kinds, frameworks, bounds, fixed, memo):
    """Refuse, before searching, a domain whose kernels (those of every stride and dilation that can reach
    the target, per framework, kind and distinct axis, counted from the closed-form plans) are too many to try
    promptly. The plans are kept in ``memo`` for the search."""
    strides = 1 if fixed.get("stride") is not None else bounds.stride
    for kind in set(kinds) - {"upsample", "pixelshuffle"}:
        dilations = 1 if fixed.get("dilation") is not None or kind == "unpool" else bounds.dilation
        if strides * dilations > MAX_PAIRS:
            raise InputError(f"search too wide: {strides} strides x {dilations} dilations "
                             f"(at most {MAX_PAIRS} pairs); narrow --max-stride/--max-dilation or fix -s/-d")
    trials = 0
    for framework, kind in product(frameworks, kinds):
        if kind in ("upsample", "pixelshuffle") or not _takes(framework, kind, fixed):
            continue
        for axis, (n, t) in enumerate(zip(size, target)):
            key = _axis_key(framework, kind, n, t, _fixed_axis(fixed, axis))
            if ("plan", key) in memo:  # a square size: the same axis again
                continue
            plan = []
            for step in _plan(n, t, framework, kind, bounds, _fixed_axis(fixed, axis)):
                plan.append(step)
                trials += _kernel_count(step[2])
                if trials > MAX_TRIALS:
                    raise InputError(f"search too wide: more than {MAX_TRIALS} kernel/stride/dilation "
                                     "combinations to try; narrow --max-kernel/--max-stride/--max-dilation or "
                                     "fix -k/-s/-d")
            memo["plan", key] = tuple(plan)


def _takes(framework, kind, fixed):
    """Whether the framework has this kind of layer; keras --api ops (fixed["api"]) has only keras.ops' conv,
    conv_transpose and pools."""
    if framework == "keras" and fixed.get("api") == "ops":
        from .frameworks.keras_ops import LAYERS as OPS

        return kind in OPS
    return kind in module(framework).LAYERS


def api_of(layer):
    """The fixed entry that keeps a keras.ops layer's API in a search about it (mirror, hints): none for layers."""
    return {"api": layer.api} if layer.framework == "keras" and layer.api != "layers" else {}


def _api(framework, fixed):
    """The keras API the candidates are built with (fixed["api"], solve --api); every other framework has one."""
    return fixed.get("api", "layers") if framework == "keras" else "layers"


# ---- one framework, one kind ------------------------------------------------------------------


def _solve_layer(size, target, framework, kind, bounds, fixed, backend, combinations=MAX_COMBINATIONS, memo=None):
    """(rank key, layer, reasons) for every distinct solution."""
    if kind in ("upsample", "pixelshuffle"):
        return _resampling(size, target, framework, kind, backend)
    memo = {} if memo is None else memo
    per_axis = []
    for axis, (n, t) in enumerate(zip(size, target)):
        per_axis.append(_axis_candidates(n, t, framework, kind, bounds, _fixed_axis(fixed, axis), backend, memo))
        if not per_axis[-1]:  # no layer of this kind: the other axes need not be solved
            return []
    checked = per_axis[0] if len(size) == 1 else _combine(per_axis, size, target, combinations)
    spellings = {}
    for layer, axes in checked:
        spellings.setdefault(layer_identity(layer, axes), []).append((layer, axes))
    ranked = []
    for same in spellings.values():
        (layer, axes), *others = sorted(same, key=lambda candidate: _idiom(candidate[0]))  # stable: first seen wins ties
        reasons = layer_reasons(layer, axes)
        others = list(dict.fromkeys(_spelling(other) for other, _ in others if _spelling(other) != _spelling(layer)))
        if others:
            reasons += (f"the same layer as {' / '.join(others)} (the same pads, output padding and output)",)
        ranked.append((solve_rank(layer, axes, size), layer, reasons))
    return ranked


def _idiom(layer):
    """How plainly a user writes the layer: the framework's defaults left out first (no output_padding -- Keras then
    infers it --, the default padding), so each layer is listed once, as a user would write it."""
    default = module(layer.framework).DEFAULT_PADDING
    word = isinstance(layer.padding, str)
    padding_given = word != (default != "zeros") or (word and layer.padding != default)
    return (layer.output_padding is not None, padding_given)


def _spelling(layer):
    """The arguments that tell two spellings of one layer apart: padding='same', output_padding=2."""
    if isinstance(layer.padding, str):
        padding = layer.padding
    elif all(b == a for b, a in layer.padding):
        padding = _scalar(b for b, _ in layer.padding)
    else:
        padding = [list(pair) for pair in layer.padding]
    text = f"padding={padding!r}"
    if layer.output_padding is not None:
        text += f", output_padding={_scalar(layer.output_padding)}"
    return text


def _fixed_axis(fixed, axis):
    return {name: (value[axis] if isinstance(value, tuple) else value) for name, value in fixed.items()}


def _axis_key(framework, kind, n, target, fixed):
    return framework, kind, n, target, tuple(sorted(fixed.items()))


def _axis_candidates(n, target, framework, kind, bounds, fixed, backend, memo):
    """Every 1-D candidate of one axis, searched once per distinct (framework, kind, size, target, fixed):
    a square size's second axis, and _nearest asking about the target again, reuse it."""
    key = _axis_key(framework, kind, n, target, fixed)
    if ("axis", key) not in memo:
        memo["axis", key] = list(_axis_layers(n, target, framework, kind, bounds, fixed, backend, memo))
    return memo["axis", key]


@dataclass(frozen=True)
class _Axis:
    """What every candidate of one axis shares: the framework's layer function, looked up once, and what it said
    of each candidate read so far. A candidate is the tuple (k, s, d, padding, output_padding, output_size); its
    Layer is built directly (dataclasses.replace costs twice as much), once, only where it is read."""

    framework: str
    kind: str
    backend: str
    n: int
    target: int
    compute: object  # the framework module's LAYERS[kind]
    read: dict = field(default_factory=dict, compare=False, repr=False)  # candidate -> (its axes or None, accepted)
    api: str = "layers"  # keras: layers or ops (solve --api)

    def layer(self, candidate):
        k, s, d, padding, output_padding, output_size = candidate
        return Layer(self.kind, self.framework, 1, kernel=(k,), stride=(s,), dilation=(d,), padding=padding,
                     output_padding=output_padding, output_size=output_size, backend=self.backend, api=self.api)

    def _evaluate(self, candidate):
        """Read once, leniently: with no rule broken the strict reading would accept the same axes (the framework
        modules compute alike in both modes; strict only raises at the first broken rule)."""
        if candidate not in self.read:
            checks = Checks(False)
            try:
                self.read[candidate] = self.compute(self.layer(candidate), (self.n,), checks), not checks.broken
            except TconvError:  # a refusal no size can avoid (an unsupported word, a missing option)
                self.read[candidate] = None, False
        return self.read[candidate]

    def raw(self, candidate):
        """The framework's formula for this layer, its rules recorded but not enforced; None where it raises."""
        axes, _ = self._evaluate(candidate)
        return None if axes is None else axes[0]

    def raw_int(self, candidate):
        axis = self.raw(candidate)
        return None if axis is None or axis.output is None else int(axis.output)

    def strict(self, candidate):
        """The framework's AxisOut list when it accepts the layer and lands on the target, else None."""
        axes, accepted = self._evaluate(candidate)
        return axes if accepted and axes[0].output is not None and int(axes[0].output) == self.target else None


def _axis_layers(n, target, framework, kind, bounds, fixed, backend, memo=None):
    """1-D candidates that strictly reach ``target`` from ``n``: (layer, the framework's AxisOut list), over the
    closed-form plan (the strides, dilations and kernels that can reach it), in the order of the full domain."""
    key = _axis_key(framework, kind, n, target, fixed)
    plan = memo.get(("plan", key)) if memo is not None else None
    if plan is None:
        plan = _plan(n, target, framework, kind, bounds, fixed)
    axis = _Axis(framework, kind, backend, n, target, module(framework).LAYERS[kind], api=_api(framework, fixed))
    for s, d, spans in plan:
        spans = [span for span in spans if _usable(axis, span[0], span[1], s, d, fixed)]
        if not spans:
            continue
        for k in range(min(lo for _, lo, _ in spans), max(hi for _, _, hi in spans) + 1):
            for padding, lo, hi in spans:
                if not lo <= k <= hi:
                    continue
                if padding == "ints":
                    candidates = _integer_pads(axis, k, s, d, bounds.padding, fixed)
                else:
                    candidates = _output_choices(axis, k, s, d, padding, fixed)
                for candidate in candidates:
                    axes = axis.strict(candidate)
                    if axes:
                        yield axis.layer(candidate), axes


def _usable(axis, padding, k, s, d, fixed):
    """Whether the framework takes this padding choice at this stride and dilation at all: an unsupported word or
    option raises whatever the kernel and the pads (a size-dependent refusal is only recorded here), so one
    evaluation tells for every kernel of the span -- read as the search reads it (output_padding 0, then the
    default, for integer pads; the fixed output_padding or the default for a word)."""
    op = fixed.get("output_padding")
    if op is not None and axis.kind != "convT":
        return False  # only a transposed conv has an output_padding to fix
    if padding == "ints":
        ops = ((0,), None) if axis.kind == "convT" else (None,)
        return any(axis.raw((k, s, d, ((0, 0),), o, None)) is not None for o in ops)
    return axis.raw((k, s, d, padding, None if op is None else (op,), None)) is not None


def _padding_choices(fixed, ints_first):
    """A fixed padding (a word, an int or a (before, after) pair), or every word and the integers."""
    given = fixed.get("padding")
    if given is None:
        words = list(PADDING_WORDS)
        return ["ints", *words] if ints_first else [*words, "ints"]
    if isinstance(given, str):
        return [given]
    return [((given, given),) if isinstance(given, int) else (tuple(given),)]


def _range(fixed, bound):
    return (fixed,) if fixed is not None else range(1, bound + 1)


def _output_choices(axis, k, s, d, padding, fixed):
    """The framework default (or the caller's chosen output), and every output_padding that lands on target."""
    op = fixed.get("output_padding")
    if op is None:
        out = axis.raw((k, s, d, padding, None, None))
        if out is None:
            return
        if out.output is None:  # the caller chooses the output (tf output_shape)
            if out.accepted and axis.target in out.accepted:
                yield k, s, d, padding, None, (axis.target,)
            return
        yield k, s, d, padding, None, None
    if axis.kind != "convT":
        return

    def output(value):
        return axis.raw_int((k, s, d, padding, (value,), None))

    if op is not None:
        yield k, s, d, padding, (op,), None
        return
    ops = range(0, max(s, d))
    at_zero = output(0)
    if at_zero is None:
        return
    guess = axis.target - at_zero  # output_padding adds one for one ...
    if guess in ops and output(guess) == axis.target and (guess + 1 not in ops or output(guess + 1) != axis.target):
        yield k, s, d, padding, (guess,), None
        return
    for value in _where_between(ops, output, axis.target, axis.target):  # ... until a framework caps it (onnx SAME)
        yield k, s, d, padding, (value,), None


def _integer_pads(axis, k, s, d, max_padding, fixed):
    """Symmetric integer pads p in 0..P whose output reaches target: the output is monotone in p,
    so the p that can reach it (with output_padding 0..max(s,d)-1 on top) form one interval, found by
    bisection over the few pads the closed form leaves (_pad_window)."""
    slack = max(s, d) - 1 if axis.kind == "convT" else 0

    def output(p):  # with output_padding 0 where the framework has one, else its default
        for op in ((0,), None) if axis.kind == "convT" else (None,):
            value = axis.raw_int((k, s, d, ((p, p),), op, None))
            if value is not None:
                return value
        return None

    # A stride s lets ~s/2 pads reach one target (output_padding or the floor makes up the rest): the smallest
    # MAX_PADDINGS are the best ranked (fewest pads), and enough; 2^16 of them took minutes.
    pads = _pad_window(axis, k, s, d, max_padding)
    if not pads:
        return
    for p in _where_between(pads, output, axis.target - slack, axis.target)[:MAX_PADDINGS]:
        yield from _output_choices(axis, k, s, d, ((p, p),), fixed)


# ---- closed form: the strides, dilations and kernels that can reach the target ---------------------
#
# Every framework's output for one axis is one of a few shapes (ek = d*(k-1) + 1, T the pads in all):
#   forward window (conv, pools): floor((n + T - ek)/s) + 1, or ceil(n/s) under a SAME-like word;
#   transposed conv: (n-1)*s - T + ek + op with op < max(s, d) (tf's output_shape and Keras's inferred op lie
#       in that range), n*s or just below under SAME; jax's explicit pads add instead: (n-1)*s + T - ek + 2;
#   unpool: (n-1)*s - T + k.
# Solved for the kernel, each gives the interval of kernels that can reach the target: a necessary condition,
# so the plan only skips what cannot be a solution, and the framework's own function still decides every
# candidate (tests/test_solve_bounds.py compares the result with a brute-force search).

SAME_WORDS = ("same", "same_upper", "same_lower", "causal")


def _plan(n, target, framework, kind, bounds, fixed):
    """The (s, d, spans) the search visits, in its order, spans ((padding choice, k_lo, k_hi), ...) holding every
    kernel that can give ``target`` with that choice; (s, d) pairs with no span are left out."""
    choices = _padding_choices(fixed, module(framework).DEFAULT_PADDING == "zeros")
    k_fixed = fixed.get("kernel")
    kernels = (1, bounds.kernel) if k_fixed is None else (k_fixed, k_fixed)
    d_max = fixed.get("dilation") or _max_dilation(framework, kind, bounds.dilation)
    s_lo, s_hi = _stride_hull(n, target, framework, kind, choices, kernels[1], d_max, fixed, bounds.padding)
    if fixed.get("stride") is not None:
        strides = (fixed["stride"],) if s_lo <= fixed["stride"] <= s_hi else ()
    else:
        strides = range(max(s_lo, 1), min(s_hi, bounds.stride) + 1)
    for s in strides:
        for d in _range(fixed.get("dilation"), _max_dilation(framework, kind, bounds.dilation)):
            if d > _max_dilation(framework, kind, d):  # a fixed -d the framework does not have
                continue
            spans = tuple(span for span in (_span(n, target, framework, kind, s, d, choice, kernels, fixed,
                                                  bounds.padding) for choice in choices) if span)
            if spans:
                yield s, d, spans


def _max_dilation(framework, kind, bound):
    """unpool has no dilation, nor has an average pool outside onnx and jax (layer.EXTRAS)."""
    extra = EXTRAS.get(("dilation", kind))
    return 1 if kind == "unpool" or extra and framework not in extra[0].split() else bound


def _kernel_count(spans):
    """How many kernels the spans hold together (they overlap)."""
    count, reached = 0, 0
    for _, lo, hi in sorted(spans, key=lambda span: span[1]):
        lo = max(lo, reached + 1)
        if hi >= lo:
            count, reached = count + hi - lo + 1, hi
    return count


def _totals(choice, max_padding):
    """The least and most pads in all (before + after) a padding choice applies, words aside."""
    if choice == "ints":
        return 0, 2 * max_padding
    if isinstance(choice, tuple):  # a fixed (before, after) pair
        return choice[0][0] + choice[0][1], choice[0][0] + choice[0][1]
    return 0, 0


def _ceil(a, b):
    return -(-a // b)


def _stride_hull(n, t, framework, kind, choices, k_max, d_max, fixed, max_padding):
    """The least and largest stride with which some choice can reach ``t`` (every dilation up to d_max)."""
    if n < 1 or t < 1:  # an empty axis (tf gives one): no bound to draw, each stride is tried
        return 1, MAX_INT
    widest = d_max * (k_max - 1) + 1 if kind != "unpool" else k_max  # the largest effective kernel
    lows, highs = [], []
    for choice in choices:
        low, high = _totals(choice, max_padding)
        if kind in ("convT", "unpool"):
            if n == 1:  # the output does not grow with the stride
                return 1, MAX_INT
            extra = max(d_max, (fixed.get("output_padding") or 0) + 1) if kind == "convT" else 1
            if kind == "convT" and framework == "jax" and choice not in ("valid", *SAME_WORDS):
                lows.append(_ceil(t - high - 1, n - 1))
                highs.append((t - low - 2 + widest) // (n - 1))
            else:
                # (n-1)s - T + ek + op = t with op < max(s, d) <= s + d_max: from below n*s + d_max must reach it
                lows.append(_ceil(t + low + 1 - widest - extra, n))
                highs.append((t + high - 1 + (choice in SAME_WORDS)) // (n - 1))
        elif choice in SAME_WORDS:  # ceil(n/s) = t (ORT's dilated SAME max pool: at most ceil(n/s))
            dilated_same = framework == "onnx" and kind == "maxpool" and d_max > 1
            lows.append(1 if dilated_same else _ceil(n, t))
            highs.append((n - 1) // (t - 1) if t > 1 else MAX_INT)
        else:
            lows.append(_ceil(n + low + 1 - widest, t))
            highs.append((n + high - 1) // (t - 1) if t > 1 else MAX_INT)
    return (min(lows), max(highs)) if lows else (1, 0)


def _span(n, t, framework, kind, s, d, choice, kernels, fixed, max_padding):
    """(choice, k_lo, k_hi): the kernels within ``kernels`` that can give ``t`` with this choice, or None."""
    every = kernels
    low, high = _totals(choice, max_padding)
    if kind in ("convT", "unpool"):
        a = t - (n - 1) * s  # what the kernel, the pads and the output padding must make up
        if kind == "unpool":
            span = (a + low, a + high)  # the effective kernel is k
            return _clip(choice, span, kernels)
        m = max(s, d, (fixed.get("output_padding") or 0) + 1)  # output_padding < m
        if choice in SAME_WORDS and 0 <= a <= max(s, d):  # n*s (or (n-1)*s + ek%2 + op, Keras; keras.ops on
            # jax/torch take op < max(s, d) too): any kernel
            span = every
        elif choice in ("valid", *SAME_WORDS):
            span = _kernels((a - m + 1, a), d)
        elif framework == "jax":  # lax.conv_transpose: the explicit pads add to the output, the kernel takes
            span = _kernels((low + 2 - a, high + 2 - a), d)
        else:
            span = _kernels((a + low - m + 1, a + high), d)
        return _clip(choice, span, kernels)
    if choice in SAME_WORDS:
        if framework == "onnx" and kind in ("maxpool", "avgpool") and d > 1:  # ORT pads for the undilated kernel
            return _clip(choice, _onnx_dilated_same(n, t, s, d), kernels)
        return _clip(choice, every, kernels) if _ceil(n, s) == t else None
    # floor((n + T - ek)/s) + 1 = t: (t-1)*s <= n + T - ek <= t*s - 1
    effective = (n + low - t * s + 1, n + high - (t - 1) * s)
    if t == 1 and framework == "onnx" and kind in ("maxpool", "avgpool"):
        effective = (effective[0], effective[1] + s - 1)  # ORT's pools divide toward zero: -s < x < 0 gives 1 too
    span = _kernels(effective, d)
    return _clip(choice, span, kernels)


def _kernels(effective, d):
    """The kernels k whose effective kernel d*(k-1) + 1 lies in the interval ``effective``."""
    return 1 + _ceil(effective[0] - 1, d), 1 + (effective[1] - 1) // d


def _clip(choice, span, kernels):
    lo, hi = max(span[0], kernels[0]), min(span[1], kernels[1])
    return (choice, lo, hi) if lo <= hi else None


def _onnx_dilated_same(n, t, s, d):
    """ORT's SAME max pool pads for the undilated kernel: trunc(((c-1)*s - (d-1)*(k-1))/s) + 1 with c = ceil(n/s)."""
    c = _ceil(n, s)
    low, high = ((c - 1 - t) * s + 1, (c - t) * s) if t > 1 else ((c - 2) * s + 1, c * s - 1)  # (d-1)*(k-1)
    return 1 + _ceil(max(low, 0), d - 1), (1 + high // (d - 1) if high >= 0 else 0)


def _pad_window(axis, k, s, d, max_padding):
    """The symmetric pads p in 0..P whose output can reach the target, in closed form (with one pad to spare on
    each side): the bisection then reads only these from the framework."""
    n, t = axis.n, axis.target
    if axis.kind == "convT":
        slack = max(s, d) - 1
        if axis.framework == "jax":  # (n-1)*s + 2p - ek + 2 in [t - slack, t]
            twice = (t - slack - (n - 1) * s + d * (k - 1) - 1, t - (n - 1) * s + d * (k - 1) - 1)
        else:  # (n-1)*s - 2p + ek in [t - slack, t]
            twice = ((n - 1) * s + d * (k - 1) + 1 - t, (n - 1) * s + d * (k - 1) + 1 - t + slack)
    elif axis.kind == "unpool":
        twice = ((n - 1) * s + k - t,) * 2
    else:  # floor((n + 2p - ek)/s) + 1 = t (or trunc, which also gives 1 for -s < n + 2p - ek < 0)
        ek = d * (k - 1) + 1
        twice = ((t - 1) * s - n + ek - (s - 1 if t == 1 else 0), t * s - 1 - n + ek)
    return range(max(0, _ceil(twice[0], 2) - 1), min(max_padding, twice[1] // 2 + 1) + 1)


def _where_between(values, monotone, low, high):
    """The values (a range) where a monotone function lies in [low, high], by bisection."""
    first, last = monotone(values[0]), monotone(values[-1])
    if first is None or last is None:
        return range(0)
    if first <= last:
        return values[bisect_left(values, low, key=monotone):bisect_right(values, high, key=monotone)]
    return values[bisect_left(values, -high, key=lambda v: -monotone(v)):
                  bisect_right(values, -low, key=lambda v: -monotone(v))]


def _strict(layer, size, target):
    """The framework's AxisOut list when it accepts the layer and lands on target, else None."""
    try:
        axes, _ = evaluate(layer, size)
    except TconvError:
        return None
    return axes if tuple(int(ax.output) for ax in axes) == tuple(target) else None


def layer_identity(layer, axes):
    """What makes two candidates the same layer: the pads the framework applies and the output it gives -- so the
    same output padding too, however it was asked for (Keras's inferred None or the int it infers; 'valid' with
    output_padding 0 and 'same' with 2 where the applied pads coincide)."""
    return (layer.framework, layer.kind, layer.kernel, layer.stride, layer.dilation,
            tuple(tuple(map(int, ax.pads)) if ax.pads else None for ax in axes),
            tuple(None if ax.output is None else int(ax.output) for ax in axes), layer.output_size, layer.scale)


def _combine(per_axis, size, target, combinations=MAX_COMBINATIONS):
    """Multi-axis: one layer whose per-axis values come from each axis's solutions, sharing the
    padding word where the framework takes one word for the whole layer."""
    tried = 0
    for choice in product(*([layer for layer, _ in axis] for axis in per_axis)):
        paddings = [c.padding for c in choice]
        words = {p for p in paddings if isinstance(p, str)}
        if words and (len(words) > 1 or len(words) < len(set(paddings))):
            continue
        ops = [c.output_padding for c in choice]
        if None in ops and any(op is not None for op in ops):
            continue  # the framework default on one axis and an explicit value on another: not one layer
        tried += 1
        if tried > combinations:
            return
        first = choice[0]
        layer = Layer(first.kind, first.framework, len(choice),
                      kernel=tuple(c.kernel[0] for c in choice), stride=tuple(c.stride[0] for c in choice),
                      dilation=tuple(c.dilation[0] for c in choice),
                      padding=first.padding if words else tuple(c.padding[0] for c in choice),
                      output_padding=None if ops[0] is None else tuple(op[0] for op in ops),
                      output_size=None if first.output_size is None else tuple(c.output_size[0] for c in choice),
                      backend=first.backend, api=first.api)
        axes = _strict(layer, size, target)
        if axes:
            yield layer, axes


def _resampling(size, target, framework, kind, backend):
    """upsample / pixelshuffle: the one factor per axis the ratio allows, checked by the framework."""
    if kind == "pixelshuffle":
        factors = {t // n for n, t in zip(size, target) if t % n == 0}
        if len(factors) != 1 or any(t % n for n, t in zip(size, target)):
            return []
        scale = (float(factors.pop()),) * len(size)
    else:
        scale = tuple(t / n for n, t in zip(size, target))
    layer = Layer(kind, framework, len(size), scale=scale, backend=backend)
    axes = _strict(layer, size, target)
    return [(solve_rank(layer, axes, size), layer, layer_reasons(layer, axes))] if axes else []


# ---- ranking ----------------------------------------------------------------------------------


def layer_rank(layer, axes):
    """Best first: learned layers without checkerboard, no output_padding, symmetric pads,
    no dilation, the smallest kernel."""
    if layer.kind in ("upsample", "pixelshuffle"):
        return (1, 0, 0, 0, 0, 0, 0)
    pads = [ax.pads or (0, 0) for ax in axes]
    return (_uneven(layer), any(ax.output_padding for ax in axes), any(b != a for b, a in pads),
            max(layer.dilation) > 1, max(layer.kernel), max(layer.stride), sum(b + a for b, a in pads))


def solve_rank(layer, axes, size):
    """solve's order, best first: no checkerboard, no output_padding, symmetric pads (layer_rank's first three),
    one config on every axis (not kernel 2x4), then the idioms -- the classic layers (idiom_rank 0 or 1: convT
    k2 s2 and k4 s2 p1, conv k2 s2 and k3 s2 p1) before the parameter-free Upsample / PixelShuffle by a whole
    factor, before every other layer (a conv whose outputs see only padding after those) -- and MaxUnpool last
    of all: it needs a max pool's indices."""
    rank = layer_rank(layer, axes)
    if layer.kind in ("upsample", "pixelshuffle"):
        whole = all(float(f).is_integer() and f >= 2 for f in layer.scale or ())
        return (0, 0, 0, 0, 0, 1 if whole else 2, 0, 0, 0, 0)
    tier = 0 if layer.kind != "unpool" and idiom_rank(layer, axes, size) <= 1 else 3 if _pad_only(layer, axes) else 2
    mixed = len(set(zip(layer.kernel, layer.stride, layer.dilation, (ax.pads for ax in axes)))) > 1
    return (layer.kind == "unpool", *rank[:3], mixed, tier, *rank[3:])


def _pad_only(layer, axes):
    """A conv padded by at least its window on a side: some outputs see nothing but padding (k1 s2 p4 on 3)."""
    return layer.kind == "conv" and any(max(map(int, ax.pads or (0, 0))) >= (k - 1) * d + 1
                                        for k, d, ax in zip(layer.kernel, layer.dilation, axes))


IDIOMS = ("k=2s p=s/2 (k4 s2 p1; convT also k p0 on a 1-wide input; conv also k3/k5/k7 s2 p=(k-1)/2)",
          "k=s p0 (k2 s2)", "k odd s2 p=(k-1)/2 op1 (k3 s2 p1 op1)")


def idiom_rank(layer, axes, size):
    """How common a conv/convT layer on input ``size`` is, 0 best: the worst axis's IDIOMS index, len(IDIOMS) for
    any other layer. A convT is read from its output (exactly size x stride) and kernel -- each framework writes
    its pads its own way (tf's are the caller's output_shape, jax's on the dilated input) --, a conv from the pads
    it applies, so 'same' k4 s2 is k4 s2 p1 too."""
    if layer.kind not in ("conv", "convT") or max(layer.dilation) > 1:
        return len(IDIOMS)
    return max(_axis_idiom(layer.kind, k, s, ax, n) for k, s, ax, n in zip(layer.kernel, layer.stride, axes, size))


def _axis_idiom(kind, k, s, ax, n):
    b, a = map(int, ax.pads or (0, 0))
    if kind == "conv" and (s < 2 or b != a):
        return len(IDIOMS)
    if kind == "convT":
        output = ax.output if ax.output is not None else layer_output_shape(ax)
        if n == 1 and output == k and not ax.output_padding:  # DCGAN's first layer: k4 s1 p0 from 1x1 to 4x4
            return 0
        if s < 2 or output != n * s or int(ax.output_padding or 0) and k % s == 0:  # k8 s4 p3 op2: not it
            return len(IDIOMS)
        return 0 if k == 2 * s else 1 if k == s else 2 if s == 2 and k % 2 else len(IDIOMS)
    if k == 2 * s and 2 * b == s or s == 2 and k in (3, 5, 7) and 2 * b == k - 1:
        return 0
    return 1 if k == s and b == 0 else len(IDIOMS)


def layer_output_shape(ax):
    """A tf convT's output where the caller passes output_shape: its one accepted size, else None."""
    return ax.accepted[0] if ax.accepted and len(ax.accepted) == 1 else None


def _uneven(layer):
    """Kernel not a multiple of the stride: output pixels get different tap counts (seeds 000/003)."""
    return layer.kind == "convT" and any(k % s for k, s in zip(layer.kernel, layer.stride))


def layer_reasons(layer, axes):
    if layer.kind in ("upsample", "pixelshuffle"):
        return ("fixed resampling, no learned weights: no checkerboard",)
    k, s = _scalar(layer.kernel), _scalar(layer.stride)
    reasons = []
    if layer.kind == "convT":
        reasons.append(f"kernel {k} not a multiple of stride {s}: uneven overlap, checkerboard risk"
                       if _uneven(layer) else f"kernel {k} a multiple of stride {s}: even overlap, no checkerboard")
    ops = [ax.output_padding for ax in axes]
    reasons.append(f"output_padding {_scalar(ops)}" if any(ops) else "no output_padding")
    asymmetric = [tuple(map(int, ax.pads)) for ax in axes if ax.pads and ax.pads[0] != ax.pads[1]]
    reasons.append(f"asymmetric padding {asymmetric[0]}" if asymmetric else "symmetric padding")
    if max(layer.dilation) > 1:
        reasons.append(f"dilation {_scalar(layer.dilation)}")
    return tuple(reasons)


def _scalar(values):
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def make_solution(layer, reasons, size):
    result = forward(layer, tuple(size))
    pads = tuple(ax.pads for ax in result.axes)
    padding = layer.padding if isinstance(layer.padding, str) or not layer.padding else (
        _scalar(p for p, _ in layer.padding) if all(b == a for b, a in layer.padding) else
        tuple(list(pair) for pair in layer.padding))
    uneven = _uneven(layer)
    optional = lambda v: None if v is None else _scalar(v)  # noqa: E731
    takes_dilation = "dilation" in OPTIONS[layer.kind]
    return Solution(layer.framework, layer.kind, optional(layer.kernel or None), optional(layer.stride or None),
                    padding if layer.padding != () else None,
                    optional(layer.dilation or None) if takes_dilation else None,
                    _scalar(ax.output_padding for ax in result.axes) if layer.kind == "convT" else None,
                    optional(layer.output_size), optional(layer.scale), pads, result.output, uneven,
                    reasons, result.code, layer.api if layer.framework == "keras" else None)


def mirror(layer, size):
    """The layer that restores ``size`` from ``layer``'s output -- a transposed conv for a conv or pool,
    a conv for a transposed conv or unpool -- with the same kernel, stride and dilation, its padding
    (and output_padding) solved, the layer's own padding preferred (23 -> 12 -> 23,
    not 24)."""
    if any(not isinstance(n, int) for n in size):
        raise InputError("--mirror solves for numbers: give a numeric size")
    if layer.input_dilation is not None or layer.consistent_padding:
        raise InputError("--mirror does not solve with --input-dilation or --consistent-padding (solve does not search "
                         "them)")
    if not layer.kernel:
        raise InputError(f"--mirror keeps the kernel and stride of the layer; {layer.kind} has none "
                         "(it applies to conv, convT, maxpool, avgpool, unpool)")
    if max(layer.stride + layer.dilation) > MAX_STRIDE:  # the partner convT lists one accepted output per value
        raise InputError(f"--mirror takes strides and dilations up to {MAX_STRIDE}, got "
                         f"{max(layer.stride + layer.dilation)} (a pool's stride is its kernel)")
    down = forward(layer, size)
    if down.output is None:
        raise InputError("--mirror needs the layer's output: give --output-size (the caller chooses it here)")
    fixed = {"kernel": layer.kernel, "stride": layer.stride, "dilation": layer.dilation, **api_of(layer)}
    widest = max([b + a for b, a in (ax.pads or (0, 0) for ax in down.axes)] + list(layer.kernel))
    partner = "conv" if layer.kind in ("convT", "unpool") else "convT"
    applied = tuple(ax.pads for ax in down.axes)

    def best(padding=None):  # limit=1: each solution listed costs a forward (a stride-65536 convT's is 0.1 s)
        wanted = fixed if padding is None else {**fixed, "padding": padding}
        return solve(down.output, size, (partner,), (layer.framework,), Bounds(padding=widest), wanted,
                     layer.backend, limit=1)

    for padding in (layer.padding, applied if None not in applied else ()):  # the layer's own padding first
        found = best(padding).solutions if padding else ()
        if found and (found[0].pads == applied or (isinstance(layer.padding, str) and found[0].padding == padding)):
            return found[0]
    result = best()
    if not result.solutions:
        raise NoSolutionError(f"no {layer.framework} {partner} with kernel {_text(layer.kernel)} and "
                              f"stride {_text(layer.stride)} restores {_text(size)}: {result.explanation}")
    return result.solutions[0]


# ---- inverse: the inputs a layer maps to a given output --------------------------------------------

MAX_COMBINATIONS_CHECKED = 4096


@dataclass(frozen=True)
class InputsResult:
    framework: str
    layer: str
    output: tuple
    inputs: tuple  # per axis: every input size that gives this axis's output, sorted
    code: str


def inputs_for(layer, output):
    """Every input size from which ``layer`` gives ``output``, per axis: a strided conv folds s
    inputs onto one output, so each axis's answer is an interval, found by bisection
    (outputs never shrink as the input grows) on the framework's own rules.

    >>> from tconvcalc.layer import build_layer
    >>> inputs_for(build_layer("conv", "torch", 1, kernel=3, stride=2, padding=1), (32,)).inputs
    ((63, 64),)
    """
    per_axis = tuple(_axis_inputs(*_project(layer, axis), o) for axis, o in enumerate(output))
    combinations = list(product(*per_axis)) if _count(per_axis) <= MAX_COMBINATIONS_CHECKED else [
        tuple(axis[0] for axis in per_axis), tuple(axis[-1] for axis in per_axis)]
    accepted = [size for size in combinations if _gives(layer, size, output)]
    if not accepted:
        raise NoSolutionError(f"no input size gives {_text(output)} with this {layer.framework} {layer.kind}")
    if len(combinations) == _count(per_axis):  # every combination checked: keep only those accepted
        per_axis = tuple(tuple(sorted({size[axis] for size in accepted})) for axis in range(len(output)))
    code = forward(layer, accepted[0])
    if code.output is None:  # tf conv_transpose: the code passes the output asked for as output_shape
        code = forward(replace(layer, output_size=tuple(output)), accepted[0])
    return InputsResult(layer.framework, layer.kind, tuple(output), per_axis, code.code)


def _count(per_axis):
    total = 1
    for axis in per_axis:
        total *= len(axis)
    return total


def _project(layer, axis):
    """(the 1-D layer of one axis, 0); a pixel shuffle, which exists only in 2-D and scales every axis
    alike, stays whole: (layer, axis)."""
    if layer.kind == "pixelshuffle":
        return layer, axis
    pick = lambda values: None if not values else (values[axis],)  # noqa: E731  (upsample has no kernel)
    padding = layer.padding if isinstance(layer.padding, str) else pick(layer.padding)
    return replace(layer, rank=1, kernel=pick(layer.kernel) or (), stride=pick(layer.stride) or (),
                   dilation=pick(layer.dilation) or (), padding=padding or (),
                   output_padding=pick(layer.output_padding), output_size=pick(layer.output_size),
                   scale=pick(layer.scale), input_dilation=pick(layer.input_dilation)), 0


def _gives(layer, size, output):
    try:
        axes, _ = evaluate(layer, size)
    except TconvError:
        return False
    return all(ax.output == o if ax.output is not None else o in (ax.accepted or ())
               for ax, o in zip(axes, output))


MAX_INPUTS_LISTED = 1 << 16


def _axis_inputs(layer, axis, out):
    """The inputs of one axis (``axis`` of ``layer``, every axis given the same size) giving ``out``."""
    try:  # an option or layer the framework lacks (InputError) is exit 2, not "no input gives it"
        evaluate(layer, (out,) * layer.rank, strict=False)
    except ShapeError:
        pass

    def lowest_output(n):  # refused sizes sit below every output
        try:
            ax = evaluate(layer, (n,) * layer.rank)[0][axis]
        except TconvError:
            return 0
        return int(ax.output) if ax.output is not None else min(ax.accepted or [0])

    sizes = range(1, MAX_INT + 1)
    span = max(layer.stride or (1,))  # where the caller picks the output, one input offers s outputs
    # From at least 1: sizes refused everywhere (key 0) never give an output >= 1.
    lo = bisect_left(sizes, max(out - span, 1), key=lowest_output)
    hi = bisect_right(sizes, out, key=lowest_output)
    if hi - lo > MAX_INPUTS_LISTED:  # e.g. a tiny upsample scale folds millions of inputs onto one output
        raise InputError(f"{hi - lo} input sizes would be checked for output {out} (at most "
                         f"{MAX_INPUTS_LISTED}); this layer folds too many inputs together")
    gives = lambda n: _gives(layer, (n,) * layer.rank, (out,) * layer.rank)  # noqa: E731
    return tuple(n for n in sizes[lo:hi] if gives(n))


# ---- when nothing fits --------------------------------------------------------------------------

NEAREST_WINDOW = 8


def _reachable(n, target, kinds, frameworks, bounds, fixed, backend, memo=None):
    """Whether some 1-D layer gives ``target`` from ``n``: the search's own candidates where it already ran
    (``memo``), else a search that stops at the first candidate."""
    for framework, kind in product(frameworks, kinds):
        if not _takes(framework, kind, fixed):
            continue
        if kind in ("upsample", "pixelshuffle"):
            if _resampling((n,), (target,), framework, kind, backend):
                return True
            continue
        searched = (memo or {}).get(("axis", _axis_key(framework, kind, n, target, fixed)))
        if searched if searched is not None else next(
                _axis_layers(n, target, framework, kind, bounds, fixed, backend, memo), None):
            return True
    return False


def _nearest(size, target, kinds, frameworks, bounds, fixed, backend, memo=None):
    """On the first axis that cannot be reached: the (at most 4) reachable outputs nearest to its target, the
    target's own search read from ``memo``, the sizes around it tried nearest first until 4 are found (each an
    existence search over its own closed-form plan: the unreachable ones cost no framework call)."""
    for axis, (n, t) in enumerate(zip(size, target)):
        axis_fixed = _fixed_axis(fixed, axis)
        if _reachable(n, t, kinds, frameworks, bounds, axis_fixed, backend, memo):
            continue
        window = sorted((c for c in range(max(1, t - NEAREST_WINDOW), t + NEAREST_WINDOW + 1) if c != t),
                        key=lambda c: (abs(c - t), c))
        near = []
        for c in window:
            if len(near) == 4:
                break
            if _reachable(n, c, kinds, frameworks, bounds, axis_fixed, backend):
                near.append(c)
        return tuple(sorted(near))
    return ()


def _needed_input(n, target, kinds, frameworks, bounds, fixed, backend):
    """With the stride fixed: the input sizes near n from which target is reachable."""
    stride = fixed.get("stride")
    if stride is None:
        return ()
    guess = target // stride if "convT" in kinds or "unpool" in kinds else target * stride
    window = range(max(1, guess - stride - 2), guess + stride + 3)
    return tuple(m for m in window if m != n and _reachable(m, target, kinds, frameworks, bounds, fixed, backend))


def _explain_none(size, target, kinds, frameworks, fixed, backend, nearest, bounds=None):
    bounds = bounds or Bounds()
    what = f"{'/'.join(frameworks)} {'/'.join(kinds)}"
    given = ", ".join(f"{name}={_text(value) if isinstance(value, tuple) else value}"
                      for name, value in fixed.items() if value is not None)
    message = (f"no {what} maps {_text(size)} to {_text(target)} within kernel <= {bounds.kernel}, "
               f"stride <= {bounds.stride}, dilation <= {bounds.dilation}, padding <= {bounds.padding}"
               + (f" (fixed: {given})" if given else ""))
    if nearest:
        message += f"; reachable nearby: {', '.join(map(str, nearest))}"
    if len(size) == 1:
        inputs = _needed_input(size[0], target[0], kinds, frameworks, bounds, _fixed_axis(fixed, 0), backend)
        if inputs:
            message += f"; for {target[0]} the input must be {' or '.join(map(str, inputs))}"
    return message


def _text(values):
    return "x".join((str(v[0]) if v[0] == v[1] else f"{v[0]}:{v[1]}") if isinstance(v, tuple) else str(v)
                    for v in values)


# ---- the reference the closed form is tested and benchmarked against ------------------------------


def brute_force(n, target, framework, kind, bounds, backend="tensorflow"):
    """Every (kernel, stride, dilation, padding, output_padding) in the domain tried strictly, one by
    one; the output is the caller's choice only where the framework leaves it to the caller (tf).
    Returns the set of distinct layers (as _identity keys) that map n to target."""
    found = set()
    paddings = [((p, p),) for p in range(bounds.padding + 1)] + list(PADDING_WORDS)
    for k, s, d, padding in product(range(1, bounds.kernel + 1), range(1, bounds.stride + 1),
                                    range(1, _max_dilation(framework, kind, bounds.dilation) + 1), paddings):
        for op in [None] + ([(op,) for op in range(max(s, d))] if kind == "convT" else []):
            layer = Layer(kind, framework, 1, kernel=(k,), stride=(s,), dilation=(d,), padding=padding,
                          output_padding=op, backend=backend)
            try:
                axes, _ = evaluate(layer, (n,))
                if axes[0].output is None:  # the caller chooses: pass the target
                    layer = replace(layer, output_size=(target,))
                    axes, _ = evaluate(layer, (n,))
            except (TconvError, KeyError):
                continue
            if axes[0].output == target:
                found.add(layer_identity(layer, axes))
    return found


def closed_form(n, target, framework, kind, bounds, backend="tensorflow"):
    """The same set as brute_force, from the closed-form search."""
    return {layer_identity(layer, evaluate(layer, (n,))[0])
            for _, layer, _ in _solve_layer((n,), (target,), framework, kind, bounds, {}, backend)}
