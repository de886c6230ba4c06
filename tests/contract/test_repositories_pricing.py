"""Contract of the pricing repositories (products, price books, entries, agreements) on every
adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique

from platform_core.pricing.model import (
    AgreementStatus,
    PriceAgreement,
    PriceBook,
    PriceBookEntry,
    PriceBookScope,
    Product,
    StripeSyncStatus,
)
from platform_core.shared.errors import ConflictError
from platform_core.shared.money import Money
from platform_core.testing.pricing import (
    price_agreements_for,
    price_book_entries_for,
    price_books,
    products,
)

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GLOBAL, REGIONAL = PriceBookScope.GLOBAL, PriceBookScope.REGIONAL
HOUR = timedelta(hours=1)


def _products(uow: Any) -> Any:
    return uow.products


def _books(uow: Any) -> Any:
    return uow.price_books


def _entries(uow: Any) -> Any:
    return uow.price_book_entries


def _agreements(uow: Any) -> Any:
    return uow.price_agreements


def product(sku: str, product_id: str | None = None) -> Product:
    created, _ = Product.create(
        product_id=product_id or unique("prd"), sku=sku, name="Vibration sensor", at=AT
    )
    return created


def book(
    scope: PriceBookScope,
    currency: str,
    region: str | None = None,
    *,
    active: bool = True,
    book_id: str | None = None,
) -> PriceBook:
    created, _ = PriceBook.create(
        price_book_id=book_id or unique("pbk"),
        name="List prices",
        scope=scope,
        currency=currency,
        region=region,
        active=active,
        at=AT,
    )
    return created


def entry(
    price_book_id: str, product_id: str, entry_id: str | None = None, minutes: int = 0
) -> PriceBookEntry:
    return PriceBookEntry(
        id=entry_id or unique("pbe"),
        price_book_id=price_book_id,
        product_id=product_id,
        unit_amount=Money(12_500, "CAD"),
        created_at=AT + timedelta(minutes=minutes),
    )


def synced(stored: PriceBookEntry) -> PriceBookEntry:
    done, _ = stored.mark_synced("price_1", "prod_1", at=AT)
    return done


def agreement(
    company_id: str,
    *,
    agreement_id: str | None = None,
    minutes: int = 0,
    days: int | None = None,
    products_priced: tuple[str, ...] = ("prd_1",),
) -> PriceAgreement:
    start = AT + timedelta(minutes=minutes)
    created, _ = PriceAgreement.create(
        agreement_id=agreement_id or unique("pag"),
        company_id=company_id,
        name="Partner prices",
        currency="CAD",
        effective_from=start,
        effective_to=None if days is None else start + timedelta(days=days),
        prices={product_id: Money(9_900, "CAD") for product_id in products_priced},
        at=start,
    )
    return created


def active(draft: PriceAgreement) -> PriceAgreement:
    activated, _ = draft.activate(at=draft.effective_from)
    return activated


def price_synced(stored: PriceAgreement) -> PriceAgreement:
    """The agreement with the price of prd_1 synced with Stripe."""
    done, _ = stored.mark_price_synced("prd_1", "price_1", "prod_1", at=AT)
    return done


def entries_of_any_book() -> st.SearchStrategy[PriceBookEntry]:
    return st.tuples(price_books(), products()).flatmap(
        lambda pair: price_book_entries_for(pair[0], pair[1])
    )


def agreements_of_any_status() -> st.SearchStrategy[PriceAgreement]:
    statuses = st.sampled_from([AgreementStatus.DRAFT, AgreementStatus.ACTIVE])
    return statuses.flatmap(
        lambda status: price_agreements_for("cmp_1", "CAD", ["prd_1", "prd_2", "prd_3"], status)
    )


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=products(active=None))
    async def test_product(self, backend: Backend, drawn: Product) -> None:
        """A product is stored and read back whole, then updated."""
        stored = attrs.evolve(drawn, id=unique("prd"), sku=unique("SKU").upper())
        changed = attrs.evolve(stored, name="Renamed sensor", active=not stored.active)
        await assert_round_trip(backend, _products, stored, changed)

    @ROUND_TRIP
    @given(drawn=price_books())
    async def test_price_book(self, backend: Backend, drawn: PriceBook) -> None:
        """A price book is stored and read back whole, then updated.

        A book whose (scope, region, currency) already has an active book in this database (an
        earlier example's) is stored inactive, as the one-active-book rule demands."""
        async with backend.uow() as uow:
            taken = await uow.price_books.active_for(drawn.scope, drawn.region, drawn.currency)
        stored = attrs.evolve(drawn, id=unique("pbk"), active=taken is None)
        changed = attrs.evolve(stored, name="Renamed book")
        await assert_round_trip(backend, _books, stored, changed)

    @ROUND_TRIP
    @given(drawn=entries_of_any_book())
    async def test_price_book_entry(self, backend: Backend, drawn: PriceBookEntry) -> None:
        """An entry (with its Stripe link in any sync state) is stored, read back and updated."""
        stored = attrs.evolve(
            drawn, id=unique("pbe"), price_book_id=unique("pbk"), product_id=unique("prd")
        )
        if stored.stripe_sync_status is StripeSyncStatus.SYNCED:
            changed, _ = stored.change_price(stored.unit_amount + stored.unit_amount, at=AT)
            if changed == stored:  # a zero price doubled is still zero
                changed = attrs.evolve(stored, unit_amount=Money(1, stored.unit_amount.currency))
        else:
            changed = synced(stored)
        await assert_round_trip(backend, _entries, stored, changed)

    @ROUND_TRIP
    @given(drawn=agreements_of_any_status())
    async def test_price_agreement(self, backend: Backend, drawn: PriceAgreement) -> None:
        """An agreement and its prices are stored and read back; changed prices are replaced."""
        stored = attrs.evolve(drawn, id=unique("pag"), company_id=unique("cmp"))
        first = stored.prices[0].product_id
        priced, _ = stored.mark_price_synced(first, "price_1", "prod_1", at=AT)
        changed, _ = priced.cancel(at=AT + timedelta(days=400), reason="renegotiated")
        await assert_round_trip(backend, _agreements, stored, changed)


class TestProducts:
    async def test_by_sku_by_ids_and_one_product_per_sku(self, backend: Backend) -> None:
        """by_sku compares SKUs in upper case (None when unknown); by_ids skips unknown ids;
        a second product with a used SKU (any case) is a conflict."""
        a, b, c = product("SNS-0042", "prd_a"), product("B-1", "prd_b"), product("C-1", "prd_c")
        await add_all(backend, _products, a, b, c)
        with pytest.raises(ConflictError):
            await add_all(backend, _products, product("sns-0042"))
        async with backend.uow() as uow:
            assert await uow.products.by_sku(" sns-0042 ") == a
            assert await uow.products.by_sku("SNS-9999") is None
            found = await uow.products.by_ids(["prd_c", "prd_a", "prd_unknown"])
            assert await uow.products.by_ids([]) == []
        assert sorted(found, key=lambda p: p.id) == [a, c]


class TestPriceBooks:
    async def test_queries(self, backend: Backend) -> None:
        """by_ids skips unknown ids; active_in_currency lists every active book of the
        currency, global or regional; active_for matches scope, region and currency exactly
        (a country's book is not its subdivision's); inactive books are never active."""
        world = book(GLOBAL, "CAD", book_id="pbk_a")
        canada = book(REGIONAL, "CAD", "CA", book_id="pbk_b")
        ontario = book(REGIONAL, "CAD", "CA-ON", book_id="pbk_c")
        retired = book(REGIONAL, "CAD", "CA-QC", active=False, book_id="pbk_d")
        dollars = book(GLOBAL, "USD", book_id="pbk_e")
        await add_all(backend, _books, world, canada, ontario, retired, dollars)
        async with backend.uow() as uow:
            assert await uow.price_books.by_ids(["pbk_e", "pbk_unknown"]) == [dollars]
            assert await uow.price_books.by_ids([]) == []
            in_cad = await uow.price_books.active_in_currency("CAD")
            assert await uow.price_books.active_in_currency("EUR") == []
            assert await uow.price_books.active_for(GLOBAL, None, "CAD") == world
            assert await uow.price_books.active_for(REGIONAL, "CA", "CAD") == canada
            assert await uow.price_books.active_for(REGIONAL, "CA-ON", "CAD") == ontario
            assert await uow.price_books.active_for(REGIONAL, "CA-BC", "CAD") is None
            assert await uow.price_books.active_for(REGIONAL, "CA-QC", "CAD") is None
            assert await uow.price_books.active_for(GLOBAL, None, "EUR") is None
        assert sorted(b.id for b in in_cad) == ["pbk_a", "pbk_b", "pbk_c"]

    async def test_one_active_book_per_scope_region_and_currency(self, backend: Backend) -> None:
        """A second active book for the same key conflicts (also within one transaction); an
        inactive one, or another region or currency, does not."""
        await add_all(backend, _books, book(REGIONAL, "CAD", "CA-ON"))
        with pytest.raises(ConflictError):
            await add_all(backend, _books, book(REGIONAL, "CAD", "CA-ON"))
        with pytest.raises(ConflictError):
            await add_all(backend, _books, book(GLOBAL, "EUR"), book(GLOBAL, "EUR"))
        await add_all(backend, _books, book(REGIONAL, "CAD", "CA-ON", active=False))
        await add_all(backend, _books, book(REGIONAL, "USD", "CA-ON"), book(REGIONAL, "CAD", "CA"))


class TestPriceBookEntries:
    async def test_queries(self, backend: Backend) -> None:
        """for_book_and_product finds the pair's entry (None without one); for_books keeps
        entries whose book and product are both asked for; unsynced lists never synced, failed
        and repriced entries, not synced ones."""
        grid = [entry(b, p, f"pbe_{b[-1]}{p[-1]}") for b in ("pbk_1", "pbk_2", "pbk_3")
                for p in ("prd_1", "prd_2")]  # fmt: skip
        failed, _ = grid[1].mark_sync_failed("Stripe is down", at=AT)
        repriced, _ = synced(grid[2]).change_price(Money(1, "CAD"), at=AT)
        done = [synced(e) for e in grid[3:]]
        await add_all(backend, _entries, grid[0], failed, repriced, *done)
        async with backend.uow() as uow:
            entries = uow.price_book_entries
            assert await entries.for_book_and_product("pbk_1", "prd_2") == failed
            assert await entries.for_book_and_product("pbk_1", "prd_3") is None
            found = await entries.for_books(["pbk_1", "pbk_3"], ["prd_2", "prd_9"])
            assert await entries.for_books([], ["prd_1"]) == []
            assert await entries.for_books(["pbk_1"], []) == []
            unsynced = await entries.unsynced()
        assert sorted(e.id for e in found) == ["pbe_12", "pbe_32"]
        assert sorted(e.id for e in unsynced) == ["pbe_11", "pbe_12", "pbe_21"]

    async def test_one_entry_per_book_and_product(self, backend: Backend) -> None:
        """A second entry for the same (book, product) is a conflict; other pairs are not."""
        await add_all(backend, _entries, entry("pbk_1", "prd_1"))
        with pytest.raises(ConflictError):
            await add_all(backend, _entries, entry("pbk_1", "prd_1"))
        await add_all(backend, _entries, entry("pbk_1", "prd_2"), entry("pbk_2", "prd_1"))


class TestPriceAgreements:
    async def test_for_company_lists_oldest_first_and_filters_statuses(
        self, backend: Backend
    ) -> None:
        """The company's agreements oldest first (ties by id), optionally only some statuses."""
        late = active(agreement("cmp_1", agreement_id="pag_c", minutes=5))
        tie_b = agreement("cmp_1", agreement_id="pag_b", minutes=1)
        tie_a = agreement("cmp_1", agreement_id="pag_a", minutes=1)
        other = agreement("cmp_2", agreement_id="pag_d")
        await add_all(backend, _agreements, late, tie_b, tie_a, other)
        async with backend.uow() as uow:
            every = await uow.price_agreements.for_company("cmp_1")
            drafts = await uow.price_agreements.for_company("cmp_1", [AgreementStatus.DRAFT])
            assert await uow.price_agreements.for_company("cmp_1", []) == []
            assert await uow.price_agreements.for_company("cmp_unknown") == []
        assert [a.id for a in every] == ["pag_a", "pag_b", "pag_c"]
        assert [a.id for a in drafts] == ["pag_a", "pag_b"]

    async def test_due_to_expire_and_with_unsynced_prices(self, backend: Backend) -> None:
        """due_to_expire: active agreements ending at or before the instant (never drafts or
        open-ended ones). with_unsynced_prices: draft or active agreements with a price not
        synced (not fully synced or cancelled ones)."""
        ends_day_1 = active(agreement("cmp_1", agreement_id="pag_1", days=1))
        ends_day_2 = price_synced(active(agreement("cmp_1", agreement_id="pag_2", days=2)))
        half = price_synced(
            active(agreement("cmp_1", agreement_id="pag_3", products_priced=("prd_1", "prd_2")))
        )
        draft = agreement("cmp_1", agreement_id="pag_4", days=1)
        cancelled, _ = agreement("cmp_1", agreement_id="pag_5", days=1).cancel(at=AT)
        await add_all(backend, _agreements, ends_day_1, ends_day_2, half, draft, cancelled)
        async with backend.uow() as uow:
            agreements = uow.price_agreements
            assert await agreements.due_to_expire(AT + timedelta(hours=23)) == []
            at_end = await agreements.due_to_expire(AT + timedelta(days=1))
            later = await agreements.due_to_expire(AT + timedelta(days=30))
            unsynced = await agreements.with_unsynced_prices()
        assert [a.id for a in at_end] == ["pag_1"]
        assert sorted(a.id for a in later) == ["pag_1", "pag_2"]
        assert sorted(a.id for a in unsynced) == ["pag_1", "pag_3", "pag_4"]


class TestCatalogueListings:
    async def test_products_list_in_sku_order_and_pages(self, backend: Backend) -> None:
        """Products come in SKU order, inactive ones included; limit and offset page."""
        retired = attrs.evolve(product("B-200", "prd_b"), active=False)
        await add_all(
            backend, _products, product("C-300", "prd_c"), retired, product("A-100", "prd_a")
        )
        async with backend.uow() as uow:
            every = await uow.products.list(10, 0)
            page = await uow.products.list(1, 1)
            assert await uow.products.list(10, 3) == []
        assert [p.sku for p in every] == ["A-100", "B-200", "C-300"]
        assert page == [retired]

    async def test_price_books_list_oldest_first_and_pages(self, backend: Backend) -> None:
        """Books come oldest first (ties by id), inactive ones included; limit and offset page."""
        late = attrs.evolve(book(GLOBAL, "CAD", book_id="pbk_c"), created_at=AT + HOUR)
        tie_b = book(REGIONAL, "CAD", "CA", book_id="pbk_b")
        tie_a = book(REGIONAL, "CAD", "CA-ON", active=False, book_id="pbk_a")
        await add_all(backend, _books, late, tie_b, tie_a)
        async with backend.uow() as uow:
            every = await uow.price_books.list(10, 0)
            page = await uow.price_books.list(2, 1)
            assert await uow.price_books.list(10, 3) == []
        assert [b.id for b in every] == ["pbk_a", "pbk_b", "pbk_c"]
        assert [b.id for b in page] == ["pbk_b", "pbk_c"]

    async def test_entries_for_book_oldest_first(self, backend: Backend) -> None:
        """for_book lists one book's entries oldest first (ties by id), whatever their sync
        state; a book without entries has none."""
        late = entry("pbk_1", "prd_1", "pbe_c", minutes=5)
        tie_b = synced(entry("pbk_1", "prd_2", "pbe_b", minutes=1))
        tie_a = entry("pbk_1", "prd_3", "pbe_a", minutes=1)
        other = entry("pbk_2", "prd_1", "pbe_d")
        await add_all(backend, _entries, late, tie_b, tie_a, other)
        async with backend.uow() as uow:
            found = await uow.price_book_entries.for_book("pbk_1")
            assert await uow.price_book_entries.for_book("pbk_empty") == []
        assert [e.id for e in found] == ["pbe_a", "pbe_b", "pbe_c"]
        assert found[1] == tie_b

    async def test_agreements_list_all_or_one_company(self, backend: Backend) -> None:
        """Agreements of every status oldest first (ties by id), only one company's when asked;
        limit and offset page."""
        late = active(agreement("cmp_1", agreement_id="pag_c", minutes=5))
        tie_b = agreement("cmp_2", agreement_id="pag_b", minutes=1)
        tie_a, _ = agreement("cmp_1", agreement_id="pag_a", minutes=1).cancel(at=AT, reason="x")
        await add_all(backend, _agreements, late, tie_b, tie_a)
        async with backend.uow() as uow:
            every = await uow.price_agreements.list(None, 10, 0)
            mine = await uow.price_agreements.list("cmp_1", 10, 0)
            page = await uow.price_agreements.list(None, 1, 1)
            assert await uow.price_agreements.list("cmp_unknown", 10, 0) == []
            assert await uow.price_agreements.list("cmp_1", 10, 2) == []
        assert [a.id for a in every] == ["pag_a", "pag_b", "pag_c"]
        assert [a.id for a in mine] == ["pag_a", "pag_c"]
        assert page == [tie_b]
