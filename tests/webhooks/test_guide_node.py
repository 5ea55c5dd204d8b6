"""The reference guide's Node.js verification code (§2.4 with the raw body, §8.2 with JSON.stringify of the
parsed body) accepts Atrium's signature on a real delivery, Arabic text and money included."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.factories import Tenants, make_lead
from tests.helpers import eventually
from tests.webhooks.receiver import receiving

GUIDE_NODE = r"""
const crypto = require('crypto');
const fs = require('fs');
const { secret, headers, body } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const req = { headers, rawBody: Buffer.from(body, 'utf8'), body: JSON.parse(body) };

// §2.4 Node.js Example (header name: x-atrium-signature)
function verifyWebhook(req, secret) {
  const signature = req.headers['x-atrium-signature'];
  const expectedSignature = 'sha256=' + crypto
    .createHmac('sha256', secret)
    .update(req.rawBody)
    .digest('hex');

  if (signature !== expectedSignature) {
    throw new Error('Invalid signature');
  }
}

// §8.2 Express handler's check (it signs JSON.stringify(req.body), the parsed body written back)
function verifyExpress(req) {
  const signature = req.headers['x-atrium-signature'];
  const expectedSignature = 'sha256=' + crypto
    .createHmac('sha256', secret)
    .update(JSON.stringify(req.body))
    .digest('hex');
  if (signature !== expectedSignature) {
    throw new Error('Invalid signature (§8.2)');
  }
}

verifyWebhook(req, secret);
verifyExpress(req);
console.log('OK ' + req.body.event);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed on this machine")
async def test_the_guides_node_code_accepts_the_signature(client: httpx.AsyncClient, tenants: Tenants, tmp_path: Path) -> None:
    admin = await tenants.create(plan="enterprise")
    with receiving() as receiver:
        response = await client.post("/v2/webhooks", headers=admin.auth, json={"webhook_url": receiver.url, "events": ["*"]})
        secret = response.json()["secret_key"]
        lead = await make_lead(
            client, admin, name="علي حسن", phone="+971501234567", budget_min=2500000.5, budget_max=3000000, language="ar"
        )
        await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})

        async def arrived() -> bool:
            return bool(receiver.of("lead.qualified")) and bool(receiver.of("lead.scored"))

        await eventually(arrived, timeout=15)
        script = tmp_path / "verify.js"
        script.write_text(GUIDE_NODE)
        for got in [*receiver.of("lead.qualified"), *receiver.of("lead.scored"), *receiver.of("lead.created")]:
            payload = tmp_path / "delivery.json"
            payload.write_text(json.dumps({"secret": secret, "headers": got.headers, "body": got.body.decode()}))
            result = subprocess.run(["node", str(script), str(payload)], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, f"{got.event}: {result.stderr}"
            assert result.stdout.strip() == f"OK {got.event}"
        assert receiver.of("lead.qualified")[0].json["data"]["name"] == "علي حسن"
