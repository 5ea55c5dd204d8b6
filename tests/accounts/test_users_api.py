"""Team management through the API: roles, validation, forbidden fields, ETags and If-Match."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import PASSWORD, Tenants


async def test_admin_invites_users_with_location_and_roles_are_enforced(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    created = await client.post("/v2/users", headers=admin.auth, json={"email": "Maya@Example.com", "full_name": "Maya", "role": "manager"})
    assert created.status_code == 201
    assert created.headers["location"] == f"/v2/invitations/{created.json()['id']}"
    assert created.json()["email"] == "maya@example.com" and created.json()["role"] == "manager"
    assert (await tenants.accept(created.json())).status_code == 200
    manager = await tenants.login("maya@example.com")
    assert manager.role == "manager" and manager.tenant_id == admin.tenant_id
    assert (await client.get("/v2/users", headers=manager.auth)).status_code == 200
    assert (await client.post("/v2/users", headers=manager.auth, json={"email": "z@example.com", "full_name": "Z"})).status_code == 403
    for role in ("agent", "support", "finance"):
        user = await tenants.add_user(admin, role)
        assert (await client.get("/v2/users", headers=user.auth)).status_code == 403
        assert (await client.get("/v2/audit-log", headers=user.auth)).status_code == 403


async def test_fields_a_client_may_not_set_are_refused_and_nothing_is_stored(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for extra in ({"id": 999}, {"tenant_id": 12345}, {"created_by": 1}, {"password_hash": "x"}, {"password": PASSWORD}):
        body = {"email": "evil@example.com", "full_name": "Evil", **extra}
        response = await client.post("/v2/users", headers=admin.auth, json=body)
        assert response.status_code == 422, extra
        assert response.json()["error"]["details"]["field"] == next(iter(extra))
    assert (await client.get("/v2/invitations", headers=admin.auth)).json()["total"] == 0
    users = (await client.get("/v2/users", headers=admin.auth)).json()
    assert users["total"] == 1
    patched = await client.patch(f"/v2/users/{admin.user_id}", headers=admin.auth, json={"tenant_id": 5})
    assert patched.status_code == 422


async def test_validation_errors_name_the_field_and_what_was_provided(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    bad_email = await client.post("/v2/users", headers=admin.auth, json={"email": "123456", "full_name": "X"})
    assert bad_email.status_code == 422
    error = bad_email.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"field": "email", "provided": "123456", "expected": "A valid e-mail address, e.g. name@example.com"}
    assert error["request_id"] == bad_email.headers["x-request-id"]
    role = await client.post("/v2/users", headers=admin.auth, json={"email": "a@example.com", "full_name": "X", "role": "god"})
    assert role.json()["error"]["details"]["field"] == "role"
    missing = await client.post("/v2/users", headers=admin.auth, json={"full_name": "A"})
    assert missing.json()["error"]["details"]["expected"] == "This field is required"
    dup = await client.post("/v2/users", headers=admin.auth, json={"email": admin.email, "full_name": "Dup"})
    assert dup.status_code == 409, "a member of the admin's own team may be reported"


async def test_last_admin_cannot_be_removed_and_admins_cannot_demote_themselves(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    assert (await client.patch(f"/v2/users/{admin.user_id}", headers=admin.auth, json={"role": "agent"})).status_code == 409
    assert (await client.patch(f"/v2/users/{admin.user_id}", headers=admin.auth, json={"is_active": False})).status_code == 409
    assert (await client.get("/v2/auth/me", headers=admin.auth)).json()["role"] == "admin"


async def test_etag_if_none_match_and_if_match(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    first = await client.get(f"/v2/users/{agent.user_id}", headers=admin.auth)
    etag = first.headers["etag"]
    not_modified = await client.get(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    changed = await client.patch(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-Match": etag}, json={"full_name": "Renamed"})
    assert changed.status_code == 200
    stale = await client.patch(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-Match": etag}, json={"full_name": "Lost update"})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    now = await client.get(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-None-Match": etag})
    assert now.status_code == 200 and now.json()["full_name"] == "Renamed"
    weak = await client.patch(
        f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-Match": "W/" + now.headers["etag"]}, json={"role": "support"}
    )
    assert weak.status_code == 412, "If-Match compares strongly"
    assert (
        await client.patch(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-Match": now.headers["etag"]}, json={"role": "support"})
    ).status_code == 200


async def test_list_pagination_and_sorting(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for role in ("agent", "support", "finance"):
        await tenants.add_user(admin, role)
    page = (await client.get("/v2/users?limit=2&offset=1&sort=-email", headers=admin.auth)).json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 1 and len(page["data"]) == 2
    everyone = (await client.get("/v2/users?sort=-email", headers=admin.auth)).json()["data"]
    assert [u["email"] for u in everyone] == sorted((u["email"] for u in everyone), reverse=True)
    assert [u["email"] for u in page["data"]] == [u["email"] for u in everyone[1:3]]
    assert (await client.get("/v2/users?limit=101", headers=admin.auth)).status_code == 422
    bad_sort = await client.get("/v2/users?sort=password_hash", headers=admin.auth)
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["details"]["field"] == "sort"


async def test_concurrent_writers_with_the_same_etag_cannot_both_win(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    etag = (await client.get(f"/v2/users/{agent.user_id}", headers=admin.auth)).headers["etag"]
    writes = [
        client.patch(f"/v2/users/{agent.user_id}", headers={**admin.auth, "If-Match": etag}, json={"full_name": name})
        for name in ("A", "B", "C")
    ]
    responses = await asyncio.gather(*writes)
    assert sorted(r.status_code for r in responses) == [200, 412, 412]
