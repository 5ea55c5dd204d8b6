"""Messages through /v2 (issue #15): the guide's Quick Start 3 and Workflow 1, the memo's automatic idempotency,
templates with sandboxed placeholders and their performance, delivery by SMTP or into the local outbox, tenancy
and roles."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx

from tests.factories import Account, Tenants, make_lead
from tests.helpers import eventually


async def new_property(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/properties", headers=who.auth, json={"address": "1 Test St", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def communication(client: httpx.AsyncClient, who: Account, communication_id: int) -> dict[str, Any]:
    response = await client.get(f"/v2/communications/{communication_id}", headers=who.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def sent(client: httpx.AsyncClient, who: Account, communication_id: int) -> dict[str, Any]:
    async def done() -> bool:
        return (await communication(client, who, communication_id))["status"] == "sent"

    await eventually(done)
    return await communication(client, who, communication_id)


async def test_quick_start_3_and_workflow_1_send_a_memo_once_a_day(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    registered = await client.post(
        "/v2/auth/register",
        json={"full_name": "John Doe", "email": "john@example.com", "password": "SecurePassword123!", "team_name": "Acme Real Estate"},
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    team_id = registered.json()["team"]["id"]
    templates = (await client.get("/v2/communications/templates", headers=headers)).json()
    first = templates[0]
    assert first["name"] == "Initial Outreach" and first["subject_template"] == "Quick question about {{address}}"
    assert first["performance"] == {"total_sent": 0, "total_opened": 0, "total_replied": 0, "open_rate": 0.0, "reply_rate": 0.0}
    # Workflow 1, step 1: a property (with the owner's address, so the memo has somewhere to go).
    created = await client.post(
        "/v2/properties",
        headers=headers,
        json={
            "address": "456 Oak Ave",
            "city": "Oakland",
            "state": "CA",
            "zip_code": "94601",
            "owner_name": "Bob Johnson",
            "owner_email": "bob@example.com",
            "team_id": team_id,
            "bird_dog_score": 0.78,
        },
    )
    property_id = created.json()["id"]
    memo = {"property_id": property_id, "template_id": first["id"], "send_immediately": True, "delivery_method": "email"}
    response = await client.post("/v2/quick-wins/generate-and-send", headers=headers, json=memo)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == "Quick question about 456 Oak Ave" and body["body"].startswith("Hi Bob Johnson,")
    assert body["status"] == "queued" and body["task_id"] and body["delivery_method"] == "email"
    # The same memo again the same day: the same communication, nothing sent twice.
    again = await client.post("/v2/quick-wins/generate-and-send", headers=headers, json=memo)
    assert again.status_code == 200 and again.json()["communication_id"] == body["communication_id"]
    admin = Account(team_id, registered.json()["user"]["id"], "john@example.com", "admin", registered.json()["access_token"], "")
    done = await sent(client, admin, body["communication_id"])
    # No SMTP configured: it went into the local outbox, with an unsubscribe link.
    assert done["transport"] == "outbox" and done["recipient"] == "bob@example.com" and "/unsubscribe/" in done["body"]
    log = (await client.get("/v2/communications", headers=headers)).json()
    assert log["total"] == 1
    prop = (await client.get(f"/v2/properties/{property_id}", headers=headers)).json()
    assert prop["has_memo"] is True and prop["last_contact_at"] is not None
    timeline = (await client.get(f"/v2/properties/{property_id}/timeline", headers=headers)).json()
    kinds = [entry["event_type"] for entry in (timeline if isinstance(timeline, list) else timeline["data"])]
    assert "memo_sent" in kinds
    templates = (await client.get("/v2/communications/templates", headers=headers)).json()
    assert templates[0]["performance"]["total_sent"] == 1
    # The guide's Quick Start property has no owner e-mail: the memo is answered, and says why it was not sent.
    bare = await new_property(client, admin, owner_name="Jane Smith")
    failed = await client.post("/v2/quick-wins/generate-and-send", headers=headers, json={**memo, "property_id": bare["id"]})
    assert failed.status_code == 200 and failed.json()["status"] == "failed" and "No e-mail address" in failed.json()["error"]
    assert (await client.get(f"/v2/properties/{bare['id']}", headers=headers)).json()["has_memo"] is False
    # memo_generated went out through the outbox (webhooks and the live stream) with the guide's fields.
    events = await db.fetch("SELECT data FROM outbox_event WHERE tenant_id = $1 AND event_type = 'memo_generated'", team_id)
    assert [json.loads(e["data"]) for e in events] == [
        {"communication_id": body["communication_id"], "property_id": property_id, "lead_id": None, "team_id": team_id, "status": "sent",
         "delivery_method": "email"}
    ]  # fmt: skip
    # The Idempotency-Key header replays the first answer, as on every POST.
    other = await new_property(client, admin, owner_email="carol@example.com")
    keyed = {**headers, "Idempotency-Key": "memo-carol-1"}
    first = await client.post("/v2/quick-wins/generate-and-send", headers=keyed, json={**memo, "property_id": other["id"]})
    replay = await client.post("/v2/quick-wins/generate-and-send", headers=keyed, json={**memo, "property_id": other["id"]})
    assert first.json() == replay.json()
    reused = await client.post("/v2/quick-wins/generate-and-send", headers=keyed, json={**memo, "property_id": bare["id"]})
    assert reused.status_code == 422  # the same key with another body


async def test_a_placeholder_cannot_reach_outside_its_variables(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    before = len((await client.get("/v2/communications/templates", headers=admin.auth)).json())
    for text in [
        "{{ ''.__class__ }}",
        "{{ lead.__dict__ }}",
        "{{ address.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ address|attr('__class__') }}",
        "{% for x in address %}{{x}}{% endfor %}",
        "{{ address.upper() }}",
        "{{ owner_name",
        "{{ 9**9**9**9 }}",  # arithmetic is worked out while the template compiles: refused before that
        "{{ owner_name * 100000000 }}",
    ]:
        response = await client.post(
            "/v2/communications/templates", headers=admin.auth, json={"name": "Bad", "subject_template": "Hi", "body_template": text}
        )
        assert response.status_code == 422, (text, response.text)
        assert response.json()["error"]["details"]["reason"] == "bad_placeholder"
    preview = await client.post("/v2/communications/templates/preview", headers=admin.auth, json={"body_template": "{{ ''.__class__ }}"})
    assert preview.status_code == 422
    assert len((await client.get("/v2/communications/templates", headers=admin.auth)).json()) == before
    good = await client.post(
        "/v2/communications/templates",
        headers=admin.auth,
        json={"name": "Nice", "subject_template": "About {{address}}", "body_template": "Hi {{ first_name|title }}", "stage": "qualified"},
    )
    assert good.status_code == 201, good.text
    assert good.headers["location"] == f"/v2/communications/templates/{good.json()['id']}"
    shown = await client.post(
        "/v2/communications/templates/preview",
        headers=admin.auth,
        json={"subject_template": "About {{address}}", "body_template": "Hi {{first_name}}"},
    )
    assert shown.json() == {"subject": "About 123 Main St", "body": "Hi Jane"}
    changed = await client.patch(f"/v2/communications/templates/{good.json()['id']}", headers=admin.auth, json={"body_template": "{{ x }}"})
    assert changed.status_code == 422
    changed = await client.patch(f"/v2/communications/templates/{good.json()['id']}", headers=admin.auth, json={"name": "Nicer"})
    assert (
        changed.status_code == 200 and changed.json()["name"] == "Nicer" and changed.json()["body_template"] == "Hi {{ first_name|title }}"
    )
    assert (await client.delete(f"/v2/communications/templates/{good.json()['id']}", headers=admin.auth)).status_code == 204


async def test_a_lead_memo_by_sms_goes_to_the_outbox_and_onto_the_lead_timeline(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Sara Khan", phone="+971501234567")
    sms = next(t for t in (await client.get("/v2/communications/templates", headers=admin.auth)).json() if t["type"] == "sms")
    response = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"lead_id": lead["id"], "template_id": sms["id"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["delivery_method"] == "sms" and response.json()["recipient"] == "+971501234567"
    done = await sent(client, admin, response.json()["communication_id"])
    assert done["transport"] == "outbox" and "STOP" in done["body"]
    timeline = (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()
    assert any(entry["kind"] == "memo_sent" for entry in timeline["data"])
    outbox = (await client.get("/v2/communications?transport=outbox&channel=sms", headers=admin.auth)).json()
    assert [c["id"] for c in outbox["data"]] == [done["id"]]


async def test_a_second_tenant_and_the_wrong_role_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    template = (await client.get("/v2/communications/templates", headers=admin.auth)).json()[0]
    prop = await new_property(client, admin, owner_email="owner@example.com")
    assert (await client.get(f"/v2/communications/templates/{template['id']}", headers=other.auth)).status_code == 404
    assert (await client.patch(f"/v2/communications/templates/{template['id']}", headers=other.auth, json={"name": "x"})).status_code == 404
    refused = await client.post(
        "/v2/quick-wins/generate-and-send", headers=other.auth, json={"property_id": prop["id"], "template_id": template["id"]}
    )
    assert refused.status_code == 422 and refused.json()["error"]["details"]["reason"] == "unknown_reference"
    made = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"property_id": prop["id"], "template_id": template["id"]}
    )
    assert (await client.get(f"/v2/communications/{made.json()['communication_id']}", headers=other.auth)).status_code == 404
    assert (await client.get("/v2/communications", headers=other.auth)).json()["total"] == 0
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    created = await client.post(
        "/v2/communications/templates", headers=agent.auth, json={"name": "Mine", "subject_template": "x", "body_template": "y"}
    )
    assert created.status_code == 403
    assert (await client.get("/v2/communications", headers=support.auth)).status_code == 403
    # An agent sends to their own properties and unassigned ones, not to a colleague's.
    manager = await tenants.add_user(admin, "manager")
    theirs = await new_property(client, admin, owner_email="o@example.com", assigned_user_id=manager.user_id)
    denied = await client.post(
        "/v2/quick-wins/generate-and-send", headers=agent.auth, json={"property_id": theirs["id"], "template_id": template["id"]}
    )
    assert denied.status_code == 403
    own = await new_property(client, agent, owner_email="mine@example.com")
    allowed = await client.post(
        "/v2/quick-wins/generate-and-send", headers=agent.auth, json={"property_id": own["id"], "template_id": template["id"]}
    )
    assert allowed.status_code == 200, allowed.text


async def test_a_draft_is_sent_later(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    prop = await new_property(client, admin, owner_email="later@example.com")
    template = (await client.get("/v2/communications/templates", headers=admin.auth)).json()[0]
    body = {"property_id": prop["id"], "template_id": template["id"], "send_immediately": False}
    draft = (await client.post("/v2/quick-wins/generate-and-send", headers=admin.auth, json=body)).json()
    assert draft["status"] == "draft" and draft["task_id"] == ""
    sent_later = await client.post(f"/v2/communications/{draft['communication_id']}/send", headers=admin.auth)
    assert sent_later.status_code == 200 and sent_later.json()["status"] == "queued"
    assert (await sent(client, admin, draft["communication_id"]))["transport"] == "outbox"
    again = await client.post(f"/v2/communications/{draft['communication_id']}/send", headers=admin.auth)
    assert again.status_code == 409 and again.json()["error"]["details"]["reason"] == "not_draft"
