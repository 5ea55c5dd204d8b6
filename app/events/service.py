"""`emit`: the one way a change is recorded — its timeline entry, its audit entry and its outbox events,
written in the caller's tenant transaction so they commit or roll back with the change itself."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.core.json import encode_json
from app.core.pagination import ListQuery, Page, page_of
from app.db import TenantScope, fetch, own_events, tenant_transaction
from app.events.catalog import declared
from app.events.schemas import TimelineEntry
from app.piccolo_conf import DB


@dataclass(frozen=True, slots=True)
class Subject:
    """The record a change happened to; `contact_id` puts its timeline entries on that contact's too."""

    type: str
    id: int | str
    contact_id: int | None = None


def jsonable(value: Any) -> Any:
    """A value as it is written into event payloads and timeline changes (money as a string, times in ISO 8601)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _require_transaction() -> None:
    if DB.current_transaction.get() is None:
        raise RuntimeError("emit() runs inside the change's tenant transaction, never after it commits")


@dataclass(frozen=True, slots=True)
class Change:
    """One record's change for `emit_all`: a timeline entry (when `summary` is set) and outbox `events`."""

    subject: Subject
    kind: str
    summary: str | None = None
    changes: Mapping[str, tuple[Any, Any]] | None = None
    events: Iterable[tuple[str, Mapping[str, Any]]] = ()


async def emit(
    scope: TenantScope,
    subject: Subject,
    kind: str,
    summary: str | None = None,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    *,
    audit: bool | Mapping[str, Any] = False,
    events: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> None:
    """Record a change of `subject`, inside the caller's transaction.

    - `summary`: a timeline entry (kind, summary, `changes` as {field: (before, after)});
    - `audit`: an audit-log entry too (True, or its details); its action is `kind` when it has a dot,
      else `<subject type>.<kind>` (`lead.deleted`);
    - `events`: outbox events `(event_type, data)`, each a declared type (app.events.catalog).
    """
    _require_transaction()
    await emit_all(scope, [Change(subject, kind, summary, changes, events)])
    if audit:
        details = dict(audit) if isinstance(audit, Mapping) else {}
        await fetch(
            """INSERT INTO audit_log (tenant_id, actor_user_id, actor, action, target_type, target_id, ip, user_agent, details)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)""",
            scope.tenant_id,
            scope.user_id,
            scope.actor[:254],
            kind if "." in kind else f"{subject.type}.{kind}",
            subject.type,
            str(subject.id),
            scope.ip[:64],
            scope.user_agent[:300],
            json.dumps(jsonable(details)),
        )


def _subject_id(subject: Subject) -> int | None:
    return int(subject.id) if isinstance(subject.id, int) or str(subject.id).isdigit() else None


async def emit_all(scope: TenantScope, changes: Iterable[Change]) -> None:
    """`emit` for many records at once (a batch rescored, a bulk change): the same rows, one statement per table,
    in the caller's transaction."""
    _require_transaction()
    batch = list(changes)
    entries = [c for c in batch if c.summary is not None]
    if entries:
        await fetch(
            """INSERT INTO activity (tenant_id, subject_type, subject_id, contact_id, kind, summary, changes, actor_user_id, actor)
               SELECT $1, e.subject_type, e.subject_id, e.contact_id, e.kind, e.summary, e.changes::jsonb, $2, $3
                 FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
                      AS e(subject_type, subject_id, contact_id, kind, summary, changes)""",
            scope.tenant_id,
            scope.user_id,
            scope.actor[:254],
            [c.subject.type for c in entries],
            [int(c.subject.id) for c in entries],
            [c.subject.contact_id for c in entries],
            [c.kind for c in entries],
            [c.summary for c in entries],
            [json.dumps({k: [jsonable(a), jsonable(b)] for k, (a, b) in (c.changes or {}).items()}) for c in entries],
        )
    published = [(c.subject, event_type, data) for c in batch for event_type, data in c.events]
    if not published:
        return
    for _, event_type, _ in published:
        if not declared(event_type):
            raise ValueError(f"{event_type!r} is not a declared event type (declare it in its domain's events)")
    written = await fetch(
        """INSERT INTO outbox_event (tenant_id, event_type, subject_type, subject_id, data, actor_user_id)
           SELECT $1, e.type, e.subject_type, e.subject_id, e.data::json, $2
             FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS e(type, subject_type, subject_id, data, n)
            ORDER BY e.n
           RETURNING id""",
        scope.tenant_id,
        scope.user_id,
        [event_type for _, event_type, _ in published],
        [subject.type for subject, _, _ in published],
        [_subject_id(subject) for subject, _, _ in published],
        [encode_json(data).decode() for _, _, data in published],
    )
    mine = own_events.get()
    if mine is not None:
        mine.extend(int(r["id"]) for r in written)


async def audit(scope: TenantScope, subject: Subject, action: str, details: Mapping[str, Any] | None = None) -> None:
    """An event that only the audit log keeps (a login, a key revoked): `emit` in the caller's transaction,
    or in its own when none is open."""
    async with tenant_transaction(scope.tenant_id):
        await emit(scope, subject, action, audit=details or True)


async def relink_contact(scope: TenantScope, subject: Subject) -> None:
    """A record moved to another contact (or none): its whole timeline follows it."""
    _require_transaction()
    await fetch(
        "UPDATE activity SET contact_id = $4 WHERE tenant_id = $1 AND subject_type = $2 AND subject_id = $3",
        scope.tenant_id,
        subject.type,
        int(subject.id),
        subject.contact_id,
    )


_ENTRY = "id, subject_type, subject_id, kind, summary, changes, actor, actor_user_id, created_at"


async def timeline(
    scope: TenantScope, query: ListQuery, *, subject: Subject | None = None, contact_id: int | None = None
) -> Page[TimelineEntry]:
    """A record's timeline (or a contact's: its own and its records'), newest first. Call inside a tenant transaction
    after checking the caller may see the record."""
    _require_transaction()
    if subject is not None:
        where, args = "tenant_id = $1 AND subject_type = $2 AND subject_id = $3", [scope.tenant_id, subject.type, int(subject.id)]
    elif contact_id is not None:
        where, args = "tenant_id = $1 AND contact_id = $2", [scope.tenant_id, contact_id]
    else:
        raise ValueError("timeline() needs a subject or a contact")
    rows = await fetch(
        f"SELECT {_ENTRY} FROM activity WHERE {where} ORDER BY created_at DESC, id DESC LIMIT {query.limit} OFFSET {query.offset}", *args
    )
    if 0 < len(rows) < query.limit or (not rows and query.offset == 0):
        total = query.offset + len(rows)
    else:
        total = int((await fetch(f"SELECT count(*) AS n FROM activity WHERE {where}", *args))[0]["n"])
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return page_of(TimelineEntry, rows, query, total)
