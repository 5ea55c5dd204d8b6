"""Imports: the uploaded file, its mapping and progress, and what happened to each row."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, Bytea, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class ImportJob(Table, tablename="import_job"):
    """One CSV upload. Nothing is written to leads or contacts until a person confirms the preview.

    Once started, its status and progress are the job's (app.jobs.progress, kind "import")."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=20)  # leads | contacts
    filename = Varchar(length=200, default="")
    content = Bytea()
    columns = JSONB(default=[])
    mapping = JSONB(default={})
    on_duplicate = Varchar(length=10, default="skip")  # skip | update
    status = Varchar(length=20, default="uploaded")  # uploaded | previewed | started (then: the job's progress)
    total_rows = Integer(default=0)
    created_rows = Integer(default=0)
    updated_rows = Integer(default=0)
    skipped_rows = Integer(default=0)
    failed_rows = Integer(default=0)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ImportRow(Table, tablename="import_row"):
    """What happened to one row of an import: created, updated, skipped or failed, and why."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    import_id = ForeignKey(references=ImportJob, on_delete=OnDelete.cascade, null=False)
    row_number = Integer()
    outcome = Varchar(length=10)
    record_id = BigInt(null=True, default=None)
    message = Text(default="")
