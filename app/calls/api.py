"""JSON API: calls and transfers (NeuraCRM §5.2), telephony providers with their call-event webhook (§5.1) and call
analytics (§5.3)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from saq import Queue

from app.calls import analytics, policy, schemas, service
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.deps import DAY_OR_INSTANT, parse_instant
from app.web.json import ApiResponse

# No upper bound in the schema (JSON Schema readers compare it as a float); an id past bigint is simply not found.
CallId = Annotated[int, Parameter(description="Call id")]
ProviderId = Annotated[int, Parameter(description="Provider id")]
IdParam = Annotated[int | None, Parameter(ge=-(2**63), le=2**63 - 1)]


async def provide_call_filters(
    status: Annotated[schemas.CallStatus | None, Parameter(description="ringing, answered, completed, failed or abandoned")] = None,
    direction: Annotated[schemas.Direction | None, Parameter(description="inbound, outbound or internal")] = None,
    agent_id: Annotated[IdParam, Parameter(description="The agent's calls")] = None,
    start_date: Annotated[
        str | None, Parameter(description="Started on or after (ISO date or date-time)", schema_extra=DAY_OR_INSTANT)
    ] = None,
    end_date: Annotated[
        str | None, Parameter(description="Started on or before (a bare date covers its day)", schema_extra=DAY_OR_INSTANT)
    ] = None,
    lead_id: Annotated[IdParam, Parameter(description="Calls about this lead")] = None,
    contact_id: Annotated[IdParam, Parameter(description="Calls with this contact")] = None,
    ticket_id: Annotated[IdParam, Parameter(description="Calls about this ticket")] = None,
) -> service.CallFilters:
    """The filters of the call log (§5.2)."""
    return service.CallFilters(
        status=status,
        direction=direction,
        agent_id=agent_id,
        start=parse_instant("start_date", start_date, days=True),
        end=parse_instant("end_date", end_date, days=True, end=True),
        lead_id=lead_id,
        contact_id=contact_id,
        ticket_id=ticket_id,
    )


class CallController(Controller):
    """The call log, outbound call requests and transfers."""

    path = "/v2/calls"
    opt = resource_opt("calls")
    tags = ["Calls"]

    @get(
        "/",
        operation_id="listCalls",
        summary="List calls",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_call_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_calls(self, tenant: TenantScope, list_query: ListQuery, filters: service.CallFilters) -> Page[schemas.Call]:
        """Latest first. Agents see their own calls."""
        return await service.list_calls(tenant, filters, list_query)

    @post("/", operation_id="createCall", summary="Request an outbound call, or log one", guards=[guard(policy.LOG)], status_code=201)
    async def create_call(self, tenant: TenantScope, queue: Queue, data: schemas.CallCreate) -> ApiResponse[schemas.CallDetail]:
        """§5.2's body (`agent_id`, `to_number`, `from_number`, `metadata`: lead, contact, campaign) requests an outbound
        call: it rings and is handed to the active provider. A provider that dials (`twilio`) is asked by a background
        job: `provider_status` goes from `queued` to `accepted` (`external_id` is its id of the call) or `failed`
        (`provider_error`; the call fails); other providers only record it. Add `status` (and times, disposition,
        notes) to log a call that happened. Publishes `call.created` (and `call.completed`)."""
        call = await service.create_call(tenant, data, queue)
        return ApiResponse(call, status_code=201, headers={"Location": f"/v2/calls/{call.id}"})

    @get("/{call_id:int}", operation_id="getCall", summary="Get a call with its events", guards=[guard(policy.VIEW)])
    async def get_call(self, tenant: TenantScope, call_id: CallId) -> schemas.CallDetail:
        """404 for other tenants' ids (and, for agents, colleagues' calls)."""
        return await service.get_call(tenant, call_id)

    @patch("/{call_id:int}", operation_id="updateCall", summary="Record a call's outcome", guards=[guard(policy.LOG)])
    async def update_call(self, tenant: TenantScope, call_id: CallId, data: schemas.CallUpdate) -> schemas.CallDetail:
        """Status (its times follow when not given), disposition, notes, transcript, links. Publishes `call.updated`
        and, when it completed, `call.completed`."""
        return await service.update_call(tenant, call_id, data)

    @put("/{call_id:int}/transfer", operation_id="transferCall", summary="Transfer a live call", guards=[guard(policy.LOG)])
    async def transfer(self, tenant: TenantScope, queue: Queue, call_id: CallId, data: schemas.Transfer) -> schemas.CallDetail:
        """§5.2: `{"extension", "transfer_type": blind | attended | conference}`, recorded as an event on the call; a
        call placed through a provider that dials is moved there by a background job (the event's `provider_status`
        and `provider_error`). 409 when the call is over. Publishes `call.transferred`."""
        return await service.transfer_call(tenant, call_id, data, queue)


class TelephonyController(Controller):
    """Telephony providers (§5.1), their call-event webhook, and call analytics (§5.3)."""

    path = "/v2/telephony"
    opt = resource_opt("telephony")
    tags = ["Calls"]

    @get("/providers", operation_id="listProviders", summary="List telephony providers", guards=[guard(policy.PROVIDERS)])
    async def list_providers(self, tenant: TenantScope) -> list[schemas.Provider]:
        """Never their passwords or webhook secrets."""
        return await service.list_providers(tenant)

    @post(
        "/providers", operation_id="createProvider", summary="Add a telephony provider", guards=[guard(policy.PROVIDERS)], status_code=201
    )
    async def create_provider(self, tenant: TenantScope, data: schemas.ProviderCreate) -> ApiResponse[schemas.ProviderCreated]:
        """§5.1's body. The password is encrypted at rest and never returned; the webhook secret the PBX signs its call
        events with is returned this once (`webhook_secret`, with `webhook_url`)."""
        provider = await service.create_provider(tenant, data)
        return ApiResponse(provider, status_code=201, headers={"Location": f"/v2/telephony/providers/{provider.id}"})

    @get("/providers/{provider_id:int}", operation_id="getProvider", summary="Get a telephony provider", guards=[guard(policy.PROVIDERS)])
    async def get_provider(self, tenant: TenantScope, provider_id: ProviderId) -> schemas.Provider:
        """`has_password` says whether one is set."""
        return await service.get_provider(tenant, provider_id)

    @patch(
        "/providers/{provider_id:int}",
        operation_id="updateProvider",
        summary="Change a telephony provider",
        guards=[guard(policy.PROVIDERS)],
    )
    async def update_provider(self, tenant: TenantScope, provider_id: ProviderId, data: schemas.ProviderUpdate) -> schemas.Provider:
        """A new `password` replaces the old."""
        return await service.update_provider(tenant, provider_id, data)

    @delete(
        "/providers/{provider_id:int}",
        operation_id="deleteProvider",
        summary="Remove a telephony provider",
        guards=[guard(policy.PROVIDERS)],
    )
    async def delete_provider(self, tenant: TenantScope, provider_id: ProviderId) -> None:
        """Its calls stay in the log."""
        await service.delete_provider(tenant, provider_id)

    @post(
        "/providers/{provider_id:int}/test",
        operation_id="testProvider",
        summary="Check the provider can be reached",
        guards=[guard(policy.PROVIDERS)],
        status_code=200,
    )
    async def test_provider(self, tenant: TenantScope, provider_id: ProviderId) -> schemas.ProviderTest:
        """A TCP connection to host:port within 3 s, under the webhooks' address rules (422 `reason: target` for a
        loopback, private, link-local or metadata address)."""
        return await service.test_provider(tenant, provider_id)

    @post(
        "/providers/{provider_id:int}/events",
        operation_id="receiveCallEvent",
        summary="A PBX reports a call event",
        status_code=200,
        security=[],
    )
    async def receive_event(
        self,
        request: Request[Any, Any, Any],
        provider_id: ProviderId,
        signature: Annotated[
            str | None, Parameter(header="X-Atrium-Signature", description="sha256=<hex HMAC-SHA256 of the raw body>")
        ] = None,
    ) -> schemas.CallEventApplied:
        """Provider-neutral: any PBX can log calls by posting `ringing`, `answered`, `transferred`, `completed`, `failed` or
        `abandoned` events for its `call_id`, signed with the provider's webhook secret. An `event_id` already applied is
        acknowledged and ignored. Publishes `call.created`, `call.updated`, `call.completed`."""
        return await service.receive_event(provider_id, await request.body(), signature)

    @get("/analytics", operation_id="getCallAnalytics", summary="Call analytics", guards=[guard(policy.ANALYTICS)])
    async def analytics(
        self,
        tenant: TenantScope,
        period_type: Annotated[schemas.PeriodType, Parameter(description="daily, weekly, monthly or quarterly")] = "daily",
        start_date: Annotated[date | None, Parameter(description="First day (the workspace's), ISO date")] = None,
        end_date: Annotated[date | None, Parameter(description="Last day, inclusive")] = None,
        service_level_seconds: Annotated[
            int, Parameter(ge=1, le=3600, description="Answered within this many seconds counts for the service level")
        ] = 20,
    ) -> schemas.CallAnalyticsResponse:
        """`{"success": true, "data": {total_calls, answered_calls, abandoned_calls, average_wait_time, average_talk_time,
        service_level, agent_utilization, queue_performance: {queue: {calls, answered, avg_wait, service_level}}}}` (§5.3),
        with the range and a row per period of `period_type`. Without dates: the current period."""
        data = await analytics.call_analytics(tenant, period_type, start_date, end_date, service_level_seconds)
        return schemas.CallAnalyticsResponse(success=True, data=data)
