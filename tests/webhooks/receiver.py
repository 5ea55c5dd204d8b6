"""A real loopback HTTP receiver for webhook tests: records every request, answers from a script."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers.get("x-atrium-event", "")

    @property
    def delivery_id(self) -> str:
        return self.headers.get("x-atrium-delivery-id", "")


@dataclass
class Answer:
    """What to answer to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"status":"received"}'
    delay: float = 0.0


class Receiver:
    """`url` receives; `script` answers the next requests in order (then 200); `requests` keeps them all."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Answer] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()))
                    answer = receiver.script.pop(0) if receiver.script else Answer()
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                try:
                    if answer.delay:
                        time.sleep(answer.delay)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/atrium"

    def of(self, event: str) -> list[Received]:
        """The requests of one event type."""
        with self.lock:
            return [r for r in self.requests if r.event == event]


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver serving in a thread for the block."""
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
