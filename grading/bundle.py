"""Build the Gradescope autograder zip: ``python -m grading.bundle [--out FILE] [--extra-tests DIR]``.

The zip holds ``setup.sh`` and ``run_autograder`` at its top level, and the parts of this tree
that grading needs (``grading/``, ``course/``, ``tests/``, ``conftest.py``, ``pyproject.toml``,
and ``requirements-grading.txt``: the pinned packages grading needs, the same light install as
``make grade``, not the site toolchain), plus the extra tests as ``extra_tests/``.
It never holds ``solutions/`` or ``exercises/``.

``setup.sh`` installs Python and bubblewrap. Gradescope gives each submission a container of
its own; where the kernel there refuses user namespaces, ``run_autograder`` still grades (it
passes ``--unsafe``): the tests and checks run in a trusted process and the submission's code
in a separate worker that can only send values back, but without namespaces of its own.

``run_autograder`` reads ``$AUTOGRADER_ROOT/submission`` and writes
``$AUTOGRADER_ROOT/results/results.json``; ``AUTOGRADER_ROOT`` defaults to ``/autograder`` and
``AUTOGRADER_PYTHON`` to the virtual environment ``setup.sh`` creates.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import zipfile
from pathlib import Path

from grading.gradescope import VISIBILITIES
from grading.isolation import EXTRA_TESTS_DIR, TREE_PARTS
from grading.loader import ROOT

GRADING_REQUIREMENTS = "requirements-grading.txt"
BUNDLED = (*TREE_PARTS, GRADING_REQUIREMENTS)
SKIPPED_NAMES = ("__pycache__", ".pytest_cache")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv bubblewrap >/dev/null
python3.11 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --disable-pip-version-check \\
  --extra-index-url https://download.pytorch.org/whl/cpu -r /autograder/source/requirements-grading.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it in isolation, write results.json.
# --unsafe: where this container refuses user namespaces, grade without them (one line says so).
set -euo pipefail
AUTOGRADER_ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$AUTOGRADER_ROOT/venv/bin/python}}"
cd "$AUTOGRADER_ROOT/source"
exec "$PYTHON" -m grading.autograde "$AUTOGRADER_ROOT/submission" --quiet \\
  --results "$AUTOGRADER_ROOT/results/results.json" --unsafe {options}
"""


def bundle_files(tree: Path) -> list[Path]:
    """The files of ``tree`` that go into the bundle, relative to ``tree``."""
    files = []
    for part in BUNDLED:
        path = tree / part
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in candidates:
            relative = file.relative_to(tree)
            if file.is_file() and not set(relative.parts) & set(SKIPPED_NAMES):
                files.append(relative)
    return files


def run_autograder_script(extra_tests: bool, extra_visibility: str) -> str:
    """The ``run_autograder`` script, passing the extra tests if the bundle has them."""
    options = ""
    if extra_tests:
        options = (
            f"--extra-tests {EXTRA_TESTS_DIR} --extra-visibility {shlex.quote(extra_visibility)}"
        )
    return RUN_AUTOGRADER.format(options=options)


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, executable: bool) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def build_bundle(
    out: Path,
    tree: Path = ROOT,
    extra_tests: Path | None = None,
    extra_visibility: str = "after_due_date",
) -> list[str]:
    """Write the autograder zip to ``out``; returns the names it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_text(bundle, "setup.sh", SETUP_SH, executable=True)
        _add_text(
            bundle,
            "run_autograder",
            run_autograder_script(extra_tests is not None, extra_visibility),
            executable=True,
        )
        for relative in bundle_files(tree):
            bundle.write(tree / relative, relative.as_posix())
        if extra_tests is not None:
            for file in sorted(extra_tests.rglob("*")):
                relative = file.relative_to(extra_tests)
                if file.is_file() and not set(relative.parts) & set(SKIPPED_NAMES):
                    bundle.write(file, f"{EXTRA_TESTS_DIR}/{relative.as_posix()}")
        return bundle.namelist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grading.bundle", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("dist/autograder.zip"), help="default: dist/autograder.zip"
    )
    parser.add_argument("--extra-tests", type=Path, help="a folder of instructor-only test files")
    parser.add_argument("--extra-visibility", choices=VISIBILITIES, default="after_due_date")
    args = parser.parse_args(argv)  # fmt: skip
    if args.extra_tests is not None and not args.extra_tests.is_dir():
        print(f"error: --extra-tests {args.extra_tests}: no such folder", file=sys.stderr)
        return 2
    names = build_bundle(args.out, ROOT, args.extra_tests, args.extra_visibility)
    print(f"Autograder bundle: {args.out} ({len(names)} files). Upload it on Gradescope.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
