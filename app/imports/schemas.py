"""Request and response types of CSV imports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from litestar.datastructures import UploadFile

from app.core.schemas import RequestBody, ResponseBody

ImportKind = Literal["leads", "contacts"]
OnDuplicate = Literal["skip", "update"]


class ImportJob(ResponseBody):
    """An import: its file's columns, the mapping, and its progress."""

    id: int
    kind: str
    filename: str
    columns: list[str]
    mapping: dict[str, str]
    on_duplicate: str
    status: str
    total_rows: int
    processed_rows: int
    created_rows: int
    updated_rows: int
    skipped_rows: int
    failed_rows: int
    error: str
    created_at: datetime
    finished_at: datetime | None = None
    fields: list[str] = []


class ImportUpload(RequestBody):
    """The multipart upload: a UTF-8 CSV with a header row, and what its rows are."""

    file: UploadFile
    kind: Literal["leads", "contacts"] = "leads"


class PreviewRequest(RequestBody):
    """Which file column goes to which field (`{"Mobile": "phone"}`; unmapped columns are ignored)."""

    mapping: dict[str, str]
    on_duplicate: OnDuplicate = "skip"


class PreviewRow(ResponseBody):
    """What the import would do with one row."""

    row: int
    outcome: str
    message: str
    values: dict[str, str]


class Preview(ResponseBody):
    """A dry run over every row: nothing was written."""

    job: ImportJob
    would_create: int
    would_update: int
    would_skip: int
    would_fail: int
    rows: list[PreviewRow]
    confirm: str
