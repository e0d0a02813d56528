"""Plausible wrong answers to the ``floats`` exercises (see checks/mutants/__init__.py).

Most mutants are the solution's own function with one line changed, so each differs from a
correct answer by exactly the mistake it names; ``edited`` makes them and fails loudly if the
solution no longer contains the line a mutant changes.
"""

import ast
from pathlib import Path

from checks.mutants import Mutant

SOLUTION = (Path(__file__).resolve().parents[2] / "solutions" / "floats.py").read_text(
    encoding="utf-8"
)


def edited(function: str, old: str, new: str) -> str:
    """The solution's ``function`` with the text ``old`` replaced by ``new`` (which must occur)."""
    node = next(
        n for n in ast.parse(SOLUTION).body if isinstance(n, ast.FunctionDef) and n.name == function
    )
    source = ast.get_source_segment(SOLUTION, node)
    assert source is not None and old in source, f"mutant of {function}: {old!r} not found"
    return source.replace(old, new) + "\n"


def wrapped(function: str, body: str) -> str:
    """A new ``function`` that may call the correct one as ``_correct_<function>``."""
    return f"_correct_{function} = {function}\n\n\n{body}"


MUTANTS = [
    # split_fields
    Mutant("floats", "split_fields", "sign read one bit too high (bits, not bits − 1)",
           edited("split_fields", "codes >> np.uint32(fmt.bits - 1)", "codes >> np.uint32(fmt.bits)")),
    Mutant("floats", "split_fields", "exponent not masked: the sign bit leaks into it",
           edited("split_fields", "& np.uint32((1 << fmt.exponent_bits) - 1)", "")),
    Mutant("floats", "split_fields", "fraction mask one bit too wide",
           edited("split_fields", "(1 << fmt.mantissa_bits) - 1", "(1 << (fmt.mantissa_bits + 1)) - 1")),
    # decode
    Mutant("floats", "decode", "subnormals given the implicit leading 1",
           edited("decode", "np.where(exponent > 0, fraction + (1 << m), fraction)", "fraction + (1 << m)")),
    Mutant("floats", "decode", "subnormals use exponent −bias instead of 1 − bias",
           edited("decode", "np.maximum(exponent, 1) - fmt.bias - m", "exponent - fmt.bias - m")),
    Mutant("floats", "decode", "E4M3 read as IEEE (top exponent reserved)",
           edited("decode", 'if fmt.nan == "ieee":', "if True:")),
    Mutant("floats", "decode", "Inf read as NaN",
           edited("decode", "(fraction == 0) & fmt.has_inf", "(fraction == 0) & False")),
    Mutant("floats", "decode", "sign ignored",
           edited("decode", "np.where(sign == 1, -magnitude, magnitude)", "magnitude")),
    Mutant("floats", "decode", "FP16 constants (bias 15, 10 fraction bits) for every format",
           edited("decode", "m, top = fmt.mantissa_bits,", "m, top = 10,")
           .replace("fmt.bias", "15")),
    # encode
    Mutant("floats", "encode", "truncation instead of round to nearest",
           edited("encode", "np.rint(", "np.floor(")),
    Mutant("floats", "encode", "ties away from zero instead of ties to even",
           edited("encode", "np.rint(np.ldexp(magnitude, m - exponent))",
                  "np.floor(np.ldexp(magnitude, m - exponent) + 0.5)")),
    Mutant("floats", "encode", "subnormals flushed to zero",
           wrapped("encode", "def encode(x, fmt):\n"
                   "    x = np.asarray(x, dtype=np.float64)\n"
                   "    tiny = np.abs(x) < 2.0 ** (1 - fmt.bias)\n"
                   "    return _correct_encode(np.where(tiny, np.copysign(0.0, x), x), fmt)\n")),
    Mutant("floats", "encode", "saturates to ±max instead of overflowing",
           edited("encode", "np.where(code > largest, inf_code, code)", "np.where(code > largest, largest, code)")),
    Mutant("floats", "encode", "overflow tested before rounding (|x| > max is Inf)",
           wrapped("encode", "def encode(x, fmt):\n"
                   "    x = np.asarray(x, dtype=np.float64)\n"
                   "    big = np.abs(x) > limits(fmt)['max']\n"
                   "    return _correct_encode(np.where(big, np.copysign(np.inf, x), x), fmt)\n")),
    Mutant("floats", "encode", "rounds through float32 first (double rounding)",
           wrapped("encode", "def encode(x, fmt):\n"
                   "    return _correct_encode(np.asarray(x, dtype=np.float32), fmt)\n")),
    Mutant("floats", "encode", "NaN not handled (comes out as an arbitrary code)",
           edited("encode", "np.where(np.isnan(x), nan_code, code)", "np.nan_to_num(code)")),
    Mutant("floats", "encode", "sign dropped for −0 and values that underflow",
           edited("encode", "np.signbit(x)", "(x < 0)")),
    Mutant("floats", "encode", "E4M3 overflow gives the IEEE Inf pattern (S.1111.000, a number)",
           edited("encode", "inf_code = top if fmt.has_inf else", "inf_code = top if True else")),
    # limits
    Mutant("floats", "limits", "top exponent not reserved in IEEE formats",
           edited("limits", 'if fmt.nan == "ieee":', "if False:")),
    Mutant("floats", "limits", "E4M3 treated as IEEE (max 240)",
           edited("limits", 'if fmt.nan == "ieee":', "if True:")),
    Mutant("floats", "limits", "smallest subnormal one binade too small",
           edited("limits", '2.0 ** (1 - fmt.bias - m)', "2.0 ** (-fmt.bias - m)")),
    Mutant("floats", "limits", "smallest normal 2^−bias",
           edited("limits", '"min_normal": 2.0 ** (1 - fmt.bias)', '"min_normal": 2.0 ** (-fmt.bias)')),
    Mutant("floats", "limits", "epsilon as the unit roundoff 2^−(m+1)",
           edited("limits", '"epsilon": 2.0**-m', '"epsilon": 2.0 ** -(m + 1)')),
    # ulp
    Mutant("floats", "ulp", "no subnormal floor (keeps shrinking below the smallest normal)",
           edited("ulp", "np.maximum(k - 1, emin)", "k - 1")),
    Mutant("floats", "ulp", "epsilon × |x| instead of the binade's spacing",
           "def ulp(x, fmt):\n"
           "    return np.abs(np.asarray(x, dtype=np.float64)) * 2.0 ** -fmt.mantissa_bits\n"),
    Mutant("floats", "ulp", "one binade too high (frexp's exponent used as is)",
           edited("ulp", "np.maximum(k - 1, emin)", "np.maximum(k, emin)")),
    Mutant("floats", "ulp", "Inf and NaN not mapped to NaN",
           edited("ulp", "np.where(np.isfinite(magnitude), spacing, np.nan)", "spacing")),
    # relative_error
    Mutant("floats", "relative_error", "divided by the stored value, not the exact one",
           edited("relative_error", "/ np.abs(x)", "/ np.abs(stored)")),
    Mutant("floats", "relative_error", "absolute error, not relative",
           edited("relative_error", "/ np.abs(x)", "")),
    Mutant("floats", "relative_error", "exact zero left as 0/0 = NaN",
           edited("relative_error", "np.where(x == 0, 0.0, error)", "error")),
    Mutant("floats", "relative_error", "stored by truncation",
           wrapped("relative_error", "def relative_error(x, fmt):\n"
                   "    x = np.asarray(x, dtype=np.float64)\n"
                   "    ulps = ulp(x, fmt)\n"
                   "    stored = np.trunc(x / ulps) * ulps\n"
                   "    with np.errstate(divide='ignore', invalid='ignore'):\n"
                   "        return np.where(x == 0, 0.0, np.abs(stored - x) / np.abs(x))\n")),
]  # fmt: skip
