"""Sending (issue #13): an invoice's PDF e-mailed by a job when SMTP is configured, and every draft of a month sent through
SAQ, one job per invoice, counted for the progress bar."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from app import settings as app_settings
from tests.billing.test_invoices_api import company, contact, new_invoice
from tests.factories import Tenants
from tests.helpers import eventually


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A local mail server the app sends through for the test."""
    from aiosmtpd.controller import Controller

    from tests.e2e.browser import free_port

    box = Inbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    before = app_settings.current()  # what the app installed (its base URL is the test client's), restored after
    app_settings.install(replace(before, smtp_url=f"smtp://127.0.0.1:{smtp.port}"))
    try:
        yield box
    finally:
        app_settings.install(before)
        smtp.stop()


def pdf_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    [attachment] = list(message.iter_attachments())  # type: ignore[attr-defined]
    import io

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.get_content())).pages)


async def test_sending_e_mails_the_pdf_through_a_job(client: httpx.AsyncClient, tenants: Tenants, inbox: Inbox) -> None:
    admin = await tenants.create(name="Mail Realty")
    buyer = await contact(client, admin, name="Sara Khan", email="sara@example.com")
    invoice = await new_invoice(client, admin, contact_id=buyer, subtotal=2500, description="Valuation")
    sent = await client.post(f"/v2/invoices/{invoice['id']}/send", headers=admin.auth, json={"message": "Thank you for choosing us."})
    assert sent.status_code == 200 and sent.json()["email"] == "queued" and sent.json()["emailed_to"] == "sara@example.com"
    await eventually(lambda: _count(inbox, 1))
    [(recipients, raw)] = inbox.messages
    assert recipients == ["sara@example.com"]
    assert "Thank you for choosing us." in raw.decode("utf-8", "replace")
    text = pdf_of(raw)
    assert invoice["invoice_number"] in text and "Sara Khan" in text and "2,500.00" in text
    timeline = (await client.get(f"/v2/invoices/{invoice['id']}", headers=admin.auth)).json()
    assert timeline["status"] == "sent"
    again = await client.post(f"/v2/invoices/{invoice['id']}/send", headers=admin.auth, json={"to": "accounts@example.com"})
    assert again.json()["emailed_to"] == "accounts@example.com"
    await eventually(lambda: _count(inbox, 2))
    assert inbox.messages[1][0] == ["accounts@example.com"]


async def _count(inbox: Inbox, n: int) -> bool:
    return len(inbox.messages) >= n


async def test_every_draft_of_a_month_is_sent_in_the_background(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin)
    march = [await new_invoice(client, admin, customer_account_id=acme, subtotal=100 + n, issue_date=f"2026-03-{10 + n}") for n in range(3)]
    empty = await new_invoice(client, admin, customer_account_id=acme, issue_date="2026-03-20")  # no lines: nothing to send
    april = await new_invoice(client, admin, customer_account_id=acme, subtotal=5, issue_date="2026-04-01")
    started = await client.post("/v2/invoices/batches", headers=admin.auth, json={"month": "2026-03"})
    assert started.status_code == 202, started.text
    batch = started.json()
    assert batch["total"] == 3 and started.headers["location"] == f"/v2/invoices/batches/{batch['id']}"

    async def done() -> bool:
        return (await client.get(f"/v2/invoices/batches/{batch['id']}", headers=admin.auth)).json()["status"] == "done"

    await eventually(done)
    finished = (await client.get(f"/v2/invoices/batches/{batch['id']}", headers=admin.auth)).json()
    assert (finished["processed"], finished["total"], finished["month"]) == (3, 3, "2026-03")
    statuses = {i["id"]: i["status"] for i in (await client.get("/v2/invoices", headers=admin.auth)).json()["data"]}
    assert [statuses[i["id"]] for i in march] == ["sent", "sent", "sent"]
    assert statuses[empty["id"]] == statuses[april["id"]] == "draft"
    nothing = await client.post("/v2/invoices/batches", headers=admin.auth, json={"month": "2026-03"})
    assert nothing.status_code == 422 and nothing.json()["error"]["details"]["field"] == "month"
    assert (await client.post("/v2/invoices/batches", headers=admin.auth, json={"month": "2026-13"})).status_code == 422
    other = await tenants.create()
    assert (await client.get(f"/v2/invoices/batches/{batch['id']}", headers=other.auth)).status_code == 404
