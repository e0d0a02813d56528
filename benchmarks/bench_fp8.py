"""Throughput of ``fp8.encode`` (vectorised numpy) next to torch's native FP8 cast.

Run: ``python benchmarks/bench_fp8.py``. Encodes 10^7 float32 values from a standard normal
distribution to E4M3 and prints the best of a few repetitions, in million values per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import ml_dtypes
import numpy as np
import torch

from solutions import fp8

N = 10**7
REPEATS = 5


def best_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``run()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
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


if __name__ == "__main__":
    main()
