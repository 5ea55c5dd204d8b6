"""Permissions as the domains declare them: role rules and per-record rules, without HTTP."""

from __future__ import annotations

import pytest

from app.accounts import policy as accounts
from app.contacts import policy as contacts
from app.core.errors import PermissionDenied
from app.core.policy import REGISTRY, USER_ROLES, can, permission
from app.db import TenantScope
from app.imports import policy as imports
from app.leads import policy as leads


def as_role(role: str, user_id: int | None = 10) -> TenantScope:
    return TenantScope(tenant_id=1, user_id=user_id, role=role)


def test_agents_edit_their_own_and_unassigned_leads_only() -> None:
    agent = as_role("agent", user_id=10)
    assert leads.EDIT.allows(agent, {"agent_id": None})
    assert leads.EDIT.allows(agent, {"agent_id": 10})
    assert not leads.EDIT.allows(agent, {"agent_id": 11})
    with pytest.raises(PermissionDenied, match="assigned to you or to nobody"):
        leads.EDIT.require(agent, {"agent_id": 11})
    assert leads.EDIT.allows(as_role("manager"), {"agent_id": 11}), "managers edit any lead"
    assert not leads.EDIT.allows(as_role("support"), {"agent_id": None}), "support only reads"


def test_agents_assign_only_to_themselves() -> None:
    agent = as_role("agent", user_id=10)
    assert leads.ASSIGN.allows(agent, 10) and not leads.ASSIGN.allows(agent, 11)
    assert leads.ASSIGN.allows(as_role("admin"), 11)
    assert leads.default_assignee(agent) == 10 and leads.default_assignee(as_role("manager")) is None


def test_exporting_is_a_right_of_its_own() -> None:
    assert {role for role in USER_ROLES if leads.EXPORT.allows(as_role(role))} == {"admin", "manager", "agent"}
    assert leads.EXPORT.allows(as_role("integration")) and leads.VIEW.allows(as_role("support"))


def test_background_jobs_act_as_the_system_with_only_what_they_need() -> None:
    system = TenantScope.system(1, "import #1", on_behalf_of=10)
    assert system.role == "system" and system.user_id == 10
    assert leads.CREATE.allows(system) and leads.EDIT.allows(system, {"agent_id": 99}) and contacts.EDIT.allows(system)
    assert not leads.DELETE.allows(system) and not accounts.MANAGE_USERS.allows(system) and not imports.RUN.allows(system)


def test_templates_ask_by_name_and_unknown_names_fail_loudly() -> None:
    assert can(as_role("admin"), "imports.run") and not can(as_role("agent"), "imports.run") and not can(None, "imports.run")
    with pytest.raises(KeyError):
        can(as_role("admin"), "imports.launch")


def test_a_permission_is_declared_once_with_known_roles() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        permission("leads.view", {"admin"}, "x")
    with pytest.raises(ValueError, match="unknown roles"):
        permission("leads.fly", {"pilot"}, "x")
    assert all(p.name.split(".")[0] for p in REGISTRY.values())
