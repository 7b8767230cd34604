"""connect_models() (wired in the test project's AppConfig.ready): saving or deleting a
User invalidates by the deploy example's rules (deploy/tiercache-tiers.yaml)."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client as DjangoClient

from djangoproject import views


@pytest.fixture(autouse=True)
def fresh(client):
    views.renders.clear()
    User.objects.all().delete()
    yield


def cache_user_entries(client, uid):
    """What an application caches about a user, the ways the rules name them."""
    client.set(f"user:{uid}", "row")                          # rule key user:{id}
    client.set(f"user:{uid}:settings", "s")                   # rule pattern ^user:{id}:.*
    client.set(f"page:{uid}", "p", tags=[f"user:{uid}"])      # rule tag user:{id}
    client.set(f"profile:{uid}", "pr")                        # related accounts.Profile
    client.set(f"perms:{uid}", "x", tags=[f"permissions:user:{uid}"])  # auth.Permission
    views.DataService().get_user_data(uid)                    # cached_method, tagged
    DjangoClient().get(f"/profile/{uid}/")                    # cached_view, tagged
    return [f"user:{uid}", f"user:{uid}:settings", f"page:{uid}", f"profile:{uid}",
            f"perms:{uid}", f"user_data:{uid}"]


def test_saving_a_user_removes_that_users_entries(client):
    ada = User.objects.create_user("ada")
    bob = User.objects.create_user("bob")
    ada_keys = cache_user_entries(client, ada.pk)
    bob_keys = cache_user_entries(client, bob.pk)
    renders = views.renders["profile"]
    ada.first_name = "Ada"
    ada.save()
    assert client.get_many(ada_keys) == {}
    assert sorted(client.get_many(bob_keys)) == sorted(bob_keys)
    DjangoClient().get(f"/profile/{ada.pk}/")
    DjangoClient().get(f"/profile/{bob.pk}/")
    assert views.renders["profile"] == renders + 1  # ada's page rendered again, bob's not


def test_deleting_a_user_removes_that_users_entries(client):
    ada = User.objects.create_user("ada")
    keys = cache_user_entries(client, ada.pk)
    ada.delete()
    assert client.get_many(keys) == {}


def test_the_invalidation_waits_for_the_commit(client):
    ada = User.objects.create_user("ada")
    client.set(f"user:{ada.pk}", "row")
    with transaction.atomic():
        ada.save()
        # Not yet: a reader meanwhile would cache the old row again.
        assert client.get(f"user:{ada.pk}") == "row"
    assert client.get(f"user:{ada.pk}") is None


def invalidations_sent(daemon):
    """Invalidation requests the server has had, any outcome (its /metrics)."""
    import urllib.request
    text = urllib.request.urlopen(daemon.url + "/metrics").read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('tiercache_requests_total{frontend="http",'
                                  'operation="invalidate"'))


def test_a_model_without_a_rule_sends_nothing(client, daemon):
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    User.objects.create_user("warmup")  # the rule list is read (once) before counting
    before = invalidations_sent(daemon)
    Session.objects.create(session_key="k" * 32, session_data="", expire_date=timezone.now())
    assert invalidations_sent(daemon) == before
    User.objects.create_user("ada")
    assert invalidations_sent(daemon) == before + 1


def test_a_rule_the_instance_cannot_fill_is_logged_and_the_save_goes_on(client, caplog):
    from django.contrib.auth.models import Group
    # auth.Group's rule needs a user_id, which a Group row does not have: the server
    # refuses the request (400), the save itself succeeds.
    group = Group.objects.create(name="staff")
    assert Group.objects.filter(pk=group.pk).exists()
    assert any("invalidating auth.Group" in r.getMessage() for r in caplog.records)
