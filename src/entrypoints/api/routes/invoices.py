"""Invoices: list with filters, read with allocations, manual drafts, issue, void, manual
payments and the printable PDF.

A company-scoped key sees and acts on only its own company's invoices; another company's
invoice answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, MoneyBody, View
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies
from platform_core.billing.model import (
    DEFAULT_PAYMENT_TERMS_DAYS,
    MAX_BASIS_POINTS,
    MAX_PAYMENT_TERMS_DAYS,
    Adjustment,
    AmountAdjustment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentAllocation,
    PaymentMethod,
    PaymentRecord,
    PercentDiscount,
)
from platform_core.billing.ports import InvoiceQuery
from platform_core.billing.service import (
    CreateDraftInvoice,
    IssueInvoice,
    NewInvoiceLine,
    RecordManualPayment,
    VoidInvoice,
    create_draft_invoice,
    get_invoice,
    get_invoice_details,
    issue_invoice,
    list_invoices,
    record_manual_payment,
    render_invoice_pdf,
    void_invoice,
)

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PDF = "application/pdf"
MAX_INVOICE_LINES = 500
MAX_LINE_ADJUSTMENTS = 20


# -- bodies ----------------------------------------------------------------------------------


class AmountAdjustmentIn(Body, tag_field="kind", tag="amount"):
    """A fixed change to the line: negative is a discount, positive a surcharge."""

    label: Label
    amount: MoneyBody


class PercentDiscountIn(Body, tag_field="kind", tag="percent"):
    """A discount of basis_points/10000 of the line's gross amount (1% = 100)."""

    label: Label
    basis_points: Annotated[int, msgspec.Meta(ge=1, le=MAX_BASIS_POINTS)]


class InvoiceLineIn(Body):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    quantity: Annotated[int, msgspec.Meta(ge=1)]
    unit_amount: MoneyBody
    adjustments: Annotated[
        list[AmountAdjustmentIn | PercentDiscountIn], msgspec.Meta(max_length=MAX_LINE_ADJUSTMENTS)
    ] = []
    product_id: Identifier | None = None
    order_item_id: Identifier | None = None

    def to_line(self) -> NewInvoiceLine:
        return NewInvoiceLine(
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount.to_money(),
            adjustments=tuple(_adjustment(each) for each in self.adjustments),
            product_id=self.product_id,
            order_item_id=self.order_item_id,
        )


def _adjustment(body: AmountAdjustmentIn | PercentDiscountIn) -> Adjustment:
    if isinstance(body, AmountAdjustmentIn):
        return AmountAdjustment(label=body.label, amount=body.amount.to_money())
    return PercentDiscount(label=body.label, basis_points=body.basis_points)


class InvoiceIn(Body):
    company_id: Identifier
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3, examples=["CAD"])]
    lines: Annotated[list[InvoiceLineIn], msgspec.Meta(max_length=MAX_INVOICE_LINES)] = []
    billing_contact_id: Identifier | None = None
    billing_address_id: Identifier | None = None


class IssueInvoiceIn(Body):
    payment_terms_days: Annotated[int, msgspec.Meta(ge=0, le=MAX_PAYMENT_TERMS_DAYS)] = (
        DEFAULT_PAYMENT_TERMS_DAYS
    )


class VoidInvoiceIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ManualPaymentIn(Body):
    external_reference: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=255, description="Bank transfer or cheque reference; unique"
        ),
    ]
    amount: MoneyBody
    received_at: (
        Annotated[datetime, msgspec.Meta(description="When the money arrived; default now")] | None
    ) = None
    notes: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


# -- views -----------------------------------------------------------------------------------


class AdjustmentView(View):
    kind: Annotated[str, msgspec.Meta(description="amount or percent")]
    label: str
    amount: MoneyBody | None
    basis_points: int | None
    effect: Annotated[MoneyBody, msgspec.Meta(description="What it changes the line total by")]


class InvoiceLineView(View):
    id: str
    description: str
    quantity: int
    unit_amount: MoneyBody
    gross: MoneyBody
    adjustments: list[AdjustmentView]
    total: MoneyBody
    product_id: str | None
    order_item_id: str | None


class InvoiceView(View):
    id: str
    number: Annotated[str | None, msgspec.Meta(description="INV-000123, assigned at issue")]
    company_id: str
    order_id: str | None
    status: InvoiceStatus
    overdue: Annotated[
        bool, msgspec.Meta(description="Open, past its due date and still owing, right now")
    ]
    currency: str
    lines: list[InvoiceLineView]
    total: MoneyBody
    allocated: MoneyBody
    balance: MoneyBody
    created_at: datetime
    issued_at: datetime | None
    payment_terms_days: int | None
    due_date: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    billing_contact_id: str | None
    billing_address_id: str | None
    version: int


class AllocationView(View):
    id: str
    payment_id: str
    invoice_id: str
    amount: MoneyBody
    released: Annotated[MoneyBody, msgspec.Meta(description="Taken back by refunds")]
    outstanding: MoneyBody
    allocated_at: datetime


class InvoiceDetailView(InvoiceView):
    allocations: list[AllocationView]


class InvoicePage(View):
    items: list[InvoiceView]
    limit: int
    offset: int


class PaymentRecordView(View):
    id: str
    company_id: str
    method: PaymentMethod
    external_reference: str
    amount: MoneyBody
    received_at: datetime
    allocated: MoneyBody
    refunded: MoneyBody
    available: MoneyBody
    allocations: list[AllocationView]
    notes: str | None
    version: int


def _adjustment_view(adjustment: Adjustment, line: InvoiceLine) -> AdjustmentView:
    effect = MoneyBody.of(adjustment.delta(line.gross))
    if isinstance(adjustment, AmountAdjustment):
        amount = MoneyBody.of(adjustment.amount)
        return AdjustmentView(
            kind="amount", label=adjustment.label, amount=amount, basis_points=None, effect=effect
        )
    return AdjustmentView(
        kind="percent",
        label=adjustment.label,
        amount=None,
        basis_points=adjustment.basis_points,
        effect=effect,
    )


def _line_view(line: InvoiceLine) -> InvoiceLineView:
    return InvoiceLineView(
        id=line.id,
        description=line.description,
        quantity=line.quantity,
        unit_amount=MoneyBody.of(line.unit_amount),
        gross=MoneyBody.of(line.gross),
        adjustments=[_adjustment_view(each, line) for each in line.adjustments],
        total=MoneyBody.of(line.total),
        product_id=line.product_id,
        order_item_id=line.order_item_id,
    )


def invoice_view(invoice: Invoice, now: datetime) -> InvoiceView:
    """`now` decides the derived `overdue` flag."""
    return InvoiceView(
        id=invoice.id,
        number=invoice.number,
        company_id=invoice.company_id,
        order_id=invoice.order_id,
        status=invoice.status,
        overdue=invoice.is_overdue(now),
        currency=invoice.currency,
        lines=[_line_view(line) for line in invoice.lines],
        total=MoneyBody.of(invoice.total),
        allocated=MoneyBody.of(invoice.allocated),
        balance=MoneyBody.of(invoice.balance),
        created_at=invoice.created_at,
        issued_at=invoice.issued_at,
        payment_terms_days=invoice.payment_terms_days,
        due_date=invoice.due_date,
        paid_at=invoice.paid_at,
        voided_at=invoice.voided_at,
        void_reason=invoice.void_reason,
        billing_contact_id=invoice.billing_contact_id,
        billing_address_id=invoice.billing_address_id,
        version=invoice.version,
    )


def invoice_detail_view(
    invoice: Invoice, allocations: tuple[PaymentAllocation, ...], now: datetime
) -> InvoiceDetailView:
    return InvoiceDetailView(
        **msgspec.structs.asdict(invoice_view(invoice, now)),
        allocations=[allocation_view(each) for each in allocations],
    )


def allocation_view(allocation: PaymentAllocation) -> AllocationView:
    return AllocationView(
        id=allocation.id,
        payment_id=allocation.payment_id,
        invoice_id=allocation.invoice_id,
        amount=MoneyBody.of(allocation.amount),
        released=MoneyBody.of(allocation.released),
        outstanding=MoneyBody.of(allocation.outstanding),
        allocated_at=allocation.allocated_at,
    )


def payment_record_view(payment: PaymentRecord) -> PaymentRecordView:
    return PaymentRecordView(
        id=payment.id,
        company_id=payment.company_id,
        method=payment.method,
        external_reference=payment.external_reference,
        amount=MoneyBody.of(payment.amount),
        received_at=payment.received_at,
        allocated=MoneyBody.of(payment.allocated),
        refunded=MoneyBody.of(payment.refunded),
        available=MoneyBody.of(payment.available),
        allocations=[allocation_view(each) for each in payment.allocations],
        notes=payment.notes,
        version=payment.version,
    )


async def _visible_invoice(deps: Dependencies, principal: Principal, invoice_id: str) -> Invoice:
    """The invoice, or 'not found' when it belongs to another company than a scoped key's."""
    invoice = await get_invoice(deps, invoice_id)
    principal.require_company(invoice.company_id, "invoice", invoice_id)
    return invoice


async def _check_visible(deps: Dependencies, principal: Principal, invoice_id: str) -> None:
    # Only a scoped key needs the extra read; for the others the use case itself answers 404.
    if principal.scoped:
        await _visible_invoice(deps, principal, invoice_id)


_PDF_RESPONSE = {
    200: ResponseSpec(
        data_container=bytes,
        generate_examples=False,
        media_type=PDF,
        description="The invoice as a PDF document (A4)",
    )
}


# -- routes ----------------------------------------------------------------------------------


class InvoiceController(Controller):
    path = "/v1/invoices"
    tags = ["Invoices"]
    opt = {"family": "invoices"}

    @get("/", summary="List invoices (status, company, order, issue dates)", responses=ERRORS_READ)
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        status: Annotated[
            InvoiceStatus | None,
            Parameter(description="overdue selects open invoices past their due date now"),
        ] = None,
        company_id: FromQuery[str | None] = None,
        order_id: FromQuery[str | None] = None,
        issued_from: Annotated[
            datetime | None, Parameter(description="Issued at or after (with a time zone)")
        ] = None,
        issued_until: Annotated[
            datetime | None, Parameter(description="Issued before (with a time zone)")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> InvoicePage:
        now = deps.clock.now()
        # Overdue is never stored: the core asks for it as "overdue at an instant".
        overdue = status is InvoiceStatus.OVERDUE
        query = InvoiceQuery(
            company_id=principal.company_filter(company_id),
            statuses=() if status is None or overdue else (status,),
            order_id=order_id,
            issued_from=issued_from,
            issued_until=issued_until,
            overdue_at=now if overdue else None,
            limit=limit,
            offset=offset,
        )
        invoices = await list_invoices(deps, query)
        return InvoicePage(
            items=[invoice_view(each, now) for each in invoices], limit=limit, offset=offset
        )

    @post("/", summary="Draft a manual invoice (no order)", responses=ERRORS_WRITE)
    async def create(
        self, data: JSONBody[InvoiceIn], deps: Deps, principal: Caller, request_id: RequestId
    ) -> InvoiceDetailView:
        command = CreateDraftInvoice(
            company_id=principal.company_filter(data.company_id) or data.company_id,
            currency=data.currency.upper(),
            lines=tuple(line.to_line() for line in data.lines),
            billing_contact_id=data.billing_contact_id,
            billing_address_id=data.billing_address_id,
            correlation_id=request_id,
        )
        invoice = await create_draft_invoice(deps, command)
        return invoice_detail_view(invoice, (), deps.clock.now())

    @get(
        "/{invoice_id:str}",
        summary="Get an invoice with its lines, allocations and balance",
        responses=ERRORS_READ,
    )
    async def show(
        self, invoice_id: FromPath[str], deps: Deps, principal: Caller
    ) -> InvoiceDetailView:
        details = await get_invoice_details(deps, invoice_id)
        principal.require_company(details.invoice.company_id, "invoice", invoice_id)
        return invoice_detail_view(details.invoice, details.allocations, deps.clock.now())

    @post(
        "/{invoice_id:str}/issue",
        status_code=200,
        summary="Issue a draft: it gets its number and due date",
        responses=ERRORS_WRITE,
    )
    async def issue(
        self,
        invoice_id: FromPath[str],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
        data: JSONBody[IssueInvoiceIn | None] = None,
    ) -> InvoiceView:
        await _check_visible(deps, principal, invoice_id)
        terms = DEFAULT_PAYMENT_TERMS_DAYS if data is None else data.payment_terms_days
        invoice = await issue_invoice(deps, IssueInvoice(invoice_id, terms, request_id))
        return invoice_view(invoice, deps.clock.now())

    @post(
        "/{invoice_id:str}/void",
        status_code=200,
        summary="Void a draft or an unpaid issued invoice (its number stays used)",
        responses=ERRORS_WRITE,
    )
    async def void(
        self,
        invoice_id: FromPath[str],
        data: JSONBody[VoidInvoiceIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> InvoiceView:
        await _check_visible(deps, principal, invoice_id)
        invoice = await void_invoice(deps, VoidInvoice(invoice_id, data.reason, request_id))
        return invoice_view(invoice, deps.clock.now())

    @post(
        "/{invoice_id:str}/payments",
        summary="Record a manual payment (wire, cheque) and allocate it to the invoice",
        responses=ERRORS_WRITE,
    )
    async def record_payment(
        self,
        invoice_id: FromPath[str],
        data: JSONBody[ManualPaymentIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> PaymentRecordView:
        await _check_visible(deps, principal, invoice_id)
        command = RecordManualPayment(
            invoice_id=invoice_id,
            external_reference=data.external_reference,
            amount=data.amount.to_money(),
            received_at=data.received_at,
            notes=data.notes,
            correlation_id=request_id,
        )
        return payment_record_view(await record_manual_payment(deps, command))

    @get(
        "/{invoice_id:str}/pdf",
        media_type=PDF,
        summary="The invoice as a PDF",
        responses={**ERRORS_READ, **_PDF_RESPONSE},
    )
    async def pdf(
        self, invoice_id: FromPath[str], deps: Deps, principal: Caller
    ) -> Response[bytes]:
        invoice = await _visible_invoice(deps, principal, invoice_id)
        document = await render_invoice_pdf(deps, invoice_id)
        filename = f"{invoice.number or invoice.id}.pdf"
        return Response(
            document,
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )


ROUTES = [InvoiceController]
