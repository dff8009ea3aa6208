"""Reply-time SLA of a buyer-message thread: business-time arithmetic and the clock of a conversation.

Amazon expects a reply to a buyer within 24 hours. A seller's policy (per channel and marketplace) sets the number
of hours and, optionally, business hours in the marketplace's time zone, in which case only time inside opening
hours on working, non-holiday local days counts. A thread's clock starts at a buyer message, stops at the seller's
reply or at a "no response needed" mark, and the oldest unanswered buyer message sets the due time.

Pure logic: every instant that comes in must be aware, every instant that goes out is aware UTC. Durations are
exact `timedelta`s (whole microseconds), so `sla_time_between` is the exact inverse of `add_sla_time`.

Wall times across DST: each day's opening and closing are local wall times resolved with `fold=0` and converted to
UTC. An ambiguous time (fall-back) is its first occurrence; a nonexistent time (spring-forward gap) is read with
the offset in force before the gap, so it lands the gap's length later (02:30 in a 02:00-03:00 gap is 03:30).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INBOUND = "in"  # buyer to seller
OUTBOUND = "out"  # seller to buyer

# a policy whose calendar leaves a whole year without business time can never come due
MAX_IDLE_DAYS = 366


@dataclass(frozen=True)
class BusinessHours:
    weekdays: frozenset[int]  # 0 = Monday .. 6 = Sunday
    opens: time  # local wall-clock time, e.g. time(9)
    closes: time  # > opens (no overnight shifts)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.weekdays:
            raise ValueError("business hours need at least one working weekday")
        unknown = sorted(day for day in self.weekdays if day not in range(7))
        if unknown:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {unknown}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opening hours are local wall-clock times: give them without tzinfo")
        if self.closes <= self.opens:
            raise ValueError(
                f"business hours must close after they open on the same day, got {self.opens}-{self.closes}"
            )


@dataclass(frozen=True)
class SlaPolicy:
    hours: float = 24.0
    time_zone: str = "UTC"  # IANA name
    business_hours: BusinessHours | None = None  # None: the clock runs around the clock
    holidays: frozenset[date] = frozenset()  # local days without business time; ignored if 24/7
    near_breach_hours: float = 4.0  # near breach when less than this is left, in the policy's own time

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if not (math.isfinite(self.hours) and self.hours > 0):
            raise ValueError(f"SLA hours must be a positive number, got {self.hours}")
        if not (math.isfinite(self.near_breach_hours) and self.near_breach_hours >= 0):
            raise ValueError(f"near_breach_hours must be zero or more, got {self.near_breach_hours}")
        _zone(self.time_zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)  # cached by zoneinfo
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'") from error


def _to_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # fold=0: see the module docstring for ambiguous and nonexistent wall times
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _opening_periods(
    start: datetime, policy: SlaPolicy, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """UTC (opens, closes) of each working day from the local day before `start`'s, in order.

    Stops after `until`'s local day; without `until`, raises ValueError after MAX_IDLE_DAYS days in a row without
    business time (empty calendar).
    """
    hours = policy.business_hours
    assert hours is not None
    zone = _zone(policy.time_zone)
    # one day back: a nonexistent closing time resolved forward may reach past local midnight
    day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = None if until is None else until.astimezone(zone).date()
    idle_days = 0
    while last_day is None or day <= last_day:
        opens = closes = None
        if day.weekday() in hours.weekdays and day not in policy.holidays:
            opens, closes = _local_to_utc(day, hours.opens, zone), _local_to_utc(day, hours.closes, zone)
        if opens is not None and closes is not None and closes > opens:
            idle_days = 0
            yield opens, closes
        else:
            idle_days += 1
            if until is None and idle_days > MAX_IDLE_DAYS:
                raise ValueError(
                    f"no business time in {MAX_IDLE_DAYS} days from {start.isoformat()}: "
                    "check the policy's weekdays and holidays"
                )
        day += timedelta(days=1)


def add_sla_time(start: datetime, hours: float, policy: SlaPolicy) -> datetime:
    """The aware UTC instant when `hours` of SLA time have passed since `start` (aware, any time zone).

    Around the clock: plain elapsed time, so DST changes do not shift it. Business hours: only time inside opening
    hours on working, non-holiday local days counts; counting from outside hours begins at the next opening, and
    an amount that runs out exactly at a closing time ends there. Zero hours is `start` itself.
    Raises ValueError on a naive `start`, negative or non-finite `hours`, or a calendar with no business time.
    """
    start = _to_utc(start, "start")
    if not (math.isfinite(hours) and hours >= 0):
        raise ValueError(f"SLA hours to add must be zero or more, got {hours}")
    remaining = timedelta(hours=hours)
    if policy.business_hours is None or remaining == timedelta(0):
        return start + remaining
    cursor = start
    for opens, closes in _opening_periods(start, policy):
        counted_from = max(opens, cursor)
        if closes <= counted_from:
            continue
        available = closes - counted_from
        if remaining <= available:
            return counted_from + remaining
        remaining -= available
        cursor = closes
    raise AssertionError("unreachable: _opening_periods is endless without `until`")


def sla_time_between(start: datetime, end: datetime, policy: SlaPolicy) -> timedelta:
    """SLA time elapsed from `start` to `end` (both aware); zero when end <= start. Inverse of add_sla_time.

    Raises ValueError on a naive datetime.
    """
    start, end = _to_utc(start, "start"), _to_utc(end, "end")
    if end <= start:
        return timedelta(0)
    if policy.business_hours is None:
        return end - start
    elapsed = timedelta(0)
    cursor = start
    for opens, closes in _opening_periods(start, policy, until=end):
        if opens >= end:
            break
        counted_from, counted_to = max(opens, cursor), min(closes, end)
        if counted_to > counted_from:
            elapsed += counted_to - counted_from
        cursor = max(cursor, closes)
    return elapsed


@dataclass(frozen=True)
class MessageEvent:
    at: datetime  # aware
    direction: str  # INBOUND ("in", buyer) or OUTBOUND ("out", seller)


@dataclass(frozen=True)
class SlaState:
    clock_started_at: datetime | None  # the oldest unanswered buyer message; None when the clock is stopped
    due_at: datetime | None  # clock_started_at + policy time; None when stopped
    first_response_at: datetime | None  # the first seller message after the thread's first buyer message
    is_breached: bool  # some clock period ended, or is running, past its due time (breaches > 0)
    breaches: int  # clock periods that ended (reply or no-response mark) or are running past their due time
    is_near_breach: bool  # running, not breached, less than near_breach_hours of SLA time left at `now`
    # per answered clock period: (started_at, answered_at, SLA time taken)
    responses: tuple[tuple[datetime, datetime, timedelta], ...]


_NO_RESPONSE_NEEDED = "no-response-needed"
# at the same instant: a buyer message starts the clock before a reply can stop it, and a reply beats a mark
_TIE_ORDER = {INBOUND: 0, OUTBOUND: 1, _NO_RESPONSE_NEEDED: 2}


def _timeline(
    events: Iterable[MessageEvent], no_response_needed_at: Iterable[datetime]
) -> list[tuple[datetime, str]]:
    timeline = []
    for event in events:
        if event.direction not in (INBOUND, OUTBOUND):
            raise ValueError(
                f"message direction must be {INBOUND!r} or {OUTBOUND!r}, got {event.direction!r}"
            )
        timeline.append((_to_utc(event.at, "message time"), event.direction))
    for mark in no_response_needed_at:
        timeline.append((_to_utc(mark, "no-response-needed time"), _NO_RESPONSE_NEEDED))
    timeline.sort(key=lambda entry: (entry[0], _TIE_ORDER[entry[1]]))
    return timeline


def replay_sla(
    events: Sequence[MessageEvent],
    policy: SlaPolicy,
    now: datetime,
    no_response_needed_at: Sequence[datetime] = (),
) -> SlaState:
    """Replay a thread's messages and no-response-needed marks (any order) into its SLA state at `now`.

    Sorted by time; at the same instant a buyer message comes before a reply, and a reply before a mark. A buyer
    message starts a stopped clock and leaves a running one alone; a reply stops it and records a response period;
    a mark stops it without one (a breach only when made after the due time) and does nothing to a stopped clock.
    Seller messages before the first buyer message are not a first response. Every event counts, even one later
    than `now` (clock skew); `now` only judges a running clock. A reply or mark exactly at the due time is on time.
    Raises ValueError on a naive datetime or an unknown direction.
    """
    now = _to_utc(now, "now")
    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    first_response_at: datetime | None = None
    buyer_has_written = False
    breaches = 0
    responses: list[tuple[datetime, datetime, timedelta]] = []

    for at, kind in _timeline(events, no_response_needed_at):
        if kind == INBOUND:
            buyer_has_written = True
            if clock_started_at is None:
                clock_started_at, due_at = at, add_sla_time(at, policy.hours, policy)
            continue
        if kind == OUTBOUND and buyer_has_written and first_response_at is None:
            first_response_at = at
        if clock_started_at is None or due_at is None:
            continue
        if kind == OUTBOUND:
            responses.append((clock_started_at, at, sla_time_between(clock_started_at, at, policy)))
        if at > due_at:
            breaches += 1
        clock_started_at = due_at = None

    is_near_breach = False
    if clock_started_at is not None and due_at is not None:
        if now > due_at:
            breaches += 1
        else:
            is_near_breach = sla_time_between(now, due_at, policy) < timedelta(hours=policy.near_breach_hours)
    return SlaState(
        clock_started_at=clock_started_at,
        due_at=due_at,
        first_response_at=first_response_at,
        is_breached=breaches > 0,
        breaches=breaches,
        is_near_breach=is_near_breach,
        responses=tuple(responses),
    )
