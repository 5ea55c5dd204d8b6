"""Permissions: the mechanism every domain's `policy.py` uses to declare who may do what.

A `Permission` names the roles that hold it and, optionally, a rule about the record acted on
("agents edit their own and unassigned leads"). The same object is read by the API guard
(`app.web.auth.guard`), the service (`permission.require(scope, record)`), the HTML views and the
templates (`can("leads.export")`, `can("leads.edit", lead)`), so the four can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from app.core.errors import PermissionDenied

# The roles a person can have in a tenant.
Role = Literal["admin", "manager", "agent", "support", "finance"]
USER_ROLES: tuple[str, ...] = get_args(Role)
# Machine callers: API keys and OAuth clients act as "integration"; background jobs as "system".
INTEGRATION = "integration"
SYSTEM = "system"
EVERYONE: frozenset[str] = frozenset({*USER_ROLES, INTEGRATION})


class Actor(Protocol):
    """Anything with a role and maybe a user id: a `TenantScope` or a `Principal`."""

    @property
    def role(self) -> str | None: ...

    @property
    def user_id(self) -> int | None: ...


RecordRule = Callable[[Actor, Any], bool]
REGISTRY: dict[str, Permission] = {}


@dataclass(frozen=True, slots=True)
class Permission:
    """A named right: which roles hold it, and (optionally) which records a role may use it on."""

    name: str
    roles: frozenset[str]
    denied: str
    record_rule: RecordRule | None = field(default=None, compare=False)
    record_denied: str = ""

    def allows(self, actor: Actor, record: Any = None) -> bool:
        """Whether `actor` holds this permission (for `record`, when one is given and a rule applies)."""
        if actor.role not in self.roles:
            return False
        return record is None or self.record_rule is None or self.record_rule(actor, record)

    def require(self, actor: Actor, record: Any = None) -> None:
        """Raise PermissionDenied unless `actor` holds this permission (for `record`)."""
        if actor.role not in self.roles:
            raise PermissionDenied(self.denied)
        if record is not None and self.record_rule is not None and not self.record_rule(actor, record):
            raise PermissionDenied(self.record_denied or self.denied)


def permission(
    name: str, roles: Iterable[str], denied: str, *, record_rule: RecordRule | None = None, record_denied: str = ""
) -> Permission:
    """Declare a permission (names are unique: `domain.action`)."""
    if name in REGISTRY:
        raise ValueError(f"permission {name!r} is declared twice")
    unknown = set(roles) - {*USER_ROLES, INTEGRATION, SYSTEM}
    if unknown:
        raise ValueError(f"permission {name!r} names unknown roles {sorted(unknown)}")
    declared = Permission(name, frozenset(roles), denied, record_rule, record_denied)
    REGISTRY[name] = declared
    return declared


def can(actor: Actor | None, name: str, record: Any = None) -> bool:
    """Whether `actor` holds the permission called `name` (templates call this)."""
    return actor is not None and REGISTRY[name].allows(actor, record)
