"""Strategies for customers: companies, contacts, addresses and the values they are made of.

Aggregates are built through their named constructors, so every generated value passes the
same validation as real input.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import datetime

from hypothesis import strategies as st

from platform_core.customers.geography import COUNTRY_CODES
from platform_core.customers.model import (
    Address,
    AddressValidationStatus,
    Company,
    Contact,
    ContactRole,
)
from platform_core.testing.shared import currencies, ids, instants

# Subdivisions that exist, so generated regions read like real ones in failure reports.
SAMPLE_SUBDIVISIONS = ("CA-ON", "CA-QC", "CA-BC", "US-CA", "US-NY", "US-TX", "DE-BY", "AU-NSW")


def contact_roles() -> st.SearchStrategy[ContactRole]:
    """Any contact role."""
    return st.sampled_from(ContactRole)


def role_sets(min_size: int = 0) -> st.SearchStrategy[frozenset[ContactRole]]:
    """Sets of contact roles with at least `min_size` members."""
    return st.frozensets(contact_roles(), min_size=min_size)


def validation_statuses() -> st.SearchStrategy[AddressValidationStatus]:
    """Any address validation status."""
    return st.sampled_from(AddressValidationStatus)


def countries() -> st.SearchStrategy[str]:
    """ISO 3166-1 alpha-2 country codes."""
    return st.sampled_from(sorted(COUNTRY_CODES))


def regions() -> st.SearchStrategy[str]:
    """Pricing regions: a country code or a subdivision code such as "CA-ON"."""
    return countries() | st.sampled_from(SAMPLE_SUBDIVISIONS)


def names(max_size: int = 40) -> st.SearchStrategy[str]:
    """Human names and titles: letters and single spaces, never blank."""
    word = st.text(string.ascii_letters, min_size=1, max_size=12)
    return (
        st.lists(word, min_size=1, max_size=4)
        .map(" ".join)
        .filter(lambda text: len(text) <= max_size)
    )


def emails() -> st.SearchStrategy[str]:
    """Valid e-mail addresses in mixed case (duplicates are found case-insensitively)."""
    local = st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=16)
    domain = st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)
    tld = st.sampled_from(["com", "ca", "org", "io", "CO.UK"])
    return st.builds(lambda a, b, c: f"{a}@{b}.{c}", local, domain, tld)


def phones() -> st.SearchStrategy[str | None]:
    """Valid phone numbers, or None."""
    number = st.builds(
        lambda area, line: f"+1 ({area}) {line[:3]}-{line[3:]}",
        st.integers(200, 999),
        st.text(string.digits, min_size=7, max_size=7),
    )
    return st.none() | number


def street_lines() -> st.SearchStrategy[tuple[str, ...]]:
    """One to three street lines."""
    line = st.builds(
        lambda number, street, kind: f"{number} {street} {kind}",
        st.integers(1, 9999),
        st.text(string.ascii_letters, min_size=2, max_size=12),
        st.sampled_from(["St", "Street", "Ave.", "Road", "Blvd"]),
    )
    return st.lists(line, min_size=1, max_size=3).map(tuple)


def postal_codes() -> st.SearchStrategy[str | None]:
    """Postal codes in a few national shapes, or None."""
    canadian = st.from_regex(r"[A-Z][0-9][A-Z] [0-9][A-Z][0-9]", fullmatch=True)
    american = st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True)
    return st.none() | canadian | american


def companies(
    currency: str | None = None,
    region: str | st.SearchStrategy[str | None] | None = None,
    created_at: datetime | None = None,
) -> st.SearchStrategy[Company]:
    """New companies (no defaults, no primary contacts). `region` is a fixed region, None for
    none, or a strategy; the currency is any known one unless given."""
    region_strategy = region if isinstance(region, st.SearchStrategy) else st.just(region)

    def build(
        company_id: str, name: str, mirror: str, code: str, area: str | None, at: datetime
    ) -> Company:
        company, _ = Company.create(
            company_id=company_id,
            name=name,
            company_mirror_id=mirror,
            currency=code,
            region=area,
            at=at,
        )
        return company

    return st.builds(
        build,
        ids("cmp"),
        names(),
        ids("mir"),
        st.just(currency) if currency else currencies(),
        region_strategy,
        st.just(created_at) if created_at else instants(),
    )


def contacts(
    company_id: str = "cmp_1",
    roles: st.SearchStrategy[frozenset[ContactRole]] | None = None,
    created_at: datetime | None = None,
) -> st.SearchStrategy[Contact]:
    """New active contacts of `company_id`."""

    def build(
        contact_id: str,
        name: str,
        email: str,
        phone: str | None,
        held: frozenset[ContactRole],
        at: datetime,
    ) -> Contact:
        contact, _ = Contact.create(
            contact_id=contact_id,
            company_id=company_id,
            name=name,
            email=email,
            phone=phone,
            roles=held,
            at=at,
        )
        return contact

    return st.builds(
        build,
        ids("con"),
        names(),
        emails(),
        phones(),
        roles if roles is not None else role_sets(),
        st.just(created_at) if created_at else instants(),
    )


def addresses(
    company_id: str = "cmp_1",
    countries_from: Sequence[str] | None = None,
    created_at: datetime | None = None,
) -> st.SearchStrategy[Address]:
    """New unverified addresses of `company_id`, in any country or one of `countries_from`."""

    def build(
        address_id: str,
        lines: tuple[str, ...],
        city: str,
        area: str | None,
        postal_code: str | None,
        country: str,
        at: datetime,
    ) -> Address:
        address, _ = Address.create(
            address_id=address_id,
            company_id=company_id,
            lines=lines,
            city=city,
            region=area,
            postal_code=postal_code,
            country=country,
            at=at,
        )
        return address

    return st.builds(
        build,
        ids("adr"),
        street_lines(),
        names(30),
        st.none() | st.sampled_from(["ON", "QC", "NY", "CA", "Bavaria"]),
        postal_codes(),
        st.sampled_from(list(countries_from)) if countries_from else countries(),
        st.just(created_at) if created_at else instants(),
    )
