"""What the browser tests share: Debian's Chromium for Playwright and a live `atrium serve --demo`."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import atrium_command, output_of, process_env, spawn

# Helpers of the browser tests; anything collected from here is an e2e test too.
pytestmark = pytest.mark.e2e

# Debian's Chromium, driven by Playwright, for the browser tests.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def atrium_serve(data_dir: Path, port: int, **settings: str) -> Iterator[tuple[str, subprocess.Popen[str], float]]:
    """Run `atrium serve --demo` (with extra `settings` in its environment) until the block ends;
    yields (base url, process, seconds to healthy)."""
    env = process_env(ATRIUM_DATA_DIR=str(data_dir), **settings)
    started = time.monotonic()
    proc = spawn(atrium_command("serve", "--demo", "--port", str(port)), env)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"atrium serve exited early:\n{output_of(proc)}")
            with contextlib.suppress(httpx.TransportError):
                health = httpx.get(f"{base}/v2/health", timeout=2)
                if health.status_code == 200 and health.json()["status"] == "healthy":
                    break
            if time.monotonic() - started > 60:
                raise AssertionError("atrium serve did not become healthy in 60 s")
            time.sleep(0.25)
        yield base, proc, time.monotonic() - started
    except BaseException:
        # A failing browser test shows what the server said (pytest prints a failed test's captured output).
        print(f"--- the end of atrium serve's output ---\n{output_of(proc)[-20_000:]}")
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise


# Test-only front-end files live outside tests/ (vendor/browser-tests, with their versions).
AXE = Path(__file__).resolve().parents[2] / "vendor" / "browser-tests" / "axe-core-4.14.1.min.js"


def settled(page: Any) -> None:
    """Wait until htmx is idle: no request on its way, no swap or settle under way (so the controls it just
    swapped in are wired up, as they are by the time a person could press them)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    page.wait_for_timeout(50)


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (rule id and the first element)."""
    # Checked once the page is still: no htmx request or swap under way (a half-swapped element has no colours).
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through DevTools, not a <script> tag: the page's Content-Security-Policy rightly refuses inline scripts.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']}: {v['nodes'][0]['target'] if v['nodes'] else ''} — {v['help']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
