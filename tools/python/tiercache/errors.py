"""Exceptions of the client. Every server error carries the server's code and status."""

from typing import Optional


class TiercacheError(Exception):
    """A request the server refused, or one that could not be made."""

    def __init__(self, message: str, code: str = "", status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        self.code = code        # the server's error code: "invalid_argument", "too_large", ...
        self.status = status    # the HTTP status, None when no answer came


class TiercacheUnavailable(TiercacheError):
    """No answer: the server is down, unreachable, timed out or shutting down (503)."""


class InvalidRequest(TiercacheError):
    """400, 413, 415: the request was malformed or over a limit; nothing changed."""


class NotFound(TiercacheError):
    """404 other than a miss: an unknown job, source, model or namespace."""


class Conflict(TiercacheError):
    """409 or 412: a warming run already going on, a key already stored (add)."""


class SerializationError(TiercacheError):
    """A value that cannot be encoded, or a stored value the client will not decode."""


def error_for_status(status: int, code: str, message: str) -> TiercacheError:
    if status in (400, 413, 415):
        return InvalidRequest(message, code, status)
    if status == 404:
        return NotFound(message, code, status)
    if status in (409, 412):
        return Conflict(message, code, status)
    if status in (502, 503, 504):
        return TiercacheUnavailable(message, code, status)
    return TiercacheError(message, code, status)
