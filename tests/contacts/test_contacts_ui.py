"""Contacts and companies screens over HTTP."""

from __future__ import annotations

import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of


async def test_contacts_screens_search_create_and_show_activity(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    company = (await client.post("/v2/companies", headers=admin.auth, json={"name": "Marina Holdings"})).json()
    contact = (await client.post("/v2/contacts", headers=admin.auth, json={"name": "Omar Haddad", "company_id": company["id"]})).json()
    await make_lead(client, admin, name="Penthouse search", contact_id=contact["id"])
    await browser_login(client, admin)
    page = await client.get("/contacts?q=omar")
    assert page.status_code == 200 and "Omar Haddad" in page.text and 'value="omar"' in page.text
    fragment = await client.get("/contacts?q=nobody", headers={"HX-Request": "true", "HX-Target": "contact-results"})
    assert "<html" not in fragment.text and "No contacts match." in fragment.text
    token = csrf_of(page.text)
    bad = await client.post("/contacts", data={"_csrf_token": token, "name": "Lina", "phone": "12"})
    assert bad.status_code == 422 and "Enter the phone in international format" in bad.text and 'value="Lina"' in bad.text
    good = await client.post(
        "/contacts", data={"_csrf_token": token, "name": "Lina", "phone": "+971 50 777 8888", "company_id": str(company["id"])}
    )
    assert good.status_code == 303
    detail = await client.get(f"/contacts/{contact['id']}")
    assert "Penthouse search" in detail.text and "Lead created" in detail.text and "Marina Holdings" in detail.text
    company_page = await client.get(f"/companies/{company['id']}")
    assert "Omar Haddad" in company_page.text and "Lina" in company_page.text
    assert (await client.get("/companies?q=marina")).text.count("Marina Holdings") >= 1


async def test_contacts_screens_respect_roles_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    theirs = (await client.post("/v2/contacts", headers=b.auth, json={"name": "B's contact"})).json()
    finance = await tenants.add_user(a, "finance")
    await browser_login(client, finance)
    page = await client.get("/contacts")
    assert page.status_code == 200 and "Add a contact" not in page.text
    assert (await client.post("/contacts", data={"_csrf_token": csrf_of(page.text), "name": "x"})).status_code == 403
    assert (await client.get(f"/contacts/{theirs['id']}")).status_code == 404
