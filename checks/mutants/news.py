"""Plausible wrong answers to the ``news`` exercises (see checks/mutants/__init__.py)."""

from checks.mutants import Mutant

MUTANTS = [
    Mutant("news", "percent_change", "a fraction, not a percentage",
           "def percent_change(old, new):\n    return (new - old) / old\n"),
    Mutant("news", "percent_change", "relative to the new value",
           "def percent_change(old, new):\n    return 100 * (new - old) / new\n"),
    Mutant("news", "percent_change", "sign reversed",
           "def percent_change(old, new):\n    return 100 * (old - new) / old\n"),
    Mutant("news", "implied_market_value", "percent used as a fraction",
           "def implied_market_value(value_lost, percent):\n    return value_lost / abs(percent)\n"),
    Mutant("news", "implied_market_value", "sign of the percent kept",
           "def implied_market_value(value_lost, percent):\n    return -100 * value_lost / percent\n"),
    Mutant("news", "implied_market_value", "loss multiplied, not divided",
           "def implied_market_value(value_lost, percent):\n    return value_lost * abs(percent) / 100\n"),
    Mutant("news", "active_share", "a percentage, not a fraction",
           "def active_share(active, total):\n    return 100 * active / total\n"),
    Mutant("news", "active_share", "inverted",
           "def active_share(active, total):\n    return total / active\n"),
    Mutant("news", "training_cost", "pre-training only",
           "def training_cost(gpu_hours, usd_per_gpu_hour):\n    return gpu_hours[0] * usd_per_gpu_hour\n"),
    Mutant("news", "training_cost", "GPU-hours read as thousands",
           "def training_cost(gpu_hours, usd_per_gpu_hour):\n"
           "    return sum(gpu_hours) * usd_per_gpu_hour / 1000\n"),
    Mutant("news", "times_cheaper", "inverted",
           "def times_cheaper(cheap_price, expensive_price):\n    return cheap_price / expensive_price\n"),
    Mutant("news", "times_cheaper", "a difference, not a ratio",
           "def times_cheaper(cheap_price, expensive_price):\n    return expensive_price - cheap_price\n"),
]  # fmt: skip
