"""What every reader shares: the error type, the per-row problem, the table, and the byte source.

A reader never holds a whole file in memory: it opens its source again for each pass and reads it
in chunks, counting bytes, so the size limit holds even for a stream whose size is unknown up front.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
CHUNK = 64 * 1024


class ImportFileError(Exception):
    """A file that cannot be read at all: wrong type, too large, undecodable, not a spreadsheet.

    ``code`` is a stable slug for the API and tests; ``message`` is written for the person who
    uploaded the file. ``line`` and ``offset`` (1-based line, 0-based byte) say where, when known.
    """

    def __init__(self, code: str, message: str, *, line: int | None = None, offset: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.offset = offset

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RowError:
    """One record that could not be read; the rest of the file still is.

    It takes the place of the values in ``(row_number, values)`` from ``Table.rows()``; ``cells``
    keeps what was read (for a ragged CSV row) so an importer can show it.
    """

    code: str
    message: str
    cells: list[str] | None = None


Row = tuple[int, "list[str] | dict[str, Any] | RowError"]


class Source:
    """A path or a binary file object, read in chunks from the start as often as needed."""

    def __init__(self, path_or_fileobj: str | os.PathLike[str] | IO[bytes], *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.start = 0
        self.path: Path | None = None
        self.fileobj: IO[bytes] | None = None
        if isinstance(path_or_fileobj, str | os.PathLike):
            self.path = Path(path_or_fileobj)
            size: int | None = self.path.stat().st_size
        elif path_or_fileobj.seekable():
            self.fileobj = path_or_fileobj
            self.start = path_or_fileobj.tell()
            size = path_or_fileobj.seek(0, os.SEEK_END) - self.start
            path_or_fileobj.seek(self.start)
        else:
            # A pipe or a socket: spooled (to disk past 8 MB) so it can be read more than once,
            # counting bytes so the limit holds without knowing the size up front.
            spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the GC
            total = 0
            while chunk := path_or_fileobj.read(CHUNK):
                total += len(chunk)
                self.check_size(total)
                spool.write(chunk)
            spool.seek(0)
            self.fileobj = spool
            size = None
        if size is not None:
            self.check_size(size)

    @property
    def name(self) -> str:
        if self.path is not None:
            return self.path.name
        return os.path.basename(str(getattr(self.fileobj, "name", "") or ""))

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise ImportFileError(
                "file_too_large",
                f"The file is larger than the limit of {self.max_bytes // (1024 * 1024) or 1} MB.",
            )

    def open(self) -> IO[bytes]:
        """A binary stream positioned at the start of the data (the caller closes path streams)."""
        if self.path is not None:
            return self.path.open("rb")
        assert self.fileobj is not None
        self.fileobj.seek(self.start)
        return self.fileobj

    def close(self, stream: IO[bytes]) -> None:
        if self.path is not None:
            stream.close()

    def head(self, size: int) -> bytes:
        stream = self.open()
        try:
            return stream.read(size)
        finally:
            self.close(stream)

    def chunks(self) -> Iterator[bytes]:
        """The bytes in chunks; refuses the file once more than ``max_bytes`` have been read."""
        stream = self.open()
        total = 0
        try:
            while chunk := stream.read(CHUNK):
                total += len(chunk)
                self.check_size(total)
                yield chunk
        finally:
            self.close(stream)


@dataclass
class Table:
    """A readable file: its format, header names and a streaming iterator over its records.

    ``rows()`` yields ``(row_number, values)``; ``values`` is a list of strings aligned with
    ``headers`` (CSV, XLSX), a dict of contact fields (vCard) or a :class:`RowError`. The row
    number is the file's line (CSV), the sheet's row (XLSX) or the card's position (vCard).
    """

    format: str
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    _rows: Any = None

    def rows(self) -> Iterator[Row]:
        return iter(self._rows())


def unique_headers(raw: list[str]) -> list[str]:
    """Header names stripped, blanks named "Column N", repeats numbered "Email (2)"."""
    seen: dict[str, int] = {}
    result = []
    for index, name in enumerate(raw, 1):
        name = (name or "").strip() or f"Column {index}"
        count = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = count
        result.append(name if count == 1 else f"{name} ({count})")
    return result
