"""The leads' milestones: when each lead first reached each stage of the funnel (one row per lead).

Kept by triggers on `lead` in the transaction of every change (a statement-level trigger, so bulk inserts and
updates stay cheap), so it is as fresh as the leads themselves; the migration that made it filled it from the leads'
recorded status history (their `created` and `status_changed` timeline entries)."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from app.leads.tables import Lead
from app.tenancy.tables import Tenant


class LeadMilestone(Table, tablename="lead_milestone"):
    """The first time a lead reached each stage (None: not yet), and the fields the figures are grouped by."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.cascade, null=False, unique=True)
    agent_id = BigInt(null=True, default=None)
    source = Varchar(length=50, default="")
    campaign_id = BigInt(null=True, default=None)
    live = Boolean(default=True)  # False once the lead is deleted
    started_at = Timestamptz()
    responded_at = Timestamptz(null=True, default=None)  # first move away from NEW
    qualified_at = Timestamptz(null=True, default=None)
    phone_at = Timestamptz(null=True, default=None)
    viewing_at = Timestamptz(null=True, default=None)
    won_at = Timestamptz(null=True, default=None)
    lost_at = Timestamptz(null=True, default=None)
