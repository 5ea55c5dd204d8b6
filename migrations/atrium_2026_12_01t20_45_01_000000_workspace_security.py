"""Activities and automation: row-level security, checks, links, indexes; the outbox's automation columns (events that
exist are taken as already automated), the trigger that stamps events with the rules that caused them, and every
tenant's built-in "hot lead → call now" rule."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T20:45:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Activities and automation: RLS, checks, indexes, outbox automation columns, built-in rule"

HOT_LEAD_RULE = (
    """'[{"type": "create_task", "task_type": "call", "subject": "Call within 15 minutes", "due_in_minutes": 0, "owner": "lead_agent"}]'"""
)

STATEMENTS = [
    "ALTER TABLE task ADD CONSTRAINT task_type_known CHECK (type IN ('call', 'meeting', 'email', 'whatsapp', 'viewing', 'todo'))",
    "ALTER TABLE task ADD CONSTRAINT task_source_known CHECK (source IN ('manual', 'recommendation', 'rule'))",
    "ALTER TABLE task ADD CONSTRAINT task_done_at CHECK (done = (done_at IS NOT NULL))",
    "ALTER TABLE task ADD CONSTRAINT task_lead FOREIGN KEY (lead_id) REFERENCES lead (id) ON DELETE CASCADE",
    "ALTER TABLE task ADD CONSTRAINT task_contact FOREIGN KEY (contact_id) REFERENCES contact (id) ON DELETE SET NULL",
    "ALTER TABLE task ADD CONSTRAINT task_deal FOREIGN KEY (deal_id) REFERENCES deal (id) ON DELETE SET NULL",
    "ALTER TABLE task ADD CONSTRAINT task_property FOREIGN KEY (property_id) REFERENCES property (id) ON DELETE SET NULL",
    "ALTER TABLE task ADD CONSTRAINT task_ticket FOREIGN KEY (ticket_id) REFERENCES ticket (id) ON DELETE SET NULL",
    "ALTER TABLE task ADD CONSTRAINT task_appointment FOREIGN KEY (appointment_id) REFERENCES appointment (id) ON DELETE SET NULL",
    "ALTER TABLE task ADD CONSTRAINT task_call FOREIGN KEY (call_id) REFERENCES call (id) ON DELETE SET NULL",
    # My day reads a person's open tasks by due time; the list by due time; a record's tasks by its link.
    "CREATE INDEX task_owner_open ON task (tenant_id, owner_id, due_at) WHERE NOT done",
    "CREATE INDEX task_tenant_due ON task (tenant_id, due_at, id)",
    "CREATE INDEX task_lead ON task (tenant_id, lead_id, done) WHERE lead_id IS NOT NULL",
    "CREATE INDEX task_contact ON task (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX task_deal ON task (tenant_id, deal_id) WHERE deal_id IS NOT NULL",
    "CREATE INDEX task_property ON task (tenant_id, property_id) WHERE property_id IS NOT NULL",
    "CREATE INDEX task_ticket ON task (tenant_id, ticket_id) WHERE ticket_id IS NOT NULL",
    "CREATE INDEX workflow_trigger ON workflow (tenant_id, trigger) WHERE active",
    "CREATE UNIQUE INDEX workflow_builtin ON workflow (tenant_id, builtin) WHERE builtin <> ''",
    "ALTER TABLE workflow_run ADD CONSTRAINT workflow_run_status CHECK (status IN ('done', 'skipped', 'failed'))",
    # A rule acts at most once per event, whatever crashes and retries happen.
    "CREATE UNIQUE INDEX workflow_run_once ON workflow_run (workflow_id, event_id)",
    "CREATE INDEX workflow_run_log ON workflow_run (tenant_id, workflow_id, id DESC)",
    # Events written before rules existed are not run through them.
    "UPDATE outbox_event SET automated_at = coalesce(dispatched_at, now())",
    "CREATE INDEX outbox_event_unautomated ON outbox_event (id) WHERE automated_at IS NULL",
    # The runner sets `atrium.workflow_chain` for a rule's actions; the events they write carry it (no self-loops).
    """CREATE FUNCTION atrium_outbox_chain() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.workflow_chain := coalesce(string_to_array(nullif(current_setting('atrium.workflow_chain', true), ''), ',')::bigint[], '{}');
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER outbox_event_chain BEFORE INSERT ON outbox_event FOR EACH ROW EXECUTE FUNCTION atrium_outbox_chain()",
    "INSERT INTO workflow (tenant_id, name, trigger, conditions, actions, active, builtin) "
    f"SELECT id, 'Hot lead: call now', 'lead.hot', '[]', {HOT_LEAD_RULE}, true, 'hot_lead_call' FROM tenant",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("task", "workflow", "workflow_run"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        # The automation runner, across tenants, marks events no active rule listens to as automated (it reads which
        # event types have active rules, nothing else of them); each event a rule listens to is run in its tenant.
        for statement in system_access_sql("outbox_event", "UPDATE (automated_at)"):
            await engine.run_ddl(statement)
        for statement in system_access_sql("workflow", "SELECT (tenant_id, trigger, active)"):
            await engine.run_ddl(statement)
        # Housekeeping drops run-log entries older than 90 days.
        for statement in system_access_sql("workflow_run", "SELECT (created_at), DELETE"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
