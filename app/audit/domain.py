"""The audit log: its API and its settings screen."""

from __future__ import annotations

from app.audit.api import AuditLogController, SecurityController
from app.audit.views import AuditPagesController
from app.domains import Domain

DOMAIN = Domain(name="audit", controllers=[AuditLogController, SecurityController, AuditPagesController])
