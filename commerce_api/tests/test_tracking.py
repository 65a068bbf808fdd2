"""Shipment tracking from the events stored at seed time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from commerce_api.tests.conftest import assert_error


def test_in_transit_4523(client: TestClient) -> None:
    response = client.get("/track/1Z999AA10123456784")
    assert response.status_code == 200
    body = response.json()
    today = datetime.now(timezone.utc).date()
    assert body["tracking_number"] == "1Z999AA10123456784"
    assert body["carrier"] == "UPS"
    assert body["status"] == "in_transit"
    assert body["estimated_delivery"] == (today + timedelta(days=2)).isoformat()
    assert body["last_scan"]["location"] == "Louisville, KY"
    assert body["last_scan"]["time"].startswith((today - timedelta(days=1)).isoformat())
    assert body["events"][0] == {**body["last_scan"], "description": body["events"][0]["description"]}
    times = [e["time"] for e in body["events"]]
    assert times == sorted(times, reverse=True) and len(times) >= 3
    assert all(set(e) == {"location", "time", "description"} for e in body["events"])


def test_lowercase_tracking_number(client: TestClient) -> None:
    assert client.get("/track/1z999aa10123456784").status_code == 200


@pytest.mark.parametrize("order_id", ["4521", "4524", "4526"])
def test_delivered_orders_have_tracking(client: TestClient, order_id: str) -> None:
    number = client.get(f"/orders/{order_id}").json()["shipment"]["tracking_number"]
    body = client.get(f"/track/{number}").json()
    assert body["status"] == "delivered"
    assert body["events"][0]["description"].startswith("Delivered")


@pytest.mark.parametrize("number", ["1Z999AA10123456785", "ABC", "1Z 999", "x" * 41])
def test_unknown_tracking(client: TestClient, number: str) -> None:
    assert_error(client.get(f"/track/{number}"), 404, "tracking_not_found")
