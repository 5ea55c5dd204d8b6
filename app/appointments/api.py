"""JSON API: appointments (viewings, calls, meetings), their .ics files and the caller's calendar feed."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import Parameter

from app.appointments import policy, schemas, service
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.core.validation import list_pattern
from app.db import TenantScope
from app.web.auth import guard
from app.web.deps import INSTANT, parse_instant
from app.web.json import ApiResponse
from app.web.openapi import success_media_types

AppointmentId = Annotated[int, Parameter(description="Appointment id")]
ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
STATUS_LIST_PATTERN = list_pattern(schemas.STATUSES)


def _storable(value: int | None) -> int | None:
    """An id past PostgreSQL's bigint can name no record: it filters for 0, which matches none."""
    return 0 if value is not None and value > schemas.BIGINT_MAX else value


async def provide_appointment_filters(
    lead_id: Annotated[int | None, Parameter(ge=1, description="The lead's appointments")] = None,
    agent_id: Annotated[int | None, Parameter(ge=1, description="The agent's appointments")] = None,
    contact_id: Annotated[int | None, Parameter(ge=1, description="Appointments with this contact")] = None,
    deal_id: Annotated[int | None, Parameter(ge=1, description="Appointments about this deal")] = None,
    property_id: Annotated[int | None, Parameter(ge=1, description="Appointments at this property")] = None,
    status: Annotated[
        str | None, Parameter(description="Status, or several separated by commas: `scheduled,confirmed`", pattern=STATUS_LIST_PATTERN)
    ] = None,
    type: Annotated[schemas.AppointmentType | None, Parameter(description="viewing, call or meeting")] = None,
    starts_after: Annotated[str | None, Parameter(description="Starting at or after, RFC 3339", schema_extra=INSTANT)] = None,
    starts_before: Annotated[str | None, Parameter(description="Starting before, RFC 3339", schema_extra=INSTANT)] = None,
) -> service.AppointmentFilters:
    """The filters of the appointments list."""
    return service.AppointmentFilters(
        lead_id=_storable(lead_id),
        agent_id=_storable(agent_id),
        contact_id=_storable(contact_id),
        deal_id=_storable(deal_id),
        property_id=_storable(property_id),
        status=service.parse_statuses(status),
        type=type,
        starts_after=parse_instant("starts_after", starts_after),
        starts_before=parse_instant("starts_before", starts_before),
    )


class AppointmentController(Controller):
    """Appointments of the tenant: viewings, calls and meetings of agents with leads."""

    path = "/v2/appointments"
    opt = resource_opt("appointments")  # its scopes: appointments:read, appointments:write
    tags = ["Appointments"]

    @get(
        "/",
        operation_id="listAppointments",
        summary="List appointments",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_appointment_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_appointments(
        self, tenant: TenantScope, list_query: ListQuery, filters: service.AppointmentFilters
    ) -> Page[schemas.Appointment]:
        """Soonest first (`sort=starts_at`); also sortable by `created_at` and `updated_at`."""
        return await service.list_appointments(tenant, filters, list_query)

    @post("/", operation_id="createAppointment", summary="Book an appointment", guards=[guard(policy.MANAGE)], status_code=201)
    async def create_appointment(self, tenant: TenantScope, data: schemas.AppointmentCreate) -> ApiResponse[schemas.Appointment]:
        """Agents book for themselves (the default `agent_id`). 409 when the agent already has a scheduled or confirmed
        appointment overlapping this one: `details.clashing_appointment` names it (id, times, lead). Publishes
        `lead.appointment_scheduled`."""
        appointment = await service.create_appointment(tenant, data)
        return ApiResponse(appointment, status_code=201, headers={"Location": f"/v2/appointments/{appointment.id}"})

    @get("/{appointment_id:int}", operation_id="getAppointment", summary="Get an appointment", guards=[guard(policy.VIEW)])
    async def get_appointment(self, tenant: TenantScope, appointment_id: AppointmentId) -> schemas.Appointment:
        """404 for other tenants' ids."""
        return await service.get_appointment(tenant, appointment_id)

    @patch("/{appointment_id:int}", operation_id="updateAppointment", summary="Change an appointment", guards=[guard(policy.MANAGE)])
    async def update_appointment(
        self, tenant: TenantScope, appointment_id: AppointmentId, data: schemas.AppointmentUpdate
    ) -> schemas.Appointment:
        """Reschedule, reassign, confirm, complete, cancel or mark a no-show. Agents change only their own.
        Publishes `appointment.updated` (and `appointment.cancelled`); 409 naming a clash."""
        return await service.update_appointment(tenant, appointment_id, data)

    @delete("/{appointment_id:int}", operation_id="deleteAppointment", summary="Delete an appointment", guards=[guard(policy.MANAGE)])
    async def delete_appointment(self, tenant: TenantScope, appointment_id: AppointmentId) -> None:
        """For a booking made by mistake; cancel an agreed one instead, so calendars hear of it."""
        await service.delete_appointment(tenant, appointment_id)

    @get(
        "/{appointment_id:int}/ics",
        operation_id="getAppointmentIcs",
        summary="The appointment as an iCalendar file",
        guards=[guard(policy.VIEW)],
        media_type=ICS_MEDIA_TYPE,
        operation_class=success_media_types(200, {"text/calendar": Schema(type=OpenAPIType.STRING)}),
    )
    async def appointment_ics(self, tenant: TenantScope, appointment_id: AppointmentId) -> Response[bytes]:
        """An `.ics` file (RFC 5545) with one event, in UTC; a cancelled appointment is `STATUS:CANCELLED`."""
        content = await service.appointment_ics(tenant, appointment_id)
        headers = {"Content-Disposition": f'attachment; filename="appointment-{appointment_id}.ics"'}
        return Response(content, media_type=ICS_MEDIA_TYPE, headers=headers)

    @post(
        "/calendar-feed",
        operation_id="newCalendarFeed",
        summary="A new secret calendar-feed address for me",
        guards=[guard(policy.FEED)],
        status_code=201,
    )
    async def new_feed(self, tenant: TenantScope) -> schemas.CalendarFeed:
        """The address of an iCalendar feed of the caller's appointments, for a calendar app to subscribe to. Shown
        once (only a hash is kept); asking again gives a new address and the old one stops working."""
        return await service.new_feed(tenant)

    @delete("/calendar-feed", operation_id="revokeCalendarFeed", summary="Turn off my calendar feed", guards=[guard(policy.FEED)])
    async def revoke_feed(self, tenant: TenantScope) -> None:
        """The caller's feed address stops working."""
        await service.revoke_feed(tenant)
