"""`annotate --out FILE.xlsx`: the annotated rows as a workbook a CSM can open and sort.

One sheet of accounts in order of need of attention (frozen header, filters, band colours as cell
fills, numbers as numbers, dates as dates, the evidence and reasons wide and wrapped) and one
sheet that says what the columns add up to and how the order was made.
"""

from __future__ import annotations

from copy import copy
from pathlib import Path

from undertow.atomic import atomic_path
from undertow.health.accounts import NUMERIC
from undertow.health.portfolio import portfolio_summary

BAND_FILL = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE"}  # Excel's own good / neutral / bad
BAND_FONT = {"green": "006100", "yellow": "9C5700", "red": "9C0006"}
WIDE = {"top_evidence": 80, "review_reasons": 60, "signals": 30}
NUMBER_FORMAT = {
    "quant_score": "0.0", "health_score": "0.0", "health_delta": "+0.0;-0.0;0.0", "qual_risk": "0.000",
    "arr_at_risk": "#,##0", "priority": "#,##0.00", "days_to_renewal": "0", "arr": "#,##0",
}
DATE_FORMAT = "yyyy-mm-dd"


def _text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _cells(account, record: dict, header: list[str], canonical: dict[str, str]) -> list:
    """Each value as its type: parsed numbers and dates for the mapped input columns (the text
    as written when it did not parse), our numbers as numbers, everything else as text."""
    values = []
    for column in header:
        name = canonical.get(column)
        value = record.get(column)
        if name in NUMERIC and name in account.row.values:
            value = account.row.values[name]
        elif name == "renewal_date" and account.row.renewal is not None:
            value = account.row.renewal
        elif value == "":
            value = None
        values.append(value)
    return values


def write_workbook(path: Path, annotation, header: list[str], records: list[dict]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    canonical = {column: name for name, column in annotation.table.columns.items()}
    book = Workbook()
    sheet = book.active
    sheet.title = "accounts"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    styles, band_styles = _column_styles(book, header, canonical)
    band_col = header.index("band")
    for row_number, (account, record) in enumerate(zip(annotation.accounts, records), start=2):
        for col_number, value in enumerate(_cells(account, record, header, canonical), start=1):
            cell = sheet.cell(row=row_number, column=col_number)
            if isinstance(value, str):
                cell.value = _text(value)
                cell.data_type = "s"  # customer text is never a formula, whatever its first character
            else:
                cell.value = value
            # A copy of the column's prepared style: setting fonts and formats cell by cell is slow.
            cell._style = copy(band_styles[account.band] if col_number - 1 == band_col and account.band in band_styles else styles[col_number - 1])
    for index, column in enumerate(header, start=1):
        longest = max([len(column)] + [len(str(r.get(column) or "")) for r in records[:200]])
        sheet.column_dimensions[get_column_letter(index)].width = WIDE.get(column, min(max(longest + 2, 8), 40))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(len(records) + 1, 2)}"
    _summary_sheet(book.create_sheet("summary"), annotation)
    with atomic_path(path) as temp:
        book.save(temp)


def _column_styles(book, header: list[str], canonical: dict[str, str]) -> tuple[list, dict]:
    """Each column's style (alignment, number or date format) and the band cell's per band,
    made once on a scratch sheet. A format on a cell holding text does nothing, so one per column."""
    from openpyxl.styles import Alignment, Font, PatternFill

    scratch = book.create_sheet("scratch")
    styles = []
    for index, column in enumerate(header, start=1):
        cell = scratch.cell(row=1, column=index)
        key = canonical.get(column, column)
        cell.alignment = Alignment(wrap_text=True, vertical="top") if column in WIDE else Alignment(vertical="top")
        if key == "renewal_date":
            cell.number_format = DATE_FORMAT
        elif key in NUMBER_FORMAT:
            cell.number_format = NUMBER_FORMAT[key]
        styles.append(copy(cell._style))
    band_styles = {}
    for index, band in enumerate(BAND_FILL, start=1):
        cell = scratch.cell(row=2, column=index)
        cell.alignment = Alignment(vertical="top")
        cell.fill = PatternFill("solid", fgColor=BAND_FILL[band])
        cell.font = Font(color=BAND_FONT[band], bold=band == "red")
        band_styles[band] = copy(cell._style)
    book.remove(scratch)
    return styles, band_styles


def _summary_sheet(sheet, annotation) -> None:
    from openpyxl.styles import Font

    summary = portfolio_summary(annotation.accounts, annotation.as_of)
    rows: list[tuple] = [
        ("as of", annotation.as_of), ("accounts", summary["accounts"]), ("to review", summary["review"]),
        ("ARR", summary["arr_total"]), ("ARR at risk", summary["arr_at_risk"]),
        ("renewals in the next 90 days", len(summary["renewals_90d"])), (),
        ("band", "accounts", "ARR"),
        *((band, figures["accounts"], figures["arr"]) for band, figures in summary["bands"].items()), (),
        ("order", "accounts to review first, then the others; each by priority = risk x ARR x renewal factor"),
        ("risk", "1 - health/100 (1 without numbers)"),
        ("ARR", "the account's arr; the portfolio median when it has none"),
        ("renewal factor", "1 + 3 x (1 - days to renewal/365), days clamped to 0..365; 1 when unknown"),
        ("arr_at_risk", "the account's ARR when red or yellow or in the review queue, else 0"),
    ]
    for row in rows:
        sheet.append([_text(v) if isinstance(v, str) else v for v in row])
    sheet["B1"].number_format = DATE_FORMAT
    for cell in ("B4", "B5", *(f"C{9 + i}" for i in range(len(summary["bands"])))):
        sheet[cell].number_format = "#,##0"
    for cell in sheet[8]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 14
