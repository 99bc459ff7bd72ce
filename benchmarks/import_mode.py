"""What import mode adds over importing torch and the user's module, on a 300+ layer model (an ESRGAN-like
generator of 319 layers, tests/data/models/esrgan_like.py with groups=10), as whole processes:

* ``python -c "import torch"``;
* the floor: a process that imports torch and torch.fx, imports the model file and builds the model on the
  meta device (what any tool that reads the model by running it must do), and the same running the model once
  on a meta tensor (the first meta run imports what torch's meta kernels need);
* ``tconvcalc chain 64 esrgan_like.py:DenseUpscaler --args groups=10 --import`` (numeric) and the same in ``H``.

Wall time is noisy on a shared machine, so CPU time (user + system of the processes) is given too; medians.

    python benchmarks/import_mode.py [--runs 3] [--blocks 10]
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "tests", "data", "models")


def commands(blocks):
    build = (f"import sys, torch, torch.fx; sys.path.insert(0, {MODELS!r}); import esrgan_like\n"
             f"with torch.device('meta'): esrgan_like.DenseUpscaler(groups={blocks})")
    run = build.replace("with torch.device('meta'): esrgan_like", "with torch.device('meta'): m = esrgan_like") + \
        "\nm.eval()(torch.empty(2, 3, 64, 64, device='meta'))"
    spec = f"{os.path.join(MODELS, 'esrgan_like.py')}:DenseUpscaler"
    chain = [sys.executable, "-m", "tconvcalc", "chain"]
    return {
        "import torch": [sys.executable, "-c", "import torch"],
        "floor: import torch + the model, build it": [sys.executable, "-c", build],
        "floor + one meta forward": [sys.executable, "-c", run],
        "tconvcalc chain 64 --import": chain + ["64", spec, "--args", f"groups={blocks}", "--import", "--json"],
        "tconvcalc chain H --import": chain + ["H", spec, "--args", f"groups={blocks}", "--import", "--json"],
    }


def measure(command, runs):
    """(median wall seconds, median CPU seconds) over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=10, help="RRDB blocks (10: 319 layers, 23: 722)")
    options = parser.parse_args()
    table = commands(options.blocks)
    subprocess.run(table["import torch"], stdout=subprocess.DEVNULL)  # warm the file cache
    results = {name: measure(command, options.runs) for name, command in table.items()}
    for name, (wall, cpu) in results.items():
        print(f"{name:45s} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    for floor in ("floor: import torch + the model, build it", "floor + one meta forward"):
        for name in ("tconvcalc chain 64 --import", "tconvcalc chain H --import"):
            (wall, cpu), (floor_wall, floor_cpu) = results[name], results[floor]
            print(f"{name} adds {wall - floor_wall:+.2f} s wall, {cpu - floor_cpu:+.2f} s CPU over {floor!r}")


if __name__ == "__main__":
    main()
