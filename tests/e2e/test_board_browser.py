"""The kanban board in headless Chromium: a card dragged across stages persists and appears live in a second
browser served by a second web process; a WIP refusal snaps the card back with its reason; keyboard moves."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, with_user
from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations, settled
from tests.helpers import atrium_command, process_env

pytestmark = pytest.mark.e2e


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/**")


def drag(page: Page, card: Locator, into: Locator) -> None:
    """Drag `card` by the mouse into the top of the list `into`, with the intermediate moves a person's hand makes."""
    start, end = card.bounding_box(), into.bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + start["height"] / 2 + 5, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 12, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 8, steps=3)
    page.mouse.up()


def column(page: Page, stage: int) -> Locator:
    return page.locator(f".column[data-stage='{stage}']")


def test_cards_move_by_drag_and_keyboard_persist_and_show_live_elsewhere(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    data = tmp_path / "data"
    with atrium_serve(data, free_port()) as (base, _, _):
        # A second web process on the same database, deployed as docs/operations.md says.
        owner = f"postgresql://postgres:@/postgres?host={data / 'pgdata'}"
        second_port = free_port()
        env = process_env(
            DATABASE_URL=with_user(owner, LOGIN_ROLE),
            DATABASE_OWNER_URL=owner,
            DATABASE_SYSTEM_URL=with_user(owner, SYSTEM_LOGIN),
            SECRET_KEY=(data / "secret_key").read_text().strip(),
            ATRIUM_DATA_DIR=str(tmp_path / "second"),
        )
        second = subprocess.Popen(atrium_command("serve", "--no-worker", "--port", str(second_port)), env=env)
        other = f"http://127.0.0.1:{second_port}"
        try:
            for _ in range(240):
                try:
                    if httpx.get(f"{other}/v2/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert second.poll() is None, "the second web process exited"
                time.sleep(0.25)
            token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            stages = [s["id"] for s in api.get("/v2/kanban/board").json()["data"]["stages"]]
            first_cards = api.get("/v2/kanban/board").json()["data"]["stages"][0]["deals"]
            dragged, keyed = first_cards[0]["id"], first_cards[1]["id"]

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                mine, theirs = (
                    browser.new_page(strict_selectors=True, viewport={"width": 1400, "height": 900}),
                    browser.new_page(strict_selectors=True, viewport={"width": 1280, "height": 900}),
                )
                errors: list[str] = []
                for page in (mine, theirs):
                    page.on("pageerror", lambda exc: errors.append(str(exc)))
                log_in(mine, base)
                log_in(theirs, other)
                mine.goto(f"{base}/pipeline")
                theirs.goto(f"{other}/pipeline")
                expect(column(theirs, stages[0]).locator(f"#deal-{dragged}")).to_have_count(1)
                assert serious_axe_violations(mine) == []
                mine.evaluate("window.notReloaded = true")

                # Drag the first card of the first stage into the third, near its top.
                drag(mine, mine.locator(f"#deal-{dragged}"), column(mine, stages[2]).locator(".cards"))
                expect(column(mine, stages[2]).locator(f"#deal-{dragged}")).to_have_count(1)
                expect(mine.locator(".flash")).to_contain_text("Moved")
                assert api.get(f"/v2/deals/{dragged}").json()["stage_id"] == stages[2]
                assert mine.evaluate("window.notReloaded === true"), "the board answered in place"
                # The other browser, on the other process, sees it without reloading.
                expect(column(theirs, stages[2]).locator(f"#deal-{dragged}")).to_have_count(1)
                mine.reload()
                expect(column(mine, stages[2]).locator(f"#deal-{dragged}")).to_have_count(1)

                # A full stage refuses: the card goes back, and the board says why.
                held = api.get(f"/v2/stages/{stages[3]}").json()["open_deals"]
                api.patch(f"/v2/stages/{stages[3]}", json={"wip_limit": held})
                mine.reload()
                expect(column(mine, stages[3]).locator(".wip")).to_contain_text(f"{held}/{held}")
                drag(mine, mine.locator(f"#deal-{dragged}"), column(mine, stages[3]).locator(".cards"))
                expect(mine.locator(".board-refusal")).to_contain_text(f"of its {held} deals")
                expect(column(mine, stages[2]).locator(f"#deal-{dragged}")).to_have_count(1)
                assert api.get(f"/v2/deals/{dragged}").json()["stage_id"] == stages[2]

                # From the keyboard: Alt+→ moves the focused card to the next stage, and it keeps the focus.
                settled(mine)
                mine.locator(f"#deal-{keyed} a").focus()
                mine.keyboard.press("Alt+ArrowRight")
                expect(column(mine, stages[1]).locator(f"#deal-{keyed}")).to_have_count(1)
                expect(mine.locator(f"#deal-{keyed} a")).to_be_focused()
                assert api.get(f"/v2/deals/{keyed}").json()["stage_id"] == stages[1]

                # The panel opens beside the board, and its URL can be shared.
                mine.click(f"#deal-{keyed} a")
                expect(mine.locator("#deal-panel-body h2")).to_be_visible()
                assert f"deal={keyed}" in mine.url
                assert serious_axe_violations(mine) == []
                assert errors == [], errors
                browser.close()
        finally:
            second.terminate()
            second.wait(timeout=30)
