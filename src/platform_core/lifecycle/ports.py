"""The unit of work and deps of the lifecycle: every context at once."""

from __future__ import annotations

from typing import Protocol

from platform_core.automation.ports import AutomationDeps, AutomationUnitOfWork
from platform_core.billing.ports import BillingDeps, BillingUnitOfWork
from platform_core.fulfillment.ports import FulfillmentDeps, FulfillmentUnitOfWork
from platform_core.legacy.ports import InventoryUnitOfWork
from platform_core.lifecycle.metrics import OrdersMetricsReader
from platform_core.orders.ports import OrdersDeps, OrdersUnitOfWork


class LifecycleUnitOfWork(
    OrdersUnitOfWork,
    BillingUnitOfWork,
    FulfillmentUnitOfWork,
    AutomationUnitOfWork,
    InventoryUnitOfWork,
    Protocol,
):
    """A transaction that can read and write every context the lifecycle touches."""

    @property
    def metrics(self) -> OrdersMetricsReader: ...


class LifecycleDeps(OrdersDeps, BillingDeps, FulfillmentDeps, AutomationDeps, Protocol):
    """What the lifecycle's reactions and cross-context use cases need."""

    def uow(self) -> LifecycleUnitOfWork: ...
