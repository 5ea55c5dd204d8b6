"""JSON request bodies are decoded as JSON, strictly: `true` is a boolean, `0` is not.

Litestar converts every handler input with msgspec's lax rules (`strict=False`), which query strings and forms
need (every value arrives as text) but a JSON body does not: laxly, `"dry_run": 0` became `false` and `"max_tasks":
"5"` became 5, though the OpenAPI document (the same msgspec types) says boolean and integer. Before the handler's
inputs are parsed, the body is converted strictly to the handler's own body type; a value of the wrong JSON type
answers 422 like any invalid field. A number with no fraction counts as an integer, as it does in JSON Schema.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

from app.core.validation import invalid_input


@cache
def json_body_type(handler: HTTPRouteHandler) -> Any:
    """The type a handler's JSON body decodes into, or None when it takes no JSON body (a form, a file, nothing)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return None
    return data.annotation


async def refuse_lax_json(request: Request[Any, Any, Any]) -> None:
    """Decode the JSON body strictly against the handler's body type; a value of another JSON type answers 422.
    Malformed JSON is left to Litestar (400), as is an empty body."""
    body_type = json_body_type(request.route_handler)  # type: ignore[arg-type]
    if body_type is None:
        return
    body = await request.body()
    if not body:
        return
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return
    try:
        msgspec.convert(_integral_floats_as_ints(decoded), body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise invalid_input(exc) from None


def _integral_floats_as_ints(value: Any) -> Any:
    """`8253.0` is the integer 8253, as JSON Schema counts it (an integer field takes it); `0.5` stays a number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value
