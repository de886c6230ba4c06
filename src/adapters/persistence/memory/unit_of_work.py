"""The in-memory unit of work with every context's repositories."""

from __future__ import annotations

from adapters.persistence.memory.access import AccessTables
from adapters.persistence.memory.automation import AutomationTables
from adapters.persistence.memory.billing import BillingTables
from adapters.persistence.memory.customers import CustomersTables
from adapters.persistence.memory.devices import DevicesTables
from adapters.persistence.memory.fulfillment import FulfillmentTables
from adapters.persistence.memory.jobs import JobsTables
from adapters.persistence.memory.legacy import LegacyTables
from adapters.persistence.memory.metrics import MetricsTables
from adapters.persistence.memory.orders import OrderTables
from adapters.persistence.memory.pricing import PricingTables
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase


class InMemoryUnitOfWork(
    CustomersTables,
    PricingTables,
    OrderTables,
    BillingTables,
    FulfillmentTables,
    AutomationTables,
    LegacyTables,
    DevicesTables,
    JobsTables,
    MetricsTables,
    AccessTables,
    InMemoryUnitOfWorkBase,
):
    """One transaction over the whole in-memory database."""
