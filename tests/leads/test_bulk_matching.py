"""“Select all N matching”: bulk assign and delete over a list's filters, at once when small, as a job when large."""

from __future__ import annotations

from urllib.parse import urlencode

import asyncpg
import httpx

from app.leads import bulk
from tests.factories import BULK_LEADS_SQL, Tenants, make_lead
from tests.helpers import browser_login, csrf_of, eventually

FORM = "application/x-www-form-urlencoded"


async def _form_headers(client: httpx.AsyncClient) -> dict[str, str]:
    token = csrf_of((await client.get("/leads?agent=any")).text)
    return {"HX-Request": "true", "HX-Target": "lead-results", "x-csrf-token": token, "Content-Type": FORM}


async def test_all_matching_assigns_the_filtered_view_at_once_when_small(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    qualified = [await make_lead(client, admin, name=f"Qualified {n}", status="QUALIFIED") for n in range(3)]
    other = await make_lead(client, admin, name="Fresh")
    await browser_login(client, admin)
    page = await client.get("/leads?status=QUALIFIED&per=50")
    assert "all-matching" not in page.text, "one page holds the whole view: nothing more to select"
    headers = await _form_headers(client)
    body = urlencode({"all_matching": "1", "status": "QUALIFIED", "action": "assign", "bulk_agent": str(agent.user_id)})
    answer = await client.post("/leads/bulk", content=body, headers=headers)
    assert answer.status_code == 200 and "Assigned 3 leads to " in answer.text, answer.text[:500]
    leads = {lead["id"]: lead["agent_id"] for lead in (await client.get("/v2/leads", headers=admin.auth)).json()["data"]}
    assert leads == {**{q["id"]: agent.user_id for q in qualified}, other["id"]: None}, "only the filtered view changed"
    timeline = (await client.get(f"/v2/leads/{qualified[0]['id']}/timeline", headers=admin.auth)).json()["data"]
    assert timeline[0]["kind"] == "assigned"
    again = await client.post("/leads/bulk", content=body, headers=headers)
    assert "Assigned 0 leads" in again.text and "3 left as they were" in again.text


async def test_large_selection_runs_as_a_job_with_live_progress_and_each_change_its_event(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 450)
    kept = await make_lead(client, admin, name="Not imported", source="website")
    await db.execute(BULK_LEADS_SQL, other.tenant_id, 5)
    await browser_login(client, admin)
    page = await client.get("/leads?agent=any")
    assert "Select all 451 matching" in page.text
    headers = await _form_headers(client)
    body = urlencode({"all_matching": "1", "agent": "none", "q": "Lead ", "action": "assign", "bulk_agent": str(agent.user_id)})
    started = await client.post("/leads/bulk", content=body, headers=headers)
    assert started.status_code == 200 and started.headers["hx-redirect"].startswith("/leads/bulk/"), "more than 200: a job"
    operation_page = started.headers["hx-redirect"]
    operation_id = int(operation_page.rsplit("/", 1)[1])
    shown = await client.get(operation_page)
    assert shown.status_code == 200 and "Assigning matching leads to" in shown.text and "of 450 leads" in shown.text

    async def done() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'lead_bulk' AND subject_id = $1", operation_id) == "done"

    await eventually(done, timeout=60)
    fragment = await client.get(operation_page, headers={"HX-Request": "true", "HX-Target": "bulk-progress"})
    assert "<html" not in fragment.text and "Assigned 450 leads to" in fragment.text and "sse:task_progress" not in fragment.text
    assigned = await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1 AND agent_id = $2", admin.tenant_id, agent.user_id)
    assert assigned == 450
    assert await db.fetchval("SELECT agent_id FROM lead WHERE id = $1", kept["id"]) is None, "outside the search: untouched"
    events = await db.fetchval(
        "SELECT count(DISTINCT subject_id) FROM outbox_event WHERE tenant_id = $1 AND event_type = 'lead.updated'", admin.tenant_id
    )
    assert events == 450, "each lead's change wrote its outbox event"
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1 AND agent_id IS NOT NULL", other.tenant_id) == 0
    # The job is idempotent: running it again (a retry) changes nothing and writes no event.
    assert await bulk.run_bulk_operation(admin.tenant_id, operation_id) == 450
    again = await db.fetchval("SELECT count(*) FROM outbox_event WHERE tenant_id = $1 AND event_type = 'lead.updated'", admin.tenant_id)
    assert again == 450
    # Only its requester (and admins) see it; another tenant gets a 404.
    await browser_login(client, other)
    assert (await client.get(operation_page)).status_code == 404
    await browser_login(client, agent)
    assert (await client.get(operation_page)).status_code == 404


async def test_a_retry_resumes_after_the_last_committed_batch(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 300)
    await browser_login(client, admin)
    headers = await _form_headers(client)
    started = await client.post("/leads/bulk", content=urlencode({"all_matching": "1", "action": "delete"}), headers=headers)
    operation_id = int(started.headers["hx-redirect"].rsplit("/", 1)[1])

    async def finished() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'lead_bulk' AND subject_id = $1", operation_id) == "done"

    await eventually(finished, timeout=60)
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL", admin.tenant_id) == 0
    deleted_events = "SELECT count(*) FROM outbox_event WHERE tenant_id = $1 AND event_type = 'lead.deleted'"
    assert await db.fetchval(deleted_events, admin.tenant_id) == 300
    # As if the worker had died after the first batch: the rerun starts after last_id and restores nothing twice.
    first_batch_end = await db.fetchval(
        "SELECT id FROM lead WHERE tenant_id = $1 ORDER BY id OFFSET $2 LIMIT 1", admin.tenant_id, bulk.BATCH - 1
    )
    await db.execute("UPDATE lead SET deleted_at = NULL WHERE tenant_id = $1 AND id > $2", admin.tenant_id, first_batch_end)
    await db.execute("UPDATE lead_bulk_operation SET last_id = $2, changed = $3 WHERE id = $1", operation_id, first_batch_end, bulk.BATCH)
    assert await bulk.run_bulk_operation(admin.tenant_id, operation_id) == 300
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL", admin.tenant_id) == 0
    assert await db.fetchval(deleted_events, admin.tenant_id) == 400, "only the leads after the last batch changed again"
    audit = (await client.get("/v2/audit-log?action=lead.deleted", headers=admin.auth)).json()
    assert audit["total"] >= 2, "every batch's deletion is in the audit log"


async def test_an_agents_all_matching_changes_only_what_they_may_edit(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    colleague = await tenants.add_user(admin, "agent")
    free = await make_lead(client, admin, name="Free")
    taken = await make_lead(client, admin, name="Taken", agent_id=colleague.user_id)
    await browser_login(client, agent)
    headers = await _form_headers(client)
    body = urlencode({"all_matching": "1", "agent": "any", "action": "assign", "bulk_agent": str(agent.user_id)})
    answer = await client.post("/leads/bulk", content=body, headers=headers)
    assert answer.status_code == 200 and "Assigned 1 lead to" in answer.text and "1 left as they were" in answer.text
    assert (await client.get(f"/v2/leads/{free['id']}", headers=admin.auth)).json()["agent_id"] == agent.user_id
    assert (await client.get(f"/v2/leads/{taken['id']}", headers=admin.auth)).json()["agent_id"] == colleague.user_id
    to_colleague = urlencode({"all_matching": "1", "agent": "any", "action": "assign", "bulk_agent": str(colleague.user_id)})
    assert (await client.post("/leads/bulk", content=to_colleague, headers=headers)).status_code == 403
    delete = urlencode({"all_matching": "1", "agent": "any", "action": "delete"})
    assert (await client.post("/leads/bulk", content=delete, headers=headers)).status_code == 403
    support = await tenants.add_user(admin, "support")
    await browser_login(client, support)
    token = csrf_of((await client.get("/leads")).text)
    refused = await client.post("/leads/bulk", content=delete, headers={"x-csrf-token": token, "Content-Type": FORM})
    assert refused.status_code == 403
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 2
