"""JSON API: campaigns (GET and POST, as the reference lists them) with cost per lead and won revenue."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from app.campaigns import policy, schemas, service
from app.core.pagination import ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.json import ApiResponse

CampaignId = Annotated[int, Parameter(description="Campaign id")]


class CampaignController(Controller):
    """Campaigns: named lead sources with a budget and dates; a lead carries its `campaign_id`."""

    path = "/v2/campaigns"
    opt = resource_opt("campaigns")  # its scopes: campaigns:read, campaigns:write
    tags = ["Campaigns"]

    @get("/", operation_id="listCampaigns", summary="List campaigns with their numbers", guards=[guard(policy.VIEW)])
    async def list_campaigns(self, tenant: TenantScope, list_query: ListQuery) -> Page[schemas.Campaign]:
        """Newest first. `leads` counts the leads carrying the campaign's id (deleted ones aside); `cost_per_lead` is
        the budget over them; `won_revenue` sums the won deals of its leads in the campaign's currency."""
        return await service.list_campaigns(tenant, list_query)

    @post("/", operation_id="createCampaign", summary="Create a campaign", guards=[guard(policy.CREATE)], status_code=201)
    async def create_campaign(self, tenant: TenantScope, data: schemas.CampaignCreate) -> ApiResponse[schemas.Campaign]:
        """Then give leads its id (`campaign_id` on POST/PATCH /v2/leads)."""
        campaign = await service.create_campaign(tenant, data)
        return ApiResponse(campaign, status_code=201, headers={"Location": f"/v2/campaigns/{campaign.id}"})

    @get("/{campaign_id:int}", operation_id="getCampaign", summary="Get a campaign", guards=[guard(policy.VIEW)])
    async def get_campaign(self, tenant: TenantScope, campaign_id: CampaignId) -> schemas.Campaign:
        """404 for other tenants' ids."""
        return await service.get_campaign(tenant, campaign_id)
