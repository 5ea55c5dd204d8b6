"""The installed domains, and how each plugs into the app, the worker and the navigation.

A domain package declares a `DOMAIN = Domain(...)` in its `domain.py`: its controllers (API and
screens), its navigation entries, its jobs and cron jobs, and the cleanup of its expiring rows.
Its tables are found in its `tables.py`. Adding a domain is one line in `INSTALLED`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from app.core.jobs import JobSpec
from app.core.scopes import OPT_KEY

# Order matters only for navigation ties and table discovery; dependencies point up this list.
INSTALLED = [
    "app.tenancy",
    "app.web",
    "app.events",
    "app.accounts",
    "app.audit",
    "app.jobs",
    "app.system",
    "app.dashboard",
    "app.savedviews",
    "app.leads",
    "app.contacts",
    "app.imports",
    "app.outbound",
    "app.pipeline",
    "app.appointments",
    "app.properties",
    "app.support",
    "app.calls",
    "app.billing",
    "app.activities",
    "app.campaigns",
    "app.analytics",
    "app.automation",
    "app.messages",
    "app.forecasting",
    "app.assistant",
]


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A link in the main navigation. `permission` hides it from roles without it; `placeholder` marks a
    screen that is not built yet (a real domain registering the same `key` replaces it)."""

    key: str
    label: str
    href: str
    order: int
    permission: str | None = None
    placeholder: str | None = None


@dataclass(frozen=True, slots=True)
class FailedWork:
    """Work of a domain that can fail for good and be replayed by an admin (the failed-work console).

    `stats(scope)` → {queue name: failed count}; `replay(scope, queue, name, limit, dry_run)` → the ids
    replayed (or that would be), or None when `name` is not one of its queues."""

    stats: Callable[[Any], Awaitable[dict[str, int]]]
    replay: Callable[[Any, Any, str, int, bool], Awaitable[list[int] | None]]


@dataclass(frozen=True, slots=True)
class Domain:
    """What a domain contributes to the application."""

    name: str
    controllers: Sequence[Any] = ()
    nav: Sequence[NavEntry] = ()
    jobs: Sequence[JobSpec] = ()
    cron: Sequence[Any] = ()  # saq.CronJob
    # name → one SQL statement deleting (or emptying) this domain's expired rows, run across tenants.
    cleanup: Mapping[str, str] = field(default_factory=dict)
    # Large tables whose searches read `{table}_search`, each with the text expression searches match (the
    # expression of its trigram index); see app.db.search_view_sql.
    searches: Mapping[str, str] = field(default_factory=dict)
    # Event types this domain publishes (webhooks, live stream): name → what it means.
    events: Mapping[str, str] = field(default_factory=dict)
    # Event types for the live stream only (progress ticks): never sent to webhooks.
    live_events: Mapping[str, str] = field(default_factory=dict)
    # Who may see a live event about a subject type (`ticket` → its view permission, asked with the event's data as the
    # record): the browser's stream drops the others. Subject types not named here are for everyone in the tenant.
    live_visibility: Mapping[str, Any] = field(default_factory=dict)
    # Its kinds of failed work, for GET /v2/admin/dlq/stats and POST /v2/admin/dlq/replay-bulk.
    failed_work: Sequence[FailedWork] = ()
    # What a new tenant starts with (a default pipeline…): called in the new tenant's transaction at registration;
    # existing tenants get the same from the migration that introduces it.
    tenant_setup: Callable[[Any], Awaitable[None]] | None = None


@cache
def domains() -> tuple[Domain, ...]:
    """Every installed domain's declaration."""
    found = []
    for package in INSTALLED:
        if importlib.util.find_spec(f"{package}.domain") is not None:
            found.append(importlib.import_module(f"{package}.domain").DOMAIN)
    return tuple(found)


def api_resources() -> tuple[str, ...]:
    """The API's resources, as its controllers name them (`opt = resource_opt(...)`): the scopes' vocabulary."""
    found: set[str] = set()
    for domain in domains():
        for controller in domain.controllers:
            # A controller's own opt, and its handlers' (a handler may serve another resource than its controller).
            layers = [controller, *vars(controller).values()] if isinstance(controller, type) else [controller]
            for layer in layers:
                opt = getattr(layer, "opt", None)
                if isinstance(opt, dict) and isinstance(opt.get(OPT_KEY), str):
                    found.add(opt[OPT_KEY])
    return tuple(sorted(found))


def table_modules() -> list[str]:
    """The `tables` modules of the installed packages (for Piccolo)."""
    return [f"{package}.tables" for package in INSTALLED if importlib.util.find_spec(f"{package}.tables") is not None]


def searched_tables() -> dict[str, str]:
    """Every installed domain's searched tables and their search expressions (their views are kept by `app.db.migrate`)."""
    return {table: search for domain in domains() for table, search in domain.searches.items()}


async def set_up_tenant(scope: Any) -> None:
    """Give a new tenant what every installed domain starts it with (inside its tenant transaction)."""
    for domain in domains():
        if domain.tenant_setup is not None:
            await domain.tenant_setup(scope)


def live_visibility() -> dict[str, Any]:
    """Every installed domain's rule of who sees live events about its subjects (subject type → permission)."""
    return {subject: rule for domain in domains() for subject, rule in domain.live_visibility.items()}


def failed_work() -> list[FailedWork]:
    """Every installed domain's kinds of failed work."""
    return [work for domain in domains() for work in domain.failed_work]


def navigation() -> list[NavEntry]:
    """The main navigation: each key once (a built screen replaces its placeholder), in order."""
    chosen: dict[str, NavEntry] = {}
    for domain in domains():
        for entry in domain.nav:
            if entry.key not in chosen or chosen[entry.key].placeholder is not None:
                chosen[entry.key] = entry
    return sorted(chosen.values(), key=lambda e: (e.order, e.key))
