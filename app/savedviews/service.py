"""Saved views: a person's own and the team's shared views of a list screen; saving and removing them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from asyncpg.exceptions import UniqueViolationError

from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of
from app.db import TenantScope, fetch, tenant_transaction
from app.savedviews import policy
from app.savedviews.schemas import SavedView as View

SCREENS = ("leads",)
MAX_VIEWS = 50


COLUMNS = "id, name, screen, query, shared, user_id, created_at"


def _view(row: dict[str, Any], scope: TenantScope) -> View:
    return msgspec.convert({**row, "mine": row["user_id"] == scope.user_id}, View)


def clean_query(query: str) -> str:
    """A list's state as it is kept: its query without the page offset (a view starts on its first page)."""
    return urlencode([(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k != "offset"][:40])[:2000]


async def views_of(scope: TenantScope, screen: str) -> list[View]:
    """The caller's own views of `screen` and the team's shared ones, shared first, by name."""
    return (await list_views(scope, screen, ListQuery(limit=100))).data


async def list_views(scope: TenantScope, screen: str | None, query: ListQuery) -> Page[View]:
    """A page of the caller's own views and the team's shared ones (of one screen, or all), shared first, by name."""
    policy.READ.require(scope)
    async with tenant_transaction(scope.tenant_id):
        mine_or_shared = "tenant_id = $1 AND (user_id = $2 OR shared) AND ($3::text IS NULL OR screen = $3)"
        rows = await fetch(
            f"SELECT {COLUMNS} FROM saved_view WHERE {mine_or_shared} ORDER BY shared DESC, lower(name), id "
            f"LIMIT {query.limit} OFFSET {query.offset}",
            scope.tenant_id,
            scope.user_id or 0,
            screen,
        )
        total = await fetch(f"SELECT count(*) AS n FROM saved_view WHERE {mine_or_shared}", scope.tenant_id, scope.user_id or 0, screen)
    return page_of(View, [_view(r, scope) for r in rows], query, int(total[0]["n"]))


async def _visible(scope: TenantScope, view_id: int, *, lock: bool = False) -> dict[str, Any]:
    """One's own view or a shared one (inside the tenant transaction); 404 otherwise."""
    rows = await fetch(
        f"SELECT {COLUMNS} FROM saved_view WHERE tenant_id = $1 AND id = $2 AND (user_id = $3 OR shared)" + (" FOR UPDATE" if lock else ""),
        scope.tenant_id,
        max(0, min(view_id, 2**63 - 1)),
        scope.user_id or 0,
    )
    if not rows:
        raise ResourceNotFound("Saved view not found", details={"view_id": view_id})
    return rows[0]


async def get_view(scope: TenantScope, view_id: int) -> View:
    """One of the caller's views, or a shared one."""
    policy.READ.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return _view(await _visible(scope, view_id), scope)


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise ValidationFailed(
            "Invalid name: 1 to 60 characters",
            details={"field": "name", "provided": name[:80], "expected": "1 to 60 characters"},
            human="Give the view a name (up to 60 characters)",
        )
    return name


def _duplicate(name: str) -> ValidationFailed:
    return ValidationFailed(
        "Invalid name: you already have a view with this name",
        details={"field": "name", "provided": name, "expected": "a name not used by your views", "reason": "duplicate"},
        human="You already have a view with this name",
    )


async def update_view(scope: TenantScope, view_id: int, name: str | None, query: str | None, shared: bool | None) -> View:
    """Rename a view, change its state or share it (one's own; admins and managers also the team's shared ones)."""
    async with tenant_transaction(scope.tenant_id):
        row = await _visible(scope, view_id, lock=True)
        policy.REMOVE.require(scope, row)  # who may remove a view may change it
        if shared is not None and shared != row["shared"]:
            policy.SHARE.require(scope)
        new_name = _check_name(name) if name is not None else str(row["name"])
        try:
            rows = await fetch(
                f"UPDATE saved_view SET name = $2, query = $3, shared = $4 WHERE id = $1 RETURNING {COLUMNS}",
                view_id,
                new_name,
                clean_query(query) if query is not None else row["query"],
                shared if shared is not None else row["shared"],
            )
        except UniqueViolationError:
            raise _duplicate(new_name) from None
    return _view(rows[0], scope)


async def save_view(scope: TenantScope, screen: str, name: str, query: str, *, shared: bool = False) -> View:
    """Save the list's current state under a name (shared with the team by admins and managers)."""
    policy.SAVE.require(scope)
    if shared:
        policy.SHARE.require(scope)
    name = _check_name(name)
    if screen not in SCREENS:
        raise ValidationFailed("Invalid screen", details={"field": "screen", "provided": screen[:30], "expected": ", ".join(SCREENS)})
    async with tenant_transaction(scope.tenant_id):
        count = await fetch("SELECT count(*) AS n FROM saved_view WHERE tenant_id = $1 AND user_id = $2", scope.tenant_id, scope.user_id)
        if count[0]["n"] >= MAX_VIEWS:
            raise Conflict(f"At most {MAX_VIEWS} saved views each", human=f"You have {MAX_VIEWS} saved views: remove one first")
        try:
            rows = await fetch(
                f"""INSERT INTO saved_view (tenant_id, user_id, screen, name, query, shared) VALUES ($1, $2, $3, $4, $5, $6)
                   RETURNING {COLUMNS}""",
                scope.tenant_id,
                scope.user_id,
                screen,
                name,
                clean_query(query),
                shared,
            )
        except UniqueViolationError:
            raise _duplicate(name) from None
    return _view(rows[0], scope)


async def remove_view(scope: TenantScope, view_id: int) -> None:
    """Remove one's own view (admins and managers also the team's shared ones)."""
    async with tenant_transaction(scope.tenant_id):
        row = await _visible(scope, view_id, lock=True)
        policy.REMOVE.require(scope, row)
        await fetch("DELETE FROM saved_view WHERE id = $1", view_id)
