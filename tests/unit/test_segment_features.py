"""compute_features and its per-buyer reference: a small warehouse with expectations per buyer and feature, window
edges, the result's shape and dtypes, empty inputs, and a hypothesis property (vectorised == loop)."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sellerreach.segments import parse_rule
from sellerreach.segments.features import FEATURE_KINDS, compute_features, features_per_buyer_loop
from sellerreach.segments.membership import CATEGORICAL

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NAN = float("nan")
IMPLEMENTATIONS = pytest.mark.parametrize(
    "implementation", [compute_features, features_per_buyer_loop], ids=["vectorised", "loop"]
)
Implementation = Callable[..., pd.DataFrame]

BUYER_COLUMNS = ["buyer_id", "is_business_buyer", "preferred_language"]
ORDER_COLUMNS = [
    "amazon_order_id",
    "buyer_id",
    "purchased_at",
    "order_total_cents",
    "currency",
    "is_cancelled",
    "replaces_order_id",
]
ITEM_COLUMNS = ["amazon_order_id", "asin", "category", "quantity"]
THREAD_COLUMNS = ["buyer_id", "status", "tags"]
CONTACT_COLUMNS = ["buyer_id", "channel"]


def buyer_id(name: str) -> str:
    """dim_buyers.buyer_id: a stable hash of the buyer's relay address."""
    return hashlib.sha256(f"{name}@marketplace.amazon.de".encode()).hexdigest()


def ago(days: float, hours: float = 0, microseconds: int = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, microseconds=microseconds)


# Frames as the segment job reads them from the warehouse (pandas 3: text as "str", timestamps in microseconds).
def buyers_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=BUYER_COLUMNS)
    return frame.astype({"buyer_id": "str", "is_business_buyer": bool, "preferred_language": "str"})


def orders_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    frame["purchased_at"] = pd.to_datetime(frame["purchased_at"], utc=True).astype("datetime64[us, UTC]")
    types = {"buyer_id": "str", "order_total_cents": "Int64", "currency": "str", "is_cancelled": bool}
    return frame.astype({**types, "amazon_order_id": "str", "replaces_order_id": "str"})


def items_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    return frame.astype({"amazon_order_id": "str", "asin": "str", "category": "str", "quantity": "int64"})


def threads_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=THREAD_COLUMNS).astype({"buyer_id": "str", "status": "str"})
    return frame.astype({"tags": object})


def contacted_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CONTACT_COLUMNS).astype({"buyer_id": "str", "channel": "str"})


NAMES = ["anna", "ben", "chloe", "dieter", "emma", "farid", "giulia", "hiro", "ines", "jack", "kofi", "lena"]
B = {name: buyer_id(name) for name in NAMES}
GONE = buyer_id("erased")  # a buyer erased from dim_buyers whose orders remain

BUYERS = buyers_frame(
    [
        (B["anna"], False, "de"),
        (B["ben"], False, "en"),
        (B["chloe"], False, "fr"),
        (B["dieter"], True, "de"),
        (B["emma"], False, "en"),
        (B["farid"], False, "en"),
        (B["giulia"], False, "it"),
        (B["hiro"], False, "ja"),
        (B["ines"], False, "es"),
        (B["jack"], False, None),
        (B["kofi"], False, "en"),
        (B["lena"], False, "de"),
    ]
)
ORDERS = orders_frame(
    [
        # anna: a repeat buyer of kitchen things, one order older than a year
        ("302-1000001-0000001", B["anna"], ago(5), 2499, "EUR", False, None),
        ("302-1000001-0000002", B["anna"], ago(40), 4999, "EUR", False, None),
        ("302-1000001-0000003", B["anna"], ago(200), 1999, "EUR", False, None),
        ("302-1000001-0000004", B["anna"], ago(500), 3499, "EUR", False, None),
        # ben: two orders on amazon.co.uk, one on amazon.de
        ("203-2000002-0000001", B["ben"], ago(10), 1500, "GBP", False, None),
        ("203-2000002-0000002", B["ben"], ago(100), 2500, "GBP", False, None),
        ("302-2000002-0000003", B["ben"], ago(20), 9900, "EUR", False, None),
        # chloe: one EUR, one GBP order; the tie goes to the most recent
        ("171-3000003-0000001", B["chloe"], ago(50), 3000, "EUR", False, None),
        ("203-3000003-0000002", B["chloe"], ago(15, hours=6), 2000, "GBP", False, None),
        # dieter: a business buyer with large office orders
        ("302-4000004-0000001", B["dieter"], ago(2), 125000, "EUR", False, None),
        ("302-4000004-0000002", B["dieter"], ago(33), 98000, "EUR", False, None),
        # emma: a cancelled order and one still pending (no total yet)
        ("026-5000005-0000001", B["emma"], ago(3), 1800, "EUR", True, None),
        ("026-5000005-0000002", B["emma"], ago(8), None, "EUR", False, None),
        ("026-5000005-0000003", B["emma"], ago(60), 2200, "EUR", False, None),
        # farid: a lamp and its free replacement
        ("203-6000006-0000001", B["farid"], ago(45), 3999, "GBP", False, None),
        ("203-6000006-0000002", B["farid"], ago(38), 0, "GBP", False, "203-6000006-0000001"),
        # hiro: yen have no minor unit
        ("250-8000008-0000001", B["hiro"], ago(12), 4500, "JPY", False, None),
        # ines: orders on the window edges
        ("402-9000009-0000001", B["ines"], ago(30), 1000, "EUR", False, None),
        ("402-9000009-0000002", B["ines"], ago(90), 1000, "EUR", False, None),
        ("402-9000009-0000003", B["ines"], ago(365), 1000, "EUR", False, None),
        ("402-9000009-0000004", B["ines"], ago(29, hours=23), 1000, "EUR", False, None),
        # kofi: cancelled everything
        ("302-1100011-0000001", B["kofi"], ago(4), 2500, "EUR", True, None),
        ("302-1100011-0000002", B["kofi"], ago(6), 1500, "EUR", True, None),
        # lena: one order, one line without a known category
        ("302-1200012-0000001", B["lena"], ago(70), 5900, "EUR", False, None),
        # FBA orders come without a buyer; an erased buyer's order stays in fct_orders
        ("302-7777777-0000001", None, ago(1), 999, "EUR", False, None),
        ("302-7777777-0000002", None, ago(7), 1999, "GBP", False, None),
        ("302-8888888-0000001", GONE, ago(9), 4999, "EUR", False, None),
    ]
)
ITEMS = items_frame(
    [
        ("302-1000001-0000001", "B0KITCHEN1", "kitchen", 2),
        ("302-1000001-0000001", "B0GARDEN02", "garden", 0),  # a cancelled line: quantity 0
        ("302-1000001-0000002", "B0KITCHEN2", "kitchen", 1),
        ("302-1000001-0000002", "B0TOYS0001", "toys", 1),
        ("302-1000001-0000003", "B0KITCHEN1", "kitchen", 1),
        ("302-1000001-0000004", "B0TOYS0001", "toys", 1),
        ("203-2000002-0000001", "B0BOOK0001", "books", 1),
        ("203-2000002-0000002", "B0BOOK0002", "books", 1),
        ("302-2000002-0000003", "B0GARDEN01", "garden", 3),
        ("171-3000003-0000001", "B0TOYS0001", "toys", 1),
        ("203-3000003-0000002", "B0BOOK0001", "books", 1),
        ("302-4000004-0000001", "B0OFFICE01", "office", 40),
        ("302-4000004-0000002", "B0OFFICE02", "office", 25),
        ("302-4000004-0000002", "B0OFFICE01", "office", 10),
        ("026-5000005-0000001", "B0TOYS0001", "toys", 5),
        ("026-5000005-0000002", "B0KITCHEN1", "kitchen", 1),
        ("026-5000005-0000003", "B0KITCHEN2", "kitchen", 1),
        ("203-6000006-0000001", "B0LAMP0001", "lighting", 1),
        ("203-6000006-0000002", "B0LAMP0001", "lighting", 1),
        ("250-8000008-0000001", "B0TEA00001", None, 2),
        ("302-1100011-0000001", "B0TOYS0001", "toys", 1),
        ("302-1200012-0000001", "B0TOYS0001", "toys", 1),
        ("302-1200012-0000001", "B0KITCHEN1", None, 1),
        ("302-7777777-0000001", "B0TOYS0001", "toys", 10),
        ("302-8888888-0000001", "B0TOYS0001", "toys", 10),
        ("302-0000000-0000000", "B0TOYS0001", "toys", 10),  # an order not (yet) in fct_orders
    ]
)
THREADS = threads_frame(
    [
        (B["farid"], "closed", ["refund"]),
        (B["farid"], "open", ["complaint", "shipping"]),
        (B["giulia"], "open", ["question"]),
        (B["hiro"], "closed", ["a-to-z"]),
        (B["hiro"], "answered", ["negative-feedback"]),
        (B["lena"], "open", ["complaint"]),
        (B["lena"], "open", ["complaint", "refund"]),
        (B["lena"], "closed", ["complaint"]),
        (B["lena"], "answered", ["refund"]),
        (B["lena"], "closed", ["negative-feedback", "refund"]),
        (B["anna"], "closed", []),
        (None, "open", ["complaint", "refund"]),  # relay mail not matched to a buyer
        (GONE, "open", ["a-to-z"]),
    ]
)
CONTACTED = contacted_frame(
    [
        (B["anna"], "solicitation"),
        (B["ben"], "relay_email"),
        (B["dieter"], "direct_email"),
        (B["hiro"], "solicitation"),
        (B["hiro"], "relay_email"),
        (B["kofi"], "solicitation"),
        (GONE, "solicitation"),
    ]
)

# A buyer with nothing: what every feature is unless EXPECTED says otherwise.
NOTHING: dict[str, Any] = {
    **{feature: 0 for feature, kind in FEATURE_KINDS.items() if kind == "int"},
    **{feature: NAN for feature, kind in FEATURE_KINDS.items() if kind == "float"},
    **{feature: False for feature, kind in FEATURE_KINDS.items() if kind == "bool"},
    **{feature: "" for feature, kind in FEATURE_KINDS.items() if kind == "str"},
}
EXPECTED: dict[str, dict[str, Any]] = {
    "anna": {
        **dict(orders_30d=1, orders_90d=2, orders_365d=3, orders_total=4, recency_days=5.0),
        **dict(aov_cents=3249.0, lifetime_value_cents=12996, currency="EUR"),
        **dict(top_category="kitchen", top_asin="B0KITCHEN1", distinct_asins=3),
        **dict(preferred_language="de", was_solicited=True),
    },
    "ben": {
        **dict(orders_30d=2, orders_90d=2, orders_365d=3, orders_total=3, recency_days=10.0),
        **dict(aov_cents=2000.0, lifetime_value_cents=4000, currency="GBP"),
        **dict(top_category="garden", top_asin="B0GARDEN01", distinct_asins=3),
        **dict(preferred_language="en", was_invited=True),
    },
    "chloe": {
        **dict(orders_30d=1, orders_90d=2, orders_365d=2, orders_total=2, recency_days=15.25),
        **dict(aov_cents=2000.0, lifetime_value_cents=2000, currency="GBP"),
        **dict(top_category="books", top_asin="B0BOOK0001", distinct_asins=2, preferred_language="fr"),
    },
    "dieter": {
        **dict(orders_30d=1, orders_90d=2, orders_365d=2, orders_total=2, recency_days=2.0),
        **dict(aov_cents=111500.0, lifetime_value_cents=223000, currency="EUR"),
        **dict(top_category="office", top_asin="B0OFFICE01", distinct_asins=2),
        **dict(is_business_buyer=True, preferred_language="de", was_invited=True),
    },
    "emma": {
        **dict(orders_30d=1, orders_90d=2, orders_365d=2, orders_total=2, recency_days=8.0),
        **dict(aov_cents=2200.0, lifetime_value_cents=2200, currency="EUR"),
        **dict(top_category="kitchen", top_asin="B0KITCHEN1", distinct_asins=2),
        **dict(cancellations=1, preferred_language="en"),
    },
    "farid": {
        **dict(orders_30d=0, orders_90d=2, orders_365d=2, orders_total=2, recency_days=38.0),
        **dict(aov_cents=1999.5, lifetime_value_cents=3999, currency="GBP"),
        **dict(top_category="lighting", top_asin="B0LAMP0001", distinct_asins=1),
        **dict(returns=1, refunds=1, open_complaint_threads=1, preferred_language="en"),
    },
    "giulia": {"preferred_language": "it"},
    "hiro": {
        **dict(orders_30d=1, orders_90d=1, orders_365d=1, orders_total=1, recency_days=12.0),
        **dict(aov_cents=4500.0, lifetime_value_cents=4500, currency="JPY"),
        **dict(top_category="", top_asin="B0TEA00001", distinct_asins=1, preferred_language="ja"),
        **dict(was_solicited=True, was_invited=True, has_negative_feedback=True, has_a_to_z_claim=True),
    },
    "ines": {
        **dict(orders_30d=1, orders_90d=2, orders_365d=3, orders_total=4, recency_days=29 + 23 / 24),
        **dict(aov_cents=1000.0, lifetime_value_cents=4000, currency="EUR", preferred_language="es"),
    },
    "jack": {},
    "kofi": {"cancellations": 2, "preferred_language": "en", "was_solicited": True},
    "lena": {
        **dict(orders_30d=0, orders_90d=1, orders_365d=1, orders_total=1, recency_days=70.0),
        **dict(aov_cents=5900.0, lifetime_value_cents=5900, currency="EUR"),
        **dict(top_category="toys", top_asin="B0KITCHEN1", distinct_asins=2, preferred_language="de"),
        **dict(refunds=3, open_complaint_threads=2, has_negative_feedback=True),
    },
}


@functools.cache
def warehouse_features(implementation: Implementation) -> pd.DataFrame:
    return implementation(BUYERS, ORDERS, ITEMS, THREADS, CONTACTED, NOW)


def assert_same_value(actual: Any, expected: Any) -> None:
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(actual, float) and math.isnan(actual)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12)
    elif isinstance(expected, bool):
        assert isinstance(actual, bool | np.bool_) and actual == expected
    elif isinstance(expected, int):
        assert isinstance(actual, int | np.integer) and actual == expected
    else:
        assert isinstance(actual, str) and actual == expected


def test_every_buyer_has_expectations_and_they_name_real_features():
    assert sorted(EXPECTED) == sorted(NAMES)
    assert all(set(expected) <= set(FEATURE_KINDS) for expected in EXPECTED.values())


@IMPLEMENTATIONS
@pytest.mark.parametrize("feature", list(FEATURE_KINDS))
@pytest.mark.parametrize("name", NAMES)
def test_warehouse_buyer_feature(implementation, name, feature):
    expected = {**NOTHING, **EXPECTED[name]}[feature]
    assert_same_value(warehouse_features(implementation).at[B[name], feature], expected)


@IMPLEMENTATIONS
def test_result_is_one_row_per_buyer_in_order_with_the_contract_dtypes(implementation):
    features = warehouse_features(implementation)
    assert features.index.name == "buyer_id"
    assert list(features.index) == list(BUYERS["buyer_id"])
    assert list(features.columns) == list(FEATURE_KINDS)
    dtypes = {"int": "int64", "float": "float64", "bool": "bool", "str": "object"}
    assert {feature: str(dtype) for feature, dtype in features.dtypes.items()} == {
        feature: dtypes[kind] for feature, kind in FEATURE_KINDS.items()
    }
    text = features[[feature for feature, kind in FEATURE_KINDS.items() if kind == "str"]]
    assert not text.isna().any().any()


def test_both_implementations_agree_on_the_warehouse():
    pd.testing.assert_frame_equal(
        warehouse_features(compute_features), warehouse_features(features_per_buyer_loop), check_exact=True
    )


@IMPLEMENTATIONS
def test_features_feed_segment_rules(implementation):
    rule = parse_rule(
        "loyal_eur", 'orders_365d >= 2 and currency == "EUR" and not has_negative_feedback', FEATURE_KINDS
    )
    selected = rule.evaluate(warehouse_features(implementation))
    assert list(selected[selected].index) == [B["anna"], B["dieter"], B["emma"], B["ines"]]
    lapsed = parse_rule("lapsed", "recency_days > 30 or orders_total == 0", FEATURE_KINDS)
    selected = lapsed.evaluate(warehouse_features(implementation))
    assert [name for name in NAMES if selected[B[name]]] == ["farid", "giulia", "jack", "kofi", "lena"]


# An order purchased `before` now: "purchased_at > now - N days", so exactly N days before is outside the window.
WINDOW_EDGES = [
    pytest.param(timedelta(days=30), (0, 1, 1, 1), id="exactly-30-days"),
    pytest.param(timedelta(days=30, microseconds=-1), (1, 1, 1, 1), id="30-days-less-1us"),
    pytest.param(timedelta(days=30, microseconds=1), (0, 1, 1, 1), id="30-days-and-1us"),
    pytest.param(timedelta(days=90), (0, 0, 1, 1), id="exactly-90-days"),
    pytest.param(timedelta(days=90, microseconds=-1), (0, 1, 1, 1), id="90-days-less-1us"),
    pytest.param(timedelta(days=365), (0, 0, 0, 1), id="exactly-365-days"),
    pytest.param(timedelta(days=365, microseconds=-1), (0, 0, 1, 1), id="365-days-less-1us"),
    pytest.param(timedelta(0), (1, 1, 1, 1), id="at-now"),
    pytest.param(timedelta(hours=-1), (1, 1, 1, 1), id="an-hour-after-now"),
]


@IMPLEMENTATIONS
@pytest.mark.parametrize("before, counts", WINDOW_EDGES)
def test_order_windows_edges(implementation, before, counts):
    buyers = buyers_frame([(B["ines"], False, "es")])
    orders = orders_frame([("402-9000009-0000001", B["ines"], NOW - before, 1000, "EUR", False, None)])
    features = implementation(buyers, orders, items_frame([]), threads_frame([]), contacted_frame([]), NOW)
    row = features.loc[B["ines"]]
    assert (row["orders_30d"], row["orders_90d"], row["orders_365d"], row["orders_total"]) == counts
    assert row["recency_days"] == pytest.approx(before / timedelta(days=1), rel=1e-12, abs=1e-12)


@IMPLEMENTATIONS
def test_now_in_another_time_zone_is_the_same_instant(implementation):
    in_tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    features = implementation(BUYERS, ORDERS, ITEMS, THREADS, CONTACTED, in_tokyo)
    pd.testing.assert_frame_equal(features, warehouse_features(implementation))


@IMPLEMENTATIONS
def test_no_orders_items_threads_or_contacts(implementation):
    features = implementation(
        BUYERS, orders_frame([]), items_frame([]), threads_frame([]), contacted_frame([]), NOW
    )
    assert list(features.index) == list(BUYERS["buyer_id"])
    for name in NAMES:
        languages = {"preferred_language": EXPECTED[name].get("preferred_language", "")}
        business = {"is_business_buyer": EXPECTED[name].get("is_business_buyer", False)}
        for feature, expected in {**NOTHING, **languages, **business}.items():
            assert_same_value(features.at[B[name], feature], expected)


@IMPLEMENTATIONS
def test_no_buyers_at_all_is_an_empty_frame_with_the_contract_columns(implementation):
    features = implementation(buyers_frame([]), ORDERS, ITEMS, THREADS, CONTACTED, NOW)
    assert features.empty and list(features.columns) == list(FEATURE_KINDS)
    assert features.dtypes.equals(warehouse_features(implementation).dtypes)


@IMPLEMENTATIONS
def test_a_naive_now_is_refused(implementation):
    with pytest.raises(ValueError, match="timezone-aware"):
        implementation(BUYERS, ORDERS, ITEMS, THREADS, CONTACTED, NOW.replace(tzinfo=None))


@IMPLEMENTATIONS
def test_a_repeated_buyer_is_refused(implementation):
    with pytest.raises(ValueError, match="repeats a buyer_id"):
        implementation(pd.concat([BUYERS, BUYERS.iloc[:1]]), ORDERS, ITEMS, THREADS, CONTACTED, NOW)


def test_a_repeated_order_is_refused():
    orders = pd.concat([ORDERS, ORDERS.iloc[:1]])
    with pytest.raises(ValueError, match="repeat an amazon_order_id"):
        compute_features(BUYERS, orders, ITEMS, THREADS, CONTACTED, NOW)


# -- property: the vectorised frame equals the per-buyer reference --------------------------------------------------

POOL = ["b0", "b1", "b2", "b3", "b4"]  # b4 is never among the buyers: its orders and threads count for nobody
# offsets before now, heavy on window edges and on equal timestamps (ties in currency, asin and category)
BEFORE_NOW = [
    timedelta(0),
    timedelta(microseconds=1),
    timedelta(days=1),
    timedelta(days=30, microseconds=-1),
    timedelta(days=30),
    timedelta(days=30, microseconds=1),
    timedelta(days=90),
    timedelta(days=364, hours=23),
    timedelta(days=365),
    timedelta(days=800),
    timedelta(hours=-2),
]


@st.composite
def warehouses(draw: st.DrawFn) -> tuple[pd.DataFrame, ...]:
    ids = draw(st.lists(st.sampled_from(POOL[:4]), unique=True, max_size=4))
    buyers = buyers_frame(
        [(buyer, draw(st.booleans()), draw(st.sampled_from(["de", "en", None]))) for buyer in ids]
    )
    order_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*POOL, None]),
                st.sampled_from(BEFORE_NOW),
                st.none() | st.integers(0, 10**7),
                st.sampled_from(["EUR", "GBP", "JPY", None]),
                st.booleans(),
                st.booleans(),
            ),
            max_size=12,
        )
    )
    orders = orders_frame(
        [
            (f"o{number}", buyer, NOW - before, total, currency, cancelled, "o0" if replaces else None)
            for number, (buyer, before, total, currency, cancelled, replaces) in enumerate(order_rows)
        ]
    )
    items = items_frame(
        draw(
            st.lists(
                st.tuples(
                    st.sampled_from([f"o{number}" for number in range(len(order_rows) + 1)]),
                    st.sampled_from(["B0A", "B0B", "B0C", None]),
                    st.sampled_from(["kitchen", "toys", None]),
                    st.integers(0, 3),
                ),
                max_size=16,
            )
        )
    )
    tags = st.lists(
        st.sampled_from(["refund", "complaint", "negative-feedback", "a-to-z", "shipping"]), max_size=3
    )
    threads = threads_frame(
        draw(
            st.lists(
                st.tuples(
                    st.sampled_from([*POOL, None]), st.sampled_from(["open", "answered", "closed"]), tags
                ),
                max_size=8,
            )
        )
    )
    channels = st.sampled_from(["solicitation", "relay_email", "direct_email", "sms"])
    contacted = contacted_frame(
        draw(st.lists(st.tuples(st.sampled_from([*POOL, None]), channels), max_size=6))
    )
    return buyers, orders, items, threads, contacted


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(warehouse=warehouses())
def test_vectorised_features_equal_the_per_buyer_loop(warehouse):
    vectorised = compute_features(*warehouse, NOW).sort_index()
    reference = features_per_buyer_loop(*warehouse, NOW).sort_index()
    pd.testing.assert_frame_equal(vectorised, reference, check_dtype=True)
    # segment_buyers reads the text columns of few values as categoricals: the same features
    as_read = [
        frame.astype({column: "category" for column in CATEGORICAL if column in frame.columns})
        for frame in warehouse
    ]
    pd.testing.assert_frame_equal(compute_features(*as_read, NOW).sort_index(), vectorised, check_dtype=True)
