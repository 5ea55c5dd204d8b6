"""Settings → Webhooks and the notifications, as screens: admins only, tenants apart, failures told in the app."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import Tenants
from tests.helpers import browser_login, csrf_of, eventually
from tests.webhooks.receiver import Answer, receiving


async def test_an_admin_adds_a_webhook_on_screen_and_is_told_when_it_fails(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    await browser_login(client, admin)
    page = await client.get("/settings/webhooks")
    assert page.status_code == 200 and "Add a webhook" in page.text
    token = csrf_of(page.text)
    refused = await client.post("/settings/webhooks", data={"_csrf_token": token, "webhook_url": "http://169.254.169.254/"})
    assert refused.status_code == 422 and "metadata" in refused.text, "the reason is shown next to the field"
    malformed = await client.post("/settings/webhooks", data={"_csrf_token": token, "webhook_url": "example.com/hooks"})
    assert malformed.status_code == 422 and "Enter a full web address starting with https://" in malformed.text
    assert "Use the expected format" not in malformed.text
    assert await db.fetchval("SELECT count(*) FROM webhook_endpoint") == 0
    assert (await client.post("/settings/webhooks", data={"webhook_url": "https://example.com/x"})).status_code == 403, "CSRF"
    with receiving() as receiver:
        receiver.script = [Answer(500)] * 2
        added = await client.post(
            "/settings/webhooks",
            data={"_csrf_token": token, "webhook_url": receiver.url, "events": "contact.created", "description": "CRM"},
        )
        assert added.status_code == 200 and "whsec_" in added.text and "shown <strong>only once</strong>" in added.text
        hook_id = await db.fetchval("SELECT id FROM webhook_endpoint")
        await client.patch(
            f"/v2/webhooks/{hook_id}", headers=admin.auth, json={"retry_policy": {"max_retries": 1, "retry_delay_seconds": 60}}
        )
        await client.post("/v2/contacts", headers=admin.auth, json={"name": "Failing"})

        async def failed() -> bool:
            return await db.fetchval("SELECT status FROM webhook_delivery") == "failed"

        await eventually(failed, timeout=20)
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert "1 unread" in badge.text
    notices = await client.get("/notifications")
    assert "contact.created delivery to" in notices.text and f"/settings/webhooks/{hook_id}?status=failed" in notices.text
    log = await client.get(f"/settings/webhooks/{hook_id}?status=failed")
    assert "Redeliver all 1 failed" in log.text and "HTTP 500" in log.text
    read = await client.post("/notifications/read", data={"_csrf_token": csrf_of(notices.text)}, headers={"HX-Request": "true"})
    assert read.status_code == 200 and "new</span>" not in read.text
    assert "unread" not in (await client.get("/notifications/badge", headers={"HX-Request": "true"})).text


async def test_webhook_screens_are_for_admins_of_their_own_tenant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a, b = await tenants.create(), await tenants.create()
    theirs = (await client.post("/v2/webhooks", headers=b.auth, json={"webhook_url": "https://93.184.216.34/b"})).json()
    await browser_login(client, a)
    assert (await client.get(f"/settings/webhooks/{theirs['id']}")).status_code == 404
    page = await client.get("/settings/webhooks")
    assert "93.184.216.34" not in page.text
    for role in ("manager", "agent", "support", "finance"):
        user = await tenants.add_user(a, role)
        client.cookies.clear()
        await browser_login(client, user)
        screen = await client.get("/settings/webhooks")
        assert screen.status_code == 403, role
        assert "/settings/webhooks" not in (await client.get("/")).text, role


async def test_screens_refuse_bad_ids_and_long_fields_and_test_only_endpoints_that_are_on(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    await browser_login(client, admin)
    page = await client.get("/settings/webhooks")
    token = csrf_of(page.text)
    assert (await client.get(f"/settings/webhooks/{2**70}")).status_code in (400, 404, 422)
    form = {"_csrf_token": token, "webhook_url": "https://93.184.216.34/x", "description": "x" * 300}
    long = await client.post("/settings/webhooks", data=form)
    assert long.status_code == 422 and await db.fetchval("SELECT count(*) FROM webhook_endpoint") == 0
    with receiving() as receiver:
        await client.post("/settings/webhooks", data={"_csrf_token": token, "webhook_url": receiver.url})
        hook_id = await db.fetchval("SELECT id FROM webhook_endpoint")
        off = await client.post(f"/settings/webhooks/{hook_id}/active", data={"_csrf_token": token, "active": "0"})
        assert off.status_code == 200 and "Webhook turned off" in off.text
        tested = await client.post(f"/settings/webhooks/{hook_id}/test", data={"_csrf_token": token, "event_type": "lead.qualified"})
        assert "The endpoint is off" in tested.text and receiver.requests == []


async def test_the_navigation_offers_settings_only_to_roles_that_can_open_them(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for role, shown in (("admin", True), ("manager", True), ("agent", False), ("support", False), ("finance", False)):
        user = admin if role == "admin" else await tenants.add_user(admin, role)
        client.cookies.clear()
        await browser_login(client, user)
        home = await client.get("/")
        assert ('href="/settings"' in home.text) is shown, role
