"""Domain errors: what services raise. The HTTP layer (app.web.errors) maps each to a status and the envelope.

Every error has a stable machine-readable `code` (the reference guides' error codes), a message for
integrators, optional `details`, and a `human` wording for screens (defaults to the message).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused the request; nothing was changed."""

    code = "ERROR"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, human: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.human = human or message

    @property
    def field(self) -> str | None:
        """The input field the error is about, when there is one."""
        value = self.details.get("field")
        return str(value) if value is not None else None


class BadRequest(DomainError):
    """The request cannot be understood (malformed, unsupported)."""

    code = "BAD_REQUEST"


class AuthenticationError(DomainError):
    """No valid credentials."""

    code = "AUTHENTICATION_ERROR"


class PermissionDenied(DomainError):
    """The caller's role or credentials do not allow this."""

    code = "INSUFFICIENT_PERMISSIONS"


class ResourceNotFound(DomainError):
    """No such record in the caller's tenant (other tenants' ids included)."""

    code = "RESOURCE_NOT_FOUND"


class PayloadTooLarge(DomainError):
    """The body or file is over its limit."""

    code = "PAYLOAD_TOO_LARGE"


class Conflict(DomainError):
    """The change conflicts with the current state (a duplicate, a rule on the record's state)."""

    code = "CONFLICT"


class PreconditionFailed(DomainError):
    """The record changed since the caller read it (If-Match)."""

    code = "PRECONDITION_FAILED"


class ValidationFailed(DomainError):
    """Input that breaks a rule; `details` names the field, what was provided and what is expected."""

    code = "VALIDATION_ERROR"


def unknown_reference(field: str, value: Any, what: str) -> ValidationFailed:
    """A well-formed id in a request that names no `what` of the tenant's (422 `reason: unknown_reference`: whether it
    does depends on the data, not on the request's shape)."""
    return ValidationFailed(
        f"Invalid {field}: no such {what} in your tenant",
        details={"field": field, "provided": value, "expected": f"the id of one of your {what}s", "reason": "unknown_reference"},
        human=f"Choose one of your {what}s",
    )


class Unavailable(DomainError):
    """The work could not be done now (a document that took too long to render); nothing was changed, try again."""

    code = "SERVICE_UNAVAILABLE"


class RateLimited(DomainError):
    """Too many requests or attempts; retry after `retry_after` seconds."""

    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
