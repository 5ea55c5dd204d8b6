"""JSON API: properties (+ timeline, bulk, match), portfolio stats and portfolios (+ reconcile), seller analysis
(Real Estate OS guide; EnterpriseHub guide's Buyer Matching and Seller Analysis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from app.core.pagination import SORTS_OPT, ListQuery
from app.core.schemas import MONEY_PATTERN, ErrorEnvelope, checked_money
from app.core.scopes import resource_opt
from app.core.validation import list_pattern, parse_list
from app.db import TenantScope
from app.leads.schemas import PropertyType
from app.properties import matching, policy, schemas, service
from app.web.auth import guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse
from app.web.openapi import MINIMUM_ZERO

STAGE_PATTERN = list_pattern(schemas.STAGES)

PropertyId = Annotated[int, Parameter(description="Property id")]
PortfolioId = Annotated[int, Parameter(description="Portfolio id")]
MoneyParam = Annotated[Decimal | None, Parameter(schema_extra={"pattern": MONEY_PATTERN})]
IdParam = Annotated[int | None, Parameter(ge=-(2**63), le=2**63 - 1)]
UNKNOWN_PORTFOLIO = {
    404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: no such portfolio of yours", generate_examples=False)
}
# The guide's `team_id` names the caller's own team; another one is not found, as any other tenant's id.
OTHER_TEAM = {404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: `team_id` is not your team", generate_examples=False)}


async def provide_property_filters(
    team_id: Annotated[IdParam, Parameter(description="Your team (tenant) id; another team's is not found")] = None,
    stage: Annotated[
        str | None,
        Parameter(description="A stage, or several separated by commas: `outreach,qualified`", pattern=STAGE_PATTERN),
    ] = None,
    assigned_user_id: Annotated[IdParam, Parameter(description="Properties assigned to this user")] = None,
    unassigned: Annotated[bool, Parameter(description="Only properties assigned to nobody")] = False,
    bird_dog_score_gte: Annotated[
        float | None,
        Parameter(query="bird_dog_score__gte", ge=0, le=1, description="Minimum bird-dog score (0.0-1.0)", schema_extra=MINIMUM_ZERO),
    ] = None,
    bird_dog_score_lte: Annotated[
        float | None,
        Parameter(query="bird_dog_score__lte", ge=0, le=1, description="Maximum bird-dog score (0.0-1.0)", schema_extra=MINIMUM_ZERO),
    ] = None,
    has_memo: Annotated[bool | None, Parameter(description="With (true) or without (false) a memo sent")] = None,
    has_reply: Annotated[bool | None, Parameter(description="With (true) or without (false) a reply from the owner")] = None,
    search: Annotated[str | None, Parameter(max_length=100, description="Search in the address, owner and city")] = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Same as `search`")] = None,
    tags: Annotated[list[str] | None, Parameter(description="Properties carrying all these tags (`tags=a&tags=b` or `tags=a,b`)")] = None,
    neighborhood: Annotated[str | None, Parameter(max_length=100, description="In this neighbourhood")] = None,
    city: Annotated[str | None, Parameter(max_length=100, description="In this city")] = None,
    listing_status: Annotated[schemas.ListingStatus | None, Parameter(description="e.g. for_sale")] = None,
    property_type: Annotated[PropertyType | None, Parameter(description="e.g. VILLA")] = None,
    price_min: MoneyParam = None,
    price_max: MoneyParam = None,
    bedrooms: Annotated[int | None, Parameter(ge=0, le=50, description="Exactly this many bedrooms", schema_extra=MINIMUM_ZERO)] = None,
) -> service.PropertyFilters:
    """The property filters shared by the list and the board (names of the Real Estate OS guide)."""
    checked_money("price_min", price_min)
    checked_money("price_max", price_max)
    text = (search or q or "").strip() or None
    return service.PropertyFilters(
        stage=parse_list(stage, schemas.STAGES, field="stage"),
        assigned_user_id=assigned_user_id,
        unassigned=unassigned,
        score_gte=bird_dog_score_gte,
        score_lte=bird_dog_score_lte,
        has_memo=has_memo,
        has_reply=has_reply,
        search=text,
        tags=service.parse_tags(tags),
        neighborhood=neighborhood,
        city=city,
        listing_status=listing_status,
        property_type=property_type,
        price_min=price_min,
        price_max=price_max,
        bedrooms=bedrooms,
        extra={"team_id": team_id},
    )


async def provide_property_page(
    limit: Annotated[int | None, Parameter(ge=1, le=service.MAX_LIMIT, description="Page size (default 100, at most 1000)")] = None,
    skip: Annotated[int | None, Parameter(ge=0, le=1_000_000, description="Items to skip", schema_extra=MINIMUM_ZERO)] = None,
    offset: Annotated[int | None, Parameter(ge=0, le=1_000_000, description="Same as `skip`", schema_extra=MINIMUM_ZERO)] = None,
    sort: Annotated[str | None, Parameter(description="Sort field; prefix with `-` for descending, e.g. `-bird_dog_score`")] = None,
) -> ListQuery:
    """The guide's paging of properties: `skip`/`limit` (default 100, at most 1000), `offset` as elsewhere."""
    return ListQuery(limit=limit or service.DEFAULT_LIMIT, offset=skip if skip is not None else (offset or 0), sort=sort)


class PropertyController(Controller):
    """Properties of the team."""

    path = "/v2/properties"
    opt = resource_opt("properties")
    tags = ["Properties"]

    @get(
        "/",
        operation_id="listProperties",
        summary="List, filter and search properties",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_property_filters), "page": Provide(provide_property_page)},
        opt={SORTS_OPT: service.SORTS},
        responses=OTHER_TEAM,
    )
    async def list_properties(
        self, tenant: TenantScope, filters: service.PropertyFilters, page: ListQuery
    ) -> ApiResponse[list[schemas.Property]]:
        """A JSON array, as the guide's examples read it (`len(response.json())`); the total is in `X-Total-Count`
        (with `X-Total-Is-Estimate: true` when PostgreSQL estimated it) and the next page in a `Link` header.
        Every filter combines with the others (AND)."""
        service.check_team(tenant, filters.extra.get("team_id"))
        result = await service.list_properties(tenant, filters, page)
        headers = {"X-Total-Count": str(result.total)}
        if result.total_is_estimate:
            headers["X-Total-Is-Estimate"] = "true"
        if result.offset + len(result.items) < result.total:
            headers["Link"] = f'</v2/properties?skip={result.offset + result.limit}&limit={result.limit}>; rel="next"'
        return ApiResponse(result.items, headers=headers)

    @post(
        "/", operation_id="createProperty", summary="Add a property", guards=[guard(policy.CREATE)], status_code=201, responses=OTHER_TEAM
    )
    async def create_property(self, tenant: TenantScope, data: schemas.PropertyCreate) -> ApiResponse[schemas.Property]:
        """`team_id`, when sent, must be your own team. It starts in `current_stage` (default `new`)."""
        prop = await service.create_property(tenant, data)
        return ApiResponse(prop, status_code=201, headers={"Location": f"/v2/properties/{prop.id}"})

    @post("/match", operation_id="matchProperties", summary="Match properties to a buyer", guards=[guard(policy.MATCH)], status_code=200)
    async def match(self, tenant: TenantScope, data: schemas.MatchRequest) -> schemas.MatchResult:
        """Ranked by `match_score` (0-1, formula in docs/properties.md) with what fits and what does not;
        `lead_id` takes the wishes from a lead. Emits `buyer.matched`."""
        return await matching.match(tenant, data)

    @post(
        "/bulk",
        operation_id="bulkUpdateProperties",
        summary="Move or assign several properties",
        guards=[guard(policy.EDIT)],
        status_code=200,
    )
    async def bulk(self, tenant: TenantScope, data: schemas.BulkChange) -> schemas.BulkResult:
        """Each property is changed on its own (timeline, `property_updated`); ones you may not change are listed in `refused`."""
        return await service.bulk_change(tenant, data)

    @get("/{property_id:int}", operation_id="getProperty", summary="Get a property with its market data", guards=[guard(policy.VIEW)])
    async def get_property(self, tenant: TenantScope, property_id: PropertyId) -> schemas.Property:
        """`market_data`: days on market, price per square foot and the average price of comparables among your properties."""
        return await service.get_property(tenant, property_id)

    @patch("/{property_id:int}", operation_id="updateProperty", summary="Update a property", guards=[guard(policy.EDIT)])
    async def update_property(
        self, tenant: TenantScope, property_id: PropertyId, data: schemas.PropertyUpdate, if_match: IfMatch = None
    ) -> schemas.Property:
        """A new `current_stage` or `assigned_user_id` emits `property_updated`; honours `If-Match` (412 when stale)."""
        return await service.update_property(tenant, property_id, data, if_match=if_match)

    @delete("/{property_id:int}", operation_id="deleteProperty", summary="Delete a property", guards=[guard(policy.DELETE)])
    async def delete_property(self, tenant: TenantScope, property_id: PropertyId) -> None:
        """Removes it from its portfolios; deals keep their history without the link. Audited."""
        await service.delete_property(tenant, property_id)

    @get(
        "/{property_id:int}/timeline",
        operation_id="getPropertyTimeline",
        summary="The property's timeline",
        guards=[guard(policy.VIEW)],
        dependencies={"page": Provide(provide_property_page)},
    )
    async def timeline(self, tenant: TenantScope, property_id: PropertyId, page: ListQuery) -> list[schemas.TimelineEvent]:
        """Oldest first, in the guide's shape (`event_type`, `event_title`, `event_description`, `created_at`)."""
        return await service.timeline(tenant, property_id, page.offset, page.limit)


class PortfolioController(Controller):
    """Portfolio numbers, portfolios and their reconciliation."""

    path = "/v2/portfolio"
    opt = resource_opt("portfolio")
    tags = ["Portfolio"]

    @get(
        "/stats",
        operation_id="getPortfolioStats",
        summary="The property pipeline in numbers",
        guards=[guard(policy.VIEW)],
        responses=OTHER_TEAM,
    )
    async def get_stats(
        self,
        tenant: TenantScope,
        team_id: Annotated[IdParam, Parameter(description="Your team (tenant) id")] = None,
        date_from: Annotated[date | None, Parameter(description="Properties added on or after this day (ISO 8601)")] = None,
        date_to: Annotated[date | None, Parameter(description="Properties added on or before this day (ISO 8601)")] = None,
    ) -> schemas.PortfolioStats:
        """Counts by stage, average score, total estimated value, conversion rate (closed won / all), average days in
        the pipeline, and this month's new and closed properties (in your team's time zone)."""
        service.check_team(tenant, team_id)
        return await service.stats(tenant, date_from, date_to)

    @post(
        "/reconcile",
        operation_id="reconcilePortfolio",
        summary="Reconcile a portfolio",
        guards=[guard(policy.PORTFOLIO_MANAGE)],
        status_code=200,
        responses=UNKNOWN_PORTFOLIO,
    )
    async def reconcile(self, tenant: TenantScope, data: schemas.ReconcileRequest) -> schemas.Reconciliation:
        """Its expected total against its properties' current estimates: `pass` within `threshold` percent. Kept and emitted."""
        return await service.reconcile(tenant, data.portfolio_id)

    @get("/portfolios", operation_id="listPortfolios", summary="List portfolios", guards=[guard(policy.PORTFOLIO_VIEW)])
    async def list_portfolios(self, tenant: TenantScope) -> list[schemas.Portfolio]:
        """Every portfolio with its expected and current totals and its last reconciliation."""
        return await service.list_portfolios(tenant)

    @post(
        "/portfolios",
        operation_id="createPortfolio",
        summary="Create a portfolio",
        guards=[guard(policy.PORTFOLIO_MANAGE)],
        status_code=201,
    )
    async def create_portfolio(self, tenant: TenantScope, data: schemas.PortfolioCreate) -> ApiResponse[schemas.Portfolio]:
        """Each member's expected value is recorded now: its current estimate, or the one in `expected_values`."""
        portfolio = await service.create_portfolio(tenant, data)
        return ApiResponse(portfolio, status_code=201, headers={"Location": f"/v2/portfolio/portfolios/{portfolio.id}"})

    @get("/portfolios/{portfolio_id:int}", operation_id="getPortfolio", summary="Get a portfolio", guards=[guard(policy.PORTFOLIO_VIEW)])
    async def get_portfolio(self, tenant: TenantScope, portfolio_id: PortfolioId) -> schemas.Portfolio:
        """With its totals and last reconciliation."""
        return await service.get_portfolio(tenant, portfolio_id)

    @patch(
        "/portfolios/{portfolio_id:int}",
        operation_id="updatePortfolio",
        summary="Update a portfolio",
        guards=[guard(policy.PORTFOLIO_MANAGE)],
    )
    async def update_portfolio(self, tenant: TenantScope, portfolio_id: PortfolioId, data: schemas.PortfolioUpdate) -> schemas.Portfolio:
        """Rename, set the expected total or threshold, add or remove properties."""
        return await service.update_portfolio(tenant, portfolio_id, data)

    @delete(
        "/portfolios/{portfolio_id:int}",
        operation_id="deletePortfolio",
        summary="Delete a portfolio",
        guards=[guard(policy.PORTFOLIO_MANAGE)],
    )
    async def delete_portfolio(self, tenant: TenantScope, portfolio_id: PortfolioId) -> None:
        """Its properties stay."""
        await service.delete_portfolio(tenant, portfolio_id)


class SellerAnalysisController(Controller):
    """Comparables-based pricing."""

    path = "/v2/seller-analysis"
    opt = resource_opt("properties")
    tags = ["Properties"]

    @post("/", operation_id="analyzeSeller", summary="Price a property from comparables", guards=[guard(policy.ANALYZE)], status_code=200)
    async def analyze(self, tenant: TenantScope, data: schemas.SellerAnalysisRequest) -> schemas.SellerAnalysis:
        """The EnterpriseHub guide's seller-analyze body; low/mid/high from your own comparable properties, with the
        comparables used and the method. Emits `seller.analyzed`."""
        return await matching.seller_analysis(tenant, data)
