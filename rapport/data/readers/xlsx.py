"""XLSX workbooks through openpyxl's read-only mode, after a zip-bomb check with zipfile.

openpyxl decompresses whatever the archive holds, so the archive is inspected first: the
members' declared uncompressed sizes (which zipfile enforces while reading: it stops at the
declared size and a lie fails the CRC) must stay under a total, and no large member may
compress better than a ratio that real spreadsheets never reach.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from rapport.data.readers.base import ImportFileError, Row, RowError, Source, Table, unique_headers

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 10_000
# Below this size a member's ratio does not matter: it cannot expand into anything harmful.
RATIO_FLOOR = 1024 * 1024


def check_zip(stream: IO[bytes], *, max_uncompressed: int = MAX_UNCOMPRESSED, max_ratio: int = MAX_RATIO) -> None:
    """Refuse an archive that declares too much data, too many members or an extreme compression ratio."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError("bad_xlsx", "The workbook is damaged: it is not a readable ZIP archive.") from None
    if len(members) > MAX_MEMBERS:
        raise ImportFileError("zip_bomb", "The workbook has too many parts to be a spreadsheet.")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > max_ratio:
            raise ImportFileError(
                "zip_bomb", f"The workbook part {member.filename} expands {ratio:.0f}-fold: refused as unsafe."
            )
    if total > max_uncompressed:
        raise ImportFileError(
            "zip_bomb",
            f"The workbook expands to {total // (1024 * 1024)} MB, over the limit of "
            f"{max_uncompressed // (1024 * 1024)} MB.",
        )


def cell_text(value: Any) -> str:
    """A cell as text: dates in ISO 8601, whole numbers without ".0", booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def open_xlsx(source: Source, *, sheet: str | None) -> Table:
    import openpyxl  # imported here: loading it costs time that CSV imports should not pay

    def load() -> tuple[Any, IO[bytes]]:
        stream = source.open()
        check_zip(stream)
        stream.seek(source.start)
        try:
            return openpyxl.load_workbook(stream, read_only=True, data_only=True), stream
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            source.close(stream)
            raise ImportFileError("bad_xlsx", f"The workbook cannot be read: {exc}") from None

    def worksheet(workbook: Any) -> Any:
        if sheet is None:
            return workbook.worksheets[0]
        if sheet not in workbook.sheetnames:
            raise ImportFileError("no_such_sheet", f"The workbook has no sheet named “{sheet}”.")
        return workbook[sheet]

    def records() -> Iterator[tuple[int, list[str]]]:
        workbook, stream = load()
        try:
            for number, values in enumerate(worksheet(workbook).iter_rows(values_only=True), 1):
                cells = [cell_text(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    yield number, cells
        finally:
            workbook.close()
            source.close(stream)

    workbook, stream = load()
    try:
        names = list(workbook.sheetnames)
        chosen = worksheet(workbook).title
    finally:
        workbook.close()
        source.close(stream)
    headers: list[str] = []
    for _, cells in records():
        headers = unique_headers(cells)
        break
    if not headers:
        raise ImportFileError("empty_file", f"The sheet “{chosen}” has no header row.")
    width = len(headers)

    def rows() -> Iterator[Row]:
        it = records()
        next(it, None)
        for number, cells in it:
            if len(cells) > width:
                yield (
                    number,
                    RowError("too_many_cells", f"Row {number} has values beyond the last header column.", cells=cells),
                )
            else:
                yield number, cells + [""] * (width - len(cells))

    return Table(format="xlsx", headers=headers, sheet=chosen, sheet_names=names, _rows=rows)
