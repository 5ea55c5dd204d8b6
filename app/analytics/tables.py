"""The leads' milestones: when each lead first reached each stage of the funnel (one row per lead).

Kept by triggers on `lead` in the transaction of every change (a statement-level trigger, so bulk inserts and
updates stay cheap), so it is as fresh as the leads themselves; the migration that made it filled it from the leads'
recorded status history (their `created` and `status_changed` timeline entries)."""

from __future__ import annotations

from decimal import Decimal

from piccolo.columns import BigInt, BigSerial, Boolean, Date, ForeignKey, Numeric, OnDelete, Text, Timestamptz, Varchar
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
    utm_campaign = Text(null=True, default=None)  # the lead's `utm_campaign` custom field (None when blank)
    live = Boolean(default=True)  # False once the lead is deleted
    started_at = Timestamptz()
    responded_at = Timestamptz(null=True, default=None)  # first move away from NEW
    qualified_at = Timestamptz(null=True, default=None)
    phone_at = Timestamptz(null=True, default=None)
    viewing_at = Timestamptz(null=True, default=None)
    won_at = Timestamptz(null=True, default=None)
    lost_at = Timestamptz(null=True, default=None)


class LeadDay(Table, tablename="lead_day"):
    """The funnel's counts per tenant, day (the leads' UTC creation day), agent and source, summed from the live
    leads' milestones as they stand now: kept by statement triggers on `lead_milestone` in the transaction of every
    change, so a period that ends now reads a few rows a day instead of every lead (`agent_id` 0: nobody's)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    day = Date()
    agent_id = BigInt(default=0)
    source = Varchar(length=50, default="")
    started = BigInt(default=0)
    qualified = BigInt(default=0)
    phone_captured = BigInt(default=0)  # qualified and a phone (each stage counts those that passed every one before)
    viewing_scheduled = BigInt(default=0)
    closed_won = BigInt(default=0)
    won = BigInt(default=0)  # reached WON, whatever came before
    qualification_seconds = Numeric(default=Decimal(0))  # summed over the qualified ones
    responded = BigInt(default=0)
    response_seconds = Numeric(default=Decimal(0))  # summed over the responded ones


class DealOpen(Table, tablename="deal_open"):
    """The open deals' count and value per tenant, stage, owner and currency, kept by statement triggers on `deal` in
    the transaction of every change (the pipeline's figures read these few rows, not every open deal; `owner_id` 0:
    nobody's)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    stage_id = BigInt()
    owner_id = BigInt(default=0)
    currency = Varchar(length=3, default="")
    deals = BigInt(default=0)
    value = Numeric(digits=(18, 2), default=Decimal(0))
