"""OAuth-style scopes: which API resources a credential may read or write.

A scope is `<resource>:read` or `<resource>:write` (`leads:read`, the ArtinSmartRealty guide §1.2),
`*:read` / `*:write` for every resource, or `*` for both. The words of the first release, `read`
and `write`, still work and mean `*:read` and `*:write`. Write implies read: a credential that may
change leads may also read them (its writes answer with the record anyway).

Resources are named by the API's controllers (`opt = resource_opt("leads")`), so the list of valid
scopes is derived from the installed domains (`app.domains.api_resources()`), never kept twice.
This module has no HTTP and no database: the guard, the accounts service and the screens share it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from app.core.errors import ValidationFailed

Level = Literal["read", "write"]
LEVELS: tuple[Level, ...] = ("read", "write")
ANY = "*"
OPT_KEY = "api_resource"
EVERYTHING: frozenset[str] = frozenset({"*:read", "*:write"})
READ_ONLY: frozenset[str] = frozenset({"*:read"})
# The first release's scopes (and `*`), as what they now mean.
_ALIASES: dict[str, frozenset[str]] = {"read": READ_ONLY, "write": frozenset({"*:write"}), ANY: EVERYTHING}
_RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def resource_opt(name: str) -> dict[str, str]:
    """The `opt` of a controller (or handler) serving the API resource `name`: its scopes are `name:read|write`."""
    if not _RESOURCE_NAME.match(name):
        raise ValueError(f"API resource name {name!r} must be lower-case letters, digits, '-' or '_'")
    return {OPT_KEY: name}


def resource_of(opt: Mapping[str, Any] | None) -> str:
    """The API resource a handler serves (`*` when it names none: only unrestricted credentials pass)."""
    value = (opt or {}).get(OPT_KEY)
    return value if isinstance(value, str) else ANY


def expand(scope: str) -> frozenset[str]:
    """One scope token in its canonical form(s), without checking that its resource exists."""
    if scope in _ALIASES:
        return _ALIASES[scope]
    return frozenset({scope})


def canonical(scopes: Iterable[str]) -> frozenset[str]:
    """Scope tokens (any spelling) as a set of canonical `resource:level` scopes."""
    return frozenset(s for token in scopes for s in expand(token))


def grants(scopes: Collection[str], resource: str, level: Level) -> bool:
    """Whether canonical `scopes` allow `level` access to `resource` (write implies read; `*:x` covers every resource)."""
    levels: tuple[str, ...] = LEVELS if level == "read" else ("write",)
    return any(f"{r}:{lv}" in scopes for r in {resource, ANY} for lv in levels)


def covers(allowed: Collection[str], wanted: Iterable[str]) -> bool:
    """Whether canonical `allowed` scopes include every canonical scope in `wanted`."""
    for scope in wanted:
        resource, _, level = scope.rpartition(":")
        if level not in LEVELS or not grants(allowed, resource, level):  # type: ignore[arg-type]
            return False
    return True


def render(scopes: Collection[str]) -> str:
    """Canonical scopes as one space-separated string (sorted, `*` forms first), for storage and display."""
    return " ".join(sorted(scopes, key=lambda s: (not s.startswith("*:"), s)))


def valid_scopes(resources: Iterable[str]) -> list[str]:
    """Every scope a credential may be given, for `resources` (the installed API resources)."""
    return ["*", "*:read", "*:write", *(f"{r}:{lv}" for r in sorted(resources) for lv in LEVELS)]


def parse(text: str | Iterable[str], resources: Collection[str], *, field: str = "scope") -> list[str]:
    """Scope tokens requested by a client or an admin, checked against the installed `resources`.

    Returns the tokens as given (deduplicated, in order); raises ValidationFailed naming the first
    unknown one. Accepts a space-separated string (RFC 6749 §3.3) or a list.
    """
    tokens = text.split() if isinstance(text, str) else [t.strip() for t in text]
    seen: list[str] = []
    for token in tokens:
        resource, _, level = token.rpartition(":")
        known = token in _ALIASES or (level in LEVELS and (resource == ANY or resource in resources))
        if not known:
            raise ValidationFailed(
                f"Invalid {field}: unknown scope {token!r}",
                details={
                    "field": field,
                    "provided": token,
                    "expected": "one of: " + " ".join(valid_scopes(resources)) + " (read and write are accepted for *:read and *:write)",
                },
                human=f"{token!r} is not a scope Atrium knows",
            )
        if token not in seen:
            seen.append(token)
    return seen
