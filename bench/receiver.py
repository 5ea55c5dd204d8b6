"""A minimal ASGI webhook receiver for the benchmarks: answers 200 and records (delivery id, arrival time).

BENCH_RECEIVED=/tmp/received.tsv uvicorn bench.receiver:app
"""

from __future__ import annotations

import os
import time
from typing import Any

_log = open(os.environ.get("BENCH_RECEIVED", "/dev/null"), "a", buffering=1)  # noqa: SIM115 - lives as long as the server


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, note the delivery, answer 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    delivery = dict(scope["headers"]).get(b"x-atrium-delivery-id", b"-").decode()
    _log.write(f"{delivery}\t{time.time():.6f}\n")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"received"}'})
