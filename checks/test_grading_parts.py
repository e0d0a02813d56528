"""The small parts of isolated grading, each on its own (no grading process is started)."""

from __future__ import annotations

import json
import os
import signal
import zipfile

import pytest

from grading import wire
from grading.autograde import progress_line
from grading.gradescope import gradebook_csv, results_json
from grading.isolation import (
    FolderError,
    Grade,
    Job,
    Running,
    TestRecord,
    finish,
    parse_events,
    read_sources,
)
from grading.remote import WorkerLimits, describe_ending, raise_from_worker
from grading.submissions import (
    InputError,
    SubmissionError,
    discover,
    safe_member_path,
    topic_root,
    unpack_zip,
)


@pytest.mark.parametrize("name", ["../x.py", "a/../../x.py", "/etc/passwd", "C:/x.py", "..\\x.py"])
def test_zip_paths_outside_the_archive_are_refused(name):
    with pytest.raises(SubmissionError, match="outside the archive"):
        safe_member_path(name)


def test_zip_paths_inside_are_kept():
    assert safe_member_path("work/news.py").parts == ("work", "news.py")


def test_unpack_refuses_the_whole_zip_when_one_entry_escapes(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("news.py", "x = 1\n")
        bundle.writestr("../evil.py", "x = 1\n")
    with pytest.raises(SubmissionError):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "news.py").exists() and not (tmp_path / "evil.py").exists()


def test_unpack_a_file_that_is_not_a_zip(tmp_path):
    (tmp_path / "a.zip").write_text("hello")
    with pytest.raises(SubmissionError, match=r"not a readable \.zip"):
        unpack_zip(tmp_path / "a.zip", tmp_path / "out")


def test_topic_root_finds_a_wrapped_folder(tmp_path):
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "alice" / "hw").mkdir(parents=True)
    (tmp_path / "alice" / "hw" / "news.py").write_text("")
    assert topic_root(tmp_path, ["news"]) == tmp_path / "alice" / "hw"
    assert topic_root(tmp_path / "__MACOSX", ["news"]) == tmp_path / "__MACOSX"


def test_discover_single_batch_and_unique_names(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "news.py").write_text("")
    assert [s.name for s in discover([tmp_path / "one"])] == ["one"]
    (tmp_path / "batch" / "alice").mkdir(parents=True)
    (tmp_path / "batch" / "alice.zip").write_bytes(b"")
    (tmp_path / "batch" / "notes.txt").write_text("")
    # notes.txt is a submission too: it gets a zero report saying it is not a folder or zip
    assert [s.name for s in discover([tmp_path / "batch"])] == ["alice", "alice-2", "notes.txt"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no submissions"):
        discover([tmp_path / "empty"])
    assert [s.name for s in discover([tmp_path / "empty"], single=True)] == ["empty"]
    assert [s.name for s in discover([tmp_path / "batch"], single=True)] == ["batch"]


@pytest.mark.parametrize(
    ("ending", "words"),
    [
        ({"signal": signal.SIGXCPU}, "CPU-time limit of 120 s"),
        ({"signal": signal.SIGXFSZ}, "64 MB file-size limit"),
        ({"signal": signal.SIGKILL}, "killed (SIGKILL)"),
        ({"signal": signal.SIGKILL, "killed": True}, "stopped by the grader"),
        ({"signal": signal.SIGSEGV}, "segmentation fault"),
        ({"signal": signal.SIGTERM}, "ended by SIGTERM"),
        ({"exit": 3}, "exited with code 3"),
        ({"failed": "cannot isolate the worker: x"}, "cannot isolate"),
    ],
)
def test_endings_in_words(ending, words):
    assert words in describe_ending(ending, WorkerLimits())


def roundtrip(value):
    frame = wire.pack({"value": value})
    return wire.unpack(frame[wire.HEADER.size :])["value"]


def test_wire_keeps_types_shapes_and_bits():
    import numpy as np
    import torch

    from course.formats import FP16

    value = {
        1: (True, None, 2**70, -0.0, float("nan"), "x"),
        "a": [np.float32(1.5), np.int64(-3), np.arange(6, dtype=np.uint16).reshape(2, 3)],
        "t": torch.tensor([1.0, 2.0], dtype=torch.bfloat16),
        "f": FP16,
    }
    back = roundtrip(value)
    assert back[1][:4] == (True, None, 2**70, -0.0) and back[1][4] != back[1][4]
    assert type(back["a"][0]) is np.float32 and type(back["a"][1]) is np.int64
    assert back["a"][2].dtype == np.uint16 and back["a"][2].shape == (2, 3)
    assert back["t"].dtype == torch.bfloat16 and back["t"].tolist() == [1.0, 2.0]
    assert back["f"] == FP16


@pytest.mark.parametrize("first_read", [None, 4096])
def test_wire_sends_large_and_odd_arrays_over_a_socket_bit_for_bit(first_read, monkeypatch):
    """Arrays leave from their own memory and arrive in one read buffer: check the bytes that
    cross a real socket, for sizes above the socket's buffer and for unusual layouts (and with
    a small first read buffer, so that it grows while the frame arrives)."""
    import socket
    import threading

    import numpy as np
    import torch

    if first_read is not None:
        monkeypatch.setattr(wire, "FIRST_READ_BYTES", first_read)

    rng = np.random.default_rng(0)
    big = rng.standard_normal((700, 1100))  # 6 MB: several reads, sent from its own memory
    value = {
        "big": big,
        "strided": big[::3, ::7],  # not contiguous: made contiguous before it is sent
        "big_endian": np.arange(5, dtype=">i4"),
        "bool": rng.random(70_000) > 0.5,
        "empty": np.zeros((0, 3), dtype=np.float32),
        "scalar": np.float16(2.5),
        "zero_d": np.array(7, dtype=np.uint8),
        "bf16": torch.randn(300, 300).to(torch.bfloat16),
        "fp8": torch.randn(64).to(torch.float8_e4m3fn),
        "transposed": torch.arange(12.0).reshape(3, 4).T,
        "empty_tensor": torch.zeros(0, 2),
    }
    parts = wire.frame({"value": value})
    assert any(np.shares_memory(np.asarray(part), big) for part in parts[1:])  # not a copy
    left, right = socket.socketpair()
    sender = threading.Thread(target=wire.send, args=(left, parts))
    sender.start()
    back = wire.receive(right)["value"]
    sender.join()
    left.close()
    right.close()
    for key in ("big", "strided", "big_endian", "bool", "empty", "zero_d"):
        expected = value[key]
        assert back[key].dtype == expected.dtype and back[key].shape == expected.shape, key
        assert back[key].tobytes() == np.ascontiguousarray(expected).tobytes(), key
        assert back[key].flags.writeable and back[key].flags.owndata, key
    assert type(back["scalar"]) is np.float16 and back["scalar"] == np.float16(2.5)
    for key in ("bf16", "fp8", "transposed", "empty_tensor"):
        expected = value[key].contiguous()
        assert back[key].dtype == expected.dtype and back[key].shape == expected.shape, key
        assert back[key].is_contiguous() and back[key]._base is None, key
        assert torch.equal(back[key].view(torch.uint8), expected.view(torch.uint8)), key
    assert wire.pack({"value": value}) == b"".join(parts)


def test_wire_reports_a_frame_cut_short():
    """A peer that announces more than it sends, then goes, is a closed connection."""
    import socket

    left, right = socket.socketpair()
    left.sendall(wire.HEADER.pack(10 * 2**20) + b"x" * 1000)
    left.close()
    with pytest.raises(wire.Closed):
        wire.receive(right)
    right.close()


@pytest.mark.parametrize(
    "value",
    [
        [(0, "F", 1, 0.5, 1.0)] * 3,  # a list of plain tuples (sent without a call per item)
        [1, 2.5, None, True, "s", -(2**53)],
        [1.0, float("inf")],  # not plain: inf has its own form
        (2**53 + 1, 1),  # nor is an int of more than 53 bits
        [True, 1, 1.0],  # bools stay bools
        [[1, [2.0, (3, "x")]], {"k": (None,)}],
    ],
)
def test_wire_lists_of_plain_items_come_back_equal(value):
    back = roundtrip(value)
    assert back == value
    assert [type(x) for x in back] == [type(x) for x in value]


@pytest.mark.parametrize(
    "value",
    [object(), print, [1, {2}], __import__("numpy").array([object()]), wire.WireError("x")],
)
def test_wire_refuses_what_is_not_plain_data(value):
    with pytest.raises(wire.WireError):
        wire.pack({"value": value})


@pytest.mark.parametrize(
    "body",
    [
        {"ndarray": "|O", "shape": [1], "data": 0},
        {"ndarray": "<f8", "shape": [2], "data": 0},
        {"dataclass": "os:PathLike", "fields": {}},
        {"dataclass": "course.formats:get_format", "fields": {}},
        {"ref": 1, "type": "x"},
        {"float": "1e999999"},
        {"unknown": 1},
    ],
)
def test_wire_refuses_malformed_frames(body):
    import json
    import struct

    header = json.dumps({"body": body, "sizes": [8 * 3]}).encode()
    payload = struct.pack("!I", len(header)) + header + b"\0" * 24
    with pytest.raises(wire.WireError):
        wire.unpack(payload)


def test_a_finished_run_keeps_results_and_blames_the_running_test():
    running = Running(Job("alice", {}), pid=0, fd=-1, started=0.0)
    collected = [
        {"nodeid": n, "topic": "news", "exercise": "f", "points": 1, "extra": False}
        for n in ("a", "b", "c")
    ]
    events = [
        {"event": "collected", "tests": collected},
        {"event": "start", "nodeid": "a"},
        {"event": "result", "nodeid": "a", "passed": True, "message": ""},
        {"event": "start", "nodeid": "b"},
    ]
    parse_events(running, "\n".join(__import__("json").dumps(e) for e in events).encode() + b"\n")
    running.stopped_for = "reached the whole-submission time limit of 9 s"
    grade = finish(running, 9, None)
    by_id = {t.nodeid: t for t in grade.tests}
    assert by_id["a"].passed and not by_id["b"].passed and not by_id["c"].passed
    assert by_id["b"].message == running.stopped_for
    assert by_id["c"].message == f"not run: {running.stopped_for}"
    assert grade.problems == [running.stopped_for]


def test_reading_a_folder_refuses_links_and_keeps_topic_files(tmp_path):
    (tmp_path / "news.py").write_text("x = 1\n")
    (tmp_path / "other.txt").write_text("")
    sources, notes = read_sources(tmp_path, ["news", "fp8"])
    assert sources == {"news": "x = 1\n"} and notes == []
    (tmp_path / "link.py").symlink_to("/etc/hostname")
    with pytest.raises(FolderError, match="symbolic link"):
        read_sources(tmp_path, ["news"])


def sample_grade() -> Grade:
    return Grade(
        "alice",
        tests=[
            TestRecord("tests/test_news.py::t1", "news", "f", 2.0, done=True, passed=True),
            TestRecord("tests/test_news.py::t2", "news", "f", 2.0, done=True, message="wrong"),
            TestRecord(
                "extra_tests/test_x.py::t3", "news", "g", 1.0, extra=True, done=True, passed=True
            ),
        ],
        problems=["a note"],
        seconds=1.5,
    )


def test_results_json_has_gradescope_fields():
    data = results_json(sample_grade(), "hidden")
    assert data["score"] == 2 and data["execution_time"] == 1.5 and "a note" in data["output"]
    f, g = data["tests"]
    assert (f["score"], f["max_score"], f["status"], f["visibility"]) == (1, 2, "failed", "visible")
    assert "FAILED: t2\n  wrong" in f["output"] and "passed: t1" in f["output"]
    assert (g["status"], g["visibility"]) == ("passed", "hidden")


def test_gradebook_has_a_column_per_exercise_and_a_total():
    rows = gradebook_csv([sample_grade()]).splitlines()
    assert rows == ["submission,news.f,news.g,total,max_score,notes", "alice,1,1,2,3,a note"]


def test_progress_line():
    assert progress_line(5, 10, 30.0, width=10) == "[#####-----] 5/10  10.0/min  eta 0 min"


# --- the learner's report (make grade): table, what is left per chapter, the next exercise -----


def outcome(exercise, passed, *, topic="news", message="", ran=True, not_implemented=False):
    from grading.report import TestOutcome

    return TestOutcome(
        f"tests/test_{topic}.py::test_{exercise}_{len(message)}",
        topic,
        exercise,
        passed=passed,
        failed=ran and not passed,
        message=message,
        ran=ran,
        not_implemented=not_implemented,
    )


STUB = "not implemented yet: f() in exercises/news.py still raises NotImplementedError"
WRONG = "f(1.0)\n  expected: 2\n  received: 3\n  hint:     double it"


def test_points_print_with_at_most_two_decimals():
    from grading.report import fmt_points

    assert [fmt_points(x) for x in (2.0, 4 / 3, 0.5, 2 / 3, 0.0, 12.25)] == [
        "2", "1.33", "0.5", "0.67", "0", "12.25",
    ]  # fmt: skip


def test_tests_that_did_not_run_are_not_scored_as_failed():
    from grading.report import format_table, score

    outcomes = [
        outcome("percent_change", True),
        outcome("percent_change", False, message=WRONG),
        outcome("percent_change", False, ran=False),  # -x stopped the run before it
        outcome("implied_market_value", False, ran=False),
    ]
    scores = score(outcomes, {"news": {"percent_change": 2, "implied_market_value": 3}})
    assert scores[0].points == 1 and scores[0].counted_max == 2 and scores[1].counted_max == 0
    table = format_table(scores, "exercises/")
    assert "1/2" in table and "not run" in table and "TOTAL" in table
    assert "1 / 2  (50%)" in table and "2 tests did not run" in table


def test_learner_report_table_first_then_chapters_then_next_exercise():
    from grading.__main__ import learner_report
    from grading.report import score, to_dict

    outcomes = [
        outcome("percent_change", True),
        outcome("percent_change", True, message="x"),
        outcome("percent_change", False, message=WRONG),
        outcome("implied_market_value", False, message=STUB, not_implemented=True),
        outcome("active_share", False, message=STUB, not_implemented=True),
        outcome("decode", False, topic="floats", message=STUB, not_implemented=True),
    ]
    points = {"news": {"percent_change": 2, "implied_market_value": 3, "active_share": 1}}
    points["floats"] = {"decode": 4}
    text = learner_report(to_dict(score(outcomes, points), "exercises/"))
    lines = text.splitlines()
    assert lines[0] == "Score of exercises/" and "1.33 / 2" in text
    chapter_1 = lines.index("Chapter 1: The news story: the claims ledger")
    chapter_2 = lines.index("Chapter 2: Numbers in bits: FP32, FP16, BF16")
    assert lines.index(next(x for x in lines if x.startswith("  TOTAL"))) < chapter_1 < chapter_2
    news = "\n".join(lines[chapter_1:chapter_2])
    assert "not started (2 exercises): implied_market_value, active_share" in news
    assert "percent_change: 1 of 3 tests fail" in news and "hint:     double it" in news
    assert "not started (1 exercise): decode" in "\n".join(lines[chapter_2:])
    assert lines[-2].startswith("Next: percent_change() in exercises/news.py")
    assert lines[-1].strip() == ".venv/bin/pytest tests/test_news.py -k percent_change"


def test_grade_command_on_a_half_done_topic_with_k(tmp_path):
    import subprocess
    import sys

    from grading.loader import ROOT

    source = (ROOT / "solutions" / "news.py").read_text()
    head, tail = source.split("def active_share", 1)
    body_end = tail.index('"""', tail.index('"""') + 3) + 3
    rest = tail[body_end:]
    following = rest.index("\ndef ")
    broken = head + "def active_share" + tail[:body_end] + "\n    raise NotImplementedError\n"
    (tmp_path / "news.py").write_text(broken + rest[following:])
    done = subprocess.run(
        [sys.executable, "-m", "grading", "--impl", str(tmp_path), "news", "-k", "active_share or percent_change"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("Score of "), "the score table comes first"
    assert "training_cost" not in out and "implied" not in out, (
        "deselected exercises are neither shown nor scored"
    )
    assert "not started (1 exercise): active_share" in out and "(67%)" in out
    assert "Next: active_share()" in out


def test_grade_command_says_once_why_a_topic_file_cannot_be_used(tmp_path):
    import subprocess
    import sys

    from grading.loader import ROOT

    (tmp_path / "news.py").write_text("def percent_change(:\n")
    done = subprocess.run(
        [sys.executable, "-m", "grading", "--impl", str(tmp_path), "news"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("Score of "), "the score table comes first"
    reasons = [line for line in out.splitlines() if "cannot be used" in line]
    assert len(reasons) == 1 and "syntax" in reasons[0].lower(), out
    assert "tests fail; the first one says" not in out, "one reason, not one per exercise"
    assert not (ROOT / ".pytest_cache").exists(), "the grader reads pyproject.toml's options"


def test_a_workers_cpu_limit_grows_with_each_topic_file_it_loads():
    """One worker holds every topic file of a submission: ``cpu_s`` seconds for each."""
    import resource

    from grading.worker import Worker, apply_limits

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the limits must not reach this test process
        soft = []
        try:
            apply_limits({"cpu_s": 5, "topics": 3})
            soft.append(resource.getrlimit(resource.RLIMIT_CPU))
            worker = Worker(cpu_s=5)
            for topic in ("a", "b", "broken", "c"):
                worker.load(topic, "x = 1" if topic != "broken" else "1/0", f"{topic}.py")
                soft.append(resource.getrlimit(resource.RLIMIT_CPU))
        finally:
            os.write(write, json.dumps(soft).encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        limits = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert limits == [[5, 16], [5, 16], [10, 16], [10, 16], [15, 16]]


def test_a_topic_function_that_changes_its_arguments_fails_in_a_learners_run_too():
    import types

    import numpy as np
    import torch

    from grading.arguments import ChangedInPlace, CheckedTopic

    module = types.ModuleType("topic")
    exec(
        "LIMIT = 3\n"
        "def scale(x, factor=2.0):\n    return x * factor\n"
        "def scale_in_place(x, y=None):\n    x *= 2\n    return x\n"
        "def zero_keyword(x, *, out):\n    out.zero_()\n    return x\n",
        module.__dict__,
    )
    topic = CheckedTopic(module)
    x = np.arange(3.0)
    assert topic.LIMIT == 3 and topic.scale(x).tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(ChangedInPlace, match=r"scale_in_place\(\) changed its argument 1 in"):
        topic.scale_in_place(np.arange(3.0))
    with pytest.raises(ChangedInPlace, match="argument 'out' in place"):
        topic.zero_keyword(1, out=torch.ones(2))


def test_every_draw_from_numpys_global_generator_reaches_the_other_side():
    """A call that draws a few numbers (no new MT19937 key) still sends the state back, and the
    grader sends its own draws before the next call, so both sides read one sequence."""
    import types

    import numpy as np

    from grading import randomstate
    from grading.remote import apply_incoming_state, outgoing_state
    from grading.worker import call_state

    saved = np.random.get_state()
    try:
        np.random.seed(0)
        np.random.random_sample(1)  # the first draw after seeding makes a new key; later ones not
        before = randomstate.fingerprint()
        with call_state({}) as state:
            np.random.random_sample(3)
        moved = state.changed()
        assert "numpy_rng" in moved and randomstate.fingerprint() != before
        connection = types.SimpleNamespace(synced={})
        np.random.set_state(saved)
        apply_incoming_state(connection, moved)  # the grader takes over the worker's position
        assert randomstate.fingerprint() != before
        assert "numpy_rng" not in outgoing_state(connection), "nothing moved since"
        np.random.random_sample(1)
        sent = outgoing_state(connection)["numpy_rng"]
        np.random.seed(0)
        np.random.random_sample(5)
        assert (
            np.array_equal(sent[1], np.random.get_state()[1])
            and sent[2] == np.random.get_state()[2]
        )
    finally:
        np.random.set_state(saved)


def test_the_fork_server_executes_the_scenario_test_files_once(tmp_path, monkeypatch):
    """The server's copy of the code holds the test files that define scenarios (and no
    other); executed there, a worker answers a scenario request naming one by its key only."""
    from grading import worker
    from grading.loader import ROOT
    from grading.sandbox import copy_server_code

    copy_server_code(ROOT, tmp_path)
    folder = tmp_path / worker.SCENARIO_FOLDER
    copied = sorted(p.name for p in folder.iterdir())
    expected = sorted(
        p.name for p in (ROOT / "tests").glob("test_*.py") if "@scenario" in p.read_text()
    )
    assert copied == expected and "test_balance.py" in copied and "test_news.py" not in copied
    monkeypatch.setattr(worker, "PRELOADED_SCENARIOS", {})
    worker.preload_scenarios(str(folder))
    key = wire.source_key((folder / "test_balance.py").read_text(encoding="utf-8"))
    assert key in worker.PRELOADED_SCENARIOS
    fresh = worker.Worker()
    assert fresh.scenario({"key": key, "function": "train_small"}).__name__ == "train_small"


def test_an_error_from_the_learners_code_names_its_file_and_line():
    raised = {"type": "TypeError", "message": "bad operand", "line": 208, "builtin": True}
    with pytest.raises(TypeError, match="bad operand") as error:
        raise_from_worker(raised, WorkerLimits(), "balance.py")
    assert error.value.__notes__ == ["raised in balance.py line 208"]


def test_the_fork_servers_warm_up_leaves_torchs_random_state_as_it_was():
    import torch

    from grading.worker import warm_training

    before = torch.get_rng_state()
    warm_training()
    assert torch.equal(torch.get_rng_state(), before)
