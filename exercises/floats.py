"""Numbers in bits: read, write and measure any small binary floating-point format.

Topic module ``floats`` (chapter 2). Every function takes a ``course.formats.FloatFormat``
(FP32, FP16, BF16, E4M3, E5M2 or one you describe yourself), so one piece of code covers every
format. Codes are unsigned integer arrays (uint32 is wide enough for every format); values are
float64 arrays, which hold every value of every course format exactly.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_floats.py`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from course.formats import FloatFormat


def split_fields(codes: ArrayLike, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split bit patterns of ``fmt`` into their sign, exponent and fraction fields.

    A code is laid out, from the most significant bit down, as 1 sign bit, then
    ``fmt.exponent_bits`` of biased exponent, then ``fmt.mantissa_bits`` of fraction.

    Args:
        codes: non-negative integers below 2**fmt.bits, any shape (e.g. uint16 from
            ``np.float16(...).view(np.uint16)``).
        fmt: the format the codes are written in.

    Returns:
        (sign, exponent, fraction): three uint32 arrays of the shape of ``codes``; sign is 0 or 1,
        exponent is the stored (biased) field, fraction the stored mantissa bits without the
        implicit leading 1. Example: FP16 0x3C00 (1.0) gives (0, 15, 0).
    """
    raise NotImplementedError


def decode(codes: ArrayLike, fmt: FloatFormat) -> np.ndarray:
    """The values that bit patterns of ``fmt`` stand for.

    Normal numbers (exponent field e ≠ 0) are (−1)^s × 2^(e − bias) × (1 + f / 2^m);
    subnormal numbers (e = 0) are (−1)^s × 2^(1 − bias) × (f / 2^m), zero included (±0).
    With ``fmt.nan == "ieee"`` the all-ones exponent is special: a zero fraction is ±Inf
    (NaN if the format has no infinities), any other fraction NaN. With
    ``fmt.nan == "all_ones"`` (E4M3) only the all-ones code S.1…1.1…1 is NaN and the rest of
    the top exponent holds ordinary numbers.

    Args:
        codes: non-negative integers below 2**fmt.bits, any shape.
        fmt: the format the codes are written in.

    Returns:
        float64 array of the shape of ``codes`` (exact: float64 holds every value of these
        formats); −0.0 for the negative zero.
    """
    raise NotImplementedError


def encode(x: ArrayLike, fmt: FloatFormat) -> np.ndarray:
    """Round real numbers to the nearest value of ``fmt`` (ties to even) and return its codes.

    Rounding is to nearest; a value exactly halfway between two neighbours goes to the one whose
    code is even (last fraction bit 0). Subnormals are produced, not flushed to zero; a value
    too small even for them rounds to ±0 with its sign kept.

    Overflow: a value whose rounded magnitude exceeds the largest finite number becomes ±Inf in
    formats with infinities (FP32, FP16, BF16, E5M2) and NaN in formats without (E4M3, matching
    ``ml_dtypes.float8_e4m3fn``); ±Inf input likewise. NaN input gives the format's NaN code
    (the quiet NaN S.1…1.10…0 for IEEE-style formats, S.1…1.1…1 for E4M3), sign kept.

    Args:
        x: real numbers, any shape and float dtype (computed in float64, which is exact for
            float16/float32 input).
        fmt: the target format.

    Returns:
        uint32 array of the shape of ``x``: the codes (sign bit at bit fmt.bits − 1).
    """
    raise NotImplementedError


def limits(fmt: FloatFormat) -> dict[str, float]:
    """The landmarks of a format's number line.

    Args:
        fmt: the format.

    Returns:
        A dict of positive floats:
        "max": the largest finite number (FP16: 65,504; E4M3: 448);
        "min_normal": the smallest positive normal number, 2^(1 − bias);
        "min_subnormal": the smallest positive number, 2^(1 − bias − m);
        "epsilon": machine epsilon, the gap between 1 and the next larger number, 2^−m.
    """
    raise NotImplementedError


def ulp(x: ArrayLike, fmt: FloatFormat) -> np.ndarray:
    """The unit in the last place: the spacing of ``fmt``'s numbers around ``x``.

    For |x| in the binade [2^e, 2^(e+1)) the numbers of ``fmt`` are 2^(e − m) apart; below the
    smallest normal number the spacing stays at its subnormal value 2^(1 − bias − m). For a
    representable x ≥ 0 below the largest finite number this is the gap to the next number up.
    Above the largest finite number the spacing continues as if the exponent had more room.

    Args:
        x: real numbers, any shape (the sign is ignored; 0 gives the subnormal spacing).
        fmt: the format.

    Returns:
        float64 array of the shape of ``x`` with positive spacings; NaN where x is ±Inf or NaN.
    """
    raise NotImplementedError


def relative_error(x: ArrayLike, fmt: FloatFormat) -> np.ndarray:
    """Relative error made by storing ``x`` in ``fmt``: |stored − x| / |x|.

    ``stored`` is ``decode(encode(x, fmt), fmt)``, so round to nearest, ties to even. In the
    normal range the error is at most half an ULP over |x|, i.e. at most 2^−(m+1).

    Args:
        x: real numbers, any shape.
        fmt: the storage format.

    Returns:
        float64 array of the shape of ``x``: 0 where x is 0; Inf where x overflows to ±Inf;
        NaN where x overflows to NaN (E4M3) or is NaN.
    """
    raise NotImplementedError
