"""Shared kernel: money, errors, events, identifiers, time and the state-machine helper."""
