"""A real loopback HTTP server playing a Twilio-style telephony REST API for the adapter's tests: it checks HTTP Basic
credentials, places calls (`POST …/Calls.json` → 201 with a `sid`), updates them (`POST …/Calls/{sid}.json`) and
answers the account (`GET …/Accounts/{sid}.json`); `failures` scripts the next answers' statuses."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token"


@dataclass
class ProviderRequest:
    method: str
    path: str
    form: dict[str, str]
    authorized: bool


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[ProviderRequest] = []
        self.failures: list[int] = []
        self.lock = threading.Lock()
        numbers = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
                authorized = self.headers.get("authorization") == expected
                with fake.lock:
                    fake.requests.append(ProviderRequest(method, self.path, form, authorized))
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure is not None:
                    return self._answer(failure, {"code": failure, "message": "Service unavailable"})
                if not authorized:
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                base = f"/2010-04-01/Accounts/{SID}"
                if method == "GET" and self.path == f"{base}.json":
                    return self._answer(200, {"sid": SID, "status": "active"})
                if method == "POST" and self.path == f"{base}/Calls.json":
                    if not form.get("To") or not (form.get("Twiml") or form.get("Url")):
                        return self._answer(400, {"code": 21201, "message": "No 'To' number is specified"})
                    sid = f"CA{next(numbers):032d}"
                    return self._answer(201, {"sid": sid, "status": "queued", "to": form["To"], "from": form.get("From")})
                found = re.fullmatch(rf"{base}/Calls/(CA\d+)\.json", self.path)
                if method == "POST" and found:
                    return self._answer(200, {"sid": found.group(1), "status": "in-progress"})
                return self._answer(404, {"code": 20404, "message": "The requested resource was not found"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def calls_placed(self) -> list[ProviderRequest]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith("/Calls.json")]


@contextlib.contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
