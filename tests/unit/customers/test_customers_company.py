"""Company: creation rules, defaults, primary contacts and their events."""

from __future__ import annotations

import json
from datetime import datetime

import attrs
import pytest
from customers_examples import LATER, START, address, company, contact
from hypothesis import given
from hypothesis import strategies as st

from platform_core.customers.geography import region_country, validate_country, validate_region
from platform_core.customers.model import (
    UNCHANGED,
    AddressValidationStatus,
    Company,
    ContactRole,
    CustomerEvent,
)
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.testing.customers import companies, countries, regions


def test_create_cleans_input_and_announces_the_company() -> None:
    """A new company has a collapsed name, an upper-case region and a company.created event."""
    created, events = Company.create(
        company_id="cmp_1",
        name="  Acme   Sensors ",
        company_mirror_id="mir_9",
        currency="CAD",
        region="ca-on",
        at=START,
    )
    assert (created.name, created.region, created.currency) == ("Acme Sensors", "CA-ON", "CAD")
    assert created.primary_contacts == ()
    assert created.version == 1
    assert [e.type for e in events] == [CustomerEvent.COMPANY_CREATED]
    assert events[0].payload["company_mirror_id"] == "mir_9"
    assert events[0].source_module == "customers"
    assert events[0].aggregate_type == "company"
    json.dumps(events[0].as_dict())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"currency": "XXX"}, "currency"),
        ({"currency": "cad"}, "currency"),
        ({"region": "Ontario"}, "region"),
        ({"region": "ZZ"}, "region"),
        ({"region": "CA-TOOLONG"}, "region"),
        ({"name": "   "}, "name"),
        ({"company_mirror_id": ""}, "company_mirror_id"),
    ],
)
def test_create_refuses_bad_input(changes: dict[str, str], field: str) -> None:
    """Unknown currency, malformed region, blank name or missing mirror id are refused."""
    arguments = {
        "company_id": "cmp_1",
        "name": "Acme",
        "company_mirror_id": "mir_1",
        "currency": "CAD",
        "region": None,
        **changes,
    }
    with pytest.raises(ValidationError) as raised:
        Company.create(**arguments, at=START)  # type: ignore[arg-type]
    assert raised.value.details["field"] == field


def test_create_refuses_a_naive_instant() -> None:
    """Time without a zone is refused: the core only handles aware instants."""
    with pytest.raises(ValidationError):
        Company.create(
            company_id="cmp_1",
            name="Acme",
            company_mirror_id="mir_1",
            currency="CAD",
            at=datetime(2026, 1, 1),  # naive on purpose
        )


@given(countries())
def test_every_country_is_a_region_of_its_own(country: str) -> None:
    """A country code is a valid pricing region and its own country."""
    assert validate_region(country.lower()) == country
    assert region_country(country) == country == validate_country(f" {country.lower()} ")


def test_a_subdivision_region_belongs_to_its_country() -> None:
    """A subdivision code is upper-cased and its country is its prefix."""
    assert validate_region(" ca-on ") == "CA-ON"
    assert region_country("CA-ON") == "CA"


def test_change_defaults_sets_own_addresses_and_reports_what_changed() -> None:
    """Default addresses of the company are set, with a company.defaults_changed event."""
    home = company()
    changed, events = home.change_defaults(
        shipping_address=address("adr_1"), billing_address=address("adr_2"), at=LATER
    )
    assert changed.default_shipping_address_id == "adr_1"
    assert changed.default_billing_address_id == "adr_2"
    assert [e.type for e in events] == [CustomerEvent.COMPANY_DEFAULTS_CHANGED]
    assert events[0].payload["changed"] == [
        "default_shipping_address_id",
        "default_billing_address_id",
    ]
    assert home.default_shipping_address_id is None


def test_change_defaults_can_clear_an_address_and_change_currency_and_region() -> None:
    """None clears a default; currency and region change; UNCHANGED fields keep their value."""
    home, _ = company().change_defaults(shipping_address=address(), at=LATER)
    changed, events = home.change_defaults(
        shipping_address=None, currency="USD", region="us", billing_address=UNCHANGED, at=LATER
    )
    assert changed.default_shipping_address_id is None
    assert (changed.currency, changed.region) == ("USD", "US")
    assert events[0].payload["changed"] == ["default_shipping_address_id", "currency", "region"]


def test_change_defaults_without_a_change_emits_nothing() -> None:
    """Giving the current values back returns the same company and no event."""
    home = company()
    same, events = home.change_defaults(currency="CAD", region="CA-ON", at=LATER)
    assert same is home
    assert events == []


def test_an_address_of_another_company_cannot_be_a_default() -> None:
    """A default address must belong to the company; the company is left unchanged."""
    home = company()
    with pytest.raises(ValidationError) as raised:
        home.change_defaults(billing_address=address(company_id="cmp_2"), at=LATER)
    assert raised.value.details["field"] == "default_billing_address_id"
    assert home.default_billing_address_id is None


def test_an_invalid_address_cannot_be_a_default() -> None:
    """An address known to be undeliverable is refused as a default."""
    bad, _ = address().record_validation(AddressValidationStatus.INVALID, at=LATER)
    with pytest.raises(ValidationError) as raised:
        company().change_defaults(shipping_address=bad, at=LATER)
    assert raised.value.details["field"] == "default_shipping_address_id"


def test_change_defaults_refuses_an_unknown_currency() -> None:
    """The billing currency must be a known ISO 4217 code."""
    with pytest.raises(ValidationError) as raised:
        company().change_defaults(currency="ABC", at=LATER)
    assert raised.value.details["field"] == "currency"


def test_set_primary_contact_for_a_role_the_contact_holds() -> None:
    """A company contact holding the role becomes primary; the event lists primary contacts."""
    home, events = company().set_primary_contact(ContactRole.BILLING, contact(), at=LATER)
    assert home.primary_contact(ContactRole.BILLING) == "con_1"
    assert home.primary_roles_of("con_1") == {ContactRole.BILLING}
    assert events[0].payload["primary_contacts"] == {"billing": "con_1"}
    assert events[0].payload["changed"] == ["primary_contacts"]


def test_setting_the_same_primary_contact_again_changes_nothing() -> None:
    """Repeating the assignment yields no event."""
    home, _ = company().set_primary_contact(ContactRole.BILLING, contact(), at=LATER)
    same, events = home.set_primary_contact(ContactRole.BILLING, contact(), at=LATER)
    assert same is home
    assert events == []


def test_clearing_a_primary_contact() -> None:
    """None removes the primary contact of the role."""
    home, _ = company().set_primary_contact(ContactRole.BILLING, contact(), at=LATER)
    cleared, events = home.set_primary_contact(ContactRole.BILLING, None, at=LATER)
    assert cleared.primary_contact(ContactRole.BILLING) is None
    assert len(events) == 1


def test_primary_contact_must_belong_to_the_company() -> None:
    """A contact of another company is refused and the company is unchanged."""
    home = company()
    with pytest.raises(ValidationError) as raised:
        home.set_primary_contact(ContactRole.BILLING, contact(company_id="cmp_2"), at=LATER)
    assert raised.value.details["field"] == "contact_id"
    assert home.primary_contacts == ()


def test_primary_contact_must_hold_the_role() -> None:
    """A contact without the role cannot be primary for it."""
    with pytest.raises(ValidationError) as raised:
        company().set_primary_contact(ContactRole.SHIPPING, contact(), at=LATER)
    assert raised.value.details["field"] == "role"


def test_archived_contact_cannot_become_primary() -> None:
    """An archived contact is refused with a conflict."""
    archived, _ = contact().archive(at=LATER)
    with pytest.raises(ConflictError):
        company().set_primary_contact(ContactRole.BILLING, archived, at=LATER)


def test_unknown_role_is_refused() -> None:
    """A role outside the fixed set is a validation error."""
    with pytest.raises(ValidationError) as raised:
        company().set_primary_contact("purchasing", contact(), at=LATER)  # type: ignore[arg-type]
    assert raised.value.details["field"] == "role"


def test_require_not_primary_names_the_roles() -> None:
    """A primary contact is refused for its roles only, with the roles in the details."""
    both = contact(roles=(ContactRole.BILLING, ContactRole.SHIPPING))
    home, _ = company().set_primary_contact(ContactRole.SHIPPING, both, at=LATER)
    home, _ = home.set_primary_contact(ContactRole.BILLING, both, at=LATER)
    with pytest.raises(ConflictError) as raised:
        home.require_not_primary("con_1")
    assert raised.value.details["roles"] == ["billing", "shipping"]
    home.require_not_primary("con_1", {ContactRole.TECHNICAL})
    home.require_not_primary("con_2")


def test_primary_contacts_are_stored_in_role_order_and_refuse_duplicates() -> None:
    """The frozen pairs are ordered by role; two contacts for one role are refused."""
    home = attrs.evolve(
        company(), primary_contacts={ContactRole.SHIPPING: "con_2", ContactRole.BILLING: "con_1"}
    )
    assert home.primary_contacts == (
        (ContactRole.BILLING, "con_1"),
        (ContactRole.SHIPPING, "con_2"),
    )
    with pytest.raises(ValidationError):
        attrs.evolve(
            company(), primary_contacts=[(ContactRole.BILLING, "a"), (ContactRole.BILLING, "b")]
        )


@given(companies(region=st.none() | regions()))
def test_generated_companies_are_valid_and_hashable(generated: Company) -> None:
    """The public strategy yields companies that survive re-validation and hashing."""
    assert attrs.evolve(generated) == generated
    assert hash(generated) == hash(attrs.evolve(generated))
