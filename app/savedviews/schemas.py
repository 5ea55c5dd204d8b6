"""Saved views as the screens show them and the API answers them, and what the API takes to make or change one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RequestBody, ResponseBody

Screen = Literal["leads"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=60, description="1 to 60 characters, unique among the person's views")]
Query = Annotated[
    str, msgspec.Meta(max_length=2000, description="The list's URL query, e.g. `status=QUALIFIED&agent=any&sort=-hotness_score`")
]


class SavedView(ResponseBody):
    """A named state of a list screen (filters, sort, columns, page size): the person's own, or shared with the team."""

    id: int
    name: str
    screen: str
    query: str
    shared: bool
    user_id: int
    mine: bool
    created_at: datetime


class SavedViewCreate(RequestBody, kw_only=True):
    """A new view; `shared` (admins and managers) shows it to the whole team. The page offset is not kept."""

    name: Name
    screen: Screen = "leads"
    query: Query = ""
    shared: bool = False


class SavedViewUpdate(RequestBody, kw_only=True):
    """A partial change; fields left out are unchanged."""

    name: Name | UnsetType = UNSET
    query: Query | UnsetType = UNSET
    shared: bool | UnsetType = UNSET
