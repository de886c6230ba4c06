"""platform-core: the pure domain core of B2B hardware commerce (no I/O, no framework)."""
