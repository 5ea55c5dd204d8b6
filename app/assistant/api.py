"""JSON API: the rule-based sales assistant (NeuraCRM guide §4.1) and scoring every lead (§4.2)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.openapi.datastructures import ResponseSpec
from saq import Queue

from app.assistant import policy, schemas, service
from app.core.schemas import ErrorEnvelope
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.leads import policy as lead_policy
from app.web.auth import guard
from app.web.json import ApiResponse

UNKNOWN_RECORD = {
    404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such lead or deal of yours", generate_examples=False)
}


class AssistantController(Controller):
    """Answers from rules over a lead's or a deal's own facts; no outside service."""

    path = "/v2/ai"
    opt = resource_opt("assistant")
    tags = ["Assistant"]

    @post(
        "/assistant",
        operation_id="askAssistant",
        summary="Advice on a lead or a deal, by rules over its facts",
        guards=[guard(policy.ASK, write=False)],
        status_code=200,
        responses=UNKNOWN_RECORD,
    )
    async def assistant(self, tenant: TenantScope, data: schemas.AssistantRequest) -> schemas.AssistantResponse:
        """`{context, lead_id | deal_id, question}` → `{response, confidence, suggestions, next_steps}` plus the facts
        used and the rules that fired (`rule_based: true`: no language model). The rules: docs/forecasting.md."""
        return schemas.AssistantResponse(success=True, data=await service.assist(tenant, data))

    @post(
        "/chat",
        operation_id="chatWithAssistant",
        summary="Ask the rule-based assistant a question",
        guards=[guard(policy.ASK, write=False)],
        status_code=200,
        responses=UNKNOWN_RECORD,
    )
    async def chat(self, tenant: TenantScope, data: schemas.ChatRequest) -> schemas.AssistantResponse:
        """`{message, context: {deal_id | lead_id, lead_score, industry}}`: about the record named, else general
        rules for the message's intent (pricing, closing, follow-up, viewing, qualification)."""
        return schemas.AssistantResponse(success=True, data=await service.chat(tenant, data))

    @post(
        "/score-all-leads",
        operation_id="scoreAllLeadsSummary",
        summary="Score every lead and summarise",
        guards=[guard(lead_policy.SCORE_ALL)],
        status_code=200,
        opt=resource_opt("leads"),
        responses={
            202: ResponseSpec(schemas.ScoreAllResponse, description="Still running: the counts as they stand", generate_examples=False)
        },
    )
    async def score_all(self, tenant: TenantScope, queue: Queue) -> ApiResponse[schemas.ScoreAllResponse]:
        """Runs the leads' rescore job (the one `POST /v2/leads/score-all` queues; asking while it runs joins it) and
        waits up to 8 s: 200 with processed, successful, failed, average_score and high_priority_count (hot leads);
        202 with the job's status when it is still running."""
        finished, summary = await service.score_all(tenant, queue)
        return ApiResponse(schemas.ScoreAllResponse(success=True, data=summary), status_code=200 if finished else 202)
