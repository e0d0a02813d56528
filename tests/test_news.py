"""Graded tests for chapter 1, "The news story" (topic ``news``).

Expected values are worked by hand in the comments; none is computed by the solution.
"""

import numpy as np
import pytest

from grading import check, topic_fixture

TOPIC = "news"
POINTS = {
    "percent_change": 2,
    "implied_market_value": 3,
    "active_share": 1,
    "training_cost": 2,
    "times_cheaper": 2,
}
news = topic_fixture(TOPIC)


@pytest.mark.exercise("percent_change")
def test_percent_change_fall_is_negative_percent(news):
    # 100 → 83: fell by 17 of 100, so −17 percent (not −0.17, and not relative to 83: −20.5).
    check.close(
        news.percent_change(100.0, 83.0),
        -17.0,
        what="percent_change(100.0, 83.0)",
        hint="100 × (new − old) / old: a percentage, negative for a fall, relative to the old value",
    )


@pytest.mark.exercise("percent_change")
def test_percent_change_rise_is_positive(news):
    # 50 → 75: up 25 on a base of 50, +50 percent (relative to 75 it would be +33.3).
    check.close(
        news.percent_change(50.0, 75.0),
        50.0,
        what="percent_change(50.0, 75.0)",
        hint="divide by the old value, and keep the sign: a rise is positive",
    )


@pytest.mark.exercise("percent_change")
def test_percent_change_nvidia_close(news):
    # Nvidia closed at 142.62 then 118.42 USD: a fall of 24.20, and 24.20 / 142.62 = 0.1696817.
    check.close(
        news.percent_change(142.62, 118.42),
        -16.9681672,
        rel=1e-7,
        what="percent_change(142.62, 118.42)",
        hint="the close-to-close fall is about −17%, not the article's −13%",
    )


@pytest.mark.exercise("implied_market_value")
def test_implied_market_value_article_figures(news):
    # $465B lost in a 13% fall: 465e9 / 0.13 = 3.5769e12 (about $3.58 trillion).
    check.close(
        news.implied_market_value(465e9, -13.0),
        3.576923077e12,
        rel=1e-9,
        what="implied_market_value(465e9, -13.0)",
        hint="V × 13 / 100 = 465e9, so V = 100 × 465e9 / 13; percent is in percent, not a fraction",
    )


@pytest.mark.exercise("implied_market_value")
def test_implied_market_value_sign_of_percent_is_ignored(news):
    # A 25% fall that cost 50 means the company was worth 200, whichever sign the percent has.
    for percent in (-25.0, 25.0):
        check.close(
            news.implied_market_value(50.0, percent),
            200.0,
            what=f"implied_market_value(50.0, {percent})",
            hint="use the size of the percent change; a market value is positive",
        )


@pytest.mark.exercise("implied_market_value")
def test_implied_market_value_small_fall(news):
    # 1% of 1,000 is 10: losing 10 in a 1% fall implies a value of 1,000.
    check.close(
        news.implied_market_value(10.0, -1.0),
        1000.0,
        what="implied_market_value(10.0, -1.0)",
        hint="value lost = V × |percent| / 100",
    )


@pytest.mark.exercise("active_share")
def test_active_share_is_a_fraction(news):
    # One quarter of the parameters: 0.25 (not 25, and not 4).
    check.close(
        news.active_share(1.0, 4.0),
        0.25,
        what="active_share(1.0, 4.0)",
        hint="active / total, as a fraction between 0 and 1",
    )


@pytest.mark.exercise("active_share")
def test_active_share_deepseek_v3(news):
    # 37 / 671 = 0.0551416 (5.5% of the parameters per token).
    check.close(
        news.active_share(37e9, 671e9),
        0.0551416,
        rel=1e-5,
        what="active_share(37e9, 671e9)",
        hint="active parameters divided by total parameters",
    )


@pytest.mark.exercise("training_cost")
def test_training_cost_sums_every_stage(news):
    # DeepSeek-V3 Table 1: 2,664K + 119K + 5K = 2,788K GPU-hours; × $2 = $5,576,000.
    check.close(
        news.training_cost([2664e3, 119e3, 5e3], 2.0),
        5.576e6,
        what="training_cost([2664e3, 119e3, 5e3], 2.0)",
        hint="add the GPU-hours of every stage (not pre-training alone), then multiply by the price",
    )


@pytest.mark.exercise("training_cost")
def test_training_cost_accepts_arrays_and_one_stage(news):
    # 10 GPU-hours at $3 is $30; 1.5 + 2.5 = 4 GPU-hours at $2.5 is $10.
    check.close(news.training_cost([10.0], 3.0), 30.0, what="training_cost([10.0], 3.0)")
    check.close(
        news.training_cost(np.array([1.5, 2.5]), 2.5),
        10.0,
        what="training_cost(np.array([1.5, 2.5]), 2.5)",
        hint="any sequence of numbers should work, a numpy array included",
    )


@pytest.mark.exercise("training_cost")
def test_training_cost_of_nothing_is_zero(news):
    check.close(
        news.training_cost([], 2.0),
        0.0,
        what="training_cost([], 2.0)",
        hint="no stages cost nothing",
    )


@pytest.mark.exercise("times_cheaper")
def test_times_cheaper_is_expensive_over_cheap(news):
    # o1 $60 vs R1 $2.19 per million output tokens: 60 / 2.19 = 27.397.
    check.close(
        news.times_cheaper(2.19, 60.0),
        27.3972603,
        rel=1e-8,
        what="times_cheaper(2.19, 60.0)",
        hint="expensive / cheap: a number above 1 (not 2.19 / 60 = 0.0365)",
    )


@pytest.mark.exercise("times_cheaper")
def test_times_cheaper_simple_cases(news):
    # Half the price is 2× cheaper; the same price is 1×.
    check.close(news.times_cheaper(5.0, 10.0), 2.0, what="times_cheaper(5.0, 10.0)")
    check.close(news.times_cheaper(3.0, 3.0), 1.0, what="times_cheaper(3.0, 3.0)")
