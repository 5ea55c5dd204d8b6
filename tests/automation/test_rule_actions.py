"""Rule actions that reach outside: "send a template" (messages' generate-and-send) and "call a webhook" (the webhook
deliveries' signing, SSRF check and retries), each once per event, to a real loopback receiver and the local outbox."""

from __future__ import annotations

import asyncpg
import httpx

from tests.automation.test_workflows_api import _quiet
from tests.factories import Account, Tenants, make_lead
from tests.helpers import eventually
from tests.webhooks.receiver import receiving
from tests.webhooks.test_webhooks_api import guide_verify, register


async def _template(client: httpx.AsyncClient, who: Account) -> dict[str, object]:
    body = {"name": "Welcome", "type": "email", "subject_template": "Welcome to {{company_name}}", "body_template": "Hi {{company_name}}"}
    created = await client.post("/v2/communications/templates", headers=who.auth, json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_a_rule_sends_a_template_once_per_event(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    template = await _template(client, admin)
    rule = {
        "name": "Qualified: welcome",
        "trigger": "lead.status_changed",
        "conditions": [{"field": "status", "op": "changed_to", "value": "QUALIFIED"}],
        "actions": [{"type": "send_template", "template_id": template["id"]}],
    }
    created = await client.post("/v2/workflows", headers=admin.auth, json=rule)
    assert created.status_code == 201, created.text
    with_mail = await make_lead(client, admin, name="Mail", email="buyer@example.com")
    without = await make_lead(client, admin, name="No mail", phone="+971501112233")
    for lead in (with_mail, without):
        moved = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})
        assert moved.status_code == 200, moved.text
    await eventually(lambda: _quiet(db))

    async def delivered() -> bool:
        return await db.fetchval("SELECT status FROM communication WHERE lead_id = $1", with_mail["id"]) == "sent"

    await eventually(delivered)
    sent = await db.fetchrow("SELECT recipient, subject, transport FROM communication WHERE lead_id = $1", with_mail["id"])
    assert sent["recipient"] == "buyer@example.com" and sent["subject"].startswith("Welcome to ") and sent["transport"] == "outbox"
    failed = await db.fetchrow("SELECT status, error FROM communication WHERE lead_id = $1", without["id"])
    assert failed["status"] == "failed" and failed["error"].startswith("No e-mail address")
    runs = (await client.get(f"/v2/workflows/{created.json()['id']}/runs", headers=admin.auth)).json()["data"]
    assert {r["status"] for r in runs} == {"done"} and any("queued" in r["detail"] for r in runs)
    assert any("No e-mail address" in r["detail"] for r in runs), "the run log says why nothing went out"
    # The same events again: nothing more is sent (once per rule and event).
    await db.execute("UPDATE outbox_event SET automated_at = NULL")
    await eventually(lambda: _quiet(db))
    assert await db.fetchval("SELECT count(*) FROM communication WHERE tenant_id = $1", admin.tenant_id) == 2


async def test_a_rule_calls_a_webhook_signed_once_per_event(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create(plan="enterprise")
    with receiving() as receiver:
        hook = await register(client, admin, receiver.url, events=["ticket.created"])  # subscribed to something else
        rule = {"name": "New lead → CRM", "trigger": "lead.created", "actions": [{"type": "call_webhook", "webhook_id": hook["id"]}]}
        created = await client.post("/v2/workflows", headers=admin.auth, json=rule)
        assert created.status_code == 201, created.text
        lead = await make_lead(client, admin, name="Hooked", phone="+971501234568")

        async def arrived() -> bool:
            return bool(receiver.of("lead.created"))

        await eventually(arrived, timeout=30)
        got = receiver.of("lead.created")[0]
        guide_verify(hook["secret_key"], got.headers, got.body)
        assert got.json["data"]["lead_id"] == lead["id"] and got.json["tenant_id"] == admin.tenant_id
        runs = (await client.get(f"/v2/workflows/{created.json()['id']}/runs", headers=admin.auth)).json()["data"]
        assert runs[0]["status"] == "done" and f"webhook {hook['id']}: delivery" in runs[0]["detail"]
        log = (await client.get(f"/v2/webhooks/{hook['id']}/deliveries", headers=admin.auth)).json()
        assert [d["event_type"] for d in log["data"]] == ["lead.created"] and log["data"][0]["status"] == "delivered"
        # Once per event: the rule taken again writes no second delivery.
        await db.execute("UPDATE outbox_event SET automated_at = NULL")
        await eventually(lambda: _quiet(db))
        assert await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1", hook["id"]) == 1
        assert len(receiver.of("lead.created")) == 1


async def test_rules_name_only_their_own_templates_and_webhooks(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    stranger = await tenants.create()
    theirs = await _template(client, stranger)
    their_hook = await register(client, stranger, "http://127.0.0.1:9/hook", events=["lead.created"])  # loopback: allowed in tests
    for action, reason in (
        ({"type": "send_template"}, "incomplete_action"),
        ({"type": "send_template", "template_id": theirs["id"]}, "unknown_reference"),
        ({"type": "call_webhook"}, "incomplete_action"),
        ({"type": "call_webhook", "webhook_id": their_hook["id"]}, "unknown_reference"),
    ):
        refused = await client.post("/v2/workflows", headers=admin.auth, json={"name": "x", "trigger": "lead.created", "actions": [action]})
        assert refused.status_code == 422 and refused.json()["error"]["details"]["reason"] == reason, (action, refused.text)
