"""The small parts of isolated grading, each on its own (no grading process is started)."""

from __future__ import annotations

import signal
import zipfile

import pytest

from grading.autograde import progress_line
from grading.gradescope import gradebook_csv, results_json
from grading.isolation import Ending, Grade, Limits, TestRecord, Watch, blame, describe_ending
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
    assert [s.name for s in discover([tmp_path / "batch"])] == ["alice", "alice-2"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no submissions"):
        discover([tmp_path / "empty"])
    assert [s.name for s in discover([tmp_path / "empty"], single=True)] == ["empty"]
    assert [s.name for s in discover([tmp_path / "batch"], single=True)] == ["batch"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (-signal.SIGXCPU, "CPU-time limit of 120 s"),
        (-signal.SIGXFSZ, "64 MB file-size limit"),
        (-signal.SIGKILL, "killed (SIGKILL)"),
        (-signal.SIGSEGV, "segmentation fault"),
        (-signal.SIGTERM, "ended by SIGTERM"),
        (3, "exited with code 3"),
    ],
)
def test_endings_in_words(code, words):
    assert words in describe_ending(Ending(code), Limits())


def test_blame_the_import_in_progress_costs_the_topic():
    tests = {
        n: TestRecord(n, topic, "f", 1.0)
        for n, topic in [("a", "news"), ("b", "news"), ("c", "floats")]
    }
    watch = Watch()
    watch.add([{"event": "start", "nodeid": "a"}, {"event": "import_start", "topic": "news"}], 0)
    assert blame(watch, tests, "boom") == "while importing news.py"
    assert tests["a"].done and tests["b"].done and not tests["c"].done
    assert "boom" in tests["b"].message


def test_blame_the_running_test():
    tests = {n: TestRecord(n, "news", "f", 1.0) for n in ("a", "b")}
    watch = Watch()
    watch.add([{"event": "start", "nodeid": "a"}, {"event": "result", "nodeid": "a"}], 0)
    watch.add([{"event": "start", "nodeid": "b"}], 0)
    assert blame(watch, tests, "boom") == "during b"
    assert tests["b"].message == "boom" and not tests["a"].done


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
