"""Call center: row-level security, checks, the call log's and analytics' indexes, and what the provider-neutral
call-event webhook reads across tenants (which tenant a provider belongs to)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T18:39:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Call center: RLS, checks, indexes, webhook's provider lookup"

STATEMENTS = [
    "ALTER TABLE call ADD CONSTRAINT call_direction_known CHECK (direction IN ('inbound', 'outbound', 'internal'))",
    "ALTER TABLE call ADD CONSTRAINT call_status_known CHECK (status IN ('ringing', 'answered', 'completed', 'failed', 'abandoned'))",
    "ALTER TABLE call ADD CONSTRAINT call_answered_after_start CHECK (answered_at IS NULL OR answered_at >= started_at)",
    "ALTER TABLE call ADD CONSTRAINT call_ended_after_start CHECK (ended_at IS NULL OR ended_at >= coalesce(answered_at, started_at))",
    "ALTER TABLE call_event ADD CONSTRAINT call_event_transfer_type "
    "CHECK (transfer_type IS NULL OR transfer_type IN ('blind', 'attended', 'conference'))",
    "ALTER TABLE telephony_provider ADD CONSTRAINT telephony_provider_port CHECK (port BETWEEN 1 AND 65535)",
    "CREATE INDEX call_tenant_started ON call (tenant_id, started_at DESC, id DESC)",
    "CREATE INDEX call_tenant_agent_started ON call (tenant_id, agent_id, started_at DESC)",
    # Call analytics read a range of calls from this index alone (an index-only scan once autovacuum has run).
    "CREATE INDEX call_tenant_started_analytics ON call (tenant_id, started_at) INCLUDE (status, queue, answered_at, ended_at, agent_id)",
    "CREATE INDEX call_tenant_lead ON call (tenant_id, lead_id) WHERE lead_id IS NOT NULL",
    "CREATE INDEX call_tenant_contact ON call (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX call_tenant_ticket ON call (tenant_id, ticket_id) WHERE ticket_id IS NOT NULL",
    # A provider's call is one row, whatever order its events arrive in; a provider's event is applied once.
    "CREATE UNIQUE INDEX call_provider_external ON call (tenant_id, provider_id, external_id) WHERE external_id IS NOT NULL",
    "CREATE UNIQUE INDEX call_event_provider_event ON call_event (tenant_id, provider_id, external_event_id) "
    "WHERE external_event_id IS NOT NULL",
    "CREATE INDEX call_event_call ON call_event (tenant_id, call_id, created_at)",
    "CREATE INDEX telephony_provider_tenant ON telephony_provider (tenant_id, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("call", "call_event", "telephony_provider"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        # A PBX posts call events to its provider's address before any tenant is known: the provider's tenant is found
        # as atrium_system (only these two columns); the secret is read and the event applied in that tenant.
        for statement in system_access_sql("telephony_provider", "SELECT (id, tenant_id)"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
