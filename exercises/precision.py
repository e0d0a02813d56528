"""Precision in training: adding up in low precision, and where the memory of a training step goes.

Topic module ``precision`` (chapter 4). The first three functions simulate an accumulator that
keeps only a few mantissa bits (as the tensor cores that multiply FP8 matrices do) and the fix
that promotes partial sums to FP32 at fixed intervals. The last three turn a training recipe
(``course.precision_reference.Recipe``) into bytes and compare recipes.

The accumulators model the significand only: the exponent range is unlimited (no overflow, no
subnormals), which is harmless for the sums of this chapter.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_precision.py`.
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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


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
    raise NotImplementedError


def memory_saving(baseline: Recipe, recipe: Recipe) -> float:
    """Fraction of the per-parameter training memory that ``recipe`` saves against ``baseline``.

    Args:
        baseline: the recipe compared against (e.g. BF16 mixed precision).
        recipe: the recipe under test (e.g. DeepSeek-V3's).

    Returns:
        1 − bytes(recipe) / bytes(baseline), a fraction (0.75 means "75% less"); negative when
        ``recipe`` needs more memory.
    """
    raise NotImplementedError
