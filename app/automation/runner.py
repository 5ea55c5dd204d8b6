"""Running automation rules on outbox events, exactly once per (rule, event), in the worker.

Beside every worker (a SAQ startup hook, like the webhook relay) a loop woken by the outbox's NOTIFY (and every 2 s)
takes events no rule has seen (`automated_at IS NULL`). Across tenants it marks at once those no active rule listens
to; each of the others is run in its tenant's transaction: the event row is locked (`FOR UPDATE SKIP LOCKED`, so
several workers share the work), each matching rule's run is recorded in `workflow_run` (unique per rule and event)
and its actions done in the same transaction, then the event is marked. A crash rolls all of it back and the event
is taken again; a rule whose action fails is rolled back to its savepoint and logged as failed.

No loops: the runner sets `atrium.workflow_chain` for a rule's actions, so the events they write carry the rules that
caused them (a trigger on outbox_event); a rule never runs on an event in whose chain it is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
from saq import Queue

from app.activities import service as activities
from app.core.errors import DomainError
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.events.consumer import OutboxLoop
from app.leads import schemas as lead_schemas
from app.leads import service as leads
from app.messages import service as messages
from app.outbound import delivery as outbound
from app.settings import base_url

log = logging.getLogger(__name__)
BATCH = 200
MAX_CHAIN = 5  # a cascade of rules stops after this many steps, whatever the rules say

# Mark every event in the batch that no active rule of its tenant listens to; return the others.
_TAKE = """
WITH batch AS (
    SELECT o.id, o.tenant_id, EXISTS (SELECT 1 FROM workflow w WHERE w.tenant_id = o.tenant_id AND w.active
                                                                AND w.trigger = o.event_type) AS wanted
      FROM outbox_event o WHERE o.automated_at IS NULL ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED
), marked AS (
    UPDATE outbox_event o SET automated_at = now() FROM batch b WHERE o.id = b.id AND NOT b.wanted RETURNING o.id
)
SELECT b.id, b.tenant_id, b.wanted, (SELECT count(*) FROM marked) AS skipped FROM batch b ORDER BY b.id
"""


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def holds(condition: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether one condition holds for an event's data."""
    field, op, want = condition["field"], condition.get("op", "eq"), condition.get("value")
    have = data.get(field)
    if op == "changed_to":
        before = data.get(f"previous_{field}")
        return have == want and before != want
    if op == "eq":
        return have == want or (_number(have) is not None and _number(have) == _number(want))
    if op == "ne":
        return have != want
    if op == "in":
        return isinstance(want, list) and have in want
    if op == "contains":
        return want is not None and (want in have if isinstance(have, list) else str(want).lower() in str(have or "").lower())
    a, b = _number(have), _number(want)
    if a is None or b is None:
        return False
    return a >= b if op == "gte" else a <= b


async def _round_robin(scope: TenantScope, workflow_id: int, run_id: int) -> int | None:
    """The next active agent in turn for this rule (by the number of its done runs before this one), or None."""
    agents = await fetch("SELECT id FROM app_user WHERE tenant_id = $1 AND is_active AND role = 'agent' ORDER BY id", scope.tenant_id)
    if not agents:
        return None
    done = await fetch("SELECT count(*) AS n FROM workflow_run WHERE workflow_id = $1 AND status = 'done' AND id < $2", workflow_id, run_id)
    return int(agents[int(done[0]["n"]) % len(agents)]["id"])


def _lead_id(event: dict[str, Any], data: dict[str, Any]) -> int | None:
    if event["subject_type"] == "lead" and event["subject_id"] is not None:
        return int(event["subject_id"])
    value = data.get("lead_id")
    return int(value) if isinstance(value, int) else None


@dataclass
class FollowUps:
    """What a rule's actions leave to do once their transaction commits: messages to send, webhooks to deliver."""

    communications: list[int] = field(default_factory=list)
    deliveries: list[tuple[int, int, int]] = field(default_factory=list)

    def extend(self, other: FollowUps) -> None:
        """Keep another rule's follow-ups too (its actions were kept)."""
        self.communications += other.communications
        self.deliveries += other.deliveries


async def _act(
    scope: TenantScope,
    rule: dict[str, Any],
    run_id: int,
    action: dict[str, Any],
    event: dict[str, Any],
    data: dict[str, Any],
    follow_ups: FollowUps,
) -> str:
    """Do one action; a few words of what it did, for the run log."""
    lead_id = _lead_id(event, data)
    kind = action["type"]
    if kind in ("assign", "set_status", "add_tag", "send_template") and lead_id is None:
        return f"{kind}: the event is not about a lead"
    if kind == "send_template":
        # Once per event: the rule and the event are the message's idempotency key (a rerun answers the first one).
        message, new = await messages.compose(
            scope,
            template_id=int(action["template_id"]),
            property_id=None,
            lead_id=lead_id,
            channel=action.get("channel"),
            key=f"rule_{rule['id']}_event_{event['id']}",
            send_now=True,
        )
        if new and message["status"] == "queued":
            follow_ups.communications.append(int(message["id"]))
        return f"message {message['id']} to lead {lead_id}: {message['status']}" + (f" ({message['error']})" if message["error"] else "")
    if kind == "call_webhook":
        delivery = await outbound.deliver_event(scope.tenant_id, int(action["webhook_id"]), int(event["id"]))
        if delivery is None:
            return f"call_webhook: webhook {action['webhook_id']} is gone or switched off"
        follow_ups.deliveries.append(delivery)
        return f"webhook {action['webhook_id']}: delivery {delivery[0]} queued"
    if kind == "assign":
        agent = await _round_robin(scope, rule["id"], run_id) if action.get("to") == "round_robin" else action.get("user_id")
        if agent is None:
            return "assign: no active agent to give it to"
        await leads.update_lead(scope, lead_id, lead_schemas.LeadUpdate(agent_id=agent), base_url())  # type: ignore[arg-type]
        return f"assigned lead {lead_id} to user {agent}"
    if kind == "set_status":
        await leads.update_lead(scope, lead_id, lead_schemas.LeadUpdate(status=action["status"]), base_url())  # type: ignore[arg-type]
        return f"lead {lead_id} status {action['status']}"
    if kind == "add_tag":
        row = await fetch("SELECT custom_fields FROM lead WHERE id = $1 AND tenant_id = $2", lead_id, scope.tenant_id)
        fields = row[0]["custom_fields"] if row else {}
        fields = json.loads(fields) if isinstance(fields, str) else dict(fields or {})
        tags = list(fields.get("tags") or [])
        if action["tag"] not in tags:
            tags.append(action["tag"])
        await leads.update_lead(scope, lead_id, lead_schemas.LeadUpdate(custom_fields={**fields, "tags": tags}), base_url())  # type: ignore[arg-type]
        return f"tagged lead {lead_id} {action['tag']}"
    if kind == "create_task":
        owner = action.get("user_id") if action.get("owner") == "user" else None
        name = None
        if lead_id is not None:
            row = await fetch(
                "SELECT agent_id, name FROM lead WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL", lead_id, scope.tenant_id
            )
            if not row:
                return "create_task: the lead is gone"
            owner = owner if owner is not None else row[0]["agent_id"]
            name = row[0]["name"]
        subject = (action.get("subject") or rule["name"]) + (f": {name}" if name else "")
        task = await activities.create_in_transaction(
            scope,
            {
                "type": action.get("task_type", "call"),
                "subject": subject[:200],
                "due_at": datetime.now(UTC) + timedelta(minutes=int(action.get("due_in_minutes") or 0)),
                "owner_id": owner,
                "lead_id": lead_id,
            },
            source="rule",
        )
        return f"task {task.id} for {task.owner_name or 'nobody'}"
    return f"{kind}: not an action this release does"


async def run_event(tenant_id: int, event_id: int, queue: Queue | None = None) -> int:
    """Run the tenant's active rules listening to this event, once; returns how many rules acted. With `queue`, the
    messages and webhook deliveries the actions made are queued once they are committed (else the webhook sweeper
    finds the deliveries)."""
    follow_ups = FollowUps()
    acted = await _run_event(tenant_id, event_id, follow_ups)
    if queue is not None:
        for communication_id in follow_ups.communications:
            await messages.send_communication.enqueue(queue, tenant_id=tenant_id, communication_id=communication_id)
        await outbound.enqueue(queue, follow_ups.deliveries, via="rule")
    return acted


async def _run_event(tenant_id: int, event_id: int, follow_ups: FollowUps) -> int:
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            "SELECT id, event_type, subject_type, subject_id, data, workflow_chain FROM outbox_event "
            "WHERE id = $1 AND tenant_id = $2 AND automated_at IS NULL FOR UPDATE SKIP LOCKED",
            event_id,
            tenant_id,
        )
        if not rows:
            return 0
        event = rows[0]
        data = json.loads(event["data"]) if isinstance(event["data"], str) else dict(event["data"] or {})
        chain = list(event["workflow_chain"] or [])
        rules = await fetch(
            "SELECT id, name, conditions, actions FROM workflow WHERE tenant_id = $1 AND active AND trigger = $2 ORDER BY id",
            tenant_id,
            event["event_type"],
        )
        acted = 0
        for rule in rules:
            conditions = json.loads(rule["conditions"]) if isinstance(rule["conditions"], str) else rule["conditions"]
            actions = json.loads(rule["actions"]) if isinstance(rule["actions"], str) else rule["actions"]
            looped = rule["id"] in chain or len(chain) >= MAX_CHAIN
            if not looped and not all(holds(c, data) for c in conditions):
                continue
            claimed = await fetch(
                """INSERT INTO workflow_run (tenant_id, workflow_id, event_id, event_type, subject_type, subject_id, status, detail)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workflow_id, event_id) DO NOTHING RETURNING id""",
                tenant_id,
                rule["id"],
                event_id,
                event["event_type"],
                event["subject_type"],
                event["subject_id"],
                "skipped" if looped else "done",
                "not run: the event was caused by this rule's own actions" if looped else "",
            )
            if not claimed or looped:
                continue
            scope = TenantScope.system(tenant_id, f"rule {rule['id']}: {rule['name']}"[:254])
            await fetch("SAVEPOINT workflow_rule")
            await fetch("SELECT set_config('atrium.workflow_chain', $1, true)", ",".join(str(i) for i in [*chain, rule["id"]]))
            mine = FollowUps()
            try:
                done = [await _act(scope, rule, claimed[0]["id"], action, event, data, mine) for action in actions]
            except (DomainError, asyncpg.PostgresError) as exc:
                await fetch("ROLLBACK TO SAVEPOINT workflow_rule")
                await fetch("UPDATE workflow_run SET status = 'failed', detail = $2 WHERE id = $1", claimed[0]["id"], str(exc)[:500])
            else:
                await fetch("RELEASE SAVEPOINT workflow_rule")
                follow_ups.extend(mine)
                await fetch("UPDATE workflow_run SET detail = $2 WHERE id = $1", claimed[0]["id"], "; ".join(done)[:2000])
                acted += 1
            await fetch("SELECT set_config('atrium.workflow_chain', '', true)")
        await fetch("UPDATE outbox_event SET automated_at = now() WHERE id = $1", event_id)
        return acted


async def automate_once(batch: int = BATCH, queue: Queue | None = None) -> int:
    """Take up to `batch` events no rule has seen; returns how many were taken."""
    async with system_transaction():
        rows = await fetch(_TAKE, batch)
    for row in rows:
        if row["wanted"]:
            try:
                await run_event(row["tenant_id"], row["id"], queue)
            except Exception:  # one event that cannot be run must not hold up the others: logged and set aside
                log.exception("automation rules could not run on event %s; it is set aside", row["id"])
                async with system_transaction():
                    await fetch("UPDATE outbox_event SET automated_at = now() WHERE id = $1", row["id"])
    return len(rows)


class Automation(OutboxLoop):
    """The worker's loop: woken by the outbox trigger's NOTIFY (or every 2 s), it runs rules on new events."""

    name = "automation runner"

    def __init__(self, queue: Queue, dsn: str) -> None:
        super().__init__(dsn)
        self.queue = queue

    async def drain(self) -> None:
        while await automate_once(queue=self.queue) >= BATCH:
            pass
