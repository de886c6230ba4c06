"""POST /v1/orders/{id}/refunds: full and partial refunds of a paid order through the mock
Stripe, their effect on the invoice balance and the order, and who may refund."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from platform_core.orders.model import Order
from tests.api.api_support import Client, Keys, assert_error, draft_order, other_company, paid_order


def _url(order: Order) -> str:
    return f"/v1/orders/{order.id}/refunds"


def _cents(order: Order, amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": order.currency}


async def _invoice(client: Client, order: Order) -> dict[str, Any]:
    listed = (await client.get("/v1/invoices", params={"order_id": order.id})).json()["items"]
    assert len(listed) == 1
    return dict(listed[0])


async def test_a_full_refund_reopens_the_whole_invoice(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """No amount refunds the whole order through Stripe; the invoice balance is the total
    again and the order shows what was refunded, still paid (a refund is not a cancel)."""
    order = await paid_order(platform, seeded)
    response = await client.post(_url(order), json={"amount": None, "reason": "returned"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["refunded"]) == ("paid", order.total.to_payload())
    (refund,) = platform.deps.mock_payments.refunds.values()
    assert refund.amount == order.total
    invoice = await _invoice(client, order)
    assert invoice["balance"] == order.total.to_payload()
    again = await client.post(_url(order), json={"reason": "again"})
    error = assert_error(again, 422, "VALIDATION")
    assert error["details"]["refundable"] == {"amount": 0, "currency": order.currency}
    assert len(platform.deps.mock_payments.refunds) == 1


async def test_two_partial_refunds_add_up_and_an_over_refund_is_refused(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Two partial refunds are two provider refunds; the order and the invoice show their
    sum; asking for more than is left is 422 and refunds nothing."""
    order = await paid_order(platform, seeded)
    total = order.total.amount
    first = await client.post(_url(order), json={"amount": _cents(order, 1000), "reason": "a"})
    second = await client.post(_url(order), json={"amount": _cents(order, 2500), "reason": "b"})
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["refunded"] == _cents(order, 1000)
    assert second.json()["refunded"] == _cents(order, 3500)
    assert sorted(r.amount.amount for r in platform.deps.mock_payments.refunds.values()) == [
        1000,
        2500,
    ]
    assert (await _invoice(client, order))["balance"] == _cents(order, 3500)
    over = await client.post(
        _url(order), json={"amount": _cents(order, total - 3500 + 1), "reason": "too much"}
    )
    assert_error(over, 422, "VALIDATION")
    assert len(platform.deps.mock_payments.refunds) == 2
    rest = await client.post(_url(order), json={"reason": "the rest"})
    assert rest.json()["refunded"] == order.total.to_payload()
    timeline = (await client.get(f"/v1/orders/{order.id}/timeline")).json()["entries"]
    refunded = [e["payload"]["amount"]["amount"] for e in timeline if e["type"] == "order.refunded"]
    assert refunded == [1000, 2500, total - 3500]


async def test_a_retry_with_the_same_idempotency_key_refunds_once(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """The same request sent twice with one Idempotency-Key is one refund."""
    order = await paid_order(platform, seeded)
    headers = {"Idempotency-Key": "refund-form-7"}
    body = {"amount": _cents(order, 500), "reason": "damaged box"}
    first = await client.post(_url(order), json=body, headers=headers)
    again = await client.post(_url(order), json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["refunded"] == _cents(order, 500)
    assert len(platform.deps.mock_payments.refunds) == 1


async def test_unpaid_order_is_409_and_bad_amounts_are_refused(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A draft has nothing to refund (409); a paid order refuses a zero, negative or
    other-currency amount and a missing reason (validation), and a missing order is 404."""
    draft = await draft_order(platform, seeded)
    assert_error(await client.post(_url(draft), json={"reason": "x"}), 409, "CONFLICT")
    order = await paid_order(platform, seeded)
    for amount in [_cents(order, 0), _cents(order, -5), {"amount": 100, "currency": "EUR"}]:
        response = await client.post(_url(order), json={"amount": amount, "reason": "x"})
        assert_error(response, 422, "VALIDATION")
    assert_error(await client.post(_url(order), json={"reason": ""}), 400, "VALIDATION")
    missing = await client.post("/v1/orders/ord_missing/refunds", json={"reason": "x"})
    assert_error(missing, 404, "NOT_FOUND")
    assert platform.deps.mock_payments.refunds == {}


async def test_a_manual_payment_is_refunded_without_the_provider(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """An order paid by wire is refunded by recording it: Stripe is never called."""
    order = await draft_order(platform, seeded)
    await client.post(f"/v1/orders/{order.id}/send-checkout")
    paid = await client.patch(
        f"/v1/orders/{order.id}/status", json={"status": "paid", "reference": "WIRE-9"}
    )
    assert paid.status_code == 200, paid.text
    await platform.settle()
    response = await client.post(_url(order), json={"amount": _cents(order, 700), "reason": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["refunded"] == _cents(order, 700)
    assert platform.deps.mock_payments.refunds == {}
    assert (await _invoice(client, order))["balance"] == _cents(order, 700)


async def test_cancelling_after_a_partial_refund_refunds_only_the_rest(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A cancel after a partial refund sends Stripe only what is left, never the total."""
    order = await paid_order(platform, seeded)
    await client.post(_url(order), json={"amount": _cents(order, 1200), "reason": "partial"})
    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", json={"reason": "cancel"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded"] == order.total.to_payload()
    amounts = sorted(r.amount.amount for r in platform.deps.mock_payments.refunds.values())
    assert amounts == sorted([1200, order.total.amount - 1200])


@pytest.mark.parametrize("role", [Role.READONLY, Role.OPS])
async def test_readonly_and_ops_keys_cannot_refund(
    app: Litestar, keys: Keys, platform: Platform, seeded: SeededCatalogue, role: Role
) -> None:
    """Refunds are for admin and support: other roles get 403 and nothing is refunded."""
    order = await paid_order(platform, seeded)
    async with AsyncTestClient(app=app) as caller:
        caller.headers.update(await keys.headers(role))
        assert_error(await caller.post(_url(order), json={"reason": "x"}), 403, "AUTHZ")
    assert platform.deps.mock_payments.refunds == {}


async def test_support_may_refund_but_another_companys_key_finds_no_order(
    app: Litestar, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """A support key refunds; a key scoped to another company gets 404, as for an order
    that does not exist."""
    order = await paid_order(platform, seeded)
    stranger = await other_company(platform)
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.SUPPORT, stranger.id))
        assert_error(await scoped.post(_url(order), json={"reason": "x"}), 404, "NOT_FOUND")
    assert platform.deps.mock_payments.refunds == {}
    async with AsyncTestClient(app=app) as support:
        support.headers.update(await keys.headers(Role.SUPPORT))
        response = await support.post(
            _url(order), json={"amount": _cents(order, 100), "reason": "x"}
        )
        assert response.status_code == 200, response.text
