"""A manual invoice bills an existing company, and only that company's contact and address."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from billing_examples import START, BillingDepsForTests, usd

from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.billing.ports import InvoiceQuery
from platform_core.billing.service import (
    CreateDraftInvoice,
    NewInvoiceLine,
    create_draft_invoice,
    list_invoices,
)
from platform_core.customers.model import Address, Contact
from platform_core.shared.errors import NotFoundError, ValidationError

SENSOR = NewInvoiceLine("Sensor kit", 1, usd(5_000))


def drafting(
    company_id: str = "co_1", contact_id: str | None = None, address_id: str | None = None
) -> CreateDraftInvoice:
    return CreateDraftInvoice(
        company_id,
        "USD",
        (SENSOR,),
        billing_contact_id=contact_id,
        billing_address_id=address_id,
    )


def store_contact_of_co_2(db: InMemoryDatabase) -> None:
    contact, _ = Contact.create(
        contact_id="ct_2", company_id="co_2", name="Bo Other", email="bo@co2.example", at=START
    )
    db.table("contacts")[contact.id] = contact


def store_address_of_co_2(db: InMemoryDatabase) -> None:
    address, _ = Address.create(
        address_id="addr_2",
        company_id="co_2",
        lines=["2 Queen Street"],
        city="Ottawa",
        country="CA",
        at=START,
    )
    db.table("addresses")[address.id] = address


async def assert_nothing_drafted(deps: BillingDepsForTests) -> None:
    assert await list_invoices(deps, InvoiceQuery()) == []
    assert deps.db.events == []


async def test_an_invoice_bills_the_companys_own_contact_and_address(
    deps: BillingDepsForTests,
) -> None:
    """The company's active contact and its address are kept on the draft."""
    invoice = await create_draft_invoice(deps, drafting("co_1", "ct_1", "addr_1"))
    assert invoice.company_id == "co_1"
    assert (invoice.billing_contact_id, invoice.billing_address_id) == ("ct_1", "addr_1")


async def test_an_unknown_company_is_not_found(deps: BillingDepsForTests) -> None:
    """No draft is made for a company nobody created."""
    with pytest.raises(NotFoundError) as caught:
        await create_draft_invoice(deps, drafting("co_missing"))
    assert caught.value.details == {"kind": "company", "id": "co_missing"}
    await assert_nothing_drafted(deps)


async def test_another_companys_contact_is_refused(deps: BillingDepsForTests) -> None:
    """A contact of another company cannot be billed on this company's invoice."""
    store_contact_of_co_2(deps.db)
    with pytest.raises(ValidationError) as caught:
        await create_draft_invoice(deps, drafting("co_1", contact_id="ct_2"))
    assert caught.value.details == {"field": "billing_contact_id"}
    await assert_nothing_drafted(deps)


async def test_an_unknown_contact_is_refused_like_another_companys(
    deps: BillingDepsForTests,
) -> None:
    """An id nobody made gets the same answer as another company's contact, so the answer
    does not tell whether an id exists elsewhere."""
    store_contact_of_co_2(deps.db)
    with pytest.raises(ValidationError) as unknown:
        await create_draft_invoice(deps, drafting("co_1", contact_id="ct_missing"))
    with pytest.raises(ValidationError) as foreign:
        await create_draft_invoice(deps, drafting("co_1", contact_id="ct_2"))
    assert str(unknown.value) == str(foreign.value)
    assert unknown.value.details == foreign.value.details
    await assert_nothing_drafted(deps)


async def test_an_archived_contact_is_refused(deps: BillingDepsForTests) -> None:
    """An archived contact of the company no longer receives invoices."""
    contact: Contact = deps.db.table("contacts")["ct_1"]
    archived = attrs.evolve(contact, archived_at=START + timedelta(days=1))
    deps.db.table("contacts")["ct_1"] = archived
    with pytest.raises(ValidationError) as caught:
        await create_draft_invoice(deps, drafting("co_1", contact_id="ct_1"))
    assert caught.value.details == {"field": "billing_contact_id"}
    await assert_nothing_drafted(deps)


@pytest.mark.parametrize("address_id", ["addr_2", "addr_missing"])
async def test_an_address_must_be_the_companys(deps: BillingDepsForTests, address_id: str) -> None:
    """Another company's address, or an unknown one, is refused naming the field."""
    store_address_of_co_2(deps.db)
    with pytest.raises(ValidationError) as caught:
        await create_draft_invoice(deps, drafting("co_1", address_id=address_id))
    assert caught.value.details == {"field": "billing_address_id"}
    await assert_nothing_drafted(deps)
