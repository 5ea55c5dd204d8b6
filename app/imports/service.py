"""CSV imports of leads and contacts: upload, map, dry-run, confirm, run as a job, report per row.

Nothing is written to leads or contacts until a person has seen the dry run and confirmed it.
The job goes through the leads and contacts services (validation, duplicates, scoring, timelines),
one savepoint per row so a bad row never spoils its batch, and commits each batch together with
its per-row outcomes and the progress, so a retried job resumes where it stopped and never imports
a row twice.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import asyncpg
import msgspec
from saq import Queue
from saq.types import Context

from app.contacts import schemas as contact_schemas
from app.contacts import service as contacts
from app.core.errors import Conflict, DomainError, ResourceNotFound, ValidationFailed
from app.core.jobs import job
from app.core.schemas import normalise_phone
from app.core.validation import convert_input, in_words
from app.db import TenantScope, fetch, tenant_transaction
from app.imports import policy, schemas
from app.imports.tables import ImportJob
from app.jobs import progress
from app.leads import schemas as lead_schemas
from app.leads import service as leads

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
PREVIEW_ROWS = 50
BATCH = 200
FIELDS = {
    "leads": (
        "name", "phone", "email", "source", "language", "status", "budget_min", "budget_max", "budget_currency",
        "transaction_type", "property_type", "purpose", "bedrooms_min", "bedrooms_max", "preferred_location", "notes",
    ),
    "contacts": ("name", "email", "phone", "title", "notes"),
}  # fmt: skip
# Header spellings people use, mapped to fields (matched after lower-casing and dropping spaces, - and _).
ALIASES = {
    "fullname": "name", "contactname": "name", "leadname": "name", "mobile": "phone", "phonenumber": "phone",
    "tel": "phone", "telephone": "phone", "mail": "email", "emailaddress": "email", "budget": "budget_max",
    "maxbudget": "budget_max", "minbudget": "budget_min", "currency": "budget_currency", "type": "property_type",
    "propertytype": "property_type", "location": "preferred_location", "area": "preferred_location",
    "lang": "language", "comment": "notes", "comments": "notes", "jobtitle": "title", "position": "title",
}  # fmt: skip


def _job(row: dict[str, Any]) -> schemas.ImportJob:
    for name in ("columns", "mapping"):
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    before_start = {"processed_rows": 0, "error": "", "finished_at": None}
    return msgspec.convert({**before_start, **row, "fields": list(FIELDS[row["kind"]])}, schemas.ImportJob)


def _delimiter(text: str) -> str:
    """The separator is the one that splits the header row into the most columns (comma when none does): unlike
    csv.Sniffer, short or ragged data rows cannot mislead it."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    columns = {d: len(next(csv.reader([header], delimiter=d), [])) for d in (",", ";", "\t")}
    best = max(columns, key=lambda d: columns[d])
    return best if columns[best] > 1 else ","


def _read(content: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file (UTF-8 with or without BOM; comma, semicolon or tab separated)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("The file is not UTF-8 text", details={"field": "file", "expected": "a CSV file saved as UTF-8"}) from None
    text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    delimiter = _delimiter(text)
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not valid CSV: {exc}", details={"field": "file", "expected": "a CSV file"}) from None
    if not rows:
        raise ValidationFailed("The file is empty", details={"field": "file", "expected": "a header row and at least one row"})
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ValidationFailed("Every column needs a distinct, non-empty header", details={"field": "file", "provided": ", ".join(header)})
    return header, rows[1:]


def suggest_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """Guess which column holds which field from its header."""
    mapping: dict[str, str] = {}
    for column in header:
        key = re.sub(r"[\s_\-]", "", column.lower())
        field = next((f for f in FIELDS[kind] if f.replace("_", "") == key), None) or ALIASES.get(key)
        if field in FIELDS[kind] and field not in mapping.values():
            mapping[column] = field
    return mapping


async def upload(scope: TenantScope, kind: str, filename: str, content: bytes) -> schemas.ImportJob:
    """Keep an uploaded CSV and suggest a mapping; nothing else is written."""
    policy.RUN.require(scope)
    if kind not in FIELDS:
        raise ValidationFailed("Invalid kind", details={"field": "kind", "provided": kind, "expected": "leads or contacts"})
    if len(content) > MAX_BYTES:
        raise ValidationFailed("The file is too large", details={"field": "file", "expected": f"at most {MAX_BYTES // (1024 * 1024)} MB"})
    header, rows = _read(content)
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(
            "Too many rows", details={"field": "file", "provided": len(rows), "expected": f"at most {MAX_ROWS:,} rows per file"}
        )
    async with tenant_transaction(scope.tenant_id):
        inserted = await ImportJob.insert(
            ImportJob(
                tenant_id=scope.tenant_id,
                kind=kind,
                filename=filename[:200],
                content=content,
                columns=header,
                mapping=suggest_mapping(kind, header),
                total_rows=len(rows),
                created_by=scope.user_id,
            )
        ).returning(*ImportJob.all_columns(exclude=[ImportJob.content]))
    return _job(dict(inserted[0]))


KIND = "import"  # its job's kind in job_progress


async def _load(scope: TenantScope, import_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The import with its job's progress: once started, its status is the job's."""
    # The progress first, then the counts: each statement sees what was committed when it began, and the job is marked
    # done only after its last counts commit, so a "done" read first always comes with the final counts (read the other
    # way round, a finish landing between the two reads showed "Done" with the counts of before: "0 new").
    # (Locking, its runner reads the row first: whatever it waited for is committed by then.)
    job = None if lock else await progress.of(scope.tenant_id, KIND, import_id)
    query = ImportJob.select().where((ImportJob.id == import_id) & (ImportJob.tenant_id == scope.tenant_id))
    row = await (query.lock_rows("UPDATE") if lock else query).first()
    if row is None:
        raise ResourceNotFound("Import not found", details={"import_id": import_id})
    if lock:
        job = await progress.of(scope.tenant_id, KIND, import_id)
    return {
        **row,
        "stage": row["status"],  # the wizard's own step: uploaded, previewed or started
        "status": job.status if job is not None and row["status"] == "started" else row["status"],
        "processed_rows": job.processed if job else 0,
        "error": job.error if job else "",
        "finished_at": job.finished_at if job else None,
    }


DEAD = "The import stopped unexpectedly (its worker ended or it ran out of time); resume it to go on where it stopped."


async def get(scope: TenantScope, import_id: int, queue: Queue | None = None) -> schemas.ImportJob:
    """An import and its progress (with `queue`, one whose job is dead, SAQ having given it up after crashes, is
    marked failed, so the person sees it and resumes it instead of watching "running" for ever)."""
    policy.RUN.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, import_id)
        # Its job is queued before the import says so (both in `start`), so a queued import without a live job is dead.
        if queue is not None and row["status"] in ("queued", "running") and not await run_import.alive(queue, import_id=import_id):
            await progress.fail_if_unfinished(scope.tenant_id, KIND, import_id, DEAD)  # unless it finished meanwhile
            row = await _load(scope, import_id)
    row.pop("content")
    return _job(row)


def _records(job: dict[str, Any]) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {field: value}) for each data row; row 2 is the first under the header."""
    header, rows = _read(bytes(job["content"]))
    mapping = json.loads(job["mapping"]) if isinstance(job["mapping"], str) else job["mapping"]
    for number, row in enumerate(rows, start=2):
        values = {
            field: (row[header.index(column)] if header.index(column) < len(row) else "").strip() for column, field in mapping.items()
        }
        yield number, {k: v for k, v in values.items() if v != ""}


def _parse(kind: str, values: dict[str, str]) -> msgspec.Struct:
    """The row as the create schema (the same validation as the API), or a ValidationFailed."""
    data: dict[str, Any] = dict(values)
    if "status" in data:
        data["status"] = data["status"].upper().replace(" ", "_")
    for name in ("transaction_type", "property_type", "purpose"):
        if name in data:
            data[name] = data[name].upper()
    if data.get("phone") and _valid_phone(data["phone"]):
        data["phone"] = normalise_phone(data["phone"])  # `+971 50/123 4567` as files hold them, before the schema
    target = lead_schemas.LeadCreate if kind == "leads" else contact_schemas.ContactCreate
    parsed: msgspec.Struct = convert_input(data, target)  # every bad field of the row at once, in a person's words
    if kind == "leads":
        ranges = {k: getattr(parsed, k) for k in ("budget_min", "budget_max", "bedrooms_min", "bedrooms_max")}
        leads.check_ranges({k: v for k, v in ranges.items() if v is not msgspec.UNSET})
    return parsed


async def _existing(scope: TenantScope, kind: str, records: list[tuple[int, dict[str, str]]]) -> dict[str, int]:
    """Live records of the tenant that rows would duplicate: {'phone:+971…' or 'email:a@b': id}."""
    table = "lead" if kind == "leads" else "contact"
    live = "AND deleted_at IS NULL" if kind == "leads" else ""
    phones = [normalise_phone(v["phone"]) for _, v in records if v.get("phone") and _valid_phone(v["phone"])]
    emails = [v["email"].lower() for _, v in records if v.get("email")]
    rows = await fetch(
        f"SELECT id, phone, lower(email) AS email FROM {table} WHERE tenant_id = $1 {live} "
        "AND (phone = ANY($2::text[]) OR lower(email) = ANY($3::text[]))",
        scope.tenant_id,
        phones,
        emails,
    )
    found: dict[str, int] = {}
    for row in rows:
        if row["phone"]:
            found[f"phone:{row['phone']}"] = row["id"]
        if row["email"]:
            found[f"email:{row['email']}"] = row["id"]
    return found


def _valid_phone(phone: str) -> bool:
    try:
        normalise_phone(phone)
    except ValidationFailed:
        return False
    return True


def _duplicate_of(values: dict[str, str], existing: dict[str, int]) -> int | None:
    keys = []
    if values.get("phone") and _valid_phone(values["phone"]):
        keys.append(f"phone:{normalise_phone(values['phone'])}")
    if values.get("email"):
        keys.append(f"email:{values['email'].lower()}")
    return next((existing[k] for k in keys if k in existing), None)


async def preview(scope: TenantScope, import_id: int, data: schemas.PreviewRequest) -> schemas.Preview:
    """Check every row with the chosen mapping and say what would happen; writes nothing but the mapping."""
    policy.RUN.require(scope)
    async with tenant_transaction(scope.tenant_id):
        job = await _load(scope, import_id, lock=True)
        if job["status"] not in ("uploaded", "previewed"):
            raise Conflict("This import has already been started", details={"status": job["status"]})
        fields = FIELDS[job["kind"]]
        columns = json.loads(job["columns"]) if isinstance(job["columns"], str) else job["columns"]
        unknown = {c: f for c, f in data.mapping.items() if c not in columns or f not in fields}
        if unknown:
            column, field = next(iter(unknown.items()))
            raise ValidationFailed(
                f"Cannot map {column!r} to {field!r}",
                # `reason`: which columns and fields exist is a fact of this upload (its header row and kind), not of the request.
                details={
                    "field": "mapping",
                    "provided": column,
                    "expected": f"file columns to: {', '.join(fields)}",
                    "reason": "unknown_reference",
                },
            )
        if len(set(data.mapping.values())) != len(data.mapping):
            # `reason`: no JSON Schema asks an object's values to be distinct.
            raise ValidationFailed("Each field can take only one column", details={"field": "mapping", "reason": "duplicate_field"})
        if "name" not in data.mapping.values():
            raise ValidationFailed(
                "Map a column to name",
                # `reason`: a rule about the mapping's values as a whole (the schema describes each value alone).
                details={"field": "mapping", "expected": "a column mapped to name", "reason": "name_unmapped"},
            )
        job["mapping"] = data.mapping
        records = list(_records(job))
        existing = await _existing(scope, job["kind"], records)
        # Checking tens of thousands of rows is CPU work: a worker thread, so other requests go on.
        counts, shown = await anyio.to_thread.run_sync(_plan_all, job["kind"], records, existing, data.on_duplicate)
        await ImportJob.update(
            {ImportJob.mapping: data.mapping, ImportJob.on_duplicate: data.on_duplicate, ImportJob.status: "previewed"}
        ).where(ImportJob.id == import_id)
        job.update(status="previewed", on_duplicate=data.on_duplicate)
    job.pop("content")
    return schemas.Preview(
        job=_job(job),
        would_create=counts["create"],
        would_update=counts["update"],
        would_skip=counts["skip"],
        would_fail=counts["fail"],
        rows=shown,
        confirm=confirm_token(data.mapping, data.on_duplicate),
    )


def confirm_token(mapping: dict[str, str], on_duplicate: str) -> str:
    """Names exactly what was checked, so "Import" runs that and not a mapping changed in another tab."""
    return hashlib.sha256(json.dumps([mapping, on_duplicate], sort_keys=True).encode()).hexdigest()[:16]


def _plan_all(
    kind: str, records: list[tuple[int, dict[str, str]]], existing: dict[str, int], on_duplicate: str
) -> tuple[dict[str, int], list[schemas.PreviewRow]]:
    counts = {"create": 0, "update": 0, "skip": 0, "fail": 0}
    shown: list[schemas.PreviewRow] = []
    seen: dict[str, int] = {}
    for number, values in records:
        outcome, message = _plan(kind, values, existing, seen, number, on_duplicate)
        counts[outcome] += 1
        if len(shown) < PREVIEW_ROWS and (outcome == "fail" or len(shown) < 10):
            shown.append(schemas.PreviewRow(row=number, outcome=outcome, message=message, values=values))
    return counts, shown


def _plan(
    kind: str, values: dict[str, str], existing: dict[str, int], seen: dict[str, int], number: int, on_duplicate: str
) -> tuple[str, str]:
    """(create | update | skip | fail, why) for one row, given what already exists and earlier rows."""
    try:
        _parse(kind, values)
    except DomainError as exc:
        return "fail", in_words(exc)
    match = _duplicate_of(values, existing)
    earlier = _duplicate_of(values, seen)
    for key in (f"phone:{normalise_phone(values['phone'])}" if values.get("phone") and _valid_phone(values["phone"]) else "",
                f"email:{values['email'].lower()}" if values.get("email") else ""):  # fmt: skip
        if key:
            seen.setdefault(key, number)
    if earlier is not None:
        return "skip", f"Same phone or e-mail as row {earlier} of this file"
    if match is not None:
        return ("update", f"Updates existing #{match}") if on_duplicate == "update" else ("skip", f"Already exists as #{match}")
    return "create", ""


async def start(scope: TenantScope, import_id: int, queue: Queue, confirm: str | None = None) -> schemas.ImportJob:
    """Confirm a previewed import and queue it as a job (once). `confirm`, from the preview, must still match."""
    policy.RUN.require(scope)
    async with tenant_transaction(scope.tenant_id):
        job = await _load(scope, import_id, lock=True)
        # A started import whose job is over (its worker died and SAQ gave it up) may start again: it resumes.
        dead = job["status"] in ("started", "queued", "running") and not await run_import.alive(queue, import_id=import_id)
        if not dead and job["status"] not in ("previewed", "failed"):
            raise Conflict("Check the file (preview) before importing; an import runs once", details={"status": job["status"]})
        mapping = json.loads(job["mapping"]) if isinstance(job["mapping"], str) else job["mapping"]
        if confirm is not None and confirm != confirm_token(mapping, job["on_duplicate"]):
            raise Conflict("The mapping was changed after you checked it; check the file again", details={"field": "confirm"})
        await ImportJob.update({ImportJob.status: "started"}).where(ImportJob.id == import_id)
        await progress.track(scope.tenant_id, KIND, import_id, total=job["total_rows"])
        if await run_import.enqueue(queue, tenant_id=scope.tenant_id, import_id=import_id) is None:
            raise Conflict("This import is already running", details={"status": "running"})
        from app.events.service import Subject, audit

        await audit(scope, Subject("import", import_id), f"{job['kind']}.imported", {"rows": job["total_rows"]})
    return await get(scope, import_id)


@job(key="import:{import_id}", timeout=3600, retries=3, heartbeat=30)
async def run_import(ctx: Context, *, tenant_id: int, import_id: int) -> dict[str, int]:
    """The job importing a confirmed CSV; resumable and idempotent (each row is imported at most once)."""
    return await run(tenant_id, import_id)


async def run(tenant_id: int, import_id: int) -> dict[str, int]:
    """The job: import rows from where the last attempt stopped, a batch per transaction.

    If it fails, the import is marked failed with the reason; starting it again resumes it. Cancelled (its worker
    stopping), it is queued again, and the next worker resumes it.
    """
    try:
        return await _run(tenant_id, import_id)
    except asyncio.CancelledError:  # its worker is stopping (SIGTERM): SAQ re-queues it, so it waits, not failed
        await progress.requeued(tenant_id, KIND, import_id)
        raise
    except BaseException as exc:
        async with tenant_transaction(tenant_id):
            await ImportJob.update({ImportJob.status: "started"}).where(ImportJob.id == import_id)  # a replay's, if not yet
            await progress.fail(tenant_id, KIND, import_id, f"Stopped: {type(exc).__name__}")
        raise


async def _run(tenant_id: int, import_id: int) -> dict[str, int]:
    probe = TenantScope.system(tenant_id, f"import #{import_id}")
    async with tenant_transaction(tenant_id):
        job = await _load(probe, import_id, lock=True)
        if job["status"] == "done":
            return {"processed": job["processed_rows"]}
        if job["stage"] != "started":  # run without `start` (a replay, an operator): it is started now
            await ImportJob.update({ImportJob.status: "started"}).where(ImportJob.id == import_id)
            await progress.track(tenant_id, KIND, import_id, total=job["total_rows"])
        await progress.running(tenant_id, KIND, import_id)
    scope = TenantScope.system(tenant_id, f"import #{import_id}", on_behalf_of=job["created_by"])
    records = list(_records(job))[job["processed_rows"] :]
    seen: dict[str, int] = {}
    for start_at in range(0, len(records), BATCH):
        batch = records[start_at : start_at + BATCH]
        async with tenant_transaction(tenant_id) as conn:
            existing = await _existing(scope, job["kind"], batch)
            tally = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
            for number, values in batch:
                outcome, record_id, message = await _import_row(scope, conn, job, values, existing, seen, number)
                tally[outcome] += 1
                await fetch(
                    "INSERT INTO import_row (tenant_id, import_id, row_number, outcome, record_id, message) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (import_id, row_number) DO NOTHING",
                    tenant_id,
                    import_id,
                    number,
                    outcome,
                    record_id,
                    message,
                )
            await fetch(
                """UPDATE import_job SET created_rows = created_rows + $2, updated_rows = updated_rows + $3,
                   skipped_rows = skipped_rows + $4, failed_rows = failed_rows + $5 WHERE id = $1""",
                import_id,
                tally["created"],
                tally["updated"],
                tally["skipped"],
                tally["failed"],
            )
            # In the batch's transaction: a retry resumes exactly after the last committed batch.
            await progress.advance(tenant_id, KIND, import_id, by=len(batch))
    async with tenant_transaction(tenant_id):
        await progress.finish(tenant_id, KIND, import_id)
        done = await _load(probe, import_id)
    return {
        "processed": done["processed_rows"],
        "created": done["created_rows"],
        "updated": done["updated_rows"],
        "failed": done["failed_rows"],
    }


async def _import_row(
    scope: TenantScope, conn: Any, job: dict[str, Any], values: dict[str, str], existing: dict[str, int], seen: dict[str, int], number: int
) -> tuple[str, int | None, str]:
    """Create, update or skip one row inside a savepoint; a failure leaves the batch intact."""
    kind = job["kind"]
    outcome, message = _plan(kind, values, existing, seen, number, job["on_duplicate"])
    if outcome in ("skip", "fail"):
        return ("skipped" if outcome == "skip" else "failed"), None, message
    result = await _write_row(scope, conn, kind, values, existing, outcome)
    if result[0] == "failed":  # a row that could not be saved does not make later rows duplicates
        for key in [k for k, v in seen.items() if v == number]:
            del seen[key]
    return result


async def _write_row(
    scope: TenantScope, conn: Any, kind: str, values: dict[str, str], existing: dict[str, int], outcome: str
) -> tuple[str, int | None, str]:
    try:
        async with conn.transaction():  # savepoint
            parsed = _parse(kind, values)
            target = _duplicate_of(values, existing)
            if outcome == "update" and target is not None:
                fields = {k: getattr(parsed, k) for k in values if k != "status" or kind == "leads"}
                if kind == "leads":
                    await leads.update_lead(scope, target, msgspec.convert(fields, lead_schemas.LeadUpdate), "")
                else:
                    await contacts.update_contact(scope, target, msgspec.convert(fields, contact_schemas.ContactUpdate))
                return "updated", target, ""
            if kind == "leads":
                lead = await leads.create_lead(scope, parsed, "")  # type: ignore[arg-type]
                created_id = lead.id
            else:
                contact = await contacts.create_contact(scope, parsed)  # type: ignore[arg-type]
                created_id = contact.id
            for key in (f"phone:{getattr(parsed, 'phone', None)}", f"email:{(getattr(parsed, 'email', None) or '').lower()}"):
                existing.setdefault(key, created_id)
            return "created", created_id, ""
    except DomainError as exc:
        return "failed", None, exc.message
    except asyncpg.PostgresError as exc:  # rolled back to the savepoint: only this row is lost
        return "failed", None, f"Could not be saved: {type(exc).__name__}"


async def report(scope: TenantScope, import_id: int) -> AsyncIterator[bytes]:
    """A CSV of what happened to every row (row, outcome, id, message); 404 before anything is sent."""
    policy.RUN.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _load(scope, import_id)
    return _report_rows(scope, import_id)


async def _report_rows(scope: TenantScope, import_id: int) -> AsyncIterator[bytes]:
    yield b"row,outcome,record_id,message\r\n"
    async with tenant_transaction(scope.tenant_id) as conn:
        async for record in conn.cursor(
            "SELECT row_number, outcome, record_id, message FROM import_row WHERE tenant_id = $1 AND import_id = $2 ORDER BY row_number",
            scope.tenant_id,
            import_id,
        ):
            out = io.StringIO()
            csv.writer(out).writerow([record["row_number"], record["outcome"], record["record_id"] or "", record["message"]])
            yield out.getvalue().encode()
