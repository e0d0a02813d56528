"""Precision in training: adding up in low precision, and where the memory of a training step goes.

Topic module ``precision`` (chapter 4). The first three functions simulate an accumulator that
keeps only a few mantissa bits (as the tensor cores that multiply FP8 matrices do) and the fix
that promotes partial sums to FP32 at fixed intervals. The last three turn a training recipe
(``course.precision_reference.Recipe``) into bytes and compare recipes.

The accumulators model the significand only: the exponent range is unlimited (no overflow, no
subnormals), which is harmless for the sums of this chapter.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from course.formats import FP32, get_format
from course.precision_reference import ADAM_MOMENTS, Recipe

ROUNDING_MODES = ("nearest", "truncate")
"""How a limited-precision value is rounded: to nearest (ties to even), or towards zero."""


def round_mantissa(x: ArrayLike, mantissa_bits: int, mode: str = "nearest") -> np.ndarray:
    """Round every element to ``mantissa_bits`` explicit mantissa bits.

    A number with ``mantissa_bits`` explicit bits is ±1.b₁b₂…bₘ × 2^e: between 2^e and 2^(e+1)
    the representable numbers are 2^(e − m) apart. ``mode`` says which neighbour a value that
    falls between two of them goes to:

    - ``"nearest"``: the nearer one; a value exactly halfway goes to the one whose last bit bₘ
      is 0 (ties to even), as IEEE formats do;
    - ``"truncate"``: the one nearer to zero (the bits below bₘ are dropped), as a datapath that
      shifts bits out and keeps no rounding bit does.

    The exponent e is not limited.

    Args:
        x: values to round, any shape; converted to float64.
        mantissa_bits: explicit mantissa bits m kept, 1 ≤ m ≤ 52 (FP32 has 23, BF16 7).
        mode: ``"nearest"`` (ties to even) or ``"truncate"`` (towards zero).

    Returns:
        float64 array of the same shape; zero stays zero.
        Example: with m = 2, 1.125 → 1.0 and 1.375 → 1.5 (ties to the even neighbour); with
        ``mode="truncate"``, 1.375 → 1.25 and −1.375 → −1.25.
    """
    if not 1 <= mantissa_bits <= 52:
        raise ValueError(f"mantissa_bits must be 1..52, got {mantissa_bits}")
    if mode not in ROUNDING_MODES:
        raise ValueError(f"mode must be one of {ROUNDING_MODES}, got {mode!r}")
    x = np.asarray(x, dtype=np.float64)
    fraction, exponent = np.frexp(x)  # x = fraction × 2^exponent, 0.5 ≤ |fraction| < 1
    # Scale so that the last kept bit has weight 1, drop what is below it, scale back.
    scaled = np.ldexp(fraction, mantissa_bits + 1)
    kept = np.rint(scaled) if mode == "nearest" else np.trunc(scaled)  # rint: half to even
    return np.ldexp(kept, exponent - mantissa_bits - 1)


def accumulate_limited(terms: ArrayLike, mantissa_bits: int, mode: str = "nearest") -> np.ndarray:
    """Sum along the last axis with a running sum rounded to ``mantissa_bits`` after every addition.

    The accumulator starts at 0 and, for k = 1 … K, becomes round(sum + terms[..., k]) with
    ``round_mantissa(…, mantissa_bits, mode)``. The loop runs over K; every other axis is
    handled at once (many dot products in parallel).

    Args:
        terms: float array of shape [..., K], e.g. the K products a[i]·b[i] of a dot product.
        mantissa_bits: explicit mantissa bits kept by the accumulator (23 behaves like FP32).
        mode: ``"nearest"`` (ties to even) or ``"truncate"`` (towards zero), as in
            ``round_mantissa``.

    Returns:
        float64 array of shape [...]: the limited-precision sums (0 where K = 0).
    """
    terms = np.asarray(terms, dtype=np.float64)
    total = np.zeros(terms.shape[:-1])
    for k in range(terms.shape[-1]):
        total = round_mantissa(total + terms[..., k], mantissa_bits, mode)
    return total


def accumulate_promoted(
    terms: ArrayLike, mantissa_bits: int, interval: int, mode: str = "nearest"
) -> np.ndarray:
    """Sum along the last axis in limited precision, promoting to FP32 every ``interval`` terms.

    Each run of ``interval`` consecutive terms (the last run may be shorter) is summed by
    ``accumulate_limited(…, mantissa_bits, mode)`` from zero; the partial sums are then added
    in order into an FP32 accumulator (round to nearest, 23 mantissa bits, after each addition),
    as DeepSeek-V3 does on CUDA cores every N_C = 128 elements.

    Args:
        terms: float array of shape [..., K].
        mantissa_bits: explicit mantissa bits of the limited accumulator.
        interval: terms per partial sum (N_C), at least 1.
        mode: rounding of the limited accumulator, ``"nearest"`` or ``"truncate"``; the FP32
            accumulator always rounds to nearest.

    Returns:
        float64 array of shape [...]: the FP32 totals (exact float64 copies of FP32 values).
    """
    if interval < 1:
        raise ValueError(f"interval must be at least 1, got {interval}")
    terms = np.asarray(terms, dtype=np.float64)
    k = terms.shape[-1]
    blocks = -(-k // interval)  # ceiling division
    # Zeros appended to the last run do not change a rounded running sum.
    padding = [(0, 0)] * (terms.ndim - 1) + [(0, blocks * interval - k)]
    runs = np.pad(terms, padding).reshape(*terms.shape[:-1], blocks, interval)
    partial_sums = accumulate_limited(runs, mantissa_bits, mode)  # [..., blocks], all at once
    return accumulate_limited(partial_sums, FP32.mantissa_bits)


def bytes_per_parameter(recipe: Recipe) -> dict[str, float]:
    """Bytes stored per parameter for each state of a training recipe.

    A format of b bits takes b / 8 bytes; a state whose format is None takes 0. Adam keeps two
    moments, both in ``recipe.adam_moments``.

    Args:
        recipe: the formats of the weights, master weights, gradients and Adam moments.

    Returns:
        {"weights": …, "master_weights": …, "gradients": …, "adam_moments": …} in bytes per
        parameter ("adam_moments" counts both moments). FP32 training gives 4, 0, 4, 8.
    """

    def size(name: str | None) -> float:
        return 0.0 if name is None else get_format(name).bits / 8

    return {
        "weights": size(recipe.weights),
        "master_weights": size(recipe.master_weights),
        "gradients": size(recipe.gradients),
        "adam_moments": ADAM_MOMENTS * size(recipe.adam_moments),
    }


def training_memory_gb(n_params: float, recipe: Recipe) -> float:
    """Memory of a model's training state (weights, master weights, gradients, Adam moments).

    Activations, temporary buffers and scale factors are not included: they do not scale with
    the parameter count alone.

    Args:
        n_params: number of parameters (e.g. 671e9).
        recipe: the training recipe.

    Returns:
        n_params × total bytes per parameter, in gigabytes (1 GB = 10⁹ bytes, not 2³⁰).
    """
    return n_params * sum(bytes_per_parameter(recipe).values()) / 1e9


def memory_saving(baseline: Recipe, recipe: Recipe) -> float:
    """Fraction of the per-parameter training memory that ``recipe`` saves against ``baseline``.

    Args:
        baseline: the recipe compared against (e.g. BF16 mixed precision).
        recipe: the recipe under test (e.g. DeepSeek-V3's).

    Returns:
        1 − bytes(recipe) / bytes(baseline), a fraction (0.75 means "75% less"); negative when
        ``recipe`` needs more memory.
    """
    ours = sum(bytes_per_parameter(recipe).values())
    theirs = sum(bytes_per_parameter(baseline).values())
    return 1.0 - ours / theirs
