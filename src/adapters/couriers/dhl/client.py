"""DHL tracking over httpx, three APIs: Unified Shipment Tracking (``DHL-API-Key``), MyDHL
(basic auth) and the legacy Express XML-PI (SiteID and password inside the XML).

Which one a courier uses is its metadata's ``api`` key (`dhl_client`). Credentials are never
logged nor put in error messages.
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import httpx

from adapters.couriers.base import CourierClient, TrackingResult, required_credentials
from adapters.couriers.dhl.express_parser import parse_mydhl, parse_xmlpi_result
from adapters.couriers.dhl.unified_parser import parse_unified
from adapters.couriers.http import CourierHttp, HttpPolicy, SingleNumberClient, Sleep
from platform_core.fulfillment.model import TrackingEvent
from platform_core.ports.core import Clock
from platform_core.shared.errors import ValidationError

UNIFIED_BASE_URL = "https://api-eu.dhl.com"
MYDHL_BASE_URL = "https://express.api.dhl.com"
XMLPI_BASE_URL = "https://xmlpi-ea.dhl.com"
# DHL's default Unified quota: 250 calls a day, at most one call every 5 seconds.
UNIFIED_POLICY = HttpPolicy(requests_per_second=0.2)
# DHL Express quotas are set per account; pass a policy when yours has one.
EXPRESS_POLICY = HttpPolicy()
XMLPI_MAX_AWBS = 10
_DHL_NAMESPACE = "http://www.dhl.com"
_XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
API_KINDS = ("unified", "mydhl", "xmlpi")


class DhlUnifiedClient(SingleNumberClient):
    """Unified Shipment Tracking: one number per request. Credential: ``api_key``; optional
    metadata ``service`` (``express``, ``parcel-de``, ...) narrows the search."""

    def __init__(
        self,
        courier_code: str,
        credentials: Mapping[str, str],
        *,
        base_url: str = UNIFIED_BASE_URL,
        policy: HttpPolicy = UNIFIED_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        (api_key,) = required_credentials(courier_code, credentials, "api_key")
        self._service = credentials.get("service") or None
        http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers={"DHL-API-Key": api_key, "Accept": "application/json"},
        )
        super().__init__(courier_code, http)

    async def _events_of(self, number: str) -> Sequence[TrackingEvent]:
        params = {"trackingNumber": number, "language": "en"}
        if self._service:
            params["service"] = self._service
        response = await self._http.request("GET", "/track/shipments", params=params)
        return parse_unified(self.courier_code, response.content, requested=number)


class MyDhlClient(SingleNumberClient):
    """MyDHL API tracking, all checkpoints, one number per request. Credentials:
    ``username``, ``password`` (HTTP basic auth)."""

    def __init__(
        self,
        courier_code: str,
        credentials: Mapping[str, str],
        *,
        base_url: str = MYDHL_BASE_URL,
        policy: HttpPolicy = EXPRESS_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        username, password = required_credentials(courier_code, credentials, "username", "password")
        self._auth = httpx.BasicAuth(username, password)
        http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers={"Accept": "application/json"},
        )
        super().__init__(courier_code, http)

    async def _events_of(self, number: str) -> Sequence[TrackingEvent]:
        response = await self._http.request(
            "GET",
            f"/mydhlapi/shipments/{quote(number, safe='')}/tracking",
            params={"trackingView": "all-checkpoints", "levelOfDetail": "all"},
            auth=self._auth,
        )
        return parse_mydhl(self.courier_code, response.content, requested=number)


class DhlXmlPiClient:
    """XML-PI ``KnownTrackingRequest``, up to 10 waybills per request. Credentials:
    ``site_id``, ``password`` (sent inside the XML, as XML-PI requires)."""

    def __init__(
        self,
        courier_code: str,
        credentials: Mapping[str, str],
        *,
        clock: Clock,
        base_url: str = XMLPI_BASE_URL,
        policy: HttpPolicy = EXPRESS_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._site_id, self._password = required_credentials(
            courier_code, credentials, "site_id", "password"
        )
        self._courier_code = courier_code
        self._clock = clock
        self._http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers={"Content-Type": "application/xml"},
        )

    @property
    def max_batch(self) -> int:
        return XMLPI_MAX_AWBS

    async def track(self, tracking_numbers: Sequence[str]) -> TrackingResult:
        if not tracking_numbers:
            return TrackingResult()
        if len(tracking_numbers) > XMLPI_MAX_AWBS:
            raise ValidationError(
                f"DHL XML-PI tracks at most {XMLPI_MAX_AWBS} waybills per request",
                {"count": len(tracking_numbers)},
            )
        response = await self._http.request(
            "POST", "/XMLShippingServlet", content=self.request_body(tracking_numbers)
        )
        return parse_xmlpi_result(self._courier_code, response.content, tuple(tracking_numbers))

    def request_body(self, tracking_numbers: Sequence[str]) -> bytes:
        """The KnownTrackingRequest document, all checkpoints of each waybill."""
        # Prefixed names written literally: ElementTree's namespace registry is global state.
        root = ElementTree.Element(
            "req:KnownTrackingRequest",
            {
                "xmlns:req": _DHL_NAMESPACE,
                "xmlns:xsi": _XSI_NAMESPACE,
                "xsi:schemaLocation": f"{_DHL_NAMESPACE} TrackingRequestKnown.xsd",
                "schemaVersion": "1.0",
            },
        )
        header = ElementTree.SubElement(ElementTree.SubElement(root, "Request"), "ServiceHeader")
        for name, value in (
            ("MessageTime", self._clock.now().isoformat(timespec="seconds")),
            # 28 to 32 characters, unique per request; DHL echoes it back.
            ("MessageReference", uuid.uuid4().hex),
            ("SiteID", self._site_id),
            ("Password", self._password),
        ):
            ElementTree.SubElement(header, name).text = value
        ElementTree.SubElement(root, "LanguageCode").text = "en"
        for number in tracking_numbers:
            ElementTree.SubElement(root, "AWBNumber").text = number
        ElementTree.SubElement(root, "LevelOfDetails").text = "ALL_CHECK_POINTS"
        ElementTree.SubElement(root, "PiecesEnabled").text = "S"
        body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        return body

    async def aclose(self) -> None:
        await self._http.aclose()


def dhl_client(
    courier_code: str,
    metadata: Mapping[str, str],
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    policy: HttpPolicy | None = None,
    base_url: str | None = None,
) -> CourierClient:
    """The client of the DHL API a courier's metadata names in ``api`` (``unified``, the
    default, ``mydhl`` or ``xmlpi``), with that API's credential keys from the same
    metadata."""
    api = (metadata.get("api") or "unified").strip().lower()
    if api == "unified":
        return DhlUnifiedClient(
            courier_code,
            metadata,
            base_url=base_url or UNIFIED_BASE_URL,
            policy=policy or UNIFIED_POLICY,
            transport=transport,
            sleep=sleep,
        )
    if api == "mydhl":
        return MyDhlClient(
            courier_code,
            metadata,
            base_url=base_url or MYDHL_BASE_URL,
            policy=policy or EXPRESS_POLICY,
            transport=transport,
            sleep=sleep,
        )
    if api == "xmlpi":
        return DhlXmlPiClient(
            courier_code,
            metadata,
            clock=clock,
            base_url=base_url or XMLPI_BASE_URL,
            policy=policy or EXPRESS_POLICY,
            transport=transport,
            sleep=sleep,
        )
    raise ValidationError(
        f"DHL api must be one of {list(API_KINDS)}", {"field": "api", "value": api}
    )
