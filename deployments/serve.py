"""Run every sellerreach deployment on this machine, on its schedule, without a work pool.

    python deployments/serve.py        # or: PREFECT_API_URL=http://prefect:4200/api python deployments/serve.py

The schedules are read from prefect.yaml, so the served deployments and the deployed ones never drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from prefect import serve
from prefect.flows import load_flow_from_entrypoint
from prefect.schedules import Cron, Interval

ROOT = Path(__file__).resolve().parents[1]


def served_deployments(prefect_yaml: Path = ROOT / "prefect.yaml") -> list:
    """A `RunnerDeployment` for every deployment in prefect.yaml, with its schedules and parameters."""
    spec = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    runners = []
    for deployment in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        runners.append(
            flow.to_deployment(
                name=deployment["name"],
                description=deployment.get("description"),
                tags=deployment.get("tags"),
                parameters=deployment.get("parameters") or {},
                schedules=[_schedule(s) for s in deployment.get("schedules") or []],
                concurrency_limit=deployment.get("concurrency_limit"),
            )
        )
    return runners


def _schedule(spec: dict):
    if "cron" in spec:
        return Cron(spec["cron"], timezone=spec.get("timezone"))
    return Interval(spec["interval"], timezone=spec.get("timezone"))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    serve(*served_deployments())
