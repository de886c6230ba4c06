"""Contract of the CourierGateway port, run against the simulated courier, plus what the
simulator promises its users (scripts, signing, its JSON format)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from adapters.clock import FixedClock
from adapters.couriers.gateway import CourierAdapters
from adapters.couriers.simulator import (
    RAW_CODES,
    SIGNATURE_HEADER,
    SimulatorCourierGateway,
)
from adapters.couriers.webhooks import hmac_signature, verify_webhook
from platform_core.fulfillment.couriers import RegisterCourier
from platform_core.fulfillment.model import (
    Courier,
    CourierChanges,
    IngestionMode,
    TrackingEvent,
    TrackingStatus,
    WebhookAuth,
)
from platform_core.fulfillment.ports import CourierGateway, CourierPoll
from platform_core.shared.errors import AuthenticationError, ValidationError

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SECRET = "whsec-simulator-contract"


def registered(registration: RegisterCourier) -> Courier:
    fields = attrs.asdict(registration, recurse=False)
    del fields["correlation_id"]
    courier, _ = Courier.register(courier_id=f"cou-{registration.code}", at=START, **fields)
    return courier


class CourierGatewayContract:
    """What every CourierGateway adapter must do for a courier taking webhooks. Subclass it
    per adapter and provide the hooks: a gateway, its registry entry, a genuine webhook for a
    tracking number and a way to sign an arbitrary body the way the courier would."""

    @pytest.fixture
    def gateway(self) -> CourierGateway:
        raise NotImplementedError

    @pytest.fixture
    def courier(self, gateway: CourierGateway) -> Courier:
        raise NotImplementedError

    def genuine_webhook(
        self, gateway: CourierGateway, tracking_number: str
    ) -> tuple[dict[str, str], bytes]:
        raise NotImplementedError

    def signed(self, gateway: CourierGateway, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def test_a_genuine_webhook_gives_normalised_events(
        self, gateway: CourierGateway, courier: Courier
    ) -> None:
        """Every parsed event belongs to the courier, carries an aware time and a raw code."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        gateway.verify_webhook(courier, headers, body)
        events = gateway.parse_webhook(courier, body)
        assert events
        for event in events:
            assert isinstance(event, TrackingEvent)
            assert (event.courier_code, event.tracking_number) == (courier.code, "CONTRACT0001")
            assert event.occurred_at.utcoffset() is not None
            assert event.raw_code

    def test_parsing_is_repeatable(self, gateway: CourierGateway, courier: Courier) -> None:
        """The same webhook parses to the same events (their dedupe keys match)."""
        _, body = self.genuine_webhook(gateway, "CONTRACT0001")
        first = gateway.parse_webhook(courier, body)
        second = gateway.parse_webhook(courier, body)
        assert [e.dedupe_key for e in first] == [e.dedupe_key for e in second]

    def test_a_tampered_body_is_an_authentication_error(
        self, gateway: CourierGateway, courier: Courier
    ) -> None:
        """Changing one byte of a signed body makes the webhook unauthenticated."""
        headers, body = self.genuine_webhook(gateway, "CONTRACT0001")
        tampered = body.replace(b"CONTRACT0001", b"CONTRACT0002")
        with pytest.raises(AuthenticationError):
            gateway.verify_webhook(courier, headers, tampered)

    @pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"events": 7}', b"\xff\xfe"])
    def test_an_unreadable_body_is_a_validation_error(
        self, gateway: CourierGateway, courier: Courier, body: bytes
    ) -> None:
        """A correctly signed body the adapter cannot read is refused as invalid."""
        gateway.verify_webhook(courier, self.signed(gateway, body), body)
        with pytest.raises(ValidationError):
            gateway.parse_webhook(courier, body)

    def test_its_adapter_is_supported(self, gateway: CourierGateway, courier: Courier) -> None:
        assert gateway.supports(courier.adapter)
        assert not gateway.supports("pigeon_post")


class TestSimulatorCourierGateway(CourierGatewayContract):
    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(START)

    @pytest.fixture
    def gateway(self, clock: FixedClock) -> SimulatorCourierGateway:
        return SimulatorCourierGateway(secret=SECRET, clock=clock)

    @pytest.fixture
    def courier(self, gateway: CourierGateway) -> Courier:
        assert isinstance(gateway, SimulatorCourierGateway)
        return registered(gateway.registration())

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

    # -- what the simulator adds ----------------------------------------------------------

    def test_a_webhook_round_trips_its_events(
        self, gateway: SimulatorCourierGateway, courier: Courier
    ) -> None:
        """Every status survives webhook_body -> parse_webhook unchanged."""
        planned = gateway.script("RT0001", list(TrackingStatus), location="Montreal, QC")
        headers, body = gateway.signed_webhook(planned)
        gateway.verify_webhook(courier, headers, body)
        assert gateway.parse_webhook(courier, body) == planned

    def test_the_signature_is_hmac_sha256_of_the_body(
        self, gateway: SimulatorCourierGateway, courier: Courier
    ) -> None:
        """sign() is ``sha256=`` plus the hex HMAC-SHA256 of the raw body with the secret."""
        body = b'{"events": []}'
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert gateway.sign(body) == f"sha256={digest}"

    def test_header_names_are_case_insensitive(
        self, gateway: SimulatorCourierGateway, courier: Courier
    ) -> None:
        """A framework that lower-cases header names still gets the webhook verified."""
        body = b'{"events": []}'
        gateway.verify_webhook(courier, {"x-simulator-signature": gateway.sign(body)}, body)

    @pytest.mark.parametrize(
        "headers", [{}, {SIGNATURE_HEADER: "sha256=00"}, {SIGNATURE_HEADER: "é"}]
    )
    def test_missing_or_wrong_signatures_are_refused(
        self, gateway: SimulatorCourierGateway, courier: Courier, headers: dict[str, str]
    ) -> None:
        """No signature, a wrong one or garbage is an AuthenticationError."""
        with pytest.raises(AuthenticationError):
            gateway.verify_webhook(courier, headers, b'{"events": []}')

    def test_another_secret_does_not_verify(
        self, gateway: SimulatorCourierGateway, courier: Courier, clock: FixedClock
    ) -> None:
        """A webhook signed with another secret is refused."""
        other = SimulatorCourierGateway(secret="someone-else", clock=clock)
        headers, body = other.signed_webhook(other.script("T0001", [TrackingStatus.IN_TRANSIT]))
        with pytest.raises(AuthenticationError):
            gateway.verify_webhook(courier, headers, body)

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
        self,
        gateway: SimulatorCourierGateway,
        courier: Courier,
        entry: dict[str, object],
        field: str,
    ) -> None:
        """A missing number, a naive or unreadable time, a blank in a number or a non-text
        location is a ValidationError naming the entry's field."""
        body = json.dumps({"events": [entry]}).encode()
        with pytest.raises(ValidationError) as caught:
            gateway.parse_webhook(courier, body)
        assert caught.value.details["field"] == field

    def test_codes_are_normalised_and_unknown_codes_mean_unknown(
        self, gateway: SimulatorCourierGateway, courier: Courier
    ) -> None:
        """Each simulator code maps to its status; a code outside the table is unknown."""
        entries = [
            {"tracking_number": "T1", "code": code, "occurred_at": "2026-05-04T08:00:00Z"}
            for code in [*RAW_CODES, "QQ"]
        ]
        body = json.dumps({"events": entries}).encode()
        events = gateway.parse_webhook(courier, body)
        assert [event.status for event in events] == [*RAW_CODES.values(), TrackingStatus.UNKNOWN]
        assert [event.raw_code for event in events] == [*RAW_CODES, "QQ"]

    async def test_poll_returns_the_scans_due_by_the_clock(
        self, gateway: SimulatorCourierGateway, courier: Courier, clock: FixedClock
    ) -> None:
        """Scans become visible as the clock reaches them, the whole history each time."""
        planned = gateway.script(
            "DUE0001",
            [TrackingStatus.PRE_TRANSIT, TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERED],
            every=timedelta(hours=2),
        )
        assert await gateway.poll(courier, ["DUE0001"]) == CourierPoll(tuple(planned[:1]))
        clock.advance(timedelta(hours=2))
        assert await gateway.poll(courier, ["DUE0001", "DUE0001"]) == CourierPoll(
            tuple(planned[:2])
        )
        clock.advance(timedelta(hours=2))
        assert await gateway.poll(courier, ["DUE0001", "NOPE1"]) == CourierPoll(
            tuple(planned), ("NOPE1",)
        )

    def test_exceptions_carry_a_reason(
        self, gateway: SimulatorCourierGateway, courier: Courier
    ) -> None:
        """A scripted exception says why, like a courier would."""
        [event] = gateway.script("EX0001", [TrackingStatus.EXCEPTION])
        assert event.exception_reason

    def test_an_empty_secret_is_refused(self, clock: FixedClock) -> None:
        """A webhook secret is required: an empty one would make signatures meaningless."""
        with pytest.raises(ValueError, match="secret"):
            SimulatorCourierGateway(secret="", clock=clock)

    def test_the_registry_tracking_url_escapes_the_number(self, courier: Courier) -> None:
        """Characters with a meaning in urls are escaped."""
        assert courier.tracking_url("A/B?1").endswith("/track/A%2FB%3F1")


class TestCourierAdaptersWithTheSimulator(CourierGatewayContract):
    """The platform's gateway passes the simulator's webhooks through unchanged."""

    @pytest.fixture
    def gateway(self) -> CourierAdapters:
        clock = FixedClock(START)
        return CourierAdapters(
            clock=clock, simulator=SimulatorCourierGateway(secret=SECRET, clock=clock)
        )

    @pytest.fixture
    def courier(self, gateway: CourierGateway) -> Courier:
        return registered(self._simulator(gateway).registration())

    def _simulator(self, gateway: CourierGateway) -> SimulatorCourierGateway:
        assert isinstance(gateway, CourierAdapters)
        assert gateway.simulator is not None
        return gateway.simulator

    def genuine_webhook(
        self, gateway: CourierGateway, tracking_number: str
    ) -> tuple[dict[str, str], bytes]:
        simulator = self._simulator(gateway)
        events = simulator.script(tracking_number, [TrackingStatus.IN_TRANSIT])
        return simulator.signed_webhook(events)

    def signed(self, gateway: CourierGateway, body: bytes) -> dict[str, str]:
        return {SIGNATURE_HEADER: self._simulator(gateway).sign(body)}


USPS_SECRET = "usps-webhook-contract"
USPS_SAMPLE = (
    Path(__file__).parents[1]
    / "fixtures"
    / "couriers"
    / "usps"
    / "tracking_v3_response_delivered.json"
)


class TestCourierAdaptersWithUsps(CourierGatewayContract):
    """USPS tracking notifications (the tracking v3 object), HMAC-signed."""

    @pytest.fixture
    def gateway(self) -> CourierAdapters:
        return CourierAdapters(clock=FixedClock(START))

    @pytest.fixture
    def courier(self, gateway: CourierGateway) -> Courier:
        return registered(
            RegisterCourier(
                code="usps",
                name="USPS",
                adapter="usps",
                tracking_url_template="https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}",
                ingestion_mode=IngestionMode.BOTH,
                webhook_header="X-USPS-Signature",
                metadata={"webhook_secret": USPS_SECRET},
            )
        )

    def genuine_webhook(
        self, gateway: CourierGateway, tracking_number: str
    ) -> tuple[dict[str, str], bytes]:
        document = json.loads(USPS_SAMPLE.read_text())
        document["trackingNumber"] = tracking_number
        body = json.dumps(document).encode()
        return self.signed(gateway, body), body

    def signed(self, gateway: CourierGateway, body: bytes) -> dict[str, str]:
        return {"X-USPS-Signature": hmac_signature(USPS_SECRET, body)}

    def test_a_token_courier_compares_the_header_with_its_token(self, courier: Courier) -> None:
        """The header-token scheme accepts exactly the configured token."""
        token, _ = courier.update(
            CourierChanges(
                webhook_auth=WebhookAuth.HEADER_TOKEN,
                webhook_header="DHL-Webhook-Token",
                metadata={"webhook_token": "t0ken"},
            ),
            at=START,
        )
        verify_webhook(token, {"dhl-webhook-token": "t0ken"}, b"{}")
        for wrong in ({"DHL-Webhook-Token": "t0ken!"}, {"DHL-Webhook-Token": ""}, {}):
            with pytest.raises(AuthenticationError):
                verify_webhook(token, wrong, b"{}")
