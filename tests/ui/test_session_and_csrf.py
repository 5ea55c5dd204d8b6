"""Browser UI over HTTP: login sessions, CSRF on every unsafe request, role-aware pages, htmx fragments."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
import httpx
from litestar import Litestar

from app.settings import Settings
from tests.factories import PASSWORD, Tenants
from tests.helpers import browser_client, browser_login, csrf_of


async def test_login_page_and_redirect_when_logged_out(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    redirect = await client.get("/settings/team")
    assert redirect.status_code in (302, 303, 307) and redirect.headers["location"].startswith("/login?next=/settings/team")
    htmx = await client.get("/settings/team", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/login")


async def test_login_sets_a_hardened_cookie_and_rotates_the_session(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    first = await browser_login(client, admin)
    assert first.status_code == 303 and first.headers["location"] == "/settings/team"
    set_cookie = first.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    old = client.cookies.get("atrium_session")
    second = await browser_login(client, admin)
    assert second.status_code == 303
    new = client.cookies.get("atrium_session")
    assert new and new != old
    assert await db.fetchval("SELECT count(*) FROM user_session WHERE user_id = $1", admin.user_id) == 1
    assert (await client.get("/settings/team", headers={"Cookie": f"atrium_session={old}"})).status_code in (302, 303, 307)
    assert (await client.get("/settings/team")).status_code == 200


async def test_wrong_password_in_the_browser_changes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    response = await browser_login(client, admin, password="nope")
    assert response.status_code == 401
    assert "Invalid email or password" in response.text
    assert client.cookies.get("atrium_session") is None


async def test_missing_or_wrong_csrf_token_is_403(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    page = await client.get("/login")
    no_token = await client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert no_token.status_code == 403
    assert (await browser_login(client, admin)).status_code == 303
    without = await client.post("/settings/api-keys", data={"name": "x"}, headers={"HX-Request": "true"})
    assert without.status_code == 403
    forged = await client.post(
        "/settings/api-keys", data={"name": "x"}, headers={"HX-Request": "true", "x-csrf-token": "forged" + csrf_of(page.text)[6:]}
    )
    assert forged.status_code == 403
    team = await client.get("/settings/team")
    ok = await client.post("/settings/api-keys", data={"name": "x"}, headers={"HX-Request": "true", "x-csrf-token": csrf_of(team.text)})
    assert ok.status_code == 200
    keys = (await client.get("/v2/api-keys", headers=admin.auth)).json()
    assert keys["total"] == 1, "only the request with a valid token created a key"


async def test_a_planted_csrf_pair_does_not_pass_with_a_victims_session(client: httpx.AsyncClient, tenants: Tenants, app: Litestar) -> None:
    victim = await tenants.create()
    async with browser_client(app) as attacker:
        lure = await attacker.get("/login")  # the attacker's own, valid cookie and token pair
        planted_cookie, planted_token = attacker.cookies.get("atrium_csrf"), csrf_of(lure.text)
    assert (await browser_login(client, victim)).status_code == 303
    session = client.cookies.get("atrium_session")
    forged = await client.post(
        "/settings/api-keys",
        data={"name": "planted", "_csrf_token": planted_token},
        headers={"Cookie": f"atrium_session={session}; atrium_csrf={planted_cookie}"},
    )
    assert forged.status_code == 403, "the token must be the victim's session's own"
    assert (await client.get("/v2/api-keys", headers=victim.auth)).json()["total"] == 0
    own = csrf_of((await client.get("/settings/api-keys")).text)
    made = await client.post(
        "/settings/api-keys",
        data={"name": "mine", "_csrf_token": own},
        headers={"Cookie": f"atrium_session={session}; atrium_csrf={planted_cookie}"},
    )
    assert made.status_code in (200, 201), "the session's token works whatever CSRF cookie the browser holds"


async def test_logout_kills_the_session_server_side(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    session = client.cookies.get("atrium_session")
    page = await client.get("/settings/team")
    out = await client.post("/logout", data={"_csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert await db.fetchval("SELECT count(*) FROM user_session WHERE user_id = $1", admin.user_id) == 0
    assert (await client.get("/settings/team", headers={"Cookie": f"atrium_session={session}"})).status_code in (302, 303, 307)


async def test_deactivating_a_user_ends_their_browser_sessions(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await browser_login(client, agent)
    agent_session = client.cookies.get("atrium_session")
    assert (await client.get("/", headers={"Cookie": f"atrium_session={agent_session}"})).status_code == 200
    client.cookies.clear()
    await browser_login(client, admin)
    page = await client.get("/settings/team")
    response = await client.patch(
        f"/settings/team/{agent.user_id}", data={"is_active": "false"}, headers={"HX-Request": "true", "x-csrf-token": csrf_of(page.text)}
    )
    assert response.status_code == 200
    assert f'id="user-{agent.user_id}"' in response.text and "deactivated" in response.text
    assert "<html" not in response.text, "htmx gets the row fragment, not the page"
    assert await db.fetchval("SELECT count(*) FROM user_session WHERE user_id = $1", agent.user_id) == 0
    client.cookies.clear()
    assert (await client.get("/", headers={"Cookie": f"atrium_session={agent_session}"})).status_code in (302, 303, 307)


async def test_ui_never_accepts_api_keys_or_bearer_tokens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "write")
    for headers in ({"X-API-Key": key}, admin.auth):
        response = await client.get("/settings/api-keys", headers=headers)
        assert response.status_code in (302, 303, 307)


async def test_pages_are_role_aware(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    manager = await tenants.add_user(admin, "manager")
    await browser_login(client, agent)
    assert (await client.get("/")).status_code == 200
    for path in ("/settings/api-keys", "/settings/team", "/settings/audit-log", "/settings/jobs"):
        denied = await client.get(path)
        assert denied.status_code == 403, path
        assert "Not allowed" in denied.text
    client.cookies.clear()
    await browser_login(client, manager)
    team = await client.get("/settings/team")
    assert team.status_code == 200 and "Add a team member" not in team.text
    assert (
        await client.post("/settings/team", data={"email": "x@example.com"}, headers={"x-csrf-token": csrf_of(team.text)})
    ).status_code == 403


async def test_htmx_requests_get_the_block_and_full_requests_the_page(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    full = await client.get("/settings/audit-log")
    assert full.status_code == 200 and "<html" in full.text and 'id="audit-table"' in full.text
    fragment = await client.get("/settings/audit-log", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="audit-table"' in fragment.text
    assert "auth.login" in fragment.text


async def test_invite_form_shows_inline_errors_and_creates_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    page = await client.get("/settings/team")
    headers = {"HX-Request": "true", "x-csrf-token": csrf_of(page.text)}
    bad = await client.post("/settings/team", data={"full_name": "Ann", "email": "not-an-email", "role": "agent"}, headers=headers)
    assert bad.status_code == 422
    assert "Enter a valid e-mail address" in bad.text and 'value="Ann"' in bad.text
    assert (await client.get("/v2/invitations", headers=admin.auth)).json()["total"] == 0
    good = await client.post("/settings/team", data={"full_name": "Ann", "email": "ann@example.com", "role": "support"}, headers=headers)
    assert good.status_code == 200 and "ann@example.com" in good.text and "http://testserver/invitations/" in good.text
    assert (await client.get("/v2/invitations", headers=admin.auth)).json()["total"] == 1
    assert (await client.get("/v2/users", headers=admin.auth)).json()["total"] == 1, "a member only once they accept"
    mine = await client.post("/settings/team", data={"email": admin.email, "role": "agent"}, headers=headers)
    assert mine.status_code == 422 and "already on your team" in mine.text


async def test_every_section_is_built_and_unknown_pages_are_not_found(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    # Every placeholder is built now: the analytics domain took the last one's place (its nav key) in the menu.
    page = await client.get("/analytics")
    assert page.status_code == 200 and "Coming soon" not in page.text and "Sales funnel" in page.text
    assert (await client.get("/definitely-not-here")).status_code == 404


async def test_dashboard_counts_the_tenants_leads(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    for n, status in enumerate(("NEW", "QUALIFIED", "QUALIFIED")):
        await client.post("/v2/leads", headers=admin.auth, json={"name": f"L{n}", "status": status})
    await client.post("/v2/leads", headers=other.auth, json={"name": "Other"})
    await browser_login(client, admin)
    page = await client.get("/")
    assert page.status_code == 200
    assert '<span class="kpi-value">3</span><span class="kpi-label">leads</span>' in page.text
    assert '<span class="kpi-value">2</span><span class="kpi-label">qualified</span>' in page.text


def test_cookies_carry_the_host_prefix_under_https(settings: Settings) -> None:
    secure = replace(settings, cookie_secure=True)
    assert (secure.session_cookie, secure.csrf_cookie) == ("__Host-atrium_session", "__Host-atrium_csrf")
    plain = replace(settings, cookie_secure=False)
    assert (plain.session_cookie, plain.csrf_cookie) == ("atrium_session", "atrium_csrf"), "browsers refuse __Host- without HTTPS"


async def test_one_address_guessing_many_accounts_is_stopped_in_the_browser_and_the_api(
    client: httpx.AsyncClient, tenants: Tenants, app: Litestar
) -> None:
    admin = await tenants.create()
    token = csrf_of((await client.get("/login")).text)
    for n in range(20):  # a different account each time: no account lock, only the address's
        wrong = await client.post("/login", data={"email": f"nobody{n}@example.com", "password": "guess-guess", "_csrf_token": token})
        assert wrong.status_code == 401
    assert (await browser_login(client, admin)).status_code == 303, "a success in between is not counted"
    await client.post("/logout", data={"_csrf_token": csrf_of((await client.get("/")).text)})
    token = csrf_of((await client.get("/login")).text)
    statuses = [
        (await client.post("/v2/auth/login", json={"email": f"other{n}@example.com", "password": "guess-guess"})).status_code
        for n in range(12)
    ]
    assert statuses.count(401) == 10 and statuses[-1] == 429, "30 failures from one address, browser and API together"
    locked = await client.post("/login", data={"email": admin.email, "password": PASSWORD, "_csrf_token": token})
    assert locked.status_code == 429 and "Too many" in locked.text, "the address is locked, even with the right password"
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 50002))  # another address
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await browser_login(elsewhere, admin)).status_code == 303


async def test_a_page_from_an_earlier_session_says_reload_or_log_in(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    stale_token = csrf_of((await client.get("/settings/api-keys")).text)
    await browser_login(client, admin)  # signed in again (another tab): a new session
    old_page = await client.post("/settings/api-keys", data={"name": "x", "_csrf_token": stale_token})
    assert old_page.status_code == 403 and "out of date" in old_page.text, "not a bare CSRF failure"
    token = csrf_of((await client.get("/settings/api-keys")).text)
    session = client.cookies.get("atrium_session")
    assert (await client.post("/logout", data={"_csrf_token": token})).status_code == 303
    client.cookies.set("atrium_session", str(session))  # a tab that still holds the ended session and its page
    ended = await client.post("/settings/api-keys", data={"name": "x", "_csrf_token": token})
    assert ended.status_code in (302, 303) and ended.headers["location"].startswith("/login"), "sent to log in, not a 403"
    assert (await client.get("/v2/api-keys", headers=admin.auth)).json()["total"] == 0
