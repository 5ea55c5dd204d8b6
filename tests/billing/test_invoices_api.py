"""Invoices through /v2 (issue #13): gapless numbers under concurrency, per-line rounding, only drafts change, sending,
payments (partial, exact, overpaid, retried), voids, credit notes, the overdue sweep, events, roles and tenants."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx

from app.billing import service
from app.billing.jobs import sweep_overdue_invoices
from tests.factories import Account, Tenants


async def company(client: httpx.AsyncClient, who: Account, name: str = "Acme Trading LLC", **fields: Any) -> int:
    response = await client.post("/v2/companies", headers=who.auth, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def contact(client: httpx.AsyncClient, who: Account, name: str = "Sara Khan", **fields: Any) -> int:
    response = await client.post("/v2/contacts", headers=who.auth, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def new_invoice(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/invoices", headers=who.auth, json=fields)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/invoices/{response.json()['id']}"
    return dict(response.json())


async def sent_invoice(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    invoice = await new_invoice(client, who, **fields)
    response = await client.post(f"/v2/invoices/{invoice['id']}/send", headers=who.auth)
    assert response.status_code == 200, response.text
    return dict(response.json()["invoice"])


async def events(db: asyncpg.Connection, tenant_id: int, prefix: str = "invoice.") -> list[tuple[str, dict[str, Any]]]:
    rows = await db.fetch(
        "SELECT event_type, data FROM outbox_event WHERE tenant_id = $1 AND event_type LIKE $2 ORDER BY id", tenant_id, f"{prefix}%"
    )
    return [(r["event_type"], json.loads(r["data"])) for r in rows]


async def test_the_guides_single_line_invoice_is_numbered_and_totalled(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    customer = await company(client, admin, address="Office 12, Bay Square\nBusiness Bay, Dubai")
    # §7.1 as written (only the ids changed).
    invoice = await new_invoice(
        client,
        admin,
        customer_account_id=customer,
        issue_date="2024-01-15",
        due_date="2024-02-15",
        subtotal=10000.00,
        tax_rate=0.08,
        description="Enterprise Software License",
        terms_conditions="Payment due within 30 days",
    )
    assert invoice["invoice_number"] == "INV-2024-0001" and invoice["status"] == "draft" and invoice["kind"] == "invoice"
    assert (invoice["subtotal"], invoice["tax_amount"], invoice["total_amount"], invoice["balance_due"]) == (10000, 800, 10800, 10800)
    assert invoice["tax_rate"] == 0.08 and invoice["currency"] == "AED"
    assert invoice["customer_type"] == "company" and invoice["customer_account_id"] == customer
    assert invoice["customer_name"] == "Acme Trading LLC" and "Business Bay" in invoice["customer_address"]
    [line] = invoice["lines"]
    assert line["description"] == "Enterprise Software License" and line["quantity"] == 1 and line["unit_price"] == 10000
    assert invoice["tax_summary"] == [{"tax_rate": 0.08, "net_amount": 10000, "tax_amount": 800}]
    assert invoice["terms_conditions"] == "Payment due within 30 days"
    assert invoice["pdf_url"].endswith(f"/v2/invoices/{invoice['id']}/pdf")
    # Exact numbers on the wire, never floats that lost a cent.
    raw = (await client.get(f"/v2/invoices/{invoice['id']}", headers=admin.auth)).text
    assert '"total_amount":10800.00' in raw
    [(kind, data)] = await events(db, admin.tenant_id)
    assert kind == "invoice.created" and data["invoice_number"] == "INV-2024-0001" and data["total_amount"] == 10800.00


async def test_lines_are_rounded_one_by_one_and_add_up(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    customer = await contact(client, admin, email="sara@example.com")
    invoice = await new_invoice(
        client,
        admin,
        contact_id=customer,
        lines=[
            {"description": "Consulting hours", "quantity": "2.5", "unit_price": "33.33", "tax_rate": "0.05"},  # 83.325 → 83.33
            {"description": "Listing fee", "quantity": 3, "unit_price": "0.35", "tax_rate": "0.05", "discount_rate": "0.1"},  # 1.05
            {"description": "Photography", "quantity": 1, "unit_price": 999.99, "tax_rate": 0},
        ],
    )
    amounts = [
        (line["amount"], line["discount_amount"], line["net_amount"], line["tax_amount"], line["total_amount"]) for line in invoice["lines"]
    ]
    # 83.33 at 5 % is 4.1665 → 4.17; 1.05 less 10 % (0.105 → 0.11) is 0.94, at 5 % 0.047 → 0.05.
    assert amounts == [(83.33, 0, 83.33, 4.17, 87.5), (1.05, 0.11, 0.94, 0.05, 0.99), (999.99, 0, 999.99, 0, 999.99)]
    assert (invoice["subtotal"], invoice["discount_amount"], invoice["tax_amount"], invoice["total_amount"]) == (
        1084.37,
        0.11,
        4.22,
        1088.48,
    )
    assert invoice["tax_rate"] is None  # two rates
    assert invoice["tax_summary"] == [
        {"tax_rate": 0, "net_amount": 999.99, "tax_amount": 0},
        {"tax_rate": 0.05, "net_amount": 84.27, "tax_amount": 4.22},
    ]
    assert invoice["customer_type"] == "contact" and invoice["customer_email"] == "sara@example.com"


async def test_twenty_concurrent_creations_get_twenty_consecutive_numbers(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    customer = await company(client, admin)
    first = await new_invoice(client, admin, customer_account_id=customer, subtotal=100, issue_date="2026-03-01")
    answers = await asyncio.gather(
        *(
            client.post(
                "/v2/invoices", headers=admin.auth, json={"customer_account_id": customer, "subtotal": 100 + n, "issue_date": "2026-03-02"}
            )
            for n in range(20)
        )
    )
    assert [a.status_code for a in answers] == [201] * 20
    numbers = sorted(a.json()["invoice_number"] for a in answers)
    assert first["invoice_number"] == "INV-2026-0001"
    assert numbers == [f"INV-2026-{n:04d}" for n in range(2, 22)]
    # A refused creation takes no number: the next is the one after the last.
    refused = await client.post("/v2/invoices", headers=admin.auth, json={"customer_account_id": customer, "subtotal": "1.001"})
    assert refused.status_code == 422
    after = await new_invoice(client, admin, customer_account_id=customer, subtotal=5, issue_date="2026-12-31")
    assert after["invoice_number"] == "INV-2026-0022"
    # Another year is another series.
    assert (await new_invoice(client, admin, customer_account_id=customer, subtotal=5, issue_date="2027-01-01"))[
        "invoice_number"
    ] == "INV-2027-0001"


def test_numbers_follow_the_pattern() -> None:
    from datetime import date

    assert service.format_number("INV-{YYYY}-{NNNN}", date(2026, 3, 1), 7) == "INV-2026-0007"
    assert service.format_number("{YY}{MM}/{NNN}", date(2026, 3, 1), 12345) == "2603/12345"
    assert service.series_of("INV-{YYYY}-{NNNN}", date(2026, 3, 1)) == service.series_of("INV-{YYYY}-{NNNNNN}", date(2026, 9, 1))


async def test_only_drafts_change_and_bad_input_changes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    customer = await company(client, admin)
    draft = await new_invoice(client, admin, customer_account_id=customer, lines=[{"description": "Setup", "unit_price": 500}])
    changed = await client.patch(
        f"/v2/invoices/{draft['id']}",
        headers=admin.auth,
        json={
            "lines": [{"description": "Setup", "unit_price": 500}, {"description": "Training", "quantity": 2, "unit_price": 250}],
            "notes": "Thanks",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["total_amount"] == 1000 and len(changed.json()["lines"]) == 2 and changed.json()["notes"] == "Thanks"
    for body, field in (
        ({"lines": [{"description": "x", "unit_price": -1}]}, "lines[0].unit_price"),
        ({"lines": [{"description": "x", "unit_price": 1, "tax_rate": 1.5}]}, "lines[0].tax_rate"),
        ({"lines": [{"description": "x", "quantity": "0.00001"}]}, "lines[0].quantity"),
        ({"due_date": "1999-01-01"}, "due_date"),
        ({"customer_account_id": 10**9}, "customer_account_id"),
        ({"number": "INV-1"}, "number"),
        ({"lines": [], "subtotal": 5}, "subtotal"),
    ):
        refused = await client.patch(f"/v2/invoices/{draft['id']}", headers=admin.auth, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["details"]["field"] == field, (body, refused.text)
    assert (await client.get(f"/v2/invoices/{draft['id']}", headers=admin.auth)).json()["total_amount"] == 1000
    sent = await client.post(f"/v2/invoices/{draft['id']}/send", headers=admin.auth)
    assert sent.status_code == 200 and sent.json()["invoice"]["status"] == "sent" and sent.json()["email"] == "not_configured"
    locked = await client.patch(f"/v2/invoices/{draft['id']}", headers=admin.auth, json={"notes": "Too late"})
    assert locked.status_code == 409 and locked.json()["error"]["details"]["status"] == "sent"
    empty = await new_invoice(client, admin, customer_account_id=customer)
    assert (await client.post(f"/v2/invoices/{empty['id']}/send", headers=admin.auth)).status_code == 409


async def test_paying_the_exact_remainder_marks_it_paid_and_overpaying_changes_nothing(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    customer = await company(client, admin)
    invoice = await sent_invoice(client, admin, customer_account_id=customer, subtotal=1000, tax_rate=0.05)
    draft = await new_invoice(client, admin, customer_account_id=customer, subtotal=10)
    assert (await client.post(f"/v2/invoices/{draft['id']}/payments", headers=admin.auth, json={"amount": 5})).status_code == 409
    url = f"/v2/invoices/{invoice['id']}/payments"
    # §7.1 as written.
    part = await client.post(
        url, headers=admin.auth, json={"amount": 400.00, "payment_method": "credit_card", "payment_reference": "txn_1234567890"}
    )
    assert part.status_code == 201, part.text
    assert part.json()["invoice"]["status"] == "partially_paid" and part.json()["invoice"]["balance_due"] == 650
    assert part.json()["payment"]["payment_reference"] == "txn_1234567890"
    over = await client.post(url, headers=admin.auth, json={"amount": "650.01"})
    assert over.status_code == 422
    assert over.json()["error"]["details"] | {} == {
        "field": "amount",
        "provided": "650.01",
        "expected": "at most the balance due, 650.00",
        "balance_due": "650.00",
        "reason": "exceeds_balance",
    }
    current = (await client.get(f"/v2/invoices/{invoice['id']}", headers=admin.auth)).json()
    assert current["amount_paid"] == 400 and current["status"] == "partially_paid" and len(current["payments"]) == 1
    rest = await client.post(
        url, headers={**admin.auth, "Idempotency-Key": "pay-rest-1"}, json={"amount": "650.00", "paid_at": "2026-01-05T10:00:00Z"}
    )
    assert rest.status_code == 201 and rest.json()["invoice"]["status"] == "paid" and rest.json()["invoice"]["balance_due"] == 0
    again = await client.post(
        url, headers={**admin.auth, "Idempotency-Key": "pay-rest-1"}, json={"amount": "650.00", "paid_at": "2026-01-05T10:00:00Z"}
    )
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true" and again.json() == rest.json()
    assert len((await client.get(url, headers=admin.auth)).json()) == 2
    assert (await client.post(url, headers=admin.auth, json={"amount": "0.01"})).status_code == 409  # paid: nothing more to take
    paid = [data for kind, data in await events(db, admin.tenant_id) if kind == "invoice.paid"]
    assert len(paid) == 1
    assert paid[0]["invoice_id"] == invoice["id"] and paid[0]["amount"] == 650.00 and paid[0]["total_amount"] == 1050.00
    assert paid[0]["status"] == "paid" and paid[0]["organization_id"] == admin.tenant_id
    # The database itself refuses an overpayment.
    try:
        await db.execute("UPDATE invoice SET amount_paid = total_amount + 1 WHERE id = $1", invoice["id"])
        raise AssertionError("the check let an overpayment through")
    except asyncpg.CheckViolationError:
        pass


async def test_concurrent_payments_never_overpay(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    invoice = await sent_invoice(client, admin, customer_account_id=await company(client, admin), subtotal=100)
    answers = await asyncio.gather(
        *(client.post(f"/v2/invoices/{invoice['id']}/payments", headers=admin.auth, json={"amount": 30}) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [201, 201, 201, 422, 422]
    assert (await client.get(f"/v2/invoices/{invoice['id']}", headers=admin.auth)).json()["amount_paid"] == 90


async def test_void_keeps_the_number_and_credit_notes_correct_sent_invoices(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    customer = await company(client, admin)
    mistake = await sent_invoice(client, admin, customer_account_id=customer, subtotal=300)
    assert (await client.post(f"/v2/invoices/{mistake['id']}/void", headers=admin.auth, json={})).status_code == 422
    voided = await client.post(f"/v2/invoices/{mistake['id']}/void", headers=admin.auth, json={"reason": "Wrong customer"})
    assert voided.status_code == 200 and voided.json()["status"] == "void" and voided.json()["void_reason"] == "Wrong customer"
    assert voided.json()["invoice_number"] == mistake["invoice_number"]
    assert (await client.post(f"/v2/invoices/{mistake['id']}/payments", headers=admin.auth, json={"amount": 1})).status_code == 409
    following = await new_invoice(client, admin, customer_account_id=customer, subtotal=50)
    assert following["invoice_number"] != mistake["invoice_number"]
    audit = await db.fetchval("SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'invoice.voided'", admin.tenant_id)
    assert audit == 1
    billed = await sent_invoice(
        client, admin, customer_account_id=customer, lines=[{"description": "Rent", "unit_price": 1000, "tax_rate": 0.05}]
    )
    await client.post(f"/v2/invoices/{billed['id']}/payments", headers=admin.auth, json={"amount": 500})
    assert (await client.post(f"/v2/invoices/{billed['id']}/void", headers=admin.auth, json={"reason": "x"})).status_code == 409
    too_much = await client.post(
        f"/v2/invoices/{billed['id']}/credit-notes",
        headers=admin.auth,
        json={"reason": "Discount agreed", "lines": [{"description": "Discount", "unit_price": 600, "tax_rate": 0}]},
    )
    assert too_much.status_code == 422 and too_much.json()["error"]["details"]["reason"] == "exceeds_balance"
    note = await client.post(
        f"/v2/invoices/{billed['id']}/credit-notes",
        headers=admin.auth,
        json={"reason": "Discount agreed", "lines": [{"description": "Discount", "unit_price": 550, "tax_rate": 0}]},
    )
    assert note.status_code == 201, note.text
    assert note.json()["kind"] == "credit_note" and note.json()["invoice_number"].startswith("CN-")
    assert note.json()["credit_note_for"] == billed["id"] and note.json()["balance_due"] == 0
    after = (await client.get(f"/v2/invoices/{billed['id']}", headers=admin.auth)).json()
    assert after["amount_credited"] == 550 and after["balance_due"] == 0 and after["status"] == "paid"
    assert after["credit_notes"] == [note.json()["id"]]
    # Settled by the credit: `invoice.paid` as a payment would publish it, once.
    paid = [data for kind, data in await events(db, admin.tenant_id) if kind == "invoice.paid" and data["invoice_id"] == billed["id"]]
    assert len(paid) == 1 and paid[0]["settled_by"] == "credit_note" and paid[0]["credit_note_id"] == note.json()["id"]

    # A credit note issued by mistake is voided: its amount is owed again, once.
    assert (await client.post(f"/v2/invoices/{note.json()['id']}/payments", headers=admin.auth, json={"amount": 1})).status_code == 409
    undone = await client.post(f"/v2/invoices/{note.json()['id']}/void", headers=admin.auth, json={"reason": "Issued by mistake"})
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "void" and undone.json()["invoice_number"] == note.json()["invoice_number"]
    owed = (await client.get(f"/v2/invoices/{billed['id']}", headers=admin.auth)).json()
    assert owed["amount_credited"] == 0 and owed["balance_due"] == 550 and owed["status"] == "partially_paid" and owed["paid_at"] is None
    again = await client.post(f"/v2/invoices/{note.json()['id']}/void", headers=admin.auth, json={"reason": "Twice"})
    assert again.status_code == 409
    assert (await client.get(f"/v2/invoices/{billed['id']}", headers=admin.auth)).json()["balance_due"] == 550
    voided_credit = [data for kind, data in await events(db, admin.tenant_id) if kind == "invoice.credit_voided"]
    assert len(voided_credit) == 1 and voided_credit[0]["credit_amount"] == 550 and voided_credit[0]["invoice_id"] == billed["id"]
    # The rest is then paid as usual.
    settle = await client.post(f"/v2/invoices/{billed['id']}/payments", headers=admin.auth, json={"amount": 550})
    assert settle.status_code == 201 and settle.json()["invoice"]["status"] == "paid"


async def test_overdue_sweep_marks_past_due_invoices_once(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    customer = await company(client, admin)
    late = await sent_invoice(client, admin, customer_account_id=customer, subtotal=100, issue_date="2025-01-01", due_date="2025-01-31")
    await sent_invoice(client, admin, customer_account_id=customer, subtotal=100, issue_date="2025-01-01", due_date="2999-01-31")
    await new_invoice(client, admin, customer_account_id=customer, subtotal=100, issue_date="2025-01-01", due_date="2025-01-31")  # a draft
    listed = (await client.get("/v2/invoices", headers=admin.auth, params={"overdue": "true"})).json()
    assert [i["id"] for i in listed["data"]] == [late["id"]] and listed["data"][0]["is_overdue"]
    assert await sweep_overdue_invoices({}) >= 1  # the hourly cron: finds the tenant across tenants, marks in its transaction
    assert await service.mark_overdue(admin.tenant_id) == 0
    current = (await client.get(f"/v2/invoices/{late['id']}", headers=admin.auth)).json()
    assert current["status"] == "overdue" and current["overdue_at"]
    overdue = [data for kind, data in await events(db, admin.tenant_id) if kind == "invoice.overdue"]
    assert len(overdue) == 1 and overdue[0]["invoice_id"] == late["id"] and overdue[0]["days_overdue"] > 300
    part = await client.post(f"/v2/invoices/{late['id']}/payments", headers=admin.auth, json={"amount": 40})
    assert part.json()["invoice"]["status"] == "overdue"  # still late with money owed
    assert (await client.get("/v2/invoices", headers=admin.auth, params={"status": "overdue"})).json()["total"] == 1


async def test_lists_filter_and_refuse_unknown_statuses(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin)
    globex = await company(client, admin, name="Globex")
    await new_invoice(client, admin, customer_account_id=acme, subtotal=10, issue_date="2026-01-10", description="January retainer")
    await sent_invoice(client, admin, customer_account_id=globex, subtotal=20, issue_date="2026-02-10")
    get = lambda **p: client.get("/v2/invoices", headers=admin.auth, params=p)  # noqa: E731
    assert (await get(status="draft")).json()["total"] == 1
    assert (await get(status="draft,sent")).json()["total"] == 2
    assert (await get(customer_account_id=globex)).json()["data"][0]["customer_name"] == "Globex"
    assert (await get(start_date="2026-02-01")).json()["total"] == 1
    assert (await get(q="retainer")).json()["total"] == 1
    assert [i["total_amount"] for i in (await get(sort="total_amount")).json()["data"]] == [10, 20]
    assert (await get(status="paid,nope")).status_code in (400, 422)
    assert (await get(sort="colour")).status_code == 422


async def test_roles_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    invoice = await new_invoice(client, admin, customer_account_id=await company(client, admin), subtotal=10)
    finance = await tenants.add_user(admin, "finance")
    manager = await tenants.add_user(admin, "manager")
    support = await tenants.add_user(admin, "support")
    agent = await tenants.add_user(admin, "agent")
    assert (await client.post(f"/v2/invoices/{invoice['id']}/send", headers=finance.auth)).status_code == 200
    assert (await client.get(f"/v2/invoices/{invoice['id']}", headers=manager.auth)).status_code == 200
    assert (await client.post(f"/v2/invoices/{invoice['id']}/payments", headers=manager.auth, json={"amount": 1})).status_code == 403
    for who in (support, agent):
        assert (await client.get("/v2/invoices", headers=who.auth)).status_code == 403
        assert (await client.get(f"/v2/invoices/{invoice['id']}/pdf", headers=who.auth)).status_code == 403
    for path in (f"/v2/invoices/{invoice['id']}", f"/v2/invoices/{invoice['id']}/pdf", f"/v2/invoices/{invoice['id']}/payments"):
        assert (await client.get(path, headers=other.auth)).status_code == 404, path
    paid = await client.post(f"/v2/invoices/{invoice['id']}/payments", headers=other.auth, json={"amount": 1})
    assert paid.status_code == 404
    customer_elsewhere = await client.post(
        "/v2/invoices", headers=other.auth, json={"customer_account_id": invoice["customer_account_id"], "subtotal": 1}
    )
    assert customer_elsewhere.status_code == 422 and customer_elsewhere.json()["error"]["details"]["reason"] == "unknown_reference"
    _, read_key = await tenants.api_key(admin, "read")
    assert (await client.get("/v2/invoices", headers={"X-API-Key": read_key})).status_code == 200
    assert (await client.post("/v2/invoices", headers={"X-API-Key": read_key}, json={"contact_id": 1})).status_code == 403
