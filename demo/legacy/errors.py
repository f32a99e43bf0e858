"""The legacy JSON error table: `{"ERR": "<UPPER CASE TEXT>", "CODE": n}` with its HTTP status.

One function per row of the contract table, so a handler raises `errors.slot_not_available()`
and the dispatcher renders it. The texts and codes are the contract: extracted services must
reproduce them byte for byte, so change nothing here without changing the contract docs.
"""

from __future__ import annotations


class ApiError(Exception):
    """A contract error; the dispatcher turns it into the JSON body and status."""

    def __init__(self, status: int, code: int, err: str) -> None:
        super().__init__(f"{status} {code} {err}")
        self.status = status
        self.code = code
        self.err = err

    def body(self) -> dict[str, object]:
        return {"ERR": self.err, "CODE": self.code}


def no_such_service() -> ApiError:
    return ApiError(404, 100, "NO SUCH SERVICE")


def not_logged_in() -> ApiError:
    return ApiError(401, 101, "NOT LOGGED IN")


def access_denied() -> ApiError:
    return ApiError(403, 102, "ACCESS DENIED")


def method_not_allowed() -> ApiError:
    return ApiError(405, 103, "METHOD NOT ALLOWED")


def appointment_not_found() -> ApiError:
    return ApiError(404, 201, "APPOINTMENT NOT FOUND")


def patient_not_found() -> ApiError:
    return ApiError(404, 202, "PATIENT NOT FOUND")


def bad_request() -> ApiError:
    return ApiError(400, 300, "BAD REQUEST")


def missing_field(name: str) -> ApiError:
    return ApiError(400, 301, f"MISSING FIELD {name.upper()}")


def invalid_date() -> ApiError:
    return ApiError(400, 302, "INVALID DATE")


def invalid_time() -> ApiError:
    return ApiError(400, 303, "INVALID TIME")


def invalid_value(name: str) -> ApiError:
    return ApiError(400, 304, f"INVALID VALUE {name.upper()}")


def unknown_patient() -> ApiError:
    return ApiError(400, 305, "UNKNOWN PATIENT")


def unknown_provider() -> ApiError:
    return ApiError(400, 305, "UNKNOWN PROVIDER")


def search_too_short() -> ApiError:
    return ApiError(400, 306, "SEARCH TOO SHORT")


def slot_not_available() -> ApiError:
    return ApiError(409, 401, "SLOT NOT AVAILABLE")


def already_cancelled() -> ApiError:
    return ApiError(409, 402, "APPOINTMENT ALREADY CANCELLED")


def internal_error() -> ApiError:
    """Not in the contract table: what an unexpected failure looks like (never with details)."""
    return ApiError(500, 900, "INTERNAL ERROR")
