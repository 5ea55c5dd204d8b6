"""JSON API: CSV imports of leads and contacts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Stream
from saq import Queue

from app.core.scopes import resource_opt
from app.db import TenantScope
from app.imports import policy, schemas, service
from app.web.auth import guard
from app.web.json import ApiResponse


class ImportController(Controller):
    """Upload a CSV, check it, confirm it, follow it, read its report."""

    path = "/v2/imports"
    opt = resource_opt("imports")  # its scopes: imports:read, imports:write
    tags = ["Imports"]
    guards = [guard(policy.RUN)]

    @post(
        "/",
        operation_id="uploadImport",
        summary="Upload a CSV of leads or contacts",
        status_code=201,
        request_max_body_size=service.MAX_BYTES + 1024 * 1024,
    )
    async def upload(
        self, tenant: TenantScope, data: Annotated[schemas.ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> ApiResponse[schemas.ImportJob]:
        """Multipart: `file` (UTF-8 CSV with a header row, at most 10 MB / 50,000 rows) and `kind` (leads or contacts).
        Answers with the columns and a suggested mapping; nothing is imported yet."""
        upload = data.file
        job = await service.upload(tenant, data.kind, upload.filename or "import.csv", await upload.read())
        return ApiResponse(job, status_code=201, headers={"Location": f"/v2/imports/{job.id}"})

    @get("/{import_id:int}", operation_id="getImport", summary="An import and its progress")
    async def get_import(self, tenant: TenantScope, queue: Queue, import_id: int) -> schemas.ImportJob:
        """`processed_rows` of `total_rows`; `status` uploaded → previewed → queued → running → done, or failed with `error`
        (an import whose job died after its retries is failed too; running it again resumes it)."""
        return await service.get(tenant, import_id, queue)

    @post("/{import_id:int}/preview", operation_id="previewImport", summary="Dry run with a column mapping", status_code=200)
    async def preview(self, tenant: TenantScope, import_id: int, data: schemas.PreviewRequest) -> schemas.Preview:
        """What would be created, updated (duplicates with `on_duplicate=update`), skipped and why rows fail. Writes nothing."""
        return await service.preview(tenant, import_id, data)

    @post("/{import_id:int}/run", operation_id="runImport", summary="Confirm and start the import", status_code=202)
    async def start(
        self,
        tenant: TenantScope,
        queue: Queue,
        import_id: int,
        confirm: Annotated[str | None, Parameter(description="The preview's `confirm`: refuses (409) if the mapping changed since")] = None,
    ) -> schemas.ImportJob:
        """Runs as a background job, once; follow it with GET."""
        return await service.start(tenant, import_id, queue, confirm)

    @get("/{import_id:int}/report", operation_id="getImportReport", summary="What happened to every row (CSV)", media_type="text/csv")
    async def report(self, tenant: TenantScope, import_id: int) -> Stream:
        """`row,outcome,record_id,message` for every row processed so far."""
        body = await service.report(tenant, import_id)
        return Stream(
            body,
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": f'attachment; filename="import_{import_id}_report.csv"'},
        )
