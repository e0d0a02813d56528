"""Throughput of the chapter's vectorised FP16 encoder and decoder next to numpy's native casts.

Run: ``python benchmarks/bench_floats.py`` (10^7 values; ``--n`` to change). Prints one row per
operation: the best of ``--repeat`` runs of ours and of numpy, in millions of values per second,
and the ratio (goal: encoding within 20× of numpy's ``astype(np.float16)``).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import impl
import numpy as np

from course.formats import FP16


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` single runs of ``run``, in seconds."""
    return min(timeit.repeat(run, number=1, repeat=repeat))


def main() -> None:
    parser = impl.parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**7, help="values per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is reported")
    args = parser.parse_args()
    floats = impl.load("floats", args.impl)

    rng = np.random.default_rng(0)
    x64 = rng.standard_normal(args.n)  # weights-like values, float64
    x32 = x64.astype(np.float32)
    codes = x32.astype(np.float16).view(np.uint16)
    # Same answers first: a fast wrong encoder is no use.
    assert np.array_equal(floats.encode(x64, FP16), x64.astype(np.float16).view(np.uint16))
    assert np.array_equal(floats.encode(x32, FP16), codes)
    assert np.array_equal(floats.decode(codes, FP16), codes.view(np.float16).astype(np.float64))

    rows = [
        ("encode float64 → FP16", lambda: floats.encode(x64, FP16), lambda: x64.astype(np.float16)),
        ("encode float32 → FP16", lambda: floats.encode(x32, FP16), lambda: x32.astype(np.float16)),
        ("decode FP16 → float64", lambda: floats.decode(codes, FP16),
         lambda: codes.view(np.float16).astype(np.float64)),
    ]  # fmt: skip
    print(f"{args.n:,} values, best of {args.repeat} runs")
    header = f"{'operation':<24}{'ours (ms)':>11}{'numpy (ms)':>12}{'ours (M/s)':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, ours, native in rows:
        t_ours, t_native = best_seconds(ours, args.repeat), best_seconds(native, args.repeat)
        print(
            f"{name:<24}{1e3 * t_ours:>11.1f}{1e3 * t_native:>12.1f}"
            f"{args.n / t_ours / 1e6:>12.1f}{t_ours / t_native:>7.1f}×"
        )


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
