"""Appointments: API, screens (the agenda, a lead's appointments), the calendar feed, and the lead's next appointment."""

from __future__ import annotations

from app.appointments.api import AppointmentController
from app.appointments.service import next_for_lead
from app.appointments.views import AppointmentPagesController, CalendarFeedController
from app.domains import Domain, NavEntry
from app.leads.service import provide_next_appointment

# A lead's detail shows its next appointment (guide §3.1); leads cannot import this domain, which uses them.
provide_next_appointment(next_for_lead)

DOMAIN = Domain(
    name="appointments",
    controllers=[AppointmentController, AppointmentPagesController, CalendarFeedController],
    nav=[NavEntry("agenda", "Agenda", "/agenda", order=25, permission="appointments.view")],
    events={
        "lead.appointment_scheduled": "A viewing, call or meeting was booked with a lead (the appointment as in the lead's detail)",
        "appointment.updated": "An appointment was moved, reassigned, confirmed, completed, cancelled or missed (`changed_fields`)",
        "appointment.cancelled": "An appointment was cancelled",
        "appointment.deleted": "An appointment booked by mistake was deleted",
    },
)
