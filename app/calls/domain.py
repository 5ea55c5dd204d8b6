"""The call center: calls and transfers, telephony providers and their webhook, call analytics, the call screens."""

from __future__ import annotations

from app.calls import policy
from app.calls.api import CallController, TelephonyController
from app.calls.events import EVENTS
from app.calls.jobs import dial_call, transfer_on_provider
from app.calls.views import CallPagesController, TelephonyPagesController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="calls",
    controllers=[CallController, TelephonyController, CallPagesController, TelephonyPagesController],
    nav=[NavEntry("calls", "Calls", "/calls", order=60, permission="calls.view")],
    jobs=[dial_call, transfer_on_provider],
    events=EVENTS,
    # Finance never sees a call's live events; an agent only their own calls'.
    live_visibility={"call": policy.VIEW},
)
