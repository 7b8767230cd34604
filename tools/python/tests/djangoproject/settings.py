"""A real Django 3.2 project against the session's tiercached (conftest.py sets
TIERCACHE_TEST_URL): its caches are tiercache.django.TiercacheCache, its views use the
decorators, its models are django.contrib.auth's."""

import os

SECRET_KEY = "tiercache-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "djangoproject.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "djangoproject",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

TIERCACHE_URL = os.environ.get("TIERCACHE_TEST_URL", "http://127.0.0.1:8080")

_BACKEND = "tiercache.django.TiercacheCache"

# Aliases the cache contract tests use, as Django's own cache tests configure theirs.
CACHES = {
    "default": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL},
    "prefix": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "KEY_PREFIX": "cacheprefix"},
    "v2": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "VERSION": 2},
    "custom_key": {
        "BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL,
        "KEY_FUNCTION": "djangoproject.keys.custom_key_func",
    },
    "custom_key2": {
        "BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL,
        "KEY_FUNCTION": "djangoproject.keys.custom_key_func",
    },
    "short": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "TIMEOUT": 1},
    "forever": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "TIMEOUT": None},
    # Two prefixes of which one is a glob matching the other, for delete_pattern's
    # isolation of its own prefix (test_django_cache_contract.py).
    "glob_prefix": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "KEY_PREFIX": "tenant?"},
    "tenant_a": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "KEY_PREFIX": "tenantA"},
    # Django's TIMEOUT 0: "expire keys immediately (effectively don't cache)".
    "no_store": {"BACKEND": _BACKEND, "LOCATION": TIERCACHE_URL, "TIMEOUT": 0},
}

# The decorators and cache_manager talk to the same server.
TIERCACHE = {"URL": TIERCACHE_URL}
