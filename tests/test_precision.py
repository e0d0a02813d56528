"""Graded tests for chapter 4, "Precision in training" (topic ``precision``).

Expected values are worked by hand in the comments, or come from an independent reference:
numpy's float16/float32 and torch's bfloat16 arithmetic, which round every result to nearest
with ties to even, exactly what a limited-precision accumulator of 10, 23 or 7 mantissa bits
does. None is computed by the solution.
"""

import itertools

import numpy as np
import pytest
import torch

from course.precision_reference import Recipe
from grading import check, topic_fixture

TOPIC = "precision"
POINTS = {
    "round_mantissa": 3,
    "accumulate_limited": 3,
    "accumulate_promoted": 3,
    "bytes_per_parameter": 2,
    "training_memory_gb": 1,
    "memory_saving": 2,
}
precision = topic_fixture(TOPIC)

# Recipes written out here, independently of course.precision_reference's named recipes.
FP32_ONLY = Recipe(
    "fp32", weights="fp32", master_weights=None, gradients="fp32", adam_moments="fp32"
)
BF16_MIXED = Recipe(
    "bf16", weights="bf16", master_weights="fp32", gradients="bf16", adam_moments="fp32"
)
V3_LIKE = Recipe("v3", weights="e4m3", master_weights="fp32", gradients="fp32", adam_moments="bf16")
ALL_FP8 = Recipe("fp8", weights="e4m3", master_weights=None, gradients="e4m3", adam_moments="e4m3")


def positive_fp8_terms(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Products of two positive E4M3-representable numbers (exact in float32 and float64)."""
    import ml_dtypes

    a = np.abs(rng.standard_normal(shape)).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    b = np.abs(rng.standard_normal(shape)).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    return a * b


def positive_fp8_sums(seed: int, shapes: list[tuple[int, ...]]) -> list[tuple[np.ndarray, ...]]:
    """For each shape in turn (one generator): terms from ``positive_fp8_terms`` and their exact
    sums along the last axis (every product and partial sum fits in float64's 53 bits)."""
    rng = np.random.default_rng(seed)
    cases = []
    for shape in shapes:
        terms = positive_fp8_terms(rng, shape)
        cases.append((terms, terms.sum(axis=-1)))
    return cases


# Computed once, at import: the same for every submission graded.
SHRINKING_SUMS = positive_fp8_sums(8, [(64, 1024)])
PROMOTED_SUMS = positive_fp8_sums(10, [(16, 1024), (16, 4096), (16, 16384)])


# --- round_mantissa -------------------------------------------------------------------------


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_ties_go_to_even(precision):
    # m = 2: between 1 and 2 the numbers are 1.00, 1.01, 1.10, 1.11 (binary) = 1, 1.25, 1.5, 1.75.
    # 1.125 is halfway 1.00|1.01 → 1.00 (even); 1.375 halfway 1.01|1.10 → 1.5; 1.625 halfway
    # 1.10|1.11 → 1.5; 1.875 halfway 1.11|10.0 → 2.0 (carries into the exponent). Signs follow.
    x = np.array([1.125, 1.375, 1.625, 1.875, -1.375, -1.125])
    expected = np.array([1.0, 1.5, 1.5, 2.0, -1.5, -1.0])
    check.arrays_equal(
        precision.round_mantissa(x, 2),
        expected,
        what="round_mantissa([1.125, 1.375, 1.625, 1.875, -1.375, -1.125], 2)",
        hint="halfway cases go to the neighbour whose last kept bit is 0 (np.rint does this); "
        "truncation or rounding half away from zero get some of these wrong",
    )


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_spacing_follows_the_exponent(precision):
    # m = 2: between 4 and 8 the spacing is 4 × 2^-2 = 1, so 4.5 (a tie) → 4, 5.0 stays, 5.6 → 6;
    # between 0.25 and 0.5 it is 0.0625, so 0.3 → 0.3125 (0.3/0.0625 = 4.8 → 5).
    # 1.1 → 1.0 and 1.2 → 1.25 (nearest, not a tie). Zero stays zero.
    x = np.array([4.5, 5.0, 5.6, 0.3, 1.1, 1.2, 0.0])
    expected = np.array([4.0, 5.0, 6.0, 0.3125, 1.0, 1.25, 0.0])
    check.arrays_equal(
        precision.round_mantissa(x, 2),
        expected,
        what="round_mantissa([4.5, 5.0, 5.6, 0.3, 1.1, 1.2, 0.0], 2)",
        hint="the spacing is 2^(e − m) where 2^e ≤ |x| < 2^(e+1): relative, not a fixed step",
    )


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_matches_float16_bfloat16_float32(precision):
    # numpy's float16 (10 mantissa bits), ml_dtypes' bfloat16 (7) and float32 (23) conversions
    # round to nearest with ties to even. Inputs are float32 values inside the normal range of
    # all three formats, so each library conversion rounds exactly once.
    import ml_dtypes

    rng = np.random.default_rng(4)
    sign = rng.choice([-1.0, 1.0], 4000)
    x32 = (sign * rng.uniform(1, 2, 4000) * 2.0 ** rng.integers(-10, 11, 4000)).astype(np.float32)
    x32[0] = np.float32(1 + 2**-11)  # an exact tie for float16 → 1.0
    x = x32.astype(np.float64)
    y = x / 3.0  # float64 values that float32 must round
    cases = [
        (10, x, x32.astype(np.float16)),
        (7, x, x32.astype(ml_dtypes.bfloat16)),
        (23, y, y.astype(np.float32)),
    ]
    for bits, values, reference in cases:
        check.arrays_equal(
            np.asarray(precision.round_mantissa(values, bits), dtype=np.float64),
            reference.astype(np.float64),
            what=f"round_mantissa(x, {bits}) on 4000 random values",
            hint=f"{bits} explicit bits must agree with the {reference.dtype} conversion, "
            "ties to even included",
        )


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_keeps_shape_and_is_idempotent(precision):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5)) * 100
    once = np.asarray(precision.round_mantissa(x, 5))
    check.equal(once.shape, (3, 4, 5), what="round_mantissa(x of shape (3, 4, 5), 5).shape")
    check.arrays_equal(
        np.asarray(precision.round_mantissa(once, 5)),
        once,
        what="round_mantissa(round_mantissa(x, 5), 5)",
        hint="a rounded value is representable, so rounding it again must not change it",
    )
    # A representable value has at most 6 significant bits: x × 2^(5 − e) is an integer.
    _, exponent = np.frexp(once)
    integers = np.ldexp(once, 6 - exponent)
    check.arrays_equal(
        integers,
        np.round(integers),
        what="significand of round_mantissa(x, 5), scaled to an integer",
        hint="the result must have 1 + 5 significant bits",
    )


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_truncate_drops_bits_towards_zero(precision):
    # m = 2, mode "truncate": between 1 and 2 the grid is 1, 1.25, 1.5, 1.75, and every value
    # goes to the grid point at or below its magnitude: 1.125 → 1.0, 1.375 → 1.25, 1.9 → 1.75,
    # 6.9 → 6.0 (grid step 1 between 4 and 8). Negative values move towards zero as well:
    # −1.375 → −1.25 (towards −∞ would give −1.5). Grid points and zero stay.
    x = np.array([1.125, 1.375, 1.9, 6.9, -1.375, -6.9, 1.25, 0.0])
    expected = np.array([1.0, 1.25, 1.75, 6.0, -1.25, -6.0, 1.25, 0.0])
    check.arrays_equal(
        precision.round_mantissa(x, 2, mode="truncate"),
        expected,
        what="round_mantissa([1.125, 1.375, 1.9, 6.9, -1.375, -6.9, 1.25, 0.0], 2, mode='truncate')",
        hint="truncation keeps the bits above the last kept one and drops the rest, so the "
        "magnitude never grows: towards zero, not towards minus infinity",
    )


@pytest.mark.exercise("round_mantissa")
def test_round_mantissa_truncate_matches_bit_masking(precision):
    # Independent reference: a float64 is sign | 11 exponent bits | 52 mantissa bits, so
    # truncating to m explicit bits is clearing the 52 − m lowest bits of its integer view
    # (for normal numbers, which these are).
    rng = np.random.default_rng(11)
    x = rng.standard_normal(5000) * 10.0 ** rng.integers(-5, 6, 5000)
    for bits in (3, 7, 13, 23):
        mask = np.uint64((2**64 - 1) ^ (2 ** (52 - bits) - 1))
        expected = (x.view(np.uint64) & mask).view(np.float64)
        check.arrays_equal(
            np.asarray(precision.round_mantissa(x, bits, mode="truncate"), dtype=np.float64),
            expected,
            what=f"round_mantissa(x, {bits}, mode='truncate') on 5000 random values",
            hint="truncation keeps the sign and the highest bits of the significand",
        )


# --- accumulate_limited ---------------------------------------------------------------------


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_stagnates_by_hand(precision):
    # m = 2, ten ones: 1, 2, …, 8 are all representable (8 = 1.00 × 2^3), but 8 + 1 = 9 is
    # halfway between 8 and 10 (spacing 2 above 8) and goes to 8 (even mantissa 1.00).
    # The sum sticks at 8, not 10.
    check.close(
        precision.accumulate_limited(np.ones(10), 2),
        8.0,
        what="accumulate_limited(np.ones(10), 2)",
        hint="round the running sum after every addition, not once at the end",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_rounds_up_as_well(precision):
    # m = 2, terms 4, 0.75, 0.75, 0.75, 0.75 (spacing 1 between 4 and 8):
    # 4.75 → 5; 5.75 → 6; 6.75 → 7; 7.75 → 8. The exact sum is 7; truncation would stay at 4.
    check.close(
        precision.accumulate_limited(np.array([4.0, 0.75, 0.75, 0.75, 0.75]), 2),
        8.0,
        what="accumulate_limited([4, 0.75, 0.75, 0.75, 0.75], 2)",
        hint="round to the nearest representable value (not towards zero) after every addition",
    )
    # The first term is rounded too: 0 + 1.1 → 1.0 with m = 2.
    check.close(
        precision.accumulate_limited(np.array([1.1]), 2),
        1.0,
        what="accumulate_limited([1.1], 2)",
        hint="the accumulator starts at 0; round(0 + first term) is the first running sum",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_matches_float16_sequential_sum(precision):
    # With 10 mantissa bits the accumulator is a float16 running sum: numpy rounds each float16
    # addition to nearest even. Terms are multiples of 1/64 below 4, so sums stay in range.
    rng = np.random.default_rng(6)
    terms = (rng.integers(1, 256, (32, 300)) / 64).astype(np.float16)
    expected = np.zeros(32, dtype=np.float16)
    for k in range(terms.shape[1]):
        expected = expected + terms[:, k]  # float16 + float16 → float16, one rounding
    check.arrays_equal(
        np.asarray(precision.accumulate_limited(terms.astype(np.float64), 10), dtype=np.float64),
        expected.astype(np.float64),
        what="accumulate_limited(terms of shape (32, 300), 10) against float16 running sums",
        hint="sum along the last axis, rounding the running sum after each addition",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_matches_bfloat16_and_float32(precision):
    # torch's bfloat16 addition rounds each sum to 7 mantissa bits (nearest even); numpy's
    # cumsum in float32 rounds each partial sum to 23 bits. Shapes [2, 3, K] → [2, 3].
    rng = np.random.default_rng(7)
    terms = torch.tensor(rng.standard_normal((2, 3, 200)), dtype=torch.bfloat16)
    expected = torch.zeros((2, 3), dtype=torch.bfloat16)
    for k in range(terms.shape[-1]):
        expected = expected + terms[..., k]
    as_float64 = terms.to(torch.float64).numpy()
    check.arrays_equal(
        np.asarray(precision.accumulate_limited(as_float64, 7), dtype=np.float64),
        expected.to(torch.float64).numpy(),
        what="accumulate_limited(terms of shape (2, 3, 200), 7) against bfloat16 running sums",
        hint="keep the leading axes: the result has shape terms.shape[:-1]",
    )
    terms32 = rng.standard_normal((5, 500)).astype(np.float32)
    check.arrays_equal(
        np.asarray(precision.accumulate_limited(terms32.astype(np.float64), 23), dtype=np.float64),
        np.cumsum(terms32, axis=-1)[:, -1].astype(np.float64),
        what="accumulate_limited(terms of shape (5, 500), 23) against a float32 running sum",
        hint="23 mantissa bits is FP32: each addition rounded once",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_error_shrinks_with_more_bits(precision):
    # Relative error of 1024-term sums of positive FP8 products, averaged over 64 sums. Each
    # extra mantissa bit halves the rounding step, so two more bits must cut the error at least
    # in half (measured: 5.3× to 8.6× on seeds 1 to 3 and 8, since small terms are partly
    # rounded away).
    [(terms, exact)] = SHRINKING_SUMS
    errors = []
    for bits in (10, 12, 14, 16):
        got = np.asarray(precision.accumulate_limited(terms.copy(), bits), dtype=np.float64)
        errors.append(float(np.mean(np.abs(got - exact) / exact)))
    for fewer, more in itertools.pairwise(errors):
        if not fewer >= 2.0 * more:
            check.fail(
                "mean relative error of accumulate_limited at 10, 12, 14, 16 bits",
                "each two extra bits cut the error at least in half",
                errors,
                hint="the rounding step is 2^(e − m): relative to the running sum's exponent",
            )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_truncating_by_hand(precision):
    # m = 2, mode "truncate", terms 4, 0.75, 0.75, 0.75, 0.75 (grid step 1 between 4 and 8):
    # 4.75 → 4 after every addition, so the sum never leaves 4 (exact 7; nearest gives 8).
    check.close(
        precision.accumulate_limited(np.array([4.0, 0.75, 0.75, 0.75, 0.75]), 2, mode="truncate"),
        4.0,
        what="accumulate_limited([4, 0.75, 0.75, 0.75, 0.75], 2, mode='truncate')",
        hint="truncate the running sum after every addition",
    )
    # Signed: −4 − 0.75 = −4.75 → −4 (towards zero); then −4 + 1.5 = −2.5 → −2.5 (on the grid
    # 2, 2.5, 3, 3.5 between 2 and 4); then −2.5 − 0.3 = −2.8 → −2.5.
    check.close(
        precision.accumulate_limited(np.array([-4.0, -0.75, 1.5, -0.3]), 2, mode="truncate"),
        -2.5,
        what="accumulate_limited([-4, -0.75, 1.5, -0.3], 2, mode='truncate')",
        hint="negative running sums are truncated towards zero too (not towards minus infinity)",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_truncating_matches_bit_masking(precision):
    # Independent reference: a running sum truncated after each float64 addition by clearing
    # the low mantissa bits of its integer view (see the round_mantissa test). Signed terms,
    # shape [3, 4, 300] → [3, 4].
    rng = np.random.default_rng(12)
    terms = rng.standard_normal((3, 4, 300))
    mask = np.uint64((2**64 - 1) ^ (2 ** (52 - 13) - 1))
    expected = np.zeros((3, 4))
    for k in range(terms.shape[-1]):
        expected = ((expected + terms[..., k]).view(np.uint64) & mask).view(np.float64)
    check.arrays_equal(
        np.asarray(precision.accumulate_limited(terms, 13, mode="truncate"), dtype=np.float64),
        expected,
        what="accumulate_limited(terms of shape (3, 4, 300), 13, mode='truncate')",
        hint="truncate (towards zero) the running sum after each addition",
    )


@pytest.mark.exercise("accumulate_limited")
def test_accumulate_limited_of_nothing_is_zero(precision):
    check.arrays_equal(
        np.asarray(precision.accumulate_limited(np.zeros((4, 0)), 5), dtype=np.float64),
        np.zeros(4),
        what="accumulate_limited(np.zeros((4, 0)), 5)",
        hint="an empty sum is 0, one per leading index",
    )


# --- accumulate_promoted --------------------------------------------------------------------


@pytest.mark.exercise("accumulate_promoted")
def test_accumulate_promoted_by_hand(precision):
    # m = 2, eighteen ones, promotion every 4: runs of 4, 4, 4, 4 and a last run of 2, each
    # exact in 2 bits; in FP32 4 + 4 + 4 + 4 + 2 = 18 exactly. (Without promotion the sum sticks
    # at 8; with a limited outer accumulator it would stick at 16, because 16 + 2 = 18 is a tie
    # between 16 and 20 that goes to 16.)
    check.close(
        precision.accumulate_promoted(np.ones(18), 2, 4),
        18.0,
        what="accumulate_promoted(np.ones(18), 2, 4)",
        hint="sum each run of `interval` terms in limited precision, add the partial sums in "
        "FP32, and keep the last, shorter run",
    )
    # Ten ones, interval 4: runs 4, 4, 2 → 10 (an interval longer than K: the limited sum, 8).
    check.close(
        precision.accumulate_promoted(np.ones(10), 2, 4),
        10.0,
        what="accumulate_promoted(np.ones(10), 2, 4)",
        hint="the last run (2 terms) counts too",
    )
    check.close(
        precision.accumulate_promoted(np.ones(10), 2, 16),
        8.0,
        what="accumulate_promoted(np.ones(10), 2, 16)",
        hint="with one run the result is the limited-precision sum (8, see accumulate_limited)",
    )


@pytest.mark.exercise("accumulate_promoted")
def test_accumulate_promoted_truncating_by_hand(precision):
    # m = 2, mode "truncate", interval 2: terms 4, 0.75 | 4, 0.75 | 0.75. Each run is truncated
    # on its own: 4.75 → 4, 4.75 → 4, 0.75 → 0.75; FP32 adds 4 + 4 + 0.75 = 8.75 (rounded to
    # nearest, exact here). Without promotion the sum would be 4 → 8 → 8 → 8 (12.75 exact).
    check.close(
        precision.accumulate_promoted(
            np.array([4.0, 0.75, 4.0, 0.75, 0.75]), 2, 2, mode="truncate"
        ),
        8.75,
        what="accumulate_promoted([4, 0.75, 4, 0.75, 0.75], 2, 2, mode='truncate')",
        hint="truncate inside each run of `interval` terms; the FP32 accumulator rounds to nearest",
    )
    # The FP32 accumulator rounds to nearest whatever the mode: m = 23, interval 1, terms 1 and
    # 0.75 × 2^-23 (each exact in 23 bits). 1 + 0.75 ulp rounds up to 1 + 2^-23 in FP32;
    # a truncating FP32 accumulator would stay at 1.
    check.close(
        precision.accumulate_promoted(np.array([1.0, 0.75 * 2.0**-23]), 23, 1, mode="truncate"),
        1.0 + 2.0**-23,
        rel=0.0,
        what="accumulate_promoted([1, 0.75 × 2^-23], 23, 1, mode='truncate')",
        hint="only the limited accumulator truncates; the FP32 one rounds to nearest",
    )


@pytest.mark.exercise("accumulate_promoted")
def test_accumulate_promoted_limits_match_float16_and_float32(precision):
    # interval ≥ K: one run, so the result is a float16 running sum (m = 10), then exact in FP32.
    # interval = 1: every term (float16-representable, so unchanged) goes straight into FP32.
    rng = np.random.default_rng(9)
    terms = (rng.integers(1, 256, (8, 300)) / 64).astype(np.float16)
    half_sum = np.zeros(8, dtype=np.float16)
    for k in range(terms.shape[1]):
        half_sum = half_sum + terms[:, k]
    as_float64 = terms.astype(np.float64)
    check.arrays_equal(
        np.asarray(precision.accumulate_promoted(as_float64, 10, 300), dtype=np.float64),
        half_sum.astype(np.float64),
        what="accumulate_promoted(terms of shape (8, 300), 10, 300)",
        hint="one run of all the terms: the limited-precision sum",
    )
    check.arrays_equal(
        np.asarray(precision.accumulate_promoted(as_float64, 10, 1), dtype=np.float64),
        np.cumsum(terms.astype(np.float32), axis=-1)[:, -1].astype(np.float64),
        what="accumulate_promoted(terms of shape (8, 300), 10, 1)",
        hint="runs of one term: each goes into the FP32 accumulator (23 mantissa bits)",
    )


@pytest.mark.exercise("accumulate_promoted")
def test_accumulate_promoted_error_bounded_independent_of_k(precision):
    # With positive terms every running sum of a run is at most the run's total, so rounding
    # to m bits (relative error ≤ 2^-(m+1) per addition) loses at most interval × 2^-(m+1) of
    # the run's total; FP32 adds at most (K / interval) × 2^-24 of the grand total. With m = 10
    # and interval 64 the bound 2^-5 + K/64 × 2^-24 hardly depends on K, while the limited sum
    # without promotion drifts far beyond it at K = 16384.
    bits, interval = 10, 64
    for terms, exact in PROMOTED_SUMS:
        k = terms.shape[-1]
        got = np.asarray(
            precision.accumulate_promoted(terms.copy(), bits, interval), dtype=np.float64
        )
        worst = float(np.max(np.abs(got - exact) / exact))
        bound = interval * 2.0 ** -(bits + 1) + (k / interval) * 2.0**-24
        if not worst <= bound:
            check.fail(
                f"worst relative error of accumulate_promoted(16 sums of K={k}, {bits}, {interval})",
                f"at most {bound:.4g}",
                worst,
                hint="restart the limited accumulator from zero after every run of `interval` terms",
            )
        # typical error is far below the worst case and stays flat in K
        typical = float(np.mean(np.abs(got - exact) / exact))
        check.close(
            typical,
            0.0,
            abs_tol=2e-3,
            what=f"mean relative error of accumulate_promoted at K={k}",
            hint="promotion should keep the error small whatever K is",
        )


@pytest.mark.exercise("accumulate_promoted")
def test_accumulate_promoted_keeps_leading_axes(precision):
    # Shape [2, 3, 5] with interval 2: runs (1, 1), (1, 1), (1) → 5 in every entry.
    got = np.asarray(precision.accumulate_promoted(np.ones((2, 3, 5)), 4, 2), dtype=np.float64)
    check.arrays_equal(
        got,
        np.full((2, 3), 5.0),
        what="accumulate_promoted(np.ones((2, 3, 5)), 4, 2)",
        hint="sum along the last axis only; the result has shape terms.shape[:-1]",
    )


# --- bytes_per_parameter --------------------------------------------------------------------


def _check_bytes(precision, recipe, expected, hint):
    got = precision.bytes_per_parameter(recipe)
    what = f"bytes_per_parameter({recipe})"
    if not isinstance(got, dict) or set(got) != set(expected):
        check.fail(what, expected, got, hint="a dict with keys " + ", ".join(expected))
    for key, value in expected.items():
        check.close(got[key], value, what=f"{what}[{key!r}]", hint=hint)


@pytest.mark.exercise("bytes_per_parameter")
def test_bytes_per_parameter_fp32_training(precision):
    # FP32 weights 4 bytes, no separate master copy 0, FP32 gradients 4, two FP32 moments 2 × 4.
    _check_bytes(
        precision,
        FP32_ONLY,
        {"weights": 4.0, "master_weights": 0.0, "gradients": 4.0, "adam_moments": 8.0},
        hint="bytes = bits / 8; None stores nothing; Adam keeps two moments",
    )


@pytest.mark.exercise("bytes_per_parameter")
def test_bytes_per_parameter_mixed_precision_counts_master_weights(precision):
    # BF16 weights 2, FP32 master weights 4, BF16 gradients 2, two FP32 moments 8: 16 in all.
    _check_bytes(
        precision,
        BF16_MIXED,
        {"weights": 2.0, "master_weights": 4.0, "gradients": 2.0, "adam_moments": 8.0},
        hint="the FP32 master copy is stored as well as the BF16 weights",
    )


@pytest.mark.exercise("bytes_per_parameter")
def test_bytes_per_parameter_deepseek_v3_like(precision):
    # E4M3 weights 1, FP32 master 4, FP32 gradients 4, two BF16 moments 2 × 2 = 4: 13 in all.
    _check_bytes(
        precision,
        V3_LIKE,
        {"weights": 1.0, "master_weights": 4.0, "gradients": 4.0, "adam_moments": 4.0},
        hint="an 8-bit format is 1 byte; both Adam moments are counted",
    )
    # An unusual mix, so nothing can be hard-coded: E5M2 1, FP16 2, BF16 2, two E4M3 moments 2.
    odd = Recipe(
        "odd", weights="e5m2", master_weights="fp16", gradients="bf16", adam_moments="e4m3"
    )
    _check_bytes(
        precision,
        odd,
        {"weights": 1.0, "master_weights": 2.0, "gradients": 2.0, "adam_moments": 2.0},
        hint="read each state's format from the recipe (course.formats gives its bits)",
    )


# --- training_memory_gb ---------------------------------------------------------------------


@pytest.mark.exercise("training_memory_gb")
def test_training_memory_gb(precision):
    # 1e9 parameters × 16 bytes (FP32: 4 + 0 + 4 + 8) = 16e9 bytes = 16 GB (not 14.9 GiB).
    check.close(
        precision.training_memory_gb(1e9, FP32_ONLY),
        16.0,
        what="training_memory_gb(1e9, FP32 training)",
        hint="parameters × bytes per parameter (all states), divided by 1e9 (GB, not GiB)",
    )
    # 671e9 × 13 bytes (1 + 4 + 4 + 4) = 8,723e9 bytes = 8,723 GB.
    check.close(
        precision.training_memory_gb(671e9, V3_LIKE),
        8723.0,
        what="training_memory_gb(671e9, DeepSeek-V3-like recipe)",
        hint="add every state: weights, master weights, gradients and both Adam moments",
    )


# --- memory_saving --------------------------------------------------------------------------


@pytest.mark.exercise("memory_saving")
def test_memory_saving_headline(precision):
    # 16 bytes (FP32) → 4 bytes (every state in FP8): 1 − 4/16 = 0.75, the "75% less".
    check.close(
        precision.memory_saving(FP32_ONLY, ALL_FP8),
        0.75,
        what="memory_saving(FP32 training, all FP8)",
        hint="1 − bytes(recipe) / bytes(baseline), a fraction (not a percentage, not the ratio)",
    )


@pytest.mark.exercise("memory_saving")
def test_memory_saving_real_recipes(precision):
    # BF16 mixed 16 bytes → V3-like 13 bytes: 1 − 13/16 = 3/16 = 0.1875.
    check.close(
        precision.memory_saving(BF16_MIXED, V3_LIKE),
        0.1875,
        what="memory_saving(BF16 mixed, DeepSeek-V3-like)",
        hint="count the master weights and both Adam moments in each recipe",
    )
    # The other way round: 1 − 16/13 = −3/13, a negative saving.
    check.close(
        precision.memory_saving(V3_LIKE, BF16_MIXED),
        -3 / 13,
        what="memory_saving(DeepSeek-V3-like, BF16 mixed)",
        hint="the baseline is the first argument; more memory is a negative saving",
    )
