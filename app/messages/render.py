"""Templates rendered in Jinja2's sandbox, with nothing but their documented variables.

A message template may use placeholders (`{{address}}`), `{% if %}` and a short list of text filters; it may not reach
into a value (no `.attr`, `[key]` or calls), loop, include or import. Every value handed to it is a plain string. So
`{{ ''.__class__ }}` or `{{ lead.__dict__ }}` is refused when the template is saved (422) and could not reach anything
if it were rendered: the sandbox refuses underscores and the context holds only strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.core.errors import ValidationFailed

# The documented variables, with what each holds (docs/messages.md and the editor list them from here).
VARIABLES: dict[str, str] = {
    "address": "The property's street address (a lead's first preferred location)",
    "city": "The property's city",
    "state": "The property's state",
    "zip_code": "The property's ZIP code",
    "estimated_value": "The property's estimated value, e.g. 850,000",
    "owner_name": "The recipient's name: the property's owner or the lead",
    "first_name": "The recipient's first name",
    "lead_name": "The lead's name (empty for a property's owner)",
    "lead_email": "The lead's e-mail address",
    "lead_phone": "The lead's phone number",
    "agent_name": "The name of the agent sending it",
    "agent_email": "The agent's e-mail address",
    "company_name": "Your workspace's name",
    "today": "Today's date, e.g. 15 January 2025",
}
SAMPLE: dict[str, str] = {
    "address": "123 Main St",
    "city": "San Francisco",
    "state": "CA",
    "zip_code": "94102",
    "estimated_value": "850,000",
    "owner_name": "Jane Smith",
    "first_name": "Jane",
    "lead_name": "Jane Smith",
    "lead_email": "jane@example.com",
    "lead_phone": "+15550100",
    "agent_name": "John Doe",
    "agent_email": "john@example.com",
    "company_name": "Acme Real Estate",
    "today": "15 January 2025",
}
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d", "truncate", "replace", "wordwrap"})
# What a template may contain besides text, placeholders, `if` and the filters above.
_REFUSED = (
    nodes.Getattr,
    nodes.Getitem,
    nodes.Call,
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    nodes.Block,
    nodes.FilterBlock,
    nodes.With,
    nodes.Assign,
    nodes.AssignBlock,
)
MAX_OUTPUT = 20_000


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    # Plain text (e-mail text parts and SMS): nothing to escape. Strict: an unknown name is an error, never blank.
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _refuse(field: str, source: str, why: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid {field}: {why}",
        details={
            "field": field,
            "provided": source[:200],
            "expected": "text with placeholders among: " + ", ".join("{{" + name + "}}" for name in VARIABLES),
            "reason": "bad_placeholder",
        },
        human=why[0].upper() + why[1:] + ".",
    )


def check(field: str, source: str) -> None:
    """Refuse (422 `reason: bad_placeholder`) a template that does not parse, names a variable that is not documented,
    reaches into a value, loops, includes, or uses a filter outside the short list."""
    environment = _environment()
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as exc:
        raise _refuse(field, source, f"it does not read as a template (line {exc.lineno}: {exc.message})") from None
    for node in tree.find_all(_REFUSED):
        what = type(node).__name__.lower()
        raise _refuse(field, source, f"placeholders are plain names such as {{{{owner_name}}}}; `{what}` is not allowed")
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in VARIABLES:
            raise _refuse(field, source, f"{{{{{node.name}}}}} is not one of the placeholders")
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise _refuse(field, source, f"the filter `{node.name}` is not allowed (use {', '.join(sorted(FILTERS))})")
    try:
        render_text(source, SAMPLE)
    except ValidationFailed as exc:
        raise _refuse(field, source, exc.details.get("why", "it cannot be rendered")) from None


def render_text(source: str, values: Mapping[str, str]) -> str:
    """`source` rendered with `values` (strings only) in the sandbox; at most MAX_OUTPUT characters."""
    context = {name: str(values.get(name) or "") for name in VARIABLES}
    try:
        text = _environment().from_string(source).render(context)
    except (SecurityError, UndefinedError, TemplateSyntaxError, TypeError, ValueError) as exc:
        raise ValidationFailed("The template cannot be rendered", details={"why": str(exc)[:200]}) from None
    return text[:MAX_OUTPUT]
