"""PriceAgreement: creation rules, activation with overlap checks, cancel, expire and sync."""

from __future__ import annotations

from datetime import datetime

import pytest
from pricing_examples import DAY, START, agreement, cad, usd

from platform_core.pricing.model import (
    AgreementStatus,
    PriceAgreement,
    PricingEvent,
    StripeSyncStatus,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.shared.money import Money


def _draft(**changes: object) -> PriceAgreement:
    arguments: dict[str, object] = {
        "agreement_id": "pag_1",
        "company_id": "cmp_1",
        "name": "Acme 2026",
        "currency": "CAD",
        "effective_from": START,
        "effective_to": START + 365 * DAY,
        "prices": {"prd_1": cad(1200)},
        **changes,
    }
    created, _ = PriceAgreement.create(**arguments, at=START)  # type: ignore[arg-type]
    return created


def test_create_makes_a_draft_with_sorted_unsynced_prices() -> None:
    """A new agreement is a draft; its prices are sorted by product and not synced."""
    created, events = PriceAgreement.create(
        agreement_id="pag_1",
        company_id="cmp_1",
        name="Acme 2026",
        currency="CAD",
        effective_from=START,
        prices={"prd_2": cad(900), "prd_1": cad(1200)},
        at=START,
    )
    assert created.status is AgreementStatus.DRAFT
    assert created.effective_to is None
    assert [p.product_id for p in created.prices] == ["prd_1", "prd_2"]
    assert all(p.stripe.stripe_sync_status is StripeSyncStatus.NOT_SYNCED for p in created.prices)
    assert events[0].type == PricingEvent.PRICE_AGREEMENT_CREATED
    assert events[0].payload["prices"][0]["unit_amount"] == {"amount": 1200, "currency": "CAD"}  # type: ignore[index,call-overload]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"prices": {}}, "prices"),
        ({"prices": {"prd_1": usd(100)}}, "prices"),
        ({"prices": {"prd_1": cad(-1)}}, "prices"),
        ({"prices": [("prd_1", cad(1))]}, "prices"),
        ({"prices": {"": cad(1)}}, "prices"),
        ({"currency": "XYZ"}, "currency"),
        ({"effective_to": START}, "effective_to"),
        ({"effective_to": START - DAY}, "effective_to"),
        ({"effective_from": datetime(2026, 1, 1)}, "effective_from"),  # naive on purpose
        ({"name": ""}, "name"),
    ],
)
def test_create_refuses_bad_input(changes: dict[str, object], field: str) -> None:
    """No prices, wrong currency, negative amount, inverted dates or naive instants are refused."""
    with pytest.raises(ValidationError) as raised:
        _draft(**changes)
    assert raised.value.details["field"] == field


def test_covers_is_half_open() -> None:
    """effective_from is included, effective_to is excluded, no end means forever."""
    bounded = _draft()
    assert bounded.covers(START)
    assert not bounded.covers(START - DAY)
    assert bounded.covers(START + 364 * DAY)
    assert not bounded.covers(START + 365 * DAY)
    assert _draft(effective_to=None).covers(START + 10_000 * DAY)


def test_activate_a_draft() -> None:
    """Activation stamps activated_at and emits price_agreement.activated."""
    active, events = _draft().activate(at=START)
    assert active.status is AgreementStatus.ACTIVE
    assert active.activated_at == START
    assert events[0].type == PricingEvent.PRICE_AGREEMENT_ACTIVATED


def test_an_agreement_that_already_ended_cannot_be_activated() -> None:
    """Activating after effective_to is a conflict and the draft stays a draft."""
    draft = _draft()
    with pytest.raises(ConflictError):
        draft.activate(at=START + 400 * DAY)
    assert draft.status is AgreementStatus.DRAFT


def test_activation_refuses_an_overlapping_active_agreement() -> None:
    """Same company, currency, a shared product and meeting dates: refused naming the other."""
    other = agreement({"prd_1": cad(1000), "prd_9": cad(5)}, agreement_id="pag_0")
    draft = _draft()
    with pytest.raises(ConflictError) as raised:
        draft.activate(at=START, active_agreements=[other])
    assert raised.value.details["overlapping"] == ["pag_0"]
    assert draft.status is AgreementStatus.DRAFT


@pytest.mark.parametrize(
    "other",
    [
        agreement({"prd_2": cad(1000)}, agreement_id="pag_0"),
        agreement({"prd_1": Money(1000, "USD")}, agreement_id="pag_0", currency="USD"),
        agreement({"prd_1": cad(1000)}, agreement_id="pag_0", company_id="cmp_2"),
        agreement({"prd_1": cad(1000)}, agreement_id="pag_0", starts=START - 30 * DAY, ends=START),
        agreement({"prd_1": cad(1000)}, agreement_id="pag_0", starts=START + 365 * DAY),
        agreement({"prd_1": cad(1000)}, agreement_id="pag_0", active=False),
    ],
    ids=[
        "other product",
        "other currency",
        "other company",
        "ends before",
        "starts after",
        "draft",
    ],
)
def test_activation_allows_agreements_that_do_not_overlap(other: PriceAgreement) -> None:
    """Disjoint products, currency, company, dates, or a non-active other: activation passes."""
    active, _ = _draft().activate(at=START, active_agreements=[other])
    assert active.status is AgreementStatus.ACTIVE


def test_cancel_from_draft_or_active_but_not_twice() -> None:
    """Cancel ends a draft or an active agreement; cancelling again is illegal."""
    for start in (_draft(), _draft().activate(at=START)[0]):
        cancelled, events = start.cancel(at=START + DAY, reason="renegotiated")
        assert cancelled.status is AgreementStatus.CANCELLED
        assert cancelled.ended_at == START + DAY
        assert events[0].payload["previous_status"] == start.status.value
        assert events[0].payload["reason"] == "renegotiated"
        with pytest.raises(IllegalTransition):
            cancelled.cancel(at=START + DAY)


def test_expire_only_an_active_agreement_after_its_end() -> None:
    """Expiring early is a conflict, a draft cannot expire, an ended active one can."""
    active, _ = _draft().activate(at=START)
    with pytest.raises(ConflictError):
        active.expire(at=START + DAY)
    with pytest.raises(IllegalTransition):
        _draft().expire(at=START + 400 * DAY)
    with pytest.raises(ConflictError):
        _draft(effective_to=None).activate(at=START)[0].expire(at=START + 400 * DAY)
    expired, events = active.expire(at=START + 365 * DAY)
    assert expired.status is AgreementStatus.EXPIRED
    assert events[0].type == PricingEvent.PRICE_AGREEMENT_EXPIRED
    assert active.status is AgreementStatus.ACTIVE


def test_terminal_agreements_refuse_everything() -> None:
    """Expired and cancelled agreements cannot be activated, cancelled or expired."""
    active, _ = _draft().activate(at=START)
    expired, _ = active.expire(at=START + 365 * DAY)
    cancelled, _ = active.cancel(at=START)
    for ended in (expired, cancelled):
        for command in (
            lambda a: a.activate(at=START),
            lambda a: a.cancel(at=START),
            lambda a: a.expire(at=START + 400 * DAY),
        ):
            with pytest.raises(IllegalTransition):
                command(ended)


def test_agreement_prices_sync_one_product_at_a_time() -> None:
    """Marking one product's price synced or failed leaves the others alone."""
    two = _draft(prices={"prd_1": cad(1200), "prd_2": cad(800)})
    synced, events = two.mark_price_synced("prd_2", "price_2", "prod_2", at=START)
    assert synced.price_for("prd_2").stripe.stripe_sync_status is StripeSyncStatus.SYNCED  # type: ignore[union-attr]
    assert synced.price_for("prd_1") == two.price_for("prd_1")
    assert events[0].type == PricingEvent.PRICE_AGREEMENT_PRICE_SYNCED
    assert events[0].payload["product_id"] == "prd_2"
    again, more = synced.mark_price_synced("prd_2", "price_2", "prod_2", at=START)
    assert again is synced
    assert more == []
    failed, events = synced.mark_price_sync_failed("prd_1", "card declined", at=START)
    assert failed.price_for("prd_1").stripe.stripe_sync_status is StripeSyncStatus.FAILED  # type: ignore[union-attr]
    assert events[0].type == PricingEvent.PRICE_AGREEMENT_PRICE_SYNC_FAILED


def test_syncing_a_product_the_agreement_does_not_price_is_refused() -> None:
    """An unknown product id is a validation error naming the product."""
    with pytest.raises(ValidationError) as raised:
        _draft().mark_price_synced("prd_404", "price_1", "prod_1", at=START)
    assert raised.value.details["product_id"] == "prd_404"
