"""design(): stacks of N layers mapping an input size to a target size, by dynamic programming over
the intermediate sizes -- never by enumerating the product of per-layer choices.

How (1-D; each axis of an HxW size is solved alone and the axes combined, one config preferred):

1. The layer table. Every configuration in the bounds (kernel, stride, dilation, symmetric integer
   padding and every padding word, output_padding) is read once from the framework's own layer
   function in lenient mode, at two large input sizes per residue of the input mod the stride. Its
   output is then ``base(a) + e`` with ``base(a) = (a-1)*s`` (convT) or ``a // s`` (conv) and an
   offset ``e`` that does not depend on the size ``a`` beyond ``a mod s`` (where the caller chooses
   the output -- tf's output_shape -- each accepted output is an offset). Configurations that break
   a rule at every size are left out; the layers with the same offset form one transition group.
2. Reachable sets. From the side whose sizes stay bounded (convT: backward from OUT, conv: forward
   from IN) the sets of sizes at each depth are computed group by group (plain sets), then the other
   direction is intersected with them (meet in the middle): a size survives at depth i only if IN
   reaches it in i layers and it reaches OUT in N-i.
3. Ranking. Each layer's rank is, in order: whether it keeps the size (k1 s1 p0, k3 s1 p1: a layer
   wasted on the size), then solve.py's (checkerboard, output_padding, asymmetric padding), then
   whether it is a common idiom and which (solve.idiom_rank: k4 s2 p1, then k2 s2, then k3 s2 p1
   op1), then dilation, kernel, stride, pads; a stack's cost is their sum, compared component by
   component.
   The cheapest cost-to-go of every surviving size is one more backward pass; the stacks are then
   listed best first by a lazy best-first search whose estimate is that exact cost-to-go.
4. Soundness. Every transition a listed stack takes is re-checked strictly by the framework's
   function (what forward() runs) before the stack is listed, so a stack is exactly what forward()
   reproduces; the final stacks are built with forward() itself.
"""

import heapq
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product

from .checks import Checks
from .errors import InputError, TconvError
from .forward import evaluate
from .frameworks import AxisOut, module
from .layer import FRAMEWORKS, MAX_INT, PADDING_WORDS, Layer
from .solve import IDIOMS, MAX_WORK, Bounds, idiom_rank, layer_identity, layer_rank, layer_reasons, make_solution

MAX_LAYERS = 12
KINDS = ("convT", "conv")
MAX_ALL = 2000  # --limit 0 lists every stack, up to this many
MAX_READS = 400_000  # layer-table readings (~15 us each): beyond this the bounds are too wide to answer promptly
MAX_READ_STRIDES = 10_000
MAX_DP_WORK = 60_000_000  # sizes x transition groups per reachable-set step (~2.5 s of set arithmetic)
MAX_POPS = 200_000  # best-first steps before the search gives up listing more
PER_AXIS = 24  # multi-axis: the best stacks of each axis that are combined
NEAREST_WINDOW = 8
_REFERENCE = (1009, 2003)  # input sizes (times the stride) where each configuration's offset is read

__all__ = ["Bounds", "DesignResult", "Stack", "design", "design_keys", "product_keys", "MAX_LAYERS"]


@dataclass(frozen=True)
class Stack:
    sizes: tuple  # N+1 sizes, IN first, OUT last (each a per-axis tuple)
    layers: tuple  # N solve.Solution objects, one per layer
    checkerboard: bool  # some layer's kernel is not a multiple of its stride
    reasons: tuple
    code: str  # the whole stack: nn.Sequential(...), keras.Sequential([...]), or one line per layer


@dataclass(frozen=True)
class DesignResult:
    framework: str
    layer: str
    input: tuple
    target: tuple
    layers: int
    stacks: tuple
    count: int  # how many stacks are listed
    more: bool  # whether more stacks exist beyond those listed
    nearest: tuple  # with no stack: the reachable sizes nearest the target (on the first axis that fails)
    explanation: str | None


@dataclass(frozen=True)
class _Entry:
    """One layer configuration in one transition group."""

    cost: int
    layer: Layer  # 1-D
    choose: bool  # the caller passes the output (tf output_shape)
    base_key: tuple  # (kernel, stride, dilation, padding): what --tied keeps equal
    idiom: int = 0  # its idiom_rank in the cost (a convT's is read again on a 1-wide input: _at)


def design(size_in, size_out, layers, framework="torch", kind="convT", bounds=Bounds(kernel=8, stride=4),
           tied=False, strides=None, no_checkerboard=False, limit=10, backend="tensorflow"):
    """Stacks of ``layers`` layers mapping ``size_in`` to ``size_out`` (per-axis tuples), best first.

    >>> best = design((7,), (224,), 5).stacks[0]
    >>> [s[0] for s in best.sizes]
    [7, 14, 28, 56, 112, 224]
    """
    size_in, size_out = tuple(size_in), tuple(size_out)
    _check_request(size_in, size_out, layers, framework, kind, bounds, strides, limit)
    want = MAX_ALL if not limit else limit
    options = (framework, kind, bounds, backend, strides, no_checkerboard, tied)
    if len(set(zip(size_in, size_out))) == 1:  # every axis the same problem: one config for all axes
        found = _search_1d(size_in[0], size_out[0], layers, options, want + 1)
        stacks = [(cost, [(_widen(layer, len(size_in)), (a,) * len(size_in), (b,) * len(size_in))
                          for layer, a, b in path]) for cost, path in found]
    else:
        stacks = _combine(size_in, size_out, layers, options, want + 1)
    more = len(stacks) > want
    stacks = stacks[:want]
    built = tuple(_build(path, framework) for _, path in stacks)
    if built:
        return DesignResult(framework, kind, size_in, size_out, layers, built, len(built), more, (), None)
    nearest = _nearest(size_in, size_out, layers, options)
    return DesignResult(framework, kind, size_in, size_out, layers, (), 0, False, nearest,
                        _explain_none(size_in, size_out, layers, options, nearest))


def _check_request(size_in, size_out, layers, framework, kind, bounds, strides, limit):
    if not isinstance(layers, int) or not 1 <= layers <= MAX_LAYERS:
        raise InputError(f"--layers must be between 1 and {MAX_LAYERS}, got {layers}")
    if kind not in KINDS:
        raise InputError(f"design builds stacks of {' or '.join(KINDS)}, not {kind}")
    if framework not in FRAMEWORKS:
        raise InputError(f"unknown framework {framework!r}; expected one of: {', '.join(FRAMEWORKS)}")
    if len(size_in) != len(size_out):
        raise InputError(f"input {_text(size_in)} has {len(size_in)} axes but the target "
                         f"{_text(size_out)} has {len(size_out)}")
    if not 1 <= len(size_in) <= 3:
        raise InputError("design takes 1-D, 2-D or 3-D sizes")
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in size_in + size_out):
        raise InputError("design takes positive numeric sizes")
    if min(bounds.kernel, bounds.stride, bounds.dilation) < 1 or bounds.padding < 0:
        raise InputError("bounds must be positive (padding at least 0)")
    work = bounds.kernel * bounds.stride * bounds.dilation * (bounds.padding + 1 + len(PADDING_WORDS))
    # The layer table reads each configuration once per residue mod s (convT: per output_padding < s too).
    strides_read = [strides] if strides is not None and 1 <= strides <= MAX_INT else range(1, bounds.stride + 1)
    reads = bounds.kernel * bounds.dilation * (bounds.padding + 1 + len(PADDING_WORDS)) * sum(
        s * (max(s, bounds.dilation) + 1 if kind == "convT" else 1) for s in strides_read[:MAX_READ_STRIDES])
    if work > MAX_WORK // 1000 or reads > MAX_READS or len(strides_read) > MAX_READ_STRIDES:
        shown = f"stride {strides}" if strides is not None else f"{bounds.stride} strides"
        raise InputError(f"bounds too large for design: {bounds.kernel} kernels x {shown} x "
                         f"{bounds.dilation} dilations x {bounds.padding + 1} paddings; narrow "
                         "--max-kernel/--max-stride/--max-dilation/--max-padding" + ("/--stride" if strides else ""))
    if strides is not None and not 1 <= strides <= MAX_INT:
        raise InputError(f"--stride must be positive, got {strides}")
    if limit < 0:
        raise InputError(f"--limit must be at least 0, got {limit}")
    if limit > MAX_ALL:  # each stack listed is searched for: a huge limit is a huge search
        raise InputError(f"--limit {limit} is too large: at most {MAX_ALL} stacks are listed (0 lists them all)")


# ---- 1. the layer table -------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _table(framework, kind, bounds, backend, strides, no_checkerboard):
    """{stride: {residue: {offset: [_Entry, ...] cheapest first}}} for every configuration in the bounds."""
    idiom_ints_first = module(framework).DEFAULT_PADDING == "zeros"
    compute = module(framework).LAYERS.get(kind)
    if compute is None:
        raise InputError(f"{framework} has no {kind} layer")
    paddings = [((p, p),) for p in range(bounds.padding + 1)]
    paddings = paddings + list(PADDING_WORDS) if idiom_ints_first else list(PADDING_WORDS) + paddings
    found = []  # (rank tuple, order, stride, residue, offset, identity, layer, choose, base key)
    order = 0
    stride_range = (strides,) if strides is not None else range(1, bounds.stride + 1)
    for s, d, k in product(stride_range, range(1, bounds.dilation + 1), range(1, bounds.kernel + 1)):
        if no_checkerboard and k % s:
            continue
        for padding in paddings:
            ops = [None] + ([(op,) for op in range(max(s, d))] if kind == "convT" else [])
            for op in ops:
                layer = Layer(kind, framework, 1, kernel=(k,), stride=(s,), dilation=(d,), padding=padding,
                              output_padding=op, backend=backend)
                order += 1
                for residue, offsets, rank, identity, choose in _read(compute, layer, kind, s):
                    for e in offsets:
                        found.append((_idiom((0, *rank), layer, e), order, s, residue, e, identity, layer, choose,
                                      (k, s, d, padding)))  # 0: the place of _at's kept
    if not found:
        return {}, ()
    weights = _weights([item[0] for item in found], MAX_LAYERS)
    table, seen = {}, set()
    for rank, _, s, residue, e, identity, layer, choose, base_key in sorted(found, key=lambda x: (x[0], x[1])):
        if (s, residue, e, identity) in seen:  # the same layer written two ways: listed once, in the idiom
            continue
        seen.add((s, residue, e, identity))
        cost = sum(w * c for w, c in zip(weights, rank))
        table.setdefault(s, {}).setdefault(residue, {}).setdefault(e, []).append(
            _Entry(cost, layer, choose, base_key, rank[_IDIOM + 1] if not rank[_IDIOM] else len(IDIOMS)))
    return table, weights


def _read(compute, layer, kind, s):
    """Per residue r of the input mod s: (r, offsets, rank, identity, choose) of one configuration,
    read leniently at a large size a = m*s + r (and, for r = 0, at a second one: the offsets of a
    size-dependent rule that is not periodic in a mod s are the union of both readings, each checked
    strictly later). Nothing where the configuration breaks a rule at every reading or cannot be built."""
    reads, rank = [], None
    for residue, multiple in [(0, _REFERENCE[1])] + [(r, _REFERENCE[0]) for r in range(s)]:
        a = multiple * s + residue
        checks = Checks(strict=False)
        try:
            axes = compute(layer, (a,), checks)
        except (TconvError, KeyError):
            return []
        ax = axes[0]
        choose = ax.output is None
        outputs = ax.accepted or () if choose else (ax.output,)
        offsets = frozenset(int(o) - _base(kind, a, s) for o in outputs)
        if rank is None:
            own = layer_rank(layer, axes)
            idiom = _idiom_parts(idiom_rank(layer, axes, (a,)))
            rank = tuple(max(0, min(int(c), 10_000)) for c in (*own[:3], *idiom, *own[3:]))
        reads.append((residue, offsets, bool(checks.broken), choose, axes))
    if all(broken for _, _, broken, _, _ in reads):
        return []
    second = reads.pop(0)[1]
    return [(r, offsets | second if r == 0 else offsets, rank, layer_identity(layer, axes)[2:], choose)
            for r, offsets, _, choose, axes in reads]


_IDIOM = 4  # the idiom's place in the rank: (kept, checkerboard, output_padding, asymmetric, not an idiom, which)


def _idiom_parts(rank):
    """An idiom_rank as two rank components: not an idiom at all (counted first: one odd layer ranks a stack after
    every stack of idioms), then which idiom (IDIOMS' order)."""
    return (int(rank >= len(IDIOMS)), rank if rank < len(IDIOMS) else 0)


def _idiom(rank, layer, e):
    """A convT's idiom from its offset (its output at input 2 is s + e; the idiom's, 2s), so that each output
    a caller may choose (tf output_shape) is ranked as the layer it is."""
    if layer.kind != "convT":
        return rank
    idiom = idiom_rank(layer, (AxisOut(layer.stride[0] + e, None, _op(layer)),), (2,))
    return (*rank[:_IDIOM], *_idiom_parts(idiom), *rank[_IDIOM + 2:])


def _op(layer):
    return None if layer.output_padding is None else layer.output_padding[0]


def _at(weights, entries, a, b, kind):
    """[(cost, entry)] of one transition group from size a to b, cheapest first: the table's cost and what depends
    on the size -- a layer whose output is its input (k1 s1 p0, or k2 s2 p2 at 4) wasted on the size, the rank's
    first component; on a 1-wide input a convT's idiom read again (DCGAN's k4 s1 p0 from 1 to 4)."""
    kept = weights[0] if a == b else 0
    if a != 1 or kind != "convT":
        return [(entry.cost + kept, entry) for entry in entries]
    costs = []
    for entry in entries:
        now = _idiom_parts(idiom_rank(entry.layer, (AxisOut(b, None, _op(entry.layer)),), (1,)))
        was = _idiom_parts(entry.idiom)
        costs.append((entry.cost + kept + sum(weights[_IDIOM + j] * (now[j] - was[j]) for j in (0, 1)), entry))
    return sorted(costs, key=lambda pair: pair[0])


def _cheapest(weights, entries, a, b, kind):
    if a != 1 or kind != "convT":
        return entries[0].cost + (weights[0] if a == b else 0)
    return _at(weights, entries, a, b, kind)[0][0]


def _weights(ranks, layers):
    """Per component of the rank, a weight so that summed costs compare like the tuples summed."""
    maxima = [max(r[j] for r in ranks) for j in range(len(ranks[0]))]
    weights, w = [], 1
    for m in reversed(maxima):
        weights.append(w)
        w *= layers * m + 1
    return tuple(reversed(weights))


def _base(kind, a, s):
    return (a - 1) * s if kind == "convT" else a // s


# ---- 2. reachable sets, 3. cost-to-go, best-first listing --------------------------------------


def _groups(table):
    for s, residues in table.items():
        for residue, offsets in residues.items():
            for e, entries in offsets.items():
                yield s, residue, e, entries


def _step(sizes, table, kind):
    """Every size one layer gives from ``sizes``, by transition group."""
    out = set()
    for s, residues in table.items():
        for residue, offsets in residues.items():
            bases = [_base(kind, a, s) for a in sizes if a % s == residue]
            for e in offsets:
                out.update(b + e for b in bases)
    return {b for b in out if b >= 1}


def _unstep(sizes, table, kind):
    """Every size from which one layer gives a size in ``sizes``."""
    out = set()
    for s, residues in table.items():
        for residue, offsets in residues.items():
            for e in offsets:
                if kind == "convT":  # b = (a-1)*s + e
                    out.update(a for a in ((b - e) // s + 1 for b in sizes if (b - e) % s == 0) if a % s == residue)
                else:  # b = a//s + e, so a = (b-e)*s + residue
                    out.update((b - e) * s + residue for b in sizes if b >= e)
    return {a for a in out if 1 <= a <= MAX_INT}


def _alive(n, target, layers, table, kind):
    """The sizes at each depth 0..N that lie on some IN -> OUT path (``target`` a size or a set of sizes)."""
    levels = [None] * (layers + 1)
    targets = set(target) if isinstance(target, (set, frozenset)) else {target}
    groups = sum(len(offsets) for residues in table.values() for offsets in residues.values())
    work = 0

    def afford(sizes):  # each step costs (sizes x transition groups); huge targets with many layers explode
        nonlocal work
        work += len(sizes) * groups
        if work > MAX_DP_WORK:
            raise InputError(f"design {n} -> {_text(sorted(targets)[:1])} over {layers} layers is too large a "
                             "search within these bounds: use fewer layers, a smaller size or narrower bounds")

    if kind == "convT":  # sizes stay bounded going backward from OUT
        levels[layers] = targets
        for i in range(layers - 1, -1, -1):
            afford(levels[i + 1])
            levels[i] = _unstep(levels[i + 1], table, kind)
        levels[0] &= {n}
        for i in range(1, layers + 1):
            levels[i] &= _step(levels[i - 1], table, kind)
    else:  # conv: bounded going forward from IN
        levels[0] = {n}
        for i in range(1, layers + 1):
            afford(levels[i - 1])
            levels[i] = _step(levels[i - 1], table, kind)
        levels[layers] &= targets
        for i in range(layers - 1, -1, -1):
            levels[i] &= _unstep(levels[i + 1], table, kind)
    return levels


def _cost_to_go(levels, table, kind, weights):
    """Per depth, the cheapest (lenient) cost from each surviving size to OUT: {size: cost}."""
    costs = [None] * len(levels)
    costs[-1] = dict.fromkeys(levels[-1], 0)
    for i in range(len(levels) - 2, -1, -1):
        there, best = costs[i + 1], {}
        for s, residue, e, entries in _groups(table):
            cost = entries[0].cost
            for a in levels[i]:
                if a % s == residue:
                    b = _base(kind, a, s) + e
                    here = _cheapest(weights, entries, a, b, kind) if a == 1 or a == b else cost
                    if b in there and here + there[b] < best.get(a, here + there[b] + 1):
                        best[a] = here + there[b]
        costs[i] = best
    return costs


def _search_1d(n, target, layers, options, want):
    """[(cost, [(1-D layer, a, b), ...])] for the best ``want`` stacks, best first."""
    framework, kind, bounds, backend, strides, no_checkerboard, tied = options
    table, weights = _table(framework, kind, bounds, backend, strides, no_checkerboard)
    if not tied:
        return _best_paths(n, target, layers, table, kind, want, weights)
    found = []
    for base_key, sub in _split_by_base(table).items():
        found += _best_paths(n, target, layers, sub, kind, want, weights)
    found.sort(key=lambda item: item[0])
    return found[:want]


def _split_by_base(table):
    """--tied: one table per (kernel, stride, dilation, padding)."""
    split = {}
    for s, residue, e, entries in _groups(table):
        for entry in entries:
            split.setdefault(entry.base_key, {}).setdefault(s, {}).setdefault(residue, {}).setdefault(
                e, []).append(entry)
    return split


def _best_paths(n, target, layers, table, kind, want, weights):
    if not table:
        return []
    levels = _alive(n, target, layers, table, kind)
    if not all(len(level) for level in levels):
        return []
    togo = _cost_to_go(levels, table, kind, weights)
    children = {}

    def successors(depth, a):
        """The transition groups from (depth, a), cheapest first: [(group cost, b, [(cost, entry)])]."""
        key = (depth, a)
        if key not in children:
            groups = []
            nxt = togo[depth + 1]
            for s, residues in table.items():
                base = _base(kind, a, s)
                for e, entries in residues.get(a % s, {}).items():
                    b = base + e
                    if b in nxt:
                        pairs = _at(weights, entries, a, b, kind)
                        groups.append((pairs[0][0] + nxt[b], b, pairs))
            groups.sort(key=lambda g: g[0])
            children[key] = groups
        return children[key]

    # A queue item: (estimate, -depth, tie, path so far (linked), depth, a, cost so far, group index, entry index)
    heap, tie, found, pops = [], 0, [], 0

    def push_child(path, depth, a, g, gi, ei):
        nonlocal tie
        groups = successors(depth, a)
        if gi < len(groups) and ei < len(groups[gi][2]):
            _, b, entries = groups[gi]
            estimate = g + entries[ei][0] + togo[depth + 1][b]
            tie += 1
            heapq.heappush(heap, (estimate, -depth, tie, path, depth, a, g, gi, ei))

    push_child(None, 0, n, 0, 0, 0)
    while heap and len(found) < want and pops < MAX_POPS:
        estimate, _, _, path, depth, a, g, gi, ei = heapq.heappop(heap)
        pops += 1
        groups = successors(depth, a)
        _, b, entries = groups[gi]
        push_child(path, depth, a, g, gi, ei + 1)  # the next layer of the same group
        if ei == 0:
            push_child(path, depth, a, g, gi + 1, 0)  # the next group
        cost, entry = entries[ei]
        layer = replace(entry.layer, output_size=(b,)) if entry.choose else entry.layer
        if not _strict(layer, a, b):
            continue
        step = (path, (layer, a, b))
        if depth + 1 == layers:
            found.append((g + cost, _unlink(step)))
        else:
            push_child(step, depth + 1, b, g + cost, 0, 0)
    return found


def _unlink(path):
    steps = []
    while path is not None:
        path, step = path
        steps.append(step)
    return steps[::-1]


def _strict(layer, a, b):
    try:
        axes, _ = evaluate(layer, (a,))
    except TconvError:
        return False
    return axes[0].output == b


# ---- multi-axis ---------------------------------------------------------------------------------


def _widen(layer, rank):
    """A 1-D layer as the same layer on every axis."""
    if rank == 1:
        return layer
    padding = layer.padding if isinstance(layer.padding, str) else layer.padding * rank
    return replace(layer, rank=rank, kernel=layer.kernel * rank, stride=layer.stride * rank,
                   dilation=layer.dilation * rank, padding=padding,
                   output_padding=None if layer.output_padding is None else layer.output_padding * rank,
                   output_size=None if layer.output_size is None else layer.output_size * rank)


def _combine(size_in, size_out, layers, options, want):
    """Each axis's best stacks, combined layer by layer into one stack; stacks whose layers have one
    config for all axes first, then by the summed cost. Every combination is checked strictly."""
    per_axis = [_search_1d(n, t, layers, options, PER_AXIS) for n, t in zip(size_in, size_out)]
    if not all(per_axis):
        return []
    combos = []
    for choice in product(*per_axis):
        differing = sum(len({_base_of(path[i][0]) for _, path in choice}) > 1 for i in range(layers))
        combos.append(((differing, sum(cost for cost, _ in choice)), choice))
    combos.sort(key=lambda item: item[0])
    found = []
    for key, choice in combos:
        path = _merge(choice, layers)
        if path is not None:
            found.append((key, path))
            if len(found) >= want:
                break
    return found


def _base_of(layer):
    return (layer.kernel, layer.stride, layer.dilation, layer.padding)


def _merge(choice, layers):
    rank = len(choice)
    path = []
    for i in range(layers):
        steps = [p[i] for _, p in choice]
        ones = [layer for layer, _, _ in steps]
        paddings = [layer.padding for layer in ones]
        words = {p for p in paddings if isinstance(p, str)}
        if words and (len(words) > 1 or len(words) < len(set(paddings))):
            return None  # one padding word per layer
        ops = [layer.output_padding for layer in ones]
        if None in ops and any(op is not None for op in ops):
            return None
        sizes = [layer.output_size for layer in ones]
        if None in sizes and any(size is not None for size in sizes):
            return None
        first = ones[0]
        layer = Layer(first.kind, first.framework, rank,
                      kernel=tuple(x.kernel[0] for x in ones), stride=tuple(x.stride[0] for x in ones),
                      dilation=tuple(x.dilation[0] for x in ones),
                      padding=first.padding if words else tuple(x.padding[0] for x in ones),
                      output_padding=None if ops[0] is None else tuple(op[0] for op in ops),
                      output_size=None if sizes[0] is None else tuple(size[0] for size in sizes),
                      backend=first.backend)
        a, b = tuple(step[1] for step in steps), tuple(step[2] for step in steps)
        try:
            axes, _ = evaluate(layer, a)
        except TconvError:
            return None
        if tuple(ax.output for ax in axes) != b:
            return None
        path.append((layer, a, b))
    return path


# ---- the result -----------------------------------------------------------------------------------


def _build(path, framework):
    solutions, sizes = [], [path[0][1]]
    for layer, a, b in path:
        axes, _ = evaluate(layer, a)
        solution = make_solution(layer, layer_reasons(layer, axes), a)
        if solution.output != b:  # forward() must reproduce every layer
            raise AssertionError(f"design: forward gives {solution.output} for {layer}, expected {b}")
        solutions.append(solution)
        sizes.append(b)
    return Stack(tuple(sizes), tuple(solutions), any(s.checkerboard for s in solutions),
                 _stack_reasons(solutions, sizes, path), module(framework).stack([s.code for s in solutions]))


def _stack_reasons(solutions, sizes, path):
    kept = [i for i, (a, b) in enumerate(zip(sizes, sizes[1:]), 1) if a == b]
    reasons = [f"layer {', '.join(map(str, kept))} keeps the size: ranked after every stack that changes it at "
               "each layer" if kept else "every layer changes the size"]
    uneven = [i for i, s in enumerate(solutions, 1) if s.checkerboard]
    reasons.append(f"checkerboard risk in layer {', '.join(map(str, uneven))} (kernel not a multiple of stride)"
                   if uneven else "no checkerboard: every kernel a multiple of its stride")
    with_op = [i for i, s in enumerate(solutions, 1) if _nonzero(s.output_padding)]
    reasons.append(f"output_padding in layer {', '.join(map(str, with_op))}" if with_op else "no output_padding")
    asymmetric = [i for i, s in enumerate(solutions, 1) if any(b != a for b, a in s.pads)]
    reasons.append(f"asymmetric padding in layer {', '.join(map(str, asymmetric))}" if asymmetric
                   else "symmetric padding")
    reasons.append(_idioms(solutions, path))
    reasons.append("kernels " + ", ".join(_text(s.kernel if isinstance(s.kernel, tuple) else (s.kernel,))
                                          for s in solutions))
    return tuple(reasons)


def _idioms(solutions, path):
    """Which layers are common idioms (solve.IDIOMS, preferred in that order among stacks alike so far)."""
    ranks = [idiom_rank(layer, evaluate(layer, a)[0], a) for layer, a, _ in path]
    groups = {}
    for i, (r, s) in enumerate(zip(ranks, solutions), 1):
        if r < len(IDIOMS):
            op = f" op{_text(_axes(s.output_padding))}" if _nonzero(s.output_padding) else ""
            padding = s.padding if isinstance(s.padding, str) else f"p{_text(_axes(s.padding))}"
            shown = f"k{_text(_axes(s.kernel))} s{_text(_axes(s.stride))} {padding}{op}"
            groups.setdefault((r, shown), []).append(str(i))
    if not groups:
        return "no common idiom (k=2s p=s/2 as k4 s2 p1, k=s as k2 s2, k3 s2 p1 op1)"
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(ranks):
        return f"every layer {next(iter(groups))[1]}, a common idiom"
    return "idioms (k=2s p=s/2 first, then k=s, then k3 s2 p1 op1): " + "; ".join(
        f"{shown} in layer {', '.join(where)}" for (_, shown), where in sorted(groups.items()))


def _axes(value):
    return value if isinstance(value, tuple) else (value,)


def _nonzero(value):
    return any(value) if isinstance(value, tuple) else bool(value)


# ---- when nothing fits ------------------------------------------------------------------------------


def _nearest(size_in, size_out, layers, options):
    """On the first axis with no stack: the sizes near its target that a stack reaches."""
    framework, kind, bounds, backend, strides, no_checkerboard, tied = options
    table, _ = _table(framework, kind, bounds, backend, strides, no_checkerboard)
    for n, t in zip(size_in, size_out):
        if _search_1d(n, t, layers, options, 1):
            continue
        near = [c for c in _reachable_near(n, t, layers, table, kind) if c != t]
        near.sort(key=lambda c: (abs(c - t), c))
        found = []
        for c in near:
            if _search_1d(n, c, layers, options, 1):
                found.append(c)
                if len(found) == 4:
                    break
        return tuple(sorted(found))
    return ()


def _reachable_near(n, t, layers, table, kind):
    """Leniently reachable sizes within the window of t (checked strictly by the caller)."""
    if not table:
        return []
    if kind == "convT":  # forward from IN the reachable sets grow without bound (1 -> 2**31): meet in the middle
        window = {c for c in range(t - NEAREST_WINDOW, t + NEAREST_WINDOW + 1) if c >= 1}
        return sorted(_alive(n, window, layers, table, kind)[layers])
    offsets = [e for _, _, e, _ in _groups(table)]
    drop = max(0, 1 - min(offsets)) if kind == "convT" else 0
    sizes = {n}
    for i in range(1, layers + 1):
        sizes = {b for b in _step(sizes, table, kind) if b <= t + NEAREST_WINDOW + (layers - i) * drop}
    return sorted(c for c in sizes if abs(c - t) <= NEAREST_WINDOW)


def _explain_none(size_in, size_out, layers, options, nearest):
    framework, kind, bounds, backend, strides, no_checkerboard, tied = options
    constraints = [name for name, on in (("tied", tied), (f"stride {strides}", strides is not None),
                                          ("no checkerboard", no_checkerboard)) if on]
    message = (f"no {framework} {kind} stack of {layers} layer{'s' if layers > 1 else ''} maps {_text(size_in)} "
               f"to {_text(size_out)} within kernel <= {bounds.kernel}, stride <= {bounds.stride}, dilation <= "
               f"{bounds.dilation}, padding <= {bounds.padding}"
               + (f" ({', '.join(constraints)})" if constraints else ""))
    if nearest:
        message += f"; reachable nearby: {', '.join(map(str, nearest))}"
    else:
        message += "; nothing reachable within 8 of the target: try more layers or wider bounds"
    return message


def _text(values):
    return "x".join(str(v) for v in values)


# ---- references for tests and the benchmark ----------------------------------------------------------


def _key(layer, axes):
    return layer_identity(layer, axes)[2:]


def design_keys(n, target, layers, framework="torch", kind="convT", bounds=Bounds(kernel=8, stride=4),
                tied=False, strides=None, no_checkerboard=False, backend="tensorflow"):
    """Every stack design finds (1-D, no limit), as a set of (sizes, layer identities)."""
    options = (framework, kind, bounds, backend, strides, no_checkerboard, tied)
    found = _search_1d(n, target, layers, options, 10**9)
    keys = set()
    for _, path in found:
        sizes = (path[0][1],) + tuple(b for _, _, b in path)
        keys.add((sizes, tuple(_key(layer, evaluate(layer, (a,))[0]) for layer, a, _ in path)))
    return keys


def _configurations(framework, kind, bounds, backend, strides=None, no_checkerboard=False):
    """The per-layer domain, as product enumeration sees it (the same domain as the table)."""
    paddings = [((p, p),) for p in range(bounds.padding + 1)] + list(PADDING_WORDS)
    configs = []
    for k, s, d, padding in product(range(1, bounds.kernel + 1),
                                    (strides,) if strides else range(1, bounds.stride + 1),
                                    range(1, bounds.dilation + 1), paddings):
        if no_checkerboard and k % s:
            continue
        for op in [None] + ([(op,) for op in range(max(s, d))] if kind == "convT" else []):
            configs.append(Layer(kind, framework, 1, kernel=(k,), stride=(s,), dilation=(d,), padding=padding,
                                 output_padding=op, backend=backend))
    return configs


def product_keys(n, target, layers, framework="torch", kind="convT", bounds=Bounds(kernel=8, stride=4),
                 tied=False, strides=None, no_checkerboard=False, backend="tensorflow"):
    """The reference: every N-tuple of configurations (the product) run through the framework's strict
    rules layer by layer; the same set as design_keys. Exponential in N: small N and bounds only."""
    configs = _configurations(framework, kind, bounds, backend, strides, no_checkerboard)
    keys = set()
    if tied:
        groups = {}
        for layer in configs:
            groups.setdefault((layer.kernel, layer.stride, layer.dilation, layer.padding), []).append(layer)
        choices = [c for group in groups.values() for c in product(group, repeat=layers)]
    else:
        choices = product(configs, repeat=layers)
    for choice in choices:
        frontier = [((n,), ())]
        for layer in choice:
            nxt = []
            for sizes, identities in frontier:
                for out, used, axes in _outputs(layer, sizes[-1]):
                    nxt.append((sizes + (out,), identities + (_key(used, axes),)))
            frontier = nxt
            if not frontier:
                break
        keys.update((sizes, identities) for sizes, identities in frontier if sizes[-1] == target)
    return keys


def _outputs(layer, a):
    """(output, the layer as run, its axes) for each output the caller can get from this layer at a."""
    try:
        axes, _ = evaluate(layer, (a,))
    except (TconvError, KeyError):
        return []
    if axes[0].output is not None:  # an empty tensor (jax, with a warning) is no size to build on
        return [(int(axes[0].output), layer, axes)] if axes[0].output >= 1 else []
    found = []
    for out in axes[0].accepted or ():
        chosen = replace(layer, output_size=(int(out),))
        try:
            chosen_axes, _ = evaluate(chosen, (a,))
        except TconvError:
            continue
        if chosen_axes[0].output == out:
            found.append((int(out), chosen, chosen_axes))
    return found
