"""Benchmark the isolated grader: ``python benchmarks/bench_grading.py [-n 100] [--workers 2]``.

Times, with ``python -m grading.autograde`` from command start to written reports:

1. one complete (correct) submission on its own;
2. a batch of N correct submissions (copies of solutions/, each with its own header line);
3. with ``--mix mixed`` or ``both`` (the default), a batch of N like a real class: half
   correct, three in ten with one plausible mistake from checks/mutants/, the rest broken
   (untouched stubs, a syntax error, raising or exiting on import, an endless loop, which
   costs the per-test time limit, 2 s here, on each test of its exercise).

Prints submissions per minute for each batch.

With ``--against REF`` (a commit, branch or tag) it compares this version with REF instead: on a
machine whose speed drifts (shared or virtual), rates taken minutes apart differ by more than
most changes. Both versions then grade their own batch of N correct submissions *at the same
time*, with one worker each, in ``--rounds`` rounds; each round reports both rates and their
ratio, which the drift affects alike. REF is checked out in a temporary git worktree and runs
with this environment's packages.
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


def make_submission(folder: Path, kind: str, rng: random.Random, root: Path = ROOT) -> None:
    """A submission of ``kind``: correct, mutant, stubs, loop, or a key of ``BROKEN``; made
    from ``root``'s solutions."""
    shutil.copytree(root / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in folder.glob("*.py"):  # every learner's files differ, if only by a comment
        path.write_text(f"# {folder.name}\n{path.read_text()}")
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


def grade_command(paths: list[Path], out: Path, workers: int, timeout: float) -> list[str]:
    """The command line that grades ``paths`` into ``out``."""
    return [
        sys.executable, "-m", "grading.autograde", *map(str, paths), "--out", str(out),
        "--workers", str(workers), "--timeout", f"{timeout:g}", "--quiet",
    ]  # fmt: skip


def grade(paths: list[Path], out: Path, workers: int, timeout: float) -> float:
    """Run the grader on ``paths``; returns the wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(grade_command(paths, out, workers, timeout), cwd=ROOT, check=True)
    return time.perf_counter() - start


def grade_together(trees: dict[str, Path], folder: Path, n: int, timeout: float) -> dict:
    """Each tree grades its own N correct submissions with one worker, all trees at once;
    returns each tree's rate in submissions per minute."""
    rng, processes = random.Random(0), {}
    for name, tree in trees.items():
        for i in range(n):
            make_submission(folder / name / "batch" / f"{i:03d}-correct", "correct", rng, tree)
    for name, tree in trees.items():
        command = grade_command([folder / name / "batch"], folder / name / "out", 1, timeout)
        processes[name] = (subprocess.Popen(command, cwd=tree), time.perf_counter())
    rates = {}
    for name, (process, start) in processes.items():
        if process.wait() != 0:
            raise SystemExit(f"grading with {name} failed (exit code {process.returncode})")
        rates[name] = 60 * n / (time.perf_counter() - start)
    for name in trees:
        shutil.rmtree(folder / name)
    return rates


def compare(reference: str, n: int, rounds: int, timeout: float) -> None:
    """Print, for each round, this version's rate and REF's, graded at the same time."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "reference"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), reference],
            cwd=ROOT,
            check=True,
        )
        try:
            for round_number in range(rounds):
                trees = {"this version": ROOT, reference: tree}
                if round_number % 2:  # the other one starts first
                    trees = dict(reversed(list(trees.items())))
                rates = grade_together(trees, Path(scratch) / "batches", n, timeout)
                ratio = rates["this version"] / rates[reference]
                print(
                    f"round {round_number + 1}: this version {rates['this version']:.1f}, "
                    f"{reference} {rates[reference]:.1f} correct submissions per minute "
                    f"(one worker each, both at once): ratio {ratio:.3f}",
                    flush=True,
                )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )


def batch_rate(folder: Path, mix: list[str], args: argparse.Namespace, rng) -> str:
    """Grade ``mix`` as one batch; one line with its rate."""
    for i, kind in enumerate(mix):
        make_submission(folder / "batch" / f"{i:03d}-{kind.replace(' ', '-')}", kind, rng)
    seconds = grade([folder / "batch"], folder / "out", args.workers, args.timeout)
    rows = (folder / "out" / "gradebook.csv").read_text().splitlines()[1:]
    if len(rows) != len(mix):
        raise SystemExit(f"expected {len(mix)} reports, found {len(rows)}")
    return f"{seconds:.1f} s, {60 * len(rows) / seconds:.1f} submissions per minute"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="submissions per batch (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=2, help="per-test limit for the loop cases"
    )
    parser.add_argument(
        "--mix", choices=("correct", "mixed", "both"), default="both", help="which batches"
    )
    parser.add_argument(
        "--against", metavar="REF", help="compare with this commit, both grading at once"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --against (default 2)")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.n, args.rounds, args.timeout)
        return 0
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as scratch:
        one_folder = Path(scratch) / "one"
        make_submission(one_folder / "000-correct", "correct", rng)
        one = grade([one_folder / "000-correct"], one_folder / "out", args.workers, args.timeout)
        print(
            f"one complete submission with {args.workers} workers: {one:.1f} s wall-clock "
            "(command start to reports)",
            flush=True,
        )
        if args.mix in ("correct", "both"):
            line = batch_rate(Path(scratch) / "correct", ["correct"] * args.n, args, rng)
            print(f"{args.n} correct submissions, {args.workers} workers: {line}", flush=True)
        if args.mix in ("mixed", "both"):
            line = batch_rate(Path(scratch) / "mixed", kinds(args.n), args, rng)
            print(f"{args.n} mixed submissions, {args.workers} workers: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
