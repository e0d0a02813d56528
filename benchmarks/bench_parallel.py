"""Time the pipeline simulator of chapter 8: ``python benchmarks/bench_parallel.py``.

Simulates 1F1B and ZB1P for 16 stages and 256 micro-batches (about 12,000 chunks) with
F = 1, B = 2, W = 1 and prints the best of a few runs of each, in seconds, with the bubble.
"""

from __future__ import annotations

import time

import impl

STAGES, MICRO_BATCHES, REPEATS = 16, 256, 3


def main() -> None:
    args = impl.parser(__doc__.splitlines()[0]).parse_args()
    parallel = impl.load("parallel", args.impl)
    for schedule in ("1f1b", "zb1p"):
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            result = parallel.simulate_pipeline(schedule, STAGES, MICRO_BATCHES, 1.0, 2.0, 1.0)
            times.append(time.perf_counter() - start)
        print(
            f"{schedule}: P = {STAGES}, M = {MICRO_BATCHES}: {min(times):.3f} s "
            f"(bubble {result['bubble']:g}; goal: under 1 s)"
        )


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
