"""The runner's pieces without a layout: the CPU calibration, the probe, what a results file records.

A stand-in layout and a recorded run (conftest.py) take the place of the production layout and
Locust, so the orchestration, the analysis and the files are checked in seconds; plots need
matplotlib (.venv/bench) and are left out.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import machine, report
from bench import run as runner
from bench.analysis import analyse, compare_with
from bench.configs import CONFIGS
from bench.load import main_plan, probe_plan
from tests import processes

MODEL = CONFIGS["assistant"]


class StandInLayout:
    command = "stand-in layout"

    def __init__(self) -> None:
        self.ups, self.downs = 0, 0

    def up(self, model: Path):
        self.ups += 1
        return {"balancer_url": "http://127.0.0.1:1", "processes": {"rasa": [1, 2]}}

    def down(self, quiet: bool = False) -> None:
        self.downs += 1


# ------------------------------------------------------------------ the CPU calibration

def test_the_calibration_times_a_fixed_single_thread_workload() -> None:
    assert machine.CALIBRATION_ADDITIONS == 10_000_000 and machine.CALIBRATION_REPEATS == 3
    calibration = machine.cpu_calibration(additions=200_000, repeats=2)
    assert calibration["additions"] == 200_000 and len(calibration["wall_s"]) == len(calibration["cpu_s"]) == 2
    assert 0 < calibration["best_s"] == min(calibration["wall_s"]) <= calibration["median_s"]
    assert 0 < calibration["cpu_share"] <= 1.05 and calibration["million_additions_per_s"] > 0
    assert "pure-Python" in calibration["workload"] and len(calibration["load_average"]) == 3


def test_every_run_records_its_calibration_and_the_summary_lists_them(bench_args, recorded, capsys) -> None:
    args = bench_args("run")
    args.results.mkdir(parents=True)
    result, _ = analyse(args, "layout", {}, main_plan(args, "assistant"), "assistant", MODEL, recorded)
    assert result["calibration"] == recorded.calibration
    report.write_json(args.results / "assistant.json", result)
    document = report.summary(args)
    assert document["configs"]["assistant"]["calibration_s"] == {"run": 0.5}
    assert "| CPU calibration (10 M Python additions, best of 3; lower is a faster machine) | 0.5 s (run) |" in (
        args.results / "summary.md").read_text()
    assert json.loads((args.results / "summary.json").read_text())["configs"]["assistant"]["calibration_s"]["run"]
    assert "CPU calibration" in capsys.readouterr().out


# ------------------------------------------------------------------ analysis

def test_the_steady_state_starts_once_every_user_is_in_and_has_thought_once(bench_args, recorded) -> None:
    args = bench_args("run", "--users", "10")
    result, charts = analyse(args, "layout", {}, main_plan(args, "assistant"), "assistant", MODEL, recorded)
    assert result["steady"]["window_s"] == [40.0, 200.0]  # spawned at 10 s, then the 30-s think-time maximum
    assert result["steady"]["turns"] == 160 and result["steady"]["failed"] == 16
    assert result["overall"]["failed"] == 20 and result["targets"]["zero_failed_turns"] is False
    # the load generator's CPU is reported but not counted as the assistant's
    assert result["machine_limit"]["cpu_ms_per_turn_load_generator"] < result["machine_limit"][
        "cpu_ms_per_turn_all_services"] == result["resources"]["services"]["rasa"]["cpu_ms_per_turn"]
    assert result["files"] == {"raw_turns": "assistant.turns.csv.gz", "plot": "assistant.png"}
    assert charts.timeline_file == "assistant.png" and charts.steps_file is None


# ------------------------------------------------------------------ the probe

def test_the_probe_fits_in_five_minutes_at_the_main_runs_load(bench_args) -> None:
    args = bench_args("probe")
    plan, main = probe_plan(args, "probe"), main_plan(args, "assistant")
    assert (plan.kind, plan.users, plan.think) == ("probe", main.users, main.think)
    # Locust's part; the layout's start (about a minute and a half), seeding and warm-up take the rest
    assert plan.run_time <= 150 and plan.run_time + 120 <= runner.PROBE_BUDGET_S
    assert bench_args("probe", "--probe-seconds", "60").probe_seconds == 60


def test_the_probe_knobs_are_bench_variables(monkeypatch, bench_args) -> None:
    monkeypatch.setenv("BENCH_PROBE_USERS", "50")
    monkeypatch.setenv("BENCH_PROBE_SECONDS", "45")
    args = bench_args("probe")
    assert (args.probe_users, args.probe_seconds) == (50, 45.0)


def test_the_probe_runs_the_assistant_once_and_writes_probe_json(monkeypatch, bench_args, recorded, capsys) -> None:
    args = bench_args("probe", "--probe-users", "10", "--configs", "default-pipeline")
    args.results.mkdir(parents=True)
    layout, driven = StandInLayout(), []

    def drive(args, services, plan, work):
        driven.append(plan)
        return recorded

    monkeypatch.setattr(runner, "make_layout", lambda args: layout)
    monkeypatch.setattr(runner, "model_for", lambda config: CONFIGS[config])
    monkeypatch.setattr(runner, "drive", drive)
    monkeypatch.setattr(report, "write_run", lambda results, result, *rest: report.write_json(
        results / f"{result['label']}.json", result))
    runner.probe(args)
    assert [(p.label, p.kind, p.users) for p in driven] == [("probe", "probe", 10)]
    assert (layout.ups, layout.downs) == (1, 1)
    written = json.loads((args.results / "probe.json").read_text())
    assert written["config"] == "assistant" and written["kind"] == "probe"  # the assistant only, whatever BENCH_CONFIGS
    assert written["calibration"]["best_s"] == 0.5
    assert written["probe"]["comparison"]["reference"] is None  # no full run in this results folder
    printed = capsys.readouterr().out
    assert report.PROBE_TITLE in printed and "bench/results/probe.json" in printed
    assert not (args.results / "summary.md").exists()  # a probe never replaces the benchmark's summary


def test_a_probe_is_set_beside_the_last_full_run_at_its_machine_speed(bench_args, recorded) -> None:
    args = bench_args("probe", "--probe-users", "10")
    probe, _ = analyse(args, "layout", {}, probe_plan(args, "probe"), "assistant", MODEL, recorded)
    full, _ = analyse(args, "layout", {}, main_plan(args, "assistant"), "assistant", MODEL, recorded)
    full["calibration"] = dict(full["calibration"], best_s=0.25)  # the full run's machine was twice as fast
    comparison = compare_with(probe, full, "assistant.json")
    cpu = comparison["this"]["cpu_ms_per_turn"]
    assert comparison["cpu_ms_per_turn_at_reference_speed"] == pytest.approx(cpu / 2, abs=0.01)
    del full["calibration"]  # results files older than the calibration
    assert compare_with(probe, full, "assistant.json")["cpu_ms_per_turn_at_reference_speed"] is None
    probe["probe"] = {"comparison": comparison}
    text = report.probe_markdown(probe)
    assert text.startswith(f"## {report.PROBE_TITLE}") and "last full run (`assistant.json`" in text
    assert "| CPU calibration (best of 3) | 0.5 s | 0.25 s |" in text


def test_make_bench_probe_runs_the_probe() -> None:
    planned = subprocess.run(["make", "-n", "bench-probe"], cwd=processes.ROOT, capture_output=True, text=True)
    assert planned.returncode == 0, planned.stderr
    assert ".venv/bench/bin/python -m bench.run probe" in planned.stdout


def test_compare_puts_two_committed_runs_side_by_side() -> None:
    from bench.compare import markdown

    results = processes.ROOT / "bench" / "results"
    before = json.loads((results / "assistant.json").read_text())
    after = json.loads((results / "default-pipeline.json").read_text())
    text = markdown("side by side", before, after)
    cpu_before = before["machine_limit"]["cpu_ms_per_turn_all_services"]
    cpu_after = after["machine_limit"]["cpu_ms_per_turn_all_services"]
    assert (f"| CPU-ms per turn, all services | {cpu_before} | {cpu_after} | "
            f"{cpu_after / cpu_before:.2f}× |") in text
    rasa = [line for line in text.splitlines() if line.startswith("| CPU-ms per turn, rasa |")]
    assert len(rasa) == 1 and f"| {before['resources']['services']['rasa']['cpu_ms_per_turn']} |" in rasa[0]
