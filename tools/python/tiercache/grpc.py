"""The client over gRPC (Debian's python3-grpcio and python3-protobuf): the same calls and
exceptions as tiercache.Client for the data path, invalidation, jobs, status and clear.

    from tiercache.grpc import GrpcClient
    cache = GrpcClient("127.0.0.1:50051")
"""

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

import grpc

from ._proto import cache_pb2 as pb
from .client import Entry, Key, _criteria
from .errors import InvalidRequest, NotFound, TiercacheError, TiercacheUnavailable
from .serialization import Serializer

_SERVICE = "/tiercache.v1.Cache/"
_UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                grpc.StatusCode.CANCELLED)
_INVALID = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.OUT_OF_RANGE)


class GrpcClient:
    """`target`: HOST:PORT of the server's gRPC listener; `timeout`: seconds per call;
    `namespace`: sent as the x-cache-namespace metadata."""

    def __init__(self, target: str = "127.0.0.1:50051", *, timeout: float = 5.0,
                 namespace: Optional[str] = None, serializer: Optional[Serializer] = None,
                 pickle: bool = False):
        self.channel = grpc.insecure_channel(target)
        self.timeout = timeout
        self.serializer = serializer or Serializer(pickle=pickle)
        self._metadata = (("x-cache-namespace", namespace),) if namespace else None
        self._calls: Dict[str, Any] = {}

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "GrpcClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: str, request: Any, response_type: Any) -> Any:
        stub = self._calls.get(method)
        if stub is None:
            stub = self.channel.unary_unary(_SERVICE + method,
                                            request_serializer=type(request).SerializeToString,
                                            response_deserializer=response_type.FromString)
            self._calls[method] = stub
        try:
            return stub(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or ""
            message = f"{code.name}: {details}"
            if code in _UNAVAILABLE:
                raise TiercacheUnavailable(message, code.name.lower()) from None
            if code in _INVALID:
                raise InvalidRequest(message, code.name.lower()) from None
            if code == grpc.StatusCode.NOT_FOUND:
                raise NotFound(message, code.name.lower()) from None
            raise TiercacheError(message, code.name.lower()) from None

    def get(self, key: Key, default: Any = None) -> Any:
        entry = self.get_entry(key)
        return default if entry is None else entry.value

    def get_entry(self, key: Key) -> Optional[Entry]:
        r = self._call("Get", pb.GetRequest(key=_bytes(key)), pb.GetResponse)
        if not r.found:
            return None
        content_type = r.content_type or "application/octet-stream"
        return Entry(self.serializer.loads(r.value, content_type), r.tier,
                     int(-(-r.ttl_seconds // 1)), content_type)

    def set(self, key: Key, value: Any, ttl: Optional[float] = None,
            tags: Optional[Iterable[str]] = None, *, strategy: Optional[str] = None) -> None:
        data, content_type = self.serializer.dumps(value)
        request = pb.SetRequest(key=_bytes(key), value=data, tags=list(tags or []),
                                content_type=content_type)
        if ttl is not None:
            request.ttl_seconds = float(ttl)
        if strategy is not None:
            request.strategy = {"ttl": pb.STRATEGY_TTL, "adaptive": pb.STRATEGY_ADAPTIVE}[strategy]
        self._call("Set", request, pb.SetResponse)

    def delete(self, key: Key) -> bool:
        try:
            self._call("Delete", pb.DeleteRequest(key=_bytes(key)), pb.DeleteResponse)
            return True
        except NotFound:
            return False

    def invalidate(self, **criteria: Any) -> Dict[str, Any]:
        r = self._call("Invalidate", _invalidate_request(criteria), pb.InvalidateResponse)
        return {"invalidated": r.invalidated, "by_keys": r.by_keys, "by_tags": r.by_tags,
                "by_pattern": r.by_pattern, "models": list(r.models),
                "tiers": {t.tier: t.removed for t in r.tiers}}

    def schedule_invalidation(self, delay_seconds: float, **criteria: Any) -> str:
        request = pb.ScheduleInvalidationRequest(delay_seconds=delay_seconds,
                                                 criteria=_invalidate_request(criteria))
        return self._call("ScheduleInvalidation", request,
                          pb.ScheduleInvalidationResponse).job_id

    def list_jobs(self) -> List[Dict[str, Any]]:
        r = self._call("ListJobs", pb.ListJobsRequest(), pb.ListJobsResponse)
        return [{"id": j.id, "kind": j.kind, "description": j.description,
                 "due_unix_ms": j.due_unix_ms, "period_seconds": j.period_seconds,
                 "runs": j.runs} for j in r.jobs]

    def cancel_job(self, job_id: str) -> bool:
        try:
            self._call("CancelJob", pb.CancelJobRequest(id=job_id), pb.CancelJobResponse)
            return True
        except NotFound:
            return False

    def status(self) -> Dict[str, Any]:
        """The same document as GET /v1/status."""
        return json.loads(self._call("Status", pb.StatusRequest(), pb.StatusResponse).json)

    def clear(self) -> Dict[str, Any]:
        r = self._call("Clear", pb.ClearRequest(), pb.ClearResponse)
        return {"removed": r.removed, "tiers": {t.tier: t.removed for t in r.tiers}}


def _bytes(key: Key) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _invalidate_request(criteria: Mapping[str, Any]) -> "pb.InvalidateRequest":
    body = _criteria(**criteria)
    request = pb.InvalidateRequest(
        keys=[_bytes(k) for k in body.get("keys", [])], tags=body.get("tags", []),
        pattern=body.get("pattern", ""), model=body.get("model", ""),
        event=body.get("event", ""), urls=body.get("urls", []),
        url_prefixes=body.get("url_prefixes", []))
    if "instance_id" in body:
        request.instance_id = str(body["instance_id"])
    for name, value in body.get("fields", {}).items():
        request.fields[name] = str(value)
    return request
