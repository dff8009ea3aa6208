"""Buyer features for segment rules: one row per buyer from orders, order items, inbox threads and past contacts.

`compute_features` is what the nightly segment job runs: vectorised over integer buyer codes (numpy bincount,
one hash groupby per "most frequent" feature), never a Python loop per buyer, order or line.
`features_per_buyer_loop` computes the same frame buyer by buyer in plain Python: the benchmark's baseline and
the tests' reference.

What the features mean (both functions):
- An order belongs to a buyer when its buyer_id is one of `buyers`' buyer ids; orders without one (FBA) or of a
  buyer not in `buyers` count for nobody. Orders whose `is_cancelled` is true count only in `cancellations` (and
  in `returns` when they replace another order); every other order feature reads the buyer's other orders.
- Windows: `orders_<N>d` counts orders with ``purchased_at > now - N days``: an order exactly N days before `now`
  is outside. There is no upper bound, so an order stamped after `now` (clock skew) counts in every window and
  gives a negative `recency_days`.
- `currency` is the currency most of the buyer's orders with a known currency are in; ties go to the one of the
  most recent order among the tied currencies, then to the alphabetically first. `aov_cents` (the mean of the
  known totals) and `lifetime_value_cents` read only the orders in that currency; an order without a total counts
  as an order but adds no value.
- Items: the lines of the buyer's orders with quantity > 0. `top_asin` and `top_category` are the values with the
  largest total quantity (ties: the one bought most recently, then the alphabetically first); lines without an
  asin or category are left out of that feature.
- Threads: the buyer's threads by buyer_id, any status unless said; a thread counts once however often a tag
  repeats in its list.
- `was_solicited`: a `contacted` row on the "solicitation" channel; `was_invited`: "relay_email" or "direct_email".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

FEATURE_KINDS: dict[str, str] = {
    "orders_30d": "int",
    "orders_90d": "int",
    "orders_365d": "int",
    "orders_total": "int",
    "recency_days": "float",
    "aov_cents": "float",
    "lifetime_value_cents": "int",
    "currency": "str",
    "top_category": "str",
    "top_asin": "str",
    "distinct_asins": "int",
    "returns": "int",
    "refunds": "int",
    "cancellations": "int",
    "is_business_buyer": "bool",
    "preferred_language": "str",
    "was_solicited": "bool",
    "was_invited": "bool",
    "has_negative_feedback": "bool",
    "has_a_to_z_claim": "bool",
    "open_complaint_threads": "int",
}
ORDER_WINDOWS_DAYS: dict[str, int] = {"orders_30d": 30, "orders_90d": 90, "orders_365d": 365}
SOLICITATION_CHANNELS = frozenset({"solicitation"})
INVITATION_CHANNELS = frozenset({"relay_email", "direct_email"})
REFUND_TAG, COMPLAINT_TAG = "refund", "complaint"
NEGATIVE_FEEDBACK_TAG, A_TO_Z_TAG = "negative-feedback", "a-to-z"
OPEN_STATUS = "open"

_DTYPE_OF_KIND = {"int": "int64", "float": "float64", "bool": "bool", "str": object}
_FEATURE_TAGS = (REFUND_TAG, COMPLAINT_TAG, NEGATIVE_FEEDBACK_TAG, A_TO_Z_TAG)
_DAY = np.timedelta64(1, "D")


def compute_features(
    buyers: pd.DataFrame,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    threads: pd.DataFrame,
    contacted: pd.DataFrame,
    now: datetime,
) -> pd.DataFrame:
    """Compute every feature of FEATURE_KINDS for every buyer, vectorised (see the module docstring for meanings).

    In: buyers (buyer_id, is_business_buyer, preferred_language; one row per buyer), orders (amazon_order_id,
    buyer_id, purchased_at as tz-aware datetimes, order_total_cents, currency, is_cancelled, replaces_order_id),
    items (amazon_order_id, asin, category, quantity), threads (buyer_id, status, tags as a list of str per row),
    contacted (buyer_id, channel), and `now`, a timezone-aware datetime.
    Out: a frame indexed by buyer_id, in the order of `buyers`, with exactly the columns of FEATURE_KINDS as
    int64 / float64 (NaN: no such order) / bool / object (never NaN: "" when unknown).
    Raises ValueError when `now` is naive, a buyer_id is missing or repeated in `buyers`, or two of the orders
    that count repeat an amazon_order_id.
    """
    buyer_index = _buyer_index(buyers)
    buyer_count = len(buyer_index)
    now64 = _naive_utc_datetime64(now)
    features: dict[str, np.ndarray] = {
        "is_business_buyer": _flags(buyers["is_business_buyer"]),
        "preferred_language": _texts(buyers["preferred_language"]),
    }

    def per_buyer_count(buyer_codes: np.ndarray) -> np.ndarray:
        return np.bincount(buyer_codes, minlength=buyer_count).astype(np.int64)

    # Orders: every buyer becomes an integer code (its position in `buyers`), -1 for no buyer or another buyer.
    order_buyer = buyer_index.get_indexer(orders["buyer_id"])
    is_mine = order_buyer >= 0
    is_cancelled = _flags(orders["is_cancelled"])
    features["cancellations"] = per_buyer_count(order_buyer[is_mine & is_cancelled])
    features["returns"] = per_buyer_count(
        order_buyer[is_mine & orders["replaces_order_id"].notna().to_numpy()]
    )

    counted = np.flatnonzero(is_mine & ~is_cancelled)  # positions of the orders every other feature reads
    order_code = order_buyer[counted]
    purchased = _naive_utc(orders["purchased_at"])[counted]
    purchased_order = purchased.view(np.int64)  # sorts like the timestamps, whatever their unit
    for feature, days in ORDER_WINDOWS_DAYS.items():
        features[feature] = per_buyer_count(order_code[purchased > now64 - np.timedelta64(days, "D")])
    features["orders_total"] = per_buyer_count(order_code)

    last_purchased = np.full(buyer_count, np.iinfo(np.int64).min)
    np.maximum.at(last_purchased, order_code, purchased_order)
    has_orders = features["orders_total"] > 0
    recency_days = np.full(buyer_count, np.nan)
    recency_days[has_orders] = (now64 - last_purchased[has_orders].view(purchased.dtype)) / _DAY
    features["recency_days"] = recency_days

    currency_code, currencies = pd.factorize(orders["currency"].iloc[counted], sort=True)
    main_currency = _first_per_owner(
        _value_totals(
            order_code, currency_code, np.ones(len(counted), np.int64), purchased_order, len(currencies)
        ),
        buyer_count,
    )
    features["currency"] = _decode(main_currency, currencies)
    total_cents = _amounts(orders["order_total_cents"].iloc[counted])
    valued = (currency_code >= 0) & (currency_code == main_currency[order_code]) & ~np.isnan(total_cents)
    value_cents = np.bincount(order_code[valued], weights=total_cents[valued], minlength=buyer_count)
    valued_orders = per_buyer_count(order_code[valued])
    # float64 adds whole cents exactly up to 2**53 (90 trillion in a currency unit), far above any buyer's spend
    features["lifetime_value_cents"] = value_cents.astype(np.int64)
    features["aov_cents"] = np.where(valued_orders > 0, value_cents / np.maximum(valued_orders, 1), np.nan)

    # Items: each line finds its order among the counted ones; lines of other orders get -1 and drop out.
    counted_order_ids = pd.Index(orders["amazon_order_id"].iloc[counted])
    if not counted_order_ids.is_unique:
        raise ValueError("orders repeat an amazon_order_id; pass one row per order (fct_orders' primary key)")
    line_order = counted_order_ids.get_indexer(items["amazon_order_id"])
    quantity = _whole_numbers(items["quantity"])
    bought = np.flatnonzero((line_order >= 0) & (quantity > 0))
    line_order = line_order[bought]
    line_buyer, line_purchased, line_quantity = (
        order_code[line_order],
        purchased_order[line_order],
        quantity[bought],
    )
    for feature, column in (("top_asin", "asin"), ("top_category", "category")):
        value_code, values = pd.factorize(items[column].iloc[bought], sort=True)
        totals = _value_totals(line_buyer, value_code, line_quantity, line_purchased, len(values))
        features[feature] = _decode(_first_per_owner(totals, buyer_count), values)
        if column == "asin":
            features["distinct_asins"] = per_buyer_count(totals["owner"])

    # Threads: explode only the buyers' threads' tags, keep the four tags that make features, one per thread.
    thread_buyer = buyer_index.get_indexer(threads["buyer_id"])
    mine = np.flatnonzero(thread_buyer >= 0)
    tags = pd.Series(threads["tags"].iloc[mine].to_numpy(), dtype=object).explode()
    tags = tags[tags.isin(_FEATURE_TAGS).to_numpy()]
    tagged = pd.DataFrame({"thread": tags.index.to_numpy(), "tag": tags.to_numpy()}).drop_duplicates()
    tagged_thread = mine[tagged["thread"].to_numpy()]  # back to positions in `threads`
    tagged_buyer, tag = thread_buyer[tagged_thread], tagged["tag"].to_numpy()
    is_open = (threads["status"].iloc[tagged_thread] == OPEN_STATUS).to_numpy(dtype=bool, na_value=False)
    features["refunds"] = per_buyer_count(tagged_buyer[tag == REFUND_TAG])
    features["has_negative_feedback"] = per_buyer_count(tagged_buyer[tag == NEGATIVE_FEEDBACK_TAG]) > 0
    features["has_a_to_z_claim"] = per_buyer_count(tagged_buyer[tag == A_TO_Z_TAG]) > 0
    features["open_complaint_threads"] = per_buyer_count(tagged_buyer[(tag == COMPLAINT_TAG) & is_open])

    contact_buyer = buyer_index.get_indexer(contacted["buyer_id"])
    for feature, channels in (("was_solicited", SOLICITATION_CHANNELS), ("was_invited", INVITATION_CHANNELS)):
        on_channel = contacted["channel"].isin(channels).to_numpy(dtype=bool, na_value=False)
        features[feature] = per_buyer_count(contact_buyer[(contact_buyer >= 0) & on_channel]) > 0

    return _feature_frame(features, buyer_index)


def features_per_buyer_loop(
    buyers: pd.DataFrame,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    threads: pd.DataFrame,
    contacted: pd.DataFrame,
    now: datetime,
) -> pd.DataFrame:
    """The same frame as `compute_features` (same inputs, result and errors on buyers and `now`), computed one
    buyer at a time in plain Python: slow, and meant to be obviously right.
    """
    buyer_index = _buyer_index(buyers)
    _naive_utc_datetime64(now)
    orders_of: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for order in orders.to_dict("records"):
        if not _is_missing(order["buyer_id"]):
            orders_of[order["buyer_id"]].append(order)
    lines_of: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for line in items.to_dict("records"):
        lines_of[line["amazon_order_id"]].append(line)
    threads_of: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for thread in threads.to_dict("records"):
        threads_of[thread["buyer_id"]].append(thread)
    channels_of: dict[Any, set[str]] = defaultdict(set)
    for contact in contacted.to_dict("records"):
        channels_of[contact["buyer_id"]].add(contact["channel"])

    columns: dict[str, list[Any]] = {feature: [] for feature in FEATURE_KINDS}
    for buyer in buyers.to_dict("records"):
        buyer_id = buyer["buyer_id"]
        row = _features_of_buyer(
            buyer, orders_of[buyer_id], lines_of, threads_of[buyer_id], channels_of[buyer_id], now
        )
        for feature, value in row.items():
            columns[feature].append(value)
    return _feature_frame({feature: np.array(values) for feature, values in columns.items()}, buyer_index)


def _features_of_buyer(
    buyer: Mapping[str, Any],
    orders: list[dict[str, Any]],
    lines_of: Mapping[Any, list[dict[str, Any]]],
    threads: list[dict[str, Any]],
    channels: set[str],
    now: datetime,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "is_business_buyer": _flag(buyer["is_business_buyer"]),
        "preferred_language": "" if _is_missing(buyer["preferred_language"]) else buyer["preferred_language"],
        "cancellations": sum(1 for order in orders if _flag(order["is_cancelled"])),
        "returns": sum(1 for order in orders if not _is_missing(order["replaces_order_id"])),
    }
    counted = [order for order in orders if not _flag(order["is_cancelled"])]
    for feature, days in ORDER_WINDOWS_DAYS.items():
        row[feature] = sum(1 for order in counted if order["purchased_at"] > now - timedelta(days=days))
    row["orders_total"] = len(counted)
    last_purchased = max((order["purchased_at"] for order in counted), default=None)
    row["recency_days"] = (
        float("nan") if last_purchased is None else (now - last_purchased) / timedelta(days=1)
    )

    currency = _most_frequent(
        (order["currency"], 1, order["purchased_at"])
        for order in counted
        if not _is_missing(order["currency"])
    )
    totals = [
        int(order["order_total_cents"])
        for order in counted
        if order["currency"] == currency and not _is_missing(order["order_total_cents"])
    ]
    row["currency"] = currency
    row["lifetime_value_cents"] = sum(totals)
    row["aov_cents"] = sum(totals) / len(totals) if totals else float("nan")

    bought = [
        (line, order["purchased_at"])
        for order in counted
        for line in lines_of.get(order["amazon_order_id"], ())
        if not _is_missing(line["quantity"]) and line["quantity"] > 0
    ]
    for feature, column in (("top_asin", "asin"), ("top_category", "category")):
        row[feature] = _most_frequent(
            (line[column], line["quantity"], purchased_at)
            for line, purchased_at in bought
            if not _is_missing(line[column])
        )
    row["distinct_asins"] = len({line["asin"] for line, _ in bought if not _is_missing(line["asin"])})

    tagged = [
        (set(thread["tags"]) if isinstance(thread["tags"], list) else set(), thread) for thread in threads
    ]
    row["refunds"] = sum(1 for tags, _ in tagged if REFUND_TAG in tags)
    row["has_negative_feedback"] = any(NEGATIVE_FEEDBACK_TAG in tags for tags, _ in tagged)
    row["has_a_to_z_claim"] = any(A_TO_Z_TAG in tags for tags, _ in tagged)
    row["open_complaint_threads"] = sum(
        1 for tags, thread in tagged if COMPLAINT_TAG in tags and thread["status"] == OPEN_STATUS
    )
    row["was_solicited"] = bool(channels & SOLICITATION_CHANNELS)
    row["was_invited"] = bool(channels & INVITATION_CHANNELS)
    return row


def _most_frequent(weighted: Iterable[tuple[Any, int, Any]]) -> Any:
    """The value with the largest total weight among (value, weight, when); ties: the latest `when`, then the
    alphabetically first value; "" when there is none."""
    total: Counter[Any] = Counter()
    latest: dict[Any, Any] = {}
    for value, weight, when in weighted:
        total[value] += weight
        latest[value] = max(latest.get(value, when), when)
    # max keeps the first of equal keys, so sorting first breaks full ties alphabetically
    return max(sorted(total), key=lambda value: (total[value], latest[value]), default="")


def _value_totals(
    owner: np.ndarray, value: np.ndarray, weight: np.ndarray, when: np.ndarray, value_count: int
) -> dict[str, np.ndarray]:
    """One entry per (owner, value) pair with value >= 0: owner, value, summed weight, latest `when` (int64)."""
    known = value >= 0
    # one int64 key per pair hashes much faster than a two-column groupby
    pair_code, pairs = pd.factorize(owner[known].astype(np.int64) * max(value_count, 1) + value[known])
    pair_weight = np.bincount(pair_code, weights=weight[known], minlength=len(pairs)).astype(np.int64)
    pair_when = np.full(len(pairs), np.iinfo(np.int64).min)
    np.maximum.at(pair_when, pair_code, when[known])
    return {
        "owner": pairs // max(value_count, 1),
        "value": pairs % max(value_count, 1),
        "weight": pair_weight,
        "when": pair_when,
    }


def _first_per_owner(totals: Mapping[str, np.ndarray], owner_count: int) -> np.ndarray:
    """Per owner code, the value code of its largest weight (ties: latest `when`, then smallest code); -1 if none."""
    owner, value = totals["owner"], totals["value"]
    candidate = np.ones(len(owner), dtype=bool)
    # narrow each owner's candidates key by key: linear ufunc.at passes (a 4-key lexsort took seconds at 1M buyers)
    for key in (totals["weight"], totals["when"]):
        best_key = np.full(owner_count, np.iinfo(np.int64).min)
        np.maximum.at(best_key, owner[candidate], key[candidate])
        candidate &= key == best_key[owner]
    # codes from factorize(sort=True) are in alphabetical order, so the smallest code is the first name
    best = np.full(owner_count, np.iinfo(np.int64).max)
    np.minimum.at(best, owner[candidate], value[candidate])
    best[best == np.iinfo(np.int64).max] = -1
    return best


def _decode(codes: np.ndarray, values: pd.Index) -> np.ndarray:
    text = np.full(len(codes), "", dtype=object)
    found = codes >= 0
    text[found] = np.asarray(values, dtype=object)[codes[found]]
    return text


def _buyer_index(buyers: pd.DataFrame) -> pd.Index:
    buyer_index = pd.Index(buyers["buyer_id"], name="buyer_id")
    if buyer_index.hasnans:
        raise ValueError("buyers has a row without buyer_id; every dim_buyers row has one")
    if not buyer_index.is_unique:
        raise ValueError("buyers repeats a buyer_id; pass one row per buyer (dim_buyers' primary key)")
    return buyer_index


def _feature_frame(features: Mapping[str, np.ndarray], buyer_index: pd.Index) -> pd.DataFrame:
    # an explicit dtype per column: pandas 3 would read object arrays of text as its "str" dtype (and check every
    # value), the contract is plain object columns
    columns = {
        feature: pd.Series(features[feature], index=buyer_index, dtype=_DTYPE_OF_KIND[kind])
        for feature, kind in FEATURE_KINDS.items()
    }
    return pd.DataFrame(columns, index=buyer_index)


def _naive_utc_datetime64(now: datetime) -> np.datetime64:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware (UTC), got the naive datetime {now!r}")
    return pd.Timestamp(now).tz_convert("UTC").tz_localize(None).to_datetime64()


def _naive_utc(timestamps: pd.Series) -> np.ndarray:
    """datetime64 in UTC without the zone, so numpy can compare and subtract them; any unit pandas chose."""
    return pd.to_datetime(timestamps, utc=True).dt.tz_localize(None).to_numpy()


def _flags(values: pd.Series) -> np.ndarray:
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _texts(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=object, na_value="")


def _amounts(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)


def _whole_numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values).to_numpy(dtype=np.int64, na_value=0)


def _flag(value: Any) -> bool:
    return False if _is_missing(value) else bool(value)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
