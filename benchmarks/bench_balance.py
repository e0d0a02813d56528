"""Time the three training runs of chapter 6 (and the page's extra auxiliary-loss runs).

Run: ``.venv/bin/python benchmarks/bench_balance.py [--repeats N]``. Every run is
``balance.train_moe`` (the solution) on the reference MoE layer, with the chapter's
configuration. Prints one row per run: the median wall-clock seconds of the whole call
(training and evaluation) over the repeats, the milliseconds per step, and the final max/mean
load and task loss on the evaluation batch (identical across repeats: the runs are
deterministic and use one torch thread). The goal: the chapter's aux-loss-free run in under
60 s on 2 cores.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import replace

import impl

from course import balance_experiment as lab


def main() -> None:
    parser = impl.parser(__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each run")
    args = parser.parse_args()
    balance = impl.load("balance", args.impl)
    config = lab.Config()
    jobs = [(method, config) for method in lab.METHODS]
    jobs += [("aux_loss", replace(config, aux_coef=c)) for c in (0.01, 0.1, 1.0)]
    print(
        f"MoE layer: {config.n_experts} experts, top-{config.top_k}, d={config.d_model}, "
        f"expert width {config.d_expert}, {config.steps} steps × {config.tokens_per_step} "
        f"tokens; {os.cpu_count()} CPU cores visible, 1 torch thread; median of {args.repeats}"
    )
    print(f"{'run':<22}{'train s':>9}{'ms/step':>9}{'max/mean':>10}{'task loss':>11}")
    medians = []
    start = time.perf_counter()
    for method, cfg in jobs:
        seconds, run = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            run = balance.train_moe(method, cfg)
            seconds.append(time.perf_counter() - t0)
        median = statistics.median(seconds)
        medians.append(median)
        name = f"{method} ({cfg.aux_coef:g})" if method == "aux_loss" else method
        print(
            f"{name:<22}{median:>9.2f}{1000 * median / cfg.steps:>9.2f}"
            f"{balance.max_load_ratio(run['eval_load']):>10.2f}{run['eval_task_loss']:>11.3f}"
        )
    print(f"{'the three methods':<22}{sum(medians[:3]):>9.2f}")
    print(f"{'all six runs':<22}{sum(medians):>9.2f}")
    print(f"(benchmark wall time {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
