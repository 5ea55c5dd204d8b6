"""The knowledge base through the API (NeuraCRM §6.2): sanitised HTML, drafts, full-text search ranking a known set
with highlighted snippets, suggestions for a ticket; roles and tenants."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Account, Tenants

ARTICLES = [
    (
        "How to Reset Password",
        "<p>To reset your password, open <b>Settings</b> and choose <i>Reset password</i>.</p>",
        "getting_started",
        ["password", "login", "security"],
    ),
    (
        "Two-factor login",
        "<p>Turn on two-factor authentication to protect your login. You will need your phone.</p>",
        "security",
        ["login", "2fa"],
    ),
    (
        "Paying an invoice",
        "<p>Invoices can be paid by card or bank transfer. A password is never asked by e-mail.</p>",
        "billing",
        ["invoice"],
    ),
    ("Booking a viewing", "<p>Pick a time in the agenda and the agent confirms it.</p>", "getting_started", ["viewing"]),
]


async def write(
    client: httpx.AsyncClient, who: Account, title: str, content: str, category: str, tags: list[str], **more: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v2/knowledge-base/articles",
        headers=who.auth,
        json={"title": title, "content": content, "category": category, "tags": tags, **more},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_search_ranks_a_known_set_and_marks_the_matches(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    made = [await write(client, admin, *article) for article in ARTICLES]
    await write(client, admin, "Password policy (draft)", "<p>password password password</p>", "security", ["password"], status="draft")
    found = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "reset password"})).json()
    assert "data" in found, found
    assert [hit["id"] for hit in found["data"]] == [made[0]["id"]], "both words: only the reset article"
    ranked = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "password"})).json()["data"]
    # The title match ranks first, the body-only mention last; the draft is not searched.
    assert [hit["id"] for hit in ranked] == [made[0]["id"], made[2]["id"]]
    assert ranked[0]["rank"] > ranked[1]["rank"] > 0
    assert "<mark>password</mark>" in ranked[0]["snippet"]
    login = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "login"})).json()["data"]
    assert {hit["id"] for hit in login} == {made[0]["id"], made[1]["id"]} and login[0]["id"] == made[1]["id"], "title beats tags"
    only = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "login", "category": "security"})).json()
    assert [hit["id"] for hit in only["data"]] == [made[1]["id"]]
    limited = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "login", "limit": 1})).json()
    assert limited["total"] == 1
    phrase = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": '"bank transfer" -card'})).json()
    assert phrase["data"] == []
    assert (await client.get("/v2/knowledge-base/search", headers=admin.auth)).status_code in (400, 422), "a query is required"


async def test_html_is_sanitised_and_snippets_stay_text(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    article = await write(
        client,
        admin,
        "Scripted",
        '<p onclick="steal()">Safe words<script>alert(1)</script> <a href="javascript:alert(1)">link</a> if x &lt; y &amp; z, escaped</p>',
        "general",
        [],
    )
    assert "script" not in article["content"] and "onclick" not in article["content"] and "javascript" not in article["content"]
    assert "<p>Safe words" in article["content"]
    hit = (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "escaped"})).json()["data"][0]
    assert "x &lt; y &amp; z, <mark>escaped</mark>" in hit["snippet"], "the article's text is escaped; only the marks are markup"
    changed = await client.patch(
        f"/v2/knowledge-base/articles/{article['id']}", headers=admin.auth, json={"content": "<p>Fresh text</p><img src=x onerror=y>"}
    )
    assert changed.status_code == 200 and "onerror" not in changed.json()["content"]
    assert (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "fresh"})).json()["total"] == 1
    assert (await client.get("/v2/knowledge-base/search", headers=admin.auth, params={"query": "escaped"})).json()["total"] == 0


async def test_a_ticket_suggests_articles_from_its_words(client: httpx.AsyncClient, tenants: Tenants) -> None:
    from app.db import TenantScope
    from app.support import knowledge

    admin = await tenants.create(plan="enterprise")
    made = [await write(client, admin, *article) for article in ARTICLES]
    scope = TenantScope(tenant_id=admin.tenant_id, user_id=admin.user_id, role="support")
    hits = await knowledge.suggest_for_ticket(scope, "Cannot reset my password", "The reset link in the e-mail does not work")
    assert hits[0].id == made[0]["id"]
    assert await knowledge.suggest_for_ticket(scope, "Zebra", "quux") == []
    finance = TenantScope(tenant_id=admin.tenant_id, user_id=admin.user_id, role="finance")
    assert await knowledge.suggest_for_ticket(finance, "reset password", "") == []


async def test_roles_drafts_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    other = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    support = await tenants.add_user(admin, "support")
    published = await write(client, support, *ARTICLES[0])
    draft = await write(client, support, "Unfinished", "<p>soon</p>", "general", [], status="draft")
    foreign = await write(client, other, *ARTICLES[1])
    assert (await client.get(f"/v2/knowledge-base/articles/{published['id']}", headers=agent.auth)).status_code == 200
    assert (await client.get(f"/v2/knowledge-base/articles/{draft['id']}", headers=agent.auth)).status_code == 404, "drafts are for writers"
    assert [a["id"] for a in (await client.get("/v2/knowledge-base/articles", headers=agent.auth)).json()["data"]] == [published["id"]]
    assert len((await client.get("/v2/knowledge-base/articles", headers=support.auth)).json()["data"]) == 2
    assert (await client.post("/v2/knowledge-base/articles", headers=agent.auth, json={"title": "x"})).status_code == 403
    assert (
        await client.patch(f"/v2/knowledge-base/articles/{published['id']}", headers=agent.auth, json={"title": "x"})
    ).status_code == 403
    for path in ("/articles", f"/articles/{published['id']}", "/search?query=password"):
        assert (await client.get(f"/v2/knowledge-base{path}", headers=finance.auth)).status_code == 403, path
    assert (await client.get(f"/v2/knowledge-base/articles/{foreign['id']}", headers=admin.auth)).status_code == 404
    assert (await client.patch(f"/v2/knowledge-base/articles/{foreign['id']}", headers=admin.auth, json={"title": "x"})).status_code == 404
    assert (await client.delete(f"/v2/knowledge-base/articles/{foreign['id']}", headers=admin.auth)).status_code == 404
    assert (await client.get("/v2/knowledge-base/search?query=two-factor", headers=admin.auth)).json()["data"] == [], (
        "another tenant's article"
    )
    assert (await client.get("/v2/knowledge-base/search?query=two-factor", headers=other.auth)).json()["total"] == 1
    assert (await client.post("/v2/knowledge-base/articles", headers=admin.auth, json={"title": "", "content": ""})).status_code == 422
    assert (await client.delete(f"/v2/knowledge-base/articles/{published['id']}", headers=support.auth)).status_code == 204
    assert (await client.get(f"/v2/knowledge-base/articles/{published['id']}", headers=support.auth)).status_code == 404


async def test_the_knowledge_base_screens_search_write_and_suggest(client: httpx.AsyncClient, tenants: Tenants) -> None:
    from tests.helpers import browser_client, browser_login, csrf_of
    from tests.support.test_tickets_api import open_ticket

    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    agent = await tenants.add_user(admin, "agent")
    made = [await write(client, admin, *article) for article in ARTICLES]
    await browser_login(client, support)
    found = await client.get("/knowledge-base?q=reset+password", headers={"HX-Request": "true", "HX-Target": "kb-results"})
    assert found.status_code == 200 and found.text.lstrip().startswith('<section id="kb-results"')
    assert "<mark>password</mark>" in found.text and found.headers["hx-push-url"] == "/knowledge-base?q=reset+password"
    page = await client.get("/knowledge-base/new")
    token = csrf_of(page.text)
    bad = await client.post("/knowledge-base", data={"_csrf_token": token, "title": "", "content": "x"})
    assert bad.status_code == 422 and "has-error" in bad.text
    saved = await client.post(
        "/knowledge-base",
        data={"_csrf_token": token, "title": "Gate remote", "content": "<p>Press twice<script>x()</script></p>", "tags": "access, gate"},
    )
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "Press twice" in shown.text and "x()" not in shown.text
    ticket = await open_ticket(client, admin, title="Cannot reset my password", description="The reset e-mail never comes")
    suggested = await client.get(f"/tickets/{ticket['id']}")
    assert "Suggested articles" in suggested.text and f'href="/knowledge-base/{made[0]["id"]}"' in suggested.text
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, agent)
        assert (await other.get("/knowledge-base?q=password")).status_code == 200
        assert (await other.get("/knowledge-base/new")).status_code == 403
