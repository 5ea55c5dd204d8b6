"""The messages screens over HTTP (issue #15): the log and the local outbox, templates with the editor's live preview
and its refusals shown next to the field, "send a template" from a property, the unsubscribe page; roles and tenancy."""

from __future__ import annotations

import html
import re

import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login
from tests.messages.test_messages_api import new_property, sent


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def test_templates_the_preview_sending_the_outbox_and_unsubscribing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    prop = await new_property(client, admin, owner_name="Jane Smith", owner_email="jane@example.com", address="9 Elm St")
    await browser_login(client, admin)
    listed = await client.get("/messages/templates")
    assert listed.status_code == 200 and "Initial Outreach" in listed.text
    editor = await client.get("/messages/templates/new")
    token = csrf(editor.text)
    hx = {"HX-Request": "true"}
    shown = await client.post(
        "/messages/preview",
        data={"_csrf_token": token, "type": "email", "subject_template": "About {{address}}", "body_template": "Hi {{first_name}}"},
        headers=hx,
    )
    assert shown.status_code == 200 and "About 123 Main St" in shown.text and "Hi Jane" in shown.text and "<html" not in shown.text
    bad = await client.post(
        "/messages/preview", data={"_csrf_token": token, "subject_template": "x", "body_template": "{{ lead.__dict__ }}"}, headers=hx
    )
    assert 'role="alert"' in bad.text and "not allowed" in html.unescape(bad.text)
    refused = await client.post(
        "/messages/templates",
        data={"_csrf_token": token, "name": "Bad", "type": "email", "subject_template": "x", "body_template": "{{ ''.__class__ }}"},
    )
    assert refused.status_code == 422 and 'id="err-body_template"' in refused.text
    saved = await client.post(
        "/messages/templates",
        data={
            "_csrf_token": token,
            "name": "Warm hello",
            "type": "email",
            "subject_template": "Hello about {{address}}",
            "body_template": "Dear {{owner_name}}",
            "is_active": "on",
        },
    )
    assert saved.status_code == 303
    templates = (await client.get("/v2/communications/templates", headers=admin.auth)).json()
    warm = next(t for t in templates if t["name"] == "Warm hello")
    # Send it from the property's page.
    page = await client.get(f"/properties/{prop['id']}")
    assert f'href="/messages/send?property_id={prop["id"]}"' in page.text
    form = await client.get(f"/messages/send?property_id={prop['id']}")
    assert form.status_code == 200 and "Warm hello" in form.text
    preview = await client.post(
        "/messages/preview", data={"_csrf_token": token, "template_id": str(warm["id"]), "property_id": str(prop["id"])}, headers=hx
    )
    assert "Hello about 9 Elm St" in preview.text and "Dear Jane Smith" in preview.text
    done = await client.post("/messages/send", data={"_csrf_token": token, "template_id": str(warm["id"]), "property_id": str(prop["id"])})
    assert done.status_code == 303 and done.headers["location"] == f"/properties/{prop['id']}"
    log = (await client.get("/v2/communications", headers=admin.auth)).json()
    message = await sent(client, admin, log["data"][0]["id"])
    outbox = await client.get("/messages/outbox")
    assert "Hello about 9 Elm St" in outbox.text and "jane@example.com" in outbox.text
    log_page = await client.get("/messages")
    assert "Sent" in log_page.text and "sse:communication.status_changed" in log_page.text and "data-live" in log_page.text
    redraw = await client.get("/messages", headers={"HX-Request": "true", "HX-Target": "message-results", "HX-Trigger": "message-results"})
    assert "Hello about 9 Elm St" in redraw.text and "<html" not in redraw.text and "hx-push-url" not in redraw.headers
    # The e-mail's unsubscribe link works without a login, and only on a POST.
    link = re.search(r"http://testserver(/unsubscribe/\S+)", message["body"])
    assert link is not None
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with anonymous:
        confirm = await anonymous.get(link.group(1))
        assert confirm.status_code == 200 and "jane@example.com" in confirm.text
        assert (await anonymous.get(link.group(1)[:-3] + "xyz")).status_code == 404
        assert (await anonymous.post(link.group(1))).status_code == 200
    again = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"property_id": prop["id"], "template_id": templates[0]["id"]}
    )
    assert again.json()["status"] == "opted_out"


async def test_roles_and_tenants_on_the_screens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    template = (await client.get("/v2/communications/templates", headers=admin.auth)).json()[0]
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    await browser_login(client, other)
    assert (await client.get(f"/messages/templates/{template['id']}")).status_code == 404
    await browser_login(client, agent)
    assert (await client.get("/messages/templates")).status_code == 200
    assert (await client.get("/messages/templates/new")).status_code == 403
    await browser_login(client, support)
    assert (await client.get("/messages")).status_code == 403


async def test_the_lead_page_shows_and_starts_and_stops_sequences(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Rana", email="rana@example.com", agent_id=admin.user_id)
    await browser_login(client, admin)
    page = await client.get(f"/leads/{lead['id']}")
    assert f'hx-get="/leads/{lead["id"]}/sequences"' in page.text and f'href="/messages/send?lead_id={lead["id"]}"' in page.text
    token = csrf(page.text)
    hx = {"HX-Request": "true"}
    card = await client.get(f"/leads/{lead['id']}/sequences", headers=hx)
    assert "No sequence yet" in card.text and "<html" not in card.text
    started = await client.post(
        f"/leads/{lead['id']}/sequences", data={"_csrf_token": token, "sequence_type": "buyer_nurture", "channel": "email"}, headers=hx
    )
    assert "Sequence started" in started.text and "Buyer nurture" in started.text
    again = await client.post(
        f"/leads/{lead['id']}/sequences", data={"_csrf_token": token, "sequence_type": "buyer_nurture", "channel": "email"}, headers=hx
    )
    assert again.status_code == 422 and "already has that sequence running" in again.text
    [sequence] = (await client.get(f"/v2/lead-bot/sequences?lead_id={lead['id']}", headers=admin.auth)).json()
    stopped = await client.post(f"/leads/{lead['id']}/sequences/{sequence['sequence_id']}/stop", data={"_csrf_token": token}, headers=hx)
    assert "Sequence stopped." in stopped.text and "stopped by hand" in stopped.text
    # An agent sees a colleague's lead's sequences but cannot start one there.
    await browser_login(client, agent)
    card = await client.get(f"/leads/{lead['id']}/sequences", headers=hx)
    assert card.status_code == 200 and "Start a sequence" not in card.text


async def test_admins_make_provider_secrets_on_the_providers_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    await browser_login(client, admin)
    page = await client.get("/messages/providers")
    assert page.status_code == 200 and f"/v2/webhooks/email-provider?tenant_id={admin.tenant_id}" in page.text and "Not set" in page.text
    made = await client.post("/messages/providers/email/secret", data={"_csrf_token": csrf(page.text)})
    found = re.search(r"<code>(whsec_[^<]+)</code>", made.text)
    assert made.status_code == 200 and found is not None
    assert (await client.get("/v2/communications/providers", headers=admin.auth)).json()[0]["has_secret"] is True
    assert found.group(1) not in (await client.get("/messages/providers")).text  # shown once
    await browser_login(client, manager)
    assert (await client.get("/messages/providers")).status_code == 403
