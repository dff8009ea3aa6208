"""Reply-time SLA: business-time arithmetic across time zones and DST, and the clock of a thread."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerreach.inbox.sla import (
    BusinessHours,
    MessageEvent,
    SlaPolicy,
    SlaState,
    add_sla_time,
    replay_sla,
    sla_time_between,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")

MON_FRI = frozenset(range(5))
NINE_TO_FIVE = BusinessHours(MON_FRI, time(9), time(17))
EVERY_DAY = frozenset(range(7))

AROUND_THE_CLOCK = SlaPolicy()
BERLIN_24_7 = SlaPolicy(time_zone="Europe/Berlin")
LOS_ANGELES_24_7 = SlaPolicy(time_zone="America/Los_Angeles")
LOS_ANGELES_OFFICE = SlaPolicy(hours=8, time_zone="America/Los_Angeles", business_hours=NINE_TO_FIVE)
BERLIN_OFFICE = SlaPolicy(
    hours=8,
    time_zone="Europe/Berlin",
    business_hours=NINE_TO_FIVE,
    holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)}),
)
LONDON_OFFICE = SlaPolicy(hours=8, time_zone="Europe/London", business_hours=NINE_TO_FIVE)
TOKYO_OFFICE = SlaPolicy(
    hours=16,
    time_zone="Asia/Tokyo",
    business_hours=NINE_TO_FIVE,
    holidays=frozenset({date(2026, 4, 29), date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6)}),
)
TOKYO_SATURDAYS = SlaPolicy(
    hours=24, time_zone="Asia/Tokyo", business_hours=BusinessHours(frozenset(range(6)), time(10), time(19))
)
# opening hours that contain the DST change itself (02:00 local in the US)
LOS_ANGELES_NIGHT_SHIFT = SlaPolicy(
    hours=2, time_zone="America/Los_Angeles", business_hours=BusinessHours(EVERY_DAY, time(1), time(4))
)
# opens at a wall time that does not exist on 2026-03-08 (02:00 -> 03:00)
LOS_ANGELES_OPENS_IN_THE_GAP = SlaPolicy(
    hours=1, time_zone="America/Los_Angeles", business_hours=BusinessHours(EVERY_DAY, time(2, 30), time(5))
)
LOS_ANGELES_SEVEN_DAYS = SlaPolicy(
    hours=8, time_zone="America/Los_Angeles", business_hours=BusinessHours(EVERY_DAY, time(9), time(17))
)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "hours", "policy", "due"),
    [
        pytest.param(utc(2026, 5, 4, 10), 24, AROUND_THE_CLOCK, utc(2026, 5, 5, 10), id="24/7-utc"),
        # 24/7 is elapsed time: across a DST change the local due time moves by the hour that went or came
        pytest.param(
            local(BERLIN, 2026, 3, 28, 12),
            24,
            BERLIN_24_7,
            local(BERLIN, 2026, 3, 29, 13),
            id="24/7-eu-spring",
        ),
        pytest.param(
            local(BERLIN, 2026, 10, 24, 12),
            24,
            BERLIN_24_7,
            local(BERLIN, 2026, 10, 25, 11),
            id="24/7-eu-autumn",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 7, 12),
            24,
            LOS_ANGELES_24_7,
            local(LOS_ANGELES, 2026, 3, 8, 13),
            id="24/7-us-spring",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 10, 31, 12),
            24,
            LOS_ANGELES_24_7,
            local(LOS_ANGELES, 2026, 11, 1, 11),
            id="24/7-us-autumn",
        ),
        # business hours: 09:00-17:00 local before and after the change
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 6, 15),
            8,
            LOS_ANGELES_OFFICE,
            local(LOS_ANGELES, 2026, 3, 9, 15),
            id="office-us-spring-weekend",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 10, 30, 16),
            4,
            LOS_ANGELES_OFFICE,
            local(LOS_ANGELES, 2026, 11, 2, 12),
            id="office-us-autumn-weekend",
        ),
        pytest.param(
            local(BERLIN, 2026, 3, 27, 16),
            8,
            BERLIN_OFFICE,
            local(BERLIN, 2026, 3, 30, 16),
            id="office-eu-spring",
        ),
        pytest.param(
            local(BERLIN, 2026, 10, 23, 16),
            8,
            BERLIN_OFFICE,
            local(BERLIN, 2026, 10, 26, 16),
            id="office-eu-autumn",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 8, 8),
            8,
            LOS_ANGELES_SEVEN_DAYS,
            local(LOS_ANGELES, 2026, 3, 8, 17),
            id="office-on-the-us-spring-day",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 11, 1, 8),
            8,
            LOS_ANGELES_SEVEN_DAYS,
            local(LOS_ANGELES, 2026, 11, 1, 17),
            id="office-on-the-us-autumn-day",
        ),
        # starts outside business hours
        pytest.param(
            local(LONDON, 2026, 6, 6, 10),
            4,
            LONDON_OFFICE,
            local(LONDON, 2026, 6, 8, 13),
            id="starts-saturday",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 13, 7, 30),
            2,
            LONDON_OFFICE,
            local(LONDON, 2026, 1, 13, 11),
            id="starts-before-opening",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 13, 18),
            2,
            LONDON_OFFICE,
            local(LONDON, 2026, 1, 14, 11),
            id="starts-after-closing",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 13, 17),
            1,
            LONDON_OFFICE,
            local(LONDON, 2026, 1, 14, 10),
            id="starts-at-closing",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 16, 9),
            8,
            LONDON_OFFICE,
            local(LONDON, 2026, 1, 16, 17),
            id="ends-at-closing-not-next-opening",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 13, 12), 0, LONDON_OFFICE, local(LONDON, 2026, 1, 13, 12), id="zero-hours"
        ),
        # holidays
        pytest.param(
            local(BERLIN, 2026, 12, 24, 15), 8, BERLIN_OFFICE, local(BERLIN, 2026, 12, 28, 15), id="christmas"
        ),
        pytest.param(
            local(BERLIN, 2026, 12, 31, 16), 2, BERLIN_OFFICE, local(BERLIN, 2027, 1, 4, 10), id="new-year"
        ),
        pytest.param(
            local(TOKYO, 2026, 4, 30, 10),
            16,
            TOKYO_OFFICE,
            local(TOKYO, 2026, 5, 7, 10),
            id="tokyo-golden-week",
        ),
        # a start given in UTC counts in the policy's zone: Friday 19:30 in Tokyo, after closing; Saturday works
        pytest.param(
            utc(2026, 7, 3, 10, 30), 24, TOKYO_SATURDAYS, local(TOKYO, 2026, 7, 7, 16), id="tokyo-from-utc"
        ),
        # hours containing the change: 01:00-04:00 is 2 h real time in spring, 4 h in autumn
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 8, 0),
            2,
            LOS_ANGELES_NIGHT_SHIFT,
            local(LOS_ANGELES, 2026, 3, 8, 4),
            id="night-shift-us-spring",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 8, 0),
            2.5,
            LOS_ANGELES_NIGHT_SHIFT,
            local(LOS_ANGELES, 2026, 3, 9, 1, 30),
            id="night-shift-us-spring-overflow",
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 11, 1, 0),
            4,
            LOS_ANGELES_NIGHT_SHIFT,
            utc(2026, 11, 1, 12),  # 04:00 PST, after 01:00-02:00 was lived twice
            id="night-shift-us-autumn",
        ),
        # 02:30 does not exist on 2026-03-08: it is read as 02:30 PST, i.e. 03:30 PDT
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 8, 0),
            1,
            LOS_ANGELES_OPENS_IN_THE_GAP,
            local(LOS_ANGELES, 2026, 3, 8, 4, 30),
            id="opens-in-the-spring-gap",
        ),
    ],
)
def test_add_sla_time(start, hours, policy, due):
    result = add_sla_time(start, hours, policy)
    assert result == due
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "policy", "elapsed"),
    [
        pytest.param(
            local(LOS_ANGELES, 2026, 3, 6, 15),
            local(LOS_ANGELES, 2026, 3, 9, 10),
            LOS_ANGELES_OFFICE,
            timedelta(hours=3),
            id="office-over-us-spring-weekend",
        ),
        pytest.param(
            local(BERLIN, 2026, 3, 29, 0),
            local(BERLIN, 2026, 3, 30, 0),
            BERLIN_24_7,
            timedelta(hours=23),
            id="24/7-eu-spring-day-is-23h",
        ),
        pytest.param(
            local(BERLIN, 2026, 10, 25, 0),
            local(BERLIN, 2026, 10, 26, 0),
            BERLIN_24_7,
            timedelta(hours=25),
            id="24/7-eu-autumn-day-is-25h",
        ),
        pytest.param(
            local(LONDON, 2026, 6, 6, 10),
            local(LONDON, 2026, 6, 7, 20),
            LONDON_OFFICE,
            timedelta(0),
            id="weekend-only",
        ),
        pytest.param(
            local(BERLIN, 2026, 12, 24, 12),
            local(BERLIN, 2026, 12, 29, 12),
            BERLIN_OFFICE,
            timedelta(hours=5 + 8 + 3),
            id="over-christmas",
        ),
        pytest.param(
            local(LONDON, 2026, 1, 13, 12),
            local(LONDON, 2026, 1, 13, 11),
            LONDON_OFFICE,
            timedelta(0),
            id="end-before-start",
        ),
        pytest.param(
            utc(2026, 1, 13, 12), utc(2026, 1, 13, 12), AROUND_THE_CLOCK, timedelta(0), id="end-equals-start"
        ),
        pytest.param(
            local(LOS_ANGELES, 2026, 10, 31, 20),
            local(LOS_ANGELES, 2026, 11, 2, 0),
            LOS_ANGELES_NIGHT_SHIFT,
            timedelta(hours=4),
            id="night-shift-autumn-day-is-4h",
        ),
    ],
)
def test_sla_time_between(start, end, policy, elapsed):
    assert sla_time_between(start, end, policy) == elapsed


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BusinessHours(MON_FRI, time(17), time(9)), "close after they open"),
        (lambda: BusinessHours(MON_FRI, time(9), time(9)), "close after they open"),
        (lambda: BusinessHours(frozenset(), time(9), time(17)), "at least one working weekday"),
        (lambda: BusinessHours(frozenset({7}), time(9), time(17)), r"\[7\]"),
        (lambda: BusinessHours(MON_FRI, time(9, tzinfo=UTC), time(17)), "without tzinfo"),
        (lambda: SlaPolicy(hours=0), "positive"),
        (lambda: SlaPolicy(hours=float("nan")), "positive"),
        (lambda: SlaPolicy(near_breach_hours=-1), "near_breach_hours"),
        (lambda: SlaPolicy(time_zone="Mars/Olympus_Mons"), "Mars/Olympus_Mons"),
        (lambda: SlaPolicy(time_zone="../etc/passwd"), "unknown time zone"),
        (lambda: add_sla_time(datetime(2026, 5, 4, 10), 1, AROUND_THE_CLOCK), "naive"),
        (lambda: add_sla_time(utc(2026, 5, 4, 10), -1, AROUND_THE_CLOCK), "zero or more"),
        (lambda: sla_time_between(utc(2026, 5, 4), datetime(2026, 5, 5), AROUND_THE_CLOCK), "naive"),
        (
            lambda: add_sla_time(
                utc(2026, 1, 1),
                1,
                SlaPolicy(
                    business_hours=NINE_TO_FIVE,
                    holidays=frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(800)),
                ),
            ),
            "no business time in 366 days",
        ),
    ],
)
def test_invalid_input_is_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_holidays_do_not_stop_an_around_the_clock_policy():
    policy = SlaPolicy(holidays=frozenset({date(2026, 12, 25)}))
    assert add_sla_time(utc(2026, 12, 24, 12), 24, policy) == utc(2026, 12, 25, 12)


def test_weekdays_and_holidays_given_as_sets_are_frozen():
    policy = SlaPolicy(business_hours=BusinessHours({0, 1}, time(9), time(17)), holidays={date(2026, 1, 1)})
    assert isinstance(policy.business_hours.weekdays, frozenset)
    assert isinstance(policy.holidays, frozenset)
    hash(policy)


# --- the clock of a thread -------------------------------------------------------------------------------------

T0 = utc(2026, 5, 4, 8)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def thread(*messages: tuple[float, str]) -> list[MessageEvent]:
    return [MessageEvent(at(hours), direction) for hours, direction in messages]


def state(
    started=None,
    due=None,
    first_response=None,
    breaches=0,
    near=False,
    responses=(),
) -> SlaState:
    return SlaState(
        clock_started_at=None if started is None else at(started),
        due_at=None if due is None else at(due),
        first_response_at=None if first_response is None else at(first_response),
        is_breached=breaches > 0,
        breaches=breaches,
        is_near_breach=near,
        responses=tuple((at(s), at(a), timedelta(hours=taken)) for s, a, taken in responses),
    )


@pytest.mark.parametrize(
    ("events", "marks", "now", "expected"),
    [
        pytest.param([], [], 5, state(), id="empty-thread"),
        pytest.param(thread((0, "in")), [], 1, state(0, 24), id="running"),
        pytest.param(thread((0, "in")), [], 20, state(0, 24), id="exactly-4h-left-is-not-near"),
        pytest.param(thread((0, "in")), [], 21, state(0, 24, near=True), id="near-breach"),
        pytest.param(thread((0, "in")), [], 24, state(0, 24, near=True), id="at-due-is-not-breached"),
        pytest.param(thread((0, "in")), [], 25, state(0, 24, breaches=1), id="running-past-due"),
        pytest.param(
            thread((0, "in"), (2, "out")),
            [],
            30,
            state(first_response=2, responses=[(0, 2, 2)]),
            id="answered",
        ),
        pytest.param(
            thread((0, "in"), (24, "out")),
            [],
            30,
            state(first_response=24, responses=[(0, 24, 24)]),
            id="reply-at-due",
        ),
        pytest.param(
            thread((0, "in"), (25, "out")),
            [],
            30,
            state(first_response=25, breaches=1, responses=[(0, 25, 25)]),
            id="late-reply",
        ),
        pytest.param(
            thread((0, "in"), (5, "in")), [], 10, state(0, 24), id="second-buyer-message-keeps-due-time"
        ),
        pytest.param(
            thread((0, "in"), (5, "in"), (21, "in")),
            [],
            22,
            state(0, 24, near=True),
            id="oldest-unanswered-message-sets-due-time",
        ),
        pytest.param(
            thread((0, "in"), (2, "out"), (30, "in"), (60, "out"), (70, "in")),
            [],
            71,
            state(70, 94, first_response=2, breaches=1, responses=[(0, 2, 2), (30, 60, 30)]),
            id="restarts",
        ),
        pytest.param(
            thread((0, "in"), (30, "out"), (40, "in")),
            [],
            70,
            state(40, 64, first_response=30, breaches=2, responses=[(0, 30, 30)]),
            id="two-breaches",
        ),
        pytest.param(
            thread((70, "in"), (60, "out"), (0, "in"), (30, "in"), (2, "out")),
            [],
            71,
            state(70, 94, first_response=2, breaches=1, responses=[(0, 2, 2), (30, 60, 30)]),
            id="any-input-order",
        ),
        pytest.param(
            thread((0, "in"), (1, "out"), (2, "in"), (2, "out")),
            [],
            3,
            state(first_response=1, responses=[(0, 1, 1), (2, 2, 0)]),
            id="tie-buyer-before-reply",
        ),
        pytest.param(thread((0, "out"), (1, "out")), [], 100, state(), id="seller-initiated-only"),
        pytest.param(
            thread((0, "out"), (1, "in"), (3, "out")),
            [],
            5,
            state(first_response=3, responses=[(1, 3, 2)]),
            id="seller-initiated-then-buyer",
        ),
        pytest.param(
            thread((0, "out"), (1, "in")), [], 26, state(1, 25, breaches=1), id="seller-initiated-unanswered"
        ),
        pytest.param(thread((0, "in")), [1], 30, state(), id="no-response-needed"),
        pytest.param(thread((0, "in")), [30], 31, state(breaches=1), id="no-response-needed-after-due"),
        pytest.param(
            thread((0, "in"), (1, "out"), (3, "in")),
            [2],
            4,
            state(3, 27, first_response=1, responses=[(0, 1, 1)]),
            id="no-response-needed-while-stopped-does-nothing",
        ),
        pytest.param(
            thread((0, "in"), (5, "in")),
            [1],
            6,
            state(5, 29),
            id="buyer-writes-again-after-no-response-needed",
        ),
        pytest.param(
            thread((0, "in"), (3, "out")),
            [1],
            4,
            state(first_response=3),
            id="reply-after-no-response-needed-is-no-period",
        ),
        pytest.param(
            thread((0, "in"), (1, "out")),
            [1],
            2,
            state(first_response=1, responses=[(0, 1, 1)]),
            id="tie-reply-before-mark",
        ),
        pytest.param(thread((0, "in")), [0], 2, state(), id="tie-buyer-before-mark"),
        pytest.param(
            thread((0, "in"), (10, "out")),
            [],
            5,
            state(first_response=10, responses=[(0, 10, 10)]),
            id="events-after-now-count",
        ),
    ],
)
def test_replay_sla(events, marks, now, expected):
    result = replay_sla(events, AROUND_THE_CLOCK, at(now), [at(hours) for hours in marks])
    assert result == expected
    for instant in (result.clock_started_at, result.due_at, result.first_response_at):
        assert instant is None or instant.tzinfo is UTC


FRIDAY_16 = local(LONDON, 2026, 1, 16, 16)


@pytest.mark.parametrize(
    ("now", "near_breach_hours", "near", "breached"),
    [
        pytest.param(local(LONDON, 2026, 1, 17, 12), 4, False, False, id="saturday-7h-left"),
        pytest.param(local(LONDON, 2026, 1, 17, 12), 8, True, False, id="saturday-7h-left-near-at-8h"),
        pytest.param(local(LONDON, 2026, 1, 19, 10), 4, False, False, id="monday-6h-left"),
        pytest.param(local(LONDON, 2026, 1, 19, 13), 4, True, False, id="monday-3h-left"),
        pytest.param(local(LONDON, 2026, 1, 19, 16, 1), 4, False, True, id="monday-past-due"),
        pytest.param(local(LONDON, 2026, 1, 19, 13), 0, False, False, id="near-breach-off"),
    ],
)
def test_replay_sla_in_business_hours(now, near_breach_hours, near, breached):
    policy = SlaPolicy(
        hours=8, time_zone="Europe/London", business_hours=NINE_TO_FIVE, near_breach_hours=near_breach_hours
    )
    result = replay_sla([MessageEvent(FRIDAY_16, "in")], policy, now)
    assert result.due_at == local(LONDON, 2026, 1, 19, 16)
    assert (result.is_near_breach, result.is_breached, result.breaches) == (near, breached, int(breached))


def test_replay_sla_records_business_time_taken():
    monday_10 = local(LONDON, 2026, 1, 19, 10)
    result = replay_sla(
        [MessageEvent(FRIDAY_16, "in"), MessageEvent(monday_10, "out")], LONDON_OFFICE, monday_10
    )
    assert result.responses == ((FRIDAY_16, monday_10, timedelta(hours=2)),)
    assert not result.is_breached


@pytest.mark.parametrize(
    ("events", "now", "marks", "message"),
    [
        ([MessageEvent(datetime(2026, 5, 4, 8), "in")], T0, [], "naive"),
        ([MessageEvent(T0, "both")], T0, [], "'both'"),
        ([MessageEvent(T0, "in")], datetime(2026, 5, 4, 9), [], "naive"),
        ([MessageEvent(T0, "in")], T0, [datetime(2026, 5, 4, 9)], "naive"),
    ],
)
def test_replay_sla_refuses_bad_input(events, now, marks, message):
    with pytest.raises(ValueError, match=message):
        replay_sla(events, AROUND_THE_CLOCK, now, marks)


# --- properties ------------------------------------------------------------------------------------------------

POLICIES = [
    AROUND_THE_CLOCK,
    BERLIN_24_7,
    LOS_ANGELES_OFFICE,
    BERLIN_OFFICE,
    LONDON_OFFICE,
    TOKYO_OFFICE,
    TOKYO_SATURDAYS,
    LOS_ANGELES_NIGHT_SHIFT,
    LOS_ANGELES_OPENS_IN_THE_GAP,
    SlaPolicy(time_zone="Europe/London", business_hours=BusinessHours(EVERY_DAY, time(0, 30), time(1, 30))),
]
ZONES = [UTC, LOS_ANGELES, BERLIN, LONDON, TOKYO]

starts = st.datetimes(
    min_value=datetime(2025, 10, 1), max_value=datetime(2027, 4, 30), timezones=st.sampled_from(ZONES)
)
sla_hours = st.floats(min_value=0, max_value=200, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(start=starts, hours=sla_hours, policy=st.sampled_from(POLICIES))
def test_time_between_inverts_add(start, hours, policy):
    due = add_sla_time(start, hours, policy)
    assert due >= start
    assert sla_time_between(start, due, policy) == timedelta(hours=hours)


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=st.lists(sla_hours, min_size=2, max_size=2), policy=st.sampled_from(POLICIES))
def test_add_is_monotonic_in_hours(start, hours, policy):
    fewer, more = sorted(hours)
    assert add_sla_time(start, fewer, policy) <= add_sla_time(start, more, policy)


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=sla_hours, zone=st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"]))
def test_around_the_clock_is_plain_addition(start, hours, zone):
    due = add_sla_time(start, hours, SlaPolicy(time_zone=zone))
    assert due == start.astimezone(UTC) + timedelta(hours=hours)
    assert due.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(
    instants=st.lists(starts, min_size=3, max_size=3),
    policy=st.sampled_from(POLICIES),
)
def test_time_between_adds_up(instants, policy):
    first, middle, last = sorted(instants, key=lambda moment: moment.astimezone(UTC))
    assert sla_time_between(first, middle, policy) + sla_time_between(
        middle, last, policy
    ) == sla_time_between(first, last, policy)
