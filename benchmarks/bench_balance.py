"""Time the three training runs of chapter 6 (and the page's extra auxiliary-loss runs).

Run: ``.venv/bin/python benchmarks/bench_balance.py [--repeats N]``. Prints one row per run:
the median wall-clock seconds of the training loop over the repeats, the seconds per step, and
the final max/mean load and task loss (identical across repeats: the runs are deterministic).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

from course import balance_experiment as lab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each run")
    args = parser.parse_args()
    config = lab.Config()
    jobs = [(method, config) for method in lab.METHODS]
    jobs += [("aux_loss", replace(config, aux_coef=c)) for c in (0.01, 0.1, 1.0)]
    print(
        f"tiny MoE: {config.n_experts} experts, top-{config.top_k}, d={config.d_model}, "
        f"{config.steps} steps × {config.tokens_per_step} tokens; {os.cpu_count()} CPU cores "
        f"visible, 1 torch thread; median of {args.repeats}"
    )
    print(f"{'run':<22}{'train s':>9}{'ms/step':>9}{'max/mean':>10}{'task loss':>11}")
    medians = []
    start = time.perf_counter()
    for method, cfg in jobs:
        runs = [lab.train(method, cfg) for _ in range(args.repeats)]
        seconds = statistics.median(r.seconds for r in runs)
        medians.append(seconds)
        name = f"{method} ({cfg.aux_coef:g})" if method == "aux_loss" else method
        print(
            f"{name:<22}{seconds:>9.2f}{1000 * seconds / cfg.steps:>9.2f}"
            f"{lab.load_ratio(runs[0].eval_load):>10.2f}{runs[0].eval_task_loss:>11.3f}"
        )
    print(f"{'the three methods':<22}{sum(medians[:3]):>9.2f}")
    print(f"{'all six runs':<22}{sum(medians):>9.2f}")
    print(f"(benchmark wall time {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
