"""Delivery (issue #15): e-mail through a real SMTP server (aiosmtpd) with its unsubscribe link and headers, SMS through
a Twilio-style HTTP API on a real loopback receiver (then its status callback finds the message by the provider's id),
and the workspace's send limit."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from app import settings as app_settings
from app.messages.inbound import twilio_signature
from tests.billing.test_invoice_batches_and_mail import Inbox, inbox  # noqa: F401 - the SMTP server fixture
from tests.factories import Tenants, make_lead
from tests.helpers import eventually
from tests.messages.test_messages_api import new_property, sent
from tests.messages.test_provider_webhooks import secret
from tests.webhooks.receiver import Answer, Receiver, receiving


async def test_a_memo_is_e_mailed_with_an_unsubscribe_link(client: httpx.AsyncClient, tenants: Tenants, inbox: Inbox) -> None:  # noqa: F811
    admin = await tenants.create()
    prop = await new_property(client, admin, owner_name="Jane Smith", owner_email="jane@example.com", address="5 Bay Rd")
    template = (await client.get("/v2/communications/templates", headers=admin.auth)).json()[0]
    made = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"property_id": prop["id"], "template_id": template["id"]}
    )
    done = await sent(client, admin, made.json()["communication_id"])
    assert done["transport"] == "smtp"
    await eventually(lambda: _arrived(inbox))
    recipients, raw = inbox.messages[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert recipients == ["jane@example.com"] and message["Subject"] == "Quick question about 5 Bay Rd"
    assert message["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    assert message["X-Atrium-Communication-ID"] == str(done["id"])
    assert "To stop receiving these e-mails: http://testserver/unsubscribe/" in message.get_content()  # type: ignore[attr-defined]


async def _arrived(box: Inbox) -> bool:
    return bool(box.messages)


@pytest.fixture
def sms_provider() -> Iterator[Receiver]:
    """A Twilio-style Messages API on loopback that the app sends through for the test."""
    with receiving() as receiver:
        before = app_settings.current()
        app_settings.install(replace(before, sms_api_url=receiver.url, sms_account_sid="AC1", sms_auth_token="tok", sms_from="+15550199"))
        try:
            yield receiver
        finally:
            app_settings.install(before)


async def test_a_text_goes_through_the_sms_provider_and_its_status_comes_back(
    client: httpx.AsyncClient, tenants: Tenants, sms_provider: Receiver
) -> None:
    admin = await tenants.create()
    key = await secret(client, admin, "sms")
    lead = await make_lead(client, admin, name="Omar Ali", phone="+971501234567")
    sms_provider.script.append(Answer(status=201, body=json.dumps({"sid": "SM42", "status": "queued"}).encode()))
    template = next(t for t in (await client.get("/v2/communications/templates", headers=admin.auth)).json() if t["type"] == "sms")
    made = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"lead_id": lead["id"], "template_id": template["id"]}
    )
    done = await sent(client, admin, made.json()["communication_id"])
    assert done["transport"] == "sms_api"
    [request] = sms_provider.requests
    form = dict(x.split("=", 1) for x in request.body.decode().split("&"))
    assert form["To"] == "%2B971501234567" and form["From"] == "%2B15550199" and "STOP" in form["Body"]
    assert request.headers["authorization"].startswith("Basic ")
    # The provider's status callback names only its own id.
    url = f"http://testserver/v2/webhooks/sms-provider?tenant_id={admin.tenant_id}"
    status = {"MessageSid": "SM42", "MessageStatus": "delivered"}
    answered = await client.post(url, data=status, headers={"X-Twilio-Signature": twilio_signature(key, url, status)})
    assert answered.json()["applied"] == 1
    assert (await client.get(f"/v2/communications/{done['id']}", headers=admin.auth)).json()["status"] == "delivered"
    # A provider that refuses the message for good: failed, with its reason.
    sms_provider.script.append(Answer(status=400, body=b'{"message": "The To number is not a valid phone number"}'))
    other = await make_lead(client, admin, name="Bad Number", phone="+971500000000")
    refused = await client.post(
        "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"lead_id": other["id"], "template_id": template["id"]}
    )

    async def failed() -> bool:
        got = (await client.get(f"/v2/communications/{refused.json()['communication_id']}", headers=admin.auth)).json()
        return bool(got["status"] == "failed" and "not a valid phone number" in got["error"])

    await eventually(failed)


async def test_the_workspace_send_limit(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    before = app_settings.current()
    app_settings.install(replace(before, messages_per_minute=2))
    try:
        template = (await client.get("/v2/communications/templates", headers=admin.auth)).json()[0]
        answers = []
        for n in range(3):
            prop = await new_property(client, admin, owner_email=f"o{n}@example.com")
            answers.append(
                await client.post(
                    "/v2/quick-wins/generate-and-send", headers=admin.auth, json={"property_id": prop["id"], "template_id": template["id"]}
                )
            )
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["error"]["code"] == "RATE_LIMIT_EXCEEDED" and answers[2].headers["retry-after"]
        # Another workspace is not held back.
        theirs = (await client.get("/v2/communications/templates", headers=other.auth)).json()[0]
        prop = await new_property(client, other, owner_email="x@example.com")
        ok = await client.post(
            "/v2/quick-wins/generate-and-send", headers=other.auth, json={"property_id": prop["id"], "template_id": theirs["id"]}
        )
        assert ok.status_code == 200
    finally:
        app_settings.install(before)
