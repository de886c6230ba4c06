"""Shipment destinations: a frozen copy of an address, owned by the shipment."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from platform_core.customers.cleaning import (
    clean_lines,
    clean_optional_text,
    clean_postal_code,
    clean_text,
)
from platform_core.customers.geography import validate_country
from platform_core.shared.events import JsonValue


# Converters apply the customers context's address rules, so a company address copied into a
# shipment is accepted as is, and a hand-typed one is cleaned the same way.
def _name(value: str) -> str:
    return clean_text(value, "name")


def _lines(value: Iterable[str]) -> tuple[str, ...]:
    return clean_lines(value, "lines")


def _city(value: str) -> str:
    return clean_text(value, "city")


def _region(value: str | None) -> str | None:
    return clean_optional_text(value, "region")


def _postal_code(value: str | None) -> str | None:
    return clean_postal_code(value, "postal_code")


def _country(value: str) -> str:
    return validate_country(value, "country")


@attrs.frozen(kw_only=True)
class AddressSnapshot:
    """Where a shipment goes, copied when the shipment is made: editing a company's address
    later never redirects a parcel."""

    name: str = attrs.field(converter=_name)
    lines: tuple[str, ...] = attrs.field(converter=_lines)
    city: str = attrs.field(converter=_city)
    region: str | None = attrs.field(default=None, converter=_region)
    postal_code: str | None = attrs.field(default=None, converter=_postal_code)
    country: str = attrs.field(converter=_country)

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "name": self.name,
            "lines": list(self.lines),
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
        }
