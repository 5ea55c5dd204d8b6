"""Screens of properties."""

from __future__ import annotations

from litestar import Controller


class PropertyPagesController(Controller):
    """The properties list, board, page and portfolios."""

    path = "/properties"
    include_in_schema = False
