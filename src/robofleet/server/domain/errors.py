"""The named errors every layer raises; the API maps each kind to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one input field, phrased so the caller knows the fix."""

    field: str
    problem: str


class RobofleetError(Exception):
    """Base of all expected errors. `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str, *, details: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers: dict[str, str] = {}
        """HTTP headers the answer carries (Retry-After, Content-Range)."""


class InvalidInput(RobofleetError):
    """The request is well-formed but a value is not acceptable."""

    code = "invalid_input"

    @classmethod
    def for_field(cls, field_name: str, problem: str) -> InvalidInput:
        return cls(f"{field_name}: {problem}", details=[FieldProblem(field_name, problem)])


class MalformedRequest(RobofleetError):
    """The request cannot be parsed at all (bad JSON, bad base64, wrong media type)."""

    code = "malformed_request"


class TooLarge(RobofleetError):
    """The request (or a file decoded from it) is larger than the server accepts."""

    code = "body_too_large"


class RateLimited(RobofleetError):
    """The caller sends faster than it may; the request is refused whole, to be retried."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)


class Unauthenticated(RobofleetError):
    """No credentials, or credentials that identify nobody."""

    code = "unauthenticated"

    def __init__(self, message: str, *, reason: str = "unauthenticated") -> None:
        super().__init__(message)
        self.code = reason


class Forbidden(RobofleetError):
    """A known identity that lacks the right for this operation."""

    code = "forbidden"

    def __init__(self, message: str, *, reason: str = "forbidden") -> None:
        super().__init__(message)
        self.code = reason


class NotFound(RobofleetError):
    code = "not_found"

    def __init__(self, entity: str, ref: object) -> None:
        super().__init__(f"{entity} '{ref}' was not found")
        self.entity = entity
        self.ref = ref


class Conflict(RobofleetError):
    """The request clashes with the current state (duplicate name, stale lease...)."""

    code = "conflict"

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.code = code


class InvalidTransition(Conflict):
    """A status change that the transition table does not allow."""

    def __init__(self, entity: str, current: str, requested: str) -> None:
        super().__init__(
            f"{entity} cannot move from {current} to {requested}",
            code="invalid_transition",
        )
        self.current = current
        self.requested = requested


class RangeNotSatisfiable(RobofleetError):
    """A `Range` that names no byte of the content (416, with `Content-Range: bytes */size`)."""

    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__(f"the requested range is outside the content's {size} bytes")
        self.headers["Content-Range"] = f"bytes */{size}"


# The HTTP status each error answers with, for the API and the web pages alike.
STATUS_BY_ERROR: list[tuple[type[RobofleetError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (MalformedRequest, 400),
    (InvalidInput, 422),
    (TooLarge, 413),
    (RangeNotSatisfiable, 416),
    (RateLimited, 429),
]


def status_of(error: RobofleetError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400
