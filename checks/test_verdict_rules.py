"""The verdicts follow from the stated rules, and chapter 1's ledger shows what the rules give.

The rules (``course.verdict_rules``) are checked on made-up inputs, one per rule; the computed
verdicts are compared with the statuses recorded in ``course/data/claims.yaml``; and, when the
site is built, with the verdict column of the ledger on the built chapter 1 page.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from checks.site import HTML
from course.claims import VERDICTS, claims
from course.facts import value
from course.verdict_rules import (
    RULES,
    TOLERANCE,
    Reading,
    RuleInputs,
    decide,
    findings,
    serving_day,
    verdicts,
    within,
)

AGREES = Reading("x", "1", "1", True, "equal")
DISAGREES = Reading("x", "2", "1", False, "2× the evidence")
NO_EVIDENCE = Reading("x", "1", "", None, "nothing to compare with")


@pytest.mark.parametrize(
    ("inputs", "rule"),
    [
        (RuleInputs("a", "none", "", NO_EVIDENCE, narrower=AGREES), "R1"),
        (RuleInputs("b", "market", "", DISAGREES), "R2"),
        (RuleInputs("c", "market", "", DISAGREES, narrower=NO_EVIDENCE), "R2"),
        (RuleInputs("d", "primary", "", DISAGREES, narrower=AGREES), "R3"),
        (RuleInputs("e", "primary", "", AGREES, omitted=("staff",)), "R4"),
        (RuleInputs("f", "primary", "", AGREES), "R5"),
    ],
)
def test_each_rule_fires_on_its_condition(inputs, rule):
    assert decide(inputs).rule.id == rule


def test_rules_give_every_verdict_once():
    assert sorted(r.verdict for r in RULES) == sorted(v for v in VERDICTS if v != "pending")


def test_tolerance_admits_two_significant_figures_and_no_more():
    # the worst rounding to two significant figures: 10.5 -> 11 (or 10), 4.8% off
    assert within(11.0, 10.5) and within(10.0, 10.5)
    assert not within(13.0, 17.0)  # the Nvidia fall: 13% claimed, 17% at the close
    assert within((20.0, 50.0), 19.5) and not within((20.0, 50.0), 18.0)
    assert TOLERANCE == 0.05


def test_computed_verdicts_match_the_recorded_statuses():
    recorded = {c.id: c.status for c in claims()}
    assert verdicts() == recorded, "course/data/claims.yaml records a verdict the rules do not give"


def test_every_claim_is_decided_by_a_rule():
    assert list(findings()) == [c.id for c in claims()]


def test_serving_statistics_reproduce_the_published_figures():
    day = serving_day()
    # nodes × 8 GPUs × 24 h × $2 is the published daily cost
    assert day["cost"] == pytest.approx(value("serving_cost_per_day"), abs=1.0)
    # every token at R1's list prices is the published theoretical revenue, to 0.1%
    assert day["r1_revenue"] == pytest.approx(value("serving_revenue_theoretical"), rel=1e-3)


@pytest.mark.skipif(not (HTML / "book" / "news.html").exists(), reason="run 'make book' first")
def test_built_ledger_shows_the_computed_verdicts():
    soup = BeautifulSoup((HTML / "book" / "news.html").read_text(encoding="utf-8"), "html.parser")
    shown = {}
    for link in soup.select("table a[href*='#verdict-']"):
        claim_id = link["href"].split("#verdict-")[-1]
        shown[claim_id] = link.get_text(strip=True)
    assert shown == verdicts(), (
        "chapter 1's ledger does not show the computed verdicts (stale build?)"
    )
