"""Webhooks end to end: the API registers a loopback receiver, changes are delivered signed, retried, ordered and logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from standardwebhooks import Webhook as StandardWebhook

from app import settings as app_settings
from app.outbound import signing
from tests.factories import Account, Tenants, make_lead
from tests.helpers import eventually
from tests.webhooks.receiver import Answer, receiving


async def register(client: httpx.AsyncClient, who: Account, url: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/v2/webhooks", headers=who.auth, json={"webhook_url": url, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def guide_verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """The reference guide's §2.4 Python example, verbatim but for the header's name."""

    class Request:
        pass

    request = Request()
    request.headers = headers  # type: ignore[attr-defined]
    request.body = body  # type: ignore[attr-defined]

    def verify_webhook(request: Any) -> None:
        signature = request.headers.get("x-atrium-signature")
        expected_signature = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected_signature):
            raise ValueError("Invalid signature")

    verify_webhook(request)


async def test_a_qualified_lead_reaches_the_receiver_signed_as_the_guide_verifies(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        hook = await register(client, admin, receiver.url, events=["lead.qualified", "lead.phone_captured", "lead.hot"])
        secret = hook["secret_key"]
        assert secret.startswith("whsec_") and hook["events"] == ["lead.qualified", "lead.phone_captured", "lead.hot"]
        listed = (await client.get(f"/v2/webhooks/{hook['id']}", headers=admin.auth)).json()
        assert listed["secret_key"] != secret and listed["secret_key"].startswith("whsec_"), "shown once, masked after"
        lead = await make_lead(client, admin, name="Ali Hassan", phone="+971501234567", budget_min=2000000)
        response = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})
        assert response.status_code == 200

        async def qualified_arrived() -> bool:
            return bool(receiver.of("lead.qualified"))

        await eventually(qualified_arrived, timeout=15)
        got = receiver.of("lead.qualified")[0]
        assert {r.event for r in receiver.requests} <= {"lead.qualified", "lead.phone_captured", "lead.hot"}, "only what it subscribed to"
        guide_verify(secret, got.headers, got.body)
        StandardWebhook(secret).verify(got.body, got.headers)
        body = got.json
        assert list(body) == ["event", "timestamp", "tenant_id", "data"]
        assert body["event"] == "lead.qualified" and body["tenant_id"] == admin.tenant_id and body["timestamp"].endswith("Z")
        assert body["data"]["lead_id"] == lead["id"] and body["data"]["status"] == "QUALIFIED"
        assert body["data"]["budget_min"] == 2000000 and body["data"]["phone"] == "+971501234567"
        assert got.delivery_id.startswith("evt_") and got.headers["webhook-id"] == got.delivery_id
        assert receiver.of("lead.phone_captured"), "the phone given at creation is an event too"
        log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries?status=delivered", headers=admin.auth)).json()
        assert {d["event_type"] for d in log["data"]} >= {"lead.qualified", "lead.phone_captured"}
        detail = (await client.get(f"/v2/webhooks/deliveries/{log['data'][0]['id']}", headers=admin.auth)).json()
        assert detail["attempt_log"][0]["status_code"] == 200 and detail["attempt_log"][0]["response_excerpt"] == '{"status":"received"}'
        assert "X-Atrium-Signature" not in detail["attempt_log"][0]["request_headers"], "the log never shows signatures"


def test_the_standard_webhooks_test_vector() -> None:
    """standardwebhooks.com's published example: the same secret, id, timestamp and payload give its signature."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = signing.standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + body, hashlib.sha256).digest()).decode()
    assert signature == "v1," + expected


async def test_a_500_is_retried_with_the_same_delivery_id_and_every_attempt_is_logged(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        receiver.script = [Answer(500, body=b'{"status":"error","message":"Database connection failed"}')]
        hook = await register(client, admin, receiver.url, events=["contact.created"])
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Retry me"})

        async def retried() -> bool:
            return len(receiver.of("contact.created")) >= 2

        await eventually(retried, timeout=20)
        first, second = receiver.of("contact.created")[:2]
        assert first.delivery_id == second.delivery_id and first.body == second.body
        assert second.at - first.at >= 0.9, "the first retry waits its delay"

        async def delivered() -> bool:
            log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries", headers=admin.auth)).json()
            return bool(log["data"]) and log["data"][0]["status"] == "delivered"

        await eventually(delivered)
        log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries", headers=admin.auth)).json()
        detail = (await client.get(f"/v2/webhooks/deliveries/{log['data'][0]['id']}", headers=admin.auth)).json()
        assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
        assert "Database connection failed" in detail["attempt_log"][0]["response_excerpt"]


async def test_410_disables_the_endpoint_and_tells_the_admins(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        receiver.script = [Answer(410)]
        hook = await register(client, admin, receiver.url)
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Gone"})

        async def disabled() -> bool:
            return not (await client.get(f"/v2/webhooks/{hook['id']}", headers=admin.auth)).json()["active"]

        await eventually(disabled, timeout=15)
        assert "410" in (await client.get(f"/v2/webhooks/{hook['id']}", headers=admin.auth)).json()["disabled_reason"]
        told = "SELECT count(*) FROM notification WHERE tenant_id = $1 AND user_id = $2"
        assert await db.fetchval(told, admin.tenant_id, admin.user_id) == 1
        seen = len(receiver.requests)
        with receiving() as witness:  # an endpoint still on, to know when the events have been delivered
            await register(client, admin, witness.url, events=["contact.created"])
            await client.post("/v2/contacts", headers=admin.auth, json={"name": "Not sent"})
            await client.post("/v2/contacts", headers=admin.auth, json={"name": "Nor this"})

            async def witnessed() -> bool:
                return len(witness.of("contact.created")) == 2

            await eventually(witnessed, timeout=15)
        assert len(receiver.requests) == seen, "a disabled endpoint gets nothing"


async def test_redirects_are_failed_attempts_and_exhausted_deliveries_can_be_redelivered(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        receiver.script = [Answer(302, headers={"Location": "http://169.254.169.254/"}), Answer(503, headers={"Retry-After": "1"})]
        hook = await register(
            client, admin, receiver.url, retry_policy={"max_retries": 1, "retry_delay_seconds": 60}, events=["contact.created"]
        )
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Redirected"})

        async def failed() -> bool:
            log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries?status=failed", headers=admin.auth)).json()
            return log["total"] == 1

        await eventually(failed, timeout=20)
        assert len(receiver.requests) == 2, "one try and max_retries=1 retry; the redirect was not followed"
        log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries?status=failed", headers=admin.auth)).json()
        detail = (await client.get(f"/v2/webhooks/deliveries/{log['data'][0]['id']}", headers=admin.auth)).json()
        assert "Redirect" in detail["attempt_log"][0]["error"] and detail["attempt_log"][1]["status_code"] == 503
        stats = (await client.get("/v2/admin/dlq/stats", headers=admin.auth)).json()
        assert stats["total_failed"] == 1 and {"queue": "webhooks", "failed": 1} in stats["queues"]
        dry = (
            await client.post("/v2/admin/dlq/replay-bulk", headers=admin.auth, json={"queue": "webhooks", "max_tasks": 10, "dry_run": True})
        ).json()
        assert dry["replayed"] == 0 and dry["would_replay"] == 1
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Delivered fine"})

        async def both_done() -> bool:
            done = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries?status=delivered", headers=admin.auth)).json()
            return bool(done["total"] == 1)

        await eventually(both_done, timeout=15)
        bulk = await client.post(f"/v2/webhooks/{hook['id']}/redeliver", headers=admin.auth, json={})
        assert bulk.json()["delivery_ids"] == [log["data"][0]["id"]], "only the failed one, never the delivered"
        sent = time.monotonic()

        async def redelivered() -> bool:
            return len(receiver.requests) == 4

        await eventually(redelivered, timeout=15)
        assert time.monotonic() - sent < 5, "a redelivery goes at once, not at the next sweep"
        assert receiver.requests[3].delivery_id == receiver.requests[0].delivery_id
        again = await client.post(f"/v2/webhooks/deliveries/{log['data'][0]['id']}/redeliver", headers=admin.auth)
        assert again.status_code == 202 and again.json()["redelivered"] == 1, "one delivery, by hand, even once delivered"


async def test_events_of_one_lead_arrive_in_order_even_when_one_is_retried(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        receiver.script = [Answer(500)]
        await register(client, admin, receiver.url, events=["lead.status_changed"])
        lead = await make_lead(client, admin, name="Ordered")
        for status in ("CONTACTED", "QUALIFIED", "VIEWING_SCHEDULED"):
            response = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": status})
            assert response.status_code == 200, response.text

        async def all_arrived() -> bool:
            return len({r.delivery_id for r in receiver.requests}) == 3 and len(receiver.requests) == 4

        await eventually(all_arrived, timeout=20)
        statuses = [r.json["data"]["status"] for r in receiver.requests]
        assert statuses == ["CONTACTED", "CONTACTED", "QUALIFIED", "VIEWING_SCHEDULED"], "the later events waited for the retry"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.1/",
        "http://192.168.1.10/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8000/",
        "ftp://example.com/",
    ],
)
async def test_private_and_strange_targets_are_refused(client: httpx.AsyncClient, tenants: Tenants, settings: Any, url: str) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    app_settings.install(replace(settings, webhook_allow_private_targets=False))
    try:
        response = await client.post("/v2/webhooks", headers=admin.auth, json={"webhook_url": url})
    finally:
        app_settings.install(settings)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == "webhook_url"


async def test_cloud_metadata_is_refused_even_when_private_targets_are_allowed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://0xa9fea9fe/", "http://metadata.google.internal/"):
        response = await client.post("/v2/webhooks", headers=admin.auth, json={"webhook_url": url})
        assert response.status_code == 422, url


async def test_tenants_never_see_each_others_events_or_endpoints(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a, b = await tenants.create(plan="enterprise"), await tenants.create(plan="enterprise")
    with receiving() as receiver_a, receiving() as receiver_b:
        hook_a = await register(client, a, receiver_a.url, events=["*"])
        await register(client, b, receiver_b.url, events=["*"])
        await client.post("/v2/contacts", headers=a.auth, json={"name": "A's contact"})

        async def a_got_it() -> bool:
            return bool(receiver_a.of("contact.created"))

        await eventually(a_got_it, timeout=15)
        await client.post("/v2/contacts", headers=b.auth, json={"name": "B's contact"})

        async def b_got_its_own() -> bool:
            return bool(receiver_b.of("contact.created"))

        await eventually(b_got_its_own, timeout=15)
        assert all(r.json["tenant_id"] == b.tenant_id for r in receiver_b.requests)
        assert all(r.json["tenant_id"] == a.tenant_id for r in receiver_a.requests)
        assert (await client.get(f"/v2/webhooks/{hook_a['id']}", headers=b.auth)).status_code == 404
        assert (await client.patch(f"/v2/webhooks/{hook_a['id']}", headers=b.auth, json={"active": False})).status_code == 404
        assert (await client.get(f"/v2/webhooks/{hook_a['id']}/deliveries", headers=b.auth)).status_code == 404


async def test_read_only_keys_and_non_admins_cannot_manage_webhooks(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    _, read_key = await tenants.api_key(admin, "read")
    _, write_key = await tenants.api_key(admin, "write")
    body = {"webhook_url": "https://example.com/hook"}
    refused = await client.post("/v2/webhooks", headers={"X-API-Key": read_key}, json=body)
    assert refused.status_code == 403
    assert (await client.get("/v2/webhooks", headers={"X-API-Key": read_key})).status_code == 403, "nor read them"
    for role in ("manager", "agent", "support", "finance"):
        user = await tenants.add_user(admin, role)
        assert (await client.post("/v2/webhooks", headers=user.auth, json=body)).status_code == 403, role
        assert (await client.get("/v2/webhooks", headers=user.auth)).status_code == 403, role
    assert (await client.get("/v2/webhooks", headers={"Authorization": "Bearer nope"})).status_code == 401
    with receiving() as receiver:
        created = await client.post("/v2/webhooks", headers={"X-API-Key": write_key}, json={"webhook_url": receiver.url})
        assert created.status_code == 201, "a write key of an admin's integration may"


async def test_rotation_signs_with_both_secrets_for_a_day(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        hook = await register(client, admin, receiver.url, events=["contact.created"], secret_key="whsec_a1b2c3d4e5f6g7h8")
        rotated = (await client.post(f"/v2/webhooks/{hook['id']}/rotate-secret", headers=admin.auth)).json()
        assert rotated["secret_key"] != hook["secret_key"] and rotated["previous_secret_expires_at"]
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Rotated"})

        async def arrived() -> bool:
            return bool(receiver.requests)

        await eventually(arrived, timeout=15)
        got = receiver.requests[0]
        guide_verify(rotated["secret_key"], got.headers, got.body)
        assert got.headers["x-atrium-signature-previous"] == signing.atrium_signature("whsec_a1b2c3d4e5f6g7h8", got.body)
        StandardWebhook(rotated["secret_key"]).verify(got.body, got.headers)
        StandardWebhook("whsec_a1b2c3d4e5f6g7h8").verify(got.body, got.headers)


async def test_the_test_event_endpoint_sends_a_sample_now(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        await register(client, admin, receiver.url, events=["lead.qualified"])
        response = await client.post("/v2/webhooks/test", headers=admin.auth, json={"event_type": "lead.qualified"})
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["status"] == "delivered"
        assert receiver.requests[0].json["data"]["name"] == "Ali Hassan" and receiver.requests[0].json["data"]["test"] is True
        with receiving() as other:
            once = (
                await client.post("/v2/webhooks/test", headers=admin.auth, json={"event_type": "lead.hot", "webhook_url": other.url})
            ).json()
            assert once["results"][0]["status"] == "delivered" and once["secret_key"].startswith("whsec_")
            guide_verify(once["secret_key"], other.requests[0].headers, other.requests[0].body)
            assert other.requests[0].json["data"]["recommended_action"]
        unknown = await client.post("/v2/webhooks/test", headers=admin.auth, json={"event_type": "lead.nope"})
        assert unknown.status_code == 422


async def test_a_conversation_inactive_for_24_hours_is_reported_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    from datetime import UTC, datetime, timedelta

    from app.leads.jobs import find_conversation_timeouts

    admin = await tenants.create(plan="enterprise")  # polls the API often
    with receiving() as receiver:
        await register(client, admin, receiver.url, events=["conversation.timeout"])
        quiet = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
        lead = await make_lead(client, admin, name="Gone quiet", last_interaction=quiet)
        await make_lead(client, admin, name="Still talking", last_interaction=datetime.now(UTC).isoformat())
        await make_lead(client, admin, name="Closed", last_interaction=quiet, status="WON")
        assert await find_conversation_timeouts({}) == 1
        assert await find_conversation_timeouts({}) == 0, "reported once"

        async def arrived() -> bool:
            return bool(receiver.of("conversation.timeout"))

        await eventually(arrived, timeout=15)
        assert [r.json["data"]["lead_id"] for r in receiver.of("conversation.timeout")] == [lead["id"]]
        timeline = (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()
        assert timeline["data"][0]["kind"] == "conversation_timeout"
        later = (datetime.now(UTC) - timedelta(hours=24, minutes=30)).isoformat()
        await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"last_interaction": later})
        assert await find_conversation_timeouts({}) == 1, "touched again, silent again: reported again"


async def test_a_name_resolving_to_a_private_address_is_refused_at_send_time() -> None:
    """Checked again on the resolved address before each send (a name can change after registration)."""
    from app.outbound import sender

    outcome = await sender.post("http://localhost:9/hook", {}, b"{}", allow_private=False)
    assert outcome.status_code is None and outcome.error.startswith("Refused") and "localhost" in outcome.error
    outcome = await sender.post("http://0x7f.1:9/hook", {}, b"{}", allow_private=False)
    assert outcome.error.startswith("Refused")


async def test_bad_ids_and_oversized_fields_are_clear_errors(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    huge = 2**70
    for path in (f"/v2/webhooks/{huge}", f"/v2/webhooks/deliveries/{huge}", f"/v2/webhooks/{huge}/deliveries"):
        assert (await client.get(path, headers=admin.auth)).status_code in (400, 404, 422), path
    body = {"webhook_url": "https://93.184.216.34/x", "description": "x" * 201}
    assert (await client.post("/v2/webhooks", headers=admin.auth, json=body)).status_code == 422
    unknown = {"webhook_url": "https://93.184.216.34/x", "events": ["lead.nope"]}
    assert (await client.post("/v2/webhooks", headers=admin.auth, json=unknown)).status_code == 422
    hook = await register(client, admin, "https://93.184.216.34/x")
    bulk = await client.post(f"/v2/webhooks/{hook['id']}/redeliver", headers=admin.auth, json={"delivery_ids": [huge]})
    assert bulk.status_code in (400, 422)
    assert (await client.get(f"/v2/webhooks/{hook['id']}/deliveries?status=lost", headers=admin.auth)).status_code == 422


async def test_at_most_ten_deliveries_of_a_tenant_are_in_flight(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    with receiving() as receiver:
        receiver.script = [Answer(200, delay=1.5) for _ in range(14)]
        await register(client, admin, receiver.url, events=["contact.created"])
        for n in range(14):  # 14 records: no order between them holds any back
            await client.post("/v2/contacts", headers=admin.auth, json={"name": f"Slow {n}"})

        async def all_arrived() -> bool:
            return len(receiver.requests) == 14

        await eventually(all_arrived, timeout=30)
        assert receiver.most_in_flight == 10, f"{receiver.most_in_flight} at once (the worker could run 16)"


async def test_admins_are_emailed_when_smtp_is_set(client: httpx.AsyncClient, tenants: Tenants, settings: Any) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[tuple[list[str], str]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    from tests.e2e.browser import free_port

    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    app_settings.install(replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"))
    try:
        admin = await tenants.create(plan="enterprise")
        with receiving() as receiver:
            receiver.script = [Answer(500)]
            await register(client, admin, receiver.url, events=["contact.created"], retry_policy={"max_retries": 0})
            await client.post("/v2/contacts", headers=admin.auth, json={"name": "Mail me"})

            async def mailed() -> bool:
                return bool(inbox.messages)

            await eventually(mailed, timeout=15)
        recipients, content = inbox.messages[0]
        assert recipients == [admin.email] and "a webhook is failing" in content and "contact.created delivery" in content
    finally:
        app_settings.install(settings)
        smtp.stop()
