"""The one way to render HTML: a page template in full, or one of its blocks for an htmx request."""

from __future__ import annotations

from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.response import Template

from app.web.context import principal_of

NAV = [
    ("dashboard", "Dashboard", "/"),
    ("leads", "Leads", "/leads"),
    ("contacts", "Contacts", "/contacts"),
    ("pipeline", "Pipeline", "/pipeline"),
    ("tickets", "Tickets", "/tickets"),
    ("calls", "Calls", "/calls"),
    ("invoices", "Invoices", "/invoices"),
    ("settings", "Settings", "/settings"),
]


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """An htmx request that wants a fragment (boosted navigation wants the whole page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any],
    *,
    block: str = "content",
    status_code: int = 200,
    push_url: str | None = None,
    trigger_event: str | None = None,
    re_target: str | None = None,
) -> Template:
    """Render `template`: only `block` for htmx requests, the whole page otherwise."""
    ctx = {"principal": principal_of(request.scope), "nav": NAV, "path": request.url.path, **context}  # type: ignore[arg-type]
    if is_htmx(request):
        return HTMXBlockTemplate(
            template_name=template,
            block_name=block,
            context=ctx,
            status_code=status_code,
            push_url=push_url,
            trigger_event=trigger_event,
            # HTMXBlockTemplate does not pass re_target on, so the header is set here.
            headers={"HX-Retarget": re_target} if re_target else None,
            after="receive" if trigger_event else None,
        )
    return Template(template_name=template, context=ctx, status_code=status_code)
