"""The catalogue routes: products, price books and entries, agreements, quotes, resolutions."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.seed import AGREEMENT_PRICES, PRODUCTS, REGIONAL_PRICES, SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import Client, Keys, assert_error


async def _books(client: Client) -> dict[str, dict[str, Any]]:
    books = (await client.get("/v1/price-books")).json()["items"]
    return {book["name"]: book for book in books}


async def _other_company(client: Client) -> str:
    response = await client.post(
        "/v1/companies",
        json={"name": "Contoso Farms", "company_mirror_id": "legacy-cmp-2002", "currency": "CAD"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _draft_order(client: Client, seeded: SeededCatalogue) -> dict[str, Any]:
    response = await client.post(
        "/v1/orders",
        json={
            "company_id": seeded.company_id,
            "billing_contact_id": seeded.billing_contact_id,
            "billing_address_id": seeded.billing_address_id,
            "lines": [
                {"product_id": seeded.gateway_product_id, "quantity": 2},
                {"product_id": seeded.product_ids["PRB-200"], "quantity": 3},
            ],
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# -- products --------------------------------------------------------------------------------


async def test_create_list_and_get_products(client: Client, seeded: SeededCatalogue) -> None:
    """A product is created with an upper-case SKU, listed in SKU order and readable by id."""
    created = await client.post(
        "/v1/products",
        json={"sku": "ant-300", "name": "Antenna", "automation_scenario": "sensor_return"},
    )
    assert created.status_code == 201
    product = created.json()
    assert product["sku"] == "ANT-300"
    assert product["automation_scenario"] == "sensor_return"
    assert product["active"] is True

    listed = [p["sku"] for p in (await client.get("/v1/products")).json()["items"]]
    assert listed == sorted([*seeded.product_ids, "ANT-300"])
    paged = (await client.get("/v1/products", params={"limit": 2, "offset": 1})).json()
    assert [p["sku"] for p in paged["items"]] == listed[1:3]
    assert (paged["limit"], paged["offset"]) == (2, 1)

    shown = (await client.get(f"/v1/products/{product['id']}")).json()
    assert shown == product
    assert_error(await client.get("/v1/products/prd_missing"), 404, "NOT_FOUND")


async def test_product_sku_conflict_and_validation(client: Client, seeded: SeededCatalogue) -> None:
    """A taken SKU is 409; a malformed SKU is 422; an unknown scenario is 400."""
    taken = await client.post("/v1/products", json={"sku": "gw-100", "name": "Again"})
    error = assert_error(taken, 409, "CONFLICT")
    assert error["details"]["existing_product_id"] == seeded.gateway_product_id

    malformed = await client.post("/v1/products", json={"sku": "no spaces!", "name": "X"})
    assert assert_error(malformed, 422, "VALIDATION")["details"]["field"] == "sku"

    scenario = await client.post(
        "/v1/products", json={"sku": "X-1", "name": "X", "automation_scenario": "teleport"}
    )
    fields = assert_error(scenario, 400, "VALIDATION")["details"]["fields"]
    assert fields[0]["field"] == "automation_scenario"


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.OPS, Role.READONLY])
async def test_only_admins_change_the_catalogue(
    app: Litestar, keys: Keys, seeded: SeededCatalogue, role: Role
) -> None:
    """Catalogue writes are admin-only; every role may read it."""
    async with AsyncTestClient(app=app) as other:
        other.headers.update(await keys.headers(role))
        refused = await other.post("/v1/products", json={"sku": "NEW-1", "name": "New"})
        assert assert_error(refused, 403, "AUTHZ")["details"]["family"] == "catalogue"
        books = await other.post(
            "/v1/price-books", json={"name": "B", "scope": "global", "currency": "USD"}
        )
        assert_error(books, 403, "AUTHZ")
        listed = (await other.get("/v1/products")).json()
        assert "NEW-1" not in [p["sku"] for p in listed["items"]]


async def test_scoped_key_reads_the_catalogue(
    app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A company key reads products and price books."""
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.READONLY, seeded.company_id))
        product = await scoped.get(f"/v1/products/{seeded.gateway_product_id}")
        assert product.json()["sku"] == "GW-100"
        books = (await scoped.get("/v1/price-books")).json()
        assert {"Global list (CAD)", "Ontario (CAD)"} <= {b["name"] for b in books["items"]}


# -- price books and entries -----------------------------------------------------------------


async def test_price_books_and_entries(client: Client, seeded: SeededCatalogue) -> None:
    """Books are listed and read by id; their entries carry the Stripe sync state."""
    books = await _books(client)
    ontario = books["Ontario (CAD)"]
    assert (ontario["scope"], ontario["region"], ontario["currency"]) == (
        "regional",
        "CA-ON",
        "CAD",
    )
    shown = (await client.get(f"/v1/price-books/{ontario['id']}")).json()
    assert shown == ontario

    entries = (await client.get(f"/v1/price-books/{ontario['id']}/entries")).json()
    assert entries["total"] == 1
    (probe,) = entries["items"]
    assert probe["product_id"] == seeded.product_ids["PRB-200"]
    assert probe["unit_amount"] == {"amount": 11_900, "currency": "CAD"}
    assert probe["stripe_sync_status"] == "synced"
    assert probe["stripe_price_id"] == "price_seed_on_PRB-200"

    assert_error(await client.get("/v1/price-books/pbk_missing"), 404, "NOT_FOUND")
    assert_error(await client.get("/v1/price-books/pbk_missing/entries"), 404, "NOT_FOUND")


async def test_create_price_book_and_conflict(client: Client, seeded: SeededCatalogue) -> None:
    """A new regional book is created; a second active book for the same scope is 409."""
    created = await client.post(
        "/v1/price-books",
        json={"name": "Quebec (CAD)", "scope": "regional", "currency": "CAD", "region": "ca-qc"},
    )
    assert created.status_code == 201
    assert created.json()["region"] == "CA-QC"
    assert created.json()["active"] is True

    again = await client.post(
        "/v1/price-books",
        json={"name": "Ontario 2", "scope": "regional", "currency": "CAD", "region": "CA-ON"},
    )
    error = assert_error(again, 409, "CONFLICT")
    assert (
        error["details"]["existing_price_book_id"] == (await _books(client))["Ontario (CAD)"]["id"]
    )

    no_region = await client.post(
        "/v1/price-books", json={"name": "R", "scope": "regional", "currency": "USD"}
    )
    assert assert_error(no_region, 422, "VALIDATION")["details"]["field"] == "region"


async def test_add_entry_and_change_its_price(client: Client, seeded: SeededCatalogue) -> None:
    """A new entry starts unsynced; a second one for the product is 409; a new price unsyncs."""
    books = await _books(client)
    ontario = books["Ontario (CAD)"]["id"]
    url = f"/v1/price-books/{ontario}/entries"
    added = await client.post(
        url,
        json={
            "product_id": seeded.product_ids["MNT-KIT"],
            "unit_amount": {"amount": 2_200, "currency": "CAD"},
        },
    )
    assert added.status_code == 201
    entry = added.json()
    assert entry["stripe_sync_status"] == "not_synced"
    assert entry["price_book_id"] == ontario

    duplicate = await client.post(
        url,
        json={
            "product_id": seeded.product_ids["MNT-KIT"],
            "unit_amount": {"amount": 2_100, "currency": "CAD"},
        },
    )
    assert (
        assert_error(duplicate, 409, "CONFLICT")["details"]["existing_price_book_entry_id"]
        == (entry["id"])
    )
    wrong_currency = await client.post(
        url,
        json={
            "product_id": seeded.product_ids["GW-100-R"],
            "unit_amount": {"amount": 100, "currency": "USD"},
        },
    )
    assert_error(wrong_currency, 422, "VALIDATION")
    unknown = await client.post(
        f"/v1/price-books/{ontario}/entries",
        json={"product_id": "prd_missing", "unit_amount": {"amount": 1, "currency": "CAD"}},
    )
    assert_error(unknown, 404, "NOT_FOUND")

    synced_probe = (await client.get(url)).json()["items"][0]
    repriced = await client.patch(
        f"/v1/price-book-entries/{synced_probe['id']}",
        json={"unit_amount": {"amount": 11_500, "currency": "CAD"}},
    )
    assert repriced.status_code == 200
    assert repriced.json()["unit_amount"] == {"amount": 11_500, "currency": "CAD"}
    assert repriced.json()["stripe_sync_status"] == "not_synced"
    assert repriced.json()["stripe_price_id"] is None
    negative = await client.patch(
        f"/v1/price-book-entries/{synced_probe['id']}",
        json={"unit_amount": {"amount": -1, "currency": "CAD"}},
    )
    assert_error(negative, 422, "VALIDATION")
    assert_error(
        await client.patch(
            "/v1/price-book-entries/pbe_missing",
            json={"unit_amount": {"amount": 1, "currency": "CAD"}},
        ),
        404,
        "NOT_FOUND",
    )


# -- price agreements ------------------------------------------------------------------------


def _agreement_body(company_id: str, product_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "name": "Contoso 2026",
        "currency": "CAD",
        "effective_from": "2026-03-01T00:00:00Z",
        "prices": [
            {"product_id": product_id, "unit_amount": {"amount": 40_000, "currency": "CAD"}}
        ],
        **extra,
    }


async def test_agreement_lifecycle(client: Client, seeded: SeededCatalogue) -> None:
    """Draft, activate (only once), then cancel with a reason; each answers the agreement."""
    company = await _other_company(client)
    created = await client.post(
        "/v1/price-agreements", json=_agreement_body(company, seeded.gateway_product_id)
    )
    assert created.status_code == 201
    agreement = created.json()
    assert agreement["status"] == "draft"
    assert agreement["prices"][0]["unit_amount"] == {"amount": 40_000, "currency": "CAD"}
    assert agreement["prices"][0]["stripe_sync_status"] == "not_synced"

    activated = await client.post(f"/v1/price-agreements/{agreement['id']}/activate")
    assert activated.status_code == 200
    assert activated.json()["status"] == "active"
    assert activated.json()["activated_at"] == "2026-03-02T09:00:00Z"
    again = await client.post(f"/v1/price-agreements/{agreement['id']}/activate")
    assert_error(again, 409, "CONFLICT")

    cancelled = await client.post(
        f"/v1/price-agreements/{agreement['id']}/cancel", json={"reason": "renegotiated"}
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "renegotiated"
    assert_error(
        await client.post(f"/v1/price-agreements/{agreement['id']}/cancel"), 409, "CONFLICT"
    )
    assert_error(await client.post("/v1/price-agreements/pag_missing/activate"), 404, "NOT_FOUND")


async def test_cancel_agreement_without_a_body(client: Client, seeded: SeededCatalogue) -> None:
    """The cancel body is optional: no reason is recorded then."""
    company = await _other_company(client)
    created = await client.post(
        "/v1/price-agreements", json=_agreement_body(company, seeded.gateway_product_id)
    )
    cancelled = await client.post(f"/v1/price-agreements/{created.json()['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] is None


async def test_agreement_validation(client: Client, seeded: SeededCatalogue) -> None:
    """Naive dates, duplicate products, unknown products and empty price lists are refused."""
    company = await _other_company(client)
    gateway = seeded.gateway_product_id
    naive = await client.post(
        "/v1/price-agreements",
        json=_agreement_body(company, gateway, effective_from="2026-03-01T00:00:00"),
    )
    assert assert_error(naive, 400, "VALIDATION")["details"]["fields"][0]["field"] is not None

    twice = _agreement_body(company, gateway)
    twice["prices"] = twice["prices"] * 2
    duplicate = await client.post("/v1/price-agreements", json=twice)
    assert assert_error(duplicate, 422, "VALIDATION")["details"]["product_id"] == gateway

    unknown = await client.post("/v1/price-agreements", json=_agreement_body(company, "prd_nope"))
    assert assert_error(unknown, 422, "VALIDATION")["details"]["unknown_product_ids"] == [
        "prd_nope"
    ]

    empty = await client.post(
        "/v1/price-agreements", json={**_agreement_body(company, gateway), "prices": []}
    )
    assert_error(empty, 400, "VALIDATION")
    backwards = await client.post(
        "/v1/price-agreements",
        json=_agreement_body(company, gateway, effective_to="2026-02-01T00:00:00Z"),
    )
    assert assert_error(backwards, 422, "VALIDATION")["details"]["field"] == "effective_to"


async def test_list_and_get_agreements_with_company_scope(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Lists filter by company; a scoped key sees only its own company's agreements."""
    company = await _other_company(client)
    foreign = (
        await client.post(
            "/v1/price-agreements", json=_agreement_body(company, seeded.gateway_product_id)
        )
    ).json()
    everything = (await client.get("/v1/price-agreements")).json()
    assert len(everything["items"]) == 2
    filtered = (await client.get("/v1/price-agreements", params={"company_id": company})).json()
    assert [a["id"] for a in filtered["items"]] == [foreign["id"]]
    assert (await client.get(f"/v1/price-agreements/{foreign['id']}")).json() == foreign
    assert_error(await client.get("/v1/price-agreements/pag_missing"), 404, "NOT_FOUND")

    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.READONLY, seeded.company_id))
        own = (await scoped.get("/v1/price-agreements")).json()
        assert [a["company_id"] for a in own["items"]] == [seeded.company_id]
        assert own["items"][0]["name"] == "Northwind 2026"
        assert_error(await scoped.get(f"/v1/price-agreements/{foreign['id']}"), 404, "NOT_FOUND")
        assert_error(
            await scoped.get("/v1/price-agreements", params={"company_id": company}),
            404,
            "NOT_FOUND",
        )


async def test_scoped_support_key_cannot_change_agreements(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Agreements are changed by admins only: a company key cannot set its own prices."""
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.SUPPORT, seeded.company_id))
        response = await scoped.post(
            "/v1/price-agreements",
            json=_agreement_body(seeded.company_id, seeded.product_ids["MNT-KIT"]),
        )
        assert_error(response, 403, "AUTHZ")
    listed = (await client.get("/v1/price-agreements")).json()
    assert len(listed["items"]) == 1


# -- quotes and resolutions ------------------------------------------------------------------


async def test_quote_prices_each_line_by_precedence(
    client: Client, seeded: SeededCatalogue
) -> None:
    """Agreement beats regional beats global; a bespoke line wins over all; nothing is stored."""
    response = await client.post(
        "/v1/pricing/quote",
        json={
            "company_id": seeded.company_id,
            "lines": [
                {"product_id": seeded.gateway_product_id, "quantity": 2},
                {"product_id": seeded.product_ids["PRB-200"], "quantity": 3},
                {"product_id": seeded.product_ids["MNT-KIT"], "quantity": 1},
                {
                    "product_id": seeded.product_ids["GW-100-R"],
                    "quantity": 1,
                    "bespoke_unit_amount": {"amount": 30_000, "currency": "CAD"},
                    "bespoke_notes": "goodwill replacement, approved by Sam",
                },
            ],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "CAD"
    assert body["quoted_at"] == "2026-03-02T09:00:00Z"
    assert [line["source"] for line in body["lines"]] == [
        "PRICE_AGREEMENT", "PRICEBOOK_REGIONAL", "PRICEBOOK_GLOBAL", "BESPOKE",
    ]  # fmt: skip
    unit_amounts = [AGREEMENT_PRICES["GW-100"], REGIONAL_PRICES["PRB-200"], PRODUCTS["MNT-KIT"][2]]
    assert [line["unit_amount"]["amount"] for line in body["lines"]] == [*unit_amounts, 30_000]
    assert body["lines"][0]["line_total"] == {"amount": 2 * unit_amounts[0], "currency": "CAD"}
    assert body["lines"][0]["price_agreement_id"] is not None
    assert body["lines"][3]["stripe_sync_status"] == "not_synced"
    assert body["lines"][3]["bespoke_notes"] == "goodwill replacement, approved by Sam"
    total = 2 * unit_amounts[0] + 3 * unit_amounts[1] + unit_amounts[2] + 30_000
    assert body["total"] == {"amount": total, "currency": "CAD"}
    orders = (await client.get("/v1/orders")).json()
    assert orders["items"] == []


async def test_strict_quote_names_unsynced_lines(client: Client, seeded: SeededCatalogue) -> None:
    """With strict_stripe, lines without a synced Stripe price are listed in one 422."""
    response = await client.post(
        "/v1/pricing/quote",
        json={
            "company_id": seeded.company_id,
            "strict_stripe": True,
            "lines": [
                {"product_id": seeded.gateway_product_id, "quantity": 1},
                {
                    "product_id": seeded.product_ids["MNT-KIT"],
                    "quantity": 1,
                    "bespoke_unit_amount": {"amount": 1_000, "currency": "CAD"},
                    "bespoke_notes": "promo",
                },
            ],
        },
    )
    error = assert_error(response, 422, "VALIDATION")
    assert [line["sku"] for line in error["details"]["unsynced_lines"]] == ["MNT-KIT"]


async def test_quote_validation(client: Client, seeded: SeededCatalogue) -> None:
    """Empty quotes, zero quantities, unknown products and companies are refused."""
    empty = await client.post(
        "/v1/pricing/quote", json={"company_id": seeded.company_id, "lines": []}
    )
    assert_error(empty, 400, "VALIDATION")
    zero = await client.post(
        "/v1/pricing/quote",
        json={"company_id": seeded.company_id,
              "lines": [{"product_id": seeded.gateway_product_id, "quantity": 0}]},
    )  # fmt: skip
    assert (
        assert_error(zero, 400, "VALIDATION")["details"]["fields"][0]["field"]
        == "lines[0].quantity"
    )
    unknown = await client.post(
        "/v1/pricing/quote",
        json={"company_id": seeded.company_id,
              "lines": [{"product_id": "prd_nope", "quantity": 1}]},
    )  # fmt: skip
    error = assert_error(unknown, 422, "VALIDATION")
    assert error["details"]["index"] == 0
    no_company = await client.post(
        "/v1/pricing/quote",
        json={"company_id": "cmp_nope",
              "lines": [{"product_id": seeded.gateway_product_id, "quantity": 1}]},
    )  # fmt: skip
    assert_error(no_company, 404, "NOT_FOUND")


async def test_readonly_and_scoped_keys_may_quote_their_own_company(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Quoting only reads: a readonly key may quote; a scoped key only for its company."""
    other = await _other_company(client)
    lines = [{"product_id": seeded.product_ids["MNT-KIT"], "quantity": 4}]
    async with AsyncTestClient(app=app) as readonly:
        readonly.headers.update(await keys.headers(Role.READONLY))
        response = await readonly.post(
            "/v1/pricing/quote", json={"company_id": other, "lines": lines}
        )
        assert response.json()["total"] == {"amount": 4 * PRODUCTS["MNT-KIT"][2], "currency": "CAD"}
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.READONLY, seeded.company_id))
        own = await scoped.post(
            "/v1/pricing/quote", json={"company_id": seeded.company_id, "lines": lines}
        )
        assert own.json()["company_id"] == seeded.company_id
        foreign = await scoped.post("/v1/pricing/quote", json={"company_id": other, "lines": lines})
        assert_error(foreign, 404, "NOT_FOUND")


async def test_resolution_of_an_order_item(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """GET /v1/pricing/resolutions/{item} shows the frozen price and where it came from."""
    order = await _draft_order(client, seeded)
    gateway, probe = order["items"]
    response = await client.get(f"/v1/pricing/resolutions/{gateway['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order["id"]
    assert body["company_id"] == seeded.company_id
    assert body["price_type"] == "PRICE_AGREEMENT"
    unit = AGREEMENT_PRICES["GW-100"]
    assert body["label"] == f"Agreement 'Northwind 2026' (CAD {unit / 100:.2f})"
    assert body["unit_amount"] == {"amount": unit, "currency": "CAD"}
    assert body["line_total"] == {"amount": 2 * unit, "currency": "CAD"}
    assert body["stripe_price_id"] == "price_seed_agreement_GW-100"
    assert body["priced_at"] == "2026-03-02T09:00:00Z"

    regional = (await client.get(f"/v1/pricing/resolutions/{probe['id']}")).json()
    assert regional["price_type"] == "PRICEBOOK_REGIONAL"
    assert regional["price_book_entry_id"] is not None
    assert regional["price_agreement_id"] is None

    error = assert_error(await client.get("/v1/pricing/resolutions/oit_missing"), 404, "NOT_FOUND")
    assert error["details"] == {"kind": "order_item", "id": "oit_missing"}

    other = await _other_company(client)
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.READONLY, other))
        hidden = await scoped.get(f"/v1/pricing/resolutions/{gateway['id']}")
        assert_error(hidden, 404, "NOT_FOUND")
