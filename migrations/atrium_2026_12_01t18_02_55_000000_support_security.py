"""Support desk: row-level security, checks, the queue's indexes, the knowledge base's full-text search column, and
what the SLA-breach cron reads across tenants."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T18:02:55:000000"
VERSION = "1.38.0"
DESCRIPTION = "Support desk: RLS, checks, queue indexes, KB full-text search, SLA cron grants"

STATEMENTS = [
    "ALTER TABLE ticket ADD CONSTRAINT ticket_status_known CHECK (status IN ('open', 'in_progress', 'waiting', 'resolved', 'closed'))",
    "ALTER TABLE ticket ADD CONSTRAINT ticket_priority_known CHECK (priority IN ('low', 'medium', 'high', 'urgent', 'critical'))",
    "ALTER TABLE ticket_comment ADD CONSTRAINT ticket_comment_author_known CHECK (author_type IN ('staff', 'customer'))",
    "ALTER TABLE ticket_comment ADD CONSTRAINT ticket_comment_customer_public CHECK (author_type = 'staff' OR NOT is_internal)",
    "ALTER TABLE sla_policy ADD CONSTRAINT sla_policy_priority_known CHECK (priority IN ('low', 'medium', 'high', 'urgent', 'critical'))",
    "ALTER TABLE sla_policy ADD CONSTRAINT sla_policy_targets "
    "CHECK (first_response_minutes > 0 AND resolution_minutes >= first_response_minutes)",
    "ALTER TABLE business_calendar ADD CONSTRAINT business_calendar_hours CHECK (closes_at > opens_at)",
    "ALTER TABLE business_calendar ADD CONSTRAINT business_calendar_days "
    "CHECK (cardinality(work_days) > 0 AND work_days <@ ARRAY[1, 2, 3, 4, 5, 6, 7])",
    "ALTER TABLE kb_article ADD CONSTRAINT kb_article_status_known CHECK (status IN ('draft', 'published'))",
    "CREATE UNIQUE INDEX sla_policy_tenant_priority ON sla_policy (tenant_id, priority)",
    # The queue: newest first, by status, by assignee, by requester, and the open tickets by their next due time.
    "CREATE INDEX ticket_tenant_created ON ticket (tenant_id, created_at DESC, id DESC)",
    "CREATE INDEX ticket_tenant_status_created ON ticket (tenant_id, status, created_at DESC, id DESC)",
    "CREATE INDEX ticket_tenant_assignee ON ticket (tenant_id, assigned_to, status, created_at DESC)",
    "CREATE INDEX ticket_tenant_contact ON ticket (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX ticket_tenant_next_due ON ticket (tenant_id, next_due_at, id)",
    "CREATE INDEX ticket_tenant_status_next_due ON ticket (tenant_id, status, next_due_at, id)",
    "CREATE INDEX ticket_tenant_updated ON ticket (tenant_id, updated_at DESC, id DESC)",
    # The breach cron's: clocks still running that nobody flagged yet.
    "CREATE INDEX ticket_resolution_unflagged ON ticket (resolution_due_at, tenant_id) "
    "WHERE resolved_at IS NULL AND resolution_breached_at IS NULL",
    "CREATE INDEX ticket_response_unflagged ON ticket (first_response_due_at, tenant_id) "
    "WHERE first_responded_at IS NULL AND first_response_breached_at IS NULL",
    "CREATE INDEX ticket_search_trgm ON ticket USING gin ((title || ' ' || coalesce(customer_email, '') || ' ' "
    "|| coalesce(customer_name, '')) gin_trgm_ops)",
    "CREATE INDEX ticket_comment_ticket ON ticket_comment (tenant_id, ticket_id, created_at, id)",
    # Knowledge base: the title weighs most, then the tags, then the body; a GIN index serves `@@`. (array_to_string
    # is only stable, as it could format any type; over text it is immutable, which a generated column needs.)
    "CREATE FUNCTION kb_tags_text(varchar[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$",
    "ALTER TABLE kb_article ADD COLUMN search tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', kb_tags_text(tags)), 'B') "
    "|| setweight(to_tsvector('english', coalesce(body_text, '')), 'C')) STORED",
    "CREATE INDEX kb_article_search ON kb_article USING gin (search)",
    "CREATE INDEX kb_article_tenant_updated ON kb_article (tenant_id, updated_at DESC, id DESC)",
    # Row-level security is evaluated before any condition that is not LEAKPROOF, and `@@` is not: read straight
    # from the table, a search cannot use the GIN index (a scan of every article). Searches read this view instead,
    # owned by the schema owner: a security barrier holding the policy's own tenant predicate and the match against
    # the tsquery the transaction sets (`app.kb_query`, app.support.knowledge), so the index serves it and no
    # condition written against the view sees another tenant's row. Without a tenant or a query it shows nothing.
    "CREATE VIEW kb_article_fts WITH (security_barrier) AS "
    "SELECT id, tenant_id, title, category, tags, status, body_text, search, updated_at FROM kb_article "
    "WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint AND status = 'published' "
    "AND search @@ NULLIF(current_setting('app.kb_query', true), '')::tsquery",
    "GRANT SELECT ON kb_article_fts TO atrium_app",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("ticket", "ticket_comment", "sla_policy", "business_calendar", "kb_article"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        # The SLA-breach cron finds the tenants with a clock past due before it works in each tenant's own transaction.
        grant = "SELECT (tenant_id, first_response_due_at, first_responded_at, first_response_breached_at, "
        grant += "resolution_due_at, resolved_at, resolution_breached_at)"
        for statement in system_access_sql("ticket", grant):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
