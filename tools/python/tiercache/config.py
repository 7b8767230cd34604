"""The client the decorators and cache_manager use when none is passed to them.

In order: what configure() set; Django's settings.TIERCACHE ({"URL": ..., and any Client
keyword in lower case, e.g. "TIMEOUT": 0.5}) when Django is configured; the environment's
TIERCACHE_URL; http://127.0.0.1:8080.
"""

import os
import threading
from typing import Any, Optional

from .client import Client

_lock = threading.Lock()
_client: Optional[Client] = None


def configure(url: Optional[str] = None, client: Optional[Client] = None,
              **options: Any) -> Client:
    """Sets the default client: `client` itself, or a new Client(url, **options)."""
    global _client
    new = client if client is not None else Client(url or _default_url(), **options)
    with _lock:
        old, _client = _client, new
    if old is not None and old is not new:
        old.close()
    return new


def default_client() -> Client:
    global _client
    with _lock:
        if _client is None:
            url, options = _from_django_settings()
            _client = Client(url or _default_url(), **options)
        return _client


def _default_url() -> str:
    return os.environ.get("TIERCACHE_URL", "http://127.0.0.1:8080")


def _from_django_settings():
    try:
        from django.conf import settings
        if not settings.configured:
            return None, {}
        conf = dict(getattr(settings, "TIERCACHE", {}) or {})
    except ImportError:
        return None, {}
    url = conf.pop("URL", None)
    return url, {name.lower(): value for name, value in conf.items()}
