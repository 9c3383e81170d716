"""Protocol files: the shipped protocol, and errors that point at file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path

import pytest

from telejt.protocols import (
    ProtocolError,
    ProtocolIssue,
    ProtocolRegistry,
    QuietHours,
    check_paths,
    load_protocol_file,
    load_protocols,
)

SHIPPED = Path(__file__).resolve().parent.parent / "protocols"

# A small valid protocol. Tests break one line of it and expect that line back, so
# the line numbers in the comments on the right are part of the tests.
VALID = """\
id: test-protocol
version: 1
name: {es: "Prueba", en: "Test"}
program_name: {es: "Programa de Acompañamiento", en: "Support Program"}
quiet_hours: {start: "21:00", end: "08:00"}
crisis_line:
  name: {es: "Línea de la Vida", en: "Línea de la Vida"}
  phone: "800 911 2000"
questions:
  - id: use
    text: {es: "¿Tuviste un tropiezo? 1=Sí 2=No", en: "Did you slip? 1=Yes 2=No"}
    type: yesno
    share_with_court: true
  - id: craving
    text: {es: "Del 0 al 10, ¿qué tanto deseo?", en: "From 0 to 10, how much urge?"}
    type: scale
    range: [0, 10]
    crisis_if: 9
  - id: safe
    text: {es: "¿Estás en riesgo? 1=Sí 2=No", en: "Are you at risk? 1=Yes 2=No"}
    type: yesno
    crisis_if: yes
phases:
  - id: 1
    name: {es: "Uno", en: "One"}
    min_weeks: 4
    sessions:
      - kind: individual
        modality: video
        per_week: 1
        minutes: 50
        join_window: {before_min: 10, after_min: 15}
        reminders:
          - {before: 24h, confirm: true, plan_prompt: true}
          - {before: 1h}
    checkins:
      - days: [mon, fri]
        at: "19:00"
        respond_within: 2h
        questions: [use, craving, safe]
"""
# Lines of VALID: 1 id, 4 program_name, 5 quiet_hours, 11 questions[0].text,
# 18 questions[1].crisis_if, 22 questions[2].crisis_if, 24 phases[0] (id), 25 its name,
# 28 sessions[0] (kind), 30 per_week, 31 minutes, 32 join_window, 34-35 reminders,
# 37 checkins[0] (days), 38 at, 39 respond_within, 40 questions.


def variant(*replacements: tuple[str, str]) -> str:
    """VALID with each (old, new) replaced; every ``old`` must occur exactly once."""
    text = VALID
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


Writer = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write a protocol file into a fresh folder and return its path."""

    def writer(text: str, name: str = "protocol.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return writer


def issues_of(path: Path) -> list[ProtocolIssue]:
    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(path)
    return caught.value.issues


def where(issues: list[ProtocolIssue]) -> list[tuple[int | None, str]]:
    return [(issue.line, issue.field) for issue in issues]


# -- the shipped protocol ------------------------------------------------------------


def test_shipped_protocol_loads_with_four_phases_of_decreasing_intensity() -> None:
    registry = load_protocols(SHIPPED)
    protocol = registry.get("remote-outpatient", 1)

    assert registry.latest("remote-outpatient") is protocol
    assert [phase.id for phase in protocol.phases] == ["1", "2", "3", "4"]
    assert protocol.phase("1").name.es == "Estabilización"
    assert [sum(r.per_week for r in phase.sessions) for phase in protocol.phases] == [2, 1, 1, 1]
    checkins_a_week = [sum(len(r.days) for r in phase.checkins) for phase in protocol.phases]
    assert checkins_a_week == sorted(checkins_a_week, reverse=True)
    assert checkins_a_week[0] == 3 and checkins_a_week[-1] == 1

    first = protocol.phase("1")
    assert first.checkins[0].days == ("mon", "wed", "fri")
    assert first.checkins[0].at == time(19, 0)
    assert [r.before for r in first.sessions[0].reminders] == [
        timedelta(days=3),
        timedelta(hours=24),
        timedelta(hours=1),
    ]
    day_before = first.sessions[0].reminders[1]
    assert day_before.confirm and day_before.plan_prompt

    assert protocol.question("use").share_with_court
    assert protocol.question("safe").crisis_if == "yes"
    assert protocol.question("craving").range == (0, 10)
    assert protocol.crisis_line.phone == "800 911 2000"
    assert protocol.quiet_hours == QuietHours(time(21, 0), time(8, 0))
    assert check_paths([str(SHIPPED)]) == []


def test_shipped_question_texts_fit_one_sms_in_spanish() -> None:
    # An accented letter switches the SMS to UCS-2: 70 characters in one segment.
    protocol = load_protocols(SHIPPED).latest("remote-outpatient")
    for question in protocol.questions:
        assert len(question.text.es) <= 70, question.id


# -- a valid file and its defaults -----------------------------------------------------


def test_valid_file_loads_with_defaults(write: Writer) -> None:
    path = write(VALID)
    protocol = load_protocol_file(path)

    assert protocol.key == ("test-protocol", 1)
    assert protocol.source == str(path)
    session = protocol.phases[0].sessions[0]
    assert (session.late_after_min, session.nudge_after_min) == (5, 5)
    checkin = protocol.phases[0].checkins[0]
    assert (checkin.delivery, checkin.max_reasks, checkin.reminders) == ("sms", 2, ())
    assert protocol.phases[0].missed.alert_after_consecutive == 1
    assert protocol.question("craving").crisis_if == "9"
    assert protocol.question("use").crisis_if is None


def test_late_and_nudge_defaults_stay_inside_a_short_join_window(write: Writer) -> None:
    text = variant(
        (
            "{before_min: 10, after_min: 15}",
            "{before_min: 10, after_min: 3}\n        nudge_after_min: null",
        )
    )
    session = load_protocol_file(write(text)).phases[0].sessions[0]
    assert session.late_after_min == 2
    assert session.nudge_after_min is None


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("Yes", "yes"),
        ("true", "yes"),
        ('"yes"', "yes"),
        ('"no"', "no"),
    ],
)
def test_yesno_crisis_if_booleans_are_normalized(
    write: Writer, written: str, normalized: str
) -> None:
    text = variant(("    crisis_if: yes\n", f"    crisis_if: {written}\n"))
    assert load_protocol_file(write(text)).question("safe").crisis_if == normalized


def test_unquoted_times_and_phone_are_read_as_written(write: Writer) -> None:
    # YAML 1.1 reads 19:00 as the number 1140 and 8009112000 as an integer.
    text = variant(
        ('at: "19:00"', "at: 19:00"),
        ('end: "08:00"', "end: 08:00"),
        ('phone: "800 911 2000"', "phone: 8009112000"),
    )
    protocol = load_protocol_file(write(text))
    assert protocol.phases[0].checkins[0].at == time(19, 0)
    assert protocol.quiet_hours.end == time(8, 0)
    assert protocol.crisis_line.phone == "8009112000"


def test_anchors_and_aliases_are_allowed(write: Writer) -> None:
    text = variant(
        ("        reminders:\n", "        reminders: &weekly\n"),
        (
            "        respond_within: 2h\n",
            "        respond_within: 2h\n        reminders: *weekly\n",
        ),
        ("confirm: true, ", ""),
    )
    protocol = load_protocol_file(write(text))
    assert protocol.phases[0].checkins[0].reminders == protocol.phases[0].sessions[0].reminders


def test_a_phase_may_count_a_checkin_answered_in_part_as_missed(write: Writer) -> None:
    assert load_protocol_file(write(VALID)).phases[0].missed.incomplete_is_missed is False
    with_rule = variant(
        (
            "    min_weeks: 4\n",
            "    min_weeks: 4\n"
            "    missed: {alert_after_consecutive: 2, incomplete_is_missed: true}\n",
        )
    )
    missed = load_protocol_file(write(with_rule)).phases[0].missed
    assert (missed.alert_after_consecutive, missed.incomplete_is_missed) == (2, True)
    wrong = with_rule.replace("incomplete_is_missed: true", 'incomplete_is_missed: "si"')
    with pytest.raises(ProtocolError) as raised:
        load_protocol_file(write(wrong))
    assert "incomplete_is_missed" in str(raised.value)


def test_a_phase_may_set_its_review_criteria(write: Writer) -> None:
    assert load_protocol_file(write(VALID)).phases[0].review.no_misses_days == 30
    with_rule = variant(
        ("    min_weeks: 4\n", "    min_weeks: 4\n    review: {no_misses_days: 45}\n")
    )
    assert load_protocol_file(write(with_rule)).phases[0].review.no_misses_days == 45
    path = write(with_rule.replace("no_misses_days: 45", "no_misses_days: 0"))
    issues = issues_of(path)
    assert [(issue.file, issue.line, issue.field) for issue in issues] == [
        (str(path), 27, "phases[0].review.no_misses_days")
    ]
    assert "at least 1" in issues[0].message
    assert where(issues_of(write(with_rule.replace("no_misses_days", "no_miss_days")))) == [
        (27, "phases[0].review.no_miss_days")
    ]


def test_choice_question(write: Writer) -> None:
    choice = (
        "  - id: place\n"
        '    text: {es: "¿Dónde estás?", en: "Where are you?"}\n'
        "    type: choice\n"
        "    choices:\n"
        '      - {code: 1, text: {es: "Casa", en: "Home"}}\n'
        '      - {code: "2", text: {es: "Calle", en: "Street"}}\n'
        "    crisis_if: 2\n"
    )
    protocol = load_protocol_file(write(variant(("phases:\n", choice + "phases:\n"))))
    question = protocol.question("place")
    assert [code for code, _text in question.choices] == ["1", "2"]
    assert question.crisis_if == "2"


# -- errors: file, line and field ------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("minutes: 50", 'minutes: "fifty"', 31, "phases[0].sessions[0].minutes", "whole number"),
        ("minutes: 50", "minutes: 5", 31, "phases[0].sessions[0].minutes", "between 10 and 240"),
        (
            "questions: [use, craving, safe]",
            "questions: [use, cravings, safe]",
            40,
            "phases[0].checkins[0].questions[1]",
            'unknown question id "cravings"',
        ),
        ('at: "19:00"', 'at: "25:00"', 38, "phases[0].checkins[0].at", '"HH:MM"'),
        ('at: "19:00"', "at: 25:00", 38, "phases[0].checkins[0].at", '"25:00"'),
        ('at: "19:00"', 'at: "7:5"', 38, "phases[0].checkins[0].at", '"HH:MM"'),
        ('at: "19:00"', "at: noon", 38, "phases[0].checkins[0].at", '"noon"'),
        ('at: "19:00"', 'at: "22:30"', 38, "phases[0].checkins[0].at", "quiet hours"),
        ('end: "08:00"', 'end: "8:00"', 5, "quiet_hours.end", '"HH:MM"'),
        (
            '{es: "Uno", en: "One"}',
            '{es: "Uno"}',
            25,
            "phases[0].name.en",
            "required field is missing",
        ),
        ('en: "Support Program"', 'en: ""', 4, "program_name.en", "must not be empty"),
        ("crisis_if: 9", "crisis_if: 11", 18, "questions[1].crisis_if", "between 0 and 10"),
        ("crisis_if: yes", "crisis_if: maybe", 22, "questions[2].crisis_if", "yes or no"),
        (
            'en: "Support Program"',
            'en: "Drug Court Support"',
            4,
            "program_name.en",
            '"court", "drug"',
        ),
        (
            'es: "Programa de Acompañamiento"',
            'es: "Programa del JUZGÁDO"',
            4,
            "program_name.es",
            '"juzgado"',
        ),
        (
            'es: "¿Tuviste un tropiezo? 1=Sí 2=No"',
            'es: "¿Usaste drogas? 1=Sí 2=No"',
            11,
            "questions[0].text.es",
            '"drogas"',
        ),
        ("type: yesno\n    share", "type: scale\n    share", 10, "questions[0].range", "required"),
        ("range: [0, 10]", "range: [10, 0]", 17, "questions[1].range", "below the highest"),
        ("per_week: 1", "per_week: 8", 30, "phases[0].sessions[0].per_week", "between 1 and 7"),
        ("kind: individual", "kind: solo", 28, "phases[0].sessions[0].kind", "individual, group"),
        (
            "{before: 1h}",
            "{before: 1440m}",
            35,
            "phases[0].sessions[0].reminders[1].before",
            "duplicate",
        ),
        ("{before: 1h}", "{before: 15d}", 35, "phases[0].sessions[0].reminders[1].before", "14d"),
        (
            "{before: 1h}",
            "{before: 1 hour}",
            35,
            "phases[0].sessions[0].reminders[1].before",
            "24h",
        ),
        (
            "respond_within: 2h",
            "respond_within: 25h",
            39,
            "phases[0].checkins[0].respond_within",
            "24h",
        ),
        (
            "days: [mon, fri]",
            "days: [mon, mon]",
            37,
            "phases[0].checkins[0].days[1]",
            "duplicate day",
        ),
        ("days: [mon, fri]", "days: [monday]", 37, "phases[0].checkins[0].days[0]", "mon, tue"),
        ("version: 1", "version: 0", 2, "version", "at least 1"),
        ("version: 1", 'version: "1"', 2, "version", 'got the text "1"'),
        ("id: test-protocol", "id: Test Protocol", 1, "id", "a-z, 0-9"),
        ('phone: "800 911 2000"', 'phone: "800-911-2000"', 8, "crisis_line.phone", "digits"),
    ],
)
def test_error_points_at_file_line_and_field(
    write: Writer, old: str, new: str, line: int, field: str, message: str
) -> None:
    path = write(variant((old, new)))
    issues = issues_of(path)
    assert [(issue.file, issue.line, issue.field) for issue in issues] == [(str(path), line, field)]
    assert message in issues[0].message


def test_unknown_key_is_an_error_with_a_suggestion(write: Writer) -> None:
    issues = issues_of(write(variant(("per_week: 1", "per_weak: 1"))))
    # The typo, on its own line; and the key it should have been, missing from the session.
    assert where(issues) == [
        (28, "phases[0].sessions[0].per_week"),
        (30, "phases[0].sessions[0].per_weak"),
    ]
    assert "required field is missing" in issues[0].message
    assert 'did you mean "per_week"?' in issues[1].message


def test_issue_and_error_text(write: Writer) -> None:
    path = write(variant(("minutes: 50", 'minutes: "fifty"'), ("per_week: 1", "per_week: 0")))
    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(path)
    assert str(caught.value).splitlines() == [
        f"{path}:30: phases[0].sessions[0].per_week: must be between 1 and 7, got 0",
        f'{path}:31: phases[0].sessions[0].minutes: expected a whole number, got the text "fifty"',
    ]


def test_every_error_of_a_file_is_reported(write: Writer) -> None:
    text = variant(
        ("version: 1", "version: one"),
        ('end: "08:00"', 'end: "noon"'),
        ("crisis_if: 9", "crisis_if: 11"),
        ("min_weeks: 4", "min_weeks: 4\n    colour: blue"),
        ("minutes: 50", 'minutes: "fifty"'),
        ("respond_within: 2h", "respond_within: 2 hours"),
        ("questions: [use, craving, safe]", "questions: [use, mood]"),
    )
    assert where(issues_of(write(text))) == [
        (2, "version"),
        (5, "quiet_hours.end"),
        (18, "questions[1].crisis_if"),
        (27, "phases[0].colour"),
        (32, "phases[0].sessions[0].minutes"),
        (40, "phases[0].checkins[0].respond_within"),
        (41, "phases[0].checkins[0].questions[1]"),
    ]


def test_malformed_yaml_gives_a_line(write: Writer) -> None:
    path = write(variant(("min_weeks: 4", "min_weeks: [4")))
    issues = issues_of(path)
    assert len(issues) == 1
    assert issues[0].file == str(path)
    assert issues[0].line == 27
    assert issues[0].message.startswith("invalid YAML")


def test_bad_indentation_gives_its_line(write: Writer) -> None:
    issues = issues_of(write(variant(("    min_weeks: 4", "     min_weeks: 4"))))
    assert [issue.line for issue in issues] == [26]


def test_duplicate_key_is_an_error(write: Writer) -> None:
    issues = issues_of(write(variant(("min_weeks: 4", "min_weeks: 4\n    min_weeks: 6"))))
    assert where(issues) == [(27, "phases[0].min_weeks")]
    assert "first at line 26" in issues[0].message


def test_duplicate_question_id_is_an_error(write: Writer) -> None:
    issues = issues_of(write(variant(("  - id: safe", "  - id: use"))))
    # The check-in still asks "safe", which no longer exists.
    assert where(issues) == [(19, "questions[2].id"), (40, "phases[0].checkins[0].questions[2]")]
    assert "duplicate question id (first at line 10)" in issues[0].message


def test_phase_ids_one_and_quoted_one_are_the_same(write: Writer) -> None:
    second = '  - {id: "1", name: {es: "Dos", en: "Two"}, min_weeks: 1, checkins: []}\n'
    issues = issues_of(write(VALID + second))
    assert where(issues) == [(41, "phases[1]"), (41, "phases[1].id")]
    assert "at least one session or check-in" in issues[0].message
    assert "duplicate phase id (first at line 24)" in issues[1].message


def test_empty_file_is_an_error(write: Writer) -> None:
    assert [issue.message for issue in issues_of(write(""))] == ["the file is empty"]


def test_question_text_longer_than_two_sms_is_an_error(write: Writer) -> None:
    long_text = "¿" + "Cómo te fue hoy? " * 9 + "1=Sí 2=No"
    issues = issues_of(
        write(variant(('es: "¿Tuviste un tropiezo? 1=Sí 2=No"', f'es: "{long_text}"')))
    )
    assert where(issues) == [(11, "questions[0].text.es")]
    assert "3 SMS segments" in issues[0].message


def test_checkin_reminder_may_not_ask_to_confirm(write: Writer) -> None:
    text = variant(
        (
            "respond_within: 2h\n",
            "respond_within: 2h\n        reminders: [{before: 1h, confirm: true}]\n",
        )
    )
    issues = issues_of(write(text))
    assert where(issues) == [(40, "phases[0].checkins[0].reminders[0].confirm")]


# -- folders, versions, duplicates -----------------------------------------------------


def test_duplicate_id_and_version_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yml").write_text("# a copy\n" + VALID, encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.field) == (str(tmp_path / "b.yml"), 2, "id")
    assert str(tmp_path / "a.yaml") in issue.message
    assert check_paths([str(tmp_path)]) == [issue]


def test_issues_of_every_file_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(variant(("version: 1", "version: 0")), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(variant(("minutes: 50", "minutes: x")), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a protocol", encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)
    assert [(Path(i.file).name, i.line) for i in caught.value.issues] == [
        ("a.yaml", 2),
        ("b.yaml", 31),
    ]


def test_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="no protocol files"):
        load_protocols(tmp_path)
    with pytest.raises(ProtocolError, match="no such folder"):
        load_protocols(tmp_path / "missing")
    assert [i.message for i in check_paths([str(tmp_path / "missing")])] == [
        "no such file or folder"
    ]


def test_check_paths_takes_files_and_folders(tmp_path: Path, write: Writer) -> None:
    good = write(VALID, "good.yaml")
    bad = write(variant(("version: 1", "version: 0")), "bad.yaml")
    assert check_paths([str(good)]) == []
    assert where(check_paths([str(bad)])) == [(2, "version")]
    assert [Path(i.file).name for i in check_paths([str(tmp_path), str(SHIPPED)])] == ["bad.yaml"]


def test_registry_keeps_every_version(tmp_path: Path) -> None:
    # File names are free: the id and version inside count.
    (tmp_path / "remote-outpatient.v1.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "newer.yaml").write_text(variant(("version: 1", "version: 2")), encoding="utf-8")
    registry = load_protocols(tmp_path)

    assert registry.get("test-protocol", 1).version == 1
    assert registry.get("test-protocol", 2).source == str(tmp_path / "newer.yaml")
    assert registry.latest("test-protocol").version == 2
    assert [p.key for p in registry.all()] == [("test-protocol", 1), ("test-protocol", 2)]
    assert ("test-protocol", 1) in registry
    assert "test-protocol" in registry
    assert ("test-protocol", 3) not in registry
    with pytest.raises(KeyError):
        registry.get("test-protocol", 3)
    with pytest.raises(KeyError):
        registry.latest("other")


def test_registry_refuses_a_second_copy_of_a_version(write: Writer) -> None:
    protocol = load_protocol_file(write(VALID))
    with pytest.raises(ValueError, match="already loaded"):
        ProtocolRegistry([protocol, protocol])


# -- quiet hours -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_across_midnight(local: time, quiet: bool) -> None:
    assert QuietHours(start=time(21, 0), end=time(8, 0)).contains(local) is quiet


def test_quiet_hours_within_a_day() -> None:
    siesta = QuietHours(start=time(14, 0), end=time(16, 0))
    assert siesta.contains(time(15, 0))
    assert not siesta.contains(time(16, 0))
    assert not siesta.contains(time(23, 0))


def test_checkin_just_before_overnight_quiet_hours_is_allowed(write: Writer) -> None:
    protocol = load_protocol_file(write(variant(('at: "19:00"', 'at: "20:59"'))))
    assert protocol.phases[0].checkins[0].at == time(20, 59)
    issues = issues_of(write(variant(('at: "19:00"', 'at: "07:30"'))))
    assert where(issues) == [(38, "phases[0].checkins[0].at")]
