"""Saved views of list screens (the leads list's, for now)."""

from __future__ import annotations

from app.domains import Domain
from app.savedviews.api import SavedViewController
from app.savedviews.views import SavedViewPagesController

DOMAIN = Domain(name="savedviews", controllers=[SavedViewController, SavedViewPagesController])
