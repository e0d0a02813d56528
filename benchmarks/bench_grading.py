"""Benchmark the isolated grader: ``python benchmarks/bench_grading.py [-n 100] [--workers 2]``.

Generates N submissions from solutions/ (about half correct, a third with one plausible mistake
from checks/mutants/, the rest broken: syntax error, raising or exiting on import, untouched
stubs, an endless loop), grades them as one batch with ``python -m grading.autograde``, and
prints submissions per minute. It also times one complete (correct) submission on its own.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.mutants import all_mutants  # noqa: E402
from checks.runner import graded_topics  # noqa: E402

BROKEN = {
    "syntax error": "def broken(:\n",
    "raises on import": "raise ValueError('no')\n",
    "exits on import": "import os\nos._exit(1)\n",
}


def make_submission(folder: Path, kind: str, rng: random.Random) -> None:
    """A submission of ``kind``: correct, mutant, stubs, loop, or a key of ``BROKEN``."""
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    topic = rng.choice(graded_topics())
    target = folder / f"{topic}.py"
    if kind == "mutant":
        mutant = rng.choice([m for m in all_mutants() if m.topic == topic])
        target.write_text(f"{target.read_text()}\n\n{mutant.source}")
    elif kind == "stubs":
        shutil.copyfile(ROOT / "exercises" / f"{topic}.py", target)
    elif kind == "loop":
        name = rng.choice([m.exercise for m in all_mutants() if m.topic == topic])
        target.write_text(
            f"{target.read_text()}\n\ndef {name}(*args):\n    while True:\n        pass\n"
        )
    elif kind in BROKEN:
        target.write_text(BROKEN[kind])


def kinds(n: int) -> list[str]:
    """The mix: 50% correct, 30% one mistake, 20% broken (stubs, import problems, a loop)."""
    broken = ["stubs", *BROKEN, "loop"]
    mix = ["correct"] * (n // 2) + ["mutant"] * (3 * n // 10)
    mix += [broken[i % len(broken)] for i in range(n - len(mix))]
    return mix


def grade(paths: list[Path], out: Path, workers: int, timeout: float) -> float:
    """Run the grader on ``paths``; returns the wall time in seconds."""
    command = [
        sys.executable, "-m", "grading.autograde", *map(str, paths), "--out", str(out),
        "--workers", str(workers), "--timeout", f"{timeout:g}", "--quiet",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=2, help="per-test limit for the loop cases"
    )
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as scratch:
        batch = Path(scratch) / "batch"
        for i, kind in enumerate(kinds(args.n)):
            make_submission(batch / f"{i:03d}-{kind.replace(' ', '-')}", kind, rng)
        one = grade([batch / "000-correct"], Path(scratch) / "one", args.workers, args.timeout)
        seconds = grade([batch], Path(scratch) / "all", args.workers, args.timeout)
        rows = (Path(scratch) / "all" / "gradebook.csv").read_text().splitlines()
    print(
        f"one complete submission with {args.workers} workers: {one:.1f} s wall-clock "
        "(command start to reports)"
    )
    print(
        f"{len(rows) - 1} submissions with {args.workers} workers: {seconds:.1f} s, "
        f"{60 * (len(rows) - 1) / seconds:.1f} submissions per minute"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
