"""The closed-form solver against a brute-force loop over the same domain, at growing sizes and
bounds: both times, their ratio, and how each grows. Both return the same set (asserted here too).

    python benchmarks/solver.py
"""

import time

from tconvcalc.solve import Bounds, brute_force, closed_form, solve


def seconds(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def main():
    print(f"{'case':40} {'closed form':>12} {'brute force':>12} {'ratio':>7}")
    cases = [((126, 255), Bounds(kernel=k, stride=s, dilation=1, padding=p))
             for k, s, p in ((8, 4, 4), (16, 8, 8), (32, 8, 16), (64, 16, 16))]
    cases += [((n, 2 * n), Bounds(kernel=16, stride=8, dilation=2, padding=8)) for n in (100, 10_000, 1_000_000)]
    for (n, target), bounds in cases:
        fast, found = seconds(closed_form, n, target, "torch", "convT", bounds)
        slow, expected = seconds(brute_force, n, target, "torch", "convT", bounds)
        assert found == expected, (n, target, bounds)
        label = f"{n}->{target} k<={bounds.kernel} s<={bounds.stride} d<={bounds.dilation} p<={bounds.padding}"
        print(f"{label:40} {fast * 1000:10.1f}ms {slow * 1000:10.1f}ms {slow / fast:6.0f}x")
    audio = Bounds(kernel=1024, stride=256)
    elapsed, result = seconds(solve, (16000,), (4096000,), ("convT",), ("torch",), audio)
    print(f"16000->4096000 k<=1024 s<=256 (closed form only): {elapsed * 1000:.0f} ms, "
          f"{result.total} solutions, best: {result.solutions[0].code}")
    print("brute force over that domain would evaluate ~1024*256*(9 pads + 5 words)*256 output_paddings "
          "= 9.4e8 layers")
    goals()


GOALS = [  # issue 12's targets, CPU seconds in-process (the start-up is benchmarks/startup.py's)
    ("solve 16000 256 -l conv --max-kernel 1024 --max-stride 256", 0.5,
     ((16000,), (256,), ("conv",), ("torch",), Bounds(kernel=1024, stride=256))),
    ("solve 224x224 7x7 -l conv -f all --max-dilation 4", 0.5,
     ((224, 224), (7, 7), ("conv",), ("torch", "keras", "tf", "jax", "onnx"), Bounds(dilation=4))),
    ("solve 16000 4096000 --max-kernel 1024 --max-stride 512", 0.4,
     ((16000,), (4096000,), ("convT",), ("torch",), Bounds(kernel=1024, stride=512))),
]
# a search with no solution against a solved one of the same bounds: at most 1.5x
NO_SOLUTION = (((100,), (7,), ("convT",), ("torch",), Bounds()), ((100,), (200,), ("convT",), ("torch",), Bounds()))


def cpu_seconds(*args, runs=3):
    times = []
    for _ in range(runs):
        start = time.process_time()
        solve(*args)
        times.append(time.process_time() - start)
    return min(times)


def goals():
    print(f"\n{'goal':60} {'CPU':>8} {'target':>7}")
    for label, target, args in GOALS:
        spent = cpu_seconds(*args)
        print(f"{label:60} {spent:7.2f}s {target:6.1f}s {'met' if spent <= target else 'MISSED'}")
    failed, solved = (cpu_seconds(*args) for args in NO_SOLUTION)
    print(f"{'no solution (100 -> 7 convT) / solved (100 -> 200)':60} {failed / solved:7.2f}x {1.5:6.1f}x "
          f"{'met' if failed <= 1.5 * solved else 'MISSED'}")


if __name__ == "__main__":
    main()
