"""Resolve a handler's dependencies one after another instead of in an anyio task group.

Litestar resolves the dependencies of each level concurrently, spawning a task group and a task
per dependency on every request. Atrium's dependencies (the tenant scope, paging, filters,
settings, the queue) do no I/O, so the concurrency buys nothing and the task group cost about 5%
of the CPU of an authenticated list (bench/list_overhead.py: 0.65x → 0.73x of a bare endpoint).

This replaces one private method of Litestar 2 (`KwargsModel.resolve_dependencies`) with the
same loop without the task group. It is installed only when that method still has the shape it
was written against; otherwise Litestar's own resolution stays in place (slower, never wrong),
and tests/web/test_conventions.py fails so an upgrade is noticed.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel

log = logging.getLogger(__name__)
_ORIGINAL = KwargsModel.resolve_dependencies


async def _resolve_in_order(self: KwargsModel, connection: Any, kwargs: dict[str, Any]) -> DependencyCleanupGroup:
    """Litestar's resolution, level by level as before, each level's dependencies in turn."""
    cleanup_group = DependencyCleanupGroup()
    for batch in self.dependency_batches:
        for dependency in batch:
            await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    return cleanup_group


def compatible() -> bool:
    """Whether Litestar's resolver is still the one this replaces (same parameters, batches by level)."""
    try:
        source = inspect.getsource(_ORIGINAL)
    except (OSError, TypeError):  # installed without sources: cannot tell, so keep Litestar's
        return False
    parameters = list(inspect.signature(_ORIGINAL).parameters)
    return parameters == ["self", "connection", "kwargs"] and "self.dependency_batches" in source and "resolve_dependency(" in source


def resolve_dependencies_in_order() -> bool:
    """Install the sequential resolver (idempotent); False when Litestar changed and it was not installed."""
    if KwargsModel.resolve_dependencies is _resolve_in_order:
        return True
    if not compatible():
        log.warning("Litestar's dependency resolution changed; keeping its own (see app/web/dependencies.py)")
        return False
    KwargsModel.resolve_dependencies = _resolve_in_order  # type: ignore[method-assign,assignment]
    return True
