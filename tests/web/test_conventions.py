"""API conventions shared by every endpoint: envelope, request ids, rate limits, idempotency, OpenAPI."""

from __future__ import annotations

import asyncio
import math
import time

import asyncpg
import httpx
import pytest

from app.web import ratelimit
from app.web.idempotency import request_fingerprint
from tests.factories import Tenants


async def test_every_error_has_the_envelope_and_request_id(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    cases = [
        (await client.get("/v2/no-such-thing"), 404, "RESOURCE_NOT_FOUND"),
        (await client.delete("/v2/health"), 405, "METHOD_NOT_ALLOWED"),
        (await client.get("/v2/users"), 401, "AUTHENTICATION_ERROR"),
        (await client.get("/v2/users/999999", headers=admin.auth), 404, "RESOURCE_NOT_FOUND"),
        (
            await client.post("/v2/users", headers={**admin.auth, "Content-Type": "application/json"}, content=b"{not json"),
            400,
            "BAD_REQUEST",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"]
        assert error["request_id"] == response.headers["x-request-id"]
        assert response.headers["x-process-time"].endswith("ms")


async def test_request_id_is_echoed_when_the_client_sends_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/health", headers={"X-Request-ID": "client-abc-12345"})
    assert response.headers["x-request-id"] == "client-abc-12345"
    odd = await client.get("/v2/health", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"].startswith("req_")


async def test_rate_limit_headers_and_429_with_retry_after(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """Starter plan: 60/min with a burst of 120; the 121st quick request is refused."""
    admin = await tenants.create(plan="starter")
    other = await tenants.create(plan="starter")
    first = await client.get("/v2/auth/me", headers=admin.auth)
    assert first.headers["x-ratelimit-limit"] == "60"
    assert int(first.headers["x-ratelimit-remaining"]) <= 60
    assert int(first.headers["x-ratelimit-reset"]) > 1_700_000_000
    assert first.headers["ratelimit-policy"] == '"starter";q=60;w=60'
    assert first.headers["ratelimit"].startswith('"starter";r=')
    statuses = []
    for _ in range(130):
        response = await client.get("/v2/auth/me", headers=admin.auth)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, "burst of 2x the plan limit should run out"
    assert 115 <= len(statuses) <= 130
    assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-remaining"] == "0"
    # The allowance is the tenant's: another key of the same tenant is throttled too.
    _, key = await tenants.api_key(other, "read")
    assert (await client.get("/v2/users", headers={"X-API-Key": key})).status_code == 200
    # One tenant's traffic never throttles another.
    assert (await client.get("/v2/auth/me", headers=other.auth)).status_code == 200


async def test_the_allowance_is_shared_by_every_credential_of_a_tenant(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    await client.get("/v2/auth/me", headers=admin.auth)
    await db.execute(
        "UPDATE rate_limit_bucket SET tokens = 0, updated_at = clock_timestamp() WHERE bucket = $1", f"tenant:{admin.tenant_id}"
    )
    assert (await client.get("/v2/users", headers={"X-API-Key": key})).status_code == 429


async def test_guessing_credentials_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    statuses = []
    for n in range(130):
        response = await client.get("/v2/users", headers={"X-API-Key": f"atr_live_guess{n:08d}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429
    assert response.headers["x-ratelimit-limit"] == "60" and int(response.headers["retry-after"]) >= 1


async def test_401_names_the_scheme(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/users")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_register_cannot_choose_a_plan(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/auth/register", json={"email": "p@example.com", "password": "long enough pw", "tenant_name": "P", "plan": "enterprise"}
    )
    assert response.status_code == 422 and response.json()["error"]["details"]["field"] == "plan"


async def test_plan_limits_differ(client: httpx.AsyncClient, tenants: Tenants) -> None:
    for plan, limit in (("professional", "100"), ("enterprise", "500")):
        admin = await tenants.create(plan=plan)
        assert (await client.get("/v2/auth/me", headers=admin.auth)).headers["x-ratelimit-limit"] == limit


async def test_idempotent_replay_and_reuse_with_another_body(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    headers = {**admin.auth, "Idempotency-Key": "create-lead-1"}
    body = {"name": "Once", "phone": "+971500000001"}
    first = await client.post("/v2/leads", headers=headers, json=body)
    second = await client.post("/v2/leads", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1
    other_body = await client.post("/v2/leads", headers=headers, json={**body, "name": "Different"})
    assert other_body.status_code == 422
    assert other_body.json()["error"]["details"]["field"] == "Idempotency-Key"
    assert other_body.headers["x-ratelimit-limit"] == "60"
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1


async def test_one_time_secrets_are_never_stored_or_replayed(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    headers = {**admin.auth, "Idempotency-Key": "create-key-1"}
    first = await client.post("/v2/api-keys", headers=headers, json={"name": "Sync"})
    assert first.status_code == 201
    secret = first.json()["key"]
    second = await client.post("/v2/api-keys", headers=headers, json={"name": "Sync"})
    assert second.status_code == 409
    assert second.json()["error"]["details"]["location"] == first.headers["location"]
    assert secret not in second.text
    assert (await client.get("/v2/api-keys", headers=admin.auth)).json()["total"] == 1
    stored = await db.fetch("SELECT response_body, response_headers::text AS headers FROM idempotency_record")
    assert stored and all(row["response_body"] is None and secret not in row["headers"] for row in stored)


async def test_a_replay_answers_only_the_credential_that_made_it(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    _, read_key = await tenants.api_key(admin, "read")
    body = {"email": "new@example.com", "full_name": "New", "role": "admin"}
    assert (await client.post("/v2/users", headers={**admin.auth, "Idempotency-Key": "shared"}, json=body)).status_code == 201
    for other in (agent.auth, {"X-API-Key": read_key}):
        response = await client.post("/v2/users", headers={**other, "Idempotency-Key": "shared"}, json=body)
        assert response.status_code in (403, 422), response.text
        assert "new@example.com" not in response.text and "idempotent-replayed" not in response.headers


async def test_concurrent_requests_with_one_key_run_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    headers = {**admin.auth, "Idempotency-Key": "double-click"}
    body = {"name": "Twice", "phone": "+971500000002"}
    responses = await asyncio.gather(*(client.post("/v2/leads", headers=headers, json=body) for _ in range(2)))
    codes = sorted(r.status_code for r in responses)
    # Either the second arrived while the first ran (409, the next test makes that case certain), or after
    # it finished (its stored answer replayed): never a second lead.
    assert codes in ([201, 409], [201, 201]), codes
    if codes == [201, 201]:
        assert sum("idempotent-replayed" in r.headers for r in responses) == 1
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    big = b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/v2/api-keys", headers={**admin.auth, "Idempotency-Key": "big", "Content-Type": "application/json"}, content=big
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_idempotency_keys_are_scoped_per_tenant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a, b = await tenants.create(), await tenants.create()
    ra = await client.post("/v2/api-keys", headers={**a.auth, "Idempotency-Key": "same"}, json={"name": "K"})
    rb = await client.post("/v2/api-keys", headers={**b.auth, "Idempotency-Key": "same"}, json={"name": "K"})
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"] and "idempotent-replayed" not in rb.headers


async def test_same_key_while_the_first_request_runs_is_409(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    body = b'{"name":"Slow"}'
    fingerprint = request_fingerprint(f"user:{admin.user_id}", "/v2/api-keys", b"", body)
    await db.execute(
        "INSERT INTO idempotency_record (tenant_id, key, request_hash, status, response_headers, created_at, expires_at) "
        "VALUES ($1, 'in-flight', $2, 'running', '[]', now(), now() + interval '1 day')",
        admin.tenant_id,
        fingerprint,
    )
    response = await client.post(
        "/v2/api-keys", headers={**admin.auth, "Idempotency-Key": "in-flight", "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    assert (await client.get("/v2/api-keys", headers=admin.auth)).json()["total"] == 0


async def test_failed_requests_are_not_stored_as_idempotent_results(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    headers = {**admin.auth, "Idempotency-Key": "retry-me"}
    bad = await client.post("/v2/users", headers=headers, json={"email": "x"})
    assert bad.status_code == 422
    again = await client.post("/v2/users", headers=headers, json={"email": "x"})
    assert again.status_code == 422 and "idempotent-replayed" not in again.headers
    assert again.headers["x-ratelimit-limit"] == "60", "errors carry the rate-limit headers too"


async def test_health_reports_database_and_queue(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"]["status"] == "up" and body["queue"]["status"] == "up"
    assert body["queue"]["backend"] == "postgres"
    assert body["version"] and body["uptime_seconds"] >= 0
    # The enterprise guide's fields too.
    assert body["services"]["database"] == "connected" and body["services"]["queue"] == "connected"
    assert body["environment"] == "development" and body["timestamp"].endswith("Z")


async def test_openapi_schema_documents_operations_and_security(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/v2/schema/openapi.json")).json()
    operation_ids = {
        op["operationId"] for path in schema["paths"].values() for op in path.values() if isinstance(op, dict) and "operationId" in op
    }
    assert {
        "login",
        "register",
        "refreshToken",
        "getCurrentUser",
        "createApiKey",
        "revokeApiKey",
        "oauthToken",
        "health",
        "listAuditLog",
        "replayFailedJob",
    } <= operation_ids
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "Bearer", "OAuth2"}
    limit = next(p for p in schema["paths"]["/v2/users"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["description"] and limit["schema"]["maximum"] == 100
    assert not any(path.startswith("/settings") or path == "/login" for path in schema["paths"])
    assert (await client.get("/v2/docs")).headers["location"] == "/v2/schema/swagger"
    docs = await client.get("/v2/schema/swagger")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in docs.text
    assert "unpkg" not in docs.text and "jsdelivr" not in docs.text
    assert (await client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")).status_code == 200


async def test_openapi_security_is_the_guards_scope_and_public_operations_need_none(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/v2/schema/openapi.json")).json()
    assert "security" not in schema  # no document-wide default: a public operation would inherit it
    operations = {op["operationId"]: op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)}
    assert operations["listLeads"]["security"] == [{"ApiKey": []}, {"Bearer": []}, {"OAuth2": ["leads:read"]}]
    assert operations["createLead"]["security"] == [{"ApiKey": []}, {"Bearer": []}, {"OAuth2": ["leads:write"]}]
    for public in ("register", "login", "refreshToken", "oauthToken", "health", "openSseStream"):
        assert not operations[public].get("security"), public
    scopes = set(schema["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]["scopes"])
    required = {s for op in operations.values() for req in op.get("security", []) for s in req.get("OAuth2", [])}
    assert required <= scopes  # every scope an operation asks for is one a client can be given


async def test_json_api_never_accepts_the_session_cookie(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    page = await client.get("/login")
    csrf = page.cookies.get("atrium_csrf")
    token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
    login = await client.post(
        "/login", data={"email": admin.email, "password": "correct horse battery", "_csrf_token": token}, cookies={"atrium_csrf": csrf}
    )
    assert login.status_code == 303
    session = login.cookies.get("atrium_session")
    assert session
    assert (await client.get("/v2/auth/me", headers={"Cookie": f"atrium_session={session}"})).status_code == 401


async def test_a_busy_client_spends_local_leases_and_still_meets_the_exact_limit(
    client: httpx.AsyncClient, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far from its limit a busy client costs one database write per lease, not one per request."""
    admin = await tenants.create(plan="starter")
    takes = 0
    real_take = ratelimit.take_tokens

    async def counted(bucket: str, per_minute: int, wanted: int) -> tuple[int, float]:
        nonlocal takes
        takes += 1 if bucket.startswith("tenant:") else 0
        return await real_take(bucket, per_minute, wanted)

    monkeypatch.setattr(ratelimit, "take_tokens", counted)
    # "Busy" is more than BUSY requests within LEASE_SECONDS: a second on its own, which a loaded machine's 60 requests
    # in a row may never fill. Half a minute here, so the test counts leases, not the machine's speed.
    monkeypatch.setattr(ratelimit, "LEASE_SECONDS", 30.0)
    started = time.monotonic()
    statuses = [(await client.get("/v2/auth/me", headers=admin.auth)).status_code for _ in range(60)]
    assert statuses == [200] * 60
    assert takes < 30, f"{takes} database writes for 60 requests"
    remaining = [(await client.get("/v2/auth/me", headers=admin.auth)) for _ in range(70)]
    assert remaining[-1].status_code == 429, "the allowance of 120 still runs out"
    # The other 60 of the burst of 120, and what the bucket refilled meanwhile (the starter plan's 60 a minute: one a
    # second, and a loaded machine takes seconds over these 130 requests), and one a lease may hold back; never more.
    refilled = math.ceil((time.monotonic() - started) * 60 / 60)
    assert sum(r.status_code == 200 for r in remaining) <= 60 + refilled + 1


async def test_parallel_requests_share_a_lease_and_none_is_refused_inside_the_allowance(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="starter")  # 60/min, a burst of 120
    for _ in range(3):
        answers = await asyncio.gather(*(client.get("/v2/auth/me", headers=admin.auth) for _ in range(30)))
        assert [r.status_code for r in answers] == [200] * 30
    left = await db.fetchval("SELECT tokens FROM rate_limit_bucket WHERE bucket = $1", f"tenant:{admin.tenant_id}")
    assert left >= 120 - 90 - 2 * 3, "leases lost to concurrency would have drained the bucket"


def test_dependencies_are_resolved_without_a_task_group_per_request() -> None:
    """If a Litestar upgrade changes its resolver, this fails: re-check app/web/dependencies.py against it."""
    from litestar._kwargs.kwargs_model import KwargsModel

    from app.web import dependencies

    assert dependencies.compatible(), "Litestar's KwargsModel.resolve_dependencies changed"
    assert dependencies.resolve_dependencies_in_order() and KwargsModel.resolve_dependencies is dependencies._resolve_in_order


async def test_the_other_guides_paging_words_are_understood(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for n in range(5):
        await client.post("/v2/contacts", headers=admin.auth, json={"name": f"Paged {n}"})
    names = [c["name"] for c in (await client.get("/v2/contacts?limit=100", headers=admin.auth)).json()["data"]]
    for query, expected, page in (
        ("page=2&per_page=2", names[2:4], 2),
        ("page=3&pageSize=2", names[4:5], 3),
        ("skip=1&limit=2", names[1:3], 1),
        ("limit=2&offset=2", names[2:4], 2),
    ):
        body = (await client.get(f"/v2/contacts?{query}", headers=admin.auth)).json()
        assert [c["name"] for c in body["data"]] == expected, query
        assert body["page"] == page and body["total"] == 5, query
    assert (await client.get("/v2/contacts?page=0", headers=admin.auth)).status_code in (400, 422)


async def test_an_id_too_large_for_any_record_is_not_found(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    huge = 2**80  # beyond PostgreSQL's bigint: no record can have it
    for method, path in (("PATCH", f"/v2/users/{huge}"), ("GET", f"/v2/imports/{huge}/report"), ("GET", f"/v2/export/jobs/{huge}/file")):
        answer = await client.request(method, path, headers=admin.auth, json={} if method == "PATCH" else None)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "RESOURCE_NOT_FOUND", path


async def test_options_lists_every_method_of_the_path(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for path, methods in (("/v2/users", {"GET", "POST"}), ("/v2/users/1", {"GET", "PATCH"})):
        answer = await client.options(path, headers=admin.auth)
        assert methods <= {m.strip() for m in answer.headers["allow"].split(",")}, path
