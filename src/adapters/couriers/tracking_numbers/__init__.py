"""Tracking-number validation per courier: format and check digit, from packaged data."""

from adapters.couriers.tracking_numbers.validator import (
    COURIER_DATA,
    Format,
    TrackingNumberRules,
    identify,
)

__all__ = ["COURIER_DATA", "Format", "TrackingNumberRules", "identify"]
