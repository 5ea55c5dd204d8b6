"""Pipelines, stages, deals and the kanban board."""

from __future__ import annotations

from app.domains import Domain, NavEntry
from app.pipeline.api import ConvertLeadController, DealController, KanbanController, PipelineController, StageController
from app.pipeline.events import EVENTS, LIVE_EVENTS
from app.pipeline.service import set_up_tenant
from app.pipeline.views import PipelinePagesController

DOMAIN = Domain(
    name="pipeline",
    controllers=[PipelineController, StageController, DealController, ConvertLeadController, KanbanController, PipelinePagesController],
    nav=[NavEntry("pipeline", "Pipeline", "/pipeline", order=30)],
    events=EVENTS,
    live_events=LIVE_EVENTS,
    tenant_setup=set_up_tenant,
)
