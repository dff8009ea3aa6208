"""Window arithmetic: live windows leave no gap between runs; backfills are bounded, contiguous, complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerreach.amazon.streams import Window, backfill_windows, live_window

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LAG = timedelta(minutes=2)
OVERLAP = timedelta(minutes=15)
LOOKBACK = timedelta(days=30)

moments = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)).map(lambda d: T0 + d)


def test_first_run_looks_back_and_stops_before_the_lag():
    run = datetime(2026, 11, 20, 10, 0, 30, 500_000, tzinfo=UTC)
    window = live_window(None, run, overlap=OVERLAP, lag=LAG, lookback=LOOKBACK)
    assert window == Window(
        datetime(2026, 10, 21, 10, 0, 30, tzinfo=UTC), datetime(2026, 11, 20, 9, 58, 30, tzinfo=UTC)
    )


def test_later_run_starts_one_overlap_before_the_mark():
    mark = datetime(2026, 11, 20, 9, 58, 30, tzinfo=UTC)
    window = live_window(
        mark, mark + timedelta(hours=1, minutes=2), overlap=OVERLAP, lag=LAG, lookback=LOOKBACK
    )
    assert window == Window(mark - OVERLAP, mark + timedelta(hours=1))


def test_nothing_to_read_when_the_run_comes_too_soon():
    mark = datetime(2026, 11, 20, 9, 58, 30, tzinfo=UTC)
    assert live_window(mark, mark + LAG - OVERLAP, overlap=OVERLAP, lag=LAG, lookback=LOOKBACK) is None


@settings(max_examples=200, deadline=None)
@given(
    first=moments,
    gaps=st.lists(
        st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=3)), min_size=1, max_size=12
    ),
    overlap_minutes=st.integers(min_value=0, max_value=120),
)
def test_consecutive_live_runs_cover_time_without_gaps(first, gaps, overlap_minutes):
    overlap = timedelta(minutes=overlap_minutes)
    mark = None
    covered_until = None
    run = first
    for gap in [timedelta(0), *gaps]:
        run = run + gap
        window = live_window(mark, run, overlap=overlap, lag=LAG, lookback=LOOKBACK)
        if window is None:
            continue
        assert window.end <= run - LAG  # Amazon: never closer than the lag to now
        assert window.start <= window.end
        if covered_until is not None:
            assert window.start <= covered_until  # no gap after what was read before
            assert covered_until - window.start <= overlap + timedelta(
                seconds=1
            )  # and no more than the overlap
        mark = window.end if mark is None else max(mark, window.end)
        covered_until = mark


@settings(max_examples=200, deadline=None)
@given(
    since=moments,
    length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=40)),
    chunk_hours=st.integers(min_value=1, max_value=24 * 7),
    latest_shift=st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=10)),
)
def test_backfill_chunks_are_bounded_contiguous_and_complete(since, length, chunk_hours, latest_shift):
    until = since + length
    latest = until + latest_shift
    chunk = timedelta(hours=chunk_hours)
    windows = backfill_windows(since, until, chunk=chunk, latest_allowed=latest)
    end = min(until, latest).replace(microsecond=0)
    start = since.replace(microsecond=0)
    if start >= end:
        assert windows == []
        return
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.end == after.start
    assert all(w.end - w.start <= chunk for w in windows)


def test_backfill_refuses_a_zero_chunk():
    with pytest.raises(ValueError):
        backfill_windows(
            T0, T0 + timedelta(days=1), chunk=timedelta(0), latest_allowed=T0 + timedelta(days=2)
        )


def test_a_window_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        Window(T0, T0 - timedelta(seconds=1))
