"""couriers adapters."""
