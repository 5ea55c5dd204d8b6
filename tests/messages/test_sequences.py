"""Nurture sequences and the customer journey (issue #15): a sequence's first touchpoint is sent by its scheduled job
(a "day" shortened to a second here) and a reply stops it; one active sequence of a type per lead; the journey reads
the timeline; tenancy and roles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from app import settings as app_settings
from app.messages.sequences import resume_sequences
from tests.factories import Tenants, make_lead
from tests.helpers import eventually
from tests.messages.test_provider_webhooks import post_email, secret


@pytest.fixture
def short_days() -> Iterator[None]:
    before = app_settings.current()
    app_settings.install(replace(before, nurture_day_seconds=1))
    try:
        yield
    finally:
        app_settings.install(before)


async def test_a_sequence_sends_its_first_touchpoint_and_stops_on_a_reply(
    client: httpx.AsyncClient, tenants: Tenants, short_days: None
) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "email")
    lead = await make_lead(client, admin, name="Nadia Karim", email="nadia@example.com")
    started = await client.post(
        "/v2/lead-bot/sequences/start",
        headers=admin.auth,
        json={"lead_id": lead["id"], "sequence_type": "buyer_nurture", "channel": "email"},
    )
    assert started.status_code == 201, started.text
    sequence = started.json()
    assert sequence["status"] == "active" and sequence["touchpoints_remaining"] == 3
    assert 2 <= datetime.fromisoformat(sequence["next_touchpoint"]).timestamp() - time.time() <= 4
    twice = await client.post(
        "/v2/lead-bot/sequences/start", headers=admin.auth, json={"lead_id": lead["id"], "sequence_type": "buyer_nurture"}
    )
    assert twice.status_code == 409 and twice.json()["error"]["details"]["reason"] == "already_active"

    async def touched() -> bool:
        log = (await client.get(f"/v2/communications?lead_id={lead['id']}&status=sent", headers=admin.auth)).json()
        return bool(log["total"] == 1)

    await eventually(touched, timeout=30)
    [current] = (await client.get(f"/v2/lead-bot/sequences?lead_id={lead['id']}", headers=admin.auth)).json()
    assert current["touchpoints_sent"] == 1 and current["touchpoints_remaining"] == 2 and current["status"] == "active"
    message = (await client.get(f"/v2/communications?lead_id={lead['id']}", headers=admin.auth)).json()["data"][0]
    assert message["recipient"] == "nadia@example.com" and "Nadia" in message["body"]
    # The lead replies: the sequence stops.
    replied = await post_email(
        client, admin.tenant_id, key, {"event": "reply", "text": "Interested!", "sg_event_id": "r1", "communication_id": message["id"]}
    )
    assert replied.json()["applied"] == 1
    [current] = (await client.get(f"/v2/lead-bot/sequences?lead_id={lead['id']}", headers=admin.auth)).json()
    assert (current["status"], current["stop_reason"], current["next_touchpoint"]) == ("stopped", "reply", None)
    journey = (await client.get(f"/v2/customer-journey/{lead['id']}", headers=admin.auth)).json()
    actions = [t["action"] for t in journey["touchpoints"]]
    assert journey["lead_id"] == lead["id"] and journey["journey_stage"] == "inquiry"
    assert (
        actions.index("inquiry_submitted")
        < actions.index("nurture_started")
        < actions.index("message_sent")
        < actions.index("reply_received")
    )
    assert {"timestamp", "channel", "action"} <= set(journey["touchpoints"][0]) and journey[
        "next_recommended_action"
    ] == "Call them back: they replied"
    sent = next(t for t in journey["touchpoints"] if t["action"] == "message_sent")
    assert sent["channel"] == "email" and sent["bot"] == "nurture_sequence"


async def test_stopping_by_hand_tenancy_and_roles(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    lead = await make_lead(client, admin, name="Sam", phone="+971509998888")
    started = (await client.post("/v2/lead-bot/sequences/start", headers=admin.auth, json={"lead_id": lead["id"], "channel": "sms"})).json()
    assert (
        await client.post("/v2/lead-bot/sequences/stop", headers=other.auth, json={"sequence_id": started["sequence_id"]})
    ).status_code == 404
    assert (await client.get(f"/v2/customer-journey/{lead['id']}", headers=other.auth)).status_code == 404
    refused = await client.post("/v2/lead-bot/sequences/start", headers=other.auth, json={"lead_id": lead["id"]})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["reason"] == "unknown_reference"
    support = await tenants.add_user(admin, "support")
    assert (
        await client.post("/v2/lead-bot/sequences/stop", headers=support.auth, json={"sequence_id": started["sequence_id"]})
    ).status_code == 403
    stopped = await client.post(
        "/v2/lead-bot/sequences/stop", headers=admin.auth, json={"sequence_id": started["sequence_id"], "reason": "lead_converted"}
    )
    assert stopped.status_code == 200 and (stopped.json()["status"], stopped.json()["stop_reason"]) == ("stopped", "lead_converted")
    journey = (await client.get(f"/v2/customer-journey/{lead['id']}", headers=admin.auth)).json()
    assert journey["next_recommended_action"] == "Send an introduction message"


async def test_an_overdue_touchpoint_whose_job_was_lost_is_queued_again(
    client: httpx.AsyncClient, tenants: Tenants, app: Any, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Lost Job", email="lost@example.com")
    started = (await client.post("/v2/lead-bot/sequences/start", headers=admin.auth, json={"lead_id": lead["id"]})).json()
    # Its job is lost (a queue emptied by hand) and its time has passed.
    await db.execute("DELETE FROM saq_jobs WHERE key LIKE 'nurture:%'")
    await db.execute("UPDATE nurture_sequence SET next_touchpoint_at = now() - interval '2 minutes' WHERE id = $1", started["sequence_id"])
    assert await resume_sequences.function({"worker": SimpleNamespace(queue=app.state.queue)}) == 1

    async def touched() -> bool:
        return bool((await client.get(f"/v2/communications?lead_id={lead['id']}&status=sent", headers=admin.auth)).json()["total"] == 1)

    await eventually(touched)
