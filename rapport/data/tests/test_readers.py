"""Readers for imported files: real-world CSV, XLSX and vCard quirks, and refusals."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from rapport.data.readers import ImportFileError, RowError, open_table


def rows(table):
    return list(table.rows())


def test_utf8_bom_csv_has_clean_first_header():
    table = open_table(io.BytesIO("\ufeffEmail,Name\r\na@x.com,Zoë\r\n".encode()), filename="c.csv")
    assert table.format == "csv" and table.headers == ["Email", "Name"]
    assert rows(table) == [(2, ["a@x.com", "Zoë"])]


def test_utf16_bom_tab_separated_csv():
    data = "First\tLast\nJosé\tNúñez\n".encode("utf-16")
    table = open_table(io.BytesIO(data), filename="export.csv")
    assert table.encoding == "utf-16" and table.delimiter == "\t"
    assert rows(table) == [(2, ["José", "Núñez"])]


def test_semicolon_csv_with_decimal_commas_is_sniffed():
    data = b"Name;Revenue;City\nAcme;1,5;Paris\nBeta;2,25;Lyon\n"
    table = open_table(io.BytesIO(data), filename="c.csv")
    assert table.delimiter == ";"
    assert [r for _, r in rows(table)] == [["Acme", "1,5", "Paris"], ["Beta", "2,25", "Lyon"]]


def test_pipe_delimiter_and_explicit_override():
    data = b"a|b\n1|2\n"
    assert open_table(io.BytesIO(data), filename="x.csv").delimiter == "|"
    forced = open_table(io.BytesIO(data), filename="x.csv", delimiter=",")
    assert forced.headers == ["a|b"]


def test_quoted_newlines_stay_in_one_field_and_line_numbers_follow_the_file():
    data = b'Name,Notes\n"Ann","line one\nline two"\nBob,short\n'
    result = rows(open_table(io.BytesIO(data), filename="c.csv"))
    assert result == [(2, ["Ann", "line one\nline two"]), (4, ["Bob", "short"])]


def test_latin1_file_is_detected_and_decoded(tmp_path: Path):
    path = tmp_path / "legacy.csv"
    text = "Nom;Prénom;Ville\n" + "".join(f"Müller;Hélène;Besançon {i}\n" for i in range(30))
    path.write_bytes(text.encode("cp1252"))
    table = open_table(path)
    assert table.encoding in ("cp1252", "latin-1")
    assert rows(table)[0] == (2, ["Müller", "Hélène", "Besançon 0"])


def test_undecodable_bytes_name_the_line_and_offset():
    data = b"Name,City\nAnn,Paris\nBob,Z\xfcrich\n"
    with pytest.raises(ImportFileError) as err:
        rows(open_table(io.BytesIO(data), filename="c.csv", encoding="utf-8"))
    assert err.value.code == "undecodable"
    assert err.value.line == 3 and err.value.offset == data.index(b"\xfc")


def test_nul_bytes_are_refused():
    with pytest.raises(ImportFileError) as err:
        rows(open_table(io.BytesIO(b"a,b\n1,\x002\n"), filename="c.csv"))
    assert err.value.code == "nul_byte" and err.value.line == 2


def test_ragged_rows_are_reported_per_row_and_the_rest_read():
    data = b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n1,2,3,\n\n,,\n5,6,7\n"
    result = rows(open_table(io.BytesIO(data), filename="c.csv"))
    assert result[0] == (2, ["1", "2", "3"])
    assert isinstance(result[1][1], RowError) and result[1][1].code == "too_few_cells" and result[1][0] == 3
    assert isinstance(result[2][1], RowError) and result[2][1].code == "too_many_cells"
    assert result[3] == (5, ["1", "2", "3"])  # a trailing delimiter is not a problem
    assert result[4] == (8, ["5", "6", "7"])  # blank and all-empty lines skipped
    assert len(result) == 5


def test_duplicate_and_blank_headers_get_unique_names():
    table = open_table(io.BytesIO(b"Email,,Email\n1,2,3\n"), filename="c.csv")
    assert table.headers == ["Email", "Column 2", "Email (2)"]


def test_a_csv_that_is_really_a_zip_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("contacts.csv", "a,b\n1,2\n")
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(buffer.getvalue()), filename="contacts.csv")
    assert err.value.code == "zip"


def test_a_csv_that_is_really_a_workbook_is_refused():
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(_workbook([["a"], ["1"]])), filename="contacts.csv")
    assert err.value.code == "type_mismatch" and "Excel" in err.value.message


def test_an_xlsx_that_is_really_text_is_refused():
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(b"a,b\n1,2\n"), filename="contacts.xlsx")
    assert err.value.code == "type_mismatch"


def test_size_limit_is_enforced_before_reading(tmp_path: Path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(ImportFileError) as err:
        open_table(path, max_bytes=1000)
    assert err.value.code == "file_too_large"


def test_size_limit_is_enforced_while_streaming_an_unseekable_upload():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = b"a,b\n" + b"1,2\n" * 100_000
    with pytest.raises(ImportFileError) as err:
        open_table(io.BufferedReader(Pipe(data)), filename="c.csv", max_bytes=100_000)
    assert err.value.code == "file_too_large"


def test_a_million_row_csv_streams(tmp_path: Path):
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("id,email\n")
        for i in range(1_000_000):
            out.write(f"{i},user{i}@example.com\n")
    count = 0
    last = None
    for number, cells in open_table(path).rows():
        count += 1
        last = (number, cells)
    assert count == 1_000_000 and last == (1_000_001, ["999999", "user999999@example.com"])


def _workbook(data, *, title="Contacts", extra_sheet=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in data:
        sheet.append(row)
    if extra_sheet:
        other = workbook.create_sheet(extra_sheet[0])
        for row in extra_sheet[1]:
            other.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_values_become_strings_with_iso_dates():
    data = _workbook(
        [
            ["Name", "Born", "Seen", "Score", "Zip", "VIP"],
            ["Ann", date(1985, 4, 12), datetime(2024, 1, 2, 15, 30), 4.5, 75001, True],
            [],
            ["Bob", None, None, None, "02134"],
        ]
    )
    table = open_table(io.BytesIO(data), filename="people.xlsx")
    assert table.format == "xlsx" and table.sheet == "Contacts"
    assert table.headers == ["Name", "Born", "Seen", "Score", "Zip", "VIP"]
    assert rows(table) == [
        (2, ["Ann", "1985-04-12", "2024-01-02T15:30:00", "4.5", "75001", "true"]),
        (4, ["Bob", "", "", "", "02134", ""]),
    ]


def test_xlsx_named_sheet_and_unknown_sheet():
    data = _workbook([["a"], ["1"]], extra_sheet=("Leads", [["Email"], ["x@y.z"]]))
    table = open_table(io.BytesIO(data), filename="w.xlsx", sheet="Leads")
    assert table.sheet_names == ["Contacts", "Leads"] and rows(table) == [(2, ["x@y.z"])]
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(data), filename="w.xlsx", sheet="Nope")
    assert err.value.code == "no_such_sheet"


def test_xlsx_zip_bomb_is_refused_before_openpyxl_reads_it(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (50 * 1024 * 1024))  # ~50 KB compressed
    data = buffer.getvalue()
    assert len(data) < 200_000

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not see a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(data), filename="bomb.xlsx")
    assert err.value.code == "zip_bomb"


def test_xlsx_declaring_a_huge_total_is_refused():
    from rapport.data.readers.xlsx import check_zip

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"x" * 5000)
    with pytest.raises(ImportFileError) as err:
        check_zip(io.BytesIO(buffer.getvalue()), max_uncompressed=4000)
    assert err.value.code == "zip_bomb"


VCARDS = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Lovelace;Ada;;;\r\n"
    "FN:Ada Lovelace\r\n"
    "ORG:Analytical Engines Ltd;Research\r\n"
    "TITLE:Mathematician\r\n"
    "NOTE:First line of a long note that is folded onto the next \r\n"
    " line by the exporter.\r\n"
    "item1.EMAIL;type=INTERNET:ada@engines.example\r\n"
    "item1.X-ABLabel:_$!<Work>!$_\r\n"
    "EMAIL;TYPE=HOME:ada@home.example\r\n"
    "TEL;TYPE=CELL:+44 20 7946 0000\r\n"
    "TEL;TYPE=WORK,VOICE:+44 20 7946 0001\r\n"
    "ADR;TYPE=WORK:;;12 St James's Sq;London;;SW1Y 4JH;United Kingdom\r\n"
    "BDAY:1815-12-10\r\n"
    "CATEGORIES:VIP,Pioneers\r\n"
    "URL:https://engines.example\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:AAAABBBBCCCC\r\n"
    " DDDDEEEE\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "this line is garbage\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Grace Hopper\r\n"
    'TEL;VALUE=uri;TYPE="voice,cell":tel:+1-555-0100\r\n'
    "EMAIL;TYPE=work:grace@navy.example\r\n"
    "BDAY:19061209\r\n"
    "END:VCARD\r\n"
)


def test_vcard_cards_become_contact_fields_and_a_bad_card_is_reported():
    table = open_table(io.BytesIO(VCARDS.encode()), filename="contacts.vcf")
    assert table.format == "vcard"
    (i1, ada), (i2, bad), (i3, grace) = rows(table)
    assert (i1, i2, i3) == (1, 2, 3)
    assert ada["first_name"] == "Ada" and ada["last_name"] == "Lovelace"
    assert ada["company"] == "Analytical Engines Ltd" and ada["job_title"] == "Mathematician"
    assert ada["notes"] == "First line of a long note that is folded onto the next line by the exporter."
    assert ada["emails"] == [("ada@engines.example", "work"), ("ada@home.example", "personal")]
    assert ada["phones"] == [("+44 20 7946 0000", "mobile"), ("+44 20 7946 0001", "work")]
    assert (ada["street"], ada["city"], ada["postal_code"], ada["country"]) == (
        "12 St James's Sq",
        "London",
        "SW1Y 4JH",
        "United Kingdom",
    )
    assert ada["birth_date"] == "1815-12-10" and ada["tags"] == ["VIP", "Pioneers"]
    assert ada["website"] == "https://engines.example"
    assert isinstance(bad, RowError) and bad.code == "bad_card" and "Card 2" in bad.message
    assert grace["first_name"] == "Grace" and grace["last_name"] == "Hopper"  # from FN (no N)
    assert grace["phones"] == [("+1-555-0100", "mobile")] and grace["birth_date"] == "1906-12-09"


def test_vcard_21_quoted_printable_with_charset_and_soft_breaks():
    card = (
        "BEGIN:VCARD\r\n"
        "VERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen\r\n"
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Gr=C3=BC=C3=9Fe aus =\r\n"
        "M=C3=BCnchen\r\n"
        "TEL;WORK;VOICE:+49 89 123456\r\n"
        "TEL;FAX:+49 89 123457\r\n"
        "EMAIL;INTERNET:j@example.de\r\n"
        "END:VCARD\r\n"
    )
    [(_, fields)] = rows(open_table(io.BytesIO(card.encode()), filename="old.vcf"))
    assert (fields["first_name"], fields["last_name"]) == ("Jürgen", "Müller")
    assert fields["notes"] == "Grüße aus München"
    assert fields["phones"] == [("+49 89 123456", "work"), ("+49 89 123457", "fax")]
    assert fields["emails"] == [("j@example.de", "other")]


def test_vcard_content_in_a_csv_named_file_is_refused():
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(VCARDS.encode()), filename="contacts.csv")
    assert err.value.code == "type_mismatch"


def test_empty_file_and_old_excel_are_refused():
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(b""), filename="a.csv")
    assert err.value.code == "empty_file"
    with pytest.raises(ImportFileError) as err:
        open_table(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100), filename="a.xls")
    assert err.value.code == "old_excel"
