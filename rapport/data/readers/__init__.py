"""Readers for imported files: CSV, XLSX and vCard, detected from their content and streamed.

``open_table`` looks at the first bytes, not the name: an XLSX is a ZIP holding
``xl/workbook.xml``, a vCard starts with ``BEGIN:VCARD``, anything else is CSV text. A file whose
name says one thing and whose bytes say another is refused with an ``ImportFileError``. No reader
touches the database.
"""

from __future__ import annotations

import codecs
import io
import os
import zipfile
from typing import IO

from rapport.data.readers.base import DEFAULT_MAX_BYTES, ImportFileError, Row, RowError, Source, Table
from rapport.data.readers.text import BOMS, open_csv
from rapport.data.readers.vcard import open_vcard
from rapport.data.readers.xlsx import open_xlsx

__all__ = ["DEFAULT_MAX_BYTES", "ImportFileError", "Row", "RowError", "Table", "detect_format", "open_table"]

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".vcf": "vcard",
    ".vcard": "vcard",
}
NAMES = {"csv": "a CSV text file", "xlsx": "an Excel workbook (.xlsx)", "vcard": "a vCard file"}
# Formats recognised only to be refused with a helpful message.
FOREIGN = (
    (b"\xd0\xcf\x11\xe0", "old_excel", "This is an old Excel (.xls) or other Office file: save it as .xlsx or CSV."),
    (b"%PDF", "pdf", "This is a PDF document, not a table: export the data as CSV or XLSX."),
    (b"\x1f\x8b", "gzip", "This is a gzip archive: unpack it first."),
    (b"PK\x03\x04", "zip", "This is a ZIP archive but not an Excel workbook: unpack it first."),
)


def detect_format(head: bytes, is_workbook: bool) -> str:
    """ "xlsx", "vcard" or "csv" from the first bytes; raises ImportFileError for other binary files."""
    if is_workbook:
        return "xlsx"
    for magic, code, message in FOREIGN:
        if head.startswith(magic):
            raise ImportFileError(code, message)
    encoding = next((name for bom, name in BOMS if head.startswith(bom)), "ascii")
    start = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head)
    if start.lstrip().upper().startswith("BEGIN:VCARD"):
        return "vcard"
    return "csv"


def _is_workbook(source: Source, head: bytes) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    stream = source.open()
    try:
        with zipfile.ZipFile(stream) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError("bad_zip", "The file looks like a ZIP archive but is damaged.") from None
    finally:
        source.close(stream)


def open_table(
    path_or_fileobj: str | os.PathLike[str] | IO[bytes],
    *,
    filename: str = "",
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Table:
    """Open an uploaded file as a Table; ``rows()`` then streams its records.

    ``filename`` is the name the user gave (an upload's stream has none); its extension must agree
    with the content. ``encoding`` and ``delimiter`` override detection (CSV and vCard text);
    ``sheet`` picks a worksheet by name (XLSX; default the first). Raises ImportFileError.
    """
    if isinstance(path_or_fileobj, bytes | bytearray):
        path_or_fileobj = io.BytesIO(path_or_fileobj)
    source = Source(path_or_fileobj, max_bytes=max_bytes)
    name = filename or source.name
    head = source.head(4096)
    if not head:
        raise ImportFileError("empty_file", "The file is empty.")
    kind = detect_format(head, _is_workbook(source, head))
    extension = os.path.splitext(name)[1].lower()
    expected = EXTENSIONS.get(extension)
    if expected is not None and expected != kind:
        raise ImportFileError(
            "type_mismatch",
            f"The file is named {extension} but its content is {NAMES[kind]}: rename it or export it again.",
        )
    if kind == "xlsx":
        return open_xlsx(source, sheet=sheet)
    if kind == "vcard":
        return open_vcard(source, encoding=encoding)
    default_delimiter = "\t" if extension == ".tsv" else ","
    return open_csv(source, encoding=encoding, delimiter=delimiter, default_delimiter=default_delimiter)
