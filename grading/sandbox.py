"""Start the fork server (``grading.worker``) inside a bubblewrap sandbox.

The sandbox (``bwrap``, Debian package ``bubblewrap``) gets a user namespace of its own, its own
PID, network, IPC and UTS namespaces (no network at all) and a mount view of read-only system
folders, the Python installation and a private copy of ``grading/`` and ``course/``: no
``solutions/``, no submissions, no reports, no home folder. Each worker then enters nested
namespaces of its own (see ``grading.worker``).

Where ``bwrap`` is missing or the kernel refuses user namespaces, ``isolation_problem`` says
why in one line; the grader then refuses to grade unless told ``--unsafe``, in which case the
server runs as a plain process (the trusted split still decides every score).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import site
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grading.loader import ROOT
from grading.worker import SCENARIO_FOLDER

SERVER_PARTS = ("grading", "course")
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc/alternatives")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
BOOTSTRAP = (
    "import sys; sys.path[:0] = sys.argv[1].split(':'); "
    "from grading.worker import main; sys.exit(main(sys.argv[2:]))"
)
HELD_ROOT = "/.grader-python"  # second views of Python folders that live under /tmp
HELD_ENV = "GRADER_HELD_DIRS"  # "hold=original;..." for the workers to bind back
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    # Freed memory stays with a worker for its next array instead of going back to the kernel
    # (glibc's defaults unmap blocks of 128 KB and more): a quarter fewer page faults per
    # submission. The limits on a worker's memory still hold (RLIMIT_AS counts this memory).
    "MALLOC_MMAP_THRESHOLD_": str(64 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
    "MPLBACKEND": "Agg",
}


class SandboxError(Exception):
    """The fork server could not start; the message is one line."""


@functools.cache
def isolation_problem() -> str:
    """Why submissions cannot be isolated on this machine, in one line; "" when they can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    probe = [bwrap, *namespace_options(), "--ro-bind", "/", "/", "--", "true"]
    done = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot create namespaces here ({reason})"
    return ""


def namespace_options() -> list[str]:
    """bwrap's options for new namespaces, no capabilities, death with the grader.

    Run as root, the workers' nested user namespaces map to root's own id, which the kernel
    allows only with CAP_SETFCAP in the sandbox's namespace (it grants nothing outside it).
    """
    options = [
        "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
    ]  # fmt: skip
    if os.geteuid() == 0:
        options += ["--cap-add", "CAP_SETFCAP"]
    return options


def python_dirs() -> list[str]:
    """Folders the sandboxed Python needs: its installation, the environment, site-packages."""
    dirs = {sys.base_prefix, sys.prefix, *site.getsitepackages()}
    executable = Path(sys.executable)
    dirs.add(str(executable.parent))
    with contextlib.suppress(OSError):
        dirs.add(str(executable.resolve().parent.parent))
    real = sorted({os.path.realpath(d) for d in dirs} | dirs)
    return [d for d in real if os.path.isdir(d) and not any(d.startswith(p + "/") for p in real)]


def bwrap_command(code_dir: Path) -> list[str]:
    """The bwrap command line that runs the fork server on ``code_dir``'s copy of the code."""
    command = [shutil.which("bwrap") or "bwrap", *namespace_options(), "--clearenv"]
    for name, value in ENVIRONMENT.items():
        command += ["--setenv", name, value]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        command += ["--ro-bind-try", path, path]
    # The private /tmp first, so that a Python installed under /tmp stays visible on top of it.
    command += ["--tmpfs", "/tmp"]
    held = []
    for index, path in enumerate(python_dirs()):
        command += ["--ro-bind", path, path]
        if under_tmp(path):  # hidden again by each worker's own /tmp: keep a second view
            hold = f"{HELD_ROOT}/{index}"
            command += ["--ro-bind", path, hold]
            held.append(f"{hold}={path}")
    if held:
        command += ["--setenv", HELD_ENV, ";".join(held)]
    command += ["--ro-bind", str(code_dir), "/grader", "--proc", "/proc", "--dev", "/dev"]
    command += ["--chdir", "/tmp", "--"]
    return command


def under_tmp(path: str) -> bool:
    """Whether ``path`` lies in /tmp, where every worker mounts its own private folder."""
    return path == "/tmp" or path.startswith("/tmp/")


def copy_server_code(tree: Path, target: Path) -> None:
    """A private copy of ``grading/`` and ``course/`` for the sandbox, with the graded test
    files that define scenarios (the course's public tests; nothing else of the tree)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in SERVER_PARTS:
        shutil.copytree(tree / part, target / part, ignore=ignore)
    scenarios = target / SCENARIO_FOLDER  # executed once by the server (preload_scenarios)
    scenarios.mkdir()
    for path in sorted(tree.glob("tests/test_*.py")):
        if "@scenario" in path.read_text(encoding="utf-8"):
            shutil.copyfile(path, scenarios / path.name)


@dataclass
class Server:
    """A running fork server and the socket on which the grader asks it for clients."""

    process: subprocess.Popen
    control: socket.socket
    isolated: bool
    note: str  # why workers are not isolated, or ""
    code_dir: Path
    clients: list[socket.socket] = field(default_factory=list)

    def new_client(self) -> socket.socket:
        """A new connection on which one trusted grading process asks for workers."""
        self.control.sendall(b"client")
        _, fds, _, _ = socket.recv_fds(self.control, 16, 1)
        if not fds:
            raise SandboxError("the fork server did not answer")
        return socket.socket(fileno=fds[0])

    def close(self) -> None:
        """End the server and every worker it started."""
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, 9)
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.wait()
        shutil.rmtree(self.code_dir, ignore_errors=True)


def start_server(tree: Path = ROOT, *, unsafe: bool = False) -> Server:
    """Start the fork server, sandboxed when possible, and wait until it is ready.

    Raises:
        SandboxError: isolation is unavailable and ``unsafe`` is False, or the server failed.
    """
    return launch_server(tree, unsafe=unsafe).ready()


@dataclass
class Launch:
    """A fork server that is starting (importing numpy and torch) while the grader prepares."""

    process: subprocess.Popen
    control: socket.socket
    code_dir: Path
    problem: str  # why it runs without bwrap, or ""
    unsafe: bool

    def ready(self) -> Server:
        """Wait for the server's greeting; the running server.

        Raises:
            SandboxError: the server failed, or its workers cannot be isolated and
                ``unsafe`` is False.
        """
        process, mine, code_dir, problem, unsafe = (
            self.process, self.control, self.code_dir, self.problem, self.unsafe,
        )  # fmt: skip
        status = _greeting(process, mine, code_dir)
        nested = str(status.get("isolation", ""))
        note = problem or (f"workers share the sandbox's namespaces ({nested})" if nested else "")
        if nested and not unsafe and not problem:
            Server(process, mine, False, note, code_dir).close()
            raise SandboxError(
                f"cannot isolate submissions: {nested}; pass --unsafe to grade without isolation"
            )
        return Server(process, mine, not problem and not nested, note, code_dir)


def launch_server(tree: Path = ROOT, *, unsafe: bool = False) -> Launch:
    """Start the fork server, sandboxed when possible; ``ready()`` waits for it.

    Raises:
        SandboxError: isolation is unavailable and ``unsafe`` is False.
    """
    problem = isolation_problem()
    if problem and not unsafe:
        raise SandboxError(
            f"cannot isolate submissions: {problem}; pass --unsafe to grade without isolation"
        )
    code_dir = Path(tempfile.mkdtemp(prefix="grading-code-"))
    copy_server_code(tree, code_dir)
    os.chmod(code_dir, 0o755)
    mine, theirs = socket.socketpair()
    sites = ":".join(site.getsitepackages())
    if problem:
        prefix, path = [], f"{code_dir}:{sites}"
        env = {**ENVIRONMENT, "TMPDIR": tempfile.gettempdir(), "HOME": tempfile.gettempdir()}
    else:
        prefix, path, env = bwrap_command(code_dir), f"/grader:{sites}", None
    mode = "plain" if problem else "isolate"
    command = [*prefix, sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP, path]
    command += [str(theirs.fileno()), mode]
    process = subprocess.Popen(
        command,
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env if env is not None else {},
        start_new_session=True,
    )
    theirs.close()
    return Launch(process, mine, code_dir, problem, unsafe)


def _greeting(process: subprocess.Popen, mine: socket.socket, code_dir: Path) -> dict:
    """The server's first line (a JSON object), or an error with its last words."""
    hello = b""
    with contextlib.suppress(OSError):
        while not hello.endswith(b"\n"):
            chunk = mine.recv(4096)
            if not chunk:
                break
            hello += chunk
    try:
        status = json.loads(hello)
    except ValueError:
        process.kill()
        error = process.stderr.read().decode(errors="replace").strip().splitlines()
        shutil.rmtree(code_dir, ignore_errors=True)
        raise SandboxError(
            "the grading sandbox did not start: " + (error[-1] if error else "no message")
        ) from None
    process.stderr.close()
    return status if isinstance(status, dict) else {}
