"""Automation scenarios: the shared vocabulary orders, fulfillment and automation all speak."""

from enum import StrEnum


class AutomationScenario(StrEnum):
    """What the legacy system must do once an item is delivered."""

    SENSOR_VENDOR_FIRST_TIME = "sensor_vendor_first_time"
    SENSOR_PARTNER_FIRST_TIME = "sensor_partner_first_time"
    SENSOR_VENDOR_REPLACEMENT = "sensor_vendor_replacement"
    SENSOR_PARTNER_REPLACEMENT = "sensor_partner_replacement"
    SENSOR_RETURN = "sensor_return"
