"""The tiercache client: the HTTP API of a tiercached as Python calls."""

import base64
import json
import logging
import threading
import time
from typing import (Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)
from urllib.parse import quote

from ._http import Request, Response, Transport
from .errors import (InvalidRequest, TiercacheError, TiercacheUnavailable,
                     error_for_status)
from .serialization import Serializer

Key = Union[str, bytes]
log = logging.getLogger("tiercache")

# Keys per POST /v1/mget: well inside the server's default limits.max_keys_per_request.
_MGET_BATCH = 1000
# Values up to this size are sent without a look at the server's limits (read once, from
# /v1/status, for the first larger one).
_CHECKED_VALUE_BYTES = 1 << 20


class Entry(NamedTuple):
    """A hit: the decoded value, the tier that served it and its seconds left there."""
    value: Any
    tier: str
    ttl: int
    content_type: str


class Client:
    """One tiercached over HTTP/1.1 keep-alive connections (a pool; thread-safe).

    `url`: http://HOST:PORT of the server's API listener. `timeout`: seconds a request may
    take; `connect_timeout` for a new connection. `retries`: idempotent requests (reads,
    writes of a whole value, deletes, invalidations) are sent again this many times after
    a failed connection. `namespace`: the server-side namespace of every key
    (X-Cache-Namespace). `serializer`: how values are stored (tiercache.serialization;
    pickle=True is a shortcut for Serializer(pickle=True), with its risks).
    `fail_fast`: for this many seconds after the server could not be reached, calls fail
    at once with TiercacheUnavailable instead of trying again (0: always try).
    `warn_interval`: report_unavailable() logs at most one warning per this many seconds.
    """

    def __init__(self, url: str = "http://127.0.0.1:8080", *, timeout: float = 5.0,
                 connect_timeout: float = 1.0, retries: int = 2,
                 namespace: Optional[str] = None, serializer: Optional[Serializer] = None,
                 pickle: bool = False, fail_fast: float = 1.0, warn_interval: float = 60.0,
                 max_idle_connections: int = 16):
        self.url = url
        self.transport = Transport(url, timeout=timeout, connect_timeout=connect_timeout,
                                   retries=retries, max_idle=max_idle_connections)
        self.serializer = serializer or Serializer(pickle=pickle)
        self.fail_fast = fail_fast
        self.warn_interval = warn_interval
        self._headers: Tuple[Tuple[str, str], ...] = ()
        if namespace:
            self._headers = (("X-Cache-Namespace", namespace),)
        self._down_until = 0.0
        self._warn_lock = threading.Lock()
        self._warned_at: Optional[float] = None
        self._unreported = 0
        self._max_ttl: Optional[float] = None
        self._limits: Optional[Dict[str, int]] = None

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- keys -----------------------------------------------------------------------

    def get(self, key: Key, default: Any = None) -> Any:
        entry = self.get_entry(key)
        return default if entry is None else entry.value

    def get_entry(self, key: Key) -> Optional[Entry]:
        """The entry with where it came from, or None on a miss."""
        r = self._call("GET", _key_path(key))
        if _is_miss(r):
            return None
        self._check(r)
        return self._entry(r)

    def exists(self, key: Key) -> bool:
        r = self._call("HEAD", _key_path(key))
        if r.status == 404:
            return False
        self._check(r)
        return True

    def set(self, key: Key, value: Any, ttl: Optional[float] = None,
            tags: Optional[Iterable[str]] = None, *, strategy: Optional[str] = None,
            min_ttl: Optional[float] = None, max_ttl: Optional[float] = None) -> None:
        """Stores `value` through every tier. `ttl` in seconds (default: the server's
        strategies.default_timeout); `strategy` "ttl" or "adaptive" (then `min_ttl` and
        `max_ttl` bound this entry's lifetime instead of the server's adaptive bounds)."""
        self._check(self._call(*self._set_request(key, value, ttl, tags, strategy,
                                                   min_ttl, max_ttl)))

    def add(self, key: Key, value: Any, ttl: Optional[float] = None,
            tags: Optional[Iterable[str]] = None) -> bool:
        """Stores `value` only if no tier holds `key`; False (and nothing changed) if one
        does. Atomic with L1 alone; with lower tiers a read then a write."""
        method, path, headers, body = self._set_request(key, value, ttl, tags)
        # Not sent twice: a lost answer to a first try that stored the value would turn a
        # success into False.
        r = self._call(method, path, tuple(headers) + (("If-None-Match", "*"),), body,
                       idempotent=False)
        if r.status == 412:
            return False
        self._check(r)
        return True

    def delete(self, key: Key) -> bool:
        """True if a tier held the key."""
        r = self._call("DELETE", _key_path(key), idempotent=False)  # its answer would change
        if _is_miss(r):
            return False
        self._check(r)
        return True

    def touch(self, key: Key, ttl: float) -> bool:
        """Gives a live entry `ttl` seconds from now; False if no tier holds it."""
        r = self._call("POST", _key_path(key) + "?ttl=" + _seconds(ttl))
        if _is_miss(r):
            return False
        self._check(r)
        return True

    def incr(self, key: Key, delta: int = 1) -> int:
        """Adds `delta` to the integer stored at `key` (absent: 0, then stored with the
        default timeout) and returns the new value. Atomic across instances sharing a
        Redis tier. InvalidRequest if the value is not an integer. A counter that incr
        created has no content type (as one INCR over the Redis protocol made): get()
        returns its digits as bytes; set() it to an int first to read ints back."""
        r = self._call("POST", _key_path(key) + "?incr=%d" % int(delta), idempotent=False)
        self._check(r)
        return int(json.loads(r.body)["value"])

    def get_many(self, keys: Iterable[Key]) -> Dict[Key, Any]:
        """The keys that are stored, with their values: one POST /v1/mget per 1,000 keys
        (keys that are not UTF-8 go as pipelined GETs)."""
        keys = list(keys)
        found: Dict[Key, Any] = {}
        texts, binary = [], []
        for k in keys:
            try:
                texts.append((k, _key_text(k)))
            except UnicodeDecodeError:
                binary.append(k)
        for start in range(0, len(texts), _MGET_BATCH):
            self._read_many(texts[start:start + _MGET_BATCH], found)
        answers = self._pipeline([("GET", _key_path(k), self._headers, None) for k in binary])
        for k, r in zip(binary, answers):
            if _is_miss(r):
                continue
            self._check(r)
            found[k] = self._entry(r).value
        return found

    def _read_many(self, batch: List[Tuple[Key, str]], found: Dict[Key, Any]) -> None:
        try:
            entries = self._json("POST", "/v1/mget", {"keys": [t for _, t in batch]})["entries"]
        except InvalidRequest as e:
            # Values too large for one answer together: halves, down to single reads.
            if e.status != 413 or len(batch) == 1 or e.code != "too_large":
                raise
            half = len(batch) // 2
            self._read_many(batch[:half], found)
            self._read_many(batch[half:], found)
            return
        for (k, _), e in zip(batch, entries):
            if e is not None:
                found[k] = self.serializer.loads(base64.b64decode(e["value"]), e["content_type"])

    def set_many(self, values: Union[Mapping[Key, Any], Iterable[Tuple[Key, Any]]],
                 ttl: Optional[float] = None, tags: Optional[Iterable[str]] = None) -> None:
        items = values.items() if isinstance(values, Mapping) else values
        tags = list(tags) if tags else None
        requests = [self._set_request(k, v, ttl, tags) for k, v in items]
        for r in self._pipeline(requests):
            self._check(r)

    def delete_many(self, keys: Iterable[Key]) -> int:
        """How many of the keys a tier held."""
        removed = 0
        deletes = [("DELETE", _key_path(k), self._headers, None) for k in keys]
        for r in self._pipeline(deletes, idempotent=False):
            if _is_miss(r):
                continue
            self._check(r)
            removed += 1
        return removed

    # --- invalidation, jobs, warming ------------------------------------------------

    def invalidate(self, keys: Optional[Iterable[str]] = None,
                   tags: Optional[Iterable[str]] = None, pattern: Optional[str] = None,
                   model: Optional[str] = None, instance_id: Any = None,
                   event: Optional[str] = None, fields: Optional[Mapping[str, Any]] = None,
                   urls: Optional[Iterable[str]] = None,
                   url_prefixes: Optional[Iterable[str]] = None) -> Dict[str, Any]:
        """Removes by any combination, from every tier: the server's answer
        ({"invalidated": N, "tiers": {...}, "models": [...], ...})."""
        body = _criteria(keys, tags, pattern, model, instance_id, event, fields, urls,
                         url_prefixes)
        return self._json("POST", "/v1/invalidate", body)

    def invalidate_smart(self, context: Mapping[str, Any]) -> Dict[str, Any]:
        """The seed's smart invalidation: a context of tags, pattern, model, instance_id
        (and keys, event, fields) applied in one request."""
        allowed = {"keys", "tags", "pattern", "model", "instance_id", "event", "fields",
                   "urls", "url_prefixes"}
        unknown = set(context) - allowed
        if unknown:
            raise ValueError(f"unknown invalidation criteria: {sorted(unknown)}")
        return self.invalidate(**context)

    def schedule_invalidation(self, delay_seconds: float, **criteria: Any) -> str:
        """Runs an invalidation `delay_seconds` from now; its job id."""
        body = _criteria(**criteria)
        body["delay_seconds"] = delay_seconds
        # Not sent twice: that would schedule two jobs.
        return self._json("POST", "/v1/invalidations/scheduled", body,
                          idempotent=False)["job_id"]

    def list_jobs(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/jobs")["jobs"]

    def cancel_job(self, job_id: str) -> bool:
        """False if the job is unknown, running or done."""
        r = self._call("DELETE", "/v1/jobs/" + quote(job_id, safe=""), idempotent=False)
        if r.status == 404:
            return False
        self._check(r)
        return True

    def warm(self, source: Optional[str] = None,
             entries: Optional[Iterable[Mapping[str, Any]]] = None) -> Dict[str, Any]:
        """Starts a run of a configured warming source (`source`), or stores `entries`
        ({"key", "value", "ttl", "tags"} each; values as set() takes them) in one request:
        all or none."""
        if (source is None) == (entries is None):
            raise ValueError("warm takes a source or entries")
        if source is not None:
            return self._json("POST", "/v1/warm", {"source": source}, idempotent=False)
        loaded = []
        for e in entries:
            data, content_type = self.serializer.dumps(e["value"])
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise TiercacheError("warm entries carry text values; use set_many for "
                                     "binary ones") from None
            item = {"key": _key_text(e["key"]), "value": text, "content_type": content_type}
            if e.get("ttl") is not None:
                item["ttl"] = e["ttl"]
            if e.get("tags"):
                item["tags"] = list(e["tags"])
            loaded.append(item)
        return self._json("POST", "/v1/warm", {"entries": loaded})

    def bump_namespace(self, name: str) -> Dict[str, Any]:
        """Moves a configured namespace to its next version: every entry stored under an
        older one is unreachable at once, in every tier and instance."""
        return self._json("POST", "/v1/namespaces/" + quote(name, safe="") + "/bump", {},
                          idempotent=False)

    def status(self) -> Dict[str, Any]:
        return self._json("GET", "/v1/status")

    def clear(self) -> Dict[str, Any]:
        """Empties every tier (this server's Redis prefix and PostgreSQL table)."""
        return self._json("POST", "/v1/clear", None)

    def max_ttl(self) -> float:
        """The longest lifetime the server accepts (strategies.max_timeout), read once."""
        if self._max_ttl is None:
            text = self.status()["config"]["strategies"]["max_timeout"]
            self._max_ttl = _duration_seconds(text)
        return self._max_ttl

    # --- degrading --------------------------------------------------------------------

    def report_unavailable(self, error: BaseException) -> None:
        """Logs that the server could not serve a call: one warning per warn_interval,
        with the count of failures since the last one (callers that degrade to a miss)."""
        now = time.monotonic()
        with self._warn_lock:
            self._unreported += 1
            if self._warned_at is not None and now - self._warned_at < self.warn_interval:
                return
            count, self._unreported = self._unreported, 0
            self._warned_at = now
        log.warning("tiercache unavailable, serving without the cache (%d failed call%s "
                    "since the last warning): %s", count, "" if count == 1 else "s", error)

    # --- plumbing -------------------------------------------------------------------

    def _set_request(self, key: Key, value: Any, ttl: Optional[float],
                     tags: Optional[Iterable[str]], strategy: Optional[str] = None,
                     min_ttl: Optional[float] = None,
                     max_ttl: Optional[float] = None) -> Request:
        data, content_type = self.serializer.dumps(value)
        if len(data) > _CHECKED_VALUE_BYTES:
            self._check_value_size(len(data))
        query = []
        if ttl is not None:
            query.append("ttl=" + _seconds(ttl))
        if tags:
            tags = list(tags)
            for t in tags:
                if not t or "," in t:
                    raise ValueError(f"a tag must be non-empty and without commas: {t!r}")
            query.append("tags=" + quote(",".join(tags), safe=","))
        if strategy is not None:
            query.append("strategy=" + quote(strategy, safe=""))
        if min_ttl is not None:
            query.append("min_ttl=" + _seconds(min_ttl))
        if max_ttl is not None:
            query.append("max_ttl=" + _seconds(max_ttl))
        path = _key_path(key) + ("?" + "&".join(query) if query else "")
        return ("PUT", path, self._headers + (("Content-Type", content_type),), data)

    def _check_value_size(self, size: int) -> None:
        """A value over the server's limit is refused here: the server would answer 413 and
        close while the body is still being sent, which looks like an outage."""
        if self._limits is None:
            self._limits = self.status()["limits"]
        limit = min(self._limits["max_value_bytes"], self._limits["max_request_body_bytes"])
        if size > limit:
            raise InvalidRequest(f"413 too_large: a value of {size} bytes exceeds the server's "
                                 f"limit of {limit} (limits.max_value_bytes)", "too_large", 413)

    def _entry(self, r: Response) -> Entry:
        content_type = r.headers.get("content-type", "application/octet-stream")
        value = self.serializer.loads(r.body, content_type)
        return Entry(value, r.headers.get("x-cache-tier", ""),
                     int(r.headers.get("x-cache-ttl", "0")), content_type)

    def _guarded(self, send: Callable[[], Any]) -> Any:
        """send(), unless the server was unreachable within fail_fast seconds; a failure
        to reach it starts that pause."""
        if self.fail_fast and time.monotonic() < self._down_until:
            raise TiercacheUnavailable(f"tiercached at {self.url} was unreachable moments "
                                       f"ago (retrying after {self.fail_fast:g} s)")
        try:
            return send()
        except TiercacheUnavailable:
            self._down_until = time.monotonic() + self.fail_fast
            raise

    def _call(self, method: str, path: str, headers: Sequence[Tuple[str, str]] = (),
              body: Optional[bytes] = None, idempotent: bool = True) -> Response:
        return self._guarded(lambda: self.transport.request(
            method, path, tuple(headers) or self._headers, body, idempotent))

    def _pipeline(self, requests: List[Request], idempotent: bool = True) -> List[Response]:
        if not requests:
            return []
        return self._guarded(lambda: self.transport.pipeline(requests, idempotent))

    def _json(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None,
              idempotent: bool = True) -> Dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = self._headers + (("Content-Type", "application/json"),)
        r = self._call(method, path, headers if data is not None else (), data, idempotent)
        self._check(r)
        return json.loads(r.body) if r.body else {}

    @staticmethod
    def _check(r: Response) -> None:
        if 200 <= r.status < 300:
            return
        try:
            error = json.loads(r.body)["error"]
            code, message = error.get("code", ""), error.get("message", "")
        except (ValueError, KeyError, TypeError):
            code, message = "", r.body[:200].decode("utf-8", "replace")
        raise error_for_status(r.status, code, f"{r.status} {code}: {message}")


def _key_text(key: Key) -> str:
    return key.decode("utf-8") if isinstance(key, bytes) else key


def _key_path(key: Key) -> str:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("a key must not be empty")
    return "/v1/keys/" + quote(key, safe="")


def _seconds(value: float) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"seconds must be a number, got {value!r}")
    return repr(float(value)) if isinstance(value, float) else str(value)


def _is_miss(r: Response) -> bool:
    """A 404 for a key no tier holds (not an unknown namespace, job or route)."""
    return r.status == 404 and _code(r) == "not_found"


def _code(r: Response) -> str:
    try:
        return json.loads(r.body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


def _criteria(keys=None, tags=None, pattern=None, model=None, instance_id=None, event=None,
              fields=None, urls=None, url_prefixes=None) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    if keys:
        body["keys"] = [_key_text(k) for k in keys]
    if tags:
        body["tags"] = list(tags)
    if pattern is not None:
        body["pattern"] = pattern
    if model is not None:
        body["model"] = model
        if instance_id is not None:
            body["instance_id"] = instance_id
        if event is not None:
            body["event"] = event
        if fields:
            body["fields"] = dict(fields)
    elif instance_id is not None or event is not None or fields:
        raise ValueError("instance_id, event and fields go with a model")
    if urls:
        body["urls"] = list(urls)
    if url_prefixes:
        body["url_prefixes"] = list(url_prefixes)
    if not body:
        raise ValueError("an invalidation needs at least one criterion")
    return body


def _duration_seconds(text: Any) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    units = (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400))
    for suffix, scale in units:
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * scale
    return float(text)
