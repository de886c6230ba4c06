"""Address: creation rules, the normalised form used for dedupe, validation and use marks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from customers_examples import LATER, START, address
from hypothesis import given
from hypothesis import strategies as st

from platform_core.customers.model import (
    Address,
    AddressValidationStatus,
    CustomerEvent,
    address_key,
)
from platform_core.shared.errors import IllegalTransition, ValidationError
from platform_core.testing.customers import addresses


def test_create_cleans_input() -> None:
    """Lines and city are trimmed, postal code and country upper-cased, status unverified."""
    created = address()
    assert created.lines == ("100 King St W", "Suite 200")
    assert (created.postal_code, created.country) == ("M5X 1A9", "CA")
    assert created.validation_status is AddressValidationStatus.UNVERIFIED
    assert created.last_used_at is None


def test_create_announces_a_snapshot_consumers_can_copy() -> None:
    """address.created carries the full address, as JSON."""
    _, events = Address.create(
        address_id="adr_1",
        company_id="cmp_1",
        lines=["1 Main St"],
        city="Springfield",
        country="US",
        at=START,
    )
    assert events[0].type == CustomerEvent.ADDRESS_CREATED
    assert events[0].payload["lines"] == ["1 Main St"]
    assert events[0].payload["validation_status"] == "unverified"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": ["  ", ""]}, "lines"),
        ({"lines": "1 Main St"}, "lines"),
        ({"lines": ["a", "b", "c", "d", "e"]}, "lines"),
        ({"lines": ["x" * 201]}, "lines"),
        ({"city": ""}, "city"),
        ({"country": "Canada"}, "country"),
        ({"country": "XX"}, "country"),
        ({"postal_code": "!!"}, "postal_code"),
    ],
)
def test_create_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """Missing or too many lines, a bare string, blank city, unknown country are refused."""
    arguments: dict[str, object] = {
        "address_id": "adr_1",
        "company_id": "cmp_1",
        "lines": ["1 Main St"],
        "city": "Springfield",
        "country": "US",
        **changes,
    }
    with pytest.raises(ValidationError) as raised:
        Address.create(**arguments, at=START)  # type: ignore[arg-type]
    assert raised.value.details["field"] == field


def test_the_normalised_key_ignores_case_punctuation_and_spacing() -> None:
    """Typing the same address differently gives the same key; another street does not."""
    typed = address_key(["100 King St. W.", "Suite 200"], "toronto", "on", "M5X1A9", "ca")
    assert typed == address().normalised_key
    assert address_key(["101 King St W"], "Toronto", "ON", "M5X 1A9", "CA") != typed


@given(addresses(), st.sampled_from([str.upper, str.lower, str.title]))
def test_case_never_changes_the_key(generated: Address, recase: Callable[[str], str]) -> None:
    """Any re-casing of every part of an address keeps its normalised key."""
    key = address_key(
        [recase(line) for line in generated.lines],
        recase(generated.city),
        None if generated.region is None else recase(generated.region),
        generated.postal_code,
        generated.country,
    )
    assert key == generated.normalised_key


def test_a_location_change_makes_a_verified_address_unverified() -> None:
    """Editing the street of a verified address resets it to unverified."""
    verified, _ = address().record_validation(AddressValidationStatus.VERIFIED, at=START)
    moved, events = verified.update(lines=["200 Bay St"], at=LATER)
    assert moved.validation_status is AddressValidationStatus.UNVERIFIED
    assert events[0].type == CustomerEvent.ADDRESS_UPDATED
    assert events[0].payload["changed"] == ["lines", "validation_status"]
    assert verified.lines == ("100 King St W", "Suite 200")


def test_a_cosmetic_edit_keeps_the_verification() -> None:
    """Changing only case or punctuation keeps a verified address verified."""
    verified, _ = address().record_validation(AddressValidationStatus.VERIFIED, at=START)
    tidied, events = verified.update(city="TORONTO", at=LATER)
    assert tidied.validation_status is AddressValidationStatus.VERIFIED
    assert events[0].payload["changed"] == ["city"]


def test_update_without_change_emits_nothing() -> None:
    """Giving the current values back changes nothing."""
    original = address()
    same, events = original.update(city="Toronto", postal_code="M5X 1A9", at=LATER)
    assert same is original
    assert events == []


def test_update_can_clear_region_and_postal_code() -> None:
    """None removes the optional region and postal code."""
    cleared, _ = address().update(region=None, postal_code=None, at=LATER)
    assert cleared.region is None
    assert cleared.postal_code is None


def test_an_invalid_address_must_be_edited_before_it_is_verified() -> None:
    """invalid -> verified is refused; an edit makes it unverified and verifiable again."""
    invalid, _ = address().record_validation(AddressValidationStatus.INVALID, at=START)
    with pytest.raises(IllegalTransition):
        invalid.record_validation(AddressValidationStatus.VERIFIED, at=LATER)
    assert invalid.validation_status is AddressValidationStatus.INVALID
    fixed, _ = invalid.update(lines=["100 King St W", "Suite 2000"], at=LATER)
    verified, _ = fixed.record_validation(AddressValidationStatus.VERIFIED, at=LATER)
    assert verified.validation_status is AddressValidationStatus.VERIFIED


def test_a_verified_address_can_later_be_found_invalid() -> None:
    """A failed delivery may mark a verified address invalid."""
    verified, _ = address().record_validation(AddressValidationStatus.VERIFIED, at=START)
    invalid, events = verified.record_validation(AddressValidationStatus.INVALID, at=LATER)
    assert invalid.validation_status is AddressValidationStatus.INVALID
    assert events[0].payload["changed"] == ["validation_status"]


def test_unverified_is_not_a_verdict() -> None:
    """Recording 'unverified' as a validation result is refused."""
    with pytest.raises(ValidationError) as raised:
        address().record_validation(AddressValidationStatus.UNVERIFIED, at=LATER)
    assert raised.value.details["field"] == "validation_status"


def test_mark_used_only_moves_forward_and_emits_nothing() -> None:
    """The last-used mark advances with later uses and ignores earlier ones; never an event."""
    used, events = address().mark_used(at=LATER)
    assert used.last_used_at == LATER
    assert events == []
    same, _ = used.mark_used(at=LATER - timedelta(days=1))
    assert same is used
