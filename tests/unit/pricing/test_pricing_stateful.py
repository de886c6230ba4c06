"""Stateful properties of the pricing machines: price agreements and Stripe price sync."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pricing_examples import DAY, START, book, cad, entry, product

from platform_core.pricing.model import (
    PRICE_AGREEMENT_MACHINE,
    AgreementStatus,
    PriceAgreement,
    PriceBookEntry,
    PriceSource,
    QuoteLine,
    StripeSyncStatus,
)
from platform_core.pricing.resolver import PriceRequest, PricingCatalogue, resolve_price
from platform_core.shared.errors import ConflictError, IllegalTransition
from platform_core.testing.pricing import price_agreements_for, stripe_ids

FAST = settings(max_examples=50, stateful_step_count=30, deadline=None)
SENSOR = product()
GLOBAL = book()
FALLBACK = entry(GLOBAL, SENSOR, 99_999)


class AgreementLifecycle(RuleBasedStateMachine):
    """Commands and the passing of time on one agreement, with the resolver watching."""

    agreement: PriceAgreement  # set by the initialize rule

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.was_activated = False
        self.ended_in: AgreementStatus | None = None

    @initialize(
        draft=price_agreements_for(
            "cmp_1", "CAD", [SENSOR.id, "prd_2"], start=START - 20 * DAY
        ).filter(lambda a: a.effective_to is None or a.effective_to > START)
    )
    def draft(self, draft: PriceAgreement) -> None:
        self.agreement = draft

    @rule(hours=st.integers(1, 24 * 40))
    def let_time_pass(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def activate(self) -> None:
        before = self.agreement
        try:
            self.agreement, _ = before.activate(at=self.now)
        except (IllegalTransition, ConflictError):
            ended = before.effective_to is not None and before.effective_to <= self.now
            assert before.status is not AgreementStatus.DRAFT or ended
            assert self.agreement is before
            return
        self.was_activated = True

    @rule()
    def cancel(self) -> None:
        before = self.agreement
        try:
            self.agreement, _ = before.cancel(at=self.now, reason="customer asked")
        except IllegalTransition:
            assert PRICE_AGREEMENT_MACHINE.is_terminal(before.status)
            return
        self.ended_in = AgreementStatus.CANCELLED

    @rule()
    def expire(self) -> None:
        before = self.agreement
        try:
            self.agreement, _ = before.expire(at=self.now)
        except (IllegalTransition, ConflictError):
            due = before.effective_to is not None and before.effective_to <= self.now
            assert before.status is not AgreementStatus.ACTIVE or not due
            return
        self.ended_in = AgreementStatus.EXPIRED

    @rule(price_id=stripe_ids("price"), ok=st.booleans())
    def sync_sensor_price(self, price_id: str, ok: bool) -> None:
        if self.agreement.price_for(SENSOR.id) is None:
            return
        try:
            if ok:
                self.agreement, _ = self.agreement.mark_price_synced(
                    SENSOR.id, price_id, "prod_sensor", at=self.now
                )
            else:
                self.agreement, _ = self.agreement.mark_price_sync_failed(
                    SENSOR.id, "Stripe unavailable", at=self.now
                )
        except IllegalTransition:
            price = self.agreement.price_for(SENSOR.id)
            assert price is not None
            assert price.stripe.stripe_sync_status is StripeSyncStatus.SYNCED

    @invariant()
    def ended_agreements_stay_ended(self) -> None:
        if self.ended_in is not None:
            assert self.agreement.status is self.ended_in
            assert self.agreement.ended_at is not None

    @invariant()
    def timestamps_follow_the_status(self) -> None:
        assert (self.agreement.activated_at is not None) == self.was_activated
        assert (self.agreement.ended_at is not None) == PRICE_AGREEMENT_MACHINE.is_terminal(
            self.agreement.status
        )

    @invariant()
    def the_resolver_uses_it_only_when_active_and_in_its_window(self) -> None:
        catalogue = PricingCatalogue([SENSOR], [GLOBAL], [FALLBACK], [self.agreement])
        request = PriceRequest("cmp_1", None, "CAD", QuoteLine(SENSOR.id, 1), self.now)
        source = resolve_price(request, catalogue).source
        applies = (
            self.agreement.status is AgreementStatus.ACTIVE
            and self.agreement.covers(self.now)
            and self.agreement.price_for(SENSOR.id) is not None
        )
        assert (source is PriceSource.PRICE_AGREEMENT) == applies


class StripePriceSync(RuleBasedStateMachine):
    """Sync reports and price changes on one entry, against a model of its Stripe status."""

    def __init__(self) -> None:
        super().__init__()
        self.entry: PriceBookEntry = entry(GLOBAL, SENSOR, 1000)
        self.status = StripeSyncStatus.NOT_SYNCED
        self.amount = cad(1000)

    @rule(price_id=st.sampled_from(["price_a", "price_b"]))
    def report_synced(self, price_id: str) -> None:
        before = self.entry
        try:
            self.entry, events = before.mark_synced(price_id, "prod_1", at=START)
        except IllegalTransition:
            assert self.status is StripeSyncStatus.SYNCED
            assert before.stripe_price_id != price_id
            return
        repeated = self.status is StripeSyncStatus.SYNCED
        assert (events == []) == repeated
        self.status = StripeSyncStatus.SYNCED

    @rule()
    def report_failure(self) -> None:
        before = self.entry
        try:
            self.entry, _ = before.mark_sync_failed("timeout", at=START)
        except IllegalTransition:
            assert self.status is StripeSyncStatus.SYNCED
            assert self.entry is before
            return
        self.status = StripeSyncStatus.FAILED

    @rule(cents=st.integers(0, 5000))
    def reprice(self, cents: int) -> None:
        self.entry, events = self.entry.change_price(cad(cents), at=START)
        if events:
            self.status, self.amount = StripeSyncStatus.NOT_SYNCED, cad(cents)

    @invariant()
    def status_matches_the_model(self) -> None:
        assert self.entry.stripe_sync_status is self.status
        assert self.entry.unit_amount == self.amount

    @invariant()
    def stripe_ids_match_the_status(self) -> None:
        synced = self.status is StripeSyncStatus.SYNCED
        assert (self.entry.stripe_price_id is not None) == synced
        if synced:
            assert self.entry.stripe_product_id == "prod_1"
        if self.status is StripeSyncStatus.FAILED:
            assert self.entry.stripe.stripe_sync_error


TestAgreementLifecycle = FAST(AgreementLifecycle).TestCase
TestStripePriceSync = FAST(StripePriceSync).TestCase
