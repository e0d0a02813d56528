"""One parametric description of a binary floating-point format, shared by every chapter.

A format is a sign bit, ``exponent_bits`` of biased exponent and ``mantissa_bits`` of fraction.
What differs between formats is the bias and how the all-ones exponent is used:

- IEEE 754 style (FP32, FP16, BF16, FP8 E5M2): all-ones exponent with a zero fraction is ±Inf,
  with a non-zero fraction NaN;
- OCP FP8 E4M3 ("fn", finite): no infinities; only S.1111.111 is NaN, so the all-ones exponent
  with the other fractions holds ordinary numbers, which is how E4M3 reaches 448.

The numbers a format can hold (largest, smallest normal, ULP, ...) are exercises of the
"Numbers in bits" chapter; this module only describes formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NanEncoding = Literal["ieee", "all_ones"]


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format with one sign bit.

    Attributes:
        name: a short identifier ("fp32", "e4m3", ...).
        exponent_bits: width of the biased exponent field.
        mantissa_bits: width of the fraction (stored mantissa) field.
        bias: exponent bias; a normal number is (−1)^s × 2^(e − bias) × (1 + f / 2^mantissa_bits).
        has_inf: whether the all-ones exponent with a zero fraction means ±infinity.
        nan: "ieee" (all-ones exponent, non-zero fraction) or "all_ones" (only the all-ones
            exponent with the all-ones fraction, as in OCP E4M3).
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    bias: int
    has_inf: bool = True
    nan: NanEncoding = "ieee"

    def __post_init__(self) -> None:
        """Reject descriptions that no code in the course can represent, with a clear message."""
        if not 2 <= self.exponent_bits <= 11:
            raise ValueError(f"{self.name}: exponent_bits must be 2..11, got {self.exponent_bits}")
        if not 1 <= self.mantissa_bits <= 52:
            raise ValueError(f"{self.name}: mantissa_bits must be 1..52, got {self.mantissa_bits}")
        if 1 + self.exponent_bits + self.mantissa_bits > 32:
            raise ValueError(
                f"{self.name}: at most 32 bits in all (codes are uint32), got {self.bits}"
            )
        if self.nan not in ("ieee", "all_ones"):
            raise ValueError(f"{self.name}: nan must be 'ieee' or 'all_ones', got {self.nan!r}")
        if self.nan == "all_ones" and self.has_inf:
            raise ValueError(
                f"{self.name}: a format with only S.1...1.1...1 as NaN has no infinities"
            )

    @property
    def bits(self) -> int:
        """Total width in bits: 1 + exponent_bits + mantissa_bits."""
        return 1 + self.exponent_bits + self.mantissa_bits

    def __str__(self) -> str:
        return f"{self.name} (1-{self.exponent_bits}-{self.mantissa_bits}, bias {self.bias})"


FP32 = FloatFormat("fp32", exponent_bits=8, mantissa_bits=23, bias=127)
FP16 = FloatFormat("fp16", exponent_bits=5, mantissa_bits=10, bias=15)
BF16 = FloatFormat("bf16", exponent_bits=8, mantissa_bits=7, bias=127)
E4M3 = FloatFormat("e4m3", exponent_bits=4, mantissa_bits=3, bias=7, has_inf=False, nan="all_ones")
E5M2 = FloatFormat("e5m2", exponent_bits=5, mantissa_bits=2, bias=15)

FORMATS: dict[str, FloatFormat] = {f.name: f for f in (FP32, FP16, BF16, E4M3, E5M2)}


def get_format(name: str) -> FloatFormat:
    """The format called ``name`` ("fp32", "fp16", "bf16", "e4m3", "e5m2")."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name]
