"""JSON API: leads, their score and timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import Parameter
from litestar.response import Stream
from saq import Queue

from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.events.schemas import TimelineEntry
from app.leads import export, jobs, policy, schemas, service
from app.settings import Settings
from app.web.auth import guard
from app.web.deps import INSTANT, parse_instant
from app.web.etag import IfMatch
from app.web.json import ApiResponse
from app.web.openapi import MINIMUM_ZERO, success_media_types

LeadId = Annotated[int, Parameter(description="Lead id")]


BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}


async def provide_lead_filters(
    status: Annotated[
        str | None,
        Parameter(description="Status, or several separated by commas: `QUALIFIED,NEGOTIATING`", pattern=schemas.STATUS_LIST_PATTERN),
    ] = None,
    budget_min: Annotated[
        Decimal | None,
        Parameter(description="Leads whose budget reaches at least this amount", schema_extra={"pattern": schemas.MONEY_PATTERN}),
    ] = None,
    budget_max: Annotated[
        Decimal | None,
        Parameter(description="Leads whose budget starts at or below this amount", schema_extra={"pattern": schemas.MONEY_PATTERN}),
    ] = None,
    property_type: Annotated[schemas.PropertyType | None, Parameter(description="e.g. APARTMENT")] = None,
    transaction_type: Annotated[schemas.TransactionType | None, Parameter(description="BUY, RENT or SELL")] = None,
    created_after: Annotated[str | None, Parameter(description="RFC 3339, e.g. 2025-11-01T00:00:00Z", schema_extra=INSTANT)] = None,
    created_before: Annotated[str | None, Parameter(description="RFC 3339, e.g. 2025-12-01T00:00:00Z", schema_extra=INSTANT)] = None,
    period: Annotated[Literal["7d", "30d", "90d", "365d"] | None, Parameter(description="Created in the last 7/30/90/365 days")] = None,
    language: Annotated[str | None, Parameter(description="e.g. ar")] = None,
    temperature: Annotated[schemas.Temperature | None, Parameter(description="hot, warm or cold")] = None,
    agent_id: Annotated[int | None, Parameter(description="Assigned user id")] = None,
    unassigned: Annotated[bool, Parameter(description="Only leads assigned to nobody")] = False,
    source: Annotated[str | None, Parameter(description="e.g. website")] = None,
    campaign_id: Annotated[int | None, Parameter(ge=1, description="Leads of this campaign")] = None,
    score_min: Annotated[int | None, Parameter(ge=0, le=100, description="Minimum hotness score", schema_extra=MINIMUM_ZERO)] = None,
    score_max: Annotated[int | None, Parameter(ge=0, le=100, description="Maximum hotness score", schema_extra=MINIMUM_ZERO)] = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Search in name, e-mail and phone")] = None,
    deleted: Annotated[bool, Parameter(description="Soft-deleted leads instead (admins)")] = False,
    updated_after: Annotated[str | None, Parameter(description="Changed at or after (RFC 3339)", schema_extra=INSTANT)] = None,
    updated_before: Annotated[str | None, Parameter(description="Changed before (RFC 3339)", schema_extra=INSTANT)] = None,
    last_interaction_after: Annotated[
        str | None, Parameter(description="Last interaction at or after (RFC 3339)", schema_extra=INSTANT)
    ] = None,
    last_interaction_before: Annotated[
        str | None, Parameter(description="Last interaction before (RFC 3339); leads never touched are left out", schema_extra=INSTANT)
    ] = None,
    has_phone: Annotated[bool | None, Parameter(description="true: with a phone number; false: without")] = None,
    has_email: Annotated[bool | None, Parameter(description="true: with an e-mail address; false: without")] = None,
    has_overdue_task: Annotated[bool, Parameter(description="Only leads with an open task past its due time")] = False,
    no_next_step: Annotated[bool, Parameter(description="Only leads with no open task (no next step planned)")] = False,
    purpose: Annotated[schemas.Purpose | None, Parameter(description="INVESTMENT, LIVING or RESIDENCY")] = None,
    bedrooms: Annotated[
        int | None, Parameter(ge=0, le=50, description="Leads whose wanted bedrooms range holds this many", schema_extra=MINIMUM_ZERO)
    ] = None,
    location: Annotated[str | None, Parameter(max_length=100, description="Part of a preferred location, e.g. marina")] = None,
    tag: Annotated[str | None, Parameter(max_length=60, description="Leads carrying this tag (custom_fields.tags)")] = None,
) -> service.LeadFilters:
    """The lead filters shared by the list and the export (names of the reference guides)."""
    after, before = parse_instant("created_after", created_after), parse_instant("created_before", created_before)
    if period is not None and after is None:
        after = datetime.now(UTC) - timedelta(days=PERIODS[period])
    return service.LeadFilters(
        status=service.parse_statuses(status),
        budget_min=budget_min,
        budget_max=budget_max,
        property_type=property_type,
        transaction_type=transaction_type,
        created_after=after,
        created_before=before,
        language=language,
        temperature=temperature,
        agent_id=agent_id,
        unassigned=unassigned,
        source=source,
        campaign_id=min(campaign_id, 2**63 - 1) if campaign_id is not None else None,
        score_min=score_min,
        score_max=score_max,
        q=q,
        deleted=deleted,
        updated_after=parse_instant("updated_after", updated_after),
        updated_before=parse_instant("updated_before", updated_before),
        last_interaction_after=parse_instant("last_interaction_after", last_interaction_after),
        last_interaction_before=parse_instant("last_interaction_before", last_interaction_before),
        has_phone=has_phone,
        has_email=has_email,
        has_overdue_task=has_overdue_task,
        no_next_step=no_next_step,
        purpose=purpose,
        bedrooms=bedrooms,
        location=location.strip() or None if location else None,
        tag=tag.strip() or None if tag else None,
    )


class LeadController(Controller):
    """Leads of the tenant."""

    path = "/v2/leads"
    opt = resource_opt("leads")  # its scopes: leads:read, leads:write
    tags = ["Leads"]

    @get(
        "/",
        operation_id="listLeads",
        summary="List and search leads",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_lead_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_leads(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        settings: Settings,
        filters: service.LeadFilters,
        export_format: Annotated[
            Literal["json"] | None,
            Parameter(query="export", description="`json`: every matching lead in the export envelope of the guide (§5.1)"),
        ] = None,
    ) -> Page[schemas.LeadSummary] | Stream:
        """Sortable by `created_at` (default `-created_at`), `updated_at`, `name`, `hotness_score`, `budget_min`,
        `budget_max`, `last_interaction`, `status`. `total` is exact for status filters and small
        results, and PostgreSQL's estimate for large filtered results (`total_is_estimate: true`).
        With `export=json`: `{"export_id", "created_at", "total_records", "data"}` with every matching
        lead (streamed; the same as `GET /v2/export/leads?format=json`, and audited)."""
        if export_format == "json":  # who may export is checked by the export itself (leads.export)
            body = await export.export_leads(tenant, "json", filters, export.pick_columns(None, "json"))
            return Stream(body, media_type=export.MEDIA_TYPES["json"], headers={"Cache-Control": "no-store"})
        return await service.list_leads(tenant, filters, list_query, settings.base_url)

    @post("/", operation_id="createLead", summary="Create a lead", guards=[guard(policy.CREATE)], status_code=201)
    async def create_lead(self, tenant: TenantScope, settings: Settings, data: schemas.LeadCreate) -> ApiResponse[schemas.Lead]:
        """`phone` must be in international format; a live lead with the same phone or e-mail answers 409 naming it."""
        lead = await service.create_lead(tenant, data, settings.base_url)
        return ApiResponse(lead, status_code=201, headers={"Location": f"/v2/leads/{lead.id}"})

    @post(
        "/score-all",
        operation_id="scoreAllLeads",
        summary="Rescore every lead (background job)",
        guards=[guard(policy.SCORE_ALL)],
        status_code=202,
    )
    async def score_all(self, tenant: TenantScope, queue: Queue) -> schemas.ScoreAllResult:
        """Runs as a job; asking again while it is queued or running does not start a second one."""
        key, status = await jobs.request_rescore(tenant, queue)
        return schemas.ScoreAllResult(job_key=key, status=status)

    @get("/{lead_id:int}", operation_id="getLead", summary="Get a lead", guards=[guard(policy.VIEW)])
    async def get_lead(self, tenant: TenantScope, settings: Settings, lead_id: LeadId) -> schemas.Lead:
        """404 for deleted leads and other tenants' ids."""
        return await service.get_lead(tenant, lead_id, settings.base_url)

    @patch("/{lead_id:int}", operation_id="updateLead", summary="Update a lead", guards=[guard(policy.EDIT)])
    async def update_lead(
        self, tenant: TenantScope, settings: Settings, lead_id: LeadId, data: schemas.LeadUpdate, if_match: IfMatch = None
    ) -> schemas.Lead:
        """Status moves, notes and assignments are recorded on the timeline. Honours `If-Match` (412 when stale)."""
        return await service.update_lead(tenant, lead_id, data, settings.base_url, if_match=if_match)

    @delete("/{lead_id:int}", operation_id="deleteLead", summary="Delete a lead (soft)", guards=[guard(policy.DELETE)])
    async def delete_lead(self, tenant: TenantScope, lead_id: LeadId) -> None:
        """The lead leaves every list; an admin can restore it."""
        await service.delete_lead(tenant, lead_id)

    @post(
        "/{lead_id:int}/restore",
        operation_id="restoreLead",
        summary="Restore a deleted lead",
        guards=[guard(policy.RESTORE)],
        status_code=200,
    )
    async def restore_lead(self, tenant: TenantScope, settings: Settings, lead_id: LeadId) -> schemas.Lead:
        """409 when another live lead took its phone or e-mail meanwhile."""
        return await service.restore_lead(tenant, lead_id, settings.base_url)

    @post(
        "/{lead_id:int}/score",
        operation_id="scoreLead",
        summary="Score a lead and explain it",
        guards=[guard(policy.SCORE)],
        status_code=200,
    )
    async def score_lead(self, tenant: TenantScope, lead_id: LeadId) -> schemas.LeadScore:
        """Factors, confidence, temperature and recommendations; the rules are in docs/leads.md."""
        return await service.score(tenant, lead_id)

    @get("/{lead_id:int}/timeline", operation_id="getLeadTimeline", summary="The lead's timeline", guards=[guard(policy.VIEW)])
    async def get_timeline(self, tenant: TenantScope, list_query: ListQuery, lead_id: LeadId) -> Page[TimelineEntry]:
        """Every create, change, status move, note, assignment and score change, newest first."""
        return await service.timeline(tenant, lead_id, list_query)


class LeadExportController(Controller):
    """Lead exports for spreadsheets and other systems."""

    path = "/v2/export"
    opt = resource_opt("exports")  # its scopes: exports:read, exports:write
    tags = ["Leads"]

    @get(
        "/leads",
        operation_id="exportLeads",
        summary="Export leads as CSV, XLSX or JSON",
        guards=[guard(policy.EXPORT)],
        operation_class=success_media_types(
            200,
            {
                "text/csv": Schema(type=OpenAPIType.STRING),
                export.MEDIA_TYPES["xlsx"]: BINARY,
                "application/json": Schema(type=OpenAPIType.OBJECT, description='`{"export_id", "created_at", "total_records", "data"}`'),
            },
        ),
        dependencies={"filters": Provide(provide_lead_filters)},
    )
    async def export_leads(
        self,
        tenant: TenantScope,
        filters: service.LeadFilters,
        format: Annotated[
            Literal["csv", "xlsx", "json"], Parameter(description="csv (streamed, unlimited), xlsx (at most 100,000 rows) or json")
        ] = "csv",
        columns: Annotated[
            str | None, Parameter(description=f"Comma-separated, from: {', '.join(export.COLUMNS)}", pattern=export.COLUMNS_PATTERN)
        ] = None,
    ) -> Stream:
        """Same filters as `GET /v2/leads` plus `period`; newest first. Every export is written to the audit log."""
        chosen = export.pick_columns(columns, format)
        body = await export.export_leads(tenant, format, filters, chosen)
        return Stream(
            body,
            media_type=export.MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{export.filename(format)}"', "Cache-Control": "no-store"},
        )

    @post(
        "/leads/jobs",
        operation_id="startLeadExportJob",
        summary="Build a large Excel export in the background",
        guards=[guard(policy.EXPORT)],
        dependencies={"filters": Provide(provide_lead_filters)},
        status_code=202,
    )
    async def start_job(
        self,
        tenant: TenantScope,
        filters: service.LeadFilters,
        queue: Queue,
        columns: Annotated[
            str | None, Parameter(description=f"Comma-separated, from: {', '.join(export.COLUMNS)}", pattern=export.COLUMNS_PATTERN)
        ] = None,
    ) -> export.ExportJobView:
        """Same filters as the export; follow `GET /v2/export/jobs/{id}` and download from `/file` when `status` is done."""
        return await export.start_export_job(tenant, filters, export.pick_columns(columns, "xlsx"), queue)

    @get("/jobs/{export_id:int}", operation_id="getLeadExportJob", summary="A background export's progress", guards=[guard(policy.EXPORT)])
    async def get_job(self, tenant: TenantScope, export_id: int, queue: Queue) -> export.ExportJobView:
        """`processed_rows` of `total_rows`; `status` queued → running → done (or failed)."""
        return await export.get_export_job(tenant, export_id, queue)

    @get(
        "/jobs/{export_id:int}/file",
        operation_id="downloadLeadExportJob",
        summary="Download a finished export",
        guards=[guard(policy.EXPORT)],
        media_type=export.MEDIA_TYPES["xlsx"],
        operation_class=success_media_types(
            200, {export.MEDIA_TYPES["xlsx"]: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)}
        ),
    )
    async def download(self, tenant: TenantScope, export_id: int, queue: Queue) -> Response[bytes]:
        """409 until the export is done; kept for a day."""
        name, content = await export.export_file(tenant, export_id, queue)
        return Response(content, media_type=export.MEDIA_TYPES["xlsx"], headers={"Content-Disposition": f'attachment; filename="{name}"'})
