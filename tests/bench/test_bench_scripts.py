"""The benchmark's deterministic parts: the reply matcher, the percentiles, the seeded pool.

The load run itself is `make bench` (never part of `make test`); these guard what
its numbers rest on: a wrong or empty reply is never counted as a success, the
percentiles are exact, and the seeded customers are orders the real commerce API
serves in the state each scenario needs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from bench import stats
from bench.conversations import (
    DEFAULT_MIX,
    SCENARIO_POOLS,
    Turn,
    check_reply,
    parse_mix,
    pool_sizes,
    script,
    validate_pool,
)
from bench.run import soak_report
from tests import processes

ENTRY = {"order_id": "1000042", "email": "bench-c000042@example.com", "customer_id": "cus_bench_000042",
         "carrier": "UPS", "tracking_number": "1ZBENCH1000042", "items": ["Blue Denim Jacket (Size M)"]}


# ------------------------------------------------------------------ the reply matcher

def test_a_reply_with_the_expected_text_is_a_success() -> None:
    turn = Turn("track/open", "where is my order #1000042?", (r"email address you used for order #1000042\b",))
    reply = [{"recipient_id": "x", "text": "To keep your order safe, what's the email address you used for "
                                           "order #1000042?"}]
    assert check_reply(turn, reply) is None


@pytest.mark.parametrize("reply, why", [
    ([], "empty reply"),
    ([{"recipient_id": "x"}], "empty reply"),
    ([{"text": "   "}], "empty reply"),
    ({"text": "not a list"}, "malformed reply"),
    (None, "malformed reply"),
    ([{"text": "What's your order number? You'll find it in your order confirmation email (e.g. #4521)."}],
     "expected"),
    ([{"text": "To keep your order safe, what's the email address you used for order #10000421?"}], "expected"),
])
def test_empty_malformed_and_wrong_replies_are_failures(reply, why: str) -> None:
    turn = Turn("track/open", "where is my order #1000042?", (r"email address you used for order #1000042\b",))
    reason = check_reply(turn, reply)
    assert reason is not None and reason.startswith(why), reason


def test_a_fallback_is_a_failure_even_if_the_expected_words_are_there() -> None:
    turn = Turn("policy/thanks", "thanks", (r"You're welcome",))
    reply = [{"text": "You're welcome"}, {"text": "Sorry, I didn't quite get that. Could you rephrase it?"}]
    assert "unexpected" in check_reply(turn, reply)


def test_every_expected_pattern_must_match_and_the_texts_of_all_messages_count() -> None:
    _, verify, _ = script("track", ENTRY, _rng_for_variant("track", 3))
    assert verify.step == "track/verify"
    verified = {"text": "Thanks, you're verified for order #1000042."}
    status = {"text": "Order #1000042 is on its way with UPS (tracking 1ZBENCH1000042). Status: in transit.\n"
                      "Last scan: Louisville, KY on Nov 23. Estimated delivery: Nov 26."}
    assert check_reply(verify, [verified, status]) is None
    assert check_reply(verify, [verified]) is not None  # the status message is missing
    assert check_reply(verify, [dict(status, text=status["text"].replace("UPS", "FedEx")), verified]) is not None


def _rng_for_variant(scenario: str, turns: int) -> random.Random:
    for seed in range(100):
        if len(script(scenario, ENTRY, random.Random(seed))) == turns:
            return random.Random(seed)
    raise AssertionError(f"no seed gives a {turns}-turn {scenario} script")


# ------------------------------------------------------------------ the scripts

@pytest.mark.parametrize("scenario", sorted(SCENARIO_POOLS))
def test_every_scenario_scripts_named_steps_with_expectations(scenario: str) -> None:
    entry = None if SCENARIO_POOLS[scenario] is None else ENTRY
    for seed in range(20):
        turns = script(scenario, entry, random.Random(seed))
        assert len(turns) >= 2
        for turn in turns:
            assert turn.step.startswith(f"{scenario}/") and turn.text and turn.expect
            for pattern in turn.expect + turn.reject:
                re.compile(pattern)


def test_confirmations_are_yes_or_no_as_asked() -> None:
    for scenario in ("return", "cancel", "address"):
        always_no = script(scenario, ENTRY, random.Random(1), decline_rate=1.0)[-1]
        always_yes = script(scenario, ENTRY, random.Random(1), decline_rate=0.0)[-1]
        assert always_no.step == f"{scenario}/decline" and always_no.text.startswith("no")
        assert always_yes.step == f"{scenario}/confirm" and always_yes.text.startswith("yes")
        assert check_reply(always_yes, [{"text": "OK, I haven't changed anything."}]) is not None


def test_the_mix_parser_refuses_unknown_scenarios_and_empty_weights() -> None:
    assert parse_mix("") == DEFAULT_MIX
    assert parse_mix("track=1, return=3") == {"track": 1.0, "return": 3.0}
    for bad in ("shopping=10", "track", "track=-1", "track=0"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_pool_sizes_cover_the_sessions_of_each_scenario() -> None:
    sizes = pool_sizes(DEFAULT_MIX, 10_000)
    assert sizes["return"] >= 3000 and sizes["cancel"] >= 1500 and sizes["address"] >= 1000
    assert sizes["track"] <= 2000  # read-only conversations share customers
    assert "policy" not in sizes


# ------------------------------------------------------------------ percentiles

def test_nearest_rank_percentiles() -> None:
    values = list(range(100, 0, -1))  # 100 .. 1, unsorted on purpose
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 95) == 95
    assert stats.percentile(values, 99) == 99
    assert stats.percentile(values, 100) == 100
    assert stats.percentile(values, 0) == 1
    assert stats.percentile([7.5], 99) == 7.5
    assert stats.percentile([], 50) is None
    assert stats.percentile([1, 2, 3, 4, 1000], 95) == 1000  # one slow turn in five is above p80
    with pytest.raises(ValueError):
        stats.percentile(values, 101)


def test_summaries_count_only_successes_as_throughput_but_every_turn_in_latency() -> None:
    t0 = 1_000_000.0
    samples = [stats.Sample(t0 + i, "track/open", 100.0) for i in range(1, 9)]
    samples.append(stats.Sample(t0 + 9.5, "track/verify", 30_000.0, "no response: timeout"))
    samples.append(stats.Sample(t0 + 9.9, "track/verify", 50.0, "empty reply"))
    summary = stats.summarize(samples, 10.0)
    assert (summary["turns"], summary["ok"], summary["failed"]) == (10, 8, 2)
    assert summary["turns_per_s"] == 0.8
    assert summary["latency_ms"]["max"] == 30_000.0 and summary["latency_ms"]["p95"] == 30_000.0
    assert summary["latency_ms"]["p50"] == 100.0
    grouped = stats.failures(samples)
    assert grouped["total"] == 2
    assert {(f["step"], f["reason"]) for f in grouped["by_step_and_reason"]} == {
        ("track/verify", "no response: timeout"), ("track/verify", "empty reply")}
    assert summary["answered_per_s"] == 0.9  # the empty reply was an answer, the timeout was not
    # windows go by when a turn ended
    assert len(stats.window(samples, t0 + 1, t0 + 9.5)) == 8
    assert len(stats.window(samples, t0 + 9.5, t0 + 100)) == 2


def test_failures_of_different_customers_group_under_one_reason() -> None:
    samples = [stats.Sample(1.0, "track/open", 5.0, f"expected /order #{n}/, got: 'What's your order number?'")
               for n in (1000001, 1000002, 1000003)]
    samples.append(stats.Sample(2.0, "return/confirm", 5.0, "unexpected /x/ in reply: 'RMA-1A2B3C4D exists'"))
    grouped = stats.failures(samples)["by_step_and_reason"]
    assert [(g["step"], g["count"]) for g in grouped] == [("track/open", 3), ("return/confirm", 1)]
    assert "1000001" not in grouped[0]["reason"] and "RMA-1A2B3C4D" not in grouped[1]["reason"]


def test_raw_samples_round_trip(tmp_path: Path) -> None:
    samples = [stats.Sample(1_700_000_000.123456, "return/confirm", 12.345, ""),
               stats.Sample(1_700_000_001.5, "cancel/verify", 999.0, 'expected /x/, got: "a, b"')]
    path = tmp_path / "turns.csv.gz"
    stats.write_samples(path, samples)
    assert stats.read_samples(path) == samples


# ------------------------------------------------------------------ the seeded pool

@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("bench-seed")
    database_url = f"sqlite:///{folder / 'commerce.db'}"
    pool_path = folder / "pool.json"
    subprocess.run(
        [str(processes.API_PYTHON), "-m", "bench.seed", "--database-url", database_url, "--pool", str(pool_path),
         "--counts", "track=5,return=6,cancel=4,address=3,refund=2"],
        cwd=processes.ROOT, env=processes.base_env(), check=True, capture_output=True,
    )
    return database_url, json.loads(pool_path.read_text()), folder


def test_the_seed_writes_one_distinct_customer_per_session(seeded) -> None:
    _, pool, _ = seeded
    assert validate_pool(pool) == []
    assert pool["counts"] == {"track": 5, "return": 6, "cancel": 4, "address": 3, "refund": 2}
    emails = [e["email"] for entries in pool["sessions"].values() for e in entries]
    assert len(emails) == len(set(emails)) == 20


def test_seeded_emails_are_not_read_as_order_numbers(seeded) -> None:
    # the assistant's order-number regex (data/nlu/entities.yml) must not find a number in an email
    entities = (processes.ROOT / "data/nlu/entities.yml").read_text()
    pattern = re.search(r"regex: order_id\s+examples: \|\s+- (.+)", entities).group(1).strip()
    for entries in seeded[1]["sessions"].values():
        for entry in entries:
            assert not re.search(pattern, entry["email"]), entry["email"]
            assert re.fullmatch(pattern, entry["order_id"])


def test_the_pool_validator_finds_broken_pools() -> None:
    good = {"sessions": {"cancel": [dict(ENTRY, order_id="3000001"), dict(ENTRY, order_id="3000002",
                                                                            email="bench-c000043@example.com")]}}
    assert validate_pool(good) == []
    assert validate_pool({"sessions": {"cancel": [ENTRY, dict(ENTRY)]}})  # same order and customer twice
    assert validate_pool({"sessions": {"cancel": [dict(ENTRY, order_id="12")]}})
    assert validate_pool({"sessions": {"cancel": [dict(ENTRY, email="jane@example.com")]}})
    assert validate_pool({"sessions": {"track": [{"order_id": "1000001"}]}})  # fields missing
    assert validate_pool({}) == ["no 'sessions' object"]


def test_the_commerce_api_serves_each_pool_in_the_state_its_scenario_needs(seeded) -> None:
    database_url, pool, folder = seeded
    port = processes.free_port()
    env = processes.base_env(COMMERCE_API_PORT=str(port), COMMERCE_DATABASE_URL=database_url,
                             COMMERCE_API_TOKEN=processes.DEMO_TOKEN, COMMERCE_SEED_ON_START="never")
    url = f"http://127.0.0.1:{port}"
    with processes.running([str(processes.API_PYTHON), "-m", "commerce_api"], env, f"{url}/health",
                           folder / "commerce-api.log"):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {processes.DEMO_TOKEN}"

        def order(entry):
            verified = api.post(f"{url}/orders/{entry['order_id']}/verify", json={"email": entry["email"]}, timeout=5)
            assert verified.json() == {"verified": True, "customer_id": entry["customer_id"]}
            return api.get(f"{url}/orders/{entry['order_id']}", timeout=5).json()

        for entry in pool["sessions"]["track"]:
            assert order(entry)["status"] == "shipped"
            tracking = api.get(f"{url}/track/{entry['tracking_number']}", timeout=5).json()
            assert tracking["carrier"] == entry["carrier"] and tracking["estimated_delivery"]
        for entry in pool["sessions"]["return"]:
            body = order(entry)
            assert body["status"] == "delivered"
            for item in body["items"]:
                eligibility = api.get(f"{url}/orders/{entry['order_id']}/items/{item['item_id']}/return-eligibility",
                                      timeout=5).json()
                assert eligibility["eligible"] is True, eligibility
        for name in ("cancel", "address"):
            for entry in pool["sessions"][name]:
                assert order(entry)["status"] == "processing"
        for entry in pool["sessions"]["refund"]:
            body = order(entry)
            assert body["status"] == "cancelled" and body["refund"]["status"] == "refunded"
        # the demo data is still there, and another customer's email does not verify
        assert api.get(f"{url}/orders/4521", timeout=5).status_code == 200
        first, second = pool["sessions"]["cancel"][:2]
        wrong = api.post(f"{url}/orders/{first['order_id']}/verify", json={"email": second["email"]}, timeout=5)
        assert wrong.json()["verified"] is False


# ------------------------------------------------------------------ the soak's judgement

def _soak_files(tmp_path: Path, redis_mb, rasa_mb, latency_ms, minutes: float = 20.0) -> dict:
    """A soak's result files: one turn and one resource sample a second, in a steady window."""
    t0 = 1_700_000_000.0
    settle, seconds = 90.0, minutes * 60
    stats.write_samples(tmp_path / "soak.turns.csv.gz",
                        [stats.Sample(t0 + settle + i, "track/open", latency_ms(i), "") for i in range(int(seconds))])
    samples = [{"t": t0 + settle + i, "services": {"redis": {"rss_mb": redis_mb(i)}, "rasa": {"rss_mb": rasa_mb(i)}}}
               for i in range(int(seconds) + 1)]
    with gzip.open(tmp_path / "soak.resources.json.gz", "wt") as out:
        json.dump(samples, out)
    return {"started_at": datetime.fromtimestamp(t0, timezone.utc).isoformat(),
            "steady": {"window_s": [settle, settle + seconds]}, "overall": {"failed": 0}, "load": {"users": 10},
            "files": {"raw_turns": "soak.turns.csv.gz"}, "resource_samples_file": "soak.resources.json.gz"}


def _soak_args(tmp_path: Path, ttl: int = 300) -> argparse.Namespace:
    return argparse.Namespace(results=tmp_path, soak_minutes=20.0, soak_tracker_ttl=ttl)


def test_the_soak_judges_redis_after_its_conversations_start_to_expire(tmp_path: Path) -> None:
    # Redis fills for one TTL (300 s), then holds steady: that is retention, not a leak.
    result = _soak_files(tmp_path, redis_mb=lambda i: 30 + 0.4 * min(i, 330), rasa_mb=lambda i: 2400.0,
                         latency_ms=lambda i: 100.0)
    report = soak_report(_soak_args(tmp_path), result)
    assert report["rss"]["redis"]["warm_after_s"] == 360 and report["rss"]["rasa"]["warm_after_s"] == 60
    assert report["rss"]["redis"]["growth_pct"] == 0.0
    assert report["targets"] == {"rss_growth_under_10pct": True, "p95_drift_under_10pct": True,
                                 "zero_failed_turns": True}


def test_the_soak_fails_growth_that_never_stops_and_latency_that_drifts(tmp_path: Path) -> None:
    result = _soak_files(tmp_path, redis_mb=lambda i: 30.0, rasa_mb=lambda i: 2400 + 0.5 * i,
                         latency_ms=lambda i: 100.0 + i / 10)
    report = soak_report(_soak_args(tmp_path), result)
    assert report["rss"]["rasa"]["growth_pct"] > 10 and report["p95_drift_pct"] > 10
    assert report["targets"]["rss_growth_under_10pct"] is False
    assert report["targets"]["p95_drift_under_10pct"] is False
