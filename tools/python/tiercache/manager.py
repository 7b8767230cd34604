"""cache_manager: the seed's management calls, over a tiercached.

    cache_manager.invalidate('smart', context={'tags': ['user'], 'pattern': '^user:.*',
                                               'model': 'auth.User', 'instance_id': 123})
    cache_manager.invalidate('tag', tags=['user:7'])
    job_id = cache_manager.schedule_invalidation(300, 'tag', tags=['temporary_data'])
    cache_manager.warm_cache('source', name='active_users')
    cache_manager.warm_cache('api', endpoint_configs=[{'endpoint': 'data/7',
                                                       'data_func': lambda: result}])
    report = cache_manager.get_cache_status()
    cache_manager.start_warming_schedule()
"""

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from .client import Client
from .config import default_client
from .errors import Conflict

_CRITERIA = {
    "smart": None,
    "key": "keys", "keys": "keys",
    "tag": "tags", "tags": "tags",
    "pattern": "pattern",
    "model": "model",
    "url": "urls", "urls": "urls",
}


class CacheManager:
    def __init__(self, client: Optional[Client] = None):
        self._client = client

    @property
    def client(self) -> Client:
        return self._client if self._client is not None else default_client()

    def _criteria(self, invalidation_type: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        if invalidation_type not in _CRITERIA:
            raise ValueError(f"unknown invalidation type {invalidation_type!r} "
                             f"(expected one of {sorted(_CRITERIA)})")
        if invalidation_type == "smart":
            context = kwargs.pop("context", None)
            if context is None or kwargs:
                raise ValueError("invalidate('smart') takes context={...} only")
            return dict(context)
        if invalidation_type == "model":
            allowed = {"model", "instance_id", "event", "fields"}
        else:
            allowed = {_CRITERIA[invalidation_type]}
        unknown = set(kwargs) - allowed
        if unknown or not kwargs:
            raise ValueError(f"invalidate({invalidation_type!r}) takes {sorted(allowed)}")
        return kwargs

    def invalidate(self, invalidation_type: str, **kwargs: Any) -> Dict[str, Any]:
        """'smart' (context=), 'tag' (tags=), 'key' (keys=), 'pattern' (pattern=), 'model'
        (model=, instance_id=, event=, fields=), 'url' (urls=): the server's answer."""
        return self.client.invalidate_smart(self._criteria(invalidation_type, dict(kwargs)))

    def schedule_invalidation(self, delay_seconds: float, invalidation_type: str,
                              **kwargs: Any) -> str:
        """The job id; the server runs it once delay_seconds from now (and keeps it across
        a restart where it has a PostgreSQL tier)."""
        criteria = self._criteria(invalidation_type, dict(kwargs))
        return self.client.schedule_invalidation(delay_seconds, **criteria)

    def list_jobs(self) -> List[Dict[str, Any]]:
        return self.client.list_jobs()

    def cancel_job(self, job_id: str) -> bool:
        return self.client.cancel_job(job_id)

    def warm_cache(self, warming_type: Optional[str] = None, **kwargs: Any) -> Dict[str, Any]:
        """'source' (name=): a run of a configured warming source (sql, http, hot, view);
        'entries' (entries=[{key, value, ttl, tags}]): stored in one request;
        'api' (endpoint_configs=[{endpoint, data_func, ttl, tags}]): each data_func()
        called here and stored under "api:" + endpoint. No type: a run of every source."""
        client = self.client
        if warming_type is None:
            return {"started": self.start_warming_schedule()}
        if warming_type == "source":
            return client.warm(source=kwargs["name"])
        if warming_type == "entries":
            return client.warm(entries=kwargs["entries"])
        if warming_type == "api":
            configs: Iterable[Mapping[str, Any]] = kwargs["endpoint_configs"]
            stored = 0
            for config in configs:
                data_func: Callable[[], Any] = config["data_func"]
                client.set("api:" + config["endpoint"], data_func(), config.get("ttl"),
                           config.get("tags"))
                stored += 1
            return {"loaded": stored}
        raise ValueError(f"unknown warming type {warming_type!r} "
                         "(expected 'source', 'entries' or 'api')")

    def get_cache_status(self) -> Dict[str, Any]:
        """The server's status document plus a summary: `health` per tier (up, degraded,
        down), `hit_rate`, and the warming schedule."""
        status = self.client.status()
        status["health"] = {t.get("name", ""): t.get("state", "") for t in status.get("tiers", [])}
        status["hit_rate"] = status.get("performance", {}).get("hit_rate")
        return status

    def start_warming_schedule(self) -> List[str]:
        """The server runs every source on its own schedule (each source's interval);
        this starts a run of each now and returns their names (one already running is
        left to finish)."""
        client = self.client
        names = [s["name"] for s in client.status().get("warming", [])]
        for name in names:
            try:
                client.warm(source=name)
            except Conflict:
                pass
        return names


cache_manager = CacheManager()
