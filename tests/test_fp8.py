"""Graded tests for chapter 3, "FP8 and scaling" (topic ``fp8``).

References are independent of the solution: ml_dtypes' and torch's own FP8 types, values worked
by hand (the working is in the comments), brute-force loops over blocks, and properties.
"""

import ml_dtypes
import numpy as np
import pytest
import torch

from grading import check, topic_fixture

TOPIC = "fp8"
POINTS = {
    "decode": 4,
    "encode": 6,
    "quantize_per_tensor": 2,
    "dequantize_per_tensor": 1,
    "quantize_tiles": 3,
    "dequantize_tiles": 2,
    "quantize_blocks": 3,
    "dequantize_blocks": 2,
    "snr_db": 2,
    "fp8_matmul": 6,
}
fp8 = topic_fixture(TOPIC)

ML = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}
MAX = {"e4m3": 448.0, "e5m2": 57344.0}  # E4M3: 2^(15-7) × 1.75; E5M2: 2^(30-15) × 1.75
ALL_CODES = np.arange(256, dtype=np.uint8)


def ml_decode(codes: np.ndarray, fmt: str) -> np.ndarray:
    """Reference decode: reinterpret the bytes as ml_dtypes' FP8 type, widen to float32."""
    return np.asarray(codes, dtype=np.uint8).view(ML[fmt]).astype(np.float32)


def ml_encode(x: np.ndarray, fmt: str) -> np.ndarray:
    """Reference encode (non-saturating) for float32 input: ml_dtypes' cast, as bytes."""
    return np.asarray(x, dtype=np.float32).astype(ML[fmt]).view(np.uint8)


def torch_dtype(fmt: str):
    """torch's FP8 type for "e4m3" or "e5m2"."""
    return {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}[fmt]


def torch_decode(codes: np.ndarray, fmt: str) -> np.ndarray:
    """Reference decode: reinterpret the bytes as torch's FP8 type, widen to float32."""
    return torch.from_numpy(codes.copy()).view(torch_dtype(fmt)).float().numpy()


def torch_encode(x: np.ndarray, fmt: str) -> np.ndarray:
    """Reference encode for float32 input: torch's cast (saturating for E4M3 only), as bytes."""
    return (
        torch.from_numpy(np.asarray(x, dtype=np.float32))
        .to(torch_dtype(fmt))
        .view(torch.uint8)
        .numpy()
    )


def finite_values(fmt: str) -> np.ndarray:
    """Every finite value of the format, −0 and +0 included, from ml_dtypes (float32)."""
    values = ml_decode(ALL_CODES, fmt)
    return values[np.isfinite(values)]


def check_floats(got, expected: np.ndarray, *, what: str, hint: str) -> None:
    """Same float32 values, NaN where expected is NaN, and the same sign on zeros."""
    check.equal(getattr(got, "dtype", None), np.dtype(np.float32), what=f"{what}.dtype", hint=hint)
    check.arrays_equal(got, expected, what=what, hint=hint)
    numbers = ~np.isnan(expected)
    check.arrays_equal(
        np.signbit(got[numbers]),
        np.signbit(expected[numbers]),
        what=f"sign bits of {what} (NaNs left out)",
        hint="keep the sign of zero: 0x80 is −0.0",
    )


def outlier_matrix(rows: int, cols: int, seed: int) -> np.ndarray:
    """Gaussian activations with a few channels 100× larger: the tensors scaling is for."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    x[:, [5, 77]] *= 100.0
    return x


# ---------------------------------------------------------------------------------- decode


@pytest.mark.exercise("decode")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_decode_all_256_codes_match_ml_dtypes_and_torch(fp8, fmt):
    expected = ml_decode(ALL_CODES, fmt)
    got = fp8.decode(ALL_CODES, fmt)
    check_floats(
        got,
        expected,
        what=f'decode(np.arange(256, dtype=np.uint8), "{fmt}")',
        hint="sign, exponent field, fraction field; bias from course.formats; exponent field 0 "
        "means subnormal (no implicit 1)",
    )
    check.arrays_equal(
        got, torch_decode(ALL_CODES, fmt), what=f"decode(all codes, {fmt!r}) against torch"
    )


@pytest.mark.exercise("decode")
def test_decode_hand_worked_codes(fp8):
    # E4M3 (bias 7, 3 fraction bits):
    #   0x7E = 0.1111.110: 2^(15−7) × (1 + 6/8) = 256 × 1.75 = 448, the largest value
    #   0x08 = 0.0001.000: 2^(1−7) = 2^−6, the smallest normal
    #   0x01 = 0.0000.001: subnormal, 1/8 × 2^−6 = 2^−9, the smallest value
    #   0x38 = 0.0111.000: 2^0 = 1.0;  0xC0 = 1.1000.000: −2^1 = −2.0;  0x80 = −0.0
    codes = np.array([[0x7E, 0x08, 0x01], [0x38, 0xC0, 0x80]], dtype=np.uint8)
    expected = np.array([[448.0, 2.0**-6, 2.0**-9], [1.0, -2.0, -0.0]], dtype=np.float32)
    check_floats(
        fp8.decode(codes, "e4m3"),
        expected,
        what='decode([[0x7E, 0x08, 0x01], [0x38, 0xC0, 0x80]], "e4m3")',
        hint="keep the input's shape; bias 7; subnormals have no implicit leading 1",
    )
    # E5M2 (bias 15, 2 fraction bits):
    #   0x7B = 0.11110.11: 2^(30−15) × 1.75 = 57344;  0x7C = 0.11111.00: +Inf
    #   0x01 = 0.00000.01: 1/4 × 2^(1−15) = 2^−16;  0x3C = 0.01111.00: 1.0
    codes = np.array([0x7B, 0x7C, 0xFC, 0x01, 0x3C], dtype=np.uint8)
    expected = np.array([57344.0, np.inf, -np.inf, 2.0**-16, 1.0], dtype=np.float32)
    check_floats(
        fp8.decode(codes, "e5m2"),
        expected,
        what='decode([0x7B, 0x7C, 0xFC, 0x01, 0x3C], "e5m2")',
        hint="bias 15; S.11111.00 is ±Inf",
    )


@pytest.mark.exercise("decode")
def test_decode_specials(fp8):
    # E4M3 has no Inf: S.1111.000 … S.1111.110 are ordinary numbers (256 … 448); only
    # S.1111.111 (0x7F, 0xFF) is NaN. E5M2: S.11111.01/10/11 are NaN.
    e4m3 = fp8.decode(np.array([0x78, 0x7E, 0x7F, 0xFF], dtype=np.uint8), "e4m3")
    check.arrays_equal(
        np.asarray(e4m3),
        np.array([256.0, 448.0, np.nan, np.nan], dtype=np.float32),
        what='decode([0x78, 0x7E, 0x7F, 0xFF], "e4m3")',
        hint="E4M3 has no infinities: the all-ones exponent holds 256…448, and only "
        "S.1111.111 is NaN",
    )
    e5m2 = fp8.decode(np.array([0x7D, 0x7E, 0x7F, 0xFD], dtype=np.uint8), "e5m2")
    check.arrays_equal(
        np.isnan(np.asarray(e5m2)),
        np.array([True, True, True, True]),
        what='np.isnan(decode([0x7D, 0x7E, 0x7F, 0xFD], "e5m2"))',
        hint="in E5M2 the all-ones exponent with a non-zero fraction is NaN",
    )


# ---------------------------------------------------------------------------------- encode


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_encode_every_value_round_trips(fp8, fmt):
    # Every finite FP8 value is exactly representable in float32 and must map to its own code.
    codes = ALL_CODES[np.isfinite(ml_decode(ALL_CODES, fmt))]
    values = ml_decode(codes, fmt)
    check.arrays_equal(
        fp8.encode(values, fmt),
        codes,
        what=f"encode(every finite {fmt} value, {fmt!r})",
        hint="a value that is already representable must come back as its own code, −0.0 as 0x80",
    )


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_encode_ties_go_to_even(fp8, fmt):
    # The midpoint between two neighbouring values is exactly representable in float32: it
    # must go to the neighbour whose last fraction bit is 0.
    values = np.unique(finite_values(fmt).astype(np.float64))
    midpoints = ((values[1:] + values[:-1]) / 2).astype(np.float32)
    check.arrays_equal(
        fp8.encode(midpoints, fmt),
        ml_encode(midpoints, fmt),
        what=f"encode(midpoints between neighbouring {fmt} values, {fmt!r})",
        hint="round half to even: a tie goes to the code whose lowest bit is 0 (not away "
        "from zero, not toward zero)",
    )


@pytest.mark.exercise("encode")
def test_encode_hand_worked_ties_and_subnormals(fp8):
    # E4M3 near 1 has spacing 1/8.  1.0625 lies halfway between 1.0 (0x38, even) and 1.125
    # (0x39, odd): → 0x38.  1.1875 lies between 1.125 (0x39) and 1.25 (0x3A, even): → 0x3A.
    # Subnormals are multiples of 2^−9.  2^−10 is halfway between 0 and 2^−9: → 0x00 (even).
    # 3 × 2^−10 is halfway between 2^−9 (0x01) and 2^−8 (0x02): → 0x02.  7.5 × 2^−9 lies between
    # the largest subnormal 7 × 2^−9 (0x07) and the smallest normal 2^−6 (0x08): → 0x08.
    # 0.3 × 2^−9 is nearer 0 than 2^−9: → 0x00.  0.7 × 2^−9 → 0x01.
    x = np.array(
        [1.0625, 1.1875, 2.0**-10, 3 * 2.0**-10, 7.5 * 2.0**-9, 0.3 * 2.0**-9, 0.7 * 2.0**-9],
        dtype=np.float32,
    )
    check.arrays_equal(
        fp8.encode(x, "e4m3"),
        np.array([0x38, 0x3A, 0x00, 0x02, 0x08, 0x00, 0x01], dtype=np.uint8),
        what='encode([1.0625, 1.1875, 2^-10, 3·2^-10, 7.5·2^-9, 0.3·2^-9, 0.7·2^-9], "e4m3")',
        hint="round to nearest, ties to even, and keep subnormals (multiples of 2^-9) "
        "instead of flushing them to zero",
    )


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_encode_random_values_match_ml_dtypes_and_torch(fp8, fmt):
    rng = np.random.default_rng(3)
    scales = 10.0 ** rng.uniform(-7, np.log10(MAX[fmt]), size=20_000)
    x = (rng.standard_normal(20_000) * scales).astype(np.float32)
    x = x[np.abs(x) <= MAX[fmt]]  # in range: every library agrees here
    got = fp8.encode(x, fmt)
    check.arrays_equal(
        got,
        ml_encode(x, fmt),
        what=f"encode(random float32 values in range, {fmt!r}) against ml_dtypes",
        hint="round the exact value to nearest, ties to even; tiny values become subnormals",
    )
    check.arrays_equal(got, torch_encode(x, fmt), what=f"encode(..., {fmt!r}) against torch")


@pytest.mark.exercise("encode")
def test_encode_e4m3_overflow_saturates_like_torch(fp8):
    # 448 < x ≤ 464 rounds down to 448 before any overflow; above that, saturate to ±448
    # (0x7E / 0xFE). torch's float8_e4m3fn cast saturates, infinities included.
    x = np.array(
        [448, 460, 464, 464.5, 465, 480, 1e4, 3e38, np.inf, -465, -np.inf], dtype=np.float32
    )
    expected = np.array([0x7E] * 9 + [0xFE] * 2, dtype=np.uint8)
    check.arrays_equal(torch_encode(x, "e4m3"), expected, what="torch's cast (self-check)")
    check.arrays_equal(
        fp8.encode(x, "e4m3", saturate=True),
        expected,
        what='encode([448, 460, 464, 464.5, 465, 480, 1e4, 3e38, inf, -465, -inf], "e4m3")',
        hint="with saturate=True anything beyond the largest value, infinities included, "
        "becomes ±448 (0x7E / 0xFE)",
    )


@pytest.mark.exercise("encode")
def test_encode_e4m3_overflow_without_saturation_is_nan(fp8):
    # ml_dtypes' float8_e4m3fn cast is non-saturating: 464 still rounds to 448, 465 is NaN.
    x = np.array([448, 464, 465, 1e4, np.inf, -465, -np.inf], dtype=np.float32)
    expected = np.array([0x7E, 0x7E, 0x7F, 0x7F, 0x7F, 0xFF, 0xFF], dtype=np.uint8)
    check.arrays_equal(ml_encode(x, "e4m3"), expected, what="ml_dtypes' cast (self-check)")
    check.arrays_equal(
        fp8.encode(x, "e4m3", saturate=False),
        expected,
        what='encode([448, 464, 465, 1e4, inf, -465, -inf], "e4m3", saturate=False)',
        hint="round first, then check: 464 is a tie between 448 and 480 and goes to 448; "
        "anything that rounds above 448 is NaN (S.1111.111), keeping its sign",
    )


@pytest.mark.exercise("encode")
def test_encode_e5m2_overflow_both_modes(fp8):
    # E5M2's largest value is 57344; the next step would be 61440, so 61440 is the tie and
    # goes to the even code 0x7C (Inf) without saturation; 61439 rounds down to 57344.
    x = np.array([57344, 61439, 61440, 1e6, np.inf, -np.inf], dtype=np.float32)
    non_saturating = np.array([0x7B, 0x7B, 0x7C, 0x7C, 0x7C, 0xFC], dtype=np.uint8)
    check.arrays_equal(ml_encode(x, "e5m2"), non_saturating, what="ml_dtypes' cast (self-check)")
    check.arrays_equal(torch_encode(x, "e5m2"), non_saturating, what="torch's cast (self-check)")
    check.arrays_equal(
        fp8.encode(x, "e5m2", saturate=False),
        non_saturating,
        what='encode([57344, 61439, 61440, 1e6, inf, -inf], "e5m2", saturate=False)',
        hint="without saturation E5M2 overflows to ±Inf (S.11111.00)",
    )
    check.arrays_equal(
        fp8.encode(x, "e5m2", saturate=True),
        np.array([0x7B, 0x7B, 0x7B, 0x7B, 0x7B, 0xFB], dtype=np.uint8),
        what='encode([57344, 61439, 61440, 1e6, inf, -inf], "e5m2", saturate=True)',
        hint="with saturation every overflow, infinities included, becomes ±57344 (0x7B / 0xFB)",
    )


@pytest.mark.exercise("encode")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
@pytest.mark.parametrize("saturate", [True, False])
def test_encode_nan_and_signed_zero(fp8, fmt, saturate):
    x = np.array([np.nan, -np.nan, 0.0, -0.0, 1e-30, -1e-30], dtype=np.float32)
    got = np.asarray(fp8.encode(x, fmt, saturate=saturate))
    check.equal(got.dtype, np.dtype(np.uint8), what="encode(...).dtype", hint="return uint8")
    check.arrays_equal(
        np.isnan(ml_decode(got[:2], fmt)),
        np.array([True, True]),
        what=f"isnan(decode(encode([nan, -nan], {fmt!r}, saturate={saturate})))",
        hint="NaN stays NaN in both modes",
    )
    # +0 → 0x00; −0 → 0x80; ±1e-30 is far below half the smallest subnormal: signed zeros.
    check.arrays_equal(
        got[2:],
        np.array([0x00, 0x80, 0x00, 0x80], dtype=np.uint8),
        what=f"encode([0.0, -0.0, 1e-30, -1e-30], {fmt!r}, saturate={saturate})",
        hint="keep the sign bit, also for values that round to zero",
    )


@pytest.mark.exercise("encode")
def test_encode_keeps_shape_and_reads_float64_exactly(fp8):
    # 432 is the tie between 416 (0x7D, odd) and 448 (0x7E, even) → 0x7E. The float64 just
    # below 432 is nearer 416 → 0x7D; rounding it to float32 first would make it the tie
    # (double rounding) and give 0x7E. Likewise just above 1.0625 (tie of 1.0 and 1.125) →
    # 1.125 (0x39), and 2^−10 + 2^−40 (just above the first subnormal tie) → 2^−9 (0x01).
    below_tie = np.nextafter(432.0, 0.0)
    x = np.array([[432.0, below_tie, -below_tie], [1.0625 + 2.0**-40, 2.0**-10 + 2.0**-40, 0.0]])
    check.arrays_equal(
        fp8.encode(x, "e4m3"),
        np.array([[0x7E, 0x7D, 0xFD], [0x39, 0x01, 0x00]], dtype=np.uint8),
        what='encode(float64 [[432, 432⁻, -432⁻], [1.0625 + 2^-40, 2^-10 + 2^-40, 0]], "e4m3")',
        hint="keep the input's shape, and round the exact float64 value once: converting to "
        "float32 first rounds twice",
    )


# ------------------------------------------------------------------------ per-tensor scaling


def reference_tensor_quantize(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    amax = np.float32(np.max(np.abs(x)))
    scale = amax / np.float32(448.0)
    return ml_encode(x.astype(np.float32) / scale, "e4m3"), scale


@pytest.mark.exercise("quantize_per_tensor")
def test_quantize_per_tensor_matches_reference(fp8):
    x = outlier_matrix(64, 256, seed=1)
    x[3, 5] = -2000.0  # the largest magnitude is negative: amax is a max of |x|
    codes, scale = fp8.quantize_per_tensor(x)
    ref_codes, ref_scale = reference_tensor_quantize(x)
    check.close(
        scale,
        float(ref_scale),
        rel=1e-7,
        what="quantize_per_tensor(x)[1] (the scale)",
        hint="scale = max|x| / 448 (absolute values, E4M3's largest value)",
    )
    check.arrays_equal(
        codes,
        ref_codes,
        what="quantize_per_tensor(x)[0] (the codes)",
        hint='codes = encode(x / scale, "e4m3") with x and scale in float32',
    )
    check.equal(
        int(np.asarray(codes)[3, 5]),
        0xFE,
        what="the code of the largest magnitude, -2000",
        hint="the element with the largest |x| lands exactly on -448 (0xFE)",
    )


@pytest.mark.exercise("quantize_per_tensor")
def test_quantize_per_tensor_all_zero(fp8):
    codes, scale = fp8.quantize_per_tensor(np.zeros((4, 8), dtype=np.float32))
    check.equal(
        bool(np.isfinite(scale) and scale > 0),
        True,
        what="scale of an all-zero tensor is finite and positive",
        hint="amax = 0 would give scale 0 and 0 / 0 = NaN: use scale 1 for an all-zero tensor",
    )
    check.arrays_equal(codes, np.zeros((4, 8), dtype=np.uint8), what="codes of zeros")


@pytest.mark.exercise("dequantize_per_tensor")
def test_dequantize_per_tensor(fp8):
    # 0x38 = 1.0, 0x7E = 448, 0xB8 = -1.0, 0x01 = 2^-9; times the scale 0.5.
    codes = np.array([[0x38, 0x7E], [0xB8, 0x01]], dtype=np.uint8)
    check_floats(
        fp8.dequantize_per_tensor(codes, np.float32(0.5)),
        np.array([[0.5, 224.0], [-0.5, 2.0**-10]], dtype=np.float32),
        what="dequantize_per_tensor([[0x38, 0x7E], [0xB8, 0x01]], 0.5)",
        hint="the E4M3 value of each code times the scale (not divided by it)",
    )
    x = outlier_matrix(16, 128, seed=2)
    ref_codes, ref_scale = reference_tensor_quantize(x)
    check.arrays_equal(
        fp8.dequantize_per_tensor(ref_codes, ref_scale),
        ml_decode(ref_codes, "e4m3") * ref_scale,
        what="dequantize_per_tensor(codes, scale) on a 16 × 128 tensor",
        hint="decode as E4M3, multiply by the scale, return float32",
    )


# ------------------------------------------------------------------------- 1 × 128 tiles


def reference_tiles(x: np.ndarray, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Loop over every row and every tile of it."""
    flat = x.reshape(-1, x.shape[-1]).astype(np.float32)
    codes = np.zeros(flat.shape, dtype=np.uint8)
    scales = np.zeros((flat.shape[0], flat.shape[1] // tile), dtype=np.float32)
    for r in range(flat.shape[0]):
        for t in range(flat.shape[1] // tile):
            part = flat[r, t * tile : (t + 1) * tile]
            amax = np.float32(np.max(np.abs(part)))
            scale = amax / np.float32(448.0) if amax > 0 else np.float32(1.0)
            scales[r, t] = scale
            codes[r, t * tile : (t + 1) * tile] = ml_encode(part / scale, "e4m3")
    return codes.reshape(x.shape), scales.reshape(*x.shape[:-1], -1)


@pytest.mark.exercise("quantize_tiles")
def test_quantize_tiles_matches_loop_reference(fp8):
    x = outlier_matrix(6, 384, seed=4).reshape(3, 2, 384)  # [batch, tokens, channels]
    codes, scales = fp8.quantize_tiles(x)
    ref_codes, ref_scales = reference_tiles(x, 128)
    check.arrays_close(
        scales,
        ref_scales,
        rtol=1e-7,
        what="quantize_tiles(x of shape (3, 2, 384))[1] (scales, shape (3, 2, 3))",
        hint="one scale per 128 consecutive elements of the last axis: max|tile| / 448",
    )
    check.arrays_equal(
        codes,
        ref_codes,
        what="quantize_tiles(x of shape (3, 2, 384))[0] (codes)",
        hint="divide each element by its own tile's scale, then encode as E4M3",
    )


@pytest.mark.exercise("quantize_tiles")
def test_quantize_tiles_other_sizes_and_zero_tiles(fp8):
    x = np.random.default_rng(5).standard_normal((4, 12)).astype(np.float32)
    x[1, 4:8] = 0.0  # one all-zero tile of 4
    codes, scales = fp8.quantize_tiles(x, tile=4)
    ref_codes, ref_scales = reference_tiles(x, 4)
    check.arrays_equal(
        codes, ref_codes, what="quantize_tiles(x of shape (4, 12), tile=4)[0]", hint="use tile"
    )
    check.equal(
        np.asarray(scales).shape, (4, 3), what="quantize_tiles(..., tile=4)[1].shape", hint=""
    )
    check.equal(
        bool(np.isfinite(scales[1, 1]) and scales[1, 1] > 0),
        True,
        what="scale of the all-zero tile is finite and positive",
        hint="an all-zero tile must not give 0 / 0: use scale 1 there",
    )
    check.arrays_equal(
        np.asarray(codes)[1, 4:8],
        np.zeros(4, dtype=np.uint8),
        what="codes of the all-zero tile",
        hint="zeros stay zeros (code 0x00) whatever the tile's scale",
    )
    check.arrays_close(
        np.delete(np.asarray(scales).ravel(), 4),
        np.delete(ref_scales.ravel(), 4),
        rtol=1e-7,
        what="the other tiles' scales",
    )


@pytest.mark.exercise("quantize_tiles")
def test_quantize_tiles_outlier_stays_in_its_tile(fp8):
    # An outlier in tile 0 must not change the codes of tile 1 of the same row.
    x = np.random.default_rng(6).standard_normal((2, 256)).astype(np.float32)
    quiet, _ = fp8.quantize_tiles(x)
    x[0, 3] = 1e4
    loud, _ = fp8.quantize_tiles(x)
    check.arrays_equal(
        np.asarray(loud)[:, 128:],
        np.asarray(quiet)[:, 128:],
        what="codes of the second tile after adding an outlier to the first",
        hint="each 1 × 128 tile has its own scale",
    )


@pytest.mark.exercise("quantize_tiles")
def test_quantize_tiles_rejects_ragged_last_axis(fp8):
    with pytest.raises(ValueError):
        fp8.quantize_tiles(np.ones((2, 200), dtype=np.float32))


@pytest.mark.exercise("dequantize_tiles")
def test_dequantize_tiles(fp8):
    # tile = 2: codes [1.0, 448 | -1.0, 2.0] with scales [0.5, 4.0] → [0.5, 224, -4, 8]
    codes = np.array([[0x38, 0x7E, 0xB8, 0x40]], dtype=np.uint8)
    check_floats(
        fp8.dequantize_tiles(codes, np.array([[0.5, 4.0]], dtype=np.float32), tile=2),
        np.array([[0.5, 224.0, -4.0, 8.0]], dtype=np.float32),
        what="dequantize_tiles([[1.0, 448, -1.0, 2.0] as codes], [[0.5, 4.0]], tile=2)",
        hint="each element times its own tile's scale: repeat every scale tile times in a row",
    )
    x = outlier_matrix(6, 384, seed=7).reshape(2, 3, 384)
    ref_codes, ref_scales = reference_tiles(x, 128)
    expected = ml_decode(ref_codes, "e4m3") * np.repeat(ref_scales, 128, axis=-1)
    check.arrays_equal(
        fp8.dequantize_tiles(ref_codes, ref_scales),
        expected,
        what="dequantize_tiles(codes (2, 3, 384), scales (2, 3, 3))",
        hint="scale k covers elements 128k … 128k + 127 of the last axis",
    )


# ------------------------------------------------------------------------ 128 × 128 blocks


def reference_blocks(w: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Loop over every block, the partial ones at the edges included."""
    w = w.astype(np.float32)
    rows, cols = -(-w.shape[0] // block), -(-w.shape[1] // block)
    codes = np.zeros(w.shape, dtype=np.uint8)
    scales = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            where = (slice(i * block, (i + 1) * block), slice(j * block, (j + 1) * block))
            amax = np.float32(np.max(np.abs(w[where])))
            scales[i, j] = amax / np.float32(448.0) if amax > 0 else np.float32(1.0)
            codes[where] = ml_encode(w[where] / scales[i, j], "e4m3")
    return codes, scales


@pytest.mark.exercise("quantize_blocks")
def test_quantize_blocks_partial_blocks(fp8):
    w = outlier_matrix(300, 200, seed=8)  # 3 × 2 blocks; the last row and column are partial
    w[290, 190] = 5000.0  # the partial corner block has its own, large, scale
    codes, scales = fp8.quantize_blocks(w)
    ref_codes, ref_scales = reference_blocks(w, 128)
    check.equal(
        np.asarray(scales).shape,
        (3, 2),
        what="quantize_blocks(w of shape (300, 200))[1].shape",
        hint="ceil(300 / 128) = 3 block rows and ceil(200 / 128) = 2 block columns",
    )
    check.arrays_close(
        scales,
        ref_scales,
        rtol=1e-7,
        what="quantize_blocks(w of shape (300, 200))[1]",
        hint="one scale per 128 × 128 block, max|block| / 448; edge blocks are smaller",
    )
    check.arrays_equal(
        codes, ref_codes, what="quantize_blocks(w of shape (300, 200))[0]", hint="per block"
    )


@pytest.mark.exercise("quantize_blocks")
def test_quantize_blocks_zero_block_and_small_block(fp8):
    w = np.random.default_rng(9).standard_normal((5, 7)).astype(np.float32)
    w[:4, 4:] = 0.0  # block (0, 1) of 4 × 4 is all zeros
    codes, scales = fp8.quantize_blocks(w, block=4)
    ref_codes, ref_scales = reference_blocks(w, 4)
    check.arrays_equal(codes, ref_codes, what="quantize_blocks(w (5, 7), block=4)[0]")
    check.equal(
        bool(np.isfinite(scales[0, 1]) and scales[0, 1] > 0),
        True,
        what="scale of the all-zero block is finite and positive",
        hint="an all-zero block must not give 0 / 0: use scale 1 there",
    )
    check.arrays_equal(
        np.asarray(codes)[:4, 4:],
        np.zeros((4, 3), dtype=np.uint8),
        what="codes of the all-zero block",
        hint="zeros stay zeros (code 0x00) whatever the block's scale",
    )
    keep = [0, 2, 3]  # the blocks that are not all zero
    check.arrays_close(
        np.asarray(scales).ravel()[keep],
        ref_scales.ravel()[keep],
        rtol=1e-7,
        what="the other blocks' scales",
    )


@pytest.mark.exercise("quantize_blocks")
def test_block_scaling_beats_per_tensor_scaling_on_outliers(fp8):
    # One 128 × 128 block is 10^5 times larger than the rest. A single scale for the whole
    # matrix (amax / 448 ≈ 10^3) pushes the ordinary values (≈ 1 / 10^3 = 2^-10) below E4M3's
    # smallest subnormal 2^-9, so most become zero; block scales leave them intact.
    rng = np.random.default_rng(10)
    w = rng.standard_normal((256, 256)).astype(np.float32)
    w[:128, :128] *= 1e5
    codes, scales = fp8.quantize_blocks(w)
    blocked = ml_decode(codes, "e4m3") * np.repeat(np.repeat(scales, 128, 0), 128, 1)
    tensor_codes, tensor_scale = reference_tensor_quantize(w)
    per_tensor = ml_decode(tensor_codes, "e4m3") * tensor_scale

    def snr_of_ordinary_values(approx):
        exact, error = w[128:].astype(float), (w - approx)[128:].astype(float)
        return 10 * np.log10(np.sum(exact**2) / np.sum(error**2))

    blocked_db, tensor_db = snr_of_ordinary_values(blocked), snr_of_ordinary_values(per_tensor)
    check.equal(
        bool(blocked_db > 25 and tensor_db < 10),
        True,
        what=f"SNR of the ordinary rows: 128 × 128 blocks {blocked_db:.1f} dB (expected > 25), "
        f"per-tensor {tensor_db:.1f} dB (< 10)",
        hint="each block needs its own scale from its own max|w|",
    )


@pytest.mark.exercise("dequantize_blocks")
def test_dequantize_blocks(fp8):
    # block = 2 on a 3 × 3 matrix: scales [[1, 2], [3, 4]] cover rows {0,1},{2} × cols {0,1},{2}.
    codes = np.full((3, 3), 0x38, dtype=np.uint8)  # every value 1.0
    scales = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    check_floats(
        fp8.dequantize_blocks(codes, scales, block=2),
        np.array([[1, 1, 2], [1, 1, 2], [3, 3, 4]], dtype=np.float32),
        what="dequantize_blocks(all 1.0 (3 × 3), [[1, 2], [3, 4]], block=2)",
        hint="scale (i, j) covers rows 2i … 2i+1 and columns 2j … 2j+1, cropped at the edge",
    )
    w = outlier_matrix(130, 260, seed=11)
    ref_codes, ref_scales = reference_blocks(w, 128)
    expanded = np.repeat(np.repeat(ref_scales, 128, 0), 128, 1)[:130, :260]
    check.arrays_equal(
        fp8.dequantize_blocks(ref_codes, ref_scales),
        ml_decode(ref_codes, "e4m3") * expanded,
        what="dequantize_blocks(codes (130, 260), scales (2, 3))",
        hint="each element times its own block's scale",
    )


# ---------------------------------------------------------------------------------- snr_db


@pytest.mark.exercise("snr_db")
def test_snr_db_hand_worked(fp8):
    # x = [3, 4], x_hat = [3, 3]: signal 9 + 16 = 25, noise 0 + 1 = 1 → 10 log10 25 = 13.9794 dB
    check.close(
        fp8.snr_db(np.array([3.0, 4.0]), np.array([3.0, 3.0])),
        13.979400086720377,
        rel=1e-9,
        what="snr_db([3, 4], [3, 3])",
        hint="10 × log10(Σx² / Σ(x − x_hat)²): energies (squares), not amplitudes",
    )
    # x = [1, -1, 1, -1] × 10, error 1 everywhere: 400 / 4 = 100 → 20 dB
    x = np.array([[10.0, -10.0], [10.0, -10.0]], dtype=np.float32)
    check.close(
        fp8.snr_db(x, x + 1), 20.0, rel=1e-9, what="snr_db(x, x + 1) with |x| = 10", hint=""
    )


@pytest.mark.exercise("snr_db")
def test_snr_db_exact_copy_is_infinite(fp8):
    x = np.array([1.0, 2.0, 3.0])
    got = fp8.snr_db(x, x.copy())
    check.equal(
        bool(got == np.inf),
        True,
        what=f"snr_db(x, x) = {got}",
        hint="no error at all means an infinite ratio: return float('inf')",
    )


# ------------------------------------------------------------------------------ fp8_matmul
#
# The reference quantizes with loops over every 1 × tile slice of a and every tile × tile block
# of b (the partial ones at the edges included), casts with ml_dtypes, and multiplies in
# float64 or, for a limited accumulator, in exact integer arithmetic.

SMALLEST = {"e4m3": 2.0**-9, "e5m2": 2.0**-16}  # the smallest subnormal: every value's unit


def reference_gemm_operands(a: np.ndarray, b: np.ndarray, fmt: str, tile: int):
    """FP8 values (float64, unscaled) and float32 scales of a (per 1 × tile) and b (per block)."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    top = np.float32(MAX[fmt])

    def quantize(part):
        amax = np.float32(np.max(np.abs(part)))
        scale = amax / top if amax > 0 else np.float32(1.0)
        return ml_decode(ml_encode(part / scale, fmt), fmt).astype(np.float64), scale

    (m, k), n = a.shape, b.shape[1]
    tiles, columns = -(-k // tile), -(-n // tile)
    a_values, a_scales = np.zeros((m, k)), np.zeros((m, tiles), dtype=np.float32)
    b_values, b_scales = np.zeros((k, n)), np.zeros((tiles, columns), dtype=np.float32)
    for t in range(tiles):
        along_k = slice(t * tile, (t + 1) * tile)
        for i in range(m):
            a_values[i, along_k], a_scales[i, t] = quantize(a[i, along_k])
        for j in range(columns):
            where = (along_k, slice(j * tile, (j + 1) * tile))
            b_values[where], b_scales[t, j] = quantize(b[where])
    return a_values, a_scales, b_values, b_scales


def reference_dequantized(a, b, fmt, tile):
    """The dequantized operands A [M, K] and B [K, N] in float64."""
    a_values, a_scales, b_values, b_scales = reference_gemm_operands(a, b, fmt, tile)
    k, n = b_values.shape
    a_full = a_values * np.repeat(a_scales, tile, axis=1)[:, :k]
    b_full = b_values * np.repeat(np.repeat(b_scales, tile, 0), tile, 1)[:k, :n]
    return a_full, b_full


def float32_total_tolerance(a_full, b_full, chunks: int) -> float:
    """Room for the float32 total: each chunk is rounded to float32 once and added once."""
    return (2 * chunks + 1) * 2.0**-24 * float(np.max(np.abs(a_full) @ np.abs(b_full)))


def truncated(total: int, bits: int) -> int:
    """An integer cut to its ``bits`` leading significant bits, towards zero."""
    drop = max(0, abs(total).bit_length() - bits)
    magnitude = (abs(total) >> drop) << drop
    return magnitude if total >= 0 else -magnitude


def reference_limited_gemm(a, b, fmt, tile, promote_every, bits):
    """Every dot product in Python integers (units of the smallest subnormal squared)."""
    a_values, a_scales, b_values, b_scales = reference_gemm_operands(a, b, fmt, tile)
    a_int = [[int(v) for v in row] for row in a_values / SMALLEST[fmt]]
    b_int = [[int(v) for v in row] for row in (b_values / SMALLEST[fmt]).T]
    unit = SMALLEST[fmt] ** 2
    (m, k), n = a.shape, b.shape[1]
    out = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            total = 0.0
            for start in range(0, k, promote_every):
                partial = 0
                for kk in range(start, min(start + promote_every, k)):
                    partial = truncated(partial + a_int[i][kk] * b_int[j][kk], bits)
                t = start // tile
                total += partial * unit * float(a_scales[i, t]) * float(b_scales[t, j // tile])
            out[i, j] = total
    return out


def gemm_case(a, b, *, fmt="e4m3", tile=128, promote_every=128) -> dict:
    """An fp8_matmul call with an exact accumulator and its reference: the float64 product of
    the dequantized operands, with room for the float32 total (``atol``)."""
    a_full, b_full = reference_dequantized(a, b, fmt, tile)
    chunks = -(-a.shape[1] // promote_every)
    return {
        "a": a,
        "b": b,
        "options": {"fmt": fmt, "tile": tile, "promote_every": promote_every},
        "expected": a_full @ b_full,
        "atol": float32_total_tolerance(a_full, b_full, chunks),
    }


def check_fp8_gemm(fp8, case: dict, hint: str) -> None:
    """fp8_matmul with an exact accumulator against a ``gemm_case``'s reference."""
    a, b, options = case["a"], case["b"], case["options"]
    what = (
        f"fp8_matmul(a {a.shape}, b {b.shape}, "
        + ", ".join(f"{key}={value!r}" for key, value in options.items())
        + ")"
    )
    got = fp8.fp8_matmul(a.copy(), b.copy(), **options)
    check.equal(
        getattr(got, "dtype", None), np.dtype(np.float32), what=f"{what}.dtype", hint="float32"
    )
    check.arrays_close(got, case["expected"], rtol=0.0, atol=case["atol"], what=what, hint=hint)


def blocky_weights(k: int, n: int, seed: int) -> np.ndarray:
    """Gaussian weights whose tile × tile blocks (tile = 128) differ in size by up to 10^4."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((k, n)).astype(np.float32)
    w[:128] *= 30.0
    w[:, 128:] *= 1e-3
    return w


def ragged_cases() -> list[dict]:
    """K = 300: tiles of 128, 128 and 44; N = 130: block columns of 128 and 2. Then tile 16,
    chunks of 8: K = 40 has tiles 16, 16, 8; N = 20 has block columns 16 and 4."""
    wide = gemm_case(outlier_matrix(5, 300, seed=22), blocky_weights(300, 130, seed=23))
    rng = np.random.default_rng(24)
    a = rng.standard_normal((3, 40)).astype(np.float32) * np.float32([[1.0], [50.0], [0.01]])
    b = rng.standard_normal((40, 20)).astype(np.float32)
    b[16:32] *= 1e3
    return [wide, gemm_case(a, b, tile=16, promote_every=8)]


def e5m2_case() -> dict:
    """A huge element sets the scale of its tile (b's row 130 is zero, so it adds nothing).

    The tile's ordinary values (≈ 1) divided by 3·10^8 / 57,344 ≈ 5,200 land near 2^-12,
    normal E5M2 numbers; divided by 3·10^8 / 448 ≈ 6.7·10^5 they would land near 2^-19,
    below E5M2's smallest subnormal 2^-16. Elsewhere 448 and 57,344 = 2^7 × 448 give the
    same values.
    """
    a = outlier_matrix(6, 256, seed=25)
    b = blocky_weights(256, 200, seed=26)
    a[0, 130] = 3e8
    b[130] = 0.0
    return gemm_case(a, b, fmt="e5m2")


LIMITED = [("e4m3", 32, 32, 5), ("e4m3", 32, 8, 5), ("e4m3", 16, 16, 9), ("e5m2", 16, 8, 7)]


def limited_case(fmt: str, tile: int, promote_every: int, bits: int) -> dict:
    """a [3, 96] and b [96, 20], and the integer reference of a limited accumulator."""
    rng = np.random.default_rng(27)
    a = rng.standard_normal((3, 96)).astype(np.float32)
    a[:, 40] *= 20.0
    b = rng.standard_normal((96, 20)).astype(np.float32) + 0.5  # a bias: long sums grow
    b[:, 16:] *= 3.0
    a_full, b_full = reference_dequantized(a, b, fmt, tile)
    return {
        "a": a,
        "b": b,
        "expected": reference_limited_gemm(a, b, fmt, tile, promote_every, bits),
        "atol": float32_total_tolerance(a_full, b_full, -(-96 // promote_every)),
    }


def promotion_cases() -> dict[int, dict]:
    """For K = 512 and 4096: a [4, K], b [K, 4] and the exact products of their dequantized
    operands, quantized as one tile along K and in tiles of 128."""
    rng = np.random.default_rng(28)
    cases = {}
    for k in (512, 4096):
        a = rng.standard_normal((4, k)).astype(np.float32)
        b = rng.standard_normal((k, 4)).astype(np.float32)
        one_tile = reference_dequantized(a, b, "e4m3", k)
        tiles = reference_dequantized(a, b, "e4m3", 128)
        cases[k] = {"a": a, "b": b, "one_tile": np.matmul(*one_tile), "tiles": np.matmul(*tiles)}
    return cases


# Computed once, at import: the references are the same for every submission graded.
EXACT_ACCUMULATOR = gemm_case(outlier_matrix(8, 384, seed=20), blocky_weights(384, 256, seed=21))
RAGGED = ragged_cases()
E5M2 = e5m2_case()
LIMITED_CASES = {options: limited_case(*options) for options in LIMITED}
PROMOTION = promotion_cases()


@pytest.mark.exercise("fp8_matmul")
def test_fp8_matmul_exact_accumulator_matches_dequantized_product(fp8):
    # a: channels 5 and 77 (tile 0) are 100× the rest; b: blocks differ in size by up to 10^4.
    check_fp8_gemm(
        fp8,
        EXACT_ACCUMULATOR,
        hint="quantize a with one scale per row per 128 channels and b with one scale per "
        "128 × 128 block (amax / 448), multiply the FP8 values chunk by chunk, scale each "
        "chunk's sum by its two scales, add in float32",
    )


@pytest.mark.exercise("fp8_matmul")
def test_fp8_matmul_ragged_tiles_and_blocks(fp8):
    wide, small = RAGGED
    check_fp8_gemm(
        fp8, wide, hint="the last tile along K and the last block column are shorter, not dropped"
    )
    check_fp8_gemm(fp8, small, hint="use tile for both a's tiles and b's blocks")


@pytest.mark.exercise("fp8_matmul")
def test_fp8_matmul_e5m2(fp8):
    check_fp8_gemm(
        fp8,
        E5M2,
        hint="for E5M2 a scale is amax / 57,344 (E5M2's largest value), and the codes are E5M2",
    )


@pytest.mark.exercise("fp8_matmul")
@pytest.mark.parametrize(("fmt", "tile", "promote_every", "bits"), LIMITED)
def test_fp8_matmul_limited_accumulator_matches_integer_reference(
    fp8, fmt, tile, promote_every, bits
):
    case = LIMITED_CASES[fmt, tile, promote_every, bits]
    got = fp8.fp8_matmul(
        case["a"].copy(),
        case["b"].copy(),
        fmt=fmt,
        tile=tile,
        promote_every=promote_every,
        accumulator_bits=bits,
    )
    check.arrays_close(
        got,
        case["expected"],
        rtol=0.0,
        atol=case["atol"],
        what=f"fp8_matmul(a (3, 96), b (96, 20), fmt={fmt!r}, tile={tile}, "
        f"promote_every={promote_every}, accumulator_bits={bits})",
        hint="each chunk of promote_every products has its own accumulator starting at 0; after "
        "every addition keep only accumulator_bits significant bits (the leading 1 included), "
        "truncating towards zero; then scale the chunk's sum and add it into the float32 total",
    )


def relative_gemm_error(got, exact: np.ndarray) -> float:
    """The largest error of ``got`` over the largest entry of the exact product."""
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - exact)) / np.max(np.abs(exact)))


@pytest.mark.exercise("fp8_matmul")
def test_fp8_matmul_promotion_bounds_the_accumulation_error(fp8):
    # A 14-bit truncating accumulator loses about 2^-13 of the running sum at each addition:
    # over one long dot product the losses pile up (V3 §3.3.2 reports nearly 2% at K = 4096),
    # while sums restarted every 128 products lose only what 128 additions can.
    errors = {}
    for k, case in PROMOTION.items():
        a, b = case["a"], case["b"]
        errors[k, "unpromoted"] = relative_gemm_error(
            fp8.fp8_matmul(a.copy(), b.copy(), tile=k, promote_every=k, accumulator_bits=14),
            case["one_tile"],
        )
        errors[k, "promoted"] = relative_gemm_error(
            fp8.fp8_matmul(a.copy(), b.copy(), accumulator_bits=14), case["tiles"]
        )
        errors[k, "exact"] = relative_gemm_error(fp8.fp8_matmul(a.copy(), b.copy()), case["tiles"])
    summary = ", ".join(f"{kind} K={k}: {e:.1e}" for (k, kind), e in errors.items())
    check.equal(
        bool(
            errors[4096, "unpromoted"] > 1e-2
            and errors[4096, "unpromoted"] > 3 * errors[512, "unpromoted"]
        ),
        True,
        what=f"max error ÷ largest output, 14-bit accumulator ({summary}); expected > 1e-2 "
        "without promotion at K = 4096, and growing with K",
        hint="the accumulator must keep only accumulator_bits significant bits, truncating, for "
        "the whole chunk of promote_every products",
    )
    check.equal(
        bool(max(errors[512, "promoted"], errors[4096, "promoted"]) < 2e-3),
        True,
        what=f"max error ÷ largest output with promotion every 128 ({summary}); expected < 2e-3",
        hint="start a new accumulator every promote_every products and add its scaled sum into "
        "the float32 total",
    )
    check.equal(
        bool(max(errors[512, "exact"], errors[4096, "exact"]) < 1e-6),
        True,
        what=f"max error ÷ largest output with accumulator_bits=None ({summary}); expected < 1e-6",
        hint="None means exact chunk sums: only the float32 total rounds",
    )


@pytest.mark.exercise("fp8_matmul")
def test_fp8_matmul_tile_scales_survive_outlier_channels(fp8):
    # Channel 3 is 10^5 × the rest, and b's first 128 rows are zero: the output comes from
    # channels 128-255 only. With a scale per 1 × 128 tile they keep E4M3's precision (about
    # 30 dB). One scale per tensor or per row (≈ 4·10^5 / 448 ≈ 10^3) pushes them to about
    # 2^-10, below E4M3's smallest subnormal 2^-9: most become 0 and the output is lost.
    rng = np.random.default_rng(29)
    a = rng.standard_normal((16, 256)).astype(np.float32)
    a[:, 3] *= 1e5
    b = rng.standard_normal((256, 16)).astype(np.float32)
    b[:128] = 0.0
    exact = a.astype(np.float64) @ b.astype(np.float64)
    got = np.asarray(fp8.fp8_matmul(a, b), dtype=np.float64)
    snr = 10 * np.log10(np.sum(exact**2) / np.sum((got - exact) ** 2))
    check.equal(
        bool(snr > 25),
        True,
        what=f"SNR of fp8_matmul(a with an outlier channel, b) against float64: {snr:.1f} dB "
        "(expected > 25)",
        hint="one scale per row per 128 channels: the outlier must only coarsen its own tile",
    )


@pytest.mark.exercise("fp8_matmul")
@pytest.mark.parametrize(("tile", "promote_every"), [(128, 256), (128, 48), (64, 128)])
def test_fp8_matmul_refuses_chunks_that_straddle_tiles(fp8, tile, promote_every):
    a = np.ones((2, 256), dtype=np.float32)
    b = np.ones((256, 3), dtype=np.float32)
    with pytest.raises(ValueError):
        fp8.fp8_matmul(a, b, tile=tile, promote_every=promote_every)
