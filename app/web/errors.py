"""The one error envelope of the JSON API, and HTML error pages for the browser UI.

JSON: `{"error": {"code", "message", "details", "request_id"}}` with the codes of the reference
guide (AUTHENTICATION_ERROR, INSUFFICIENT_PERMISSIONS, RESOURCE_NOT_FOUND, VALIDATION_ERROR, …).
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any, cast
from urllib.parse import quote

import msgspec
from asyncpg.exceptions import UniqueViolationError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.web.context import request_id_of
from app.web.json import ApiResponse

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error with a stable machine-readable code and optional details."""

    code = "ERROR"
    status_code = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=message, headers=headers)
        self.details = details or {}


class BadRequest(ApiError):
    code, status_code = "BAD_REQUEST", 400


class AuthenticationError(ApiError):
    code, status_code = "AUTHENTICATION_ERROR", 401


class PermissionDenied(ApiError):
    code, status_code = "INSUFFICIENT_PERMISSIONS", 403


class ResourceNotFound(ApiError):
    code, status_code = "RESOURCE_NOT_FOUND", 404


class PayloadTooLarge(ApiError):
    code, status_code = "PAYLOAD_TOO_LARGE", 413


class Conflict(ApiError):
    code, status_code = "CONFLICT", 409


class PreconditionFailed(ApiError):
    code, status_code = "PRECONDITION_FAILED", 412


class ValidationFailed(ApiError):
    code, status_code = "VALIDATION_ERROR", 422


class RateLimited(ApiError):
    code, status_code = "RATE_LIMIT_EXCEEDED", 429

    def __init__(self, message: str, *, retry_after: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, headers=headers)
        self.retry_after = retry_after


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

_FIELD_IN_MSGSPEC = re.compile(r"at `\$\.([A-Za-z0-9_\.\[\]]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_REWRITES = [
    (re.compile(r"Expected `str` matching regex .*"), "a value in the expected format"),
    (re.compile(r"Expected `str` of length >= (\d+)"), r"at least \1 characters"),
    (re.compile(r"Expected `str` of length <= (\d+)"), r"at most \1 characters"),
    (re.compile(r"Expected `(int|float)` >= (\S+)"), r"a number of at least \2"),
    (re.compile(r"Expected `(int|float)` <= (\S+)"), r"a number of at most \2"),
    (re.compile(r"Invalid enum value (.*)"), r"one of the allowed values (got \1)"),
]
# What a few well-known fields must look like, in words a person can act on.
EXPECTED = {
    "email": "A valid e-mail address, e.g. name@example.com",
    "phone": "International format starting with +",
}


def _field_error(exc: ValidationException) -> tuple[str, str]:
    """(field, what was expected) from Litestar/msgspec validation output."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        text = str(item.get("message", ""))
        key = str(item.get("key") or "")
        if m := _UNKNOWN_FIELD.search(text):
            return m.group(1), "This field is unknown or read-only and may not be set"
        if m := _MISSING_FIELD.search(text):
            return m.group(1), "This field is required"
        if m := _FIELD_IN_MSGSPEC.search(text):
            key, text = m.group(1), text.split(" - at `")[0]
        if item.get("source") == "body" and key in ("", "data"):
            key = "body"
        for pattern, replacement in _REWRITES:
            if pattern.match(text):
                text = pattern.sub(replacement, text)
                break
        return key or "request", EXPECTED.get(key, text)
    return "request", str(exc.detail)


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


def error_body(code: str, message: str, request_id: str, details: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The envelope every JSON error uses."""
    return {"error": {"code": code, "message": message, "details": details or {}, "request_id": request_id, **extra}}


def _classify(exc: Exception) -> tuple[int, str, str, dict[str, Any], dict[str, str], dict[str, Any]]:
    """(status, code, message, details, headers, extra) for any exception."""
    if isinstance(exc, ApiError):
        extra = {"retry_after_seconds": exc.retry_after} if isinstance(exc, RateLimited) else {}
        return exc.status_code, exc.code, exc.detail, exc.details, dict(exc.headers or {}), extra
    if isinstance(exc, UniqueViolationError):
        # Last line of defence: services check first; a write that lost a race still gets a clear 409.
        return 409, "CONFLICT", "This conflicts with an existing record (a unique value is already taken)", {}, {}, {}
    if isinstance(exc, ValidationException):
        field, expected = _field_error(exc)
        if "JSON is malformed" in expected or "JSON is malformed" in str(exc.detail):
            return 400, "BAD_REQUEST", "Malformed JSON in request body", {"reason": expected}, {}, {}
        return 422, "VALIDATION_ERROR", f"Invalid {field}: {expected}", {"field": field, "expected": expected}, {}, {}
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail
        if isinstance(exc, NotFoundException) and message == "Not Found":
            message = "Resource not found"
        if isinstance(exc, NotAuthorizedException) and not message:
            message = "Authentication required"
        if isinstance(exc, PermissionDeniedException) and not message:
            message = "Insufficient permissions"
        return status, _STATUS_CODES.get(status, f"HTTP_{status}"), message, {}, dict(exc.headers or {}), {}
    log.exception("unhandled error", exc_info=exc)
    return 500, "INTERNAL_ERROR", "Internal server error", {}, {}, {}


def is_api_path(path: str) -> bool:
    """JSON API paths answer errors with the envelope; everything else is the browser UI."""
    return path == "/v2" or path.startswith("/v2/")


def exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render any exception: the JSON envelope under /v2, an HTML page (or redirect) elsewhere."""
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
        if request.headers.get("hx-request"):
            return Response(content="", status_code=200, headers={"HX-Redirect": target})
        return Redirect(path=target)
    return Template(
        template_name="error.html",
        context={"status": status, "code": code, "message": message, "details": details, "request_id": request_id},
        status_code=status,
        headers=headers,
    )
