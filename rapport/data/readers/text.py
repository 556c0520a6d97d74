"""Text files: encoding detection, a streaming decoder that reports where bad bytes are, and CSV.

The encoding is chosen once from a sample (a byte-order mark wins, then strict UTF-8, then
charset-normalizer) and the whole file is then decoded strictly in chunks: a byte that does not
fit is an error naming its offset and line, never a silent replacement character.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator

import charset_normalizer

from rapport.data.readers.base import ImportFileError, Row, RowError, Source, Table, unique_headers

SAMPLE = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes cp1252 leaves undefined: a file holding them is Latin-1 (C1 controls), not cp1252.
CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")
LATIN_FAMILY = frozenset(
    {"latin-1", "iso8859-1", "iso8859-2", "iso8859-9", "iso8859-15", "cp1250", "cp1252", "cp1254", "mac-roman"}
)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample: BOM, else UTF-8 if it decodes, else charset-normalizer's guess."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(sample).best()
    name = codecs.lookup(best.encoding).name if best is not None else "cp1252"
    if name in LATIN_FAMILY:
        # The single-byte Latin code pages are hard to tell apart from a sample, and Windows
        # spreadsheet exports are overwhelmingly cp1252; it differs from Latin-1 only in 0x80-0x9F.
        return "latin-1" if CP1252_HOLES & set(sample) else "cp1252"
    return name


def check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ImportFileError("unknown_encoding", f"Unknown text encoding “{name}”.") from None


def decoded_lines(source: Source, encoding: str, *, final: bool = True) -> Iterator[str]:
    """The file's lines, line endings kept (as the csv module wants), decoded strictly.

    Raises ImportFileError for undecodable bytes (with the byte offset and line) and for NUL
    characters, which no text export contains and which mean a binary file.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    line = 1
    pending = ""
    for chunk in source.chunks():
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            buffered = len(decoder.getstate()[0])
            where = offset - buffered + max(exc.start, 0)
            line += pending.count("\n") + chunk[: max(exc.start - buffered, 0)].count(b"\n")
            raise ImportFileError(
                "undecodable",
                f"Line {line} (byte {where}) is not valid {encoding} text. "
                "Choose the file's encoding, or save it again as UTF-8.",
                line=line,
                offset=where,
            ) from None
        offset += len(chunk)
        if "\x00" in text:
            line += (pending + text[: text.index("\x00")]).count("\n")
            raise ImportFileError(
                "nul_byte",
                f"Line {line} contains a NUL byte: this is a binary file, not a text export.",
                line=line,
            )
        pending += text
        *complete, pending = pending.split("\n")
        for piece in complete:
            line += 1
            yield piece + "\n"
    if final:
        pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def sniff_delimiter(text: str, *, default: str = ",") -> str:
    """The candidate that splits the header into most columns consistently across the sample rows.

    A candidate scores by the share of sample records with as many cells as the header; a header
    it leaves in one piece scores nothing. Ties go to the order of ``DELIMITERS``.
    """
    lines = text.split("\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    best, best_score = default, (0.0, 0)
    for candidate in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines[:200], delimiter=candidate) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        share = sum(len(r) == width for r in records) / len(records)
        score = (round(share, 2), width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def open_csv(source: Source, *, encoding: str | None, delimiter: str | None, default_delimiter: str) -> Table:
    sample = source.head(SAMPLE)
    encoding = check_encoding(encoding) if encoding else detect_encoding(sample)
    if encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    if delimiter is None:
        text = "".join(_take(decoded_lines(_Sampled(source, sample), encoding, final=False), 200))
        delimiter = sniff_delimiter(text, default=default_delimiter)
    elif len(delimiter) != 1:
        raise ImportFileError("bad_delimiter", "The delimiter must be one character.")
    headers: list[str] = []
    for _, cells in _records(source, encoding, delimiter):
        headers = unique_headers(cells)
        break
    if not headers:
        raise ImportFileError("empty_file", "The file has no header row.")
    width = len(headers)
    chosen_delimiter = delimiter

    def rows() -> Iterator[Row]:
        records = _records(source, encoding, chosen_delimiter)
        next(records, None)
        for number, cells in records:
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]  # a trailing delimiter, as some exporters write
            if len(cells) == width:
                yield number, [c.strip() for c in cells]
            else:
                problem = "too_many_cells" if len(cells) > width else "too_few_cells"
                yield (
                    number,
                    RowError(
                        problem,
                        f"Line {number} has {len(cells)} cells where the header has {width}.",
                        cells=cells,
                    ),
                )

    return Table(format="csv", headers=headers, encoding=encoding, delimiter=delimiter, _rows=rows)


def _records(source: Source, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-empty records with the line each starts on; a quoted field may span lines."""
    reader = csv.reader(decoded_lines(source, encoding), delimiter=delimiter)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError("bad_csv", f"Line {start}: {exc}.", line=start) from None
        if any(c.strip() for c in cells):
            yield start, cells
        start = reader.line_num + 1


class _Sampled(Source):
    """A source limited to an already-read sample, for sniffing."""

    def __init__(self, parent: Source, sample: bytes) -> None:
        self.max_bytes = parent.max_bytes
        self._sample = sample

    def chunks(self) -> Iterator[bytes]:
        yield self._sample


def _take(lines: Iterator[str], count: int) -> list[str]:
    taken = []
    for line in lines:
        taken.append(line)
        if len(taken) >= count:
            break
    return taken
