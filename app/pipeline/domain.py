"""Pipelines, stages, deals and the kanban board."""

from __future__ import annotations

from app.domains import Domain
from app.pipeline.api import ConvertLeadController, DealController, KanbanController, PipelineController, StageController
from app.pipeline.events import EVENTS, LIVE_EVENTS
from app.pipeline.service import set_up_tenant

DOMAIN = Domain(
    name="pipeline",
    controllers=[PipelineController, StageController, DealController, ConvertLeadController, KanbanController],
    events=EVENTS,
    live_events=LIVE_EVENTS,
    tenant_setup=set_up_tenant,
)
