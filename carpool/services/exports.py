"""Files coordinators and drivers download: CSV and XLSX written one way for every export.

CSV is semicolon-separated with CRLF line ends, as French spreadsheets open it without
asking. Any text a person typed goes through ``safe_cell`` so that opening the file never
runs a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: What spreadsheets read as the start of a formula (or of a cell they may turn into one).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """No formula injection when an export is opened in a spreadsheet (every export uses this)."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def decimal_comma(number: object) -> str:
    """12.5 → "12,5": French spreadsheets read a dot as text."""
    return str(number).replace(".", ",")


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The header then the rows, cells written as given (the caller makes them safe)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: a bold first row, then the lines."""

    title: str
    columns: Sequence[str]
    lines: Iterable[Sequence[Any]]
    #: Keep the first row in view while scrolling (a table's header, not a text's title).
    freeze_header: bool = True


def to_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """A workbook with the sheets in order."""
    from openpyxl import Workbook  # imported on use: only the figures export a workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        written = book.create_sheet(sheet.title)
        written.append(list(sheet.columns))
        for cell in written[1]:
            cell.font = Font(bold=True)
        for line in sheet.lines:
            written.append(list(line))
        if sheet.freeze_header:
            written.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
