"""Appointments as iCalendar (RFC 5545): one .ics per appointment, and a person's feed for calendar apps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from icalendar import Calendar, Event

from app.appointments.schemas import Appointment
from app.leads.events import conversation_url

PRODUCT_ID = "-//Atrium//Appointments//EN"
# iCalendar knows three states of an event; completed and missed ones did take their time, as agreed.
EVENT_STATUS = {
    "scheduled": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "completed": "CONFIRMED",
    "no_show": "CONFIRMED",
    "cancelled": "CANCELLED",
}


def uid(appointment: Appointment) -> str:
    """The event's stable identity: calendars update (or cancel) the same event when it changes."""
    return f"appointment-{appointment.tenant_id}-{appointment.id}@atrium"


def to_ics(appointments: Iterable[Appointment], *, name: str) -> bytes:
    """A calendar of `appointments`, times in UTC."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for appointment in appointments:
        event = Event()
        event.add("uid", uid(appointment))
        event.add("dtstamp", appointment.updated_at.astimezone(UTC))
        event.add("last-modified", appointment.updated_at.astimezone(UTC))
        event.add("dtstart", appointment.starts_at.astimezone(UTC))
        event.add("dtend", appointment.ends_at.astimezone(UTC))
        event.add("summary", f"{appointment.type.title()} with {appointment.lead_name}")
        if appointment.location:
            event.add("location", appointment.location)
        event.add("status", EVENT_STATUS[appointment.status])
        lead_url = conversation_url(appointment.lead_id)
        event.add("description", "\n\n".join(filter(None, [appointment.notes, f"Agent: {appointment.agent_name}", lead_url])))
        event.add("url", lead_url)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
