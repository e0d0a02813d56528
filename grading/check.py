"""Comparisons for graded tests that fail with expected vs. received and a hint.

Each helper calls ``pytest.fail(..., pytrace=False)``, so the learner sees a short message
instead of a traceback into the test code::

    percent_change(142.62, 118.42)
      expected: -16.968167
      received: 0.16968167
      hint:     return a percentage (× 100), negative for a fall
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, NoReturn

import numpy as np
import pytest


def _show(value: Any) -> str:
    """A short, readable rendering of a number, array or other value."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, Real | np.number):
        return f"{float(value):.10g}"
    if isinstance(value, np.ndarray):
        with np.printoptions(threshold=12, edgeitems=3, precision=8):
            return f"array(shape={value.shape}, dtype={value.dtype}) {np.array2string(value)}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def fail(what: str, expected: Any, received: Any, hint: str = "", note: str = "") -> NoReturn:
    """Fail the current test with a message naming the call, the two values and a hint."""
    lines = [what, f"  expected: {_show(expected)}{note}", f"  received: {_show(received)}"]
    if received is None:
        hint = hint or "the function returned None: is a `return` missing?"
    if hint:
        lines.append(f"  hint:     {hint}")
    pytest.fail("\n".join(lines), pytrace=False)


def _as_float(received: Any, what: str, expected: Any, hint: str) -> float:
    if isinstance(received, Real | np.number) and not isinstance(received, bool):
        return float(received)
    if isinstance(received, np.ndarray) and received.shape == ():
        return float(received)
    fail(what, expected, received, hint or f"expected a number, got {type(received).__name__}")


def close(
    received: Any,
    expected: float,
    *,
    what: str,
    rel: float = 1e-9,
    abs_tol: float = 0.0,
    hint: str = "",
) -> None:
    """Pass if the number ``received`` is within ``rel`` (relative) or ``abs_tol`` of ``expected``."""
    got = _as_float(received, what, expected, hint)
    if not math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol):
        tolerance = f"  (within {rel:g} relative" + (f" or {abs_tol:g}" if abs_tol else "") + ")"
        fail(what, expected, got, hint, note=tolerance)


def equal(received: Any, expected: Any, *, what: str, hint: str = "") -> None:
    """Pass if ``received == expected`` exactly."""
    if not (type(received) is type(expected) or _both_numbers(received, expected)) or (
        received != expected
    ):
        fail(what, expected, received, hint)


def _both_numbers(a: Any, b: Any) -> bool:
    numbers = Real | np.number
    return isinstance(a, numbers) and isinstance(b, numbers)


def _as_array_like(
    received: Any, expected: np.ndarray, what: str, hint: str, **kwargs
) -> np.ndarray:
    """``received`` as an array with ``expected``'s shape, or fail saying which shape was wanted."""
    got = np.asarray(received, **kwargs) if received is not None else None
    if got is None or got.shape != expected.shape:
        fail(what, expected, received, hint or f"expected shape {expected.shape}")
    return got


def _fail_at_first_difference(
    ok: np.ndarray, what: str, expected: np.ndarray, got: np.ndarray, hint: str, rule: str
) -> None:
    """Fail, naming the first index where ``ok`` is False and how many elements differ."""
    if np.all(ok):
        return
    first = tuple(int(i) for i in np.argwhere(~ok)[0])
    fail(
        what,
        expected,
        got,
        hint,
        note=f"  ({rule}; first difference at index {first}: expected {_show(expected[first])}, "
        f"received {_show(got[first])}; {int(np.sum(~ok))} of {ok.size} differ)",
    )


def arrays_equal(received: Any, expected: np.ndarray, *, what: str, hint: str = "") -> None:
    """Pass if ``received`` has ``expected``'s shape and every element is equal (NaN equals NaN)."""
    got = _as_array_like(received, expected, what, hint)
    same = (got == expected) | (_isnan(got) & _isnan(expected))
    _fail_at_first_difference(same, what, expected, got, hint, rule="exactly equal")


def arrays_close(
    received: Any,
    expected: np.ndarray,
    *,
    what: str,
    rtol: float,
    atol: float = 0.0,
    hint: str = "",
) -> None:
    """Pass if ``received`` has ``expected``'s shape and is elementwise within the tolerances."""
    got = _as_array_like(received, expected, what, hint, dtype=float)
    ok = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    _fail_at_first_difference(ok, what, expected, got, hint, rule=f"rtol {rtol:g}, atol {atol:g}")


def _isnan(array: np.ndarray) -> np.ndarray:
    return (
        np.isnan(array) if np.issubdtype(array.dtype, np.floating) else np.zeros(array.shape, bool)
    )
