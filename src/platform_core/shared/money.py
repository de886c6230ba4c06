"""Money: integer minor units plus an ISO 4217 currency; arithmetic refuses mixed currencies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from platform_core.shared.errors import ValidationError

# ISO 4217 active codes with their minor-unit exponent. Kept as data so adding one is one line.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2,
    "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2,
    "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2, "SAR": 2,
    "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0,
    "ZAR": 2,
}  # fmt: skip


def validate_currency(code: object) -> str:
    """Return the code if it is a known ISO 4217 currency, else raise ValidationError."""
    if not isinstance(code, str) or code not in CURRENCY_EXPONENTS:
        raise ValidationError(f"unknown currency {code!r}", {"field": "currency", "value": code})
    return code


def _check_amount(_: Any, attribute: attrs.Attribute[int], value: object) -> None:
    # bool is an int subclass; True is never an amount of money.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(
            "money amount must be an integer number of minor units",
            {"field": attribute.name, "value": repr(value)},
        )


def _check_currency(_: Any, __: attrs.Attribute[str], value: object) -> None:
    validate_currency(value)


@attrs.frozen(order=False)
class Money:
    """An amount in minor units (cents) of one currency. May be negative (discounts, refunds)."""

    amount: int = attrs.field(validator=_check_amount)
    currency: str = attrs.field(validator=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """Sum of `amounts`, all in `currency` (zero when empty)."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValidationError(
                f"cannot combine {self.currency} with {other.currency}",
                {"currencies": [self.currency, other.currency]},
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            raise TypeError("money can only be multiplied by an integer")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def to_payload(self) -> dict[str, int | str]:
        """JSON shape used in event payloads and APIs."""
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_payload(cls, payload: object) -> Money:
        if not isinstance(payload, dict) or set(payload) != {"amount", "currency"}:
            raise ValidationError("money must be {amount, currency}", {"value": repr(payload)})
        return cls(payload["amount"], payload["currency"])

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def percent(self, basis_points: int) -> Money:
        """`basis_points`/10000 of this amount, rounded half away from zero to a minor unit."""
        numerator = self.amount * basis_points
        sign = -1 if numerator < 0 else 1
        quotient, remainder = divmod(abs(numerator), 10_000)
        if remainder * 2 >= 10_000:
            quotient += 1
        return Money(sign * quotient, self.currency)

    def __str__(self) -> str:
        exponent = CURRENCY_EXPONENTS[self.currency]
        sign = "-" if self.amount < 0 else ""
        if exponent == 0:
            return f"{sign}{abs(self.amount)} {self.currency}"
        whole, fraction = divmod(abs(self.amount), 10**exponent)
        return f"{sign}{whole}.{fraction:0{exponent}d} {self.currency}"
