"""Which protocol rule planned a contact: stored with it, read back by what needs the rule.

A contact keeps the path of its rule in its protocol version
(``Contact.protocol_rule``, "2/sessions/0"), so the join window, the late mark and
the nudge of a session are the ones of the rule that planned it, not a guess at
its phase's first. Contacts planned before the path was stored read as before:
their phase's first rule of their kind (or, for a session in a phase of check-ins
only, the protocol's first session rule).
"""

from __future__ import annotations

from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import CheckinRule, Protocol, SessionRule

#: the contact kind → the phase's list of rules it is planned from
RULE_LISTS = {"session": "sessions", "checkin": "checkins"}


def rule_path(phase_id: str, kind: str, index: int) -> str:
    """The stored path of a phase's rule: "2/sessions/0"."""
    return f"{phase_id}/{RULE_LISTS[kind]}/{index}"


def rule_at(protocol: Protocol, path: str) -> SessionRule | CheckinRule | None:
    """The rule a stored path names in this protocol version, or None if it names none."""
    phase_id, _, rest = path.partition("/")
    listing, _, index = rest.partition("/")
    if listing not in RULE_LISTS.values() or not index.isdigit():
        return None
    try:
        rules = getattr(protocol.phase(phase_id), listing)
    except KeyError:
        return None
    position = int(index)
    found: SessionRule | CheckinRule | None = rules[position] if position < len(rules) else None
    return found


def first_session_rule(protocol: Protocol, phase_id: str) -> tuple[str, SessionRule] | None:
    """The rule a session of this phase borrows when none was named: the phase's first,
    else the protocol's first (a phase of check-ins only), with its path."""
    try:
        phase = protocol.phase(phase_id)
    except KeyError:
        phase = None
    if phase is not None and phase.sessions:
        return rule_path(phase.id, "session", 0), phase.sessions[0]
    for other in protocol.phases:
        if other.sessions:
            return rule_path(other.id, "session", 0), other.sessions[0]
    return None


def contact_rule(contact: Contact) -> SessionRule | CheckinRule | None:
    """The rule that planned this contact (for older contacts, the one they were planned by
    then: their phase's first of their kind)."""
    protocol = protocol_for(contact.protocol_id, contact.protocol_version)
    if contact.protocol_rule:
        found = rule_at(protocol, contact.protocol_rule)
        if found is not None:
            return found
    if contact.kind == "session":
        first = first_session_rule(protocol, contact.phase_id)
        return first[1] if first is not None else None
    try:
        checkins = protocol.phase(contact.phase_id).checkins
    except KeyError:
        return None
    return checkins[0] if checkins else None


def session_rule(contact: Contact) -> SessionRule | None:
    """The session rule a session contact was planned from."""
    rule = contact_rule(contact) if contact.kind == "session" else None
    return rule if isinstance(rule, SessionRule) else None
