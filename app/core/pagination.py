"""The one list shape and the one sort rule of every collection.

In: `limit`/`offset`/`sort` (`ListQuery`). Out: `Page[T]` — `{total, limit, offset, data,
total_is_estimate}`. Sorting names a whitelisted field (`-` prefix for descending, ties broken by
id in the same direction); an unknown field is a validation error naming the allowed ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from piccolo.query import OrderByRaw

from app.core.errors import ValidationFailed
from app.core.schemas import ResponseBody

MAX_LIMIT = 100
DEFAULT_LIMIT = 50

T = TypeVar("T")
Q = TypeVar("Q")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Validated paging and sorting of a list request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort: str | None = None


class Page(ResponseBody, Generic[T]):
    """One page of a collection. `total_is_estimate` is true when a large total was estimated, not counted."""

    total: int
    limit: int
    offset: int
    data: list[T]
    total_is_estimate: bool = False
    page: int = 1  # which page this is, for callers paging by number (page = offset / limit + 1)


def page_of(item: type[T], rows: Sequence[Any], query: ListQuery, total: int, *, estimate: bool = False) -> Page[T]:
    """A page of `item`s built from database rows (or ready items)."""
    ready = all(isinstance(row, item) for row in rows)
    data: list[T] = list(rows) if ready else msgspec.convert(rows, list[item])  # type: ignore[valid-type]
    return Page(
        total=total, limit=query.limit, offset=query.offset, data=data, total_is_estimate=estimate, page=query.offset // query.limit + 1
    )


@dataclass(frozen=True, slots=True)
class SortOrder:
    """A validated sort: the SQL expression to order by and its direction."""

    field: str
    expression: str
    descending: bool

    @property
    def direction(self) -> str:
        """`ASC` or `DESC`."""
        return "DESC" if self.descending else "ASC"

    def sql(self, *, tiebreak: str = "id", nulls_last: bool = False) -> str:
        """An `ORDER BY` list for raw SQL."""
        nulls = " NULLS LAST" if nulls_last else ""
        return f"{self.expression} {self.direction}{nulls}, {tiebreak} {self.direction}"

    def apply(self, query: Q, *, tiebreak: str = "id") -> Q:
        """The same order on a Piccolo select."""
        ascending = not self.descending
        return query.order_by(OrderByRaw(self.expression), ascending=ascending).order_by(OrderByRaw(tiebreak), ascending=ascending)  # type: ignore[attr-defined,no-any-return]


# A handler's `opt` key naming the sort map (field name → SQL expression) its service orders by, so the
# OpenAPI document lists exactly the values `sort_order` accepts (app/web/openapi.py).
SORTS_OPT = "sorts"


def sort_values(allowed: Mapping[str, str]) -> list[str]:
    """Every `sort` value `sort_order` accepts for `allowed`: a field, bare or `+` for ascending, `-` for descending."""
    return [f"{prefix}{name}" for name in sorted(allowed) for prefix in ("", "-", "+")]


def sort_order(sort: str | None, allowed: Mapping[str, str], default: str) -> SortOrder:
    """Validate `sort` (or `default` when absent) against `allowed` (field name → SQL expression)."""
    spec = default if sort is None else sort
    name = spec[1:] if spec[:1] in ("-", "+") else spec  # one sign at most: `--name` is refused, not read as `-name`
    expression = allowed.get(name)
    if expression is None:
        raise ValidationFailed(
            f"Cannot sort by {name!r}",
            details={"field": "sort", "provided": spec, "expected": f"one of: {', '.join(sorted(allowed))} (prefix - for descending)"},
            human="This list cannot be sorted that way",
        )
    return SortOrder(field=name, expression=expression, descending=spec.startswith("-"))
