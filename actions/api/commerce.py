"""The one client every action uses to reach the shop's commerce API.

One pooled `requests.Session` per process. Every call has a connect and read
timeout; connection failures, timeouts and 502/503/504 answers are retried a
bounded number of times with exponential backoff and jitter (urllib3's `Retry`),
and never beyond the call's time budget (`COMMERCE_API_RETRY_BUDGET`): a retry is
only started if its backoff and a whole attempt still fit. Retrying writes is
safe because every write carries an `Idempotency-Key` (the gate's ledger row
id), so the API answers a retry with the first response instead of acting twice.

Around it, one circuit breaker per process (`actions.api.breaker`): after
`COMMERCE_API_BREAKER_FAILURES` failed calls in a row, calls fail at once with
`CircuitOpen` for `COMMERCE_API_BREAKER_RESET` seconds, then one probe decides.
"""

from __future__ import annotations

import logging
import random
import time
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import requests
from opentelemetry.trace import SpanKind, Status, StatusCode
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from actions import telemetry
from actions.api.breaker import CircuitBreaker
from actions.api.errors import (
    CircuitOpen,
    CommerceError,
    CommerceUnavailable,
    Conflict,
    InProgress,
    NotFound,
    Rejected,
    TooManyAttempts,
    Unauthorized,
)
from actions.config import Settings, get_settings

logger = logging.getLogger(__name__)

POOL_SIZE = 32
RETRY_STATUSES = (502, 503, 504)
# The latest monotonic time at which the current call may still start a retry (see BudgetedRetry).
_latest_retry_start: ContextVar[Optional[float]] = ContextVar("commerce_api_latest_retry_start", default=None)


class BudgetedRetry(Retry):
    """urllib3's `Retry` with backoff from the first retry, and a time budget per call.

    urllib3 retries the first failure at once and only backs off from the second; here every
    retry waits `backoff_factor * 2**(n-1)` plus up to `backoff_jitter` seconds, so a fleet of
    action servers does not hit a recovering API in lockstep. A retry whose wait would end
    after the call's latest retry start (set by the client for each call) is not made: the
    call gives up as if its retries had run out.
    """

    def get_backoff_time(self) -> float:
        errors = self._consecutive_errors()
        if errors == 0:
            return 0.0
        value = self.backoff_factor * (2 ** (errors - 1)) + random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, value)))

    def _consecutive_errors(self) -> int:
        count = 0
        for attempt in reversed(self.history):
            if attempt.redirect_location is not None:
                break
            count += 1
        return count

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        latest_start = _latest_retry_start.get()
        errors = retry._consecutive_errors()
        longest_wait = min(self.backoff_max, self.backoff_factor * (2 ** max(errors - 1, 0)) + self.backoff_jitter)
        if latest_start is not None and time.monotonic() + longest_wait > latest_start:
            reason = error or ResponseError(f"answered {getattr(response, 'status', '?')}")
            raise MaxRetryError(_pool, url or "", reason) from error
        return retry


def _segment(value: str) -> str:
    """Quotes one path segment so an id can never add segments or a query."""
    return quote(str(value), safe="")


class CommerceClient:
    """Typed calls to the commerce API; raises `actions.api.errors` exceptions."""

    def __init__(self, settings: Settings, session: Optional[requests.Session] = None) -> None:
        self.base_url = settings.commerce_api_url
        self.timeout = (settings.connect_timeout_seconds, settings.timeout_seconds)
        self.retry_budget = settings.retry_budget_seconds
        self.session = session or requests.Session()
        self.breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failures,
            reset_seconds=settings.breaker_reset_seconds,
            is_failure=lambda error: isinstance(error, CommerceUnavailable) and not isinstance(error, InProgress),
            on_change=_circuit_changed,
        )
        retry = BudgetedRetry(
            total=settings.read_retries,
            connect=settings.read_retries,
            read=settings.read_retries,
            status=settings.read_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST", "PATCH"}),
            backoff_factor=settings.backoff_factor,
            backoff_jitter=settings.backoff_jitter,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {settings.commerce_api_token}",
                "Accept": "application/json",
                "User-Agent": "shop-support-assistant/1.0",
            }
        )

    # -- reads -------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Dict[str, Any]:
        return self._request("GET", f"/orders/{_segment(order_id)}", route="/orders/{order_id}")

    def verify_customer(self, *, email: Optional[str] = None, name: Optional[str] = None,
                        postal_code: Optional[str] = None, client_key: Optional[str] = None) -> Optional[str]:
        """The customer id for an email, or for a full name + postal code; None if they match nobody.

        Raises `TooManyAttempts` once the API's limit for these details or this client is reached.
        """
        body = {"email": email} if email is not None else {"name": name, "postal_code": postal_code}
        answer = self._request("POST", "/customers/verify", json=body, client_key=client_key)
        return answer.get("customer_id") if answer.get("verified") else None

    def get_customer(self, customer_id: str) -> Dict[str, Any]:
        return self._request("GET", f"/customers/{_segment(customer_id)}", route="/customers/{customer_id}")

    def customer_orders(self, customer_id: str, *, limit: int = 20) -> List[Dict[str, Any]]:
        """The customer's orders, newest placed first."""
        return self._request(
            "GET", f"/customers/{_segment(customer_id)}/orders", params={"limit": limit},
            route="/customers/{customer_id}/orders",
        ).get("orders", [])

    def policy(self) -> Dict[str, Any]:
        """The shop's return window, refund destinations and timings as the API enforces them."""
        return self._request("GET", "/policy")

    def return_eligibility(self, order_id: str, item_id: str) -> Dict[str, Any]:
        return self._request(
            "GET",
            f"/orders/{_segment(order_id)}/items/{_segment(item_id)}/return-eligibility",
            route="/orders/{order_id}/items/{item_id}/return-eligibility",
        )

    def list_returns(self, order_id: str) -> List[Dict[str, Any]]:
        return self._request("GET", "/returns", params={"order_id": order_id}).get("returns", [])

    def search_products(self, query: str, *, limit: int = 20) -> List[Dict[str, Any]]:
        """Catalogue products whose name contains `query` (any case), each with its variants."""
        # The API takes 100 printable characters; a customer's text may hold anything.
        query = "".join(ch for ch in str(query) if ch.isprintable())[:100]
        return self._request("GET", "/products", params={"query": query, "limit": limit}).get("products", [])

    def get_product(self, product_id: str) -> Dict[str, Any]:
        """One catalogue product with its variants (options, availability, price)."""
        return self._request("GET", f"/products/{_segment(product_id)}", route="/products/{product_id}")

    def list_exchanges(self, order_id: str) -> List[Dict[str, Any]]:
        return self._request("GET", "/exchanges", params={"order_id": order_id}).get("exchanges", [])

    def track(self, tracking_number: str) -> Dict[str, Any]:
        return self._request("GET", f"/track/{_segment(tracking_number)}", route="/track/{tracking_number}")

    # -- writes (always idempotent) ----------------------------------------------------

    def create_return(
        self, *, order_id: str, item_ids: List[str], reason: str, refund_method: str,
        idempotency_key: str, gift_card_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        payload: Dict[str, Any] = {
            "order_id": order_id,
            "item_ids": list(item_ids),
            "reason": reason,
            "refund_method": refund_method,
        }
        if gift_card_id:
            payload["gift_card_id"] = gift_card_id
        return self._request("POST", "/returns", json=payload, idempotency_key=idempotency_key)

    def cancel_order(self, *, order_id: str, idempotency_key: str) -> Dict[str, Any]:
        return self._request(
            "POST",
            f"/orders/{_segment(order_id)}/cancel",
            json={"reason": "customer_request"},
            idempotency_key=idempotency_key,
            route="/orders/{order_id}/cancel",
        )

    def change_shipping_address(
        self, *, order_id: str, address: Dict[str, str], idempotency_key: str
    ) -> Dict[str, Any]:
        return self._request(
            "PATCH",
            f"/orders/{_segment(order_id)}/shipping-address",
            json=address,
            idempotency_key=idempotency_key,
            route="/orders/{order_id}/shipping-address",
        )

    def change_default_address(
        self, *, customer_id: str, address: Dict[str, str], idempotency_key: str
    ) -> Dict[str, Any]:
        """Replaces the customer's saved address (never its name); orders keep theirs."""
        return self._request(
            "PATCH",
            f"/customers/{_segment(customer_id)}/address",
            json=address,
            idempotency_key=idempotency_key,
            route="/customers/{customer_id}/address",
        )

    def create_exchange(
        self, *, order_id: str, swaps: Dict[str, str], payment_method_id: Optional[str], idempotency_key: str
    ) -> Dict[str, Any]:
        """Exchanges delivered items for other variants ({item id: new variant id}); the price
        difference is charged to, or refunded to, `payment_method_id`."""
        return self._request("POST", "/exchanges", json={
            "order_id": order_id, "items": _swap_lines(swaps), "payment_method_id": payment_method_id,
        }, idempotency_key=idempotency_key)

    def change_order_items(
        self, *, order_id: str, swaps: Dict[str, str], payment_method_id: Optional[str], idempotency_key: str
    ) -> Dict[str, Any]:
        """Swaps items of an order that has not shipped for other variants of the same products."""
        return self._request(
            "PATCH",
            f"/orders/{_segment(order_id)}/items",
            json={"items": _swap_lines(swaps), "payment_method_id": payment_method_id},
            idempotency_key=idempotency_key,
            route="/orders/{order_id}/items",
        )

    def change_order_payment(self, *, order_id: str, payment_method_id: str, idempotency_key: str) -> Dict[str, Any]:
        """Pays an order that has not shipped with another of its customer's payment methods."""
        return self._request(
            "PATCH",
            f"/orders/{_segment(order_id)}/payment",
            json={"payment_method_id": payment_method_id},
            idempotency_key=idempotency_key,
            route="/orders/{order_id}/payment",
        )

    # -- plumbing ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Optional[Dict[str, Any]] = None,
        params: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
        route: Optional[str] = None,
        client_key: Optional[str] = None,
    ) -> Dict[str, Any]:
        """One call through the circuit breaker; `route` is the path's template (no ids) for spans and metrics."""
        route = route or path
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if client_key:
            headers["X-Client-Key"] = client_key
        try:
            return self.breaker.call(self._send, method, path, json=json, params=params,
                                     headers=headers, route=route)
        except CircuitOpen:
            telemetry.COMMERCE_API_SECONDS.labels(method, route, "circuit_open").observe(0)
            raise

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Optional[Dict[str, Any]],
        params: Optional[Dict[str, Any]],
        headers: Dict[str, str],
        route: str,
    ) -> Dict[str, Any]:
        started = time.perf_counter()
        # A retry may start only while its backoff and one whole attempt still fit the budget.
        budget = _latest_retry_start.set(time.monotonic() + self.retry_budget - sum(self.timeout))
        with telemetry.tracer().start_as_current_span(
            f"commerce_api {method} {route}", kind=SpanKind.CLIENT,
            attributes={"http.request.method": method, "http.route": route},
        ) as span:
            status = "error"
            try:
                telemetry.inject_trace_context(headers)
                response = self.session.request(
                    method,
                    self.base_url + path,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                )
                status = str(response.status_code)
                retries = getattr(getattr(response.raw, "retries", None), "history", ())
                span.set_attribute("http.response.status_code", response.status_code)
                span.set_attribute("http.request.resend_count", len(retries))
                if response.status_code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            except requests.RequestException as error:
                span.set_status(Status(StatusCode.ERROR, error.__class__.__name__))
                raise CommerceUnavailable(f"{method} {path} failed: {error.__class__.__name__}") from error
            finally:
                _latest_retry_start.reset(budget)
                telemetry.COMMERCE_API_SECONDS.labels(method, route, status).observe(
                    time.perf_counter() - started)
        return _decode(method, path, response)


def _swap_lines(swaps: Dict[str, str]) -> List[Dict[str, str]]:
    return [{"item_id": item_id, "new_variant_id": variant_id} for item_id, variant_id in swaps.items()]


def _circuit_changed(old: str, new: str) -> None:
    telemetry.set_commerce_api_circuit(new)
    log = logger.warning if new != "closed" else logger.info
    log("commerce API circuit %s -> %s", old, new)


def _decode(method: str, path: str, response: requests.Response) -> Dict[str, Any]:
    """Turns a response into its JSON body or the matching `CommerceError`."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if 200 <= status < 300:
        return body
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = f"{method} {path} answered {status}: {error.get('message', response.reason)}"
    details = dict(
        status=status,
        code=error.get("code"),
        reason=error.get("reason"),
        fields=error.get("fields") if isinstance(error.get("fields"), dict) else None,
    )
    if status == 404:
        raise NotFound(message, **details)
    if status == 429 and details["code"] == "too_many_attempts":
        raise TooManyAttempts(message, retry_after=_retry_after(response, error), **details)
    if status == 409 and details["code"] == "idempotency_request_in_progress":
        raise InProgress(message, **details)
    if status == 409:
        raise Conflict(message, **details)
    if status in (401, 403):
        raise Unauthorized(message, **details)
    if status in (400, 422):
        raise Rejected(message, **details)
    if status >= 500 or status == 429:
        raise CommerceUnavailable(message, **details)
    raise CommerceError(message, **details)


def _retry_after(response: requests.Response, error: Dict[str, Any]) -> int:
    """Seconds until the API accepts another attempt (the Retry-After header, else the body's)."""
    for value in (response.headers.get("Retry-After"), error.get("retry_after")):
        try:
            return max(int(float(value)), 1)
        except (TypeError, ValueError):
            continue
    return 60


@lru_cache(maxsize=1)
def get_commerce_client() -> CommerceClient:
    """The process-wide client (created on first use so nothing connects at import)."""
    return CommerceClient(get_settings())
