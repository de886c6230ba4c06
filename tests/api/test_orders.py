"""The orders routes: draft, list, read, checkout, status override, cancel, timeline, metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import AGREEMENT_PRICES, SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import Client, Keys, assert_error


def _order_body(seeded: SeededCatalogue, **extra: Any) -> dict[str, Any]:
    return {
        "company_id": seeded.company_id,
        "billing_contact_id": seeded.billing_contact_id,
        "billing_address_id": seeded.billing_address_id,
        "lines": [{"product_id": seeded.gateway_product_id, "quantity": 2}],
        **extra,
    }


async def _draft(client: Client, seeded: SeededCatalogue, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/orders", json=_order_body(seeded, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _paid(client: Client, platform: Platform, seeded: SeededCatalogue) -> dict[str, Any]:
    """An order sent to checkout, then paid by hand; its fulfillment and invoice exist."""
    order = await _draft(client, seeded)
    sent = await client.post(f"/v1/orders/{order['id']}/send-checkout")
    assert sent.status_code == 200, sent.text
    response = await client.patch(
        f"/v1/orders/{order['id']}/status", json={"status": "paid", "reference": "WIRE-1"}
    )
    assert response.status_code == 200, response.text
    await platform.settle()
    return dict(response.json())


async def _other_company(client: Client) -> dict[str, str]:
    """A second company with a billing contact and address: (company, contact, address)."""
    company = await client.post(
        "/v1/companies",
        json={"name": "Contoso Farms", "company_mirror_id": "legacy-cmp-2002", "currency": "CAD"},
    )
    company_id = company.json()["id"]
    contact = await client.post(
        f"/v1/companies/{company_id}/contacts",
        json={"name": "Cy", "email": "cy@contoso.example", "roles": ["billing"]},
    )
    address = await client.post(
        f"/v1/companies/{company_id}/addresses",
        json={"lines": ["1 Farm Rd"], "city": "Guelph", "country": "CA", "region": "ON"},
    )
    return {
        "company_id": company_id,
        "billing_contact_id": contact.json()["id"],
        "billing_address_id": address.json()["id"],
    }


# -- drafting --------------------------------------------------------------------------------


async def test_create_draft_order_is_priced(client: Client, seeded: SeededCatalogue) -> None:
    """POST /v1/orders drafts the order with each item's price snapshot and the total."""
    order = await _draft(client, seeded, purchase_order_number="PO-77")
    assert order["status"] == "draft"
    assert order["company_id"] == seeded.company_id
    assert order["currency"] == "CAD"
    assert order["purchase_order_number"] == "PO-77"
    (item,) = order["items"]
    unit = AGREEMENT_PRICES["GW-100"]
    assert item["sku"] == "GW-100"
    assert item["quantity"] == 2
    assert item["unit_amount"] == {"amount": unit, "currency": "CAD"}
    assert item["price"]["price_type"] == "PRICE_AGREEMENT"
    assert item["price"]["stripe_price_id"] == "price_seed_agreement_GW-100"
    assert item["automation_scenario"] == "sensor_vendor_first_time"
    assert order["total"] == {"amount": 2 * unit, "currency": "CAD"}
    assert order["checkout"] is None
    assert order["payment"] is None
    assert order["created_at"] == "2026-03-02T09:00:00Z"


async def test_create_order_validation(client: Client, seeded: SeededCatalogue) -> None:
    """No lines, bad quantities, unknown products and foreign billing parties are refused."""
    no_lines = await client.post("/v1/orders", json=_order_body(seeded, lines=[]))
    assert assert_error(no_lines, 400, "VALIDATION")["details"]["fields"][0]["field"] == "lines"
    negative = await client.post(
        "/v1/orders",
        json=_order_body(seeded, lines=[{"product_id": seeded.gateway_product_id, "quantity": -1}]),
    )
    assert_error(negative, 400, "VALIDATION")
    unknown = await client.post(
        "/v1/orders", json=_order_body(seeded, lines=[{"product_id": "prd_x", "quantity": 1}])
    )
    assert assert_error(unknown, 422, "VALIDATION")["details"]["index"] == 0
    other = await _other_company(client)
    foreign_contact = await client.post(
        "/v1/orders", json=_order_body(seeded, billing_contact_id=other["billing_contact_id"])
    )
    assert (
        assert_error(foreign_contact, 422, "VALIDATION")["details"]["field"] == "billing_contact_id"
    )
    no_company = await client.post("/v1/orders", json=_order_body(seeded, company_id="cmp_x"))
    assert_error(no_company, 404, "NOT_FOUND")
    assert (await client.get("/v1/orders")).json()["items"] == []


async def test_readonly_key_cannot_create_orders(
    app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Order writes need admin or support."""
    async with AsyncTestClient(app=app) as readonly:
        readonly.headers.update(await keys.headers(Role.READONLY))
        response = await readonly.post("/v1/orders", json=_order_body(seeded))
        assert assert_error(response, 403, "AUTHZ")["details"]["family"] == "orders"
        assert (await readonly.get("/v1/orders")).json()["items"] == []


# -- reading ---------------------------------------------------------------------------------


async def test_get_order(client: Client, seeded: SeededCatalogue) -> None:
    """GET /v1/orders/{id} answers the order; an unknown id is 404."""
    order = await _draft(client, seeded)
    assert (await client.get(f"/v1/orders/{order['id']}")).json() == order
    error = assert_error(await client.get("/v1/orders/ord_missing"), 404, "NOT_FOUND")
    assert error["details"]["id"] == "ord_missing"


async def test_list_orders_filters_and_pages(
    client: Client, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Lists are newest first and filter by status, company and creation time."""
    first = await _draft(client, seeded)
    clock.advance(timedelta(hours=1))
    second = await _draft(client, seeded)
    cancelled = await client.post(f"/v1/orders/{first['id']}/cancel", json={"reason": "dup"})
    assert cancelled.status_code == 200

    everything = (await client.get("/v1/orders")).json()
    assert [o["id"] for o in everything["items"]] == [second["id"], first["id"]]
    assert (everything["limit"], everything["offset"]) == (50, 0)
    paged = (await client.get("/v1/orders", params={"limit": 1, "offset": 1})).json()
    assert [o["id"] for o in paged["items"]] == [first["id"]]

    drafts = (await client.get("/v1/orders", params={"status": "draft"})).json()
    assert [o["id"] for o in drafts["items"]] == [second["id"]]
    recent = (
        await client.get("/v1/orders", params={"created_from": "2026-03-02T09:30:00Z"})
    ).json()
    assert [o["id"] for o in recent["items"]] == [second["id"]]
    early = (
        await client.get("/v1/orders", params={"created_to": "2026-03-02T09:30:00+00:00"})
    ).json()
    assert [o["id"] for o in early["items"]] == [first["id"]]
    other = (await client.get("/v1/orders", params={"company_id": "cmp_other"})).json()
    assert other["items"] == []

    naive = await client.get("/v1/orders", params={"created_from": "2026-03-02T09:30:00"})
    assert assert_error(naive, 422, "VALIDATION")["details"]["field"] == "created_from"
    bad_status = await client.get("/v1/orders", params={"status": "shipped"})
    assert assert_error(bad_status, 400, "VALIDATION")["details"]["fields"][0]["field"] == "status"
    assert_error(await client.get("/v1/orders", params={"offset": -1}), 400, "VALIDATION")


async def test_scoped_key_sees_only_its_companys_orders(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A company key lists, reads and acts on its own orders; others answer 404."""
    other = await _other_company(client)
    own = await _draft(client, seeded)
    foreign = await _draft(client, seeded, **other)
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.SUPPORT, seeded.company_id))
        listed = (await scoped.get("/v1/orders")).json()
        assert [o["id"] for o in listed["items"]] == [own["id"]]
        assert (await scoped.get(f"/v1/orders/{own['id']}")).json()["id"] == own["id"]
        assert_error(await scoped.get(f"/v1/orders/{foreign['id']}"), 404, "NOT_FOUND")
        assert_error(
            await scoped.get("/v1/orders", params={"company_id": other["company_id"]}),
            404,
            "NOT_FOUND",
        )
        assert_error(await scoped.get(f"/v1/orders/{foreign['id']}/timeline"), 404, "NOT_FOUND")
        assert_error(
            await scoped.post(f"/v1/orders/{foreign['id']}/cancel", json={"reason": "x"}),
            404,
            "NOT_FOUND",
        )
        assert_error(
            await scoped.post(f"/v1/orders/{foreign['id']}/send-checkout"), 404, "NOT_FOUND"
        )
        assert_error(
            await scoped.post("/v1/orders", json={**_order_body(seeded), **other}), 404, "NOT_FOUND"
        )
        created = await scoped.post("/v1/orders", json=_order_body(seeded))
        assert created.json()["company_id"] == seeded.company_id
    untouched = (await client.get(f"/v1/orders/{foreign['id']}")).json()
    assert untouched["status"] == "draft"


# -- checkout and status ---------------------------------------------------------------------


async def test_send_checkout_opens_a_session(client: Client, seeded: SeededCatalogue) -> None:
    """send-checkout moves a draft to checkout_sent with the session; a second send is 409."""
    order = await _draft(client, seeded)
    response = await client.post(
        f"/v1/orders/{order['id']}/send-checkout", json={"customer_email": "dana@northwind.example"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "checkout_sent"
    assert body["checkout_attempts"] == 1
    assert body["checkout"]["attempt"] == 1
    assert body["checkout"]["session_id"]
    assert body["checkout"]["url"].startswith("http")
    again = await client.post(f"/v1/orders/{order['id']}/send-checkout")
    error = assert_error(again, 409, "CONFLICT")
    assert error["details"]["state"] == "checkout_sent"
    assert_error(await client.post("/v1/orders/ord_missing/send-checkout"), 404, "NOT_FOUND")


async def test_send_checkout_refuses_unsynced_lines(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A bespoke line has no Stripe price: checkout is refused naming the line."""
    order = await _draft(
        client,
        seeded,
        lines=[
            {
                "product_id": seeded.product_ids["MNT-KIT"],
                "quantity": 1,
                "bespoke_unit_amount": {"amount": 1_000, "currency": "CAD"},
                "bespoke_notes": "promo agreed by Sam",
            }
        ],
    )
    response = await client.post(f"/v1/orders/{order['id']}/send-checkout")
    error = assert_error(response, 422, "VALIDATION")
    assert [line["sku"] for line in error["details"]["unsynced_lines"]] == ["MNT-KIT"]
    assert (await client.get(f"/v1/orders/{order['id']}")).json()["status"] == "draft"


async def test_status_override(client: Client, seeded: SeededCatalogue) -> None:
    """PATCH status applies Ops overrides through the order machine."""
    order = await _draft(client, seeded)
    url = f"/v1/orders/{order['id']}/status"
    illegal = await client.patch(url, json={"status": "payment_failed", "reason": "card"})
    assert_error(illegal, 409, "CONFLICT")
    by_hand = await client.patch(url, json={"status": "draft"})
    assert assert_error(by_hand, 422, "VALIDATION")["details"]["field"] == "status"
    no_reference = await client.patch(url, json={"status": "paid"})
    assert assert_error(no_reference, 422, "VALIDATION")["details"]["field"] == "reference"

    await client.post(f"/v1/orders/{order['id']}/send-checkout")
    failed = await client.patch(url, json={"status": "payment_failed", "reason": "card declined"})
    assert failed.status_code == 200
    assert failed.json()["status"] == "payment_failed"
    assert failed.json()["failure_reason"] == "card declined"
    unknown = await client.patch(url, json={"status": "lost"})
    assert_error(unknown, 400, "VALIDATION")
    assert_error(
        await client.patch("/v1/orders/ord_missing/status", json={"status": "checkout_expired"}),
        404,
        "NOT_FOUND",
    )


async def test_status_override_to_paid_records_the_payment(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Marking an order paid by hand records a manual payment of the total."""
    order = await _paid(client, platform, seeded)
    assert order["status"] == "paid"
    assert order["payment"]["provider"] == "manual"
    assert order["payment"]["reference"] == "WIRE-1"
    assert order["payment"]["amount"] == order["total"]
    assert order["paid_at"] == "2026-03-02T09:00:00Z"


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.READONLY])
async def test_scoped_keys_cannot_override_status_or_read_metrics(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue, role: Role
) -> None:
    """The Ops override and the all-company metrics are not for company keys."""
    order = await _draft(client, seeded)
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(role, seeded.company_id))
        override = await scoped.patch(
            f"/v1/orders/{order['id']}/status", json={"status": "paid", "reference": "X"}
        )
        assert_error(override, 403, "AUTHZ")
        assert_error(await scoped.get("/v1/orders/metrics"), 403, "AUTHZ")
    assert (await client.get(f"/v1/orders/{order['id']}")).json()["status"] == "draft"


# -- cancel ----------------------------------------------------------------------------------


async def test_cancel_a_draft(client: Client, seeded: SeededCatalogue) -> None:
    """Cancelling a draft needs a reason and cannot happen twice."""
    order = await _draft(client, seeded)
    url = f"/v1/orders/{order['id']}/cancel"
    assert_error(await client.post(url, json={"reason": ""}), 400, "VALIDATION")
    assert_error(await client.post(url), 400, "VALIDATION")
    cancelled = await client.post(url, json={"reason": "customer changed their mind"})
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["cancellation_reason"] == "customer changed their mind"
    assert body["refunded"] is None
    assert_error(await client.post(url, json={"reason": "again"}), 409, "CONFLICT")
    assert_error(
        await client.post("/v1/orders/ord_x/cancel", json={"reason": "x"}), 404, "NOT_FOUND"
    )


async def test_cancel_a_paid_order_refunds_it(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A paid order that has not shipped is cancelled together with its full refund."""
    order = await _paid(client, platform, seeded)
    cancelled = await client.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "ordered by mistake"}
    )
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["refunded"] == order["total"]


async def test_readonly_key_cannot_cancel(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A readonly key's cancel is 403 and leaves the order as it was."""
    order = await _draft(client, seeded)
    async with AsyncTestClient(app=app) as readonly:
        readonly.headers.update(await keys.headers(Role.READONLY))
        response = await readonly.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "x"})
        assert_error(response, 403, "AUTHZ")
        assert_error(await readonly.post(f"/v1/orders/{order['id']}/send-checkout"), 403, "AUTHZ")
    assert (await client.get(f"/v1/orders/{order['id']}")).json()["status"] == "draft"


# -- timeline and metrics --------------------------------------------------------------------


async def test_timeline_lists_the_orders_events(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """The timeline reads the order's events and those of its invoice and fulfillment."""
    order = await _paid(client, platform, seeded)
    response = await client.get(f"/v1/orders/{order['id']}/timeline")
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order["id"]
    types = [entry["type"] for entry in body["entries"]]
    assert types[:3] == ["order.created", "order.checkout_sent", "order.paid"]
    assert "fulfillment.created" in types
    assert any(t.startswith("invoice.") for t in types)
    positions = [entry["position"] for entry in body["entries"]]
    assert positions == sorted(positions)
    created = body["entries"][0]
    assert created["lane"] == "business"
    assert created["aggregate_id"] == order["id"]
    assert created["payload"]["company_id"] == seeded.company_id
    assert created["correlation_id"]
    assert_error(await client.get("/v1/orders/ord_missing/timeline"), 404, "NOT_FOUND")


async def test_metrics_route_is_not_taken_for_an_order_id(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """GET /v1/orders/metrics answers the metrics, not 'order metrics not found'."""
    await _draft(client, seeded)
    sent = await _draft(client, seeded)
    await client.post(f"/v1/orders/{sent['id']}/send-checkout")
    await _paid(client, platform, seeded)
    response = await client.get("/v1/orders/metrics")
    assert response.status_code == 200
    body = response.json()
    assert body["orders_by_status"]["draft"] == 1
    assert body["orders_by_status"]["checkout_sent"] == 1
    assert body["orders_by_status"]["paid"] == 1
    assert body["outstanding_orders"] == 1
    assert body["active_fulfillments"] == 1
    assert body["payment_failures"] == 0
    assert body["at"] == "2026-03-02T09:00:00Z"


async def test_support_and_readonly_read_metrics(
    app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Unscoped keys of every role may read the orders metrics."""
    async with AsyncTestClient(app=app) as readonly:
        readonly.headers.update(await keys.headers(Role.READONLY))
        body = (await readonly.get("/v1/orders/metrics")).json()
        assert body["outstanding_orders"] == 0


async def test_retried_create_with_idempotency_key_drafts_one_order(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A POST /v1/orders retried with the same Idempotency-Key replays the first answer."""
    headers = {"Idempotency-Key": "order-form-42"}
    first = await client.post("/v1/orders", json=_order_body(seeded), headers=headers)
    again = await client.post("/v1/orders", json=_order_body(seeded), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = (await client.get("/v1/orders")).json()
    assert [o["id"] for o in listed["items"]] == [first.json()["id"]]
