"""Text that people write with placeholders (message templates, canned replies), filled in by Jinja2's sandbox.

One set of rules for every such text. A template may hold text, the placeholders its kind documents (`{{ name }}`),
a short list of text filters with constant arguments and, where the kind allows it, `{% if %}` over placeholders.
Everything else is refused when the text is saved (422, `details.reason: bad_placeholder`): reaching into a value
(`.attr`, `[key]`), calls, loops, includes, assignments and arithmetic (`{{ 9**9**9 }}` would be worked out while
the template is compiled). Filling one in hands it only strings, in an immutable sandbox, and caps what comes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.core.errors import ValidationFailed

# What any such text may hold; `if` adds the nodes of a condition.
_TEXT_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter)
_CONDITION_NODES = (nodes.If, nodes.Test, nodes.Not, nodes.And, nodes.Or, nodes.Compare, nodes.Operand, nodes.CondExpr)
_FAILURES = (SecurityError, UndefinedError, TemplateError, TypeError, ValueError, OverflowError, MemoryError)


class TextTemplates:
    """The rules for one kind of text: its placeholders (name → what it stands for), a sample to try it with, its
    filters, whether it may use `if`, and how long a filled-in text may be."""

    def __init__(
        self,
        placeholders: Mapping[str, str],
        sample: Mapping[str, str],
        *,
        filters: frozenset[str],
        conditions: bool,
        max_output: int,
    ) -> None:
        self.placeholders = dict(placeholders)
        self.sample = dict(sample)
        self.filters = filters
        self.max_output = max_output
        self._allowed = _TEXT_NODES + (_CONDITION_NODES if conditions else ())

    @cached_property
    def _environment(self) -> ImmutableSandboxedEnvironment:
        # Plain text (a textarea, an e-mail's text part, an SMS): nothing to escape. Strict: an unknown name is an
        # error, never a blank.
        return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

    def _refuse(self, field: str, source: str, why: str) -> ValidationFailed:
        return ValidationFailed(
            f"Invalid {field}: {why}",
            details={
                "field": field,
                "provided": source[:200],
                "expected": "text with placeholders among: " + ", ".join("{{ " + name + " }}" for name in self.placeholders),
                "reason": "bad_placeholder",
            },
            human=why[0].upper() + why[1:] + ".",
        )

    def check(self, field: str, source: str) -> None:
        """Refuse (422 `reason: bad_placeholder`, naming `field`) a text that does not parse, holds anything but
        text, its placeholders, its filters (and `if` where allowed), or cannot be filled in with the sample."""
        example = "{{ " + next(iter(self.placeholders), "name") + " }}"
        try:
            tree = self._environment.parse(source)
        except TemplateSyntaxError as exc:
            why = f"a placeholder is broken (line {exc.lineno}: {exc.message}); write them like {example}"
            raise self._refuse(field, source, why) from None
        for node in tree.find_all(nodes.Node):
            if isinstance(node, nodes.Filter) and node.name not in self.filters:
                raise self._refuse(field, source, f"the filter `{node.name}` is not allowed (use {', '.join(sorted(self.filters))})")
            if not isinstance(node, self._allowed):
                what = type(node).__name__.lower()
                raise self._refuse(field, source, f"placeholders are plain names such as {example}; `{what}` is not allowed")
            if isinstance(node, nodes.Name) and node.name not in self.placeholders:
                names = ", ".join("{{ " + name + " }}" for name in self.placeholders)
                raise self._refuse(field, source, f"{{{{ {node.name} }}}} is not one of the placeholders (use {names})")
        try:
            self.render(source, self.sample)
        except ValidationFailed as exc:
            raise self._refuse(field, source, f"the placeholders cannot be filled in ({exc.details.get('why', '')})") from None

    def render(self, source: str, values: Mapping[str, object]) -> str:
        """`source` filled in with `values` (each placeholder as a string, a missing one empty) in the sandbox;
        a 422 when it cannot be, or when the result is longer than `max_output`."""
        context = {name: "" if values.get(name) is None else str(values[name]) for name in self.placeholders}
        try:
            text = self._environment.from_string(source).render(context)
        except _FAILURES as exc:
            raise ValidationFailed("The text cannot be filled in", details={"why": str(exc)[:200]}) from None
        if len(text) > self.max_output:
            raise ValidationFailed("The text cannot be filled in", details={"why": f"it is longer than {self.max_output:,} characters"})
        return text
