"""Read the phases of a protocol document: their sessions, check-ins and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telejt.protocols.document import FieldPath
from telejt.protocols.fields import SLUG, Checker, Fields, all_or_none
from telejt.protocols.model import (
    WEEKDAYS,
    CheckinRule,
    JoinWindow,
    MissedRule,
    Phase,
    QuietHours,
    Reminder,
    ReviewRule,
    SessionRule,
)

SESSION_KINDS = ("individual", "group", "family")
MODALITIES = ("video", "phone")
DELIVERIES = ("sms", "link")
#: the longest a reminder may come ahead of its contact
MAX_REMINDER_LEAD = timedelta(days=14)
#: the longest a participant may be given to answer a check-in
MAX_RESPONSE_WINDOW = timedelta(hours=24)
#: late and nudge thresholds when the protocol does not set them (kept inside the join window)
DEFAULT_MINUTES_AFTER_START = 5


def read_phases(
    checker: Checker,
    path: FieldPath,
    value: Any,
    quiet_hours: QuietHours | None,
    question_ids: set[str] | None,
) -> tuple[Phase, ...] | None:
    """The ``phases`` list; check-ins are checked against quiet hours and question ids if known."""
    return _PhaseReader(checker, quiet_hours, question_ids).phases(path, value)


def _phase_id_as_written(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value)


class _PhaseReader:
    def __init__(
        self, checker: Checker, quiet_hours: QuietHours | None, question_ids: set[str] | None
    ) -> None:
        self.ck = checker
        self.quiet_hours = quiet_hours
        self.question_ids = question_ids

    def phases(self, path: FieldPath, value: Any) -> tuple[Phase, ...] | None:
        items = self.ck.items(path, value, non_empty=True)
        if items is None:
            return None
        built = [self.phase((*path, index), item) for index, item in enumerate(items)]
        # Ids as written (1 and "1" are the same phase), even of phases with other errors.
        ids = [_phase_id_as_written(item) for item in items]
        if not self.ck.unique(path, ids, lambda phase_id: phase_id, "phase id", "id"):
            return None
        return all_or_none(built)

    def phase(self, path: FieldPath, value: Any) -> Phase | None:
        f = self.ck.mapping(
            path, value, ("id", "name", "min_weeks"), ("sessions", "checkins", "missed", "review")
        )
        if f is None:
            return None
        phase_id = f.read("id", self.phase_id)
        name = f.read("name", self.ck.localized)
        min_weeks = f.integer("min_weeks", 1)
        sessions = self._rules(f, "sessions", self.session)
        checkins = self._rules(f, "checkins", self.checkin)
        missed = f.read("missed", self.missed) if "missed" in f else MissedRule()
        review = f.read("review", self.review) if "review" in f else ReviewRule()
        if sessions == () and checkins == ():
            self.ck.fail(path, "a phase needs at least one session or check-in")
            return None
        if checkins and not self._checkins_apart(f.at("checkins"), checkins):
            return None
        if (
            phase_id is None
            or name is None
            or min_weeks is None
            or sessions is None
            or checkins is None
            or missed is None
            or review is None
        ):
            return None
        return Phase(
            id=phase_id,
            name=name,
            min_weeks=min_weeks,
            sessions=sessions,
            checkins=checkins,
            missed=missed,
            review=review,
        )

    def phase_id(self, path: FieldPath, value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if isinstance(value, str) and SLUG.fullmatch(value):
            return value
        self.ck.expected(path, 'a number or an identifier of a-z, 0-9 and "-"', value)
        return None

    def _rules(self, f: Fields, key: str, reader: Any) -> tuple[Any, ...] | None:
        if key not in f:
            return ()
        items = self.ck.items(f.at(key), f.data[key])
        if items is None:
            return None
        return all_or_none([reader((*f.at(key), index), item) for index, item in enumerate(items)])

    def missed(self, path: FieldPath, value: Any) -> MissedRule | None:
        f = self.ck.mapping(path, value, (), ("alert_after_consecutive", "incomplete_is_missed"))
        if f is None:
            return None
        count = f.integer("alert_after_consecutive", 1, default=1)
        incomplete = f.boolean("incomplete_is_missed", False)
        if count is None or incomplete is None:
            return None
        return MissedRule(alert_after_consecutive=count, incomplete_is_missed=incomplete)

    def review(self, path: FieldPath, value: Any) -> ReviewRule | None:
        f = self.ck.mapping(path, value, (), ("no_misses_days",))
        if f is None:
            return None
        days = f.integer("no_misses_days", 1, default=30)
        return None if days is None else ReviewRule(no_misses_days=days)

    # -- sessions --------------------------------------------------------------------

    def session(self, path: FieldPath, value: Any) -> SessionRule | None:
        f = self.ck.mapping(
            path,
            value,
            ("kind", "modality", "per_week", "minutes", "join_window", "reminders"),
            ("late_after_min", "nudge_after_min"),
        )
        if f is None:
            return None
        kind = f.one_of("kind", SESSION_KINDS)
        modality = f.one_of("modality", MODALITIES)
        per_week = f.integer("per_week", 1, 7)
        minutes = f.integer("minutes", 10, 240)
        window = f.read("join_window", self.join_window)
        if window is not None and minutes is not None and window.after_min >= minutes:
            self.ck.fail(
                (*f.at("join_window"), "after_min"),
                f"must be shorter than the session ({minutes} minutes)",
            )
            window = None
        reminders = f.read("reminders", self.session_reminders)
        after = window.after_min if window is not None else None
        late_ok, late = self._minutes_after_start(f, "late_after_min", after)
        nudge_ok, nudge = self._minutes_after_start(f, "nudge_after_min", after)
        if (
            kind is None
            or modality is None
            or per_week is None
            or minutes is None
            or window is None
            or reminders is None
            or late is None
            or not (late_ok and nudge_ok)
        ):
            return None
        return SessionRule(
            kind=kind,
            modality=modality,
            per_week=per_week,
            minutes=minutes,
            join_window=window,
            reminders=reminders,
            late_after_min=late,
            nudge_after_min=nudge,
        )

    def _minutes_after_start(
        self, f: Fields, key: str, after_min: int | None
    ) -> tuple[bool, int | None]:
        """(valid, minutes): before the join window closes; a null nudge means no nudge."""
        if key not in f:
            if after_min is None:
                return True, DEFAULT_MINUTES_AFTER_START
            return True, min(DEFAULT_MINUTES_AFTER_START, after_min - 1)
        value = f.data[key]
        if value is None and key == "nudge_after_min":
            return True, None
        minutes = self.ck.integer(f.at(key), value, 0)
        if minutes is None:
            return False, None
        if after_min is not None and minutes >= after_min:
            self.ck.fail(f.at(key), f"must be less than join_window.after_min ({after_min})")
            return False, None
        return True, minutes

    def join_window(self, path: FieldPath, value: Any) -> JoinWindow | None:
        f = self.ck.mapping(path, value, ("before_min", "after_min"))
        if f is None:
            return None
        before = f.integer("before_min", 0, 60)
        after = f.integer("after_min", 1, 120)
        if before is None or after is None:
            return None
        return JoinWindow(before_min=before, after_min=after)

    # -- check-ins -------------------------------------------------------------------

    def checkin(self, path: FieldPath, value: Any) -> CheckinRule | None:
        f = self.ck.mapping(
            path,
            value,
            ("days", "at", "respond_within", "questions"),
            ("reminders", "delivery", "max_reasks"),
        )
        if f is None:
            return None
        days = f.read("days", self.days)
        at = f.read("at", self.ck.clock_time)
        quiet = self.quiet_hours
        if at is not None and quiet is not None and quiet.contains(at):
            self.ck.fail(
                f.at("at"),
                f"falls in the quiet hours ({quiet.start:%H:%M}-{quiet.end:%H:%M}):"
                " the check-in would never be sent",
            )
            at = None
        respond_within = f.read("respond_within", self.ck.duration)
        if respond_within is not None and not timedelta(0) < respond_within <= MAX_RESPONSE_WINDOW:
            self.ck.fail(f.at("respond_within"), "must be more than 0 and at most 24h")
            respond_within = None
        questions = f.read("questions", self.question_refs)
        reminders = f.read("reminders", self.checkin_reminders) if "reminders" in f else ()
        delivery = f.one_of("delivery", DELIVERIES, default="sms")
        max_reasks = f.integer("max_reasks", 0, 5, default=2)
        if (
            days is None
            or at is None
            or respond_within is None
            or questions is None
            or reminders is None
            or delivery is None
            or max_reasks is None
        ):
            return None
        return CheckinRule(
            days=days,
            at=at,
            respond_within=respond_within,
            questions=questions,
            reminders=reminders,
            delivery=delivery,
            max_reasks=max_reasks,
        )

    def days(self, path: FieldPath, value: Any) -> tuple[str, ...] | None:
        items = self.ck.items(path, value, non_empty=True)
        if items is None:
            return None
        days = [self.ck.one_of((*path, index), item, WEEKDAYS) for index, item in enumerate(items)]
        if not self.ck.unique(path, days, lambda day: day, "day"):
            return None
        valid = all_or_none(days)
        return None if valid is None else tuple(sorted(valid, key=WEEKDAYS.index))

    def question_refs(self, path: FieldPath, value: Any) -> tuple[str, ...] | None:
        items = self.ck.items(path, value, non_empty=True)
        if items is None:
            return None
        refs: list[str | None] = []
        for index, item in enumerate(items):
            ref = self.ck.text((*path, index), item)
            if ref is not None and self.question_ids is not None and ref not in self.question_ids:
                self.ck.fail((*path, index), f'unknown question id "{ref}"')
                ref = None
            refs.append(ref)
        if not self.ck.unique(path, refs, lambda ref: ref, "question"):
            return None
        return all_or_none(refs)

    def _checkins_apart(self, path: FieldPath, checkins: tuple[CheckinRule, ...]) -> bool:
        """Fail a check-in that falls on the same day and time as an earlier one."""
        taken: dict[tuple[str, str], int] = {}
        for index, rule in enumerate(checkins):
            for day in rule.days:
                slot = (day, f"{rule.at:%H:%M}")
                if slot in taken:
                    self.ck.fail(
                        (*path, index, "at"),
                        f"checkins[{taken[slot]}] is already at {slot[1]} on {day}",
                    )
                    return False
                taken[slot] = index
        return True

    # -- reminders -------------------------------------------------------------------

    def session_reminders(self, path: FieldPath, value: Any) -> tuple[Reminder, ...] | None:
        # The link to join reaches the participant in a reminder: a session needs one.
        return self._reminders(path, value, for_session=True)

    def checkin_reminders(self, path: FieldPath, value: Any) -> tuple[Reminder, ...] | None:
        return self._reminders(path, value, for_session=False)

    def _reminders(
        self, path: FieldPath, value: Any, *, for_session: bool
    ) -> tuple[Reminder, ...] | None:
        items = self.ck.items(path, value, non_empty=for_session)
        if items is None:
            return None
        built = [
            self.reminder((*path, index), item, for_session) for index, item in enumerate(items)
        ]
        if not self.ck.unique(path, built, lambda r: r.before, "reminder time", "before"):
            return None
        return all_or_none(built)

    def reminder(self, path: FieldPath, value: Any, for_session: bool) -> Reminder | None:
        f = self.ck.mapping(path, value, ("before",), ("confirm", "plan_prompt"))
        if f is None:
            return None
        before = f.read("before", self.ck.duration)
        if before is not None and not timedelta(0) < before <= MAX_REMINDER_LEAD:
            self.ck.fail(f.at("before"), "must be more than 0 and at most 14d")
            before = None
        confirm = f.boolean("confirm", False)
        if confirm and not for_session:
            self.ck.fail(f.at("confirm"), "only a session reminder asks to confirm")
            confirm = None
        plan_prompt = f.boolean("plan_prompt", False)
        if before is None or confirm is None or plan_prompt is None:
            return None
        return Reminder(before=before, confirm=confirm, plan_prompt=plan_prompt)
