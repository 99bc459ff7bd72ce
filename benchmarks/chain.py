"""`chain H` on deep networks, in-process CPU time (best of a few runs): each layer's size in H, the exact valid inputs
and each warning's sizes. Target (issue 9): a 350-layer network under 2 s on this machine.

* an ESRGAN-like generator: 23 residual-in-residual dense blocks (345 convs with their concats and adds), then
  two nearest-neighbour upsamplings: 351 layers, 722 nodes;
* a ResNet-like classifier body: bottlenecks (k1, k3, k1, each with a downsample branch where the stride or the
  width changes) over four stages, 350 layers.

    python benchmarks/chain.py [--runs 3]
"""

import argparse
import time

from tconvcalc.network import chain, parse_inline


def esrgan(blocks=23):
    parts, previous, merges = ["first: conv k3 p1 c64"], "first", 0
    for b in range(blocks):
        block_in = previous
        for r in range(3):
            dense_in = acc = previous
            for i in range(5):
                name = f"b{b}r{r}c{i}"
                parts.append(f"{name}: conv k3 p1 c{32 if i < 4 else 64} input={acc}")
                if i < 4:
                    merges += 1
                    parts.append(f"cat{merges}: concat {acc} input={name}")
                    acc = f"cat{merges}"
            parts.append(f"rdb{b}_{r}: add {dense_in}")
            previous = f"rdb{b}_{r}"
        parts.append(f"rrdb{b}: add {block_in}")
        previous = f"rrdb{b}"
    parts += ["trunk: conv k3 p1 c64", "body: add first", "upsample x2", "conv k3 p1 c64", "upsample x2",
              "conv k3 p1 c64", "conv k3 p1 c64", "conv k3 p1 c3"]
    return " | ".join(parts)


def resnet(layers=350):
    parts, count, width = ["stem: conv k7 s2 p3 c64", "maxpool k3 s2 p1"], 2, 64
    stages = [(64, 1), (128, 2), (256, 2), (512, 2)]
    per_stage = (layers - count) // (4 * 4)  # a bottleneck is 3 convs, plus its downsample where it has one
    previous = "maxpool2"
    parts[1] = f"{previous}: maxpool k3 s2 p1"
    for stage, (planes, stride) in enumerate(stages):
        for block in range(per_stage):
            s = stride if block == 0 else 1
            name = f"l{stage}b{block}"
            parts += [f"{name}a: conv k1 c{planes} input={previous}", f"{name}b: conv k3 s{s} p1 c{planes}",
                      f"{name}c: conv k1 c{planes * 4}"]
            count += 3
            if block == 0 or width != planes * 4:
                parts.append(f"{name}d: conv k1 s{s} c{planes * 4} input={previous}")
                parts.append(f"{name}: add {name}c")
                count += 1
            else:
                parts.append(f"{name}: add {previous}")
            width, previous = planes * 4, name
    while count < layers:
        parts.append("conv k3 p1")
        count += 1
    return " | ".join(parts)


def best_seconds(network, runs):
    from sympy.core.cache import clear_cache

    from tconvcalc.forward import symbolic
    from tconvcalc.symbolic import display, simplify

    times = []
    for _ in range(runs):
        for cached in (simplify, display, symbolic):  # every run starts cold, as a command does
            cached.cache_clear()
        clear_cache()
        start = time.process_time()
        result = chain(network, ("H",))
        times.append(time.process_time() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    for name, text in (("ESRGAN-like", esrgan()), ("ResNet-like", resnet())):
        network = parse_inline(text)
        layers = sum(node.op not in ("concat", "add") for node in network.nodes)
        seconds, result = best_seconds(network, runs)
        print(f"{name}: {layers} layers, {len(network.nodes)} nodes: {seconds:.2f} s "
              f"({1000 * seconds / layers:.1f} ms per layer); valid inputs: {result.condition}")


if __name__ == "__main__":
    main()
