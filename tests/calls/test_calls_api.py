"""Calls through the JSON API (NeuraCRM §5): requesting and logging calls, transfers, the call log's filters, telephony
providers with encrypted passwords, the signed call-event webhook applied once, call analytics exact on a known set;
roles and tenants."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.calls.service import sign
from tests.factories import Account, Tenants, make_lead

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)  # the workspace's zone is UTC; business hours Mon-Fri 09:00-17:00


def at(hours: float) -> str:
    return (MONDAY + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


async def log(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    body = {"to_number": "+971501234567", "from_number": "+97143334444", **fields}
    response = await client.post("/v2/calls", headers=who.auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_the_documented_call_request_rings_and_a_logged_call_keeps_its_times(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ali Hassan")
    requested = await client.post(
        "/v2/calls",
        headers=admin.auth,
        json={
            "agent_id": agent.user_id,
            "to_number": "+1234567890",
            "from_number": "+0987654321",
            "metadata": {"lead_id": lead["id"], "campaign_id": 101},
        },
    )
    assert requested.status_code == 201, requested.text
    call = requested.json()
    assert requested.headers["location"] == f"/v2/calls/{call['id']}"
    assert (call["status"], call["direction"], call["agent_id"], call["lead_id"], call["campaign_id"]) == (
        "ringing",
        "outbound",
        agent.user_id,
        lead["id"],
        101,
    )
    assert [e["kind"] for e in call["events"]] == ["originate_requested"]
    logged = await log(
        client,
        agent,
        direction="inbound",
        status="completed",
        started_at=at(10),
        answered_at=at(10 + 30 / 3600),
        ended_at=at(10.25),
        disposition="interested",
        notes="Wants a 2-bed",
    )
    assert (logged["wait_seconds"], logged["talk_seconds"], logged["agent_id"]) == (30, 870, agent.user_id), "agents log their own calls"
    kinds = [
        r["event_type"]
        for r in await db.fetch("SELECT event_type FROM outbox_event WHERE subject_id = $1 AND subject_type = 'call'", logged["id"])
    ]
    assert kinds == ["call.created", "call.completed"]
    data = json.loads(await db.fetchval("SELECT data FROM outbox_event WHERE event_type = 'call.completed'"))
    assert data["call_id"] == logged["id"] and data["talk_seconds"] == 870

    answered = await client.patch(f"/v2/calls/{call['id']}", headers=admin.auth, json={"status": "answered"})
    assert answered.status_code == 200 and answered.json()["answered_at"] is not None
    transfer = await client.put(
        f"/v2/calls/{call['id']}/transfer", headers=admin.auth, json={"extension": "2001", "transfer_type": "attended"}
    )
    assert transfer.status_code == 200 and transfer.json()["events"][-1] | {"id": 0, "created_at": "", "created_by": 0} == {
        "id": 0, "kind": "transfer", "transfer_type": "attended", "extension": "2001", "created_by": 0, "created_at": "",
        "provider_status": None, "provider_error": None,  # no provider that dials: recorded only
    }  # fmt: skip
    done = await client.patch(f"/v2/calls/{call['id']}", headers=admin.auth, json={"status": "completed", "disposition": "callback"})
    assert done.json()["ended_at"] is not None and done.json()["talk_seconds"] is not None
    assert (await client.put(f"/v2/calls/{call['id']}/transfer", headers=admin.auth, json={"extension": "2001"})).status_code == 409
    events = [
        r["event_type"]
        for r in await db.fetch(
            "SELECT event_type FROM outbox_event WHERE subject_id = $1 AND subject_type = 'call' ORDER BY id", call["id"]
        )
    ]
    assert events == ["call.created", "call.updated", "call.transferred", "call.updated", "call.completed"]


async def test_the_call_log_filters(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    a = await log(client, admin, agent_id=agent.user_id, direction="inbound", status="completed", started_at=at(10))
    b = await log(client, admin, direction="outbound", status="failed", started_at=at(34))
    c = await log(client, admin, direction="internal", status="abandoned", started_at=at(60))

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/v2/calls?{query}", headers=admin.auth)
        assert response.status_code == 200, response.text
        return [x["id"] for x in response.json()["data"]]

    assert await ids("") == [c["id"], b["id"], a["id"]]
    assert await ids("status=failed") == [b["id"]]
    assert await ids("direction=inbound") == [a["id"]]
    assert await ids(f"agent_id={agent.user_id}") == [a["id"]]
    assert await ids("start_date=2026-12-08&end_date=2026-12-08") == [b["id"]], "a bare end date covers its day"
    assert await ids("start_date=2026-12-09T00:00:00Z") == [c["id"]]
    assert (await client.get("/v2/calls?start_date=yesterday", headers=admin.auth)).status_code == 422
    assert (await client.get("/v2/calls?status=busy", headers=admin.auth)).status_code in (400, 422)


async def test_call_analytics_match_a_hand_computation(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")

    def call(start: float, wait: float | None, talk: float | None, queue: str, status: str, who: Account) -> dict[str, Any]:
        body: dict[str, Any] = {"started_at": at(start), "queue": queue, "status": status, "agent_id": who.user_id, "direction": "inbound"}
        if wait is not None:
            body["answered_at"] = at(start + wait / 3600)
            body["ended_at"] = at(start + (wait + (talk or 0)) / 3600)
        else:
            body["ended_at"] = at(start + 60 / 3600)
        return body

    # Monday 7 Dec: sales answers after 10 s (talk 300 s) and 30 s (talk 600 s); support after 15 s (talk 180 s);
    # one sales caller hangs up waiting. Tuesday: one more support call (wait 5 s, talk 120 s) outside Monday's range.
    known = [
        call(9.5, 10, 300, "sales", "completed", agent),
        call(10, 30, 600, "sales", "completed", agent),
        call(11, 15, 180, "support", "completed", support),
        call(12, None, None, "sales", "abandoned", agent),
        call(33, 5, 120, "support", "completed", support),
    ]
    for body in known:
        await log(client, admin, **body)
    monday = await client.get(
        "/v2/telephony/analytics", headers=admin.auth, params={"period_type": "daily", "start_date": "2026-12-07", "end_date": "2026-12-07"}
    )
    assert monday.status_code == 200, monday.text
    data = monday.json()["data"]
    assert monday.json()["success"] is True
    # 4 calls, 3 answered, 1 abandoned; waits 10, 30, 15 → 18.33 → 18; talk 300, 600, 180 → 360; within 20 s: 2 of 4.
    # Utilization: 1,080 s of talk over 2 agents x 8 business hours (57,600 s) = 0.01875 → 0.02.
    assert {k: data[k] for k in ("total_calls", "answered_calls", "abandoned_calls", "average_wait_time", "average_talk_time")} == {
        "total_calls": 4, "answered_calls": 3, "abandoned_calls": 1, "average_wait_time": 18, "average_talk_time": 360,
    }  # fmt: skip
    assert (data["service_level"], data["agent_utilization"], data["service_level_seconds"]) == (0.5, 0.02, 20)
    assert data["queue_performance"] == {
        "sales": {"calls": 3, "answered": 2, "avg_wait": 20, "service_level": 0.33},
        "support": {"calls": 1, "answered": 1, "avg_wait": 15, "service_level": 1.0},
    }
    assert data["periods"] == [{"period_start": "2026-12-07", "calls": 4, "answered": 3, "abandoned": 1}]
    week = (
        await client.get(
            "/v2/telephony/analytics",
            headers=admin.auth,
            params={"period_type": "weekly", "start_date": "2026-12-07", "end_date": "2026-12-13", "service_level_seconds": 30},
        )
    ).json()["data"]
    # Five calls, four answered (waits 10, 30, 15, 5 → 15), all four within 30 s: 4 of 5 = 0.8.
    assert (week["total_calls"], week["answered_calls"], week["average_wait_time"], week["service_level"]) == (5, 4, 15, 0.8)
    assert [p["period_start"] for p in week["periods"]] == ["2026-12-07"], "one ISO week"
    bad = await client.get("/v2/telephony/analytics", headers=admin.auth, params={"start_date": "2026-12-08", "end_date": "2026-12-07"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "end_date"


async def test_providers_keep_their_password_secret_and_the_webhook_logs_calls_once(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    body = {
        "name": "Asterisk Server",
        "provider_type": "asterisk",
        "host": "pbx.company.com",
        "port": 5060,
        "username": "neuracrm",
        "password": "s3cret-pbx-pass",
        "context": "from-internal",
    }
    created = await client.post("/v2/telephony/providers", headers=admin.auth, json=body)
    assert created.status_code == 201, created.text
    provider = created.json()
    assert "password" not in provider and provider["has_password"] is True and provider["webhook_secret"].startswith("whsec_")
    stored = await db.fetchrow("SELECT password_encrypted, webhook_secret_encrypted FROM telephony_provider WHERE id = $1", provider["id"])
    assert "s3cret-pbx-pass" not in stored["password_encrypted"] and provider["webhook_secret"] not in stored["webhook_secret_encrypted"]
    listed = await client.get("/v2/telephony/providers", headers=admin.auth)
    assert "s3cret" not in listed.text and "webhook_secret" not in listed.text
    changed = await client.patch(
        f"/v2/telephony/providers/{provider['id']}", headers=admin.auth, json={"password": "new-pass", "port": 5061}
    )
    assert changed.status_code == 200 and changed.json()["port"] == 5061 and "new-pass" not in changed.text
    audit = await db.fetchval("SELECT string_agg(details::text, ' ') FROM audit_log WHERE action LIKE 'telephony.%'")
    assert audit and "pass" not in audit.replace("password", "")

    path = provider["webhook_url"].removeprefix("http://testserver")
    secret = provider["webhook_secret"]

    async def send(event: dict[str, Any], key: str = secret) -> httpx.Response:
        raw = json.dumps(event).encode()
        return await client.post(path, content=raw, headers={"Content-Type": "application/json", "X-Atrium-Signature": sign(key, raw)})

    ring = {
        "event_id": "e1",
        "call_id": "pbx-77",
        "event": "ringing",
        "timestamp": at(9),
        "direction": "inbound",
        "from_number": "+97150111",
        "to_number": "200",
        "queue": "sales",
        "agent_email": agent.email,
    }
    first = await send(ring)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    again = await send(ring)
    assert again.json() == {"call_id": first.json()["call_id"], "applied": False}, "a redelivered event is applied once"
    assert (await send({**ring, "event_id": "e2"}, key="whsec_wrong")).status_code == 401
    assert (await client.post(path, content=b"{}", headers={"Content-Type": "application/json"})).status_code == 401
    await send({**ring, "event_id": "e3", "event": "answered", "timestamp": at(9 + 12 / 3600)})
    await send({**ring, "event_id": "e4", "event": "completed", "timestamp": at(9 + 312 / 3600), "disposition": "sale"})
    call = (await client.get(f"/v2/calls/{first.json()['call_id']}", headers=admin.auth)).json()
    assert (call["status"], call["wait_seconds"], call["talk_seconds"], call["agent_id"], call["queue"], call["external_id"]) == (
        "completed",
        12,
        300,
        agent.user_id,
        "sales",
        "pbx-77",
    )
    assert [e["kind"] for e in call["events"]] == ["ringing", "answered", "completed"]
    assert await db.fetchval("SELECT count(*) FROM outbox_event WHERE event_type = 'call.completed'") == 1

    other = await tenants.create(plan="enterprise")
    assert (await client.get(f"/v2/telephony/providers/{provider['id']}", headers=other.auth)).status_code == 404
    assert (await client.get(f"/v2/calls/{call['id']}", headers=other.auth)).status_code == 404
    # Reachability under the webhook rules: a metadata address is refused, not connected to; a listening PBX port
    # answers (the tests allow private targets, as WEBHOOK_ALLOW_PRIVATE_TARGETS=1 does).
    await client.patch(f"/v2/telephony/providers/{provider['id']}", headers=admin.auth, json={"host": "169.254.169.254"})
    refused = await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=admin.auth)
    assert refused.status_code == 422 and refused.json()["error"]["details"]["reason"] == "target"
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await client.patch(f"/v2/telephony/providers/{provider['id']}", headers=admin.auth, json={"host": "127.0.0.1", "port": port})
        reached = (await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=admin.auth)).json()
    assert reached["ok"] is True and reached["address"] == "127.0.0.1" and reached["error"] is None
    server.close()
    closed = (await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=admin.auth)).json()
    assert closed["ok"] is False and "Could not connect" in closed["error"]
    assert (await client.delete(f"/v2/telephony/providers/{provider['id']}", headers=admin.auth)).status_code == 204
    assert (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).status_code == 200, "its calls stay"


async def test_roles_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    other = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    colleague = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    support = await tenants.add_user(admin, "support")
    mine = await log(client, agent, status="completed", started_at=at(10))
    theirs = await log(client, colleague, status="completed", started_at=at(11))
    foreign = await log(client, other, status="completed", started_at=at(12))
    assert [c["id"] for c in (await client.get("/v2/calls", headers=agent.auth)).json()["data"]] == [mine["id"]]
    assert (await client.get(f"/v2/calls/{theirs['id']}", headers=agent.auth)).status_code == 404
    assert (await client.patch(f"/v2/calls/{theirs['id']}", headers=agent.auth, json={"notes": "x"})).status_code == 404
    assert (
        await client.post("/v2/calls", headers=agent.auth, json={"to_number": "+1555", "agent_id": colleague.user_id})
    ).status_code == 403
    assert len((await client.get("/v2/calls", headers=support.auth)).json()["data"]) == 2
    for path in ("/v2/calls", f"/v2/calls/{mine['id']}", "/v2/telephony/analytics"):
        assert (await client.get(path, headers=finance.auth)).status_code == 403, path
    assert (await client.post("/v2/calls", headers=finance.auth, json={"to_number": "+1555"})).status_code == 403
    assert (await client.get("/v2/telephony/analytics", headers=agent.auth)).status_code == 403
    assert (await client.get("/v2/telephony/analytics", headers=support.auth)).status_code == 200
    for who in (agent, support, finance):
        assert (await client.get("/v2/telephony/providers", headers=who.auth)).status_code == 403
    assert (await client.get(f"/v2/calls/{foreign['id']}", headers=admin.auth)).status_code == 404
    assert (await client.put(f"/v2/calls/{foreign['id']}/transfer", headers=admin.auth, json={"extension": "1"})).status_code == 404
    bad_link = await client.post("/v2/calls", headers=admin.auth, json={"to_number": "+1555", "metadata": {"ticket_id": 999999}})
    assert bad_link.status_code == 422 and bad_link.json()["error"]["details"]["field"] == "ticket_id"
    backwards = await client.post(
        "/v2/calls", headers=admin.auth, json={"to_number": "+1555", "status": "completed", "started_at": at(10), "answered_at": at(9)}
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["details"]["field"] == "answered_at"
