"""Browser UI for CSV imports: upload, map and check, confirm, watch the progress, download the report."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Stream, Template
from saq import Queue

from app.core.errors import DomainError, ValidationFailed
from app.db import TenantScope
from app.events.stream import latest_id
from app.imports import policy, schemas, service
from app.web.auth import guard
from app.web.ui import refusal_stays_on_page, render


class ImportPagesController(Controller):
    """The import wizard."""

    path = "/imports"
    include_in_schema = False
    guards = [guard(policy.RUN)]

    @get("/new")
    async def new(self, request: Request[Any, Any, Any], kind: str = "leads") -> Template:
        """Step 1: choose a CSV file."""
        return render(request, "imports/new.html", {"active": "leads", "kind": kind, "error": None})

    @post("/", request_max_body_size=service.MAX_BYTES + 1024 * 1024)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Keep the file, then go on to the mapping."""
        kind = str(data.get("kind", "leads"))
        upload = data.get("file")
        try:
            if not isinstance(upload, UploadFile):
                raise ValidationFailed("Choose a CSV file to import", details={"field": "file"})
            job = await service.upload(tenant, kind, upload.filename or "import.csv", await upload.read())
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return render(request, "imports/new.html", {"active": "leads", "kind": kind, "error": exc.human}, status_code=422)
        return Redirect(path=f"/imports/{job.id}", status_code=303)

    @get("/{import_id:int}")
    async def show(self, request: Request[Any, Any, Any], tenant: TenantScope, import_id: int, queue: Queue) -> Template:
        """Step 2 (map and check), 3 (confirm) or 4 (progress and report), by the import's status."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        job = await service.get(tenant, import_id, queue)
        ctx = {"active": "leads", "job": job, "preview": None, "error": None, "live_after": live_after}
        return render(request, "imports/show.html", ctx)

    @post("/{import_id:int}/preview")
    async def preview(self, request: Request[Any, Any, Any], tenant: TenantScope, import_id: int) -> Template:
        """Dry run with the chosen mapping; shows what would happen to the rows, writes nothing."""
        form = await request.form()
        job = await service.get(tenant, import_id)
        mapping = {column: str(form.get(f"map:{column}")) for column in job.columns if form.get(f"map:{column}")}
        on_duplicate: schemas.OnDuplicate = "update" if form.get("on_duplicate") == "update" else "skip"
        try:
            result = await service.preview(tenant, import_id, schemas.PreviewRequest(mapping=mapping, on_duplicate=on_duplicate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            job.mapping = mapping
            return render(
                request, "imports/show.html", {"active": "leads", "job": job, "preview": None, "error": exc.human}, status_code=422
            )
        return render(request, "imports/show.html", {"active": "leads", "job": result.job, "preview": result, "error": None})

    @post("/{import_id:int}/run")
    async def start(self, request: Request[Any, Any, Any], tenant: TenantScope, import_id: int, queue: Queue) -> Redirect:
        """Confirm: the import runs in the background (a second click just shows its progress)."""
        if (await service.get(tenant, import_id, queue)).status in ("previewed", "failed"):
            form = await request.form()
            confirm = form.get("confirm")
            await service.start(tenant, import_id, queue, str(confirm) if confirm else None)
        return Redirect(path=f"/imports/{import_id}", status_code=303)

    @get("/{import_id:int}/progress")
    async def progress(self, request: Request[Any, Any, Any], tenant: TenantScope, import_id: int, queue: Queue) -> Template:
        """The progress block, redrawn when the import's task_progress / task_completed events arrive."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        job = await service.get(tenant, import_id, queue)
        ctx = {"active": "leads", "job": job, "preview": None, "error": None, "live_after": live_after}
        return render(request, "imports/show.html", ctx, block="progress")

    @get("/{import_id:int}/report")
    async def report(self, request: Request[Any, Any, Any], tenant: TenantScope, import_id: int) -> Stream:
        """The per-row report as CSV."""
        body = await service.report(tenant, import_id)
        return Stream(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="import_{import_id}_report.csv"'},
        )
