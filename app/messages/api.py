"""JSON API: message templates with their performance, generate-and-send (Quick Start 3, Workflow 1) and the
communications log (Real Estate OS guide: Communications)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from saq import Queue

from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import ErrorEnvelope
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.messages import policy, schemas, service
from app.web.auth import guard
from app.web.json import ApiResponse

TemplateId = Annotated[int, Parameter(description="Template id")]
CommunicationId = Annotated[int, Parameter(description="Communication id")]
IdFilter = Annotated[int | None, Parameter(ge=1, le=2**53)]
UNKNOWN_TEMPLATE = {404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such template of yours", generate_examples=False)}
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
