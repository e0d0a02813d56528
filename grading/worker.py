"""The submission's side of grading: a fork server and the workers it starts.

The server runs in its own sandbox (``grading.sandbox``), imports numpy, torch and the course
helpers once, and forks one worker per submission (and a fresh one after a crash).
Each worker:

- enters namespaces of its own (user, PID, mount, network, IPC) when the kernel allows, so it
  sees no other worker, no grader process and no network, with a private ``/tmp``;
- lowers its limits (memory, CPU time, file size, processes), cannot be debugged or read
  through ``/proc`` by other processes, and discards whatever it prints;
- imports the topic files from source text sent by the trusted grader, then answers requests:
  call a function, run a test's scenario, read an attribute. Answers are plain values
  (``grading.wire``); an exception comes back as its type name and message.

A small keeper process stays outside each worker's namespaces: it ends the worker (and with
it every process the worker started) when the grader asks or goes away, and tells the
grader how the worker ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import importlib.abc
import json
import os
import resource
import select
import selectors
import signal
import socket
import sys
import traceback
import types
import warnings
from typing import Any

from grading import arguments, randomstate, wire

BLOCKED_PACKAGES = ("solutions", "exercises")
FORKED_CHILD_EXIT_CODE = 86
MODULE_PREFIX = "_submission_"
SOCKET_BUFFER = 4 * 2**20

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 16384, 1 << 18
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38

_libc = ctypes.CDLL(None, use_errno=True)


class BlockedImport(importlib.abc.MetaPathFinder):
    """Refuses to import the reference solutions (or the stubs) while a submission is graded."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED_PACKAGES:
            raise ImportError(
                f"importing '{fullname}' is not allowed while grading: submit your own code"
            )
        return None


# --- isolation steps (each returns "" on success, else why it failed) ----------------------


def _call(name: str, *args) -> str:
    if getattr(_libc, name)(*args) != 0:
        return f"{name}: {os.strerror(ctypes.get_errno())}"
    return ""


def enter_namespaces() -> str:
    """A new user namespace mapping only our own ids, then new PID, mount, network, IPC, UTS."""
    uid, gid = os.geteuid(), os.getegid()
    problem = _call("unshare", CLONE_NEWUSER)
    if problem:
        return problem
    try:
        for path, text in (
            ("/proc/self/setgroups", "deny"),
            ("/proc/self/uid_map", f"0 {uid} 1"),
            ("/proc/self/gid_map", f"0 {gid} 1"),
        ):
            with open(path, "w") as file:
                file.write(text)
    except OSError as error:
        return f"id maps: {error.strerror}"
    return _call("unshare", CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)


def private_mounts(tmp_mb: int) -> str:
    """A private ``/tmp`` (size-limited) and an empty ``/proc``: nothing of other processes.

    A Python installation that lives under /tmp (a checkout in a temporary folder) would be
    hidden by the new /tmp; the sandbox keeps a read-only second view of it, bound back here.
    """
    problem = _call("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    size = f"size={max(tmp_mb, 1)}m,mode=1777".encode()
    problem = problem or _call("mount", b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, size)
    problem = problem or rebind_held_dirs(os.environ.get("GRADER_HELD_DIRS", ""))
    return problem or _call("mount", b"tmpfs", b"/proc", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m")


def rebind_held_dirs(spec: str) -> str:
    """Bind each held folder back to its original path ("hold=original;..."), read-only."""
    for pair in filter(None, spec.split(";")):
        hold, original = pair.split("=", 1)
        try:
            os.makedirs(original, exist_ok=True)
        except OSError as error:
            return f"mkdir {original}: {error.strerror}"
        source, target = hold.encode(), original.encode()
        problem = _call("mount", source, target, None, MS_BIND | MS_REC, None)
        if problem:
            return problem
        # A bind copies the read-only flag of its source; making it explicit is best effort.
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
        _call("mount", None, target, None, flags, None)
    return ""


def set_limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Lower one resource limit (soft, and hard: the same unless given); never raise one."""
    _, current = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(kind, (soft, hard))


def apply_limits(limits: dict) -> None:
    """Address space, CPU seconds, largest file, processes; no core files."""
    if limits.get("memory_mb", 0) > 0:
        set_limit(resource.RLIMIT_AS, limits["memory_mb"] * 2**20)
    if limits.get("cpu_s", 0) > 0:  # raised by cpu_s for each topic file loaded, up to the hard
        cpu_s, topics = int(limits["cpu_s"]), max(1, int(limits.get("topics", 1)))
        set_limit(resource.RLIMIT_CPU, cpu_s, cpu_s * topics + 1)
    if limits.get("file_mb", 0) > 0:
        set_limit(resource.RLIMIT_FSIZE, limits["file_mb"] * 2**20)
    if limits.get("processes", 0) > 0:
        set_limit(resource.RLIMIT_NPROC, limits["processes"])
    set_limit(resource.RLIMIT_CORE, 0)


NOBODY = 65534


def can_run_as_nobody() -> bool:
    """Whether another user can read this Python installation (every folder above it open)."""
    path = os.path.realpath(sys.base_prefix)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def drop_root() -> None:
    """Without namespaces, a worker started by root runs as ``nobody`` where it can: it can
    then neither signal the grader nor write the grader's files."""
    if os.geteuid() == 0 and can_run_as_nobody():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)


def close_other_descriptors(keep: set[int]) -> None:
    """Close every descriptor from 3 up, except ``keep``."""
    start = 3
    for fd in sorted(keep):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
    os.closerange(start, 1 << 20)


def quiet_standard_streams() -> None:
    """Standard input, output and error go to ``/dev/null``: nothing printed reaches a report."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _end_forked_child() -> None:
    """Runs in the child of every Python-level fork: the child ends before it runs any code."""
    os._exit(FORKED_CHILD_EXIT_CODE)


# --- the worker's request loop --------------------------------------------------------------


def scenario_module(source: str, filename: str) -> types.ModuleType:
    """A test file's source executed as a module, for the scenarios it defines."""
    module = types.ModuleType(f"_scenario_{wire.source_key(source)}")
    module.__file__ = filename
    sys.modules[module.__name__] = module
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    return module


PRELOADED_SCENARIOS: dict[str, types.ModuleType] = {}  # by source key, in the fork server
SCENARIO_FOLDER = "scenarios"  # beside grading/ in the fork server's copy of the code


def preload_scenarios(folder: str | None = None) -> None:
    """Execute the graded test files that define scenarios, once, in the fork server.

    They are the course's own tests, which every worker is sent anyway; executed here, each
    worker finds them ready instead of compiling and executing them again (about 30 ms per
    submission). A file that fails here is executed by the worker when it is sent, as before.
    ``folder`` defaults to the server's copy (``SCENARIO_FOLDER`` beside ``grading/``).
    """
    if folder is None:
        code = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        folder = os.path.join(code, SCENARIO_FOLDER)
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        with contextlib.suppress(Exception):
            with open(os.path.join(folder, name), encoding="utf-8") as file:
                source = file.read()
            PRELOADED_SCENARIOS[wire.source_key(source)] = scenario_module(source, name)


class Worker:
    """Holds the submission's imported topic modules and the objects the grader refers to.

    Its CPU-time limit grows by ``cpu_s`` seconds with each topic file it loads (up to the hard
    limit that ``apply_limits`` set), so a slow topic does not use up the others' time.
    """

    def __init__(self, cpu_s: int = 0) -> None:
        self.cpu_s = cpu_s
        self.modules: dict[str, types.ModuleType] = {}
        self.filenames: set[str] = set()
        self.objects: dict[int, Any] = {}
        self.numbers: dict[int, int] = {}
        self.scenarios: dict[str, types.ModuleType] = dict(PRELOADED_SCENARIOS)

    def to_ref(self, value: Any) -> wire.Ref:
        number = self.numbers.get(id(value))
        if number is None or self.objects.get(number) is not value:
            number = len(self.objects) + 1
            self.objects[number], self.numbers[id(value)] = value, number
        return wire.Ref(number, type(value).__name__)

    def from_ref(self, ref: wire.Ref) -> Any:
        if ref.number not in self.objects:
            raise wire.WireError("unknown object reference")
        return self.objects[ref.number]

    def load(self, topic: str, source: str, filename: str) -> dict:
        """Import the topic file from its source text; ``{"loaded": True}`` or the error."""
        self.filenames.add(filename)
        name = f"{MODULE_PREFIX}{topic}"
        module = types.ModuleType(name)
        module.__file__ = filename
        sys.modules[name] = module
        try:
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
        except BaseException as error:  # learners' code can raise anything
            sys.modules.pop(name, None)
            return {"load_error": self.describe(error)}
        self.modules[topic] = module
        self.grow_cpu_limit()
        return {"loaded": True}

    def grow_cpu_limit(self) -> None:
        """CPU time up to ``cpu_s`` seconds per loaded topic file, never above the hard limit."""
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if self.cpu_s <= 0 or soft == resource.RLIM_INFINITY:
            return
        wanted = self.cpu_s * len(self.modules)
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard - 1)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (max(soft, wanted), hard))

    def describe(self, error: BaseException) -> dict:
        """An exception as plain data: type, message, the submission's line, errno, exit code."""
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if f.filename in self.filenames
        ]
        line = frames[-1].lineno if frames else getattr(error, "lineno", None)
        builtin = type(error).__module__ == "builtins"
        try:
            message = str(error)[:2000]
        except BaseException:
            message = ""
        info = {
            "type": type(error).__name__[:100],
            "builtin": builtin,
            "message": message,
            "line": line if isinstance(line, int) else None,
        }
        if isinstance(error, SyntaxError):
            info["message"] = str(error.msg)[:500]
        if isinstance(error, OSError) and isinstance(error.errno, int):
            info["errno"] = error.errno
        if isinstance(error, SystemExit):
            code = error.code
            info["code"] = code if isinstance(code, int | str | None) else str(code)[:100]
        return info

    def module(self, request: dict) -> types.ModuleType:
        """The topic module a request names."""
        module = self.modules.get(str(request.get("topic")))
        if module is None:
            raise wire.WireError("that topic file is not loaded")
        return module

    def target(self, request: dict) -> Any:
        target = request.get("target")
        base = self.module(request) if target is None else target
        name = request.get("name")
        return base if name is None else getattr(base, str(name))

    def scenario(self, request: dict):
        """The scenario function named in the request, from the test file's source."""
        if "source" not in request:  # a test file this worker was sent before
            key = str(request.get("key"))
            if key not in self.scenarios:
                raise wire.WireError("a scenario from a test file that was never sent")
        else:
            source = str(request["source"])
            key = wire.source_key(source)
        if key not in self.scenarios:
            filename = str(request.get("filename", "<tests>"))
            self.scenarios[key] = scenario_module(source, filename)
        function = self.scenarios[key]
        for part in str(request["function"]).split("."):
            function = getattr(function, part)
        return getattr(function, "__wrapped__", function)

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "load":
            return self.load(str(request["topic"]), str(request["source"]), str(request["filename"]))  # fmt: skip
        if op == "ping":
            return {"value": None}
        args, kwargs = request.get("args", []), request.get("kwargs", {})
        before = arguments.snapshot(args, kwargs)
        with call_state(request.get("state", {})) as state:
            try:
                if op == "call":
                    value = self.target(request)(*args, **kwargs)
                elif op == "getattr":
                    value = self.target(request)
                elif op == "getitem":
                    value = self.target(request)[request["key"]]
                elif op == "len":
                    value = len(self.target(request))
                elif op == "iter":
                    value = list(self.target(request))
                elif op == "scenario":
                    topic = arguments.CheckedTopic(self.module(request))
                    value = self.scenario(request)(topic, *args, **kwargs)
                else:
                    raise wire.WireError(f"unknown request {op!r}")
            except BaseException as error:  # learners' code can raise anything
                return {"raised": self.describe(error), "state": state.changed()}
        reply = {"value": value, "state": state.changed()}
        changed = arguments.changed(args, kwargs, before)
        if changed:  # the grader fails the test; the new values stay here
            reply["mutated"] = changed
        return reply


class call_state(contextlib.AbstractContextManager):
    """Applies the grader's random-number state, grad mode and numpy error settings to a call.

    ``changed()`` gives back the random states the call moved, so the grader stays in step.
    """

    def __init__(self, state: dict) -> None:
        self.state = state if isinstance(state, dict) else {}
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        import numpy as np
        import torch

        if "torch_rng" in self.state:
            torch.set_rng_state(self.state["torch_rng"])
        if "numpy_rng" in self.state:
            np.random.set_state(self.state["numpy_rng"])
        self.torch_before = torch.get_rng_state()
        self.numpy_before = randomstate.fingerprint()
        self.stack.enter_context(torch.set_grad_enabled(bool(self.state.get("grad", True))))
        errstate = self.state.get("errstate")
        if isinstance(errstate, dict):
            self.stack.enter_context(np.errstate(**{str(k): str(v) for k, v in errstate.items()}))
        self.stack.enter_context(warnings.catch_warnings())
        if self.state.get("warnings_are_errors"):
            warnings.simplefilter("error")
        return self

    def changed(self) -> dict:
        import numpy as np
        import torch

        out = {}
        now = torch.get_rng_state()
        if not torch.equal(now, self.torch_before):
            out["torch_rng"] = now
        if randomstate.fingerprint() != self.numpy_before:  # any draw, not only a new key
            out["numpy_rng"] = tuple(np.random.get_state())
        return out

    def __exit__(self, *exc) -> None:
        self.stack.close()


def serve(sock: socket.socket, cpu_s: int = 0) -> None:
    """Answer requests until the grader closes the connection."""
    worker = Worker(cpu_s)
    while True:
        try:
            request = wire.receive(sock, worker.from_ref)
            reply = worker.handle(request if isinstance(request, dict) else {})
        except wire.Closed:
            return
        except wire.WireError as error:
            reply = {"raised": {"type": "WireError", "builtin": False, "message": str(error)}}
        except BaseException as error:  # a scenario or a bad request failed outside a call
            reply = {"raised": worker.describe(error)}
        try:
            frame = wire.frame(reply, wire.Encoder(worker.to_ref))
        except wire.WireError as error:
            text = f"returned a value that cannot be graded: {error}"
            frame = wire.frame({"raised": {"type": "WireError", "builtin": False, "message": text}})
        except BaseException as error:
            frame = wire.frame({"raised": worker.describe(error)})
        try:
            wire.send(sock, frame)
        except wire.Closed:
            return


# --- the keeper and the fork server ----------------------------------------------------------


def worker_process(work: socket.socket, limits: dict) -> None:
    """The worker itself: quiet, limited, serving the grader's requests; never returns."""
    code = 0
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        quiet_standard_streams()
        os.environ.update({"HOME": "/tmp", "TMPDIR": "/tmp"})
        os.chdir("/tmp")
        sys.meta_path.insert(0, BlockedImport())
        for name in [m for m in sys.modules if m.split(".")[0] in BLOCKED_PACKAGES]:
            del sys.modules[name]
        os.register_at_fork(after_in_child=_end_forked_child)
        apply_limits(limits)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        serve(work, int(limits.get("cpu_s", 0) or 0))
    except BaseException:
        code = 98
    os._exit(code)


def init_process(work: socket.socket, status: int, limits: dict, isolated: bool) -> None:
    """PID 1 of the worker's namespace: private mounts, then start the worker and wait.

    The kernel does not deliver signals such as SIGXCPU to a namespace's first process, so
    the worker is its child; this process reaps whatever else is left and, when the worker
    ends, writes its wait status to ``status`` and ends, which ends every process inside.
    """
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if isolated and private_mounts(int(limits.get("tmp_mb", 64))):
        os._exit(97)
    if not isolated:
        os.setsid()
        drop_root()
    pid = os.fork()
    if pid == 0:
        os.close(status)
        worker_process(work, limits)
    work.close()
    while True:
        try:
            done, wait_status = os.wait()
        except ChildProcessError:
            os._exit(96)
        if done == pid:
            os.write(status, str(wait_status).encode())
            os._exit(0)


def keeper_process(work: socket.socket, ctl: socket.socket, limits: dict, isolate: bool) -> None:
    """Start the worker, end it when told (or when the grader goes), report how it ended."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    close_other_descriptors({work.fileno(), ctl.fileno()})
    problem = enter_namespaces() if isolate else ""
    if problem:
        with contextlib.suppress(OSError):
            ctl.sendall(json.dumps({"failed": f"cannot isolate the worker: {problem}"}).encode())
        os._exit(1)
    status_read, status_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        ctl.close()
        os.close(status_read)
        init_process(work, status_write, limits, isolate)
    work.close()
    os.close(status_write)
    killed = False
    pidfd = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([pidfd, ctl], [], [])
        if pidfd in ready:  # it ended on its own (even if the grader asks at the same time)
            break
        if ctl in ready:
            with contextlib.suppress(OSError):
                ctl.recv(16)
            killed = True
            break
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _, init_status = os.waitpid(pid, 0)
    if not isolate:  # no PID namespace: end what is left of the worker's session
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    report = os.read(status_read, 64)
    status = int(report) if report.isdigit() else init_status
    ending = {"killed": killed and not report}
    if os.WIFSIGNALED(status):
        ending["signal"] = os.WTERMSIG(status)
    else:
        ending["exit"] = os.WEXITSTATUS(status)
    with contextlib.suppress(OSError):
        ctl.sendall(json.dumps(ending).encode())
    os._exit(0)


def spawn(client: socket.socket, limits: dict, isolate: bool) -> None:
    """Fork a keeper (and its worker); hand the grader its two ends: requests and control."""
    work_parent, work_child = socket.socketpair()
    for end in (work_parent, work_child):  # large buffers: arrays cross in few system calls
        with contextlib.suppress(OSError):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    ctl_parent, ctl_child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        work_parent.close()
        ctl_parent.close()
        try:
            keeper_process(work_child, ctl_child, limits, isolate)
        finally:
            os._exit(1)
    work_child.close()
    ctl_child.close()
    try:
        socket.send_fds(client, [b"w"], [work_parent.fileno(), ctl_parent.fileno()])
    finally:
        work_parent.close()
        ctl_parent.close()


def probe_isolation() -> str:
    """Whether a worker can enter namespaces of its own here: "" if so, else why not."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        problem = enter_namespaces()
        if not problem:
            inner = os.fork()
            if inner == 0:
                os._exit(3 if private_mounts(1) else 0)
            _, status = os.waitpid(inner, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                problem = "mount: the kernel refused a private /tmp and /proc"
        os.write(write, problem.encode()[:500])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        problem = pipe.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return problem


def preload() -> None:
    """Import what every worker needs, once, before the first fork."""
    import ml_dtypes  # noqa: F401
    import numpy
    import numpy.typing  # noqa: F401  (topic files import it for their type hints)
    import torch

    torch.set_num_threads(1)
    import pytest  # noqa: F401  (scenario code may import it)

    import course.facts
    import course.formats
    import course.moe_reference
    import course.params_reference
    import course.precision_reference
    import course.tiny_deepseek
    import grading  # noqa: F401

    course.facts.all_facts()  # parsed once (tests read sourced figures), not once per process


def warm_training() -> None:
    """Take optimizer steps on a tiny layer, the balance chapter's reference MoE layer and
    the RL chapter's tiny policy, once, before the first fork.

    torch imports its compiler front end (about a hundred modules, two seconds) on the first
    optimizer step, and sets up each kind of operation the first time it runs; a worker forked
    afterwards finds that done, so a submission's training exercises do not pay for it again.
    torch's global random state is left as it was.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        layer = torch.nn.Linear(2, 2)
        optimizer = torch.optim.Adam(layer.parameters())
        layer(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        with contextlib.suppress(Exception):  # the course's code may differ in a custom tree
            warm_course_models()


def warm_course_models() -> None:
    """One training step of the course's reference MoE layer and of its RL policy."""
    import dataclasses

    import torch

    from course import balance_experiment, rl_task

    config = dataclasses.replace(balance_experiment.Config(), tokens_per_step=64)
    moe = balance_experiment.make_layer(config)
    optimizer = torch.optim.Adam(moe.parameters())
    x, y, _ = balance_experiment.make_task(config).sample(64, torch.Generator().manual_seed(0))
    torch.mean((moe(x) - y) ** 2).backward()
    optimizer.step()
    task = rl_task.Config()
    policy = rl_task.make_policy(task)
    prompts = rl_task.sample_prompts(task, 4, torch.Generator().manual_seed(0))
    completions, _ = rl_task.generate(policy, prompts, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(policy.parameters())
    rl_task.token_logprobs(policy, prompts, completions).sum().backward()
    optimizer.step()


def server_main(control_fd: int, isolate: bool) -> int:
    """The fork server: answer "client" requests on the control socket, "spawn" on clients."""
    control = socket.socket(fileno=control_fd)
    preload()
    warm_training()
    preload_scenarios()
    gc.collect()
    gc.freeze()  # workers' collections skip what the server imported: fewer copied pages
    problem = probe_isolation() if isolate else "not asked for"
    control.sendall(json.dumps({"ready": True, "isolation": problem}).encode() + b"\n")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if sock is control:
                if not data:
                    return 0
                mine, theirs = socket.socketpair()
                socket.send_fds(control, [b"c"], [theirs.fileno()])
                theirs.close()
                selector.register(mine, selectors.EVENT_READ)
                continue
            if not data:
                selector.unregister(sock)
                sock.close()
                continue
            try:
                request = json.loads(data)
                limits = request["limits"] if isinstance(request.get("limits"), dict) else {}
                spawn(sock, limits, isolate and not problem)
            except (ValueError, KeyError, OSError):
                selector.unregister(sock)
                sock.close()


def main(argv: list[str]) -> int:
    """``python -m grading.worker CONTROL_FD isolate|plain``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    return server_main(int(argv[0]), argv[1] == "isolate")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["BLOCKED_PACKAGES", "FORKED_CHILD_EXIT_CODE", "errno", "main", "serve"]
