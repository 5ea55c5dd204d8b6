"""Accounts: authentication, the team and credentials, and the settings screens they live in."""

from __future__ import annotations

from app.accounts.api import ApiKeyController, AuthController, InvitationController, OAuthClientController, OAuthController, UserController
from app.accounts.views import (
    AccountPagesController,
    InvitationPagesController,
    SessionController,
    TeamPagesController,
    WorkspacePagesController,
)
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="accounts",
    controllers=[
        AuthController,
        OAuthController,
        UserController,
        InvitationController,
        ApiKeyController,
        OAuthClientController,
        SessionController,
        TeamPagesController,
        AccountPagesController,
        InvitationPagesController,
        WorkspacePagesController,
    ],
    # Only roles that can open a settings tab see it (agents, support and finance have none).
    nav=[NavEntry("settings", "Settings", "/settings", order=90, permission="accounts.view_team")],
    cleanup={
        "sessions": "DELETE FROM user_session WHERE expires_at < now()",
        "revoked_tokens": "DELETE FROM revoked_token WHERE expires_at < now()",
        "login_throttles": (
            "DELETE FROM login_throttle WHERE window_started_at < now() - interval '1 day' "
            "AND (locked_until IS NULL OR locked_until < now())"
        ),
    },
)
