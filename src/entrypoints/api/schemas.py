"""Wire shapes shared by every route: money, pages, the error body.

Request and response bodies are msgspec Structs: Litestar decodes and validates them (naming
each offending field) and documents them in the OpenAPI schema. They are converted to and from
the core's attrs objects by plain functions in each route module; the core never sees them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from platform_core.shared.money import Money

MAX_PAGE_SIZE = 500


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are refused rather than silently dropped."""


class View(msgspec.Struct, kw_only=True):
    """Base of response bodies."""


class MoneyBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An amount in integer minor units (cents) with its ISO 4217 currency."""

    amount: int
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3, examples=["USD"])]

    def to_money(self) -> Money:
        return Money(self.amount, self.currency.upper())

    @classmethod
    def of(cls, money: Money) -> MoneyBody:
        return cls(amount=money.amount, currency=money.currency)


def money_or_none(money: Money | None) -> MoneyBody | None:
    return None if money is None else MoneyBody.of(money)


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: Annotated[
        str,
        msgspec.Meta(
            description="VALIDATION, AUTHN, AUTHZ, NOT_FOUND, CONFLICT, RATE_LIMIT or INTERNAL"
        ),
    ]
    message: str
    details: dict[str, Any]
    request_id: str


class ErrorBody(msgspec.Struct, kw_only=True):
    """The one error payload of the API."""

    error: ErrorDetail


class Ack(View):
    """Answer of an endpoint that accepted something and has nothing more to say."""

    status: str
