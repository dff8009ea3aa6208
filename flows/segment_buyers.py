"""segment_buyers (nightly): every buyer's features (order counts, recency, order value, categories, returns,
inbox complaints ...) computed from the warehouse with pandas, the configured `[[segments]]` evaluated over them,
the primary segment and the features written to dim_buyers and membership history to fct_buyer_segments.

Re-running with the same data changes nothing; a dry run computes and reports without writing.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from sellerreach.clock import shared_clock
from sellerreach.settings import load_settings
from tasks.warehouse import compute_segments, prepare_warehouse


@flow(name="segment_buyers")
def segment_buyers(config_path: str | None = None, dry_run: bool = False) -> list[dict]:
    """Segment every buyer; returns one row per segment: members, primary, entered and left since the last run."""
    settings = load_settings(config_path)
    if not settings.segments:
        get_run_logger().warning(
            "No [[segments]] configured: features are computed, no buyer is in a segment "
            "(see `sellerreach init` for an example)"
        )
    prepare_warehouse(settings.warehouse_url)
    now = shared_clock(settings.time_scale).now()
    rows = compute_segments(settings.warehouse_url, settings.segments, now, dry_run)
    create_table_artifact(
        key="segment-buyers", table=rows, description="Segment sizes and moves since the last run"
    )
    return rows
