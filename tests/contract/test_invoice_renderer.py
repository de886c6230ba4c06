"""Contract of the InvoiceRenderer port: a PDF that tells the reader what is owed and why.

`InvoiceRendererContract` holds the assertions; each adapter subclasses it with a factory and a
way to read the text back out of its documents (fpdf2's uncompressed content streams).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.documents import FpdfInvoiceRenderer, format_money
from platform_core.billing.model import (
    AmountAdjustment,
    Invoice,
    InvoiceLine,
    PaymentMethod,
    PaymentRecord,
    PercentDiscount,
    allocate,
)
from platform_core.billing.ports import InvoiceRenderer
from platform_core.customers.model import Address, Company, Contact
from platform_core.shared.money import Money

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def cad(cents: int) -> Money:
    return Money(cents, "CAD")


def company(name: str = "Northwind Sensors Ltd") -> Company:
    return Company(
        id="cmp_1", name=name, company_mirror_id="legacy-1", currency="CAD", created_at=START
    )


CONTACT = Contact(
    id="con_1",
    company_id="cmp_1",
    name="Dana Reyes",
    email="dana@northwind.example",
    created_at=START,
)
ADDRESS = Address(
    id="adr_1",
    company_id="cmp_1",
    lines=("100 King St W",),
    city="Toronto",
    region="ON",
    postal_code="M5X 1A9",
    country="CA",
    created_at=START,
)


def draft(lines: Sequence[InvoiceLine] | None = None, currency: str = "CAD") -> Invoice:
    chosen = lines if lines is not None else [gateway_line()]
    invoice, _ = Invoice.draft(
        invoice_id="inv_1",
        company_id="cmp_1",
        currency=currency,
        at=START,
        lines=chosen,
        order_id="ord_1",
    )
    return invoice


def gateway_line(
    line_id: str = "invl_1", description: str = "Sensor gateway GW-100"
) -> InvoiceLine:
    return InvoiceLine(
        id=line_id,
        description=description,
        quantity=2,
        unit_amount=cad(49_900),
        adjustments=(
            PercentDiscount(label="Volume", basis_points=1_000),
            AmountAdjustment(label="Promo", amount=cad(-500)),
        ),
    )


def issued(invoice: Invoice | None = None) -> Invoice:
    invoice, _ = (invoice or draft()).issue(number=123, at=START)
    return invoice


def paid_in_part(invoice: Invoice, cents: int) -> tuple[Invoice, PaymentRecord]:
    payment, _ = PaymentRecord.record(
        payment_id="pay_1",
        company_id="cmp_1",
        method=PaymentMethod.MANUAL,
        external_reference="WIRE-2026-0042",
        amount=cad(cents),
        received_at=START,
        at=START,
    )
    payment, invoice, _ = allocate(
        payment, invoice, allocation_id="alloc_1", amount=cad(cents), at=START
    )
    return invoice, payment


class InvoiceRendererContract:
    """What every InvoiceRenderer must do; subclasses say how to build one and read it."""

    def renderer(self) -> InvoiceRenderer:
        raise NotImplementedError

    def text_of(self, document: bytes) -> str:
        raise NotImplementedError

    def page_count(self, document: bytes) -> int:
        raise NotImplementedError

    def render(self, invoice: Invoice, **kwargs: object) -> tuple[bytes, str]:
        options: dict[str, object] = {"at": START}
        options.update(kwargs)
        document = self.renderer().render(invoice, company(), **options)  # type: ignore[arg-type]
        return document, self.text_of(document)

    def test_an_issued_invoice_is_a_pdf_naming_number_company_lines_and_amounts(self) -> None:
        """The document is a whole PDF with the number, who is billed, each line and the totals."""
        invoice, payment = paid_in_part(issued(), 50_000)
        document, text = self.render(
            invoice, payments=[payment], billing_contact=CONTACT, billing_address=ADDRESS
        )
        assert document.startswith(b"%PDF-")
        assert document.rstrip().endswith(b"%%EOF")
        for expected in [
            "INV-000123",
            "Northwind Sensors Ltd",
            "Dana Reyes",
            "100 King St W",
            "Toronto ON M5X 1A9",
            "Sensor gateway GW-100",
            "Volume (10%)",
            "Promo",
            "Subtotal",
            "998.00 CAD",  # 2 x 499.00
            "-99.80 CAD",  # 10% of the gross
            "893.20 CAD",  # total after both adjustments
            "500.00 CAD",  # paid
            "393.20 CAD",  # balance
            "WIRE-2026-0042",
            "partially paid",
            "2026-04-01",  # due after the default 30 days
        ]:
            assert expected in text, expected

    def test_a_draft_says_it_is_not_issued_yet(self) -> None:
        """A draft prints as a draft, without a number, and is not presented as payable."""
        _, text = self.render(draft())
        assert "DRAFT INVOICE" in text
        assert "not yet issued" in text
        assert "INV-" not in text

    def test_an_open_invoice_past_due_prints_as_overdue(self) -> None:
        """The status shown is the one at print time: overdue is derived from the due date."""
        _, on_time = self.render(issued(), at=START + timedelta(days=10))
        _, late = self.render(issued(), at=START + timedelta(days=40))
        assert "issued" in on_time.splitlines()
        assert "overdue" not in on_time.lower()
        assert "overdue" in late.splitlines()
        assert "Overdue: 893.20 CAD was due on 2026-04-01" in late

    def test_a_void_invoice_carries_its_reason(self) -> None:
        """A voided invoice says so, and why."""
        voided, _ = issued().void(reason="Raised in error", at=START + timedelta(days=1))
        _, text = self.render(voided)
        assert "VOID INVOICE" in text
        assert "Raised in error" in text

    def test_refunds_show_against_the_payment_they_came_from(self) -> None:
        """A payment refunded after allocation shows what was applied and what was taken back."""
        invoice, payment = paid_in_part(issued(), 50_000)
        refunded, _ = payment.refund(amount=cad(20_000), at=START, reference="re_1")
        released, _ = invoice.release(
            payment_id=payment.id, amount=cad(20_000), at=START, reference="re_1"
        )
        _, text = self.render(released, payments=[refunded])
        assert "refunded" in text
        assert "-200.00 CAD" in text
        assert "593.20 CAD" in text  # the balance re-opened by the refund

    def test_currencies_print_with_their_own_minor_units(self) -> None:
        """Yen have no decimals, Bahraini dinars three: amounts come from integer minor units."""
        yen = InvoiceLine(
            id="invl_1", description="Probe", quantity=3, unit_amount=Money(1_500, "JPY")
        )
        _, text = self.render(issued(draft([yen], currency="JPY")))
        assert "4,500 JPY" in text
        dinar = InvoiceLine(
            id="invl_1", description="Probe", quantity=1, unit_amount=Money(12_345, "BHD")
        )
        _, text = self.render(issued(draft([dinar], currency="BHD")))
        assert "12.345 BHD" in text

    def test_text_outside_latin_1_is_folded_not_fatal(self) -> None:
        """Names with characters the standard fonts lack still print, as near as they can."""
        line = gateway_line(description="Czujnik \u201cŁódź\u201d \u2013 \u65e5\u672c")
        document = self.renderer().render(draft([line]), company("Żabka Sp. z o.o."), at=START)
        text = self.text_of(document)
        assert "Zabka Sp. z o.o." in text
        assert 'Czujnik "L\u00f3dz" - ??' in text

    def test_long_invoices_flow_onto_more_pages(self) -> None:
        """Many lines break across pages instead of running off the first one."""
        lines = [gateway_line(f"invl_{n}", f"Sensor {n}") for n in range(80)]
        document, text = self.render(issued(draft(lines)))
        assert self.page_count(document) >= 2
        assert "Sensor 0" in text
        assert "Sensor 79" in text

    def test_the_same_invoice_at_the_same_time_gives_the_same_bytes(self) -> None:
        """Rendering is deterministic: nothing random or clock-read goes into the document."""
        first, _ = self.render(issued())
        second, _ = self.render(issued())
        assert first == second


_SHOWN_TEXT = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj")
_ESCAPED = re.compile(rb"\\(.)")


class TestFpdfInvoiceRenderer(InvoiceRendererContract):
    def renderer(self) -> InvoiceRenderer:
        return FpdfInvoiceRenderer("Acme Hardware", compress=False)

    def text_of(self, document: bytes) -> str:
        """The strings the pages show, one per line (fpdf2 writes each cell with one Tj)."""
        shown = [_ESCAPED.sub(rb"\1", raw) for raw in _SHOWN_TEXT.findall(document)]
        return "\n".join(part.decode("latin-1") for part in shown)

    def page_count(self, document: bytes) -> int:
        match = re.search(rb"/Count (\d+)", document)  # the page tree's root
        assert match is not None
        return int(match.group(1))

    def test_compressed_output_is_a_pdf_too(self) -> None:
        """The default (compressed) document is a PDF as well, and smaller."""
        compressed = FpdfInvoiceRenderer().render(issued(), company(), at=START)
        plain = FpdfInvoiceRenderer(compress=False).render(issued(), company(), at=START)
        assert compressed.startswith(b"%PDF-")
        assert len(compressed) < len(plain)


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (Money(0, "CAD"), "0.00 CAD"),
        (Money(5, "CAD"), "0.05 CAD"),
        (Money(123_456_789, "USD"), "1,234,567.89 USD"),
        (Money(-9_980, "EUR"), "-99.80 EUR"),
        (Money(1_500, "JPY"), "1,500 JPY"),
        (Money(-1, "BHD"), "-0.001 BHD"),
    ],
)
def test_format_money_groups_digits_and_keeps_minor_units(money: Money, shown: str) -> None:
    """Amounts print from integer minor units: grouping, sign and the currency's decimals."""
    assert format_money(money) == shown
