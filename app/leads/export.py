"""Lead exports: CSV streamed straight out of PostgreSQL, JSON in the guide's §5.1 shape, XLSX with §5.3's features.

CSV runs `COPY (SELECT …) TO STDOUT` and hands the chunks to the response through a small bounded
queue, so memory stays flat whatever the row count. JSON is encoded in batches from a cursor.
XLSX is written by xlsxwriter in constant-memory mode, batch by batch, in a worker thread, and is
refused past 100,000 rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import msgspec
import xlsxwriter
from saq import Queue
from saq.types import Context

from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.core.jobs import job
from app.db import TenantScope, tenant_transaction
from app.events.service import Subject, audit
from app.jobs import progress
from app.leads import policy
from app.leads.service import LeadFilters, _where, lead_source
from app.leads.tables import ExportJob

XLSX_MAX_ROWS = 100_000
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Column:
    """An exportable column: header, SQL expression, spreadsheet cell kind, and whether it is free text."""

    key: str
    header: str
    sql: str
    kind: str = "text"  # text | number | money | datetime | status
    free_text: bool = False

    def select(self, fmt: str) -> str:
        """The SQL for this column in `fmt`: free text is neutralised for CSV only."""
        return _neutralise(self.sql) if fmt == "csv" and self.free_text else self.sql


def _neutralise(expr: str) -> str:
    # Spreadsheet formula injection: text starting with = @ tab or CR, or with + or - unless the whole
    # value is a number or a phone number (+971 50…), gets a leading apostrophe.
    return f"CASE WHEN {expr} ~ '^[=@\\t\\r]' OR ({expr} ~ '^[+-]' AND {expr} !~ '^[+-]?[0-9 ().-]+$') THEN '''' || {expr} ELSE {expr} END"


def _iso(expr: str) -> str:
    return f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


COLUMNS = {
    c.key: c
    for c in (
        Column("lead_id", "Lead ID", "id", "number"),
        Column("name", "Name", "name", free_text=True),
        Column("phone", "Phone", "phone", free_text=True),
        Column("email", "Email", "email", free_text=True),
        Column("status", "Status", "status", "status"),
        Column("budget_min", "Budget Min", "trim_scale(budget_min)", "money"),
        Column("budget_max", "Budget Max", "trim_scale(budget_max)", "money"),
        Column("budget_currency", "Currency", "budget_currency"),
        Column("property_type", "Property Type", "property_type"),
        Column("transaction_type", "Transaction Type", "transaction_type"),
        Column("purpose", "Purpose", "purpose"),
        Column("location", "Location", "preferred_location", free_text=True),
        Column("language", "Language", "language"),
        Column("source", "Source", "source", free_text=True),
        Column("hotness_score", "Hotness Score", "hotness_score", "number"),
        Column("temperature", "Temperature", "temperature"),
        Column("agent_id", "Agent ID", "agent_id", "number"),
        Column("created_at", "Created Date", _iso("created_at"), "datetime"),
        Column("last_interaction", "Last Interaction", _iso("last_interaction"), "datetime"),
    )
}
_ANY_COLUMN = "|".join(COLUMNS)
# Column names separated by commas, spaces around each (empty: the format's defaults): the parameter's schema and its check.
COLUMNS_PATTERN = f"^ *(?:(?:{_ANY_COLUMN}) *(?:, *(?:{_ANY_COLUMN}) *)*)?$"
# The guide's defaults: §5.2 for CSV, §3.3's table for Excel; JSON gives every column.
DEFAULT_COLUMNS = {
    "csv": ("lead_id", "name", "phone", "email", "status", "budget_min", "budget_max", "property_type", "created_at"),
    "xlsx": (
        "lead_id",
        "name",
        "phone",
        "email",
        "status",
        "budget_min",
        "budget_max",
        "property_type",
        "transaction_type",
        "purpose",
        "location",
        "hotness_score",
        "created_at",
        "last_interaction",
    ),
    "json": tuple(COLUMNS),
}
STATUS_COLOURS = {
    "NEW": "#DBEAFE", "CONTACTED": "#E0E7FF", "QUALIFIED": "#D1FAE5", "VIEWING_SCHEDULED": "#CCFBF1",
    "NEGOTIATING": "#FEF3C7", "WON": "#BBF7D0", "LOST": "#E5E7EB",
}  # fmt: skip
MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to every text/* type
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def pick_columns(raw: str | None, fmt: str) -> list[Column]:
    """`columns=name,phone` → those columns, in that order; none (or blank) → the format's defaults. Anything
    COLUMNS_PATTERN, the parameter's schema, does not match (an unknown name, an empty item) is a 422."""
    keys = [k.strip() for k in (raw or "").split(",")]
    if not re.fullmatch(COLUMNS_PATTERN, raw or ""):
        unknown = [k for k in keys if k not in COLUMNS]
        raise ValidationFailed(
            f"Unknown column: {unknown[0] or '(empty)'}" if unknown else f"Invalid columns: {raw}",
            details={"field": "columns", "provided": raw, "expected": f"comma-separated, from: {', '.join(COLUMNS)}"},
        )
    if keys == [""]:
        return [COLUMNS[k] for k in DEFAULT_COLUMNS[fmt]]
    return [COLUMNS[k] for k in dict.fromkeys(keys)]


async def _select(scope: TenantScope, filters: LeadFilters, columns: list[Column], fmt: str) -> tuple[str, list[Any]]:
    """The export's query, in the current tenant transaction (a search sets its pattern there)."""
    where, args = _where(scope, filters)
    select = ", ".join(f"{c.select(fmt)} AS {c.key}" for c in columns)
    return f"SELECT {select} FROM {await lead_source(filters)} WHERE {where} ORDER BY created_at DESC, id DESC", args


def _check_xlsx_rows(total: int) -> None:
    """Excel files stop at XLSX_MAX_ROWS rows: a clear 422 pointing to CSV, before anything is built."""
    if total > XLSX_MAX_ROWS:
        raise ValidationFailed(
            f"Excel exports are limited to {XLSX_MAX_ROWS:,} rows and {total:,} leads match; narrow the filters or use format=csv",
            details={"field": "format", "provided": "xlsx", "expected": f"csv, or filters matching at most {XLSX_MAX_ROWS:,} leads"},
        )


def filename(fmt: str) -> str:
    """`leads_2025-11-28.csv`, as in the guide."""
    return f"leads_{datetime.now(UTC):%Y-%m-%d}.{fmt}"


async def _audit(scope: TenantScope, fmt: str, filters: LeadFilters, columns: list[Column], rows: int | None) -> None:
    details = {"format": fmt, "columns": [c.key for c in columns], "filters": msgspec.to_builtins(filters), "rows": rows}
    await audit(scope, Subject("lead", ""), "leads.exported", details)


async def count_for_export(scope: TenantScope, filters: LeadFilters) -> int:
    """The exact number of leads an export will contain."""
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id) as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {await lead_source(filters)} WHERE {where}", *args))


async def export_leads(scope: TenantScope, fmt: str, filters: LeadFilters, columns: list[Column]) -> AsyncIterator[bytes]:
    """Check, audit and start an export; every refusal happens here, before the first byte is sent."""
    policy.EXPORT.require(scope)
    if filters.deleted:
        policy.VIEW_DELETED.require(scope)
    total = None if fmt == "csv" else await count_for_export(scope, filters)
    if fmt == "xlsx" and total is not None:
        _check_xlsx_rows(total)
    await _audit(scope, fmt, filters, columns, total)
    if fmt == "csv":
        return stream_csv(scope, filters, columns)
    if fmt == "json":
        return stream_json(scope, filters, columns, total or 0)
    return stream_file(await build_xlsx(scope, filters, columns))


async def stream_csv(scope: TenantScope, filters: LeadFilters, columns: list[Column]) -> AsyncIterator[bytes]:
    """CSV with a header row, straight from COPY; memory stays flat (at most 8 chunks in flight)."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)

    async def put(chunk: bytes | bytearray) -> None:
        await queue.put(bytes(chunk))  # asyncpg hands over reusable buffers

    async def produce() -> None:
        try:
            async with tenant_transaction(scope.tenant_id) as conn:
                sql, args = await _select(scope, filters, columns, "csv")
                await conn.copy_from_query(sql, *args, output=put, format="csv", header=True)
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await producer  # re-raise a database error instead of ending the file silently
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer


async def stream_json(scope: TenantScope, filters: LeadFilters, columns: list[Column], total: int) -> AsyncIterator[bytes]:
    """`{"export_id", "created_at", "total_records", "data": [...]}`, encoded batch by batch."""
    head = {"export_id": "exp_" + secrets.token_hex(4), "created_at": datetime.now(UTC), "total_records": total}
    yield msgspec.json.encode(head)[:-1] + b',"data":['
    first = True
    async with tenant_transaction(scope.tenant_id) as conn:
        sql, args = await _select(scope, filters, columns, "json")
        batch: list[dict[str, Any]] = []
        async for record in conn.cursor(sql, *args, prefetch=BATCH):
            batch.append(dict(record))
            if len(batch) >= BATCH:
                yield (b"" if first else b",") + msgspec.json.encode(batch)[1:-1]
                first, batch = False, []
        if batch:
            yield (b"" if first else b",") + msgspec.json.encode(batch)[1:-1]
    yield b"]}"


class _Sheet:
    """An xlsxwriter workbook written to a temporary file, one batch at a time."""

    def __init__(self, columns: list[Column]) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller after streaming
        self.book = xlsxwriter.Workbook(self.file, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False})
        self.sheet = self.book.add_worksheet("Leads")
        self.columns = columns
        self.widths = [len(c.header) + 2 for c in columns]
        self.row = 1
        header = self.book.add_format({"bold": True, "bg_color": "#F2F4F7", "bottom": 1})
        self.money = self.book.add_format({"num_format": "#,##0"})
        self.status = {s: self.book.add_format({"bg_color": colour}) for s, colour in STATUS_COLOURS.items()}
        for col, column in enumerate(columns):
            self.sheet.write_string(0, col, column.header, header)
        self.sheet.freeze_panes(1, 0)

    def write(self, rows: list[dict[str, Any]]) -> None:
        for record in rows:
            for col, column in enumerate(self.columns):
                value = record[column.key]
                if value is None:
                    continue
                if column.kind in ("number", "money"):
                    self.sheet.write_number(self.row, col, float(value), self.money if column.kind == "money" else None)
                    shown = f"{value:,.0f}" if column.kind == "money" else str(value)
                elif column.kind == "datetime":
                    shown = str(value).replace("T", " ").rstrip("Z")
                    self.sheet.write_string(self.row, col, shown)
                else:
                    self.sheet.write_string(self.row, col, str(value), self.status.get(value) if column.kind == "status" else None)
                    shown = str(value)
                self.widths[col] = min(60, max(self.widths[col], len(shown) + 2))
            self.row += 1

    def close(self) -> None:
        for col, width in enumerate(self.widths):
            self.sheet.set_column(col, col, width)
        self.sheet.autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)
        self.book.close()
        self.file.seek(0)


async def build_xlsx(
    scope: TenantScope, filters: LeadFilters, columns: list[Column], progress: Callable[[int], Awaitable[None]] | None = None
) -> _Sheet:
    """Write the whole workbook to a temporary file before anything is sent, so a failure is an error, not a cut file."""
    written = 0
    sheet = await anyio.to_thread.run_sync(_Sheet, columns)
    try:
        async with tenant_transaction(scope.tenant_id) as conn:
            sql, args = await _select(scope, filters, columns, "xlsx")
            batch: list[dict[str, Any]] = []
            async for record in conn.cursor(sql, *args, prefetch=BATCH):
                batch.append(dict(record))
                if len(batch) >= BATCH:
                    await anyio.to_thread.run_sync(sheet.write, batch)
                    written += len(batch)
                    batch = []
                    if progress is not None:
                        await progress(written)
            await anyio.to_thread.run_sync(sheet.write, batch)
        await anyio.to_thread.run_sync(sheet.close)
    except BaseException:
        sheet.file.close()
        raise
    return sheet


async def stream_file(sheet: _Sheet) -> AsyncIterator[bytes]:
    """The finished workbook in 256 KiB pieces; the temporary file goes when done."""
    try:
        while chunk := await anyio.to_thread.run_sync(sheet.file.read, 256 * 1024):
            yield chunk
    finally:
        sheet.file.close()


# --------------------------------------------------------------------------- background Excel exports

# The leads screen builds Excel files of more rows than this in the background, with a progress bar.
BACKGROUND_FROM = 5_000


KIND = "export"  # its job's kind in job_progress


def _job_view(row: dict[str, Any]) -> ExportJobView:
    return msgspec.convert({k: v for k, v in row.items() if k not in ("content", "filters", "columns")}, ExportJobView)


async def start_export_job(scope: TenantScope, filters: LeadFilters, columns: list[Column], queue: Queue) -> ExportJobView:
    """Queue an Excel export of the view; follow it with get_export_job, download with export_file."""
    policy.EXPORT.require(scope)
    if filters.deleted:
        policy.VIEW_DELETED.require(scope)
    total = await count_for_export(scope, filters)
    _check_xlsx_rows(total)
    async with tenant_transaction(scope.tenant_id):
        rows = await ExportJob.insert(
            ExportJob(
                tenant_id=scope.tenant_id,
                filters=msgspec.to_builtins(filters),
                columns=[c.key for c in columns],
                filename=filename("xlsx"),
                created_by=scope.user_id,
            )
        ).returning(ExportJob.id)
        export_id = rows[0]["id"]
        await progress.track(scope.tenant_id, KIND, export_id, total=total)
        await _audit(scope, "xlsx", filters, columns, total)
        view = _job_view(await _load_job(scope, export_id))
    # Enqueued once the row is committed, so the worker always finds it.
    await run_export.enqueue(queue, tenant_id=scope.tenant_id, export_id=export_id)
    return view


async def _load_job(scope: TenantScope, export_id: int) -> dict[str, Any]:
    """An export of the tenant; only the person who asked for it (or an admin, or the job itself) may see it,
    because its filters may show what their role cannot list (deleted leads)."""
    row = await ExportJob.select().where((ExportJob.id == export_id) & (ExportJob.tenant_id == scope.tenant_id)).first()
    if row is None or not (policy.SEE_ANY_EXPORT.allows(scope) or row["created_by"] == scope.user_id):
        raise ResourceNotFound("Export not found", details={"export_id": export_id})
    job = await progress.of(scope.tenant_id, KIND, export_id)
    if job is None:  # made by a process of the previous version during an upgrade: not started yet
        return {**row, "status": "queued", "total_rows": 0, "processed_rows": 0, "error": "", "finished_at": None}
    return {
        **row,
        "status": job.status,
        "total_rows": job.total,
        "processed_rows": job.processed,
        "error": job.error,
        "finished_at": job.finished_at,
    }


async def _dead_job_failed(scope: TenantScope, row: dict[str, Any], queue: Queue | None) -> dict[str, Any]:
    """An export that says queued or running but whose job is dead (SAQ gave it up after crashes) is marked
    failed, so the person sees it and starts another instead of waiting for ever."""
    young = row["created_at"] > datetime.now(UTC) - timedelta(minutes=1)  # its job may be on its way to the queue
    if queue is None or row["status"] not in ("queued", "running") or young or await run_export.alive(queue, export_id=row["id"]):
        return row
    error = "The export stopped unexpectedly (its worker ended); start it again."
    await progress.fail_if_unfinished(scope.tenant_id, KIND, row["id"], error)  # it may have finished meanwhile
    return await _load_job(scope, row["id"])


async def get_export_job(scope: TenantScope, export_id: int, queue: Queue | None = None) -> ExportJobView:
    """An export and its progress (with `queue`, a dead job is found and reported as failed)."""
    async with tenant_transaction(scope.tenant_id):
        return _job_view(await _dead_job_failed(scope, await _load_job(scope, export_id), queue))


async def export_file(scope: TenantScope, export_id: int, queue: Queue | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of a finished export; 409 while it is still being built. Every download is audited."""
    async with tenant_transaction(scope.tenant_id):
        row = await _dead_job_failed(scope, await _load_job(scope, export_id), queue)
        if row["status"] != "done" or row["content"] is None:
            raise Conflict("The export is not ready yet", details={"status": row["status"]})
        await audit(scope, Subject("export", export_id), "leads.export_downloaded", {"rows": row["total_rows"]})
    return row["filename"], row["content"]


async def run_export_job(tenant_id: int, export_id: int) -> int:
    """The job: build the workbook, reporting progress, and keep the file. Rerunning rebuilds it."""
    async with tenant_transaction(tenant_id):
        job = await _load_job(TenantScope.system(tenant_id, f"export #{export_id}"), export_id)
    raw = job["filters"]
    filters = msgspec.convert(json.loads(raw) if isinstance(raw, str) else raw, LeadFilters)
    async with tenant_transaction(tenant_id):
        if await progress.of(tenant_id, KIND, export_id) is None:  # made during an upgrade (see _load_job)
            await progress.track(tenant_id, KIND, export_id, total=await count_for_export(TenantScope.system(tenant_id, "export"), filters))
        await progress.running(tenant_id, KIND, export_id, processed=0)
    keys = json.loads(job["columns"]) if isinstance(job["columns"], str) else job["columns"]
    scope = TenantScope.system(tenant_id, f"export #{export_id}", on_behalf_of=job["created_by"])

    async def write_progress(done: int) -> None:
        await progress.advance(tenant_id, KIND, export_id, to=done)

    async def report_progress(done: int) -> None:
        # A fresh context, so this commits on its own connection instead of joining the build's
        # transaction (which would only show the progress when everything is done).
        await asyncio.create_task(write_progress(done), context=contextvars.Context())

    try:
        sheet = await build_xlsx(scope, filters, [COLUMNS[k] for k in keys], report_progress)
    except asyncio.CancelledError:  # its worker is stopping (SIGTERM): SAQ re-queues it, so it waits, not failed
        await asyncio.create_task(progress.requeued(tenant_id, KIND, export_id), context=contextvars.Context())
        raise
    except BaseException as exc:
        failed = progress.fail(tenant_id, KIND, export_id, f"Stopped: {type(exc).__name__}")
        await asyncio.create_task(failed, context=contextvars.Context())
        raise
    try:
        content = await anyio.to_thread.run_sync(sheet.file.read)
    finally:
        sheet.file.close()
    async with tenant_transaction(tenant_id):
        await ExportJob.update({ExportJob.content: content}).where(ExportJob.id == export_id)
        await progress.finish(tenant_id, KIND, export_id)
    return int(job["total_rows"])


@job(key="export:{export_id}", timeout=1800, retries=2, heartbeat=30)
async def run_export(ctx: Context, *, tenant_id: int, export_id: int) -> int:
    """The job building a large Excel export in the background; a retry rebuilds it from scratch."""
    return await run_export_job(tenant_id, export_id)


class ExportJobView(msgspec.Struct, kw_only=True):
    """A background export and its progress."""

    id: int
    format: str
    status: str
    total_rows: int
    processed_rows: int
    filename: str
    error: str
    created_at: datetime
    finished_at: datetime | None = None
