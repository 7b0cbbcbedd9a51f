"""CSV that spreadsheets cannot be tricked into running: one writer for every CSV we hand out.

A cell beginning with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice and Google
Sheets (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``), and one beginning with a tab or carriage
return can become one after the program strips it. Labels and file names come from annotators
and folders we do not control, so every such cell is prefixed with a single quote, as OWASP
recommends ("CSV Injection"); the quote shows in the cell, the formula never runs. Readers that
want the exact text back use the JSON export, which is never altered.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as CSV cell text, with a leading ``'`` when it would start a formula. Numbers we
    write ourselves (a noise cluster id ``-1``) are numbers to a spreadsheet, not formulas, and stay
    as they are; the same characters arriving as text are quoted."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV (``\\n`` line ends, quoting where needed) with every cell made safe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow([safe_cell(c) for c in row])
    return buf.getvalue().encode("utf-8")
