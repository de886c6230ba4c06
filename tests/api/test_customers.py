"""The customers routes: companies, their defaults and primary contacts, contacts, addresses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.clock import FixedClock
from entrypoints.seed import SeededCatalogue
from platform_core.access.model import Role
from tests.api.api_support import Client, Keys, assert_error


async def _other_company(client: Client) -> dict[str, Any]:
    response = await client.post(
        "/v1/companies",
        json={"name": "Contoso Farms", "company_mirror_id": "legacy-cmp-2002", "currency": "USD"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# -- companies -------------------------------------------------------------------------------


async def test_create_company_returns_the_new_company(client: Client) -> None:
    """POST /v1/companies creates a company wrapping the mirror and answers 201 with it."""
    response = await client.post(
        "/v1/companies",
        json={
            "name": "  Contoso   Farms ",
            "company_mirror_id": "legacy-cmp-2002",
            "currency": "USD",
            "region": "us-ca",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("cmp")
    assert body["name"] == "Contoso Farms"
    assert body["currency"] == "USD"
    assert body["region"] == "US-CA"
    assert body["primary_contacts"] == {}
    assert body["default_billing_address_id"] is None
    assert body["version"] == 1


async def test_second_company_for_one_mirror_is_a_conflict(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A mirror wrapped already answers 409 naming the existing company."""
    response = await client.post(
        "/v1/companies",
        json={"name": "Again", "company_mirror_id": "legacy-cmp-1001", "currency": "CAD"},
    )
    error = assert_error(response, 409, "CONFLICT")
    assert error["details"]["existing_company_id"] == seeded.company_id


async def test_create_company_validation_names_the_fields(client: Client) -> None:
    """A missing field, an unknown field and a bad currency are refused with their names."""
    missing = await client.post("/v1/companies", json={"name": "No mirror", "currency": "CAD"})
    error = assert_error(missing, 400, "VALIDATION")
    assert "company_mirror_id" in error["details"]["fields"][0]["message"]

    unknown = await client.post(
        "/v1/companies",
        json={"name": "A", "company_mirror_id": "m-1", "currency": "CAD", "vip": True},
    )
    error = assert_error(unknown, 400, "VALIDATION")
    assert "vip" in error["details"]["fields"][0]["message"]

    currency = await client.post(
        "/v1/companies", json={"name": "A", "company_mirror_id": "m-1", "currency": "ZZZ"}
    )
    error = assert_error(currency, 422, "VALIDATION")
    assert error["details"]["field"] == "currency"


async def test_readonly_and_scoped_keys_cannot_create_companies(
    app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Writing needs admin or support; a company-scoped key never creates companies."""
    body = {"name": "Nope", "company_mirror_id": "legacy-cmp-3003", "currency": "CAD"}
    async with AsyncTestClient(app=app) as anonymous:
        readonly = await anonymous.post(
            "/v1/companies", json=body, headers=await keys.headers(Role.READONLY)
        )
        assert_error(readonly, 403, "AUTHZ")
        scoped = await anonymous.post(
            "/v1/companies",
            json=body,
            headers=await keys.headers(Role.SUPPORT, seeded.company_id),
        )
        assert_error(scoped, 403, "AUTHZ")


async def test_list_companies_pages_and_filters_by_name(
    client: Client, seeded: SeededCatalogue, clock: FixedClock
) -> None:
    """GET /v1/companies lists oldest first; `name` keeps those whose name contains it."""
    # Later than the seeded company: at one instant the order would fall to the random ids.
    clock.advance(timedelta(minutes=1))
    other = await _other_company(client)
    everything = (await client.get("/v1/companies")).json()
    assert [c["id"] for c in everything["items"]] == [seeded.company_id, other["id"]]
    assert (everything["limit"], everything["offset"]) == (50, 0)

    second_page = (await client.get("/v1/companies", params={"limit": 1, "offset": 1})).json()
    assert [c["id"] for c in second_page["items"]] == [other["id"]]

    named = (await client.get("/v1/companies", params={"name": "CONTOSO"})).json()
    assert [c["id"] for c in named["items"]] == [other["id"]]

    too_big = await client.get("/v1/companies", params={"limit": 501})
    assert_error(too_big, 400, "VALIDATION")


async def test_scoped_key_sees_only_its_own_company(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A company key lists just its company; another company answers 404."""
    other = await _other_company(client)
    headers = await keys.headers(Role.READONLY, seeded.company_id)
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(headers)
        listed = (await scoped.get("/v1/companies")).json()
        assert [c["id"] for c in listed["items"]] == [seeded.company_id]
        own = await scoped.get(f"/v1/companies/{seeded.company_id}")
        assert own.json()["name"] == "Northwind Sensors Ltd"
        assert_error(await scoped.get(f"/v1/companies/{other['id']}"), 404, "NOT_FOUND")
        assert_error(await scoped.get(f"/v1/companies/{other['id']}/contacts"), 404, "NOT_FOUND")


async def test_get_company_shows_defaults_and_primary_contacts(
    client: Client, seeded: SeededCatalogue
) -> None:
    """GET /v1/companies/{id} shows the default addresses and primary contacts per role."""
    body = (await client.get(f"/v1/companies/{seeded.company_id}")).json()
    assert body["default_billing_address_id"] == seeded.billing_address_id
    assert body["default_shipping_address_id"] == seeded.shipping_address_id
    assert body["primary_contacts"] == {
        "billing": seeded.billing_contact_id,
        "operations": seeded.operations_contact_id,
    }
    assert body["region"] == "CA-ON"
    assert_error(await client.get("/v1/companies/cmp_missing"), 404, "NOT_FOUND")


async def test_patch_company_changes_only_the_fields_sent(
    client: Client, seeded: SeededCatalogue
) -> None:
    """Fields left out keep their value; null clears an address; unknown addresses are 422."""
    url = f"/v1/companies/{seeded.company_id}"
    changed = await client.patch(url, json={"currency": "USD", "default_shipping_address_id": None})
    assert changed.status_code == 200
    body = changed.json()
    assert body["currency"] == "USD"
    assert body["default_shipping_address_id"] is None
    assert body["default_billing_address_id"] == seeded.billing_address_id
    assert body["region"] == "CA-ON"

    unknown = await client.patch(url, json={"default_billing_address_id": "adr_missing"})
    error = assert_error(unknown, 422, "VALIDATION")
    assert error["details"]["field"] == "default_billing_address_id"

    bad_type = await client.patch(url, json={"currency": None})
    assert_error(bad_type, 400, "VALIDATION")
    assert_error(await client.patch("/v1/companies/cmp_missing", json={}), 404, "NOT_FOUND")


async def test_patch_company_refuses_another_companys_address(
    client: Client, seeded: SeededCatalogue
) -> None:
    """A default address must belong to the company itself."""
    other = await _other_company(client)
    address = await client.post(
        f"/v1/companies/{other['id']}/addresses",
        json={"lines": ["1 Main St"], "city": "Fresno", "country": "US", "region": "CA"},
    )
    response = await client.patch(
        f"/v1/companies/{seeded.company_id}",
        json={"default_shipping_address_id": address.json()["id"]},
    )
    assert_error(response, 422, "VALIDATION")


async def test_set_and_clear_a_primary_contact(client: Client, seeded: SeededCatalogue) -> None:
    """PUT .../primary-contacts/{role} sets the role's primary contact; null clears it."""
    url = f"/v1/companies/{seeded.company_id}/primary-contacts"
    shipping = await client.put(
        f"{url}/shipping", json={"contact_id": seeded.operations_contact_id}
    )
    assert shipping.status_code == 200
    assert shipping.json()["primary_contacts"]["shipping"] == seeded.operations_contact_id

    cleared = await client.put(f"{url}/billing", json={"contact_id": None})
    assert "billing" not in cleared.json()["primary_contacts"]

    lacks_role = await client.put(
        f"{url}/technical", json={"contact_id": seeded.operations_contact_id}
    )
    error = assert_error(lacks_role, 422, "VALIDATION")
    assert error["details"]["field"] == "role"

    bad_role = await client.put(f"{url}/janitor", json={"contact_id": None})
    error = assert_error(bad_role, 400, "VALIDATION")
    assert error["details"]["fields"][0]["field"] == "role"


# -- contacts --------------------------------------------------------------------------------


async def test_add_and_list_contacts(client: Client, seeded: SeededCatalogue) -> None:
    """A new contact is listed with its roles; a duplicate e-mail is a conflict."""
    url = f"/v1/companies/{seeded.company_id}/contacts"
    created = await client.post(
        url,
        json={
            "name": "Ana Lima",
            "email": "Ana@Northwind.example ",
            "phone": "+1 416 555 0101",
            "roles": ["technical", "executive"],
        },
    )
    assert created.status_code == 201
    contact = created.json()
    assert contact["company_id"] == seeded.company_id
    assert contact["roles"] == ["technical", "executive"]
    assert contact["status"] == "active"
    assert contact["archived_at"] is None

    listed = (await client.get(url)).json()
    assert listed["total"] == 3
    assert contact["id"] in [c["id"] for c in listed["items"]]

    duplicate = await client.post(url, json={"name": "Ana 2", "email": "ana@northwind.example"})
    error = assert_error(duplicate, 409, "CONFLICT")
    assert error["details"]["existing_contact_id"] == contact["id"]

    bad_role = await client.post(url, json={"name": "B", "email": "b@x.example", "roles": ["cto"]})
    assert_error(bad_role, 400, "VALIDATION")
    assert_error(await client.get("/v1/companies/cmp_missing/contacts"), 404, "NOT_FOUND")


async def test_patch_contact(client: Client, seeded: SeededCatalogue) -> None:
    """PATCH /v1/contacts/{id} changes the fields sent; null removes the phone."""
    url = f"/v1/contacts/{seeded.billing_contact_id}"
    changed = await client.patch(url, json={"name": "Dana Reyes-Park", "phone": "+1 416 555 0199"})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Dana Reyes-Park"
    assert changed.json()["email"] == "dana@northwind.example"
    removed = await client.patch(url, json={"phone": None})
    assert removed.json()["phone"] is None
    assert removed.json()["name"] == "Dana Reyes-Park"

    taken = await client.patch(url, json={"email": "omar@northwind.example"})
    assert_error(taken, 409, "CONFLICT")
    invalid = await client.patch(url, json={"email": "not-an-email"})
    assert_error(invalid, 422, "VALIDATION")
    assert_error(await client.patch("/v1/contacts/con_missing", json={}), 404, "NOT_FOUND")


async def test_archive_contact(client: Client, seeded: SeededCatalogue) -> None:
    """A primary contact cannot be archived; another can, once; archived ones are read-only."""
    primary = await client.post(f"/v1/contacts/{seeded.billing_contact_id}/archive")
    error = assert_error(primary, 409, "CONFLICT")
    assert error["details"]["roles"] == ["billing"]

    contact = await client.post(
        f"/v1/companies/{seeded.company_id}/contacts",
        json={"name": "Temp", "email": "temp@northwind.example"},
    )
    archived = await client.post(f"/v1/contacts/{contact.json()['id']}/archive")
    assert archived.status_code == 200
    assert archived.json()["status"] == "archived"
    assert archived.json()["archived_at"] == "2026-03-02T09:00:00Z"

    assert_error(await client.post(f"/v1/contacts/{contact.json()['id']}/archive"), 409, "CONFLICT")
    assert_error(
        await client.patch(f"/v1/contacts/{contact.json()['id']}", json={"name": "X"}),
        409,
        "CONFLICT",
    )
    listed = await client.get(
        f"/v1/companies/{seeded.company_id}/contacts", params={"include_archived": True}
    )
    assert listed.json()["total"] == 3
    assert_error(await client.post("/v1/contacts/con_missing/archive"), 404, "NOT_FOUND")


async def test_change_contact_roles(client: Client, seeded: SeededCatalogue) -> None:
    """Roles are granted and revoked at once; a primary role cannot be revoked."""
    url = f"/v1/contacts/{seeded.operations_contact_id}/roles"
    changed = await client.post(url, json={"grant": ["technical"], "revoke": ["shipping"]})
    assert changed.status_code == 200
    assert changed.json()["roles"] == ["operations", "technical"]

    primary = await client.post(url, json={"revoke": ["operations"]})
    assert_error(primary, 409, "CONFLICT")
    both = await client.post(url, json={"grant": ["billing"], "revoke": ["billing"]})
    assert_error(both, 422, "VALIDATION")


async def test_scoped_key_cannot_touch_another_companys_contacts(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """A scoped key's writes reach only its own company's contacts (others are 404)."""
    other = await _other_company(client)
    foreign = await client.post(
        f"/v1/companies/{other['id']}/contacts",
        json={"name": "Foreign", "email": "f@contoso.example"},
    )
    foreign_id = foreign.json()["id"]
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.SUPPORT, seeded.company_id))
        assert_error(
            await scoped.patch(f"/v1/contacts/{foreign_id}", json={"name": "Hijacked"}),
            404,
            "NOT_FOUND",
        )
        assert_error(await scoped.post(f"/v1/contacts/{foreign_id}/archive"), 404, "NOT_FOUND")
        assert_error(
            await scoped.post(f"/v1/contacts/{foreign_id}/roles", json={"grant": ["billing"]}),
            404,
            "NOT_FOUND",
        )
        own = await scoped.patch(
            f"/v1/contacts/{seeded.billing_contact_id}", json={"name": "Dana R."}
        )
        assert own.json()["name"] == "Dana R."
        pricing = await scoped.patch(f"/v1/companies/{seeded.company_id}", json={"region": "CA"})
        assert_error(pricing, 403, "AUTHZ")
        primary = await scoped.put(
            f"/v1/companies/{seeded.company_id}/primary-contacts/shipping",
            json={"contact_id": seeded.operations_contact_id},
        )
        assert primary.json()["primary_contacts"]["shipping"] == seeded.operations_contact_id
    unchanged = (await client.get(f"/v1/companies/{other['id']}/contacts")).json()
    assert unchanged["items"][0]["name"] == "Foreign"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/companies/{company}/contacts", {"name": "R", "email": "r@x.example"}),
        ("patch", "/v1/contacts/{contact}", {"name": "R"}),
        ("post", "/v1/contacts/{contact}/archive", None),
        ("post", "/v1/contacts/{contact}/roles", {"grant": ["technical"]}),
        ("patch", "/v1/companies/{company}", {"region": "CA-QC"}),
        ("put", "/v1/companies/{company}/primary-contacts/billing", {"contact_id": None}),
        ("post", "/v1/companies/{company}/addresses", {"lines": ["1 A St"], "city": "Ottawa",
                                                       "country": "CA"}),
        ("patch", "/v1/addresses/{address}", {"city": "Ottawa"}),
    ],
)  # fmt: skip
async def test_readonly_key_cannot_write_customers(
    app: Litestar,
    keys: Keys,
    seeded: SeededCatalogue,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """Every customers write answers 403 to a readonly key and changes nothing."""
    url = path.format(
        company=seeded.company_id,
        contact=seeded.operations_contact_id,
        address=seeded.shipping_address_id,
    )
    async with AsyncTestClient(app=app) as readonly:
        readonly.headers.update(await keys.headers(Role.READONLY))
        before = await _customer_state(readonly, seeded.company_id)
        response = await readonly.request(method.upper(), url, json=body)
        error = assert_error(response, 403, "AUTHZ")
        assert error["details"] == {"role": "readonly", "family": "customers"}
        assert await _customer_state(readonly, seeded.company_id) == before


async def _customer_state(client: Client, company_id: str) -> list[Any]:
    paths = ["", "/contacts?include_archived=true", "/addresses"]
    return [(await client.get(f"/v1/companies/{company_id}{path}")).json() for path in paths]


# -- addresses -------------------------------------------------------------------------------


async def test_add_and_list_addresses(client: Client, seeded: SeededCatalogue) -> None:
    """A new address is unverified; submitting the same address again returns the first."""
    url = f"/v1/companies/{seeded.company_id}/addresses"
    body = {
        "lines": ["200 Bay St", "Suite 5"],
        "city": "Toronto",
        "country": "ca",
        "region": "ON",
        "postal_code": "m5j 2j5",
    }
    created = await client.post(url, json=body)
    assert created.status_code == 201
    address = created.json()
    assert address["lines"] == ["200 Bay St", "Suite 5"]
    assert address["country"] == "CA"
    assert address["validation_status"] == "unverified"

    again = await client.post(url, json={**body, "lines": ["200 BAY ST.", "suite 5"]})
    assert again.json()["id"] == address["id"]

    listed = (await client.get(url)).json()
    assert listed["total"] == 3
    assert address["id"] in [a["id"] for a in listed["items"]]

    no_lines = await client.post(url, json={**body, "lines": []})
    error = assert_error(no_lines, 400, "VALIDATION")
    assert error["details"]["fields"][0]["source"] == "body"
    bad_country = await client.post(url, json={**body, "country": "XX"})
    assert_error(bad_country, 422, "VALIDATION")
    assert_error(await client.get("/v1/companies/cmp_missing/addresses"), 404, "NOT_FOUND")


async def test_patch_address(client: Client, seeded: SeededCatalogue) -> None:
    """Editing an address changes the fields sent; duplicating a sibling is a conflict."""
    url = f"/v1/addresses/{seeded.shipping_address_id}"
    changed = await client.patch(url, json={"lines": ["57 Industrial Rd"], "postal_code": None})
    assert changed.status_code == 200
    assert changed.json()["lines"] == ["57 Industrial Rd"]
    assert changed.json()["postal_code"] is None
    assert changed.json()["city"] == "Mississauga"

    twin = await client.patch(
        url,
        json={"lines": ["100 King St W"], "city": "Toronto", "postal_code": "M5X 1A9"},
    )
    error = assert_error(twin, 409, "CONFLICT")
    assert error["details"]["existing_address_id"] == seeded.billing_address_id
    assert_error(await client.patch("/v1/addresses/adr_missing", json={}), 404, "NOT_FOUND")


async def test_scoped_key_cannot_edit_another_companys_address(
    client: Client, app: Litestar, keys: Keys, seeded: SeededCatalogue
) -> None:
    """Another company's address is 'not found' to a scoped key."""
    other = await _other_company(client)
    foreign = await client.post(
        f"/v1/companies/{other['id']}/addresses",
        json={"lines": ["1 Main St"], "city": "Fresno", "country": "US"},
    )
    async with AsyncTestClient(app=app) as scoped:
        scoped.headers.update(await keys.headers(Role.SUPPORT, seeded.company_id))
        response = await scoped.patch(
            f"/v1/addresses/{foreign.json()['id']}", json={"city": "Elsewhere"}
        )
        assert_error(response, 404, "NOT_FOUND")
        assert_error(
            await scoped.post(
                f"/v1/companies/{other['id']}/addresses",
                json={"lines": ["2 Main St"], "city": "Fresno", "country": "US"},
            ),
            404,
            "NOT_FOUND",
        )
        own = await scoped.patch(
            f"/v1/addresses/{seeded.shipping_address_id}", json={"city": "Brampton"}
        )
        assert own.json()["city"] == "Brampton"
