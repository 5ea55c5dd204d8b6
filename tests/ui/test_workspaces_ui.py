"""Browser UI over HTTP for people in several workspaces: the invitation page, the picker after login, the switcher."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD, Account, Tenants
from tests.helpers import browser_login, csrf_of


def _token(invitation: dict[str, object]) -> str:
    return str(invitation["accept_url"]).rsplit("/", 1)[1]


async def test_the_team_screen_answers_alike_for_an_address_with_an_account_elsewhere(client: httpx.AsyncClient, tenants: Tenants) -> None:
    elsewhere = await tenants.create()
    admin = await tenants.create()
    await browser_login(client, admin)
    headers = {"HX-Request": "true", "x-csrf-token": csrf_of((await client.get("/settings/team")).text)}

    def normalised(html: str, email: str) -> str:
        html = html.replace(email, "<address>")
        html = re.sub(r"/invitations/[A-Za-z0-9_-]+", "/invitations/<token>", html)
        html = re.sub(r"<time[^>]*>.*?</time>", "<time>", html)
        return re.sub(r"invitation-\d+|/invitations/\d+/", "<id>", html)

    taken = await client.post("/settings/team", data={"email": elsewhere.email, "full_name": "", "role": "agent"}, headers=headers)
    await client.post(f"/settings/team/invitations/{1}/revoke", headers=headers)  # leave only the second one listed
    fresh = await client.post("/settings/team", data={"email": "someone-new@example.com", "role": "agent"}, headers=headers)
    assert taken.status_code == fresh.status_code == 200
    assert normalised(taken.text, elsewhere.email) == normalised(fresh.text, "someone-new@example.com")


async def test_an_invited_new_person_joins_from_the_link_page(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create("Invite Agency")
    invitation = await tenants.invite(admin, "fresh@example.com", "agent", "Fresh")
    page = await client.get(f"/invitations/{_token(invitation)}")
    assert page.status_code == 200 and "Join Invite Agency" in page.text and "fresh@example.com" in page.text
    csrf = csrf_of(page.text)
    short = await client.post(f"/invitations/{_token(invitation)}", data={"password": "short", "_csrf_token": csrf})
    assert short.status_code == 422 and "8 characters" in short.text
    joined = await client.post(
        f"/invitations/{_token(invitation)}", data={"password": PASSWORD, "full_name": "Fresh Face", "_csrf_token": csrf}
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200 and "fresh@example.com" in home.text and "Invite Agency" in home.text
    used = await client.get(f"/invitations/{_token(invitation)}")
    assert used.status_code == 404 and "not valid" in used.text


async def test_a_person_in_two_workspaces_picks_one_after_login_and_switches(client: httpx.AsyncClient, tenants: Tenants) -> None:
    home = await tenants.create("Alpha Homes")
    other = await tenants.create("Beta Realty")
    stranger = await tenants.create("Gamma Estates")
    invitation = await tenants.invite(other, home.email, "agent")
    page = await client.get(f"/invitations/{_token(invitation)}")
    wrong = await client.post(f"/invitations/{_token(invitation)}", data={"password": "not it at all", "_csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401 and "Invalid email or password" in wrong.text
    assert (await tenants.accept(invitation)).status_code == 200

    login = await browser_login(client, home)
    assert login.status_code == 303 and login.headers["location"].startswith("/workspaces")
    assert client.cookies.get("atrium_session") is None, "no session until a workspace is chosen"
    picker = await client.get(login.headers["location"])
    assert picker.status_code == 200 and "Alpha Homes" in picker.text and "Beta Realty" in picker.text
    assert "Gamma Estates" not in picker.text
    csrf = csrf_of(picker.text)
    # Another tenant's id is refused as if it did not exist.
    refused = await client.post("/workspaces", data={"tenant_id": str(stranger.tenant_id), "_csrf_token": csrf})
    assert refused.status_code == 404
    chosen = await client.post("/workspaces", data={"tenant_id": str(other.tenant_id), "next": "/settings/team", "_csrf_token": csrf})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/settings/team"
    home_page = await client.get("/")
    assert 'id="workspace-switcher"' in home_page.text and "Beta Realty" in home_page.text
    assert (await client.get("/settings/team")).status_code == 403, "an agent in Beta Realty"

    switcher = await client.get("/workspaces")
    assert switcher.status_code == 200 and "(current)" in switcher.text
    switched = await client.post("/workspaces", data={"tenant_id": str(home.tenant_id), "_csrf_token": csrf_of(switcher.text)})
    assert switched.status_code == 303
    assert (await client.get("/settings/team")).status_code == 200, "an admin in Alpha Homes"
    fresh_page = await client.get("/workspaces")  # a new session: its own CSRF token
    again = await client.post("/workspaces", data={"tenant_id": str(stranger.tenant_id), "_csrf_token": csrf_of(fresh_page.text)})
    assert again.status_code == 404


async def test_a_deactivated_membership_is_not_offered_and_its_only_other_workspace_opens_directly(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    home = await tenants.create()
    other = await tenants.create()
    joined = await tenants.accept(await tenants.invite(other, home.email))
    member = joined.json()["userId"]
    assert (await client.patch(f"/v2/users/{member}", headers=other.auth, json={"is_active": False})).status_code == 200
    login = await browser_login(client, home)
    assert login.status_code == 303 and login.headers["location"] == "/settings/team"


async def test_workspace_screens_need_a_login_or_a_fresh_password_check(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    assert (await client.get("/workspaces")).headers["location"] == "/login"
    page = await client.get("/login")
    forged = await client.post(
        "/workspaces",
        data={"tenant_id": str(admin.tenant_id), "_csrf_token": csrf_of(page.text)},
        cookies={"atrium_workspace_choice": "forged"},
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/login"
    assert client.cookies.get("atrium_session") is None


async def test_team_invitations_are_withdrawn_only_by_admins_of_their_tenant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    invitation = await tenants.invite(a, "pending@example.com")
    manager = await tenants.add_user(a, "manager")
    for who, status in ((b, 404), (manager, 403)):
        client.cookies.clear()
        await browser_login(client, Account(who.tenant_id, who.user_id, who.email, who.role, who.token, who.refresh_token))
        headers = {"HX-Request": "true", "x-csrf-token": csrf_of((await client.get("/")).text)}
        assert (await client.post(f"/settings/team/invitations/{invitation['id']}/revoke", headers=headers)).status_code == status
    assert (await client.get("/v2/invitations", headers=a.auth)).json()["total"] == 1
