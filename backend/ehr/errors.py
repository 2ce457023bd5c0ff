"""Typed errors of the EHR port.

Every error carries the fields an edge needs to answer well (which resource, which operation) and a
message that says what happened and what to do next. The API edge maps them to status codes:
`EhrUnavailable`/`EhrTimeout` -> 503, `NotFound` -> 404, `SlotTaken`/`VersionConflict` -> 409,
`EhrBadResponse` -> 502, `EhrRejected` -> 422, `EhrAuthError` -> 502 (our credentials, not the
caller's). None of them should ever reach a patient as a stack trace.
"""

from __future__ import annotations


class EhrError(Exception):
    """Base class of every error raised by an `Ehr` implementation."""

    hint = "Try again later; if it persists, tell the clinic staff."

    def __init__(self, message: str, *, resource: str = "", operation: str = "") -> None:
        self.resource = resource
        self.operation = operation
        self.detail = message
        super().__init__(f"{message} {self.hint}".strip())


class EhrUnavailable(EhrError):
    """The EHR could not be reached or answered with a server error (5xx) after bounded retries."""

    hint = (
        "The EHR is down or overloaded: tell the patient we will get back to them; "
        "do not retry a write blindly."
    )

    def __init__(self, resource: str, operation: str, detail: str = "") -> None:
        msg = f"EHR unavailable during {operation} on {resource}"
        super().__init__(
            f"{msg}: {detail}" if detail else msg, resource=resource, operation=operation
        )


class EhrTimeout(EhrUnavailable):
    """The EHR did not answer within the configured timeout."""

    hint = (
        "The EHR is slow: for a read, try again later; for a write, re-read the resource first, "
        "it may or may not have been applied."
    )

    def __init__(self, resource: str, operation: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(resource, operation, f"no answer within {timeout_s:g} s")


class EhrBadResponse(EhrError):
    """The EHR answered something this client cannot trust (not JSON, not FHIR, wrong shape)."""

    hint = (
        "This is an EHR/interface problem: report it to the integration team with the path shown."
    )

    def __init__(self, resource: str, operation: str, detail: str) -> None:
        super().__init__(
            f"Unexpected EHR response during {operation} on {resource}: {detail}",
            resource=resource,
            operation=operation,
        )


class EhrRejected(EhrError):
    """The EHR refused the request (4xx other than 404/409/412), e.g. a validation error."""

    hint = "The request was invalid for this EHR: fix the input, do not retry unchanged."

    def __init__(self, resource: str, operation: str, status: int, detail: str = "") -> None:
        self.status = status
        suffix = f": {detail}" if detail else ""
        super().__init__(
            f"EHR rejected {operation} on {resource} (HTTP {status}){suffix}",
            resource=resource,
            operation=operation,
        )


class EhrAuthError(EhrError):
    """Our credentials were refused (token endpoint error, 401 or 403 from the EHR)."""

    hint = "Check the SMART client id, key and scopes configured for the EHR."

    def __init__(self, resource: str, operation: str, detail: str) -> None:
        super().__init__(
            f"EHR authorisation failed during {operation} on {resource}: {detail}",
            resource=resource,
            operation=operation,
        )


class NotFound(EhrError):
    """The resource does not exist (or is deleted) in the EHR."""

    hint = "Check the id; the record may have been merged or removed."

    def __init__(self, resource: str, resource_id: str, operation: str = "read") -> None:
        self.resource_id = resource_id
        super().__init__(
            f"{resource}/{resource_id} not found", resource=resource, operation=operation
        )


class SlotTaken(EhrError):
    """The slot is no longer free: another booking got it first (or it was never free)."""

    hint = "Offer the patient other free slots."

    def __init__(self, slot_id: str) -> None:
        self.slot_id = slot_id
        super().__init__(f"Slot/{slot_id} is no longer free", resource="Slot", operation="book")


class VersionConflict(EhrError):
    """The resource changed between our read and our write (If-Match failed)."""

    hint = "Re-read the resource and ask the patient again with the current state."

    def __init__(self, resource: str, resource_id: str, operation: str) -> None:
        self.resource_id = resource_id
        super().__init__(
            f"{resource}/{resource_id} changed while we were updating it",
            resource=resource,
            operation=operation,
        )


class InvalidState(EhrError):
    """The requested change does not apply to the resource's current state."""

    hint = "Tell the patient what the current state is instead."

    def __init__(self, resource: str, resource_id: str, operation: str, detail: str) -> None:
        self.resource_id = resource_id
        super().__init__(
            f"Cannot {operation} {resource}/{resource_id}: {detail}",
            resource=resource,
            operation=operation,
        )
