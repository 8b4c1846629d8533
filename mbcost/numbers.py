"""The one reader of numbers written by a user: in a spec, on the command line,
in a calibration file.

Python refuses to convert an integer of more than 4,300 digits to or from text
(and the conversion is quadratic below that), so every whole number is read
here with a digit limit first. ``MAX_DIGITS`` keeps what issue 9 made exact (a
309-digit channel count is counted to the unit) while every product of a row's
numbers (a handful of them, alpha included) stays far below what can be
printed. Real numbers are finite and read exactly (``Fraction``) or as floats
within a stated range. Exact counts of any size are also turned back into
floats and text here (``ratio``, ``safe_float``, ``scaled``: inf, or exact
decimal division, where a float would overflow), for results and documents alike.
Pure Python, imported by the lexer: nothing heavy.
"""

from __future__ import annotations

import math
from fractions import Fraction

#: The most digits a whole number may have, anywhere the tool reads one.
MAX_DIGITS = 400
#: The most characters a real number may be written with ("0.75", "1e-3").
MAX_REAL_CHARS = 100
#: The largest alpha, rho or multiplier a user may give: 10^300 (a float still
#: holds it; issue 9's alpha 1e200 stays exact).
MAX_SCALE = Fraction(10) ** 300


class NumberError(ValueError):
    """A number that cannot be read: the message says why, in words."""


def is_ascii_digits(text: str) -> bool:
    """True for a whole number written in ASCII digits ("12"; not "²" or "١٢",
    which ``str.isdigit`` accepts and ``int`` may not)."""
    return text.isascii() and text.isdigit()


def shown(value, limit: int = 40) -> str:
    """``value`` for a message: text quoted, anything else as Python writes it;
    long text cut, with its length said."""
    if not isinstance(value, str):
        text = repr(value) if not isinstance(value, int) or value.bit_length() < 1000 else "a huge number"
        return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def whole(text: str, what: str = "a number", *, digits: int = MAX_DIGITS, low: int | None = None,
          high: int | None = None) -> int:
    """``text`` (ASCII digits, at most ``digits`` of them) as an int in
    [``low``, ``high``]; else :class:`NumberError` saying what was wrong."""
    text = str(text).strip()
    if not is_ascii_digits(text):
        raise NumberError(f"{what} must be a whole number, got {shown(text)}")
    if len(text) > digits:
        raise NumberError(f"{what} has {len(text):,} digits; at most {digits:,}")
    value = int(text)
    return in_range(value, what, low, high)


def whole_value(value: int, what: str) -> int:
    """An int given as a number (a command-line option) held to MAX_DIGITS digits,
    as if it had been read from text."""
    bits = abs(value).bit_length()
    if bits >= MAX_DIGITS * 3.32:  # near the limit or past it: count the digits
        if bits > 14_000:  # past what Python prints (4,300 digits)
            raise NumberError(f"{what} has about {int(bits * 0.30103):,} digits; at most {MAX_DIGITS:,}")
        digits = len(str(abs(value)))
        if digits > MAX_DIGITS:
            raise NumberError(f"{what} has {digits:,} digits; at most {MAX_DIGITS:,}")
    return value


def in_range(value, what: str, low=None, high=None):
    """``value`` when ``low <= value <= high`` (either may be None)."""
    if low is not None and value < low:
        raise NumberError(f"{what} must be at least {_fmt(low)}, got {_fmt(value)}")
    if high is not None and value > high:
        raise NumberError(f"{what} must be at most {_fmt(high)}, got {_fmt(value)}")
    return value


def real(text, what: str = "a number", *, low=None, high=None, low_open: bool = False) -> Fraction:
    """``text`` ("0.75", "1e-3", 3, 0.5) as an exact, finite Fraction in range;
    ``low_open``: ``low`` itself is refused (e.g. positive numbers)."""
    if isinstance(text, Fraction):
        value = text
    else:
        if isinstance(text, float) and not math.isfinite(text):
            raise NumberError(f"{what} must be a finite number, got {text}")
        raw = str(text).strip()
        if len(raw) > MAX_REAL_CHARS:
            raise NumberError(f"{what} is written with {len(raw):,} characters; at most {MAX_REAL_CHARS}")
        if not raw.isascii():
            raise NumberError(f"{what} must be a number, got {shown(raw)}")
        mantissa, _, exponent = raw.lower().partition("e")
        if exponent and not (exponent.lstrip("+-").isdigit() and len(exponent.lstrip("+-")) <= 4):
            raise NumberError(f"{what} must be a number, got {shown(raw)}")
        if exponent and abs(int(exponent)) > 1000:
            raise NumberError(f"{what} is out of range, got {shown(raw)}")
        try:
            value = Fraction(raw)
        except (ValueError, ZeroDivisionError):
            raise NumberError(f"{what} must be a number, got {shown(raw)}") from None
    if low is not None and (value < low or (low_open and value == low)):
        bound = "positive" if low_open and low == 0 else f"{'greater than' if low_open else 'at least'} {_fmt(low)}"
        raise NumberError(f"{what} must be {bound}, got {_fmt(value)}")
    if high is not None and value > high:
        raise NumberError(f"{what} must be at most {_fmt(high)}, got {_fmt(value)}")
    return value


def _fmt(value) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            value = value.numerator
        elif abs(value) < MAX_SCALE * 10:
            return f"{float(value):g}"
    if isinstance(value, (int, Fraction)):
        if abs(value) < 10**15:
            return f"{value:,}"
        if abs(value) < MAX_SCALE * 10:
            return f"{float(value):g}"
        return f"a number past 1e+300"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: Below this, ``n / scale`` as a float is exact enough and formats as it always has.
_FLOAT_SAFE = 10**300


def scaled(n: int, scale: int, digits: int = 2) -> str:
    """``n / scale`` with ``digits`` decimals and thousands separators, for a count
    of any size: a count too large for a float (a 309-digit channel count, alpha
    1e200) is divided exactly in decimal instead of overflowing."""
    if abs(n) < _FLOAT_SAFE:
        return f"{n / scale:,.{digits}f}"
    from decimal import ROUND_HALF_EVEN, Context, Decimal

    ctx = Context(prec=len(str(abs(n))) + digits + 4)
    value = ctx.divide(Decimal(n), Decimal(scale)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_EVEN, ctx)
    return f"{value:,.{digits}f}"


def ratio(a: int, b: int) -> float:
    """``a / b`` for counts of any size (int / int is exact and never overflows
    unless the ratio itself does; then it is inf)."""
    try:
        return a / b
    except OverflowError:
        return float("inf") if (a < 0) == (b < 0) else float("-inf")


def safe_float(value) -> float:
    """A Fraction or int as a float, inf where it is too large for one."""
    value = Fraction(value)
    return ratio(value.numerator, value.denominator)
