"""Times on screens show in the viewer's zone (their own, else the workspace's), labelled with it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
from litestar import Litestar

from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


def _shown_time(html: str) -> tuple[datetime, str, str]:
    """The lead page's 'Created …' time: (the instant, what is shown, the zone in the title)."""
    match = re.search(r'Created <time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html)
    assert match, "the lead page shows when it was created"
    return datetime.fromisoformat(match.group(1)), match.group(3), match.group(2)


async def test_workspace_and_personal_zones(client: httpx.AsyncClient, tenants: Tenants, app: Litestar) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Zoned")
    await browser_login(client, admin)

    instant, shown, zone = _shown_time((await client.get(f"/leads/{lead['id']}")).text)
    assert zone == "UTC" and shown == instant.strftime("%d %b %Y %H:%M") + " UTC", "a new workspace shows UTC, labelled"

    page = await client.get("/settings/team")
    saved = await client.post("/settings/workspace", data={"_csrf_token": csrf_of(page.text), "time_zone": "Asia/Dubai"})
    assert saved.status_code == 200 and "The workspace&#39;s time zone is now Asia/Dubai." in saved.text
    _, shown, zone = _shown_time((await client.get(f"/leads/{lead['id']}")).text)
    assert zone == "Asia/Dubai" and shown == (instant + timedelta(hours=4)).strftime("%d %b %Y %H:%M") + " UTC+04"
    assert (await client.get("/v2/auth/me", headers=admin.auth)).status_code == 200

    wrong = await client.post("/settings/workspace", data={"_csrf_token": csrf_of(page.text), "time_zone": "Mars/Olympus"})
    assert wrong.status_code == 422 and "Choose a time zone from the list" in wrong.text
    assert 'title="Asia/Dubai"' in (await client.get(f"/leads/{lead['id']}")).text, "a refused zone changes nothing"

    async with browser_client(app) as browser:
        await browser_login(browser, agent)
        _, shown, zone = _shown_time((await browser.get(f"/leads/{lead['id']}")).text)
        assert zone == "Asia/Dubai", "a person without a zone of their own sees the workspace's"
        account = await browser.get("/account")
        assert account.status_code == 200 and "The workspace&#39;s zone (Asia/Dubai)" in account.text
        bad = await browser.post("/account", data={"_csrf_token": csrf_of(account.text), "time_zone": "Nowhere/Land"})
        assert bad.status_code == 422 and "Choose a time zone from the list" in bad.text, "a refused zone on the own page too"
        mine = await browser.post("/account", data={"_csrf_token": csrf_of(account.text), "time_zone": "America/New_York"})
        assert mine.status_code == 200 and "Times now show in America/New York." in mine.text
        _, shown, zone = _shown_time((await browser.get(f"/leads/{lead['id']}")).text)
        assert zone == "America/New_York" and shown == (instant - timedelta(hours=5)).strftime("%d %b %Y %H:%M") + " EST"
        refused = await browser.post("/settings/workspace", data={"_csrf_token": csrf_of(account.text), "time_zone": "UTC"})
        assert refused.status_code == 403, "only an admin changes the workspace's zone"
        back = await browser.post("/account", data={"_csrf_token": csrf_of(account.text), "time_zone": ""})
        assert back.status_code == 200 and "Times now show in Asia/Dubai." in back.text, "empty: the workspace's zone again"

    other = await tenants.create()
    other_lead = await make_lead(client, other, name="Elsewhere")
    async with browser_client(app) as browser:
        await browser_login(browser, other)
        _, _, zone = _shown_time((await browser.get(f"/leads/{other_lead['id']}")).text)
        assert zone == "UTC", "another tenant's workspace zone is its own"
