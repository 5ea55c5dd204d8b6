"""Request and response types of properties, portfolios, buyer matching and seller analysis
(Real Estate OS guide: Properties, Portfolio; EnterpriseHub guide: Buyer Matching, Seller Analysis)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import MONEY_PATTERN, Amount, Email, Phone, RecordId, RequestBody, ResponseBody, VisibleName
from app.leads.schemas import Currency, PropertyType

Stage = Literal["new", "outreach", "qualified", "negotiation", "under_contract", "closed_won", "closed_lost"]
STAGES: tuple[str, ...] = Stage.__args__  # type: ignore[attr-defined]
CLOSED_STAGES = frozenset({"closed_won", "closed_lost"})
STAGE_LABELS = {
    "new": "New",
    "outreach": "Outreach",
    "qualified": "Qualified",
    "negotiation": "Negotiation",
    "under_contract": "Under contract",
    "closed_won": "Closed won",
    "closed_lost": "Closed lost",
}
ListingStatus = Literal["off_market", "for_sale", "for_rent", "under_offer", "sold", "rented"]
LISTING_STATUSES: tuple[str, ...] = ListingStatus.__args__  # type: ignore[attr-defined]
AVAILABLE = ("for_sale", "for_rent", "off_market")  # what a buyer can still be offered
RENTAL_STATUSES = ("for_rent", "rented")  # a rental's `price` is its yearly rent: it compares with rentals only
Condition = Literal["excellent", "good", "fair", "poor"]

Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="Amount in `currency` (a JSON number or a decimal string, at most 99999999999999.99)",
        extra_json_schema={"pattern": MONEY_PATTERN},
    ),
]
Score = Annotated[float, msgspec.Meta(ge=0, le=1, description="0.0 to 1.0")]
Text = Annotated[str, msgspec.Meta(max_length=200)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern="[^\\s]")]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern="^[^,\\s][^,]*$")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=30)]
Bedrooms = Annotated[int, msgspec.Meta(ge=0, le=50)]
Bathrooms = Annotated[float, msgspec.Meta(ge=0, le=50, multiple_of=0.5, description="Halves allowed: 2.5")]
SquareFeet = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Threshold = Annotated[float, msgspec.Meta(ge=0, le=100, description="Tolerated discrepancy in percent (0.5: ±0.5 %)")]
Id = RecordId
Days = Annotated[int, msgspec.Meta(ge=0, le=36_500)]


class MarketData(ResponseBody):
    """How the property sits in its market, from the tenant's own comparable properties (docs/properties.md)."""

    days_on_market: int | None
    price_per_sqft: Amount | None
    comparable_avg_price: Amount | None
    comparables_count: int


class Property(ResponseBody):
    """A property as the API returns it."""

    id: int
    team_id: int  # the tenant (the Real Estate OS guide's team)
    address: str
    city: str
    state: str
    zip_code: str
    neighborhood: str
    owner_name: str
    owner_phone: str | None
    owner_email: str | None
    assigned_user_id: int | None
    assigned_user_name: str | None
    bird_dog_score: float | None
    estimated_value: Amount | None
    price: Amount | None
    currency: str
    bedrooms: int | None
    bathrooms: Amount | None
    square_feet: int | None
    property_type: str | None
    listing_status: str
    listed_on: date | None
    days_on_market: int | None
    latitude: Amount | None
    longitude: Amount | None
    current_stage: str
    stage_changed_at: datetime
    closed_at: datetime | None
    tags: list[str]
    notes: str
    last_contact_at: datetime | None
    has_memo: bool
    has_reply: bool
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    url: str
    market_data: MarketData | None = None  # on a single property's answer


class _PropertyFields(RequestBody):
    """Fields a client may set on a property."""

    city: Text | UnsetType = UNSET
    state: Text | UnsetType = UNSET
    zip_code: Annotated[str, msgspec.Meta(max_length=20)] | UnsetType = UNSET
    neighborhood: Text | UnsetType = UNSET
    owner_name: Text | UnsetType = UNSET
    owner_phone: Phone | UnsetType | None = UNSET
    owner_email: Email | UnsetType | None = UNSET
    assigned_user_id: Id | UnsetType | None = UNSET
    bird_dog_score: Score | UnsetType | None = UNSET
    estimated_value: Money | UnsetType | None = UNSET
    price: Money | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    bedrooms: Bedrooms | UnsetType | None = UNSET
    bathrooms: Bathrooms | UnsetType | None = UNSET
    square_feet: SquareFeet | UnsetType | None = UNSET
    property_type: PropertyType | UnsetType | None = UNSET
    listing_status: ListingStatus | UnsetType = UNSET
    listed_on: date | UnsetType | None = UNSET
    days_on_market: Days | UnsetType | None = UNSET  # sets `listed_on` that many days ago
    latitude: Latitude | UnsetType | None = UNSET
    longitude: Longitude | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET
    notes: Annotated[str, msgspec.Meta(max_length=10_000)] | UnsetType = UNSET
    team_id: Id | UnsetType = UNSET  # must be the caller's own team (tenant)


class PropertyCreate(_PropertyFields, kw_only=True):
    """A new property; it starts in `current_stage` (default new)."""

    address: Address
    current_stage: Stage = "new"


class PropertyUpdate(_PropertyFields, kw_only=True):
    """A partial change; fields left out are unchanged. A new `current_stage` or `assigned_user_id` emits `property_updated`."""

    address: Address | UnsetType = UNSET
    current_stage: Stage | UnsetType = UNSET


class BulkChange(RequestBody):
    """The same change to several properties: a stage, an assignee (null: nobody), or both."""

    one_of_required = ("current_stage", "assigned_user_id")

    property_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=500)]
    current_stage: Stage | UnsetType = UNSET
    assigned_user_id: Id | UnsetType | None = UNSET


class BulkResult(ResponseBody):
    """What a bulk change did: the ids changed, and those refused with why."""

    updated: list[int]
    refused: dict[str, str]


class TimelineEvent(ResponseBody):
    """An entry of a property's timeline, in the Real Estate OS guide's shape."""

    id: int
    property_id: int
    event_type: str
    event_title: str
    event_description: str
    actor: str
    created_at: datetime


# --------------------------------------------------------------------------- portfolio


class StageCounts(ResponseBody):
    """Properties per stage."""

    new: int = 0
    outreach: int = 0
    qualified: int = 0
    negotiation: int = 0
    under_contract: int = 0
    closed_won: int = 0
    closed_lost: int = 0


class ThisMonth(ResponseBody):
    """This calendar month, in the tenant's time zone."""

    new_properties: int
    closed_won: int
    closed_lost: int


class PortfolioStats(ResponseBody):
    """The pipeline of properties in numbers (docs/properties.md says how each is computed)."""

    total_properties: int
    by_stage: StageCounts
    avg_bird_dog_score: float | None
    total_estimated_value: Amount
    conversion_rate: float
    avg_days_in_pipeline: float | None
    this_month: ThisMonth
    date_from: date | None = None
    date_to: date | None = None


class MemberValue(RequestBody):
    """The value recorded for a member of a portfolio (instead of its current estimate)."""

    property_id: Id
    expected_value: Money


class PortfolioCreate(RequestBody):
    """A named set of properties. Each member's expected value is its current estimate unless `expected_values`
    gives one (`[{"property_id", "expected_value"}]`; those properties join too); `expected_value` sets the
    portfolio's expected total instead of their sum."""

    name: VisibleName
    property_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)] = []
    expected_values: Annotated[list[MemberValue], msgspec.Meta(max_length=10_000)] = []
    expected_value: Money | None = None
    threshold: Threshold = 0.5


class PortfolioUpdate(RequestBody):
    """Rename, change the expected total or threshold, add or remove members."""

    name: VisibleName | UnsetType = UNSET
    expected_value: Money | UnsetType | None = UNSET
    threshold: Threshold | UnsetType = UNSET
    add_property_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)] = []
    remove_property_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)] = []


class Portfolio(ResponseBody):
    """A portfolio with its expected and current totals."""

    id: int
    name: str
    properties_count: int
    expected_value: Amount | None
    total_value_expected: Amount
    total_value_actual: Amount
    threshold: Amount
    created_at: datetime
    updated_at: datetime
    last_reconciliation: Reconciliation | None = None


class ReconcileRequest(RequestBody):
    """Which portfolio to reconcile."""

    portfolio_id: Id


class Discrepancy(ResponseBody):
    """A member whose current estimate differs from its recorded value."""

    property_id: int
    address: str
    expected: Amount
    actual: Amount
    difference: Amount


class Reconciliation(ResponseBody):
    """A reconciliation in the guide's shape: `pass` when the discrepancy is within `threshold` percent."""

    portfolio_id: int
    validation_status: Literal["pass", "fail"]
    discrepancy_percentage: float
    threshold: float
    properties_checked: int
    total_value_expected: Amount
    total_value_actual: Amount
    discrepancy_amount: Amount
    checked_at: datetime
    largest_discrepancies: list[Discrepancy] = []


# --------------------------------------------------------------------------- matching and analysis


class MatchRequest(RequestBody):
    """A buyer's wishes (EnterpriseHub guide), or `lead_id` to take them from a lead (the fields sent win)."""

    buyer_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    lead_id: Id | None = None
    budget_min: Money | None = None
    budget_max: Money | None = None
    bedrooms: Annotated[list[Bedrooms], msgspec.Meta(max_length=20)] | None = None
    neighborhoods: Annotated[list[Text], msgspec.Meta(max_length=50)] | None = None
    property_type: PropertyType | None = None
    transaction_type: Literal["BUY", "RENT"] | None = None  # BUY (default): for sale or off market; RENT: for rent
    sort_by: Literal["relevance", "price_asc", "price_desc", "newest"] = "relevance"
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class Match(ResponseBody):
    """A ranked property with how well it fits and why."""

    rank: int
    property_id: int
    address: str
    neighborhood: str
    price: Amount | None
    currency: str
    bedrooms: int | None
    bathrooms: Amount | None
    square_feet: int | None
    match_score: float
    explanation: str
    fits: list[str]
    misses: list[str]


class MatchResult(ResponseBody):
    """The matches of one request (`match_session_id` names it in the `buyer.matched` event)."""

    match_session_id: str
    buyer_id: str | None
    lead_id: int | None
    total_matches: int
    matches: list[Match]
    next_actions: list[str]


class SellerAnalysisRequest(RequestBody):
    """A property to price (EnterpriseHub guide's seller-analyze body); `neighborhood`/`city` narrow the comparables,
    `property_id` takes the facts from a stored property."""

    one_of_required = ("square_feet", "property_id")

    seller_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    property_id: Id | None = None
    property_address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    neighborhood: Text | None = None
    city: Text | None = None
    bedrooms: Bedrooms | None = None
    bathrooms: Bathrooms | None = None
    square_feet: SquareFeet | None = None
    condition: Condition = "good"
    list_price: Money | None = None


class Comparable(ResponseBody):
    """A property the recommendation was computed from, and how close it is (1 = the same)."""

    property_id: int
    address: str
    price: Amount
    bedrooms: int | None
    square_feet: int
    price_per_sqft: Amount
    similarity: float


class PriceRecommendation(ResponseBody):
    """Low/mid/high from the comparables' price per square foot (25th, 50th, 75th percentile) x size x condition."""

    low: Amount
    mid: Amount
    high: Amount
    confidence: float


class Cma(ResponseBody):
    """The comparative market analysis."""

    comparable_properties: list[Comparable]
    price_recommendation: PriceRecommendation | None


class SellerAnalysis(ResponseBody):
    """A seller analysis in the guide's shape, with the arithmetic behind it in `method`."""

    analysis_id: str
    seller_id: str | None
    cma: Cma
    market_conditions: str
    seller_temperature: Literal["hot", "warm", "cold"]
    pcs_score: int
    recommendations: list[str]
    method: str
