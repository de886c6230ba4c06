"""Strategies for access: roles, tokens and API keys.

Keys are built through `ApiKey.issue` from a drawn token, so every generated key passes the
same validation as a real one and its prefix and hash belong to that token.
"""

from __future__ import annotations

import string
from datetime import datetime

from hypothesis import strategies as st

from platform_core.access.model import KEY_PREFIX_LENGTH, ApiKey, Role
from platform_core.access.service import MIN_TOKEN_LENGTH, hash_token
from platform_core.testing.customers import names
from platform_core.testing.shared import ids, instants

# `secrets.token_urlsafe`'s alphabet.
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


def roles() -> st.SearchStrategy[Role]:
    """Any role."""
    return st.sampled_from(Role)


def tokens() -> st.SearchStrategy[str]:
    """Bearer tokens the service accepts."""
    return st.text(TOKEN_ALPHABET, min_size=MIN_TOKEN_LENGTH, max_size=64)


def api_keys(
    role: Role | None = None,
    company_id: str | st.SearchStrategy[str | None] | None = None,
    created_at: datetime | None = None,
) -> st.SearchStrategy[ApiKey]:
    """New active keys. `company_id` is a fixed company, None for unscoped keys, or a
    strategy; company-scoped keys never draw the admin role (an admin key is unscoped)."""
    scopes = company_id if isinstance(company_id, st.SearchStrategy) else st.just(company_id)

    def build(
        key_id: str, name: str, scope: str | None, drawn: Role, token: str, at: datetime
    ) -> ApiKey:
        if scope is not None and drawn is Role.ADMIN:
            drawn = Role.OPS
        key, _ = ApiKey.issue(
            api_key_id=key_id,
            name=name,
            role=drawn,
            key_prefix=token[:KEY_PREFIX_LENGTH],
            key_hash=hash_token(token),
            company_id=scope,
            at=at,
        )
        return key

    return st.builds(
        build,
        ids("key"),
        names(),
        scopes,
        st.just(role) if role else roles(),
        tokens(),
        st.just(created_at) if created_at else instants(),
    )
