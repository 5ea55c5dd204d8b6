"""Events: the timeline, the outbox, the live stream and in-app notifications."""

from __future__ import annotations

from app.domains import Domain
from app.events import policy
from app.events.api import LiveController
from app.events.views import LivePagesController, NotificationPagesController

DOMAIN = Domain(
    name="events",
    controllers=[LiveController, LivePagesController, NotificationPagesController],
    live_events={"notification.created": "A notification for the person (the bell redraws)"},
    # A notification's live event reaches only the person it is for.
    live_visibility={"notification": policy.OWN_NOTIFICATIONS},
    # The outbox keeps a week of events for `Last-Event-ID` resumes; read notifications a month.
    cleanup={
        "outbox_events": "DELETE FROM outbox_event WHERE dispatched_at < now() - interval '7 days'",
        "notifications": "DELETE FROM notification WHERE read_at < now() - interval '30 days'",
    },
)
