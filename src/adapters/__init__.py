"""Adapters: technology plugged into the ports of platform_core."""
