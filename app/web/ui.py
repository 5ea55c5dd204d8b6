"""The screens' toolkit: the one way to render HTML (a page, or one or more of its blocks for htmx) and to read forms.

A page template has named blocks; an htmx request gets just the block(s) it asks for, so a page
and its fragments can never drift apart. Templates get `principal`, the navigation and
`can(name, record=None)`, which asks the same permissions (app.core.policy) the services enforce.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Response, Template
from markupsafe import Markup

from app.core.errors import DomainError, PermissionDenied, ResourceNotFound
from app.core.locales import is_rtl
from app.core.policy import REGISTRY
from app.core.validation import problems_of
from app.web import times
from app.web.context import principal_of

# A url-encoded form body.
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def is_fragment(request: Request[Any, Any, Any]) -> bool:
    """An htmx request that wants a fragment (boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted  # type: ignore[union-attr]


def targets(request: Request[Any, Any, Any], element_id: str) -> bool:
    """Whether this htmx request swaps the element with id `element_id`."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == element_id  # type: ignore[union-attr]


def page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What every page's layout needs: the signed-in person, the navigation, `can()` and the path."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]

    def can(name: str, record: Any = None) -> bool:
        return principal is not None and REGISTRY[name].allows(principal, record)

    zone = principal.time_zone if principal else "UTC"
    locale = (principal.locale if principal else None) or times.pick_locale(request.headers.get("accept-language"))

    def when(value: datetime | None, style: str = "datetime", *, empty: str = "") -> Markup:
        return times.when(value, style, zone, empty=empty, locale=locale)

    def number(value: Any, places: int = 0, *, empty: str = "—") -> str:
        return times.number(value, places, locale, empty=empty)

    return {
        "principal": principal,
        "nav": request.app.state.nav,
        "path": request.url.path,
        "can": can,
        "when": when,
        "number": number,
        "zone": zone,
        "locale": locale,
        "lang": locale.replace("_", "-"),
        "text_dir": "rtl" if is_rtl(locale) else "ltr",
    }


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any],
    *,
    block: str | Sequence[str] = "content",
    status_code: int = 200,
    push_url: str | None = None,
    trigger_event: str | None = None,
    re_target: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    """Render `template`: only `block` (or several blocks, for out-of-band swaps) for htmx, the whole page otherwise."""
    ctx = {**page_context(request), **context}
    if is_fragment(request):
        blocks = [block] if isinstance(block, str) else list(block)
        return HTMXBlockTemplate(
            template_name=template,
            block_name=blocks[0] if len(blocks) == 1 else None,
            block_names=blocks if len(blocks) > 1 else None,
            context=ctx,
            status_code=status_code,
            push_url=push_url,
            trigger_event=trigger_event,
            re_target=re_target,
            after="receive" if trigger_event else None,
            headers=headers,
        )
    return Template(template_name=template, context=ctx, status_code=status_code, headers=headers)


def clean_form(form: dict[str, str]) -> dict[str, str]:
    """Form fields without the CSRF token and other `_`-prefixed controls."""
    return {k: v for k, v in form.items() if not k.startswith("_")}


def form_errors(exc: DomainError) -> dict[str, str]:
    """Field → what a person should do, for a form a rule refused: every bad field at once."""
    errors: dict[str, str] = {}
    for problem in problems_of(exc) if exc.field else []:
        errors.setdefault(problem.field, problem.human)
    return errors or {"form": exc.human}


def refusal_stays_on_page(exc: DomainError) -> bool:
    """A refused form is shown again with its errors; a forbidden or missing record is an error page instead."""
    return not isinstance(exc, PermissionDenied | ResourceNotFound)


def form_number(raw: str | None) -> int | None:
    """An id or a count from a form or a query string, or None (ASCII digits only: "²" is a digit to Python)."""
    return int(raw) if raw and re.fullmatch(r"[0-9]{1,18}", raw) else None


def download(content: bytes, filename: str, media_type: str, *, inline: bool = False) -> Response[bytes]:
    """A file to save (or, `inline`, to show in the browser), never kept by a browser or a proxy."""
    disposition = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})
