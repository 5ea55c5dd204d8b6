"""JSON API: pipelines and stages, deals (+ watchers, timeline, lead conversion) and the kanban board (NeuraCRM §3.2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import MONEY_PATTERN, checked_money
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.events.schemas import TimelineEntry
from app.pipeline import policy, schemas, service
from app.web.auth import guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse

MoneyParam = Annotated[Decimal | None, Parameter(schema_extra={"pattern": MONEY_PATTERN})]
# An id in a filter: PostgreSQL's bigint range (no record has another).
IdParam = Annotated[int | None, Parameter(ge=-(2**63), le=2**63 - 1)]


async def provide_deal_filters(
    stage_id: Annotated[IdParam, Parameter(description="Deals in this stage")] = None,
    pipeline_id: Annotated[IdParam, Parameter(description="Deals of this pipeline")] = None,
    owner_id: Annotated[IdParam, Parameter(description="Deals this person owns")] = None,
    status: Annotated[schemas.DealStatus | None, Parameter(description="open, won or lost")] = None,
    value_min: MoneyParam = None,
    value_max: MoneyParam = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Search in the title and the contact's name")] = None,
    expected_close_after: Annotated[date | None, Parameter(description="Expected to close on or after this day")] = None,
    expected_close_before: Annotated[date | None, Parameter(description="Expected to close on or before this day")] = None,
    contact_id: Annotated[IdParam, Parameter(description="Deals with this contact")] = None,
    lead_id: Annotated[IdParam, Parameter(description="Deals converted from this lead")] = None,
) -> service.DealFilters:
    """The deal filters shared by the list and the board."""
    checked_money("value_min", value_min)
    checked_money("value_max", value_max)
    return service.DealFilters(
        stage_id=stage_id,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        status=status,
        value_min=value_min,
        value_max=value_max,
        q=q.strip() or None if q else None,
        close_after=expected_close_after,
        close_before=expected_close_before,
        contact_id=contact_id,
        lead_id=lead_id,
    )


class PipelineController(Controller):
    """Pipelines and their stages."""

    path = "/v2/pipelines"
    opt = resource_opt("pipelines")  # its scopes: pipelines:read, pipelines:write
    tags = ["Deals"]

    @get("/", operation_id="listPipelines", summary="List pipelines with their stages", guards=[guard(policy.VIEW)])
    async def list_pipelines(self, tenant: TenantScope) -> list[schemas.Pipeline]:
        """Every pipeline of the tenant in order, each with its stages (`order`, `wip_limit`, `probability`, open deals and their value)."""
        return await service.list_pipelines(tenant)

    @post("/", operation_id="createPipeline", summary="Create a pipeline", guards=[guard(policy.MANAGE_PIPELINES)], status_code=201)
    async def create_pipeline(self, tenant: TenantScope, data: schemas.PipelineCreate) -> ApiResponse[schemas.Pipeline]:
        """Admins and managers. `is_default: true` makes it the default (the board's and new deals')."""
        pipeline = await service.create_pipeline(tenant, data)
        return ApiResponse(pipeline, status_code=201, headers={"Location": f"/v2/pipelines/{pipeline.id}"})

    @get("/{pipeline_id:int}", operation_id="getPipeline", summary="Get a pipeline", guards=[guard(policy.VIEW)])
    async def get_pipeline(self, tenant: TenantScope, pipeline_id: int) -> schemas.Pipeline:
        """404 for other tenants' ids."""
        return await service.get_pipeline(tenant, pipeline_id)

    @patch(
        "/{pipeline_id:int}",
        operation_id="updatePipeline",
        summary="Rename a pipeline or make it the default",
        guards=[guard(policy.MANAGE_PIPELINES)],
    )
    async def update_pipeline(self, tenant: TenantScope, pipeline_id: int, data: schemas.PipelineUpdate) -> schemas.Pipeline:
        """Admins and managers."""
        return await service.update_pipeline(tenant, pipeline_id, data)

    @delete("/{pipeline_id:int}", operation_id="deletePipeline", summary="Delete a pipeline", guards=[guard(policy.MANAGE_PIPELINES)])
    async def delete_pipeline(self, tenant: TenantScope, pipeline_id: int) -> None:
        """Only a pipeline without deals, and not the default (409 otherwise)."""
        await service.delete_pipeline(tenant, pipeline_id)

    @post(
        "/{pipeline_id:int}/stages",
        operation_id="createStage",
        summary="Add a stage to a pipeline",
        guards=[guard(policy.MANAGE_PIPELINES)],
        status_code=201,
    )
    async def create_stage(self, tenant: TenantScope, pipeline_id: int, data: schemas.StageCreate) -> ApiResponse[schemas.Stage]:
        """At `order` (1 = first), or last; the other stages close up."""
        stage = await service.create_stage(tenant, pipeline_id, data)
        return ApiResponse(stage, status_code=201, headers={"Location": f"/v2/stages/{stage.id}"})


class StageController(Controller):
    """One stage."""

    path = "/v2/stages"
    opt = resource_opt("pipelines")
    tags = ["Deals"]

    @get("/{stage_id:int}", operation_id="getStage", summary="Get a stage", guards=[guard(policy.VIEW)])
    async def get_stage(self, tenant: TenantScope, stage_id: int) -> schemas.Stage:
        """With its open deals' count and value."""
        return await service.get_stage(tenant, stage_id)

    @patch(
        "/{stage_id:int}", operation_id="updateStage", summary="Rename, reorder or limit a stage", guards=[guard(policy.MANAGE_PIPELINES)]
    )
    async def update_stage(self, tenant: TenantScope, stage_id: int, data: schemas.StageUpdate) -> schemas.Stage:
        """Admins and managers. `wip_limit: null` lifts the limit."""
        return await service.update_stage(tenant, stage_id, data)

    @delete("/{stage_id:int}", operation_id="deleteStage", summary="Delete a stage", guards=[guard(policy.MANAGE_PIPELINES)])
    async def delete_stage(
        self,
        tenant: TenantScope,
        stage_id: int,
        move_deals_to: Annotated[int | None, Parameter(description="The stage its deals move to (needed when it holds any)")] = None,
    ) -> None:
        """A stage holding deals answers 409 with their number unless `move_deals_to` names another stage of its pipeline."""
        await service.delete_stage(tenant, stage_id, move_deals_to)


class DealController(Controller):
    """Deals."""

    path = "/v2/deals"
    opt = resource_opt("deals")  # its scopes: deals:read, deals:write
    tags = ["Deals"]

    @get(
        "/",
        operation_id="listDeals",
        summary="List deals",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_deal_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_deals(self, tenant: TenantScope, list_query: ListQuery, filters: service.DealFilters) -> Page[schemas.Deal]:
        """Sortable by `created_at` (default `-created_at`), `updated_at`, `title`, `value`, `expected_close_date`, `position`."""
        return await service.list_deals(tenant, filters, list_query)

    @post("/", operation_id="createDeal", summary="Create a deal", guards=[guard(policy.CREATE)], status_code=201)
    async def create_deal(self, tenant: TenantScope, data: schemas.DealCreate) -> ApiResponse[schemas.Deal]:
        """At the bottom of its stage (the first of the default pipeline when none is named). A stage at its WIP
        limit answers 409 `WIP_LIMIT_REACHED`."""
        deal = await service.create_deal(tenant, data)
        return ApiResponse(deal, status_code=201, headers={"Location": f"/v2/deals/{deal.id}"})

    @get("/{deal_id:int}", operation_id="getDeal", summary="Get a deal", guards=[guard(policy.VIEW)])
    async def get_deal(self, tenant: TenantScope, deal_id: int) -> schemas.Deal:
        """404 for other tenants' ids."""
        return await service.get_deal(tenant, deal_id)

    @patch("/{deal_id:int}", operation_id="updateDeal", summary="Update, win, lose or reopen a deal", guards=[guard(policy.EDIT)])
    async def update_deal(self, tenant: TenantScope, deal_id: int, data: schemas.DealUpdate, if_match: IfMatch = None) -> schemas.Deal:
        """Honours `If-Match`. `status: lost` needs `lost_reason`. Agents change their own and unowned deals."""
        return await service.update_deal(tenant, deal_id, data, if_match=if_match)

    @put("/{deal_id:int}", operation_id="replaceDeal", summary="Update a deal (as PUT)", guards=[guard(policy.EDIT)])
    async def put_deal(self, tenant: TenantScope, deal_id: int, data: schemas.DealUpdate, if_match: IfMatch = None) -> schemas.Deal:
        """The CRM SaaS guide's PUT: the same partial change as PATCH."""
        return await service.update_deal(tenant, deal_id, data, if_match=if_match)

    @delete("/{deal_id:int}", operation_id="deleteDeal", summary="Delete a deal", guards=[guard(policy.DELETE)])
    async def delete_deal(self, tenant: TenantScope, deal_id: int) -> None:
        """Admins and managers. Audited."""
        await service.delete_deal(tenant, deal_id)

    @post("/{deal_id:int}/watchers", operation_id="addDealWatcher", summary="Watch a deal", guards=[guard(policy.VIEW)], status_code=201)
    async def add_watcher(self, tenant: TenantScope, deal_id: int, data: schemas.Watcher) -> schemas.Deal:
        """Anyone may watch; adding someone else needs the right to change the deal. Emits `deal.watcher_added`."""
        return await service.add_watcher(tenant, deal_id, data.user_id)

    @delete(
        "/{deal_id:int}/watchers/{user_id:int}",
        operation_id="removeDealWatcher",
        summary="Stop watching a deal",
        guards=[guard(policy.VIEW)],
    )
    async def remove_watcher(self, tenant: TenantScope, deal_id: int, user_id: int) -> None:
        """Anyone may stop watching; removing someone else needs the right to change the deal."""
        await service.remove_watcher(tenant, deal_id, user_id)

    @get("/{deal_id:int}/activities", operation_id="getDealActivities", summary="A deal's timeline", guards=[guard(policy.VIEW)])
    async def activities(self, tenant: TenantScope, list_query: ListQuery, deal_id: int) -> Page[TimelineEntry]:
        """Every change, move and note, newest first."""
        return await service.deal_timeline(tenant, deal_id, list_query)


class ConvertLeadController(Controller):
    """A lead becomes a deal."""

    path = "/v2/leads"
    opt = resource_opt("deals")
    tags = ["Deals"]

    @post(
        "/{lead_id:int}/convert",
        operation_id="convertLeadToDeal",
        summary="Convert a lead to a deal",
        guards=[guard(policy.CREATE)],
        status_code=201,
    )
    async def convert(self, tenant: TenantScope, lead_id: int, data: schemas.ConvertLead) -> ApiResponse[schemas.Deal]:
        """The deal is linked to the lead (and its contact and company), valued at its budget unless `value` is
        given; the lead's status moves to `lead_status` (NEGOTIATING). A lead with an open deal answers 409."""
        deal = await service.convert_lead(tenant, lead_id, data)
        return ApiResponse(deal, status_code=201, headers={"Location": f"/v2/deals/{deal.id}"})


class KanbanController(Controller):
    """The board (NeuraCRM guide §3.2)."""

    path = "/v2/kanban"
    opt = resource_opt("deals")
    tags = ["Deals"]

    @get(
        "/board",
        operation_id="getKanbanBoard",
        summary="The kanban board",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_deal_filters)},
    )
    async def board(
        self,
        tenant: TenantScope,
        filters: service.DealFilters,
        per_stage: Annotated[int, Parameter(ge=1, le=1000, description="Deals per stage (the rest: `has_more`)")] = service.COLUMN_PAGE,
    ) -> schemas.BoardResponse:
        """`{"success": true, "data": {"stages": [...]}}` as §3.2: stages in `order` with `wip_limit`, their open deals
        by position, each stage's `count` and `total_value` (of the filtered deals). `pipeline_id` picks the pipeline
        (default: the tenant's default); the other filters narrow the cards."""
        board = await service.board(tenant, filters.pipeline_id, filters, per_stage=per_stage)
        return schemas.BoardResponse(success=True, data=board)

    @put("/deals/{deal_id:int}/move", operation_id="moveDeal", summary="Move a deal on the board", guards=[guard(policy.EDIT)])
    async def move(self, tenant: TenantScope, deal_id: int, data: schemas.DealMove) -> schemas.Deal:
        """`{"stage_id", "position"}` (1 = top). A stage at its WIP limit answers 409 `WIP_LIMIT_REACHED` naming the
        limit, unless an admin or a manager sends `"override": true`. Positions stay dense under concurrent moves."""
        return await service.move_deal(tenant, deal_id, data)
