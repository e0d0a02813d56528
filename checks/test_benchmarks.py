"""The benchmarks take ``--impl`` like the tests (a quick run each, not a measurement)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "benchmarks/bench_floats.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_benchmark_on_the_stubs_says_which_function_in_one_line():
    done = bench("--impl", "exercises", "--n", "1000", "--repeat", "1")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "not implemented yet: encode() in exercises/floats.py still raises NotImplementedError "
        "(finish it, or time the reference answers with --impl solutions)"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_benchmark_times_a_folder_of_topic_files(tmp_path):
    shutil.copy(ROOT / "solutions" / "floats.py", tmp_path / "floats.py")
    done = bench("--impl", str(tmp_path), "--n", "1000", "--repeat", "1")
    assert done.returncode == 0, done.stderr
    assert "encode float32 → FP16" in done.stdout
    missing = bench("--impl", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "cannot benchmark 'floats'" in missing.stderr
