"""The trusted grader's side of a submission's worker: proxies that call the learner's code.

When a submission is graded in isolation, ``topic_fixture`` gives a test a ``RemoteTopic``
instead of the imported module. ``topic.percent_change(100.0, 83.0)`` sends the name and the
arguments to the worker (``grading.worker``), which calls the learner's function and sends
back plain values; the test's checks then run here, in the trusted process. An object that is
not plain data (an ``nn.Module``, say) stays in the worker and comes back as a ``RemoteRef``
whose attributes, items and methods are fetched the same way.

The calls carry the grader's random-number state, grad mode and numpy error settings, so a
test reads the same here as in a single process. A call that changes an array argument in
place fails its test, here as in a learner's own run (``grading.arguments``); the new values
never reach the grader. A test whose body builds, trains or inspects learner objects in ways
a proxy cannot follow runs that part as a ``scenario`` in the worker (``grading.scenario``).

Whatever the worker does, it costs at most the test that was running: a worker that ends,
hangs (the test's time limit), or sends something malformed is ended and replaced.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import functools
import inspect
import json
import signal
import socket
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grading import arguments, randomstate, wire

REMOTE_KEY = pytest.StashKey["RemoteSession"]()
ENDING_WAIT_S = 5.0


class SubmissionRaised(Exception):
    """The learner's code raised an exception that is not one of Python's built-in ones."""


class WorkerEnded(Exception):
    """The worker ended (or was ended) during a request; the message says how."""


@dataclass(frozen=True)
class WorkerLimits:
    """What one worker may use; zero switches a limit off."""

    memory_mb: int = 4096
    cpu_s: int = 120  # for each topic file the worker has loaded
    topics: int = 1  # topic files the worker may load (its CPU time is at most cpu_s each)
    file_mb: int = 64
    processes: int = 64
    tmp_mb: int = 64
    restarts: int = 20  # crashes allowed in the tests of one topic
    answer_s: float = 60.0  # the longest wait for any answer (a safety net behind the test limit)


def describe_ending(ending: dict, limits: WorkerLimits) -> str:
    """How a worker ended, in words a learner can act on."""
    if "failed" in ending:
        return str(ending["failed"])
    if "signal" in ending:
        number = int(ending["signal"])
        if number == signal.SIGXCPU:
            return f"used up the CPU-time limit of {limits.cpu_s} s per topic file it had loaded"
        if number == signal.SIGXFSZ:
            return f"wrote more than the {limits.file_mb} MB file-size limit"
        if number == signal.SIGKILL:
            if ending.get("killed"):
                return "the submission's process was stopped by the grader"
            return (
                "the submission's process was killed (SIGKILL): by the CPU-time limit, the "
                f"{limits.memory_mb} MB memory limit, the system, or the submission itself"
            )
        if number == signal.SIGABRT:
            return (
                "the submission's process aborted (SIGABRT), often an allocation refused by "
                f"the {limits.memory_mb} MB memory limit"
            )
        if number == signal.SIGSEGV:
            return "the submission's process crashed (segmentation fault)"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the submission's process was ended by {name}"
    if "exit" in ending:
        return f"the submission's process exited with code {ending['exit']} (os._exit, or a crash)"
    return "the submission's process ended"


class Connection:
    """One worker: a request socket and the keeper's control socket."""

    def __init__(self, client: socket.socket, limits: WorkerLimits) -> None:
        self.limits = limits
        client.settimeout(limits.answer_s or None)
        try:
            client.sendall(json.dumps({"limits": limits.__dict__}).encode())
            _, fds, _, _ = socket.recv_fds(client, 16, 2)
        except OSError:
            fds = []
        if len(fds) != 2:
            raise WorkerEnded("the grading sandbox did not start a worker")
        self.work, self.ctl = (socket.socket(fileno=fd) for fd in fds)
        self.work.settimeout(limits.answer_s or None)
        self.alive = True
        self.synced: dict[str, Any] = {}
        self.scenario_keys: set[str] = set()  # test files whose source this worker holds
        self.loaded: set[str] = set()  # topics whose files this worker has imported

    def ending(self) -> str:
        """Wait briefly for the keeper's account of how the worker ended."""
        self.alive = False
        with contextlib.suppress(OSError):
            self.work.close()
        data = b""
        self.ctl.settimeout(ENDING_WAIT_S)
        with contextlib.suppress(OSError):
            while chunk := self.ctl.recv(4096):
                data += chunk
        self.ctl.close()
        try:
            ending = json.loads(data) if data else {}
        except ValueError:
            ending = {}
        return describe_ending(ending if isinstance(ending, dict) else {}, self.limits)

    def stop(self) -> str:
        """End the worker (and everything it started); returns how it ended."""
        if not self.alive:
            return "the submission's process had already ended"
        with contextlib.suppress(OSError):
            self.ctl.sendall(b"k")  # a keeper whose worker has ended already ignores it
        return self.ending()

    def abandon(self) -> None:
        """Tell the keeper to end the worker, and close both sockets without waiting."""
        self.alive = False
        with contextlib.suppress(OSError):
            self.ctl.sendall(b"k")
        for end in (self.work, self.ctl):
            with contextlib.suppress(OSError):
                end.close()

    def request(self, message: dict) -> Any:
        """Send one request and return the decoded reply (a dict).

        Raises:
            WorkerEnded: the worker ended or answered with something malformed; it is gone.
        """
        if not self.alive:
            raise WorkerEnded("the submission's process had already ended")
        try:
            frame = wire.frame(message, wire.Encoder(_ref_of))
        except wire.WireError as error:
            raise TypeError(f"cannot send this value to the submission: {error}") from None
        try:
            wire.send(self.work, frame)
            reply = wire.receive(self.work, functools.partial(RemoteRef, self))
        except wire.Closed as closed:
            if "timed out" in str(closed):
                self.stop()
                raise WorkerEnded(
                    f"the submission's process did not answer within {self.limits.answer_s:g} s"
                ) from None
            raise WorkerEnded(self.ending()) from None  # it ended on its own: ask how
        except wire.WireError as error:
            self.stop()
            raise WorkerEnded(
                f"the submission's process sent a malformed answer ({error})"
            ) from None
        except BaseException:  # the time limit, Ctrl-C: the worker is out of step, end it
            self.stop()
            raise
        if not isinstance(reply, dict):
            self.stop()
            raise WorkerEnded("the submission's process sent a malformed answer")
        return reply


def _ref_of(value: Any) -> wire.Ref:
    if isinstance(value, RemoteRef):
        return object.__getattribute__(value, "_ref")
    raise wire.WireError(f"a value of type {type(value).__name__} cannot be sent")


# --- the state a call carries ---------------------------------------------------------------


def _warnings_are_errors() -> bool:
    return bool(warnings.filters) and warnings.filters[0][0] == "error"


def outgoing_state(connection: Connection) -> dict:
    """Grad mode, numpy error settings, and the random states that changed since last sync."""
    import torch

    state: dict[str, Any] = {
        "grad": torch.is_grad_enabled(),
        "errstate": dict(np.geterr()),
        "warnings_are_errors": _warnings_are_errors(),
    }
    torch_rng = torch.get_rng_state()
    if "torch_rng" not in connection.synced or not torch.equal(torch_rng, connection.synced["torch_rng"]):  # fmt: skip
        state["torch_rng"] = connection.synced["torch_rng"] = torch_rng
    numpy_rng = randomstate.fingerprint()
    if connection.synced.get("numpy_rng") != numpy_rng:
        state["numpy_rng"] = tuple(np.random.get_state())
        connection.synced["numpy_rng"] = numpy_rng
    return state


def apply_incoming_state(connection: Connection, state: Any) -> None:
    """Take over the random states the learner's code moved."""
    import torch

    if not isinstance(state, dict):
        return
    with contextlib.suppress(Exception):
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
            connection.synced["torch_rng"] = torch.get_rng_state()
        if "numpy_rng" in state:
            np.random.set_state(state["numpy_rng"])
            connection.synced["numpy_rng"] = randomstate.fingerprint()


def refuse_changes(function: str, mutated: Any) -> None:
    """Fail the test if the worker says the call changed array arguments in place.

    The new values are never taken: a test may build its expected value from the arrays it
    passed, and a submission must not choose them (``grading.arguments``).
    """
    if isinstance(mutated, list) and mutated:
        keys = [str(key)[:100] for key in mutated[:10]]
        pytest.fail(arguments.changed_message(function, keys), pytrace=False)


def raise_from_worker(info: Any, limits: WorkerLimits, filename: str) -> None:
    """Re-raise, here, the exception the learner's code raised in the worker."""
    info = info if isinstance(info, dict) else {}
    kind = str(info.get("type", "Exception"))
    message = str(info.get("message", ""))
    line = info.get("line")
    where = f" ({filename} line {line})" if isinstance(line, int) else ""
    if kind == "NotImplementedError":
        raise NotImplementedError(message)
    if kind == "SystemExit":
        pytest.fail(f"called sys.exit({info.get('code')}) during the test", pytrace=False)
    if kind == "MemoryError":
        pytest.fail(
            f"ran out of memory: the submission's process may use at most {limits.memory_mb} MB",
            pytrace=False,
        )
    if info.get("errno") == errno.EFBIG:
        pytest.fail(
            f"wrote more than the {limits.file_mb} MB file-size limit (printing or saving too much?)",
            pytrace=False,
        )
    if kind in ("WireError", "ChangedInPlace"):
        pytest.fail(message, pytrace=False)
    builtin = getattr(builtins, kind, None)
    if (
        info.get("builtin")
        and isinstance(builtin, type)
        and issubclass(builtin, Exception)
        and not issubclass(builtin, OSError)
    ):
        try:
            error = builtin(message)
        except Exception:
            error = SubmissionRaised(f"{kind}: {message}")
        if where:
            error.add_note(f"raised in {filename} line {line}")
        raise error
    raise SubmissionRaised(f"{kind}: {message}{where}")


# --- proxies --------------------------------------------------------------------------------


@dataclass
class SubmissionWorker:
    """The one worker that holds a submission's topic files (a fresh one after a crash).

    One process for every topic costs one start (three forks of the server) per submission
    instead of one per topic; a crash still costs only the test that was running, and the
    next request starts a fresh worker into which topic files are loaded again as needed.
    """

    client: socket.socket
    limits: WorkerLimits
    connection: Connection | None = None

    def live(self) -> Connection:
        """The running worker, started if there is none.

        Raises:
            WorkerEnded: the sandbox did not start a worker.
        """
        if self.connection is None or not self.connection.alive:
            self.connection = Connection(self.client, self.limits)
        return self.connection

    def abandon(self) -> None:
        """End the worker without waiting for the keeper's account of its ending."""
        if self.connection is not None and self.connection.alive:
            self.connection.abandon()


@dataclass
class TopicState:
    """A topic file of a submission, imported in the submission's worker when first needed."""

    worker: SubmissionWorker
    topic: str
    source: str
    crashes: int = 0  # workers that ended during this topic's requests
    problem: str = ""  # why this topic cannot be graded any more
    scenario_sources: dict[str, str] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.topic}.py"

    @property
    def limits(self) -> WorkerLimits:
        return self.worker.limits

    def ensure(self) -> Connection:
        """The live worker with this topic file loaded (a fresh worker if the last one ended).

        Raises:
            WorkerEnded: the topic cannot be loaded, or workers ended too often in its tests.
        """
        if self.problem:
            raise WorkerEnded(self.problem)
        if self.crashes > self.limits.restarts:
            self.problem = (
                f"not run: the submission's process ended {self.crashes} times "
                f"in the tests of '{self.topic}'"
            )
            raise WorkerEnded(self.problem)
        connection = self.worker.live()
        if self.topic in connection.loaded:
            return connection
        load = {"op": "load", "topic": self.topic, "source": self.source}
        try:
            reply = connection.request({**load, "filename": self.filename})
        except WorkerEnded as ending:
            self.problem = f"the process ended while importing {self.filename}: {ending}"
            raise WorkerEnded(self.problem) from None
        except BaseException as error:  # the time limit while importing
            if "time limit" in str(error):
                self.problem = (
                    f"{self.filename} did not finish importing within the time limit: "
                    "is there a loop that never ends at the top level of the file?"
                )
                raise WorkerEnded(self.problem) from None
            raise
        if "load_error" in reply:
            from grading.loader import describe_import_error

            self.problem = describe_import_error(reply["load_error"], self.filename, self.topic)
            raise WorkerEnded(self.problem)
        connection.loaded.add(self.topic)
        return connection

    def request(self, message: dict, args: tuple = (), kwargs: dict | None = None) -> Any:
        """One call into the worker; returns its value or raises what the learner's code raised."""
        kwargs = kwargs or {}
        try:
            connection = self.ensure()
            state = outgoing_state(connection)
            key = message.get("key")
            if key is not None and key in connection.scenario_keys:
                message = {k: v for k, v in message.items() if k != "source"}  # sent already
            message = {**message, "topic": self.topic}
            try:
                reply = connection.request(
                    {**message, "args": list(args), "kwargs": dict(kwargs), "state": state}
                )
            except WorkerEnded:
                self.crashes += 1
                raise
            if key is not None and "raised" not in reply:
                connection.scenario_keys.add(key)
        except WorkerEnded as ending:
            problem = str(ending)
        else:
            problem = ""
        if problem:  # outside the except block: no chained exception in the report
            pytest.fail(problem, pytrace=False)
        apply_incoming_state(connection, reply.get("state"))
        refuse_changes(str(message.get("name") or message.get("function")), reply.get("mutated"))
        if "raised" in reply:
            raise_from_worker(reply["raised"], self.limits, self.filename)
        return reply.get("value")


class RemoteTopic:
    """What a test sees as the topic module: every attribute is a function in the worker."""

    def __init__(self, state: TopicState) -> None:
        object.__setattr__(self, "_grading_state", state)

    def __getattr__(self, name: str) -> RemoteFunction:
        if name.startswith("__") or name == "_grading_state":
            raise AttributeError(name)
        return RemoteFunction(object.__getattribute__(self, "_grading_state"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("the submission's module cannot be changed from the tests")

    def __repr__(self) -> str:
        return f"<topic {object.__getattribute__(self, '_grading_state').topic} of the submission>"


@dataclass(frozen=True)
class RemoteFunction:
    """A name in the learner's topic module; calling it calls the function in the worker."""

    state: TopicState
    name: str

    def __call__(self, *args, **kwargs) -> Any:
        return self.state.request({"op": "call", "name": self.name}, args, kwargs)

    def __repr__(self) -> str:
        return f"{self.state.topic}.{self.name}"


class RemoteRef:
    """An object that lives in the worker: attributes, items, calls and ``len`` go there."""

    def __init__(self, connection: Connection, ref: wire.Ref) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_ref", ref)

    def _ask(self, message: dict, args: tuple = (), kwargs: dict | None = None) -> Any:
        connection = object.__getattribute__(self, "_connection")
        kwargs = kwargs or {}
        ref = object.__getattribute__(self, "_ref")
        try:
            state = outgoing_state(connection)
            reply = connection.request(
                {**message, "target": ref, "args": list(args), "kwargs": kwargs, "state": state}
            )
        except WorkerEnded as ending:
            problem = str(ending)
        else:
            problem = ""
        if problem:
            pytest.fail(problem, pytrace=False)
        apply_incoming_state(connection, reply.get("state"))
        name = message.get("name")
        refuse_changes(f"{ref.type_name}.{name}" if name else ref.type_name, reply.get("mutated"))
        if "raised" in reply:
            raise_from_worker(reply["raised"], connection.limits, "the submission")
        return reply.get("value")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ask({"op": "getattr", "name": name})

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("objects of the submission cannot be changed from the tests")

    def __call__(self, *args, **kwargs) -> Any:
        return self._ask({"op": "call", "name": None}, args, kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._ask({"op": "getitem", "name": None, "key": key})

    def __len__(self) -> int:
        value = self._ask({"op": "len", "name": None})
        if not isinstance(value, int) or value < 0:
            raise TypeError("len() of the submission's object is not a count")
        return value

    def __iter__(self):
        value = self._ask({"op": "iter", "name": None})
        return iter(value if isinstance(value, list) else [])

    def __repr__(self) -> str:
        ref = object.__getattribute__(self, "_ref")
        return f"<{ref.type_name} object of the submission>"


# --- scenarios ------------------------------------------------------------------------------


def scenario(function):
    """Mark a helper of a graded test file that runs next to the learner's code.

    The helper's first argument is the topic module; it returns plain values (numbers,
    lists, dicts, arrays, tensors) for the test's checks. Graded in isolation, the helper runs
    in the submission's worker, from the test file's source, and only its return value comes
    back; otherwise it is simply called.
    """

    @functools.wraps(function)
    def run(topic, *args, **kwargs):
        if not isinstance(topic, RemoteTopic):
            return function(topic, *args, **kwargs)
        state = object.__getattribute__(topic, "_grading_state")
        path = Path(inspect.getsourcefile(function) or "")
        source = state.scenario_sources.get(str(path))
        if source is None:
            source = state.scenario_sources[str(path)] = path.read_text(encoding="utf-8")
        message = {
            "op": "scenario",
            "key": wire.source_key(source),
            "source": source,
            "filename": path.name,
            "function": function.__qualname__,
        }
        return state.request(message, args, kwargs)

    run.__grading_scenario__ = True
    return run


class RemoteSession:
    """The pytest plugin that gives graded tests remote topics instead of imported modules."""

    def __init__(
        self,
        client: socket.socket | None = None,
        sources: dict[str, str] | None = None,
        limits: WorkerLimits | None = None,
    ):
        self.sources: dict[str, str] = {}
        self.topics: dict[str, TopicState] = {}
        self.worker: SubmissionWorker | None = None
        if client is not None:
            self.bind(client, sources or {}, limits or WorkerLimits())

    def bind(self, client: socket.socket, sources: dict[str, str], limits: WorkerLimits) -> None:
        """Grade ``sources`` through the fork server at the other end of ``client``.

        A template process (``grading.isolation``) collects the tests with an unbound session
        and binds it in each trusted process it forks, one per submission.
        """
        self.sources = sources
        self.worker = SubmissionWorker(client, replace(limits, topics=max(1, len(sources))))

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[REMOTE_KEY] = self

    def topic(self, name: str) -> RemoteTopic:
        """The remote topic ``name``.

        Raises:
            WorkerEnded: the submission has no such file, or it cannot be imported.
        """
        if name not in self.sources:
            raise WorkerEnded(f"no file {name}.py in the submission: nothing to grade for '{name}'")
        if name not in self.topics:
            assert self.worker is not None  # sources are only set by bind()
            self.topics[name] = TopicState(self.worker, name, self.sources[name])
        state = self.topics[name]
        state.ensure()
        return RemoteTopic(state)

    def pytest_sessionfinish(self) -> None:
        # The keeper ends the worker whether or not anyone waits for its account.
        if self.worker is not None:
            self.worker.abandon()
