"""Contacts and companies through the API: CRUD, links to leads, activity, roles and tenants."""

from __future__ import annotations

import httpx

from tests.factories import Tenants, make_lead


async def test_reference_style_contact_and_company_crud(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    company = await client.post("/v2/companies", headers=admin.auth, json={"name": "Tech Solutions Inc", "domain": "techsolutions.example"})
    assert company.status_code == 201 and company.headers["location"] == f"/v2/companies/{company.json()['id']}"
    # NeuraCRM §3.3's body, with the company linked by id.
    body = {
        "name": "John Smith",
        "email": "John@Company.com",
        "phone": "+1-555-0123456",
        "title": "CTO",
        "company_id": company.json()["id"],
    }
    contact = await client.post("/v2/contacts", headers=admin.auth, json=body)
    assert contact.status_code == 201, contact.text
    got = (await client.get(f"/v2/contacts/{contact.json()['id']}", headers=admin.auth)).json()
    assert got["email"] == "john@company.com" and got["phone"] == "+15550123456" and got["company_name"] == "Tech Solutions Inc"
    patched = await client.patch(f"/v2/contacts/{got['id']}", headers=admin.auth, json={"title": "CEO"})
    assert patched.json()["title"] == "CEO"
    listed = (await client.get("/v2/contacts?q=smith", headers=admin.auth)).json()
    assert listed["total"] == 1 and listed["data"][0]["id"] == got["id"]
    of_company = (await client.get(f"/v2/companies/{company.json()['id']}/contacts", headers=admin.auth)).json()
    assert [c["name"] for c in of_company["data"]] == ["John Smith"]
    assert (await client.get("/v2/companies?q=tech", headers=admin.auth)).json()["total"] == 1
    # Deleting the company keeps the contact, unlinked.
    assert (await client.delete(f"/v2/companies/{company.json()['id']}", headers=admin.auth)).status_code == 204
    after = (await client.get(f"/v2/contacts/{got['id']}", headers=admin.auth)).json()
    assert after["company_id"] is None and after["company_name"] is None


async def test_duplicates_and_bad_input_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    first = (await client.post("/v2/contacts", headers=admin.auth, json={"name": "A", "email": "a@example.com"})).json()
    dup = await client.post("/v2/contacts", headers=admin.auth, json={"name": "B", "email": "A@EXAMPLE.COM"})
    assert dup.status_code == 409 and dup.json()["error"]["details"]["existing_contact_id"] == first["id"]
    bad_phone = await client.post("/v2/contacts", headers=admin.auth, json={"name": "C", "phone": "555"})
    assert bad_phone.status_code == 422 and bad_phone.json()["error"]["details"]["field"] == "phone"
    assert (await client.post("/v2/contacts", headers=admin.auth, json={"name": "D", "tenant_id": 9})).status_code == 422
    assert (await client.post("/v2/contacts", headers=admin.auth, json={"name": "E", "company_id": 999999})).status_code == 422
    await client.post("/v2/companies", headers=admin.auth, json={"name": "Acme"})
    again = await client.post("/v2/companies", headers=admin.auth, json={"name": "ACME"})
    assert again.status_code == 409 and again.json()["error"]["details"]["field"] == "name"
    assert (await client.get("/v2/contacts", headers=admin.auth)).json()["total"] == 1


async def test_leads_link_to_contacts_and_activity_merges_their_timelines(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    company = (await client.post("/v2/companies", headers=admin.auth, json={"name": "Emirates Holdings"})).json()
    contact = (await client.post("/v2/contacts", headers=admin.auth, json={"name": "Fatima", "company_id": company["id"]})).json()
    lead = await make_lead(client, admin, name="Villa search", contact_id=contact["id"], company_id=company["id"])
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})
    await client.patch(f"/v2/contacts/{contact['id']}", headers=admin.auth, json={"title": "Director"})
    assert [x["id"] for x in (await client.get(f"/v2/contacts/{contact['id']}/leads", headers=admin.auth)).json()["data"]] == [lead["id"]]
    assert [x["id"] for x in (await client.get(f"/v2/companies/{company['id']}/leads", headers=admin.auth)).json()["data"]] == [lead["id"]]
    activity = (await client.get(f"/v2/contacts/{contact['id']}/activities", headers=admin.auth)).json()
    kinds = [(a["kind"], a["subject_type"], a["subject_id"]) for a in activity["data"]]
    assert kinds[0] == ("updated", "contact", contact["id"]), "newest first: the contact's own change"
    assert ("status_changed", "lead", lead["id"]) in kinds and ("created", "contact", contact["id"]) in kinds
    assert activity["total"] == len(activity["data"])
    other = await tenants.create()
    foreign = (await client.post("/v2/contacts", headers=other.auth, json={"name": "Not yours"})).json()
    refused = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"contact_id": foreign["id"]})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "contact_id"


async def test_roles_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    contact = (await client.post("/v2/contacts", headers=b.auth, json={"name": "B's"})).json()
    company = (await client.post("/v2/companies", headers=b.auth, json={"name": "B Co"})).json()
    for method, path in (
        ("GET", f"/v2/contacts/{contact['id']}"),
        ("PATCH", f"/v2/contacts/{contact['id']}"),
        ("DELETE", f"/v2/contacts/{contact['id']}"),
        ("GET", f"/v2/contacts/{contact['id']}/activities"),
        ("GET", f"/v2/contacts/{contact['id']}/leads"),
        ("GET", f"/v2/companies/{company['id']}"),
        ("PATCH", f"/v2/companies/{company['id']}"),
        ("DELETE", f"/v2/companies/{company['id']}"),
        ("GET", f"/v2/companies/{company['id']}/contacts"),
    ):
        response = await client.request(method, path, headers=a.auth, json={"name": "x"} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
    assert (await client.get("/v2/contacts", headers=a.auth)).json()["total"] == 0
    finance = await tenants.add_user(b, "finance")
    support = await tenants.add_user(b, "support")
    agent = await tenants.add_user(b, "agent")
    assert (await client.get("/v2/contacts", headers=finance.auth)).status_code == 200
    assert (await client.post("/v2/contacts", headers=finance.auth, json={"name": "x"})).status_code == 403
    assert (await client.post("/v2/contacts", headers=support.auth, json={"name": "Caller"})).status_code == 201
    assert (await client.delete(f"/v2/contacts/{contact['id']}", headers=agent.auth)).status_code == 403
    _, read_key = await tenants.api_key(b, "read")
    assert (await client.post("/v2/companies", headers={"X-API-Key": read_key}, json={"name": "x"})).status_code == 403
    assert (await client.get(f"/v2/contacts/{contact['id']}", headers=b.auth)).json()["name"] == "B's"


async def test_the_neuracrm_contact_body_as_written(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """§3.3's body: `company` as a name (linked, or created), a phone like +1-555-0123 normalised."""
    admin = await tenants.create()
    body = {"name": "John Smith", "email": "john@company.com", "phone": "+1-555-0123", "company": "Tech Solutions Inc", "title": "CTO"}
    created = await client.post("/v2/contacts", headers=admin.auth, json=body)
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["phone"] == "+15550123" and contact["company_name"] == "Tech Solutions Inc" and contact["title"] == "CTO"
    again = await client.post(
        "/v2/contacts", headers=admin.auth, json={"name": "Jane Roe", "email": "jane@company.com", "company": "tech solutions inc"}
    )
    assert again.json()["company_id"] == contact["company_id"], "the same company, whatever the case"
    companies = (await client.get("/v2/companies", headers=admin.auth)).json()
    assert companies["total"] == 1
    both = await client.post("/v2/contacts", headers=admin.auth, json={"name": "X", "company": "A", "company_id": contact["company_id"]})
    assert both.status_code == 422 and both.json()["error"]["details"]["field"] == "company"
    moved = await client.patch(f"/v2/contacts/{contact['id']}", headers=admin.auth, json={"company": "Another Co"})
    assert moved.json()["company_name"] == "Another Co"
