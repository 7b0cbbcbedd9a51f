"""CSV cells that a spreadsheet would run as formulas are quoted; everything else is untouched."""

from __future__ import annotations

import csv
import io

import pytest

from pixplot.csvsafe import csv_bytes, safe_cell


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"])
def test_formula_starts_get_a_leading_quote(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["cat", "a=b", "1-2", " =1", "'quoted", "", "Ada Lovelace", "日本"])
def test_other_cells_are_unchanged(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_csv_bytes_is_utf8_with_safe_cells_that_read_back() -> None:
    data = csv_bytes(["a", "b"], [["=x", None], ["ok, with comma", 3]])
    assert list(csv.reader(io.StringIO(data.decode("utf-8")))) == [["a", "b"], ["'=x", ""], ["ok, with comma", "3"]]


def test_numbers_we_write_stay_numbers_but_the_same_text_is_quoted() -> None:
    assert safe_cell(-1) == "-1" and safe_cell(-0.5) == "-0.5"
    assert safe_cell("-1") == "'-1"
