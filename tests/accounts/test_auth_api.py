"""Authentication through the JSON API: register, login, refresh, logout, throttling, hashes."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from argon2 import PasswordHasher
from litestar import Litestar

from app.accounts import security
from tests.factories import PASSWORD, Tenants


async def test_quick_start_register_login_and_call_with_bearer(client: httpx.AsyncClient) -> None:
    """The reference CRM-SaaS quick start works under /v2 with its own field names."""
    registered = await client.post(
        "/v2/auth/register",
        json={"email": "admin@company.com", "password": "Admin@123", "tenantName": "My Company", "companyName": "Acme Corp"},
    )
    assert registered.status_code == 201
    assert registered.headers["location"] == "/v2/auth/me"
    login = await client.post("/v2/auth/login", json={"email": "admin@company.com", "password": "Admin@123"})
    assert login.status_code == 200
    body = login.json()
    assert {"token", "refreshToken", "expiresIn", "tenantId", "userId", "access_token", "token_type"} <= body.keys()
    me = await client.get("/v2/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["tenant_id"] == body["tenantId"]
    assert me.json()["role"] == "admin"
    assert me.json()["email"] == "admin@company.com"
    assert "password_hash" not in me.json()


async def test_register_refuses_duplicate_email_and_missing_tenant_name(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    again = await client.post("/v2/auth/register", json={"email": admin.email.upper(), "password": PASSWORD, "tenant_name": "Other"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    nameless = await client.post("/v2/auth/register", json={"email": "x@y.example.com", "password": PASSWORD})
    assert nameless.status_code == 422
    assert nameless.json()["error"]["details"]["field"] == "tenant_name"


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    wrong = await client.post("/v2/auth/login", json={"email": admin.email, "password": "not the password"})
    unknown = await client.post("/v2/auth/login", json={"email": "nobody@nowhere.example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json()["error"].items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert wrong.json()["error"]["code"] == "AUTHENTICATION_ERROR"


async def test_repeated_failures_throttle_the_account_even_with_the_right_password(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for _ in range(5):
        assert (await client.post("/v2/auth/login", json={"email": admin.email, "password": "guess"})).status_code == 401
    locked = await client.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(locked.headers["retry-after"]) > 0
    # Unknown accounts are throttled the same way, so throttling does not reveal who exists.
    for _ in range(5):
        await client.post("/v2/auth/login", json={"email": "ghost@nowhere.example.com", "password": "guess"})
    assert (await client.post("/v2/auth/login", json={"email": "ghost@nowhere.example.com", "password": "guess"})).status_code == 429


async def test_parallel_guesses_cannot_get_past_the_lockout(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    guesses = await asyncio.gather(
        *(client.post("/v2/auth/login", json={"email": admin.email, "password": f"guess{n}"}) for n in range(20))
    )
    statuses = [r.status_code for r in guesses]
    assert statuses.count(401) <= 5 and statuses.count(429) >= 15


async def test_successful_login_resets_the_failure_count(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for _ in range(4):
        await client.post("/v2/auth/login", json={"email": admin.email, "password": "guess"})
    assert (await client.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD})).status_code == 200
    for _ in range(4):
        await client.post("/v2/auth/login", json={"email": admin.email, "password": "guess"})
    assert (await client.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD})).status_code == 200


async def test_password_hashes_are_argon2id_and_upgraded_at_login(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection, production_hashing: None
) -> None:
    admin = await tenants.create()
    stored = await db.fetchval("SELECT password_hash FROM account WHERE email = $1", admin.email)
    assert stored.startswith("$argon2id$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await db.execute("UPDATE account SET password_hash = $1 WHERE email = $2", weak, admin.email)
    assert (await client.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD})).status_code == 200
    upgraded = await db.fetchval("SELECT password_hash FROM account WHERE email = $1", admin.email)
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)


async def test_refresh_rotates_and_the_old_refresh_token_dies(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    first = await client.post("/v2/auth/refresh", json={"refreshToken": admin.refresh_token})
    assert first.status_code == 200
    new_access = first.json()["token"]
    assert (await client.get("/v2/auth/me", headers={"Authorization": f"Bearer {new_access}"})).status_code == 200
    replay = await client.post("/v2/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert replay.status_code == 401
    # An access token is not a refresh token.
    assert (await client.post("/v2/auth/refresh", json={"refresh_token": new_access})).status_code == 401


async def test_logout_revokes_the_access_and_refresh_tokens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    out = await client.post("/v2/auth/logout", headers=admin.auth, json={"refresh_token": admin.refresh_token})
    assert out.status_code == 204
    assert (await client.get("/v2/auth/me", headers=admin.auth)).status_code == 401
    assert (await client.post("/v2/auth/refresh", json={"refresh_token": admin.refresh_token})).status_code == 401


async def test_tampered_or_malformed_tokens_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    tampered = admin.token[:-3] + ("AAA" if not admin.token.endswith("AAA") else "BBB")
    for header in (f"Bearer {tampered}", "Bearer", "Basic abc", f"Token {admin.token}"):
        response = await client.get("/v2/auth/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"
    assert (await client.get("/v2/auth/me")).status_code == 401


async def test_deactivated_users_tokens_stop_working(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    assert (await client.get("/v2/auth/me", headers=agent.auth)).status_code == 200
    assert (await client.patch(f"/v2/users/{agent.user_id}", headers=admin.auth, json={"is_active": False})).status_code == 200
    assert (await client.get("/v2/auth/me", headers=agent.auth)).status_code == 401
    assert (await client.post("/v2/auth/login", json={"email": agent.email, "password": PASSWORD})).status_code == 401
    assert (await client.patch(f"/v2/users/{agent.user_id}", headers=admin.auth, json={"is_active": True})).status_code == 200
    assert (await client.get("/v2/auth/me", headers=agent.auth)).status_code == 401, "reactivation revives no old token"
    old_refresh = await client.post("/v2/auth/refresh", json={"refresh_token": agent.refresh_token})
    assert old_refresh.status_code == 401, "nor an old refresh token"
    fresh = await tenants.login(agent.email)
    assert (await client.get("/v2/auth/me", headers=fresh.auth)).status_code == 200, "a new login works again"


async def test_role_changes_apply_to_existing_tokens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    assert (await client.get("/v2/users", headers=manager.auth)).status_code == 200
    await client.patch(f"/v2/users/{manager.user_id}", headers=admin.auth, json={"role": "agent"})
    assert (await client.get("/v2/users", headers=manager.auth)).status_code == 403


async def test_passwords_are_normalised_and_never_only_spaces(client: httpx.AsyncClient) -> None:
    composed = "P\u00e4sswort-2026"  # ä as one code point
    decomposed = "Pa\u0308sswort-2026"  # a + combining diaeresis, as some keyboards type it
    made = await client.post("/v2/auth/register", json={"email": "nfkc@example.com", "password": composed, "tenant_name": "NFKC"})
    assert made.status_code == 201
    assert (await client.post("/v2/auth/login", json={"email": "nfkc@example.com", "password": decomposed})).status_code == 200
    assert (await client.post("/v2/auth/login", json={"email": "nfkc@example.com", "password": "Passwort-2026"})).status_code == 401
    spaces = await client.post("/v2/auth/register", json={"email": "spaces@example.com", "password": " " * 12, "tenant_name": "S"})
    assert spaces.status_code == 422 and spaces.json()["error"]["details"]["field"] == "password"
    token = made.json()["token"]
    added = await client.post(
        "/v2/users",
        headers={"Authorization": f"Bearer {token}"},
        json={"email": "blank@example.com", "password": "\t" * 9, "full_name": "Blank", "role": "agent"},
    )
    assert added.status_code == 422 and added.json()["error"]["details"]["field"] == "password"


async def test_registration_is_throttled_per_address(client: httpx.AsyncClient) -> None:
    answers = [
        (
            await client.post(
                "/v2/auth/register", json={"email": f"probe{n}@example.com", "password": "long enough 1", "tenant_name": f"P{n}"}
            )
        ).status_code
        for n in range(21)
    ]
    assert answers[:20] == [201] * 20 and answers[20] == 429, "20 registrations per address in 15 minutes"
    taken = await client.post("/v2/auth/register", json={"email": "probe1@example.com", "password": "long enough 1", "tenant_name": "X"})
    assert taken.status_code == 429, "so probing whether addresses are taken stops too"


async def test_a_guessing_flood_cannot_take_the_hashing_normal_logins_need(
    client: httpx.AsyncClient, tenants: Tenants, app: Litestar, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    for n in range(3):  # this address has failed: its next logins are suspects
        assert (await client.post("/v2/auth/login", json={"email": f"ghost{n}@example.com", "password": "guess-it"})).status_code == 401
    async with security._SUSPECTS:  # the suspects' lane is busy, as in a flood
        flood = [
            asyncio.create_task(client.post("/v2/auth/login", json={"email": f"flood{n}@example.com", "password": "guess-it"}))
            for n in range(security.SUSPECT_QUEUE + 3)
        ]
        await asyncio.sleep(0.5)
        refused = [task for task in flood if task.done()]
        assert len(refused) == 3 and all(task.result().status_code == 429 for task in refused), "past the waiting line: retry"
        transport = httpx.ASGITransport(app=app, client=("192.0.2.9", 50003))  # someone else, logging in normally
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
            normal = await asyncio.wait_for(elsewhere.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD}), 5)
        assert normal.status_code == 200, "a normal login does not wait behind the flood"
    answers = await asyncio.gather(*flood)
    assert sorted(a.status_code for a in answers).count(401) == security.SUSPECT_QUEUE, "the waiting suspects are checked after"
    counted = await db.fetchval("SELECT sum(failures) FROM login_throttle WHERE account LIKE 'acct:flood%'")
    assert counted == security.SUSPECT_QUEUE, "an attempt refused before its password was checked is given back"


async def test_an_address_cannot_be_locked_by_logging_in_as_its_throttle_key(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for _ in range(7):  # "ip:127.0.0.1" as an e-mail is an account key of its own, never the address's
        await client.post("/v2/auth/login", json={"email": "ip:127.0.0.1", "password": "guess-guess"})
    assert (await client.post("/v2/auth/login", json={"email": admin.email, "password": PASSWORD})).status_code == 200
