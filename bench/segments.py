"""Segments: features and segments for 1,000,000 buyers / 3,000,000 orders on PostgreSQL, seconds and peak memory,
against a per-buyer loop baseline measured in the same run. Goal: at least 50 times faster; peak memory under 4 GB.

A throwaway PostgreSQL (tests/support/postgres.py, as bench/load.py) gets a fresh, migrated database filled by
binary COPY with synthetic rows drawn from a fixed seed (timed apart, not counted; the indexes are dropped for the
COPY and rebuilt exactly as they were, then VACUUM ANALYZE):

- dim_buyers: `--buyers` buyers (relay address, hashed id as the sync makes it), languages en/de/fr/es/it/ja/zh
  (a few unknown), 4% business buyers, each with a home marketplace that follows the language;
- fct_orders: `--orders` orders over the last two years in nine marketplaces (USD, CAD, MXN, GBP, EUR, JPY),
  3% without a buyer (Amazon-fulfilled multi-channel orders), every buyer at least one order and repeat buyers
  drawn from a long-tailed appetite (business buyers order more), 8% bought outside the home marketplace, 3%
  cancelled (half of them without a total), about 1% replacements of the buyer's first order (total 0);
- fct_order_items: 1 + Poisson(0.7) lines an order (1.7 on average), ASINs from a pool of 40,000 with Zipf
  popularity, each with its category (2% unknown), title, SKU and price; order totals are the lines' sum;
- dim_threads: inbox threads for 5% of the buyers (1 + Poisson(0.35) each), tagged complaint, refund,
  negative-feedback, a-to-z, where-is-my-order, return or product-question; open, answered, closed or no response
  needed.

Measured:

- ours: `segment_buyers(engine, segments, now)` end to end (read the warehouse, compute_features, evaluate five
  segments like the demo's, write dim_buyers and fct_buyer_segments). Its phases are timed by wrapping, for the
  run only, the functions membership.py calls (read_frames, whose queries run side by side, compute_features,
  evaluate_segments, _update_buyers (stage every buyer's features, UPDATE those that differ),
  insert_frame, _close_memberships): the library is not changed.
- baseline 1, the issue's per-buyer loop on PostgreSQL, over a random sample of buyers (`--sample`, default
  10,000, at most a tenth of the buyers): for each, the queries a naive job sends (the buyer, their orders, the
  lines of those orders, their threads, their open memberships; prepared statements), the features in plain
  Python (features.py's own per-buyer reference), the five rules as Python predicates, one UPDATE of the
  buyer's row and one INSERT per segment entered. The parsed rules evaluate whole frames only: on a one-row
  frame per buyer they would cost more than everything else, so that cost is printed apart, not counted. The
  loop runs first, in one transaction that is rolled back, so our path starts from the same database;
  dim_threads has no index on buyer_id, so the loop gets one inside that transaction (without it every buyer
  would cost a scan of the threads). Its seconds are extrapolated to all buyers.
- baseline 2, the stricter comparison: `features_per_buyer_loop` over frames already in memory (read_frames
  again, restricted to the sample): the computation only, against our compute_features.

All three must agree on the sample's features and primary segments; the report says where they do not.
Peak memory is the process's resident peak while ours runs (VmHWM, reset as ours starts: the fill's peak is
setup, like its seconds).

    .venv/bin/python bench/segments.py                                  # 1,000,000 buyers, 3,000,000 orders
    .venv/bin/python bench/segments.py --buyers 20000 --orders 60000    # a try-out, well under a minute

Prints PASS/MISS against the goal; exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from load import Timer, fresh_database  # noqa: E402  (bench/load.py, beside this script)
from psycopg.rows import dict_row  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from schemas import tables as t  # noqa: E402
from sellerreach.buyers import buyer_id_for  # noqa: E402
from sellerreach.segments import membership  # noqa: E402
from sellerreach.segments.config import Segment  # noqa: E402
from sellerreach.segments.expressions import parse_rule  # noqa: E402
from sellerreach.segments.features import (  # noqa: E402
    FEATURE_KINDS,
    _features_of_buyer,  # the per-buyer reference in plain Python, without the frames around it
    features_per_buyer_loop,
)
from sellerreach.segments.membership import SegmentRun, read_frames, segment_buyers  # noqa: E402
from sellerreach.warehouse import postgres_type_name  # noqa: E402
from tests.support.postgres import throwaway_postgres  # noqa: E402

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SEED = 20261123
GOAL_RATIO = 50.0
GOAL_PEAK_MB = 4096.0
DATABASE = "bench_segments"
COPY_CHUNK = 100_000  # rows made and copied at a time

# The demo's five segments (sellerreach/demo.toml), each with the same rule as a Python predicate for baseline 1.
SEGMENTS: tuple[tuple[str, str, Callable[[dict[str, Any]], bool]], ...] = (
    (
        "at_risk",
        "open_complaint_threads > 0 or has_a_to_z_claim or has_negative_feedback",
        lambda f: f["open_complaint_threads"] > 0 or f["has_a_to_z_claim"] or f["has_negative_feedback"],
    ),
    ("business", "is_business_buyer", lambda f: f["is_business_buyer"]),
    ("repeat", "orders_365d >= 2", lambda f: f["orders_365d"] >= 2),
    (
        "high_value",
        "aov_cents >= 5000 and cancellations == 0",
        lambda f: f["aov_cents"] >= 5000 and f["cancellations"] == 0,
    ),
    (
        "new",
        "orders_total == 1 and recency_days <= 30",
        lambda f: f["orders_total"] == 1 and f["recency_days"] <= 30,
    ),
)

# -- the synthetic seller ------------------------------------------------------------------------------------------

US = 1_000_000  # microseconds per second
DAY_US = 86_400 * US
HISTORY_DAYS = 730
NOW_US = int(NOW.timestamp()) * US

# marketplace id, account, currency, relay address domain, price factor from US cents (JPY has no minor unit)
MARKETPLACES = (
    ("ATVPDKIKX0DER", "acme-na", "USD", "com", 1.0),
    ("A2EUQ1WTGCTBG2", "acme-na", "CAD", "ca", 1.36),
    ("A1AM78C64UM0Y8", "acme-na", "MXN", "com.mx", 17.0),
    ("A1F83G8C2ARO7P", "acme-eu", "GBP", "co.uk", 0.79),
    ("A1PA6795UKMFR9", "acme-eu", "EUR", "de", 0.92),
    ("A13V1IB3VIYZZH", "acme-eu", "EUR", "fr", 0.92),
    ("APJ6JRA9NG5V4", "acme-eu", "EUR", "it", 0.92),
    ("A1RKKUPIHCS9HS", "acme-eu", "EUR", "es", 0.92),
    ("A1VC38T7YXB528", "acme-fe", "JPY", "co.jp", 1.5),
)
US_, CA_, MX_, GB_, DE_, FR_, IT_, ES_, JP_ = range(len(MARKETPLACES))
# marketplaces of the orders without a buyer and of those bought abroad
MARKET_SHARES = (0.40, 0.05, 0.03, 0.12, 0.16, 0.08, 0.06, 0.05, 0.05)
# language, share of buyers, home marketplaces with their shares
LANGUAGES = (
    ("en", 0.46, ((US_, 0.72), (GB_, 0.18), (CA_, 0.10))),
    ("de", 0.17, ((DE_, 1.0),)),
    ("fr", 0.10, ((FR_, 0.9), (CA_, 0.1))),
    ("es", 0.08, ((ES_, 0.6), (MX_, 0.4))),
    ("it", 0.07, ((IT_, 1.0),)),
    ("ja", 0.07, ((JP_, 1.0),)),
    ("zh", 0.05, ((US_, 0.8), (GB_, 0.2))),
)
COMPANY_SUFFIX = {
    "en": "Ltd",
    "de": "GmbH",
    "fr": "SARL",
    "es": "S.L.",
    "it": "S.r.l.",
    "ja": "K.K.",
    "zh": "Co.",
}
UNKNOWN_LANGUAGE_SHARE = 0.02
BUSINESS_SHARE = 0.04
NO_BUYER_SHARE = 0.03
ABROAD_SHARE = 0.08
CANCELLED_SHARE = 0.03
REPLACEMENT_SHARE = 0.015  # of orders; only those with an earlier order of the same buyer become replacements
AFN_SHARE = 0.55
SERVICE_LEVELS = (("Standard", 0.70), ("Expedited", 0.20), ("SecondDay", 0.07), ("NextDay", 0.03))
EXTRA_LINES_MEAN = 0.7
QUANTITIES = ((1, 0.86), (2, 0.09), (3, 0.03), (4, 0.01), (5, 0.006), (6, 0.004))
ASIN_POOL = 40_000
CATEGORIES = (
    "Home & Kitchen", "Electronics", "Books", "Toys & Games", "Sports & Outdoors", "Beauty", "Health & Household",
    "Clothing, Shoes & Jewelry", "Tools & Home Improvement", "Pet Supplies", "Office Products", "Garden & Outdoor",
    "Automotive", "Baby", "Grocery", "Video Games", "Musical Instruments", "Arts & Crafts",
)  # fmt: skip
UNKNOWN_CATEGORY_SHARE = 0.02
COLOURS = ("black", "white", "blue", "red", "green", "grey", "silver", "pink")
THREAD_BUYER_SHARE = 0.05
EXTRA_THREADS_MEAN = 0.35
THREAD_TOPICS = (
    ("complaint", 0.30, "Complaint about my order"),
    ("refund", 0.22, "Refund request"),
    ("where-is-my-order", 0.18, "Where is my order?"),
    ("return", 0.12, "Return request"),
    ("negative-feedback", 0.08, "About my feedback"),
    ("product-question", 0.06, "Question about the product"),
    ("a-to-z", 0.04, "A-to-z Guarantee claim"),
)
SECOND_TAG_SHARE = 0.25
THREAD_STATUSES = (("open", 0.22), ("answered", 0.18), ("closed", 0.52), ("no_response_needed", 0.08))
AGENTS = ("mia", "lucas", "emma", "wei")


def order_id(n: int) -> str:
    """Amazon's 3-7-7 form; distinct for every n below 9 billion."""
    return f"{100 + n % 900:03d}-{(n // 900) % 10_000_000:07d}-{(n * 7_919 + 13) % 10_000_000:07d}"


def relay_email(n: int, domain: str) -> str:
    # n times an odd constant modulo 2**40 is a bijection: distinct local parts that look random
    return f"{(n * 0x9E3779B97F4A7C15) % 2**40:010x}@marketplace.amazon.{domain}"


def draw(rng: np.random.Generator, choices: Sequence[tuple[Any, float]], size: int) -> np.ndarray:
    """Indexes into `choices` ((value, share) pairs) drawn by share."""
    shares = np.array([share for _, share in choices])
    return rng.choice(len(choices), size=size, p=shares / shares.sum())


@dataclass
class SyntheticSeller:
    """Every row of the synthetic warehouse as numpy arrays (times in microseconds since the epoch), drawn once;
    the rows for COPY are made from them a chunk at a time."""

    buyers: int
    orders: int
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(SEED))

    def __post_init__(self) -> None:
        rng, buyers, orders = self.rng, self.buyers, self.orders
        # buyers
        self.language = draw(rng, [(name, share) for name, share, _ in LANGUAGES], buyers).astype(np.int8)
        self.language_known = rng.random(buyers) >= UNKNOWN_LANGUAGE_SHARE
        self.business = rng.random(buyers) < BUSINESS_SHARE
        self.home = np.empty(buyers, np.int8)
        for code, (_, _, homes) in enumerate(LANGUAGES):
            speakers = np.flatnonzero(self.language == code)
            self.home[speakers] = np.array([m for m, _ in homes])[draw(rng, homes, len(speakers))]
        self.buyer_ids = [
            buyer_id_for(relay_email(n, MARKETPLACES[home][3])) for n, home in enumerate(self.home.tolist())
        ]

        # orders, sorted by purchase time (order ids grow with it, as Amazon's do)
        purchased = NOW_US - rng.integers(0, HISTORY_DAYS * DAY_US, orders)
        order_buyer = np.full(orders, -1, np.int32)
        with_buyer = np.flatnonzero(rng.random(orders) >= NO_BUYER_SHARE)
        appetite = rng.lognormal(0.0, 1.2, buyers) * np.where(self.business, 4.0, 1.0)
        repeat = rng.choice(buyers, size=max(0, len(with_buyer) - buyers), p=appetite / appetite.sum())
        # every buyer at least one order, when there are enough orders
        first = rng.permutation(buyers)[: len(with_buyer)]
        order_buyer[with_buyer] = rng.permutation(np.concatenate([first, repeat]))
        by_time = np.argsort(purchased, kind="stable")
        self.purchased, self.order_buyer = purchased[by_time], order_buyer[by_time]
        has_buyer = self.order_buyer >= 0
        buyer_or_0 = np.where(has_buyer, self.order_buyer, 0)

        abroad = draw(rng, list(enumerate(MARKET_SHARES)), orders).astype(np.int8)
        self.market = np.where(
            has_buyer & (rng.random(orders) >= ABROAD_SHARE), self.home[buyer_or_0], abroad
        )
        self.cancelled = rng.random(orders) < CANCELLED_SHARE
        positions = np.arange(orders)
        self.first_order = np.full(buyers, orders, np.int64)  # position of each buyer's first order
        np.minimum.at(self.first_order, self.order_buyer[has_buyer], positions[has_buyer])
        self.replaces = np.where(
            has_buyer & ~self.cancelled & (rng.random(orders) < REPLACEMENT_SHARE),
            self.first_order[buyer_or_0],
            -1,
        )
        self.replaces[self.replaces >= positions] = -1  # needs an earlier order of the same buyer
        self.afn = ~has_buyer | (rng.random(orders) < AFN_SHARE)
        self.prime = rng.random(orders) < np.where(self.afn, 0.7, 0.2)
        self.service = draw(rng, SERVICE_LEVELS, orders).astype(np.int8)
        self.updated = np.minimum(self.purchased + rng.integers(3_600 * US, 8 * DAY_US, orders), NOW_US)
        self.shipped = self.purchased + rng.integers(3 * 3_600 * US, 2 * DAY_US, orders)
        self.delivered = self.shipped + rng.integers(DAY_US, 4 * DAY_US, orders)
        self.is_shipped = ~self.cancelled & (self.shipped <= NOW_US)
        self.is_delivered = (
            self.is_shipped & self.afn & (self.delivered <= NOW_US) & (rng.random(orders) < 0.6)
        )
        # buyers without orders (only when there are fewer orders than buyers): a year ago
        self.last_order = np.full(buyers, NOW_US - 365 * DAY_US, np.int64)
        self.first_order_at = self.last_order.copy()
        owners = self.order_buyer[has_buyer]
        self.first_order_at[np.unique(owners)] = np.iinfo(np.int64).max
        np.minimum.at(self.first_order_at, owners, self.purchased[has_buyer])
        np.maximum.at(self.last_order, owners, self.purchased[has_buyer])

        # order lines
        self.line_count = 1 + np.minimum(rng.poisson(EXTRA_LINES_MEAN, orders), 7)
        self.line_order = np.repeat(np.arange(orders, dtype=np.int32), self.line_count)
        starts = np.cumsum(self.line_count) - self.line_count
        self.line_number = np.arange(len(self.line_order)) - np.repeat(starts, self.line_count)
        popularity = 1.0 / np.arange(1, ASIN_POOL + 1)
        self.line_asin = rng.choice(ASIN_POOL, size=len(self.line_order), p=popularity / popularity.sum())
        self.quantity = np.array([q for q, _ in QUANTITIES])[draw(rng, QUANTITIES, len(self.line_order))]
        self.asin_category = rng.integers(0, len(CATEGORIES), ASIN_POOL)
        self.asin_category[rng.random(ASIN_POOL) < UNKNOWN_CATEGORY_SHARE] = -1
        self.asin_price_us_cents = np.clip(rng.lognormal(math.log(2_500), 0.8, ASIN_POOL), 199, 99_999)
        factor = np.array([m[4] for m in MARKETPLACES])[self.market[self.line_order]]
        price = np.round(self.asin_price_us_cents[self.line_asin] * factor).astype(np.int64)
        # replacements cost the buyer nothing
        self.price = np.where(self.replaces[self.line_order] >= 0, 0, price)
        self.total = np.bincount(self.line_order, weights=self.price * self.quantity, minlength=orders)
        self.total_known = ~(
            (self.cancelled & (rng.random(orders) < 0.5)) | (~self.cancelled & (rng.random(orders) < 0.002))
        )
        self.units = np.bincount(self.line_order, weights=self.quantity, minlength=orders).astype(np.int64)

        # inbox threads
        with_orders = np.flatnonzero(self.first_order < orders)
        talkers = rng.choice(
            with_orders, size=min(len(with_orders), round(buyers * THREAD_BUYER_SHARE)), replace=False
        )
        self.thread_buyer = np.repeat(talkers, 1 + rng.poisson(EXTRA_THREADS_MEAN, len(talkers)))
        threads = len(self.thread_buyer)
        self.thread_topic = draw(rng, [(tag, share) for tag, share, _ in THREAD_TOPICS], threads)
        self.thread_second = np.where(
            rng.random(threads) < SECOND_TAG_SHARE,
            draw(rng, [(tag, share) for tag, share, _ in THREAD_TOPICS], threads),
            -1,
        )
        self.thread_status = draw(rng, THREAD_STATUSES, threads)
        self.thread_opened = NOW_US - rng.integers(3_600 * US, 180 * DAY_US, threads)
        self.thread_last = np.minimum(self.thread_opened + rng.integers(0, 5 * DAY_US, threads), NOW_US)
        self.thread_messages = rng.integers(1, 7, threads)

    # rows, chunk by chunk

    def buyer_rows(self, start: int, stop: int) -> dict[str, list[Any]]:
        n = range(start, stop)
        language = [
            LANGUAGES[code][0] if known else None
            for code, known in zip(
                self.language[start:stop].tolist(), self.language_known[start:stop].tolist(), strict=True
            )
        ]
        business = self.business[start:stop].tolist()
        return {
            "buyer_id": self.buyer_ids[start:stop],
            "relay_email": [
                relay_email(i, MARKETPLACES[h][3])
                for i, h in zip(n, self.home[start:stop].tolist(), strict=True)
            ],
            "buyer_name": [f"Buyer {i}" for i in n],
            "company_name": [
                f"Company {i} {COMPANY_SUFFIX[lang or 'en']}" if b else None
                for i, b, lang in zip(n, business, language, strict=True)
            ],
            "preferred_language": language,
            "is_business_buyer": business,
            "first_order_at": datetimes(self.first_order_at[start:stop]),
            "last_order_at": datetimes(self.last_order[start:stop]),
        }

    def order_rows(self, start: int, stop: int) -> dict[str, list[Any]]:
        part = slice(start, stop)
        market = self.market[part].tolist()
        cancelled, shipped, delivered = self.cancelled[part], self.is_shipped[part], self.is_delivered[part]
        status = np.where(
            cancelled,
            "CANCELLED",
            np.where(delivered, "DELIVERED", np.where(shipped, "SHIPPED", "UNSHIPPED")),
        )
        purchased = self.purchased[part]
        buyer = self.order_buyer[part].tolist()
        return {
            "amazon_order_id": [order_id(n) for n in range(start, stop)],
            "account_id": [MARKETPLACES[m][1] for m in market],
            "marketplace_id": [MARKETPLACES[m][0] for m in market],
            "order_status": status.tolist(),
            "fulfillment_channel": np.where(self.afn[part], "AFN", "MFN").tolist(),
            "fulfillment_service_level": [SERVICE_LEVELS[s][0] for s in self.service[part].tolist()],
            "purchased_at": datetimes(purchased),
            "last_updated_at": datetimes(self.updated[part]),
            "latest_ship_at": datetimes(purchased + 2 * DAY_US),
            "shipped_at": datetimes(self.shipped[part], shipped),
            "earliest_delivery_at": datetimes(purchased + 3 * DAY_US),
            "latest_delivery_at": datetimes(purchased + 7 * DAY_US),
            "delivered_at": datetimes(self.delivered[part], delivered),
            "order_total_cents": [
                int(total) if known else None
                for total, known in zip(
                    self.total[part].tolist(), self.total_known[part].tolist(), strict=True
                )
            ],
            "currency": [MARKETPLACES[m][2] for m in market],
            "item_count": self.line_count[part].tolist(),
            "units_ordered": self.units[part].tolist(),
            "is_business_order": (
                (self.order_buyer[part] >= 0) & self.business[np.maximum(self.order_buyer[part], 0)]
            ).tolist(),
            "is_prime": self.prime[part].tolist(),
            "is_cancelled": cancelled.tolist(),
            "replaces_order_id": [order_id(r) if r >= 0 else None for r in self.replaces[part].tolist()],
            "buyer_id": [self.buyer_ids[b] if b >= 0 else None for b in buyer],
            "loaded_at": [NOW] * (stop - start),
        }

    def item_rows(self, start: int, stop: int) -> dict[str, list[Any]]:
        part = slice(start, stop)
        order = self.line_order[part]
        asin = self.line_asin[part].tolist()
        category = [
            CATEGORIES[c] if c >= 0 else None for c in self.asin_category[self.line_asin[part]].tolist()
        ]
        market = self.market[order].tolist()
        quantity, price = self.quantity[part], self.price[part]
        cancelled = self.cancelled[order]
        return {
            "amazon_order_id": [order_id(n) for n in order.tolist()],
            "order_item_id": [
                f"{n:012d}{i:02d}"
                for n, i in zip(order.tolist(), self.line_number[part].tolist(), strict=True)
            ],
            "account_id": [MARKETPLACES[m][1] for m in market],
            "marketplace_id": [MARKETPLACES[m][0] for m in market],
            "asin": [f"B0{(a * 2_654_435_761) % 2**32:08X}" for a in asin],
            "seller_sku": [f"ACME-{a:05d}" for a in asin],
            "title": [
                f"{c or 'Acme'} product {a:05d}, {COLOURS[a % len(COLOURS)]}"
                for a, c in zip(asin, category, strict=True)
            ],
            "category": category,
            "quantity": quantity.tolist(),
            "quantity_shipped": np.where(self.is_shipped[order], quantity, 0).tolist(),
            "item_price_cents": price.tolist(),
            "item_proceeds_cents": np.round(price * quantity * 0.85).astype(np.int64).tolist(),
            "currency": [MARKETPLACES[m][2] for m in market],
            "condition": np.where(np.asarray(asin) % 33 == 0, "Used - Like New", "New").tolist(),
            "is_cancelled": cancelled.tolist(),
            "promotion_ids": [f"PROMO-{a % 50:02d}" if a % 20 == 0 else None for a in asin],
        }

    def thread_rows(self, start: int, stop: int) -> dict[str, list[Any]]:
        part = slice(start, stop)
        buyer = self.thread_buyer[part].tolist()
        status = [THREAD_STATUSES[s][0] for s in self.thread_status[part].tolist()]
        tags = [
            sorted({THREAD_TOPICS[a][0], THREAD_TOPICS[b][0]} if b >= 0 else {THREAD_TOPICS[a][0]})
            for a, b in zip(self.thread_topic[part].tolist(), self.thread_second[part].tolist(), strict=True)
        ]
        opened, last = self.thread_opened[part], self.thread_last[part]
        answered = np.array([s in ("answered", "closed") for s in status], dtype=bool)
        sla_due = last + DAY_US
        is_open = np.array([s == "open" for s in status], dtype=bool)
        return {
            "thread_id": [hashlib.md5(f"thread-{n}".encode()).hexdigest() for n in range(start, stop)],
            "account_id": [MARKETPLACES[self.home[b]][1] for b in buyer],
            "marketplace_id": [MARKETPLACES[self.home[b]][0] for b in buyer],
            "amazon_order_id": [order_id(self.first_order[b]) for b in buyer],
            "buyer_id": [self.buyer_ids[b] for b in buyer],
            "subject": [THREAD_TOPICS[a][2] for a in self.thread_topic[part].tolist()],
            "language": [LANGUAGES[self.language[b]][0] if self.language_known[b] else None for b in buyer],
            "status": status,
            "status_changed_at": datetimes(last),
            "owner": [
                AGENTS[n % len(AGENTS)] if a else None
                for n, a in zip(range(start, stop), answered.tolist(), strict=True)
            ],
            "tags": [Jsonb(tag_list) for tag_list in tags],
            "message_count": self.thread_messages[part].tolist(),
            "opened_at": datetimes(opened),
            "last_message_at": datetimes(last),
            "last_inbound_at": datetimes(opened),
            "last_outbound_at": datetimes(last, answered),
            "first_response_at": datetimes(last, answered),
            "sla_started_at": datetimes(opened, is_open),
            "sla_due_at": datetimes(sla_due, is_open),
            "is_breached": (is_open & (sla_due < NOW_US)).tolist(),
            "is_near_breach": [False] * (stop - start),
            "breaches": (is_open & (sla_due < NOW_US)).astype(int).tolist(),
            "updated_at": [NOW] * (stop - start),
        }


def datetimes(microseconds: np.ndarray, known: np.ndarray | None = None) -> list[datetime | None]:
    """Aware UTC datetimes from microseconds since the epoch; None where `known` is False."""
    values = pd.to_datetime(microseconds, unit="us", utc=True).to_pydatetime().astype(object)
    if known is not None:
        values[~known] = None
    return values.tolist()


# -- filling the warehouse -----------------------------------------------------------------------------------------


@dataclass
class Fill:
    copy_seconds: float = 0.0
    draw_seconds: float = 0.0
    index_seconds: float = 0.0
    vacuum_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.draw_seconds + self.copy_seconds + self.index_seconds + self.vacuum_seconds


FILLED = (t.dim_buyers, t.fct_orders, t.fct_order_items, t.dim_threads)


def fill(engine: sa.Engine, seller: SyntheticSeller, draw_seconds: float) -> Fill:
    """COPY every synthetic row into the tables, their indexes dropped meanwhile and rebuilt as they were."""
    result = Fill(draw_seconds=draw_seconds)
    sources = (
        (t.dim_buyers, seller.buyers, seller.buyer_rows),
        (t.fct_orders, seller.orders, seller.order_rows),
        (t.fct_order_items, len(seller.line_order), seller.item_rows),
        (t.dim_threads, len(seller.thread_buyer), seller.thread_rows),
    )
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        with without_indexes(cursor, [table.name for table, _, _ in sources], result):
            for table, count, rows in sources:
                with Timer() as copying:
                    for start in range(0, count, COPY_CHUNK):
                        copy_rows(cursor, table, rows(start, min(start + COPY_CHUNK, count)))
                        print(
                            f"  fill {table.name:16} {min(start + COPY_CHUNK, count):>11,} rows",
                            end="\r",
                            flush=True,
                        )
                result.copy_seconds += copying.seconds
                result.rows[table.name] = count
    print(" " * 60, end="\r")
    with Timer() as vacuum, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in FILLED:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table.name}")
    result.vacuum_seconds = vacuum.seconds
    return result


def copy_rows(cursor: Any, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    names = list(columns)
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([postgres_type_name(table.c[name]) for name in names])
        for row in zip(*columns.values(), strict=True):
            copy.write_row(row)


@contextmanager
def without_indexes(cursor: Any, tables: list[str], fill_result: Fill) -> Iterator[None]:
    """Drop the tables' primary keys and indexes, then rebuild them with their own definitions: building an index
    once is several times faster than growing it row by row during the COPY. Fails if the rebuilt set differs."""
    definitions = """
        SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid), con.conname, pg_get_constraintdef(con.oid)
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u')
        WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
        ORDER BY 1, 2
    """
    before = cursor.execute(definitions, [tables]).fetchall()
    for table, index, _, constraint, _ in before:
        if constraint:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
        else:
            cursor.execute(f'DROP INDEX "{index}"')
    yield
    with Timer() as building:
        for table, _, index_definition, constraint, constraint_definition in before:
            if constraint:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {constraint_definition}')
            else:
                cursor.execute(index_definition)
    fill_result.index_seconds = building.seconds
    after = cursor.execute(definitions, [tables]).fetchall()
    if after != before:
        raise RuntimeError(f"indexes rebuilt differently:\nbefore {before}\nafter {after}")


def peak_memory_mb() -> float:
    """The process's peak resident memory since the last `reset_peak_memory()` (VmHWM, in MB)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024


def reset_peak_memory() -> None:
    """Start the peak over from the memory in use now (Linux 4.0+), so the fill's peak is not ours."""
    Path("/proc/self/clear_refs").write_text("5")


# -- ours: segment_buyers, its phases timed by wrapping what membership.py calls ---------------------------------

WRAPPED = ("read_frames", "compute_features", "evaluate_segments", "_update_buyers", "_close_memberships")
WRITERS = ("insert_frame",)


@dataclass
class Phases:
    """Seconds per phase of one segment_buyers call, in the order they first ran, and the process's peak memory
    when each phase ended (the peak only grows: the phase where it jumps is the one that needed it)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    peak_mb: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)

    def label(self, name: str, args: tuple[Any, ...], result: Any) -> str:
        if name == "read_frames":  # the frames, read side by side: their rows, not their seconds
            for frame, rows in result.items():
                self.rows[f"read_frames: {frame}"] = len(rows)
        if name == "_update_buyers":  # (conn, current, now): the buyers compared
            self.rows[name] = len(args[1])
        if name in WRITERS:  # (conn, table, frame)
            label = f"{name} {args[1].name}"
            self.rows[label] = len(args[2])
            return label
        return name


@contextmanager
def timed_phases(phases: Phases, keep_features: Callable[[pd.DataFrame], None]) -> Iterator[None]:
    """Replace the functions membership.py calls by timed wrappers for the duration; restore them afterwards."""
    originals = {}
    for name in (*WRAPPED, *WRITERS):
        if hasattr(membership, name):
            originals[name] = getattr(membership, name)
        else:
            phases.not_found.append(name)

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = function(*args, **kwargs)
            label = phases.label(name, args, result)
            phases.seconds[label] += time.perf_counter() - started
            phases.peak_mb[label] = peak_memory_mb()
            print(
                f"  {label:44} {phases.seconds[label]:8.1f} s {phases.peak_mb[label]:8,.0f} MB",
                end="\r",
                flush=True,
            )
            if name == "compute_features":
                keep_features(result)
            return result

        return wrapper

    for name, function in originals.items():
        setattr(membership, name, timed(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(membership, name, function)


@dataclass
class Ours:
    seconds: float
    run: SegmentRun
    phases: Phases
    sample_features: pd.DataFrame
    peak_mb: float


def run_ours(engine: sa.Engine, segments: Sequence[Segment], sample_ids: list[str]) -> Ours:
    kept: list[pd.DataFrame] = []
    phases = Phases()
    reset_peak_memory()
    with timed_phases(phases, lambda features: kept.append(features.loc[sample_ids].copy())):
        with Timer() as whole:
            run = segment_buyers(engine, segments, NOW)
    return Ours(whole.seconds, run, phases, kept[0] if kept else pd.DataFrame(), peak_memory_mb())


# -- baseline 1: the per-buyer loop on PostgreSQL ------------------------------------------------------------------

BUYER_SQL = "SELECT buyer_id, is_business_buyer, preferred_language FROM dim_buyers WHERE buyer_id = %s"
ORDERS_SQL = (
    "SELECT amazon_order_id, buyer_id, purchased_at, order_total_cents, currency, is_cancelled, replaces_order_id"
    " FROM fct_orders WHERE buyer_id = %s"
)
LINES_SQL = (
    "SELECT amazon_order_id, asin, category, quantity FROM fct_order_items WHERE amazon_order_id = ANY(%s)"
)
THREADS_SQL = "SELECT buyer_id, status, tags FROM dim_threads WHERE buyer_id = %s"
OPEN_SQL = "SELECT segment, valid_from FROM fct_buyer_segments WHERE buyer_id = %s AND valid_to IS NULL"
WRITTEN = [*(column.name for column in t.FEATURE_COLUMNS), "segment", "features_computed_at"]
UPDATE_BUYER_SQL = (
    f"UPDATE dim_buyers SET {', '.join(f'{c} = %({c})s' for c in WRITTEN)} WHERE buyer_id = %(buyer_id)s"
)
ENTER_SQL = (
    "INSERT INTO fct_buyer_segments (buyer_id, segment, valid_from, valid_to, is_primary)"
    " VALUES (%s, %s, %s, NULL, %s)"
)
LEAVE_SQL = (
    "UPDATE fct_buyer_segments SET valid_to = %s WHERE buyer_id = %s AND segment = %s AND valid_from = %s"
)
THREADS_INDEX_SQL = "CREATE INDEX bench_dim_threads_buyer_id ON dim_threads (buyer_id)"
ROUND_TRIPS = 1_000
ROUNDS_PER_BUYER = 6  # 5 queries and the UPDATE, then one INSERT per segment entered


@dataclass
class LoopResult:
    buyers: int = 0
    read: Timer = field(default_factory=Timer)
    compute: Timer = field(default_factory=Timer)
    write: Timer = field(default_factory=Timer)
    features: list[dict[str, Any]] = field(default_factory=list)
    primary: dict[str, str] = field(default_factory=dict)
    rule_frame_ms: float = 0.0  # per buyer, Rule.evaluate on a one-row frame (not used by the loop)
    round_trip_ms: float = 0.0  # a bare prepared SELECT 1 on the same connection

    @property
    def seconds(self) -> float:
        return self.read.seconds + self.compute.seconds + self.write.seconds


def per_buyer_sql_loop(engine: sa.Engine, sample_ids: list[str], segments: Sequence[Segment]) -> LoopResult:
    """Baseline 1 over the sample: queries, features, rules and writes one buyer at a time; rolled back."""
    result = LoopResult()
    with engine.connect() as conn:
        connection = conn.connection.dbapi_connection
        cursor = connection.cursor(row_factory=dict_row)
        try:
            cursor.execute(THREADS_INDEX_SQL)
            for n, buyer_id in enumerate(sample_ids, 1):
                with result.read:
                    buyer = cursor.execute(BUYER_SQL, [buyer_id], prepare=True).fetchone()
                    orders = cursor.execute(ORDERS_SQL, [buyer_id], prepare=True).fetchall()
                    order_ids = [order["amazon_order_id"] for order in orders]
                    lines = (
                        cursor.execute(LINES_SQL, [order_ids], prepare=True).fetchall() if order_ids else []
                    )
                    threads = cursor.execute(THREADS_SQL, [buyer_id], prepare=True).fetchall()
                    open_rows = cursor.execute(OPEN_SQL, [buyer_id], prepare=True).fetchall()
                with result.compute:
                    lines_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
                    for line in lines:
                        lines_of[line["amazon_order_id"]].append(line)
                    features = _features_of_buyer(buyer, orders, lines_of, threads, set(), NOW)
                    members = [name for name, _, selects in SEGMENTS if selects(features)]
                    primary = members[0] if members else ""
                    still_open = {row["segment"]: row["valid_from"] for row in open_rows}
                with result.write:
                    values = {
                        k: None if isinstance(v, float) and math.isnan(v) else v for k, v in features.items()
                    }
                    cursor.execute(
                        UPDATE_BUYER_SQL,
                        {**values, "segment": primary, "features_computed_at": NOW, "buyer_id": buyer_id},
                        prepare=True,
                    )
                    for name in members:
                        if name not in still_open:
                            cursor.execute(ENTER_SQL, [buyer_id, name, NOW, name == primary], prepare=True)
                    for name, valid_from in still_open.items():
                        if name not in members:
                            cursor.execute(LEAVE_SQL, [NOW, buyer_id, name, valid_from], prepare=True)
                result.features.append({"buyer_id": buyer_id, **features})
                result.primary[buyer_id] = primary
                result.buyers = n
                if n % 500 == 0:
                    print(
                        f"  per-buyer SQL loop {n:>9,} buyers {result.seconds:7.1f} s", end="\r", flush=True
                    )
            with Timer() as round_trips:
                for _ in range(ROUND_TRIPS):
                    cursor.execute("SELECT 1", prepare=True).fetchall()
            result.round_trip_ms = round_trips.seconds / ROUND_TRIPS * 1000
        finally:
            connection.rollback()
    print(" " * 60, end="\r")
    result.rule_frame_ms = rule_frame_cost_ms(result.features[:200], segments)
    return result


def rule_frame_cost_ms(rows: list[dict[str, Any]], segments: Sequence[Segment]) -> float:
    """What the loop would spend per buyer evaluating the parsed rules (vectorised only) on a one-row frame."""
    if not rows:
        return 0.0
    with Timer() as timer:
        for row in rows:
            frame = pd.DataFrame([row]).set_index("buyer_id")
            [bool(segment.rule.evaluate(frame).iloc[0]) for segment in segments]
    return timer.seconds / len(rows) * 1000


# -- baseline 2: the per-buyer loop over frames in memory --------------------------------------------------------


@dataclass
class InMemoryLoop:
    read_seconds: float
    restrict_seconds: float
    seconds: float
    features: pd.DataFrame


def per_buyer_loop_in_memory(engine: sa.Engine, sample_ids: list[str]) -> InMemoryLoop:
    """Baseline 2: features_per_buyer_loop over read_frames' frames restricted to the sample."""
    with Timer() as reading:
        frames = read_frames(engine)
    with Timer() as restricting:
        sample = frames["buyers"]["buyer_id"].isin(sample_ids).to_numpy()
        orders = frames["orders"][frames["orders"]["buyer_id"].isin(sample_ids).to_numpy()]
        restricted = {
            "buyers": frames["buyers"][sample],
            "orders": orders,
            "items": frames["items"][
                frames["items"]["amazon_order_id"].isin(orders["amazon_order_id"]).to_numpy()
            ],
            "threads": frames["threads"][frames["threads"]["buyer_id"].isin(sample_ids).to_numpy()],
            "contacted": frames["contacted"],
        }
        del frames, orders
    with Timer() as looping:
        features = features_per_buyer_loop(**restricted, now=NOW)
    return InMemoryLoop(reading.seconds, restricting.seconds, looping.seconds, features)


# -- agreement -----------------------------------------------------------------------------------------------------


def disagreements(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict[str, int]:
    """Buyers whose value differs, per feature (floats within 1e-9 relative; missing equals missing)."""
    theirs = theirs.reindex(index=ours.index)
    found = {}
    for column, kind in FEATURE_KINDS.items():
        a, b = ours[column], theirs[column]
        if kind == "float":
            same = np.isclose(a.to_numpy(float), pd.to_numeric(b).to_numpy(float), rtol=1e-9, equal_nan=True)
        else:
            same = a.astype(object).to_numpy() == b.astype(object).to_numpy()
        if (~same).any():
            found[column] = int((~same).sum())
    return found


def stored_primary(engine: sa.Engine, buyer_ids: list[str]) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.dim_buyers.c.buyer_id, t.dim_buyers.c.segment).where(
                t.dim_buyers.c.buyer_id.in_(buyer_ids)
            )
        )
        return {buyer_id: segment for buyer_id, segment in rows}


# -- the run -------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--buyers", type=int, default=1_000_000, help="buyers in dim_buyers (default 1000000)"
    )
    parser.add_argument(
        "--orders", type=int, default=3_000_000, help="orders in fct_orders (default 3000000)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        help="buyers of both per-buyer baselines (default 10000, at most a tenth of --buyers)",
    )
    parser.add_argument(
        "--url", help="URL of an existing PostgreSQL server (default: a throwaway one in /dev/shm)"
    )
    args = parser.parse_args(argv)
    sample_size = min(args.sample or min(10_000, max(1, args.buyers // 10)), args.buyers)
    segments = tuple(Segment(name, parse_rule(name, rule, FEATURE_KINDS)) for name, rule, _ in SEGMENTS)

    print(
        f"segments bench: {args.buyers:,} buyers, {args.orders:,} orders; baseline sample {sample_size:,} buyers"
    )
    with ExitStack() as stack:
        if args.url:
            server_url = args.url
        else:
            with Timer() as starting:
                server_url = stack.enter_context(throwaway_postgres())
            print(f"throwaway PostgreSQL up in {starting.seconds:.1f} s")
        engine = stack.enter_context(fresh_database(server_url, DATABASE))

        with Timer() as drawing:
            seller = SyntheticSeller(args.buyers, args.orders)
        filled = fill(engine, seller, drawing.seconds)
        picked = np.random.default_rng(SEED + 1).choice(args.buyers, size=sample_size, replace=False)
        sample_ids = [seller.buyer_ids[n] for n in picked.tolist()]
        del seller
        fill_peak_mb = peak_memory_mb()
        report_fill(filled, engine, fill_peak_mb)

        print("baseline 1: per-buyer SQL loop ...", flush=True)
        sql_loop = per_buyer_sql_loop(engine, sample_ids, segments)
        print("ours: segment_buyers ...", flush=True)
        ours = run_ours(engine, segments, sample_ids)
        print(" " * 80, end="\r")
        ours_primary = stored_primary(engine, sample_ids)
        print("baseline 2: features_per_buyer_loop in memory ...", flush=True)
        memory_loop = per_buyer_loop_in_memory(engine, sample_ids)

    report(args.buyers, ours, sql_loop, memory_loop, ours_primary, segments)
    return 0


# -- the report ----------------------------------------------------------------------------------------------------


def report_fill(filled: Fill, engine: sa.Engine, fill_peak_mb: float) -> None:
    with engine.connect() as conn:
        c = t.fct_orders.c
        orders = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(c.buyer_id),
                sa.func.count().filter(c.is_cancelled),
                sa.func.count(c.replaces_order_id),
                sa.func.count(sa.distinct(c.currency)),
            )
        ).one()
        business = conn.execute(
            sa.select(sa.func.count()).where(t.dim_buyers.c.is_business_buyer)
        ).scalar_one()
        talkers = conn.execute(sa.select(sa.func.count(sa.distinct(t.dim_threads.c.buyer_id)))).scalar_one()
        size = conn.exec_driver_sql(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).scalar_one()
    rows = filled.rows
    print(
        f"filled in {filled.seconds:.1f} s (not counted): drawing {filled.draw_seconds:.1f} s, COPY"
        f" {filled.copy_seconds:.1f} s, rebuilding indexes {filled.index_seconds:.1f} s, VACUUM ANALYZE"
        f" {filled.vacuum_seconds:.1f} s; database {size}; peak memory so far {fill_peak_mb:,.0f} MB"
    )
    print(
        f"  dim_buyers {rows['dim_buyers']:,} ({business:,} business); fct_orders {orders[0]:,} ({orders[1]:,} with"
        f" a buyer, {orders[2]:,} cancelled, {orders[3]:,} replacements, {orders[4]} currencies); fct_order_items"
        f" {rows['fct_order_items']:,} ({rows['fct_order_items'] / max(orders[0], 1):.2f} an order); dim_threads"
        f" {rows['dim_threads']:,} of {talkers:,} buyers"
    )


def report(
    buyers: int,
    ours: Ours,
    sql_loop: LoopResult,
    memory_loop: InMemoryLoop,
    ours_primary: dict[str, str],
    segments: Sequence[Segment],
) -> None:
    sample = sql_loop.buyers
    phases = ours.phases.seconds
    print()
    print(f"ours: segment_buyers over {ours.run.buyers:,} buyers, {ours.seconds:.1f} s")
    header = f"  {'phase':44} {'seconds':>8} {'share':>6} {'peak MB after':>14}"
    print(header)
    print("  " + "-" * (len(header) - 2))

    def line(label: str, seconds: float, indent: int = 0, peak_key: str | None = None) -> None:
        peak = ours.phases.peak_mb.get(peak_key or label)
        after = f"{peak:>14,.0f}" if peak is not None else ""
        print(f"  {' ' * indent}{label:{44 - indent}} {seconds:>8.2f} {seconds / ours.seconds:>6.0%} {after}")

    counted = 0.0
    for label, seconds in phases.items():
        rows = ours.phases.rows.get(label)
        line(label if rows is None else f"{label} ({rows:,} rows)", seconds, peak_key=label)
        counted += seconds
    frames = [(label, rows) for label, rows in ours.phases.rows.items() if label.startswith("read_frames: ")]
    print("  read side by side: " + ", ".join(f"{label[13:]} {rows:,}" for label, rows in frames) + " rows")
    line("the rest (moves merge, counts, commit)", ours.seconds - counted)
    ours.phases.peak_mb["total"] = ours.peak_mb
    line("total", ours.seconds)
    if ours.phases.not_found:
        print(f"  (not timed apart, not found in membership.py: {', '.join(ours.phases.not_found)})")
    run = ours.run
    print(
        "  members: "
        + ", ".join(f"{s.name} {run.members.get(s.name, 0):,}" for s in segments)
        + f"; no segment {run.primary.get('', 0):,}; buyers updated {run.buyers_updated:,}"
    )

    def per_buyer_ms(seconds: float) -> float:
        return seconds / sample * 1000 if sample else 0.0

    sql_full = sql_loop.seconds / sample * buyers if sample else 0.0
    memory_full = memory_loop.seconds / sample * buyers if sample else 0.0
    compute = phases.get("compute_features", 0.0)
    print()
    print(f"baseline 1, per-buyer SQL loop ({sample:,} buyers, rolled back): {sql_loop.seconds:.2f} s")
    print(
        f"  per buyer: queries {per_buyer_ms(sql_loop.read.seconds):.3f} ms, features and rules"
        f" {per_buyer_ms(sql_loop.compute.seconds):.3f} ms, writes {per_buyer_ms(sql_loop.write.seconds):.3f} ms;"
        f" {buyers:,} buyers would take {sql_full:,.0f} s"
    )
    print(
        f"  (rules as Python predicates; the parsed rules' Rule.evaluate on a one-row frame per buyer would add"
        f" {sql_loop.rule_frame_ms:.2f} ms a buyer); a bare round trip (SELECT 1, prepared) costs"
        f" {sql_loop.round_trip_ms:.3f} ms here, the loop makes {ROUNDS_PER_BUYER}+ a buyer"
    )
    print(
        f"baseline 2, features_per_buyer_loop over frames in memory ({sample:,} buyers): {memory_loop.seconds:.2f} s;"
        f" {buyers:,} buyers would take {memory_full:,.0f} s"
    )
    print(
        f"  (not counted: read_frames again {memory_loop.read_seconds:.1f} s, restricting the frames to the sample"
        f" {memory_loop.restrict_seconds:.1f} s)"
    )

    print()
    b1 = disagreements(ours.sample_features, pd.DataFrame(sql_loop.features).set_index("buyer_id"))
    b2 = disagreements(ours.sample_features, memory_loop.features)
    primary_differs = sum(ours_primary.get(b) != p for b, p in sql_loop.primary.items())
    for name, found in (("baseline 1", b1), ("baseline 2", b2)):
        verdict = (
            "agree" if not found else "DISAGREE on " + ", ".join(f"{c} ({n:,})" for c, n in found.items())
        )
        print(f"ours and {name}: {len(ours.sample_features):,} sampled buyers' features {verdict}")
    print(
        f"ours and baseline 1: primary segments {'agree' if not primary_differs else 'DIFFER'}"
        f" ({sample - primary_differs:,} of {sample:,} the same)"
    )

    ratio_sql = sql_full / ours.seconds if ours.seconds else 0.0
    ratio_memory_whole = memory_full / ours.seconds if ours.seconds else 0.0
    ratio_memory_compute = memory_full / compute if compute else 0.0
    peak = ours.peak_mb
    print()
    verdicts = (
        (
            "ours vs the per-buyer SQL loop (the issue's)",
            f"{ratio_sql:.1f}x",
            f"goal >= {GOAL_RATIO:.0f}x",
            "PASS" if ratio_sql >= GOAL_RATIO else "MISS",
        ),
        ("ours end to end vs the in-memory loop", f"{ratio_memory_whole:.1f}x", "no goal", ""),
        (
            "compute_features vs the in-memory loop",
            f"{ratio_memory_compute:.1f}x",
            "no goal (like for like)",
            "",
        ),
        (
            "peak memory of the process during ours",
            f"{peak:,.0f} MB",
            f"goal < {GOAL_PEAK_MB:,.0f} MB",
            "PASS" if peak < GOAL_PEAK_MB else "MISS",
        ),
    )
    for label, value, goal, verdict in verdicts:
        print(f"{label:46} {value:>9}   {goal:24} {verdict}")
    print(
        "(peak memory: VmHWM of this process, reset when ours starts, so what the fill and baseline 1 left"
        " allocated still counts and the fill's own peak does not; the PostgreSQL server not counted)"
    )


if __name__ == "__main__":
    sys.exit(main())
