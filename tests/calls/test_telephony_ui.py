"""Settings → Telephony (issue #14): admins list, add, edit and delete providers on a screen; the password is
write-only (never shown back, blank keeps it), the webhook secret shown once, Test connection shows the result in
the row (against a real loopback provider); other roles and tenants are refused."""

from __future__ import annotations

import httpx

from tests.calls.fake_twilio import SID, TOKEN, fake_twilio
from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of

HX = {"HX-Request": "true"}


async def test_an_admin_keeps_providers_on_the_screen_and_tests_one(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    await browser_login(client, admin)
    page = await client.get("/settings/telephony")
    assert page.status_code == 200 and 'href="/settings/telephony" class="active"' in page.text and "No provider" in page.text
    token = csrf_of(page.text)
    with fake_twilio() as twilio:
        bad = await client.post(
            "/settings/telephony",
            data={"_csrf_token": token, "name": "", "provider_type": "twilio", "host": "api.twilio.com", "port": "443",
                  "password": TOKEN, "api_url": "ftp://nope"},
        )  # fmt: skip
        assert bad.status_code == 422 and 'id="err-name"' in bad.text and 'id="err-api_url"' in bad.text
        assert TOKEN not in bad.text, "a typed password is never sent back"
        added = await client.post(
            "/settings/telephony",
            data={"_csrf_token": token, "name": "Twilio", "provider_type": "twilio", "host": "api.twilio.com", "port": "443",
                  "username": SID, "password": TOKEN, "api_url": twilio.url, "is_active": "1"},
        )  # fmt: skip
        assert added.status_code == 201 and "shown <strong>only once</strong>" in added.text and "whsec_" in added.text
        assert TOKEN not in added.text
        [provider] = (await client.get("/v2/telephony/providers", headers=admin.auth)).json()
        assert (provider["api_url"], provider["username"], provider["has_password"]) == (twilio.url, SID, True)

        listed = await client.get("/settings/telephony")
        assert "whsec_" not in listed.text and TOKEN not in listed.text and "Not tested" in listed.text
        tested = await client.post(
            f"/settings/telephony/{provider['id']}/test", data={"_csrf_token": token}, headers={**HX, "HX-Target": f"test-{provider['id']}"}
        )
        assert tested.status_code == 200 and tested.text.lstrip().startswith(f'<output id="test-{provider["id"]}"')
        assert "Connected" in tested.text and twilio.requests[-1].authorized

        edit = await client.get(f"/settings/telephony?edit={provider['id']}")
        assert 'value="Twilio"' in edit.text and TOKEN not in edit.text and "leave blank to keep it" in edit.text
        kept = await client.post(
            f"/settings/telephony/{provider['id']}",
            data={"_csrf_token": token, "name": "Twilio main", "host": "api.twilio.com", "port": "443", "username": SID,
                  "password": "", "api_url": twilio.url, "is_active": "1"},
        )  # fmt: skip
        assert kept.status_code == 303
        again = await client.post(f"/settings/telephony/{provider['id']}/test", data={"_csrf_token": token})
        assert "Twilio main: Connected in" in again.text, "a blank password kept the stored one"
        wrong = await client.post(
            f"/settings/telephony/{provider['id']}",
            data={"_csrf_token": token, "name": "Twilio main", "host": "api.twilio.com", "port": "443", "username": SID,
                  "password": "wrong-token", "api_url": twilio.url, "is_active": "1"},
        )  # fmt: skip
        assert wrong.status_code == 303
        failed = await client.post(
            f"/settings/telephony/{provider['id']}/test", data={"_csrf_token": token}, headers={**HX, "HX-Target": f"test-{provider['id']}"}
        )
        assert "Could not connect: HTTP 401: Authenticate" in failed.text

    deleted = await client.post(f"/settings/telephony/{provider['id']}/delete", data={"_csrf_token": token})
    assert deleted.status_code == 303
    assert (await client.get("/v2/telephony/providers", headers=admin.auth)).json() == []


async def test_other_roles_and_tenants_cannot_reach_providers_on_the_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    manager = await tenants.add_user(admin, "manager")
    other = await tenants.create(plan="enterprise")
    created = await client.post(
        "/v2/telephony/providers", headers=admin.auth, json={"name": "PBX", "host": "pbx.example.com", "password": "s3cret"}
    )
    provider = created.json()
    await browser_login(client, manager)
    assert (await client.get("/settings/telephony")).status_code == 403
    team = await client.get("/settings/team")
    assert 'href="/settings/telephony"' not in team.text
    refused = await client.post(f"/settings/telephony/{provider['id']}/delete", data={"_csrf_token": csrf_of(team.text)})
    assert refused.status_code == 403
    async with browser_client(client._transport.app) as theirs:  # type: ignore[attr-defined]
        await browser_login(theirs, other)
        page = await theirs.get("/settings/telephony")
        assert page.status_code == 200 and "PBX" not in page.text
        assert (await theirs.get(f"/settings/telephony?edit={provider['id']}")).status_code == 404
        token = csrf_of(page.text)
        gone = await theirs.post(f"/settings/telephony/{provider['id']}/delete", data={"_csrf_token": token})
        assert gone.status_code == 404
        tested = await theirs.post(f"/settings/telephony/{provider['id']}/test", data={"_csrf_token": token})
        assert tested.status_code == 404
    assert len((await client.get("/v2/telephony/providers", headers=admin.auth)).json()) == 1
