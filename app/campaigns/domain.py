"""Campaigns: API and screen."""

from __future__ import annotations

from app.campaigns.api import CampaignController
from app.campaigns.views import CampaignPagesController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="campaigns",
    controllers=[CampaignController, CampaignPagesController],
    nav=[NavEntry("campaigns", "Campaigns", "/campaigns", order=12, permission="campaigns.view")],
)
