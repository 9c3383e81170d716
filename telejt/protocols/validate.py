"""Check a protocol document field by field and build the Protocol it describes."""

from __future__ import annotations

import re
from typing import Any

from telejt.protocols.document import Document, FieldPath, Finding
from telejt.protocols.fields import Checker
from telejt.protocols.model import CrisisLine, Protocol, QuietHours
from telejt.protocols.phases import read_phases
from telejt.protocols.questions import question_ids_as_written, read_questions

TOP_LEVEL_KEYS = (
    "id",
    "version",
    "name",
    "program_name",
    "quiet_hours",
    "crisis_line",
    "questions",
    "phases",
)
_PHONE = re.compile(r"[0-9]+(?: [0-9]+)*")


def build_protocol(document: Document, source: str) -> tuple[Protocol | None, list[Finding]]:
    """The Protocol a document describes (None if anything is wrong) and every finding."""
    checker = Checker(document)
    protocol = _read_protocol(checker, document.data, source)
    return protocol, checker.findings


def _read_protocol(ck: Checker, data: Any, source: str) -> Protocol | None:
    if data is None:
        ck.fail((), "the file is empty")
        return None
    f = ck.mapping((), data, TOP_LEVEL_KEYS)
    if f is None:
        return None
    protocol_id = f.read("id", ck.slug)
    version = f.integer("version", 1)
    name = f.read("name", ck.localized)
    program_name = f.read("program_name", ck.sms_text)
    quiet_hours = f.read("quiet_hours", _read_quiet_hours, ck)
    crisis_line = f.read("crisis_line", _read_crisis_line, ck)
    questions = f.read("questions", lambda path, value: read_questions(ck, path, value))
    question_ids = question_ids_as_written(data.get("questions"))
    phases = f.read(
        "phases", lambda path, value: read_phases(ck, path, value, quiet_hours, question_ids)
    )
    if (
        protocol_id is None
        or version is None
        or name is None
        or program_name is None
        or quiet_hours is None
        or crisis_line is None
        or questions is None
        or phases is None
    ):
        return None
    return Protocol(
        id=protocol_id,
        version=version,
        name=name,
        program_name=program_name,
        quiet_hours=quiet_hours,
        crisis_line=crisis_line,
        questions=questions,
        phases=phases,
        source=source,
    )


def _read_quiet_hours(path: FieldPath, value: Any, ck: Checker) -> QuietHours | None:
    f = ck.mapping(path, value, ("start", "end"))
    if f is None:
        return None
    start = f.read("start", ck.clock_time)
    end = f.read("end", ck.clock_time)
    if start is None or end is None:
        return None
    if start == end:
        ck.fail(f.at("end"), "must differ from start")
        return None
    return QuietHours(start=start, end=end)


def _read_crisis_line(path: FieldPath, value: Any, ck: Checker) -> CrisisLine | None:
    f = ck.mapping(path, value, ("name", "phone"))
    if f is None:
        return None
    name = f.read("name", ck.sms_text)
    # An unquoted number (phone: 8009112000) is read as written.
    phone = f.read("phone", ck.scalar_text)
    if "phone" in f and (phone is None or not _PHONE.fullmatch(phone)):
        ck.fail(f.at("phone"), 'expected digits and spaces, e.g. "800 911 2000"')
        return None
    if name is None or phone is None:
        return None
    return CrisisLine(name=name, phone=phone)
