"""Buyer matching and seller analysis: explainable arithmetic over the tenant's own properties (docs/properties.md).

Match score (0-1) = 0.45 x price fit + 0.30 x bedrooms fit + 0.25 x neighbourhood fit, each part 0-1:
- price: 1 inside the budget; outside it falls linearly to 0 at 20 % of the budget's top beyond either end;
- bedrooms: 1 when the count is wanted, 0.5 when one away from a wanted count, else 0;
- neighbourhood: 1 in a wanted one, else 0.
A part the buyer did not ask about counts as 1. Only properties still on offer (for sale, for rent or off
market, not closed) with a price are candidates; a price fit of 0 is not a match.
"""

from __future__ import annotations

import statistics
import uuid
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import msgspec

from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.schemas import checked_money
from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, emit, jsonable
from app.properties import policy, schemas
from app.properties.service import _row

WEIGHTS = {"price": Decimal("0.45"), "bedrooms": Decimal("0.30"), "neighborhood": Decimal("0.25")}
PRICE_SLACK = Decimal("0.20")  # how far outside the budget (as a share of its top) a price still fits a little
CONDITION_FACTORS = {"excellent": Decimal("1.05"), "good": Decimal("1.00"), "fair": Decimal("0.95"), "poor": Decimal("0.88")}
MIN_COMPARABLES = 3


def _money(amount: Decimal) -> str:
    return f"{amount:,.0f}"


async def _lead_wishes(scope: TenantScope, lead_id: int, *, page: bool = False) -> dict[str, Any]:
    """A lead's budget, bedrooms, locations and type as match criteria. A lead that is not the tenant's is a bad
    reference in a match request, and not found for the lead's own page (`page`)."""
    rows = await fetch(
        """SELECT budget_min, budget_max, bedrooms_min, bedrooms_max, preferred_location, preferred_locations, property_type,
                  transaction_type FROM lead WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL""",
        scope.tenant_id,
        lead_id,
    )
    if not rows and page:
        raise ResourceNotFound("Lead not found", details={"lead_id": lead_id})
    if not rows:
        raise ValidationFailed(
            "Invalid lead_id: one of your leads",
            details={"field": "lead_id", "provided": lead_id, "expected": "the id of one of your leads", "reason": "unknown_reference"},
        )
    lead = rows[0]
    bedrooms = None
    if lead["bedrooms_min"] is not None or lead["bedrooms_max"] is not None:
        low = lead["bedrooms_min"] if lead["bedrooms_min"] is not None else lead["bedrooms_max"]
        high = lead["bedrooms_max"] if lead["bedrooms_max"] is not None else low
        bedrooms = list(range(int(low), int(high) + 1))[:20]
    places = [p for p in [*(lead["preferred_locations"] or []), lead["preferred_location"]] if p]
    return {
        "budget_min": lead["budget_min"],
        "budget_max": lead["budget_max"],
        "bedrooms": bedrooms,
        "neighborhoods": list(dict.fromkeys(places)) or None,
        "property_type": lead["property_type"],
        "transaction_type": "RENT" if lead["transaction_type"] == "RENT" else "BUY",
    }


def _wishes(request: schemas.MatchRequest, from_lead: dict[str, Any]) -> dict[str, Any]:
    wishes = dict(from_lead)
    for name in ("budget_min", "budget_max", "bedrooms", "neighborhoods", "property_type", "transaction_type"):
        value = getattr(request, name)
        if value is not None:
            wishes[name] = value
    for name in ("budget_min", "budget_max"):
        checked_money(name, wishes.get(name))
    low, high = wishes.get("budget_min"), wishes.get("budget_max")
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            "Invalid budget: budget_min is above budget_max",
            # `reason`: each value is valid alone; only the pair breaks the rule (no JSON Schema compares two fields).
            details={"field": "budget_min", "provided": str(low), "expected": f"at most budget_max ({high})", "reason": "range"},
            human="The lowest budget is above the highest",
        )
    return wishes


_SORTS = {
    "relevance": "score DESC, p.price, p.id",
    "price_asc": "p.price, score DESC, p.id",
    "price_desc": "p.price DESC, score DESC, p.id",
    "newest": "p.created_at DESC, p.id DESC",
}
# Candidates as the property_matchable index has them (its predicate, written literally so the planner uses it).
_AVAILABLE = ", ".join(f"'{status}'" for status in schemas.AVAILABLE)
_CLOSED = ", ".join(f"'{stage}'" for stage in sorted(schemas.CLOSED_STAGES))
# Fewer candidates than this are simply all scored.
SCORE_ALL_BELOW = 2_000


def _cents(amount: Decimal, rounding: str) -> int:
    return int((amount * 100).to_integral_value(rounding=rounding))


async def find_matches(scope: TenantScope, wishes: dict[str, Any], sort_by: str, limit: int) -> tuple[int, list[schemas.Match]]:
    """(how many properties match, the best `limit` of them with their explanations). Inside a tenant transaction.

    Candidates come from the property_matchable index by `price_cents` (leakproof, so usable under row-level
    security; exact, as prices have two decimals), index-only. They are counted without scoring those whose price
    alone keeps them matches; the best by relevance are, when there are `limit` of them, the ones scoring 1.000 (in the
    budget, or within its rounding, with the wanted bedrooms and places) by price; otherwise every candidate is
    scored. Either way the answer is the one the formula gives when every candidate is scored and sorted."""
    low, high = wishes.get("budget_min"), wishes.get("budget_max")
    top = high if high is not None else low
    slack = top * PRICE_SLACK if top else Decimal(0)
    args: list[Any] = [scope.tenant_id]
    clauses = [
        "p.tenant_id = $1",
        f"p.listing_status IN ({_AVAILABLE})",
        # A buyer is offered what is for sale (or off market), a tenant what is for rent: a rental's price is its rent.
        "p.listing_status = 'for_rent'" if wishes.get("transaction_type") == "RENT" else "p.listing_status IN ('for_sale', 'off_market')",
        f"p.current_stage NOT IN ({_CLOSED})",
        "p.price IS NOT NULL",
    ]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # The price strictly inside (low - slack, high + slack), compared in whole cents (exact: prices have two decimals).
    if low is not None:
        clauses.append(f"p.price_cents > {arg(_cents(low - slack, ROUND_FLOOR))}")
    if high is not None:
        clauses.append(f"p.price_cents < {arg(_cents(high + slack, ROUND_CEILING))}")
    if wishes.get("property_type"):
        clauses.append(f"(p.property_type = {arg(wishes['property_type'])} OR p.property_type IS NULL)")
    # The parts of the score, in SQL.
    lo = f"{arg(low)}::numeric"
    hi = f"{arg(high)}::numeric"
    sl = f"{arg(slack if slack else Decimal(1))}::numeric"
    price_fit = f"""CASE WHEN {lo} IS NOT NULL AND p.price < {lo} THEN greatest(0, 1 - ({lo} - p.price) / {sl})
                         WHEN {hi} IS NOT NULL AND p.price > {hi} THEN greatest(0, 1 - (p.price - {hi}) / {sl})
                         ELSE 1 END"""
    bedrooms = wishes.get("bedrooms")
    bd = f"{arg(bedrooms or [])}::int[]"
    beds_fit = f"""CASE WHEN cardinality({bd}) = 0 THEN 1 WHEN p.bedrooms = ANY({bd}) THEN 1
                        WHEN p.bedrooms + 1 = ANY({bd}) OR p.bedrooms - 1 = ANY({bd}) THEN 0.5 ELSE 0 END"""
    hoods = [h.strip().lower() for h in (wishes.get("neighborhoods") or []) if h.strip()]
    nb = f"{arg(hoods)}::text[]"
    in_place = f"(lower(p.neighborhood) = ANY({nb}) OR lower(p.city) = ANY({nb}))"
    hood_fit = f"CASE WHEN cardinality({nb}) = 0 THEN 1 WHEN {in_place} THEN 1 ELSE 0 END"
    weighted = f"{WEIGHTS['price']} * ({price_fit}) + {WEIGHTS['bedrooms']} * ({beds_fit}) + {WEIGHTS['neighborhood']} * ({hood_fit})"
    score = f"round(({weighted})::numeric, 3)"
    where = " AND ".join(clauses)
    # A candidate's price fit is above 0; its score rounds to 0 only when nothing else fits and the price is within
    # 1/900 of the slack from the edge of the range. Only candidates that near the edge (1/450, to be sure) are scored.
    base = len(args)  # each statement below adds its own arguments after these
    safe, edges = ["true"], ["false"]
    if slack and low is not None:
        edge = arg(_cents(low - slack + slack / 450, ROUND_FLOOR))
        safe.append(f"p.price_cents > {edge}")
        edges.append(f"p.price_cents <= {edge}")
    if slack and high is not None:
        edge = arg(_cents(high + slack - slack / 450, ROUND_CEILING))
        safe.append(f"p.price_cents < {edge}")
        edges.append(f"p.price_cents >= {edge}")
    # Two index ranges counted (no expression per candidate), the edges scored.
    counted = await fetch(
        f"""SELECT (SELECT count(*) FROM property p WHERE {where} AND {" AND ".join(safe)})
                 + (SELECT count(*) FROM property p WHERE {where} AND ({" OR ".join(edges)}) AND ({price_fit}) > 0 AND {score} > 0) AS n""",
        *args,
    )
    del args[base:]
    total = int(counted[0]["n"])
    if not total:
        return 0, []
    ids: list[int] = []
    if sort_by == "relevance" and total >= SCORE_ALL_BELOW:
        # (every argument of the score is named in its select list, typed, even where the score is not computed)
        ids = await _perfect(
            where,
            args,
            arg,
            score,
            f"{lo}, {hi}, {sl}, {bd}, {nb}",
            low,
            high,
            slack,
            bd if bedrooms else None,
            in_place if hoods else None,
            limit,
        )
        del args[base:]
    if len(ids) < limit:
        ranked = await fetch(
            f"""SELECT p.id FROM (SELECT p.id, p.price, p.created_at, {score} AS score, ({price_fit}) AS price_fit
                                    FROM property p WHERE {where}) p
                 WHERE p.price_fit > 0 AND p.score > 0 ORDER BY {_SORTS[sort_by]} LIMIT {limit}""",
            *args,
        )
        ids = [int(r["id"]) for r in ranked]
    rows = await fetch(
        f"""SELECT p.id, p.address, p.city, p.neighborhood, p.price, p.currency, p.bedrooms, p.bathrooms, p.square_feet, {score} AS score
              FROM property p WHERE {where} AND p.id = ANY({arg(ids)}::bigint[])""",
        *args,
    )
    by_id = {int(r["id"]): r for r in rows}
    return total, [_explain(rank, by_id[i], wishes, hoods) for rank, i in enumerate(ids, start=1)]


async def _perfect(
    where: str,
    args: list[Any],
    arg: Any,
    score: str,
    typed: str,
    low: Decimal | None,
    high: Decimal | None,
    slack: Decimal,
    bedrooms: str | None,
    in_place: str | None,
    limit: int,
) -> list[int]:
    """The best `limit` matches by relevance when that many score 1.000 (the most there is), cheapest first; fewer
    ids otherwise. Scoring 1.000 takes the wanted bedrooms and places and a price in the budget or, by rounding,
    within 1/900 of the slack outside it: that edge (within 1/450, to be sure) is scored, the budget is not."""
    wanted = [where]
    if bedrooms:
        wanted.append(f"p.bedrooms = ANY({bedrooms})")
    if in_place:
        wanted.append(in_place)
    inside = list(wanted)
    edges = []
    if low is not None:
        inside.append(f"p.price_cents >= {arg(_cents(low, ROUND_CEILING))}")
        edges.append(
            f"(p.price_cents < {arg(_cents(low, ROUND_CEILING))} AND p.price_cents >= {arg(_cents(low - slack / 450, ROUND_FLOOR))})"
        )
    if high is not None:
        inside.append(f"p.price_cents <= {arg(_cents(high, ROUND_FLOOR))}")
        edges.append(
            f"(p.price_cents > {arg(_cents(high, ROUND_FLOOR))} AND p.price_cents <= {arg(_cents(high + slack / 450, ROUND_CEILING))})"
        )
    near = (
        f" UNION ALL (SELECT p.id, p.price_cents FROM property p WHERE {' AND '.join(wanted)} AND ({' OR '.join(edges)}) AND {score} = 1)"
        if edges and slack
        else ""
    )
    rows = await fetch(
        f"""SELECT id, {typed} FROM ((SELECT p.id, p.price_cents FROM property p WHERE {" AND ".join(inside)}
                               ORDER BY p.price_cents, p.id LIMIT {limit}) {near}) best ORDER BY price_cents, id LIMIT {limit}""",
        *args,
    )
    return [int(r["id"]) for r in rows]


def _explain(rank: int, row: dict[str, Any], wishes: dict[str, Any], hoods: list[str]) -> schemas.Match:
    fits: list[str] = []
    misses: list[str] = []
    price: Decimal = row["price"]
    low, high = wishes.get("budget_min"), wishes.get("budget_max")
    money = f"{row['currency']} {_money(price)}"
    if low is not None and price < low:
        misses.append(f"{money} is {_money(low - price)} under the budget")
    elif high is not None and price > high:
        misses.append(f"{money} is {_money(price - high)} over the budget")
    elif low is not None or high is not None:
        fits.append(f"{money} is within the budget")
    wanted = wishes.get("bedrooms") or []
    if wanted:
        beds = row["bedrooms"]
        label = f"{beds} bedrooms" if beds is not None else "bedrooms unknown"
        if beds in wanted:
            fits.append(label)
        elif beds is not None and (beds + 1 in wanted or beds - 1 in wanted):
            misses.append(f"{label} (one off the {'/'.join(map(str, wanted))} wanted)")
        else:
            misses.append(f"{label}, not {'/'.join(map(str, wanted))}")
    if hoods:
        place = row["neighborhood"] or row["city"] or "unknown area"
        if (row["neighborhood"] or "").lower() in hoods or (row["city"] or "").lower() in hoods:
            fits.append(f"in {place}")
        else:
            misses.append(f"in {place}, not a wanted neighbourhood")
    score = float(row["score"])
    lead = "Perfect match" if score >= 0.999 else ("Strong match" if score >= 0.75 else ("Partial match" if score >= 0.5 else "Weak match"))
    explanation = f"{lead}: " + "; ".join(fits + misses) if fits or misses else f"{lead}: nothing was asked"
    return schemas.Match(
        rank=rank,
        property_id=int(row["id"]),
        address=", ".join(x for x in (row["address"], row["city"]) if x),
        neighborhood=str(row["neighborhood"]),
        price=price,
        currency=str(row["currency"]),
        bedrooms=row["bedrooms"],
        bathrooms=row["bathrooms"],
        square_feet=row["square_feet"],
        match_score=score,
        explanation=explanation,
        fits=fits,
        misses=misses,
    )


def _next_actions(matches: list[schemas.Match]) -> list[str]:
    if not matches:
        return ["Widen the budget or the neighbourhoods", "Ask the buyer what matters most"]
    actions = [f"Schedule a viewing of {matches[0].address}"]
    if len(matches) > 1:
        actions.append(f"Send the top {min(len(matches), 3)} matches to the buyer")
    actions.append("Request a CMA for the favourite")
    return actions


async def match(scope: TenantScope, request: schemas.MatchRequest) -> schemas.MatchResult:
    """Rank the tenant's available properties for a buyer; emits `buyer.matched`."""
    policy.MATCH.require(scope)
    async with tenant_transaction(scope.tenant_id):
        from_lead = await _lead_wishes(scope, request.lead_id) if request.lead_id is not None else {}
        wishes = _wishes(request, from_lead)
        total, matches = await find_matches(scope, wishes, request.sort_by, request.limit)
        session = f"match-{uuid.uuid4().hex[:12]}"
        result = schemas.MatchResult(
            match_session_id=session,
            buyer_id=request.buyer_id,
            lead_id=request.lead_id,
            total_matches=total,
            matches=matches,
            next_actions=_next_actions(matches),
        )
        await emit(
            scope,
            Subject("lead", request.lead_id) if request.lead_id is not None else Subject("property", 0),
            "matched",
            events=[
                (
                    "buyer.matched",
                    {
                        "match_session_id": session,
                        "buyer_id": request.buyer_id,
                        "lead_id": request.lead_id,
                        "team_id": scope.tenant_id,
                        "total_matches": total,
                        "property_ids": [m.property_id for m in matches[:10]],
                        "criteria": jsonable(wishes),
                    },
                )
            ],
        )
        return result


async def lead_matches(scope: TenantScope, lead_id: int, limit: int = 5) -> tuple[dict[str, Any], int, list[schemas.Match]]:
    """A lead's best matches from its own budget, bedrooms and locations (for its page; no event)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        wishes = await _lead_wishes(scope, lead_id, page=True)
        if wishes["budget_min"] is None and wishes["budget_max"] is None:
            return wishes, 0, []
        total, matches = await find_matches(scope, wishes, "relevance", limit)
        return wishes, total, matches


# --------------------------------------------------------------------------- seller analysis


def _quantile(values: list[Decimal], q: float) -> Decimal:
    """The q-quantile by linear interpolation (statistics' "inclusive" method)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=4, method="inclusive")
    return {0.25: cuts[0], 0.5: cuts[1], 0.75: cuts[2]}[q]


async def seller_analysis(scope: TenantScope, request: schemas.SellerAnalysisRequest) -> schemas.SellerAnalysis:
    """A comparables-based price recommendation (docs/properties.md): comparables are the tenant's properties with a
    price and a size in the same neighbourhood (or city), within one bedroom and 25 % of the size; their price per
    square foot's quartiles x the size x a condition factor give low/mid/high. Confidence grows with how many there
    are (full at 10) and how alike they are. Emits `seller.analyzed`."""
    policy.ANALYZE.require(scope)
    checked_money("list_price", request.list_price)
    async with tenant_transaction(scope.tenant_id):
        facts: dict[str, Any] = {
            "neighborhood": request.neighborhood,
            "city": request.city,
            "bedrooms": request.bedrooms,
            "square_feet": request.square_feet,
            "address": request.property_address,
            "list_price": request.list_price,
            "exclude": None,
        }
        if request.property_id is not None:
            try:
                row = await _row(scope, request.property_id)
            except ResourceNotFound:
                raise ValidationFailed(
                    "Invalid property_id: one of your properties",
                    details={
                        "field": "property_id",
                        "provided": request.property_id,
                        "expected": "the id of one of your properties",
                        "reason": "unknown_reference",
                    },
                    human="Choose one of your properties",
                ) from None
            facts["exclude"] = row["id"]
            for name in ("neighborhood", "city", "bedrooms", "square_feet"):
                if facts[name] is None and row[name]:
                    facts[name] = row[name]
            facts["address"] = facts["address"] or row["address"]
            if facts["list_price"] is None:
                facts["list_price"] = row["price"] or row["estimated_value"]
        if not facts["square_feet"]:
            raise ValidationFailed(
                "Invalid square_feet: the size is needed to compare prices",
                # `reason`: the request may name a stored property instead, whose size is a fact of the data.
                details={
                    "field": "square_feet",
                    "provided": None,
                    "expected": "the property's size in square feet",
                    "reason": "incomplete_record",
                },
                human="Enter the size in square feet",
            )
        size = Decimal(facts["square_feet"])
        args: list[Any] = [scope.tenant_id, size]
        # Sales only: a seller is priced against what sells (a rental's price is its rent).
        clauses = [
            "tenant_id = $1",
            "price IS NOT NULL",
            "listing_status NOT IN ('for_rent', 'rented')",
            "square_feet BETWEEN $2 * 0.75 AND $2 * 1.25",
        ]
        if facts["exclude"] is not None:
            args.append(facts["exclude"])
            clauses.append(f"id <> ${len(args)}")
        if facts["neighborhood"]:
            args.append(facts["neighborhood"])
            clauses.append(f"lower(neighborhood) = lower(${len(args)})")
        elif facts["city"]:
            args.append(facts["city"])
            clauses.append(f"lower(city) = lower(${len(args)})")
        if facts["bedrooms"] is not None:
            args.append(facts["bedrooms"])
            clauses.append(f"bedrooms BETWEEN ${len(args)} - 1 AND ${len(args)} + 1")
        rows = await fetch(
            f"""SELECT id, address, price, bedrooms, square_feet,
                       1 - abs(square_feet - $2) / $2 AS similarity FROM property WHERE {" AND ".join(clauses)}
                 ORDER BY abs(square_feet - $2), id LIMIT 20""",
            *args,
        )
        comparables = [
            schemas.Comparable(
                property_id=int(r["id"]),
                address=str(r["address"]),
                price=r["price"],
                bedrooms=r["bedrooms"],
                square_feet=int(r["square_feet"]),
                price_per_sqft=(r["price"] / r["square_feet"]).quantize(Decimal("0.01"), ROUND_HALF_UP),
                similarity=round(
                    float(r["similarity"]) - (0.1 if facts["bedrooms"] is not None and r["bedrooms"] != facts["bedrooms"] else 0), 3
                ),
            )
            for r in rows
        ]
        factor = CONDITION_FACTORS[request.condition]
        recommendation = None
        if comparables:
            per_sqft = sorted(c.price_per_sqft for c in comparables)

            def price(q: float) -> Decimal:
                return (_quantile(per_sqft, q) * size * factor).quantize(Decimal("1"), ROUND_HALF_UP)

            closeness = sum(c.similarity for c in comparables) / len(comparables)
            confidence = round(min(1.0, len(comparables) / 10) * max(0.0, closeness), 2)
            recommendation = schemas.PriceRecommendation(low=price(0.25), mid=price(0.5), high=price(0.75), confidence=confidence)
        days = await fetch(
            f"""SELECT avg(coalesce(closed_at::date, current_date) - listed_on)::float8 AS days FROM property
                 WHERE {" AND ".join(clauses)} AND listed_on IS NOT NULL""",
            *args,
        )
        avg_days = days[0]["days"]
        result = _verdict(request, facts["list_price"], recommendation, comparables, avg_days)
        await emit(
            scope,
            Subject("property", request.property_id) if request.property_id is not None else Subject("property", 0),
            "seller_analyzed",
            f"Seller analysis: {_money(recommendation.mid)} recommended" if recommendation and request.property_id is not None else None,
            events=[
                (
                    "seller.analyzed",
                    {**jsonable(msgspec.to_builtins(result)), "team_id": scope.tenant_id, "property_id": request.property_id},
                )
            ],
        )
        return result


def _verdict(
    request: schemas.SellerAnalysisRequest,
    list_price: Decimal | None,
    recommendation: schemas.PriceRecommendation | None,
    comparables: list[schemas.Comparable],
    avg_days: float | None,
) -> schemas.SellerAnalysis:
    if avg_days is None:
        conditions = "Not enough listings to read the market"
    elif avg_days < 30:
        conditions = f"Strong seller market: comparables sell in {avg_days:.0f} days on average"
    elif avg_days > 90:
        conditions = f"Buyer market: comparables take {avg_days:.0f} days on average"
    else:
        conditions = f"Balanced market: comparables take {avg_days:.0f} days on average"
    recommendations: list[str] = []
    temperature = "warm"
    pcs = 50
    if recommendation is None or len(comparables) < MIN_COMPARABLES:
        recommendations.append(
            f"Only {len(comparables)} comparable{'s' if len(comparables) != 1 else ''} found: add recent sales nearby before pricing"
        )
    if recommendation is not None:
        recommendations.insert(0, f"Price competitively at {_money(recommendation.mid)}")
        if list_price:
            gap = (Decimal(list_price) - recommendation.mid) / recommendation.mid
            # Price competitiveness: 100 at the recommended price, 2 points off for each percent away from it.
            pcs = max(0, min(100, int(100 - abs(gap) * 200)))
            if gap > Decimal("0.10"):
                temperature = "cold"
                recommendations.append(f"The asking price is {gap:.0%} above the comparables: expect a long listing or a cut")
            elif gap < Decimal("-0.05"):
                temperature = "hot"
                recommendations.append(f"The asking price is {-gap:.0%} under the comparables: expect quick offers")
            else:
                recommendations.append("The asking price is in line with the comparables")
    if request.condition in ("fair", "poor"):
        recommendations.append(
            f"Repairs before listing would lift the price (condition lowers it by {(1 - CONDITION_FACTORS[request.condition]):.0%})"
        )
    else:
        recommendations.append("Professional photography recommended")
    return schemas.SellerAnalysis(
        analysis_id=f"anal-{uuid.uuid4().hex[:12]}",
        seller_id=request.seller_id,
        cma=schemas.Cma(comparable_properties=comparables, price_recommendation=recommendation),
        market_conditions=conditions,
        seller_temperature=temperature,  # type: ignore[arg-type]
        pcs_score=pcs,
        recommendations=recommendations,
        method=(
            "Comparables: same neighbourhood (or city), within one bedroom and 25% of the size. Low/mid/high = the "
            "25th/50th/75th percentile of their price per square foot x the size x the condition factor "
            f"({request.condition}: {CONDITION_FACTORS[request.condition]}). Confidence = min(1, comparables / 10) x "
            "their average similarity of size."
        ),
    )


async def buyers_for(scope: TenantScope, property_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """The open leads this property suits best, by the same score as a match (the lead's budget, bedroom range and
    locations against the property), with the parts that fit named. For a property's page."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        prop = await _row(scope, property_id)
        price = prop["price"] if prop["price"] is not None else prop["estimated_value"]
        if price is None:
            return []
        rows = await fetch(
            f"""WITH fit AS (
                  SELECT l.id, l.name, l.status, l.hotness_score, l.budget_min, l.budget_max, l.budget_currency, l.bedrooms_min,
                         l.bedrooms_max,
                         CASE WHEN l.budget_min IS NOT NULL AND $2 < l.budget_min
                                THEN greatest(0, 1 - (l.budget_min - $2) / ({PRICE_SLACK} * coalesce(l.budget_max, l.budget_min)))
                              WHEN l.budget_max IS NOT NULL AND $2 > l.budget_max
                                THEN greatest(0, 1 - ($2 - l.budget_max) / ({PRICE_SLACK} * l.budget_max))
                              ELSE 1 END AS price_fit,
                         CASE WHEN $3::int IS NULL OR (l.bedrooms_min IS NULL AND l.bedrooms_max IS NULL) THEN 1
                              WHEN $3 BETWEEN coalesce(l.bedrooms_min, l.bedrooms_max) AND coalesce(l.bedrooms_max, l.bedrooms_min) THEN 1
                              WHEN $3 BETWEEN coalesce(l.bedrooms_min, l.bedrooms_max) - 1 AND coalesce(l.bedrooms_max, l.bedrooms_min) + 1
                                THEN 0.5
                              ELSE 0 END AS beds_fit,
                         CASE WHEN cardinality(l.preferred_locations) = 0 AND l.preferred_location IS NULL THEN 1
                              WHEN lower($4) = ANY(SELECT lower(x) FROM unnest(l.preferred_locations) x)
                                OR lower($5) = ANY(SELECT lower(x) FROM unnest(l.preferred_locations) x)
                                OR lower(l.preferred_location) IN (lower($4), lower($5)) THEN 1
                              ELSE 0 END AS hood_fit
                    FROM lead l
                   WHERE l.tenant_id = $1 AND l.deleted_at IS NULL AND l.status NOT IN ('WON', 'LOST')
                     -- the property's market: a rental for those who rent, anything else for those who buy
                     AND CASE WHEN $6 THEN l.transaction_type = 'RENT'
                              ELSE l.transaction_type IS DISTINCT FROM 'RENT' AND l.transaction_type IS DISTINCT FROM 'SELL' END
                     AND (l.budget_min IS NOT NULL OR l.budget_max IS NOT NULL)
                     AND coalesce(l.budget_min, 0) < $2 * {1 + PRICE_SLACK} AND coalesce(l.budget_max, $2) > $2 * {1 - PRICE_SLACK})
                SELECT *, round({WEIGHTS["price"]} * price_fit + {WEIGHTS["bedrooms"]} * beds_fit
                                + {WEIGHTS["neighborhood"]} * hood_fit, 3)::float8 AS score
                  FROM fit WHERE price_fit > 0 ORDER BY score DESC, hotness_score DESC, id DESC LIMIT {limit}""",
            scope.tenant_id,
            price,
            prop["bedrooms"],
            prop["neighborhood"] or "",
            prop["city"] or "",
            prop["listing_status"] in schemas.RENTAL_STATUSES,
        )
    buyers = []
    for row in rows:
        fits = []
        if row["price_fit"] == 1:
            fits.append("budget")
        if row["beds_fit"] == 1 and prop["bedrooms"] is not None and row["bedrooms_min"] is not None:
            fits.append("bedrooms")
        if row["hood_fit"] == 1 and (prop["neighborhood"] or prop["city"]):
            fits.append("location")
        buyers.append({**row, "fits": fits})
    return buyers
