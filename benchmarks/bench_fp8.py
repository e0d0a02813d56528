"""Throughput of ``fp8.encode`` next to torch's native FP8 cast, and the time of ``fp8.fp8_matmul``.

Run: ``python benchmarks/bench_fp8.py``. Encodes 10^7 float32 values from a standard normal
distribution to E4M3 and prints the best of a few repetitions, in million values per second
(goal: within 10× of torch). Then multiplies two 1,024 × 1,024 matrices with ``fp8_matmul``,
with an exact accumulator (goal: under 10 s on 2 cores) and with a 14-bit truncating one
(goal: under 60 s), next to numpy's float32 matmul of the same matrices.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import impl
import ml_dtypes
import numpy as np
import torch

N = 10**7
REPEATS = 5
GEMM_SIDE = 1024
ENCODE_GOAL = 10.0  # × torch's cast
GEMM_GOALS = {"exact accumulator": 10.0, "14-bit accumulator": 60.0}  # seconds


def best_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``run()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = impl.parser(__doc__.splitlines()[0]).parse_args()
    fp8 = impl.load("fp8", args.impl)
    x = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    x_torch = torch.from_numpy(x)
    assert np.array_equal(
        fp8.encode(x, "e4m3"), x_torch.to(torch.float8_e4m3fn).view(torch.uint8).numpy()
    ), "encode and torch disagree"
    contenders = {
        "torch .to(float8_e4m3fn)": lambda: x_torch.to(torch.float8_e4m3fn),
        "ml_dtypes .astype(float8_e4m3fn)": lambda: x.astype(ml_dtypes.float8_e4m3fn),
        'fp8.encode(x, "e4m3")': lambda: fp8.encode(x, "e4m3"),
    }
    seconds = {name: best_seconds(run) for name, run in contenders.items()}
    reference = seconds["torch .to(float8_e4m3fn)"]
    print(
        f"Encoding {N:.0e} float32 values to E4M3 (best of {REPEATS}, torch threads: "
        f"{torch.get_num_threads()})"
    )
    print(f"{'method':<34}{'time (ms)':>11}{'Mvalues/s':>12}{'× torch':>9}")
    for name, s in seconds.items():
        print(f"{name:<34}{1e3 * s:>11.1f}{N / s / 1e6:>12.0f}{s / reference:>9.1f}")
    ratio = seconds['fp8.encode(x, "e4m3")'] / reference
    print(f"goal: within {ENCODE_GOAL:.0f}× of torch: {'met' if ratio < ENCODE_GOAL else 'MISSED'}")
    gemm(fp8)


def gemm(fp8) -> None:
    """fp8_matmul of two GEMM_SIDE-square matrices, exact and with a 14-bit accumulator."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((GEMM_SIDE, GEMM_SIDE)).astype(np.float32)
    b = rng.standard_normal((GEMM_SIDE, GEMM_SIDE)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    contenders = {
        "numpy float32 a @ b": (lambda: a @ b, None),
        "exact accumulator": (lambda: fp8.fp8_matmul(a, b), 3),
        "14-bit accumulator": (lambda: fp8.fp8_matmul(a, b, accumulator_bits=14), 1),
    }
    print(
        f"\nfp8_matmul of {GEMM_SIDE} × {GEMM_SIDE} by {GEMM_SIDE} × {GEMM_SIDE} (E4M3, tiles "
        "and blocks of 128, promotion every 128)"
    )
    print(f"{'method':<26}{'time (s)':>10}{'max error ÷ max |c|':>22}{'goal (s)':>10}")
    for name, (run, repeats) in contenders.items():
        out = run()
        s = best_seconds(run, repeats or REPEATS)
        error = float(np.max(np.abs(out - exact)) / np.max(np.abs(exact)))
        goal = GEMM_GOALS.get(name)
        verdict = "" if goal is None else f"{goal:>6.0f} {'met' if s < goal else 'MISSED'}"
        print(f"{name:<26}{s:>10.2f}{error:>22.2e}{verdict:>10}")


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
