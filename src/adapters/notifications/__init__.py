"""notifications adapters."""
