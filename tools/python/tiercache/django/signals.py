"""Model signals to the server's model rules (invalidation.models in its YAML).

connect_models() connects post_save and post_delete of every model (or of `models`) to
POST /v1/invalidate {"model": "app_label.ModelName", "instance_id": pk, "event": ...,
"fields": {...}}, sent after the transaction commits. Only models the server has a rule
for are sent (the rule list is read from the server and read again every
`refresh_seconds`). The fields are the instance's integer and string column values, for
rule templates that name them ({user_id}). A server that cannot be reached is logged
(once per warn_interval) and never fails the save.
"""

import threading
import time
from typing import Iterable, Optional

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from ..client import Client
from ..config import default_client
from ..errors import TiercacheError, TiercacheUnavailable

_DISPATCH_SAVE = "tiercache.django.signals.save"
_DISPATCH_DELETE = "tiercache.django.signals.delete"


class _ModelRules:
    def __init__(self, client: Optional[Client], refresh_seconds: float):
        self._client = client
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._names = None
        self._read_at = 0.0

    @property
    def client(self) -> Client:
        return self._client if self._client is not None else default_client()

    def has_rule(self, label: str) -> bool:
        now = time.monotonic()
        with self._lock:
            names, fresh = self._names, now - self._read_at < self.refresh_seconds
        if names is None or not fresh:
            config = self.client.status()["config"]
            names = {m["model"] for m in config.get("invalidation", {}).get("models", [])}
            with self._lock:
                self._names, self._read_at = names, now
        return label in names


_rules: Optional[_ModelRules] = None


def _fields(instance) -> dict:
    values = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname, None)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            continue
        if isinstance(value, str) and len(value) > 256:
            continue
        values[field.attname] = value
    return values


def _send(sender, instance, event: str, using: Optional[str]) -> None:
    rules = _rules
    if rules is None:
        return
    label = sender._meta.label
    pk = instance.pk
    fields = _fields(instance)

    def invalidate():
        client = rules.client
        try:
            if not rules.has_rule(label):
                return
            instance_id = pk if isinstance(pk, int) else str(pk)
            client.invalidate(model=label, instance_id=instance_id, event=event,
                              fields=fields)
        except TiercacheUnavailable as e:
            client.report_unavailable(e)
        except TiercacheError as e:
            import logging
            logging.getLogger("tiercache").error(
                "tiercache: invalidating %s %s on %s failed: %s", label, pk, event, e)

    # After the commit of the save's own database: a reader meanwhile would cache the old row.
    transaction.on_commit(invalidate, using=using)


def _on_save(sender, instance, raw=False, using=None, **kwargs):
    if not raw:  # fixtures being loaded are not changes of the application's
        _send(sender, instance, "save", using)


def _on_delete(sender, instance, using=None, **kwargs):
    _send(sender, instance, "delete", using)


def connect_models(models: Optional[Iterable] = None, client: Optional[Client] = None,
                   refresh_seconds: float = 60.0) -> None:
    """Wires post_save / post_delete of `models` (default: every model) to model
    invalidation on the server. Calling it again replaces the earlier wiring."""
    global _rules
    disconnect_models()
    _rules = _ModelRules(client, refresh_seconds)
    senders = list(models) if models is not None else [None]
    for i, sender in enumerate(senders):
        post_save.connect(_on_save, sender=sender, weak=False,
                          dispatch_uid=f"{_DISPATCH_SAVE}.{i}")
        post_delete.connect(_on_delete, sender=sender, weak=False,
                            dispatch_uid=f"{_DISPATCH_DELETE}.{i}")
    _connected.extend(enumerate(senders))


_connected = []


def disconnect_models() -> None:
    global _rules
    for i, sender in _connected:
        post_save.disconnect(sender=sender, dispatch_uid=f"{_DISPATCH_SAVE}.{i}")
        post_delete.disconnect(sender=sender, dispatch_uid=f"{_DISPATCH_DELETE}.{i}")
    _connected.clear()
    _rules = None
