"""Domain errors. Each carries a message for people; the web layer maps them to status codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base: a request the domain refuses, with a message that says why."""

    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    """Absent, or belongs to another organization: callers cannot tell which."""

    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Conflict(DomainError):
    """A stale write or a transition from the wrong state."""

    status_code = 409


class ValidationFailed(DomainError):
    status_code = 422


class PaymentRequired(DomainError):
    """The organization's billing stopped beyond its grace period: its portal is read-only until it pays."""

    status_code = 402
