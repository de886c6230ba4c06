"""legacy adapters."""
