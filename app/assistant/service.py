"""The sales assistant (NeuraCRM guide §4.1): answers built by plain rules from a lead's or a deal's own facts (its
score and the factors behind it, its open tasks, its deals and their stages, the properties matching its wishes); no
language model and no outside service. And §4.2's "score all leads", which runs the leads domain's rescore job.

The question is read for its intent by keywords (`INTENTS`, first match wins, else the context's); each intent has
its rules over the facts. `confidence` is the share of the record's facts the rules had to work with (the lead's
score confidence; for a deal, how many of stage, value, expected close date, activity and lead are known).
docs/forecasting.md has the rules.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from saq import Queue

from app.activities import service as activities
from app.assistant import policy, schemas
from app.core.errors import ValidationFailed
from app.core.pagination import ListQuery
from app.db import TenantScope, fetch, tenant_transaction
from app.leads import jobs as lead_jobs
from app.leads import service as leads
from app.leads.scoring import score_lead
from app.pipeline import service as deals
from app.properties import matching

# Intent by keywords in the question (first match wins), else by the context's name.
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("objection", ("price", "pricing", "expensive", "cost", "discount", "objection", "cheaper", "afford", "fee", "commission")),
    ("closing", ("close", "closing", "contract", "sign", "negotiat", "offer", "deal done", "win")),
    ("follow_up", ("follow", "reply", "respond", "ghost", "quiet", "silent", "chase", "call back", "contact")),
    ("viewing", ("viewing", "visit", "show", "property", "properties", "listing", "match")),
    ("qualification", ("qualif", "approach", "first", "budget", "need", "who is", "profile")),
)
CONTEXT_INTENTS = {
    "lead_qualification": "qualification",
    "objection_handling": "objection",
    "closing": "closing",
    "deal_closing": "closing",
    "follow_up": "follow_up",
    "viewing": "viewing",
}
RULE_BASED = "Rule-based answer from this record's own facts (no AI model): "
STALE_DAYS = 14


def intent_of(question: str, context: str | None) -> str:
    """The question's intent: its first keyword match, else the context's, else general."""
    text = question.lower()
    for intent, words in INTENTS:
        if any(re.search(rf"\b{re.escape(word)}", text) for word in words):
            return intent
    return CONTEXT_INTENTS.get((context or "").lower(), "general")


def _money(amount: Decimal | None, currency: str) -> str:
    return f"{currency} {amount:,.0f}" if amount is not None else "no value"


class _Facts:
    """What the rules know about the record, and what they conclude."""

    def __init__(self) -> None:
        self.facts: list[str] = []
        self.said: list[str] = []
        self.suggestions: list[str] = []
        self.next_steps: list[str] = []
        self.rules: list[str] = []

    def rule(self, name: str, said: str | None = None, suggestion: str | None = None, step: str | None = None) -> None:
        self.rules.append(name)
        for target, value in ((self.said, said), (self.suggestions, suggestion), (self.next_steps, step)):
            if value and value not in target:
                target.append(value)


async def _lead_facts(scope: TenantScope, lead_id: int, intent: str, found: _Facts) -> float:
    """The lead's facts and the rules over them; returns the confidence (the lead's share of known facts)."""
    lead = await leads.get_lead(scope, lead_id, "")  # 404 for another tenant's or a deleted lead
    row = msgspec.structs.asdict(lead)
    result = score_lead(row)
    currency = lead.budget_currency
    found.facts.append(f"Lead {lead.name}: status {lead.status}, score {result.score}/100 ({result.temperature})")
    factors = ", ".join(f"{name} {points}" for name, points in result.factors.items())
    found.facts.append(f"Score factors: {factors}")
    if lead.budget_min is not None or lead.budget_max is not None:
        found.facts.append(f"Budget {_money(lead.budget_min, currency)} to {_money(lead.budget_max, currency)}")
    tasks = await activities.open_for_lead(scope, lead_id, limit=5)
    lead_deals = (await deals.list_deals(scope, deals.DealFilters(lead_id=lead_id), ListQuery(limit=5))).data
    _, match_total, matches = await matching.lead_matches(scope, lead_id, limit=3)
    found.facts.append(f"{len(tasks)} open tasks, {len(lead_deals)} deals, {match_total} matching properties")

    if result.hot:
        found.rule("hot_lead", f"{lead.name} is hot (score {result.score}): speed wins.", "Call within 15 minutes", "Call the lead now")
    elif result.temperature == "warm":
        found.rule("warm_lead", f"{lead.name} is warm (score {result.score}): keep the momentum.", "Offer a viewing")
    else:
        found.rule("cold_lead", f"{lead.name} is cold (score {result.score}): qualify before investing time.", "Nurture with listings")
    weakest = min(result.factors, key=lambda name: result.factors[name])
    found.rule(f"weakest_factor:{weakest}", f"The weakest part of the score is {weakest} ({result.factors[weakest]} points).")
    for recommendation in result.recommendations:
        found.rule("score_recommendation", suggestion=recommendation)
    if intent == "objection":
        if lead.budget_max is not None:
            found.rule(
                "objection_budget",
                f"Their stated budget tops out at {_money(lead.budget_max, currency)}: anchor the price discussion on it.",
                "Show comparable sales within their budget",
                "Prepare two options at and below the budget",
            )
        else:
            found.rule("objection_no_budget", "Their budget is unknown, so a price objection cannot be judged yet.", "Qualify the budget")
    if intent in ("viewing", "qualification", "general", "closing") and matches:
        top = matches[0]
        found.rule(
            "best_match",
            f"The best of {match_total} matching properties is {top.address} ({top.explanation}).",
            f"Send {top.address} and the next best matches",
            f"Book a viewing of {top.address}",
        )
    elif intent == "viewing":
        found.rule("no_match", "No property matches their wishes yet.", "Widen the locations or budget with them")
    if tasks:
        task = tasks[0]
        due = f", due {task.due_at:%d %b %H:%M} UTC" if task.due_at else ""
        found.rule("open_task", f"Next task: {task.subject}{due}{' (overdue)' if task.overdue else ''}.", step=f"Do: {task.subject}")
    else:
        found.rule("no_task", "Nothing is planned for this lead.", step="Plan the next contact as a task")
    if intent == "follow_up" and lead.status not in ("WON", "LOST"):
        found.rule("follow_up", "Follow up on the channel they last used, with something new to show.", step="Send a follow-up today")
    for deal in lead_deals[:1]:
        found.rule(
            "lead_deal",
            f"Their deal {deal.title} is at {deal.stage_name} ({deal.probability} % to win, {_money(deal.value, deal.currency)}).",
        )
    return float(result.confidence)


async def _deal_facts(scope: TenantScope, deal_id: int, intent: str, found: _Facts) -> float:
    """The deal's facts (and its lead's) and the rules over them; returns the confidence."""
    deal = await deals.get_deal(scope, deal_id)  # 404 for another tenant's deal
    today = datetime.now(UTC).date()
    idle = (datetime.now(UTC) - deal.last_activity_at).days
    found.facts.append(
        f"Deal {deal.title}: {deal.status}, stage {deal.stage_name}, {deal.probability} % to win, {_money(deal.value, deal.currency)}"
    )
    found.facts.append(f"Last activity {idle} days ago; expected close {deal.expected_close_date or 'not set'}")
    known = [bool(deal.stage_name), deal.value > 0, deal.expected_close_date is not None, idle < STALE_DAYS, deal.lead_id is not None]
    if deal.status != "open":
        found.rule("closed_deal", f"This deal is already {deal.status}.", step="Ask for a referral" if deal.status == "won" else None)
    elif deal.probability >= 65:
        found.rule(
            "late_stage",
            f"At {deal.stage_name} ({deal.probability} %) the deal is close: remove the last obstacles.",
            "Agree the timeline in writing",
            "Send the contract draft",
        )
    elif deal.probability >= 35:
        found.rule(
            "mid_stage",
            f"At {deal.stage_name} ({deal.probability} %) the deal needs a firm offer.",
            "Ask for an offer after the viewing",
            "Book the second viewing",
        )
    else:
        found.rule(
            "early_stage",
            f"At {deal.stage_name} ({deal.probability} %) the deal is early: qualify it.",
            "Confirm budget and timing",
            "Book a viewing",
        )
    if deal.status == "open" and idle >= STALE_DAYS:
        found.rule("stale", f"Nothing has happened for {idle} days: the deal is going stale.", step="Call the client this week")
    if deal.status == "open" and deal.expected_close_date is not None and deal.expected_close_date < today:
        found.rule(
            "overdue_close", f"The expected close date {deal.expected_close_date} has passed.", step="Update the expected close date"
        )
    elif deal.status == "open" and deal.expected_close_date is None:
        found.rule(
            "no_close_date", "No expected close date: the forecast places it by the team's usual cycle.", step="Set an expected close date"
        )
    if intent == "objection":
        found.rule(
            "objection_value",
            f"On price, recall the value at stake ({_money(deal.value, deal.currency)}) and what a delay costs them.",
            "Show recent comparable sales",
            "Offer flexible payment terms rather than a lower price",
        )
    if intent == "closing" and deal.status == "open":
        found.rule(
            "closing", "To close: confirm financing, agree the date, send the paperwork.", "Confirm financing", "Schedule the signing"
        )
    confidence = 0.3 + 0.6 * sum(known) / len(known)
    if deal.lead_id is not None:
        await _lead_facts(scope, deal.lead_id, intent, found)
    return round(confidence, 2)


def _answer(found: _Facts, intent: str, confidence: float) -> schemas.AssistantAnswer:
    return schemas.AssistantAnswer(
        response=RULE_BASED + " ".join(found.said),
        confidence=round(confidence, 2),
        suggestions=found.suggestions[:5],
        next_steps=found.next_steps[:5],
        rule_based=True,
        intent=intent,  # type: ignore[arg-type]
        facts=found.facts,
        rules_applied=found.rules,
    )


def _one_record(lead_id: int | None, deal_id: int | None) -> None:
    if (lead_id is None) == (deal_id is None):
        raise ValidationFailed(
            "Invalid body: name one lead_id or one deal_id",
            details={"field": "lead_id", "expected": "exactly one of lead_id and deal_id"},
            human="Choose one lead or one deal",
        )


async def assist(scope: TenantScope, data: schemas.AssistantRequest) -> schemas.AssistantAnswer:
    """§4.1's insights about one lead or one deal."""
    policy.ASK.require(scope)
    lead_id = data.lead_id if isinstance(data.lead_id, int) else None
    deal_id = data.deal_id if isinstance(data.deal_id, int) else None
    _one_record(lead_id, deal_id)
    intent = intent_of(data.question, data.context)
    found = _Facts()
    if lead_id is not None:
        confidence = await _lead_facts(scope, lead_id, intent, found)
    else:
        confidence = await _deal_facts(scope, deal_id or 0, intent, found)
    return _answer(found, intent, confidence)


GENERAL = {
    "objection": "Acknowledge the concern, show comparable sales, and offer terms before a lower price.",
    "closing": "Confirm financing and timing, then agree a signing date in writing.",
    "follow_up": "Follow up within a day on the channel they last used, with something new to show.",
    "viewing": "Shortlist three properties that fit the budget and book the viewings back to back.",
    "qualification": "Ask budget, timing, property type, location and financing first.",
    "general": "Name a lead or a deal (context.lead_id or context.deal_id) for advice from its own facts.",
}


# `context.industry` (the buyer's line of work): what to lead with. Unknown industries get the question to ask.
INDUSTRY_ANGLES = {
    "technology": "Tech buyers: lead with commute times, fibre and smart-home features, and a quick digital process.",
    "finance": "Finance buyers: lead with yield, service charges, mortgage terms and the ROI report's numbers.",
    "healthcare": "Healthcare buyers: lead with hospitals nearby, quiet streets and viewings around shift hours.",
    "education": "Education buyers: lead with schools nearby and moving dates that fit the school year.",
    "real_estate": "Property professionals: skip the basics and lead with comparable sales and payment plans.",
    "hospitality": "Hospitality buyers: lead with short-let rules, occupancy and yields of holiday homes.",
}
_INDUSTRY_ALIASES = {"tech": "technology", "software": "technology", "it": "technology", "banking": "finance",
                     "financial_services": "finance", "insurance": "finance", "health": "healthcare", "medical": "healthcare",
                     "property": "real_estate", "realestate": "real_estate", "hotels": "hospitality", "tourism": "hospitality"}  # fmt: skip
OTHER_INDUSTRY = "Ask how their work shapes their timing (bonus season, a relocation, a contract ending) and fit the pitch to it."


def _industry(industry: str | None, found: _Facts) -> None:
    """The industry hint's rule, when the context gives one."""
    if not industry or not industry.strip():
        return
    key = "_".join(industry.strip().lower().replace("-", " ").split())
    key = _INDUSTRY_ALIASES.get(key, key)
    found.facts.append(f"Industry given: {industry.strip()}")
    if key in INDUSTRY_ANGLES:
        angle = INDUSTRY_ANGLES[key].split(": ", 1)[1]
        found.rule(f"industry:{key}", INDUSTRY_ANGLES[key], suggestion=angle[0].upper() + angle[1:])
    else:
        found.rule("industry:other", OTHER_INDUSTRY, step="Ask what their work means for their timing")


async def chat(scope: TenantScope, data: schemas.ChatRequest) -> schemas.AssistantAnswer:
    """§4.1's chat: about the lead or deal named in the context, else general rules for the message's intent."""
    policy.ASK.require(scope)
    context = data.context or schemas.ChatContext()
    if context.lead_id is not None and context.deal_id is not None:
        _one_record(context.lead_id, context.deal_id)
    intent = intent_of(data.message, None)
    found = _Facts()
    about_record = context.lead_id is not None or context.deal_id is not None
    if not about_record:
        found.rule(f"general:{intent}", GENERAL[intent])
    # The industry's hint before the record's rules: the answer keeps five suggestions and steps, which they often fill.
    _industry(context.industry, found)
    if about_record:
        if context.lead_id is not None:
            confidence = await _lead_facts(scope, context.lead_id, intent, found)
        else:
            confidence = await _deal_facts(scope, context.deal_id or 0, intent, found)
        return _answer(found, intent, confidence)
    if context.lead_score is not None:
        found.facts.append(f"Lead score given: {context.lead_score}")
        if context.lead_score >= 70:
            found.rule("given_hot", "With a score of 70 or more the lead is hot: call within 15 minutes.", step="Call the lead now")
        elif context.lead_score >= 40:
            found.rule("given_warm", "A score from 40 to 69 is warm: offer a viewing.", step="Offer a viewing")
        else:
            found.rule("given_cold", "A score under 40 is cold: qualify before investing time.", step="Qualify the budget")
    return _answer(found, intent, 0.3)


async def score_all(scope: TenantScope, queue: Queue, wait_seconds: float = 8.0) -> tuple[bool, schemas.ScoreAllSummary]:
    """§4.2: run the leads domain's rescore job (joining one already queued or running) and wait up to
    `wait_seconds` for it; (finished, summary). Unfinished, the counts are the leads' as they stand."""
    key, status = await lead_jobs.request_rescore(scope, queue)
    status = status.removeprefix("Status.").lower()
    job = await queue.job(key)
    if job is not None:
        with contextlib.suppress(TimeoutError):  # still running: answered as it stands (202)
            await job.refresh(until_complete=wait_seconds)
        status = str(getattr(job.status, "value", job.status))
    finished = status == "complete"
    result: dict[str, Any] = (job.result if job is not None and finished and isinstance(job.result, dict) else None) or {}
    async with tenant_transaction(scope.tenant_id):
        row = (
            await fetch(
                """SELECT count(*) AS leads, coalesce(avg(hotness_score), 0) AS average, count(*) FILTER (WHERE temperature = 'hot') AS hot
                     FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL""",
                scope.tenant_id,
            )
        )[0]
    processed = int(result.get("processed", 0))
    return finished, schemas.ScoreAllSummary(
        processed=processed,
        successful=processed,
        failed=int(row["leads"]) - processed if status == "failed" else 0,
        changed=int(result.get("changed", 0)),
        average_score=round(float(row["average"]), 1),
        high_priority_count=int(row["hot"]),
        job_key=key,
        status=status,
    )
