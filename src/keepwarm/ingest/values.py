"""Reading one messy cell into a clean value. Each parser raises ValueError with a reason a
practice owner can act on; callers attach the file, line and column."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class DateOrder(StrEnum):
    DAY_FIRST = "dayfirst"
    MONTH_FIRST = "monthfirst"


class DateOrderNeeded(Exception):
    """A numeric date like 03/04/2024 was met and the file's day/month order is not known yet."""


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YMD_SLASH = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})")
_NAMED_DMY = re.compile(r"(\d{1,2})[\s\-/.]+([a-z]+)\.?,?[\s\-/.]+(\d{2}|\d{4})")
_NAMED_MDY = re.compile(r"([a-z]+)\.?[\s\-/.]+(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/.]+(\d{2}|\d{4})")
_TIME_TAIL = re.compile(r"[T\s]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([ap]m)?(Z|[+\-]\d{2}:?\d{2})?$")
EARLIEST = dt.date(1900, 1, 1)


def shown(raw: str) -> str:
    """A cell as quoted in a problem message: a junk cell of 100,000 characters is abbreviated."""
    text = raw.strip()
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _year(text: str) -> int:
    if len(text) == 4:
        return int(text)
    # Two-digit years follow POSIX strptime: 69-99 are 1900s, 00-68 are 2000s.
    value = int(text)
    return 1900 + value if value >= 69 else 2000 + value


def _make(year: int, month: int, day: int, raw: str) -> dt.date:
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a real date") from None
    if value < EARLIEST:
        raise ValueError(f"{raw!r} is before 1900")
    return value


def numeric_date_parts(raw: str) -> tuple[int, int] | None:
    """The first two numbers of a day/month date like 03/04/2024, or None for other forms."""
    match = _NUMERIC.fullmatch(_TIME_TAIL.sub("", raw.strip()))
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_date(raw: str, order: DateOrder | None) -> dt.date:
    """ISO (2024-03-05, 20240305), 2024/03/05, 5 Mar 2024, Mar 5, 2024, and numeric day/month
    dates (05/03/2024) once the file's order is known; a time of day is ignored.

    Raises DateOrderNeeded for a numeric day/month date when `order` is None.
    """
    text = raw.strip()
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if value < EARLIEST:
            raise ValueError(f"{raw!r} is before 1900")
        return value
    text = _TIME_TAIL.sub("", text).strip()
    for pattern in (_ISO, _YMD_SLASH, _COMPACT):
        match = pattern.fullmatch(text)
        if match:
            return _make(int(match[1]), int(match[2]), int(match[3]), raw)
    match = _NUMERIC.fullmatch(text)
    if match:
        if order is None:
            raise DateOrderNeeded(raw)
        first, second, year = int(match[1]), int(match[2]), _year(match[3])
        if order is DateOrder.DAY_FIRST:
            return _make(year, second, first, raw)
        return _make(year, first, second, raw)
    lowered = text.lower()
    match = _NAMED_DMY.fullmatch(lowered)
    if match and match[2] in _MONTHS:
        return _make(_year(match[3]), _MONTHS[match[2]], int(match[1]), raw)
    match = _NAMED_MDY.fullmatch(lowered)
    if match and match[1] in _MONTHS:
        return _make(_year(match[3]), _MONTHS[match[1]], int(match[2]), raw)
    raise ValueError(f"{shown(raw)} is not a date (expected e.g. 2024-03-05)")


_CURRENCY = re.compile(r"(?i)[$€£¥₹₩₽₺₪฿₫₴₦]|\b(usd|eur|gbp|chf|cad|aud|nzd|sek|nok|dkk|pln)\b|kr")
_PLAIN_AMOUNT = re.compile(r"(-?)(\d+)(?:\.(\d{1,2}))?")
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+|\d+")
_CENT = Decimal(100)
# Far beyond any one visit or invoice, and small enough that sums over millions of rows still
# fit the 64-bit integers both databases store cents in.
MAX_CENTS = 10**14 - 1


def parse_amount(raw: str) -> int:
    """Money in integer cents. Accepts currency symbols or codes, thousands separators
    (1,234.50 / 1.234,50 / 1 234,50 / 1'234.50), a decimal comma, a leading or trailing minus
    and accounting parentheses for negatives. A lone separator followed by exactly three digits
    is a thousands separator (1.234 and 1,234 are both one thousand two hundred thirty-four)."""
    cents = _cents(raw)
    if abs(cents) > MAX_CENTS:
        raise ValueError(f"{shown(raw)} is too large an amount of money")
    return cents


def _cents(raw: str) -> int:
    text = raw.strip()
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain:  # the common case, in exact integer arithmetic
        sign, whole, frac = plain.groups()
        if len(whole.lstrip("0")) > 15:  # far past MAX_CENTS; int() of huge text is slow
            raise ValueError(f"{shown(raw)} is too large an amount of money")
        cents = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0)
        return -cents if sign else cents
    negative = False
    text = _CURRENCY.sub("", text)
    text = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = not negative, text[:-1]
    if text.startswith("-"):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit():
        raise ValueError(f"{shown(raw)} is not an amount of money")
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    decimal_sep = None
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        tail = len(text) - text.rfind(sep) - 1
        if text.count(sep) == 1 and tail != 3:
            decimal_sep = sep
    if decimal_sep is None:
        whole, frac = text, ""
        thousands = "." if last_dot >= 0 else ","
    else:
        whole, _, frac = text.rpartition(decimal_sep)
        thousands = "," if decimal_sep == "." else "."
    if not _GROUPED.fullmatch(whole.replace(thousands, ",")) or (not frac.isdigit() and frac):
        raise ValueError(f"{shown(raw)} is not an amount of money")
    if len(frac) > 2:
        raise ValueError(f"{shown(raw)} has more than two decimals")
    try:
        value = Decimal(whole.replace(thousands, "") + "." + (frac or "0"))
    except InvalidOperation:
        raise ValueError(f"{shown(raw)} is not an amount of money") from None
    cents = int(value * _CENT)
    return -cents if negative else cents


def format_amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_quantity(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        text = raw.strip()
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # a decimal comma
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{shown(raw)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{shown(raw)} is not a number")
    return value


_TRUE = {"yes", "y", "true", "t", "1", "x", "ja", "oui", "si", "sí"}
_FALSE = {"no", "n", "false", "f", "0", "nein", "non"}


def parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise ValueError(f"{shown(raw)} is not yes or no")


def is_phone_region(region: str) -> bool:
    """Whether phone numbers can be read in `region` (ISO 3166 two letters: GB, not UK)."""
    return region in phonenumbers.SUPPORTED_REGIONS


class Unusable(ValueError):
    """A phone number or an email address that cannot be used as written. The message says so
    in a sentence; `reason` in a few words ("not a full number"), for a value an import keeps
    as written and flags on the client."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# Cells that mean "nothing here" in a phone or email column.
EMPTY_MARKERS = frozenset(
    {"n/a", "na", "n.a.", "none", "-", "--", "---", "null", "nil", "unknown", "?", "tbd", "x"}
)


def is_empty_marker(raw: str) -> bool:
    """Whether a phone or email cell says there is none ("n/a", "none", "-")."""
    return raw.strip().lower() in EMPTY_MARKERS


_SHORT = (
    phonenumbers.ValidationResult.TOO_SHORT,
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
)


def parse_phone(raw: str, region: str) -> str:
    """A phone number in E.164 form (+14155550123), read in `region` when it has no prefix.
    Only a full number is one: a local number without its area code (555-0407) raises
    Unusable, as does anything too long or not a number at all (never guessed at)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Unusable(f"{shown(raw)} is not a phone number", "not a phone number") from None
    result = phonenumbers.is_possible_number_with_reason(number)
    if result in _SHORT:
        raise Unusable(
            f"{shown(raw)} is not a phone number in {region}: not a full number "
            "(is the area code missing?)",
            "not a full number",
        )
    if result == phonenumbers.ValidationResult.TOO_LONG:
        raise Unusable(
            f"{shown(raw)} is not a phone number in {region}: too long",
            "too long for a phone number",
        )
    if result != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise Unusable(f"{shown(raw)} is not a phone number in {region}", "not a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Unusable(
            f"{shown(raw)} is not an email address ({exc})", "not an email address"
        ) from None


# Spreadsheet formula injection: a cell starting with one of these is run as a formula by
# Excel/LibreOffice. Exports prefix such cells with an apostrophe; imports take it off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(value: str) -> bool:
    return value.lstrip("'").startswith(_FORMULA_START)


def neutralise(value: str) -> str:
    """Make a text cell safe to open in a spreadsheet; `restore` undoes it exactly."""
    return "'" + value if value and _needs_quote(value) else value


def restore(value: str) -> str:
    return value[1:] if value.startswith("'") and _needs_quote(value) else value
