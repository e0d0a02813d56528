"""Plausible wrong answers to the ``fp8`` exercises (see checks/mutants/__init__.py).

Each source is appended to a copy of ``solutions/fp8.py``, so it can call the solution's own
functions (saved under another name first) and its private helpers.
"""

from checks.mutants import Mutant

# A slow but simple encoder that mutants bend in one place: pick from the sorted grid of
# finite values with a given rounding rule, then apply an overflow rule.
GRID_ENCODER = """

def _grid_encode(x, fmt, saturate=True, rounding="even", flush_subnormals=False,
                 overflow_before_rounding=False, inf_saturates=True):
    x = np.asarray(x, dtype=np.float64)
    f = _fp8_format(fmt)
    codes = np.arange(128, dtype=np.uint8)
    values = decode(codes, fmt).astype(np.float64)
    keep = np.isfinite(values)
    codes, values = codes[keep], values[keep]
    if flush_subnormals:
        keep = (values == 0) | (values >= 2.0 ** (1 - f.bias))
        codes, values = codes[keep], values[keep]
    mag = np.abs(x)
    hi = np.clip(np.searchsorted(values, mag), 1, len(values) - 1)
    lo = hi - 1
    below, above = values[lo], values[hi]
    if rounding == "truncate":
        pick = np.where(mag >= above, hi, lo)
    elif rounding == "away":
        pick = np.where(mag - below >= above - mag, hi, lo)
    else:
        tie = mag - below == above - mag
        pick = np.where(tie, np.where(codes[lo] % 2 == 0, lo, hi),
                        np.where(mag - below < above - mag, lo, hi))
    code = codes[pick].astype(np.uint8)
    top = values[-1]
    limit = top if overflow_before_rounding else top + (top - values[-2]) / 2
    over = (mag > limit) | ((mag == limit) & (codes[-1] % 2 == 1) & ~overflow_before_rounding)
    over_code = _max_code(f) if saturate else (0x7F if f.nan == "all_ones" else 0x7C)
    code = np.where(over, over_code, code)
    if saturate and not inf_saturates:
        code = np.where(np.isinf(x), 0x7F if f.nan == "all_ones" else 0x7C, code)
    code = np.where(np.isnan(x), 0x7F, code)
    return (code | (np.signbit(x).astype(np.uint8) << 7)).astype(np.uint8)
"""


def encoder(**options: object) -> str:
    """A mutant ``encode`` built from the grid encoder with one rule changed."""
    args = "".join(f", {k}={v!r}" for k, v in options.items())
    return (
        GRID_ENCODER + "\ndef encode(x, fmt, saturate=True):\n"
        f"    return _grid_encode(x, fmt, saturate{args})\n"
    )


MUTANTS = [
    # decode
    Mutant("fp8", "decode", "E5M2's bias (15) used for E4M3 too",
           "_solution_decode = decode\n"
           "def decode(codes, fmt):\n"
           "    out = _solution_decode(codes, fmt)\n"
           "    return (out * np.float32(2.0**-8)).astype(np.float32) if fmt == 'e4m3' else out\n"),
    Mutant("fp8", "decode", "subnormals read with an implicit leading 1",
           "_solution_decode = decode\n"
           "def decode(codes, fmt):\n"
           "    codes = np.asarray(codes, dtype=np.uint8)\n"
           "    out = _solution_decode(codes, fmt)\n"
           "    f = FP8_FORMATS[fmt]\n"
           "    sub = (codes & 0x7F) >> f.mantissa_bits == 0\n"
           "    extra = np.float32(2.0 ** (1 - f.bias)) * np.where(codes >> 7, -1, 1)\n"
           "    return np.where(sub, out + extra, out).astype(np.float32)\n"),
    Mutant("fp8", "decode", "E4M3 read IEEE-style (all-ones exponent is Inf/NaN)",
           "_solution_decode = decode\n"
           "def decode(codes, fmt):\n"
           "    codes = np.asarray(codes, dtype=np.uint8)\n"
           "    out = _solution_decode(codes, fmt)\n"
           "    if fmt != 'e4m3':\n"
           "        return out\n"
           "    top = (codes & 0x78) == 0x78\n"
           "    special = np.where((codes & 0x07) == 0, np.inf, np.nan)\n"
           "    special = np.where(codes >> 7, -special, special)\n"
           "    return np.where(top, special, out).astype(np.float32)\n"),
    Mutant("fp8", "decode", "sign bit ignored",
           "_solution_decode = decode\n"
           "def decode(codes, fmt):\n"
           "    return np.abs(_solution_decode(codes, fmt))\n"),
    Mutant("fp8", "decode", "returns float64",
           "_solution_decode = decode\n"
           "def decode(codes, fmt):\n"
           "    return _solution_decode(codes, fmt).astype(np.float64)\n"),
    # encode
    Mutant("fp8", "encode", "truncation toward zero instead of round to nearest",
           encoder(rounding="truncate")),
    Mutant("fp8", "encode", "ties rounded away from zero", encoder(rounding="away")),
    Mutant("fp8", "encode", "subnormals flushed to zero", encoder(flush_subnormals=True)),
    Mutant("fp8", "encode", "overflow decided before rounding (449 overflows)",
           encoder(overflow_before_rounding=True)),
    Mutant("fp8", "encode", "infinities become NaN/Inf even when saturating",
           encoder(inf_saturates=False)),
    Mutant("fp8", "encode", "saturate ignored: always saturating",
           "_solution_encode = encode\n"
           "def encode(x, fmt, saturate=True):\n"
           "    return _solution_encode(x, fmt, True)\n"),
    Mutant("fp8", "encode", "saturate ignored: never saturating",
           "_solution_encode = encode\n"
           "def encode(x, fmt, saturate=True):\n"
           "    return _solution_encode(x, fmt, False)\n"),
    Mutant("fp8", "encode", "sign lost on values that round to zero",
           "_solution_encode = encode\n"
           "def encode(x, fmt, saturate=True):\n"
           "    out = _solution_encode(x, fmt, saturate)\n"
           "    return np.where(out == 0x80, 0, out).astype(np.uint8)\n"),
    Mutant("fp8", "encode", "float64 input rounded to float32 first (double rounding)",
           "_solution_encode = encode\n"
           "def encode(x, fmt, saturate=True):\n"
           "    return _solution_encode(np.asarray(x, dtype=np.float32), fmt, saturate)\n"),
    Mutant("fp8", "encode", "E5M2 encoded with E4M3's layout",
           "_solution_encode = encode\n"
           "def encode(x, fmt, saturate=True):\n"
           "    return _solution_encode(x, 'e4m3', saturate)\n"),
    Mutant("fp8", "encode", "ml_dtypes' cast (non-saturating for E4M3, float64 via float32)",
           "import ml_dtypes\n"
           "def encode(x, fmt, saturate=True):\n"
           "    kind = {'e4m3': ml_dtypes.float8_e4m3fn, 'e5m2': ml_dtypes.float8_e5m2}[fmt]\n"
           "    return np.asarray(x, dtype=np.float32).astype(kind).view(np.uint8)\n"),
    Mutant("fp8", "encode", "ml_dtypes' cast after clipping to ±max (float64 via float32)",
           "import ml_dtypes\n"
           "def encode(x, fmt, saturate=True):\n"
           "    kind = {'e4m3': ml_dtypes.float8_e4m3fn, 'e5m2': ml_dtypes.float8_e5m2}[fmt]\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    if saturate:\n"
           "        top = np.float32(_max_value(_fp8_format(fmt)))\n"
           "        x = np.clip(x, -top, top)\n"
           "    return x.astype(kind).view(np.uint8)\n"),
    Mutant("fp8", "encode", "torch's cast (saturating only for E4M3)",
           "import torch\n"
           "def encode(x, fmt, saturate=True):\n"
           "    kind = {'e4m3': torch.float8_e4m3fn, 'e5m2': torch.float8_e5m2}[fmt]\n"
           "    x = torch.from_numpy(np.array(x, dtype=np.float32))\n"
           "    return x.to(kind).view(torch.uint8).numpy()\n"),
    # per-tensor
    Mutant("fp8", "quantize_per_tensor", "max of x instead of max of |x|",
           "def quantize_per_tensor(x):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    scale = _scales_from_amax(np.max(x))\n"
           "    return encode(x / scale, 'e4m3'), np.float32(scale)\n"),
    Mutant("fp8", "quantize_per_tensor", "E5M2's largest value (57344) in the scale",
           "def quantize_per_tensor(x):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    scale = np.float32(np.max(np.abs(x)) / 57344) or np.float32(1)\n"
           "    return encode(x / scale, 'e4m3'), np.float32(scale)\n"),
    Mutant("fp8", "quantize_per_tensor", "multiplies by the scale instead of dividing",
           "def quantize_per_tensor(x):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    scale = _scales_from_amax(np.max(np.abs(x)))\n"
           "    return encode(x * scale, 'e4m3'), np.float32(scale)\n"),
    Mutant("fp8", "quantize_per_tensor", "all-zero tensor divides by zero",
           "def quantize_per_tensor(x):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    scale = np.max(np.abs(x)) / np.float32(448)\n"
           "    return encode(x / scale, 'e4m3'), np.float32(scale)\n"),
    Mutant("fp8", "dequantize_per_tensor", "divides by the scale",
           "def dequantize_per_tensor(codes, scale):\n"
           "    return (decode(codes, 'e4m3') / np.float32(scale)).astype(np.float32)\n"),
    Mutant("fp8", "dequantize_per_tensor", "decodes as E5M2",
           "def dequantize_per_tensor(codes, scale):\n"
           "    return (decode(codes, 'e5m2') * np.float32(scale)).astype(np.float32)\n"),
    # tiles
    Mutant("fp8", "quantize_tiles", "one scale per row, not per tile",
           "_solution_quantize_tiles = quantize_tiles\n"
           "def quantize_tiles(x, tile=128):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    codes, _ = _solution_quantize_tiles(x, x.shape[-1])\n"
           "    amax = np.max(np.abs(x), axis=-1, keepdims=True)\n"
           "    scales = np.repeat(_scales_from_amax(amax), x.shape[-1] // tile, axis=-1)\n"
           "    return codes, scales\n"),
    Mutant("fp8", "quantize_tiles", "max of x instead of max of |x| per tile",
           "def quantize_tiles(x, tile=128):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    tiles = x.reshape(*x.shape[:-1], x.shape[-1] // tile, tile)\n"
           "    scales = _scales_from_amax(np.max(tiles, axis=-1))\n"
           "    return encode(tiles / scales[..., None], 'e4m3').reshape(x.shape), scales\n"),
    Mutant("fp8", "quantize_tiles", "all-zero tile divides by zero",
           "def quantize_tiles(x, tile=128):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    tiles = x.reshape(*x.shape[:-1], x.shape[-1] // tile, tile)\n"
           "    scales = np.max(np.abs(tiles), axis=-1) / np.float32(448)\n"
           "    return encode(tiles / scales[..., None], 'e4m3').reshape(x.shape), scales\n"),
    Mutant("fp8", "quantize_tiles", "one scale for the whole tensor, repeated",
           "def quantize_tiles(x, tile=128):\n"
           "    x = np.asarray(x, dtype=np.float32)\n"
           "    codes, scale = quantize_per_tensor(x)\n"
           "    return codes, np.full((*x.shape[:-1], x.shape[-1] // tile), scale, np.float32)\n"),
    Mutant("fp8", "dequantize_tiles", "scales laid out with np.tile instead of np.repeat",
           "def dequantize_tiles(codes, scales, tile=128):\n"
           "    scales = np.asarray(scales, dtype=np.float32)\n"
           "    reps = (1,) * (scales.ndim - 1) + (tile,)\n"
           "    return (decode(codes, 'e4m3') * np.tile(scales, reps)).astype(np.float32)\n"),
    Mutant("fp8", "dequantize_tiles", "scales forgotten",
           "def dequantize_tiles(codes, scales, tile=128):\n"
           "    return decode(codes, 'e4m3')\n"),
    # blocks
    Mutant("fp8", "quantize_blocks", "partial blocks padded by wrapping around",
           "def quantize_blocks(w, block=128):\n"
           "    w = np.asarray(w, dtype=np.float32)\n"
           "    rows, cols = -(-w.shape[0] // block), -(-w.shape[1] // block)\n"
           "    pad = ((0, rows * block - w.shape[0]), (0, cols * block - w.shape[1]))\n"
           "    padded = np.pad(np.abs(w), pad, mode='wrap')\n"
           "    amax = padded.reshape(rows, block, cols, block).max(axis=(1, 3))\n"
           "    scales = _scales_from_amax(amax)\n"
           "    return encode(w / _expand_blocks(scales, block, w.shape), 'e4m3'), scales\n"),
    Mutant("fp8", "quantize_blocks", "all-zero block divides by zero",
           "_solution_scales = _scales_from_amax\n"
           "def _scales_from_amax(amax):\n"
           "    return (np.asarray(amax, dtype=np.float32) / np.float32(448)).astype(np.float32)\n"),
    Mutant("fp8", "quantize_blocks", "one scale per row of blocks only",
           "_solution_quantize_blocks = quantize_blocks\n"
           "def quantize_blocks(w, block=128):\n"
           "    w = np.asarray(w, dtype=np.float32)\n"
           "    _, scales = _solution_quantize_blocks(w, block)\n"
           "    scales = np.repeat(scales.max(axis=1, keepdims=True), scales.shape[1], axis=1)\n"
           "    return encode(w / _expand_blocks(scales, block, w.shape), 'e4m3'), scales\n"),
    Mutant("fp8", "dequantize_blocks", "block scales transposed",
           "def dequantize_blocks(codes, scales, block=128):\n"
           "    codes = np.asarray(codes, dtype=np.uint8)\n"
           "    s = np.asarray(scales, dtype=np.float32).T\n"
           "    full = np.repeat(np.repeat(s, block, 0), block, 1)\n"
           "    full = np.pad(full, ((0, max(0, codes.shape[0] - full.shape[0])), (0, max(0, codes.shape[1] - full.shape[1]))), mode='edge')\n"
           "    return (decode(codes, 'e4m3') * full[: codes.shape[0], : codes.shape[1]]).astype(np.float32)\n"),
    Mutant("fp8", "dequantize_blocks", "scales tiled instead of repeated",
           "def dequantize_blocks(codes, scales, block=128):\n"
           "    codes = np.asarray(codes, dtype=np.uint8)\n"
           "    full = np.tile(np.asarray(scales, dtype=np.float32), (block, block))\n"
           "    return (decode(codes, 'e4m3') * full[: codes.shape[0], : codes.shape[1]]).astype(np.float32)\n"),
    # snr_db
    Mutant("fp8", "snr_db", "20 log10 of an energy ratio",
           "def snr_db(x, x_hat):\n"
           "    x = np.asarray(x, dtype=np.float64)\n"
           "    noise = np.sum((x - x_hat) ** 2)\n"
           "    return float('inf') if noise == 0 else float(20 * np.log10(np.sum(x**2) / noise))\n"),
    Mutant("fp8", "snr_db", "ratio of norms (amplitudes) with 10 log10",
           "def snr_db(x, x_hat):\n"
           "    x = np.asarray(x, dtype=np.float64)\n"
           "    noise = np.linalg.norm(x - x_hat)\n"
           "    return float('inf') if noise == 0 else float(10 * np.log10(np.linalg.norm(x) / noise))\n"),
    Mutant("fp8", "snr_db", "noise over signal (sign flipped)",
           "def snr_db(x, x_hat):\n"
           "    x = np.asarray(x, dtype=np.float64)\n"
           "    noise = np.sum((x - x_hat) ** 2)\n"
           "    return float('inf') if noise == 0 else float(10 * np.log10(noise / np.sum(x**2)))\n"),
    # fp8_matmul
    Mutant("fp8", "fp8_matmul", "one scale per tensor for a and for b",
           "def fp8_matmul(a, b, *, fmt='e4m3', tile=128, promote_every=128, accumulator_bits=None):\n"
           "    if tile % promote_every:\n"
           "        raise ValueError('promote_every must divide tile')\n"
           "    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)\n"
           "    sa = _group_scales(np.max(np.abs(a)), fmt)\n"
           "    sb = _group_scales(np.max(np.abs(b)), fmt)\n"
           "    qa = decode(encode(a / sa, fmt), fmt).astype(np.float64)\n"
           "    qb = decode(encode(b / sb, fmt), fmt).astype(np.float64)\n"
           "    out = np.zeros((a.shape[0], b.shape[1]), np.float32)\n"
           "    for part in _chunk_sums(qa, qb, promote_every, accumulator_bits):\n"
           "        out += (part * float(sa) * float(sb)).astype(np.float32)\n"
           "    return out\n"),
    Mutant("fp8", "fp8_matmul", "float32 matmul of the dequantized values (accumulator_bits ignored)",
           "def fp8_matmul(a, b, *, fmt='e4m3', tile=128, promote_every=128, accumulator_bits=None):\n"
           "    if tile % promote_every:\n"
           "        raise ValueError('promote_every must divide tile')\n"
           "    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)\n"
           "    (k, n), qa, qb = b.shape, _quantize_row_tiles(a, fmt, tile), _quantize_square_blocks(b, fmt, tile)\n"
           "    a_full = qa[0] * np.repeat(qa[1], tile, 1)[:, :k]\n"
           "    b_full = qb[0] * np.repeat(np.repeat(qb[1], tile, 0), tile, 1)[:k, :n]\n"
           "    return a_full.astype(np.float32) @ b_full.astype(np.float32)\n"),
    Mutant("fp8", "fp8_matmul", "promote_every ignored: one limited accumulator over all of K",
           "def fp8_matmul(a, b, *, fmt='e4m3', tile=128, promote_every=128, accumulator_bits=None):\n"
           "    if tile % promote_every:\n"
           "        raise ValueError('promote_every must divide tile')\n"
           "    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)\n"
           "    (k, n), qa, qb = b.shape, _quantize_row_tiles(a, fmt, tile), _quantize_square_blocks(b, fmt, tile)\n"
           "    a_full = qa[0] * np.repeat(qa[1], tile, 1)[:, :k]\n"
           "    b_full = qb[0] * np.repeat(np.repeat(qb[1], tile, 0), tile, 1)[:k, :n]\n"
           "    return _chunk_sums(a_full, b_full, max(k, 1), accumulator_bits)[0].astype(np.float32)\n"),
    Mutant("fp8", "fp8_matmul", "accumulator rounds to nearest instead of truncating",
           "def _truncate_in_place(x, significant_bits):\n"
           "    fraction, exponent = np.frexp(x)\n"
           "    kept = np.rint(np.ldexp(fraction, significant_bits))\n"
           "    x[...] = np.ldexp(kept, exponent - significant_bits)\n"),
    Mutant("fp8", "fp8_matmul", "accumulator_bits read as explicit mantissa bits (one bit too many)",
           "_solution_truncate_in_place = _truncate_in_place\n"
           "def _truncate_in_place(x, significant_bits):\n"
           "    _solution_truncate_in_place(x, significant_bits + 1)\n"),
    Mutant("fp8", "fp8_matmul", "activation scales per row only, not per 1 × tile slice",
           "_solution_row_tiles = _quantize_row_tiles\n"
           "def _quantize_row_tiles(a, fmt, tile):\n"
           "    values, scales = _solution_row_tiles(a, fmt, max(a.shape[1], 1))\n"
           "    return values, np.repeat(scales, -(-a.shape[1] // tile), axis=1)\n"),
    Mutant("fp8", "fp8_matmul", "weight scales per block column only (one scale down all of K)",
           "def _quantize_square_blocks(b, fmt, block):\n"
           "    k, n = b.shape\n"
           "    amax = np.maximum.reduceat(np.abs(b).max(axis=0, keepdims=True), np.arange(0, n, block), axis=1)\n"
           "    scales = np.repeat(_group_scales(amax, fmt), -(-k // block), axis=0)\n"
           "    per_element = np.repeat(np.repeat(scales, block, 0), block, 1)[:k, :n]\n"
           "    return decode(encode(b / per_element, fmt), fmt).astype(np.float64), scales\n"),
    Mutant("fp8", "fp8_matmul", "E4M3's largest value (448) in the scales of E5M2 too",
           "def _group_scales(amax, fmt):\n"
           "    return np.where(amax > 0, amax / np.float32(448), np.float32(1)).astype(np.float32)\n"),
]  # fmt: skip
