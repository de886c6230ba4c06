"""Legacy context: mirrors of the legacy system's companies, assets and devices, drift detection
against it, and the `LegacyBridge` port through which the platform reads and writes it."""
