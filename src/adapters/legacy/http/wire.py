"""The legacy HTTP API's JSON shapes, shared by the client and the fake legacy server.

Records travel as flat objects named like the record fields; write requests travel without
their idempotency key and correlation id, which go in the `Idempotency-Key` and
`X-Correlation-ID` headers. Anything read from the wire is checked here and refused with
`ValidationError`, so a malformed body never becomes a half-built record.

One cattrs converter does both directions. Its structure hooks are strict (a number is not a
string, a missing list is empty but a null one is refused) and raise `_Refused`; `_structure`
turns the first problem cattrs reports into a `ValidationError` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from platform_core.legacy.model import AssetRecord, Attributes, CompanyRecord, DeviceRecord
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
T = TypeVar("T")


@attrs.frozen
class _Page:
    items: list[Any]
    next_cursor: str | None = None


@attrs.frozen
class _Error:
    message: str
    details: dict[str, Any] = attrs.field(factory=dict)


class _Refused(Exception):
    """A wire value of the wrong shape. `{field}` in the message stands for the field's name."""

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template

    def for_field(self, name: str) -> ValidationError:
        # Only the first placeholder: the rest of the message may quote the refused value.
        return ValidationError(self.template.replace("{field}", name, 1), {"field": name})


# -- strict structure hooks ---------------------------------------------------------------------


def _text(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _Refused("{field} must be a string")
    return value


def _optional_text(value: object, _: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _Refused("{field} must be a string or null")
    return value


def _integer(value: object, _: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Refused("{field} must be an integer")
    return value


def _strings(value: object, _: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Refused("{field} must be a list of strings")
    return tuple(value)


def _list(value: object, _: object) -> list[Any]:
    if not isinstance(value, list):
        raise _Refused("{field} must be a list")
    return value


def _object(value: object, _: object) -> dict[str, Any]:
    # Attribute values are checked by the records' own converter (freeze_attributes).
    if not isinstance(value, Mapping):
        raise _Refused("{field} must be a JSON object")
    return dict(value)


def _choice(value: object, kind: type[StrEnum]) -> StrEnum:
    text = _text(value, str)
    try:
        return kind(text)
    except ValueError:
        raise _Refused(f"unknown {{field}} {text!r}") from None


def _is(kind: object) -> Callable[[object], bool]:
    # Generic aliases and unions cannot go through cattrs' single dispatch: match them by value.
    return lambda candidate: candidate == kind


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _text)
    converter.register_structure_hook(int, _integer)
    for enum in (InstallChannel, LegacyOperation):
        converter.register_structure_hook(enum, _choice)
        converter.register_unstructure_hook(enum, str)
    for alias, hook in (
        (str | None, _optional_text),
        (tuple[str, ...], _strings),
        (list[Any], _list),
        (dict[str, Any], _object),
        (Attributes, _object),
    ):
        converter.register_structure_hook_func(_is(alias), hook)
    converter.register_unstructure_hook_func(_is(Attributes), dict)
    _omit_path_and_headers(converter)
    return converter


def _omit_path_and_headers(converter: cattrs.Converter) -> None:
    # Write requests carry their idempotency key and correlation id in headers, and an
    # assignment its device id in the path: none of them goes in the body.
    omit = override(omit=True)
    for request in (ProvisionDevice, ReplaceDevice, ReturnDevice):
        converter.register_unstructure_hook(
            request,
            make_dict_unstructure_fn(request, converter, idempotency_key=omit, correlation_id=omit),
        )
    assignment = make_dict_unstructure_fn(
        UpdateAssignment,
        converter,
        idempotency_key=omit,
        correlation_id=omit,
        device_legacy_id=omit,
    )
    converter.register_unstructure_hook(UpdateAssignment, assignment)


_CONVERTER = _make_converter()


# -- reading untrusted JSON ---------------------------------------------------------------------


def as_object(value: object, what: str = "body") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a JSON object", {"field": what})
    return value


def _structure(kind: type[T], value: object, what: str, **known: str) -> T:
    """`value` as a `kind`; `known` fields (from headers or the path) win over the body's."""
    body = as_object(value, what)
    try:
        return _CONVERTER.structure({**body, **known}, kind)
    except cattrs.ClassValidationError as error:
        raise _refusal(error, what) from None


def _refusal(error: cattrs.ClassValidationError, what: str) -> ValidationError:
    """The first problem cattrs found, as the ValidationError a hand-written check would raise."""
    with_field, without_field = error.group_exceptions()
    if with_field:
        problem, note = with_field[0]
        if isinstance(problem, _Refused):
            return problem.for_field(note.name)
        if isinstance(problem, KeyError):
            return ValidationError(f"{note.name} is required", {"field": note.name})
        return ValidationError(f"{note.name} is malformed", {"field": note.name})
    # Without a field note the class itself refused the values (attrs validators, converters).
    first = without_field[0]
    if isinstance(first, ValidationError):
        return first
    return ValidationError(f"{what} is malformed", {"field": what})


def _write_request(kind: type[T], value: object, key: str, correlation_id: str) -> T:
    """A write request's body, completed with the key and correlation id from its headers."""
    return _structure(kind, value, "body", idempotency_key=key, correlation_id=correlation_id)


def _to_json(value: object) -> JsonObject:
    body: JsonObject = _CONVERTER.unstructure(value)
    return body


# -- records ------------------------------------------------------------------------------------


def company_to_json(record: CompanyRecord) -> JsonObject:
    return _to_json(record)


def company_from_json(value: object) -> CompanyRecord:
    return _structure(CompanyRecord, value, "company")


def asset_to_json(record: AssetRecord) -> JsonObject:
    return _to_json(record)


def asset_from_json(value: object) -> AssetRecord:
    return _structure(AssetRecord, value, "asset")


def device_to_json(record: DeviceRecord) -> JsonObject:
    return _to_json(record)


def device_from_json(value: object) -> DeviceRecord:
    return _structure(DeviceRecord, value, "device")


def page_to_json(items: list[JsonObject], next_cursor: str | None) -> JsonObject:
    return {"items": items, "next_cursor": next_cursor}


def page_from_json(value: object) -> tuple[list[object], str | None]:
    """The raw items of one page and the cursor of the next one (None on the last page)."""
    page = _structure(_Page, value, "page")
    return page.items, page.next_cursor


# -- write requests -----------------------------------------------------------------------------


def provision_to_json(request: ProvisionDevice) -> JsonObject:
    return _to_json(request)


def provision_from_json(value: object, *, key: str, correlation_id: str) -> ProvisionDevice:
    return _write_request(ProvisionDevice, value, key, correlation_id)


def replace_to_json(request: ReplaceDevice) -> JsonObject:
    return _to_json(request)


def replace_from_json(value: object, *, key: str, correlation_id: str) -> ReplaceDevice:
    return _write_request(ReplaceDevice, value, key, correlation_id)


def return_to_json(request: ReturnDevice) -> JsonObject:
    return _to_json(request)


def return_from_json(value: object, *, key: str, correlation_id: str) -> ReturnDevice:
    return _write_request(ReturnDevice, value, key, correlation_id)


def assignment_to_json(request: UpdateAssignment) -> JsonObject:
    # The device id is in the path: PUT /api/v1/devices/{device_legacy_id}/assignment.
    return _to_json(request)


def assignment_from_json(
    value: object, *, device_legacy_id: str, key: str, correlation_id: str
) -> UpdateAssignment:
    return _structure(
        UpdateAssignment,
        value,
        "body",
        device_legacy_id=device_legacy_id,
        idempotency_key=key,
        correlation_id=correlation_id,
    )


# -- answers ------------------------------------------------------------------------------------


def result_to_json(result: BridgeResult) -> JsonObject:
    return _to_json(result)


def result_from_json(value: object) -> BridgeResult:
    return _structure(BridgeResult, value, "result")


def error_to_json(message: str, details: Mapping[str, Any] | None = None) -> JsonObject:
    return {"error": {"message": message, "details": dict(details or {})}}


def error_from_json(value: object) -> tuple[str, dict[str, Any]]:
    """The legacy system's message and details, or a generic message for a body of another shape."""
    try:
        error = _structure(_Error, as_object(value).get("error"), "error")
    except ValidationError:
        return "the legacy system answered with an error", {}
    return error.message, error.details
