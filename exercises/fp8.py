"""FP8 in bits, and the scaling that makes 8 bits usable: DeepSeek-V3's fine-grained quantization.

Topic module ``fp8`` (chapter 3). The two OCP FP8 formats are described once, in
``course.formats`` (``E4M3``: 1-4-3, bias 7, no infinities, NaN only S.1111.111; ``E5M2``:
1-5-2, bias 15, IEEE-style infinities and NaNs). An FP8 number travels here as its 8-bit code,
a ``uint8``. Scales are ``float32``, one per tensor, per 1×128 tile or per 128×128 block.

Exercises: replace each `raise NotImplementedError` with your implementation.
Check your work with `make grade` or `pytest tests/test_fp8.py`.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from course.formats import E4M3, E5M2, FloatFormat

FP8_FORMATS: dict[str, FloatFormat] = {"e4m3": E4M3, "e5m2": E5M2}


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
    raise NotImplementedError


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
    raise NotImplementedError


def quantize_per_tensor(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """One scale for the whole tensor: E4M3 codes of x / scale, with scale = amax / 448.

    Args:
        x: float array of any shape (converted to float32).

    Returns:
        ``(codes, scale)``: codes is a uint8 array of x's shape, ``encode(x / scale, "e4m3")``
        with the division done in float32; scale is a float32 scalar, max|x| / 448, so the
        largest magnitude lands on E4M3's largest value. An all-zero tensor gets scale 1.0.
    """
    raise NotImplementedError


def dequantize_per_tensor(codes: np.ndarray, scale: float) -> np.ndarray:
    """Undo ``quantize_per_tensor``: the E4M3 values of ``codes`` times ``scale``.

    Args:
        codes: uint8 array of E4M3 codes, any shape.
        scale: the tensor's scale (float32).

    Returns:
        float32 array of codes' shape: ``decode(codes, "e4m3") * scale``.
    """
    raise NotImplementedError


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
    raise NotImplementedError


def dequantize_tiles(codes: np.ndarray, scales: np.ndarray, tile: int = 128) -> np.ndarray:
    """Undo ``quantize_tiles``: each E4M3 value times the scale of its 1 × ``tile`` tile.

    Args:
        codes: uint8 array of shape [..., K] with K = scales.shape[-1] × tile.
        scales: float32 array of shape [..., K // tile].
        tile: elements per tile (128 in DeepSeek-V3).

    Returns:
        float32 array of codes' shape.
    """
    raise NotImplementedError


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
    raise NotImplementedError


def dequantize_blocks(codes: np.ndarray, scales: np.ndarray, block: int = 128) -> np.ndarray:
    """Undo ``quantize_blocks``: each E4M3 value times the scale of its block.

    Args:
        codes: uint8 matrix of shape [M, N].
        scales: float32 array of shape [ceil(M / block), ceil(N / block)].
        block: block side (128 in DeepSeek-V3).

    Returns:
        float32 matrix of shape [M, N].
    """
    raise NotImplementedError


def snr_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Signal-to-noise ratio of an approximation, in decibels.

    Args:
        x: the exact values, any shape.
        x_hat: the approximation (for example quantized and dequantized), x's shape.

    Returns:
        10 × log10(Σ x² / Σ (x − x_hat)²), computed in float64: +10 dB per factor of 10 less
        error energy, about 6 dB per bit of precision. ``inf`` when x_hat equals x exactly.
    """
    raise NotImplementedError


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
    raise NotImplementedError
