"""SLA policies per category and team queue (issue #14): the most specific policy times a ticket, open tickets keep
their due times unless a change asks to re-time them, and the Settings → SLA & hours screen (admins only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.factories import Account, Tenants
from tests.helpers import browser_client, browser_login, csrf_of
from tests.support.test_tickets_api import open_ticket

ALWAYS_OPEN = {"work_days": [1, 2, 3, 4, 5, 6, 7], "opens_at": "00:00", "closes_at": "23:59", "holiday_country": None}
URL = "/v2/support/sla-policies"


def first_response_minutes(ticket: dict[str, Any]) -> float:
    """The first-response target a ticket got, read off its due time (the desk is open around the clock)."""
    due = datetime.fromisoformat(ticket["first_response_due_at"]) - datetime.fromisoformat(ticket["created_at"])
    return due / timedelta(minutes=1)


async def always_open(client: httpx.AsyncClient, admin: Account) -> None:
    assert (await client.put("/v2/support/business-hours", headers=admin.auth, json=ALWAYS_OPEN)).status_code == 200


def near_closing() -> bool:
    """Within a few minutes of the daily closing minute (23:59) a target spills into the next day: skip the exact check."""
    return datetime.now().astimezone().time() >= datetime(2000, 1, 1, 23, 0).time()


async def test_the_most_specific_policy_times_a_ticket(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    await always_open(client, admin)
    targets = [
        ({}, 40),
        ({"team": "vip"}, 30),
        ({"category": "billing"}, 20),
        ({"category": "billing", "team": "vip"}, 10),
    ]
    for scope, minutes in targets:
        saved = await client.put(
            f"{URL}/high", headers=admin.auth, json={"first_response_minutes": minutes, "resolution_minutes": 120, **scope}
        )
        assert saved.status_code == 200, saved.text
        assert (saved.json()["category"], saved.json()["team"]) == (scope.get("category"), scope.get("team"))
    listed = (await client.get(URL, headers=admin.auth)).json()
    assert [(p["priority"], p["category"], p["team"]) for p in listed[5:]] == [
        ("high", None, "vip"),
        ("high", "billing", None),
        ("high", "billing", "vip"),
    ], "the five priorities, then the overrides"
    if near_closing():
        return
    cases = [("general", "support", 40), ("general", "vip", 30), ("billing", "support", 20), ("billing", "vip", 10)]
    for category, team, minutes in cases:
        ticket = await open_ticket(client, admin, priority="high", category=category, team=team)
        assert round(first_response_minutes(ticket)) == minutes, (category, team)
        explained = (await client.get(f"/v2/support/tickets/{ticket['id']}/sla", headers=admin.auth)).json()
        assert explained["first_response"]["target_minutes"] == minutes
    low = await open_ticket(client, admin, priority="low", category="billing", team="vip")
    low_sla = (await client.get(f"/v2/support/tickets/{low['id']}/sla", headers=admin.auth)).json()
    assert low_sla["first_response"]["target_minutes"] == 960, "an override is for its own priority only"
    # A ticket moved into the category is timed by the override at that change.
    moved = await open_ticket(client, admin, priority="high", category="general")
    changed = (await client.patch(f"/v2/support/tickets/{moved['id']}", headers=admin.auth, json={"category": "billing"})).json()
    assert round(first_response_minutes(changed)) == 20


async def test_changing_a_policy_leaves_open_tickets_alone_unless_asked(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    await always_open(client, admin)
    body = {"first_response_minutes": 60, "resolution_minutes": 600, "category": "billing"}
    assert (await client.put(f"{URL}/high", headers=admin.auth, json=body)).status_code == 200
    ticket = await open_ticket(client, admin, priority="high", category="billing")
    other = await open_ticket(client, admin, priority="high", category="general")
    quiet = await client.put(f"{URL}/high", headers=admin.auth, json={**body, "first_response_minutes": 15})
    assert quiet.json()["recomputed_tickets"] == 0
    after = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert after["first_response_due_at"] == ticket["first_response_due_at"], "not silently rewritten"

    loud = await client.put(f"{URL}/high", headers=admin.auth, json={**body, "first_response_minutes": 15, "recompute_open": True})
    assert loud.status_code == 200 and loud.json()["recomputed_tickets"] == 1, "only the billing ticket's due time moved"
    retimed = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    if not near_closing():
        assert round(first_response_minutes(retimed)) == 15
    untouched = (await client.get(f"/v2/support/tickets/{other['id']}", headers=admin.auth)).json()
    assert untouched["first_response_due_at"] == other["first_response_due_at"]

    removed = await client.delete(f"{URL}/high?category=billing&recompute_open=true", headers=admin.auth)
    assert removed.status_code == 204
    back = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    back_sla = (await client.get(f"/v2/support/tickets/{ticket['id']}/sla", headers=admin.auth)).json()
    assert back_sla["first_response"]["target_minutes"] == 240, "back on the priority's default"
    assert back["first_response_due_at"] != retimed["first_response_due_at"]
    assert (await client.delete(f"{URL}/high?category=billing", headers=admin.auth)).status_code == 404


async def test_sla_policies_are_per_tenant_and_for_admins(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    manager = await tenants.add_user(admin, "manager")
    other = await tenants.create(plan="enterprise")
    body = {"first_response_minutes": 5, "resolution_minutes": 10, "category": "billing"}
    assert (await client.put(f"{URL}/high", headers=manager.auth, json=body)).status_code == 403
    assert (await client.put(f"{URL}/high", headers=admin.auth, json=body)).status_code == 200
    assert (await client.delete(f"{URL}/high?category=billing", headers=manager.auth)).status_code == 403
    assert [p for p in (await client.get(URL, headers=other.auth)).json() if p["category"]] == [], "not another tenant's"
    assert (await client.delete(f"{URL}/high?category=billing", headers=other.auth)).status_code == 404
    assert len([p for p in (await client.get(URL, headers=admin.auth)).json() if p["category"]]) == 1
    blank = await client.put(f"{URL}/high", headers=admin.auth, json={**body, "category": "   "})
    assert blank.status_code == 422


async def test_the_settings_screen_saves_hours_targets_and_overrides(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    manager = await tenants.add_user(admin, "manager")
    await browser_login(client, admin)
    page = await client.get("/settings/sla")
    assert page.status_code == 200 and 'href="/settings/sla" class="active"' in page.text and "United Arab Emirates (AE)" in page.text
    token = csrf_of(page.text)

    bad_hours = await client.post(
        "/settings/sla/hours", data={"_csrf_token": token, "work_days": ["1", "2"], "opens_at": "18:00", "closes_at": "09:00"}
    )
    assert bad_hours.status_code == 422 and 'id="err-closes_at"' in bad_hours.text and "Close after opening" in bad_hours.text
    hours = await client.post(
        "/settings/sla/hours",
        data={
            "_csrf_token": token,
            "work_days": ["1", "2", "3", "4", "7"],
            "opens_at": "08:00",
            "closes_at": "16:30",
            "holiday_country": "AE",
        },
    )
    assert hours.status_code == 303
    saved = (await client.get("/v2/support/business-hours", headers=admin.auth)).json()
    assert (saved["work_days"], saved["opens_at"], saved["closes_at"], saved["holiday_country"]) == (
        [1, 2, 3, 4, 7],
        "08:00",
        "16:30",
        "AE",
    )

    fields = {f"{kind}_{p['priority']}": str(p[f"{'first_response' if kind == 'first' else 'resolution'}_minutes"])
              for p in (await client.get(URL, headers=admin.auth)).json() for kind in ("first", "resolution")}  # fmt: skip
    bad = await client.post("/settings/sla/targets", data={"_csrf_token": token, **fields, "first_high": "2000", "first_low": "x"})
    assert bad.status_code == 422 and 'id="err-resolution_high"' in bad.text and 'id="err-first_low"' in bad.text
    assert (await client.get(URL, headers=admin.auth)).json()[2]["is_default"] is True, "nothing saved"
    good = await client.post("/settings/sla/targets", data={"_csrf_token": token, **fields, "first_high": "45"})
    assert good.status_code == 303 and good.headers["location"] == "/settings/sla?saved=targets"
    policies = (await client.get(URL, headers=admin.auth)).json()
    assert [(p["priority"], p["first_response_minutes"], p["is_default"]) for p in policies[1:3]] == [
        ("medium", 480, True),
        ("high", 45, False),
    ]

    override = await client.post(
        "/settings/sla/overrides",
        data={"_csrf_token": token, "priority": "urgent", "category": "billing", "team": "", "first_response_minutes": "20",
              "resolution_minutes": "200", "recompute_open": "1"},
    )  # fmt: skip
    assert override.status_code == 303 and "retimed=0" in override.headers["location"]
    shown = await client.get(override.headers["location"])
    assert "Override saved. 0 open tickets re-timed." in shown.text and '<td data-label="Category">billing</td>' in shown.text
    neither = await client.post(
        "/settings/sla/overrides",
        data={"_csrf_token": token, "priority": "urgent", "first_response_minutes": "20", "resolution_minutes": "200"},
    )
    assert neither.status_code == 422 and "Name a category, a team queue or both" in neither.text
    removed = await client.post(
        "/settings/sla/overrides/delete", data={"_csrf_token": token, "priority": "urgent", "category": "billing", "team": ""}
    )
    assert removed.status_code == 303
    assert [p for p in (await client.get(URL, headers=admin.auth)).json() if p["category"]] == []

    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, manager)
        assert (await other.get("/settings/sla")).status_code == 403
        refused = await other.post("/settings/sla/hours", data={"_csrf_token": csrf_of((await other.get("/settings/team")).text)})
        assert refused.status_code == 403
        assert 'href="/settings/sla"' not in (await other.get("/settings/team")).text
