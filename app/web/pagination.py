"""The one list helper: `limit`/`offset`/`sort` in, `{total, limit, offset, data}` out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar.params import Parameter
from piccolo.columns import Column
from piccolo.query import Select

from app.web.errors import ValidationFailed

MAX_LIMIT = 100
DEFAULT_LIMIT = 50

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Validated paging and sorting of a list request."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    sort: str | None = None


async def provide_list_query(
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Items per page (1-100)")] = DEFAULT_LIMIT,
    offset: Annotated[int, Parameter(ge=0, le=1_000_000, description="Items to skip")] = 0,
    sort: Annotated[str | None, Parameter(description="Sort field; prefix with `-` for descending, e.g. `-created_at`")] = None,
) -> ListQuery:
    """Litestar dependency reading the list parameters of any collection endpoint."""
    return ListQuery(limit=limit, offset=offset, sort=sort)


def apply_sort(query: Q, sort: str | None, allowed: Mapping[str, Column], default: str, tiebreak: Column) -> Q:
    """Order `query` by a whitelisted field (unknown fields are a validation error), ties by id."""
    spec = sort or default
    name = spec.lstrip("-+")
    column = allowed.get(name)
    if column is None:
        raise ValidationFailed(
            f"Cannot sort by {name!r}",
            details={"field": "sort", "provided": spec, "expected": f"one of: {', '.join(sorted(allowed))} (prefix - for descending)"},
        )
    ascending = not spec.startswith("-")
    return query.order_by(column, ascending=ascending).order_by(tiebreak, ascending=ascending)  # type: ignore[return-value]


def sort_sql(sort: str | None, allowed: Mapping[str, str], default: str) -> tuple[str, str]:
    """(column expression, ASC|DESC) for a raw-SQL list; an unknown field is a validation error."""
    spec = sort or default
    column = allowed.get(spec.lstrip("-+"))
    if column is None:
        raise ValidationFailed(
            f"Cannot sort by {spec.lstrip('-+')!r}",
            details={"field": "sort", "provided": spec, "expected": f"one of: {', '.join(sorted(allowed))} (prefix - for descending)"},
        )
    return column, "DESC" if spec.startswith("-") else "ASC"


def page(total: int, query: ListQuery, data: list[Any]) -> dict[str, Any]:
    """Keyword arguments for a `…Page` struct."""
    return {"total": total, "limit": query.limit, "offset": query.offset, "data": data}
