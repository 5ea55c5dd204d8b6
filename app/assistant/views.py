"""The "Ask the assistant" card on a lead's page (loaded with the page), and its own page without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Template

from app.assistant import policy, schemas, service
from app.core.errors import ValidationFailed
from app.core.validation import convert_input
from app.db import TenantScope
from app.leads import service as leads
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, render, targets

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
CONTEXTS = (
    ("general", "General"),
    ("lead_qualification", "Qualification"),
    ("objection_handling", "Price objection"),
    ("follow_up", "Follow-up"),
    ("closing", "Closing"),
)


class AssistantCardController(Controller):
    """/leads/{id}/assistant: the question form and the rule-based answer."""

    path = "/leads/{lead_id:int}/assistant"
    include_in_schema = False
    guards = [guard(policy.ASK)]

    async def _card(
        self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, form: dict[str, str], answer: Any, errors: dict[str, str]
    ) -> Template:
        lead = await leads.get_lead(tenant, lead_id, "")  # 404 for another tenant's lead
        block = "answer" if targets(request, "assistant-answer") else "card"
        ctx = {"active": "leads", "lead": lead, "form": form, "answer": answer, "errors": errors, "contexts": CONTEXTS}
        return render(request, "assistant/card.html", ctx, block=block, status_code=422 if errors else 200)

    @get("/")
    async def card(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: Id) -> Template:
        """The empty form (a lead page loads it as a card)."""
        return await self._card(request, tenant, lead_id, {"context": "general", "question": ""}, None, {})

    @post("/")
    async def ask(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: Id, data: Form) -> Template:
        """The answer to the question asked (nothing is kept)."""
        form = clean_form(data)
        values = {"question": form.get("question", "").strip(), "context": form.get("context", "general"), "lead_id": lead_id}
        try:
            answer = await service.assist(tenant, convert_input(values, schemas.AssistantRequest))
        except ValidationFailed as exc:
            return await self._card(request, tenant, lead_id, form, None, form_errors(exc))
        return await self._card(request, tenant, lead_id, form, answer, {})
