"""`atrium serve` killed with -9 leaves its embedded PostgreSQL running; the next start finds it and carries on,
and a clean stop then stops it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.browser import free_port
from tests.helpers import atrium_command, output_of, process_env, spawn


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return spawn(atrium_command("serve", "--port", str(port)), process_env(ATRIUM_DATA_DIR=str(data_dir)))


def _healthy(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, output_of(proc)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health", timeout=2).json()["status"] == "healthy":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("not healthy in 60 s")


def _postgres_of(data_dir: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"{data_dir}/pgdata"], capture_output=True, text=True)
    return found.stdout.split()


def test_a_killed_serve_leaves_nothing_the_next_start_cannot_handle(tmp_path: Path) -> None:
    first = _serve(tmp_path, port := free_port())
    _healthy(port, first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert _postgres_of(tmp_path), "kill -9 leaves the embedded PostgreSQL running (an orphan)"
    second = _serve(tmp_path, port := free_port())
    try:
        _healthy(port, second)  # the orphan is found and reused, not a failed start on a busy data directory
        token = httpx.post(
            f"http://127.0.0.1:{port}/v2/auth/register", json={"email": "a@b.example", "password": "long enough!", "tenant_name": "T"}
        )
        assert token.status_code == 201, "and it works"
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _postgres_of(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _postgres_of(tmp_path) == [], "a clean stop stops the database it reused"
