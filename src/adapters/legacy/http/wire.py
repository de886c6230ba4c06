"""The legacy HTTP API's JSON shapes, shared by the client and the fake legacy server.

Records travel as flat objects named like the record fields; write requests travel without
their idempotency key and correlation id, which go in the `Idempotency-Key` and
`X-Correlation-ID` headers. Anything read from the wire is checked here and refused with
`ValidationError`, so a malformed body never becomes a half-built record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_core.legacy.model import AssetRecord, CompanyRecord, DeviceRecord
from platform_core.legacy.ports import (
    BridgeResult,
    InstallChannel,
    LegacyOperation,
    ProvisionDevice,
    ReplaceDevice,
    ReturnDevice,
    UpdateAssignment,
)
from platform_core.shared.errors import ValidationError

CORRELATION_HEADER = "X-Correlation-ID"
IDEMPOTENCY_HEADER = "Idempotency-Key"

JsonObject = dict[str, Any]


# -- reading untrusted JSON ---------------------------------------------------------------------


def as_object(value: object, what: str = "body") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a JSON object", {"field": what})
    return value


def _required(body: Mapping[str, Any], name: str) -> Any:
    if name not in body:
        raise ValidationError(f"{name} is required", {"field": name})
    return body[name]


def _text(body: Mapping[str, Any], name: str) -> str:
    value = _required(body, name)
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", {"field": name})
    return value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{name} must be a string or null", {"field": name})
    return value


def _strings(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(f"{name} must be a list of strings", {"field": name})
    return tuple(value)


def _quantity(body: Mapping[str, Any]) -> int:
    value = _required(body, "quantity")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("quantity must be an integer", {"field": "quantity"})
    return value


def _attributes(body: Mapping[str, Any]) -> dict[str, Any]:
    # Values are checked by the records' own converter (freeze_attributes).
    return dict(as_object(body.get("attributes", {}), "attributes"))


def _channel(body: Mapping[str, Any]) -> InstallChannel:
    value = _text(body, "channel")
    try:
        return InstallChannel(value)
    except ValueError:
        raise ValidationError(f"unknown channel {value!r}", {"field": "channel"}) from None


# -- records ------------------------------------------------------------------------------------


def company_to_json(record: CompanyRecord) -> JsonObject:
    return {
        "legacy_id": record.legacy_id,
        "name": record.name,
        "status": record.status,
        "attributes": dict(record.attributes),
    }


def company_from_json(value: object) -> CompanyRecord:
    body = as_object(value, "company")
    return CompanyRecord(
        legacy_id=_text(body, "legacy_id"),
        name=_text(body, "name"),
        status=_text(body, "status"),
        attributes=_attributes(body),
    )


def asset_to_json(record: AssetRecord) -> JsonObject:
    return {
        "legacy_id": record.legacy_id,
        "company_legacy_id": record.company_legacy_id,
        "name": record.name,
        "status": record.status,
        "serial_number": record.serial_number,
        "attributes": dict(record.attributes),
    }


def asset_from_json(value: object) -> AssetRecord:
    body = as_object(value, "asset")
    return AssetRecord(
        legacy_id=_text(body, "legacy_id"),
        company_legacy_id=_text(body, "company_legacy_id"),
        name=_text(body, "name"),
        status=_text(body, "status"),
        serial_number=_optional_text(body, "serial_number"),
        attributes=_attributes(body),
    )


def device_to_json(record: DeviceRecord) -> JsonObject:
    return {
        "legacy_id": record.legacy_id,
        "serial_number": record.serial_number,
        "status": record.status,
        "company_legacy_id": record.company_legacy_id,
        "asset_legacy_id": record.asset_legacy_id,
        "attributes": dict(record.attributes),
    }


def device_from_json(value: object) -> DeviceRecord:
    body = as_object(value, "device")
    return DeviceRecord(
        legacy_id=_text(body, "legacy_id"),
        serial_number=_text(body, "serial_number"),
        status=_text(body, "status"),
        company_legacy_id=_optional_text(body, "company_legacy_id"),
        asset_legacy_id=_optional_text(body, "asset_legacy_id"),
        attributes=_attributes(body),
    )


def page_to_json(items: list[JsonObject], next_cursor: str | None) -> JsonObject:
    return {"items": items, "next_cursor": next_cursor}


def page_from_json(value: object) -> tuple[list[object], str | None]:
    """The raw items of one page and the cursor of the next one (None on the last page)."""
    body = as_object(value, "page")
    items = _required(body, "items")
    if not isinstance(items, list):
        raise ValidationError("items must be a list", {"field": "items"})
    return items, _optional_text(body, "next_cursor")


# -- write requests -----------------------------------------------------------------------------


def provision_to_json(request: ProvisionDevice) -> JsonObject:
    return {
        "channel": str(request.channel),
        "company_id": request.company_id,
        "company_legacy_id": request.company_legacy_id,
        "product_id": request.product_id,
        "quantity": request.quantity,
        "device_serials": list(request.device_serials),
        "order_id": request.order_id,
        "shipment_id": request.shipment_id,
    }


def provision_from_json(value: object, *, key: str, correlation_id: str) -> ProvisionDevice:
    body = as_object(value)
    return ProvisionDevice(
        idempotency_key=key,
        correlation_id=correlation_id,
        channel=_channel(body),
        company_id=_text(body, "company_id"),
        company_legacy_id=_optional_text(body, "company_legacy_id"),
        product_id=_text(body, "product_id"),
        quantity=_quantity(body),
        device_serials=_strings(body, "device_serials"),
        order_id=_optional_text(body, "order_id"),
        shipment_id=_optional_text(body, "shipment_id"),
    )


def replace_to_json(request: ReplaceDevice) -> JsonObject:
    return {
        "channel": str(request.channel),
        "company_id": request.company_id,
        "company_legacy_id": request.company_legacy_id,
        "product_id": request.product_id,
        "quantity": request.quantity,
        "device_serials": list(request.device_serials),
        "replaced_serials": list(request.replaced_serials),
        "order_id": request.order_id,
        "shipment_id": request.shipment_id,
    }


def replace_from_json(value: object, *, key: str, correlation_id: str) -> ReplaceDevice:
    body = as_object(value)
    return ReplaceDevice(
        idempotency_key=key,
        correlation_id=correlation_id,
        channel=_channel(body),
        company_id=_text(body, "company_id"),
        company_legacy_id=_optional_text(body, "company_legacy_id"),
        product_id=_text(body, "product_id"),
        quantity=_quantity(body),
        device_serials=_strings(body, "device_serials"),
        replaced_serials=_strings(body, "replaced_serials"),
        order_id=_optional_text(body, "order_id"),
        shipment_id=_optional_text(body, "shipment_id"),
    )


def return_to_json(request: ReturnDevice) -> JsonObject:
    return {
        "company_id": request.company_id,
        "company_legacy_id": request.company_legacy_id,
        "product_id": request.product_id,
        "quantity": request.quantity,
        "device_serials": list(request.device_serials),
        "order_id": request.order_id,
        "shipment_id": request.shipment_id,
    }


def return_from_json(value: object, *, key: str, correlation_id: str) -> ReturnDevice:
    body = as_object(value)
    return ReturnDevice(
        idempotency_key=key,
        correlation_id=correlation_id,
        company_id=_text(body, "company_id"),
        company_legacy_id=_optional_text(body, "company_legacy_id"),
        product_id=_text(body, "product_id"),
        quantity=_quantity(body),
        device_serials=_strings(body, "device_serials"),
        order_id=_optional_text(body, "order_id"),
        shipment_id=_optional_text(body, "shipment_id"),
    )


def assignment_to_json(request: UpdateAssignment) -> JsonObject:
    # The device id is in the path: PUT /api/v1/devices/{device_legacy_id}/assignment.
    return {
        "company_legacy_id": request.company_legacy_id,
        "asset_legacy_id": request.asset_legacy_id,
    }


def assignment_from_json(
    value: object, *, device_legacy_id: str, key: str, correlation_id: str
) -> UpdateAssignment:
    body = as_object(value)
    return UpdateAssignment(
        idempotency_key=key,
        correlation_id=correlation_id,
        device_legacy_id=device_legacy_id,
        company_legacy_id=_optional_text(body, "company_legacy_id"),
        asset_legacy_id=_optional_text(body, "asset_legacy_id"),
    )


# -- answers ------------------------------------------------------------------------------------


def result_to_json(result: BridgeResult) -> JsonObject:
    return {
        "operation": str(result.operation),
        "idempotency_key": result.idempotency_key,
        "reference": result.reference,
        "device_legacy_ids": list(result.device_legacy_ids),
    }


def result_from_json(value: object) -> BridgeResult:
    body = as_object(value, "result")
    operation = _text(body, "operation")
    try:
        kind = LegacyOperation(operation)
    except ValueError:
        raise ValidationError(f"unknown operation {operation!r}", {"field": "operation"}) from None
    return BridgeResult(
        operation=kind,
        idempotency_key=_text(body, "idempotency_key"),
        reference=_text(body, "reference"),
        device_legacy_ids=_strings(body, "device_legacy_ids"),
    )


def error_to_json(message: str, details: Mapping[str, Any] | None = None) -> JsonObject:
    return {"error": {"message": message, "details": dict(details or {})}}


def error_from_json(value: object) -> tuple[str, dict[str, Any]]:
    """The legacy system's message and details, or a generic message for a body of another shape."""
    try:
        error = as_object(as_object(value).get("error"), "error")
        message = _text(error, "message")
        details = dict(as_object(error.get("details", {}), "details"))
    except ValidationError:
        return "the legacy system answered with an error", {}
    return message, details
