"""Browser UI of messages: the communications log with delivery status, the local outbox, templates with an editor and
a live preview, "send a template" from a lead or a property, and the public unsubscribe page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from saq import Queue

from app.core.errors import DomainError, ResourceNotFound
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.messages import delivery, inbound, policy, render, schemas, sequences, service
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, form_number, refusal_stays_on_page, targets
from app.web.ui import render as page

PAGE_SIZE = 25


class MessagePagesController(Controller):
    """Messages screens."""

    path = "/messages"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _log(self, request: Request[Any, Any, Any], tenant: TenantScope, tab: str, state: dict[str, str], offset: int) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        filters = service.CommunicationFilters(
            status=state["status"] or None,
            channel=state["channel"] or None,
            lead_id=form_number(state["lead_id"]),
            property_id=form_number(state["property_id"]),
            transport="outbox" if tab == "outbox" else None,
        )
        log = await service.list_communications(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), filters)
        query = urlencode({k: v for k, v in state.items() if v})
        base = "/messages/outbox" if tab == "outbox" else "/messages"
        url = base + ("?" + "&".join(filter(None, (query, f"offset={offset}" if offset else ""))) if query or offset else "")
        ctx = {
            "active": "messages",
            "tab": tab,
            "page": log,
            "state": state,
            "query": query,
            "base": base,
            "statuses": schemas.STATUS_LABELS,
            "self_url": url,
            "live_after": live_after,
        }
        redraw = request.headers.get("hx-trigger") == "message-results"  # a live redraw keeps the address as it is
        return page(
            request,
            "messages/log.html",
            ctx,
            block="results" if targets(request, "message-results") else "content",
            push_url=None if redraw else url,
        )

    @get("/")
    async def log(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        status: Annotated[str | None, Parameter(max_length=12)] = None,
        channel: Annotated[str | None, Parameter(max_length=5)] = None,
        lead_id: Annotated[str | None, Parameter(max_length=19)] = None,
        property_id: Annotated[str | None, Parameter(max_length=19)] = None,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        """The communications log with each message's delivery status; its filters live in the URL."""
        return await self._log(request, tenant, "log", _state(status, channel, lead_id, property_id), offset)

    @get("/outbox")
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        status: Annotated[str | None, Parameter(max_length=12)] = None,
        channel: Annotated[str | None, Parameter(max_length=5)] = None,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        """The local outbox: what was "sent" while no SMTP server or SMS provider is configured, as the recipient would
        read it (like a development mail catcher)."""
        return await self._log(request, tenant, "outbox", _state(status, channel, None, None), offset)

    @get("/templates")
    async def templates(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The templates with their performance."""
        ctx = {"active": "messages", "tab": "templates", "templates": await service.list_templates(tenant)}
        return page(request, "messages/templates.html", ctx)

    @get("/templates/new", guards=[guard(policy.MANAGE_TEMPLATES)])
    async def new_template(self, request: Request[Any, Any, Any]) -> Template:
        """An empty editor."""
        form = {"name": "", "type": "email", "stage": "outreach", "subject_template": "", "body_template": "", "is_active": "on"}
        return _editor(request, None, form, {})

    @get("/templates/{template_id:int}")
    async def edit_template(self, request: Request[Any, Any, Any], tenant: TenantScope, template_id: int) -> Template:
        """The editor (read-only for those who cannot manage templates)."""
        template = await service.get_template(tenant, template_id)
        form = {
            "name": template.name,
            "type": template.type,
            "stage": template.stage,
            "subject_template": template.subject_template,
            "body_template": template.body_template,
            "is_active": "on" if template.is_active else "",
        }
        return _editor(request, template, form, {})

    @post("/templates", guards=[guard(policy.MANAGE_TEMPLATES)])
    async def create_template(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Save a new template; a bad placeholder is shown next to its field and nothing is saved."""
        form = clean_form(data)
        try:
            values = _template_values(form)
            await service.create_template(tenant, convert_input(values, schemas.TemplateCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return _editor(request, None, form, form_errors(exc), status_code=422)
        return Redirect(path="/messages/templates", status_code=303)

    @post("/templates/{template_id:int}", guards=[guard(policy.MANAGE_TEMPLATES)])
    async def update_template(
        self, request: Request[Any, Any, Any], tenant: TenantScope, template_id: int, data: Form
    ) -> Template | Redirect:
        """Save the changes; a bad placeholder is shown next to its field and nothing is saved."""
        form = clean_form(data)
        template = await service.get_template(tenant, template_id)
        try:
            await service.update_template(tenant, template_id, convert_input(_template_values(form), schemas.TemplateUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return _editor(request, template, form, form_errors(exc), status_code=422)
        return Redirect(path="/messages/templates", status_code=303)

    @post("/templates/{template_id:int}/delete", guards=[guard(policy.MANAGE_TEMPLATES)])
    async def delete_template(self, tenant: TenantScope, template_id: int) -> Redirect:
        """Remove it; what was sent from it stays in the log."""
        await service.delete_template(tenant, template_id)
        return Redirect(path="/messages/templates", status_code=303)

    @post("/preview")
    async def preview(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """The editor's live preview: the texts rendered with sample values (or the recipient's, when sending), or what
        is wrong with them."""
        form = clean_form(data)
        ctx: dict[str, Any] = {"preview": None, "problem": None}
        target = {k: v for k in ("property_id", "lead_id") if (v := form_number(form.get(k)))}
        subject, body = form.get("subject_template", ""), form.get("body_template", "")
        template_id = form_number(form.get("template_id"))
        try:
            if template_id is not None:
                chosen = await service.get_template(tenant, template_id)
                subject, body = chosen.subject_template, chosen.body_template
                ctx["channel"] = form.get("delivery_method") or chosen.type
            else:
                ctx["channel"] = form.get("type", "email")
            ctx["preview"] = await service.preview(tenant, schemas.PreviewRequest(subject_template=subject, body_template=body, **target))
        except DomainError as exc:
            if isinstance(exc, ResourceNotFound):
                raise
            ctx["problem"] = exc.human
        return page(request, "messages/_preview.html", ctx, block="preview")

    @get("/providers", guards=[guard(policy.PROVIDERS)])
    async def providers(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Where each provider posts its events, and its webhook secret (made here, shown once)."""
        ctx = {"active": "messages", "tab": "providers", "providers": await inbound.list_providers(tenant), "created": None,
               "events": await inbound.provider_events(tenant, 20)}  # fmt: skip
        return page(request, "messages/providers.html", ctx)

    @post("/providers/{provider:str}/secret", guards=[guard(policy.PROVIDERS)])
    async def rotate_secret(self, request: Request[Any, Any, Any], tenant: TenantScope, provider: str) -> Template:
        """A new secret for the provider, shown this once."""
        created = await inbound.rotate_secret(tenant, provider)
        ctx = {"active": "messages", "tab": "providers", "providers": await inbound.list_providers(tenant), "created": created,
               "events": await inbound.provider_events(tenant, 20)}  # fmt: skip
        return page(request, "messages/providers.html", ctx)

    @get("/send", guards=[guard(policy.SEND)])
    async def send_form(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        lead_id: Annotated[str | None, Parameter(max_length=19)] = None,
        property_id: Annotated[str | None, Parameter(max_length=19)] = None,
    ) -> Template:
        """ "Send a template" to a lead or a property's owner."""
        form = {"lead_id": lead_id or "", "property_id": property_id or "", "template_id": "", "delivery_method": ""}
        return await _send_page(request, tenant, form, {})

    @post("/send", guards=[guard(policy.SEND)])
    async def send(self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, data: Form) -> Template | Redirect:
        """Generate and send; back to the lead's or property's page, where the message shows on the timeline."""
        form = clean_form(data)
        values: dict[str, Any] = {"template_id": form.get("template_id", ""), "send_immediately": True}
        for key in ("lead_id", "property_id"):
            if form_number(form.get(key)):
                values[key] = form[key]
        if form.get("delivery_method"):
            values["delivery_method"] = form["delivery_method"]
        try:
            result = await service.generate_and_send(tenant, convert_input(values, schemas.GenerateAndSend), queue)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await _send_page(request, tenant, form, form_errors(exc), status_code=422)
        if result.status in ("failed", "opted_out"):
            return await _send_page(request, tenant, form, {"form": f"Not sent: {result.error}."}, status_code=422)
        return Redirect(path=f"/leads/{result.lead_id}" if result.lead_id else f"/properties/{result.property_id}", status_code=303)


def _state(status: str | None, channel: str | None, lead_id: str | None, property_id: str | None) -> dict[str, str]:
    return {
        "status": status if status in schemas.STATUS_LABELS else "",
        "channel": channel if channel in schemas.CHANNELS else "",
        "lead_id": lead_id if lead_id and form_number(lead_id) else "",
        "property_id": property_id if property_id and form_number(property_id) else "",
    }


def _template_values(form: dict[str, str]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "type": form.get("type", "email"),
        "stage": form.get("stage", "") or "outreach",
        "subject_template": form.get("subject_template", ""),
        "body_template": form.get("body_template", ""),
        "is_active": form.get("is_active") == "on",
    }


def _editor(
    request: Request[Any, Any, Any], template: schemas.Template | None, form: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Template:
    ctx = {"active": "messages", "tab": "templates", "template": template, "form": form, "errors": errors, "variables": render.VARIABLES,
           "filters": sorted(render.TEXT.filters)}  # fmt: skip
    return page(request, "messages/editor.html", ctx, status_code=status_code)


async def _send_page(
    request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Template:
    templates = [t for t in await service.list_templates(tenant) if t.is_active]
    ctx = {"active": "messages", "form": form, "errors": errors, "templates": templates}
    return page(request, "messages/send.html", ctx, status_code=status_code)


class UnsubscribePagesController(Controller):
    """The page an e-mail's unsubscribe link opens (no login: the signed link is the proof). A mail client's one-click
    unsubscribe (RFC 8058) posts to the same address."""

    path = "/unsubscribe"
    include_in_schema = False

    @get("/{token:str}")
    async def confirm(self, request: Request[Any, Any, Any], token: str) -> Template:
        """Ask before unsubscribing (a link scanner's GET must not unsubscribe anyone)."""
        found = delivery.read_unsubscribe_token(token)
        if found is None:
            raise ResourceNotFound("This unsubscribe link is not valid", human="This unsubscribe link is not valid.")
        return page(request, "messages/unsubscribe.html", {"address": found[2], "token": token, "done": False})

    @post("/{token:str}")
    async def unsubscribe(self, request: Request[Any, Any, Any], token: str) -> Template:
        """No more e-mails to this address from this workspace."""
        found = delivery.read_unsubscribe_token(token)
        if found is None:
            raise ResourceNotFound("This unsubscribe link is not valid", human="This unsubscribe link is not valid.")
        tenant_id, channel, address = found
        await inbound.opt_out(tenant_id, channel, address, "unsubscribe link")
        return page(request, "messages/unsubscribe.html", {"address": address, "token": token, "done": True})


class LeadSequencesController(Controller):
    """A lead's nurture sequences (its page's card): start one, stop one."""

    path = "/leads"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _card(
        self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, message: str | None = None, status_code: int = 200
    ) -> Template:
        ctx = {
            "lead_id": lead_id,
            "sequences": await sequences.list_for_lead(tenant, lead_id),
            "lead": await sequences.lead_owner(tenant, lead_id),
            "message": message,
        }
        return page(request, "messages/_sequences.html", ctx, block="sequences", status_code=status_code)

    @get("/{lead_id:int}/sequences")
    async def card(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int) -> Template:
        """The lead's sequences and a form to start one."""
        return await self._card(request, tenant, lead_id)

    @post("/{lead_id:int}/sequences", guards=[guard(policy.SEND)])
    async def start(self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, lead_id: int, data: Form) -> Template:
        """Start a sequence; a refusal (one already running, no template) is said on the card."""
        form = clean_form(data)
        values = {"lead_id": lead_id, "sequence_type": form.get("sequence_type") or "nurture", "channel": form.get("channel") or "email"}
        try:
            await sequences.start(tenant, convert_input(values, schemas.SequenceStart), queue)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._card(request, tenant, lead_id, exc.human, status_code=422)
        return await self._card(request, tenant, lead_id, "Sequence started: the first message goes out on day 3.")

    @post("/{lead_id:int}/sequences/{sequence_id:int}/stop", guards=[guard(policy.SEND)])
    async def stop(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, sequence_id: int) -> Template:
        """Stop it by hand."""
        await sequences.stop(tenant, schemas.SequenceStop(sequence_id=sequence_id, reason="stopped by hand"))
        return await self._card(request, tenant, lead_id, "Sequence stopped.")
