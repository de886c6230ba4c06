"""Courier adapters behind the CourierGateway port: each turns one courier's webhooks and
tracking API into normalised tracking events (simulator, and the real couriers)."""
