"""The shape of a remote treatment protocol once loaded and validated.

Protocol files (``protocols/*.yaml``) are data; these frozen dataclasses are what
the rest of telejt reads. Only ``telejt.protocols.loader`` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

#: Weekday names used in protocol files and in participants' session slots,
#: in ``datetime.weekday()`` order.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

QUESTION_TYPES: tuple[str, ...] = ("yesno", "scale", "choice")


@dataclass(frozen=True)
class LocalizedText:
    """A text in every language telejt speaks (``es`` and ``en``)."""

    es: str
    en: str

    def for_locale(self, locale: str) -> str:
        """The text for a locale such as ``es_MX`` or ``en``."""
        return self.en if str(locale).startswith("en") else self.es


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which no SMS may be sent; ``start`` may be after ``end`` (overnight)."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time falls inside the quiet hours."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class CrisisLine:
    """The crisis line a participant is given when an answer is a crisis sign."""

    name: LocalizedText
    phone: str


@dataclass(frozen=True)
class Question:
    """One check-in question."""

    id: str
    text: LocalizedText
    type: str  # one of QUESTION_TYPES
    #: for ``scale``: inclusive bounds
    range: tuple[int, int] | None = None
    #: for ``choice``: the accepted answers, by their SMS code ("1", "2", ...)
    choices: tuple[tuple[str, LocalizedText], ...] = ()
    #: the normalized answer value that is a crisis sign: "yes"/"no" for yesno,
    #: for scale the lowest value that is a crisis sign (as a string), a choice code
    crisis_if: str | None = None
    #: whether the court may see the answer (also needs the participant's consent)
    share_with_court: bool = False


@dataclass(frozen=True)
class Reminder:
    """A reminder sent ``before`` a contact starts."""

    before: timedelta
    #: asks the participant to reply 1/2 to confirm or decline
    confirm: bool = False
    #: adds the plan-making line ("¿A qué hora te vas a conectar?")
    plan_prompt: bool = False


@dataclass(frozen=True)
class JoinWindow:
    """Minutes before and after a session's start in which the participant may join."""

    before_min: int
    after_min: int


@dataclass(frozen=True)
class SessionRule:
    """Weekly remote sessions of a phase."""

    kind: str  # individual, group, family
    modality: str  # video or phone
    per_week: int
    minutes: int
    join_window: JoinWindow
    reminders: tuple[Reminder, ...]
    #: joining this many minutes after the start counts as late
    late_after_min: int = 5
    #: minutes after the start at which a participant who has not joined is nudged
    nudge_after_min: int | None = 5


@dataclass(frozen=True)
class CheckinRule:
    """Scheduled SMS check-ins of a phase."""

    days: tuple[str, ...]  # subset of WEEKDAYS
    at: time
    respond_within: timedelta
    questions: tuple[str, ...]  # question ids
    reminders: tuple[Reminder, ...] = ()
    #: "sms" sends the questions one by one by SMS; "link" sends the web form link
    delivery: str = "sms"
    #: how many invalid replies to one question are asked again before giving up
    max_reasks: int = 2


@dataclass(frozen=True)
class MissedRule:
    """When missed contacts raise an alert to the judicial team."""

    alert_after_consecutive: int = 1
    #: a check-in answered in part by its deadline counts as his miss (by default it is
    #: recorded as incomplete, with the answers given, and is no miss for the court)
    incomplete_is_missed: bool = False


@dataclass(frozen=True)
class ReviewRule:
    """When the team is told a participant is ready for phase review (never a change)."""

    #: no miss of his in this many days, on top of the phase's ``min_weeks``
    no_misses_days: int = 30


@dataclass(frozen=True)
class Phase:
    """One phase of the program, with its weekly contacts."""

    id: str
    name: LocalizedText
    min_weeks: int
    sessions: tuple[SessionRule, ...]
    checkins: tuple[CheckinRule, ...]
    missed: MissedRule = field(default_factory=MissedRule)
    review: ReviewRule = field(default_factory=ReviewRule)


@dataclass(frozen=True)
class Protocol:
    """A versioned remote treatment protocol."""

    id: str
    version: int
    name: LocalizedText
    #: how SMS may name the program (never the court, never a substance)
    program_name: LocalizedText
    quiet_hours: QuietHours
    crisis_line: CrisisLine
    questions: tuple[Question, ...]
    phases: tuple[Phase, ...]
    #: file it was loaded from, for error messages
    source: str = ""

    @property
    def key(self) -> tuple[str, int]:
        """The (id, version) pair that identifies this protocol."""
        return (self.id, self.version)

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id; KeyError if there is none."""
        for phase in self.phases:
            if phase.id == str(phase_id):
                return phase
        raise KeyError(phase_id)

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)
