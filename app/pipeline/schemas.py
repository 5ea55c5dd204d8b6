"""Request and response types of pipelines, stages, deals and the board (NeuraCRM guide §3.2, CRM SaaS deals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import MONEY_PATTERN, Amount, RecordId, RequestBody, ResponseBody, VisibleName
from app.leads.schemas import Currency

DealStatus = Literal["open", "won", "lost"]
STATUSES: tuple[str, ...] = DealStatus.__args__  # type: ignore[attr-defined]
StageName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern="[^\\s]")]
Title = VisibleName
Percent = Annotated[int, msgspec.Meta(ge=0, le=100, description="0 to 100")]
WipLimit = Annotated[int, msgspec.Meta(ge=1, le=10_000, description="Open deals the stage may hold; null: no limit")]
Position = Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="1 is the top of the column; past the end means last")]
Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="Amount in `currency` (a JSON number or a decimal string, at most 99999999999999.99)",
        extra_json_schema={"pattern": MONEY_PATTERN},
    ),
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern="[^\\s]")]
Notes = Annotated[str, msgspec.Meta(max_length=10_000)]


class Stage(ResponseBody):
    """A column of a pipeline's board."""

    id: int
    pipeline_id: int
    name: str
    order: int
    wip_limit: int | None
    probability: int
    open_deals: int
    open_value: Amount


class StageCreate(RequestBody):
    """A new stage; `order` puts it at that place (last when left out)."""

    name: StageName
    order: Position | None = None
    wip_limit: WipLimit | None = None
    probability: Percent = 0


class StageUpdate(RequestBody):
    """A partial change; a new `order` moves the stage (the others close up)."""

    name: StageName | UnsetType = UNSET
    order: Position | UnsetType = UNSET
    wip_limit: WipLimit | UnsetType | None = UNSET
    probability: Percent | UnsetType = UNSET


class Pipeline(ResponseBody):
    """A pipeline and its stages in order."""

    id: int
    name: str
    is_default: bool
    stages: list[Stage]
    created_at: datetime
    updated_at: datetime


class PipelineCreate(RequestBody):
    """A new pipeline with its stages (at least one), in order."""

    name: StageName
    stages: Annotated[list[StageCreate], msgspec.Meta(min_length=1, max_length=30)]
    is_default: bool = False


class PipelineUpdate(RequestBody):
    """Rename a pipeline or make it the default (stages change through /v2/stages)."""

    name: StageName | UnsetType = UNSET
    is_default: Literal[True] | UnsetType = UNSET


class Deal(ResponseBody):
    """A deal."""

    id: int
    tenant_id: int
    title: str
    value: Amount
    currency: str
    pipeline_id: int
    stage_id: int
    stage_name: str
    position: int | None
    status: str
    lost_reason: str | None
    owner_id: int | None
    owner_name: str | None
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    lead_id: int | None
    property_id: int | None
    expected_close_date: date | None
    probability: int
    notes: str
    watchers: list[int]
    closed_at: datetime | None
    last_activity_at: datetime
    created_at: datetime
    updated_at: datetime


class DealCreate(RequestBody):
    """A new open deal. Without `stage_id` it starts in the first stage of `pipeline_id` (or the default pipeline)."""

    title: Title
    value: Money | None = None  # 0
    currency: Currency = "AED"
    pipeline_id: RecordId | None = None
    stage_id: RecordId | None = None
    owner_id: RecordId | None = None
    contact_id: RecordId | None = None
    company_id: RecordId | None = None
    lead_id: RecordId | None = None
    expected_close_date: date | None = None
    probability: Percent | None = None
    notes: Notes = ""


class DealUpdate(RequestBody):
    """A partial change. `status` won/lost closes the deal (lost needs `lost_reason`); open reopens it at the
    bottom of its stage. `stage_id` moves it to the bottom of that stage (the board's move sets a place)."""

    title: Title | UnsetType = UNSET
    value: Money | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    stage_id: RecordId | UnsetType = UNSET
    owner_id: RecordId | UnsetType | None = UNSET
    contact_id: RecordId | UnsetType | None = UNSET
    company_id: RecordId | UnsetType | None = UNSET
    expected_close_date: date | UnsetType | None = UNSET
    probability: Percent | UnsetType | None = UNSET
    status: DealStatus | UnsetType = UNSET
    lost_reason: Reason | UnsetType | None = UNSET
    notes: Notes | UnsetType = UNSET


class DealMove(RequestBody):
    """Where a deal goes on the board (§3.2). A full stage answers 409 WIP_LIMIT_REACHED unless an admin or a
    manager sends `override: true` (recorded on the deal's timeline)."""

    stage_id: RecordId
    position: Position = 1
    override: bool = False


class Watcher(RequestBody):
    """A person to tell about the deal's changes."""

    user_id: RecordId


class ConvertLead(RequestBody):
    """Turn a lead into a deal: linked to the lead (and its contact and company), the lead's status moves on."""

    title: Title | None = None
    value: Money | None = None
    currency: Currency | None = None
    pipeline_id: RecordId | None = None
    stage_id: RecordId | None = None
    owner_id: RecordId | None = None
    lead_status: Literal["QUALIFIED", "VIEWING_SCHEDULED", "NEGOTIATING"] = "NEGOTIATING"


class BoardDeal(ResponseBody):
    """A card (the §3.2 shape, and what the card shows)."""

    id: int
    title: str
    value: Amount
    currency: str
    owner_id: int | None
    owner_name: str | None
    contact_id: int | None
    contact_name: str | None
    stage_id: int
    position: int
    status: str
    expected_close_date: date | None
    last_activity_at: datetime
    stale: bool
    created_at: datetime


class BoardStage(ResponseBody):
    """A column: its deals in order (the first `limit` of them; `has_more` says whether there are others)."""

    id: int
    name: str
    order: int
    wip_limit: int | None
    probability: int
    count: int
    total_value: Amount
    open_deals: int  # every open deal of the stage, whatever the filters: what its WIP limit counts
    deals: list[BoardDeal]
    has_more: bool


class Board(ResponseBody):
    """A pipeline's board (§3.2): its stages in order with their open deals."""

    pipeline_id: int
    pipeline_name: str
    stale_after_days: int
    stages: list[BoardStage]


class BoardResponse(ResponseBody):
    """`GET /v2/kanban/board` as the NeuraCRM guide's §3.2 answers it."""

    success: bool
    data: Board
