"""PDFs with WeasyPrint from the Jinja2 print templates in templates/pdf/, rendered off the event loop.

Rendering runs in a pool of RENDERS_AT_ONCE worker processes (started on the first render, kept for the next ones),
off the event loop and out of its process's GIL. A render that runs past RENDER_TIMEOUT seconds is stopped for good:
its worker process is killed (WeasyPrint cannot be interrupted inside a thread) and replaced, and the caller gets a
clean 503 (a job's render is retried by SAQ).
The print templates escape every value (autoescape), so user text such as `<img src="file:///etc/passwd">`
is printed as text. Whatever still asks for a resource goes through `OwnAssets`, which serves only files of
our own `static/` folder (by a relative URL) and images carried in `data:` URLs (the logo), and refuses
everything else: no file, no network, whatever a template or a value contains.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import logging
import mimetypes
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jinja2
from pebble import ProcessPool

from app.billing.money import percent
from app.core.errors import Unavailable

log = logging.getLogger(__name__)
# WeasyPrint tells every step of every render at INFO: only its warnings belong in the logs. It is imported when the
# first document is rendered (a second of start-up saved for every process that never renders one).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
# The base URL of print documents: `.invalid` never resolves (RFC 2606), and only its /static/ is served, from disk.
ASSET_ORIGIN = "https://atrium.invalid/"
RENDERS_AT_ONCE = 2
RENDER_TIMEOUT = 60.0
_IMAGE_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,")
_POOL: ProcessPool | None = None
_POOL_LOCK = threading.Lock()


class OwnAssets:
    """WeasyPrint's URL fetcher for our documents (its `URLFetcher` interface): our own static files and inline images,
    nothing else. Every URL it is asked for is refused unless it is one of those; nothing is ever opened."""

    _fail_on_errors = False  # a refused resource is left out, the document is still made (WeasyPrint reads this)

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, url: str) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """Serve `https://atrium.invalid/static/…` from static/, and PNG or JPEG `data:` URLs; refuse the rest."""
        from weasyprint.urls import URLFetcherResponse

        if url.startswith(ASSET_ORIGIN + "static/"):
            relative = unquote(url[len(ASSET_ORIGIN + "static/") :].split("?")[0].split("#")[0])
            path = (STATIC / relative).resolve()
            if STATIC in path.parents and path.is_file():
                media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})
        for prefix in _IMAGE_DATA:
            if url.startswith(prefix):
                return URLFetcherResponse(url[:40], base64.b64decode(url[len(prefix) :]), {"Content-Type": prefix[5:].split(";")[0]})
        self.refused.append(url)
        log.info("PDF: refused to fetch %.200s (not one of Atrium's own assets)", url)
        raise ValueError("not one of Atrium's own assets")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _quantity(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _day(value: date | datetime | None) -> str:
    return "" if value is None else f"{value:%d %b %Y}"


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,
)


def _percent2(rate: Decimal) -> str:
    """A computed rate as a percentage with two decimals: 0.071234 → `7.12%`."""
    return f"{rate * 100:.2f}%"


_ENV.filters.update(money=_money, percent=percent, percent2=_percent2, quantity=_quantity, day=_day)


def render_html(template: str, context: Mapping[str, Any]) -> str:
    """A print template filled in (every value escaped)."""
    return _ENV.get_template(template).render(**context)


def html_to_pdf(html: str, fetcher: OwnAssets | None = None) -> bytes:
    """WeasyPrint on `html`, fetching through `fetcher` (a new OwnAssets by default). Blocking: call it in a thread."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=ASSET_ORIGIN, url_fetcher=fetcher or OwnAssets())
    pdf: bytes = document.write_pdf()
    return pdf


def _pool() -> ProcessPool:
    """The render processes (spawned, not forked: this process has threads and an event loop)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or not _POOL.active:
            _POOL = ProcessPool(max_workers=RENDERS_AT_ONCE, context=multiprocessing.get_context("spawn"))
            atexit.register(stop_renders)  # before multiprocessing's own exit handler waits for its children
        return _POOL


def stop_renders() -> None:
    """Stop the render processes (at exit; the next render starts new ones)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.stop()  # type: ignore[no-untyped-call]
        pool.join(timeout=5)


async def render_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    """Fill in `template` and render it to PDF in a render process (`pdf_of_html`)."""
    return await pdf_of_html(render_html(template, context), template)


async def pdf_of_html(html: str, name: str = "document", limit_seconds: float = RENDER_TIMEOUT) -> bytes:
    """`html` rendered to PDF in a render process; 503 (Unavailable) after `limit_seconds` of rendering, the process
    that ran it killed (and replaced)."""
    future = _pool().schedule(html_to_pdf, args=(html,), timeout=limit_seconds)
    try:
        pdf: bytes = await asyncio.wrap_future(future)
        return pdf
    except FutureTimeout:
        log.warning("PDF: %s took longer than %s s to render; its process was stopped", name, limit_seconds)
        raise Unavailable("The document took too long to render; try again", details={"timeout_seconds": limit_seconds}) from None
    finally:
        future.cancel()  # type: ignore[no-untyped-call]  # the caller went away: a queued or running render is dropped


def image_data_url(content: bytes | None, media_type: str) -> str | None:
    """An image as a `data:` URL for a print template (the logo), or None."""
    if not content or media_type not in ("image/png", "image/jpeg"):
        return None
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"
