"""Numbers in bits: read, write and measure any small binary floating-point format.

Topic module ``floats`` (chapter 2). Every function takes a ``course.formats.FloatFormat``
(FP32, FP16, BF16, E4M3, E5M2 or one you describe yourself), so one piece of code covers every
format. Codes are unsigned integer arrays (uint32 is wide enough for every format); values are
float64 arrays, which hold every value of every course format exactly.
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
    codes = np.asarray(codes).astype(np.uint32)
    fraction = codes & np.uint32((1 << fmt.mantissa_bits) - 1)
    exponent = (codes >> np.uint32(fmt.mantissa_bits)) & np.uint32((1 << fmt.exponent_bits) - 1)
    sign = codes >> np.uint32(fmt.bits - 1)
    return sign, exponent, fraction


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
    sign, exponent, fraction = (field.astype(np.int64) for field in split_fields(codes, fmt))
    m, top = fmt.mantissa_bits, (1 << fmt.exponent_bits) - 1
    significand = np.where(exponent > 0, fraction + (1 << m), fraction)  # the hidden 1
    power = np.maximum(exponent, 1) - fmt.bias - m  # subnormals share the smallest exponent
    magnitude = np.ldexp(significand.astype(np.float64), power.astype(np.int32))
    if fmt.nan == "ieee":
        special = np.where((fraction == 0) & fmt.has_inf, np.inf, np.nan)
        magnitude = np.where(exponent == top, special, magnitude)
    else:
        magnitude = np.where((exponent == top) & (fraction == (1 << m) - 1), np.nan, magnitude)
    return np.where(sign == 1, -magnitude, magnitude)


def _largest_finite_code(fmt: FloatFormat) -> int:
    """The code of the largest finite positive number of ``fmt`` (sign bit clear)."""
    if fmt.nan == "ieee":  # the whole all-ones exponent is reserved
        return (((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits) - 1
    return (1 << (fmt.bits - 1)) - 2  # only S.1…1.1…1 is reserved


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
    x = np.asarray(x, dtype=np.float64)
    m, emin = fmt.mantissa_bits, 1 - fmt.bias
    magnitude = np.abs(x)
    _, k = np.frexp(magnitude)  # magnitude = f × 2^k with 0.5 <= f < 1
    exponent = np.maximum(k - 1, emin)  # binade of |x|; everything below it is subnormal
    with np.errstate(invalid="ignore"):  # NaN input: its code is set below
        units = np.rint(np.ldexp(magnitude, m - exponent))  # |x| in ULPs, rounded half to even
    # Exponent field × 2^m + fraction: a rounding carry (units = 2^(m+1)) moves up one binade.
    code = (exponent - emin) * float(1 << m) + units
    code = np.where(magnitude == 0, 0.0, code)
    largest = _largest_finite_code(fmt)
    top = ((1 << fmt.exponent_bits) - 1) << m
    inf_code = top if fmt.has_inf else (1 << (fmt.bits - 1)) - 1
    nan_code = top | (1 << (m - 1)) if fmt.nan == "ieee" else (1 << (fmt.bits - 1)) - 1
    code = np.where(code > largest, inf_code, code)  # overflow, and ±Inf input
    code = np.where(np.isnan(x), nan_code, code).astype(np.uint32)
    return code | (np.signbit(x).astype(np.uint32) << np.uint32(fmt.bits - 1))


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
    m, top = fmt.mantissa_bits, (1 << fmt.exponent_bits) - 1
    if fmt.nan == "ieee":  # top exponent reserved: the largest is 1.11…1 × 2^(top − 1 − bias)
        largest = (2.0 - 2.0**-m) * 2.0 ** (top - 1 - fmt.bias)
    else:  # only the all-ones fraction of the top exponent is NaN: 1.11…10 × 2^(top − bias)
        largest = (2.0 - 2.0 ** (1 - m)) * 2.0 ** (top - fmt.bias)
    return {
        "max": largest,
        "min_normal": 2.0 ** (1 - fmt.bias),
        "min_subnormal": 2.0 ** (1 - fmt.bias - m),
        "epsilon": 2.0**-m,
    }


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
    magnitude = np.abs(np.asarray(x, dtype=np.float64))
    emin = 1 - fmt.bias
    _, k = np.frexp(magnitude)
    exponent = np.where(magnitude == 0, emin, np.maximum(k - 1, emin))
    spacing = np.ldexp(1.0, (exponent - fmt.mantissa_bits).astype(np.int32))
    return np.where(np.isfinite(magnitude), spacing, np.nan)


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
    x = np.asarray(x, dtype=np.float64)
    stored = decode(encode(x, fmt), fmt)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.abs(stored - x) / np.abs(x)
    return np.where(x == 0, 0.0, error)
