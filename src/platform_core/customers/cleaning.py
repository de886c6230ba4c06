"""Cleaning of outside input for customers: names, e-mails, phones, postal codes, street lines.

Each function returns the canonical form of a valid value or raises ValidationError naming the
field; named constructors and commands clean their input with these before building aggregates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from platform_core.shared.errors import ValidationError

MAX_TEXT_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 254
MAX_ADDRESS_LINES: Final = 4
MIN_PHONE_DIGITS: Final = 4

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ().\-]{4,32}")
_POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 \-]{1,15}")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: object, field: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A required one-line text with its whitespace collapsed."""
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > max_length:
        raise ValidationError(
            f"{field} must be a non-empty text of at most {max_length} characters",
            {"field": field},
        )
    return text


def clean_optional_text(value: object, field: str, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    """An optional one-line text; blank means absent."""
    return None if _blank(value) else clean_text(value, field, max_length)


def clean_email(value: object, field: str = "email") -> str:
    """A required e-mail address, without surrounding whitespace (its case is kept)."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(text):
        raise ValidationError(f"{field} is not a valid e-mail address", {"field": field})
    return text


def normalise_email(email: str) -> str:
    """The form duplicates are found by: no surrounding whitespace, lower case."""
    return email.strip().lower()


def clean_phone(value: object, field: str = "phone") -> str | None:
    """An optional phone number: digits with the usual separators; blank means absent."""
    if _blank(value):
        return None
    text = value.strip() if isinstance(value, str) else ""
    if not _PHONE.fullmatch(text) or sum(ch.isdigit() for ch in text) < MIN_PHONE_DIGITS:
        raise ValidationError(f"{field} is not a valid phone number", {"field": field})
    return text


def clean_postal_code(value: object, field: str = "postal_code") -> str | None:
    """An optional postal code in upper case with single spaces; blank means absent."""
    if _blank(value):
        return None
    text = " ".join(value.split()).upper() if isinstance(value, str) else ""
    if not _POSTAL_CODE.fullmatch(text):
        raise ValidationError(f"{field} is not a valid postal code", {"field": field})
    return text


def clean_lines(value: object, field: str = "lines") -> tuple[str, ...]:
    """Street lines: 1 to MAX_ADDRESS_LINES non-empty texts (blank lines are dropped)."""
    # A bare string is iterable too; taking it as one line per character would be a silent bug.
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a list of text lines", {"field": field})
    lines = tuple(clean_text(line, field) for line in value if not _blank(line))
    if not 1 <= len(lines) <= MAX_ADDRESS_LINES:
        raise ValidationError(
            f"an address needs 1 to {MAX_ADDRESS_LINES} non-empty lines", {"field": field}
        )
    return lines
