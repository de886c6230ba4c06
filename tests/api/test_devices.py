"""Device and asset routes: devices a delivery installed, their history windows, a company's
assets; platform company ids only; company keys see only their own company's devices and, of a
device that moved on, only the windows of their own time."""

from __future__ import annotations

from datetime import timedelta

from adapters.clock import FixedClock
from entrypoints.bootstrap import Platform
from entrypoints.seed import COMPANY_MIRROR_ID, SeededCatalogue
from platform_core.access.model import Role
from platform_core.legacy.assignments import DeviceHistory
from platform_core.legacy.inventory import (
    AssignDevice,
    AssignDeviceToAsset,
    RecordAutomationResult,
    RegisterAsset,
    assign_device,
    assign_device_to_asset,
    record_automation_result,
    register_asset,
)
from platform_core.legacy.model import CompanyRecord
from platform_core.legacy.ports import LegacyOperation
from tests.api.api_support import (
    Client,
    Keys,
    assert_error,
    deliver_by_courier,
    draft_shipment,
    fulfillment_of,
    other_company,
    paid_order,
)


async def installed(
    platform: Platform,
    company_id: str,
    product_id: str,
    legacy_ids: tuple[str, ...],
    step_id: str,
    serials: tuple[str, ...] = (),
) -> list[DeviceHistory]:
    """Devices a succeeded provisioning step installed at `company_id` now."""
    command = RecordAutomationResult(
        step_id=step_id,
        operation=LegacyOperation.PROVISION_DEVICE,
        company_id=company_id,
        product_id=product_id,
        device_legacy_ids=legacy_ids,
        effective_at=platform.deps.clock.now(),
        device_serials=serials,
    )
    return await record_automation_result(platform.deps, command)


async def test_a_delivered_installation_is_listed_with_its_company_window(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """The real flow: paid, shipped, delivered; the provisioning step succeeds and its devices
    are listed for the company, each held from the delivery on."""
    platform.deps.legacy_fake.put(CompanyRecord(COMPANY_MIRROR_ID, "Northwind Sensors", "active"))
    fulfillment = await fulfillment_of(platform, await paid_order(platform, seeded))
    shipment = await draft_shipment(client, fulfillment, "SIM000000700")
    await client.post(f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"})
    await deliver_by_courier(platform, client, clock, "SIM000000700")
    await platform.settle()

    page = (await client.get("/v1/devices", params={"company_id": seeded.company_id})).json()
    assert (page["limit"], page["offset"]) == (100, 0)
    assert len(page["items"]) == 2  # two gateways; the mounting kits have no automation
    assert {item["product_id"] for item in page["items"]} == {seeded.gateway_product_id}
    assert {item["status"] for item in page["items"]} == {"active"}

    device_id = page["items"][0]["id"]
    detail = (await client.get(f"/v1/devices/{device_id}")).json()
    assert detail["company_id"] == seeded.company_id
    assert detail["asset_id"] is None
    (window,) = detail["windows"]
    assert window["kind"] == "company"
    assert window["holder_id"] == seeded.company_id
    assert window["valid_to"] is None
    shipment_now = (await client.get(f"/v1/shipments/{shipment['id']}")).json()
    assert window["valid_from"] == shipment_now["delivered_at"]
    steps = (await client.get(f"/v1/shipments/{shipment['id']}/automation-steps")).json()
    (step,) = steps["items"]
    assert step["status"] == "succeeded"
    assert window["opened_by"] == step["id"]
    assert {item["legacy_id"] for item in page["items"]} == set(step["legacy_device_ids"])


async def test_a_legacy_company_id_is_refused_with_the_platform_id_to_use(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A legacy company id is 422 naming the platform id; an unknown id is 404."""
    for url in ("/v1/devices", "/v1/assets"):
        response = await client.get(url, params={"company_id": COMPANY_MIRROR_ID})
        error = assert_error(response, 422, "VALIDATION")
        assert error["details"]["company_id"] == seeded.company_id
        assert seeded.company_id in error["message"]
        unknown = await client.get(url, params={"company_id": "cmp_nowhere"})
        assert "platform company ids" in assert_error(unknown, 404, "NOT_FOUND")["message"]


async def test_filters_and_pages_of_the_device_list(
    client: Client, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """Oldest first; status filters; limit and offset page; bad filters are refused."""
    product = seeded.gateway_product_id
    for number in (1, 2, 3):
        await installed(platform, seeded.company_id, product, (f"LD-{number}",), f"ats_{number}")
        clock.advance(timedelta(hours=1))
    every = (await client.get("/v1/devices")).json()["items"]
    assert [item["legacy_id"] for item in every] == ["LD-1", "LD-2", "LD-3"]
    second = await client.get("/v1/devices", params={"limit": 1, "offset": 1})
    assert [item["legacy_id"] for item in second.json()["items"]] == ["LD-2"]
    returned = await client.get("/v1/devices", params={"status": "returned"})
    assert returned.json()["items"] == []
    assert_error(await client.get("/v1/devices", params={"status": "lost"}), 400, "VALIDATION")
    assert_error(await client.get("/v1/devices", params={"limit": 0}), 400, "VALIDATION")
    assert_error(await client.get("/v1/devices", params={"limit": 501}), 400, "VALIDATION")
    assert_error(await client.get("/v1/devices/dev_nowhere"), 404, "NOT_FOUND")


async def test_a_company_key_sees_only_its_own_devices_and_assets(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Without company_id a company key gets its own devices; another company's id, legacy id
    or device is 404, exactly like one that does not exist."""
    other = await other_company(platform)
    product = seeded.gateway_product_id
    (mine,) = await installed(platform, seeded.company_id, product, ("LD-10",), "ats_a")
    (theirs,) = await installed(platform, other.id, product, ("LD-20",), "ats_b")
    headers = await keys.headers(Role.READONLY, seeded.company_id)

    own = (await client.get("/v1/devices", headers=headers)).json()["items"]
    assert [item["id"] for item in own] == [mine.device.id]
    assert_error(
        await client.get("/v1/devices", params={"company_id": other.id}, headers=headers),
        404,
        "NOT_FOUND",
    )
    # Another company's legacy id says nothing about which platform company it is.
    foreign = await client.get(
        "/v1/devices", params={"company_id": "legacy-cmp-2002"}, headers=headers
    )
    assert other.id not in assert_error(foreign, 404, "NOT_FOUND")["message"]
    own_legacy = await client.get(
        "/v1/devices", params={"company_id": COMPANY_MIRROR_ID}, headers=headers
    )
    assert_error(own_legacy, 422, "VALIDATION")
    assert_error(
        await client.get(f"/v1/devices/{theirs.device.id}", headers=headers), 404, "NOT_FOUND"
    )
    shown = await client.get(f"/v1/devices/{mine.device.id}", headers=headers)
    assert shown.json()["company_id"] == seeded.company_id
    assets = await client.get("/v1/assets", headers=headers)
    assert assets.json() == {"company_id": seeded.company_id, "items": []}
    assert_error(
        await client.get("/v1/assets", params={"company_id": other.id}, headers=headers),
        404,
        "NOT_FOUND",
    )


async def test_a_device_that_moved_on_shows_each_company_only_its_own_time(
    client: Client, keys: Keys, platform: Platform, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """After Ops moves a device from the seeded company (where it was on an asset) to another,
    admins see every window; the first company, listing with include_past, sees its company
    and asset windows, both closed, and no current holder; the second sees only its window."""
    other = await other_company(platform)
    deps = platform.deps
    (history,) = await installed(
        platform, seeded.company_id, seeded.gateway_product_id, ("LD-30",), "ats_a"
    )
    device_id = history.device.id
    room = await register_asset(
        deps,
        RegisterAsset(
            company_id=seeded.company_id, legacy_id="la-1", name="Cold room", kind="room"
        ),
    )
    clock.advance(timedelta(days=1))
    await assign_device_to_asset(
        deps, AssignDeviceToAsset(device_id=device_id, asset_id=room.id, actor="ops-1")
    )
    clock.advance(timedelta(days=1))
    await assign_device(deps, AssignDevice(device_id=device_id, company_id=other.id, actor="ops-1"))

    everything = (await client.get(f"/v1/devices/{device_id}")).json()
    assert [(w["kind"], w["holder_id"]) for w in everything["windows"]] == [
        ("company", seeded.company_id),
        ("asset", room.id),
        ("company", other.id),
    ]
    assert (everything["company_id"], everything["asset_id"]) == (other.id, None)

    first = await keys.headers(Role.SUPPORT, seeded.company_id)
    now_held = await client.get("/v1/devices", headers=first)
    assert now_held.json()["items"] == []
    past = await client.get("/v1/devices", params={"include_past": "true"}, headers=first)
    assert [item["id"] for item in past.json()["items"]] == [device_id]
    seen = (await client.get(f"/v1/devices/{device_id}", headers=first)).json()
    assert [(w["kind"], w["holder_id"]) for w in seen["windows"]] == [
        ("company", seeded.company_id),
        ("asset", room.id),
    ]
    assert all(w["valid_to"] is not None for w in seen["windows"])
    assert (seen["company_id"], seen["asset_id"]) == (None, None)

    second = await keys.headers(Role.READONLY, other.id)
    theirs = (await client.get(f"/v1/devices/{device_id}", headers=second)).json()
    assert [(w["kind"], w["holder_id"]) for w in theirs["windows"]] == [("company", other.id)]
    assert theirs["company_id"] == other.id


async def test_a_company_s_assets_are_listed_by_name(
    client: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """Assets by name; another company's assets are not among them; an unscoped caller must
    name the company."""
    other = await other_company(platform)
    deps = platform.deps
    for company_id, legacy_id, name in (
        (seeded.company_id, "la-2", "Warehouse"),
        (seeded.company_id, "la-1", "Cold room"),
        (other.id, "la-9", "Barn"),
    ):
        await register_asset(
            deps, RegisterAsset(company_id=company_id, legacy_id=legacy_id, name=name, kind="site")
        )
    response = await client.get("/v1/assets", params={"company_id": seeded.company_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["company_id"] == seeded.company_id
    assert [(a["name"], a["legacy_id"]) for a in body["items"]] == [
        ("Cold room", "la-1"),
        ("Warehouse", "la-2"),
    ]
    error = assert_error(await client.get("/v1/assets"), 422, "VALIDATION")
    assert error["details"]["field"] == "company_id"


async def test_devices_are_read_only_and_every_role_reads_them(
    client: Client, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Every role reads the device list; there is no write route."""
    for role in Role:
        response = await client.get("/v1/devices", headers=await keys.headers(role))
        assert response.status_code == 200, f"{role}: {response.text}"
    assert (await client.post("/v1/devices", json={})).status_code == 405
