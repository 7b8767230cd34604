"""How Python values become stored bytes, and back, by the content type stored with them.

| value                         | stored as                  | content type                 |
|-------------------------------|----------------------------|------------------------------|
| bytes, bytearray, memoryview  | the bytes                  | application/octet-stream     |
| str                           | UTF-8                      | text/plain; charset=utf-8    |
| int (not bool)                | decimal digits             | application/json             |
| dict, list, tuple, float, bool, None | JSON (tuples come back as lists) | application/json |
| anything else, with pickle on | pickle (protocol 5)        | application/x-python-pickle  |

Integers are plain digits so that the server can increment them (Client.incr) and every
front end reads the same number. A value stored by another client (redis-cli, curl) with no
content type reads back as bytes.

Pickle is opt-in: unpickling runs code chosen by whoever wrote the bytes, so turn it on
only when every writer of the server's keys is trusted (the same trust Django's own
Redis and Memcached backends ask for). With it off, a stored pickle is refused with
SerializationError instead of being loaded.
"""

import json
import pickle
from typing import Any, Tuple

from .errors import SerializationError

BYTES = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
PICKLE = "application/x-python-pickle"

_JSON_TYPES = (dict, list, tuple, float, bool, type(None))


class UnpicklableValue(SerializationError, pickle.PicklingError):
    """Also a pickle.PicklingError, as Django's own backends raise for such a value."""


class Serializer:
    """`pickle`: allow pickled values both ways. `exact_types`: every value other than
    bytes, str and int is pickled (so it comes back with its own type, as Django expects)
    instead of going through JSON; implies pickle."""

    def __init__(self, pickle: bool = False, exact_types: bool = False):
        self.pickle = pickle or exact_types
        self.exact_types = exact_types

    def dumps(self, value: Any) -> Tuple[bytes, str]:
        if self.exact_types:
            # Only the exact types: a bytearray, an IntEnum or a SafeString must come back
            # as what it was, so they are pickled.
            kind = type(value)
            if kind is bytes:
                return value, BYTES
            if kind is str:
                return value.encode("utf-8"), TEXT
            if kind is int:
                return str(value).encode(), JSON
        elif isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value), BYTES
        elif isinstance(value, str):
            return str(value).encode("utf-8"), TEXT
        elif isinstance(value, int) and not isinstance(value, bool):
            return str(int(value)).encode(), JSON
        if not self.exact_types and isinstance(value, _JSON_TYPES):
            try:
                return json.dumps(value, separators=(",", ":"), allow_nan=False).encode(), JSON
            except (TypeError, ValueError) as e:
                if not self.pickle:
                    raise SerializationError(f"value is not JSON-serializable: {e}") from e
        if not self.pickle:
            raise SerializationError(
                f"cannot store a {type(value).__name__}: values are bytes, str or JSON "
                "unless pickle is enabled")
        try:
            return pickle.dumps(value, protocol=5), PICKLE
        except Exception as e:  # pickle raises many kinds
            raise UnpicklableValue(f"value cannot be pickled: {e}") from e

    def loads(self, data: bytes, content_type: str) -> Any:
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "application/json":
            try:
                return json.loads(data)
            except ValueError as e:
                raise SerializationError(f"stored JSON is malformed: {e}") from e
        if media == "text/plain":
            return data.decode(_charset(content_type), errors="replace")
        if media == PICKLE:
            if not self.pickle:
                raise SerializationError("refusing to unpickle a stored value: pickle is off")
            return pickle.loads(data)
        return data


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"
