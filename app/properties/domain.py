"""Properties: their pipeline and board, portfolios and reconciliation, buyer matching and seller analysis."""

from __future__ import annotations

from app.domains import Domain, NavEntry
from app.properties.api import PortfolioController, PropertyController, SellerAnalysisController
from app.properties.events import EVENTS
from app.properties.service import SEARCH_TEXT
from app.properties.views import LeadMatchesController, PropertyPagesController

DOMAIN = Domain(
    name="properties",
    controllers=[PropertyController, PortfolioController, SellerAnalysisController, PropertyPagesController, LeadMatchesController],
    nav=[NavEntry("properties", "Properties", "/properties", order=25)],
    searches={"property": SEARCH_TEXT},
    events=EVENTS,
)
