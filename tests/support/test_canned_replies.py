"""Canned replies (issue #14): the team's shared snippets through the API and the screens, placeholders filled in a
Jinja2 sandbox for a ticket, a bad placeholder refused at save, inserted into a ticket's answer; tenants and roles."""

from __future__ import annotations

import html
import re

import httpx

from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of
from tests.support.test_tickets_api import open_ticket

HX = {"HX-Request": "true"}
URL = "/v2/support/canned-replies"
GREETING = {
    "title": "Locksmith on the way",
    "body": "Hello {{ customer_name }},\n\nabout #{{ ticket_id }}: a locksmith is on the way.\n\n{{ agent_name }}",
    "category": "maintenance",
}


async def test_support_keeps_canned_replies_and_fills_them_in_for_a_ticket(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    created = await client.post(URL, headers=support.auth, json=GREETING)
    assert created.status_code == 201, created.text
    reply = created.json()
    assert created.headers["location"] == f"{URL}/{reply['id']}" and reply["category"] == "maintenance"
    await client.post(URL, headers=admin.auth, json={"title": "Anything else?", "body": "Anything else we can do?"})
    listed = (await client.get(URL, headers=support.auth)).json()
    assert [r["title"] for r in listed] == ["Anything else?", "Locksmith on the way"]
    assert [r["title"] for r in (await client.get(f"{URL}?category=maintenance", headers=support.auth)).json()] == ["Locksmith on the way"]

    ticket = await open_ticket(client, admin, customer_name="Noor Saleh")
    filled = await client.get(f"{URL}/{reply['id']}/render?ticket_id={ticket['id']}", headers=support.auth)
    assert filled.status_code == 200, filled.text
    assert re.fullmatch(rf"Hello Noor Saleh,\n\nabout #{ticket['id']}: a locksmith is on the way.\n\nSupport \d+", filled.json()["body"])

    changed = await client.patch(f"{URL}/{reply['id']}", headers=support.auth, json={"title": "Locksmith today", "category": None})
    assert changed.status_code == 200 and changed.json()["title"] == "Locksmith today" and changed.json()["category"] is None
    assert (await client.delete(f"{URL}/{reply['id']}", headers=support.auth)).status_code == 204
    assert (await client.get(f"{URL}/{reply['id']}", headers=support.auth)).status_code == 404


async def test_a_bad_placeholder_is_refused_at_save_and_changes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    for body, words in [
        ("Hi {{ customer_nmae }}", "{{ customer_nmae }} is not one of the placeholders"),
        ("Hi {{ customer_name ", "a placeholder is broken"),
        ("{{ ticket_id.__class__.__mro__ }}", "`getattr` is not allowed"),  # no attribute of anything
        ("{% for x in range(10**9) %}x{% endfor %}", "`for` is not allowed"),  # no loop
        ("{{ customer_name|attr('x') }}", "the filter `attr` is not allowed"),
        ("{{ 9**9**9**9 }}", "`pow` is not allowed"),  # no arithmetic: it would be worked out while compiling
        ("{% if customer_name %}Hi{% endif %}", "`if` is not allowed"),  # a canned reply is text and placeholders
    ]:
        refused = await client.post(URL, headers=admin.auth, json={"title": "Bad", "body": body})
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert error["details"]["field"] == "body" and error["details"]["reason"] == "bad_placeholder", error
        assert words in error["message"], error
    assert (await client.get(URL, headers=admin.auth)).json() == [], "nothing was saved"
    good = (await client.post(URL, headers=admin.auth, json={"title": "Ok", "body": "Hi {{ customer_name }}"})).json()
    patched = await client.patch(f"{URL}/{good['id']}", headers=admin.auth, json={"body": "Hi {{ nobody }}"})
    assert (
        patched.status_code == 422
        and (await client.get(f"{URL}/{good['id']}", headers=admin.auth)).json()["body"] == "Hi {{ customer_name }}"
    )


async def test_roles_and_tenants_of_canned_replies(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    other = await tenants.create(plan="enterprise")
    reply = (await client.post(URL, headers=admin.auth, json=GREETING)).json()
    theirs = (await client.post(URL, headers=other.auth, json={**GREETING, "title": "Theirs"})).json()
    own_ticket = await open_ticket(client, admin, assigned_to=agent.user_id)
    desk_ticket = await open_ticket(client, admin)

    assert (await client.get(URL, headers=agent.auth)).status_code == 200, "agents use them"
    assert (await client.post(URL, headers=agent.auth, json=GREETING)).status_code == 403, "but do not change them"
    assert (await client.patch(f"{URL}/{reply['id']}", headers=agent.auth, json={"title": "x"})).status_code == 403
    assert (await client.delete(f"{URL}/{reply['id']}", headers=agent.auth)).status_code == 403
    assert (await client.get(f"{URL}/{reply['id']}/render?ticket_id={own_ticket['id']}", headers=agent.auth)).status_code == 200
    assert (await client.get(f"{URL}/{reply['id']}/render?ticket_id={desk_ticket['id']}", headers=agent.auth)).status_code == 404
    assert (await client.get(URL, headers=finance.auth)).status_code == 403
    assert [r["id"] for r in (await client.get(URL, headers=other.auth)).json()] == [theirs["id"]]
    for method in ("get", "delete"):
        assert (await client.request(method, f"{URL}/{reply['id']}", headers=other.auth)).status_code == 404
    assert (await client.patch(f"{URL}/{reply['id']}", headers=other.auth, json={"title": "x"})).status_code == 404
    assert (await client.get(f"{URL}/{theirs['id']}/render?ticket_id={own_ticket['id']}", headers=admin.auth)).status_code == 404
    assert (await client.get(f"{URL}/{reply['id']}", headers=admin.auth)).json()["title"] == GREETING["title"]

    await browser_login(client, agent)
    screen = await client.get("/canned-replies")
    assert screen.status_code == 200 and "Locksmith on the way" in screen.text and 'id="canned-form"' not in screen.text
    refused = await client.post("/canned-replies", data={"_csrf_token": csrf_of(screen.text), "title": "x", "body": "y"})
    assert refused.status_code == 403
    async with browser_client(client._transport.app) as books:  # type: ignore[attr-defined]
        await browser_login(books, finance)
        assert (await books.get("/canned-replies")).status_code == 403


async def test_the_screen_saves_shows_a_bad_placeholder_and_the_ticket_page_inserts_one(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    ticket = await open_ticket(client, admin, customer_name="Noor Saleh")
    await browser_login(client, support)
    screen = await client.get("/canned-replies")
    token = csrf_of(screen.text)
    bad = await client.post("/canned-replies", data={"_csrf_token": token, "title": "Hi", "body": "Dear {{ customer }}"})
    assert (
        bad.status_code == 422
        and 'id="err-body"' in bad.text
        and "{{ customer }} is not one of the placeholders" in html.unescape(bad.text)
    )
    assert "Dear {{ customer }}" in html.unescape(bad.text), "what was typed is kept"
    saved = await client.post("/canned-replies", data={"_csrf_token": token, "title": "Hi", "body": "Dear {{ customer_name }}, done."})
    assert saved.status_code == 303
    [reply] = (await client.get(URL, headers=admin.auth)).json()
    edit = await client.get(f"/canned-replies?edit={reply['id']}")
    assert 'action="/canned-replies/' + str(reply["id"]) + '"' in edit.text

    page = await client.get(f"/tickets/{ticket['id']}")
    assert f'<option value="{reply["id"]}">Hi</option>' in page.text
    box = await client.get(
        f"/tickets/{ticket['id']}/reply-box",
        params={"canned_reply_id": reply["id"], "content": "Thanks for waiting."},
        headers={**HX, "HX-Target": "reply-box"},
    )
    assert box.status_code == 200 and box.text.lstrip().startswith('<div id="reply-box">')
    assert "Thanks for waiting.\n\nDear Noor Saleh, done.</textarea>" in box.text and "autofocus" in box.text
    no_js = await client.get(f"/tickets/{ticket['id']}/reply-box", params={"canned_reply_id": reply["id"]})
    assert no_js.status_code == 200 and "<h1>" in no_js.text and "Dear Noor Saleh, done.</textarea>" in no_js.text
    gone = await client.get(
        f"/tickets/{ticket['id']}/reply-box", params={"canned_reply_id": 999999}, headers={**HX, "HX-Target": "reply-box"}
    )
    assert gone.status_code == 200 and "Canned reply not found" in gone.text
