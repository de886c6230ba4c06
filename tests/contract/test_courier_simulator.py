"""Contract of the CourierGateway port, run against the simulated courier, plus what the
simulator promises its users (scripts, signing, its JSON format)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from adapters.couriers.simulator import (
    RAW_CODES,
    SIGNATURE_HEADER,
    SIMULATOR_COURIER_CODE,
    SimulatorCourierGateway,
)
from platform_core.fulfillment.model import TrackingEvent, TrackingStatus
from platform_core.fulfillment.ports import CourierGateway
from platform_core.shared.errors import AuthenticationError, ValidationError

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SECRET = "whsec-simulator-contract"


class CourierGatewayContract:
    """What every CourierGateway adapter must do. Subclass it per adapter and provide the
    hooks: a gateway, a genuine webhook for a tracking number, a way to sign an arbitrary
    body the way the courier would, and a tracking number the courier knows about."""

    courier_code: str

    @pytest.fixture
    def gateway(self) -> CourierGateway:
        raise NotImplementedError

    def genuine_webhook(
        self, gateway: CourierGateway, tracking_number: str
    ) -> tuple[dict[str, str], bytes]:
        raise NotImplementedError

    def signed(self, gateway: CourierGateway, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def known_tracking_number(self, gateway: CourierGateway) -> str:
        raise NotImplementedError

    def test_a_genuine_webhook_gives_normalised_events(self, gateway: CourierGateway) -> None:
        """Every parsed event belongs to the courier, carries an aware time and a raw code."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        events = gateway.parse_webhook(self.courier_code, headers, body)
        assert events
        for event in events:
            assert isinstance(event, TrackingEvent)
            assert (event.courier_code, event.tracking_number) == (
                self.courier_code,
                "CONTRACT0001",
            )
            assert event.occurred_at.utcoffset() is not None
            assert event.raw_code

    def test_parsing_is_repeatable(self, gateway: CourierGateway) -> None:
        """The same webhook parses to the same events (their dedupe keys match)."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        first = gateway.parse_webhook(self.courier_code, headers, body)
        second = gateway.parse_webhook(self.courier_code, headers, body)
        assert [e.dedupe_key for e in first] == [e.dedupe_key for e in second]

    def test_a_tampered_body_is_an_authentication_error(self, gateway: CourierGateway) -> None:
        """Changing one byte of a signed body makes the webhook unauthenticated."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        tampered = body.replace(b"CONTRACT0001", b"CONTRACT0002")
        with pytest.raises(AuthenticationError):
            gateway.parse_webhook(self.courier_code, headers, tampered)

    @pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"events": 7}', b"\xff\xfe"])
    def test_an_unreadable_signed_body_is_a_validation_error(
        self, gateway: CourierGateway, body: bytes
    ) -> None:
        """A correctly signed body the adapter cannot read is refused as invalid."""
        with pytest.raises(ValidationError):
            gateway.parse_webhook(self.courier_code, self.signed(gateway, body), body)

    def test_an_unknown_courier_code_is_refused(self, gateway: CourierGateway) -> None:
        """Asking the adapter about a courier it does not serve is a validation error."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        with pytest.raises(ValidationError):
            gateway.parse_webhook("pigeon_post", headers, body)
        with pytest.raises(ValidationError):
            gateway.tracking_url("pigeon_post", "CONTRACT0001")

    async def test_poll_returns_events_of_the_asked_numbers_only(
        self, gateway: CourierGateway
    ) -> None:
        """Polled events belong to the numbers asked about; unknown numbers give nothing."""
        known = self.known_tracking_number(gateway)
        events = await gateway.poll(self.courier_code, [known, "UNKNOWN0000"])
        assert events
        assert {event.tracking_number for event in events} == {known}
        assert await gateway.poll(self.courier_code, ["UNKNOWN0000"]) == []

    def test_the_tracking_url_names_the_number(self, gateway: CourierGateway) -> None:
        """A tracking url is an https url that carries the tracking number."""
        url = gateway.tracking_url(self.courier_code, "CONTRACT0001")
        assert url.startswith("https://")
        assert "CONTRACT0001" in url


class TestSimulatorCourierGateway(CourierGatewayContract):
    courier_code = SIMULATOR_COURIER_CODE

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(START)

    @pytest.fixture
    def gateway(self, clock: FixedClock) -> SimulatorCourierGateway:
        return SimulatorCourierGateway(secret=SECRET, clock=clock)

    def genuine_webhook(
        self, gateway: CourierGateway, tracking_number: str
    ) -> tuple[dict[str, str], bytes]:
        assert isinstance(gateway, SimulatorCourierGateway)
        events = gateway.script(
            tracking_number, [TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED]
        )
        return gateway.signed_webhook(events)

    def signed(self, gateway: CourierGateway, body: bytes) -> dict[str, str]:
        assert isinstance(gateway, SimulatorCourierGateway)
        return {SIGNATURE_HEADER: gateway.sign(body)}

    def known_tracking_number(self, gateway: CourierGateway) -> str:
        assert isinstance(gateway, SimulatorCourierGateway)
        gateway.script("KNOWN0001", [TrackingStatus.PRE_TRANSIT], start=START - timedelta(hours=1))
        return "KNOWN0001"

    # -- what the simulator adds ----------------------------------------------------------

    def test_a_webhook_round_trips_its_events(self, gateway: SimulatorCourierGateway) -> None:
        """Every status survives webhook_body -> parse_webhook unchanged."""
        planned = gateway.script("RT0001", list(TrackingStatus), location="Montreal, QC")
        headers, body = gateway.signed_webhook(planned)
        assert gateway.parse_webhook(SIMULATOR_COURIER_CODE, headers, body) == planned

    def test_the_signature_is_hmac_sha256_of_the_body(
        self, gateway: SimulatorCourierGateway
    ) -> None:
        """sign() is ``sha256=`` plus the hex HMAC-SHA256 of the raw body with the secret."""
        body = b'{"events": []}'
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert gateway.sign(body) == f"sha256={digest}"

    def test_header_names_are_case_insensitive(self, gateway: SimulatorCourierGateway) -> None:
        """A framework that lower-cases header names still gets the webhook verified."""
        body = b'{"events": []}'
        assert (
            gateway.parse_webhook(
                SIMULATOR_COURIER_CODE, {"x-simulator-signature": gateway.sign(body)}, body
            )
            == []
        )

    @pytest.mark.parametrize(
        "headers", [{}, {SIGNATURE_HEADER: "sha256=00"}, {SIGNATURE_HEADER: "é"}]
    )
    def test_missing_or_wrong_signatures_are_refused(
        self, gateway: SimulatorCourierGateway, headers: dict[str, str]
    ) -> None:
        """No signature, a wrong one or garbage is an AuthenticationError."""
        with pytest.raises(AuthenticationError):
            gateway.parse_webhook(SIMULATOR_COURIER_CODE, headers, b'{"events": []}')

    def test_another_secret_does_not_verify(
        self, gateway: SimulatorCourierGateway, clock: FixedClock
    ) -> None:
        """A webhook signed with another secret is refused."""
        other = SimulatorCourierGateway(secret="someone-else", clock=clock)
        headers, body = other.signed_webhook(other.script("T0001", [TrackingStatus.IN_TRANSIT]))
        with pytest.raises(AuthenticationError):
            gateway.parse_webhook(SIMULATOR_COURIER_CODE, headers, body)

    @pytest.mark.parametrize(
        ("entry", "field"),
        [
            (
                {"code": "IT", "occurred_at": "2026-05-04T08:00:00+00:00"},
                "events[0].tracking_number",
            ),
            (
                {"tracking_number": "T1", "code": "IT", "occurred_at": "2026-05-04T08:00:00"},
                "events[0].occurred_at",
            ),
            (
                {"tracking_number": "T1", "code": "IT", "occurred_at": "yesterday"},
                "events[0].occurred_at",
            ),
            (
                {"tracking_number": "T 1", "code": "IT", "occurred_at": "2026-05-04T08:00:00Z"},
                "events[0].tracking_number",
            ),
            (
                {
                    "tracking_number": "T1",
                    "code": "IT",
                    "occurred_at": "2026-05-04T08:00:00Z",
                    "location": 4,
                },
                "events[0].location",
            ),
        ],
    )
    def test_bad_entries_name_the_field(
        self, gateway: SimulatorCourierGateway, entry: dict[str, object], field: str
    ) -> None:
        """A missing number, a naive or unreadable time, a blank in a number or a non-text
        location is a ValidationError naming the entry's field."""
        body = json.dumps({"events": [entry]}).encode()
        with pytest.raises(ValidationError) as caught:
            gateway.parse_webhook(
                SIMULATOR_COURIER_CODE, {SIGNATURE_HEADER: gateway.sign(body)}, body
            )
        assert caught.value.details["field"] == field

    def test_codes_are_normalised_and_unknown_codes_mean_unknown(
        self, gateway: SimulatorCourierGateway
    ) -> None:
        """Each simulator code maps to its status; a code outside the table is unknown."""
        entries = [
            {"tracking_number": "T1", "code": code, "occurred_at": "2026-05-04T08:00:00Z"}
            for code in [*RAW_CODES, "QQ"]
        ]
        body = json.dumps({"events": entries}).encode()
        events = gateway.parse_webhook(
            SIMULATOR_COURIER_CODE, {SIGNATURE_HEADER: gateway.sign(body)}, body
        )
        assert [event.status for event in events] == [*RAW_CODES.values(), TrackingStatus.UNKNOWN]
        assert [event.raw_code for event in events] == [*RAW_CODES, "QQ"]

    async def test_poll_returns_the_scans_due_by_the_clock(
        self, gateway: SimulatorCourierGateway, clock: FixedClock
    ) -> None:
        """Scans become visible as the clock reaches them, the whole history each time."""
        planned = gateway.script(
            "DUE0001",
            [TrackingStatus.PRE_TRANSIT, TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED],
            every=timedelta(hours=2),
        )
        assert await gateway.poll(SIMULATOR_COURIER_CODE, ["DUE0001"]) == planned[:1]
        clock.advance(timedelta(hours=2))
        assert await gateway.poll(SIMULATOR_COURIER_CODE, ["DUE0001", "DUE0001"]) == planned[:2]
        clock.advance(timedelta(hours=2))
        assert await gateway.poll(SIMULATOR_COURIER_CODE, ["DUE0001"]) == planned

    def test_exceptions_carry_a_reason(self, gateway: SimulatorCourierGateway) -> None:
        """A scripted exception says why, like a courier would."""
        [event] = gateway.script("EX0001", [TrackingStatus.EXCEPTION])
        assert event.exception_reason

    def test_an_empty_secret_is_refused(self, clock: FixedClock) -> None:
        """A webhook secret is required: an empty one would make signatures meaningless."""
        with pytest.raises(ValueError, match="secret"):
            SimulatorCourierGateway(secret="", clock=clock)

    def test_the_tracking_url_escapes_the_number(self, gateway: SimulatorCourierGateway) -> None:
        """Characters with a meaning in urls are escaped."""
        assert gateway.tracking_url(SIMULATOR_COURIER_CODE, "A/B?1").endswith("/track/A%2FB%3F1")
