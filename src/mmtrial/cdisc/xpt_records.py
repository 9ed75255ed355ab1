"""The observation records of a SAS transport (XPT) version 5 file, encoded a column at a time.

pyreadstat's writer converts every value in Python (one call per value through narwhals), which
was most of the time of a 1,000-participant export. The member header stays pyreadstat's
(`mmtrial.cdisc.xpt` has it write the header with one sentinel record); the records are the
80-column-free byte layout of SAS TS-140, built here with numpy:

- a character value is its ASCII bytes padded with blanks to the variable's length (a missing
  value is all blanks);
- a number is an 8-byte IBM System/360 double, big-endian: sign bit, 7-bit base-16 exponent in
  excess 64, 56-bit fraction. An IEEE double's 53-bit significand fits the IBM fraction
  exactly once shifted by 0-3 bits, so the conversion loses nothing; a missing value is "."
  (0x2E) followed by seven zero bytes; values beyond the IBM range become the largest IBM
  magnitude (with their sign), values below it zero, as TS-140's `ieee2xpt` does.

`tests/cdisc/test_xpt.py` compares the result byte for byte with a whole-file pyreadstat write.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MISSING_NUMBER", "ibm_doubles", "record_block", "text_bytes"]

#: a missing numeric value: "." then zeros (SAS's standard missing value)
MISSING_NUMBER = 0x2E << 56
_FRACTION_BITS = 52
_IMPLICIT_ONE = 1 << _FRACTION_BITS
_IEEE_BIAS = 1023
_IBM_BIAS = 64
#: binary exponents outside (-260, 248] do not fit the 7-bit base-16 exponent
_LOWEST_EXPONENT = -260
_HIGHEST_EXPONENT = 248
_LARGEST_IBM = (0x7F << 56) | ((1 << 56) - 1)


def ibm_doubles(values: np.ndarray) -> np.ndarray:
    """Float64 values as (n, 8) uint8 rows of big-endian IBM doubles (NaN = SAS missing)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = (bits >> np.uint64(63)).astype(np.uint64)
    exponent = ((bits >> np.uint64(_FRACTION_BITS)) & np.uint64(0x7FF)).astype(np.int64)
    exponent -= _IEEE_BIAS
    significand = (bits & np.uint64(_IMPLICIT_ONE - 1)) | np.uint64(_IMPLICIT_ONE)
    # x = 1.f * 2**e = (1.f * 2**(e mod 4) / 16) * 16**(e div 4 + 1)
    shift = (exponent & 3).astype(np.uint64)
    ibm_exponent = ((exponent >> 2) + _IBM_BIAS + 1).astype(np.uint64)
    words = ((ibm_exponent | (sign << np.uint64(7))) << np.uint64(56)) | (significand << shift)
    # zero, -0.0, subnormals and underflow
    words[exponent < _LOWEST_EXPONENT] = 0
    over = exponent > _HIGHEST_EXPONENT
    words[over] = np.uint64(_LARGEST_IBM) | (sign[over] << np.uint64(63))
    words[np.isnan(x)] = MISSING_NUMBER
    return words.astype(">u8").view(np.uint8).reshape(len(x), 8)


def text_bytes(values: list[str | None]) -> np.ndarray:
    """ASCII text values (None = missing) as a fixed-width bytes array, no wider than needed."""
    return np.array(["" if v is None else v for v in values], dtype=np.bytes_)


def record_block(columns: list[tuple[np.ndarray, int, bool]], count: int) -> bytes:
    """The records of `count` observations: (values, width, numeric) per variable, in order.

    Text values are given as a bytes array (`text_bytes`) of at most `width` bytes each."""
    length = sum(width for _values, width, _numeric in columns)
    block = np.empty((count, length), dtype=np.uint8)
    at = 0
    for values, width, numeric in columns:
        if numeric:
            block[:, at : at + width] = ibm_doubles(values)
        else:
            padded = np.ascontiguousarray(values, dtype=f"S{width}").view(np.uint8)
            field = padded.reshape(count, width)
            block[:, at : at + width] = np.where(field == 0, ord(" "), field)
        at += width
    return block.tobytes()
