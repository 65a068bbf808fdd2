"""The one client every action uses to reach the shop's commerce API.

One pooled `requests.Session` per process. Every call has a connect and read
timeout; connection failures, timeouts and 502/503/504 answers are retried a
bounded number of times with exponential backoff and jitter. Retrying writes is
safe because every write carries an `Idempotency-Key` (the gate's ledger row
id), so the API answers a retry with the first response instead of acting twice.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import requests
from opentelemetry.trace import SpanKind, Status, StatusCode
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from actions import telemetry
from actions.api.errors import (
    CommerceError,
    CommerceUnavailable,
    Conflict,
    NotFound,
    Rejected,
    Unauthorized,
)
from actions.config import Settings, get_settings

POOL_SIZE = 32
RETRY_STATUSES = (502, 503, 504)
BACKOFF_FACTOR = 0.2
BACKOFF_JITTER = 0.1


def _segment(value: str) -> str:
    """Quotes one path segment so an id can never add segments or a query."""
    return quote(str(value), safe="")


class CommerceClient:
    """Typed calls to the commerce API; raises `actions.api.errors` exceptions."""

    def __init__(self, settings: Settings, session: Optional[requests.Session] = None) -> None:
        self.base_url = settings.commerce_api_url
        self.timeout = (settings.connect_timeout_seconds, settings.timeout_seconds)
        self.session = session or requests.Session()
        retry = Retry(
            total=settings.read_retries,
            connect=settings.read_retries,
            read=settings.read_retries,
            status=settings.read_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST", "PATCH"}),
            backoff_factor=BACKOFF_FACTOR,
            backoff_jitter=BACKOFF_JITTER,
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

    def verify_customer(self, order_id: str, email: str) -> Optional[str]:
        """Returns the customer id when `email` is the order's email, else None."""
        body = self._request("POST", f"/orders/{_segment(order_id)}/verify", json={"email": email},
                             route="/orders/{order_id}/verify")
        return body.get("customer_id") if body.get("verified") else None

    def return_eligibility(self, order_id: str, item_id: str) -> Dict[str, Any]:
        return self._request(
            "GET",
            f"/orders/{_segment(order_id)}/items/{_segment(item_id)}/return-eligibility",
            route="/orders/{order_id}/items/{item_id}/return-eligibility",
        )

    def list_returns(self, order_id: str) -> List[Dict[str, Any]]:
        return self._request("GET", "/returns", params={"order_id": order_id}).get("returns", [])

    def track(self, tracking_number: str) -> Dict[str, Any]:
        return self._request("GET", f"/track/{_segment(tracking_number)}", route="/track/{tracking_number}")

    # -- writes (always idempotent) ----------------------------------------------------

    def create_return(
        self, *, order_id: str, item_id: str, reason: str, refund_method: str, idempotency_key: str
    ) -> Dict[str, Any]:
        payload = {
            "order_id": order_id,
            "item_id": item_id,
            "reason": reason,
            "refund_method": refund_method,
        }
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
    ) -> Dict[str, Any]:
        """One call; `route` is the path's template (no ids) used for its span and metrics."""
        route = route or path
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        started = time.perf_counter()
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
                telemetry.COMMERCE_API_SECONDS.labels(method, route, status).observe(
                    time.perf_counter() - started)
        return _decode(method, path, response)


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
    if status == 409:
        raise Conflict(message, **details)
    if status in (401, 403):
        raise Unauthorized(message, **details)
    if status in (400, 422):
        raise Rejected(message, **details)
    if status >= 500 or status == 429:
        raise CommerceUnavailable(message, **details)
    raise CommerceError(message, **details)


@lru_cache(maxsize=1)
def get_commerce_client() -> CommerceClient:
    """The process-wide client (created on first use so nothing connects at import)."""
    return CommerceClient(get_settings())
