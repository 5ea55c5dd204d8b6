"""Settings → Automation over HTTP: an admin adds "when status becomes QUALIFIED, assign round-robin and create a task"
from the form, sees it run once in the run log, turns it off; managers read, agents and other tenants are refused."""

from __future__ import annotations

import asyncpg
import httpx

from tests.automation.test_workflows_api import _quiet
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of, eventually


async def test_an_admin_adds_the_qualified_rule_on_screen_and_reads_its_run_log(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    manager = await tenants.add_user(admin, "manager")
    stranger = await tenants.create()
    await browser_login(client, admin)
    page = await client.get("/settings/automation")
    assert page.status_code == 200 and "Hot lead: call now" in page.text and "built in" in page.text
    token = csrf_of(page.text)
    form = {"_csrf_token": token, "name": "Qualified: assign and call", "trigger": "lead.status_changed", "field": "status",
            "op": "changed_to", "value": "QUALIFIED", "task_type": "call", "subject": "Call the qualified lead",
            "due_in_minutes": "30"}  # fmt: skip
    bad = await client.post("/settings/automation", data={**form, "actions": "set_status"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Say which status the rule sets" in bad.text
    added = await client.post("/settings/automation", content=_encoded({**form, "actions": ["assign", "create_task"]}),
                              headers={"HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert (
        added.status_code == 200
        and "status becomes QUALIFIED" in added.text
        and "assign round-robin, then create a call task" in added.text
    )
    lead = await make_lead(client, admin, name="Qualify Me")
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})
    await eventually(lambda: _quiet(db))
    log = await client.get("/settings/automation")
    assert (
        f'<a href="/leads/{lead["id"]}">lead {lead["id"]}</a>' in log.text
        and f"assigned lead {lead['id']} to user {agent.user_id}" in log.text
    )
    rule = await db.fetchval("SELECT id FROM workflow WHERE name = 'Qualified: assign and call'")
    off = await client.post(
        f"/settings/automation/{rule}/active", data={"_csrf_token": token, "active": "false"}, headers={"HX-Request": "true"}
    )
    assert off.status_code == 200 and "turned off" in off.text
    assert await db.fetchval("SELECT active FROM workflow WHERE id = $1", rule) is False

    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, manager)
        read = await other.get("/settings/automation")
        assert read.status_code == 200 and "Add a rule" not in read.text
        assert (await other.post(f"/settings/automation/{rule}/delete", data={"_csrf_token": csrf_of(read.text)})).status_code == 403
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, agent)
        assert (await other.get("/settings/automation")).status_code == 403
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, stranger)
        theirs = await other.get("/settings/automation")
        assert f'id="rule-{rule}"' not in theirs.text
        assert (await other.post(f"/settings/automation/{rule}/delete", data={"_csrf_token": csrf_of(theirs.text)})).status_code == 404


def _encoded(fields: dict[str, object]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields, doseq=True).encode()
