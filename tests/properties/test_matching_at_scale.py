"""Matching takes shortcuts so it stays fast at 100,000 properties (bench/properties_bench.py): candidates come
from a leakproof price index, most are counted without being scored, and the best by relevance are, when there
are enough, the ones scoring 1.000 by price. These check the shortcuts answer exactly what scoring and sorting
every candidate answers (the formula of docs/properties.md, as matching first computed it), on the demo's
generated properties and on prices placed at the budget's rounding edges."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from app.db import TenantScope, fetch, tenant_transaction
from app.demo.dataset import NEIGHBOURHOODS, PROPERTIES, property_args
from app.properties import matching
from tests.factories import Tenants


async def reference(scope: TenantScope, wishes: dict[str, Any], sort_by: str, limit: int) -> tuple[int, list[tuple[int, float]]]:
    """Every candidate scored and sorted in one statement (matching's first version)."""
    low, high = wishes.get("budget_min"), wishes.get("budget_max")
    top = high if high is not None else low
    slack = top * matching.PRICE_SLACK if top else Decimal(0)
    market = ["for_rent"] if wishes.get("transaction_type") == "RENT" else ["for_sale", "off_market"]  # a rent is no sale price
    args: list[Any] = [scope.tenant_id, market]
    clauses = [
        "p.tenant_id = $1",
        "p.listing_status = ANY($2::text[])",
        "p.current_stage NOT IN ('closed_won', 'closed_lost')",
        "p.price IS NOT NULL",
    ]
    if low is not None:
        args.append(low - slack)
        clauses.append(f"p.price > ${len(args)}")
    if high is not None:
        args.append(high + slack)
        clauses.append(f"p.price < ${len(args)}")
    if wishes.get("property_type"):
        args.append(wishes["property_type"])
        clauses.append(f"(p.property_type = ${len(args)} OR p.property_type IS NULL)")
    args.append(low)
    lo = f"${len(args)}::numeric"
    args.append(high)
    hi = f"${len(args)}::numeric"
    args.append(slack if slack else Decimal(1))
    sl = f"${len(args)}::numeric"
    price_fit = f"""CASE WHEN {lo} IS NOT NULL AND p.price < {lo} THEN greatest(0, 1 - ({lo} - p.price) / {sl})
                         WHEN {hi} IS NOT NULL AND p.price > {hi} THEN greatest(0, 1 - (p.price - {hi}) / {sl})
                         ELSE 1 END"""
    args.append(wishes.get("bedrooms") or [])
    bd = f"${len(args)}::int[]"
    beds_fit = f"""CASE WHEN cardinality({bd}) = 0 THEN 1 WHEN p.bedrooms = ANY({bd}) THEN 1
                        WHEN p.bedrooms + 1 = ANY({bd}) OR p.bedrooms - 1 = ANY({bd}) THEN 0.5 ELSE 0 END"""
    args.append([h.strip().lower() for h in (wishes.get("neighborhoods") or []) if h.strip()])
    nb = f"${len(args)}::text[]"
    hood_fit = (
        f"CASE WHEN cardinality({nb}) = 0 THEN 1 WHEN lower(p.neighborhood) = ANY({nb}) OR lower(p.city) = ANY({nb}) THEN 1 ELSE 0 END"
    )
    score = f"round((0.45 * ({price_fit}) + 0.30 * ({beds_fit}) + 0.25 * ({hood_fit}))::numeric, 3)"
    rows = await fetch(
        f"""WITH scored AS (SELECT p.*, {score} AS score, ({price_fit}) AS price_fit FROM property p WHERE {" AND ".join(clauses)})
            SELECT p.id, p.score, count(*) OVER () AS total
              FROM scored p WHERE p.price_fit > 0 AND p.score > 0 ORDER BY {matching._SORTS[sort_by]} LIMIT {limit}""",
        *args,
    )
    return (int(rows[0]["total"]) if rows else 0), [(int(r["id"]), float(r["score"])) for r in rows]


def random_wishes(rng: random.Random) -> dict[str, Any]:
    low = rng.choice([None, Decimal(rng.randrange(3, 150) * 100_000)])
    high = rng.choice([None, (low or Decimal(0)) + Decimal(rng.randrange(0, 40) * 250_000 + rng.choice([0, 1, 4_500_000]))])
    hoods = [name for name, *_ in NEIGHBOURHOODS]
    return {
        "budget_min": low,
        "budget_max": high,
        "bedrooms": rng.choice([None, [2], [1, 2], [3, 4, 5], [0]]),
        "neighborhoods": rng.choice([None, [rng.choice(hoods)], [rng.choice(hoods).upper(), rng.choice(hoods)], ["Dubai"], ["Nowhere"]]),
        "property_type": rng.choice([None, None, "APARTMENT", "VILLA", "STUDIO", "LAND"]),
    }


EDGES = """
INSERT INTO property (tenant_id, address, city, neighborhood, price, bedrooms, property_type, listing_status, current_stage)
SELECT $1, 'Edge ' || n || '-' || k, 'Dubai', 'Dubai Marina', price, 2, 'APARTMENT', 'for_sale', 'new'
  FROM unnest($2::numeric[]) WITH ORDINALITY AS e(price, n), generate_series(1, 3) k
"""


@pytest.mark.parametrize("score_all_below", [0, matching.SCORE_ALL_BELOW])
async def test_matching_answers_what_scoring_every_candidate_answers(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch, score_all_below: int
) -> None:
    admin = await tenants.create()
    await db.execute(PROPERTIES, *property_args(admin.tenant_id, 1, 3_000, [admin.user_id], admin.user_id, 971_501_000_000))
    # A budget of 2M-4.5M has a slack of 900,000: 1,000 under or over it scores 0.9995 exactly, which rounds to 1.000
    # (so it comes first, being cheaper than the budget's own), a cent further does not; three of each price.
    prices = ("1998999.99", "1999000", "1999000.01", "1999500", "2000000", "4500000", "4500500", "4501000", "4501000.01")
    edges = [Decimal(p) for p in prices]
    await db.execute(EDGES, admin.tenant_id, edges)
    await db.execute("ANALYZE property")
    monkeypatch.setattr(matching, "SCORE_ALL_BELOW", score_all_below)
    scope = TenantScope(tenant_id=admin.tenant_id, user_id=admin.user_id, role="admin", actor=admin.email)
    rng = random.Random(12)
    edge = {"budget_min": Decimal(2_000_000), "budget_max": Decimal(4_500_000), "bedrooms": [2], "neighborhoods": ["dubai marina"]}
    cases = [(edge, "relevance", 20), (edge, "relevance", 5), ({**edge, "budget_min": None}, "relevance", 30), (edge, "price_asc", 20)]
    cases += [(random_wishes(rng), rng.choice(list(matching._SORTS)), rng.choice([1, 5, 20, 100])) for _ in range(150)]
    shortcuts = 0
    for wishes, sort_by, limit in cases:
        async with tenant_transaction(admin.tenant_id):
            expected = await reference(scope, wishes, sort_by, limit)
            total, matches = await matching.find_matches(scope, wishes, sort_by, limit)
        assert (total, [(m.property_id, m.match_score) for m in matches]) == expected, (wishes, sort_by, limit)
        shortcuts += sort_by == "relevance" and total >= score_all_below and bool(matches) and matches[-1].match_score == 1
    assert shortcuts >= 10 or score_all_below > 0, "the 1.000 shortcut was taken"
    # The edge, spelt out: the prices under the budget that round to 1.000 come first, a cent further does not.
    async with tenant_transaction(admin.tenant_id):
        _, best = await matching.find_matches(scope, edge, "relevance", 12)
    assert [str(m.price) for m in best] == [p for p in ("1999000.00", "1999000.01", "1999500.00", "2000000.00") for _ in range(3)]
    assert {m.match_score for m in best} == {1.0} and len({m.property_id for m in best}) == 12


async def test_score_filters_compare_exactly_in_thousandths(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """The list's score filters compare `score_milli` (leakproof, so an index serves them under row-level security)."""
    admin = await tenants.create()
    ids = {}
    for score in (0.699, 0.7, 0.701, None):
        created = await client.post("/v2/properties", headers=admin.auth, json={"address": f"Score {score}", "bird_dog_score": score})
        ids[score] = created.json()["id"]

    async def found(**params: Any) -> list[Any]:
        response = await client.get("/v2/properties", headers=admin.auth, params={**params, "sort": "bird_dog_score"})
        assert response.status_code == 200, response.text
        return [p["bird_dog_score"] for p in response.json()]

    assert await found(bird_dog_score__gte=0.7) == [0.7, 0.701]
    assert await found(bird_dog_score__gte=0.7005) == [0.701]
    assert await found(bird_dog_score__lte=0.7) == [0.699, 0.7]
    assert await found(bird_dog_score__lte=0.7005) == [0.699, 0.7]
    assert await found(bird_dog_score__gte=0.6995, bird_dog_score__lte=0.7) == [0.7]
    assert await found(bird_dog_score__gte=0) == [0.699, 0.7, 0.701] and len(ids) == 4
