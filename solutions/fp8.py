"""FP8 in bits, and the scaling that makes 8 bits usable: DeepSeek-V3's fine-grained quantization.

Topic module ``fp8`` (chapter 3). The two OCP FP8 formats are described once, in
``course.formats`` (``E4M3``: 1-4-3, bias 7, no infinities, NaN only S.1111.111; ``E5M2``:
1-5-2, bias 15, IEEE-style infinities and NaNs). An FP8 number travels here as its 8-bit code,
a ``uint8``. Scales are ``float32``, one per tensor, per 1×128 tile or per 128×128 block.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from course.formats import E4M3, E5M2, FloatFormat

FP8_FORMATS: dict[str, FloatFormat] = {"e4m3": E4M3, "e5m2": E5M2}


def _fp8_format(fmt: str) -> FloatFormat:
    """The ``course.formats`` description of "e4m3" or "e5m2"; ValueError for anything else."""
    if fmt not in FP8_FORMATS:
        raise ValueError(f"unknown FP8 format {fmt!r}; use 'e4m3' or 'e5m2'")
    return FP8_FORMATS[fmt]


def _max_code(f: FloatFormat) -> int:
    """The code (without sign) of the largest finite value: 0x7E for E4M3, 0x7B for E5M2."""
    all_ones_exponent = (1 << f.exponent_bits) - 1
    all_ones_fraction = (1 << f.mantissa_bits) - 1
    if f.nan == "all_ones":  # only S.1111.111 is NaN: the code just below it is the largest
        return (all_ones_exponent << f.mantissa_bits) | (all_ones_fraction - 1)
    return ((all_ones_exponent - 1) << f.mantissa_bits) | all_ones_fraction


def _max_value(f: FloatFormat) -> float:
    """The largest finite value of an FP8 format (448 for E4M3, 57,344 for E5M2)."""
    code = _max_code(f)
    exponent, fraction = code >> f.mantissa_bits, code & ((1 << f.mantissa_bits) - 1)
    return 2.0 ** (exponent - f.bias) * (1 + fraction / 2**f.mantissa_bits)


def decode(codes: np.ndarray, fmt: str) -> np.ndarray:
    """The values of FP8 codes.

    Args:
        codes: uint8 array of any shape; each element is one FP8 number's 8 bits, sign first.
        fmt: "e4m3" (OCP E4M3: bias 7, no infinities, NaN only S.1111.111) or "e5m2" (OCP
            E5M2: bias 15, S.11111.00 is ±Inf and S.11111.{01,10,11} are NaN).

    Returns:
        float32 array of the same shape. Exponent field 0 holds subnormals,
        ±fraction × 2^(1 − bias − mantissa_bits); ±0 keeps its sign (0x80 is −0.0).
        Example: decode(0x7E, "e4m3") = 448.0, decode(0x7B, "e5m2") = 57344.0.
    """
    f = _fp8_format(fmt)
    codes = np.asarray(codes, dtype=np.uint8).astype(np.int32)
    m = f.mantissa_bits
    sign = codes >> 7
    exponent = (codes >> m) & ((1 << f.exponent_bits) - 1)
    fraction = codes & ((1 << m) - 1)
    subnormal = exponent == 0
    significand = np.where(subnormal, fraction, fraction + (1 << m))  # integer, in ULPs
    power = np.where(subnormal, 1, exponent) - f.bias - m
    magnitude = np.ldexp(significand.astype(np.float32), power)
    all_ones = exponent == (1 << f.exponent_bits) - 1
    if f.nan == "all_ones":
        magnitude = np.where(all_ones & (fraction == (1 << m) - 1), np.nan, magnitude)
    else:
        magnitude = np.where(all_ones, np.where(fraction == 0, np.inf, np.nan), magnitude)
    return np.where(sign == 1, -magnitude, magnitude).astype(np.float32)


def encode(x: np.ndarray, fmt: str, saturate: bool = True) -> np.ndarray:
    """The FP8 codes nearest to ``x``: round to nearest, ties to even, subnormals included.

    Args:
        x: float array of any shape (float32 and float64 are read exactly; other dtypes are
            converted to float64 first, which is exact for float16 and integers up to 2^53).
        fmt: "e4m3" or "e5m2" (see ``decode``).
        saturate: what a magnitude too large for the format becomes. True (OCP's saturating
            mode): ±max, that is ±448 for E4M3 (0x7E/0xFE) and ±57,344 for E5M2 (0x7B/0xFB).
            False (non-saturating mode): NaN for E4M3 (0x7F/0xFF), ±Inf for E5M2 (0x7C/0xFC).
            "Too large" is decided after rounding: for E4M3, values up to 464 (the tie between
            448 and 480, which E4M3 lacks) round down to 448 in both modes.
            Infinite inputs overflow like any other: with ``saturate`` they become ±max, as in
            torch's float8_e4m3fn cast and ONNX's saturating cast; without it, NaN for E4M3
            (as in ml_dtypes) and ±Inf for E5M2 (as in ml_dtypes and torch).

    Returns:
        uint8 array of the same shape. The sign bit is kept, so −0.0 and negative values that
        round to zero give 0x80. NaN inputs give a NaN code (0x7F, or 0xFF for a NaN with the
        sign bit set).
    """
    f = _fp8_format(fmt)
    x = np.asarray(x)
    if x.dtype == np.float32 and sys.byteorder == "little":
        return _encode_float32_by_table(x, fmt, saturate)
    return _encode_bits(x, f, saturate)


def _encode_bits(x: np.ndarray, f: FloatFormat, saturate: bool) -> np.ndarray:
    """``encode`` by integer operations on the input's bit pattern (any float input)."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64)
    # The input's own layout: (unsigned integer of the same width, mantissa bits, bias).
    uint, source_mantissa, source_bias = (
        (np.uint32, 23, 127) if x.dtype == np.float32 else (np.uint64, 52, 1023)
    )
    sign_bit = uint(8 * x.itemsize - 1)
    bits = x.view(uint)
    magnitude_bits = bits & ~(uint(1) << sign_bit)
    m = f.mantissa_bits
    # Normal results: drop the low mantissa bits of the bit pattern, rounding half to even
    # (add just under half a unit, plus one if the lowest kept bit is odd). A carry out of the
    # mantissa moves the exponent up, exactly as it should. Then swap the exponent bias.
    shift = uint(source_mantissa - m)
    half_minus_one = (uint(1) << (shift - uint(1))) - uint(1)
    code = (magnitude_bits + half_minus_one + ((magnitude_bits >> shift) & uint(1))) >> shift
    code -= uint((source_bias - f.bias) << m)  # wraps around below the smallest normal: fixed next
    # Results below the smallest normal: let the floating-point adder round. Adding
    # C = 2^(1 - bias - m + source_mantissa) (whose ULP is the smallest FP8 subnormal) rounds |x|
    # half to even to a multiple of that subnormal; the bit patterns of C + |x| and C differ by
    # the count of subnormals, which is the FP8 code (a count of 2^m is the smallest normal).
    smallest_normal = np.ldexp(np.ones((), x.dtype), 1 - f.bias)
    below = np.abs(x) < smallest_normal
    if below.any():
        anchor = np.ldexp(np.ones((), x.dtype), 1 - f.bias - m + source_mantissa)
        counts = (np.abs(x[below]) + anchor).view(uint) - anchor.view(uint)
        code[below] = counts
    max_code = uint(_max_code(f))
    if saturate:
        overflow_code = max_code
    else:  # NaN for E4M3, infinity for E5M2
        overflow_code = uint(0x7F) if f.nan == "all_ones" else max_code + uint(1)
    code[code > max_code] = overflow_code  # infinities too
    code[np.isnan(x)] = 0x7F
    code |= (bits >> sign_bit) << uint(7)
    return code.astype(np.uint8)


@functools.cache
def _float32_tables(fmt: str, saturate: bool) -> tuple[np.ndarray, np.ndarray]:
    """The codes of every float32 by its top 16 bits: (low 16 bits all zero, any other).

    FP8 values and the midpoints between them need at most 5 significant bits and exponents
    the top 16 bits of a float32 can hold (the top 16 bits are a bfloat16). So every float32
    strictly between two consecutive bfloat16 values rounds to the same FP8 code: the code
    depends only on the top 16 bits and on whether the low 16 bits are zero (then the value
    itself is that bfloat16, perhaps a tie) or not (then it is just above it in magnitude).
    """
    f = _fp8_format(fmt)
    top = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    exact = _encode_bits(top.view(np.float32), f, saturate)
    above = _encode_bits((top | np.uint32(1)).view(np.float32), f, saturate)
    return exact, above


def _encode_float32_by_table(x: np.ndarray, fmt: str, saturate: bool) -> np.ndarray:
    """``encode`` of float32 input by two table look-ups on its top 16 bits (little-endian)."""
    exact, above = _float32_tables(fmt, saturate)
    halves = np.ascontiguousarray(x).reshape(-1).view(np.uint16)
    low, high = halves[0::2], halves[1::2]  # little-endian: the low half comes first
    codes = above.take(high)
    low_zero = low == 0
    if low_zero.any():
        codes[low_zero] = exact.take(high[low_zero])
    return codes.reshape(x.shape)


def _scales_from_amax(amax: np.ndarray) -> np.ndarray:
    """float32 scales amax / 448, with 1.0 where amax is 0 (an all-zero group)."""
    amax = np.asarray(amax, dtype=np.float32)
    e4m3_max = np.float32(_max_value(E4M3))
    return np.where(amax > 0, amax / e4m3_max, np.float32(1.0)).astype(np.float32)


def quantize_per_tensor(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """One scale for the whole tensor: E4M3 codes of x / scale, with scale = amax / 448.

    Args:
        x: float array of any shape (converted to float32).

    Returns:
        ``(codes, scale)``: codes is a uint8 array of x's shape, ``encode(x / scale, "e4m3")``
        with the division done in float32; scale is a float32 scalar, max|x| / 448, so the
        largest magnitude lands on E4M3's largest value. An all-zero tensor gets scale 1.0.
    """
    x = np.asarray(x, dtype=np.float32)
    scale = _scales_from_amax(np.max(np.abs(x)) if x.size else 0.0)
    return encode(x / scale, "e4m3"), np.float32(scale)


def dequantize_per_tensor(codes: np.ndarray, scale: float) -> np.ndarray:
    """Undo ``quantize_per_tensor``: the E4M3 values of ``codes`` times ``scale``.

    Args:
        codes: uint8 array of E4M3 codes, any shape.
        scale: the tensor's scale (float32).

    Returns:
        float32 array of codes' shape: ``decode(codes, "e4m3") * scale``.
    """
    return (decode(codes, "e4m3") * np.float32(scale)).astype(np.float32)


def quantize_tiles(x: np.ndarray, tile: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """DeepSeek-V3's activation scaling: one scale per 1 × ``tile`` slice of the last axis.

    Each row of x (one token) is cut into consecutive groups of ``tile`` elements (channels),
    and each group gets its own scale amax / 448, so an outlier only coarsens its own tile.

    Args:
        x: float array of shape [..., K] (converted to float32); K must be a multiple of tile.
        tile: elements per tile (128 in DeepSeek-V3). tile = K gives one scale per row.

    Returns:
        ``(codes, scales)``: codes is uint8 of x's shape, ``encode(x / scale, "e4m3")`` with
        each element divided (in float32) by its own tile's scale; scales is float32 of shape
        [..., K // tile]. A tile of zeros gets scale 1.0.

    Raises:
        ValueError: if K is not a multiple of ``tile``.
    """
    x = np.asarray(x, dtype=np.float32)
    k = x.shape[-1]
    if k % tile:
        raise ValueError(f"the last axis ({k}) must be a multiple of the tile size ({tile})")
    tiles = x.reshape(*x.shape[:-1], k // tile, tile)
    scales = _scales_from_amax(np.max(np.abs(tiles), axis=-1))
    codes = encode(tiles / scales[..., None], "e4m3")
    return codes.reshape(x.shape), scales


def dequantize_tiles(codes: np.ndarray, scales: np.ndarray, tile: int = 128) -> np.ndarray:
    """Undo ``quantize_tiles``: each E4M3 value times the scale of its 1 × ``tile`` tile.

    Args:
        codes: uint8 array of shape [..., K] with K = scales.shape[-1] × tile.
        scales: float32 array of shape [..., K // tile].
        tile: elements per tile (128 in DeepSeek-V3).

    Returns:
        float32 array of codes' shape.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    per_element = np.repeat(np.asarray(scales, dtype=np.float32), tile, axis=-1)
    return (decode(codes, "e4m3") * per_element).astype(np.float32)


def quantize_blocks(w: np.ndarray, block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """DeepSeek-V3's weight scaling: one scale per ``block`` × ``block`` block of a matrix.

    Args:
        w: float matrix of shape [M, N] (converted to float32); M and N need not be multiples
            of ``block``: the last block row and column are smaller (partial blocks).
        block: block side (128 in DeepSeek-V3).

    Returns:
        ``(codes, scales)``: codes is uint8 of shape [M, N], ``encode(w / scale, "e4m3")``
        with each element divided (in float32) by its own block's scale; scales is float32 of
        shape [ceil(M / block), ceil(N / block)], each block's amax / 448, or 1.0 for a block
        of zeros.
    """
    w = np.asarray(w, dtype=np.float32)
    m, n = w.shape
    rows, cols = -(-m // block), -(-n // block)
    padded = np.zeros((rows * block, cols * block), dtype=np.float32)  # zeros do not move amax
    padded[:m, :n] = np.abs(w)
    amax = padded.reshape(rows, block, cols, block).max(axis=(1, 3))
    scales = _scales_from_amax(amax)
    per_element = _expand_blocks(scales, block, (m, n))
    return encode(w / per_element, "e4m3"), scales


def _expand_blocks(scales: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    """Each block's scale repeated over its block: [rows, cols] → ``shape`` (cropped)."""
    full = np.repeat(np.repeat(scales, block, axis=0), block, axis=1)
    return full[: shape[0], : shape[1]]


def dequantize_blocks(codes: np.ndarray, scales: np.ndarray, block: int = 128) -> np.ndarray:
    """Undo ``quantize_blocks``: each E4M3 value times the scale of its block.

    Args:
        codes: uint8 matrix of shape [M, N].
        scales: float32 array of shape [ceil(M / block), ceil(N / block)].
        block: block side (128 in DeepSeek-V3).

    Returns:
        float32 matrix of shape [M, N].
    """
    codes = np.asarray(codes, dtype=np.uint8)
    per_element = _expand_blocks(np.asarray(scales, dtype=np.float32), block, codes.shape)
    return (decode(codes, "e4m3") * per_element).astype(np.float32)


def snr_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Signal-to-noise ratio of an approximation, in decibels.

    Args:
        x: the exact values, any shape.
        x_hat: the approximation (for example quantized and dequantized), x's shape.

    Returns:
        10 × log10(Σ x² / Σ (x − x_hat)²), computed in float64: +10 dB per factor of 10 less
        error energy, about 6 dB per bit of precision. ``inf`` when x_hat equals x exactly.
    """
    x = np.asarray(x, dtype=np.float64)
    error = x - np.asarray(x_hat, dtype=np.float64)
    noise = float(np.sum(error**2))
    if noise == 0.0:
        return float("inf")
    return float(10.0 * np.log10(np.sum(x**2) / noise))


def _group_scales(amax: np.ndarray, fmt: str) -> np.ndarray:
    """float32 scales amax / (largest value of ``fmt``), with 1.0 for an all-zero group."""
    top = np.float32(_max_value(_fp8_format(fmt)))
    return np.where(amax > 0, amax / top, np.float32(1.0)).astype(np.float32)


def _quantize_row_tiles(a: np.ndarray, fmt: str, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """``a`` [M, K] in FP8 with one scale per row per 1 × ``tile`` slice; the last may be short.

    Returns the decoded FP8 values (float64 [M, K], not yet scaled) and the float32 scales
    [M, ceil(K / tile)].
    """
    starts = np.arange(0, a.shape[1], tile)
    scales = _group_scales(np.maximum.reduceat(np.abs(a), starts, axis=1), fmt)
    per_element = np.repeat(scales, tile, axis=1)[:, : a.shape[1]]
    values = decode(encode(a / per_element, fmt), fmt)
    return values.astype(np.float64), scales


def _quantize_square_blocks(b: np.ndarray, fmt: str, block: int) -> tuple[np.ndarray, np.ndarray]:
    """``b`` [K, N] in FP8 with one scale per ``block`` × ``block`` block (edges may be smaller).

    Returns the decoded FP8 values (float64 [K, N], not yet scaled) and the float32 scales
    [ceil(K / block), ceil(N / block)].
    """
    k, n = b.shape
    amax = np.maximum.reduceat(np.abs(b), np.arange(0, k, block), axis=0)
    amax = np.maximum.reduceat(amax, np.arange(0, n, block), axis=1)
    scales = _group_scales(amax, fmt)
    per_element = np.repeat(np.repeat(scales, block, axis=0), block, axis=1)[:k, :n]
    values = decode(encode(b / per_element, fmt), fmt)
    return values.astype(np.float64), scales


def _truncate_in_place(x: np.ndarray, significant_bits: int) -> None:
    """Cut float64 values to ``significant_bits`` significant bits, towards zero, in place.

    A float64 keeps 52 fraction bits after the leading 1; zeroing the lowest
    53 − ``significant_bits`` of them drops exactly the bits a shorter significand lacks.
    """
    drop = 53 - significant_bits
    if drop > 0:
        bits = x.view(np.uint64)
        np.bitwise_and(bits, np.uint64(~((1 << drop) - 1) & 0xFFFF_FFFF_FFFF_FFFF), out=bits)


def _chunk_sums(
    a: np.ndarray, b: np.ndarray, chunk: int, accumulator_bits: int | None
) -> np.ndarray:
    """Σ a[:, k] b[k, :] over each run of ``chunk`` consecutive k: [M, K], [K, N] → [chunks, M, N].

    ``a`` and ``b`` hold FP8 values (float64); the last run may be shorter. With
    ``accumulator_bits`` None each run is a float64 matrix product, exact for E4M3 values (every
    product is a multiple of 2^-18 below 2^18, so partial sums need far fewer than 53 bits); E5M2
    products range from 2^-32 to 2^32, and a run that mixes those extremes can be rounded, by far
    less than the float32 total rounds. Otherwise every run has an accumulator that starts at 0
    and is truncated after every addition; the loop goes over the position inside a run, and
    handles all runs and all M × N sums at once.
    """
    m, k = a.shape
    n = b.shape[1]
    runs = -(-k // chunk)
    if runs == 0:
        return np.zeros((0, m, n))
    if accumulator_bits is None:
        return np.stack([a[:, s : s + chunk] @ b[s : s + chunk] for s in range(0, k, chunk)])
    # Zeros appended to the last run add nothing: a truncated sum plus 0 stays as it is.
    a_runs = np.pad(a, ((0, 0), (0, runs * chunk - k))).reshape(m, runs, chunk).transpose(1, 0, 2)
    b_runs = np.pad(b, ((0, runs * chunk - k), (0, 0))).reshape(runs, chunk, n)
    total = np.zeros((runs, m, n))
    product = np.empty_like(total)
    for j in range(chunk):
        np.multiply(a_runs[:, :, j, None], b_runs[:, j, None, :], out=product)
        total += product  # exact for E4M3 values (see above), then cut to the kept bits
        _truncate_in_place(total, accumulator_bits)
    return total


def fp8_matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    fmt: str = "e4m3",
    tile: int = 128,
    promote_every: int = 128,
    accumulator_bits: int | None = None,
) -> np.ndarray:
    """A GEMM with FP8 inputs as DeepSeek-V3 runs it: fine-grained scales and FP32 promotion.

    Quantization: ``a`` has one scale per row per 1 × ``tile`` slice along K, ``b`` one per
    ``tile`` × ``tile`` block (K rows × N columns); the last tile along K and the last block
    column may be shorter. A scale is its group's amax over the largest value of ``fmt`` (448
    for E4M3, 57,344 for E5M2), 1.0 for an all-zero group, and the FP8 value of an element is
    its float32 quotient by its scale, encoded with round to nearest even and saturation.

    Result: ``c[i, j]`` is a float32 sum, in order along K, of one term per chunk of
    ``promote_every`` consecutive k (the last may be shorter). A chunk's term is the sum of its
    products of the FP8 values of ``a[i, k]`` and ``b[k, j]``, accumulated from 0 keeping
    ``accumulator_bits`` significant bits (truncated towards zero after every addition, as the
    report describes the tensor cores; ``None``: exact), times the chunk's activation scale and
    weight scale, rounded to float32. Each float32 addition rounds to nearest even.

    A chunk must lie inside one tile, so that one activation scale and one weight scale apply
    to all of its products: ``promote_every`` must divide ``tile`` (DeepSeek-V3 uses 128 for
    both).

    Args:
        a: float array [M, K] (converted to float32), e.g. activations.
        b: float array [K, N] (converted to float32), e.g. weights.
        fmt: "e4m3" or "e5m2", the FP8 format of both inputs.
        tile: tile width along K for ``a``, and block side for ``b``.
        promote_every: products per chunk (N_C); a divisor of ``tile``.
        accumulator_bits: significant bits kept by a chunk's accumulator, the leading 1
            included (about 14 on the H800), from 1 to 53; None for exact sums.

    Returns:
        float32 array [M, N], the scaled FP8 product of a and b.

    Raises:
        ValueError: if a or b is not 2-D, their inner sizes differ, ``fmt`` is unknown,
            ``tile`` or ``promote_every`` is below 1, ``promote_every`` does not divide
            ``tile``, or ``accumulator_bits`` is outside 1 … 53.
    """
    _fp8_format(fmt)
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"need a [M, K] and b [K, N]; got shapes {a.shape} and {b.shape}")
    if tile < 1 or promote_every < 1:
        raise ValueError(f"tile ({tile}) and promote_every ({promote_every}) must be at least 1")
    if tile % promote_every:
        raise ValueError(
            f"promote_every ({promote_every}) must divide tile ({tile}): a chunk that straddled "
            "two tiles would need two activation scales and two weight scales"
        )
    if accumulator_bits is not None and not 1 <= accumulator_bits <= 53:
        raise ValueError(f"accumulator_bits must be 1 … 53 or None, got {accumulator_bits}")
    n = b.shape[1]
    a_values, a_scales = _quantize_row_tiles(a, fmt, tile)  # [M, K], [M, K tiles]
    b_values, b_scales = _quantize_square_blocks(b, fmt, tile)  # [K, N], [K tiles, N blocks]
    a_scales, b_scales = a_scales.astype(np.float64), b_scales.astype(np.float64)
    sums = _chunk_sums(a_values, b_values, promote_every, accumulator_bits)  # [chunks, M, N]
    total = np.zeros((a.shape[0], n), dtype=np.float32)
    for chunk, partial in enumerate(sums):
        t = chunk * promote_every // tile  # the tile (and block row) that holds this chunk
        scale = a_scales[:, t, None] * np.repeat(b_scales[t], tile)[None, :n]
        total += (partial * scale).astype(np.float32)
    return total
