"""Grade learners' submissions in isolation: ``python -m grading.autograde PATH [PATH ...]``.

PATH is one submission (a folder of topic files or a ``.zip`` of them) or a folder of
submissions. The tests and their checks run in trusted processes, with the tests and grading
code of this tree, never the submission's; the submission's code runs in sandboxed workers
that can only send values back (``grading.isolation``). Writes ``OUT/<name>/results.json``
(Gradescope format) per submission and ``OUT/gradebook.csv``, each atomically.

Where submissions cannot be isolated (no ``bwrap``, or no user namespaces), the command says
why in one line and grades nothing unless given ``--unsafe``.

Exit code: 0 when every submission got a report (whatever its score); 2 for unusable input
or when isolation is unavailable without ``--unsafe``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from grading.gradescope import VISIBILITIES, gradebook_csv, lost_points, results_json
from grading.gradescope import exercise_scores as scores_of
from grading.isolation import BatchGrader, FolderError, Grade, Job, Limits, read_sources
from grading.loader import ROOT
from grading.report import format_table
from grading.sandbox import SandboxError
from grading.submissions import (
    InputError,
    Submission,
    SubmissionError,
    discover,
    topic_root,
    unpack_zip,
)


def prepare(submission: Submission, topics: list[str]) -> Job:
    """The submission's topic files as text; a submission that cannot be read gets no files
    and a one-line reason (it is graded as empty)."""
    with tempfile.TemporaryDirectory(prefix="unpacked-") as scratch:
        folder, path = Path(scratch), submission.path
        try:
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise SubmissionError("is neither a folder nor a .zip file")
            if path.is_file():
                if path.suffix.lower() != ".zip":
                    raise SubmissionError("is neither a folder nor a .zip file")
                unpack_zip(path, folder)
            else:
                folder = path
            sources, notes = read_sources(topic_root(folder, topics), topics)
        except (SubmissionError, FolderError) as error:
            return Job(submission.name, {}, [f"could not grade {_shown(path.name)}: {error}"])
        except OSError as error:
            reason = f"could not read {_shown(path.name)}: {error.strerror or error}"
            return Job(submission.name, {}, [reason])
    return Job(submission.name, sources, notes)


def _shown(name: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in name)[:120]


def progress_line(done: int, total: int, elapsed_s: float, width: int = 30) -> str:
    """``[#####-----] 12/100  4.1/min  eta 21 min``."""
    filled = width * done // total if total else width
    rate = done / elapsed_s * 60 if elapsed_s > 0 else 0.0
    eta = (total - done) / rate if rate else 0.0
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}  {rate:.1f}/min  eta {eta:.0f} min"


def grade_all(
    grader: BatchGrader, submissions: list[Submission], *, workers: int, show_progress: bool
) -> list[Grade]:
    """Grade every submission, ``workers`` at a time, showing progress on stderr."""
    start, done = time.monotonic(), []
    tty = sys.stderr.isatty()

    def on_grade(grade: Grade) -> None:
        done.append(grade)
        if show_progress:
            line = progress_line(len(done), len(submissions), time.monotonic() - start)
            if tty:
                print(f"\r{line}", end="", file=sys.stderr, flush=True)
            else:
                print(f"{line}  ({grade.name})", file=sys.stderr, flush=True)

    jobs = [prepare(s, grader.topics) for s in submissions]
    grades = grader.grade(jobs, workers=workers, on_grade=on_grade)
    if show_progress and tty:
        print(file=sys.stderr)
    return sorted(grades, key=lambda g: g.name)


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder and a rename,
    so a reader sees the old file or the whole new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=target.parent, prefix=f".{target.name}.", delete=False, encoding="utf-8"
    ) as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(file.name, target)


def write_reports(
    grades: list[Grade], out: Path, results: Path | None, extra_visibility: str
) -> None:
    """``OUT/<name>/results.json`` for each grade (or ``results`` for one), and the gradebook."""
    if results is not None:
        write_atomically(results, json.dumps(results_json(grades[0], extra_visibility), indent=2))
        return
    for grade in grades:
        report = json.dumps(results_json(grade, extra_visibility), indent=2)
        write_atomically(out / grade.name / "results.json", report)
    write_atomically(out / "gradebook.csv", gradebook_csv(grades))


def summary(grades: list[Grade]) -> str:
    """A score table and the lost points for one grade; one line per grade for a batch."""
    if len(grades) == 1:
        grade = grades[0]
        lines = [format_table(scores_of(grade), grade.name)] if grade.tests else []
        lines += [f"note: {p}" for p in grade.problems]
        lost = lost_points(grade)
        if lost:
            lines += ["", "Points lost:", lost]
        return "\n".join(lines)
    width = max(len(g.name) for g in grades)
    lines = []
    for grade in grades:
        exercises = scores_of(grade)
        got, out_of = sum(e.points for e in exercises), sum(e.max_points for e in exercises)
        note = f"  {grade.problems[0]}" if grade.problems else ""
        lines.append(f"  {grade.name:<{width}}  {got:>6.4g} / {out_of:<6.4g}{note}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = Limits()
    parser = argparse.ArgumentParser(
        prog="python -m grading.autograde", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, help="submission folders, .zip files, or folders of them"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("graded"), help="report folder (default: graded)"
    )
    parser.add_argument(
        "--results", type=Path, help="for one submission: write results.json exactly here"
    )
    parser.add_argument("--extra-tests", type=Path, help="a folder of instructor-only test files")
    parser.add_argument(
        "--extra-visibility",
        choices=VISIBILITIES,
        default="after_due_date",
        help="Gradescope visibility of the extra tests (default: after_due_date)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded in parallel (default: number of cores)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.test_timeout_s,
        help=f"seconds per test (default {defaults.test_timeout_s:g})",
    )
    parser.add_argument(
        "--wall",
        type=float,
        default=defaults.wall_s,
        help=f"seconds per submission (default {defaults.wall_s:g})",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=defaults.memory_mb,
        help=f"address-space limit of a worker, MB (default {defaults.memory_mb})",
    )
    parser.add_argument(
        "--cpu-s",
        type=int,
        default=defaults.cpu_s,
        help=f"CPU seconds per topic file in a worker (default {defaults.cpu_s})",
    )
    parser.add_argument(
        "--file-mb",
        type=int,
        default=defaults.file_mb,
        help=f"largest file a submission may write (default {defaults.file_mb})",
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=defaults.restarts,
        help=f"crashes allowed in one topic's tests (default {defaults.restarts})",
    )
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="grade even where submissions cannot be isolated (no bwrap or user namespaces)",
    )
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limits = Limits(
        args.timeout, args.wall, args.memory_mb, args.cpu_s, args.file_mb, args.restarts
    )
    try:
        if args.extra_tests is not None and not args.extra_tests.is_dir():
            raise InputError(f"--extra-tests {args.extra_tests}: no such folder")
        submissions = discover(args.paths, single=args.results is not None)
        if args.results is not None and len(submissions) != 1:
            raise InputError(f"--results takes one submission; found {len(submissions)}")
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    extra = args.extra_tests.resolve() if args.extra_tests else None
    try:
        grader = BatchGrader(
            args.tree.resolve(),
            extra_tests=extra,
            limits=limits,
            unsafe=args.unsafe,
            start_template=len(submissions) > args.workers,
        )
    except SandboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with grader:
        if grader.note:
            print(f"note: grading without OS isolation: {grader.note}", file=sys.stderr)
        grades = grade_all(
            grader,
            submissions,
            workers=args.workers,
            show_progress=not args.quiet and len(submissions) > 1,
        )
    write_reports(grades, args.out, args.results, args.extra_visibility)
    if not args.quiet:
        print(summary(grades))
        where = args.results or args.out / "gradebook.csv"
        print(f"\nReports written: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
