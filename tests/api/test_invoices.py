"""Invoice routes: list and filters, detail with allocations, manual drafts, issue, void,
manual payments and the PDF, with roles and company scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.clock import FixedClock
from adapters.documents import FpdfInvoiceRenderer
from entrypoints.bootstrap import Platform
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import Client, Keys, assert_error, other_company, paid_order


def cad(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CAD"}


def manual_invoice(company_id: str, **extra: Any) -> dict[str, Any]:
    """A draft with one discounted line: 3 x 100.00 - 10% - 5.00 = 265.00 CAD."""
    return {
        "company_id": company_id,
        "currency": "CAD",
        "lines": [
            {
                "description": "Installation visit",
                "quantity": 3,
                "unit_amount": cad(10_000),
                "adjustments": [
                    {"kind": "percent", "label": "Partner discount", "basis_points": 1_000},
                    {"kind": "amount", "label": "Goodwill", "amount": cad(-500)},
                ],
            }
        ],
        **extra,
    }


async def issued_invoice(client: Client, company_id: str) -> dict[str, Any]:
    created = await client.post("/v1/invoices", json=manual_invoice(company_id))
    assert created.status_code == 201, created.text
    issued = await client.post(f"/v1/invoices/{created.json()['id']}/issue")
    assert issued.status_code == 200, issued.text
    return dict(issued.json())


# -- drafts, issue, void -----------------------------------------------------------------------


async def test_a_manual_draft_is_priced_line_by_line(
    client: Client, seeded: SeededCatalogue
) -> None:
    """POST /v1/invoices makes a draft (201) with its lines, adjustments and totals, no number."""
    body = manual_invoice(seeded.company_id, billing_contact_id=seeded.billing_contact_id)
    response = await client.post("/v1/invoices", json=body)
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["status"] == "draft"
    assert invoice["number"] is None
    assert invoice["order_id"] is None
    assert invoice["billing_contact_id"] == seeded.billing_contact_id
    (line,) = invoice["lines"]
    assert line["gross"] == cad(30_000)
    assert [(a["kind"], a["effect"]) for a in line["adjustments"]] == [
        ("percent", cad(-3_000)),
        ("amount", cad(-500)),
    ]
    assert line["total"] == cad(26_500)
    assert invoice["total"] == invoice["balance"] == cad(26_500)
    assert invoice["allocations"] == []


async def test_a_draft_with_bad_lines_is_refused_naming_the_field(
    client: Client, seeded: SeededCatalogue
) -> None:
    """Undecodable lines are 400 with the field; lines breaking a billing rule are 422."""
    zero = manual_invoice(seeded.company_id)
    zero["lines"][0]["quantity"] = 0
    error = assert_error(await client.post("/v1/invoices", json=zero), 400, "VALIDATION")
    assert "quantity" in error["details"]["fields"][0]["field"]
    unknown_kind = manual_invoice(seeded.company_id)
    unknown_kind["lines"][0]["adjustments"] = [{"kind": "bogus", "label": "x"}]
    assert_error(await client.post("/v1/invoices", json=unknown_kind), 400, "VALIDATION")
    mixed = manual_invoice(seeded.company_id)
    mixed["lines"][0]["unit_amount"] = {"amount": 100, "currency": "USD"}
    mixed["lines"][0]["adjustments"] = []
    error = assert_error(await client.post("/v1/invoices", json=mixed), 422, "VALIDATION")
    assert error["details"]["field"] == "lines"
    below_zero = manual_invoice(seeded.company_id)
    below_zero["lines"][0]["adjustments"] = [{"kind": "amount", "label": "x", "amount": cad(-1)}]
    below_zero["lines"][0]["unit_amount"] = cad(0)
    error = assert_error(await client.post("/v1/invoices", json=below_zero), 422, "VALIDATION")
    assert error["details"]["field"] == "adjustments"


async def test_issuing_numbers_the_invoice_and_sets_its_due_date(
    client: Client, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Issue assigns INV-000123-style numbers in sequence and due = issue + terms; issuing twice
    is a conflict."""
    created = (await client.post("/v1/invoices", json=manual_invoice(seeded.company_id))).json()
    issued = await client.post(
        f"/v1/invoices/{created['id']}/issue", json={"payment_terms_days": 15}
    )
    assert issued.status_code == 200, issued.text
    invoice = issued.json()
    assert invoice["status"] == "issued"
    assert invoice["number"] == "INV-000001"
    assert invoice["payment_terms_days"] == 15
    assert invoice["due_date"] == (clock.now() + timedelta(days=15)).isoformat().replace(
        "+00:00", "Z"
    )
    again = await client.post(f"/v1/invoices/{created['id']}/issue")
    assert_error(again, 409, "CONFLICT")
    second = await issued_invoice(client, seeded.company_id)
    assert second["number"] == "INV-000002"
    assert second["payment_terms_days"] == 30


async def test_an_empty_draft_cannot_be_issued(client: Client, seeded: SeededCatalogue) -> None:
    """An invoice needs a line to be issued; terms beyond a year are refused."""
    empty = await client.post(
        "/v1/invoices", json={"company_id": seeded.company_id, "currency": "CAD"}
    )
    assert empty.status_code == 201
    url = f"/v1/invoices/{empty.json()['id']}/issue"
    error = assert_error(await client.post(url), 422, "VALIDATION")
    assert error["details"]["field"] == "lines"
    long_terms = await client.post(url, json={"payment_terms_days": 400})
    assert_error(long_terms, 400, "VALIDATION")


async def test_voiding_keeps_the_number_and_needs_a_reason(
    client: Client, seeded: SeededCatalogue
) -> None:
    """An issued, unpaid invoice is voided with its reason; a void one cannot be voided again."""
    invoice = await issued_invoice(client, seeded.company_id)
    url = f"/v1/invoices/{invoice['id']}/void"
    assert_error(await client.post(url, json={}), 400, "VALIDATION")
    voided = await client.post(url, json={"reason": "raised against the wrong company"})
    assert voided.status_code == 200
    body = voided.json()
    assert body["status"] == "void"
    assert body["number"] == invoice["number"]
    assert body["void_reason"] == "raised against the wrong company"
    assert_error(await client.post(url, json={"reason": "again"}), 409, "CONFLICT")


# -- payments ----------------------------------------------------------------------------------


async def test_manual_payments_pay_an_invoice_down(
    client: Client, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """A wire transfer is recorded and allocated: partially paid, then paid; the detail lists
    the allocations and the balance."""
    invoice = await issued_invoice(client, seeded.company_id)
    url = f"/v1/invoices/{invoice['id']}/payments"
    first = await client.post(
        url, json={"external_reference": "WIRE-1", "amount": cad(6_500), "notes": "first half"}
    )
    assert first.status_code == 201, first.text
    payment = first.json()
    assert payment["method"] == "manual"
    assert payment["amount"] == cad(6_500)
    assert payment["available"] == cad(0)
    assert payment["allocations"][0]["invoice_id"] == invoice["id"]
    assert payment["notes"] == "first half"
    partial = (await client.get(f"/v1/invoices/{invoice['id']}")).json()
    assert partial["status"] == "partially_paid"
    assert partial["balance"] == cad(20_000)
    clock.advance(timedelta(days=2))
    await client.post(url, json={"external_reference": "WIRE-2", "amount": cad(20_000)})
    paid = (await client.get(f"/v1/invoices/{invoice['id']}")).json()
    assert paid["status"] == "paid"
    assert paid["balance"] == cad(0)
    assert paid["paid_at"] is not None
    assert [a["amount"] for a in paid["allocations"]] == [cad(6_500), cad(20_000)]


async def test_a_payment_reference_is_used_once_and_never_overpays(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A reused reference is a conflict; more than the balance, or a draft invoice, is refused."""
    invoice = await issued_invoice(client, seeded.company_id)
    url = f"/v1/invoices/{invoice['id']}/payments"
    assert (
        await client.post(url, json={"external_reference": "W-1", "amount": cad(100)})
    ).is_success
    reused = await client.post(url, json={"external_reference": "W-1", "amount": cad(100)})
    error = assert_error(reused, 409, "CONFLICT")
    assert error["details"]["field"] == "external_reference"
    too_much = await client.post(url, json={"external_reference": "W-2", "amount": cad(99_999)})
    error = assert_error(too_much, 422, "VALIDATION")
    assert error["details"]["field"] == "amount"
    draft = (await client.post("/v1/invoices", json=manual_invoice(seeded.company_id))).json()
    on_draft = await client.post(
        f"/v1/invoices/{draft['id']}/payments",
        json={"external_reference": "W-3", "amount": cad(100)},
    )
    assert_error(on_draft, 409, "CONFLICT")
    unknown = await client.post(
        "/v1/invoices/inv_missing/payments", json={"external_reference": "W-4", "amount": cad(1)}
    )
    assert_error(unknown, 404, "NOT_FOUND")


# -- reading -----------------------------------------------------------------------------------


async def test_a_paid_orders_invoice_is_listed_and_read_with_its_payment(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """The invoice issued on order.paid is found by order and status, with the card payment
    allocated and nothing owing."""
    order = await paid_order(platform, seeded)
    listed = await client.get("/v1/invoices", params={"order_id": order.id})
    assert listed.status_code == 200
    page = listed.json()
    assert (page["limit"], page["offset"]) == (50, 0)
    (invoice,) = page["items"]
    assert invoice["status"] == "paid"
    assert invoice["total"] == cad(order.total.amount)
    assert [line["order_item_id"] for line in invoice["lines"]] == [i.id for i in order.items]
    detail = (await client.get(f"/v1/invoices/{invoice['id']}")).json()
    (allocation,) = detail["allocations"]
    assert allocation["amount"] == cad(order.total.amount)
    assert allocation["outstanding"] == allocation["amount"]
    assert detail["balance"] == cad(0)
    by_status = (await client.get("/v1/invoices", params={"status": "issued"})).json()
    assert invoice["id"] not in [each["id"] for each in by_status["items"]]


async def test_invoices_filter_by_company_issue_date_and_overdue(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Filters combine; overdue (derived) finds open invoices past due at the current time."""
    first = await issued_invoice(client, seeded.company_id)
    clock.advance(timedelta(days=5))
    second = await issued_invoice(client, seeded.company_id)
    clock.advance(timedelta(minutes=1))  # listed by creation time; ties fall back to the id
    draft = (await client.post("/v1/invoices", json=manual_invoice(seeded.company_id))).json()
    all_ids = [i["id"] for i in (await client.get("/v1/invoices")).json()["items"]]
    assert all_ids == [first["id"], second["id"], draft["id"]]
    later = await client.get(
        "/v1/invoices", params={"issued_from": (clock.now() - timedelta(days=1)).isoformat()}
    )
    assert [i["id"] for i in later.json()["items"]] == [second["id"]]
    stranger = await other_company(platform)
    none = await client.get("/v1/invoices", params={"company_id": stranger.id})
    assert none.json()["items"] == []
    paged = (await client.get("/v1/invoices", params={"limit": 1, "offset": 1})).json()
    assert [i["id"] for i in paged["items"]] == [second["id"]]
    clock.advance(timedelta(days=27))  # the first is 32 days old: past its 30 days
    overdue = (await client.get("/v1/invoices", params={"status": "overdue"})).json()["items"]
    assert [(i["id"], i["overdue"], i["status"]) for i in overdue] == [
        (first["id"], True, "issued")
    ]


async def test_list_parameters_are_validated(client: Client) -> None:
    """An unknown status, a limit out of range and a date without a time zone are refused."""
    bad_status = await client.get("/v1/invoices", params={"status": "lost"})
    assert_error(bad_status, 400, "VALIDATION")
    assert_error(await client.get("/v1/invoices", params={"limit": 0}), 400, "VALIDATION")
    naive = await client.get("/v1/invoices", params={"issued_from": "2026-03-01T00:00:00"})
    error = assert_error(naive, 422, "VALIDATION")
    assert error["details"]["field"] == "issued_from"


async def test_an_unknown_invoice_is_not_found(client: Client) -> None:
    """Reading, issuing, voiding or printing an unknown invoice answers 404."""
    for response in [
        await client.get("/v1/invoices/inv_missing"),
        await client.post("/v1/invoices/inv_missing/issue"),
        await client.post("/v1/invoices/inv_missing/void", json={"reason": "x"}),
        await client.get("/v1/invoices/inv_missing/pdf"),
    ]:
        error = assert_error(response, 404, "NOT_FOUND")
        assert error["details"]["id"] == "inv_missing"


# -- PDF ---------------------------------------------------------------------------------------


async def test_the_pdf_is_a_document_with_the_invoice_number(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """GET .../pdf answers application/pdf, named after the number, showing number and company."""
    platform.deps.renderer = FpdfInvoiceRenderer(compress=False)  # readable content streams
    invoice = await issued_invoice(client, seeded.company_id)
    response = await client.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="INV-000001.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert b"(INV-000001)" in response.content
    assert b"(Northwind Sensors Ltd)" in response.content
    assert b"(265.00 CAD)" in response.content


async def test_the_default_renderer_sends_a_compressed_pdf(
    client: Client, seeded: SeededCatalogue
) -> None:
    """The composed platform renders with fpdf2's compression on; drafts print too."""
    draft = (await client.post("/v1/invoices", json=manual_invoice(seeded.company_id))).json()
    response = await client.get(f"/v1/invoices/{draft['id']}/pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert b"/FlateDecode" in response.content
    assert response.headers["content-disposition"] == f'inline; filename="{draft["id"]}.pdf"'


# -- roles and company scope -------------------------------------------------------------------


async def test_readonly_and_ops_keys_cannot_change_invoices(
    client: Client, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Invoices are changed by admins and support; readonly and ops keys only read them."""
    invoice = await issued_invoice(client, seeded.company_id)
    for role in (Role.READONLY, Role.OPS):
        headers = await keys.headers(role)
        for response in [
            await client.post(
                "/v1/invoices", json=manual_invoice(seeded.company_id), headers=headers
            ),
            await client.post(f"/v1/invoices/{invoice['id']}/issue", headers=headers),
            await client.post(
                f"/v1/invoices/{invoice['id']}/void", json={"reason": "x"}, headers=headers
            ),
            await client.post(
                f"/v1/invoices/{invoice['id']}/payments",
                json={"external_reference": "W", "amount": cad(1)},
                headers=headers,
            ),
        ]:
            assert_error(response, 403, "AUTHZ")
        assert (await client.get(f"/v1/invoices/{invoice['id']}", headers=headers)).is_success
    support = await keys.headers(Role.SUPPORT)
    voided = await client.post(
        f"/v1/invoices/{invoice['id']}/void", json={"reason": "dup"}, headers=support
    )
    assert voided.json()["status"] == "void"


async def test_a_company_key_sees_only_its_own_invoices(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Another company's invoice answers 404 on every route; lists hold only the key's own
    company's invoices, and asking for another company's is 404."""
    invoice = await issued_invoice(client, seeded.company_id)
    stranger_company = await other_company(platform)
    theirs = await issued_invoice(client, stranger_company.id)
    stranger = await keys.headers(Role.SUPPORT, stranger_company.id)
    for response in [
        await client.get(f"/v1/invoices/{invoice['id']}", headers=stranger),
        await client.get(f"/v1/invoices/{invoice['id']}/pdf", headers=stranger),
        await client.post(f"/v1/invoices/{invoice['id']}/issue", headers=stranger),
        await client.post(
            f"/v1/invoices/{invoice['id']}/void", json={"reason": "x"}, headers=stranger
        ),
        await client.post(
            f"/v1/invoices/{invoice['id']}/payments",
            json={"external_reference": "W", "amount": cad(1)},
            headers=stranger,
        ),
        await client.post("/v1/invoices", json=manual_invoice(seeded.company_id), headers=stranger),
        await client.get(
            "/v1/invoices", params={"company_id": seeded.company_id}, headers=stranger
        ),
    ]:
        assert_error(response, 404, "NOT_FOUND")
    listed = (await client.get("/v1/invoices", headers=stranger)).json()["items"]
    assert [each["id"] for each in listed] == [theirs["id"]]
    own = await client.get(f"/v1/invoices/{theirs['id']}", headers=stranger)
    assert own.json()["company_id"] == stranger_company.id
    paid = await client.post(
        f"/v1/invoices/{theirs['id']}/payments",
        json={"external_reference": "SW-1", "amount": cad(26_500)},
        headers=stranger,
    )
    assert paid.status_code == 201
    assert paid.json()["company_id"] == stranger_company.id
