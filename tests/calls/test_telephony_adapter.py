"""The telephony adapter (issue #14): a Twilio-style provider asked to dial and to transfer by SAQ jobs keyed by the
call, against a real loopback HTTP server playing the provider; its answer (its call id, or why not) recorded on the
call; refusals final, outages retried, never dialled twice; the SSRF rules; other providers only record requests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from app.calls.jobs import ProviderUnavailable, dial_call
from tests.calls.fake_twilio import SID, TOKEN, fake_twilio
from tests.factories import Account, Tenants
from tests.helpers import eventually

CALL = {"to_number": "+971501234567", "from_number": "+97143334444"}


async def add_twilio(client: httpx.AsyncClient, admin: Account, url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Twilio", "provider_type": "twilio", "host": "api.twilio.com", "port": 443, "username": SID,
            "password": TOKEN, "api_url": url, **fields}  # fmt: skip
    created = await client.post("/v2/telephony/providers", headers=admin.auth, json=body)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def call_when(client: httpx.AsyncClient, admin: Account, call_id: int, status: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def reached() -> bool:
        found.update((await client.get(f"/v2/calls/{call_id}", headers=admin.auth)).json())
        return found["provider_status"] == status

    await eventually(reached)
    return found


async def test_a_call_is_dialled_and_transferred_through_the_provider_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    with fake_twilio() as twilio:
        provider = await add_twilio(client, admin, twilio.url)
        assert provider["api_url"] == twilio.url and provider["has_password"] and "password" not in provider
        tested = await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=admin.auth)
        assert tested.status_code == 200 and tested.json()["ok"] is True and tested.json()["address"] == twilio.url

        requested = await client.post("/v2/calls", headers=admin.auth, json=CALL)
        assert requested.status_code == 201, requested.text
        call = requested.json()
        assert (call["provider_id"], call["provider_status"], call["external_id"]) == (provider["id"], "queued", None)
        dialled = await call_when(client, admin, call["id"], "accepted")
        [placed] = twilio.calls_placed()
        assert placed.authorized and (placed.form["To"], placed.form["From"]) == (CALL["to_number"], CALL["from_number"])
        assert dialled["external_id"] == "CA" + "1".zfill(32) and dialled["provider_error"] is None and dialled["status"] == "ringing"
        # A duplicated or retried job never dials twice.
        assert await dial_call({}, tenant_id=admin.tenant_id, call_id=call["id"]) == "already handed over"
        assert len(twilio.calls_placed()) == 1

        moved = await client.put(f"/v2/calls/{call['id']}/transfer", headers=admin.auth, json={"extension": "204"})
        assert moved.status_code == 200 and moved.json()["events"][-1]["provider_status"] == "queued"

        async def transferred() -> bool:
            events = (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).json()["events"]
            return events[-1]["provider_status"] == "accepted"

        await eventually(transferred)
        update = twilio.requests[-1]
        assert (
            update.path.endswith(f"/Calls/{dialled['external_id']}.json")
            and update.form["Twiml"] == "<Response><Dial>204</Dial></Response>"
        )


async def test_a_refusal_fails_the_call_and_an_outage_is_tried_again(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    with fake_twilio() as twilio:
        wrong = await add_twilio(client, admin, twilio.url, password="not-the-token")
        tested = (await client.post(f"/v2/telephony/providers/{wrong['id']}/test", headers=admin.auth)).json()
        assert tested["ok"] is False and tested["error"] == "HTTP 401: Authenticate"
        refused = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
        failed = await call_when(client, admin, refused["id"], "failed")
        assert failed["provider_error"] == "HTTP 401: Authenticate" and failed["status"] == "failed"
        assert len(twilio.calls_placed()) == 1, "a refusal is not tried again"

        # The provider is down once: the attempt says so and SAQ will try again; the next attempt dials.
        await client.patch(f"/v2/telephony/providers/{wrong['id']}", headers=admin.auth, json={"password": TOKEN})
        twilio.failures.append(503)
        call = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()

        async def retrying() -> bool:
            now = (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).json()
            return now["provider_status"] == "queued" and "(trying again)" in (now["provider_error"] or "")

        await eventually(retrying)
        assert await dial_call({}, tenant_id=admin.tenant_id, call_id=call["id"]) == "accepted " + "CA" + "1".zfill(32), (
            "the first call the provider placed"
        )
        assert (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).json()["provider_status"] == "accepted"


async def test_an_attempt_that_may_be_retried_raises_and_the_last_one_fails_the_call(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    with fake_twilio() as twilio:
        await add_twilio(client, admin, twilio.url)
        call = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
        await call_when(client, admin, call["id"], "accepted")
        # As if the provider had not answered yet: the job's attempts run directly, SAQ's retry state given.
        await db.execute("UPDATE call SET provider_status = 'queued', external_id = NULL WHERE id = $1", call["id"])
        twilio.failures.extend([502, 502])
        with pytest.raises(ProviderUnavailable):
            await dial_call({"job": SimpleNamespace(retryable=True)}, tenant_id=admin.tenant_id, call_id=call["id"])
        waiting = (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).json()
        assert (waiting["provider_status"], waiting["status"]) == ("queued", "ringing")
        assert waiting["provider_error"] == "HTTP 502: Service unavailable (trying again)"
        last = await dial_call({"job": SimpleNamespace(retryable=False)}, tenant_id=admin.tenant_id, call_id=call["id"])
        assert last == "failed: HTTP 502: Service unavailable"
        failed = (await client.get(f"/v2/calls/{call['id']}", headers=admin.auth)).json()
        assert (failed["provider_status"], failed["status"], failed["external_id"]) == ("failed", "failed", None)


async def test_other_providers_only_record_and_the_ssrf_rules_apply(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    nothing = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
    assert (nothing["provider_id"], nothing["provider_status"]) == (None, None), "no provider: requested and logged only"
    pbx = await client.post("/v2/telephony/providers", headers=admin.auth, json={"name": "PBX", "host": "pbx.example.com"})
    recorded = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
    assert (recorded["provider_id"], recorded["provider_status"]) == (pbx.json()["id"], None), "an Asterisk PBX reports by webhook"
    await client.delete(f"/v2/telephony/providers/{pbx.json()['id']}", headers=admin.auth)

    metadata = await add_twilio(client, admin, "http://169.254.169.254")
    tested = await client.post(f"/v2/telephony/providers/{metadata['id']}/test", headers=admin.auth)
    assert tested.status_code == 422 and tested.json()["error"]["details"]["reason"] == "target"
    call = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
    failed = await call_when(client, admin, call["id"], "failed")
    assert failed["provider_error"].startswith("Refused"), failed["provider_error"]
    bad_url = await client.post("/v2/telephony/providers", headers=admin.auth, json={"name": "x", "host": "h", "api_url": "ftp://x"})
    assert bad_url.status_code == 422


async def test_tenants_and_roles_around_dialling(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    finance = await tenants.add_user(admin, "finance")
    agent = await tenants.add_user(admin, "agent")
    other = await tenants.create(plan="enterprise")
    with fake_twilio() as twilio:
        provider = await add_twilio(client, admin, twilio.url)
        call = (await client.post("/v2/calls", headers=admin.auth, json=CALL)).json()
        await call_when(client, admin, call["id"], "accepted")
        assert (await client.post("/v2/calls", headers=finance.auth, json=CALL)).status_code == 403
        assert (await client.put(f"/v2/calls/{call['id']}/transfer", headers=other.auth, json={"extension": "1"})).status_code == 404
        assert (await client.put(f"/v2/calls/{call['id']}/transfer", headers=agent.auth, json={"extension": "1"})).status_code == 404
        assert (await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=agent.auth)).status_code == 403
        assert (await client.post(f"/v2/telephony/providers/{provider['id']}/test", headers=other.auth)).status_code == 404
        theirs = (await client.post("/v2/calls", headers=other.auth, json=CALL)).json()
        assert theirs["provider_status"] is None, "another tenant's provider is not theirs"
        assert len(twilio.calls_placed()) == 1
