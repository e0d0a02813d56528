"""Graded tests for chapter 2, "Numbers in bits" (topic ``floats``).

Every expected value comes from an independent reference: numpy's float16/float32 bit views,
``ml_dtypes`` (bfloat16, float8_e4m3fn, float8_e5m2), numbers worked by hand in the comments,
or brute force over every code of a small format (``reference_value`` below reads a code from
its bit string, one code at a time). None is computed by the solution.

One trap of the references, worth knowing: ``ml_dtypes`` converts float64 to bfloat16 and FP8
through float32, which rounds twice; from float32 input it rounds once. So the ``ml_dtypes``
comparisons feed float32 values, and correct single rounding from float64 is checked by hand.
"""

import functools
import warnings
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from course.formats import BF16, E4M3, E5M2, FP16, FP32, FloatFormat
from grading import check, topic_fixture

TOPIC = "floats"
POINTS = {
    "split_fields": 2,
    "decode": 4,
    "encode": 6,
    "limits": 3,
    "ulp": 3,
    "relative_error": 2,
}
floats = topic_fixture(TOPIC)

FORMATS = [FP32, FP16, BF16, E4M3, E5M2]
# numpy / ml_dtypes types of the course formats, and the unsigned type of the same width.
REFERENCE = {
    "fp32": (np.float32, np.uint32),
    "fp16": (np.float16, np.uint16),
    "bf16": (ml_dtypes.bfloat16, np.uint16),
    "e4m3": (ml_dtypes.float8_e4m3fn, np.uint8),
    "e5m2": (ml_dtypes.float8_e5m2, np.uint8),
}
# Small formats no library knows, checked by brute force over all their codes.
TOY_FORMATS = [
    FloatFormat("e3m2", exponent_bits=3, mantissa_bits=2, bias=3),
    FloatFormat("e3m2fn", exponent_bits=3, mantissa_bits=2, bias=3, has_inf=False, nan="all_ones"),
    FloatFormat("e2m5", exponent_bits=2, mantissa_bits=5, bias=1),
    FloatFormat("e4m1fn", exponent_bits=4, mantissa_bits=1, bias=9, has_inf=False, nan="all_ones"),
    FloatFormat("e3m3_noinf", exponent_bits=3, mantissa_bits=3, bias=4, has_inf=False),
]


def fmt_id(fmt: FloatFormat) -> str:
    return fmt.name


def all_codes(fmt: FloatFormat) -> np.ndarray:
    """Every code of a format of at most 16 bits, as uint32."""
    return np.arange(1 << fmt.bits, dtype=np.uint32)


def library_values(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """The values of ``codes`` according to numpy / ml_dtypes, as float64."""
    dtype, utype = REFERENCE[fmt.name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return codes.astype(utype).view(dtype).astype(np.float64)


def library_codes(x: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """numpy's / ml_dtypes' rounding of ``x`` to ``fmt``, as uint32 codes."""
    dtype, utype = REFERENCE[fmt.name]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return x.astype(dtype).view(utype).astype(np.uint32)


def reference_value(code: int, fmt: FloatFormat) -> float:
    """One code read from its bit string, exactly (Fraction), following the FloatFormat docs."""
    bits = format(code, f"0{fmt.bits}b")
    sign = -1 if bits[0] == "1" else 1
    exponent = int(bits[1 : 1 + fmt.exponent_bits], 2)
    fraction_bits = bits[1 + fmt.exponent_bits :]
    fraction = Fraction(int(fraction_bits, 2), 2**fmt.mantissa_bits)
    all_ones = 2**fmt.exponent_bits - 1
    if fmt.nan == "all_ones" and exponent == all_ones and "0" not in fraction_bits:
        return float("nan")
    if fmt.nan == "ieee" and exponent == all_ones:
        if fraction == 0 and fmt.has_inf:
            return sign * float("inf")
        return float("nan")
    if exponent == 0:
        magnitude = fraction * Fraction(2) ** (1 - fmt.bias)
    else:
        magnitude = (1 + fraction) * Fraction(2) ** (exponent - fmt.bias)
    return float(sign * magnitude) if magnitude else (-0.0 if sign < 0 else 0.0)


@functools.cache  # filled at import for every TOY_FORMAT (see ENCODE_SMALL_FORMATS); read-only
def reference_table(fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of every finite non-negative number of a small format, by value."""
    pairs = [(c, reference_value(c, fmt)) for c in range(1 << (fmt.bits - 1))]
    pairs = [(c, v) for c, v in pairs if np.isfinite(v)]
    codes, values = zip(*sorted(pairs, key=lambda p: p[1]), strict=True)
    return np.array(codes, dtype=np.int64), np.array(values)


def reference_encode(x: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Brute-force rounding: the nearest finite value, ties to the even code; a virtual value one
    ULP above the largest stands for overflow (Inf, or NaN without infinities)."""
    codes, values = reference_table(fmt)
    largest = values[-1]
    virtual = largest + 2.0 ** (np.floor(np.log2(largest)) - fmt.mantissa_bits)
    codes = np.append(codes, codes[-1] + 1)
    values = np.append(values, virtual)
    distance = np.abs(np.abs(x)[:, None] - values[None, :])
    nearest = distance == distance.min(axis=1, keepdims=True)
    even = nearest & (codes[None, :] % 2 == 0)
    pick = np.where(even.any(axis=1), even.argmax(axis=1), nearest.argmax(axis=1))
    magnitude = codes[pick]
    top = (2**fmt.exponent_bits - 1) << fmt.mantissa_bits
    overflow = top if fmt.has_inf else 2 ** (fmt.bits - 1) - 1
    magnitude = np.where(pick == len(values) - 1, overflow, magnitude)
    return (magnitude | (np.signbit(x).astype(np.int64) << (fmt.bits - 1))).astype(np.uint32)


def is_nan_code(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Whether codes are NaN, read from the bits (independently of any decoder)."""
    codes = np.asarray(codes).astype(np.int64)
    magnitude = codes & (2 ** (fmt.bits - 1) - 1)
    if fmt.nan == "all_ones":
        return magnitude == 2 ** (fmt.bits - 1) - 1
    top = (2**fmt.exponent_bits - 1) << fmt.mantissa_bits
    if not fmt.has_inf:
        return magnitude >= top
    return magnitude > top


def adjacent_midpoints(values: np.ndarray) -> np.ndarray:
    """The points exactly halfway between consecutive sorted finite values (exact in float64)."""
    finite = np.unique(values[np.isfinite(values)])
    return (finite[1:] + finite[:-1]) / 2


def as_codes(received, what: str) -> np.ndarray:
    """The received codes as an integer array, or a failed test that says why."""
    got = np.asarray(received) if received is not None else None
    if got is None or not np.issubdtype(got.dtype, np.integer):
        check.fail(what, "an unsigned integer array (uint32)", received, "return integer codes")
    return got


# --- split_fields ---------------------------------------------------------------------------


@pytest.mark.exercise("split_fields")
def test_split_fields_fp16_by_hand(floats):
    # FP16 is 1 | 5 | 10 bits.  0x3C00 = 0 01111 0000000000 (1.0);  0xC000 = 1 10000 0…0 (−2.0);
    # 0x0001 = 0 00000 0000000001 (smallest subnormal);  0x7BFF = 0 11110 1111111111 (65,504);
    # 0xFC00 = 1 11111 0000000000 (−Inf).
    codes = np.array([0x3C00, 0xC000, 0x0001, 0x7BFF, 0xFC00], dtype=np.uint16)
    sign, exponent, fraction = floats.split_fields(codes, FP16)
    what = "split_fields([0x3C00, 0xC000, 0x0001, 0x7BFF, 0xFC00], FP16)"
    check.arrays_equal(sign, np.array([0, 1, 0, 0, 1]), what=what + " sign",
                       hint="the sign is the top bit: shift right by bits − 1")  # fmt: skip
    check.arrays_equal(exponent, np.array([15, 16, 0, 30, 31]), what=what + " exponent",
                       hint="shift right by mantissa_bits, then keep exponent_bits bits (mask off the sign)")  # fmt: skip
    check.arrays_equal(fraction, np.array([0, 0, 1, 1023, 0]), what=what + " fraction",
                       hint="the fraction is the low mantissa_bits bits, without the implicit 1")  # fmt: skip


def bit_string_fields(codes: np.ndarray, fmt: FloatFormat) -> list[np.ndarray]:
    """(sign, exponent, fraction) of ``codes`` [N] read off their bit strings, as int64 [N].

    The bit string of a code is its ``fmt.bits`` low bits, most significant first (numpy's
    ``unpackbits`` of the big-endian bytes); each field is read as a binary numeral.
    """
    as_bytes = codes.astype(">u4").view(np.uint8).reshape(-1, 4)
    bits = np.unpackbits(as_bytes, axis=1)[:, 32 - fmt.bits :]
    e = fmt.exponent_bits
    fields = []
    for field_bits in (bits[:, :1], bits[:, 1 : 1 + e], bits[:, 1 + e :]):
        value = np.zeros(len(codes), dtype=np.int64)
        for column in field_bits.T:  # left to right: value = 2 × value + next bit
            value = 2 * value + column
        fields.append(value)
    return fields


def split_fields_case(fmt: FloatFormat) -> tuple[np.ndarray, list[np.ndarray]]:
    """Codes of ``fmt`` (all of them up to 16 bits, else 2000 random ones) and their fields."""
    rng = np.random.default_rng(1)
    codes = (
        all_codes(fmt)
        if fmt.bits <= 16
        else rng.integers(0, 1 << fmt.bits, size=2000, dtype=np.uint64).astype(np.uint32)
    )
    return codes, bit_string_fields(codes, fmt)


# Computed once when the file is imported: the same for every submission graded.
SPLIT_FIELDS_CASES = {fmt.name: split_fields_case(fmt) for fmt in FORMATS + TOY_FORMATS}


@pytest.mark.exercise("split_fields")
@pytest.mark.parametrize("fmt", FORMATS + TOY_FORMATS, ids=fmt_id)
def test_split_fields_match_the_bit_string(floats, fmt):
    codes, expected = SPLIT_FIELDS_CASES[fmt.name]
    got = floats.split_fields(codes.copy(), fmt)
    if not isinstance(got, tuple | list) or len(got) != 3:
        check.fail(f"split_fields(codes, {fmt.name})", "a tuple (sign, exponent, fraction)", got)
    for name, field, reference in zip(("sign", "exponent", "fraction"), got, expected, strict=True):
        check.arrays_equal(
            np.asarray(field).astype(np.int64),
            reference,
            what=f"split_fields(codes, {fmt})[{name}]",
            hint=f"read the bit string: 1 sign bit, {fmt.exponent_bits} exponent bits, "
            f"{fmt.mantissa_bits} fraction bits",
        )


@pytest.mark.exercise("split_fields")
def test_split_fields_bf16_is_the_top_half_of_fp32(floats):
    # BF16 keeps FP32's sign and 8 exponent bits and the top 7 of its 23 fraction bits.
    rng = np.random.default_rng(2)
    fp32 = rng.integers(0, 2**32, size=5000, dtype=np.uint64).astype(np.uint32)
    s32, e32, f32 = floats.split_fields(fp32, FP32)
    s16, e16, f16 = floats.split_fields(fp32 >> 16, BF16)
    check.arrays_equal(np.asarray(s16), np.asarray(s32), what="BF16 sign vs FP32 sign")
    check.arrays_equal(np.asarray(e16), np.asarray(e32), what="BF16 exponent vs FP32 exponent")
    check.arrays_equal(
        np.asarray(f16).astype(np.int64),
        np.asarray(f32).astype(np.int64) >> 16,
        what="BF16 fraction vs the top 7 bits of the FP32 fraction",
        hint="the fraction mask must have mantissa_bits ones",
    )


# --- decode ---------------------------------------------------------------------------------


def check_values(got, expected: np.ndarray, what: str, hint: str) -> None:
    """Exact values, NaN where NaN, and the sign of zero."""
    got_array = np.asarray(got) if got is not None else None
    if got_array is None or not np.issubdtype(got_array.dtype, np.floating):
        check.fail(what, "a float64 array", got, hint="return floating-point values")
    check.arrays_equal(got_array.astype(np.float64), expected, what=what, hint=hint)
    zeros = expected == 0
    check.arrays_equal(
        np.signbit(got_array[zeros]), np.signbit(expected[zeros]), what=what + " (sign of zero)",
        hint="the code with only the sign bit set is −0.0",
    )  # fmt: skip


@pytest.mark.exercise("decode")
def test_decode_fp16_by_hand(floats):
    # 0x0001: subnormal, 1 × 2^(1−15−10) = 2^−24 (not 2^−25: subnormals use exponent 1 − bias);
    # 0x03FF: 1023 × 2^−24 (largest subnormal);  0x0400: 2^−14 (smallest normal);
    # 0x3555: (1 + 341/1024) × 2^−2 = 0.333251953125;  0x7BFF: (2 − 2^−10) × 2^15 = 65,504;
    # 0x8000: −0.0;  0x7C00: Inf;  0x7E00: NaN.
    codes = np.array([0x0001, 0x03FF, 0x0400, 0x3555, 0x7BFF, 0x8000, 0x7C00, 0x7E00])
    expected = np.array([2.0**-24, 1023 * 2.0**-24, 2.0**-14, 0.333251953125, 65504.0, -0.0,
                         np.inf, np.nan])  # fmt: skip
    check_values(
        floats.decode(codes, FP16), expected, what="decode([0x0001, 0x03FF, ...], FP16)",
        hint="subnormals (exponent field 0) have no implicit 1 and use exponent 1 − bias",
    )  # fmt: skip


@pytest.mark.exercise("decode")
@pytest.mark.parametrize("fmt", [FP16, BF16, E4M3, E5M2], ids=fmt_id)
def test_decode_every_code(floats, fmt):
    codes = all_codes(fmt)
    hints = {
        "e4m3": "E4M3 has no Inf: only S.1111.111 is NaN, the rest of the top exponent are numbers (up to 448)",
        "e5m2": "E5M2 is IEEE-like: S.11111.00 is Inf, the other top-exponent codes NaN",
    }
    check_values(
        floats.decode(codes, fmt), library_values(codes, fmt),
        what=f"decode(all {1 << fmt.bits} codes, {fmt})",
        hint=hints.get(fmt.name, "normal: (1 + f/2^m) × 2^(e − bias); subnormal: (f/2^m) × 2^(1 − bias)"),
    )  # fmt: skip


def decode_fp32_case() -> tuple[np.ndarray, np.ndarray]:
    """200,000 random FP32 codes and the special ones (uint32), and numpy's values (float64)."""
    rng = np.random.default_rng(3)
    special = [0, 1, 0x007FFFFF, 0x00800000, 0x3F800000, 0x7F7FFFFF, 0x7F800000, 0x7FC00000,
               0x80000000, 0x80000001, 0xFF800000, 0xFFFFFFFF]  # fmt: skip
    codes = np.concatenate([rng.integers(0, 2**32, size=200_000, dtype=np.uint64), special])
    codes = codes.astype(np.uint32)
    return codes, library_values(codes, FP32)


DECODE_FP32 = decode_fp32_case()  # computed once, at import


@pytest.mark.exercise("decode")
def test_decode_fp32_random_and_special_codes(floats):
    codes, expected = DECODE_FP32
    check_values(
        floats.decode(codes.copy(), FP32), expected, what="decode(codes, FP32)",
        hint="FP32 values need 24 significant bits: compute in float64, not float16/float32 steps",
    )  # fmt: skip


# Every code of every small format read from its bit string, once, at import.
DECODE_SMALL_FORMATS = {
    fmt.name: np.array([reference_value(int(c), fmt) for c in all_codes(fmt)])
    for fmt in TOY_FORMATS
}


@pytest.mark.exercise("decode")
@pytest.mark.parametrize("fmt", TOY_FORMATS, ids=fmt_id)
def test_decode_small_formats_by_brute_force(floats, fmt):
    codes = all_codes(fmt)
    expected = DECODE_SMALL_FORMATS[fmt.name]
    check_values(
        floats.decode(codes, fmt), expected, what=f"decode(all codes, {fmt}, has_inf={fmt.has_inf}, nan={fmt.nan!r})",
        hint="use the FloatFormat fields (bias, has_inf, nan), not constants of one format",
    )  # fmt: skip


# --- encode ---------------------------------------------------------------------------------


@pytest.mark.exercise("encode")
def test_encode_fp16_by_hand(floats):
    # FP16 has 10 fraction bits, so near 1 the spacing is 2^−10.
    cases = [
        (1.0, 0x3C00),
        (1 + 2.0**-11, 0x3C00),  # halfway between 1 and 1 + 2^−10: tie to the even code 0x3C00
        (1 + 3 * 2.0**-11, 0x3C02),  # halfway between 0x3C01 and 0x3C02: tie to even goes up
        (1 + 2.0**-11 + 2.0**-40, 0x3C01),  # just above halfway: up (rounding via float32 loses it)
        (2049.0, 0x6800),  # 2048..4096 are 2 apart: 2049 is a tie, 2048 (0x6800) is even
        (-2.5, 0xC100),  # sign 1, exponent 16, fraction 0.25 × 1024 = 256
        (65504.0, 0x7BFF),
        (65519.0, 0x7BFF),  # below 65,504 + 16 (half an ULP): still the largest finite
        (65520.0, 0x7C00),  # the tie above the largest rounds to even: Inf
        (2.0**-24, 0x0001),  # smallest subnormal
        (2.0**-25, 0x0000),  # halfway between 0 and 2^−24: ties to even, 0
        (1.5 * 2.0**-25, 0x0001),
        (-0.0, 0x8000),
        (-1e-30, 0x8000),  # underflow keeps the sign
    ]
    x = np.array([c[0] for c in cases])
    expected = np.array([c[1] for c in cases])
    got = as_codes(floats.encode(x, FP16), "encode(x, FP16)")
    check.arrays_equal(
        got.astype(np.int64), expected, what="encode([1.0, 1 + 2^-11, ...], FP16)",
        hint="round to nearest, ties to the even code; subnormals below 2^-14; Inf above 65,504 + 16",
    )  # fmt: skip


@pytest.mark.exercise("encode")
def test_encode_returns_unsigned_codes_of_the_right_shape(floats):
    got = floats.encode(np.zeros((2, 3)), FP16)
    if got is None or np.asarray(got).shape != (2, 3):
        check.fail("encode(np.zeros((2, 3)), FP16).shape", (2, 3), None if got is None else np.asarray(got).shape)  # fmt: skip
    check.equal(
        bool(np.issubdtype(np.asarray(got).dtype, np.unsignedinteger)), True,
        what=f"encode(...).dtype is unsigned (got {np.asarray(got).dtype})",
        hint="codes are unsigned integers: return a uint32 array",
    )  # fmt: skip


@pytest.mark.exercise("encode")
def test_encode_every_fp16_value_to_its_own_code(floats):
    codes = all_codes(FP16)
    values = library_values(codes, FP16)
    finite = np.isfinite(values)
    got = as_codes(floats.encode(values, FP16), "encode(every FP16 value, FP16)").astype(np.int64)
    check.arrays_equal(
        got[finite], codes[finite].astype(np.int64), what="encode(decoded FP16 code, FP16)",
        hint="a number the format holds must come back as its own code, −0.0 as 0x8000",
    )  # fmt: skip
    check.arrays_equal(
        got[np.isinf(values)], codes[np.isinf(values)].astype(np.int64), what="encode(±Inf, FP16)"
    )
    check.arrays_equal(
        is_nan_code(got[np.isnan(values)], FP16), np.ones(int(np.isnan(values).sum()), bool),
        what="encode(NaN, FP16) is a NaN code", hint="NaN: exponent all ones, fraction non-zero",
    )  # fmt: skip


@pytest.mark.exercise("encode")
def test_encode_fp16_ties_and_neighbours_match_numpy(floats):
    # numpy rounds float64 to float16 once, correctly: the reference for every tie.
    values = library_values(all_codes(FP16), FP16)
    mid = adjacent_midpoints(values)
    x = np.concatenate([mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf)])
    got = as_codes(floats.encode(x, FP16), "encode(midpoints, FP16)")
    check.arrays_equal(
        got.astype(np.int64), library_codes(x, FP16).astype(np.int64),
        what="encode(points halfway between FP16 neighbours, and one float64 step either side)",
        hint="exactly halfway: the neighbour with the even code; otherwise the nearer neighbour",
    )  # fmt: skip


def encode_fp16_random_case() -> tuple[np.ndarray, np.ndarray]:
    """300,000 values ±2^U(−30, 20) (float64) and numpy's FP16 codes of them (int64)."""
    rng = np.random.default_rng(4)
    x = rng.choice([-1.0, 1.0], 300_000) * 2.0 ** rng.uniform(-30, 20, 300_000)
    return x, library_codes(x, FP16).astype(np.int64)


ENCODE_FP16_RANDOM = encode_fp16_random_case()  # computed once, at import


@pytest.mark.exercise("encode")
def test_encode_fp16_random_values_match_numpy(floats):
    x, expected = ENCODE_FP16_RANDOM
    got = as_codes(floats.encode(x.copy(), FP16), "encode(x, FP16)")
    check.arrays_equal(
        got.astype(np.int64), expected,
        what="encode(±2^U(−30, 20), FP16) vs numpy astype(float16)",
        hint="covers underflow to ±0, subnormals, normals and overflow to ±Inf",
    )  # fmt: skip


def encode_fp32_case() -> tuple[np.ndarray, np.ndarray]:
    """Values over every FP32 binade, exact ties between FP32 neighbours (both signs) and
    specials (float64 [600,009]), and numpy's FP32 codes of them (int64)."""
    rng = np.random.default_rng(5)
    n = 200_000
    wide = rng.choice([-1.0, 1.0], n) * 2.0 ** rng.uniform(-155, 130, n)  # every FP32 binade
    pairs = rng.integers(0, 0x7F7FFFFF, size=n, dtype=np.uint64).astype(np.uint32)
    low = pairs.view(np.float32).astype(np.float64)
    high = (pairs + 1).view(np.float32).astype(np.float64)
    ties = (low + high) / 2  # exactly halfway between FP32 neighbours
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.5e38, -1e-50, 2.0**-149, 2.0**-150])
    x = np.concatenate([wide, ties, -ties, special])
    return x, library_codes(x, FP32).astype(np.int64)


ENCODE_FP32 = encode_fp32_case()  # computed once, at import


@pytest.mark.exercise("encode")
def test_encode_fp32_matches_numpy(floats):
    x, expected = ENCODE_FP32
    got = as_codes(floats.encode(x.copy(), FP32), "encode(x, FP32)")
    nan = np.isnan(x)
    check.arrays_equal(
        got[~nan].astype(np.int64), expected[~nan],
        what="encode(x, FP32) vs numpy astype(float32) (random values, exact ties, subnormals, overflow)",
        hint="round the float64 significand to 24 bits, ties to even",
    )  # fmt: skip
    check.arrays_equal(is_nan_code(got[nan], FP32), np.array([True]), what="encode(NaN, FP32)")


def encode_bf16_case() -> tuple[np.ndarray, np.ndarray]:
    """Random finite float32 values, the midpoints between BF16 neighbours (both signs) and
    specials (float32), and ml_dtypes' BF16 codes of them (int64)."""
    rng = np.random.default_rng(6)
    n = 200_000
    x = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = x[np.isfinite(x)]
    bf16 = library_values(all_codes(BF16), BF16).astype(np.float32)
    mid = adjacent_midpoints(bf16.astype(np.float64)).astype(np.float32)  # exact in float32
    x = np.concatenate([x, mid, -mid, np.float32([np.inf, -np.inf, 3.4e38, -0.0])])
    return x, library_codes(x, BF16).astype(np.int64)


ENCODE_BF16 = encode_bf16_case()  # computed once, at import


@pytest.mark.exercise("encode")
def test_encode_bf16_matches_ml_dtypes_from_float32(floats):
    x, expected = ENCODE_BF16
    got = as_codes(floats.encode(x.copy(), BF16), "encode(x, BF16)")
    check.arrays_equal(
        got.astype(np.int64), expected,
        what="encode(float32 x, BF16) vs ml_dtypes.bfloat16",
        hint="BF16 keeps the top 16 bits of FP32 after rounding the low 16 to nearest, ties to even",
    )  # fmt: skip


@pytest.mark.exercise("encode")
def test_encode_rounds_float64_once(floats):
    # 1 + 2^−8 is halfway between the BF16 numbers 1 and 1 + 2^−7: ties to even, 0x3F80.
    # Add 2^−40 and it is above halfway: 0x3F81. Going through float32 first would erase the
    # 2^−40 (float32 keeps 23 fraction bits) and give 0x3F80 again: two roundings, wrong answer.
    x = np.array([1 + 2.0**-8, 1 + 2.0**-8 + 2.0**-40, 1 + 2.0**-4 + 2.0**-40])
    got = as_codes(floats.encode(x[:2], BF16), "encode([1 + 2^-8, 1 + 2^-8 + 2^-40], BF16)")
    check.arrays_equal(
        got.astype(np.int64), np.array([0x3F80, 0x3F81]),
        what="encode([1 + 2^-8, 1 + 2^-8 + 2^-40], BF16)",
        hint="round the float64 value once; do not convert to float32 first",
    )  # fmt: skip
    # E4M3 near 1 is 2^−3 apart: 1 + 2^−4 + 2^−40 is just above halfway to 1.125 (code 0x39).
    got = as_codes(floats.encode(x[2:], E4M3), "encode([1 + 2^-4 + 2^-40], E4M3)")
    check.arrays_equal(
        got.astype(np.int64), np.array([0x39]), what="encode([1 + 2^-4 + 2^-40], E4M3)",
        hint="round the float64 value once; do not convert to float32 first",
    )  # fmt: skip


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", [E4M3, E5M2], ids=fmt_id)
def test_encode_fp8_matches_ml_dtypes_from_float32(floats, fmt):
    values = library_values(all_codes(fmt), fmt)
    mid = adjacent_midpoints(values).astype(np.float32)
    x = np.concatenate([values[np.isfinite(values)].astype(np.float32), mid,
                        np.nextafter(mid, np.float32(np.inf)), np.nextafter(mid, np.float32(-np.inf))])  # fmt: skip
    x = np.concatenate([x, -x])
    got = as_codes(floats.encode(x, fmt), f"encode(x, {fmt.name})")
    check.arrays_equal(
        got.astype(np.int64), library_codes(x, fmt).astype(np.int64),
        what=f"encode(every value, midpoint and neighbour of a midpoint, {fmt})",
        hint="ties to even, subnormals included; use the format's own bias and mantissa width",
    )  # fmt: skip


@pytest.mark.exercise("encode")
def test_encode_overflow_and_nan(floats):
    # E4M3 (no Inf): 448 = 1.75 × 2^8 is the largest; the next step would be 480, so 464 is a
    # tie that goes to the even code 0x7E (448); anything above is NaN (0x7F), as in ml_dtypes.
    # E5M2: largest 57,344 = 1.75 × 2^15, half an ULP above it is 61,440: a tie, to Inf (0x7C).
    # FP16 and BF16 overflow to Inf; NaN stays NaN everywhere.
    cases = [
        (E4M3, [448.0, 463.0, 464.0, 464.5, 1e6, -1e6, np.inf, -np.inf], [0x7E, 0x7E, 0x7E, 0x7F, 0x7F, 0xFF, 0x7F, 0xFF]),
        (E5M2, [57344.0, 61439.0, 61440.0, 1e6, -np.inf], [0x7B, 0x7B, 0x7C, 0x7C, 0xFC]),
        (FP16, [65520.0, -1e6, np.inf], [0x7C00, 0xFC00, 0x7C00]),
        (BF16, [3.4e38, -1e39, np.inf], [0x7F80, 0xFF80, 0x7F80]),
    ]  # fmt: skip
    for fmt, x, expected in cases:
        got = as_codes(floats.encode(np.array(x), fmt), f"encode({x}, {fmt.name})")
        check.arrays_equal(
            got.astype(np.int64), np.array(expected), what=f"encode({x}, {fmt.name})",
            hint="overflow: ±Inf where the format has it, NaN (S.1111.111) for E4M3; ties to even at the top",
        )  # fmt: skip
    for fmt in FORMATS:
        got = as_codes(floats.encode(np.array([np.nan]), fmt), f"encode([nan], {fmt.name})")
        check.arrays_equal(
            is_nan_code(got, fmt), np.array([True]), what=f"encode([nan], {fmt.name}) is a NaN code",
            hint="E4M3's NaN is S.1111.111; IEEE-style NaN has an all-ones exponent and a non-zero fraction",
        )  # fmt: skip


def encode_small_format_case(fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """Every value of a small format, the midpoints, random values up to 1.5 × the largest and
    below the smallest, both signs (float64); and their brute-force codes (int64)."""
    rng = np.random.default_rng(7)
    _, values = reference_table(fmt)
    mid = adjacent_midpoints(values)
    top = values[-1] * 1.5
    x = np.concatenate(
        [values, mid, rng.uniform(0, top, 3000), 2.0 ** rng.uniform(-20, 0, 500) * values[1]]
    )
    x = np.concatenate([x, -x])
    return x, reference_encode(x, fmt).astype(np.int64)


ENCODE_SMALL_FORMATS = {fmt.name: encode_small_format_case(fmt) for fmt in TOY_FORMATS}  # at import


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", TOY_FORMATS, ids=fmt_id)
def test_encode_small_formats_by_brute_force(floats, fmt):
    x, expected = ENCODE_SMALL_FORMATS[fmt.name]
    got = as_codes(floats.encode(x.copy(), fmt), f"encode(x, {fmt.name})")
    check.arrays_equal(
        got.astype(np.int64), expected,
        what=f"encode(x, {fmt}, has_inf={fmt.has_inf}, nan={fmt.nan!r}) vs brute force",
        hint="use the FloatFormat fields (bias, mantissa_bits, has_inf, nan), not one format's constants",
    )  # fmt: skip


# --- limits ---------------------------------------------------------------------------------


@pytest.mark.exercise("limits")
@pytest.mark.parametrize("fmt", FORMATS, ids=fmt_id)
def test_limits_match_finfo(floats, fmt):
    info = (np.finfo if fmt.name in ("fp32", "fp16") else ml_dtypes.finfo)(REFERENCE[fmt.name][0])
    got = floats.limits(fmt)
    if not isinstance(got, dict):
        check.fail(f"limits({fmt.name})", "a dict", got)
    expected = {"max": info.max, "min_normal": info.smallest_normal,
                "min_subnormal": info.smallest_subnormal, "epsilon": info.eps}  # fmt: skip
    hints = {
        "max": "IEEE-style formats reserve the all-ones exponent; E4M3 only its all-ones fraction (448)",
        "min_normal": "exponent field 1: 2^(1 − bias)",
        "min_subnormal": "fraction 1 with exponent field 0: 2^(1 − bias − m)",
        "epsilon": "the gap from 1 to the next number: 2^−m (not half of it)",
    }
    for key, value in expected.items():
        check.close(got.get(key), float(value), rel=0, what=f"limits({fmt.name})[{key!r}]", hint=hints[key])  # fmt: skip


@pytest.mark.exercise("limits")
def test_limits_by_hand(floats):
    # FP16: (2 − 2^−10) × 2^15 = 65,504.  E4M3: 1.110₂ × 2^(15 − 7) = 1.75 × 256 = 448.
    # BF16: smallest subnormal 2^(1 − 127 − 7) = 2^−133.
    check.close(floats.limits(FP16)["max"], 65504.0, rel=0, what="limits(FP16)['max']")
    check.close(floats.limits(E4M3)["max"], 448.0, rel=0, what="limits(E4M3)['max']",
                hint="E4M3 uses the top exponent for numbers; only S.1111.111 is NaN")  # fmt: skip
    check.close(floats.limits(BF16)["min_subnormal"], 2.0**-133, rel=0,
                what="limits(BF16)['min_subnormal']")  # fmt: skip


@pytest.mark.exercise("limits")
@pytest.mark.parametrize("fmt", TOY_FORMATS, ids=fmt_id)
def test_limits_small_formats_by_brute_force(floats, fmt):
    _, values = reference_table(fmt)
    positive = values[values > 0]
    normal = [reference_value(1 << fmt.mantissa_bits, fmt)]  # exponent field 1, fraction 0
    one_up = min(v for v in positive if v > 1)
    expected = {"max": positive.max(), "min_normal": normal[0], "min_subnormal": positive.min(),
                "epsilon": one_up - 1}  # fmt: skip
    got = floats.limits(fmt)
    for key, value in expected.items():
        check.close(got[key], float(value), rel=0, what=f"limits({fmt}, nan={fmt.nan!r})[{key!r}]",
                    hint="compare with the largest and smallest of all the format's values")  # fmt: skip


# --- ulp ------------------------------------------------------------------------------------


def next_up_gaps(fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """(values, gap to the next code up) for every finite non-negative value below the largest."""
    codes = all_codes(fmt)[: 1 << (fmt.bits - 1)]
    values = library_values(codes, fmt)
    following = library_values(codes + 1, fmt) if fmt.bits < 32 else None
    keep = np.isfinite(values) & np.isfinite(following)
    return values[keep], following[keep] - values[keep]


@pytest.mark.exercise("ulp")
@pytest.mark.parametrize("fmt", [FP16, BF16, E4M3, E5M2], ids=fmt_id)
def test_ulp_is_the_gap_to_the_next_code(floats, fmt):
    values, gaps = next_up_gaps(fmt)
    x = np.concatenate([values, -values])
    check.arrays_equal(
        np.asarray(floats.ulp(x, fmt), dtype=np.float64), np.concatenate([gaps, gaps]),
        what=f"ulp(every finite value of {fmt}, and its negative)",
        hint="2^(e − m) in the binade [2^e, 2^(e+1)); the subnormal spacing 2^(1 − bias − m) below the smallest normal",
    )  # fmt: skip


@pytest.mark.exercise("ulp")
def test_ulp_fp32_matches_numpy_spacing(floats):
    rng = np.random.default_rng(8)
    x = (
        rng.integers(0, 0x7F7FFFFF, size=100_000, dtype=np.uint64)
        .astype(np.uint32)
        .view(np.float32)
    )
    check.arrays_equal(
        np.asarray(floats.ulp(x, FP32), dtype=np.float64), np.spacing(x).astype(np.float64),
        what="ulp(x, FP32) vs np.spacing(float32 x)", hint="2^(floor(log2|x|) − 23), at least 2^−149",
    )  # fmt: skip


@pytest.mark.exercise("ulp")
def test_ulp_between_representable_values_and_specials(floats):
    # 1000.3 lies in [512, 1024) = [2^9, 2^10): FP16 spacing 2^(9 − 10) = 0.5.
    # 3e-6 lies below FP16's smallest normal 2^−14: subnormal spacing 2^−24.
    # 0 gives the subnormal spacing too; 1.0 in BF16: 2^−7; Inf and NaN have none (NaN).
    x = np.array([1000.3, -1000.3, 3e-6, 0.0, 65504.0, np.inf, np.nan])
    expected = np.array([0.5, 0.5, 2.0**-24, 2.0**-24, 32.0, np.nan, np.nan])
    check.arrays_equal(
        np.asarray(floats.ulp(x, FP16), dtype=np.float64), expected,
        what="ulp([1000.3, -1000.3, 3e-6, 0, 65504, inf, nan], FP16)",
        hint="the spacing of the binade the value falls in, clamped at the subnormal spacing; NaN for Inf/NaN",
    )  # fmt: skip
    check.close(floats.ulp(np.array([1.0]), BF16)[0], 2.0**-7, rel=0, what="ulp([1.0], BF16)")


# --- relative_error -------------------------------------------------------------------------


@pytest.mark.exercise("relative_error")
def test_relative_error_of_one_third_by_hand(floats):
    # 1/3 in FP16 is 0x3555 = 1365/4096; 1/3 − 1365/4096 = 1/12288; divided by 1/3: 2^−12.
    check.close(
        floats.relative_error(np.array([1 / 3]), FP16)[0], 2.0**-12, rel=1e-9,
        what="relative_error([1/3], FP16)", hint="|stored − x| / |x|, divided by the exact x",
    )  # fmt: skip


@pytest.mark.exercise("relative_error")
@pytest.mark.parametrize("fmt", [FP32, FP16, BF16], ids=fmt_id)
def test_relative_error_of_weights_matches_the_library_round_trip(floats, fmt):
    rng = np.random.default_rng(9)
    x = (0.02 * rng.standard_normal(50_000)).astype(np.float32).astype(np.float64)
    stored = library_values(library_codes(x.astype(np.float32), fmt), fmt)
    expected = np.abs(stored - x) / np.abs(x)
    got = np.asarray(floats.relative_error(x, fmt), dtype=np.float64)
    check.arrays_close(
        got, expected, rtol=1e-9, what=f"relative_error(0.02 × N(0, 1) weights, {fmt.name})",
        hint="store with round to nearest even, then |stored − x| / |x|",
    )  # fmt: skip
    # In the normal range the error is at most half an ULP over |x|: 2^−(m+1).
    info = (np.finfo if fmt.name != "bf16" else ml_dtypes.finfo)(REFERENCE[fmt.name][0])
    normal = np.abs(x) >= float(info.smallest_normal)
    bound = 2.0 ** -(fmt.mantissa_bits + 1)
    check.equal(
        bool(np.all(got[normal] <= bound)), True,
        what=f"every error of a normal-range value ≤ 2^-{fmt.mantissa_bits + 1}",
    )  # fmt: skip


@pytest.mark.exercise("relative_error")
def test_relative_error_zero_and_overflow(floats):
    # 0 is stored exactly: error 0 (not 0/0). 1e5 overflows FP16 to Inf: error Inf.
    # 1000 overflows E4M3 to NaN: error NaN.
    check.arrays_equal(
        np.asarray(floats.relative_error(np.array([0.0, -0.0, 1e5]), FP16), dtype=np.float64),
        np.array([0.0, 0.0, np.inf]), what="relative_error([0, -0, 1e5], FP16)",
        hint="define the error of an exact zero as 0; overflow to Inf is an infinite error",
    )  # fmt: skip
    check.arrays_equal(
        np.asarray(floats.relative_error(np.array([1000.0]), E4M3), dtype=np.float64),
        np.array([np.nan]),
        what="relative_error([1000], E4M3)",
    )
