"""Who may do what with the tenant's team and its credentials."""

from __future__ import annotations

from app.core.policy import INTEGRATION, USER_ROLES, permission

# Every person of the tenant: their own profile, their own sign-out.
SELF_SERVICE = permission("accounts.self", USER_ROLES, "This needs a person's credentials, not an integration's")
# The team list (names, e-mails, roles).
VIEW_TEAM = permission("accounts.view_team", {"admin", "manager", INTEGRATION}, "Only admins and managers can see the team")
MANAGE_USERS = permission("accounts.manage_users", {"admin"}, "Only an admin can add users or change their roles")
MANAGE_CREDENTIALS = permission("accounts.manage_credentials", {"admin"}, "Only an admin can manage API keys and OAuth clients")
MANAGE_WORKSPACE = permission("accounts.manage_workspace", {"admin"}, "Only an admin can change the workspace's settings")
