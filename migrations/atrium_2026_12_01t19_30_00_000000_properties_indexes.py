from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T19:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Properties at 100k (bench/properties_bench.py): leakproof copies of price and score, covering indexes for matching and stats"

# Lists and matching read `property` under row-level security, and PostgreSQL uses a condition in an index scan
# only when its operator is LEAKPROOF: numeric comparisons are not, so `price BETWEEN …` could never use
# property_tenant_price and every match scanned the tenant's properties (150-190 ms at 100k); a score filter
# could not narrow on property_tenant_stage_score either. `price_cents` (the price in whole cents, bigint) and
# `score_milli` (the bird-dog score in thousandths, smallint) are exact copies of them in types whose
# comparisons are leakproof, kept by PostgreSQL itself; matching and the list's score filters compare them
# instead. They are not in app/properties/tables.py (Piccolo has no generated columns); nothing writes them.
STATEMENTS = [
    "ALTER TABLE property ADD COLUMN price_cents bigint GENERATED ALWAYS AS ((price * 100)::bigint) STORED, "
    "ADD COLUMN score_milli smallint GENERATED ALWAYS AS ((bird_dog_score * 1000)::smallint) STORED",
    # The guide's workflow 3 (`stage` + `bird_dog_score__gte` + has_memo/has_reply): counted index-only.
    "CREATE INDEX property_tenant_stage_score_milli ON property (tenant_id, current_stage, score_milli) INCLUDE (has_memo, has_reply)",
    # Matching: the candidates (on offer, not closed, with a price) by price, with what their score needs, so
    # counting and scoring them is an index-only scan; matching writes these conditions literally.
    "CREATE INDEX property_matchable ON property (tenant_id, price_cents) "
    "INCLUDE (id, price, bedrooms, neighborhood, city, property_type, created_at) "
    "WHERE price IS NOT NULL AND listing_status IN ('for_sale', 'for_rent', 'off_market') "
    "AND current_stage NOT IN ('closed_won', 'closed_lost')",
    # Portfolio stats: every property of the tenant by stage with what the numbers add up, index-only.
    "CREATE INDEX property_stats ON property (tenant_id, current_stage) INCLUDE (bird_dog_score, estimated_value, created_at, closed_at)",
    # Lists sorted by score (`sort=-bird_dog_score`, in the board's order) walk it, whatever else they filter on.
    "CREATE INDEX property_tenant_score_order ON property (tenant_id, bird_dog_score DESC NULLS LAST, id DESC)",
    # Unusable under row-level security (numeric comparisons are not leakproof); property_matchable replaces it.
    "DROP INDEX IF EXISTS property_tenant_price",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
