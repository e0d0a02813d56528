"""Warm-up arithmetic for the news story: percentages, market value, shares and ratios.

Topic module ``news`` (chapter 1). Each function is one line of arithmetic; the point is to
say exactly what is divided by what, because the news numbers go wrong precisely there.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_news.py`.
"""

from __future__ import annotations

from collections.abc import Sequence


def percent_change(old: float, new: float) -> float:
    """Percent change from ``old`` to ``new``, relative to ``old``.

    Args:
        old: the earlier value (for example a closing price, USD per share).
        new: the later value, in the same unit.

    Returns:
        100 × (new − old) / old: negative for a fall, positive for a rise.
        Example: 100 → 83 is −17.0.
    """
    raise NotImplementedError


def implied_market_value(value_lost: float, percent: float) -> float:
    """Market value before a fall, implied by the dollars lost and the percent fallen.

    If a company worth V falls by p percent it loses V × |p| / 100, so V = 100 × lost / |p|.

    Args:
        value_lost: market value lost, in USD (positive).
        percent: the percent change of the share price, e.g. −13 for a 13% fall
            (its sign is ignored).

    Returns:
        The market value before the fall, in USD.
    """
    raise NotImplementedError


def active_share(active: float, total: float) -> float:
    """The fraction of a model's parameters that one token uses.

    Args:
        active: parameters activated per token.
        total: parameters stored.

    Returns:
        active / total, a fraction between 0 and 1 (not a percentage).
    """
    raise NotImplementedError


def training_cost(gpu_hours: Sequence[float], usd_per_gpu_hour: float) -> float:
    """Rental cost of a training run made of stages, in USD.

    Args:
        gpu_hours: GPU-hours of each stage (for example pre-training, context extension,
            post-training), in GPU-hours, not thousands of them.
        usd_per_gpu_hour: rental price of one GPU for one hour, in USD.

    Returns:
        The sum of the stages' GPU-hours times the price, in USD.
    """
    raise NotImplementedError


def times_cheaper(cheap_price: float, expensive_price: float) -> float:
    """How many times cheaper one price is than another (both in the same unit).

    Args:
        cheap_price: the lower price, e.g. USD per million tokens.
        expensive_price: the higher price, in the same unit.

    Returns:
        expensive_price / cheap_price: 2.0 means "half the price".
    """
    raise NotImplementedError
