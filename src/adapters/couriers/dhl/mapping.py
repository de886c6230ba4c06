"""DHL codes as the core's tracking statuses: DHL Express checkpoint codes (the same codes in
MyDHL JSON and XML-PI) and the Unified Shipment Tracking API's `statusCode` / `status`.

A code not listed here is `unknown`; the parsers keep the raw code and text either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from platform_core.fulfillment.model import TrackingStatus

_PRE = TrackingStatus.PRE_TRANSIT
_TRANSIT = TrackingStatus.IN_TRANSIT
_OUT = TrackingStatus.OUT_FOR_DELIVERY
_DELIVERED = TrackingStatus.DELIVERED
_EXCEPTION = TrackingStatus.EXCEPTION
_RETURNED = TrackingStatus.RETURNED

EXPRESS_CODES: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "PU": _TRANSIT,  # Shipment picked up
        "PL": _TRANSIT,  # Processed at location
        "PO": _TRANSIT,  # Departing origin
        "RW": _TRANSIT,  # Shipment weighed
        "DF": _TRANSIT,  # Departed facility
        "AF": _TRANSIT,  # Arrived at facility
        "AR": _TRANSIT,  # Arrived at delivery facility
        "CR": _TRANSIT,  # Clearance released
        "IC": _TRANSIT,  # In clearance processing
        "BN": _TRANSIT,  # Customer's broker notified
        "BR": _TRANSIT,  # Broker release
        "CU": _TRANSIT,  # Confirm uplift
        "FD": _TRANSIT,  # Forwarded to destination
        "TP": _TRANSIT,  # Forwarded to a third party
        "TR": _TRANSIT,  # Record of transfer
        "SC": _TRANSIT,  # Service changed
        "SM": _TRANSIT,  # Scheduled movement
        "MS": _TRANSIT,  # Mis-sorted: DHL reroutes it
        "AD": _TRANSIT,  # Delivery as agreed with the recipient
        "CC": _TRANSIT,  # Awaiting collection by the recipient, as requested
        "PD": _TRANSIT,  # Partial delivery: some pieces still on their way
        "WC": _OUT,  # With delivery courier
        "OK": _DELIVERED,  # Delivered
        "DD": _DELIVERED,  # Delivered damaged (delivered; the damage is the reason)
        "RT": _RETURNED,  # Returned to shipper
        # Something stops the shipment: someone has to act.
        "OH": _EXCEPTION,
        "CA": _EXCEPTION,
        "CD": _EXCEPTION,
        "UD": _EXCEPTION,
        "CM": _EXCEPTION,
        "BA": _EXCEPTION,
        "NH": _EXCEPTION,
        "MD": _EXCEPTION,
        "ND": _EXCEPTION,
        "RD": _EXCEPTION,
        "HP": _EXCEPTION,
        "SS": _EXCEPTION,
        "TD": _EXCEPTION,
        "DM": _EXCEPTION,
        "DS": _EXCEPTION,
    }
)

EXPRESS_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "OH": "On hold",
        "CA": "Recipient's premises closed on arrival",
        "CD": "Customs clearance delay (controllable, e.g. missing documents)",
        "UD": "Customs clearance delay",
        "CM": "Recipient moved",
        "BA": "Bad or insufficient address",
        "NH": "Recipient not at home",
        "MD": "Missed delivery cycle",
        "ND": "Not delivered",
        "RD": "Delivery refused by the recipient",
        "HP": "Held for payment of duties or charges",
        "SS": "Shipment stopped",
        "TD": "Transport delay",
        "DM": "Damaged",
        "DS": "Destroyed or disposed of",
        "DD": "Delivered damaged",
        "RT": "Returned to shipper",
    }
)

# Unified Shipment Tracking `statusCode`: DHL's own normalisation, across its divisions.
UNIFIED_STATUS_CODES: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "pre-transit": _PRE,
        "transit": _TRANSIT,
        "delivered": _DELIVERED,
        "failure": _EXCEPTION,
        "unknown": TrackingStatus.UNKNOWN,
    }
)

# The free `status` word, lower-cased: read only when `statusCode` is missing or `unknown`.
UNIFIED_STATUS_TEXTS: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "pre-transit": _PRE,
        "transit": _TRANSIT,
        "in transit": _TRANSIT,
        "out for delivery": _OUT,
        "with delivery courier": _OUT,
        "delivered": _DELIVERED,
        "failure": _EXCEPTION,
        "returned": _RETURNED,
        "returned to shipper": _RETURNED,
    }
)


def classify_express(code: str) -> tuple[TrackingStatus, str | None]:
    """The status of a DHL Express checkpoint code and, where one applies, the reason."""
    key = code.strip().upper()
    return EXPRESS_CODES.get(key, TrackingStatus.UNKNOWN), EXPRESS_REASONS.get(key)


def classify_unified(status_code: str | None, status: str | None) -> TrackingStatus:
    """`statusCode` decides; the `status` word only when the code says nothing.

    When they disagree (DHL's own sample pairs ``pre-transit`` with ``DELIVERED``) the code
    wins: a wrong `delivered` is terminal and starts the automation, a wrong earlier status
    is corrected by the next event.
    """
    by_code = UNIFIED_STATUS_CODES.get((status_code or "").strip().lower(), TrackingStatus.UNKNOWN)
    if by_code is not TrackingStatus.UNKNOWN:
        return by_code
    return UNIFIED_STATUS_TEXTS.get((status or "").strip().lower(), TrackingStatus.UNKNOWN)
