"""Canada Post: tracking-detail XML parser and basic-auth tracking client."""

from adapters.couriers.canada_post.client import CanadaPostClient
from adapters.couriers.canada_post.parser import parse_tracking

__all__ = ["CanadaPostClient", "parse_tracking"]
