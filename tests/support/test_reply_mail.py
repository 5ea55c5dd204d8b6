"""A public reply is e-mailed to the requester (issue #14): through app.events.mail by a SAQ job keyed by the comment,
with the signed link to their request page; never an internal note or the customer's own message; a retried job
does not send twice; tenants and roles."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace

import asyncpg
import httpx
import pytest

from app import settings as app_settings
from app.support.reply_mail import email_public_reply
from tests.billing.test_invoice_batches_and_mail import Inbox
from tests.factories import Tenants
from tests.helpers import browser_login, csrf_of, eventually
from tests.support.test_tickets_api import open_ticket


class Mailbox(Inbox):
    """A local mail server; the app sends through it once `open()` is called (people are invited before: with SMTP on,
    an invitation's link is mailed, not answered)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def open(self) -> None:
        app_settings.install(replace(app_settings.current(), smtp_url=f"smtp://127.0.0.1:{self.port}"))


@pytest.fixture
def inbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    from tests.e2e.browser import free_port

    box = Mailbox(free_port())
    smtp = Controller(box, hostname="127.0.0.1", port=box.port)
    smtp.start()
    before = app_settings.current()
    try:
        yield box
    finally:
        app_settings.install(before)
        smtp.stop()


def message_of(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


async def test_a_public_reply_is_mailed_once_with_the_customer_link(
    client: httpx.AsyncClient,
    tenants: Tenants,
    inbox: Mailbox,
    db: asyncpg.Connection,
) -> None:
    admin = await tenants.create(name="Mail Desk", plan="enterprise")
    support = await tenants.add_user(admin, "support")
    ticket = await open_ticket(client, admin, title="Balcony door", customer_email="noor@example.com", customer_name="Noor")
    inbox.open()
    base = f"/v2/support/tickets/{ticket['id']}/comments"
    note = await client.post(base, headers=support.auth, json={"content": "Landlord pays the locksmith", "is_internal": True})
    from_customer = await client.post(base, headers=admin.auth, json={"content": "Any news?", "from_customer": True})
    reply = await client.post(base, headers=support.auth, json={"content": "A locksmith comes today at 2 pm."})
    assert reply.status_code == 201 and note.status_code == 201 and from_customer.status_code == 201

    async def one() -> bool:
        return len(inbox.messages) >= 1

    await eventually(one)
    await asyncio.sleep(0.5)  # the note and the customer's message queued nothing: nothing else arrives
    [(recipients, raw)] = inbox.messages
    message = message_of(raw)
    body = message.get_content()
    detail = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert recipients == ["noor@example.com"] and message["Subject"] == f"Re: [#{ticket['id']}] Balcony door"
    assert "A locksmith comes today at 2 pm." in body and detail["customer_url"] in body and "Mail Desk support" in body
    assert "Landlord" not in body
    mailed = [c["emailed_at"] is not None for c in detail["comments"]]
    assert mailed == [False, False, True], "only the public reply was e-mailed, and it says when"

    # A retried or replayed job finds the reply already sent.
    comment_id = reply.json()["id"]
    assert await email_public_reply({}, tenant_id=admin.tenant_id, comment_id=comment_id) == "already sent"
    assert await email_public_reply({}, tenant_id=admin.tenant_id, comment_id=note.json()["id"]) == "not a public reply"
    assert len(inbox.messages) == 1
    # The reply is on the ticket's timeline.
    summaries = await db.fetch("SELECT summary FROM activity WHERE subject_type = 'ticket' AND subject_id = $1", ticket["id"])
    assert "Reply e-mailed to noor@example.com" in [r["summary"] for r in summaries]


async def test_a_reply_from_the_ticket_page_is_mailed_and_a_mail_server_failure_is_retried(
    client: httpx.AsyncClient,
    tenants: Tenants,
    inbox: Mailbox,
    db: asyncpg.Connection,
) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    ticket = await open_ticket(client, admin, assigned_to=agent.user_id, customer_email="sara@example.com")
    inbox.open()
    await browser_login(client, agent)
    page = await client.get(f"/tickets/{ticket['id']}")
    sent = await client.post(
        f"/tickets/{ticket['id']}/comments",
        data={"_csrf_token": csrf_of(page.text), "content": "Fixed on our side.", "visibility": "public"},
        headers={"HX-Request": "true", "HX-Target": "ticket"},
    )
    assert sent.status_code == 200

    async def one() -> bool:
        return len(inbox.messages) == 1

    await eventually(one)
    assert inbox.messages[0][0] == ["sara@example.com"]
    # A mail server that is down fails the attempt (SAQ retries it) and marks nothing as sent.
    other = await client.post(f"/v2/support/tickets/{ticket['id']}/comments", headers=admin.auth, json={"content": "One more thing."})
    comment_id = other.json()["id"]
    await eventually(lambda: _count(inbox, 2))
    await db.execute("UPDATE ticket_comment SET emailed_at = NULL WHERE id = $1", comment_id)
    working = app_settings.current()
    app_settings.install(replace(working, smtp_url="smtp://127.0.0.1:9"))
    try:
        try:
            await email_public_reply({}, tenant_id=admin.tenant_id, comment_id=comment_id)
            raise AssertionError("a refused connection must fail the job")
        except OSError:
            pass
    finally:
        app_settings.install(working)
    assert await db.fetchval("SELECT emailed_at FROM ticket_comment WHERE id = $1", comment_id) is None
    assert await email_public_reply({}, tenant_id=admin.tenant_id, comment_id=comment_id) == "sent"
    assert len(inbox.messages) == 3


async def _count(inbox: Inbox, n: int) -> bool:
    return len(inbox.messages) >= n


async def test_another_tenant_and_finance_cannot_reply(client: httpx.AsyncClient, tenants: Tenants, inbox: Mailbox) -> None:
    admin = await tenants.create(plan="enterprise")
    finance = await tenants.add_user(admin, "finance")
    other = await tenants.create(plan="enterprise")
    ticket = await open_ticket(client, admin, customer_email="noor@example.com")
    inbox.open()
    base = f"/v2/support/tickets/{ticket['id']}/comments"
    assert (await client.post(base, headers=other.auth, json={"content": "Hello"})).status_code == 404
    assert (await client.post(base, headers=finance.auth, json={"content": "Hello"})).status_code == 403
    # Another tenant's comment id is not found in this tenant's job either.
    mine = await client.post(base, headers=admin.auth, json={"content": "Hello"})
    await eventually(lambda: _count(inbox, 1))
    assert await email_public_reply({}, tenant_id=other.tenant_id, comment_id=mine.json()["id"]) == "gone"
    assert len(inbox.messages) == 1
