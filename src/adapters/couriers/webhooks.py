"""Courier webhook authentication, the same for every carrier: the registry says which
scheme (HMAC-SHA256 of the raw body, or a fixed token) and which header carries it.

Both are compared in constant time. An HMAC signature is accepted as hex (optionally prefixed
``sha256=``, as GitHub-style senders do) or as base64 (as Shopify-style senders do).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from platform_core.fulfillment.model import Courier, WebhookAuth
from platform_core.shared.errors import AuthenticationError

_HEX_PREFIX = "sha256="


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever case the sender or the framework used."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def hmac_signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body`, as a sender signs it (with the ``sha256=`` prefix)."""
    return _HEX_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(courier: Courier, headers: Mapping[str, str], body: bytes) -> None:
    """Raise AuthenticationError unless the request carries the courier's proof."""
    secret = courier.webhook_secret
    if secret is None:
        raise AuthenticationError(
            f"courier {courier.code} has no webhook secret configured",
            {"courier_code": courier.code},
        )
    presented = header_value(headers, courier.webhook_header)
    if presented is None:
        raise AuthenticationError(
            f"missing {courier.webhook_header} header", {"header": courier.webhook_header}
        )
    if courier.webhook_auth is WebhookAuth.HEADER_TOKEN:
        genuine = hmac.compare_digest(presented.encode(), secret.encode())
    else:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        genuine = hmac.compare_digest(_signature_bytes(presented), expected)
    if not genuine:
        raise AuthenticationError(
            f"{courier.webhook_header} does not prove the webhook comes from {courier.code}",
            {"header": courier.webhook_header},
        )


def _signature_bytes(presented: str) -> bytes:
    text = presented.strip()
    if text.lower().startswith(_HEX_PREFIX):
        text = text[len(_HEX_PREFIX) :]
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return b""
