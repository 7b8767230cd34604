"""tiercache: the Python client of the tiercache server.

    from tiercache import Client
    cache = Client("http://127.0.0.1:8080")
    cache.set("user:42:profile", {"name": "Ada"}, ttl=600, tags=["user:42"])
    cache.invalidate(tags=["user:42"])

Also: the seed's decorators (cached_method, cached_view, cached_api, smart_cache,
conditional_cache), cache_manager, and the Django cache backend in tiercache.django.
"""

from ._version import __version__
from .client import Client, Entry
from .config import configure, default_client
from .decorators import (cached_api, cached_method, cached_view, conditional_cache,
                         smart_cache)
from .errors import (Conflict, InvalidRequest, NotFound, SerializationError,
                     TiercacheError, TiercacheUnavailable)
from .manager import CacheManager, cache_manager
from .serialization import Serializer

__all__ = [
    "__version__", "Client", "Entry", "configure", "default_client", "cached_api",
    "cached_method", "cached_view", "conditional_cache", "smart_cache", "Conflict",
    "InvalidRequest", "NotFound", "SerializationError", "TiercacheError",
    "TiercacheUnavailable", "CacheManager", "cache_manager", "Serializer",
]
