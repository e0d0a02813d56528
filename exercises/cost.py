"""Training-cost arithmetic: FLOPs, GPU-hours, utilization, days and dollars.

Topic module ``cost`` (chapter 9). The chain is

    FLOPs = 6 · N_active · D          (+ attention, per token)
    GPU-seconds = FLOPs / (peak FLOP/s × utilization)
    GPU-hours = GPU-seconds / 3,600
    dollars = GPU-hours × price per GPU-hour

Peaks are given in TFLOP/s (10¹² FLOP/s) because that is how datasheets print them; every
function converts to FLOP/s and to hours itself, so a caller never multiplies by 10¹² or 3,600.
Utilization is a fraction between 0 and 1, never a percentage.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_cost.py`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SECONDS_PER_HOUR = 3600.0
FLOPS_PER_TFLOPS = 1e12
HOURS_PER_DAY = 24.0
TRAINING_FLOPS_PER_PARAM_TOKEN = 6.0  # 2 forward (multiply + add) + 4 backward [Kaplan]


def training_flops(
    active_params: float, tokens: float, attention_flops_per_token: float = 0.0
) -> float:
    """Floating-point operations to train a model on ``tokens`` tokens.

    Each parameter a token uses costs 2 FLOPs in the forward pass (a multiply and an add) and
    4 in the backward pass (gradients for the activations and for the weights): 6 in all.

    Args:
        active_params: parameters used per token (for a Mixture-of-Experts model, the
            activated ones, not the total stored).
        tokens: training tokens.
        attention_flops_per_token: training FLOPs per token that the parameter count misses
            (attention scores and their weighted sums, forward and backward); 0 to ignore them.

    Returns:
        tokens × (6 × active_params + attention_flops_per_token), in FLOPs.
    """
    raise NotImplementedError


def gpu_hours(flops: ArrayLike, peak_tflops: ArrayLike, utilization: ArrayLike) -> ArrayLike:
    """GPU-hours needed to perform ``flops`` on GPUs running at a fraction of their peak.

    Args:
        flops: the work, in FLOPs (a float or a numpy array).
        peak_tflops: one GPU's peak throughput in TFLOP/s (10¹² FLOP/s), e.g. 989 for dense
            BF16 on an H100.
        utilization: the fraction of the peak actually achieved, between 0 and 1 (model-FLOPs
            utilization, "MFU").

    Returns:
        flops / (peak_tflops × 10¹² × utilization) / 3,600, in GPU-hours; arrays broadcast.
    """
    raise NotImplementedError


def compute_cost(
    flops: ArrayLike, peak_tflops: ArrayLike, utilization: ArrayLike, usd_per_gpu_hour: ArrayLike
) -> ArrayLike:
    """Rental cost in USD of performing ``flops`` on rented GPUs.

    Args:
        flops: the work, in FLOPs.
        peak_tflops: one GPU's peak throughput, in TFLOP/s.
        utilization: the fraction of the peak achieved, between 0 and 1.
        usd_per_gpu_hour: the rental price of one GPU for one hour, in USD.

    Returns:
        GPU-hours × price, in USD. Any argument may be a numpy array; they broadcast, so a
        column of utilizations and a row of prices give a grid of costs.
    """
    raise NotImplementedError


def implied_utilization(flops: float, gpu_hours: float, peak_tflops: float) -> float:
    """The utilization a run must have achieved to do ``flops`` in ``gpu_hours``.

    Args:
        flops: the work the run performed, in FLOPs (e.g. 6 · N_active · D).
        gpu_hours: the GPU-hours it reported.
        peak_tflops: one GPU's peak throughput, in TFLOP/s.

    Returns:
        achieved FLOP/s per GPU ÷ peak FLOP/s, a fraction (0.35 means 35%).
    """
    raise NotImplementedError


def wall_clock_days(gpu_hours: float, n_gpus: int) -> float:
    """Calendar days a run of ``gpu_hours`` takes when ``n_gpus`` GPUs work on it together.

    Args:
        gpu_hours: the run's GPU-hours (one GPU busy for one hour is one GPU-hour).
        n_gpus: GPUs in the cluster, all busy the whole time.

    Returns:
        gpu_hours / n_gpus / 24, in days.
    """
    raise NotImplementedError


def cost_ratio_factors(
    active_params: tuple[float, float],
    tokens: tuple[float, float],
    utilization: tuple[float, float],
    peak_tflops: tuple[float, float],
    usd_per_gpu_hour: tuple[float, float],
) -> dict[str, float]:
    """How many times run A's compute cost is run B's, split into one factor per cause.

    With cost = 6·N·D / (peak × utilization) × price, the ratio of two runs' costs is a
    product of ratios. Each argument is a pair ``(run A, run B)``.

    Args:
        active_params: parameters used per token by each run.
        tokens: training tokens of each run.
        utilization: fraction of peak each run achieved (0 to 1).
        peak_tflops: peak TFLOP/s of each run's GPU.
        usd_per_gpu_hour: rental price of each run's GPU, USD per GPU-hour.

    Returns:
        A dict of float factors, each "A's cost ÷ B's cost because of this quantity alone":
        ``"active_params"`` (N_A/N_B), ``"tokens"`` (D_A/D_B), ``"utilization"`` (u_B/u_A: the
        better-utilized run is cheaper), ``"peak"`` (peak_B/peak_A), ``"price"``
        (price_A/price_B), and ``"total"``, their product: cost_A / cost_B.
    """
    raise NotImplementedError
