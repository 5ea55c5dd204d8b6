"""A person's own language for dates and numbers, over the browser's, and right-to-left pages for Arabic and Hebrew."""

from __future__ import annotations

import re

import httpx
from babel.numbers import format_decimal

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of

ARABIC = format_decimal(1250000, format="#,##0", locale="ar")  # what CLDR writes for Arabic readers


def _html_tag(page: str) -> str:
    match = re.search(r"<html [^>]*>", page)
    assert match
    return match.group(0)


async def test_a_chosen_locale_formats_the_screens_and_lays_arabic_out_right_to_left(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await make_lead(client, admin, name="أحمد", budget_min=1250000, budget_max=2000000)
    await browser_login(client, admin)
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    page = await client.get("/leads", headers=german)
    assert _html_tag(page.text) == '<html lang="de-DE" dir="ltr">' and "1.250.000" in page.text, "the browser's language first"
    account = await client.get("/account", headers=german)
    assert "Your browser's (de_DE)" in account.text
    token = csrf_of(account.text)
    saved = await client.post("/account/locale", data={"_csrf_token": token, "locale": "ar"}, headers=german)
    assert saved.status_code == 200 and _html_tag(saved.text) == '<html lang="ar" dir="rtl">', "the answer is already in it"
    page = await client.get("/leads", headers=german)
    assert _html_tag(page.text) == '<html lang="ar" dir="rtl">' and ARABIC in page.text, "Arabic's way, over the browser's"
    assert (await client.get("/v2/auth/me", headers=admin.auth)).json()["locale"] == "ar"
    wrong = await client.post("/account/locale", data={"_csrf_token": token, "locale": "xx_YY"})
    assert wrong.status_code == 422 and "Choose a language from the list" in wrong.text
    assert _html_tag((await client.get("/leads")).text) == '<html lang="ar" dir="rtl">', "a refused choice changes nothing"
    hebrew = await client.post("/account/locale", data={"_csrf_token": token, "locale": "he"})
    assert _html_tag(hebrew.text) == '<html lang="he" dir="rtl">'
    back = await client.post("/account/locale", data={"_csrf_token": token, "locale": ""}, headers=german)
    assert _html_tag(back.text) == '<html lang="de-DE" dir="ltr">' and "your browser&#39;s language" in back.text
    # Each person's own: the agent still reads the house English formats.
    await browser_login(client, agent)
    assert _html_tag((await client.get("/leads?agent=any")).text) == '<html lang="en" dir="ltr">'
