"""Requests and answers of the rule-based sales assistant (NeuraCRM guide §4.1) and of scoring every lead (§4.2)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RecordId, RequestBody, ResponseBody

Question = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description="What you want to know")]
Intent = Literal["objection", "closing", "follow_up", "viewing", "qualification", "general"]


class AssistantRequest(RequestBody):
    """§4.1's body: a context (lead_qualification, objection_handling, closing, follow_up…), one lead or one deal, and
    the question."""

    not_both = ("lead_id", "deal_id")
    one_of_required = ("lead_id", "deal_id")

    question: Question
    context: Annotated[str, msgspec.Meta(max_length=60)] = "general"
    lead_id: RecordId | UnsetType = UNSET
    deal_id: RecordId | UnsetType = UNSET


class ChatContext(RequestBody):
    """What the chat message is about: a deal or a lead of yours (not both), and hints when there is no record."""

    not_both = ("deal_id", "lead_id")

    deal_id: RecordId | None = None
    lead_id: RecordId | None = None
    lead_score: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    industry: Annotated[str, msgspec.Meta(max_length=60)] | None = None


class ChatRequest(RequestBody):
    """§4.1's chat body."""

    message: Question
    context: ChatContext | None = None


class AssistantAnswer(ResponseBody):
    """An answer built by rules from the record's own facts (no language model, no outside service): the answer,
    how much of the record the rules could use (`confidence`), suggestions, next steps, the facts used and the rules
    that fired."""

    response: str
    confidence: float
    suggestions: list[str]
    next_steps: list[str]
    rule_based: bool
    intent: Intent
    facts: list[str]
    rules_applied: list[str]


class AssistantResponse(ResponseBody):
    """`POST /v2/ai/assistant` and `POST /v2/ai/chat` as the NeuraCRM guide's §4.1 answers them."""

    success: bool
    data: AssistantAnswer


class ScoreAllSummary(ResponseBody):
    """§4.2's summary of scoring every live lead (the leads domain's rescore job): leads processed, how many were
    scored and failed, the average score and how many are hot, with the job's key and status."""

    processed: int
    successful: int
    failed: int
    changed: int
    average_score: float
    high_priority_count: int
    job_key: str
    status: str


class ScoreAllResponse(ResponseBody):
    """`POST /v2/ai/score-all-leads` as the NeuraCRM guide's §4.2 answers it."""

    success: bool
    data: ScoreAllSummary
