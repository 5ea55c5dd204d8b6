"""The support desk: tickets API and screens, SLA settings, sentiment analysis, the breach cron."""

from __future__ import annotations

from saq import CronJob

from app.domains import Domain, NavEntry
from app.support import policy
from app.support.api import CannedReplyController, KnowledgeBaseController, SentimentController, SupportSettingsController, TicketController
from app.support.events import EVENTS
from app.support.jobs import find_sla_breaches
from app.support.reply_mail import email_public_reply
from app.support.service import SEARCH_TEXT
from app.support.views import (
    CannedReplyPagesController,
    CustomerRequestController,
    KnowledgeBasePagesController,
    SlaSettingsPagesController,
    TicketPagesController,
)

DOMAIN = Domain(
    name="support",
    controllers=[
        TicketController,
        SupportSettingsController,
        CannedReplyController,
        SentimentController,
        KnowledgeBaseController,
        TicketPagesController,
        CustomerRequestController,
        KnowledgeBasePagesController,
        CannedReplyPagesController,
        SlaSettingsPagesController,
    ],
    nav=[
        NavEntry("tickets", "Tickets", "/tickets", order=50, permission="tickets.view"),
        NavEntry("knowledge-base", "Knowledge base", "/knowledge-base", order=55, permission="kb.view"),
    ],
    jobs=[find_sla_breaches, email_public_reply],
    cron=[CronJob(find_sla_breaches.function, cron="* * * * *", timeout=find_sla_breaches.timeout, retries=find_sla_breaches.retries)],
    searches={"ticket": SEARCH_TEXT},
    events=EVENTS,
    # Finance never sees a ticket's live events; an agent only those of their own tickets (the payload names its
    # assignee and creator).
    live_visibility={"ticket": policy.VIEW},
)
