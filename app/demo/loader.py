"""The --demo tenant: a realistic team to click through. Loading it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.accounts import schemas
from app.accounts import service as accounts
from app.accounts.tables import User
from app.activities import service as activities
from app.appointments import schemas as appointment_schemas
from app.appointments import service as appointments
from app.automation import schemas as automation_schemas
from app.automation import service as automation
from app.billing import billing_settings, exchange_rates
from app.billing import expenses as billing_expenses
from app.billing import schemas as billing_schemas
from app.billing import service as billing
from app.campaigns import schemas as campaign_schemas
from app.campaigns import service as campaigns
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.demo.dataset import GENERATE, PROPERTIES, PROPERTY_TIMELINE, generate_args, property_args
from app.events.service import emit
from app.leads.service import rescore_tenant
from app.messages import delivery as message_delivery
from app.messages import render as message_render
from app.messages import schemas as message_schemas
from app.messages import sequences
from app.messages import service as messages_service
from app.pipeline import schemas as deals_schemas
from app.pipeline import service as deals
from app.properties import schemas as property_schemas
from app.properties import service as properties
from app.support import canned, knowledge
from app.support import schemas as support_schemas
from app.support import service as support

DEMO_EMAIL = "admin@demo.atrium.test"
DEMO_PASSWORD = "atrium-demo-2026"
DEMO_LEADS = 3_000
DEMO_PHONE_BASE = 971_555_000_000
DEMO_PROPERTIES = 360
DEMO_OWNER_PHONE_BASE = 971_501_000_000
DEMO_TEAM = [
    ("Maya Brooks", "manager@demo.atrium.test", "manager"),
    ("Omar Haddad", "agent@demo.atrium.test", "agent"),
    ("Lena Novak", "agent2@demo.atrium.test", "agent"),
    ("Priya Raman", "support@demo.atrium.test", "support"),
    ("Tom Okafor", "finance@demo.atrium.test", "finance"),
]


DEMO_COMPANIES = [
    ("Emirates Holdings", "Investment"),
    ("Gulf Family Office", "Wealth management"),
    ("Marina Developments", "Real estate"),
    ("Desert Rose Trading", "Trading"),
    ("Palm Capital", "Private equity"),
    ("Al Noor Healthcare", "Healthcare"),
    ("Skyline Ventures", "Technology"),
    ("Oasis Logistics", "Logistics"),
]
# A contact for every tenth lead (its person), half of them at a company; the lead links to both and its
# timeline shows on the contact's page.
DEMO_CONTACTS = [
    "INSERT INTO company (tenant_id, name, domain, industry, notes, created_at, updated_at) "
    "SELECT $1, c.name, lower(replace(c.name, ' ', '')) || '.example.com', c.industry, '', now(), now() FROM (VALUES "
    + ", ".join(f"('{name}', '{industry}')" for name, industry in DEMO_COMPANIES)
    + ") AS c(name, industry)",
    "INSERT INTO contact (tenant_id, name, email, phone, title, company_id, notes, created_at, updated_at) "
    "SELECT l.tenant_id, l.name, l.email, l.phone, CASE WHEN l.id % 20 = 1 THEN 'Director' END, "
    "CASE WHEN l.id % 20 = 1 THEN (SELECT id FROM company c WHERE c.tenant_id = $1 ORDER BY c.id OFFSET (l.id / 20) % 8 LIMIT 1) END, "
    "'', l.created_at, now() FROM lead l WHERE l.tenant_id = $1 AND l.id % 10 = 1",
    "UPDATE lead l SET contact_id = c.id, company_id = c.company_id FROM contact c "
    "WHERE l.tenant_id = $1 AND c.tenant_id = $1 AND l.id % 10 = 1 AND c.phone = l.phone",
    "UPDATE activity a SET contact_id = l.contact_id FROM lead l "
    "WHERE a.tenant_id = $1 AND l.tenant_id = $1 AND a.subject_type = 'lead' AND a.subject_id = l.id AND l.contact_id IS NOT NULL",
]


# The team's diary around today (Dubai time): (days from today, hour, minute, minutes, type, location, status).
# Every slot is its own, so no agent is booked twice.
DEMO_APPOINTMENTS = [
    (-3, 11, 0, 60, "viewing", "Marina Gate 2, apartment 1804", "completed"),
    (-2, 15, 30, 45, "call", "", "completed"),
    (-1, 10, 0, 60, "viewing", "Emaar Beachfront, Sunrise Bay 1", "no_show"),
    (-1, 17, 0, 30, "call", "", "cancelled"),
    (0, 10, 30, 60, "viewing", "Dubai Hills, Maple 3 villa 12", "confirmed"),
    (0, 14, 0, 45, "meeting", "Atrium office, Business Bay", "scheduled"),
    (1, 9, 30, 30, "call", "", "scheduled"),
    (1, 11, 0, 90, "viewing", "Palm Jumeirah, Shoreline 7", "confirmed"),
    (1, 16, 0, 60, "viewing", "JBR, Sadaf 5 apartment 2203", "scheduled"),
    (2, 12, 0, 60, "meeting", "Atrium office, Business Bay", "scheduled"),
    (3, 10, 0, 60, "viewing", "Downtown, Burj Vista 1", "scheduled"),
    (3, 15, 0, 45, "call", "", "scheduled"),
    (4, 11, 30, 60, "viewing", "Arabian Ranches, Saheel villa 4", "scheduled"),
    (6, 13, 0, 60, "viewing", "City Walk, building 12", "scheduled"),
    (8, 10, 0, 120, "viewing", "Jumeirah Golf Estates, Redwood villa 9", "scheduled"),
    (9, 16, 30, 30, "call", "", "scheduled"),
]


async def _book_demo_appointments(scope: TenantScope, zone: ZoneInfo, today: date) -> None:
    """A realistic diary for the team: viewings, calls and meetings with their hottest leads, past and upcoming."""
    async with tenant_transaction(scope.tenant_id):
        leads = await fetch(
            "SELECT id, agent_id FROM lead WHERE tenant_id = $1 AND agent_id IS NOT NULL AND status IN ('QUALIFIED', 'VIEWING_SCHEDULED', "
            "'NEGOTIATING') ORDER BY hotness_score DESC, id LIMIT $2",
            scope.tenant_id,
            len(DEMO_APPOINTMENTS),
        )
    for lead, (days, hour, minute, minutes, kind, location, status) in zip(leads, DEMO_APPOINTMENTS, strict=False):
        starts = datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=zone)
        await appointments.create_appointment(
            scope,
            appointment_schemas.AppointmentCreate(
                lead_id=lead["id"],
                agent_id=lead["agent_id"],
                starts_at=starts,
                ends_at=starts + timedelta(minutes=minutes),
                type=kind,  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                location=location,
            ),
        )


# The demo leads are made in one statement, so their stages were all reached the moment they were created: give them the
# history the service would have recorded (app.analytics: lead_milestone): a first answer minutes to hours after a lead
# came in, qualification hours to days later, a viewing a few days after that, the close a couple of weeks on; never
# later than now.
DEMO_MILESTONES = """
UPDATE lead_milestone m
   SET responded_at = CASE WHEN l.status <> 'NEW' THEN least(now(), m.started_at + ((l.id * 37) % 360 + 4) * interval '1 minute') END,
       qualified_at = CASE WHEN m.qualified_at IS NOT NULL
                           THEN least(now(), m.qualified_at + ((l.id * 53) % 96 + 2) * interval '1 hour') END,
       viewing_at = CASE WHEN m.viewing_at IS NOT NULL
                         THEN least(now(), m.viewing_at + ((l.id * 53) % 96 + 2) * interval '1 hour'
                                              + (1 + l.id % 6) * interval '1 day') END,
       won_at = CASE WHEN m.won_at IS NOT NULL
                     THEN least(now(), m.won_at + ((l.id * 53) % 96 + 2) * interval '1 hour' + (8 + l.id % 15) * interval '1 day') END,
       lost_at = CASE WHEN m.lost_at IS NOT NULL THEN least(now(), m.lost_at + (2 + l.id % 20) * interval '1 day') END
  FROM lead l
 WHERE l.tenant_id = $1 AND m.tenant_id = $1 AND m.lead_id = l.id
"""


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """What to print so a person can log in."""

    email: str
    password: str
    tenant_id: int
    created: bool


async def load_demo_tenant() -> DemoLogin:
    """Create the demo tenant, its admin, a user for every role, a few thousand scored leads, contacts and
    companies linked to some of them, deals, a few hundred properties with two portfolios, and the team's
    appointments around today (once)."""
    async with system_transaction():
        existing = await User.select(User.tenant_id, User.id).where(User.email == DEMO_EMAIL).first()
    if existing is not None:
        scope = TenantScope(tenant_id=existing["tenant_id"], user_id=existing["id"], role="admin", actor=DEMO_EMAIL)
        await _demo_properties_once(scope)  # a demo loaded before properties existed gets them (once)
        await _demo_messages_once(scope)  # …and messages
        await _demo_won_history_once(scope)  # …and three years of won deals for the forecast
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, existing["tenant_id"], created=False)
    tenant, admin = await accounts.register_tenant(
        schemas.RegisterRequest(email=DEMO_EMAIL, password=DEMO_PASSWORD, full_name="Alex Demo", tenant_name="Demo Realty"),
        plan="professional",
    )
    scope = TenantScope(tenant_id=tenant.id, user_id=admin.id, role="admin", actor=admin.email)
    await accounts.set_tenant_time_zone(scope, "Asia/Dubai")  # the demo team works in Dubai (+971 numbers)
    agents = []
    for full_name, email, role in DEMO_TEAM:
        _, token = await accounts.create_invitation(scope, schemas.InvitationCreate(email=email, full_name=full_name, role=role))  # type: ignore[arg-type]
        member = await accounts.accept_invitation(token, DEMO_PASSWORD)
        if role in ("agent", "manager"):
            agents.append(member.user_id)
    async with tenant_transaction(tenant.id):
        await fetch(GENERATE, *generate_args(tenant.id, DEMO_PHONE_BASE, 1, DEMO_LEADS))
        # Most leads have an agent; a few wait in the unassigned pile.
        await fetch(
            "UPDATE lead SET agent_id = ($2::bigint[])[1 + id % array_length($2::bigint[], 1)] WHERE tenant_id = $1 AND id % 10 <> 0",
            tenant.id,
            agents,
        )
        await fetch(DEMO_MILESTONES, tenant.id)
    await rescore_tenant(scope)
    async with tenant_transaction(tenant.id):
        for statement in DEMO_CONTACTS:
            await fetch(statement, tenant.id)
    await _demo_deals(scope, agents)
    await _demo_won_history(scope, agents)
    await _demo_properties(scope, agents)
    dubai = ZoneInfo("Asia/Dubai")
    await _book_demo_appointments(scope, dubai, datetime.now(dubai).date())
    await _demo_tickets(scope)
    async with tenant_transaction(tenant.id):
        await fetch(DEMO_CALLS, tenant.id)
    await _demo_invoices(scope, datetime.now(dubai).date())
    await _demo_commissions(scope, datetime.now(dubai).date())
    await _demo_workspace(scope)
    await _demo_messages(scope)
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, tenant.id, created=True)


async def _demo_deals(scope: TenantScope, agents: list[int]) -> None:
    """A board worth looking at: deals from the hottest leads in every stage of the default pipeline, a few won and
    lost, some gone quiet (stale), watchers on the big ones."""
    pipeline = (await deals.list_pipelines(scope))[0]
    async with tenant_transaction(scope.tenant_id):
        leads = await fetch(
            """SELECT id, name, coalesce(budget_max, budget_min, 1500000) AS value, budget_currency, property_type, agent_id, contact_id
                 FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY hotness_score DESC, id LIMIT 90""",
            scope.tenant_id,
        )
    for n, lead in enumerate(leads):
        stage = pipeline.stages[n % len(pipeline.stages)]
        kind = (lead["property_type"] or "property").lower()
        deal = await deals.create_deal(
            scope,
            deals_schemas.DealCreate(
                title=f"{lead['name']} — {kind}",
                value=lead["value"],
                currency=lead["budget_currency"],
                stage_id=stage.id,
                owner_id=lead["agent_id"] or (agents[n % len(agents)] if n % 7 else None),
                contact_id=lead["contact_id"],
                lead_id=lead["id"],
                expected_close_date=(datetime.now(UTC) + timedelta(days=7 + 3 * n)).date(),
            ),
        )
        if n % 15 == 4:
            await deals.update_deal(scope, deal.id, deals_schemas.DealUpdate(status="won"))
        elif n % 15 == 9:
            await deals.update_deal(scope, deal.id, deals_schemas.DealUpdate(status="lost", lost_reason="Bought through another agency"))
        elif deal.value >= Decimal(5_000_000) and agents:
            await deals.add_watcher(scope, deal.id, agents[0])
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            "UPDATE deal SET last_activity_at = now() - interval '20 days' WHERE tenant_id = $1 AND status = 'open' AND id % 6 = 0",
            scope.tenant_id,
        )


# Three years of won sales for the forecast: three a month, a Dubai year (strong winter, slow summer) growing about
# 1 % a month, by the team's agents. History, so written as it stands (closed deals, no events).
DEMO_WON_HISTORY = """
INSERT INTO deal (tenant_id, pipeline_id, stage_id, rank, title, value, currency, owner_id, status, expected_close_date, notes,
                  closed_at, last_activity_at, created_at, updated_at)
SELECT $1, p.id, s.id, NULL, 'Sale closed ' || to_char(h.m, 'Mon YYYY') || ' #' || k,
       round(2400000 * (ARRAY[1.25, 1.2, 1.15, 1.0, 0.9, 0.7, 0.6, 0.65, 0.9, 1.1, 1.2, 1.25])[extract(month FROM h.m)::int]
             * (1 + 0.01 * (36 - i)) * (0.85 + ((i * 7 + k * 13) % 10) / 30.0), -3),
       'AED', ($2::bigint[])[1 + (i + k) % array_length($2::bigint[], 1)], 'won', (h.m + interval '14 days')::date, '',
       h.closed, h.closed, h.closed - interval '50 days', h.closed
  FROM generate_series(1, 36) i CROSS JOIN generate_series(1, 3) k
       CROSS JOIN LATERAL (SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Dubai') - i * interval '1 month' AS m) mm
       CROSS JOIN LATERAL (SELECT mm.m AS m,
                (mm.m + ((k * 9 + i) % 26) * interval '1 day' + interval '11 hours') AT TIME ZONE 'Asia/Dubai' AS closed) h
       CROSS JOIN LATERAL (SELECT id FROM pipeline WHERE tenant_id = $1 AND is_default) p
       CROSS JOIN LATERAL (SELECT id FROM stage WHERE pipeline_id = p.id ORDER BY position DESC LIMIT 1) s
"""


async def _demo_won_history(scope: TenantScope, agents: list[int]) -> None:
    """Three years of won deals (the forecast's history)."""
    async with tenant_transaction(scope.tenant_id):
        await fetch(DEMO_WON_HISTORY, scope.tenant_id, agents or [scope.user_id])


async def _demo_won_history_once(scope: TenantScope) -> None:
    """The won history, unless the tenant has deals won more than three months ago."""
    async with tenant_transaction(scope.tenant_id):
        if await fetch(
            "SELECT 1 FROM deal WHERE tenant_id = $1 AND status = 'won' AND closed_at < now() - interval '3 months' LIMIT 1",
            scope.tenant_id,
        ):
            return
        agents = [
            r["id"]
            for r in await fetch(
                "SELECT id FROM app_user WHERE tenant_id = $1 AND role IN ('agent', 'manager') ORDER BY id", scope.tenant_id
            )
        ]
    await _demo_won_history(scope, agents)


# Two portfolios with the values recorded for their members (a valuation the team made earlier):
# (name, neighbourhoods, property types, how many members, threshold %, recorded value / today's estimate per member).
# The apartments' recorded values are within a fraction of a percent of today's estimates (reconciliation passes);
# the villas were recorded at last year's valuation, about 6 % above today's (it fails its 2 % threshold).
DEMO_PORTFOLIOS = [
    ("Marina & Downtown apartments", ["Dubai Marina", "Downtown"], ["APARTMENT", "PENTHOUSE"], 12, 0.5,
     [Decimal("1.004"), Decimal("0.997"), Decimal("1"), Decimal("1.002"), Decimal("0.999"), Decimal("1")]),
    ("Palm & Hills villas", ["Palm Jumeirah", "Dubai Hills"], ["VILLA"], 8, 2.0,
     [Decimal("1.07"), Decimal("1.05"), Decimal("1.065"), Decimal("1.04")]),
]  # fmt: skip


async def _demo_properties_once(scope: TenantScope) -> None:
    """The demo's properties, unless the tenant has properties or portfolios already."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT EXISTS (SELECT 1 FROM property WHERE tenant_id = $1) OR EXISTS (SELECT 1 FROM portfolio WHERE tenant_id = $1) AS any",
            scope.tenant_id,
        )
        if rows[0]["any"]:
            return
        people = await fetch(
            "SELECT id FROM app_user WHERE tenant_id = $1 AND role IN ('manager', 'agent') AND is_active ORDER BY id", scope.tenant_id
        )
    await _demo_properties(scope, [int(p["id"]) for p in people])


async def _demo_properties(scope: TenantScope, agents: list[int]) -> None:
    """A few hundred properties in Dubai's neighbourhoods, priced for the demo leads' budgets, in every stage with
    their timelines (set-based: app.demo.dataset), three quarters assigned to the team; then two portfolios with
    recorded values, each reconciled once through the service (one passes, one fails)."""
    async with tenant_transaction(scope.tenant_id):
        await fetch(PROPERTIES, *property_args(scope.tenant_id, 1, DEMO_PROPERTIES, agents, scope.user_id, DEMO_OWNER_PHONE_BASE))
        await fetch(
            PROPERTY_TIMELINE,
            scope.tenant_id,
            list(property_schemas.STAGES),
            [property_schemas.STAGE_LABELS[s] for s in property_schemas.STAGES],
        )
        members = [
            await fetch(
                """SELECT id, estimated_value FROM property
                    WHERE tenant_id = $1 AND neighborhood = ANY($2::text[]) AND property_type = ANY($3::text[])
                      AND estimated_value IS NOT NULL ORDER BY id LIMIT $4""",
                scope.tenant_id,
                hoods,
                types,
                count,
            )
            for _, hoods, types, count, _, _ in DEMO_PORTFOLIOS
        ]
    for (name, _, _, _, threshold, ratios), rows in zip(DEMO_PORTFOLIOS, members, strict=True):
        recorded = [
            property_schemas.MemberValue(
                property_id=int(row["id"]), expected_value=(row["estimated_value"] * ratios[n % len(ratios)]).quantize(Decimal("1"))
            )
            for n, row in enumerate(rows)
        ]
        portfolio = await properties.create_portfolio(
            scope,
            property_schemas.PortfolioCreate(
                name=name, property_ids=[int(r["id"]) for r in rows], expected_values=recorded, threshold=threshold
            ),
        )
        await properties.reconcile(scope, portfolio.id)


# The support queue: (title, description, priority, category, hours ago, status, a public reply, an internal note).
DEMO_TICKETS = [
    (
        "Cannot log in to the owner portal",
        "I reset my password twice and still get an error. This is really frustrating.",
        "high",
        "technical",
        2,
        "open",
        "",
        "",
    ),
    (
        "Service charge invoice looks wrong",
        "The Q4 service charge is double last quarter's. Please check.",
        "medium",
        "billing",
        30,
        "in_progress",
        "Thanks, we are checking the invoice with the building manager.",
        "Facilities raised the rate in October; confirm with finance.",
    ),
    (
        "Leaking AC in apartment 1804",
        "Water is dripping from the AC unit in the bedroom. Urgent, the ceiling is getting damaged!",
        "urgent",
        "maintenance",
        5,
        "open",
        "",
        "",
    ),
    (
        "Viewing feedback never arrived",
        "We viewed the villa last week and nobody followed up.",
        "low",
        "general",
        70,
        "waiting",
        "Sorry about that. Could you tell us which villa and the date of the viewing?",
        "",
    ),
    (
        "Tenancy contract copy",
        "Please send me a signed copy of my tenancy contract.",
        "low",
        "documents",
        120,
        "resolved",
        "Attached is the signed copy. Anything else we can help with?",
        "Sent from the DMS, ref 44821.",
    ),
    (
        "Keys not handed over",
        "Move-in was supposed to be today and the keys are not ready. Very disappointed.",
        "critical",
        "move_in",
        1,
        "open",
        "",
        "",
    ),
    (
        "Parking card not working",
        "My parking card stopped working at the gate.",
        "medium",
        "access",
        50,
        "in_progress",
        "We have ordered a new card; it will be at reception tomorrow.",
        "Card batch 2025-11 is faulty, 12 tenants affected.",
    ),
    (
        "Thank you for the quick help",
        "The plumber came within an hour. Great service, thank you!",
        "low",
        "maintenance",
        200,
        "closed",
        "Glad we could help!",
        "",
    ),
    ("Ejari registration status", "When will the Ejari be registered for my new lease?", "medium", "documents", 26, "open", "", ""),
    (
        "Noise from construction next door",
        "Drilling starts at 7 am every day including Saturday.",
        "medium",
        "complaint",
        90,
        "waiting",
        "We have raised it with the developer and asked for their permit hours.",
        "Developer permit allows 8 am to 6 pm only.",
    ),
]


async def _demo_tickets(scope: TenantScope) -> None:
    """A support queue worth working: requesters from the contacts, Dubai business hours with UAE public holidays,
    tickets of every status and priority opened over the past days, replies and internal notes, a breach or two."""
    await support.set_business_hours(
        scope, support_schemas.BusinessHoursUpdate(work_days=[1, 2, 3, 4, 5], opens_at="09:00", closes_at="18:00", holiday_country="AE")
    )
    # Billing questions get a faster first answer than other medium tickets (a category override).
    await support.set_sla_policy(
        scope, "medium", support_schemas.SlaPolicyUpdate(first_response_minutes=120, resolution_minutes=960, category="billing")
    )
    async with tenant_transaction(scope.tenant_id):
        people = await fetch(
            "SELECT id FROM contact WHERE tenant_id = $1 AND email IS NOT NULL ORDER BY id LIMIT $2", scope.tenant_id, len(DEMO_TICKETS)
        )
        desk = await fetch("SELECT id FROM app_user WHERE tenant_id = $1 AND role IN ('support', 'manager') ORDER BY id", scope.tenant_id)
    made: list[tuple[int, int]] = []
    for n, (title, description, priority, category, _hours, _status, _reply, _note) in enumerate(DEMO_TICKETS):
        ticket = await support.create_ticket(
            scope,
            support_schemas.TicketCreate(
                title=title,
                description=description,
                priority=priority,  # type: ignore[arg-type]
                category=category,
                customer_id=people[n % len(people)]["id"] if people else None,
                assigned_to=desk[n % len(desk)]["id"] if desk and n % 4 else None,
            ),
        )
        made.append((ticket.id, n))
    # Opened over the past days (the clocks are recomputed from the backdated opening time).
    async with tenant_transaction(scope.tenant_id):
        for ticket_id, n in made:
            await fetch("UPDATE ticket SET created_at = now() - $2 * interval '1 hour' WHERE id = $1", ticket_id, DEMO_TICKETS[n][4])
    await support.recompute_sla(scope, [ticket_id for ticket_id, _ in made])
    for ticket_id, n in made:
        _, _, _, _, _, status, reply, note = DEMO_TICKETS[n]
        if reply:
            await support.add_comment(scope, ticket_id, support_schemas.CommentCreate(content=reply))
        if note:
            await support.add_comment(scope, ticket_id, support_schemas.CommentCreate(content=note, is_internal=True))
        if status != "open":
            await support.update_ticket(scope, ticket_id, support_schemas.TicketUpdate(status=status))  # type: ignore[arg-type]
    await support.flag_breaches(scope)
    for title, content, category, tags in DEMO_ARTICLES:
        await knowledge.create_article(scope, support_schemas.ArticleCreate(title=title, content=content, category=category, tags=tags))
    for title, body, group in DEMO_CANNED_REPLIES:
        await canned.create_reply(scope, support_schemas.CannedReplyCreate(title=title, body=body, category=group))


# The team's canned replies (placeholders filled in when one is inserted into an answer).
DEMO_CANNED_REPLIES: list[tuple[str, str, str | None]] = [
    (
        "Locksmith booked",
        "Hello {{ customer_name }},\n\nwe have booked a locksmith for your request #{{ ticket_id }}; they will call you "
        "30 minutes before arriving.\n\nBest regards,\n{{ agent_name }}",
        "maintenance",
    ),
    ("Need more details", "Hello {{ customer_name }},\n\ncould you send us a photo and the unit number, please?\n\n{{ agent_name }}", None),
    (
        "Resolved, anything else?",
        'Hello {{ customer_name }},\n\nwe have marked "{{ ticket_title }}" as resolved. Reply to this message if anything is '
        "still not right.\n\n{{ agent_name }}",
        None,
    ),
]


DEMO_ARTICLES = [
    (
        "How to reset your owner-portal password",
        "<p>Open the login page, choose <b>Forgot password</b> and follow the link we e-mail you. "
        "The link works for one hour.</p><p>No e-mail? Check the spam folder, then ask support to resend it.</p>",
        "getting_started",
        ["password", "login"],
    ),
    (
        "Reporting a maintenance problem",
        "<p>Tell us the unit, what is wrong and since when. Leaks and power cuts are handled as "
        "<b>urgent</b>: a technician comes the same day.</p><ul><li>AC and plumbing</li><li>Electrical</li><li>Doors and locks</li></ul>",
        "maintenance",
        ["maintenance", "leak", "ac"],
    ),
    (
        "Understanding your service charge invoice",
        "<p>Service charges are billed quarterly per square foot, as set by the building's "
        "owners' association. The invoice lists the rate, the area and any arrears.</p>",
        "billing",
        ["invoice", "service charge"],
    ),
    (
        "Ejari registration",
        "<p>We register your tenancy contract with Ejari within five working days of receiving the signed contract, "
        "the cheques and a copy of your Emirates ID.</p>",
        "documents",
        ["ejari", "contract"],
    ),
    (
        "Parking cards and access",
        "<p>A lost or faulty parking card is replaced at reception; the first replacement is free.</p>",
        "access",
        ["parking", "access card"],
    ),
]


# The call log: 400 calls over the past 30 days (Dubai office hours), to the agents' leads and from the support line,
# answered after a few seconds to two minutes, some abandoned in the queue or failed; a call in four about a lead.
DEMO_CALLS = """
INSERT INTO call (tenant_id, direction, status, from_number, to_number, agent_id, queue, started_at, answered_at, ended_at,
                  disposition, notes, transcript, lead_id, contact_id, created_at, updated_at)
SELECT $1, d.direction, d.status, d.from_number, d.to_number, d.agent_id, d.queue, d.started_at,
       CASE WHEN d.status = 'completed' THEN d.started_at + d.wait * interval '1 second' END,
       d.started_at + (d.wait + CASE WHEN d.status = 'completed' THEN d.talk ELSE 0 END) * interval '1 second',
       CASE WHEN d.status = 'completed' THEN (ARRAY['interested', 'callback', 'viewing booked', 'not interested', 'resolved'])[1 + d.g % 5]
            ELSE '' END, '', '', d.lead_id, d.contact_id, d.started_at, d.started_at
  FROM (SELECT g, CASE WHEN g % 3 = 0 THEN 'outbound' ELSE 'inbound' END AS direction,
               CASE WHEN g % 11 = 0 THEN 'abandoned' WHEN g % 17 = 0 THEN 'failed' ELSE 'completed' END AS status,
               '+9715' || lpad((g * 7919 % 100000000)::text, 8, '0') AS from_number,
               CASE WHEN g % 2 = 0 THEN '200' ELSE '300' END AS to_number,
               (SELECT id FROM app_user u WHERE u.tenant_id = $1 AND u.role IN ('agent', 'support', 'manager')
                 ORDER BY id OFFSET g % 4 LIMIT 1) AS agent_id,
               CASE WHEN g % 2 = 0 THEN 'sales' ELSE 'support' END AS queue,
               date_trunc('day', now()) - (g % 30) * interval '1 day' + interval '5 hours' + (g * 37 % 540) * interval '1 minute'
                 AS started_at,
               5 + g * 13 % 115 AS wait, 60 + g * 97 % 840 AS talk,
               CASE WHEN g % 4 = 0 THEN (SELECT id FROM lead l WHERE l.tenant_id = $1 ORDER BY id OFFSET g LIMIT 1) END AS lead_id,
               NULL::bigint AS contact_id
          FROM generate_series(1, 400) g) d
"""


async def _demo_commissions(scope: TenantScope, today: date) -> None:
    """The commission invoices of the won deals (2 % of the price, sent): revenue the dashboard attributes to leads."""
    async with tenant_transaction(scope.tenant_id):
        won = await fetch("SELECT id, title, value FROM deal WHERE tenant_id = $1 AND status = 'won' ORDER BY id", scope.tenant_id)
        companies = [r["id"] for r in await fetch("SELECT id FROM company WHERE tenant_id = $1 ORDER BY id LIMIT 5", scope.tenant_id)]
    for n, deal in enumerate(won):
        commission = (deal["value"] * Decimal("0.02")).quantize(Decimal("0.01"))
        line = billing_schemas.InvoiceLineInput(description=f"Sales commission, {deal['title']}", unit_price=commission)
        invoice = await billing.create_invoice(
            scope,
            billing_schemas.InvoiceCreate(
                customer_account_id=companies[n % len(companies)], deal_id=deal["id"], issue_date=today, lines=[line]
            ),
        )
        await billing.send_invoice(scope, invoice.id, billing_schemas.InvoiceSend(), None)


async def _demo_invoices(scope: TenantScope, today: date) -> None:
    """A year of billing: commission invoices for the demo companies, most paid, some partly, a few overdue, drafts for
    this month; a year of the office's expenses; the workspace's billing details and 5 % VAT."""
    await billing_settings.update_settings(
        scope,
        billing_schemas.BillingSettingsUpdate(
            legal_name="Demo Realty LLC",
            address="Office 1204, Bay Square 3\nBusiness Bay, Dubai, UAE",
            tax_id="100234567800003",
            email="accounts@demo.atrium.test",
            phone="+971 4 555 0100",
            currency="AED",
            default_tax_rate=Decimal("0.05"),
            payment_terms_days=30,
            default_terms="Payment within 30 days by bank transfer to Demo Realty LLC, IBAN AE07 0331 2345 6789 0123 456.",
        ),
    )
    async with tenant_transaction(scope.tenant_id):
        companies = [r["id"] for r in await fetch("SELECT id FROM company WHERE tenant_id = $1 ORDER BY id", scope.tenant_id)]
    services = [
        ("Sales commission, {}", Decimal("96500.00")),
        ("Property management, {}", Decimal("6250.00")),
        ("Leasing fee, {}", Decimal("19800.00")),
        ("Valuation report, {}", Decimal("3500.00")),
    ]
    for n in range(36):
        issued = today - timedelta(days=10 * (36 - n))
        what, price = services[n % len(services)]
        lines = [billing_schemas.InvoiceLineInput(description=what.format(f"{issued:%B %Y}"), unit_price=price + 250 * (n % 5))]
        if n % 3 == 0:
            lines.append(
                billing_schemas.InvoiceLineInput(description="Marketing photography", quantity=Decimal(2), unit_price=Decimal("450.00"))
            )
        invoice = await billing.create_invoice(
            scope,
            billing_schemas.InvoiceCreate(customer_account_id=companies[n % len(companies)], issue_date=issued, lines=lines),
        )
        if n >= 34:
            continue  # this month's drafts
        await billing.send_invoice(scope, invoice.id, billing_schemas.InvoiceSend(), None)
        paid_on = datetime.combine(issued + timedelta(days=12 + n % 9), time(11, 0), tzinfo=UTC)
        if n < 26 or n % 4 == 0:
            amount = invoice.total_amount
        elif n % 4 == 1:
            amount = (invoice.total_amount / 2).quantize(Decimal("0.01"))
        else:
            continue  # unpaid: overdue when past due
        if paid_on.date() <= today:
            await billing.record_payment(
                scope,
                invoice.id,
                billing_schemas.PaymentCreate(amount=amount, payment_reference=f"TT-{40100 + n}", paid_at=paid_on),
            )
    await billing.mark_overdue(scope.tenant_id)
    for months_ago in range(12):
        counted = today.year * 12 + today.month - 1 - months_ago
        month = date(counted // 12, counted % 12 + 1, 1)
        for day, category, vendor, amount in (
            (1, "Rent", "Bay Square Offices", Decimal("9500.00")),
            (3, "Salaries", "Payroll", Decimal("31000.00")),
            (9, "Advertising", "Property Finder", Decimal("4200.00") + 150 * (months_ago % 4)),
            (15, "Software", "Atrium hosting", Decimal("349.00")),
            (21, "Utilities", "DEWA", Decimal("1280.00") + 40 * (months_ago % 3)),
        ):
            spent = month.replace(day=day)
            if spent > today:
                continue
            tax = Decimal(0) if category == "Salaries" else (amount * Decimal("0.05")).quantize(Decimal("0.01"))
            await billing_expenses.create_expense(
                scope,
                billing_schemas.ExpenseCreate(expense_date=spent, category=category, vendor=vendor, amount=amount, tax_amount=tax),
            )
    # An overseas client billed in dollars and a conference paid in euros: the rates finance keeps convert them in the P&L.
    for currency, rate, days_ago in (("USD", "3.6725", 400), ("EUR", "3.9800", 400), ("EUR", "4.0150", 120)):
        await exchange_rates.set_rate(
            scope,
            billing_schemas.ExchangeRateInput(currency=currency, rate=Decimal(rate), effective_on=today - timedelta(days=days_ago)),
        )
    for days_ago in (60, 30):
        issued = today - timedelta(days=days_ago)
        dollars = await billing.create_invoice(
            scope,
            billing_schemas.InvoiceCreate(
                customer_account_id=companies[-1],
                issue_date=issued,
                currency="USD",
                lines=[billing_schemas.InvoiceLineInput(description=f"Relocation advisory, {issued:%B %Y}", unit_price=Decimal("4500.00"))],
            ),
        )
        await billing.send_invoice(scope, dollars.id, billing_schemas.InvoiceSend(), None)
        if days_ago == 60:
            paid_on = datetime.combine(issued + timedelta(days=9), time(10, 0), tzinfo=UTC)
            await billing.record_payment(
                scope,
                dollars.id,
                billing_schemas.PaymentCreate(amount=dollars.total_amount, payment_reference="SWIFT-88120", paid_at=paid_on),
            )
    await billing_expenses.create_expense(
        scope,
        billing_schemas.ExpenseCreate(
            expense_date=today - timedelta(days=45), category="Travel", vendor="Cityscape Europe", amount=Decimal("1200.00"), currency="EUR"
        ),
    )


DEMO_MEMOS = 40
# How the demo's memos fared, in turn: replied, opened twice over, delivered, only sent.
DEMO_OUTCOMES = ("replied", "opened", "opened", "delivered", "sent")
DEMO_REPLIES = ("Yes, happy to talk. Call me after 6.", "What kind of offer are you thinking of?", "Not selling right now, thanks.")


async def _demo_messages_once(scope: TenantScope) -> None:
    """The demo's messages, unless the tenant has sent any."""
    async with tenant_transaction(scope.tenant_id):
        if await fetch("SELECT 1 FROM communication WHERE tenant_id = $1 LIMIT 1", scope.tenant_id):
            return
    await _demo_messages(scope)


async def _demo_messages(scope: TenantScope) -> None:
    """Two more templates next to the defaults, forty memos to property owners over the last weeks (kept in the local
    outbox) that were delivered, opened and replied to in turn, a few texts to leads, and an active nurture sequence."""
    await messages_service.create_template(
        scope,
        message_schemas.TemplateCreate(
            name="Price update",
            subject_template="{{address}}: what it could fetch today",
            body_template="Hi {{first_name}},\n\nHomes like {{address}} in {{city}} have been selling for around AED {{estimated_value}}."
            " Would a no-obligation valuation help?\n\n{{agent_name}}, {{company_name}}",
            stage="qualified",
        ),
    )
    await messages_service.create_template(
        scope,
        message_schemas.TemplateCreate(
            name="Viewing reminder",
            type="sms",
            body_template="Hi {{first_name}}, a reminder of your viewing with {{agent_name}}.",
            stage="viewing",
        ),
    )
    templates = {t.name: t for t in await messages_service.list_templates(scope)}
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        owners = await fetch(
            """SELECT id FROM property
                WHERE tenant_id = $1 AND owner_email IS NOT NULL AND current_stage IN ('outreach', 'qualified', 'negotiation')
                ORDER BY id LIMIT $2""",
            scope.tenant_id,
            DEMO_MEMOS,
        )
        for n, owner in enumerate(owners):
            template = templates["Initial Outreach" if n % 3 else "Price update"]
            await _demo_memo(
                scope, template, owner["id"], None, DEMO_OUTCOMES[n % len(DEMO_OUTCOMES)], now - timedelta(days=1 + n % 20, hours=n), n
            )
        texted = await fetch(
            "SELECT id FROM lead WHERE tenant_id = $1 AND phone IS NOT NULL AND agent_id IS NOT NULL ORDER BY id LIMIT 6", scope.tenant_id
        )
        for n, lead in enumerate(texted):
            await _demo_memo(
                scope, templates["Text check-in"], None, lead["id"], ("delivered", "replied")[n % 2], now - timedelta(days=2 + n), n
            )
        nurtured = await fetch(
            "SELECT id FROM lead WHERE tenant_id = $1 AND email IS NOT NULL AND status = 'NEW' ORDER BY id LIMIT 1", scope.tenant_id
        )
    if nurtured:
        await sequences.start(scope, message_schemas.SequenceStart(lead_id=nurtured[0]["id"], sequence_type="buyer_nurture"), None)


async def _demo_memo(
    scope: TenantScope,
    template: message_schemas.Template,
    property_id: int | None,
    lead_id: int | None,
    outcome: str,
    sent_at: datetime,
    n: int,
) -> None:
    recipient = await messages_service.recipient_of(scope, property_id, lead_id)
    address = (recipient.email if template.type == "email" else recipient.phone) or ""
    subject = message_render.TEXT.render(template.subject_template, recipient.values) if template.type == "email" else ""
    body = message_render.TEXT.render(template.body_template, recipient.values)
    reached = outcome in ("delivered", "opened", "replied")
    rows = await fetch(
        """INSERT INTO communication (tenant_id, template_id, property_id, lead_id, channel, recipient, recipient_name, subject, body,
                                      status, transport, sent_at, delivered_at, opened_at, replied_at, reply_text, created_by,
                                      created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'outbox', $11, $12, $13, $14, $15, $16, $11, $11) RETURNING id""",
        scope.tenant_id,
        template.id,
        property_id,
        lead_id,
        template.type,
        address,
        recipient.name,
        subject,
        message_delivery.with_opt_out(message_delivery.Outgoing(0, scope.tenant_id, template.type, address, subject, body)),
        outcome,
        sent_at,
        sent_at + timedelta(minutes=1) if reached else None,
        sent_at + timedelta(hours=2) if outcome in ("opened", "replied") else None,
        sent_at + timedelta(hours=5) if outcome == "replied" else None,
        DEMO_REPLIES[n % len(DEMO_REPLIES)] if outcome == "replied" else "",
        scope.user_id,
    )
    what = "E-mail" if template.type == "email" else "Text message"
    await emit(scope, recipient.subject, "memo_sent", f"{what} sent to {address} into the local outbox")
    if outcome == "replied":
        await emit(
            scope, recipient.subject, "reply_received", f"{recipient.name or address} replied: {DEMO_REPLIES[n % len(DEMO_REPLIES)]}"
        )
    if property_id is not None:
        await fetch(
            "UPDATE property SET has_memo = true, has_reply = has_reply OR $3, last_contact_at = greatest(last_contact_at, $4) "
            "WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            property_id,
            outcome == "replied",
            sent_at,
        )
    assert rows


# Each agent's tasks around now (hours from now, type, subject): two overdue, some today, the coming days.
DEMO_TASKS = [
    (-26, "call", "Call back about the payment plan"),
    (-3, "whatsapp", "Send the floor plans"),
    (1, "call", "Confirm the viewing"),
    (3, "email", "Send the brochure and price list"),
    (5, "todo", "Prepare the offer letter"),
    (27, "call", "Follow up after the viewing"),
    (50, "meeting", "Meet at the office with the family"),
    (75, "viewing", "Second viewing with the spouse"),
]
# (name, the lead source it stands for, channel, budget in AED, days it has run).
DEMO_CAMPAIGNS = [
    ("Portal listings Q4", "portal", "portal", "45000", 120),
    ("Website: Palm villas", "website", "search", "18000", 60),
]
DEMO_RULE = automation_schemas.WorkflowCreate(
    name="Qualified and unassigned: assign round-robin and plan a call",
    trigger="lead.status_changed",
    conditions=[
        automation_schemas.Condition(field="status", op="changed_to", value="QUALIFIED"),
        automation_schemas.Condition(field="agent_id", op="eq", value=None),
    ],
    actions=[
        automation_schemas.Action(type="assign", to="round_robin"),
        automation_schemas.Action(type="create_task", task_type="call", subject="Call the newly qualified lead", due_in_minutes=60),
    ],
)


async def _demo_workspace(scope: TenantScope) -> None:
    """The agents' tasks (overdue, today, upcoming) on their warm leads, leaving their hottest leads in the call-next
    queue, and a rule besides the built-in one. The events of loading the demo are history: no rule runs on them."""
    async with tenant_transaction(scope.tenant_id):
        await fetch("UPDATE outbox_event SET automated_at = now() WHERE tenant_id = $1 AND automated_at IS NULL", scope.tenant_id)
        agents = await fetch("SELECT id FROM app_user WHERE tenant_id = $1 AND role = 'agent' ORDER BY id", scope.tenant_id)
        now = datetime.now(UTC)
        for agent in agents:
            leads = await fetch(
                "SELECT id, name FROM lead WHERE tenant_id = $1 AND agent_id = $2 AND temperature = 'warm' AND phone IS NOT NULL "
                "AND status NOT IN ('WON', 'LOST') ORDER BY hotness_score DESC, id LIMIT $3",
                scope.tenant_id,
                agent["id"],
                len(DEMO_TASKS),
            )
            for lead, (hours, kind, subject) in zip(leads, DEMO_TASKS, strict=False):
                await activities.create_in_transaction(
                    scope,
                    {"type": kind, "subject": f"{subject}: {lead['name']}", "due_at": now + timedelta(hours=hours), "owner_id": agent["id"],
                     "lead_id": lead["id"], "duration_minutes": 30},
                )  # fmt: skip
        await fetch("UPDATE outbox_event SET automated_at = now() WHERE tenant_id = $1 AND automated_at IS NULL", scope.tenant_id)
    await automation.create_workflow(scope, DEMO_RULE)
    today = datetime.now(UTC).date()
    for name, source, channel, budget, days in DEMO_CAMPAIGNS:
        campaign = await campaigns.create_campaign(
            scope,
            campaign_schemas.CampaignCreate(
                name=name, source=source, channel=channel, budget=Decimal(budget), starts_on=today - timedelta(days=days),
                ends_on=today + timedelta(days=30),
            ),
        )  # fmt: skip
        async with tenant_transaction(scope.tenant_id):
            # Its leads: those of its source from its weeks (the demo's history, so no event is written for it).
            await fetch(
                "UPDATE lead SET campaign_id = $2 WHERE tenant_id = $1 AND source = $3 AND created_at >= now() - make_interval(days => $4)",
                scope.tenant_id,
                campaign.id,
                source,
                days,
            )
