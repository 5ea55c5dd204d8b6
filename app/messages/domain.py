"""Messages: templates, generate-and-send, e-mail and SMS delivery with a local outbox, provider webhooks."""

from __future__ import annotations

from saq import CronJob

from app.domains import Domain, NavEntry
from app.messages.api import (
    CommunicationController,
    CustomerJourneyController,
    ExternalWebhookController,
    LeadBotController,
    ProviderSecretController,
    ProviderWebhookController,
    QuickWinsController,
)
from app.messages.events import EVENTS
from app.messages.sequences import resume_sequences, send_touchpoint
from app.messages.service import send_communication, set_up_tenant
from app.messages.views import LeadSequencesController, MessagePagesController, UnsubscribePagesController

DOMAIN = Domain(
    name="messages",
    controllers=[
        CommunicationController,
        QuickWinsController,
        ProviderWebhookController,
        ExternalWebhookController,
        ProviderSecretController,
        LeadBotController,
        CustomerJourneyController,
        MessagePagesController,
        LeadSequencesController,
        UnsubscribePagesController,
    ],
    nav=[NavEntry("messages", "Messages", "/messages", order=65, permission="messages.view")],
    jobs=[send_communication, send_touchpoint, resume_sequences],
    cron=[CronJob(resume_sequences.function, cron="* * * * *", timeout=resume_sequences.timeout, retries=resume_sequences.retries)],
    events=EVENTS,
    tenant_setup=set_up_tenant,
)
