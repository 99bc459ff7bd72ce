"""Whole-process time of a plain numeric call, as ratios measured in one run:

* against the floor our own dependencies set: ``python -c 'import click, rich.console, rich.table'``
  (target: within 1.5x);
* against computing the same shape by importing torch (target: at least 10x faster).

    python benchmarks/startup.py [--runs 15]
"""

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "floor (import click, rich)": [sys.executable, "-c", "import click, rich.console, rich.table"],
    "tconvcalc forward": [sys.executable, "-m", "tconvcalc", "forward", "126", "-l", "convT", "-k", "4", "-s", "2"],
    "torch": [sys.executable, "-c", "import torch; print(torch.nn.ConvTranspose1d(1, 1, 4, stride=2)"
                                    "(torch.zeros(1, 1, 126)).shape[-1])"],
}


def median_seconds(command, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    for command in COMMANDS.values():  # warm the file cache
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = {name: median_seconds(command, runs) for name, command in COMMANDS.items()}
    for name, value in seconds.items():
        print(f"{name:28} {value * 1000:8.1f} ms (median of {runs})")
    ours = seconds["tconvcalc forward"]
    print(f"tconvcalc / floor: {ours / seconds['floor (import click, rich)']:.2f}x (target <= 1.5x)")
    print(f"torch / tconvcalc: {seconds['torch'] / ours:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
