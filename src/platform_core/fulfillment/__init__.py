"""Fulfillment: fulfillment orders, shipments, allocation guardrails and normalised tracking."""
