"""JSON API: message templates with their performance, generate-and-send (Quick Start 3, Workflow 1), the
communications log (Real Estate OS guide: Communications), and the inbound provider webhooks (Real Estate OS guide:
Webhooks; EnterpriseHub: Webhooks; NeuraCRM §8.4) with the admins' provider secrets. The receivers take no
credentials: the signature is the credential (app.messages.inbound)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from saq import Queue

from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import ErrorEnvelope
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.messages import inbound, journey, policy, schemas, sequences, service
from app.settings import base_url
from app.web.auth import guard
from app.web.json import ApiResponse

TemplateId = Annotated[int, Parameter(description="Template id")]
CommunicationId = Annotated[int, Parameter(description="Communication id")]
IdFilter = Annotated[int | None, Parameter(ge=1, le=2**53)]
UNKNOWN_TEMPLATE = {404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such template of yours", generate_examples=False)}
UNKNOWN_SEQUENCE = {404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such sequence of yours", generate_examples=False)}
UNKNOWN_LEAD = {404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such lead of yours", generate_examples=False)}
UNKNOWN_COMMUNICATION = {
    404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such communication of yours", generate_examples=False)
}


async def provide_communication_filters(
    lead_id: Annotated[IdFilter, Parameter(description="Sent to this lead")] = None,
    property_id: Annotated[IdFilter, Parameter(description="Sent about this property")] = None,
    template_id: Annotated[IdFilter, Parameter(description="Made from this template")] = None,
    status: Annotated[schemas.Status | None, Parameter(description="e.g. opened")] = None,
    channel: Annotated[schemas.Channel | None, Parameter(description="email or sms")] = None,
    transport: Annotated[schemas.Transport | None, Parameter(description="smtp, sms_api, or outbox (kept locally)")] = None,
) -> service.CommunicationFilters:
    """The communications log's filters."""
    return service.CommunicationFilters(
        lead_id=lead_id, property_id=property_id, template_id=template_id, status=status, channel=channel, transport=transport
    )


class CommunicationController(Controller):
    """Message templates and the communications sent from them."""

    path = "/v2/communications"
    opt = resource_opt("communications")
    tags = ["Communications"]

    @get("/templates", operation_id="listTemplates", summary="List templates with their performance", guards=[guard(policy.VIEW)])
    async def list_templates(
        self, tenant: TenantScope, type: Annotated[schemas.Channel | None, Parameter(description="email or sms")] = None
    ) -> list[schemas.Template]:
        """A JSON array, as the guide shows it: each template with `performance` (`total_sent`, `total_opened`,
        `total_replied`, `open_rate`, `reply_rate`; rates of those sent)."""
        return await service.list_templates(tenant, type)

    @post("/templates", operation_id="createTemplate", summary="Add a template", guards=[guard(policy.MANAGE_TEMPLATES)], status_code=201)
    async def create_template(self, tenant: TenantScope, data: schemas.TemplateCreate) -> ApiResponse[schemas.Template]:
        """Placeholders are plain names among the documented ones (docs/messages.md); anything else (`{{ ''.__class__ }}`,
        `{{ lead.__dict__ }}`, an unknown name or filter, a syntax error) is a 422 with `details.reason: bad_placeholder`."""
        template = await service.create_template(tenant, data)
        return ApiResponse(template, status_code=201, headers={"Location": f"/v2/communications/templates/{template.id}"})

    @post(
        "/templates/preview",
        operation_id="previewTemplate",
        summary="Render a template's text",
        guards=[guard(policy.VIEW)],
        status_code=200,
    )
    async def preview(self, tenant: TenantScope, data: schemas.PreviewRequest) -> schemas.Preview:
        """With sample values, or a `property_id`'s or `lead_id`'s (the editor's live preview)."""
        return await service.preview(tenant, data)

    @get(
        "/templates/{template_id:int}",
        operation_id="getTemplate",
        summary="Get a template",
        guards=[guard(policy.VIEW)],
        responses=UNKNOWN_TEMPLATE,
    )
    async def get_template(self, tenant: TenantScope, template_id: TemplateId) -> schemas.Template:
        """With its performance."""
        return await service.get_template(tenant, template_id)

    @patch(
        "/templates/{template_id:int}",
        operation_id="updateTemplate",
        summary="Change a template",
        guards=[guard(policy.MANAGE_TEMPLATES)],
        responses=UNKNOWN_TEMPLATE,
    )
    async def update_template(self, tenant: TenantScope, template_id: TemplateId, data: schemas.TemplateUpdate) -> schemas.Template:
        """Fields not sent are kept; the texts are checked as they will be."""
        return await service.update_template(tenant, template_id, data)

    @delete(
        "/templates/{template_id:int}",
        operation_id="deleteTemplate",
        summary="Remove a template",
        guards=[guard(policy.MANAGE_TEMPLATES)],
        responses=UNKNOWN_TEMPLATE,
    )
    async def delete_template(self, tenant: TenantScope, template_id: TemplateId) -> None:
        """The communications sent from it stay."""
        await service.delete_template(tenant, template_id)

    @get(
        "/",
        operation_id="listCommunications",
        summary="The communications log",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_communication_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_communications(
        self, tenant: TenantScope, list_query: ListQuery, filters: service.CommunicationFilters
    ) -> Page[schemas.Communication]:
        """Newest first, with each one's delivery status (`transport: outbox` for those kept in the local outbox)."""
        return await service.list_communications(tenant, list_query, filters)

    @get(
        "/{communication_id:int}",
        operation_id="getCommunication",
        summary="Get a communication",
        guards=[guard(policy.VIEW)],
        responses=UNKNOWN_COMMUNICATION,
    )
    async def get_communication(self, tenant: TenantScope, communication_id: CommunicationId) -> schemas.Communication:
        """With its delivery status and times."""
        return await service.get_communication(tenant, communication_id)

    @post(
        "/{communication_id:int}/send",
        operation_id="sendDraft",
        summary="Send a draft",
        guards=[guard(policy.SEND)],
        status_code=200,
        responses=UNKNOWN_COMMUNICATION,
    )
    async def send_draft(self, tenant: TenantScope, queue: Queue, communication_id: CommunicationId) -> schemas.Communication:
        """A draft made with `send_immediately: false` is queued for sending; anything else is a 409 (`reason: not_draft`)."""
        return await service.send_draft(tenant, communication_id, queue)


class QuickWinsController(Controller):
    """Generate-and-send (the guide's Quick Start 3)."""

    path = "/v2/quick-wins"
    opt = resource_opt("communications")
    tags = ["Communications"]

    @post(
        "/generate-and-send",
        operation_id="generateAndSend",
        summary="Generate and send a memo",
        guards=[guard(policy.SEND)],
        status_code=200,
    )
    async def generate_and_send(self, tenant: TenantScope, queue: Queue, data: schemas.GenerateAndSend) -> schemas.MemoResult:
        """Renders the template for the property's owner (`property_id`) or the lead (`lead_id`) and sends it by a
        background job (`task_id`): `status` is `queued`, then `sent` (see the communication). The same memo asked again
        the same day (UTC) answers the first one's communication and sends nothing (automatic key
        `memo_{property_id}_{template_id}_{date}`); `Idempotency-Key` works as on every POST. `failed` with `error` when
        the recipient has no address for `delivery_method`; `opted_out` when they opted out. 429 past the workspace's
        send limit. Publishes `memo_generated` once sent."""
        return await service.generate_and_send(tenant, data, queue)


TenantParam = Annotated[
    int | None, Parameter(query="tenant_id", ge=1, le=2**53, description="Your workspace's id (in the webhook address)")
]
Signature = Annotated[
    str | None, Parameter(header="X-Webhook-Signature", description="t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.' + body>")
]


class ProviderWebhookController(Controller):
    """E-mail, SMS and GHL providers post their events here."""

    path = "/v2/webhooks"
    opt = resource_opt("communications")
    tags = ["Provider webhooks"]

    @post("/email-provider", operation_id="receiveEmailEvents", summary="E-mail provider events", status_code=200, security=[])
    async def email_provider(
        self, request: Request[Any, Any, Any], tenant_id: TenantParam = None, signature: Signature = None
    ) -> schemas.WebhookResult:
        """SendGrid-style events, one object or an array: `delivered`, `open`, `click`, `bounce`, `dropped`, `spam_report`
        (and `reply` with `text`), matched by `communication_id` or `sg_message_id`. Signed with the workspace's e-mail
        secret, within 5 minutes; each `sg_event_id` is applied once (`duplicates` counts the others). 401 when the
        signature is wrong or stale."""
        body = await request.body()
        tenant = await inbound.verify_timestamped(tenant_id, "email", body, signature)
        return await inbound.receive_email_events(tenant, body)

    @post(
        "/sms-provider", operation_id="receiveSmsEvents", summary="SMS provider status callbacks and replies", status_code=200, security=[]
    )
    async def sms_provider(
        self,
        request: Request[Any, Any, Any],
        tenant_id: TenantParam = None,
        signature: Annotated[str | None, Parameter(header="X-Twilio-Signature", description="Twilio's request signature")] = None,
    ) -> schemas.WebhookResult:
        """Twilio-style form posts (or JSON): a status callback (`MessageSid`, `MessageStatus`: sent, delivered, failed,
        undelivered) or an incoming message (`From`, `Body`), which is a reply to the last message sent to that number;
        `STOP` opts the number out. Each `MessageSid` and status is applied once."""
        if request.headers.get("content-type", "").startswith("application/json"):
            raw = await request.json()
            form = {str(k): str(v) for k, v in (raw.items() if isinstance(raw, dict) else [])}
        else:
            form = {k: str(v) for k, v in (await request.form()).items()}
        url = f"{base_url()}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        tenant = await inbound.verify_twilio(tenant_id, url, form, signature)
        return await inbound.receive_sms(tenant, form)

    @post("/ghl", operation_id="receiveGhlEvents", summary="GHL contact and message events", status_code=200, security=[])
    async def ghl(
        self,
        request: Request[Any, Any, Any],
        tenant_id: TenantParam = None,
        signature: Annotated[str | None, Parameter(header="X-GHL-Signature", description="t=<unix seconds>,v1=<hex HMAC-SHA256>")] = None,
    ) -> schemas.WebhookResult:
        """`ContactCreate`/`ContactUpdate` create or update the lead with that e-mail or phone (`source: ghl`);
        `InboundMessage` is a reply to the last message sent to it. Signed with the workspace's GHL secret; each
        `webhookId` is applied once."""
        body = await request.body()
        tenant = await inbound.verify_timestamped(tenant_id, "ghl", body, signature)
        return await inbound.receive_ghl(tenant, body)


class ExternalWebhookController(Controller):
    """Payment providers post their events here."""

    path = "/v2/external-webhooks"
    opt = resource_opt("communications")
    tags = ["Provider webhooks"]

    @post("/{provider:str}", operation_id="receivePaymentEvents", summary="Payment provider events", status_code=200, security=[])
    async def payment_provider(
        self,
        request: Request[Any, Any, Any],
        provider: Annotated[str, Parameter(max_length=20, pattern="^[a-z0-9_-]+$", description="e.g. stripe")],
        tenant_id: TenantParam = None,
        signature: Annotated[str | None, Parameter(header="Stripe-Signature", description="t=<unix seconds>,v1=<hex HMAC-SHA256>")] = None,
    ) -> schemas.WebhookResult:
        """`invoice.payment_succeeded` (Stripe-style; `data.object.metadata.invoice_id` names the invoice, `amount_paid` in
        cents) records a payment on the invoice, once per event `id`. Signed with the workspace's payments secret."""
        body = await request.body()
        tenant = await inbound.verify_timestamped(tenant_id, "payments", body, signature)
        return await inbound.receive_payment(tenant, provider, body)


class ProviderSecretController(Controller):
    """Admins see where each provider posts and set its secret."""

    path = "/v2/communications/providers"
    opt = resource_opt("communications")
    tags = ["Provider webhooks"]

    @get("/", operation_id="listMessageProviders", summary="Provider webhook addresses", guards=[guard(policy.PROVIDERS)])
    async def list_providers(self, tenant: TenantScope) -> list[schemas.ProviderWebhook]:
        """Each provider's `webhook_url` (with your `tenant_id`) and whether its secret is set; never the secret."""
        return await inbound.list_providers(tenant)

    @get("/events", operation_id="listProviderEvents", summary="The provider webhooks' log", guards=[guard(policy.PROVIDERS)])
    async def events(
        self, tenant: TenantScope, limit: Annotated[int, Parameter(ge=1, le=100, description="How many, newest first")] = 50
    ) -> list[schemas.ProviderEventLog]:
        """Each event applied once, with what it did (`outcome`) and the communication it was about."""
        return await inbound.provider_events(tenant, limit)

    @post(
        "/{provider:str}/secret",
        operation_id="rotateProviderSecret",
        summary="Make a provider's webhook secret",
        guards=[guard(policy.PROVIDERS)],
        status_code=201,
    )
    async def rotate(
        self, tenant: TenantScope, provider: Annotated[schemas.Provider, Parameter(description="email, sms, ghl or payments")]
    ) -> ApiResponse[schemas.ProviderSecretCreated]:
        """A new secret, shown this once; the provider's previous one stops working."""
        created = await inbound.rotate_secret(tenant, provider)
        return ApiResponse(created, status_code=201)


class LeadBotController(Controller):
    """Nurture sequences (EnterpriseHub: Lead Bot Management)."""

    path = "/v2/lead-bot/sequences"
    opt = resource_opt("communications")
    tags = ["Sequences"]

    @post(
        "/start", operation_id="startSequence", summary="Start a 3-7-30 day nurture sequence", guards=[guard(policy.SEND)], status_code=201
    )
    async def start(self, tenant: TenantScope, queue: Queue, data: schemas.SequenceStart) -> ApiResponse[schemas.Sequence]:
        """Touchpoints on days 3, 7 and 30, each rendered from a template (`template_ids`, else the channel's active
        templates) and sent as a communication. Stops by itself on a reply, an opt-out or the lead's conversion. 409
        (`reason: already_active`) when the lead has an active sequence of this type."""
        sequence = await sequences.start(tenant, data, queue)
        return ApiResponse(sequence, status_code=201, headers={"Location": f"/v2/lead-bot/sequences?lead_id={sequence.lead_id}"})

    @post(
        "/stop",
        operation_id="stopSequence",
        summary="Stop a sequence",
        guards=[guard(policy.SEND)],
        status_code=200,
        responses=UNKNOWN_SEQUENCE,
    )
    async def stop(self, tenant: TenantScope, data: schemas.SequenceStop) -> schemas.Sequence:
        """No further touchpoint is sent; a sequence already over is answered as it is."""
        return await sequences.stop(tenant, data)

    @get("/", operation_id="listSequences", summary="A lead's sequences", guards=[guard(policy.VIEW)])
    async def list_sequences(
        self, tenant: TenantScope, lead_id: Annotated[int, Parameter(ge=1, le=2**53, description="The lead")]
    ) -> list[schemas.Sequence]:
        """Newest first."""
        return await sequences.list_for_lead(tenant, lead_id)


class CustomerJourneyController(Controller):
    """A lead's customer journey (EnterpriseHub: Customer Journey)."""

    path = "/v2/customer-journey"
    opt = resource_opt("leads")
    tags = ["Sequences"]

    @get(
        "/{lead_id:int}",
        operation_id="getCustomerJourney",
        summary="A lead's customer journey",
        guards=[guard(policy.VIEW)],
        responses=UNKNOWN_LEAD,
    )
    async def journey(self, tenant: TenantScope, lead_id: Annotated[int, Parameter(description="Lead id")]) -> schemas.CustomerJourney:
        """`journey_stage` (from the lead's status), `touchpoints` from its timeline (timestamp, channel, action), and a
        `next_recommended_action` from plain rules, with its `reason`."""
        return await journey.customer_journey(tenant, lead_id)
