"""The SSE feed itself, shared by the API stream (`/v2/sse/stream?token=`) and the browser's (`/events/stream`)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.db import own_events
from app.domains import live_visibility
from app.events.stream import BROKER, LiveEvent, since, still_valid

log = logging.getLogger(__name__)

KEEP_ALIVE = 15.0
Wanted = Callable[[LiveEvent], bool]


def everything(_: LiveEvent) -> bool:
    """No filter."""
    return True


# The API resource an event is about, from its subject's kind (its scope: `<resource>:read`).
_RESOURCE_OF = {"company": "companies", "property": "properties", "portfolio": "portfolio", "task": "activities", "workflow": "workflows"}


def resource_of(event: LiveEvent) -> str:
    """`lead` → `leads`, `company` → `companies`, `import` → `imports` (a task's progress is its row's)."""
    return _RESOURCE_OF.get(event.subject_type, f"{event.subject_type}s")


def matching(topic: str | None, subject: str | None, readable: frozenset[str] | None = None) -> Wanted:
    """Events of a topic (`lead` → lead.* and events about leads) and/or of one record (`lead:42`), and only
    about resources the stream's credential may read (`readable`; None: all)."""
    kind, _, ident = (subject or "").partition(":")

    def wanted(event: LiveEvent) -> bool:
        if readable is not None and resource_of(event) not in readable:
            return False
        if topic and not (event.type.startswith(f"{topic}.") or event.subject_type == topic):
            return False
        return not subject or (event.subject_type == kind and str(event.subject_id) == ident)

    return wanted


def visible_to(actor: Any, wanted: Wanted) -> Wanted:
    """`wanted`, and only events `actor` may see: a domain that restricts its subjects (`Domain.live_visibility`, e.g.
    tickets: not finance; an agent only their own) is asked with the event's data as the record."""
    rules = live_visibility()

    def allowed(event: LiveEvent) -> bool:
        if not wanted(event):
            return False
        rule = rules.get(event.subject_type)
        if rule is None:
            return True
        try:
            record = json.loads(event.data)
        except ValueError:
            return False
        return bool(rule.allows(actor, record if isinstance(record, dict) else {}))

    return allowed


OWN_EVENTS_SHOWN = 50  # an answer names at most this many of its own events (a bulk change: the newest)


async def stamp_own_events(message: MutableMapping[str, Any], scope: MutableMapping[str, Any]) -> None:
    """before_send hook: a screen's change made with htmx answers with `X-Live-Own`, the ids of the events it wrote
    itself, so that page knows the regions the answer drew show them already (static/app.js does not redraw a region
    for its own change's events: it would only wipe what the answer said, such as "Paid in full"). Exact: an event
    anyone else wrote is never skipped."""
    if message.get("type") != "http.response.start" or scope.get("method") in ("GET", "HEAD"):
        return
    mine = own_events.get()
    if not mine or b"hx-request" not in dict(scope.get("headers") or []):
        return
    shown = ",".join(str(i) for i in sorted(mine)[-OWN_EVENTS_SHOWN:])
    message["headers"] = [*list(message.get("headers") or []), (b"x-live-own", shown.encode())]


def _message(event: LiveEvent) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=event.data, event=event.type, id=str(event.id))


RECHECK = 20  # keep-alives between checks that the stream's credential still holds (5 minutes)


async def _feed(
    tenant_id: int, last_id: int | None, wanted: Wanted, keep_alive: float, credential: str | None
) -> AsyncIterator[ServerSentEventMessage]:
    quiet = 0
    async with BROKER.subscribe(tenant_id) as queue:
        yield ServerSentEventMessage(comment="connected", retry=3000)
        sent: set[int] = set()
        if last_id is not None:
            for missed in await since(tenant_id, last_id):
                sent.add(missed.id)
                if wanted(missed):
                    yield _message(missed)
        while True:
            try:
                async with asyncio.timeout(keep_alive):
                    event = await queue.get()
            except TimeoutError:
                quiet += 1
                if credential is not None and quiet % RECHECK == 0 and not await still_valid(tenant_id, credential):
                    return  # revoked or deactivated: the stream ends, and a new token is refused
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if event is None:
                return  # fell behind: the client reconnects with Last-Event-ID
            if event.id in sent:
                continue
            if wanted(event):
                yield _message(event)


def feed(
    tenant_id: int, last_id: int | None, wanted: Wanted = everything, keep_alive: float = KEEP_ALIVE, credential: str | None = None
) -> ServerSentEvent:
    """An SSE response: the tenant's events after `last_id` from the outbox, then live ones, with keep-alives
    (and, for a token's stream, a check every few minutes that its `credential` still holds)."""
    events = _feed(tenant_id, last_id, wanted, keep_alive, credential)
    return ServerSentEvent(events, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def last_event_id(header: str | None, query: int | None) -> int | None:
    """Where to resume: the `Last-Event-ID` header (what EventSource sends) or `?last_event_id=`."""
    if header and header.strip().isdigit() and len(header.strip()) <= 18:  # an id that fits a bigint
        return int(header.strip())
    return query
