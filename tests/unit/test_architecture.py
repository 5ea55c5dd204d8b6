"""The shape of the code that new domains copy: layers, package cycles, where role rules live, plugging in."""

from __future__ import annotations

import ast
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

import app.domains
from app.asgi import create_app
from app.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
# Modules that speak HTTP: controllers, screens, the authentication middleware, the app factory.
HTTP_MODULES = {"api.py", "views.py", "domain.py", "authentication.py"}


def modules() -> Iterator[tuple[str, Path]]:
    for folder in ("app", "tasks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield name, path


def imports_of(path: Path) -> set[str]:
    """Every module imported anywhere in the file (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("app", "tasks")}


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else parts[0]


def test_services_and_the_core_never_import_the_http_layer() -> None:
    offenders = []
    for name, path in modules():
        http = name == "app.web" or name.startswith("app.web.") or path.name in HTTP_MODULES or name in ("app.asgi", "app.cli")
        if not http:
            offenders += [f"{name} imports {i}" for i in imports_of(path) if i == "app.web" or i.startswith("app.web.")]
    assert offenders == []


def test_screens_share_services_with_the_api_and_never_import_it() -> None:
    offenders = []
    for name, path in modules():
        if path.name == "views.py":
            offenders += [f"{name} imports {i}" for i in imports_of(path) if i.split(".")[-1] == "api" or ".api." in i]
    assert offenders == []


def test_the_core_depends_on_no_domain() -> None:
    offenders = []
    for name, path in modules():
        if name.startswith("app.core"):
            offenders += [f"{name} imports {i}" for i in imports_of(path) if not i.startswith("app.core")]
    assert offenders == []


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    known = {package_of(name) for name, _ in modules()}
    for name, path in modules():
        source = package_of(name)
        graph[source] |= {package_of(i) for i in imports_of(path) if package_of(i) in known and package_of(i) != source}
    # Tarjan's strongly connected components: any with two or more packages is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for package in sorted(known):
        if package not in index:
            connect(package)
    assert cycles == []


def test_role_rules_live_only_in_policy_modules() -> None:
    """Outside `policy.py`, code asks a permission; it never compares a caller's role itself."""
    offenders = []
    for name, path in modules():
        if path.name == "policy.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    if (
                        isinstance(side, ast.Attribute)
                        and side.attr == "role"
                        and isinstance(side.value, ast.Name)
                        and side.value.id in ("scope", "tenant", "principal", "actor", "caller")
                    ):
                        offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_templates_ask_permissions_instead_of_naming_roles() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "templates").rglob("*.html")
        if "principal.role ==" in p.read_text() or "principal.role in" in p.read_text()
    ]
    assert offenders == []


TOY = {
    "__init__.py": '"""A toy domain, to show what plugging one in takes."""\n',
    "api.py": """
        from litestar import Controller, get
        from app.core.policy import EVERYONE, permission
        from app.web.auth import guard

        VIEW = permission("toy.view", EVERYONE, "Your role cannot see toys")

        class ToyController(Controller):
            path = "/v2/toys"

            @get("/", guards=[guard(VIEW)])
            async def list_toys(self) -> list[str]:
                return ["ball"]
    """,
    "jobs.py": """
        from app.core.jobs import job

        @job(key="toy:{toy_id}", timeout=10, retries=1)
        async def polish_toy(ctx, *, tenant_id: int, toy_id: int) -> int:
            return toy_id
    """,
    "domain.py": """
        from app.domains import Domain, NavEntry
        from toyshop.api import ToyController
        from toyshop.jobs import polish_toy

        DOMAIN = Domain(
            name="toys",
            controllers=[ToyController],
            nav=[NavEntry("toys", "Toys", "/toys", order=40), NavEntry("pipeline", "Pipeline", "/pipeline", order=30)],
            jobs=[polish_toy],
            cleanup={"old_toys": "SELECT 1 WHERE false"},
        )
    """,
}


def test_a_new_domain_plugs_in_with_its_own_package_and_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "toyshop"
    package.mkdir()
    for filename, source in TOY.items():
        (package / filename).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(app.domains, "INSTALLED", [*app.domains.INSTALLED, "toyshop"])  # the one registration line
    app.domains.domains.cache_clear()
    try:
        from tasks.settings import task_functions

        application = create_app(load_settings({"SECRET_KEY": "k" * 40, "ATRIUM_DATA_DIR": str(tmp_path)}), "postgresql://unused/x")
        assert "/v2/toys" in {route.path for route in application.routes}
        nav = {entry.key: entry for entry in application.state.nav}
        assert nav["toys"].href == "/toys"
        assert nav["pipeline"].placeholder is None, "a built screen replaces its placeholder"
        assert "polish_toy" in {f.__name__ for f in task_functions()}
        assert any("old_toys" in d.cleanup for d in app.domains.domains())
        assert "toyshop.tables" not in app.domains.table_modules(), "a domain without tables needs no tables module"
    finally:
        app.domains.domains.cache_clear()
        for name in [m for m in sys.modules if m == "toyshop" or m.startswith("toyshop.")]:
            del sys.modules[name]
        from app.core.policy import REGISTRY

        REGISTRY.pop("toy.view", None)


def test_every_api_handler_an_integration_can_call_names_its_resource(tmp_path: Path) -> None:
    """Scopes are `<resource>:read|write`: a handler keys and OAuth clients can reach must say which resource it serves."""
    from app.core.policy import INTEGRATION
    from app.core.scopes import ANY, resource_of

    application = create_app(load_settings({"SECRET_KEY": "k" * 40, "ATRIUM_DATA_DIR": str(tmp_path)}), "postgresql://unused/x")
    unnamed = []
    for route in application.routes:
        for handler in getattr(route, "route_handlers", []):
            if not route.path.startswith("/v2"):
                continue
            for check in handler.resolve_guards():
                permissions = getattr(check, "permissions", None)
                if permissions is not None and all(INTEGRATION in p.roles for p in permissions) and resource_of(handler.opt) == ANY:
                    unnamed.append(f"{sorted(getattr(handler, 'http_methods', []))} {route.path}")
    assert unnamed == []
    assert {"leads", "contacts", "companies", "users", "webhooks", "exports", "events"} <= set(app.domains.api_resources())
