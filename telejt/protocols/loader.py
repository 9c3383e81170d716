"""Load protocol files, report every problem with its file, line and field, keep them by version."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from telejt.protocols.document import YamlSyntaxError, read_document
from telejt.protocols.model import Protocol
from telejt.protocols.validate import build_protocol

PROTOCOL_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ProtocolIssue:
    """One problem of a protocol file, where the author has to fix it."""

    file: str
    #: 1-based line of the offending value (or of the nearest parent when a key is
    #: missing); None when the problem is the whole file or folder
    line: int | None
    #: the field path, e.g. ``phases[1].sessions[0].minutes``; "" for the whole file
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ProtocolError(Exception):
    """One or more protocol files are invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[ProtocolIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate one protocol file; ProtocolError lists all its problems."""
    protocol, issues, _id_line = _load_file(Path(path))
    if issues or protocol is None:
        raise ProtocolError(issues or [ProtocolIssue(str(path), None, "", "not a protocol")])
    return protocol


class ProtocolRegistry:
    """Every loaded protocol by (id, version): participants stay on the version they enrolled on."""

    def __init__(self, protocols: Iterable[Protocol] = ()) -> None:
        self._protocols: dict[tuple[str, int], Protocol] = {}
        for protocol in protocols:
            self.add(protocol)

    def add(self, protocol: Protocol) -> None:
        """Add a protocol; ValueError if its (id, version) is already here."""
        if protocol.key in self._protocols:
            other = self._protocols[protocol.key].source
            raise ValueError(
                f"protocol {protocol.id} version {protocol.version} is already loaded from {other}"
            )
        self._protocols[protocol.key] = protocol

    def get(self, protocol_id: str, version: int) -> Protocol:
        """The protocol with this id at this version; KeyError if absent."""
        return self._protocols[(protocol_id, version)]

    def latest(self, protocol_id: str) -> Protocol:
        """The highest version of a protocol; KeyError if there is none."""
        versions = [p for (pid, _version), p in self._protocols.items() if pid == protocol_id]
        if not versions:
            raise KeyError(protocol_id)
        return max(versions, key=lambda p: p.version)

    def all(self) -> list[Protocol]:
        """Every protocol, sorted by id then version."""
        return [self._protocols[key] for key in sorted(self._protocols)]

    def __contains__(self, item: object) -> bool:
        """``(id, version) in registry`` for one version, ``id in registry`` for any."""
        if isinstance(item, str):
            return any(pid == item for pid, _version in self._protocols)
        return item in self._protocols

    def __iter__(self) -> Iterator[Protocol]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._protocols)


def load_protocols(directory: str | Path) -> ProtocolRegistry:
    """Load every ``*.yaml``/``*.yml`` of a folder; one ProtocolError lists every problem."""
    protocols, issues = _load_paths([Path(directory)], folders_only=True)
    if issues:
        raise ProtocolError(issues)
    return ProtocolRegistry(protocols)


def check_paths(paths: list[str]) -> list[ProtocolIssue]:
    """Validate protocol files and folders (``telejt protocols check``); [] when all is well."""
    _protocols, issues = _load_paths([Path(path) for path in paths])
    return issues


def _load_paths(
    paths: list[Path], *, folders_only: bool = False
) -> tuple[list[Protocol], list[ProtocolIssue]]:
    issues: list[ProtocolIssue] = []
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = _protocol_files(path)
            if not found:
                issues.append(
                    ProtocolIssue(str(path), None, "", "no protocol files (*.yaml, *.yml)")
                )
            files.extend(found)
        elif not path.exists():
            what = "folder" if folders_only else "file or folder"
            issues.append(ProtocolIssue(str(path), None, "", f"no such {what}"))
        elif folders_only:
            issues.append(ProtocolIssue(str(path), None, "", "not a folder"))
        else:
            files.append(path)
    protocols: list[Protocol] = []
    first_seen: dict[tuple[str, int], Protocol] = {}
    for file in files:
        protocol, file_issues, id_line = _load_file(file)
        issues.extend(file_issues)
        if protocol is None:
            continue
        if protocol.key in first_seen:
            first = first_seen[protocol.key].source
            message = (
                f"protocol {protocol.id} version {protocol.version} is also defined in {first}"
            )
            issues.append(ProtocolIssue(protocol.source, id_line, "id", message))
            continue
        first_seen[protocol.key] = protocol
        protocols.append(protocol)
    return protocols, issues


def _protocol_files(directory: Path) -> list[Path]:
    # Hidden files are editor backups and the like, never protocols.
    return sorted(
        child
        for child in directory.iterdir()
        if child.suffix in PROTOCOL_SUFFIXES and child.is_file() and not child.name.startswith(".")
    )


def _load_file(path: Path) -> tuple[Protocol | None, list[ProtocolIssue], int | None]:
    """(protocol or None, its issues sorted by line, the line of its id)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [ProtocolIssue(file, None, "", f"not UTF-8 text: {exc.reason}")], None
    except OSError as exc:
        return None, [ProtocolIssue(file, None, "", f"cannot read: {exc.strerror or exc}")], None
    try:
        document = read_document(text)
    except YamlSyntaxError as exc:
        return None, [ProtocolIssue(file, exc.line, "", exc.message)], None
    protocol, findings = build_protocol(document, file)
    issues = [ProtocolIssue(file, f.line, f.field, f.message) for f in findings]
    issues.sort(key=lambda issue: issue.line or 0)
    return (None if issues else protocol), issues, document.line(("id",))
