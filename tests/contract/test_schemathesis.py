"""The API's contract, fuzzed on every change (issue #8): Schemathesis reads the live OpenAPI document
and sends generated requests, valid and invalid, to every operation with an admin's bearer token; every
answer must be documented (status, content type, body schema, headers), valid requests accepted,
invalid ones refused, and nothing may answer 5xx. A stateful run then chains operations (create, read,
update, delete…) through the links Schemathesis infers. New endpoints are covered without touching
this file.

The app runs as a real server process (`uvicorn --factory app.asgi:app_from_environment`) on this test
process's database, so requests cross real HTTP; background jobs it queues are run by the test
process's in-process worker, which polls the same queue.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.transport.serialization import Binary

from app.web.idempotency import KEY_PATTERN
from tests.conftest import TEST_SECRET
from tests.e2e.browser import free_port
from tests.factories import Account, Tenants
from tests.helpers import process_env

pytestmark = pytest.mark.contract

# Few examples per operation keep the file near a minute on two cores; the seed makes every run
# (and every CI failure) the same, so a red build is reproducible with `uv run pytest tests/contract`.
SEED = 8
EXAMPLES_PER_OPERATION = 6
STATEFUL_SCENARIOS = 12
STATEFUL_STEPS = 6

# Operations that cannot run under a fuzzer, and why:
EXCLUDED_OPERATIONS = [
    # An open event stream never ends (a keep-alive comment every 15 s), so no answer ever completes.
    "openSseStream",
    # Revokes the very token the run authenticates with (tests/accounts covers logout).
    "logout",
]


def upload_a_csv(body: Any) -> Any:
    """JSON Schema can say "a file", not "a UTF-8 CSV with a header row": the generated file's text becomes a
    CSV's cell, so the upload's other inputs are what gets fuzzed (tests/imports covers malformed files).
    Applied at send time by `before_call`, so the schema's own example file (a PNG) is converted too. The CSV is
    text, not bytes: Schemathesis re-checks a body a hook changed against the schema, and counts any body holding
    bytes as invalid (it cannot validate them), which would turn a valid upload into a negative case."""
    if isinstance(body, dict) and isinstance(body.get("file"), Binary | bytes | str):
        raw = body["file"].data if isinstance(body["file"], Binary) else body["file"]
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        out = io.StringIO()
        csv.writer(out).writerows([["name", "notes"], ["Fuzzed lead", text.replace("\x00", "")]])
        return {**body, "file": out.getvalue()}
    return body


def meant_to_be_valid(case: schemathesis.Case) -> bool:
    """Whether the case's body was generated valid (positive); a stateful step's case may carry no metadata."""
    body = case.meta.components.get(ParameterLocation.BODY) if case.meta is not None else None
    return body is None or body.mode.is_positive


_REQUEST_NUMBERS = itertools.count(1)


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """Send-time fixes for what JSON Schema cannot say; a send-time hook, unlike a generation hook, also reaches the
    explicit examples, the coverage cases and the stateful steps. A valid upload becomes a CSV (upload_a_csv); an
    invalid one is sent as generated, so the server's refusal is what the check sees. An
    `Idempotency-Key` must be unique per request (a key reused with another body is rightly refused, 422): every
    valid key gets this request's number as a suffix; an invalid one stays, its 422 is what the check expects
    (tests/web covers replays and reuse)."""
    if case.operation.definition.raw.get("operationId") == "uploadImport" and meant_to_be_valid(case):
        case.body = upload_a_csv(case.body)
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and re.fullmatch(KEY_PATTERN, key):
        case.headers["Idempotency-Key"] = f"{key[:200]}-{next(_REQUEST_NUMBERS)}"
    elif key is not None and not isinstance(key, str):
        # A header is text on the wire: a key generated as a number (a negative case's type mutation) would arrive as
        # valid text like "0". It is sent empty instead, which stays invalid on the wire (the server answers 422).
        case.headers["Idempotency-Key"] = ""


# 422 `details.reason`s of schema-valid values no JSON Schema can rule out: a webhook URL whose host does not resolve
# or is not public (`target`), a phone number of the right shape that no country's numbering plan has (libphonenumber),
# a minimum above its maximum (`range`: a lead's budget or bedrooms, the audit log's start and end dates; JSON Schema
# cannot compare two values), a lead's `last_interaction` after the server's clock (`future`: valid once its time has
# come), a body's id of a company or contact the tenant does not have, or an import mapping's column the upload does not
# have (`unknown_reference`: a fact of the data), and an import mapping that gives one field two columns (`duplicate_field`)
# or no column to `name` (`name_unmapped`): rules over an object's values together, which the schema describes one by one;
# a seller analysis of a stored property that has no size (`incomplete_record`: a fact of the data);
# and an amount sent as a JSON number with more than 2 decimals (`precision`): JSON Schema's multipleOf 0.01 cannot be
# stated exactly over binary floats, so the schema says "number" and the server refuses the third decimal. Billing adds
# a payment or credit over what an invoice still owes (`exceeds_balance`: its payments are data), an invoice for a deal
# that has neither a company nor a contact (`missing_customer`), and an uploaded logo or receipt that is not an image or
# a PDF (`file_type`: what a file holds is beyond a schema). Automation rules add a trigger that is no event type of the
# installed domains (`unknown_event`: the installation's vocabulary, not the schema's) and an action without what its
# type needs, a status to set or a person to assign (`incomplete_action`: a rule over an object's values together).
STATE_OR_PLAN_REFUSALS = frozenset(
    {
        "target",
        "impossible_number",
        "range",
        "future",
        "unknown_reference",
        "duplicate_field",
        "name_unmapped",
        "precision",
        "incomplete_record",
        "exceeds_balance",
        "missing_customer",
        "file_type",
        "base_currency",
        "unknown_event",
        "incomplete_action",
        "bad_placeholder",  # a message template's or canned reply's text: what it may hold is the sandbox's rule
        "missing_subject",  # an e-mail template (or one becoming one) needs a subject
        "duplicate",  # a saved view's name the person already uses: their other views are data
    }
)


@schemathesis.check
def valid_data_is_accepted_unless_its_target_is_refused(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Schemathesis's `positive_data_acceptance`, knowing the refusals that depend on the server's state, not on
    the request's shape, which no schema can express: a well-formed webhook URL (it matches the schema's pattern)
    whose host does not resolve or points where webhooks may not go answers 422 with `details.reason: "target"`
    (docs/api.md, Webhooks), and an `If-Match` that is not the record's current ETag answers 412. A URL refused
    for its syntax (`"reason": "syntax"`), or any other 4xx to valid data, still fails."""
    if response.status_code == 412 and "if-match" in {name.lower() for name in case.headers or {}}:
        return None
    if response.status_code == 422:
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            if response.json()["error"]["details"].get("reason") in STATE_OR_PLAN_REFUSALS:
                return None
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture
def live_server(migrated: str, data_dir: Any) -> Iterator[str]:
    """Atrium served over HTTP by uvicorn in its own process, on the test database; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = process_env(
        DATABASE_URL=migrated,
        SECRET_KEY=TEST_SECRET,
        ATRIUM_DATA_DIR=str(data_dir / f"contract-{port}"),
        BASE_URL=base,
        LOG_LEVEL="WARNING",
        # Hundreds of requests a minute from one tenant: a 429 would hide the answer under test (tests/web covers limits).
        RATE_LIMITS="off",
    )
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.asgi:app_from_environment", "--host", "127.0.0.1"]
    proc = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=env, cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError("the contract test's server exited early")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/v2/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("the contract test's server did not become healthy in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def admin(tenants: Tenants) -> Account:
    """An admin of a tenant (the server runs with RATE_LIMITS=off, so its plan's limit does not matter)."""
    return await tenants.create("Contract")


@pytest.fixture
def api_schema(live_server: str, admin: Account) -> Any:
    """The live OpenAPI document, with the admin's token sent on every request."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "auth": {"openapi": {"Bearer": {"bearer": admin.token}}},
            # PostgreSQL text cannot hold NUL: the API refuses it with a 422 (tests/leads), so the fuzzer need not send it.
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "no-shrink": True, "allow-x00": False},
            "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
            # Replaced by valid_data_is_accepted_unless_its_target_is_refused, which runs it.
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "request-timeout": 10,
        }
    )
    return without_excluded_operations(schemathesis.openapi.from_url(f"{live_server}/v2/schema/openapi.json", config=config))


def without_excluded_operations(schema: Any) -> Any:
    """The schema without EXCLUDED_OPERATIONS. Applied twice on purpose: `parametrize()` replaces the fixture's
    filters with the lazy schema's own (schemathesis.pytest.lazy.get_schema), while `as_state_machine()` uses the
    fixture's, so each phase is filtered where it reads its operations."""
    return schema.exclude(operation_id=EXCLUDED_OPERATIONS)


schema = without_excluded_operations(schemathesis.pytest.from_fixture("api_schema"))


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32 renames the running item through `_nodeid`, which pytest 9.2 no longer has."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate], database=None)
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    """All default checks, for valid and invalid requests, on every documented operation."""
    case.call_and_validate()


def test_chains_of_operations_keep_the_contract(api_schema: Any) -> None:
    """The stateful phase: sequences of calls linked by the ids one answer gives the next.

    Which links a step may follow depends on the live server's earlier answers (a list that is empty or not, a job
    that finished) and on the state machine's own counts across scenarios, so Hypothesis, replaying a choice sequence,
    can find it drawing differently and raise `FlakyStrategyDefinition`. Schemathesis's own runner reports such a suite
    by the failures its steps found (engine/run/stateful, `_classify_flaky`); so does this test: a step's failure (a
    check, an error) always fails it, an inconsistent replay with no failing step does not."""
    failures: list[BaseException] = []

    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: Any) -> Any:
            try:
                return super().step(input)
            except BaseException as exc:
                failures.append(exc)
                raise

    try:
        Machine.run(
            settings=settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
        )
    except FlakyStrategyDefinition as exc:
        if failures:
            raise failures[0] from None
        warnings.warn(f"the stateful run ended early on an inconsistent replay, with no failing step: {exc}".splitlines()[0], stacklevel=1)
