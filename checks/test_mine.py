"""``make mine`` in pieces: the implementation chooser, the one-line boxes, the banner.

The whole ``make mine`` build takes minutes, so it is not run here; these checks cover what it
is made of. One chapter is executed with the untouched stubs and once with a broken topic file,
as ``make mine`` executes it: no traceback, a short box per failed cell, and the kernel goes on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

from course import impl

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if "impl.load(" in p.read_text())


@pytest.fixture
def learner(monkeypatch):
    """Run ``course.impl`` as ``make mine`` does, with a given implementation."""

    def choose(spec: str) -> None:
        monkeypatch.setattr(impl, "_choice", None)
        monkeypatch.setenv(impl.ENV, spec)

    return choose


def test_every_chapter_gets_its_topics_through_the_chooser():
    assert len(CHAPTERS) >= 10
    for page in (ROOT / "book").glob("*.md"):
        assert not re.search(r"^\s*(from|import) solutions\b", page.read_text(), re.M), (
            f"{page.name} imports solutions/ directly: use impl.load(topic)"
        )


def test_the_reference_is_the_default(monkeypatch):
    monkeypatch.delenv(impl.ENV, raising=False)
    monkeypatch.setattr(impl, "_choice", None)
    import solutions.news

    assert impl.load("news") is solutions.news


def test_a_stub_says_which_exercise_is_missing(learner):
    learner("exercises")
    news = impl.load("news")
    assert Path(news.__file__).parent == ROOT / "exercises"
    with pytest.raises(NotImplementedError) as error:
        news.percent_change(100.0, 83.0)
    assert impl.friendly_message(error.value) == (
        "Not implemented yet: `news.percent_change` (exercise 1.1). This cell needs it."
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def percent_change(old, new)\n    return 0\n", "news.py line 1: syntax error"),
        ("raise RuntimeError('boom')\n", "news.py raised RuntimeError while being imported"),
        ("while True:\n    pass\n", "news.py did not finish importing within the time limit"),
    ],
    ids=["syntax-error", "raises", "loops"],
)
def test_a_broken_topic_file_gives_its_one_line_reason(
    learner, monkeypatch, tmp_path, source, reason
):
    monkeypatch.setattr(impl, "IMPORT_SECONDS", 1)
    (tmp_path / "news.py").write_text(source)
    learner(str(tmp_path))
    news = impl.load("news")
    with pytest.raises(impl.TopicUnavailable) as error:
        news.percent_change(100.0, 83.0)
    message = impl.friendly_message(error.value)
    assert reason in message and "\n" not in message, message


def test_a_wrong_answer_is_reported_where_it_failed(learner, tmp_path):
    (tmp_path / "news.py").write_text("def percent_change(old, new):\n    return old / 0\n")
    learner(str(tmp_path))
    news = impl.load("news")
    with pytest.raises(ZeroDivisionError) as error:
        news.percent_change(100.0, 83.0)
    message = impl.friendly_message(error.value)
    assert "inside `news.percent_change` (exercise 1.1), line 2 of news.py" in message
    assert "ZeroDivisionError" in message


def test_the_banner_counts_exercises_whose_tests_all_pass():
    scores = {
        "exercises": [
            {"topic": "fp8", "exercise": "decode", "passed": 3, "tests": 3},
            {"topic": "fp8", "exercise": "encode", "passed": 1, "tests": 4},
            {"topic": "news", "exercise": "percent_change", "passed": 0, "tests": 2},
        ],
        "tests": [
            {"topic": "news", "message": "cannot grade 'news': news.py line 3: syntax error"}
        ],
    }
    html = impl.banner_html("exercises/", ["fp8", "news"], scores)
    assert "<strong>exercises/</strong>" in html
    assert "<code>fp8</code>: 1 of 2 exercises done" in html
    assert (
        "<code>news</code>: 0 of 1 exercises done (cannot grade &#x27;news&#x27;: news.py line 3"
        in html
    )
    assert "scores unavailable" in impl.banner_html("exercises/", ["fp8"], None)
    assert "runs the chapters with <strong>solutions/</strong> (the reference solutions)" in (
        impl.banner_html("solutions/", [], None)
    )
    assert impl.topics_of_page(
        'a = impl.load("cost")\nb = impl.load("news")\nimpl.load("cost")'
    ) == [
        "cost",
        "news",
    ]


def run_chapter(page: str, spec: str, monkeypatch) -> list[dict]:
    """Execute ``book/<page>.md`` as ``make mine`` does; return its code cells' outputs."""
    monkeypatch.setenv(impl.ENV, spec)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = jupytext.read(ROOT / "book" / f"{page}.md")
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(ROOT / "book")}},
    ).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def boxes(cells) -> list[str]:
    return [
        out["data"]["text/plain"]
        for cell in cells
        for out in cell.outputs
        if "course-impl-note" in str(out.get("data", {}).get("text/html", ""))
    ]


@pytest.mark.timeout(300)
def test_a_chapter_runs_to_the_end_with_the_stubs(monkeypatch):
    cells = run_chapter("news", "exercises", monkeypatch)
    assert all(cell.execution_count for cell in cells), "the kernel stopped before the end"
    assert not [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    found = boxes(cells)
    for number, name in enumerate(["percent_change", "implied_market_value"], start=1):
        expected = f"Not implemented yet: `news.{name}` (exercise 1.{number}). This cell needs it."
        assert expected in found, found
    # the claims ledger does not need the learner's code: it is drawn as usual
    assert any("text/markdown" in out.get("data", {}) for cell in cells for out in cell.outputs)


@pytest.mark.timeout(300)
def test_a_chapter_with_a_broken_topic_file_says_why(monkeypatch, tmp_path):
    (tmp_path / "news.py").write_text("def percent_change(old, new)\n")
    cells = run_chapter("news", str(tmp_path), monkeypatch)
    assert all(cell.execution_count for cell in cells)
    found = boxes(cells)
    assert found and all("news.py line 1: syntax error" in b or "Skipped" in b for b in found)
    assert "Skipped: cannot use your news.py: news.py line 1: syntax error" in found[0]


@pytest.mark.timeout(120)
def test_make_lab_serves_the_chapters_as_notebooks(tmp_path):
    """What ``make lab`` starts: JupyterLab with the chapters' MyST sources open as notebooks."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "course-check"
    command = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.app_settings_dir={ROOT / 'binder' / 'lab'}",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), impl.ENV: "exercises"}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def get(path: str) -> bytes:
        url = f"http://127.0.0.1:{port}{path}{'&' if '?' in path else '?'}token={token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read()

    try:
        for _ in range(120):
            try:
                get("/api/status")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        assert b"JupyterLab" in get("/lab")
        listing = json.loads(get("/api/contents/book"))
        kinds = {item["name"]: item["type"] for item in listing["content"]}
        assert kinds["news.md"] == "notebook", kinds
        chapter = json.loads(get("/api/contents/book/fp8.md?type=notebook"))
        assert any('impl.load("fp8")' in c["source"] for c in chapter["content"]["cells"])
        settings = json.loads(get("/lab/api/settings/@jupyterlab/docmanager-extension:plugin"))
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers.get("markdown") == "Jupytext Notebook", viewers
    finally:
        server.terminate()
        server.wait(timeout=30)
