"""Late penalties: started days after the grace period, capped, zero after the cutoff, said in plain words."""

import datetime as dt

import pytest

from autograder.late import LateAssessment, LatePolicy, submission_time

CEST = dt.timezone(dt.timedelta(hours=2))
DEADLINE = dt.datetime(2026, 10, 2, 23, 59, tzinfo=CEST)
POLICY = LatePolicy(deadline=DEADLINE, grace_minutes=15, per_day_percent=10, max_percent=50, cutoff_days=7)


def after(**delta) -> dt.datetime:
    return DEADLINE + dt.timedelta(**delta)


@pytest.mark.parametrize("submitted, percent, note", [
    (after(hours=-1), 0, "submitted on time"),
    (DEADLINE, 0, "submitted on time"),
    (dt.datetime(2026, 10, 2, 21, 58, tzinfo=dt.timezone.utc), 0, "submitted on time"),  # 23:58 in CEST
    (after(minutes=10), 0, "submitted 10 min late, within the 15-minute grace period: no penalty"),
    (after(minutes=15), 0, "submitted 15 min late, within the 15-minute grace period: no penalty"),
    (after(minutes=16), 10, "submitted 16 min late: −10 % (2.0 points)"),
    (after(days=1, minutes=15), 10, "submitted 1 day late: −10 % (2.0 points)"),  # one whole day after grace
    (after(days=1, minutes=15, seconds=1), 20, "submitted 1 day late: −20 % (4.0 points)"),
    (after(days=1, hours=3), 20, "submitted 1 day 3 h late: −20 % (4.0 points)"),  # the 2nd day has started
    (after(days=3, hours=5, minutes=20), 40, "submitted 3 days 5 h late: −40 % (8.0 points)"),
    (after(days=6), 50, "submitted 6 days late (the penalty is capped at 50 %): −50 % (10.0 points)"),
    (after(days=7, minutes=15), 50, "submitted 7 days late (the penalty is capped at 50 %): −50 % (10.0 points)"),
    (after(days=7, minutes=16), 100, "submitted 7 days late, after the 7-day cutoff: −100 % (20.0 points)"),
])
def test_assess(submitted, percent, note):
    a = POLICY.assess(submitted, 20.0)
    assert (a.penalty_percent, a.penalty_points, a.final_score) == (percent, 20.0 * percent / 100,
                                                                    20.0 - 20.0 * percent / 100)
    assert a.note == note and a.submitted_at == submitted
    assert a.hours_late == pytest.approx(max(0.0, (submitted - DEADLINE).total_seconds() / 3600))


def test_unknown_time_costs_nothing_and_says_so():
    assert POLICY.assess(None, 12.0) == LateAssessment(None, 0.0, 0.0, 0.0, 12.0,
                                                       "submission time unknown: no late penalty applied")


def test_per_hour_and_small_spans():
    hourly = LatePolicy(deadline=DEADLINE, per_hour_percent=2)
    a = hourly.assess(after(minutes=90), 10.0)
    assert (a.penalty_percent, a.final_score, a.note) == (4, 9.6, "submitted 1 h 30 min late: −4 % (0.4 points)")
    assert hourly.assess(after(seconds=30), 10.0).note == "submitted 30 s late: −2 % (0.2 points)"
    assert hourly.assess(after(hours=5), 10.0).note == "submitted 5 h late: −10 % (1.0 points)"
    assert hourly.assess(after(days=9), 10.0).final_score == 0.0  # 100 % at most, never below zero


def test_cutoff_alone():
    strict = LatePolicy(deadline=DEADLINE, cutoff_days=2)
    a = strict.assess(after(days=1), 10.0)
    assert (a.penalty_percent, a.final_score) == (0, 10.0)
    assert a.note == "submitted 1 day late, before the 2-day cutoff: no penalty"
    assert strict.assess(after(days=3), 10.0).final_score == 0.0
    none_late = LatePolicy(deadline=DEADLINE, cutoff_days=0, grace_minutes=5)
    assert none_late.assess(after(minutes=5), 10.0).final_score == 10.0
    assert none_late.assess(after(minutes=6), 10.0).final_score == 0.0


def test_scores_never_go_below_zero():
    full = LatePolicy(deadline=DEADLINE, per_day_percent=100)
    assert full.assess(after(days=2), 7.0).final_score == 0.0
    assert POLICY.assess(after(days=2), 0.0).final_score == 0.0
    assert POLICY.assess(after(days=2), -1.0).final_score == 0.0


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        POLICY.assess(dt.datetime(2026, 10, 3, 12, 0), 10.0)


def test_submission_time_precedence():
    zip_time = after(hours=1)
    mtime = after(hours=2)
    roster_time = after(hours=-3)
    assert submission_time(roster_time, zip_time, mtime) == (roster_time, "roster")
    assert submission_time(None, zip_time, mtime) == (zip_time, "zip")
    assert submission_time(None, None, mtime) == (mtime, "file")
    assert submission_time(None, None, None) == (None, "unknown")
