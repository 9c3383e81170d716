"""CSV exports that a spreadsheet opens as data, never as formulas.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some programs skip before looking) is run as a formula by Excel, LibreOffice
and Google Sheets: an unauthenticated visitor's User-Agent in the audit log, or a
participant's name typed as ``=HYPERLINK(…)``, would become a live link or a call
out of the analyst's machine. Such a cell is written with a leading apostrophe,
which every one of them shows as text and hides (OWASP's advice).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a spreadsheet must read it: text that looks like a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SpreadsheetSafeWriter:
    """``csv.writer`` whose every text cell goes through :func:`spreadsheet_cell`."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        """Write one row, quoting formula-like cells."""
        return self._writer.writerow([spreadsheet_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write several rows."""
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **options: Any) -> SpreadsheetSafeWriter:
    """A CSV writer for exports staff open in a spreadsheet (use it instead of ``csv.writer``)."""
    return SpreadsheetSafeWriter(stream, **options)
