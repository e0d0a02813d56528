"""Where a correct submission's grading time goes: ``python benchmarks/bench_grading_cost.py``.

Grades N correct submissions (copies of solutions/, each with its own header line) through the
batch grader, one at a time with one worker, and prints the mean seconds per submission of each
graded test file (from the times its tests started and ended), and of the rest: starting the
submission's processes and loading its files.

With one worker on an otherwise idle machine, the trusted process and the submission's worker
take turns, so these seconds are close to the CPU time a submission costs. 60 divided by the
total is about the most submissions per minute one core can grade.

Read this table before making a graded workload lighter or heavier. Where the machine's speed
drifts, compare the shares of the files, not their seconds.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_grading import make_submission  # noqa: E402  (this folder is on sys.path)

from grading.isolation import BatchGrader, Job, read_sources  # noqa: E402


def correct_submissions(folder: Path, n: int) -> list[Path]:
    """N correct submissions, as ``bench_grading.py`` makes them."""
    rng = random.Random(0)
    for i in range(n):
        make_submission(folder / f"{i:03d}-correct", "correct", rng)
    return sorted(folder.iterdir())


def grade_one(grader: BatchGrader, path: Path) -> tuple[float, dict[str, float], int]:
    """Wall seconds of one submission, seconds of each test file, and its number of tests."""
    job = Job(path.name, *read_sources(path, grader.topics))
    start = time.perf_counter()
    (grade,) = grader.grade([job], workers=1)
    seconds = time.perf_counter() - start
    if not grade.tests or any(not test.passed for test in grade.tests):
        raise SystemExit(f"the correct submission {path.name} did not pass every test")
    return seconds, dict(grader.file_seconds), len(grade.tests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="submissions (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, BatchGrader(ROOT) as grader:
        paths = correct_submissions(Path(scratch), args.n + 1)
        grade_one(grader, paths[0])  # warm: the template, the first worker
        total, files = 0.0, collections.Counter()
        for path in paths[1:]:
            seconds, by_file, tests = grade_one(grader, path)
            total += seconds / args.n
            files.update({name: value / args.n for name, value in by_file.items()})
        counts = dict(grader.file_tests)
    print(f"{'':<30} {'tests':>5} {'s / submission':>15} {'share':>6}")
    print(f"{'a whole submission':<30} {tests:>5} {total:>15.3f} {'':>6}")
    for name, seconds in files.most_common():
        print(f"{name:<30} {counts.get(name, 0):>5} {seconds:>15.3f} {seconds / total:>6.0%}")
    rest = total - sum(files.values())
    print(f"{'processes and loading':<30} {'':>5} {rest:>15.3f} {rest / total:>6.0%}")
    print(f"about {60 / total:.0f} correct submissions per minute per core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
