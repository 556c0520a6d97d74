"""vCard 2.1, 3.0 and 4.0 files, one card at a time, through vobject.

The file is split into cards on BEGIN/END lines while it streams, so a card that does not parse
is reported with its position and the next one is still read. Before vobject sees a card, 2.1
quoted-printable soft line breaks are joined (vobject does not) and binary properties (PHOTO,
LOGO, SOUND, KEY) are dropped: they are large and nothing imports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import vobject

from rapport.data.readers.base import ImportFileError, Row, RowError, Source, Table
from rapport.data.readers.text import SAMPLE, check_encoding, decoded_lines, detect_encoding

FIELDS = [
    "first_name",
    "last_name",
    "full_name",
    "emails",
    "phones",
    "company",
    "job_title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "birth_date",
    "notes",
    "tags",
    "website",
]
MAX_CARD_CHARS = 1024 * 1024
_BINARY = re.compile(r"^([\w-]+\.)?(PHOTO|LOGO|SOUND|KEY)[;:]", re.IGNORECASE)
_QP = re.compile(r"^[^:]*QUOTED-PRINTABLE[^:]*:", re.IGNORECASE)
_LABEL = re.compile(r"_\$!<(.*)>!\$_")


def open_vcard(source: Source, *, encoding: str | None) -> Table:
    encoding = check_encoding(encoding) if encoding else detect_encoding(source.head(SAMPLE))

    def rows() -> Iterator[Row]:
        for index, card in enumerate(_cards(decoded_lines(source, encoding)), 1):
            if isinstance(card, RowError):
                yield index, card
                continue
            try:
                yield index, card_fields(vobject.readOne(card))
            except Exception as exc:  # vobject raises ParseError and assorted others on bad cards
                yield index, RowError("bad_card", f"Card {index} cannot be read: {exc}")

    return Table(format="vcard", headers=list(FIELDS), encoding=encoding, _rows=rows)


def _cards(lines: Iterator[str]) -> Iterator[str | RowError]:
    card: list[str] | None = None
    size = 0
    skipping = False
    for raw in lines:
        line = raw.rstrip("\r\n")
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if card is not None:
                yield RowError("bad_card", "A card has no END:VCARD line.")
            card, size, skipping = [line.strip()], 0, False
            continue
        if card is None:
            continue  # text outside cards
        if upper == "END:VCARD":
            card.append("END:VCARD")
            yield "\r\n".join(card) + "\r\n"
            card = None
            continue
        if line[:1] in (" ", "\t"):
            if skipping:
                continue
        else:
            skipping = bool(_BINARY.match(line))
            if skipping:
                continue
        if not line.strip():
            continue
        size += len(line)
        if size > MAX_CARD_CHARS:
            raise ImportFileError("card_too_large", "A card is larger than 1 MB without its photo.")
        if card and card[-1].endswith("=") and _QP.match(card[-1]) and line[:1] not in (" ", "\t"):
            card[-1] = card[-1][:-1] + line  # a quoted-printable soft line break
        else:
            card.append(line)
    if card is not None:
        yield RowError("bad_card", "The last card has no END:VCARD line.")


def _kinds(prop: Any) -> set[str]:
    kinds: set[str] = set()
    for value in [*prop.params.get("TYPE", []), *getattr(prop, "singletonparams", [])]:
        kinds.update(part.strip().lower() for part in str(value).split(","))
    return kinds


def _label(card: Any, group: str | None) -> str:
    if not group:
        return ""
    for prop in card.getChildren():
        if prop.group == group and prop.name == "X-ABLABEL":
            text = str(prop.value)
            match = _LABEL.match(text)
            return (match.group(1) if match else text).strip().lower()
    return ""


def email_kind(kinds: set[str]) -> str:
    if "work" in kinds:
        return "work"
    if kinds & {"home", "personal"}:
        return "personal"
    return "other"


def phone_kind(kinds: set[str]) -> str:
    for key, kind in (("fax", "fax"), ("cell", "mobile"), ("mobile", "mobile"), ("iphone", "mobile")):
        if key in kinds:
            return kind
    if "work" in kinds:
        return "work"
    if "home" in kinds:
        return "home"
    return "other"


def _birth_date(text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = re.match(r"(\d{4}-\d{2}-\d{2})(T.*)?$", text)
    return match.group(1) if match else text


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v).strip() for v in value if str(v).strip())
    return str(value).strip()


def card_fields(card: Any) -> dict[str, Any]:
    """A parsed vobject card as contact fields; see ``FIELDS`` for the keys."""
    fields: dict[str, Any] = {name: "" for name in FIELDS}
    fields.update(emails=[], phones=[], tags=[])
    notes = []
    address = None
    for prop in card.getChildren():
        name, value = prop.name, prop.value
        kinds = _kinds(prop) | ({_label(card, prop.group)} - {""})
        if name == "N":
            fields["first_name"] = _text(value.given)
            fields["last_name"] = _text(value.family)
        elif name == "FN":
            fields["full_name"] = _text(value)
        elif name == "EMAIL" and _text(value):
            fields["emails"].append((_text(value), email_kind(kinds)))
        elif name == "TEL" and _text(value):
            number = _text(value)
            number = number[4:] if number.lower().startswith("tel:") else number
            fields["phones"].append((number, phone_kind(kinds)))
        elif name == "ORG" and not fields["company"]:
            parts = value if isinstance(value, list) else [value]
            fields["company"] = str(parts[0]).strip() if parts else ""
        elif name == "TITLE" and not fields["job_title"]:
            fields["job_title"] = _text(value)
        elif name == "ADR" and (address is None or "pref" in kinds or "work" in kinds):
            address = value
        elif name == "BDAY":
            fields["birth_date"] = _birth_date(_text(value))
        elif name == "NOTE" and _text(value):
            notes.append(_text(value))
        elif name == "CATEGORIES":
            values = value if isinstance(value, list) else str(value).split(",")
            fields["tags"].extend(str(v).strip() for v in values if str(v).strip())
        elif name == "URL" and not fields["website"]:
            fields["website"] = _text(value)
    if address is not None:
        fields.update(
            street=_text(address.street),
            city=_text(address.city),
            region=_text(address.region),
            postal_code=_text(address.code),
            country=_text(address.country),
        )
    fields["notes"] = "\n\n".join(notes)
    if not fields["first_name"] and not fields["last_name"] and fields["full_name"]:
        from rapport.data.mapping import split_full_name

        fields["first_name"], fields["last_name"] = split_full_name(fields["full_name"])
    return fields
