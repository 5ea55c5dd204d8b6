"""Contacts and companies."""

from __future__ import annotations

from app.contacts.api import CompanyController, ContactController
from app.contacts.service import COMPANY_SEARCH_TEXT, CONTACT_SEARCH_TEXT
from app.contacts.views import ContactPagesController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="contacts",
    controllers=[ContactController, CompanyController, ContactPagesController],
    nav=[NavEntry("contacts", "Contacts", "/contacts", order=20)],
    searches={"contact": CONTACT_SEARCH_TEXT, "company": COMPANY_SEARCH_TEXT},
    events={"contact.created": "A contact was created", "contact.updated": "A contact was changed"},
)
