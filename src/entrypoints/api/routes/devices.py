"""Devices and assets: which sensor units a company holds, their history windows (which company
and asset held each unit, when) and the company's assets.

Company ids are the platform's (modern) ids only: a legacy company id is refused with the
platform id to use instead (422), an unknown id is 404. A company-scoped key sees only its own
company's devices and assets, and of a device it once held only the windows of its own time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, Parameter

from entrypoints.api.dependencies import Caller, Deps
from entrypoints.api.openapi import ERRORS_READ
from entrypoints.api.schemas import View
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies
from platform_core.customers.service import find_company_by_mirror, get_company
from platform_core.legacy.assignments import (
    Asset,
    AssignmentKind,
    Device,
    DeviceAssignment,
    DeviceHistory,
    DeviceStatus,
)
from platform_core.legacy.inventory import (
    MAX_PAGE,
    get_device_history,
    list_assets,
    list_devices,
)
from platform_core.shared.errors import NotFoundError, ValidationError

# -- views -----------------------------------------------------------------------------------


class DeviceView(View):
    id: str
    legacy_id: Annotated[str, msgspec.Meta(description="The device's id in the legacy system")]
    product_id: str
    serial_number: str | None
    status: DeviceStatus
    registered_at: datetime
    status_changed_at: datetime | None
    version: int


class DevicePage(View):
    items: list[DeviceView]
    limit: int
    offset: int


class WindowView(View):
    """One history window: `holder_id` (a company or an asset) held the device in
    [valid_from, valid_to); valid_to None means it still does."""

    id: str
    kind: AssignmentKind
    holder_id: str
    valid_from: datetime
    valid_to: datetime | None
    opened_by: Annotated[str | None, msgspec.Meta(description="Automation step or Ops actor")]
    closed_by: str | None


class DeviceDetailView(DeviceView):
    company_id: Annotated[str | None, msgspec.Meta(description="The company holding it now")]
    asset_id: Annotated[str | None, msgspec.Meta(description="The asset it is mounted on now")]
    windows: Annotated[list[WindowView], msgspec.Meta(description="Oldest first")]


class AssetView(View):
    id: str
    company_id: str
    legacy_id: str
    name: str
    kind: str
    registered_at: datetime
    version: int


class AssetList(View):
    company_id: str
    items: list[AssetView]


def device_view(device: Device) -> DeviceView:
    return DeviceView(
        id=device.id,
        legacy_id=device.legacy_id,
        product_id=device.product_id,
        serial_number=device.serial_number,
        status=device.status,
        registered_at=device.registered_at,
        status_changed_at=device.status_changed_at,
        version=device.version,
    )


def _window_view(window: DeviceAssignment) -> WindowView:
    return WindowView(
        id=window.id,
        kind=window.kind,
        holder_id=window.holder_id,
        valid_from=window.valid_from,
        valid_to=window.valid_to,
        opened_by=window.opened_by,
        closed_by=window.closed_by,
    )


def _current_holder(windows: list[DeviceAssignment], kind: AssignmentKind) -> str | None:
    return next((w.holder_id for w in windows if w.kind is kind and w.is_current), None)


def device_detail_view(history: DeviceHistory, windows: list[DeviceAssignment]) -> DeviceDetailView:
    return DeviceDetailView(
        **msgspec.structs.asdict(device_view(history.device)),
        company_id=_current_holder(windows, AssignmentKind.COMPANY),
        asset_id=_current_holder(windows, AssignmentKind.ASSET),
        windows=[_window_view(window) for window in windows],
    )


def asset_view(asset: Asset) -> AssetView:
    return AssetView(
        id=asset.id,
        company_id=asset.company_id,
        legacy_id=asset.legacy_id,
        name=asset.name,
        kind=asset.kind,
        registered_at=asset.registered_at,
        version=asset.version,
    )


# -- company ids and scope ---------------------------------------------------------------------


async def platform_company_id(deps: Dependencies, principal: Principal, company_id: str) -> str:
    """`company_id` checked as a platform company the caller may see.

    A legacy company id is a ValidationError naming the platform id to use, unless that
    company is not the scoped caller's: then, like any unknown id, NotFoundError (a scoped key
    must not learn other companies' ids).
    """
    try:
        company = await get_company(deps, company_id)
    except NotFoundError:
        wrapper = await find_company_by_mirror(deps, company_id)
        if wrapper is not None and principal.company_id in (None, wrapper.id):
            raise ValidationError(
                f"{company_id} is a legacy company id; company_id takes platform company ids "
                f"(use {wrapper.id})",
                {"field": "company_id", "value": company_id, "company_id": wrapper.id},
            ) from None
        raise NotFoundError(
            f"company {company_id} not found (company_id takes platform company ids)",
            {"kind": "company", "id": company_id},
        ) from None
    principal.require_company(company.id, "company", company_id)
    return company.id


async def _company_in_scope(
    deps: Dependencies, principal: Principal, requested: str | None
) -> str | None:
    """The company a listing is narrowed to: the requested one (checked), else the scoped
    key's own, else None (every company)."""
    if requested is not None:
        return await platform_company_id(deps, principal, requested)
    return principal.company_filter(None)


def visible_windows(history: DeviceHistory, principal: Principal) -> list[DeviceAssignment]:
    """The windows the caller may see: all of them, or for a scoped key its own company's
    windows and the asset windows opened while it held the device (assets are always the
    holding company's). Empty: the device was never the scoped company's."""
    windows = list(history.windows)
    if principal.company_id is None:
        return windows
    own = [
        w
        for w in windows
        if w.kind is AssignmentKind.COMPANY and w.holder_id == principal.company_id
    ]
    if not own:
        return []
    return [
        w
        for w in windows
        if w in own or (w.kind is AssignmentKind.ASSET and any(o.covers(w.valid_from) for o in own))
    ]


# -- routes ----------------------------------------------------------------------------------


class DeviceController(Controller):
    path = "/v1"
    tags = ["Devices"]
    opt = {"family": "devices"}

    @get(
        "/devices",
        summary="Devices, oldest registered first, optionally those a company holds",
        responses=ERRORS_READ,
    )
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        company_id: Annotated[
            str | None, Parameter(description="A platform company id (not a legacy id)")
        ] = None,
        status: Annotated[DeviceStatus | None, Parameter(description="active, returned...")] = None,
        include_past: Annotated[
            bool, Parameter(description="With company_id: also devices it held before")
        ] = False,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> DevicePage:
        company = await _company_in_scope(deps, principal, company_id)
        devices = await list_devices(
            deps, company, status=status, include_past=include_past, limit=limit, offset=offset
        )
        return DevicePage(items=[device_view(d) for d in devices], limit=limit, offset=offset)

    @get(
        "/devices/{device_id:str}",
        summary="A device with its history windows (company and asset, oldest first)",
        responses=ERRORS_READ,
    )
    async def show(
        self, device_id: FromPath[str], deps: Deps, principal: Caller
    ) -> DeviceDetailView:
        history = await get_device_history(deps, device_id)
        windows = visible_windows(history, principal)
        if principal.company_id is not None and not windows:
            raise NotFoundError.of("device", device_id)
        return device_detail_view(history, windows)

    @get(
        "/assets",
        summary="A company's assets by name (company_id may be left out by a company key)",
        responses=ERRORS_READ,
    )
    async def assets(
        self,
        deps: Deps,
        principal: Caller,
        company_id: Annotated[
            str | None, Parameter(description="A platform company id (not a legacy id)")
        ] = None,
    ) -> AssetList:
        company = await _company_in_scope(deps, principal, company_id)
        if company is None:
            raise ValidationError(
                "company_id is required: assets are listed per company", {"field": "company_id"}
            )
        found = await list_assets(deps, company)
        return AssetList(company_id=company, items=[asset_view(a) for a in found])


ROUTES = [DeviceController]
