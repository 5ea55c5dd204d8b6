"""Background jobs that exhausted their retries, kept so an admin can see and replay them."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class FailedJob(Table, tablename="failed_job"):
    """A SAQ job that failed for good. System jobs (no tenant) are visible to operators only."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=True, index=True)
    job_key = Varchar(length=200)
    function = Varchar(length=100, index=True)
    kwargs = JSONB(default={})
    options = JSONB(default={})  # timeout and retry settings, reused by a replay
    error = Text(default="")
    attempts = Integer(default=0)
    failed_at = Timestamptz(default=TimestamptzNow())
    replayed_at = Timestamptz(null=True, default=None)
    replay_job_key = Varchar(length=200, null=True, default=None)


class JobProgress(Table, tablename="job_progress"):
    """The progress of one long job (an import, an export, a PDF batch, …), whatever its kind.

    `kind` and `subject_id` name the row the job works on (`import` 12, `export` 7); the domain
    keeps what is particular to it (the file, the mapping, the outcome of each row) in its own table.
    """

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=40)
    subject_id = BigInt()
    status = Varchar(length=20, default="queued")  # queued | running | done | failed
    total = Integer(default=0)
    processed = Integer(default=0)
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
