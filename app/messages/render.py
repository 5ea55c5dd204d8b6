"""Message templates' placeholders: their documented variables, filled in by the one sandbox for such texts.

A message template may use placeholders (`{{address}}`), `{% if %}` and a short list of text filters; it may not reach
into a value (no `.attr`, `[key]` or calls), loop, include, import or compute. Every value handed to it is a plain
string. So `{{ ''.__class__ }}` or `{{ lead.__dict__ }}` is refused when the template is saved (422) and could not
reach anything if it were rendered (see app/core/text_templates).
"""

from __future__ import annotations

from app.core.text_templates import TextTemplates

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
# The one sandbox for such texts (app/core/text_templates): placeholders, a few text filters and `if`.
TEXT = TextTemplates(
    VARIABLES,
    SAMPLE,
    filters=frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d", "truncate", "replace", "wordwrap"}),
    conditions=True,
    max_output=20_000,
)
