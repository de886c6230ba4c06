"""The InvoiceRenderer port with fpdf2: an A4 invoice with its lines, totals, payments and balance.

Money is printed from integer minor units with the currency's own number of decimals; nothing
here does arithmetic on floats. The PDF standard fonts draw Latin-1 only, so other characters
are folded to their nearest Latin-1 spelling (or "?") rather than failing the whole document.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import attrs
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from platform_core.billing.model import (
    Adjustment,
    AmountAdjustment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentAllocation,
    PaymentRecord,
)
from platform_core.customers.model import Address, Company, Contact
from platform_core.shared.money import CURRENCY_EXPONENTS, Money

FONT = "Helvetica"
ROW_HEIGHT = 6.0
# Description, quantity, unit price, amount: in millimetres of the A4 text width (190).
LINE_COLUMNS = (100, 20, 35, 35)
PAYMENT_COLUMNS = (30, 30, 95, 35)

# Characters Latin-1 lacks but invoices often carry (pasted from word processors, Polish and
# Croatian names); anything else outside Latin-1 is folded by Unicode decomposition.
_SUBSTITUTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"',
        "\u201e": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...",
        "\u20ac": "EUR", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d",
        "\u0152": "OE", "\u0153": "oe", "\u00a0": " ",
    }
)  # fmt: skip


def format_money(money: Money) -> str:
    """`money` for people: grouped digits and the currency's minor units (1,234.56 CAD)."""
    exponent = CURRENCY_EXPONENTS[money.currency]
    sign = "-" if money.amount < 0 else ""
    whole, fraction = divmod(abs(money.amount), 10**exponent)
    digits = f"{whole:,}" if exponent == 0 else f"{whole:,}.{fraction:0{exponent}d}"
    return f"{sign}{digits} {money.currency}"


def printable(text: str) -> str:
    """`text` as the PDF standard fonts can draw it (Latin-1)."""
    text = text.translate(_SUBSTITUTES)
    if all(ord(char) < 256 for char in text):
        return text
    return "".join(char if ord(char) < 256 else _fold(char) for char in text)


def _fold(char: str) -> str:
    base = "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if not unicodedata.combining(part) and ord(part) < 256
    )
    return base or "?"


def _day(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).date().isoformat()


def _adjustment_label(adjustment: Adjustment) -> str:
    if isinstance(adjustment, AmountAdjustment):
        return adjustment.label
    points = adjustment.basis_points
    percent = f"{points // 100}" if points % 100 == 0 else f"{points / 100:.2f}"
    return f"{adjustment.label} ({percent}%)"


@attrs.frozen
class _PaymentRow:
    received_at: datetime
    method: str
    reference: str
    allocation: PaymentAllocation


def _payment_rows(invoice_id: str, payments: Sequence[PaymentRecord]) -> list[_PaymentRow]:
    """One row per allocation of `payments` to the invoice, oldest allocation first."""
    rows = [
        _PaymentRow(payment.received_at, str(payment.method), payment.external_reference, each)
        for payment in payments
        for each in payment.allocations
        if each.invoice_id == invoice_id
    ]
    return sorted(rows, key=lambda row: (row.allocation.allocated_at, row.allocation.id))


class FpdfInvoiceRenderer:
    """InvoiceRenderer producing A4 PDFs. `issuer` heads every page; `compress=False` keeps the
    page content readable as text (handy when checking documents in tests)."""

    media_type = "application/pdf"

    def __init__(self, issuer: str = "platform-core", *, compress: bool = True) -> None:
        self.issuer = issuer
        self.compress = compress

    def render(
        self,
        invoice: Invoice,
        company: Company,
        *,
        payments: Sequence[PaymentRecord] = (),
        billing_contact: Contact | None = None,
        billing_address: Address | None = None,
        at: datetime,
    ) -> bytes:
        pdf = _InvoicePdf(self.issuer, invoice)
        pdf.set_compression(self.compress)
        # Fixed metadata dates make the same invoice print to the same bytes at the same time.
        pdf.set_creation_date(at)
        pdf.set_title(printable(f"Invoice {_title_number(invoice)}"))
        pdf.set_author(printable(self.issuer))
        pdf.set_creator("platform-core")
        pdf.add_page()
        pdf.heading(invoice, at)
        pdf.parties(company, billing_contact, billing_address)
        pdf.lines(invoice)
        pdf.totals(invoice)
        pdf.payments(_payment_rows(invoice.id, payments), invoice.currency)
        pdf.closing_note(invoice, at)
        return bytes(pdf.output())


def _title_number(invoice: Invoice) -> str:
    return invoice.number or f"draft {invoice.id}"


class _InvoicePdf(FPDF):
    """One invoice document; each method draws one section, top to bottom."""

    def __init__(self, issuer: str, invoice: Invoice) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.issuer = issuer
        self.invoice = invoice
        self.set_margins(10, 12, 10)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    # -- page furniture -------------------------------------------------------------------
    def header(self) -> None:
        self.set_font(FONT, "B", 9)
        self.set_text_color(90, 90, 90)
        self.cell(95, 5, printable(self.issuer))
        self.cell(0, 5, printable(f"Invoice {_title_number(self.invoice)}"), align="R")
        self.set_text_color(0, 0, 0)
        self.ln(9)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    # -- sections -------------------------------------------------------------------------
    def heading(self, invoice: Invoice, at: datetime) -> None:
        title = "INVOICE" if invoice.number else "DRAFT INVOICE"
        if invoice.status is InvoiceStatus.VOID:
            title = f"VOID {title}"
        self.set_font(FONT, "B", 18)
        self.cell(0, 10, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        facts = [
            ("Number", invoice.number or "not yet issued"),
            ("Status", str(invoice.status_at(at)).replace("_", " ")),
            ("Issued", _day(invoice.issued_at)),
            ("Due", _day(invoice.due_date)),
        ]
        if invoice.payment_terms_days is not None:
            facts.append(("Terms", f"{invoice.payment_terms_days} days"))
        if invoice.order_id is not None:
            facts.append(("Order", invoice.order_id))
        facts.append(("Printed", _day(at)))
        self.set_font(FONT, "", 10)
        for label, value in facts:
            self.set_font(FONT, "B", 10)
            self.cell(25, ROW_HEIGHT - 1, f"{label}:")
            self.set_font(FONT, "", 10)
            self.cell(0, ROW_HEIGHT - 1, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def parties(self, company: Company, contact: Contact | None, address: Address | None) -> None:
        self.set_font(FONT, "B", 11)
        self.cell(0, ROW_HEIGHT, "Bill to", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 10)
        for text in _bill_to(company, contact, address):
            self.cell(0, ROW_HEIGHT - 1, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def lines(self, invoice: Invoice) -> None:
        self.set_font(FONT, "", 10)
        with self.table(
            col_widths=LINE_COLUMNS,
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            line_height=ROW_HEIGHT,
            first_row_as_headings=True,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(["Description", "Qty", "Unit price", "Amount"])
            if not invoice.lines:
                table.row(["(no lines yet)", "", "", ""])
            for line in invoice.lines:
                for cells in _line_rows(line):
                    table.row(cells)
        self.ln(3)

    def totals(self, invoice: Invoice) -> None:
        gross = Money.total((line.gross for line in invoice.lines), invoice.currency)
        adjustments = invoice.total - gross
        rows = [("Subtotal", gross)]
        if not adjustments.is_zero:
            rows.append(("Adjustments", adjustments))
        rows += [("Total", invoice.total), ("Paid", invoice.allocated)]
        for label, amount in rows:
            self._total_row(label, amount, bold=label == "Total")
        self._total_row("Balance due", invoice.balance, bold=True)
        self.ln(4)

    def payments(self, rows: Sequence[_PaymentRow], currency: str) -> None:
        self.set_font(FONT, "B", 11)
        self.cell(0, ROW_HEIGHT, "Payments", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 10)
        if not rows:
            self.cell(0, ROW_HEIGHT, "No payments received.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        with self.table(
            col_widths=PAYMENT_COLUMNS,
            text_align=("LEFT", "LEFT", "LEFT", "RIGHT"),
            line_height=ROW_HEIGHT,
            first_row_as_headings=True,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(["Received", "Method", "Reference", "Applied"])
            for row in rows:
                for cells in _payment_cells(row):
                    table.row(cells)

    def closing_note(self, invoice: Invoice, at: datetime) -> None:
        notes = list(_closing_notes(invoice, at))
        if not notes:
            return
        self.ln(4)
        self.set_font(FONT, "I", 10)
        for note in notes:
            self.multi_cell(0, ROW_HEIGHT - 1, printable(note), new_x=XPos.LMARGIN)

    def _total_row(self, label: str, amount: Money, *, bold: bool) -> None:
        self.set_font(FONT, "B" if bold else "", 10)
        self.cell(sum(LINE_COLUMNS[:3]), ROW_HEIGHT, label, align="R")
        self.cell(
            LINE_COLUMNS[3],
            ROW_HEIGHT,
            format_money(amount),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def _bill_to(company: Company, contact: Contact | None, address: Address | None) -> Iterator[str]:
    yield company.name
    if contact is not None:
        yield f"Attn: {contact.name} <{contact.email}>"
    if address is not None:
        yield from address.lines
        place = " ".join(
            part for part in (address.city, address.region, address.postal_code) if part
        )
        yield place
        yield address.country


def _line_rows(line: InvoiceLine) -> Iterator[list[str]]:
    yield [
        printable(line.description),
        str(line.quantity),
        format_money(line.unit_amount),
        format_money(line.gross),
    ]
    gross = line.gross
    for adjustment in line.adjustments:
        yield [
            printable(f"    {_adjustment_label(adjustment)}"),
            "",
            "",
            format_money(adjustment.delta(gross)),
        ]


def _payment_cells(row: _PaymentRow) -> Iterator[list[str]]:
    allocation = row.allocation
    yield [
        _day(row.received_at),
        row.method,
        printable(row.reference),
        format_money(allocation.amount),
    ]
    if allocation.released.amount > 0:
        yield ["", "", "    refunded", format_money(-allocation.released)]


def _closing_notes(invoice: Invoice, at: datetime) -> Iterator[str]:
    if invoice.status is InvoiceStatus.VOID:
        yield f"This invoice was voided on {_day(invoice.voided_at)}: {invoice.void_reason}."
        return
    if invoice.status is InvoiceStatus.DRAFT:
        yield "Draft: this invoice has not been issued and is not yet payable."
        return
    if invoice.status is InvoiceStatus.PAID:
        yield f"Paid in full on {_day(invoice.paid_at)}. Thank you."
        return
    if invoice.is_overdue(at):
        yield (
            f"Overdue: {format_money(invoice.balance)} was due on {_day(invoice.due_date)}. "
            "Please pay the balance now."
        )
        return
    yield f"Please pay {format_money(invoice.balance)} by {_day(invoice.due_date)}."
