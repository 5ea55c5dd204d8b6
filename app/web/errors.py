"""The HTTP face of errors: the one envelope of the JSON API, and HTML error pages for the browser UI.

Services raise domain errors (app.core.errors); this module alone decides their HTTP status.

JSON: `{"error": {"code", "message", "details", "request_id"}}` with the codes of the reference
guide (AUTHENTICATION_ERROR, INSUFFICIENT_PERMISSIONS, RESOURCE_NOT_FOUND, VALIDATION_ERROR, …).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, cast
from urllib.parse import quote

import msgspec
from asyncpg.exceptions import (
    CharacterNotInRepertoireError,
    DataError,
    DatetimeFieldOverflowError,
    DeadlockDetectedError,
    SerializationError,
    UniqueViolationError,
    UntranslatableCharacterError,
)
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.core.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    DomainError,
    PayloadTooLarge,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    ResourceNotFound,
    Unavailable,
    ValidationFailed,
)
from app.core.schemas import ErrorEnvelope, Problem
from app.core.validation import FieldProblem, field_problem
from app.web.context import request_id_of
from app.web.json import ApiResponse
from app.web.ui import render

log = logging.getLogger(__name__)


# The status of each domain error (app.core.errors) and of Litestar's own HTTP errors.
STATUS_OF: dict[type[DomainError], int] = {
    BadRequest: 400,
    AuthenticationError: 401,
    PermissionDenied: 403,
    ResourceNotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    ValidationFailed: 422,
    RateLimited: 429,
    Unavailable: 503,
}
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_ERROR",
    403: "INSUFFICIENT_PERMISSIONS",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def status_of(exc: DomainError) -> int:
    """The HTTP status a domain error answers with."""
    for kind in type(exc).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def _field_error(exc: ValidationException) -> FieldProblem:
    """The first field problem in Litestar's validation output (its messages are msgspec's)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        if item.get("source") == "body" and key in ("", "data"):
            key = "body"
        return field_problem(str(item.get("message", "")), key)
    return FieldProblem("request", str(exc.detail), str(exc.detail))


def _provided(request: Request[Any, Any, Any], field: str) -> Any:
    """The value the client sent for a top-level body field, when the body was JSON."""
    body = getattr(request._connection_state, "body", None)
    if not isinstance(body, bytes) or not body:
        return None
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if isinstance(data, dict) and field in data and "password" not in field and "secret" not in field:
        value = data[field]
        return value if isinstance(value, str | int | float | bool) else None
    return None


def error_body(
    code: str, message: str, request_id: str, details: dict[str, Any] | None = None, retry_after_seconds: int | None = None
) -> ErrorEnvelope:
    """The envelope every JSON error uses (the same type documents it in OpenAPI)."""
    problem = Problem(code=code, message=message, details=details or {}, request_id=request_id)
    if retry_after_seconds is not None:
        problem.retry_after_seconds = retry_after_seconds
    return ErrorEnvelope(error=problem)


def _classify(exc: Exception) -> tuple[int, str, str, dict[str, Any], dict[str, str], dict[str, Any]]:
    """(status, code, message, details, headers, extra) for any exception."""
    if isinstance(exc, DomainError):
        if isinstance(exc, RateLimited):
            return 429, exc.code, exc.message, exc.details, {"Retry-After": str(exc.retry_after)}, {"retry_after_seconds": exc.retry_after}
        return status_of(exc), exc.code, exc.message, exc.details, {}, {}
    if isinstance(exc, UniqueViolationError):
        # Last line of defence: services check first; a write that lost a race still gets a clear 409.
        return 409, "CONFLICT", "This conflicts with an existing record (a unique value is already taken)", {}, {}, {}
    if isinstance(exc, DeadlockDetectedError | SerializationError):
        # Two changes waited for each other and PostgreSQL undid this one: nothing was changed, and it may be sent again.
        log.warning("refused after colliding with a concurrent change", exc_info=exc)
        return 409, "CONFLICT", "This change collided with another one made at the same time; nothing was changed, try again", {}, {}, {}
    if isinstance(exc, CharacterNotInRepertoireError | UntranslatableCharacterError):
        # PostgreSQL text and jsonb cannot hold NUL (\u0000): refused like any invalid value, not a server error.
        details = {"expected": "text without NUL (\\u0000) characters"}
        return 422, "VALIDATION_ERROR", "Text may not contain NUL (\\u0000) characters", details, {}, {}
    if isinstance(exc, ValidationException):
        problem = _field_error(exc)
        if "JSON is malformed" in problem.expected or "JSON is malformed" in str(exc.detail):
            return 400, "BAD_REQUEST", "Malformed JSON in request body", {"reason": problem.expected}, {}, {}
        details = {"field": problem.field, "expected": problem.expected}
        return 422, "VALIDATION_ERROR", f"Invalid {problem.field}: {problem.expected}", details, {}, {}
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail
        if isinstance(exc, NotFoundException) and message == "Not Found":
            message = "Resource not found"
        if isinstance(exc, NotAuthorizedException) and not message:
            message = "Authentication required"
        if isinstance(exc, PermissionDeniedException) and not message:
            message = "Insufficient permissions"
        if message == "CSRF token verification failed":  # a page from before a new login in another tab
            message = "This page is out of date (you signed in again since it was opened). Reload it and try again."
        return status, _STATUS_CODES.get(status, f"HTTP_{status}"), message, {}, dict(exc.headers or {}), {}
    # Input that cannot be decoded or stored. Logged too (with the traceback), in case one comes from a bug.
    if isinstance(exc, RecursionError):  # msgspec refuses to decode JSON nested deeper than Python's stack
        log.warning("refused as too deeply nested", exc_info=exc)
        return 400, "BAD_REQUEST", "Malformed JSON in request body", {"reason": "nested too deeply"}, {}, {}
    if isinstance(exc, UnicodeDecodeError):
        log.warning("refused as not UTF-8", exc_info=exc)
        return 400, "BAD_REQUEST", "The request body is not UTF-8 text", {"reason": "invalid UTF-8"}, {}, {}
    if isinstance(exc, DatetimeFieldOverflowError | OverflowError) or isinstance(exc.__cause__, OverflowError):
        # A date shifted out of Python's or PostgreSQL's range, a number too large to store.
        log.warning("refused as out of range", exc_info=exc)
        details = {"expected": "a date between the years 1 and 9999, a number PostgreSQL can store"}
        return 422, "VALIDATION_ERROR", "A value is outside the range that can be stored", details, {}, {}
    log.exception("unhandled error", exc_info=exc)
    return 500, "INTERNAL_ERROR", "Internal server error", {}, {}, {}


def _names_an_impossible_id(request: Request[Any, Any, Any], exc: Exception) -> bool:
    """Whether PostgreSQL refused an id in the path as too large for a bigint: no record has it, so 404, like any unknown id."""
    if not isinstance(exc, DataError) or "out of int64 range" not in str(exc):
        return False
    return any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in request.path_params.values())


def is_api_path(path: str) -> bool:
    """JSON API paths answer errors with the envelope; everything else is the browser UI."""
    return path == "/v2" or path.startswith("/v2/")


def exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render any exception: the JSON envelope under /v2, an HTML page (or redirect) elsewhere."""
    if _names_an_impossible_id(request, exc):
        exc = ResourceNotFound("Resource not found")
    status, code, message, details, headers, extra = _classify(exc)
    if code == "VALIDATION_ERROR" and "field" in details and "provided" not in details:
        provided = _provided(request, str(details["field"]))
        if provided is not None:
            details = {"field": details["field"], "provided": provided, "expected": details.get("expected")}
    if status == HTTP_500_INTERNAL_SERVER_ERROR and not isinstance(exc, HTTPException):
        log.error("500 on %s %s", request.method, request.url.path, exc_info=exc)
    request_id = request_id_of(cast("MutableMapping[str, Any]", request.scope))
    if is_api_path(request.url.path):
        if status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="atrium", charset="UTF-8"')
        return ApiResponse(
            error_body(code, message, request_id, details, **extra),
            status_code=status,
            headers=headers,
            media_type=MediaType.JSON,
        )
    if status == 401:
        target = "/login?next=" + quote(request.url.path)
        if getattr(request, "htmx", None):
            return ClientRedirect(redirect_to=target)
        return Redirect(path=target)
    # A page inside the normal layout (navigation, log out), or for htmx just the message, which the
    # page's error handler (static/app.js) shows next to what the person did.
    context = {
        "status": status,
        "code": code,
        "message": exc.human if isinstance(exc, DomainError) else message,
        "details": details,
        "request_id": request_id,
    }
    return render(request, "error.html", context, block="error", status_code=status, headers=headers)
