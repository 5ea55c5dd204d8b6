"""People in several tenants: global accounts, invitations, choosing the workspace at login (issue #9)."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import asyncpg
import httpx

from tests.factories import PASSWORD, Tenants


def _visible(response: httpx.Response, email: str) -> tuple[int, dict[str, Any], list[str]]:
    """What an admin sees of an invitation answer, with what differs between any two invitations (ids, times,
    the address itself, the link's token) taken out."""
    body = response.json()
    assert body["accept_url"].startswith("http://testserver/invitations/")
    varying = {"id", "created_at", "expires_at", "accept_url"}
    shown = {k: (v.replace(email, "<address>") if isinstance(v, str) else v) for k, v in body.items() if k not in varying}
    headers = sorted(h for h in response.headers if h not in ("x-request-id", "x-process-time", "content-length", "etag"))
    return response.status_code, shown, headers


async def test_adding_an_address_with_an_account_in_another_tenant_answers_as_for_a_new_address(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    elsewhere = await tenants.create()
    admin = await tenants.create()
    taken = await client.post("/v2/users", headers=admin.auth, json={"email": elsewhere.email, "full_name": "Pat", "role": "agent"})
    fresh = await client.post(
        "/v2/users", headers=admin.auth, json={"email": "nobody-yet@example.com", "full_name": "Pat", "role": "agent"}
    )
    assert taken.status_code == 201, "no 409 for another tenant's address"
    assert _visible(taken, elsewhere.email) == _visible(fresh, "nobody-yet@example.com")
    assert taken.headers["location"] == f"/v2/invitations/{taken.json()['id']}"
    # Nor does the list of pending invitations tell them apart.
    listed = (await client.get("/v2/invitations", headers=admin.auth)).json()["data"]
    assert {tuple(sorted(set(i) - {"id"})) for i in listed} == {tuple(sorted(set(listed[0]) - {"id"}))}
    # Registration is the one answer that tells an address is taken (the guides' Quick Start), throttled per address.
    again = await client.post("/v2/auth/register", json={"email": elsewhere.email, "password": PASSWORD, "tenant_name": "X"})
    assert again.status_code == 409


async def test_an_existing_account_joins_with_its_password_and_chooses_the_workspace_at_login(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    home = await tenants.create("Home Agency")
    other = await tenants.create("Second Agency")
    stranger = await tenants.create("Stranger Agency")
    invitation = await tenants.invite(other, home.email, "manager", "Consultant")
    wrong = await tenants.accept(invitation, password="not the password")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "AUTHENTICATION_ERROR"
    joined = await tenants.accept(invitation)
    assert joined.status_code == 200
    assert joined.json()["tenantId"] == other.tenant_id and joined.json()["user"]["role"] == "manager"
    assert joined.json()["user"]["email"] == home.email
    assert (await tenants.accept(invitation)).status_code == 404, "a link works once"

    # Several workspaces and no X-Tenant-ID: told to choose among the account's own workspaces, nothing else.
    ambiguous = await client.post("/v2/auth/login", json={"email": home.email, "password": PASSWORD})
    assert ambiguous.status_code == 400
    error = ambiguous.json()["error"]
    assert error["details"]["field"] == "X-Tenant-ID"
    assert error["details"]["tenants"] == [
        {"id": home.tenant_id, "name": "Home Agency"},
        {"id": other.tenant_id, "name": "Second Agency"},
    ]
    wrong_then = await client.post("/v2/auth/login", json={"email": home.email, "password": "nope"})
    assert wrong_then.status_code == 401 and "tenants" not in wrong_then.json()["error"].get("details", {}), "only after the password"
    in_home = await tenants.login(home.email, tenant_id=home.tenant_id)
    in_other = await tenants.login(home.email, tenant_id=other.tenant_id)
    assert (in_home.tenant_id, in_home.role) == (home.tenant_id, "admin")
    assert (in_other.tenant_id, in_other.role) == (other.tenant_id, "manager")
    # The tokens of one workspace are for that workspace only.
    assert (await client.get("/v2/users", headers={**in_other.auth, "X-Tenant-ID": str(home.tenant_id)})).status_code == 403
    assert {u["email"] for u in (await client.get("/v2/users", headers=in_other.auth)).json()["data"]} == {other.email, home.email}
    refused = await client.post(
        "/v2/auth/login", json={"email": home.email, "password": PASSWORD}, headers={"X-Tenant-ID": str(stranger.tenant_id)}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    workspaces = (await client.get("/v2/auth/workspaces", headers=in_other.auth)).json()
    assert [(w["tenant_id"], w["role"]) for w in workspaces] == [(home.tenant_id, "admin"), (other.tenant_id, "manager")]


async def test_a_new_person_joins_by_choosing_a_password(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    invitation = await tenants.invite(admin, "New.Person@Example.com", "support", "As The Admin Wrote It")
    short = await tenants.accept(invitation, password="short")
    assert short.status_code == 422 and short.json()["error"]["details"]["field"] == "password"
    joined = await tenants.accept(invitation, full_name="New Person")
    assert joined.status_code == 200
    me = joined.json()["user"]
    assert (me["email"], me["full_name"], me["role"], me["tenant_id"]) == (
        "new.person@example.com",
        "New Person",
        "support",
        admin.tenant_id,
    )
    assert (await tenants.login("new.person@example.com")).tenant_id == admin.tenant_id
    assert await db.fetchval("SELECT count(*) FROM account WHERE email = 'new.person@example.com'") == 1
    assert (await client.get("/v2/invitations", headers=admin.auth)).json()["total"] == 0
    # An expired link joins nobody and creates no account.
    late = await tenants.invite(admin, "late@example.com")
    await db.execute("UPDATE invitation SET expires_at = now() - interval '1 minute' WHERE id = $1", late["id"])
    assert (await tenants.accept(late)).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM account WHERE email = 'late@example.com'") == 0
    bogus = await client.post("/v2/auth/accept-invitation", json={"token": "not-a-token", "password": PASSWORD})
    assert bogus.status_code == 404 and bogus.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


async def test_deactivation_in_one_workspace_leaves_the_persons_other_workspaces(client: httpx.AsyncClient, tenants: Tenants) -> None:
    home = await tenants.create()
    other = await tenants.create()
    assert (await tenants.accept(await tenants.invite(other, home.email))).status_code == 200
    in_home = await tenants.login(home.email, tenant_id=home.tenant_id)
    in_other = await tenants.login(home.email, tenant_id=other.tenant_id)
    deactivated = await client.patch(f"/v2/users/{in_other.user_id}", headers=other.auth, json={"is_active": False})
    assert deactivated.status_code == 200
    assert (await client.get("/v2/auth/me", headers=in_other.auth)).status_code == 401
    assert (await client.get("/v2/auth/me", headers=in_home.auth)).status_code == 200
    # One active workspace left: the login goes straight there; the other one is refused.
    again = await tenants.login(home.email)
    assert again.tenant_id == home.tenant_id
    refused = await client.post(
        "/v2/auth/login", json={"email": home.email, "password": PASSWORD}, headers={"X-Tenant-ID": str(other.tenant_id)}
    )
    assert refused.status_code == 403


async def test_invitations_are_seen_and_withdrawn_only_in_their_tenant_by_the_right_roles(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    a = await tenants.create()
    b = await tenants.create()
    manager = await tenants.add_user(a, "manager")
    agent = await tenants.add_user(a, "agent")
    invitation = await tenants.invite(a, "pending@example.com", "finance")
    assert (await client.get("/v2/invitations", headers=manager.auth)).json()["total"] == 1
    assert (await client.get("/v2/invitations", headers=agent.auth)).status_code == 403
    assert (await client.get("/v2/invitations", headers=b.auth)).json()["total"] == 0
    one = await client.get(f"/v2/invitations/{invitation['id']}", headers=manager.auth)
    assert one.status_code == 200 and one.json()["email"] == "pending@example.com" and "accept_url" not in one.json()
    assert (await client.get(f"/v2/invitations/{invitation['id']}", headers=b.auth)).status_code == 404
    assert (await client.get(f"/v2/invitations/{invitation['id']}", headers=agent.auth)).status_code == 403
    assert (await client.post("/v2/users", headers=agent.auth, json={"email": "x@example.com"})).status_code == 403
    assert (await client.delete(f"/v2/invitations/{invitation['id']}", headers=b.auth)).status_code == 404
    assert (await client.delete(f"/v2/invitations/{invitation['id']}", headers=manager.auth)).status_code == 403
    assert (await client.delete(f"/v2/invitations/{invitation['id']}", headers=a.auth)).status_code == 204
    assert (await client.delete(f"/v2/invitations/{invitation['id']}", headers=a.auth)).status_code == 404
    assert (await tenants.accept(invitation)).status_code == 404, "a withdrawn link joins nobody"
    # Inviting an address again replaces its pending invitation: only the newest link works.
    first = await tenants.invite(a, "twice@example.com")
    second = await tenants.invite(a, "twice@example.com", "support")
    assert (await tenants.accept(first)).status_code == 404
    assert (await tenants.accept(second)).json()["user"]["role"] == "support"
    _, key = await tenants.api_key(a, "read")
    assert (await client.get("/v2/auth/workspaces", headers={"X-API-Key": key})).status_code == 403, "an integration has no account"


async def test_with_a_mail_server_the_link_goes_only_to_the_address(client: httpx.AsyncClient, tenants: Tenants, settings: Any) -> None:
    from dataclasses import replace

    from aiosmtpd.controller import Controller

    from app import settings as app_settings
    from tests.e2e.browser import free_port

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[tuple[list[str], str]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    app_settings.install(replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp.port}"))
    try:
        elsewhere = await tenants.create()
        admin = await tenants.create("Mail Agency")
        taken = await client.post("/v2/users", headers=admin.auth, json={"email": elsewhere.email, "role": "agent"})
        fresh = await client.post("/v2/users", headers=admin.auth, json={"email": "mailed@example.com", "role": "agent"})
        for response in (taken, fresh):
            assert response.status_code == 201
            assert response.json()["accept_url"] is None and response.json()["emailed"] is True
        assert [recipients for recipients, _ in inbox.messages] == [[elsewhere.email], ["mailed@example.com"]]
        text = email.message_from_string(inbox.messages[1][1], policy=email.policy.default).get_body().get_content()  # type: ignore[union-attr]
        assert "Mail Agency" in text
        link = next(word for word in text.split() if word.startswith("http://testserver/invitations/"))
        joined = await tenants.accept({"accept_url": link}, full_name="Mailed")
        assert joined.status_code == 200 and joined.json()["tenantId"] == admin.tenant_id
    finally:
        app_settings.install(settings)
        smtp.stop()
