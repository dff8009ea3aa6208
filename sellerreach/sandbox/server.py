"""A local HTTP stand-in for Login with Amazon and the Selling Partner API, built from the vendored models.

It serves LWA's token endpoint and the operations of schemas/spapi/ (searchOrders, getOrder,
createRestrictedDataToken, getSolicitationActionsForOrder,
createProductReviewAndSellerFeedbackSolicitation) with Amazon's behaviour where our code depends on it:
access tokens that expire, Restricted Data Tokens for buyer data, a token bucket per (operation, seller) on
the injected clock answering 429 with `x-amzn-RateLimit-Limit`, keyset pagination, the 5..30-day
solicitation window, and faults armed through a `FaultPlan`. Every response body validates against the
model's schema for its status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from schemas.payloads import FULFILLMENT_STATUSES
from sellerreach.amazon.models import Operation, operations
from sellerreach.amazon.rate_limit import TokenBucket
from sellerreach.clock import Clock
from sellerreach.sandbox.faults import LWA_OPERATION, FaultPlan
from sellerreach.sandbox.ses import SesStandIn
from sellerreach.sandbox.world import DATASET_KEYS, OrderWorld, iso, project_order

LWA_PATH = "/auth/o2/token"
SES_PATH_PREFIX = "/v2/email/"
TOKEN_LIFETIME = timedelta(seconds=3600)
SEARCH_PATH = "/orders/2026-01-01/orders"
_ORDER_PATH_PREFIX = SEARCH_PATH + "/"
_MIN_LAG = timedelta(minutes=2)  # Amazon: a *Before bound must be at least two minutes before the request
_FULFILLMENT_STATUSES = set(FULFILLMENT_STATUSES)
_FULFILLED_BY = {"MERCHANT", "AMAZON"}
_DATA_ELEMENTS = {"buyerInfo", "shippingAddress", "buyerTaxInformation"}
# includedData values that are personal data and the RDT dataElement each one needs.
_PII_DATASETS = {"BUYER": "buyerInfo", "RECIPIENT": "shippingAddress"}
_RDT_NEEDED = (
    "Buyer and recipient data need a Restricted Data Token (createRestrictedDataToken, dataElements "
    "buyerInfo/shippingAddress)"
)
_FILTER_PARAMS = (
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "fulfillmentStatuses",
    "marketplaceIds",
    "fulfilledBy",
)


@dataclass(frozen=True)
class _Grant:
    account_id: str
    expires_at: datetime
    # For a Restricted Data Token: the (method, path, dataElements) it was issued for; None for LWA tokens.
    resources: tuple[tuple[str, str, frozenset[str]], ...] | None = None


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str]
    content_type: str = "application/json"


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"errors": [error]}


class SandboxServer:
    """LWA + SP-API (and the SES v2 stand-in `ses`, under /v2/email/) on a local port. `start()` (or `with`)
    serves from a background thread and sets `url`."""

    def __init__(
        self,
        world: OrderWorld,
        clock: Clock,
        *,
        client_id: str,
        client_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        ses: SesStandIn | None = None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.faults = faults or FaultPlan()
        self.ses = ses if ses is not None else SesStandIn(clock)  # SES v2: every path under /v2/email/
        self.url = ""
        self.lwa_url = ""
        self._client = (client_id, client_secret)
        self._address = (host, port)
        self._sellers_by_token = {s.refresh_token: s for s in world.sellers}
        self._grants: dict[str, _Grant] = {}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str | None]] = Counter()
        self._throttled: Counter[tuple[str, str | None]] = Counter()
        self._errors_injected = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = [(op, op.path_regex()) for op in operations().values()]

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(self._address, _Handler)
        httpd.daemon_threads = True
        httpd.sandbox = self  # type: ignore[attr-defined]
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.lwa_url = self.url + LWA_PATH
        # A short poll interval keeps stop() quick (shutdown waits for the serve loop to notice).
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sp-api-sandbox:{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- statistics -----------------------------------------------------------------------------------------

    def stats(self) -> dict:
        """{"requests": {(op_id, account_id): n}, "throttled": {(op_id, account_id): n},
        "errors_injected": n}. account_id is None when the caller could not be identified; LWA calls count
        under "lwaToken"; "throttled" counts injected and quota 429s, "errors_injected" injected 5xx."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "throttled": dict(self._throttled),
                "errors_injected": self._errors_injected,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._throttled.clear()
            self._errors_injected = 0

    # --- request handling (called from the handler threads) -------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Reply:
        """Answer one HTTP request; never raises."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path.startswith(SES_PATH_PREFIX):
            status, payload, ses_headers = self.ses.handle(method, target, headers, body)
            return _Reply(status, payload, ses_headers)
        request_id = str(uuid.uuid4())
        if path == LWA_PATH:
            if method != "POST":
                return _Reply(
                    405, {"error": "invalid_request", "error_description": "Use POST"}, {"Allow": "POST"}
                )
            return self._lwa(body)
        matches = [(op, regex.match(path)) for op, regex in self._routes]
        matches = [(op, m) for op, m in matches if m]
        chosen = next(((op, m) for op, m in matches if op.method == method), None)
        if chosen is None:
            if matches:
                error = _ApiError(405, "MethodNotAllowed", f"Method {method} is not allowed on {path}.")
                return _Reply(
                    405,
                    error.body(),
                    {"x-amzn-RequestId": request_id, "Allow": ", ".join(op.method for op, _ in matches)},
                )
            error = _ApiError(404, "NotFound", f"No resource at {path}.")
            return _Reply(404, error.body(), {"x-amzn-RequestId": request_id})
        op, match = chosen
        return self._operation(op, match.groups(), path, query, headers, body, request_id)

    def _operation(
        self,
        op: Operation,
        path_args: tuple[str, ...],
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        request_id: str,
    ) -> _Reply:
        token = headers.get("x-amz-access-token", "")
        with self._lock:
            grant = self._grants.get(token)
        account_id = grant.account_id if grant else None
        bucket = self._bucket(op, account_id) if account_id else None
        rate = bucket.rate if bucket else op.usage_plan.rate
        reply_headers = {"x-amzn-RequestId": request_id, "x-amzn-RateLimit-Limit": str(rate)}
        with self._lock:
            self._requests[(op.operation_id, account_id)] += 1
        try:
            fault = self.faults.take(op.operation_id)
            if fault == 429:
                self._count_throttle(op, account_id)
                raise _ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
            if fault is not None:
                with self._lock:
                    self._errors_injected += 1
                if fault == 503:
                    raise _ApiError(
                        503, "ServiceUnavailable", "Service temporarily unavailable. Please try again."
                    )
                raise _ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")
            grant = self._authorise(token, op)
            bucket = self._bucket(op, grant.account_id)
            if bucket.try_acquire() > 0:
                self._count_throttle(op, grant.account_id)
                raise _ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
            status, payload, content_type = self._dispatch(op, path_args, path, query, grant, body)
        except _ApiError as error:
            return _Reply(error.status, error.body(), reply_headers)
        except Exception as error:  # a bug in the stand-in must still answer in the model's shape
            failure = _ApiError(
                500,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
                type(error).__name__,
            )
            return _Reply(500, failure.body(), reply_headers)
        return _Reply(status, payload, reply_headers, content_type)

    def _count_throttle(self, op: Operation, account_id: str | None) -> None:
        with self._lock:
            self._throttled[(op.operation_id, account_id)] += 1

    def _bucket(self, op: Operation, account_id: str) -> TokenBucket:
        key = (op.operation_id, account_id)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(op.usage_plan, self.clock)
            return bucket

    def _authorise(self, token: str, op: Operation) -> _Grant:
        if not token:
            raise _ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The request has no x-amz-access-token header.",
            )
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            raise _ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
            )
        if self.clock.now() >= grant.expires_at:
            raise _ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            )
        if grant.resources is not None and op.operation_id == "createRestrictedDataToken":
            raise _ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "A Restricted Data Token cannot be used to create another one; use an LWA access token.",
            )
        return grant

    def _dispatch(
        self,
        op: Operation,
        args: tuple[str, ...],
        path: str,
        query: dict[str, list[str]],
        grant: _Grant,
        body: bytes,
    ) -> tuple[int, Any, str]:
        if op.operation_id == "searchOrders":
            return 200, self._search_orders(query, grant), "application/json"
        if op.operation_id == "getOrder":
            return 200, self._get_order(args[0], path, query, grant), "application/json"
        if op.operation_id == "createRestrictedDataToken":
            return 200, self._create_rdt(body, grant), "application/json"
        if op.operation_id == "getSolicitationActionsForOrder":
            return 200, self._solicitation_actions(args[0], query, grant), "application/hal+json"
        if op.operation_id == "createProductReviewAndSellerFeedbackSolicitation":
            return 201, self._create_solicitation(args[0], query, grant), "application/json"
        raise _ApiError(404, "NotFound", f"{op.operation_id} is not served by the sandbox.")

    # --- LWA ------------------------------------------------------------------------------------------------

    def _lwa(self, body: bytes) -> _Reply:
        form = {
            k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        content_type = "application/json;charset=UTF-8"
        seller = self._sellers_by_token.get(form.get("refresh_token", ""))
        with self._lock:
            self._requests[(LWA_OPERATION, seller.account_id if seller else None)] += 1
        fault = self.faults.take(LWA_OPERATION)
        if fault is not None:
            with self._lock:
                if fault == 429:
                    self._throttled[(LWA_OPERATION, seller.account_id if seller else None)] += 1
                else:
                    self._errors_injected += 1
            error = "too_many_requests" if fault == 429 else "server_error"
            return _Reply(
                fault, {"error": error, "error_description": "Please retry later."}, headers, content_type
            )
        if form.get("grant_type") != "refresh_token":
            return _Reply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
                headers,
                content_type,
            )
        if (form.get("client_id"), form.get("client_secret")) != self._client:
            return _Reply(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                headers,
                content_type,
            )
        refresh_token = form.get("refresh_token", "")
        if seller is None or self.faults.is_revoked(refresh_token):
            return _Reply(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
                headers,
                content_type,
            )
        access_token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants[access_token] = _Grant(seller.account_id, self.clock.now() + TOKEN_LIFETIME)
        return _Reply(
            200,
            {
                "access_token": access_token,
                "token_type": "bearer",
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "refresh_token": refresh_token,
            },
            headers,
            content_type,
        )

    # --- Tokens API -----------------------------------------------------------------------------------------

    def _create_rdt(self, body: bytes, grant: _Grant) -> dict:
        try:
            request = json.loads(body or b"null")
        except ValueError:
            raise _ApiError(400, "InvalidInput", "The request body is not valid JSON.") from None
        resources = request.get("restrictedResources") if isinstance(request, dict) else None
        if not isinstance(resources, list) or not 1 <= len(resources) <= 50:
            raise _ApiError(400, "InvalidInput", "restrictedResources must list 1 to 50 resources.")
        granted = []
        for resource in resources:
            if not isinstance(resource, dict):
                raise _ApiError(400, "InvalidInput", "Each restrictedResources entry must be an object.")
            method, path = resource.get("method"), resource.get("path")
            elements = resource.get("dataElements") or []
            if method not in ("GET", "PUT", "POST", "DELETE"):
                raise _ApiError(400, "InvalidInput", f"restrictedResources.method {method!r} is not valid.")
            if not isinstance(path, str) or not (
                path == SEARCH_PATH
                or (path.startswith(_ORDER_PATH_PREFIX) and "/" not in path[len(_ORDER_PATH_PREFIX) :])
            ):
                raise _ApiError(
                    400,
                    "InvalidInput",
                    f"restrictedResources.path {path!r} is not a restricted "
                    f"resource; use {SEARCH_PATH} or {SEARCH_PATH}/{{orderId}}.",
                )
            if not isinstance(elements, list) or not set(elements) <= _DATA_ELEMENTS:
                raise _ApiError(
                    400,
                    "InvalidInput",
                    f"restrictedResources.dataElements must be among {sorted(_DATA_ELEMENTS)}.",
                )
            granted.append((method, path, frozenset(elements)))
        token = "Atz.sprdt|" + secrets.token_urlsafe(48)
        with self._lock:
            self._grants[token] = _Grant(grant.account_id, self.clock.now() + TOKEN_LIFETIME, tuple(granted))
        return {"restrictedDataToken": token, "expiresIn": int(TOKEN_LIFETIME.total_seconds())}

    def _check_pii(self, grant: _Grant, path: str, included: list[str]) -> bool:
        """Whether personal datasets were asked for; raises 403 when the token does not cover them."""
        wanted = [_PII_DATASETS[d] for d in included if d in _PII_DATASETS]
        if not wanted:
            return False
        if grant.resources is None:
            raise _ApiError(403, "Unauthorized", "Access to requested resource is denied.", _RDT_NEEDED)
        covered: set[str] = set()
        for method, resource_path, elements in grant.resources:
            if method == "GET" and resource_path == path:
                covered |= elements
        missing = sorted(set(wanted) - covered)
        if missing:
            raise _ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                f"The Restricted Data Token does not cover GET {path} with dataElements {missing}.",
            )
        return True

    # --- Orders API -----------------------------------------------------------------------------------------

    def _search_orders(self, query: dict[str, list[str]], grant: _Grant) -> dict:
        now = self.clock.now()
        seller = self.world.seller(grant.account_id)
        token = _single(query, "paginationToken")
        cursor = None
        filters = _normalise_filters({name: _values(query, name) for name in _FILTER_PARAMS})
        if token is not None:
            cursor = _decode_token(token)
            if not filters:
                filters = cursor["filters"]  # a bare token carries the query it continues
            elif _fingerprint(grant.account_id, filters) != cursor["fingerprint"]:
                raise _ApiError(
                    400,
                    "InvalidInput",
                    "Invalid paginationToken: it was issued for a request with "
                    "other parameters; repeat every parameter except maxResultsPerPage and includedData.",
                )

        def when(name: str) -> datetime | None:
            raw = filters.get(name)
            if not raw:
                return None
            if len(raw) != 1:
                raise _ApiError(400, "InvalidInput", f"{name} must be given once.")
            return _parse_time(name, raw[0])

        created_after, created_before = when("createdAfter"), when("createdBefore")
        updated_after, updated_before = when("lastUpdatedAfter"), when("lastUpdatedBefore")
        if (created_after is None) == (updated_after is None):
            raise _ApiError(
                400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter must be provided."
            )
        if created_after is not None and (updated_after or updated_before):
            raise _ApiError(
                400, "InvalidInput", "lastUpdatedBefore may not be provided together with createdAfter."
            )
        if updated_after is not None and created_before:
            raise _ApiError(
                400, "InvalidInput", "createdBefore may not be provided together with lastUpdatedAfter."
            )
        for name, after, before in (
            ("createdBefore", created_after, created_before),
            ("lastUpdatedBefore", updated_after, updated_before),
        ):
            if before is None:
                continue
            if after is not None and before < after:
                after_name = "createdAfter" if name == "createdBefore" else "lastUpdatedAfter"
                raise _ApiError(400, "InvalidInput", f"{name} must be equal to or after {after_name}.")
            if cursor is None and before > now - _MIN_LAG:
                raise _ApiError(
                    400,
                    "InvalidInput",
                    f"{name} must be at least two minutes before the time of the request.",
                )
        page_size = _single(query, "maxResultsPerPage")
        try:
            size = 100 if page_size is None else int(page_size)
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            raise _ApiError(400, "InvalidInput", "maxResultsPerPage must be an integer between 1 and 100.")
        markets = filters.get("marketplaceIds") or list(seller.marketplace_ids)
        if len(markets) > 50:
            raise _ApiError(400, "InvalidInput", "marketplaceIds may list at most 50 marketplaces.")
        foreign = [m for m in markets if m not in seller.marketplace_ids]
        if foreign:
            raise _ApiError(
                400, "InvalidInput", f"marketplaceIds {foreign} are not marketplaces of this seller."
            )
        statuses = filters.get("fulfillmentStatuses") or []
        if set(statuses) - _FULFILLMENT_STATUSES:
            raise _ApiError(
                400, "InvalidInput", f"fulfillmentStatuses must be among {sorted(_FULFILLMENT_STATUSES)}."
            )
        channels = filters.get("fulfilledBy") or []
        if set(channels) - _FULFILLED_BY:
            raise _ApiError(400, "InvalidInput", f"fulfilledBy must be among {sorted(_FULFILLED_BY)}.")
        included = _included_data(query)
        with_pii = self._check_pii(grant, SEARCH_PATH, included)

        # Every page answers as of the first page (time and world revision): no page shifts or repeats
        # while orders change.
        as_of = _parse_time("paginationToken", cursor["as_of"]) if cursor else now
        revision = cursor["revision"] if cursor else self.world.revision
        hits = self.world.search_keys(
            grant.account_id,
            marketplace_ids=markets,
            last_updated_after=updated_after,
            last_updated_before=updated_before,
            created_after=created_after,
            created_before=created_before,
            fulfillment_statuses=statuses or None,
            fulfilled_by=channels or None,
            as_of=as_of,
            revision=revision,
        )
        if cursor:
            last = (_parse_time("paginationToken", cursor["key"][0]), cursor["key"][1])
            hits = [hit for hit in hits if (hit[0], hit[1]) > last]
        page = hits[:size]
        response: dict = {
            "orders": [project_order(self.world.render(hit, include_pii=with_pii), included) for hit in page]
        }
        if len(hits) > size:
            last_hit = page[-1]
            response["pagination"] = {
                "nextToken": _encode_token(
                    {
                        "fingerprint": _fingerprint(grant.account_id, filters),
                        "filters": filters,
                        "as_of": iso_precise(as_of),
                        "revision": revision,
                        "key": [iso_precise(last_hit[0]), last_hit[1]],
                    }
                )
            }
        if updated_after is not None:
            response["lastUpdatedBefore"] = iso(updated_before or as_of)
        else:
            response["createdBefore"] = iso(created_before or as_of)
        return response

    def _get_order(self, order_id: str, path: str, query: dict[str, list[str]], grant: _Grant) -> dict:
        included = _included_data(query)
        with_pii = self._check_pii(grant, path, included)
        order = self.world.get(grant.account_id, order_id, include_pii=with_pii)
        if order is None:
            raise _ApiError(404, "NotFound", f"The order {order_id} was not found.")
        return {"order": project_order(order, included)}

    # --- Solicitations API ----------------------------------------------------------------------------------

    def _solicitation_order(self, order_id: str, query: dict[str, list[str]], grant: _Grant) -> str:
        markets = _values(query, "marketplaceIds")
        if len(markets) != 1:
            raise _ApiError(400, "InvalidInput", "Missing or invalid request parameters: [marketplaceIds]")
        marketplace = markets[0]
        if marketplace not in self.world.seller(grant.account_id).marketplace_ids:
            raise _ApiError(
                400, "InvalidInput", f"marketplaceIds {marketplace} is not a marketplace of this seller."
            )
        if self.world.marketplace_of(grant.account_id, order_id) != marketplace:
            raise _ApiError(
                404, "NotFound", f"The order {order_id} was not found in marketplace {marketplace}."
            )
        return marketplace

    def _solicitation_actions(self, order_id: str, query: dict[str, list[str]], grant: _Grant) -> dict:
        marketplace = self._solicitation_order(order_id, query, grant)
        base = f"/solicitations/v1/orders/{order_id}"
        actions, embedded = [], []
        if self.world.solicitation_refusal(grant.account_id, order_id) is None:
            action = f"{base}/solicitations/productReviewAndSellerFeedback"
            actions.append(
                {"href": f"{action}?marketplaceIds={marketplace}", "name": "productReviewAndSellerFeedback"}
            )
            embedded.append(
                {
                    "_links": {
                        "self": {"href": f"{action}?marketplaceIds={marketplace}"},
                        "schema": {"href": f"{action}/schema", "name": "productReviewAndSellerFeedback"},
                    }
                }
            )
        return {
            "_links": {"actions": actions, "self": {"href": f"{base}?marketplaceIds={marketplace}"}},
            "_embedded": {"actions": embedded},
        }

    def _create_solicitation(self, order_id: str, query: dict[str, list[str]], grant: _Grant) -> dict:
        self._solicitation_order(order_id, query, grant)
        with self._lock:  # check and record at once, so two racing requests cannot both succeed
            refusal = self.world.solicitation_refusal(grant.account_id, order_id)
            if refusal is not None:
                raise _ApiError(403, "Unauthorized", refusal)
            self.world.record_solicitation(grant.account_id, order_id)
        return {}


# --- helpers ------------------------------------------------------------------------------------------------


def iso_precise(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _values(query: dict[str, list[str]], name: str) -> list[str]:
    """An array parameter given as repeated keys, comma-separated, or both."""
    return [part.strip() for raw in query.get(name, []) for part in raw.split(",") if part.strip()]


def _single(query: dict[str, list[str]], name: str) -> str | None:
    raw = query.get(name)
    return raw[-1] if raw else None


def _included_data(query: dict[str, list[str]]) -> list[str]:
    included = _values(query, "includedData")
    unknown = [d for d in included if d not in DATASET_KEYS]
    if unknown:
        raise _ApiError(
            400, "InvalidInput", f"includedData {unknown} are not valid; use {sorted(DATASET_KEYS)}."
        )
    return included


def _parse_time(name: str, raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise _ApiError(400, "InvalidInput", f"{name} must be an ISO 8601 date-time, got {raw!r}.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _normalise_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """Filters as compared across pages: times in one spelling, lists sorted, empty ones dropped."""
    out: dict[str, list[str]] = {}
    for name, values in filters.items():
        if not values:
            continue
        if name.endswith(("After", "Before")):
            values = [iso_precise(_parse_time(name, v)) for v in values]
        out[name] = sorted(values)
    return out


def _fingerprint(account_id: str, filters: dict[str, list[str]]) -> str:
    canonical = json.dumps(
        {"account": account_id, **{k: sorted(v) for k, v in sorted(filters.items())}}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _encode_token(content: dict) -> str:
    raw = json.dumps(content, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        content = json.loads(raw)
        if not (
            isinstance(content, dict)
            and isinstance(content.get("fingerprint"), str)
            and isinstance(content.get("filters"), dict)
            and isinstance(content.get("as_of"), str)
            and isinstance(content.get("revision"), int)
            and isinstance(content.get("key"), list)
            and len(content["key"]) == 2
        ):
            raise ValueError("token fields")
        datetime.fromisoformat(content["as_of"])
        datetime.fromisoformat(content["key"][0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _ApiError(400, "InvalidInput", "Invalid paginationToken.") from None
    return content


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sellerreach-sandbox"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; Nagle would add ~40 ms each

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        sandbox: SandboxServer = self.server.sandbox  # type: ignore[attr-defined]
        reply = sandbox.handle(self.command, self.path, headers, body)
        data = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test and demo output quiet
        pass
