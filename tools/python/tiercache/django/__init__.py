"""Django integration: the cache backend and model signals.

    CACHES = {"default": {"BACKEND": "tiercache.django.TiercacheCache",
                          "LOCATION": "http://127.0.0.1:8080"}}

    # in an AppConfig.ready():
    from tiercache.django import connect_models
    connect_models()            # every model's post_save / post_delete invalidates by rule
"""

from .cache import TiercacheCache
from .signals import connect_models, disconnect_models

__all__ = ["TiercacheCache", "connect_models", "disconnect_models"]
