from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T10:14:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "Events: row-level security and indexes; both activity tables moved into activity; outbox notifications"

TABLES = ["activity", "outbox_event", "notification", "webhook_endpoint", "webhook_delivery", "webhook_attempt", "webhook_slot"]

STATEMENTS = [
    "CREATE INDEX activity_subject ON activity (tenant_id, subject_type, subject_id, created_at DESC, id DESC)",
    "CREATE INDEX activity_contact ON activity (tenant_id, contact_id, created_at DESC, id DESC) WHERE contact_id IS NOT NULL",
    "CREATE INDEX outbox_event_undispatched ON outbox_event (id) WHERE dispatched_at IS NULL",
    "CREATE INDEX outbox_event_tenant ON outbox_event (tenant_id, id)",
    "CREATE INDEX outbox_event_dispatched ON outbox_event (dispatched_at) WHERE dispatched_at IS NOT NULL",
    "CREATE INDEX notification_user ON notification (tenant_id, user_id, created_at DESC)",
    "CREATE INDEX webhook_endpoint_tenant ON webhook_endpoint (tenant_id)",
    "CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (tenant_id, endpoint_id, id DESC)",
    "CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status IN ('pending', 'sending')",
    "CREATE INDEX webhook_delivery_order ON webhook_delivery (endpoint_id, ordering_key, event_id) WHERE status IN ('pending', 'sending')",
    "CREATE INDEX webhook_delivery_failed ON webhook_delivery (tenant_id, failed_at) WHERE status = 'failed'",
    "CREATE INDEX webhook_attempt_delivery ON webhook_attempt (delivery_id, attempt)",
    "CREATE UNIQUE INDEX webhook_slot_tenant_slot ON webhook_slot (tenant_id, slot)",
    # Both timelines move into the one activity table, linked to the contact of their lead.
    "INSERT INTO activity (tenant_id, subject_type, subject_id, contact_id, kind, summary, changes, actor_user_id, actor, created_at) "
    "SELECT a.tenant_id, 'lead', a.lead_id, l.contact_id, a.kind, a.summary, a.changes, a.actor_user_id, a.actor, a.created_at "
    "FROM lead_activity a JOIN lead l ON l.id = a.lead_id ORDER BY a.id",
    "INSERT INTO activity (tenant_id, subject_type, subject_id, contact_id, kind, summary, changes, actor_user_id, actor, created_at) "
    "SELECT tenant_id, 'contact', contact_id, contact_id, kind, summary, changes, actor_user_id, actor, created_at "
    "FROM contact_activity ORDER BY id",
    # Every committed outbox event wakes the relay and the live streams (sent at commit, in commit order).
    """CREATE FUNCTION atrium_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('atrium_events', NEW.id::text || ':' || NEW.tenant_id::text);
         RETURN NULL;
       END $$""",
    "CREATE TRIGGER outbox_event_notify AFTER INSERT ON outbox_event FOR EACH ROW EXECUTE FUNCTION atrium_outbox_notify()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for table in TABLES:
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
