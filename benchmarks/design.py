"""design's dynamic programming against the product enumeration of per-layer choices, at growing N:
both times, their ratio and how each grows (the product only where it finishes in seconds; beyond,
its size is printed). Both return the same set of stacks (asserted here too).

    python benchmarks/design.py
"""

import time

from tconvcalc.design import Bounds, _configurations, design, design_keys, product_keys

SMALL = Bounds(kernel=3, stride=2, dilation=1, padding=1)
PRODUCT_UP_TO = 3  # layers; N=4 is ~60x the N=3 time


def seconds(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def main():
    configs = len(_configurations("torch", "convT", SMALL, "tensorflow"))
    print(f"torch convT, 3 -> 3*2^N, kernel <= 3, stride <= 2, padding <= 1: {configs} configurations per layer")
    print("DP = design's search listing every stack (output-sensitive: its time follows the stacks listed);")
    print("best 10 = design() as the CLI runs it; product = every N-tuple of configurations run layer by layer")
    print(f"{'N':>3} {'stacks':>8} {'DP':>10} {'best 10':>9} {'product':>12} {'ratio':>8}  product size")
    design_keys(3, 6, 1, "torch", "convT", SMALL)  # build the layer table once
    previous = None
    for layers in range(1, 7):
        target = 3 * 2 ** layers
        fast, found = seconds(design_keys, 3, target, layers, "torch", "convT", SMALL)
        best, _ = seconds(design, (3,), (target,), layers, "torch", "convT", SMALL)
        size = configs ** layers
        if layers <= PRODUCT_UP_TO:
            slow, expected = seconds(product_keys, 3, target, layers, "torch", "convT", SMALL)
            assert found == expected, layers
            slow_text, ratio = f"{slow * 1000:10.0f}ms", f"{slow / fast:7.0f}x"
        else:
            slow_text, ratio = f"{'(skipped)':>12}", f"{'':>8}"
        growth = f"  DP x{fast / previous:.1f} per layer" if previous else ""
        print(f"{layers:>3} {len(found):>8} {fast * 1000:8.1f}ms {best * 1000:7.1f}ms {slow_text} {ratio}  {size:.2e}{growth}")
        previous = fast
    print("\nissue 4 performance case: 6 layers, kernel <= 8, stride <= 4, dilation <= 2, padding <= 8")
    bounds = Bounds(kernel=8, stride=4, dilation=2, padding=8)
    for framework in ("torch", "keras", "tf", "jax", "onnx"):
        for kind, (n, target) in (("convT", (64, 4096)), ("convT", (7, 3001)), ("conv", (4096, 64))):
            cold, result = seconds(design, (n,), (target,), 6, framework, kind, bounds)
            warm, _ = seconds(design, (n,), (target,), 6, framework, kind, bounds)
            configs = len(_configurations(framework, kind, bounds, "tensorflow"))
            print(f"  {framework:6} {kind:5} {n}->{target}: {cold * 1000:6.0f} ms cold (table of {configs} "
                  f"configurations), {warm * 1000:5.0f} ms warm, {result.count} stacks listed")


if __name__ == "__main__":
    main()
