"""Late penalties: a deadline from the spec's ``late`` key, and what a late submission loses.

Kept apart from grading so that a penalty is a plain function of the raw
score and a time: the same inputs always give the same final score and the
same sentence for the student.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math


class TimeSource(enum.StrEnum):
    """Where a submission time came from."""

    ROSTER = "roster"  # the roster's submitted_at: the LMS's own record
    ZIP = "zip"  # the export zip's member time, set where the student exported
    FILE = "file"  # the file's modification time (reset by downloads and copies)
    UNKNOWN = "unknown"


_DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class LateAssessment:
    """The late penalty of one submission, with a note that says it in plain words."""

    submitted_at: dt.datetime | None
    hours_late: float  # after the deadline itself (grace not subtracted); 0 when on time or unknown
    penalty_percent: float
    penalty_points: float
    final_score: float
    note: str


@dataclasses.dataclass(frozen=True)
class LatePolicy:
    """A deadline and what each started day (or hour) after it costs.

    Built and checked by ``spec.load`` from the ``late`` key. The grace period
    moves the point from which days, hours and the cutoff are counted, so a
    submission 10 minutes into a 15-minute grace is simply on time.
    """

    deadline: dt.datetime  # with a time zone
    grace_minutes: float = 0.0
    per_day_percent: float | None = None
    per_hour_percent: float | None = None
    max_percent: float = 100.0
    cutoff_days: float | None = None
    # Times from inside a student-made file are the student's to set (a zip's
    # member dates can be set to 1980) and a file's modification time is reset
    # by every download; both count only when the instructor opts in.
    trust_file_times: bool = False

    def assess(self, submitted_at: dt.datetime | None, raw_score: float) -> LateAssessment:
        """The penalty for a submission made at ``submitted_at`` that scored ``raw_score``."""
        if submitted_at is None:
            return LateAssessment(None, 0.0, 0.0, 0.0, max(0.0, raw_score),
                                  "submission time unknown: no late penalty applied")
        if submitted_at.tzinfo is None:  # a bug of the caller's: spec and roster times carry zones
            raise ValueError(f"submission time {submitted_at.isoformat()} has no time zone; "
                             "it cannot be compared with the deadline")
        late_by = submitted_at - self.deadline
        hours_late = max(0.0, late_by / _HOUR)
        past_grace = late_by - dt.timedelta(minutes=self.grace_minutes)
        if late_by <= dt.timedelta(0):
            return LateAssessment(submitted_at, 0.0, 0.0, 0.0, max(0.0, raw_score), "submitted on time")
        if past_grace <= dt.timedelta(0):
            return LateAssessment(submitted_at, hours_late, 0.0, 0.0, max(0.0, raw_score),
                                  f"submitted {_duration(late_by)} late, within the "
                                  f"{self.grace_minutes:g}-minute grace period: no penalty")

        late = f"submitted {_duration(late_by)} late"
        if self.cutoff_days is not None and past_grace > dt.timedelta(days=self.cutoff_days):
            percent, late = 100.0, f"{late}, after the {self.cutoff_days:g}-day cutoff"
        else:
            rate, unit = ((self.per_day_percent, _DAY) if self.per_day_percent is not None
                          else (self.per_hour_percent or 0.0, _HOUR))
            percent = round(math.ceil(past_grace / unit) * rate, 6)
            if percent >= self.max_percent:
                percent, late = self.max_percent, f"{late} (the penalty is capped at {self.max_percent:g} %)"
        if percent == 0:  # a policy with only a cutoff, before it
            before = f", before the {self.cutoff_days:g}-day cutoff" if self.cutoff_days is not None else ""
            return LateAssessment(submitted_at, hours_late, 0.0, 0.0, max(0.0, raw_score),
                                  f"{late}{before}: no penalty")
        points = max(0.0, raw_score) * percent / 100
        final = max(0.0, raw_score - points)
        note = f"{late}: −{percent:g} % ({round(points, 2)} points)"
        return LateAssessment(submitted_at, hours_late, percent, points, final, note)


def _duration(span: dt.timedelta) -> str:
    """A span in words, to the minute: '2 days 3 h', '5 h 20 min', '45 min' (seconds under a minute)."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def submission_time(roster_time: dt.datetime | None, zip_time: dt.datetime | None,
                    file_mtime: dt.datetime | None) -> tuple[dt.datetime | None, TimeSource]:
    """When a submission was made, and where that came from.

    The roster's time (an LMS's own record) is the best evidence; the time
    inside an export zip was set when the student exported; a file's
    modification time is only as good as the copies it went through.
    """
    if roster_time is not None:
        return roster_time, TimeSource.ROSTER
    if zip_time is not None:
        return zip_time, TimeSource.ZIP
    if file_mtime is not None:
        return file_mtime, TimeSource.FILE
    return None, TimeSource.UNKNOWN
