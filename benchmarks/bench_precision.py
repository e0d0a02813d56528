"""Time the accumulation simulation of chapter 4: ``python benchmarks/bench_precision.py``.

Dot products of K = 16,384 positive E4M3 products, 256 at once, summed three ways: a float32
running sum (numpy), the 14-bit limited accumulator, and the same with promotion to FP32 every
128 products. Prints the best of a few runs for each, in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import impl
import ml_dtypes
import numpy as np

K, N_VECTORS, BITS, N_C, REPEATS = 16_384, 256, 14, 128, 3


def fp8_products(rng: np.random.Generator) -> np.ndarray:
    """Products of positive E4M3 numbers, shape [N_VECTORS, K], float64 (exact)."""
    a, b = np.abs(rng.standard_normal((2, N_VECTORS, K))).astype(ml_dtypes.float8_e4m3fn)
    return a.astype(np.float64) * b.astype(np.float64)


def best_seconds(run: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    """The shortest wall time of REPEATS runs, and the last result."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    args = impl.parser(__doc__.splitlines()[0]).parse_args()
    precision = impl.load("precision", args.impl)
    terms = fp8_products(np.random.default_rng(0))
    exact = terms.sum(axis=-1)
    cases = {
        "float32 running sum (numpy cumsum)": lambda: np.cumsum(terms.astype(np.float32), axis=-1)[
            :, -1
        ],
        f"accumulate_limited, {BITS} bits": lambda: precision.accumulate_limited(terms, BITS),
        f"accumulate_promoted, {BITS} bits, every {N_C}": lambda: precision.accumulate_promoted(
            terms, BITS, N_C
        ),
    }
    print(f"K = {K:,}, {N_VECTORS} vectors, best of {REPEATS}")
    print(f"{'accumulator':<42} {'seconds':>8} {'mean rel. error':>16}")
    for name, run in cases.items():
        seconds, sums = best_seconds(run)
        error = float(np.mean(np.abs(sums - exact) / exact))
        print(f"{name:<42} {seconds:>8.3f} {error:>16.2e}")


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
