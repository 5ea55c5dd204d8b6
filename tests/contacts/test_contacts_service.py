"""The contacts service called directly: its rules hold without HTTP."""

from __future__ import annotations

import pytest
from litestar import Litestar

from app.contacts import schemas, service
from app.core.errors import Conflict, PermissionDenied, ResourceNotFound
from app.core.pagination import ListQuery
from tests.factories import service_tenant


async def test_support_keeps_contacts_but_only_managers_delete_them(app: Litestar, clean: None) -> None:
    team = await service_tenant("contacts-one", "support", "manager", "finance")
    lina = await service.create_contact(team["support"], schemas.ContactCreate(name="Lina Haddad", email="Lina@Example.com"))
    assert lina.email == "lina@example.com", "e-mails are kept lower-case"
    with pytest.raises(PermissionDenied):
        await service.create_contact(team["finance"], schemas.ContactCreate(name="Not allowed"))
    with pytest.raises(PermissionDenied):
        await service.delete_contact(team["support"], lina.id)
    with pytest.raises(Conflict):
        await service.create_contact(team["manager"], schemas.ContactCreate(name="Twin", email="lina@example.com"))
    await service.delete_contact(team["manager"], lina.id)
    assert (await service.list_contacts(team["finance"], ListQuery())).total == 0


async def test_another_tenants_contact_is_not_found(app: Litestar, clean: None) -> None:
    mine = (await service_tenant("contacts-two"))["admin"]
    theirs = (await service_tenant("contacts-three"))["admin"]
    contact = await service.create_contact(theirs, schemas.ContactCreate(name="Private"))
    with pytest.raises(ResourceNotFound):
        await service.get_contact(mine, contact.id)
    with pytest.raises(ResourceNotFound):
        await service.update_contact(mine, contact.id, schemas.ContactUpdate(name="Taken over"))
    assert (await service.list_contacts(mine, ListQuery(), q="Private")).total == 0
