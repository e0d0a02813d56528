"""Find submissions on disk and unpack ``.zip`` files safely.

A path given to the grader is one of:

- a ``.zip`` of one learner's topic files;
- a folder with ``.py`` files at its top level: one learner's submission;
- any other folder: a batch, whose sub-folders and ``.zip`` files are the submissions.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_UNPACKED_BYTES = 50 * 2**20
MAX_MEMBERS = 2000
IGNORED_NAMES = ("__MACOSX", "__pycache__")


class InputError(Exception):
    """A path given to the grader is unusable; the message is one line."""


class SubmissionError(Exception):
    """One submission cannot be unpacked; it is graded as empty, with this one-line reason."""


@dataclass(frozen=True)
class Submission:
    """One learner's work: a display name and a folder or ``.zip`` path."""

    name: str
    path: Path


def _is_candidate(entry: Path) -> bool:
    """Every visible entry of a batch folder is a submission (one that is neither a folder nor
    a ``.zip`` gets a zero report saying so)."""
    return not (entry.name.startswith(".") or entry.name in IGNORED_NAMES)


def is_single_submission(folder: Path) -> bool:
    """A folder holds one submission when it has ``.py`` files at its top level."""
    return any(entry.suffix == ".py" and entry.is_file() for entry in folder.iterdir())


def discover(paths: list[Path], single: bool = False) -> list[Submission]:
    """The submissions named by ``paths``, with unique names, in a stable order.

    With ``single``, every folder is one submission (its topic files may sit in a sub-folder).

    Raises:
        InputError: a path is missing, is neither a folder nor a ``.zip``, or holds nothing.
    """
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file():
            if path.suffix.lower() != ".zip":
                raise InputError(f"{path}: a submission is a folder or a .zip file")
            found.append(path)
        elif single or is_single_submission(path):
            found.append(path)
        else:
            batch = sorted(e for e in path.iterdir() if _is_candidate(e))
            if not batch:
                raise InputError(
                    f"{path}: no submissions here (expected topic files such as news.py, "
                    "or folders and .zip files of them)"
                )
            found.extend(batch)
    return unique_names(found)


def unique_names(paths: list[Path]) -> list[Submission]:
    """Name each submission after its file or folder (without ``.zip``), made unique."""
    submissions, taken = [], set()
    for path in paths:
        base = path.stem if path.suffix.lower() == ".zip" else path.name
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        submissions.append(Submission(name, path))
    return submissions


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member; refuses absolute paths, ``..`` and odd names.

    Raises:
        SubmissionError: the member would land outside the folder it is unpacked into, or its
            name holds control characters or is too long.
    """
    if any(not c.isprintable() for c in name) or len(name.encode("utf-8", "replace")) > 1000:
        shown = "".join(c if c.isprintable() else "?" for c in name)[:80]
        raise SubmissionError(
            f"the entry '{shown}' has a name with control characters or is too long; "
            "nothing was unpacked"
        )
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise SubmissionError(
            f"the entry '{name}' points outside the archive; nothing was unpacked"
        )
    if any(len(part.encode()) > 255 for part in path.parts):
        raise SubmissionError(
            f"the entry '{name[:80]}...' has a name too long; nothing was unpacked"
        )
    return path


def check_member_type(member: zipfile.ZipInfo) -> None:
    """Refuse links and special files (devices, pipes, sockets) in an archive.

    Raises:
        SubmissionError: the member is not a regular file or a folder.
    """
    mode = member.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise SubmissionError(
            f"the entry '{member.filename}' is a symbolic link; nothing was unpacked"
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise SubmissionError(
            f"the entry '{member.filename}' is a special file (device, pipe or socket); "
            "nothing was unpacked"
        )


def unpack_zip(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target``: regular files only, within size and count limits.

    The size limit counts the bytes actually written, whatever sizes the archive declares.

    Raises:
        SubmissionError: not a readable zip, a path outside the archive, a link or special
            file, an odd name, too many entries, or too large once unpacked.
    """
    limit_mb = MAX_UNPACKED_BYTES // 2**20
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_MEMBERS:
                raise SubmissionError(f"{len(members)} entries (at most {MAX_MEMBERS})")
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise SubmissionError(f"more than {limit_mb} MB once unpacked")
            paths = [safe_member_path(m.filename) for m in members]
            for member in members:
                check_member_type(member)
            target.mkdir(parents=True, exist_ok=True)
            written = 0
            for member, path in zip(members, paths, strict=True):
                if member.is_dir() or not path.parts:
                    continue
                destination = target.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(destination, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_UNPACKED_BYTES:
                            raise SubmissionError(
                                f"more than {limit_mb} MB once unpacked (a zip bomb?)"
                            )
                        sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise SubmissionError(f"not a readable .zip file ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # unknown compression, encryption
        raise SubmissionError(f"cannot unpack this .zip file ({error})") from None


def topic_root(folder: Path, topics: list[str], depth: int = 3) -> Path:
    """The shallowest folder under ``folder`` holding a ``<topic>.py`` (else ``folder``).

    Zips often wrap the files in a folder of their own; this finds them.
    """
    level = [folder]
    for _ in range(depth + 1):
        for candidate in level:
            if any((candidate / f"{topic}.py").is_file() for topic in topics):
                return candidate
        level = [
            child
            for candidate in level
            for child in sorted(candidate.iterdir())
            if child.is_dir()
            and not child.is_symlink()
            and _is_candidate(child)
            and child.name not in IGNORED_NAMES
        ]
    return folder
