"""queues adapters."""
