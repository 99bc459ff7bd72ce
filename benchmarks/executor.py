"""The NumPy executor against torch.nn.functional on the CPU, same thread count, in one run.

    python benchmarks/executor.py [--threads 1] [--repeat 5]

Cases (float32, torch's default kernels -- mkldnn as shipped -- and with mkldnn off):
* 2-D: N=8, 64->32 channels, 64x64, k=4, s=2, p=1 (conv_transpose2d 64->128, conv2d 64->32);
* 3-D: N=2, 32->16 channels, 16x16x16, k=4, s=2, p=1;
* 1-D audio: N=4, 32->16 channels, 4000 samples, k=16, s=8, p=4 (conv_transpose1d x8 upsampling).

Time: the best of --repeat rounds after one warm-up, the executor and torch taking turns within a round
(the machine is shared: a slow spell then hits both); torch with mkldnn off is timed after. Peak memory:
tracemalloc's peak for the executor (numpy reports its allocations to tracemalloc); torch's CPU allocator is
invisible to tracemalloc, so for torch the peak is torch.profiler's largest live CPU memory
(profile_memory=True) -- both include the output. The thread count is set before numpy is imported
(OPENBLAS/OMP/MKL_NUM_THREADS) and with torch.set_num_threads. The target is within 2x of torch's time.

Measured (1 thread, best of 15, a 2-core machine shared with other jobs: +-15% between runs), ratio to
torch's default (oneDNN) kernels:

    case        op     first version                  then                       now
    2-D 64x64   convT  1.5-1.9x  (per-tap scatter)    1.0-1.3x  (sub-pixel form)  1.0-1.3x
    2-D 64x64   conv   2.4x  (50 MB peak)             1.5-1.6x  (channels-last)   1.55-1.65x  (17 MB)
    3-D 16^3    convT  3.0-3.5x                       1.6x                        1.5-1.6x
    3-D 16^3    conv   5.3-5.7x                       2.4-3.0x                    2.2-2.4x  (3.6 MB)
    1-D 4000    convT  1.2x                           0.9-1.0x                    0.9-1.1x
    1-D 4000    conv   2.5-3.0x                       2.2-2.6x                    1.7-1.75x (cells, no im2col)

"now": the im2col blocks go through one reused buffer (fresh arrays cost page faults on this VM) and the
1-D conv with k a multiple of s reads its rows straight from the padded input (k/s GEMMs, no copy).

The 3-D conv misses the target, and numpy cannot close the gap: its GEMM, (1024, 2048) @ (2048, 16) on
OpenBLAS's SkylakeX (AVX-512) kernel at about 80 GFLOPS, alone takes 0.84 ms, more than torch's whole
convolution (0.6-0.7 ms, about 100 GFLOPS); the padding and channels-last copy (0.27 ms) and the im2col copy
(0.21 ms) come on top. Measured and rejected: the last axis in cells for 2-D/3-D (equal in 2-D, 10% slower
in 3-D), a per-tap flat-offset form after space-to-depth (1.4x more GEMM work), a channels-first im2col (10x
slower copy), other GEMM layouts (F-order operands, W @ cols: 1.1-1.7x slower), and block sizes from 256 KB
to 4 MB (no difference). Against torch's reference kernels (mkldnn off) every case is within 0.3-1.0x.
"""

import argparse
import os
import sys


def _threads():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15)
    return parser.parse_args()


ARGS = _threads()

import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tconvcalc import build_layer  # noqa: E402
from tconvcalc.numeric.executor import geometry, run  # noqa: E402


def blas():
    """numpy's BLAS as threadpoolctl sees it (library, version, kernel), its threads limited to --threads at
    run time -- no environment variable, so the kernel is the one this machine's default selects."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None, "threadpoolctl is not installed (pip install threadpoolctl): BLAS kernel unknown, " \
                     "numpy's BLAS threads not limited"
    limits = threadpool_limits(ARGS.threads, user_api="blas")
    pools = [p for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]
    pools = pools or [p for p in threadpool_info() if p["user_api"] == "blas"]
    text = "; ".join(f"{p['internal_api']} {p.get('version')} kernel {p.get('architecture')}, "
                     f"{p['num_threads']} thread(s)" for p in pools)
    return limits, f"numpy BLAS: {text or 'none found'}"


CASES = [  # name, rank, batch, c_in, c_out, size, kernel, stride, padding
    ("2-D 64x64", 2, 8, 64, 32, 64, 4, 2, 1),
    ("3-D 16^3", 3, 2, 32, 16, 16, 4, 2, 1),
    ("1-D audio 4000", 1, 4, 32, 16, 4000, 16, 8, 4),
]


def best(fns, repeat):
    """The best time of each function over ``repeat`` rounds after one warm-up, the functions taking turns
    within a round, so that a slow spell of the shared machine hits all of them alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            start = time.process_time()
            fn()
            spent.append(time.process_time() - start)
    return [min(spent) for spent in times]


def numpy_peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def torch_peak(fn):
    import torch
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    live, peak = 0, 0
    for event in sorted(prof.profiler.function_events, key=lambda e: e.time_range.start):
        live += event.cpu_memory_usage if not event.cpu_children else 0
        peak = max(peak, live)
    del torch
    return peak


def main():
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(ARGS.threads)
    _limits, kernel = blas()
    print(f"threads: {ARGS.threads} (torch {torch.__version__}, numpy {np.__version__}); CPU time, best of "
          f"{ARGS.repeat}; {kernel}")
    header = f"{'case':<16}{'op':<8}{'executor':>11}{'torch':>10}{'ratio':>7}{'no-mkldnn':>11}{'ratio':>7}" \
             f"{'numpy peak':>12}{'torch peak':>12}"
    print(header)
    rng = np.random.default_rng(0)
    for name, rank, batch, c_in, c_out, n, k, s, p in CASES:
        for kind in ("convT", "conv"):
            layer = build_layer(kind, "torch", rank, kernel=k, stride=s, padding=p)
            g = geometry(layer, (n,) * rank)
            x = rng.standard_normal((batch, c_in, *g.input)).astype(np.float32)
            shape = (c_out, c_in, *g.kernel) if kind == "conv" else (c_in, c_out, *g.kernel)
            w = rng.standard_normal(shape).astype(np.float32)
            op = getattr(F, f"conv{rank}d" if kind == "conv" else f"conv_transpose{rank}d")
            xt, wt = torch.from_numpy(x), torch.from_numpy(w)

            def ours():
                return run(x, w, g)

            def theirs():
                with torch.no_grad():
                    return op(xt, wt, stride=s, padding=p)

            diff = float(np.max(np.abs(ours() - theirs().numpy())))
            scale = float(np.max(np.abs(theirs().numpy())))
            assert diff <= 1e-4 * max(1.0, scale), f"{name} {kind}: values differ by {diff}"
            def reference():
                torch.backends.mkldnn.enabled = False
                try:
                    return theirs()
                finally:
                    torch.backends.mkldnn.enabled = True

            t_ours, t_torch = best([ours, theirs], ARGS.repeat)
            (t_ref,) = best([reference], ARGS.repeat)
            m_ours, m_torch = numpy_peak(ours), torch_peak(theirs)
            print(f"{name:<16}{kind:<8}{t_ours * 1e3:>9.1f}ms{t_torch * 1e3:>8.1f}ms{t_ours / t_torch:>7.2f}"
                  f"{t_ref * 1e3:>9.1f}ms{t_ours / t_ref:>7.2f}{m_ours / 2**20:>10.1f}MB{m_torch / 2**20:>10.1f}MB")


if __name__ == "__main__":
    main()
