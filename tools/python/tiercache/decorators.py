"""The seed's decorators, over a tiercached.

Every decorator degrades: with the server unreachable the wrapped function or view runs
and answers as if there were no cache (one warning per the client's warn_interval), and a
value that cannot be stored is served anyway (logged). Concurrent misses of one key in a
process make one computation (the others wait for it); `lease=S` also makes processes
agree: the first to miss takes a server-side lease of S seconds (an add of
"lease:" + key), the others poll for the value meanwhile and compute only if the lease
runs out without one.

The client is `client=` if given, else tiercache.default_client() (see tiercache.config),
looked up at call time.
"""

import functools
import hashlib
import json
import logging
import threading
import time
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

from .client import Client
from .config import default_client
from .errors import SerializationError, TiercacheError, TiercacheUnavailable

log = logging.getLogger("tiercache")

TagsArg = Union[None, Iterable[str], Callable[..., Iterable[str]]]


class CacheInfo:
    """What a decorated function saw: hits, misses (computed), degraded calls (the server
    unreachable) and the seconds spent computing."""

    def __init__(self):
        self._lock = threading.Lock()
        self.hits = self.misses = self.degraded = 0
        self.compute_seconds = 0.0

    def count(self, field: str, seconds: float = 0.0) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + 1)
            self.compute_seconds += seconds

    def __repr__(self):
        return (f"CacheInfo(hits={self.hits}, misses={self.misses}, degraded={self.degraded}, "
                f"compute_seconds={self.compute_seconds:.3f})")


class _Flight:
    __slots__ = ("done", "shared", "owner")

    def __init__(self):
        self.done = threading.Event()
        self.shared: Any = _NOTHING
        self.owner = threading.get_ident()


class _SingleFlight:
    """One fill per key at a time in this process. The thread that leads a flight gets
    its own result; the others get what the leader shared (the value as stored, which each
    decodes for itself), or _NOTHING when it had nothing to share (a response it would not
    store, an outage, an error), and then compute for themselves."""

    def __init__(self):
        self._lock = threading.Lock()
        self._flights = {}

    def do(self, key: Any, fill: Callable[[], Tuple[Any, Any]]) -> Tuple[bool, Any]:
        """(True, the result of fill()) for the leader, (False, shared) for the others.
        `fill` returns (result, shared)."""
        follower = None
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            elif flight.owner == threading.get_ident():
                flight = None  # reached again inside its own computation
            else:
                follower, flight = flight, None
        if follower is not None:
            follower.done.wait()
            return False, follower.shared
        if flight is None:
            # No waiting on oneself: computed again, outside the lock.
            return True, fill()[0]
        try:
            result, flight.shared = fill()
            return True, result
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()


_NOTHING = object()
_flights = _SingleFlight()
_MISS = object()


class _Cached:
    """The read-compute-store cycle every decorator shares. `encode` turns a computed
    result into what is stored (None: do not store it), `decode` a stored value back."""

    def __init__(self, client: Optional[Client], lease: Optional[float], info: CacheInfo):
        self._client = client
        self.lease = lease
        self.info = info

    @property
    def client(self) -> Client:
        return self._client if self._client is not None else default_client()

    def call(self, key: str, compute: Callable[[], Any], store: dict,
             encode: Callable[[Any], Any] = lambda v: v,
             decode: Callable[[Any], Any] = lambda v: v) -> Any:
        client = self.client
        try:
            found = self._read(client, key)
        except TiercacheUnavailable as e:
            return self._degraded(client, e, compute)
        if found is not _MISS:
            self.info.count("hits")
            return decode(found)
        # Flights are per client: two servers (or namespaces) never share an answer.
        led, value = _flights.do((id(client), key), lambda: self._fill(
            client, key, compute, store, encode, decode))
        if led:
            return value
        if value is _NOTHING:
            return self._compute(compute)
        self.info.count("hits")
        return decode(value)

    def _read(self, client: Client, key: str) -> Any:
        try:
            entry = client.get_entry(key)
        except SerializationError as e:
            log.error("tiercache: cannot decode the value of %r, recomputing: %s", key, e)
            return _MISS
        return _MISS if entry is None else entry.value

    def _degraded(self, client: Client, error: TiercacheUnavailable, compute) -> Any:
        client.report_unavailable(error)
        self.info.count("degraded")
        return compute()

    def _compute(self, compute) -> Any:
        started = time.monotonic()
        result = compute()
        self.info.count("misses", time.monotonic() - started)
        return result

    def _fill(self, client, key, compute, store, encode, decode) -> Tuple[Any, Any]:
        """(the result for this caller, what the flight's followers share)."""
        held = False
        try:
            # A flight that began as another ended may find the value stored by now.
            found = self._read(client, key)
            if found is _MISS and self.lease:
                held, found = self._lease_or_value(client, key)
        except TiercacheUnavailable as e:
            return self._degraded(client, e, compute), _NOTHING
        if found is not _MISS:
            self.info.count("hits")
            return decode(found), found
        try:
            result = self._compute(compute)
            stored = encode(result)
            if stored is not None:
                try:
                    client.set(key, stored, **store)
                except TiercacheUnavailable as e:
                    client.report_unavailable(e)
                except TiercacheError as e:
                    log.error("tiercache: could not store %r: %s", key, e)
            return result, _NOTHING if stored is None else stored
        finally:
            if held:
                try:
                    client.delete("lease:" + key)
                except TiercacheError:
                    pass  # it runs out by itself

    def _lease_or_value(self, client: Client, key: str) -> Tuple[bool, Any]:
        """(True, _MISS): this process holds the lease, compute. (False, value): the lease
        holder stored it meanwhile. (False, _MISS): the lease ran out without a value."""
        if client.add("lease:" + key, b"1", ttl=self.lease):
            return True, _MISS
        deadline = time.monotonic() + self.lease
        pause = 0.005
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
            found = self._read(client, key)
            if found is not _MISS:
                return False, found
        return False, _MISS


def _tags(tags: TagsArg, *args: Any, **kwargs: Any) -> Optional[List[str]]:
    if tags is None:
        return None
    return list(tags(*args, **kwargs) if callable(tags) else tags)


def _digest(*parts: Any) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()[:20]


def _function_key(fn: Callable, args: Sequence[Any], kwargs: dict) -> str:
    return f"{fn.__module__}.{fn.__qualname__}:{_digest(tuple(args), sorted(kwargs.items()))}"


# --- functions and methods ------------------------------------------------------------

def cached_method(timeout: float = 300, key_func: Optional[Callable[..., str]] = None,
                  tags_func: Optional[Callable[..., Iterable[str]]] = None, *,
                  lease: Optional[float] = None, client: Optional[Client] = None):
    """Caches a method's result for `timeout` seconds under key_func(self, *args,
    **kwargs) (default: the method's qualified name and a digest of the arguments after
    self, so instances are taken as interchangeable), with tags_func(self, ...) as tags."""

    def decorate(method):
        info = CacheInfo()
        cached = _Cached(client, lease, info)

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            key = key_func(self, *args, **kwargs) if key_func else _function_key(
                method, args, kwargs)
            store = {"ttl": timeout, "tags": _tags(tags_func, self, *args, **kwargs)}
            return cached.call(key, lambda: method(self, *args, **kwargs), store)

        wrapper.cache_info = lambda: info
        return wrapper

    return decorate


def smart_cache(base_timeout: float = 300, min_timeout: float = 60,
                max_timeout: float = 3600, monitor: bool = True, *,
                key_func: Optional[Callable[..., str]] = None, tags: TagsArg = None,
                lease: Optional[float] = None, client: Optional[Client] = None):
    """Caches a function's result with the server's adaptive strategy: the entry lives
    base_timeout until its first read, then each read sets its lifetime from how often it
    is read, between min_timeout and max_timeout (the server's strategies.adaptive rule,
    with this entry's bounds). monitor: wrapper.cache_info() counts hits, misses and time
    computing (off: not counted)."""
    if not (int(min_timeout) == min_timeout >= 1 and int(max_timeout) == max_timeout
            and min_timeout <= max_timeout):
        raise ValueError("smart_cache needs whole seconds, 1 <= min_timeout <= max_timeout")

    def decorate(fn):
        info = CacheInfo() if monitor else _Uncounted()
        cached = _Cached(client, lease, info)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            key = key_func(*args, **kwargs) if key_func else _function_key(fn, args, kwargs)
            store = {"ttl": base_timeout, "tags": _tags(tags, *args, **kwargs),
                     "strategy": "adaptive", "min_ttl": min_timeout, "max_ttl": max_timeout}
            return cached.call(key, lambda: fn(*args, **kwargs), store)

        wrapper.cache_info = lambda: info
        return wrapper

    return decorate


class _Uncounted(CacheInfo):
    def count(self, field: str, seconds: float = 0.0) -> None:
        pass


# --- Django views -------------------------------------------------------------------

_CACHEABLE_METHODS = ("GET", "HEAD")


def _encode_response(response, cache_errors: bool) -> Optional[bytes]:
    """A Django response as stored bytes (a JSON head line, then the content), or None
    when it must not be shared: streaming, setting cookies, private/no-store, or an
    error unless errors are cached."""
    if getattr(response, "streaming", False) or response.cookies:
        return None
    control = response.get("Cache-Control", "").lower()
    if "private" in control or "no-store" in control:
        return None
    if response.status_code != 200 and not (cache_errors and response.status_code >= 400):
        return None
    head = {"status": response.status_code,
            "headers": [[k, v] for k, v in response.items()]}
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + response.content


def _decode_response(stored: Any):
    from django.http import HttpResponse
    if not isinstance(stored, (bytes, bytearray)):
        raise SerializationError("stored view response is not bytes")
    head, _, content = bytes(stored).partition(b"\n")
    meta = json.loads(head)
    response = HttpResponse(content, status=meta["status"])
    for name, value in meta["headers"]:
        response[name] = value
    return response


def _header(request, name: str) -> str:
    return request.META.get("HTTP_" + name.upper().replace("-", "_"), "")


def _view_decorator(key_of: Callable[..., Optional[str]], timeout: float, tags: TagsArg,
                    cache_errors: bool, lease: Optional[float], client: Optional[Client]):
    def decorate(view):
        info = CacheInfo()
        cached = _Cached(client, lease, info)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            key = key_of(view, request, args, kwargs)
            if key is None:
                return view(request, *args, **kwargs)
            def compute():
                return view(request, *args, **kwargs)

            def encode(response):
                if hasattr(response, "render") and callable(response.render):
                    response.render()  # a TemplateResponse: its content is needed
                return _encode_response(response, cache_errors)

            store = {"ttl": timeout, "tags": _tags(tags, request, *args, **kwargs)}
            return cached.call(key, compute, store, encode=encode, decode=_decode_response)

        wrapper.cache_info = lambda: info
        return wrapper

    return decorate


def cached_view(timeout: float = 300, key_prefix: str = "view",
                vary_on: Optional[Sequence[str]] = None, tags: TagsArg = None, *,
                lease: Optional[float] = None, client: Optional[Client] = None):
    """Caches a Django view's 200 responses to GET and HEAD for `timeout` seconds, one
    entry per path, query and value of each request header in `vary_on` (e.g.
    ["Accept-Language"]). `tags`: a list, or a callable(request, *args, **kwargs)."""
    vary = list(vary_on or [])

    def key_of(view, request, args, kwargs):
        if request.method not in _CACHEABLE_METHODS:
            return None
        varied = [_header(request, h) for h in vary]
        return f"{key_prefix}:{request.path}:{_digest(request.GET.urlencode(), varied)}"

    return _view_decorator(key_of, timeout, tags, False, lease, client)


def cached_api(timeout: float = 300, vary_on_auth: bool = True, vary_on_params: bool = True,
               cache_errors: bool = False, *, key_prefix: str = "api", tags: TagsArg = None,
               lease: Optional[float] = None, client: Optional[Client] = None):
    """Caches an API view's responses to GET and HEAD. vary_on_auth: one entry per user
    (request.user, else the Authorization header; anonymous requests share one).
    vary_on_params: one per query string (parameters in any order); off, the query is
    ignored. cache_errors: also keep 4xx and 5xx answers (off: only 200s)."""

    def key_of(view, request, args, kwargs):
        if request.method not in _CACHEABLE_METHODS:
            return None
        parts = [view.__module__ + "." + view.__qualname__, request.path]
        if vary_on_params:
            parts.append(sorted(request.GET.lists()))
        if vary_on_auth:
            parts.append(_caller(request))
        return f"{key_prefix}:{request.path}:{_digest(*parts)}"

    return _view_decorator(key_of, timeout, tags, cache_errors, lease, client)


def _caller(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    auth = _header(request, "Authorization")
    return "auth:" + hashlib.sha256(auth.encode()).hexdigest() if auth else "anonymous"


def conditional_cache(condition_func: Callable[[Any], bool], timeout: float = 300, *,
                      key_prefix: str = "conditional", vary_on: Optional[Sequence[str]] = None,
                      tags: TagsArg = None, lease: Optional[float] = None,
                      client: Optional[Client] = None):
    """cached_view for the requests where condition_func(request) is true (e.g.
    `lambda request: not request.user.is_staff`); the others always run the view."""
    inner = cached_view(timeout, key_prefix, vary_on, tags, lease=lease, client=client)

    def decorate(view):
        cached = inner(view)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if condition_func(request):
                return cached(request, *args, **kwargs)
            return view(request, *args, **kwargs)

        wrapper.cache_info = cached.cache_info
        return wrapper

    return decorate
