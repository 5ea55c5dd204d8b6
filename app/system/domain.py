"""Health and the API documentation."""

from __future__ import annotations

from app.domains import Domain
from app.system.api import HealthController, api_docs

DOMAIN = Domain(name="system", controllers=[HealthController, api_docs])
