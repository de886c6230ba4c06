"""Hypothesis strategies for platform-core's domain types, for users' property-based tests.

Import the strategies of a context from its module, e.g.
``from platform_core.testing.orders import draft_orders``.
"""
