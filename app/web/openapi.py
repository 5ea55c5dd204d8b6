"""The OpenAPI contract: what every /v2 operation documents besides its success answer.

One place decides, for every operation, which error statuses it can answer (all with the error
envelope, `ErrorEnvelope`, a named component generated from the msgspec type the errors are encoded
with), which security it needs, and that request bodies are closed to unknown fields. New endpoints
are covered without doing anything; Schemathesis (tests/contract) checks the server keeps to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import msgspec
from litestar import Litestar
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Reference, Schema
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from app.core.pagination import SORTS_OPT, sort_values
from app.core.schemas import DECIMAL_INPUTS, ErrorEnvelope
from app.web.auth import required_scope
from app.web.errors import is_api_path
from app.web.etag import IF_NONE_MATCH, answers_not_modified
from app.web.idempotency import IDEMPOTENCY_KEY, honours_idempotency_key
from app.web.ratelimit import EXEMPT_PATHS

# Litestar drops a bound of 0 from the schema (it tests the bound's truth): parameters with `ge=0` add it back.
MINIMUM_ZERO: dict[str, Any] = {"minimum": 0}


def credentials(scope: str) -> list[dict[str, list[str]]]:
    """Any of the schemes in app.asgi works on a guarded operation; an OAuth2 token needs the operation's scope."""
    return [{"ApiKey": []}, {"Bearer": []}, {"OAuth2": [scope]}]


_WHEN = {
    304: "Not modified: `If-None-Match` holds the current `ETag`",
    400: "BAD_REQUEST: malformed JSON or form body",
    401: "AUTHENTICATION_ERROR: missing, invalid, expired or revoked credentials",
    403: "INSUFFICIENT_PERMISSIONS: the caller's role, a missing scope (`details.required_scope`), or `X-Tenant-ID` mismatch",
    404: "RESOURCE_NOT_FOUND: no such record in the caller's tenant",
    409: "CONFLICT: a duplicate, a rule on the record's state, or the same `Idempotency-Key` still running",
    412: "PRECONDITION_FAILED: `If-Match` is not the current `ETag`",
    413: "PAYLOAD_TOO_LARGE: the body or file is over its limit",
    422: "VALIDATION_ERROR: a field is invalid, missing, unknown or read-only (`details.field` names it)",
    429: "RATE_LIMIT_EXCEEDED: plan limit or login throttle; see `Retry-After`",
}


def error_statuses(route: HTTPRoute, method: str, handler: HTTPRouteHandler, inputs: KwargsModel) -> set[int]:
    """The statuses besides its success an operation can answer, read from its route, guards and inputs."""
    has_body = "data" in inputs.expected_reserved_kwargs
    has_parameters = bool(
        inputs.expected_path_params or inputs.expected_query_params or inputs.expected_header_params or inputs.expected_cookie_params
    )
    # Credentials are checked whenever they are sent, so even public operations answer 401 and 403.
    statuses = {401, 403}
    if not route.path.startswith(EXEMPT_PATHS):
        statuses.add(429)
    if has_body or has_parameters:
        statuses |= {400, 422}  # 400: a request that cannot be parsed; 422: a value that breaks a rule
    if inputs.expected_path_params:
        statuses |= {404, 409}  # 409: a rule on the record's state (an export not finished yet, a lead's phone taken)
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        statuses.add(409)
    if honours_if_match(inputs):
        statuses.add(412)
    if method == "POST":
        statuses |= {413, 422}  # Idempotency-Key: body too large to keep, or the key reused with another body
    if answers_not_modified(method, route.path):
        statuses.add(304)
    return statuses


def honours_if_match(inputs: KwargsModel) -> bool:
    """Whether the handler takes `If-Match` (typed `app.web.etag.IfMatch`), so a stale version answers 412."""
    return any(p.field_alias.lower() == "if-match" for p in inputs.expected_header_params)


def header_parameters(route: HTTPRoute, method: str, handler: HTTPRouteHandler) -> list[OpenAPIParameter]:
    """The request headers middleware honours on this operation, asked of the middleware's own rules."""
    headers = []
    if answers_not_modified(method, route.path):
        headers.append(IF_NONE_MATCH)
    if honours_idempotency_key(method, route.path) and required_scope(handler, method) is not None:
        headers.append(IDEMPOTENCY_KEY)
    return headers


def sort_parameter(handler: HTTPRouteHandler) -> Schema | None:
    """The schema of the operation's `sort`: the values its service's sort map takes (`sort_order`), or None for a
    list in a fixed order, whose operation then does not offer `sort`."""
    sorts = handler.opt.get(SORTS_OPT)
    return Schema(type=OpenAPIType.STRING, enum=sort_values(sorts)) if sorts else None


def with_parameters(operation_class: type[Operation], extra: list[OpenAPIParameter], sort: Schema | None) -> type[Operation]:
    """An `operation_class` that lists `extra` header parameters after the handler's own, and its own `sort` values."""

    @dataclass
    class WithHeaders(operation_class):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            super_init = getattr(super(), "__post_init__", None)
            if super_init is not None:
                super_init()
            declared: list[OpenAPIParameter | Reference] = []
            for p in getattr(self, "parameters", None) or []:
                if isinstance(p, OpenAPIParameter) and p.param_in == ParamType.QUERY and p.name == "sort":
                    if sort is None:
                        continue
                    p = replace(p, schema=sort)
                declared.append(p)
            own = {(p.name.lower(), p.param_in) for p in declared if isinstance(p, OpenAPIParameter)}
            self.parameters = [*declared, *(p for p in extra if (p.name.lower(), p.param_in) not in own)] or None
            for response in (self.responses or {}).values():
                for media in (response.content or {}).values() if isinstance(response, OpenAPIResponse) else ():
                    _either_answer(media.schema)

    return WithHeaders


def _either_answer(schema: Schema | Reference | None) -> None:
    """A handler answering a model or a raw response (`Page[Lead] | Stream`) gets `oneOf: [model, {}]`, which no answer
    can satisfy (everything matches `{}`, so a page matches both): it becomes `anyOf`, what the answer really is."""
    if isinstance(schema, Schema) and schema.one_of and any(branch == Schema() for branch in schema.one_of):
        schema.any_of, schema.one_of = schema.one_of, None


def document_contract(app: Litestar) -> None:
    """Add the error answers and security requirements of every /v2 operation (before the document is built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not is_api_path(route.path):
            continue
        for method, (handler, inputs) in route.route_handler_map.items():
            if method in ("HEAD", "OPTIONS") or not handler.resolve_include_in_schema():
                continue
            responses = dict(handler.responses or {})
            for status in sorted(error_statuses(route, method, handler, inputs)):
                if status == 304:
                    responses.setdefault(status, ResponseSpec(None, description=_WHEN[status], generate_examples=False))
                else:
                    responses.setdefault(status, ResponseSpec(ErrorEnvelope, description=_WHEN[status], generate_examples=False))
            handler.responses = responses
            handler.operation_class = with_parameters(
                handler.operation_class, header_parameters(route, method, handler), sort_parameter(handler)
            )
            scope = required_scope(handler, method)
            if scope is not None and not handler.security:
                handler.security = credentials(scope)


def success_media_types(status: int, media_types: dict[str, Schema]) -> type[Operation]:
    """An `operation_class` for a handler whose success answer comes in several content types (exports)."""

    @dataclass
    class MultiMediaOperation(Operation):
        def __post_init__(self) -> None:
            response = (self.responses or {}).get(str(status))
            if isinstance(response, OpenAPIResponse):
                response.content = {name: OpenAPIMediaType(schema=schema) for name, schema in media_types.items()}

    return MultiMediaOperation


class ClosedStructs(OpenAPISchemaPlugin):
    """Litestar's schema of every msgspec Struct, completed from the Struct's own msgspec types: request bodies (declared
    with `forbid_unknown_fields=True`) are closed (`additionalProperties: false`), and what Litestar leaves out of a
    field's `Meta` is put back (bounds of 0, patterns, list item bounds, `type: number` of amounts)."""

    def __init__(self) -> None:
        from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin

        self._structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        """msgspec Structs."""
        return self._structs.is_plugin_supported_field(field_definition)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        """Litestar's own Struct schema, closed if the Struct is (and requiring one of two spellings where the body says so)."""
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        either = getattr(field_definition.type_, "one_of_required", ())
        if either:
            schema.any_of = [Schema(required=[name]) for name in either]
        exclusive = getattr(field_definition.type_, "not_both", ())
        if exclusive:  # refused when both are present and not null
            non_null: dict[str, Schema | Reference] = {name: Schema(schema_not=Schema(type=OpenAPIType.NULL)) for name in exclusive}
            schema.schema_not = Schema(required=list(exclusive), properties=non_null)
        _restore_zero_bounds(field_definition.type_, schema)
        _restore_patterns(field_definition.type_, schema)
        _restore_numbers(field_definition.type_, schema)
        _restore_item_bounds(field_definition.type_, schema)
        for name, values in getattr(field_definition.type_, "allowed_values", {}).items():
            _list_values((schema.properties or {}).get(name), values())
        return schema


def _restore_zero_bounds(struct: Any, schema: Schema) -> None:
    """Put back the bounds of 0 (`Meta(ge=0)`) Litestar leaves out, so the schema admits no negative count."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        prop = (schema.properties or {}).get(field.encode_name)
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        for kind in kinds:
            if isinstance(kind, msgspec.inspect.Metadata):  # a type with a description: its bounds are the inner type's
                kind = kind.type
            if isinstance(prop, Schema) and isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
                if kind.ge == 0 and prop.minimum is None:
                    prop.minimum = 0
                if kind.le == 0 and prop.maximum is None:
                    prop.maximum = 0


def _restore_patterns(struct: Any, schema: Schema) -> None:
    """Put back a `pattern` given as `Meta(extra_json_schema=...)` (Decimal amounts), which Litestar leaves out. A
    decimal input (an amount, a rate, a quantity: app.core.schemas.DECIMAL_INPUTS) is a JSON number or such a string:
    the schema offers both."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        prop = (schema.properties or {}).get(field.encode_name)
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        for kind in kinds:
            pattern = (getattr(kind, "extra_json_schema", None) or {}).get("pattern")
            if isinstance(prop, Schema) and pattern in DECIMAL_INPUTS:
                _number_or_string(prop, pattern)
            elif isinstance(prop, Schema) and pattern and prop.pattern is None:
                prop.pattern = pattern


def _number_or_string(prop: Schema, pattern: str) -> None:
    """A decimal input's schema (an amount, a rate, a quantity): a number from 0 to its maximum, or a string of its
    pattern (or null where it was)."""
    bounds = DECIMAL_INPUTS[pattern]
    lowest: dict[str, Any] = {"exclusive_minimum": 0} if bounds.positive else {"minimum": 0}
    amount = [
        Schema(type=OpenAPIType.NUMBER, maximum=float(bounds.maximum), **lowest),
        Schema(type=OpenAPIType.STRING, pattern=pattern),
    ]
    branches = prop.one_of or [Schema(type=prop.type)]
    nullable = any(isinstance(b, Schema) and b.type == OpenAPIType.NULL for b in branches)
    prop.one_of = [*amount, *([Schema(type=OpenAPIType.NULL)] if nullable else [])]
    prop.type = None
    prop.pattern = None


def _restore_numbers(struct: Any, schema: Schema) -> None:
    """Say `number` where the field's type says so (`Meta(extra_json_schema={"type": "number"})`, the `Amount` of
    answers, sent as JSON numbers), which Litestar leaves a string, its default for Decimal."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        prop = (schema.properties or {}).get(field.encode_name)
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        if not isinstance(prop, Schema):
            continue
        for kind in kinds:
            if (getattr(kind, "extra_json_schema", None) or {}).get("type") != "number":
                continue
            for branch in [prop, *(prop.one_of or [])]:
                if isinstance(branch, Schema) and branch.type == OpenAPIType.STRING:
                    branch.type = OpenAPIType.NUMBER


def _restore_item_bounds(struct: Any, schema: Schema) -> None:
    """Put back the bounds of a list's integers (`list[Annotated[int, Meta(ge=1)]]`) and strings (length, pattern),
    which Litestar leaves out."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        prop = (schema.properties or {}).get(field.encode_name)
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        for kind in kinds:
            if isinstance(kind, msgspec.inspect.Metadata):  # a list with its own length bounds or description
                kind = kind.type
            item = kind.item_type if isinstance(kind, msgspec.inspect.ListType) else None
            if isinstance(item, msgspec.inspect.Metadata):  # an item type with a description
                item = item.type
            if not isinstance(item, msgspec.inspect.IntType | msgspec.inspect.StrType) or not isinstance(prop, Schema):
                continue
            for branch in [prop, *(prop.one_of or [])]:
                if not (isinstance(branch, Schema) and isinstance(branch.items, Schema)):
                    continue
                if isinstance(item, msgspec.inspect.IntType):
                    branch.items.minimum = item.ge if item.ge is not None else branch.items.minimum
                    branch.items.maximum = item.le if item.le is not None else branch.items.maximum
                else:  # a list of constrained strings (tags): their length and pattern
                    branch.items.min_length = item.min_length if item.min_length is not None else branch.items.min_length
                    branch.items.max_length = item.max_length if item.max_length is not None else branch.items.max_length
                    branch.items.pattern = item.pattern if item.pattern is not None else branch.items.pattern


def _list_values(field: Schema | Reference | None, values: list[str]) -> None:
    """Say which values a string field (or an array's items) takes, through the `oneOf` Litestar adds for UNSET."""
    if not isinstance(field, Schema):
        return
    for branch in [field, *(field.one_of or [])]:
        if not isinstance(branch, Schema):
            continue
        if isinstance(branch.items, Schema):
            branch.items.enum = list(values)
        elif branch.type == OpenAPIType.STRING:
            branch.enum = list(values)
