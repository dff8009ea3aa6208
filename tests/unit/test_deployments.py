"""prefect.yaml names real flows with sane schedules, and the serve entry point builds from it."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_points_at_a_flow_with_a_schedule():
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = {}
    for deployment in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        names[deployment["name"]] = flow.name
        assert deployment["schedules"], deployment["name"]
        assert deployment["work_pool"]["name"] == "sellerreach"
    assert names == {
        "refresh-tokens": "refresh_tokens",
        "sync-orders": "sync_orders",
        "sync-messages": "sync_messages",
        "lint-templates": "lint_templates",
        "segment-buyers": "segment_buyers",
    }


def test_serve_builds_one_runner_per_deployment_with_its_schedule():
    import importlib.util

    spec = importlib.util.spec_from_file_location("serve", ROOT / "deployments" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    runners = {r.name: r for r in serve.served_deployments()}
    assert set(runners) == {"refresh-tokens", "sync-orders", "sync-messages", "lint-templates", "segment-buyers"}
    assert runners["lint-templates"].schedules[0].schedule.cron == "30 2 * * *"  # nightly
    assert runners["refresh-tokens"].schedules[0].schedule.interval.total_seconds() == 1800
    assert runners["sync-orders"].schedules[0].schedule.cron == "7 * * * *"
    assert runners["sync-orders"].schedules[0].schedule.timezone == "UTC"
    assert runners["sync-orders"].concurrency_limit == 1  # overlapping hourly syncs would share a quota
    assert runners["sync-messages"].schedules[0].schedule.interval.total_seconds() == 900
    assert (
        runners["sync-messages"].concurrency_limit == 1
    )  # two syncs of one folder would race for its cursor
