"""Who may ask the sales assistant: the one place the API guards, the services, the screens and the templates read.

The people who sell (admins, managers, agents) and write integrations ask about leads and deals of their tenant;
support and finance do not. Scoring every lead at once stays the leads domain's right (`leads.score_all`).
"""

from __future__ import annotations

from app.core.policy import INTEGRATION, permission

ASK = permission("assistant.ask", {"admin", "manager", "agent", INTEGRATION}, "Your role cannot use the sales assistant")
