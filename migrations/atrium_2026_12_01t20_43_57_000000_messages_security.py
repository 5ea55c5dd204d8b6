"""Messages: row-level security, checks, indexes (the memo's idempotency key and a provider's event id are unique per
tenant: the database is what makes the same memo or the same webhook event count once), and the default templates
of the tenants that exist (new tenants get them at registration)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T20:43:57:000000"
VERSION = "1.38.0"
DESCRIPTION = "Messages: RLS, checks, unique keys, indexes, default templates"

TABLES = ("message_template", "communication", "message_provider_event", "message_provider_secret", "message_opt_out")

STATEMENTS = [
    "ALTER TABLE message_template ADD CONSTRAINT message_template_type CHECK (type IN ('email', 'sms'))",
    "ALTER TABLE communication ADD CONSTRAINT communication_channel CHECK (channel IN ('email', 'sms'))",
    "ALTER TABLE communication ADD CONSTRAINT communication_status CHECK (status IN ('queued', 'sent', 'delivered', 'opened', "
    "'clicked', 'replied', 'bounced', 'dropped', 'spam_report', 'failed', 'undelivered', 'opted_out', 'draft'))",
    "CREATE INDEX message_template_tenant ON message_template (tenant_id, id)",
    "CREATE UNIQUE INDEX communication_idempotency ON communication (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX communication_tenant_created ON communication (tenant_id, created_at DESC, id DESC)",
    "CREATE INDEX communication_tenant_template ON communication (tenant_id, template_id) INCLUDE (sent_at, opened_at, replied_at)",
    "CREATE INDEX communication_tenant_lead ON communication (tenant_id, lead_id) WHERE lead_id IS NOT NULL",
    "CREATE INDEX communication_tenant_property ON communication (tenant_id, property_id) WHERE property_id IS NOT NULL",
    "CREATE UNIQUE INDEX communication_provider_message ON communication (tenant_id, provider_message_id) "
    "WHERE provider_message_id IS NOT NULL",
    "CREATE UNIQUE INDEX message_provider_event_once ON message_provider_event (tenant_id, provider, event_id)",
    "CREATE INDEX message_provider_event_recent ON message_provider_event (tenant_id, received_at DESC)",
    "CREATE UNIQUE INDEX message_provider_secret_once ON message_provider_secret (tenant_id, provider)",
    "CREATE UNIQUE INDEX message_opt_out_once ON message_opt_out (tenant_id, channel, lower(address))",
    # Every workspace that exists starts with the default templates, as a new one does at registration.
    """INSERT INTO message_template (tenant_id, name, type, subject_template, body_template, stage, is_active, created_at, updated_at)
       SELECT t.id, d.name, d.type, d.subject, d.body, d.stage, true, now(), now()
         FROM tenant t, (VALUES
           (1, 'Initial Outreach', 'email', 'Quick question about {{address}}',
            E'Hi {{owner_name}},\\n\\nI noticed your property at {{address}} and wondered whether you would consider an offer.'
            || E'\\n\\nBest regards,\\n{{agent_name}}', 'outreach'),
           (2, 'Follow-up', 'email', 'Following up on {{address}}',
            E'Hi {{owner_name}},\\n\\nJust following up on my note about {{address}}. Happy to talk whenever suits you.'
            || E'\\n\\n{{agent_name}}', 'outreach'),
           (3, 'Text check-in', 'sms', '',
            'Hi {{owner_name}}, {{agent_name}} here about {{address}}. Would you consider an offer? Reply STOP to opt out.', 'outreach')
         ) AS d(n, name, type, subject, body, stage)
        ORDER BY t.id, d.n""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in TABLES:
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
