"""The rule-based sales assistant (API, and its card on a lead's page)."""

from __future__ import annotations

from app.assistant.api import AssistantController
from app.assistant.views import AssistantCardController
from app.domains import Domain

DOMAIN = Domain(name="assistant", controllers=[AssistantController, AssistantCardController])
