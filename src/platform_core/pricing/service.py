"""Pricing use cases: the catalogue, price agreements, Stripe sync bookkeeping and quoting.

`resolve_lines` is also the entry point other contexts use inside their own transaction
(orders price a draft and re-price at checkout with it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

import attrs

from platform_core.pricing.model import (
    AgreementPrice,
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    PriceResolution,
    Product,
    QuoteLine,
    StripeLink,
    StripeSyncStatus,
    clean_sku,
)
from platform_core.pricing.ports import PriceSyncDeps, PricingDeps, PricingUnitOfWork
from platform_core.pricing.resolver import (
    PriceRequest,
    PricingCatalogue,
    resolve_price,
    stripe_blockers,
)
from platform_core.shared.errors import ConflictError, DomainError, ValidationError
from platform_core.shared.money import Money, validate_currency
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.time import require_aware

# -- resolving prices ------------------------------------------------------------------------


async def resolve_lines(
    uow: PricingUnitOfWork,
    company_id: str,
    currency: str,
    lines: Sequence[QuoteLine],
    at: datetime,
    *,
    strict_stripe: bool,
) -> list[PriceResolution]:
    """Price every line for the company at `at`, inside the caller's unit of work.

    Rules: precedence bespoke > active agreement > regional book > global book (see
    `platform_core.pricing.resolver`); a line that cannot be priced raises ValidationError
    naming the product and the line `index`; with `strict_stripe`, every line whose price is
    not synced with Stripe (bespoke lines never are) is listed in one ValidationError under
    `details["unsynced_lines"]`.
    """
    validate_currency(currency)
    require_aware(at, "at")
    company = await uow.companies.get(company_id)
    catalogue = await load_catalogue(uow, company.id, currency, {line.product_id for line in lines})
    resolutions = [
        _resolve_line(
            index, PriceRequest(company.id, company.region, currency, line, at), catalogue
        )
        for index, line in enumerate(lines)
    ]
    if strict_stripe:
        _require_synced(resolutions)
    return resolutions


async def load_catalogue(
    uow: PricingUnitOfWork, company_id: str, currency: str, product_ids: Collection[str]
) -> PricingCatalogue:
    """What the resolver needs to price `product_ids` for a company in `currency`."""
    books = await uow.price_books.active_in_currency(currency)
    return PricingCatalogue(
        products=await uow.products.by_ids(product_ids),
        price_books=books,
        entries=await uow.price_book_entries.for_books([b.id for b in books], product_ids),
        agreements=await uow.price_agreements.for_company(company_id, {AgreementStatus.ACTIVE}),
    )


def _resolve_line(
    index: int, request: PriceRequest, catalogue: PricingCatalogue
) -> PriceResolution:
    try:
        return resolve_price(request, catalogue)
    except ValidationError as error:
        raise ValidationError(
            f"line {index}: {error.message}", {**error.details, "index": index}
        ) from error


def _require_synced(resolutions: Sequence[PriceResolution]) -> None:
    blockers = stripe_blockers(resolutions)
    if blockers:
        skus = ", ".join(str(blocker["sku"]) for blocker in blockers)
        raise ValidationError(
            f"{len(blockers)} line(s) not synced with Stripe: {skus}",
            {"field": "lines", "unsynced_lines": blockers},
        )


@attrs.frozen
class Quote:
    """Price lines for a company; the currency defaults to the company's billing currency."""

    company_id: str
    lines: tuple[QuoteLine, ...]
    currency: str | None = None
    strict_stripe: bool = False


@attrs.frozen
class QuoteResult:
    company_id: str
    currency: str
    quoted_at: datetime
    lines: tuple[PriceResolution, ...]
    total: Money


async def quote(deps: PricingDeps, command: Quote) -> QuoteResult:
    """Price a list of lines now, without storing anything.

    Rules: at least one line; the same rules as `resolve_lines`; the total is the sum of the
    line totals.
    """
    if not command.lines:
        raise ValidationError("a quote needs at least one line", {"field": "lines"})
    at = deps.clock.now()
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        currency = command.currency or company.currency
        lines = await resolve_lines(
            uow, company.id, currency, command.lines, at, strict_stripe=command.strict_stripe
        )
    total = Money.total((line.line_total for line in lines), currency)
    return QuoteResult(company.id, currency, at, tuple(lines), total)


# -- catalogue -------------------------------------------------------------------------------


@attrs.frozen
class CreateProduct:
    sku: str
    name: str
    automation_scenario: AutomationScenario | None = None
    active: bool = True
    correlation_id: str | None = None


async def create_product(deps: PricingDeps, command: CreateProduct) -> Product:
    """Add a product to the catalogue.

    Rules: the SKU is unique, compared case-insensitively (ConflictError naming the existing
    product); the automation scenario, when given, is a known one.
    """
    async with deps.uow() as uow:
        existing = await uow.products.by_sku(clean_sku(command.sku))
        if existing is not None:
            raise ConflictError(
                f"product {existing.id} already has sku {existing.sku}",
                {"field": "sku", "existing_product_id": existing.id},
            )
        product, events = Product.create(
            product_id=deps.ids.new_id("prd"),
            sku=command.sku,
            name=command.name,
            automation_scenario=command.automation_scenario,
            active=command.active,
            at=deps.clock.now(),
        )
        await uow.products.add(product)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return product


@attrs.frozen
class CreatePriceBook:
    name: str
    scope: PriceBookScope
    currency: str
    region: str | None = None
    active: bool = True
    correlation_id: str | None = None


async def create_price_book(deps: PricingDeps, command: CreatePriceBook) -> PriceBook:
    """Create a global or regional price book.

    Rules: a regional book has a region (country or subdivision code), a global one has none;
    at most one active book per (scope, region, currency), so the resolver never has to guess
    (ConflictError naming the existing book).
    """
    async with deps.uow() as uow:
        book, events = PriceBook.create(
            price_book_id=deps.ids.new_id("pbk"),
            name=command.name,
            scope=command.scope,
            currency=command.currency,
            region=command.region,
            active=command.active,
            at=deps.clock.now(),
        )
        if book.active:
            existing = await uow.price_books.active_for(book.scope, book.region, book.currency)
            if existing is not None:
                raise ConflictError(
                    f"active price book {existing.id} already covers "
                    f"{' '.join(filter(None, (book.scope, book.region, book.currency)))}",
                    {"field": "scope", "existing_price_book_id": existing.id},
                )
        await uow.price_books.add(book)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return book


@attrs.frozen
class AddPriceBookEntry:
    price_book_id: str
    product_id: str
    unit_amount: Money
    correlation_id: str | None = None


async def add_price_book_entry(deps: PricingDeps, command: AddPriceBookEntry) -> PriceBookEntry:
    """Price a product in a price book.

    Rules: book and product exist; the amount is non-negative and in the book's currency; one
    entry per product and book (ConflictError naming it: change its price instead). The entry
    starts not synced with Stripe.
    """
    async with deps.uow() as uow:
        book = await uow.price_books.get(command.price_book_id)
        product = await uow.products.get(command.product_id)
        entry, events = PriceBookEntry.create(
            entry_id=deps.ids.new_id("pbe"),
            book=book,
            product=product,
            unit_amount=command.unit_amount,
            at=deps.clock.now(),
        )
        existing = await uow.price_book_entries.for_book_and_product(book.id, product.id)
        if existing is not None:
            raise ConflictError(
                f"price book {book.id} already prices product {product.sku} in entry {existing.id}",
                {"field": "product_id", "existing_price_book_entry_id": existing.id},
            )
        await uow.price_book_entries.add(entry)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return entry


@attrs.frozen
class ChangeEntryPrice:
    price_book_entry_id: str
    unit_amount: Money
    correlation_id: str | None = None


async def change_entry_price(deps: PricingDeps, command: ChangeEntryPrice) -> PriceBookEntry:
    """Change the amount of a price-book entry.

    Rules: same currency, non-negative; a new amount needs a new Stripe price, so the entry is
    no longer synced (its Stripe product is kept); the same amount changes nothing.
    """
    async with deps.uow() as uow:
        entry = await uow.price_book_entries.get(command.price_book_entry_id)
        entry, events = entry.change_price(command.unit_amount, at=deps.clock.now())
        if not events:
            return entry
        entry = await uow.price_book_entries.update(entry)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return entry


@attrs.frozen
class MarkEntrySynced:
    price_book_entry_id: str
    stripe_price_id: str
    stripe_product_id: str
    correlation_id: str | None = None
    # The amount the Stripe price was made for; None: not checked (a caller that knows it).
    unit_amount: Money | None = None


async def mark_entry_synced(deps: PricingDeps, command: MarkEntrySynced) -> PriceBookEntry:
    """Record that Stripe holds the entry's price.

    Rules: idempotent for the same Stripe ids; a synced entry cannot be re-pointed at other
    ids (CONFLICT: reprice it first); when `unit_amount` is given it must still be the entry's
    amount (CONFLICT: repriced while its old price was being created).
    """
    async with deps.uow() as uow:
        entry = await uow.price_book_entries.get(command.price_book_entry_id)
        _require_amount(entry.unit_amount, command.unit_amount, entry.id)
        entry, events = entry.mark_synced(
            command.stripe_price_id, command.stripe_product_id, at=deps.clock.now()
        )
        if not events:
            return entry
        entry = await uow.price_book_entries.update(entry)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return entry


@attrs.frozen
class MarkEntrySyncFailed:
    price_book_entry_id: str
    error: str
    correlation_id: str | None = None


async def mark_entry_sync_failed(deps: PricingDeps, command: MarkEntrySyncFailed) -> PriceBookEntry:
    """Record that syncing the entry's price with Stripe failed.

    Rules: the error text is required; a synced entry refuses a late failure (CONFLICT).
    """
    async with deps.uow() as uow:
        entry = await uow.price_book_entries.get(command.price_book_entry_id)
        entry, events = entry.mark_sync_failed(command.error, at=deps.clock.now())
        entry = await uow.price_book_entries.update(entry)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return entry


# -- price agreements ------------------------------------------------------------------------


@attrs.frozen
class CreatePriceAgreement:
    company_id: str
    name: str
    currency: str
    effective_from: datetime
    prices: Mapping[str, Money]
    effective_to: datetime | None = None
    correlation_id: str | None = None


async def create_price_agreement(
    deps: PricingDeps, command: CreatePriceAgreement
) -> PriceAgreement:
    """Draft a price agreement for a company.

    Rules: the company and every priced product exist (ValidationError listing the unknown
    ones); at least one price, each non-negative and in the agreement's currency;
    effective_to, when given, is after effective_from.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        known = {product.id for product in await uow.products.by_ids(set(command.prices))}
        unknown = sorted(set(command.prices) - known)
        if unknown:
            raise ValidationError(
                f"unknown product(s) {', '.join(unknown)}",
                {"field": "prices", "unknown_product_ids": list(unknown)},
            )
        agreement, events = PriceAgreement.create(
            agreement_id=deps.ids.new_id("pag"),
            company_id=company.id,
            name=command.name,
            currency=command.currency,
            effective_from=command.effective_from,
            effective_to=command.effective_to,
            prices=command.prices,
            at=deps.clock.now(),
        )
        await uow.price_agreements.add(agreement)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return agreement


@attrs.frozen
class ActivateAgreement:
    price_agreement_id: str
    correlation_id: str | None = None


async def activate_agreement(deps: PricingDeps, command: ActivateAgreement) -> PriceAgreement:
    """Activate a draft agreement so the resolver uses it within its dates.

    Rules: only drafts (CONFLICT otherwise); not when its window has already ended; not when
    an active agreement of the company in the same currency prices a common product over
    intersecting dates (CONFLICT naming it).
    """
    async with deps.uow() as uow:
        agreement = await uow.price_agreements.get(command.price_agreement_id)
        active = await uow.price_agreements.for_company(
            agreement.company_id, {AgreementStatus.ACTIVE}
        )
        agreement, events = agreement.activate(at=deps.clock.now(), active_agreements=active)
        agreement = await uow.price_agreements.update(agreement)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return agreement


@attrs.frozen
class CancelAgreement:
    price_agreement_id: str
    reason: str | None = None
    correlation_id: str | None = None


async def cancel_agreement(deps: PricingDeps, command: CancelAgreement) -> PriceAgreement:
    """Cancel a draft or active agreement; it never applies again.

    Rules: expired or cancelled agreements cannot be cancelled (CONFLICT).
    """
    async with deps.uow() as uow:
        agreement = await uow.price_agreements.get(command.price_agreement_id)
        agreement, events = agreement.cancel(at=deps.clock.now(), reason=command.reason)
        agreement = await uow.price_agreements.update(agreement)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return agreement


@attrs.frozen
class ExpireDueAgreements:
    correlation_id: str | None = None


async def expire_due_agreements(
    deps: PricingDeps, command: ExpireDueAgreements
) -> list[PriceAgreement]:
    """Expire every active agreement whose window has ended (the scheduled job).

    Rules: only active agreements with `effective_to` at or before now; running it again
    expires nothing more. The resolver already ignores an ended agreement, so a late run never
    changes a price; it only closes the agreement and tells subscribers.
    """
    at = deps.clock.now()
    async with deps.uow() as uow:
        expired = []
        for agreement in await uow.price_agreements.due_to_expire(at):
            closed, events = agreement.expire(at=at)
            expired.append(await uow.price_agreements.update(closed))
            await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return expired


@attrs.frozen
class MarkAgreementPriceSynced:
    price_agreement_id: str
    product_id: str
    stripe_price_id: str
    stripe_product_id: str
    correlation_id: str | None = None
    # The amount the Stripe price was made for; None: not checked.
    unit_amount: Money | None = None


async def mark_agreement_price_synced(
    deps: PricingDeps, command: MarkAgreementPriceSynced
) -> PriceAgreement:
    """Record that Stripe holds an agreement's price for one product.

    Rules: the agreement prices that product; idempotent for the same Stripe ids; a synced
    price cannot be re-pointed at other ids (CONFLICT); when `unit_amount` is given it must
    still be the agreement's price for that product (CONFLICT).
    """
    async with deps.uow() as uow:
        agreement = await uow.price_agreements.get(command.price_agreement_id)
        current = {price.product_id: price.unit_amount for price in agreement.prices}
        if command.product_id in current:
            _require_amount(current[command.product_id], command.unit_amount, agreement.id)
        agreement, events = agreement.mark_price_synced(
            command.product_id,
            command.stripe_price_id,
            command.stripe_product_id,
            at=deps.clock.now(),
        )
        if not events:
            return agreement
        agreement = await uow.price_agreements.update(agreement)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return agreement


@attrs.frozen
class MarkAgreementPriceSyncFailed:
    price_agreement_id: str
    product_id: str
    error: str
    correlation_id: str | None = None


async def mark_agreement_price_sync_failed(
    deps: PricingDeps, command: MarkAgreementPriceSyncFailed
) -> PriceAgreement:
    """Record that syncing an agreement's price for one product failed.

    Rules: the agreement prices that product; the error text is required; a synced price
    refuses a late failure (CONFLICT).
    """
    async with deps.uow() as uow:
        agreement = await uow.price_agreements.get(command.price_agreement_id)
        agreement, events = agreement.mark_price_sync_failed(
            command.product_id, command.error, at=deps.clock.now()
        )
        agreement = await uow.price_agreements.update(agreement)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return agreement


# -- what the Stripe price-sync job needs ----------------------------------------------------


class PriceTargetKind(StrEnum):
    """Which aggregate holds a sellable price: say which mark_* use case to call back."""

    PRICE_BOOK_ENTRY = "price_book_entry"
    AGREEMENT_PRICE = "agreement_price"


@attrs.frozen
class UnsyncedPrice:
    """A sellable price Stripe does not hold yet: what the sync job must create.

    `target_id` is the entry id (kind PRICE_BOOK_ENTRY) or the agreement id (AGREEMENT_PRICE,
    together with `product_id`).
    """

    kind: PriceTargetKind
    target_id: str
    product_id: str
    sku: str
    product_name: str
    unit_amount: Money
    stripe: StripeLink

    @property
    def stripe_sync_status(self) -> StripeSyncStatus:
        return self.stripe.stripe_sync_status


@attrs.frozen
class ListUnsyncedPrices:
    limit: int = 100


async def list_unsynced_prices(deps: PricingDeps, query: ListUnsyncedPrices) -> list[UnsyncedPrice]:
    """The prices the Stripe price-sync job still has to create, never-synced ones first.

    Rules: entries of active books and prices of draft or active agreements, for active
    products only (nothing else can be sold); at most `limit` (1-1000) of them.
    """
    if not 1 <= query.limit <= 1000:
        raise ValidationError("limit must be between 1 and 1000", {"field": "limit"})
    async with deps.uow() as uow:
        entries = await uow.price_book_entries.unsynced()
        agreements = await uow.price_agreements.with_unsynced_prices()
        books = await uow.price_books.by_ids({entry.price_book_id for entry in entries})
        product_ids = {e.product_id for e in entries}
        product_ids |= {price.product_id for a in agreements for price in a.prices}
        products = {p.id: p for p in await uow.products.by_ids(product_ids) if p.active}
    active_books = {book.id for book in books if book.active}
    found = [
        _unsynced(PriceTargetKind.PRICE_BOOK_ENTRY, entry.id, products[entry.product_id], entry)
        for entry in entries
        if entry.price_book_id in active_books and entry.product_id in products
    ]
    found += [
        _unsynced(PriceTargetKind.AGREEMENT_PRICE, agreement.id, products[price.product_id], price)
        for agreement in agreements
        for price in agreement.prices
        if price.stripe.stripe_sync_status is not StripeSyncStatus.SYNCED
        and price.product_id in products
    ]
    # Failed ones wait behind new ones, so one broken price cannot starve the rest.
    found.sort(key=lambda item: item.stripe_sync_status is StripeSyncStatus.FAILED)
    return found[: query.limit]


def _unsynced(
    kind: PriceTargetKind, target_id: str, product: Product, price: PriceBookEntry | AgreementPrice
) -> UnsyncedPrice:
    return UnsyncedPrice(
        kind, target_id, product.id, product.sku, product.name, price.unit_amount, price.stripe
    )


def _require_amount(current: Money, expected: Money | None, target_id: str) -> None:
    if expected is not None and expected != current:
        raise ConflictError(
            f"{target_id} was repriced to {current} while a Stripe price for {expected} was made",
            {"field": "unit_amount", "target_id": target_id},
        )


@attrs.frozen
class SyncPrices:
    limit: int = 100
    correlation_id: str | None = None


@attrs.frozen
class PriceSyncReport:
    """What one sync run did: the prices now synced and those that failed, with the error."""

    synced: tuple[UnsyncedPrice, ...] = ()
    failed: tuple[tuple[UnsyncedPrice, str], ...] = ()


def price_sync_key(price: UnsyncedPrice) -> str:
    """The provider idempotency key for creating `price`.

    Derived from what the price is (its holder, product and amount), not from when it is
    tried: a run that crashed after the provider made the price, or whose failure report
    was a timeout after the fact, gets the same price back on the next run, never a second
    one. A new amount is a new key, hence a new price.
    """
    amount = price.unit_amount
    return (
        f"price-sync:{price.kind}:{price.target_id}:{price.product_id}:"
        f"{amount.amount}{amount.currency}"
    )


async def sync_prices(deps: PriceSyncDeps, command: SyncPrices) -> PriceSyncReport:
    """Create the provider's price for every sellable price it does not hold yet (the job).

    Rules: the prices of `list_unsynced_prices` (at most `limit`); each is created with the
    idempotency key of `price_sync_key` under its Stripe product (the one it already has, or
    our product id), then marked synced; a refusal or failure of the provider marks that
    price sync-failed with the error and the run goes on (the next run retries it); a price
    repriced meanwhile is left for the next run (its new amount needs a new price).
    """
    synced: list[UnsyncedPrice] = []
    failed: list[tuple[UnsyncedPrice, str]] = []
    for price in await list_unsynced_prices(deps, ListUnsyncedPrices(command.limit)):
        product_key = price.stripe.stripe_product_id or price.product_id
        try:
            created = await deps.payments.create_price(
                product_key, price.product_name, price.unit_amount, price_sync_key(price)
            )
        except DomainError as error:
            failed.append((price, error.message))
            await _mark_failed(deps, price, error.message, command.correlation_id)
            continue
        try:
            await _mark_synced(deps, price, created.stripe_price_id, created.stripe_product_id,
                               command.correlation_id)  # fmt: skip
        except ConflictError as error:
            # Repriced (or re-synced elsewhere) meanwhile: the next run sees the new state.
            failed.append((price, error.message))
            continue
        synced.append(price)
    return PriceSyncReport(tuple(synced), tuple(failed))


async def _mark_synced(
    deps: PricingDeps,
    price: UnsyncedPrice,
    stripe_price_id: str,
    stripe_product_id: str,
    correlation_id: str | None,
) -> None:
    if price.kind is PriceTargetKind.PRICE_BOOK_ENTRY:
        await mark_entry_synced(
            deps,
            MarkEntrySynced(
                price.target_id, stripe_price_id, stripe_product_id, correlation_id,
                price.unit_amount,
            ),
        )  # fmt: skip
    else:
        await mark_agreement_price_synced(
            deps,
            MarkAgreementPriceSynced(
                price.target_id, price.product_id, stripe_price_id, stripe_product_id,
                correlation_id, price.unit_amount,
            ),
        )  # fmt: skip


async def _mark_failed(
    deps: PricingDeps, price: UnsyncedPrice, error: str, correlation_id: str | None
) -> None:
    try:
        if price.kind is PriceTargetKind.PRICE_BOOK_ENTRY:
            await mark_entry_sync_failed(
                deps, MarkEntrySyncFailed(price.target_id, error, correlation_id)
            )
        else:
            await mark_agreement_price_sync_failed(
                deps,
                MarkAgreementPriceSyncFailed(
                    price.target_id, price.product_id, error, correlation_id
                ),
            )
    except ConflictError:
        pass  # synced meanwhile by another run: its success stands


# -- reading the catalogue -------------------------------------------------------------------


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1..500 and offset >= 0", {"field": "limit"})


async def get_product(deps: PricingDeps, product_id: str) -> Product:
    async with deps.uow() as uow:
        return await uow.products.get(product_id)


async def list_products(deps: PricingDeps, limit: int = 50, offset: int = 0) -> list[Product]:
    """Products in SKU order, inactive ones included. Rules: limit 1..500, offset >= 0."""
    _check_page(limit, offset)
    async with deps.uow() as uow:
        return await uow.products.list(limit, offset)


async def get_price_book(deps: PricingDeps, price_book_id: str) -> PriceBook:
    async with deps.uow() as uow:
        return await uow.price_books.get(price_book_id)


async def list_price_books(deps: PricingDeps, limit: int = 50, offset: int = 0) -> list[PriceBook]:
    """Price books oldest first, inactive ones included. Rules: limit 1..500, offset >= 0."""
    _check_page(limit, offset)
    async with deps.uow() as uow:
        return await uow.price_books.list(limit, offset)


async def list_price_book_entries(deps: PricingDeps, price_book_id: str) -> list[PriceBookEntry]:
    """Every entry of a price book, oldest first. Rules: the book exists (NotFoundError), so
    an unknown book is not mistaken for an empty one."""
    async with deps.uow() as uow:
        await uow.price_books.get(price_book_id)
        return await uow.price_book_entries.for_book(price_book_id)


async def get_agreement(deps: PricingDeps, agreement_id: str) -> PriceAgreement:
    async with deps.uow() as uow:
        return await uow.price_agreements.get(agreement_id)


async def list_agreements(
    deps: PricingDeps, company_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[PriceAgreement]:
    """Price agreements of every status oldest first, only one company's when `company_id` is
    given (an unknown company has none). Rules: limit 1..500, offset >= 0."""
    _check_page(limit, offset)
    async with deps.uow() as uow:
        return await uow.price_agreements.list(company_id, limit, offset)
