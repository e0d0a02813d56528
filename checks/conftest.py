"""How ``make test`` shares the instructor suite between two processes (pytest-xdist,
``-n 2 --dist loadscope``).

Much of the suite waits rather than computes: grading checks sit out time limits, the browser
renders pages. Two processes overlap those waits. Each test file runs whole in one process
(its module fixtures, such as the browser or the graded mutants, are built once), except the
files in ``SPREAD``, whose tests are independent and are handed out one at a time. The longest
files start first, so that neither process is left with a long file at the end.
"""

from __future__ import annotations

import pytest

SPREAD = ("checks/test_batch.py", "checks/test_bad_input.py")  # independent tests, one by one
LONGEST_FIRST = ("checks/test_site.py", "checks/test_mutants.py", *SPREAD)


def test_file(nodeid: str) -> str:
    """The test file of a test, relative to the repository (``checks/test_site.py``)."""
    return nodeid.split("::", 1)[0]


def start_rank(item: pytest.Item) -> int:
    """Where the item's file starts: the longest files first, the others in their order."""
    name = test_file(item.nodeid)
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the order it reports is the plan
        items.sort(key=start_rank)  # stable: each file's tests keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadscope``, with a unit of work per test file (per test in ``SPREAD``),
    handed out in the collection order above."""
    if config.option.dist != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            name = test_file(nodeid)
            return nodeid if name in SPREAD else name

    config.option.loadscopereorder = False  # keep the order: not the largest files first
    return FileScheduling(config, log)
