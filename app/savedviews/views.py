"""Saving and removing a list's views (the bar above the leads list): answers with the bar, or back to the list."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.core.errors import DomainError
from app.db import TenantScope
from app.savedviews import policy, service
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, is_fragment, refusal_stays_on_page, render

ViewId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
HOME = {"leads": "/leads"}


async def _bar(
    request: Request[Any, Any, Any], tenant: TenantScope, screen: str, query: str, *, errors: dict[str, str] | None = None, name: str = ""
) -> Template:
    views = await service.views_of(tenant, screen)
    ctx = {
        "saved_views": views,
        "view_query": service.clean_query(query),
        "view_screen": screen,
        "view_errors": errors or {},
        "view_name": name,
    }
    return render(request, "savedviews/bar.html", ctx, block="bar", status_code=422 if errors else 200)


class SavedViewPagesController(Controller):
    """Saved views of list screens."""

    path = "/saved-views"
    include_in_schema = False
    guards = [guard(policy.SAVE)]

    @post("/")
    async def save(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Save the list's current state under a name (shared with the team when ticked, by admins and managers)."""
        form = clean_form(data)
        screen = form.get("screen", "leads") if form.get("screen") in service.SCREENS else "leads"
        query = form.get("query", "")
        try:
            await service.save_view(tenant, screen, form.get("name", ""), query, shared=form.get("shared") == "1")
        except DomainError as exc:
            if not refusal_stays_on_page(exc) or not is_fragment(request):
                raise
            return await _bar(request, tenant, screen, query, errors=form_errors(exc), name=form.get("name", ""))
        if is_fragment(request):
            return await _bar(request, tenant, screen, query)
        return Redirect(path=f"{HOME[screen]}?{service.clean_query(query)}", status_code=303)

    @post("/{view_id:int}/delete")
    async def remove(self, request: Request[Any, Any, Any], tenant: TenantScope, view_id: ViewId, data: Form) -> Template | Redirect:
        """Remove a view; the list stays as it is."""
        form = clean_form(data)
        screen = form.get("screen", "leads") if form.get("screen") in service.SCREENS else "leads"
        await service.remove_view(tenant, view_id)
        if is_fragment(request):
            return await _bar(request, tenant, screen, form.get("query", ""))
        return Redirect(path=f"{HOME[screen]}?{service.clean_query(form.get('query', ''))}", status_code=303)
