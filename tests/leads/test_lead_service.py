"""The leads service called directly, as jobs and other domains call it: no HTTP, the same rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from litestar import Litestar

from app.core.errors import PermissionDenied, ValidationFailed
from app.db import TenantScope
from app.leads import schemas, service
from tests.factories import service_tenant


async def test_an_agents_new_lead_is_theirs_and_others_stay_out_of_reach(app: Litestar, clean: None) -> None:
    team = await service_tenant("service-one", "agent")
    admin, agent = team["admin"], team["agent"]
    own = await service.create_lead(agent, schemas.LeadCreate(name="Mine"), "")
    assert own.agent_id == agent.user_id
    theirs = await service.create_lead(admin, schemas.LeadCreate(name="Admin's", agent_id=admin.user_id), "")
    with pytest.raises(PermissionDenied):
        await service.update_lead(agent, theirs.id, schemas.LeadUpdate(notes="taking it"), "")
    with pytest.raises(PermissionDenied):
        await service.bulk_assign(agent, [own.id, theirs.id], agent.user_id)
    assert (await service.get_lead(admin, theirs.id, "")).agent_id == admin.user_id, "all or nothing"


async def test_a_background_job_creates_leads_as_the_system_but_cannot_delete(app: Litestar, clean: None) -> None:
    admin = (await service_tenant("service-two"))["admin"]
    job = TenantScope.system(admin.tenant_id, "import #1", on_behalf_of=admin.user_id)
    lead = await service.create_lead(job, schemas.LeadCreate(name="Imported", phone="+971501112233"), "")
    assert lead.agent_id is None, "a job does not assign leads to whoever started it"
    with pytest.raises(PermissionDenied):
        await service.delete_lead(job, lead.id)
    with pytest.raises(ValidationFailed) as caught:
        await service.create_lead(job, schemas.LeadCreate(name="Twin", budget_min=Decimal(5), budget_max=Decimal(1)), "")
    assert caught.value.field == "budget_min"
