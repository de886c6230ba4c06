"""Reading carriers' documents: JSON and XML bodies (hostile XML refused), XML elements by
local name, and the GMT offsets several carriers send beside local times."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as StdElementTree
from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta, timezone
from typing import Any
from xml.etree.ElementTree import Element

# No stubs ship for defusedxml (types-defusedxml is not a dependency yet).
import defusedxml.ElementTree as SafeElementTree  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from adapters.couriers.base import CourierPayloadError

# A body as received, or one already decoded (webhook intake and tests pass those).
JsonDocument = bytes | str | Mapping[str, Any] | Sequence[Any]

_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")


def load_json(courier_code: str, document: JsonDocument, source: str | None = None) -> Any:
    """`document` decoded when it is bytes or text, else as given; CourierPayloadError when
    it is not JSON. `source` names the API in the message (default: the courier code)."""
    if isinstance(document, bytes | str):
        try:
            return json.loads(document)
        except (ValueError, UnicodeError):
            raise CourierPayloadError(
                courier_code, f"{source or courier_code} answer is not JSON"
            ) from None
    return document


def parse_xml(courier_code: str, body: bytes, source: str | None = None) -> Element:
    """The root element of `body`. defusedxml with DTDs forbidden refuses entity bombs and
    external entities before anything is expanded: those, and bodies that are not XML, are
    CourierPayloadError. `source` names the API in the message (default: the courier code)."""
    name = source or courier_code
    try:
        root: Element = SafeElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise CourierPayloadError(
            courier_code, f"refused hostile XML from {name}: {type(error).__name__}"
        ) from None
    except (StdElementTree.ParseError, ValueError, UnicodeError):
        raise CourierPayloadError(courier_code, f"{name} answer is not XML") from None
    return root


def local_name(element: Element) -> str:
    """The tag without its namespace: carriers send their documents with or without one."""
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((item for item in element if local_name(item) == name), None)


def children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [item for item in element if local_name(item) == name]


def child_text(element: Element | None, name: str) -> str:
    """The stripped text of the named child; empty when there is no such child."""
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def offset_zone(value: object) -> timezone | None:
    """`+01:00`, `-7:00`, `+0530` or `Z` as a zone; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)
