"""The SP-API client: the one place where HTTP calls, rate limits, retries and tokens are handled.

Every call takes a token from the (operation, account) bucket first, so the client paces itself to the usage plan
and rarely sees a 429. 429 and 5xx are retried with full-jitter exponential backoff up to a cap (and never sooner
than `Retry-After`); other 4xx raise FatalError with Amazon's code and message. Buyer PII is read with a
Restricted Data Token.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from sellerreach.amazon.lwa import RENEW_MARGIN, LwaCredentials, TokenCache
from sellerreach.amazon.models import Operation, operation
from sellerreach.amazon.rate_limit import TokenBucket
from sellerreach.clock import Clock
from sellerreach.errors import FatalError, RetriableError

USER_AGENT = "sellerreach/0.1 (Language=Python)"


@dataclass
class ClientStats:
    """What the client did, for run summaries and benchmarks."""

    requests: int = 0
    throttled: int = 0  # 429s received
    server_errors: int = 0  # 5xx and transport errors
    retries: int = 0
    rate_limit_wait_seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_token: str | None  # None on the last page


@dataclass(frozen=True)
class RestrictedResource:
    method: str
    path: str
    data_elements: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.data_elements:
            body["dataElements"] = list(self.data_elements)
        return body


class SpApiClient:
    """SP-API for one selling-partner account. Thread-safe; share one per account within a process."""

    def __init__(
        self,
        *,
        account_id: str,
        endpoint: str,
        lwa_endpoint: str,
        credentials: LwaCredentials,
        clock: Clock,
        http: httpx.Client | None = None,
        max_attempts: int = 8,
        backoff_initial: float = 1.0,
        backoff_cap: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.account_id = account_id
        self._endpoint = endpoint.rstrip("/")
        self.clock = clock
        self._clock = clock
        self._http = http or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        self._owns_http = http is None
        self._tokens = TokenCache(self._http, lwa_endpoint, credentials, clock)
        self._buckets: dict[str, TokenBucket] = {}
        self._buckets_lock = threading.Lock()
        self._rdts: dict[tuple[RestrictedResource, ...], tuple[str, datetime]] = {}
        self._max_attempts = max_attempts
        self._backoff = wait_random_exponential(multiplier=backoff_initial, max=backoff_cap)
        self._rng = rng or random.Random()
        self.stats = ClientStats()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens -------------------------------------------------------------------------------------------------

    def access_token_expires_at(self, *, fresh: bool = False) -> datetime:
        """Exchange (or, unless `fresh`, reuse) the LWA access token; raises AuthorizationRevoked on
        `invalid_grant`. A fresh exchange is what proves the seller's authorisation still stands."""
        if fresh:
            self._tokens.invalidate()
        return self._retrying(self._tokens.get).expires_at

    def restricted_token(self, resources: Sequence[RestrictedResource]) -> str:
        """A Restricted Data Token for these resources, cached until shortly before it expires."""
        key = tuple(resources)
        cached = self._rdts.get(key)
        if cached and cached[1] - RENEW_MARGIN > self._clock.now():
            return cached[0]
        response = self.call(
            "createRestrictedDataToken", json={"restrictedResources": [r.as_json() for r in resources]}
        )
        token = response.body["restrictedDataToken"]
        self._rdts[key] = (token, self._clock.now() + timedelta(seconds=int(response.body["expiresIn"])))
        return token

    # -- calls --------------------------------------------------------------------------------------------------

    def bucket(self, operation_id: str) -> TokenBucket:
        with self._buckets_lock:
            if operation_id not in self._buckets:
                self._buckets[operation_id] = TokenBucket(operation(operation_id).usage_plan, self._clock)
            return self._buckets[operation_id]

    def call(
        self,
        operation_id: str,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        restricted: Sequence[RestrictedResource] | None = None,
    ) -> ApiResponse:
        """Call one operation of the vendored models, with pacing, retries and the right token."""
        op = operation(operation_id)
        path = op.path.format(**(path_params or {}))
        params = _encode_query(query or {})
        token_source = (lambda: self.restricted_token(restricted)) if restricted else None
        return self._retrying(lambda: self._send_once(op, path, params, json, token_source))

    def iter_pages(
        self,
        operation_id: str,
        *,
        query: Mapping[str, Any],
        records_field: str,
        start_token: str | None = None,
        restricted: Sequence[RestrictedResource] | None = None,
    ) -> Iterator[Page]:
        """Pages of a paginated operation (nextToken in `pagination`, sent back as `paginationToken`)."""
        token = start_token
        while True:
            page_query = dict(query)
            if token:
                page_query["paginationToken"] = token
            body = self.call(operation_id, query=page_query, restricted=restricted).body
            token = (body.get("pagination") or {}).get("nextToken")
            yield Page(records=list(body.get(records_field) or []), next_token=token)
            if not token:
                return

    def _retrying(self, attempt_fn: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(RetriableError),
            wait=self._wait,
            stop=stop_after_attempt(self._max_attempts),
            sleep=self._clock.sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(attempt_fn)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = self._backoff(state)
        if isinstance(exc, RetriableError) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return delay

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def _send_once(
        self, op: Operation, path: str, params: list[tuple[str, str]], json: Any, token_source: Any
    ) -> ApiResponse:
        # the token first: renewing it costs round trips that must not sit between pacing and sending
        token = token_source() if token_source else self._tokens.get().value
        bucket = self.bucket(op.operation_id)
        self.stats.rate_limit_wait_seconds += bucket.acquire()
        headers = {"x-amz-access-token": token, "user-agent": USER_AGENT, "accept": "application/json"}
        self.stats.requests += 1
        self.stats.by_operation[op.operation_id] = self.stats.by_operation.get(op.operation_id, 0) + 1
        try:
            response = self._http.request(
                op.method, self._endpoint + path, params=params, json=json, headers=headers
            )
        except httpx.TransportError as exc:
            self.stats.server_errors += 1
            raise RetriableError(f"{op.operation_id}: {type(exc).__name__} talking to SP-API") from None
        _follow_rate_header(bucket, response.headers)
        if response.status_code == 429:
            self.stats.throttled += 1
            bucket.drain()  # the server's bucket is empty; ours should not pretend otherwise
            raise RetriableError(
                f"{op.operation_id}: throttled (HTTP 429)",
                status=429,
                retry_after=_retry_after(response.headers),
            )
        if response.status_code >= 500:
            self.stats.server_errors += 1
            raise RetriableError(
                f"{op.operation_id}: SP-API answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=_retry_after(response.headers),
            )
        body = _json_or_none(response)
        if response.status_code >= 400:
            code, message = _first_error(body)
            if response.status_code == 403 and token_source is not None:
                self._rdts.clear()  # a refused Restricted Data Token must not be reused for the next pages
            if response.status_code == 403 and code == "Unauthorized" and token_source is None:
                # an access token Amazon considers expired: drop it, the retry exchanges a fresh one
                self._tokens.invalidate()
                if "expired" in message.lower():
                    raise RetriableError(f"{op.operation_id}: access token expired", status=403)
            raise FatalError(
                f"{op.operation_id} failed with HTTP {response.status_code}: {code}: {message}",
                status=response.status_code,
                code=code,
            )
        return ApiResponse(status=response.status_code, body=body, headers=response.headers)


def _encode_query(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """SP-API arrays are comma-separated; datetimes go as ISO 8601 with Z."""
    params: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, datetime):
            value = iso8601(value)
        params.append((key, str(value)))
    return params


def iso8601(value: datetime) -> str:
    """Amazon's ISO 8601 form, whole seconds in UTC (window bounds are whole seconds already)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: SP-API times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _follow_rate_header(bucket: TokenBucket, headers: Mapping[str, str]) -> None:
    raw = headers.get("x-amzn-RateLimit-Limit")
    if raw:
        try:
            bucket.set_rate(float(raw))
        except ValueError:
            pass


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("retry-after")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _first_error(body: Any) -> tuple[str, str]:
    if isinstance(body, dict) and body.get("errors"):
        first = body["errors"][0]
        return str(first.get("code", "Unknown")), str(first.get("message", ""))[:300]
    return "Unknown", "no error body"
