"""Real concurrency against a running uvicorn server: racing writes must not double-apply, on both databases."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from commerce_api.tests.conftest import AUTH

RACERS = 8
BODY = {"order_id": "4521", "item_id": "4521-1", "reason": "damaged", "refund_method": "original_payment"}


def _race(base_url: str, requests: list[tuple[str, str, dict | None, dict]]) -> list[httpx.Response]:
    """Fire all requests at once (a barrier releases the threads together) and collect the responses."""
    barrier = threading.Barrier(len(requests))
    results: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(requests)

    def run(index: int, method: str, path: str, body: dict | None, headers: dict) -> None:
        with httpx.Client(base_url=base_url, headers=AUTH, timeout=30) as http:
            barrier.wait(timeout=10)
            try:
                results[index] = http.request(method, path, json=body, headers=headers)
            except BaseException as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        assert isinstance(result, httpx.Response), result
    return results  # type: ignore[return-value]


def test_racing_returns_with_different_keys_create_one(live_server: str) -> None:
    responses = _race(
        live_server, [("POST", "/returns", BODY, {"Idempotency-Key": f"race-{i}"}) for i in range(RACERS)]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"] == {**r.json()["error"], "code": "not_eligible", "reason": "already_returned"}
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        assert len(http.get("/returns", params={"order_id": "4521"}).json()["returns"]) == 1


def test_racing_cancellations_with_different_keys(live_server: str) -> None:
    responses = _race(
        live_server, [("POST", "/orders/4522/cancel", None, {"Idempotency-Key": f"c-{i}"}) for i in range(RACERS)]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: RACERS - 1}, [r.text for r in responses]
    assert all(r.json()["error"]["reason"] == "already_cancelled" for r in responses if r.status_code == 409)


def test_racing_duplicates_with_the_same_key(live_server: str) -> None:
    responses = _race(live_server, [("POST", "/returns", BODY, {"Idempotency-Key": "same"}) for _ in range(RACERS)])
    created = [r for r in responses if r.status_code == 201]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_progress) == RACERS, [r.text for r in responses]
    assert all(r.json()["error"]["code"] == "idempotency_request_in_progress" for r in in_progress)
    assert len({r.content for r in created}) == 1  # one original plus byte-identical replays
    assert sum(1 for r in created if "idempotent-replayed" not in r.headers) == 1
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        assert len(http.get("/returns", params={"order_id": "4521"}).json()["returns"]) == 1


def test_racing_multi_item_returns_share_no_item(live_server: str) -> None:
    # Every racer wants 4521-2, half of them together with 4521-1: whoever wins, no item is returned twice.
    single = {k: v for k, v in BODY.items() if k != "item_id"}
    bodies = [{**single, "item_ids": ["4521-1", "4521-2"] if i % 2 else ["4521-2"]} for i in range(RACERS)]
    responses = _race(
        live_server, [("POST", "/returns", body, {"Idempotency-Key": f"multi-{i}"}) for i, body in enumerate(bodies)]
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        returned = [i["item_id"] for r in http.get("/returns", params={"order_id": "4521"}).json()["returns"]
                    for i in r["items"]]  # fmt: skip
    assert sorted(returned) in (["4521-2"], ["4521-1", "4521-2"])
    for r, body in zip(responses, bodies, strict=True):
        if r.status_code == 409:  # the loser names the first of its items the winner took
            first_taken = next(item for item in body["item_ids"] if item in returned)
            assert (r.json()["error"]["reason"], r.json()["error"]["item_id"]) == ("already_returned", first_taken)


def test_racing_wrong_guesses_never_exceed_the_limit(live_server: str) -> None:
    # Twelve wrong emails at once from twelve clients: exactly five are judged, the rest are refused.
    guesses = 12
    responses = _race(
        live_server,
        [
            ("POST", "/orders/4521/verify", {"email": f"guess{i}@example.com"}, {"X-Client-Key": f"racer-{i}"})
            for i in range(guesses)
        ],
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 5, 429: guesses - 5}, [r.text for r in responses]
    assert all(r.json() == {"verified": False} for r in responses if r.status_code == 200)
    assert all("retry-after" in r.headers for r in responses if r.status_code == 429)
