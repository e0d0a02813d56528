"""Time the GRPO runs of chapter 11: ``python benchmarks/bench_rl.py [--impl exercises]``.

Runs ``rl.train_grpo`` with the chapter's demonstration configuration and with the graded
test's smaller one, on one thread, and prints the time and the greedy accuracy before and after.
"""

from __future__ import annotations

import time

import impl

from course import rl_task as task

RUNS = {
    "chapter demonstration": (task.Config(), 60.0),
    "graded run": (task.GRADED, 1.0),
}


def main() -> None:
    args = impl.parser(__doc__.splitlines()[0]).parse_args()
    rl = impl.load("rl", args.impl)
    for name, (config, goal) in RUNS.items():
        start = time.perf_counter()
        report = rl.train_grpo(config)
        seconds = time.perf_counter() - start
        before, after = report["eval_before"]["accuracy"], report["eval_after"]["accuracy"]
        print(
            f"{name}: {config.steps} steps × {config.prompts_per_step} prompts × "
            f"{config.group_size}: {seconds:.1f} s (goal: under {goal:g} s); "
            f"greedy accuracy {before:.2f} -> {after:.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(impl.run(main))
