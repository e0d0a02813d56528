"""The grading contract, checked on the course itself (see DESIGN.md, "The grading contract").

- exercises/ and solutions/ expose the same public names, signatures and docstrings;
- solutions/ never raises (or mentions) NotImplementedError;
- a docstring is a contract (takes, returns, guarantees), not numbered steps of an algorithm;
- every public function of a topic is an exercise with points and at least one test;
- every graded test fails on the untouched stubs, for the right reason, and passes on solutions/.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from types import ModuleType

import pytest

from checks.runner import ROOT, graded_topics, run_graded
from grading.loader import load_topic

TOPICS = graded_topics()


def public_api(module: ModuleType) -> dict[str, tuple[str, str]]:
    """Name → (signature, docstring) of the functions and classes a topic module defines."""
    api = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            api[name] = (str(inspect.signature(obj)), inspect.getdoc(obj) or "")
        if inspect.isclass(obj):
            for method, member in vars(obj).items():
                if inspect.isfunction(member) and not (
                    method.startswith("_") and method != "__init__"
                ):
                    api[f"{name}.{method}"] = (
                        str(inspect.signature(member)),
                        inspect.getdoc(member) or "",
                    )
    return api


def graded_test_module(topic: str) -> ModuleType:
    path = ROOT / "tests" / f"test_{topic}.py"
    spec = importlib.util.spec_from_file_location(f"_contract_test_{topic}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_graded_topics():
    assert TOPICS, "no graded test files found in tests/"


@pytest.mark.parametrize("topic", TOPICS)
def test_exercises_and_solutions_share_one_api(topic):
    stubs = public_api(load_topic(ROOT / "exercises", topic))
    answers = public_api(load_topic(ROOT / "solutions", topic))
    assert sorted(stubs) == sorted(answers), f"{topic}: public names differ"
    for name in answers:
        assert stubs[name][0] == answers[name][0], f"{topic}.{name}: signatures differ"
        assert stubs[name][1] == answers[name][1], f"{topic}.{name}: docstrings differ"
        assert answers[name][1], f"{topic}.{name} has no docstring"


@pytest.mark.parametrize("topic", TOPICS)
def test_solutions_never_mention_not_implemented(topic):
    """A solution is finished: no ``NotImplementedError``, not even the stubs' header text."""
    source = (ROOT / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
    lines = [n for n, line in enumerate(source.splitlines(), 1) if "NotImplementedError" in line]
    assert not lines, f"solutions/{topic}.py mentions NotImplementedError on lines {lines}"


# A numbered step ("1. ...", "2) ...") or a "Steps:" heading at the start of a docstring line.
STEPS = re.compile(r"^\s*(\d+[.)]\s|Steps?:)", re.MULTILINE)


@pytest.mark.parametrize("topic", TOPICS)
def test_docstrings_state_contracts_not_steps(topic):
    api = public_api(load_topic(ROOT / "solutions", topic))
    stepwise = sorted(name for name, (_, doc) in api.items() if STEPS.search(doc))
    assert not stepwise, (
        f"{topic}: {stepwise}: say what the function takes, returns and guarantees; move the "
        "steps into the chapter's exercise text or its Hints dropdown"
    )


@pytest.mark.parametrize("topic", TOPICS)
def test_every_exercise_has_points_and_tests(topic):
    tests = graded_test_module(topic)
    assert topic == tests.TOPIC
    functions = {
        name for name in public_api(load_topic(ROOT / "solutions", topic)) if "." not in name
    }
    assert set(tests.POINTS) == functions, (
        f"{topic}: POINTS {sorted(tests.POINTS)} should name every public function {sorted(functions)}"
    )
    assert all(points > 0 for points in tests.POINTS.values())
    covered = {
        mark.args[0]
        for name, obj in vars(tests).items()
        if name.startswith("test_")
        for mark in getattr(obj, "pytestmark", [])
        if mark.name == "exercise"
    }
    assert covered == set(tests.POINTS), (
        f"{topic}: exercises without tests: {set(tests.POINTS) - covered}"
    )


@pytest.fixture(scope="module")
def stub_run():
    return run_graded("exercises")


@pytest.fixture(scope="module")
def solution_run():
    return run_graded("solutions")


def test_every_graded_test_fails_on_the_untouched_stubs(stub_run):
    assert stub_run.scores, stub_run.output[-2000:]
    passed = [t["nodeid"] for t in stub_run.scores["tests"] if t["passed"]]
    assert not passed, (
        f"these graded tests pass on the exercise stubs (if you edited exercises/, the self-check "
        f"needs the untouched stubs: git stash): {passed}"
    )
    wrong_reason = [
        t["nodeid"] for t in stub_run.scores["tests"] if "not implemented yet" not in t["message"]
    ]
    assert not wrong_reason, (
        f"these tests fail on the stubs for another reason than the stub: {wrong_reason}"
    )
    assert stub_run.scores["score"] == 0


def test_every_graded_test_passes_on_the_solutions(solution_run):
    assert solution_run.scores, solution_run.output[-2000:]
    failed = [(t["nodeid"], t["message"]) for t in solution_run.scores["tests"] if not t["passed"]]
    assert not failed, f"graded tests that fail on solutions/: {failed}"
    assert solution_run.code == 0
    assert solution_run.scores["score"] == solution_run.scores["max_score"] > 0


def test_both_runs_graded_the_same_tests(stub_run, solution_run):
    ids = {t["nodeid"] for t in stub_run.scores["tests"]}
    assert ids == {t["nodeid"] for t in solution_run.scores["tests"]}
    assert {t["topic"] for t in stub_run.scores["tests"]} == set(TOPICS)


SPREAD_TOPICS = ("news", "floats")


@pytest.mark.parametrize("impl", ["exercises", "solutions"])
def test_scores_are_the_same_when_pytest_xdist_spreads_the_tests(impl, stub_run, solution_run):
    """``make test`` runs pytest over two processes: its score table and JSON must not change."""
    whole = {"exercises": stub_run, "solutions": solution_run}[impl].scores
    targets = [f"tests/test_{topic}.py" for topic in SPREAD_TOPICS]
    spread = run_graded(impl, *targets, extra=("-n", "2", "--dist", "load")).scores
    assert spread, "no scores from a run with pytest-xdist"

    def mine(rows: list[dict]) -> list[dict]:
        return [r for r in rows if r["topic"] in SPREAD_TOPICS]

    def by_test(rows: list[dict]) -> dict[str, tuple]:
        return {r["nodeid"]: (r["exercise"], r["passed"], r["message"]) for r in mine(rows)}

    assert by_test(spread["tests"]) == by_test(whole["tests"])
    assert spread["exercises"] == mine(whole["exercises"])
    assert spread["max_score"] == sum(r["max_score"] for r in mine(whole["exercises"])) > 0
