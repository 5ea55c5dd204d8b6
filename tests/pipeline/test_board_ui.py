"""The board's screens over HTTP: the page and its fragments, moves and their refusals, the panel, roles and tenancy."""

from __future__ import annotations

import re

import httpx

from tests.factories import Account, Tenants
from tests.helpers import browser_login


async def deal(client: httpx.AsyncClient, who: Account, **fields: object) -> dict[str, object]:
    response = await client.post("/v2/deals", headers=who.auth, json={"title": "Deal", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def test_the_board_page_shows_columns_filters_and_a_deal_panel(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    big = await deal(client, admin, title="Palm villa", value=9000000)
    await deal(client, admin, title="Studio rental", value=80000)
    await browser_login(client, admin)
    page = await client.get("/pipeline")
    assert page.status_code == 200
    assert "New enquiry" in page.text and "Palm villa" in page.text and "data-board" in page.text
    filtered = await client.get("/pipeline", params={"value_min": "1000000"}, headers={"HX-Request": "true", "HX-Target": "board"})
    assert "Palm villa" in filtered.text and "Studio rental" not in filtered.text and "<html" not in filtered.text
    opened = await client.get("/pipeline", params={"deal": big["id"]})
    assert 'id="deal-panel-body"' in opened.text and "Timeline" in opened.text
    panel = await client.get(f"/pipeline/deals/{big['id']}", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "Palm villa" in panel.text and "<html" not in panel.text


async def test_moves_answer_with_the_board_and_refusals_keep_it_as_it_was(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    board = (await client.get("/v2/kanban/board", headers=admin.auth)).json()["data"]
    first, second = board["stages"][0]["id"], board["stages"][1]["id"]
    await client.patch(f"/v2/stages/{second}", headers=admin.auth, json={"wip_limit": 1})
    a = await deal(client, admin, title="Alpha")
    b = await deal(client, admin, title="Bravo")
    await browser_login(client, admin)
    token = csrf((await client.get("/pipeline")).text)
    hx = {"HX-Request": "true", "HX-Target": "board", "X-CSRF-Token": token}
    moved = await client.post(f"/pipeline/deals/{a['id']}/move", data={"stage_id": str(second), "position": "1"}, headers=hx)
    assert moved.status_code == 200 and "Moved “Alpha”" in moved.text
    refused = await client.post(f"/pipeline/deals/{b['id']}/move", data={"stage_id": str(second), "position": "1"}, headers=hx)
    assert refused.status_code == 409
    assert "already holds 1 of its 1 deals" in refused.text and "back where it was" in refused.text
    assert "Move it past the limit anyway" in refused.text, "an admin is offered the override"
    assert (await client.get(f"/v2/deals/{b['id']}", headers=admin.auth)).json()["stage_id"] == first
    lost = await client.post(f"/pipeline/deals/{b['id']}/status", data={"status": "lost"}, headers={**hx, "HX-Target": "deal-panel-body"})
    assert lost.status_code == 422 and "lost" in lost.text.lower() and 'aria-invalid="true"' in lost.text
    edited = await client.post(
        f"/pipeline/deals/{b['id']}",
        data={"title": "Bravo two", "value": "-5", "currency": "AED"},
        headers={**hx, "HX-Target": "deal-panel-body"},
    )
    assert edited.status_code == 422 and 'aria-invalid="true"' in edited.text
    assert (await client.get(f"/v2/deals/{b['id']}", headers=admin.auth)).json()["title"] == "Bravo", "nothing changed"


async def test_readers_and_other_tenants_are_refused_on_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, other = await tenants.create(), await tenants.create()
    support = await tenants.add_user(admin, "support")
    mine = await deal(client, admin, title="Ours")
    stage = (await client.get("/v2/kanban/board", headers=admin.auth)).json()["data"]["stages"][1]["id"]
    await browser_login(client, support)
    page = await client.get("/pipeline")
    assert page.status_code == 200 and "Ours" in page.text and "New deal" not in page.text
    token = csrf(page.text)
    refused = await client.post(
        f"/pipeline/deals/{mine['id']}/move", data={"stage_id": str(stage)}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert refused.status_code == 403
    assert "data-movable" not in page.text, "a reader's cards are not draggable"
    assert (await client.get("/pipeline", params={"owner": "²", "deal": "²", "pipeline": "²", "value_min": "1e-999"})).status_code == 200
    client.cookies.clear()
    agent = await tenants.add_user(admin, "agent")
    owned = await deal(client, admin, title="The admin's", owner_id=admin.user_id)
    await browser_login(client, agent)
    token = csrf((await client.get("/pipeline")).text)
    theirs = await client.post(
        f"/pipeline/deals/{owned['id']}/move",
        data={"stage_id": str(stage)},
        headers={"HX-Request": "true", "HX-Target": "board", "X-CSRF-Token": token},
    )
    assert theirs.status_code == 403 and "back where it was" in theirs.text, "a refused move answers with the board"
    client.cookies.clear()
    await browser_login(client, other)
    assert (await client.get(f"/pipeline/deals/{mine['id']}", headers={"HX-Request": "true"})).status_code == 404
    token = csrf((await client.get("/pipeline")).text)
    moved = await client.post(
        f"/pipeline/deals/{mine['id']}/move", data={"stage_id": str(stage)}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert moved.status_code == 404
    assert (await client.get(f"/v2/deals/{mine['id']}", headers=admin.auth)).json()["stage_id"] != stage
