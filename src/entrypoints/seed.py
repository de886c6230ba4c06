"""Seed data: one customer company and a small synced catalogue. Idempotent.

Running it twice changes nothing the second time: every record is looked up by its natural
key (company mirror id, contact e-mail, normalised address, SKU) before it is created.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from entrypoints.bootstrap import Dependencies
from platform_core.customers.model import ContactRole
from platform_core.customers.service import (
    AddAddress,
    AddContact,
    CreateCompany,
    SetPrimaryContact,
    UpdateCompanyDefaults,
    add_address,
    add_contact,
    create_company,
    set_primary_contact,
    update_company_defaults,
)
from platform_core.pricing.model import PriceBookScope
from platform_core.pricing.service import (
    ActivateAgreement,
    AddPriceBookEntry,
    CreatePriceAgreement,
    CreatePriceBook,
    CreateProduct,
    MarkAgreementPriceSynced,
    MarkEntrySynced,
    activate_agreement,
    add_price_book_entry,
    create_price_agreement,
    create_price_book,
    create_product,
    mark_agreement_price_synced,
    mark_entry_synced,
)
from platform_core.shared.money import Money
from platform_core.shared.scenarios import AutomationScenario

COMPANY_MIRROR_ID = "legacy-cmp-1001"
CURRENCY = "CAD"
# sku -> (name, automation scenario, global list price in cents)
PRODUCTS: dict[str, tuple[str, AutomationScenario | None, int]] = {
    "GW-100": ("Sensor gateway", AutomationScenario.SENSOR_VENDOR_FIRST_TIME, 49_900),
    "PRB-200": ("Soil moisture probe", AutomationScenario.SENSOR_PARTNER_FIRST_TIME, 12_900),
    "GW-100-R": ("Gateway replacement", AutomationScenario.SENSOR_VENDOR_REPLACEMENT, 45_000),
    "MNT-KIT": ("Mounting kit", None, 2_500),
}  # fmt: skip
# A new product priced in the global book but not yet synced to Stripe: orders can be drafted
# and quoted with it, checkout refuses it until the price sync job has run.
UNSYNCED_PRODUCTS: dict[str, tuple[str, AutomationScenario | None, int]] = {
    "AQ-300": ("Air quality sensor", AutomationScenario.SENSOR_VENDOR_FIRST_TIME, 29_900),
}
REGIONAL_PRICES = {"PRB-200": 11_900}  # Ontario price of the probe
AGREEMENT_PRICES = {"GW-100": 44_900}  # the company's negotiated gateway price


@attrs.frozen
class SeededCatalogue:
    company_id: str
    billing_contact_id: str
    operations_contact_id: str
    billing_address_id: str
    shipping_address_id: str
    product_ids: dict[str, str]

    @property
    def gateway_product_id(self) -> str:
        return self.product_ids["GW-100"]


async def seed_catalogue(deps: Dependencies) -> SeededCatalogue:
    """Create (or find) the seed company, its contacts and addresses, and the catalogue."""
    async with deps.uow() as uow:
        existing = await uow.companies.by_mirror_id(COMPANY_MIRROR_ID)
    if existing is not None:
        return await _find_seeded(deps, existing.id)
    company = await create_company(
        deps, CreateCompany("Northwind Sensors Ltd", COMPANY_MIRROR_ID, CURRENCY, "CA-ON")
    )
    seeded = await _seed_people(deps, company.id, await _seed_products(deps))
    await _seed_prices(deps, company.id, seeded.product_ids)
    return seeded


async def _seed_people(
    deps: Dependencies, company_id: str, products: dict[str, str]
) -> SeededCatalogue:
    billing = await add_contact(
        deps, AddContact(company_id, "Dana Reyes", "dana@northwind.example",
                         roles=frozenset({ContactRole.BILLING}))
    )  # fmt: skip
    ops = await add_contact(
        deps, AddContact(company_id, "Omar Haddad", "omar@northwind.example",
                         roles=frozenset({ContactRole.OPERATIONS, ContactRole.SHIPPING}))
    )  # fmt: skip
    billing_address = await add_address(
        deps, AddAddress(company_id, ("100 King St W",), "Toronto", "CA", "ON", "M5X 1A9")
    )
    shipping_address = await add_address(
        deps, AddAddress(company_id, ("55 Industrial Rd",), "Mississauga", "CA", "ON", "L5T 2H4")
    )
    await update_company_defaults(
        deps,
        UpdateCompanyDefaults(
            company_id,
            default_shipping_address_id=shipping_address.id,
            default_billing_address_id=billing_address.id,
        ),
    )
    for role, contact in [(ContactRole.BILLING, billing), (ContactRole.OPERATIONS, ops)]:
        await set_primary_contact(deps, SetPrimaryContact(company_id, role, contact.id))
    return SeededCatalogue(
        company_id, billing.id, ops.id, billing_address.id, shipping_address.id, products
    )


async def _seed_products(deps: Dependencies) -> dict[str, str]:
    product_ids = {}
    for sku, (name, scenario, _) in (PRODUCTS | UNSYNCED_PRODUCTS).items():
        product = await create_product(deps, CreateProduct(sku, name, scenario))
        product_ids[sku] = product.id
    return product_ids


async def _seed_prices(deps: Dependencies, company_id: str, product_ids: dict[str, str]) -> None:
    books = [
        (CreatePriceBook("Global list (CAD)", PriceBookScope.GLOBAL, CURRENCY),
         {sku: price for sku, (_, _, price) in PRODUCTS.items()}),
        (CreatePriceBook("Ontario (CAD)", PriceBookScope.REGIONAL, CURRENCY, "CA-ON"),
         REGIONAL_PRICES),
    ]  # fmt: skip
    for scope, (command, prices) in zip(("global", "on"), books, strict=True):
        book = await create_price_book(deps, command)
        for sku, cents in prices.items():
            entry = await add_price_book_entry(
                deps, AddPriceBookEntry(book.id, product_ids[sku], Money(cents, CURRENCY))
            )
            await mark_entry_synced(
                deps, MarkEntrySynced(entry.id, f"price_seed_{scope}_{sku}", f"prod_seed_{sku}")
            )
        if scope == "global":
            for sku, (_, _, cents) in UNSYNCED_PRODUCTS.items():
                entry_of_new = AddPriceBookEntry(book.id, product_ids[sku], Money(cents, CURRENCY))
                await add_price_book_entry(deps, entry_of_new)
    await _seed_agreement(deps, company_id, product_ids)


async def _seed_agreement(deps: Dependencies, company_id: str, product_ids: dict[str, str]) -> None:
    skus = {product_ids[sku]: sku for sku in AGREEMENT_PRICES}
    prices = {product_ids[sku]: Money(cents, CURRENCY) for sku, cents in AGREEMENT_PRICES.items()}
    agreement = await create_price_agreement(
        deps,
        CreatePriceAgreement(
            company_id, "Northwind 2026", CURRENCY, datetime(2026, 1, 1, tzinfo=UTC), prices
        ),
    )
    await activate_agreement(deps, ActivateAgreement(agreement.id))
    for product_id in prices:
        await mark_agreement_price_synced(
            deps,
            MarkAgreementPriceSynced(
                agreement.id, product_id, f"price_seed_agreement_{skus[product_id]}",
                f"prod_seed_{skus[product_id]}",
            ),
        )  # fmt: skip


async def _find_seeded(deps: Dependencies, company_id: str) -> SeededCatalogue:
    async with deps.uow() as uow:
        billing = await uow.contacts.by_email(company_id, "dana@northwind.example")
        ops = await uow.contacts.by_email(company_id, "omar@northwind.example")
        company = await uow.companies.get(company_id)
        products = {sku: await uow.products.by_sku(sku) for sku in PRODUCTS | UNSYNCED_PRODUCTS}
    if billing is None or ops is None or None in products.values():
        raise RuntimeError("the seed company exists but its seed records are incomplete")
    return SeededCatalogue(
        company_id,
        billing.id,
        ops.id,
        company.default_billing_address_id or "",
        company.default_shipping_address_id or "",
        {sku: product.id for sku, product in products.items() if product is not None},
    )
