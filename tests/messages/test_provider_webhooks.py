"""Inbound provider webhooks (issue #15): signed with the workspace's secret (a forged, stale or replayed event changes
nothing), applied once even when the same event arrives twice at the same moment, and what they do: an open raises
the template's open rate, a reply sets has_reply and emits reply_received, STOP opts out, GHL makes leads, a payment
provider's event pays an invoice."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx

from app.messages.inbound import sign, twilio_signature
from tests.billing.test_invoices_api import contact, sent_invoice
from tests.factories import Account, Tenants, make_lead
from tests.messages.test_messages_api import new_property, sent


async def secret(client: httpx.AsyncClient, admin: Account, provider: str) -> str:
    response = await client.post(f"/v2/communications/providers/{provider}/secret", headers=admin.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def memo(client: httpx.AsyncClient, admin: Account, **target: Any) -> dict[str, Any]:
    templates = (await client.get("/v2/communications/templates", headers=admin.auth)).json()
    kind = "sms" if target.pop("sms", False) else "email"
    template = next(t for t in templates if t["type"] == kind)
    response = await client.post("/v2/quick-wins/generate-and-send", headers=admin.auth, json={"template_id": template["id"], **target})
    assert response.status_code == 200, response.text
    return await sent(client, admin, response.json()["communication_id"])


async def post_email(client: httpx.AsyncClient, tenant_id: int, key: str, event: Any, at: int | None = None) -> httpx.Response:
    body = json.dumps(event).encode()
    return await client.post(
        f"/v2/webhooks/email-provider?tenant_id={tenant_id}",
        content=body,
        headers={"Content-Type": "application/json", "X-Webhook-Signature": sign(key, body, at)},
    )


async def template_performance(client: httpx.AsyncClient, admin: Account, template_id: int) -> dict[str, Any]:
    return dict((await client.get(f"/v2/communications/templates/{template_id}", headers=admin.auth)).json()["performance"])


async def test_a_signed_open_raises_the_open_rate_and_a_forged_or_replayed_one_changes_nothing(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    key = await secret(client, admin, "email")
    other_key = await secret(client, other, "email")
    prop = await new_property(client, admin, owner_email="jane@example.com")
    done = await memo(client, admin, property_id=prop["id"])
    event = {
        "event": "open",
        "email": "jane@example.com",
        "timestamp": int(time.time()),
        "sg_event_id": "ev-1",
        "communication_id": str(done["id"]),
    }
    assert await template_performance(client, admin, done["template_id"]) == {
        "total_sent": 1,
        "total_opened": 0,
        "total_replied": 0,
        "open_rate": 0.0,
        "reply_rate": 0.0,
    }
    # Forged: another tenant's secret, a wrong one, none, a stale timestamp, no tenant.
    for response in [
        await post_email(client, admin.tenant_id, other_key, event),
        await post_email(client, admin.tenant_id, "whsec_guess", event),
        await client.post(f"/v2/webhooks/email-provider?tenant_id={admin.tenant_id}", json=event),
        await post_email(client, admin.tenant_id, key, event, at=int(time.time()) - 3600),
        await post_email(client, other.tenant_id, key, event),
    ]:
        assert response.status_code == 401, response.text
    assert (await template_performance(client, admin, done["template_id"]))["total_opened"] == 0
    applied = await post_email(client, admin.tenant_id, key, event)
    assert applied.status_code == 200 and applied.json() == {"received": 1, "applied": 1, "duplicates": 0, "ignored": 0}
    assert await template_performance(client, admin, done["template_id"]) == {
        "total_sent": 1,
        "total_opened": 1,
        "total_replied": 0,
        "open_rate": 1.0,
        "reply_rate": 0.0,
    }
    # Replayed (freshly signed, same event id): acknowledged, not applied again.
    again = await post_email(client, admin.tenant_id, key, event)
    assert again.status_code == 200 and again.json()["duplicates"] == 1 and again.json()["applied"] == 0
    got = (await client.get(f"/v2/communications/{done['id']}", headers=admin.auth)).json()
    assert got["status"] == "opened" and got["opened_at"] is not None
    [logged] = (await client.get("/v2/communications/providers/events", headers=admin.auth)).json()
    assert (logged["provider"], logged["event_id"], logged["event_type"], logged["outcome"]) == ("email", "ev-1", "open", "opened")
    # A second tenant cannot see the provider log or secrets.
    assert (await client.get("/v2/communications/providers", headers=other.auth)).json()[0]["has_secret"] is True
    agent = await tenants.add_user(admin, "agent")
    assert (await client.post("/v2/communications/providers/email/secret", headers=agent.auth)).status_code == 403


async def test_the_same_reply_twice_at_the_same_moment_is_applied_once(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "email")
    prop = await new_property(client, admin, owner_email="jane@example.com", owner_name="Jane Smith")
    done = await memo(client, admin, property_id=prop["id"])
    event = [
        {"event": "reply", "text": "Yes, call me", "sg_event_id": "reply-1", "communication_id": done["id"], "timestamp": int(time.time())}
    ]
    first, second = await asyncio.gather(post_email(client, admin.tenant_id, key, event), post_email(client, admin.tenant_id, key, event))
    assert sorted([first.json()["applied"], second.json()["applied"]]) == [0, 1], (first.text, second.text)
    assert await db.fetchval("SELECT count(*) FROM message_provider_event WHERE tenant_id = $1", admin.tenant_id) == 1
    assert (
        await db.fetchval("SELECT count(*) FROM outbox_event WHERE tenant_id = $1 AND event_type = 'reply_received'", admin.tenant_id) == 1
    )
    prop = (await client.get(f"/v2/properties/{prop['id']}", headers=admin.auth)).json()
    assert prop["has_reply"] is True
    got = (await client.get(f"/v2/communications/{done['id']}", headers=admin.auth)).json()
    assert got["status"] == "replied" and got["reply_text"] == "Yes, call me"
    assert (await template_performance(client, admin, done["template_id"]))["reply_rate"] == 1.0


async def test_sms_status_callbacks_and_stop(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "sms")
    lead = await make_lead(client, admin, name="Omar", phone="+971501112222")
    done = await memo(client, admin, lead_id=lead["id"], sms=True)
    url = f"http://testserver/v2/webhooks/sms-provider?tenant_id={admin.tenant_id}"

    async def post(form: dict[str, str], signature: str | None = None) -> httpx.Response:
        return await client.post(url, data=form, headers={"X-Twilio-Signature": signature or twilio_signature(key, url, form)})

    status = {
        "MessageSid": "SM1",
        "MessageStatus": "delivered",
        "To": "+971501112222",
        "From": "+15550199",
        "communication_id": str(done["id"]),
    }
    assert (await post(status, signature="forged")).status_code == 401
    assert (await post(status)).json()["applied"] == 1
    assert (await client.get(f"/v2/communications/{done['id']}", headers=admin.auth)).json()["status"] == "delivered"
    stop = {"MessageSid": "SM2", "From": "+971501112222", "To": "+15550199", "Body": "STOP"}
    assert (await post(stop)).json()["applied"] == 1
    # Opted out: the next text to that number is not sent.
    sms = next(t for t in (await client.get("/v2/communications/templates", headers=admin.auth)).json() if t["type"] == "sms")
    created = await client.post(
        "/v2/communications/templates", headers=admin.auth, json={"name": "Again", "type": "sms", "body_template": sms["body_template"]}
    )
    again = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"lead_id": lead["id"], "template_id": created.json()["id"]}
    )
    assert again.json()["status"] == "opted_out"


async def test_ghl_contacts_become_leads_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "ghl")
    event = {
        "type": "ContactCreate",
        "webhookId": "wh-1",
        "id": "ghl-9",
        "firstName": "Lina",
        "lastName": "Haddad",
        "email": "lina@example.com",
    }
    body = json.dumps(event).encode()
    url = f"/v2/webhooks/ghl?tenant_id={admin.tenant_id}"
    headers = {"Content-Type": "application/json", "X-GHL-Signature": sign(key, body)}
    assert (await client.post(url, content=body, headers={**headers, "X-GHL-Signature": sign("nope", body)})).status_code == 401
    assert (await client.post(url, content=body, headers=headers)).json()["applied"] == 1
    assert (await client.post(url, content=body, headers=headers)).json()["duplicates"] == 1
    leads = (await client.get("/v2/leads?search=Lina", headers=admin.auth)).json()
    assert [(lead["name"], lead["source"]) for lead in leads["data"]] == [("Lina Haddad", "ghl")]
    # The guide's own payload: a phone and a message, no name.
    guide = {"type": "ContactCreate", "locationId": "loc-001", "contactId": "contact-001", "body": "I'm interested in buying a home",
             "phone": "+1-555-0100"}  # fmt: skip
    body = json.dumps(guide).encode()
    made = await client.post(url, content=body, headers={"Content-Type": "application/json", "X-GHL-Signature": sign(key, body)})
    assert made.status_code == 200 and made.json()["applied"] == 1, made.text
    found = (await client.get("/v2/leads?search=555", headers=admin.auth)).json()["data"][0]
    lead = (await client.get(f"/v2/leads/{found['id']}", headers=admin.auth)).json()
    assert lead["source"] == "ghl" and lead["custom_fields"]["ghl_contact_id"] == "contact-001"


async def test_a_payment_providers_event_pays_the_invoice_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "payments")
    invoice = await sent_invoice(client, admin, contact_id=await contact(client, admin), subtotal=100, tax_rate=0)
    event = {
        "id": "evt_1",
        "type": "invoice.payment_succeeded",
        "data": {"object": {"id": "in_1", "amount_paid": 4000, "metadata": {"invoice_id": str(invoice["id"])}}},
    }
    body = json.dumps(event).encode()
    url = f"/v2/external-webhooks/stripe?tenant_id={admin.tenant_id}"
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(key, body)}
    assert (
        await client.post(url, content=body, headers={**headers, "Stripe-Signature": sign(key, body, int(time.time()) - 900)})
    ).status_code == 401
    first, second = await asyncio.gather(client.post(url, content=body, headers=headers), client.post(url, content=body, headers=headers))
    assert sorted([first.json()["applied"], second.json()["applied"]]) == [0, 1], (first.text, second.text)
    payments = (await client.get(f"/v2/invoices/{invoice['id']}/payments", headers=admin.auth)).json()
    assert [p["amount"] for p in (payments if isinstance(payments, list) else payments["data"])] in (["40.00"], [40.0], ["40"])
