"""Chit Chats: shipment and public tracking JSON parsers and a rate-limited client."""

from adapters.couriers.chit_chats.client import ChitChatsClient
from adapters.couriers.chit_chats.parser import parse_public_tracking, parse_shipment

__all__ = ["ChitChatsClient", "parse_public_tracking", "parse_shipment"]
