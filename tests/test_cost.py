"""Graded tests for chapter 9, "Training-cost arithmetic" (topic ``cost``).

Expected values are worked by hand in the comments, or computed in the test from the defining
formula on numbers chosen so that a wrong unit (hours vs seconds, TFLOP/s vs FLOP/s) is off by
a factor of 3,600 or 10¹²; none is computed by the solution.
"""

import numpy as np
import pytest

from grading import check, topic_fixture

TOPIC = "cost"
POINTS = {
    "training_flops": 2,
    "gpu_hours": 3,
    "compute_cost": 2,
    "implied_utilization": 3,
    "wall_clock_days": 2,
    "cost_ratio_factors": 3,
}
cost = topic_fixture(TOPIC)

# One H100/H800 GPU at its dense BF16 peak of 989 TFLOP/s and 40% utilization does
# 989e12 × 0.4 × 3,600 = 1.42416e18 FLOPs in an hour.
FLOPS_PER_GPU_HOUR_AT_40_PERCENT = 1.42416e18


@pytest.mark.exercise("training_flops")
def test_training_flops_deepseek_v3_pretraining(cost):
    # 6 × 37e9 active parameters × 14.8e12 tokens: 6 × 37 × 14.8 = 3,285.6, so 3.2856e24 FLOPs.
    # Wrong answers: 2·N·D (forward only) = 1.0952e24; 6 × 671e9 total parameters = 5.95848e25.
    check.close(
        cost.training_flops(37e9, 14.8e12),
        3.2856e24,
        rel=1e-12,
        what="training_flops(37e9, 14.8e12)",
        hint="6 FLOPs per active parameter per token: 2 forward + 4 backward (2·N·D is forward only)",
    )


@pytest.mark.exercise("training_flops")
def test_training_flops_llama_405b_matches_its_paper(cost):
    # 6 × 405e9 × 15.6e12 = 3.7908e25; the Llama 3 paper quotes ≈3.8e25 FLOPs (within 0.3%).
    check.close(
        cost.training_flops(405e9, 15.6e12),
        3.8e25,
        rel=5e-3,
        what="training_flops(405e9, 15.6e12)",
        hint="a dense model uses all its parameters: 6 × N × D",
    )


@pytest.mark.exercise("training_flops")
def test_training_flops_adds_attention_per_token(cost):
    # 100 tokens × (6 × 10 parameters + 4 attention FLOPs per token) = 100 × 64 = 6,400.
    check.close(
        cost.training_flops(10.0, 100.0, attention_flops_per_token=4.0),
        6400.0,
        what="training_flops(10.0, 100.0, attention_flops_per_token=4.0)",
        hint="the attention FLOPs are per token: add them to 6·N, then multiply by the tokens",
    )
    # Without attention: 6 × 10 × 100 = 6,000.
    check.close(cost.training_flops(10.0, 100.0), 6000.0, what="training_flops(10.0, 100.0)")


@pytest.mark.exercise("gpu_hours")
def test_gpu_hours_one_tflops_for_an_hour(cost):
    # 1 TFLOP/s at full utilization for 3,600 s is 3.6e15 FLOPs: exactly one GPU-hour.
    # Forgetting ÷3,600 gives 3,600; forgetting ×1e12 gives 3.6e15 / 1 / 3,600 = 1e12.
    check.close(
        cost.gpu_hours(3.6e15, 1.0, 1.0),
        1.0,
        what="gpu_hours(3.6e15, 1.0, 1.0)",
        hint="peak is in TFLOP/s (× 1e12 for FLOP/s), and an hour is 3,600 seconds",
    )


@pytest.mark.exercise("gpu_hours")
def test_gpu_hours_at_forty_percent_of_h800_bf16_peak(cost):
    # 1,000 GPU-hours' worth at 989 TFLOP/s and 40%: 1,000 × 1.42416e18 FLOPs → 1,000 GPU-hours.
    # Multiplying by the utilization instead of dividing gives 1,000 × 0.16 = 160.
    check.close(
        cost.gpu_hours(1000 * FLOPS_PER_GPU_HOUR_AT_40_PERCENT, 989.0, 0.4),
        1000.0,
        rel=1e-9,
        what="gpu_hours(1.42416e21, 989.0, 0.4)",
        hint="divide by peak × utilization: lower utilization means more GPU-hours",
    )


@pytest.mark.exercise("gpu_hours")
def test_gpu_hours_halving_utilization_doubles_hours(cost):
    # Property: hours ∝ 1 / utilization and ∝ 1 / peak.
    at_half = cost.gpu_hours(1e21, 989.0, 0.5)
    at_quarter = cost.gpu_hours(1e21, 989.0, 0.25)
    check.close(
        at_quarter / at_half,
        2.0,
        what="gpu_hours(1e21, 989, 0.25) / gpu_hours(1e21, 989, 0.5)",
        hint="half the utilization takes twice the GPU-hours",
    )
    fp8 = cost.gpu_hours(1e21, 1979.0, 0.5)
    check.close(
        at_half / fp8,
        1979.0 / 989.0,
        what="gpu_hours(1e21, 989, 0.5) / gpu_hours(1e21, 1979, 0.5)",
        hint="a higher peak needs fewer GPU-hours, in proportion",
    )


@pytest.mark.exercise("compute_cost")
def test_compute_cost_in_dollars(cost):
    # 1,000 GPU-hours (see the constant above) at $2 per GPU-hour: $2,000.
    check.close(
        cost.compute_cost(1000 * FLOPS_PER_GPU_HOUR_AT_40_PERCENT, 989.0, 0.4, 2.0),
        2000.0,
        rel=1e-9,
        what="compute_cost(1.42416e21, 989.0, 0.4, 2.0)",
        hint="GPU-hours (not GPU-seconds) × USD per GPU-hour",
    )


@pytest.mark.exercise("compute_cost")
def test_compute_cost_reproduces_v3_pretraining(cost):
    # V3 pre-training: 3.2856e24 FLOPs at the utilization its 2,664K GPU-hours imply against
    # 989 TFLOP/s: u = 3.2856e24 / (2.664e6 × 3,600 × 989e12) = 3.2856e24 / 9.4849056e24.
    # At $2 per GPU-hour that is 2,664K × $2 = $5.328M, the paper's Table 1 figure.
    utilization = 3.2856e24 / 9.4849056e24
    check.close(
        cost.compute_cost(3.2856e24, 989.0, utilization, 2.0),
        5.328e6,
        rel=1e-9,
        what=f"compute_cost(3.2856e24, 989.0, {utilization:.6f}, 2.0)",
        hint="FLOPs / (peak × 1e12 × utilization) / 3,600 GPU-hours, times the price",
    )


@pytest.mark.exercise("compute_cost")
def test_compute_cost_broadcasts_to_a_grid(cost):
    # A column of 3 utilizations and a row of 4 prices give a 3 × 4 grid of costs.
    utilization = np.array([[0.2], [0.35], [0.5]])
    price = np.array([[1.0, 2.0, 3.0, 4.0]])
    expected = 1e24 / (989e12 * utilization * 3600.0) * price
    check.arrays_close(
        cost.compute_cost(1e24, 989.0, utilization, price),
        expected,
        rtol=1e-12,
        what="compute_cost(1e24, 989.0, utilization[3, 1], price[1, 4])",
        hint="use numpy arithmetic so that arrays broadcast; expect shape (3, 4)",
    )


@pytest.mark.exercise("implied_utilization")
def test_implied_utilization_v3_against_bf16_and_fp8(cost):
    # 3.2856e24 FLOPs in 2,664K H800 GPU-hours: 3.2856e24 / (2.664e6 × 3,600) = 3.4259e14 FLOP/s
    # per GPU. Against 989e12 (dense BF16): 0.34640; against 1,979e12 (dense FP8): 0.17311.
    check.close(
        cost.implied_utilization(3.2856e24, 2.664e6, 989.0),
        0.346403,
        rel=1e-5,
        what="implied_utilization(3.2856e24, 2.664e6, 989.0)",
        hint="a fraction: (FLOPs / (GPU-hours × 3,600)) / (peak × 1e12)",
    )
    check.close(
        cost.implied_utilization(3.2856e24, 2.664e6, 1979.0),
        0.173114,
        rel=1e-5,
        what="implied_utilization(3.2856e24, 2.664e6, 1979.0)",
        hint="the FP8 peak is twice the BF16 peak, so the same run uses half as much of it",
    )


@pytest.mark.exercise("implied_utilization")
def test_implied_utilization_llama_405b(cost):
    # 3.8e25 FLOPs in 30.84M H100 GPU-hours against 989e12 FLOP/s:
    # 3.8e25 / (30.84e6 × 3,600 × 989e12) = 3.8e25 / 1.09802736e26 = 0.3460752.
    check.close(
        cost.implied_utilization(3.8e25, 30.84e6, 989.0),
        0.346075,
        rel=1e-5,
        what="implied_utilization(3.8e25, 30.84e6, 989.0)",
        hint="hours × 3,600 are seconds; TFLOP/s × 1e12 are FLOP/s",
    )


@pytest.mark.exercise("implied_utilization")
def test_implied_utilization_exact_cases(cost):
    # Half of 1 TFLOP/s for one hour is 1.8e15 FLOPs: utilization 0.5 (not 50, not 1,800).
    check.close(
        cost.implied_utilization(1.8e15, 1.0, 1.0),
        0.5,
        what="implied_utilization(1.8e15, 1.0, 1.0)",
        hint="return a fraction between 0 and 1, not a percentage",
    )
    # Twice the GPU-hours for the same work: half the utilization.
    check.close(
        cost.implied_utilization(1.8e15, 2.0, 1.0),
        0.25,
        what="implied_utilization(1.8e15, 2.0, 1.0)",
        hint="more GPU-hours for the same FLOPs means lower utilization",
    )


@pytest.mark.exercise("wall_clock_days")
def test_wall_clock_days_per_trillion_tokens(cost):
    # 180K GPU-hours per trillion tokens on 2,048 GPUs: 180,000 / 2,048 = 87.890625 hours,
    # / 24 = 3.662109375 days (the paper's "3.7 days"); exact in binary floating point.
    check.close(
        cost.wall_clock_days(180e3, 2048),
        3.662109375,
        rel=1e-15,
        what="wall_clock_days(180e3, 2048)",
        hint="divide the GPU-hours among the GPUs, then hours → days (÷ 24)",
    )


@pytest.mark.exercise("wall_clock_days")
def test_wall_clock_days_whole_run_and_small_case(cost):
    # 2,788K GPU-hours on 2,048 GPUs: 2,788,000 / 2,048 / 24 = 56.72200521 days (under 2 months).
    check.close(
        cost.wall_clock_days(2788e3, 2048),
        56.72200521,
        rel=1e-9,
        what="wall_clock_days(2788e3, 2048)",
        hint="GPU-hours / GPUs gives hours of wall clock; / 24 gives days",
    )
    # 48 GPU-hours on 2 GPUs: 24 hours, one day (not 24 days, not 576).
    check.close(cost.wall_clock_days(48.0, 2), 1.0, what="wall_clock_days(48.0, 2)")


FACTORS = ("active_params", "tokens", "utilization", "peak", "price", "total")


@pytest.mark.exercise("cost_ratio_factors")
def test_cost_ratio_factors_one_cause_at_a_time(cost):
    # Only one quantity differs at a time, so only its factor is not 1:
    # A uses 3× the parameters → 3; A has 2× the utilization → A is 2× cheaper: 0.5;
    # A's GPU has 4× the peak → 0.25; A pays $3 vs $2 → 1.5.
    cases = [
        (dict(active_params=(3.0, 1.0)), "active_params", 3.0),
        (dict(tokens=(5.0, 1.0)), "tokens", 5.0),
        (dict(utilization=(0.6, 0.3)), "utilization", 0.5),
        (dict(peak_tflops=(4.0, 1.0)), "peak", 0.25),
        (dict(usd_per_gpu_hour=(3.0, 2.0)), "price", 1.5),
    ]
    base = dict(
        active_params=(1.0, 1.0),
        tokens=(1.0, 1.0),
        utilization=(0.4, 0.4),
        peak_tflops=(989.0, 989.0),
        usd_per_gpu_hour=(2.0, 2.0),
    )
    for change, name, expected in cases:
        factors = cost.cost_ratio_factors(**{**base, **change})
        if not isinstance(factors, dict) or set(factors) != set(FACTORS):
            check.fail(
                f"cost_ratio_factors(**{change})", FACTORS, factors, hint="a dict with these keys"
            )
        check.close(
            factors[name],
            expected,
            what=f"cost_ratio_factors(**{change})[{name!r}]",
            hint="A's cost ÷ B's cost: more work costs more; more utilization, a faster peak "
            "or a lower price cost less",
        )
        check.close(
            factors["total"],
            expected,
            what=f"cost_ratio_factors(**{change})['total']",
            hint="the total is the product of the factors (1 for the ones that do not change)",
        )


@pytest.mark.exercise("cost_ratio_factors")
def test_cost_ratio_factors_llama_over_v3(cost):
    # Llama 3.1 405B (A) vs DeepSeek-V3 (B), both on 989 TFLOP/s GPUs at $2 per GPU-hour:
    # parameters 405/37 = 10.945946; tokens 15.6/14.8 = 1.054054; utilization 0.346/0.346 = 1;
    # total 10.945946 × 1.054054 = 11.537618.
    factors = cost.cost_ratio_factors(
        active_params=(405e9, 37e9),
        tokens=(15.6e12, 14.8e12),
        utilization=(0.346, 0.346),
        peak_tflops=(989.0, 989.0),
        usd_per_gpu_hour=(2.0, 2.0),
    )
    check.close(
        factors["active_params"],
        10.945946,
        rel=1e-6,
        what="cost_ratio_factors(...)['active_params'] for Llama 3.1 405B over V3",
        hint="run A's active parameters over run B's: a dense 405B against V3's 37B active",
    )
    check.close(
        factors["total"],
        11.537618,
        rel=1e-6,
        what="cost_ratio_factors(...)['total'] for Llama 3.1 405B over V3",
        hint="multiply the factors together, do not add them",
    )


@pytest.mark.exercise("cost_ratio_factors")
def test_cost_ratio_factors_total_matches_two_costs(cost):
    # Property: the total equals the ratio of the two costs computed from the formula here.
    a = dict(n=70e9, d=2e12, u=0.45, peak=312.0, price=1.2)
    b = dict(n=7e9, d=1e12, u=0.30, peak=989.0, price=2.5)

    def dollars(r):
        return 6 * r["n"] * r["d"] / (r["peak"] * 1e12 * r["u"] * 3600) * r["price"]

    factors = cost.cost_ratio_factors(
        active_params=(a["n"], b["n"]),
        tokens=(a["d"], b["d"]),
        utilization=(a["u"], b["u"]),
        peak_tflops=(a["peak"], b["peak"]),
        usd_per_gpu_hour=(a["price"], b["price"]),
    )
    check.close(
        factors["total"],
        dollars(a) / dollars(b),
        rel=1e-12,
        what="cost_ratio_factors(...)['total'] for two made-up runs",
        hint="utilization and peak are in the denominator of cost: their factors are B over A",
    )
