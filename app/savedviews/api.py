"""JSON API: saved views of list screens (`/v2/saved-views`), the same service as the bar above the leads list."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from app.core.pagination import ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.savedviews import policy, schemas, service
from app.web.auth import guard
from app.web.json import ApiResponse

ViewId = Annotated[int, Parameter(description="Saved view id")]


class SavedViewController(Controller):
    """Saved views: a person's own, and the team's shared ones."""

    path = "/v2/saved-views"
    opt = resource_opt("saved-views")  # its scopes: saved-views:read, saved-views:write
    tags = ["Saved views"]

    @get("/", operation_id="listSavedViews", summary="List saved views", guards=[guard(policy.READ)])
    async def list_views(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        screen: Annotated[schemas.Screen | None, Parameter(description="Only the views of this screen")] = None,
    ) -> Page[schemas.SavedView]:
        """The caller's own views and the team's shared ones, shared first, by name (an integration sees the shared ones)."""
        return await service.list_views(tenant, screen, list_query)

    @post("/", operation_id="createSavedView", summary="Save a view", guards=[guard(policy.SAVE)], status_code=201)
    async def create_view(self, tenant: TenantScope, data: schemas.SavedViewCreate) -> ApiResponse[schemas.SavedView]:
        """A person's view of a list (`query` as in the screen's URL); `shared: true` needs an admin or a manager.
        A name the person already uses is 422 `reason: duplicate`."""
        view = await service.save_view(tenant, data.screen, data.name, data.query, shared=data.shared)
        return ApiResponse(view, status_code=201, headers={"Location": f"/v2/saved-views/{view.id}"})

    @get("/{view_id:int}", operation_id="getSavedView", summary="Get a saved view", guards=[guard(policy.READ)])
    async def get_view(self, tenant: TenantScope, view_id: ViewId) -> schemas.SavedView:
        """One's own view or a shared one; someone else's own view, or another tenant's, is 404."""
        return await service.get_view(tenant, view_id)

    @patch("/{view_id:int}", operation_id="updateSavedView", summary="Change a saved view", guards=[guard(policy.SAVE)])
    async def update_view(self, tenant: TenantScope, view_id: ViewId, data: schemas.SavedViewUpdate) -> schemas.SavedView:
        """Rename it, change its `query`, or share it (admins and managers, who also change the team's shared views)."""
        return await service.update_view(
            tenant,
            view_id,
            None if data.name is UNSET else data.name,
            None if data.query is UNSET else data.query,
            None if data.shared is UNSET else data.shared,
        )

    @delete("/{view_id:int}", operation_id="deleteSavedView", summary="Delete a saved view", guards=[guard(policy.SAVE)])
    async def delete_view(self, tenant: TenantScope, view_id: ViewId) -> None:
        """One's own view (admins and managers also the team's shared ones)."""
        await service.remove_view(tenant, view_id)
