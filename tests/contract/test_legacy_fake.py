"""Contract of the LegacyBridge port, run against the in-process fake.

`LegacyBridgeContract` states what every bridge must do, through the port only; a bridge
adapter's suite subclasses it and says how to build and seed its legacy system. The fake's
own test tools (fault injection, call log) are tested in `TestFakeLegacyBridge` below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from adapters.legacy.fake import FakeLegacyBridge
from adapters.legacy.fake.bridge import CallOutcome
from platform_core.legacy.model import AssetRecord, CompanyRecord, DeviceRecord, LegacyRecord
from platform_core.legacy.ports import (
    InstallChannel,
    LegacyBridge,
    LegacyOperation,
    ProvisionDevice,
    ReplaceDevice,
    ReturnDevice,
    UpdateAssignment,
)
from platform_core.shared.errors import ExternalServiceError, ValidationError

ACME = CompanyRecord(legacy_id="C100", name="Acme", status="active", attributes={"tier": 1})
GLOBEX = CompanyRecord(legacy_id="C200", name="Globex", status="active")
TRUCK = AssetRecord(legacy_id="A1", company_legacy_id="C100", name="Truck 7", status="active")
YARD = AssetRecord(legacy_id="A2", company_legacy_id="C200", name="Yard", status="active")
SENSOR = DeviceRecord(
    legacy_id="D1", serial_number="SN-1", status="active", company_legacy_id="C100"
)
CORR = "corr_1"


def provision(key: str = "stp_1:r1", **changes: object) -> ProvisionDevice:
    fields: dict[str, object] = {
        "idempotency_key": key,
        "correlation_id": CORR,
        "channel": InstallChannel.VENDOR,
        "company_id": "cmp_1",
        "company_legacy_id": "C100",
        "product_id": "prd_1",
        "quantity": 2,
        "device_serials": ("SN-10", "SN-11"),
    }
    fields.update(changes)
    return ProvisionDevice(**fields)  # type: ignore[arg-type]


async def devices_by_serial(bridge: LegacyBridge) -> dict[str, DeviceRecord]:
    return {d.serial_number: d for d in await bridge.list_devices(correlation_id=CORR)}


class LegacyBridgeContract:
    """What every LegacyBridge adapter does; subclasses provide `bridge` and `seed`."""

    @pytest.fixture
    def bridge(self) -> LegacyBridge:
        raise NotImplementedError

    def seed(self, bridge: LegacyBridge, records: Sequence[LegacyRecord]) -> None:
        raise NotImplementedError

    @pytest.fixture
    def seeded(self, bridge: LegacyBridge) -> LegacyBridge:
        self.seed(bridge, [ACME, GLOBEX, TRUCK, YARD, SENSOR])
        return bridge

    # -- reads ----------------------------------------------------------------------------
    async def test_reads_return_records_or_none(self, seeded: LegacyBridge) -> None:
        """get_* returns the legacy record for a known id and None for an unknown one."""
        assert await seeded.get_company("C100", correlation_id=CORR) == ACME
        assert await seeded.get_asset("A1", correlation_id=CORR) == TRUCK
        assert await seeded.get_device("D1", correlation_id=CORR) == SENSOR
        assert await seeded.get_company("C999", correlation_id=CORR) is None
        assert await seeded.get_device("C100", correlation_id=CORR) is None

    async def test_lists_return_every_record(self, seeded: LegacyBridge) -> None:
        """list_* returns every record of its kind, ordered by legacy id."""
        assert list(await seeded.list_companies(correlation_id=CORR)) == [ACME, GLOBEX]
        assert list(await seeded.list_assets(correlation_id=CORR)) == [TRUCK, YARD]
        assert list(await seeded.list_devices(correlation_id=CORR)) == [SENSOR]

    # -- writes ---------------------------------------------------------------------------
    async def test_provision_registers_devices_for_the_company(self, seeded: LegacyBridge) -> None:
        """Provisioning registers one active device per unit, under the given serials."""
        result = await seeded.provision_device(provision())

        assert result.operation is LegacyOperation.PROVISION_DEVICE
        assert result.idempotency_key == "stp_1:r1"
        assert len(result.device_legacy_ids) == 2
        devices = await devices_by_serial(seeded)
        assert {devices["SN-10"].legacy_id, devices["SN-11"].legacy_id} == set(
            result.device_legacy_ids
        )
        assert devices["SN-10"].company_legacy_id == "C100"
        assert devices["SN-10"].status == "active"

    async def test_provision_without_serials_still_registers_every_unit(
        self, seeded: LegacyBridge
    ) -> None:
        """Units whose serials are not known yet are registered all the same."""
        result = await seeded.provision_device(provision(quantity=3, device_serials=()))

        assert len(result.device_legacy_ids) == 3
        for legacy_id in result.device_legacy_ids:
            assert await seeded.get_device(legacy_id, correlation_id=CORR) is not None

    async def test_replaying_a_key_returns_the_first_result_and_applies_once(
        self, seeded: LegacyBridge
    ) -> None:
        """The same write sent twice with one key is applied once; both get the same answer."""
        first = await seeded.provision_device(provision())
        again = await seeded.provision_device(provision(correlation_id="corr_2"))

        assert again == first
        assert len(await seeded.list_devices(correlation_id=CORR)) == 3

    async def test_different_keys_apply_separately(self, seeded: LegacyBridge) -> None:
        """Two writes with different keys are two operations."""
        first = await seeded.provision_device(provision("k1", device_serials=()))
        second = await seeded.provision_device(provision("k2", device_serials=()))

        assert first.reference != second.reference
        assert len(await seeded.list_devices(correlation_id=CORR)) == 5

    async def test_reusing_a_key_for_another_request_is_refused(self, seeded: LegacyBridge) -> None:
        """A key already used for a different request is a permanent error; nothing changes."""
        await seeded.provision_device(provision())

        with pytest.raises(ExternalServiceError) as error:
            await seeded.provision_device(provision(quantity=3))

        assert error.value.retryable is False
        assert len(await seeded.list_devices(correlation_id=CORR)) == 3

    async def test_unknown_company_is_a_permanent_error(self, seeded: LegacyBridge) -> None:
        """Provisioning for a company the legacy system lacks is refused for good."""
        with pytest.raises(ExternalServiceError) as error:
            await seeded.provision_device(provision(company_legacy_id="C999"))

        assert error.value.retryable is False
        assert len(await seeded.list_devices(correlation_id=CORR)) == 1

    async def test_an_active_serial_cannot_be_registered_twice(self, seeded: LegacyBridge) -> None:
        """A serial already active is refused for good and nothing is registered."""
        with pytest.raises(ExternalServiceError) as error:
            await seeded.provision_device(provision(device_serials=("SN-20", "SN-1")))

        assert error.value.retryable is False
        assert "SN-20" not in await devices_by_serial(seeded)

    async def test_a_refused_key_can_be_used_once_the_cause_is_fixed(
        self, seeded: LegacyBridge
    ) -> None:
        """A refusal is not remembered under the key: the same request succeeds later."""
        request = provision(company_legacy_id="C300")
        with pytest.raises(ExternalServiceError):
            await seeded.provision_device(request)
        self.seed(seeded, [CompanyRecord(legacy_id="C300", name="Initech", status="active")])

        result = await seeded.provision_device(request)

        assert len(result.device_legacy_ids) == 2

    async def test_replace_retires_old_devices_and_registers_new_ones(
        self, seeded: LegacyBridge
    ) -> None:
        """A replacement retires the replaced serials and registers the replacements."""
        result = await seeded.replace_device(
            ReplaceDevice(
                idempotency_key="stp_2:r1",
                correlation_id=CORR,
                channel=InstallChannel.PARTNER,
                company_id="cmp_1",
                company_legacy_id="C100",
                product_id="prd_1",
                quantity=1,
                device_serials=("SN-2",),
                replaced_serials=("SN-1",),
            )
        )

        devices = await devices_by_serial(seeded)
        assert devices["SN-1"].status == "retired"
        assert devices["SN-2"].legacy_id in result.device_legacy_ids
        assert result.operation is LegacyOperation.REPLACE_DEVICE

    async def test_replacing_an_unknown_serial_is_a_permanent_error(
        self, seeded: LegacyBridge
    ) -> None:
        """Replacing a device that is not active is refused and nothing is registered."""
        with pytest.raises(ExternalServiceError) as error:
            await seeded.replace_device(
                ReplaceDevice(
                    idempotency_key="stp_2:r1",
                    correlation_id=CORR,
                    channel=InstallChannel.VENDOR,
                    company_id="cmp_1",
                    product_id="prd_1",
                    quantity=1,
                    device_serials=("SN-2",),
                    replaced_serials=("SN-404",),
                )
            )

        assert error.value.retryable is False
        assert "SN-2" not in await devices_by_serial(seeded)

    async def test_return_takes_devices_off_the_company(self, seeded: LegacyBridge) -> None:
        """Returned devices are marked returned and unassigned."""
        result = await seeded.return_device(
            ReturnDevice(
                idempotency_key="stp_3:r1",
                correlation_id=CORR,
                company_id="cmp_1",
                company_legacy_id="C100",
                product_id="prd_1",
                quantity=1,
                device_serials=("SN-1",),
            )
        )

        device = await seeded.get_device("D1", correlation_id=CORR)
        assert device is not None
        assert (device.status, device.company_legacy_id) == ("returned", None)
        assert result.device_legacy_ids == ("D1",)

    async def test_update_assignment_moves_a_device(self, seeded: LegacyBridge) -> None:
        """A device can be assigned to another company's asset."""
        await seeded.update_assignment(
            UpdateAssignment(
                idempotency_key="asg_1",
                correlation_id=CORR,
                device_legacy_id="D1",
                company_legacy_id="C200",
                asset_legacy_id="A2",
            )
        )

        device = await seeded.get_device("D1", correlation_id=CORR)
        assert device is not None
        assert (device.company_legacy_id, device.asset_legacy_id) == ("C200", "A2")

    @pytest.mark.parametrize(
        ("device", "company", "asset"),
        [("D404", "C100", None), ("D1", "C100", "A404"), ("D1", "C100", "A2")],
    )
    async def test_update_assignment_refuses_unknown_or_inconsistent_targets(
        self, seeded: LegacyBridge, device: str, company: str, asset: str | None
    ) -> None:
        """An unknown device or asset, or an asset of another company, is refused for good."""
        with pytest.raises(ExternalServiceError) as error:
            await seeded.update_assignment(
                UpdateAssignment(
                    idempotency_key="asg_1",
                    correlation_id=CORR,
                    device_legacy_id=device,
                    company_legacy_id=company,
                    asset_legacy_id=asset,
                )
            )

        assert error.value.retryable is False
        assert await seeded.get_device("D1", correlation_id=CORR) == SENSOR


class TestFakeLegacyBridge(LegacyBridgeContract):
    """The contract on the fake, plus the fake's test tools."""

    @pytest.fixture
    def bridge(self) -> FakeLegacyBridge:
        return FakeLegacyBridge()

    def seed(self, bridge: LegacyBridge, records: Sequence[LegacyRecord]) -> None:
        assert isinstance(bridge, FakeLegacyBridge)
        bridge.put(*records)

    async def test_transient_failures_then_success(self, bridge: FakeLegacyBridge) -> None:
        """fail_next makes exactly the next N calls fail, retryably, applying nothing."""
        self.seed(bridge, [ACME])
        bridge.fail_next(2)

        for _ in range(2):
            with pytest.raises(ExternalServiceError) as error:
                await bridge.provision_device(provision())
            assert error.value.retryable is True
        result = await bridge.provision_device(provision())

        assert len(result.device_legacy_ids) == 2
        assert [call.outcome for call in bridge.calls] == [
            CallOutcome.FAILED,
            CallOutcome.FAILED,
            CallOutcome.APPLIED,
        ]

    async def test_permanent_failures_are_not_retryable(self, bridge: FakeLegacyBridge) -> None:
        """fail_next(retryable=False) raises a non-retryable error, also for reads."""
        bridge.fail_next(retryable=False, message="account locked")

        with pytest.raises(ExternalServiceError) as error:
            await bridge.get_company("C100", correlation_id=CORR)

        assert (error.value.retryable, error.value.message) == (False, "account locked")

    async def test_replayed_writes_are_recorded_as_replays(self, bridge: FakeLegacyBridge) -> None:
        """The call log tells an applied write from a replay, with key and correlation id."""
        self.seed(bridge, [ACME])
        await bridge.provision_device(provision())
        await bridge.provision_device(provision(correlation_id="corr_2"))

        calls = bridge.calls_to("provision_device")
        assert [(c.outcome, c.idempotency_key, c.correlation_id) for c in calls] == [
            (CallOutcome.APPLIED, "stp_1:r1", CORR),
            (CallOutcome.REPLAYED, "stp_1:r1", "corr_2"),
        ]
        assert list(bridge.applied) == ["stp_1:r1"]

    async def test_stalled_call_never_answers(self, bridge: FakeLegacyBridge) -> None:
        """stall_next makes a call hang until the caller gives up; nothing is applied."""
        self.seed(bridge, [ACME])
        bridge.stall_next()

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await bridge.provision_device(provision())

        assert bridge.applied == {}
        assert bridge.calls[-1].outcome is CallOutcome.STALLED

    async def test_remove_simulates_drift(self, bridge: FakeLegacyBridge) -> None:
        """remove deletes a record whatever its kind."""
        self.seed(bridge, [ACME, SENSOR])
        bridge.remove("D1")

        assert await bridge.get_device("D1", correlation_id=CORR) is None
        assert await bridge.get_company("C100", correlation_id=CORR) == ACME


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"device_serials": ("SN-1", "SN-1")}, "serial_numbers"),
        ({"device_serials": ("SN-1", "SN-2", "SN-3")}, "device_serials"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_write_requests_refuse_bad_input(changes: dict[str, object], field: str) -> None:
    """A write request with no units, repeated serials, too many serials or no key is refused."""
    with pytest.raises(ValidationError) as error:
        provision(**changes)

    assert error.value.details["field"] == field
