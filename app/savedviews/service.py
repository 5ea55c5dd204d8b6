"""Saved views: a person's own and the team's shared views of a list screen; saving and removing them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from asyncpg.exceptions import UniqueViolationError

from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.db import TenantScope, fetch, tenant_transaction
from app.savedviews import policy

SCREENS = ("leads",)
MAX_VIEWS = 50


@dataclass(frozen=True, slots=True)
class View:
    """A saved view as a screen shows it."""

    id: int
    name: str
    query: str
    shared: bool
    user_id: int
    mine: bool


def clean_query(query: str) -> str:
    """A list's state as it is kept: its query without the page offset (a view starts on its first page)."""
    return urlencode([(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k != "offset"][:40])[:2000]


async def views_of(scope: TenantScope, screen: str) -> list[View]:
    """The caller's own views of `screen` and the team's shared ones, shared first, by name."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """SELECT id, name, query, shared, user_id FROM saved_view
                WHERE tenant_id = $1 AND screen = $2 AND (user_id = $3 OR shared) ORDER BY shared DESC, lower(name), id LIMIT 100""",
            scope.tenant_id,
            screen,
            scope.user_id or 0,
        )
    return [View(**r, mine=r["user_id"] == scope.user_id) for r in rows]


async def save_view(scope: TenantScope, screen: str, name: str, query: str, *, shared: bool = False) -> View:
    """Save the list's current state under a name (shared with the team by admins and managers)."""
    policy.SAVE.require(scope)
    if shared:
        policy.SHARE.require(scope)
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise ValidationFailed(
            "Invalid name: 1 to 60 characters",
            details={"field": "name", "provided": name[:80], "expected": "1 to 60 characters"},
            human="Give the view a name (up to 60 characters)",
        )
    if screen not in SCREENS:
        raise ValidationFailed("Invalid screen", details={"field": "screen", "provided": screen[:30], "expected": ", ".join(SCREENS)})
    async with tenant_transaction(scope.tenant_id):
        count = await fetch("SELECT count(*) AS n FROM saved_view WHERE tenant_id = $1 AND user_id = $2", scope.tenant_id, scope.user_id)
        if count[0]["n"] >= MAX_VIEWS:
            raise Conflict(f"At most {MAX_VIEWS} saved views each", human=f"You have {MAX_VIEWS} saved views: remove one first")
        try:
            rows = await fetch(
                """INSERT INTO saved_view (tenant_id, user_id, screen, name, query, shared) VALUES ($1, $2, $3, $4, $5, $6)
                   RETURNING id, name, query, shared, user_id""",
                scope.tenant_id,
                scope.user_id,
                screen,
                name,
                clean_query(query),
                shared,
            )
        except UniqueViolationError:
            raise ValidationFailed(
                "Invalid name: you already have a view with this name",
                details={"field": "name", "provided": name, "expected": "a name not used by your views", "reason": "duplicate"},
                human="You already have a view with this name",
            ) from None
    return View(**rows[0], mine=True)


async def remove_view(scope: TenantScope, view_id: int) -> None:
    """Remove one's own view (admins and managers also the team's shared ones)."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT id, user_id, shared FROM saved_view WHERE tenant_id = $1 AND id = $2 AND (user_id = $3 OR shared)",
            scope.tenant_id,
            min(view_id, 2**63 - 1),
            scope.user_id or 0,
        )
        if not rows:
            raise ResourceNotFound("Saved view not found", details={"view_id": view_id})
        policy.REMOVE.require(scope, rows[0])
        await fetch("DELETE FROM saved_view WHERE id = $1", view_id)
