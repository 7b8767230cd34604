"""tiercache.django.TiercacheCache: Django's cache API over a tiercached.

Django's rules hold: keys are made by KEY_FUNCTION from KEY_PREFIX and VERSION
(":1:key" by default), TIMEOUT is the default timeout, None means the longest lifetime the
server allows (strategies.max_timeout) and 0 or less expires the key at once. Timeouts are
the server's: with tiers, each tier keeps an entry timeout x its ttl_factor.

OPTIONS (all optional):
- SOCKET_TIMEOUT (5.0), CONNECT_TIMEOUT (1.0), RETRIES (2): the client's.
- NAMESPACE: a namespace configured on the server; clear() then bumps it (only this
  cache's keys become unreachable) instead of emptying the whole server.
- IGNORE_EXCEPTIONS (True): with the server unreachable, reads miss and writes are
  dropped (logged once per WARN_INTERVAL, 60 s) instead of raising TiercacheUnavailable.
  Bad input (a key over the limit, a value too large) always raises.
- PICKLE (True): values other than bytes, str and int are pickled, as Django's own
  backends do (only trusted writers may reach the server; see tiercache.serialization).
  False keeps values to bytes, str, int and JSON.
- MAX_KEY_BYTES (1024): keys longer than this (UTF-8) raise InvalidCacheKey, as the
  server's limits.max_key_bytes would refuse them.
- FAIL_FAST (1.0): seconds during which an unreachable server is not tried again.
"""

import re
import threading
from typing import Any, Dict, Iterable, List, Optional

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache, InvalidCacheKey

from ..client import Client
from ..errors import InvalidRequest, TiercacheUnavailable
from ..serialization import Serializer

_clients: Dict[tuple, Client] = {}
# Timeouts up to a day are within any server's strategies.max_timeout worth running; the
# server's own bound is read (once) only for longer ones.
_MAX_TTL_UNCHECKED = 86400.0
_KEY_MARK = "\x00tiercache-pattern\x00"
_clients_lock = threading.Lock()


def _shared_client(location: str, options: Dict[str, Any]) -> Client:
    """One client (one connection pool) per server and options, for every thread's
    backend instance (Django makes one per thread)."""
    config = (location, options.get("SOCKET_TIMEOUT", 5.0), options.get("CONNECT_TIMEOUT", 1.0),
              options.get("RETRIES", 2), options.get("NAMESPACE"), options.get("PICKLE", True),
              options.get("FAIL_FAST", 1.0), options.get("WARN_INTERVAL", 60.0))
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            serializer = Serializer(exact_types=True) if config[5] else Serializer()
            client = Client(location, timeout=config[1], connect_timeout=config[2],
                            retries=config[3], namespace=config[4], serializer=serializer,
                            fail_fast=config[6], warn_interval=config[7])
            _clients[config] = client
        return client


class TiercacheCache(BaseCache):
    def __init__(self, server, params):
        super().__init__(params)
        if isinstance(server, (list, tuple)):
            server = server[0] if server else ""
        options = dict(params.get("OPTIONS", {}))
        self._ignore = options.get("IGNORE_EXCEPTIONS", True)
        self._max_key_bytes = int(options.get("MAX_KEY_BYTES", 1024))
        self._namespace = options.get("NAMESPACE")
        self._client = _shared_client(server or "http://127.0.0.1:8080", options)

    @property
    def client(self) -> Client:
        """The tiercache client under this cache (keys as stored, no prefix applied)."""
        return self._client

    # --- keys and timeouts -------------------------------------------------------------

    def _key(self, key, version=None) -> str:
        made = self.make_key(key, version=version)
        self.validate_key(made)
        return made

    def validate_key(self, key):
        super().validate_key(key)  # Django's warnings for memcached-unsafe keys
        if len(key.encode("utf-8")) > self._max_key_bytes:
            raise InvalidCacheKey(
                f"Cache key is longer than the server's {self._max_key_bytes} bytes: {key[:80]}...")

    def _ttl(self, timeout) -> Optional[float]:
        """Seconds to live; 0 when the value must not be kept."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return self._client.max_ttl()
        timeout = float(timeout)
        if timeout <= 0:
            return 0.0
        # Longer than the server keeps anything: as long as it keeps anything.
        return timeout if timeout <= _MAX_TTL_UNCHECKED else min(timeout, self._client.max_ttl())

    def _degrade(self, error: TiercacheUnavailable, fallback):
        if not self._ignore:
            raise error
        self._client.report_unavailable(error)
        return fallback

    # --- BaseCache --------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        key = self._key(key, version)
        try:
            return self._client.get(key, default)
        except TiercacheUnavailable as e:
            return self._degrade(e, default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, tags=None):
        key = self._key(key, version)
        ttl = None
        try:
            ttl = self._ttl(timeout)
            if ttl <= 0:
                self._client.delete(key)
            else:
                self._client.set(key, value, ttl, tags)
        except TiercacheUnavailable as e:
            self._degrade(e, None)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, tags=None):
        key = self._key(key, version)
        try:
            ttl = self._ttl(timeout)
            if ttl <= 0:
                # Stored and expired at once: added if nothing was there.
                return not self._client.exists(key)
            return self._client.add(key, value, ttl, tags)
        except TiercacheUnavailable as e:
            return self._degrade(e, False)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self._key(key, version)
        try:
            ttl = self._ttl(timeout)
            if ttl <= 0:
                return self._client.delete(key)
            return self._client.touch(key, ttl)
        except TiercacheUnavailable as e:
            return self._degrade(e, False)

    def delete(self, key, version=None):
        key = self._key(key, version)
        try:
            return self._client.delete(key)
        except TiercacheUnavailable as e:
            return self._degrade(e, False)

    def has_key(self, key, version=None):
        key = self._key(key, version)
        try:
            return self._client.exists(key)
        except TiercacheUnavailable as e:
            return self._degrade(e, False)

    def get_many(self, keys, version=None):
        made = {self._key(k, version): k for k in keys}
        try:
            found = self._client.get_many(made)
        except TiercacheUnavailable as e:
            return self._degrade(e, {})
        return {made[k]: v for k, v in found.items()}

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None, tags=None) -> List:
        made = {self._key(k, version): v for k, v in data.items()}
        try:
            ttl = self._ttl(timeout)
            if ttl <= 0:
                self._client.delete_many(made)
            else:
                self._client.set_many(made, ttl, tags)
        except TiercacheUnavailable as e:
            return self._degrade(e, list(data))
        return []

    def delete_many(self, keys, version=None):
        made = [self._key(k, version) for k in keys]
        try:
            self._client.delete_many(made)
        except TiercacheUnavailable as e:
            self._degrade(e, None)

    def incr(self, key, delta=1, version=None):
        """As Django's Redis backend: ValueError for a missing key, TypeError for one that
        holds no int, then the server adds (atomically; a key removed between the two
        steps starts again from 0)."""
        made = self._key(key, version)
        try:
            entry = self._client.get_entry(made)
            if entry is None:
                raise ValueError("Key '%s' not found" % key)
            if type(entry.value) is not int:
                raise TypeError(f"cannot increment '{key}': it holds a "
                                f"{type(entry.value).__name__}, not an int")
            return self._client.incr(made, delta)
        except InvalidRequest as e:
            raise ValueError(f"cannot increment '{key}': {e.message}") from e
        except TiercacheUnavailable as e:
            return self._degrade(e, None)

    def clear(self):
        """Empties the server, or with OPTIONS NAMESPACE moves that namespace to its next
        version (every key of this cache unreachable at once, other caches untouched)."""
        try:
            if self._namespace:
                self._client.bump_namespace(self._namespace)
            else:
                self._client.clear()
        except TiercacheUnavailable as e:
            self._degrade(e, None)

    def close(self, **kwargs):
        # Django calls this after every request; the pool's connections are kept for the next.
        pass

    # --- tiercache's own --------------------------------------------------------------

    def delete_by_tag(self, *tags: str) -> int:
        """Removes every entry carrying any of the tags, in every tier; how many."""
        try:
            return self._client.invalidate(tags=list(tags))["invalidated"]
        except TiercacheUnavailable as e:
            return self._degrade(e, 0)

    def delete_pattern(self, pattern: str, version=None) -> int:
        """django-redis's delete_pattern: a glob (*, ?, [abc]) over the keys as the
        application names them, in this cache's prefix and version; how many removed."""
        # The glob applies to the key only: the prefix and version around it are literal.
        made = self.make_key(_KEY_MARK, version=version)
        before, mark, after = made.partition(_KEY_MARK)
        if not mark:
            raise ValueError("delete_pattern needs a KEY_FUNCTION that keeps the key in the "
                             "cache key it makes")
        regex = "^" + re.escape(before) + glob_to_re2(pattern)[1:-1] + re.escape(after) + "$"
        try:
            return self._client.invalidate(pattern=regex)["invalidated"]
        except TiercacheUnavailable as e:
            return self._degrade(e, 0)


def glob_to_re2(glob: str) -> str:
    """A whole-key RE2 pattern for a Redis-style glob."""
    out = ["^"]
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1:i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = glob[i + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out.append("[" + ("^" if negate else "") + body + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return "".join(out)
