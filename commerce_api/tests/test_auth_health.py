"""Bearer-token auth on every route but /health, and the health probe itself."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from commerce_api.app import create_app
from commerce_api.db import Database
from commerce_api.settings import Settings
from commerce_api.tests.conftest import assert_error

PROTECTED = [
    ("GET", "/orders/4521"),
    ("POST", "/orders/4521/verify"),
    ("GET", "/orders/4521/items/4521-1/return-eligibility"),
    ("POST", "/returns"),
    ("GET", "/returns?order_id=4521"),
    ("GET", "/returns/RMA-00000000"),
    ("POST", "/orders/4522/cancel"),
    ("PATCH", "/orders/4522/shipping-address"),
    ("PATCH", "/customers/cus_jane_doe/address"),
    ("GET", "/track/1Z999AA10123456784"),
    ("POST", "/exchanges"),
    ("GET", "/exchanges?order_id=4521"),
    ("GET", "/exchanges/EXC-00000000"),
    ("PATCH", "/orders/4522/items"),
    ("PATCH", "/orders/4522/payment"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_token_is_401(client: TestClient, method: str, path: str) -> None:
    anonymous = TestClient(client.app, raise_server_exceptions=False)
    response = anonymous.request(method, path, json={})
    err = assert_error(response, 401, "unauthorized")
    assert "Bearer" in response.headers["www-authenticate"]
    assert "token" in err["message"].lower()


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer ", "Basic dGVzdC10b2tlbi0xMjM=", "test-token-123", ""])
def test_wrong_token_is_401(client: TestClient, header: str) -> None:
    assert_error(client.get("/orders/4521", headers={"Authorization": header}), 401, "unauthorized")


def test_wrong_token_on_write_does_not_touch_state(client: TestClient) -> None:
    response = client.post("/orders/4522/cancel", headers={"Authorization": "Bearer nope", "Idempotency-Key": "auth-k"})
    assert_error(response, 401, "unauthorized")
    assert client.get("/orders/4522").json()["status"] == "processing"


def test_health_needs_no_token(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_reports_503_when_database_is_down() -> None:
    # Port 1 on loopback refuses connections immediately: a database that is down.
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", seed_on_start="never")
    app = create_app(settings, database=Database(settings.database_url))
    response = TestClient(app, raise_server_exceptions=False).get("/health")
    err = assert_error(response, 503, "database_unavailable")
    assert err["database"] == "unavailable"


def test_other_endpoints_report_503_when_database_is_down() -> None:
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", token="t")
    app = create_app(settings, database=Database(settings.database_url))
    response = TestClient(app, raise_server_exceptions=False).get("/orders/4521", headers={"Authorization": "Bearer t"})
    assert_error(response, 503, "database_unavailable")
    assert "Traceback" not in response.text
