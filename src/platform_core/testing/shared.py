"""Strategies for the shared kernel: currencies, money, ids and aware instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from platform_core.shared.money import CURRENCY_EXPONENTS, Money

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def currencies() -> st.SearchStrategy[str]:
    """Known ISO 4217 codes."""
    return st.sampled_from(sorted(CURRENCY_EXPONENTS))


def money(
    currency: str | None = None, min_amount: int = 0, max_amount: int = 10_000_000
) -> st.SearchStrategy[Money]:
    """Money in `currency` (any known one when None) between the bounds, in minor units."""
    codes = st.just(currency) if currency else currencies()
    return st.builds(Money, st.integers(min_amount, max_amount), codes)


def ids(kind: str) -> st.SearchStrategy[str]:
    """Opaque ids shaped like the generator's: ``<kind>_<hex>``."""
    return st.text("0123456789abcdef", min_size=6, max_size=12).map(lambda tail: f"{kind}_{tail}")


def instants(start: datetime = EPOCH, days: int = 365) -> st.SearchStrategy[datetime]:
    """Timezone-aware instants within `days` after `start`, to the second."""
    return st.integers(0, days * 86_400).map(lambda seconds: start + timedelta(seconds=seconds))
