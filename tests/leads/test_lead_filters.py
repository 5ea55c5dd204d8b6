"""The leads list's advanced filters (ArtinSmartRealty §4.2), on the API and on the screen as removable chips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login


def _names(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {lead["name"] for lead in answer.json()["data"]}


async def test_api_filters_by_contact_means_location_bedrooms_tags_and_times(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    touched = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    await make_lead(client, admin, name="Marina buyer", phone="+971501110001", preferred_location="Dubai Marina", bedrooms_min=2,
                    bedrooms_max=3, purpose="INVESTMENT", custom_fields={"tags": ["vip", "cash"]}, last_interaction=touched)  # fmt: skip
    await make_lead(client, admin, name="Mail only", email="mail@example.com", preferred_locations=["JLT", "Marina Gate"], bedrooms_min=4)
    await make_lead(client, admin, name="Bare", custom_fields={"tags": ["vipx"]})

    async def names(query: str) -> set[str]:
        return _names(await client.get(f"/v2/leads?{query}", headers=admin.auth))

    assert await names("has_phone=true") == {"Marina buyer"}
    assert await names("has_phone=false&has_email=false") == {"Bare"}
    assert await names("has_email=true") == {"Mail only"}
    assert await names("location=marina") == {"Marina buyer", "Mail only"}, "the preferred location or any of the preferred locations"
    assert await names("bedrooms=3") == {"Marina buyer"}
    assert await names("bedrooms=5") == {"Mail only"}, "from 4 bedrooms up"
    assert await names("bedrooms=1") == set()
    assert await names("tag=vip") == {"Marina buyer"}, "a whole tag, not a part of one"
    assert await names("purpose=INVESTMENT") == {"Marina buyer"}
    since = (datetime.now(UTC) - timedelta(days=4)).isoformat().replace("+00:00", "Z")
    assert await names(f"last_interaction_after={since}") == {"Marina buyer"}
    assert await names(f"last_interaction_before={since}") == set(), "never touched is not touched before"
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert await names(f"updated_before={soon}") == {"Marina buyer", "Mail only", "Bare"}
    assert await names(f"updated_after={soon}") == set()
    for bad in ("has_phone=maybe", "bedrooms=-1", "bedrooms=51", "updated_after=yesterday", "purpose=HOLIDAY"):
        refused = await client.get(f"/v2/leads?{bad}", headers=admin.auth)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR", bad
    # The export takes the same filters.
    exported = await client.get("/v2/export/leads?format=csv&tag=vip", headers=admin.auth)
    assert exported.status_code == 200 and "Marina buyer" in exported.text and "Bare" not in exported.text


async def test_api_filters_by_tasks_overdue_and_no_next_step(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    late = await make_lead(client, admin, name="Late")
    planned = await make_lead(client, admin, name="Planned")
    await make_lead(client, admin, name="Forgotten")
    done = await make_lead(client, admin, name="Done")
    past, future = datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC) + timedelta(days=1)
    for lead, due in ((late, past), (planned, future), (done, past)):
        created = await client.post(
            "/v2/activities", headers=admin.auth, json={"type": "call", "subject": "Call", "due_at": due.isoformat(), "lead_id": lead["id"]}
        )
        assert created.status_code == 201, created.text
        if lead is done:
            await client.patch(f"/v2/activities/{created.json()['id']}", headers=admin.auth, json={"done": True})
    assert _names(await client.get("/v2/leads?has_overdue_task=true", headers=admin.auth)) == {"Late"}
    assert _names(await client.get("/v2/leads?no_next_step=true", headers=admin.auth)) == {"Forgotten", "Done"}
    other = await tenants.create()
    assert _names(await client.get("/v2/leads?no_next_step=true", headers=other.auth)) == set()


async def test_the_screens_more_filters_are_chips_in_the_url_and_follow_into_exports(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    tagged = await make_lead(client, admin, name="Tagged", phone="+971501110002", custom_fields={"tags": ["vip"]}, budget_max=3000000)
    await make_lead(client, admin, name="Cheap", phone="+971501110003", custom_fields={"tags": ["vip"]}, budget_max=100000)
    await make_lead(client, admin, name="Untagged", phone="+971501110004")
    await browser_login(client, admin)
    page = await client.get("/leads?tag=vip&budget_min=1000000&has_phone=yes&bedrooms=nonsense")
    assert page.status_code == 200
    assert "Tagged" in page.text and "Cheap" not in page.text and "Untagged" not in page.text
    assert "Tag: vip" in page.text and "Budget from: 1000000" in page.text and "Phone: Yes" in page.text
    assert "More filters (4 in use)" in page.text, "the section opens on the filters in use (a wrong number is ignored)"
    chip = next(line for line in page.text.splitlines() if "Remove the filter Tag: vip" in line)
    href = chip.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {"budget_min": ["1000000"], "has_phone": ["yes"], "bedrooms": ["nonsense"]}
    fragment = await client.get("/leads?tag=vip", headers={"HX-Request": "true", "HX-Target": "lead-results"})
    assert fragment.headers["hx-push-url"] == "/leads?tag=vip" and "Cheap" in fragment.text
    export = await client.get("/leads/export?format=csv&tag=vip&budget_min=1000000")
    assert "Tagged" in export.text and "Cheap" not in export.text, "the view's export is the view"
    today = str(tagged["created_at"])[:10]  # a day in the viewer's zone (UTC here)
    assert "Tagged" in (await client.get(f"/leads?created_from={today}&created_to={today}")).text
    assert "Tagged" not in (await client.get(f"/leads?created_to={(datetime.now(UTC) - timedelta(days=2)).date()}")).text
