"""My day (placeholder until written)."""

from __future__ import annotations

from litestar import Controller


class MyDayController(Controller):
    """My day."""

    include_in_schema = False
