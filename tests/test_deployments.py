"""`prefect.yaml` is what Prefect accepts, and its schedules are the ones the issue asks for."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from cronsim import CronSim
from prefect import Flow
from prefect.cli.deploy._models import PrefectYamlModel
from prefect.flows import load_flow_from_entrypoint

from core.config import ScheduleConfig, load_config
from flows.deployments import deployments

ROOT = Path(__file__).resolve().parents[1]
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def by_entry(doc: dict) -> dict[str, dict]:
    return {d["entrypoint"]: d for d in doc["deployments"]}


def fires(crons: list[str], start: datetime, end: datetime) -> list[datetime]:
    out: set[datetime] = set()
    for c in crons:
        for t in CronSim(c, start - timedelta(seconds=1)):
            if t > end:
                break
            out.add(t)
    return sorted(out)


def test_prefect_accepts_the_file(doc):
    model = PrefectYamlModel.model_validate(doc)
    assert len(model.deployments) == 3
    assert "definitions" in doc and "&tz" in (ROOT / "prefect.yaml").read_text()


def test_entry_points_are_flows_in_flows_and_parameters_match(doc):
    for d in doc["deployments"]:
        path, func = d["entrypoint"].split(":")
        assert path.startswith("flows/") and (ROOT / path).is_file()
        flow = load_flow_from_entrypoint(str(ROOT / path) + ":" + func)
        assert isinstance(flow, Flow)
        sig = inspect.signature(flow.fn)
        required = {n for n, p in sig.parameters.items() if p.default is inspect.Parameter.empty}
        assert set(d["parameters"]) <= set(sig.parameters), d["entrypoint"]
        assert required <= set(d["parameters"]), d["entrypoint"]
        assert d["parameters"]["config_path"]
        assert d["work_pool"]["name"] == "edumon"


def test_every_schedule_is_cron_in_amsterdam(doc):
    for d in doc["deployments"]:
        assert d["schedules"], d["entrypoint"]
        for s in d["schedules"]:
            assert s["timezone"] == "Europe/Amsterdam"
            CronSim(s["cron"], datetime.now(AMS))  # raises on a bad expression


def test_cycle_every_15_minutes_from_6_to_23_never_overlapping(doc):
    d = by_entry(doc)["flows/monitor.py:monitor_cycle"]
    day = datetime(2026, 3, 29, tzinfo=AMS)  # the day summer time starts
    times = fires([s["cron"] for s in d["schedules"]], day, day + timedelta(hours=23, minutes=59))
    assert times[0].strftime("%H:%M") == "06:00" and times[-1].strftime("%H:%M") == "23:00"
    assert len(times) == 17 * 4 + 1
    assert all(b - a == timedelta(minutes=15) for a, b in zip(times, times[1:]))
    assert d["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_digest_at_0730_on_weekdays_and_retention_nightly(doc):
    dig = by_entry(doc)["flows/digest.py:daily_digest"]
    ret = by_entry(doc)["flows/retention.py:retention"]
    monday = datetime(2026, 11, 23, tzinfo=AMS)
    week = fires([s["cron"] for s in dig["schedules"]], monday, monday + timedelta(days=7))
    assert [t.strftime("%a %H:%M") for t in week] == [f"{d} 07:30" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    nights = fires([s["cron"] for s in ret["schedules"]], monday, monday + timedelta(days=7))
    assert len(nights) == 7 and all(t.hour < 6 for t in nights)


def test_yaml_serve_and_config_defaults_agree(doc, tmp_path):
    defaults = ScheduleConfig()
    entries = by_entry(doc)
    assert [s["cron"] for s in entries["flows/monitor.py:monitor_cycle"]["schedules"]] == defaults.cycle_cron
    assert [s["cron"] for s in entries["flows/digest.py:daily_digest"]["schedules"]] == [defaults.digest_cron]
    assert [s["cron"] for s in entries["flows/retention.py:retention"]["schedules"]] == [defaults.retention_cron]
    example = load_config(ROOT / "config" / "example.toml")
    assert example.schedule == defaults
    served = deployments(example, ROOT / "config" / "example.toml")
    assert [(d.flow_name, d.name) for d in served] == [
        ("monitor-cycle", "edumon"),
        ("daily-digest", "edumon"),
        ("retention", "edumon"),
    ]
    assert {d.flow_name for d in served} == {load_flow_from_entrypoint(str(ROOT / e)).name for e in entries}
    cycle = served[0]
    assert [s.schedule.cron for s in cycle.schedules] == defaults.cycle_cron
    assert all(s.schedule.timezone == "Europe/Amsterdam" for d in served for s in d.schedules)
    assert cycle.concurrency_limit == 1 and cycle.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert cycle.parameters == {"config_path": str((ROOT / "config" / "example.toml").resolve())}
