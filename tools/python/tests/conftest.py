"""One tiercached for the whole session (fixture `daemon`), and Django set up against it:
the test project in tests/djangoproject uses tiercache.django.TiercacheCache as its caches
and the decorators in its views. Tests that stop a daemon make their own."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package from the tree
sys.path.insert(0, str(HERE))         # daemon.py and djangoproject

from daemon import Daemon  # noqa: E402

_session_daemon = None


def pytest_configure(config):
    global _session_daemon
    _session_daemon = Daemon().start()
    os.environ["TIERCACHE_TEST_URL"] = _session_daemon.url
    os.environ["TIERCACHE_TEST_GRPC"] = _session_daemon.grpc_target
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")
    import django
    django.setup()
    from django.test.utils import setup_test_environment
    setup_test_environment()
    # The project's models (auth.User) live in an in-memory SQLite database.
    from django.core.management import call_command
    call_command("migrate", run_syncdb=True, verbosity=0)


def pytest_unconfigure(config):
    if _session_daemon is not None:
        _session_daemon.stop()


@pytest.fixture(scope="session")
def daemon():
    return _session_daemon


@pytest.fixture
def client(daemon):
    from tiercache import Client
    c = Client(daemon.url)
    c.clear()
    yield c
    c.close()
