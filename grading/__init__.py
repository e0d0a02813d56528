"""The course's grading tool: choose an implementation, run the graded tests, score them.

Graded test files (``tests/test_<topic>.py``) use three things from here:

- ``TOPIC`` and ``POINTS`` at module level name the topic and the points of each exercise;
- ``topic_fixture(TOPIC)`` gives the tests the learner's (or the solutions') module;
- ``check`` turns a wrong answer into a message with what was expected, what came back and a hint;
- ``scenario`` marks a helper that builds and runs the learner's objects and returns plain
  values (in isolated grading it runs next to the learner's code, the checks do not).

Each test carries ``@pytest.mark.exercise("<function name>")``. The pytest plugin
(``grading.plugin``) adds ``--impl exercises|solutions|PATH`` and prints the score table.
"""

from grading import check
from grading.loader import topic_fixture
from grading.remote import scenario

__all__ = ["check", "scenario", "topic_fixture"]
