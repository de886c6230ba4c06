"""A simulated courier for local runs, demos and tests: scripted scans and signed webhooks."""

from adapters.couriers.simulator.gateway import (
    RAW_CODES,
    SIGNATURE_HEADER,
    SIMULATOR_ADAPTER,
    SIMULATOR_COURIER_CODE,
    SimulatorCourierGateway,
)

__all__ = [
    "RAW_CODES",
    "SIGNATURE_HEADER",
    "SIMULATOR_ADAPTER",
    "SIMULATOR_COURIER_CODE",
    "SimulatorCourierGateway",
]
