"""Products, price books and their entries, price agreements, quotes and price resolutions.

Company-scoped keys may read the catalogue, quote for their own company and read their own
company's agreements and order-item resolutions; changing the catalogue or an agreement is
for unscoped keys only (a customer does not set its own prices).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, MoneyBody, View
from platform_core.orders.model import Order, OrderItem
from platform_core.orders.service import get_order_item
from platform_core.pricing.model import (
    AgreementPrice,
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    PriceResolution,
    PriceSource,
    Product,
    QuoteLine,
    StripeSyncStatus,
)
from platform_core.pricing.service import (
    ActivateAgreement,
    AddPriceBookEntry,
    CancelAgreement,
    ChangeEntryPrice,
    CreatePriceAgreement,
    CreatePriceBook,
    CreateProduct,
    Quote,
    QuoteResult,
    activate_agreement,
    add_price_book_entry,
    cancel_agreement,
    change_entry_price,
    create_price_agreement,
    create_price_book,
    create_product,
    get_agreement,
    get_price_book,
    get_product,
    list_agreements,
    list_price_book_entries,
    list_price_books,
    list_products,
    quote,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.scenarios import AutomationScenario

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, examples=["CAD"])]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, Parameter(ge=0)]
MAX_QUOTE_LINES = 200

# Changing the catalogue or an agreement is not for company-scoped keys.
UNSCOPED = {"scoped": False}


# -- products --------------------------------------------------------------------------------


class ProductIn(Body):
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["GW-100"])]
    name: Name
    automation_scenario: AutomationScenario | None = None
    active: bool = True


class ProductView(View):
    id: str
    sku: str
    name: str
    active: bool
    automation_scenario: AutomationScenario | None
    created_at: datetime
    version: int


class ProductPage(View):
    items: list[ProductView]
    limit: int
    offset: int


def product_view(product: Product) -> ProductView:
    return ProductView(
        id=product.id,
        sku=product.sku,
        name=product.name,
        active=product.active,
        automation_scenario=product.automation_scenario,
        created_at=product.created_at,
        version=product.version,
    )


class ProductController(Controller):
    path = "/v1/products"
    tags = ["Catalogue"]
    opt = {"family": "catalogue"}

    @post("/", summary="Add a product", responses=ERRORS_WRITE, opt=UNSCOPED)
    async def create(
        self, data: JSONBody[ProductIn], deps: Deps, request_id: RequestId
    ) -> ProductView:
        command = CreateProduct(
            data.sku, data.name, data.automation_scenario, data.active, request_id
        )
        return product_view(await create_product(deps, command))

    @get("/", summary="List products in SKU order", responses=ERRORS_READ)
    async def list(self, deps: Deps, limit: Limit = 50, offset: Offset = 0) -> ProductPage:
        products = await list_products(deps, limit, offset)
        return ProductPage(items=[product_view(p) for p in products], limit=limit, offset=offset)

    @get("/{product_id:str}", summary="Get a product", responses=ERRORS_READ)
    async def show(self, product_id: FromPath[str], deps: Deps) -> ProductView:
        return product_view(await get_product(deps, product_id))


# -- price books and entries -----------------------------------------------------------------


class PriceBookIn(Body):
    name: Name
    scope: PriceBookScope
    currency: Currency
    region: Annotated[
        str | None,
        msgspec.Meta(description="Required for a regional book, absent for a global one"),
    ] = None
    active: bool = True


class PriceBookView(View):
    id: str
    name: str
    scope: PriceBookScope
    region: str | None
    currency: str
    active: bool
    created_at: datetime
    version: int


class PriceBookPage(View):
    items: list[PriceBookView]
    limit: int
    offset: int


class EntryIn(Body):
    product_id: Identifier
    unit_amount: MoneyBody


class EntryPriceIn(Body):
    unit_amount: MoneyBody


class EntryView(View):
    id: str
    price_book_id: str
    product_id: str
    unit_amount: MoneyBody
    stripe_price_id: str | None
    stripe_product_id: str | None
    stripe_sync_status: StripeSyncStatus
    stripe_sync_error: str | None
    created_at: datetime
    version: int


class EntryList(View):
    items: list[EntryView]
    total: int


def price_book_view(book: PriceBook) -> PriceBookView:
    return PriceBookView(
        id=book.id,
        name=book.name,
        scope=book.scope,
        region=book.region,
        currency=book.currency,
        active=book.active,
        created_at=book.created_at,
        version=book.version,
    )


def entry_view(entry: PriceBookEntry) -> EntryView:
    return EntryView(
        id=entry.id,
        price_book_id=entry.price_book_id,
        product_id=entry.product_id,
        unit_amount=MoneyBody.of(entry.unit_amount),
        stripe_price_id=entry.stripe.stripe_price_id,
        stripe_product_id=entry.stripe.stripe_product_id,
        stripe_sync_status=entry.stripe.stripe_sync_status,
        stripe_sync_error=entry.stripe.stripe_sync_error,
        created_at=entry.created_at,
        version=entry.version,
    )


class PriceBookController(Controller):
    path = "/v1/price-books"
    tags = ["Catalogue"]
    opt = {"family": "catalogue"}

    @post(
        "/", summary="Create a global or regional price book", responses=ERRORS_WRITE, opt=UNSCOPED
    )
    async def create(
        self, data: JSONBody[PriceBookIn], deps: Deps, request_id: RequestId
    ) -> PriceBookView:
        command = CreatePriceBook(
            data.name, data.scope, data.currency, data.region, data.active, request_id
        )
        return price_book_view(await create_price_book(deps, command))

    @get("/", summary="List price books, oldest first", responses=ERRORS_READ)
    async def list(self, deps: Deps, limit: Limit = 50, offset: Offset = 0) -> PriceBookPage:
        books = await list_price_books(deps, limit, offset)
        return PriceBookPage(items=[price_book_view(b) for b in books], limit=limit, offset=offset)

    @get("/{price_book_id:str}", summary="Get a price book", responses=ERRORS_READ)
    async def show(self, price_book_id: FromPath[str], deps: Deps) -> PriceBookView:
        return price_book_view(await get_price_book(deps, price_book_id))

    @get(
        "/{price_book_id:str}/entries", summary="List a price book's entries", responses=ERRORS_READ
    )
    async def entries(self, price_book_id: FromPath[str], deps: Deps) -> EntryList:
        entries = await list_price_book_entries(deps, price_book_id)
        return EntryList(items=[entry_view(e) for e in entries], total=len(entries))

    @post(
        "/{price_book_id:str}/entries",
        summary="Price a product in a price book (starts not synced with Stripe)",
        responses=ERRORS_WRITE,
        opt=UNSCOPED,
    )
    async def add_entry(
        self,
        price_book_id: FromPath[str],
        data: JSONBody[EntryIn],
        deps: Deps,
        request_id: RequestId,
    ) -> EntryView:
        command = AddPriceBookEntry(
            price_book_id, data.product_id, data.unit_amount.to_money(), request_id
        )
        return entry_view(await add_price_book_entry(deps, command))


class PriceBookEntryController(Controller):
    path = "/v1/price-book-entries"
    tags = ["Catalogue"]
    opt = {"family": "catalogue"}

    @patch(
        "/{price_book_entry_id:str}",
        summary="Change an entry's price (it needs a new Stripe price, so it is unsynced)",
        responses=ERRORS_WRITE,
        opt=UNSCOPED,
    )
    async def change_price(
        self,
        price_book_entry_id: FromPath[str],
        data: JSONBody[EntryPriceIn],
        deps: Deps,
        request_id: RequestId,
    ) -> EntryView:
        command = ChangeEntryPrice(price_book_entry_id, data.unit_amount.to_money(), request_id)
        return entry_view(await change_entry_price(deps, command))


# -- price agreements ------------------------------------------------------------------------


class AgreementPriceIn(Body):
    product_id: Identifier
    unit_amount: MoneyBody


class AgreementIn(Body):
    company_id: Identifier
    name: Name
    currency: Currency
    effective_from: AwareDatetime
    prices: Annotated[list[AgreementPriceIn], msgspec.Meta(min_length=1, max_length=500)]
    effective_to: AwareDatetime | None = None


class AgreementCancelIn(Body):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class AgreementPriceView(View):
    product_id: str
    unit_amount: MoneyBody
    stripe_price_id: str | None
    stripe_product_id: str | None
    stripe_sync_status: StripeSyncStatus
    stripe_sync_error: str | None


class AgreementView(View):
    id: str
    company_id: str
    name: str
    currency: str
    status: AgreementStatus
    effective_from: datetime
    effective_to: datetime | None
    prices: list[AgreementPriceView]
    created_at: datetime
    activated_at: datetime | None
    ended_at: datetime | None
    cancellation_reason: str | None
    version: int


class AgreementPage(View):
    items: list[AgreementView]
    limit: int
    offset: int


def _agreement_price_view(price: AgreementPrice) -> AgreementPriceView:
    return AgreementPriceView(
        product_id=price.product_id,
        unit_amount=MoneyBody.of(price.unit_amount),
        stripe_price_id=price.stripe.stripe_price_id,
        stripe_product_id=price.stripe.stripe_product_id,
        stripe_sync_status=price.stripe.stripe_sync_status,
        stripe_sync_error=price.stripe.stripe_sync_error,
    )


def agreement_view(agreement: PriceAgreement) -> AgreementView:
    return AgreementView(
        id=agreement.id,
        company_id=agreement.company_id,
        name=agreement.name,
        currency=agreement.currency,
        status=agreement.status,
        effective_from=agreement.effective_from,
        effective_to=agreement.effective_to,
        prices=[_agreement_price_view(price) for price in agreement.prices],
        created_at=agreement.created_at,
        activated_at=agreement.activated_at,
        ended_at=agreement.ended_at,
        cancellation_reason=agreement.cancellation_reason,
        version=agreement.version,
    )


def _price_map(prices: list[AgreementPriceIn]) -> dict[str, MoneyBody]:
    """The prices by product; a product listed twice would silently lose one of its prices."""
    by_product: dict[str, MoneyBody] = {}
    for price in prices:
        if price.product_id in by_product:
            raise ValidationError(
                f"product {price.product_id} is priced twice",
                {"field": "prices", "product_id": price.product_id},
            )
        by_product[price.product_id] = price.unit_amount
    return by_product


class PriceAgreementController(Controller):
    path = "/v1/price-agreements"
    tags = ["Catalogue"]
    opt = {"family": "catalogue"}

    @post(
        "/", summary="Draft a price agreement for a company", responses=ERRORS_WRITE, opt=UNSCOPED
    )
    async def create(
        self, data: JSONBody[AgreementIn], deps: Deps, request_id: RequestId
    ) -> AgreementView:
        prices = {pid: amount.to_money() for pid, amount in _price_map(data.prices).items()}
        command = CreatePriceAgreement(
            data.company_id,
            data.name,
            data.currency,
            data.effective_from,
            prices,
            data.effective_to,
            request_id,
        )
        return agreement_view(await create_price_agreement(deps, command))

    @get("/", summary="List price agreements, oldest first", responses=ERRORS_READ)
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        company_id: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> AgreementPage:
        company = principal.company_filter(company_id)
        agreements = await list_agreements(deps, company, limit, offset)
        return AgreementPage(
            items=[agreement_view(a) for a in agreements], limit=limit, offset=offset
        )

    @get("/{price_agreement_id:str}", summary="Get a price agreement", responses=ERRORS_READ)
    async def show(
        self, price_agreement_id: FromPath[str], deps: Deps, principal: Caller
    ) -> AgreementView:
        agreement = await get_agreement(deps, price_agreement_id)
        principal.require_company(agreement.company_id, "price_agreement", price_agreement_id)
        return agreement_view(agreement)

    @post(
        "/{price_agreement_id:str}/activate",
        status_code=200,
        summary="Activate a draft agreement",
        responses=ERRORS_WRITE,
        opt=UNSCOPED,
    )
    async def activate(
        self, price_agreement_id: FromPath[str], deps: Deps, request_id: RequestId
    ) -> AgreementView:
        command = ActivateAgreement(price_agreement_id, request_id)
        return agreement_view(await activate_agreement(deps, command))

    @post(
        "/{price_agreement_id:str}/cancel",
        status_code=200,
        summary="Cancel a draft or active agreement",
        responses=ERRORS_WRITE,
        opt=UNSCOPED,
    )
    async def cancel(
        self,
        price_agreement_id: FromPath[str],
        deps: Deps,
        request_id: RequestId,
        data: JSONBody[AgreementCancelIn | None] = None,
    ) -> AgreementView:
        reason = data.reason if data is not None else None
        command = CancelAgreement(price_agreement_id, reason, request_id)
        return agreement_view(await cancel_agreement(deps, command))


# -- quotes and resolutions ------------------------------------------------------------------


class QuoteLineIn(Body):
    product_id: Identifier
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    bespoke_unit_amount: MoneyBody | None = None
    bespoke_notes: Annotated[str, msgspec.Meta(max_length=1000)] | None = None

    def to_line(self) -> QuoteLine:
        amount = None if self.bespoke_unit_amount is None else self.bespoke_unit_amount.to_money()
        return QuoteLine(self.product_id, self.quantity, amount, self.bespoke_notes)


class QuoteIn(Body):
    company_id: Identifier
    lines: Annotated[list[QuoteLineIn], msgspec.Meta(min_length=1, max_length=MAX_QUOTE_LINES)]
    currency: Currency | None = None
    strict_stripe: Annotated[
        bool, msgspec.Meta(description="Refuse lines not synced with Stripe, as checkout does")
    ] = False


class ResolutionView(View):
    product_id: str
    sku: str
    product_name: str
    quantity: int
    source: PriceSource
    unit_amount: MoneyBody
    line_total: MoneyBody
    price_book_entry_id: str | None
    price_agreement_id: str | None
    stripe_price_id: str | None
    stripe_product_id: str | None
    stripe_sync_status: StripeSyncStatus
    label: str
    bespoke_notes: str | None
    automation_scenario: AutomationScenario | None


class QuoteView(View):
    company_id: str
    currency: str
    quoted_at: datetime
    lines: list[ResolutionView]
    total: MoneyBody


def resolution_view(resolution: PriceResolution) -> ResolutionView:
    return ResolutionView(
        product_id=resolution.product_id,
        sku=resolution.sku,
        product_name=resolution.product_name,
        quantity=resolution.quantity,
        source=resolution.source,
        unit_amount=MoneyBody.of(resolution.unit_amount),
        line_total=MoneyBody.of(resolution.line_total),
        price_book_entry_id=resolution.price_book_entry_id,
        price_agreement_id=resolution.price_agreement_id,
        stripe_price_id=resolution.stripe_price_id,
        stripe_product_id=resolution.stripe_product_id,
        stripe_sync_status=resolution.stripe_sync_status,
        label=resolution.label,
        bespoke_notes=resolution.bespoke_notes,
        automation_scenario=resolution.automation_scenario,
    )


def quote_view(result: QuoteResult) -> QuoteView:
    return QuoteView(
        company_id=result.company_id,
        currency=result.currency,
        quoted_at=result.quoted_at,
        lines=[resolution_view(line) for line in result.lines],
        total=MoneyBody.of(result.total),
    )


class ItemPriceView(View):
    """The price an order item was drafted at, with where it came from; it never changes."""

    order_item_id: str
    order_id: str
    company_id: str
    product_id: str
    sku: str
    description: str
    quantity: int
    unit_amount: MoneyBody
    line_total: MoneyBody
    price_type: PriceSource
    label: Annotated[str, msgspec.Meta(description="How the resolver chose this price")]
    price_book_entry_id: str | None
    price_agreement_id: str | None
    stripe_price_id: str | None
    bespoke_notes: str | None
    automation_scenario: AutomationScenario | None
    priced_at: datetime


def item_price_view(order: Order, item: OrderItem) -> ItemPriceView:
    return ItemPriceView(
        order_item_id=item.id,
        order_id=order.id,
        company_id=order.company_id,
        product_id=item.product_id,
        sku=item.sku,
        description=item.description,
        quantity=item.quantity,
        unit_amount=MoneyBody.of(item.unit_amount),
        line_total=MoneyBody.of(item.line_total),
        price_type=item.price.price_type,
        label=item.price.label,
        price_book_entry_id=item.price.price_book_entry_id,
        price_agreement_id=item.price.price_agreement_id,
        stripe_price_id=item.price.stripe_price_id,
        bespoke_notes=item.price.bespoke_notes,
        automation_scenario=item.automation_scenario,
        priced_at=order.created_at,
    )


class PricingController(Controller):
    path = "/v1/pricing"
    tags = ["Pricing"]
    opt = {"family": "catalogue"}

    @post(
        "/quote",
        status_code=200,
        summary="Price many lines for one company now, without storing anything",
        responses=ERRORS_WRITE,
        opt={"write": False},
    )
    async def quote(self, data: JSONBody[QuoteIn], deps: Deps, principal: Caller) -> QuoteView:
        company_id = principal.company_filter(data.company_id) or data.company_id
        command = Quote(
            company_id, tuple(line.to_line() for line in data.lines), data.currency,
            data.strict_stripe,
        )  # fmt: skip
        return quote_view(await quote(deps, command))

    @get(
        "/resolutions/{order_item_id:str}",
        summary="The price snapshot of an order item and where it came from",
        responses=ERRORS_READ,
    )
    async def resolution(
        self, order_item_id: FromPath[str], deps: Deps, principal: Caller
    ) -> ItemPriceView:
        order, item = await get_order_item(deps, order_item_id)
        principal.require_company(order.company_id, "order_item", order_item_id)
        return item_price_view(order, item)


ROUTES = [
    ProductController,
    PriceBookController,
    PriceBookEntryController,
    PriceAgreementController,
    PricingController,
]
