"""Every route against every role and a company-scoped key.

The expectations come from `security.FAMILIES`, the one table the guard enforces, and each
route's own `opt`; the requests hit every registered route, so a route added without a family
or with the wrong one is caught here. Path ids point at nothing, so an allowed caller gets a
404 or a validation error, never 401 or 403, and nothing is changed by the sweep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import attrs
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from entrypoints.api.security import FAMILIES, PUBLIC_PATHS, SAFE_METHODS
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import Keys

PUBLIC = tuple(re.compile(pattern) for pattern in PUBLIC_PATHS)
DOCS = re.compile(r"^/schema")


@attrs.frozen
class Endpoint:
    method: str
    path: str
    family: str
    write: bool
    scoped: bool

    def url(self) -> str:
        return re.sub(r"\{[^}:]+(:[^}]+)?\}", "zz_missing", self.path)


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or DOCS.match(route.path):
            continue
        for handler in route.route_handlers:
            assert isinstance(handler, HTTPRouteHandler)
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                if any(p.match(route.path) for p in PUBLIC):
                    continue
                family = handler.opt.get("family")
                assert family in FAMILIES, f"{method} {route.path} has no family"
                write = handler.opt.get("write")
                yield Endpoint(
                    method,
                    route.path,
                    family,
                    method not in SAFE_METHODS if write is None else bool(write),
                    bool(handler.opt.get("scoped", True)) and FAMILIES[family].scoped,
                )


def test_every_business_route_is_under_v1_and_has_a_family(app: Litestar) -> None:
    found = list(endpoints(app))
    assert len(found) > 60
    assert all(e.path.startswith("/v1/") for e in found)


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_reaches_exactly_the_routes_its_family_grants(
    role: Role, app: Litestar, keys: Keys
) -> None:
    headers = await keys.headers(role)
    wrong: list[str] = []
    async with AsyncTestClient(app=app) as client:
        for endpoint in endpoints(app):
            access = FAMILIES[endpoint.family]
            allowed = role in (access.write if endpoint.write else access.read)
            response = await client.request(
                endpoint.method,
                endpoint.url(),
                headers=headers,
                json={} if endpoint.method != "GET" else None,
            )
            refused = response.status_code == 403
            if refused == allowed or response.status_code == 401:
                wrong.append(f"{endpoint.method} {endpoint.path}: {response.status_code}")
            if refused:
                assert response.json()["error"]["code"] == "AUTHZ"
    assert not wrong, f"{role}: " + "; ".join(wrong)


async def test_a_company_key_is_kept_to_company_routes(
    app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A scoped key (even with the support role) is refused every unscoped family, and for
    scoped families it never gets 401/403 for its own role's reads."""
    headers = await keys.headers(Role.SUPPORT, seeded.company_id)
    wrong: list[str] = []
    async with AsyncTestClient(app=app) as client:
        for endpoint in endpoints(app):
            access = FAMILIES[endpoint.family]
            allowed = endpoint.scoped and Role.SUPPORT in (
                access.write if endpoint.write else access.read
            )
            response = await client.request(
                endpoint.method,
                endpoint.url(),
                headers=headers,
                json={} if endpoint.method != "GET" else None,
            )
            if (response.status_code == 403) == allowed or response.status_code == 401:
                wrong.append(f"{endpoint.method} {endpoint.path}: {response.status_code}")
    assert not wrong, "; ".join(wrong)


def test_no_request_without_a_key_reaches_a_business_route(app: Litestar) -> None:
    """The authentication middleware covers every /v1 route but the webhooks."""
    with_family = {e.path for e in endpoints(app)}
    assert not any(p.match(path) for path in with_family for p in PUBLIC)


async def test_anonymous_requests_are_401_everywhere(app: Litestar) -> None:
    async with AsyncTestClient(app=app) as client:
        for endpoint in endpoints(app):
            response = await client.request(endpoint.method, endpoint.url())
            assert response.status_code == 401, f"{endpoint.method} {endpoint.path}"
