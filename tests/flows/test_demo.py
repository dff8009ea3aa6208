"""The demo is the production flows against the stand-in: run it small and check what it reports."""

from __future__ import annotations

import pytest

from sellerreach.demo import CLIENT_ID_ENV, CLIENT_SECRET_ENV, REFRESH_TOKEN_ENV, SES_KEY_ENV, run_demo

pytestmark = pytest.mark.flow


def test_demo_lands_every_order_and_rides_out_injected_faults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SELLERREACH_WAREHOUSE_URL", raising=False)
    for name in (CLIENT_ID_ENV, CLIENT_SECRET_ENV, *REFRESH_TOKEN_ENV.values(), *SES_KEY_ENV):
        monkeypatch.delenv(name, raising=False)  # restored after the test, whatever the demo sets

    report = run_demo(time_scale=600, hourly_syncs=1, orders_per_day=5)

    assert (tmp_path / ".sellerreach" / "warehouse.db").is_file()
    assert len(report.comparison) == 6
    assert all(row["stand_in_orders"] > 0 for row in report.comparison)
    assert all(row["missing_or_stale"] == 0 and row["unknown"] == 0 for row in report.comparison)
    assert report.throttled == 3  # the injected 429s, and none from pacing
    assert report.retries >= 5  # 3 throttled + 2 failed answers, all retried
    assert {a["auth_status"] for a in report.status.accounts} == {"authorised"}
    assert report.status.row_counts["fct_orders"] == sum(row["warehouse_orders"] for row in report.comparison)
    # the inbox part: relay mail for those orders, two message syncs, the second reading only the new mail
    first, second = report.inbox_runs
    assert first["delivered"] > 0 and first["fetched"] == first["stored"] == first["delivered"]
    assert second["fetched"] == second["stored"] == second["delivered"]
    assert first["quarantined"] == second["quarantined"] == 0
    assert {row["account_id"] for row in report.inbox} == {"acme-na", "acme-eu"}
    threads = sum(row["threads"] for row in report.inbox)
    assert threads > 0 and sum(row["assigned"] for row in report.inbox) == threads  # the catch-all rule
    assert report.status.row_counts["rpt_inbox_daily"] > 0
    assert report.status.row_counts["dim_templates"] == 21  # lint_templates approved the shipped templates
    # segments: every buyer counted once by primary segment, and a first run enters everyone it selects
    by_segment = {row["segment"]: row for row in report.segments}
    assert set(by_segment) == {"at_risk", "business", "repeat", "high_value", "new", "(none)"}
    assert sum(row["primary"] for row in report.segments) == report.status.row_counts["dim_buyers"]
    assert all(row["entered"] == row["members"] and row["left"] == 0 for row in report.segments[:-1])
    assert report.status.row_counts["fct_buyer_segments"] == sum(row["members"] for row in report.segments[:-1])
    # replies: the agent's non-compliant draft refused, three canned replies sent, the third flagged
    refused, *sent = report.replies
    assert refused["result"].startswith("refused: ") and "external-link" in refused["result"]
    assert len(sent) == 3 and all(r["result"].startswith("sent as <") for r in sent)
    assert ["low quality" in r["result"] for r in sent] == [False, False, True]
    assert report.ses_sent == report.status.row_counts["fct_replies"] >= 3  # auto-replies and the agent's
    assert report.ses_events == 2 * report.ses_sent  # Send and Delivery for each
