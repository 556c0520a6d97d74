"""Column mapping for imports: which field each column of a file fills, and the value transforms.

``suggest_mapping`` proposes a target for each header it recognises: first from a table of the
column names that Google Contacts, Outlook, HubSpot and Salesforce exports use, then by fuzzy
matching the folded header (ASCII, lower-case, no punctuation) against the field names, labels
and synonyms, and the workspace's custom fields. A target is a field name of rapport/contacts
(``first_name``, ``emails``, ``city``…), ``full_name`` (split by ``split_full_name``), ``custom.<key>``,
or a list field with a kind: ``emails:work``, ``phones:mobile``. The transforms are pure
functions that raise ValueError with a message for the person doing the import.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pycountry
from rapidfuzz import fuzz, process
from unidecode import unidecode

# target → label; list fields (several columns may fill them) are in MULTI.
CONTACT_TARGETS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "emails": "Email",
    "phones": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "profession": "Profession",
    "birth_date": "Birth date",
    "gender": "Gender",
    "language": "Language",
    "time_zone": "Time zone",
    "lifecycle_stage": "Lifecycle stage",
    "lead_status": "Lead status",
    "lead_source": "Lead source",
    "street": "Street",
    "city": "City",
    "region": "Region",
    "postal_code": "Postal code",
    "country": "Country",
    "website": "Website",
    "notes": "Notes",
    "tags": "Tags",
    "do_not_email": "Do not email",
    "do_not_call": "Do not call",
    "do_not_sms": "Do not SMS",
    "external_id": "External ID",
}
COMPANY_TARGETS: dict[str, str] = {
    "name": "Name",
    "website": "Website",
    "domain": "Domain",
    "industry": "Industry",
    "size": "Size",
    "annual_revenue": "Annual revenue",
    "revenue_currency": "Revenue currency",
    "phone": "Phone",
    "description": "Description",
    "street": "Street",
    "city": "City",
    "region": "Region",
    "postal_code": "Postal code",
    "country": "Country",
    "tags": "Tags",
    "external_id": "External ID",
}
MULTI = frozenset({"emails", "phones", "tags", "notes"})

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "contact": {
        "first_name": ("first", "firstname", "given name", "forename", "prenom", "vorname"),
        "last_name": ("last", "lastname", "surname", "family name", "nom", "nachname"),
        "full_name": ("name", "contact name", "contact", "display name", "full name"),
        "emails": ("email", "email address", "mail", "e mail", "courriel"),
        "phones": ("phone", "telephone", "tel", "phone number", "telefon"),
        "phones:mobile": ("mobile", "cell", "cell phone", "mobile phone", "mobile number", "portable"),
        "company": ("company", "company name", "organization", "organisation", "account", "employer", "societe"),
        "job_title": ("title", "job title", "position", "role", "job", "poste"),
        "birth_date": ("birthday", "birthdate", "date of birth", "dob"),
        "street": ("address", "street address", "address line 1", "address 1", "adresse"),
        "region": ("state", "province", "state province", "county", "state region"),
        "postal_code": ("zip", "zip code", "postcode", "postal", "plz", "code postal"),
        "country": ("country region", "nation", "pays", "land"),
        "website": ("web", "url", "web page", "homepage", "site"),
        "notes": ("note", "comments", "comment", "description", "remarks"),
        "tags": ("tag", "labels", "categories", "groups", "group"),
        "external_id": ("id", "record id", "contact id", "external id"),
    },
    "company": {
        "name": ("company", "company name", "account name", "organization", "organisation", "name"),
        "website": ("web", "url", "website url", "domain name"),
        "phone": ("phone number", "telephone", "main phone"),
        "annual_revenue": ("revenue", "annual revenue"),
        "size": ("employees", "number of employees", "headcount", "company size"),
        "street": ("address", "street address", "billing street"),
        "city": ("billing city",),
        "region": ("state", "state region", "billing state province", "province"),
        "postal_code": ("zip", "postcode", "billing zip postal code"),
        "country": ("country region", "billing country"),
        "description": ("notes", "about"),
        "external_id": ("id", "record id", "account id", "company id"),
    },
}

# Exact export column names (folded) → target, by source. Earlier entries win a single-valued
# target when two columns claim it: Outlook's business address beats its home address.
_N = r"\d+"
KNOWN_CONTACT_COLUMNS: list[tuple[str, str | None]] = [
    # Google Contacts (both the older "Given Name" export and the current "First Name" one)
    ("given name", "first_name"),
    ("family name", "last_name"),
    (rf"email {_N} value", "emails"),
    (rf"phone {_N} value", "phones"),
    (rf"organization {_N} name", "company"),
    (rf"organization {_N} title", "job_title"),
    ("organization name", "company"),
    ("organization title", "job_title"),
    (rf"address {_N} street", "street"),
    (rf"address {_N} city", "city"),
    (rf"address {_N} region", "region"),
    (rf"address {_N} postal code", "postal_code"),
    (rf"address {_N} country", "country"),
    (rf"website {_N} value", "website"),
    ("group membership", "tags"),
    ("labels", "tags"),
    ("occupation", "profession"),
    (rf"(email|phone|address|website) {_N} (type|label|formatted|po box|extended address)", None),
    ("name", "full_name"),
    # Outlook
    (rf"email {_N} address", "emails"),
    ("email address", "emails"),
    ("job title", "job_title"),
    ("business phone", "phones:work"),
    (rf"business phone {_N}", "phones:work"),
    ("mobile phone", "phones:mobile"),
    ("home phone", "phones:home"),
    (rf"home phone {_N}", "phones:home"),
    ("business fax", "phones:fax"),
    ("other phone", "phones"),
    ("business street", "street"),
    ("business city", "city"),
    ("business state", "region"),
    ("business postal code", "postal_code"),
    ("business country region", "country"),
    ("home street", "street"),
    ("home city", "city"),
    ("home state", "region"),
    ("home postal code", "postal_code"),
    ("home country region", "country"),
    ("web page", "website"),
    ("categories", "tags"),
    ("email display name", None),
    ("email type", None),
    # HubSpot
    ("record id", "external_id"),
    ("phone number", "phones"),
    ("mobile phone number", "phones:mobile"),
    ("company name", "company"),
    ("lifecycle stage", "lifecycle_stage"),
    ("lead status", "lead_status"),
    ("original source", "lead_source"),
    ("street address", "street"),
    ("state region", "region"),
    ("country region", "country"),
    ("website url", "website"),
    # Salesforce
    ("contact id", "external_id"),
    ("account name", "company"),
    ("mobile", "phones:mobile"),
    ("fax", "phones:fax"),
    ("mailing street", "street"),
    ("mailing city", "city"),
    ("mailing state province", "region"),
    ("mailing zip postal code", "postal_code"),
    ("mailing country", "country"),
    ("birthdate", "birth_date"),
    ("lead source", "lead_source"),
    ("description", "notes"),
    ("email opt out", "do_not_email"),
    ("do not call", "do_not_call"),
    ("other street", "street"),
    ("other city", "city"),
    # Shared names last: "Title" is a job title in Salesforce but a salutation in Outlook,
    # where "Job Title" (above) wins it.
    ("first name", "first_name"),
    ("last name", "last_name"),
    ("email", "emails"),
    ("phone", "phones:work"),
    ("company", "company"),
    ("title", "job_title"),
    ("birthday", "birth_date"),
    ("notes", "notes"),
    ("gender", "gender"),
    ("salutation", None),
    ("name prefix", None),
    ("middle name", None),
]
_KNOWN = [(re.compile(pattern + "$"), target) for pattern, target in KNOWN_CONTACT_COLUMNS]
FUZZY_THRESHOLD = 88


def fold(text: str) -> str:
    """ASCII, lower-case, punctuation as single spaces; "E-mail" becomes "email"."""
    folded = " ".join(re.sub(r"[^a-z0-9]+", " ", unidecode(text or "").lower()).split())
    return re.sub(r"\be mail\b", "email", folded)


def base_field(target: str) -> str:
    """The field a target fills: ``phones:mobile`` → ``phones``, ``custom.vip`` → ``custom``."""
    return target.split(":", 1)[0].split(".", 1)[0]


def _custom_pairs(custom_fields: Iterable[Any]) -> list[tuple[str, str]]:
    pairs = []
    for item in custom_fields:
        if isinstance(item, Mapping):
            key, label = item["key"], item.get("label", "")
        elif isinstance(item, tuple | list):
            key, label = item[0], item[1] if len(item) > 1 else ""
        else:
            key, label = item.key, getattr(item, "label", "")
        pairs.append((str(key), str(label or "")))
    return pairs


def _candidates(entity: str, custom_fields: Iterable[Any]) -> dict[str, str]:
    """Folded name → target, for exact and fuzzy matching."""
    targets = CONTACT_TARGETS if entity == "contact" else COMPANY_TARGETS
    names: dict[str, str] = {}
    for key, custom_label in _custom_pairs(custom_fields):
        names.setdefault(fold(key), f"custom.{key}")
        if custom_label:
            names.setdefault(fold(custom_label), f"custom.{key}")
    for target, label in targets.items():
        names.setdefault(fold(target), target)
        names.setdefault(fold(label), target)
    for target, synonyms in SYNONYMS.get(entity, {}).items():
        for synonym in synonyms:
            names.setdefault(fold(synonym), target)
    return names


def _match(header: str, entity: str, names: dict[str, str]) -> tuple[int, str | None]:
    """(score, target) for one header: 100 + rank-bonus for a known export name, else fuzzy."""
    folded = fold(header)
    if not folded:
        return 0, None
    if entity == "contact":
        for rank, (pattern, target) in enumerate(_KNOWN):
            if pattern.match(folded):
                return 1000 - rank, target
    if folded in names:
        return 500, names[folded]
    best, best_score = None, 0.0
    for name, target in names.items():
        score = fuzz.ratio(folded, name)
        if score > best_score:
            best, best_score = target, score
    if best_score >= FUZZY_THRESHOLD:
        return int(best_score), best
    return 0, None


def suggest_mapping(
    headers: Iterable[str], *, entity: str = "contact", custom_fields: Iterable[Any] = ()
) -> dict[str, str]:
    """Header → target for the headers recognised; the others are left out (not imported).

    ``entity`` is "contact" or "company"; ``custom_fields`` are the workspace's custom fields of
    that entity (objects or dicts with ``key`` and ``label``, or (key, label) pairs). A
    single-valued target goes to the best-matching column only; list targets (emails, phones,
    tags, notes) may take several.
    """
    if entity not in ("contact", "company"):
        raise ValueError(f"Unknown entity “{entity}”: use contact or company.")
    names = _candidates(entity, custom_fields)
    scored = []
    for position, header in enumerate(headers):
        score, target = _match(header, entity, names)
        if target is not None:
            scored.append((score, -position, header, target))
    taken: set[str] = set()
    chosen: dict[str, str] = {}
    for _score, _position, header, target in sorted(scored, reverse=True):
        if base_field(target) not in MULTI and target in taken:
            continue
        taken.add(target)
        chosen[header] = target
    if "full_name" in taken and {"first_name", "last_name"} & taken:
        chosen = {h: t for h, t in chosen.items() if t != "full_name"}  # split columns beat a whole name
    order = {header: i for i, header in enumerate(headers)} if isinstance(headers, list) else {}
    return dict(sorted(chosen.items(), key=lambda item: order.get(item[0], 0)))


# --- value transforms ------------------------------------------------------------------------

PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "dei",
        "di",
        "da",
        "das",
        "dos",
        "du",
        "la",
        "le",
        "lo",
        "ter",
        "ten",
        "op",
        "bin",
        "ibn",
        "al",
        "el",
        "st",
        "mac",
    ]
)
SUFFIXES = frozenset(
    ["jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d.", "esq", "esq.", "dds", "cpa", "mba"]
)
HONORIFICS = frozenset(
    [
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "miss",
        "dr",
        "dr.",
        "prof",
        "prof.",
        "sir",
        "madam",
        "mme",
        "mlle",
        "m.",
        "herr",
        "frau",
    ]
)


def split_full_name(value: str) -> tuple[str, str]:
    """(first name, last name) from a whole name.

    Handles "Last, First", honorifics (dropped), suffixes such as "Jr." (kept with the last
    name) and family-name particles: "Jan van der Berg" → ("Jan", "van der Berg").
    """
    text = " ".join((value or "").split())
    if not text:
        raise ValueError("The name is empty.")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    suffixes = [p for p in parts[1:] if p.lower() in SUFFIXES]
    parts = [p for p in parts if p not in suffixes]
    suffix = " ".join(suffixes)
    if len(parts) >= 2:  # "Last, First"
        first, rest = _split_words(" ".join(parts[1:]).split())
        return " ".join(w for w in [first, rest] if w), f"{parts[0]} {suffix}".strip()
    text = parts[0] if parts else text
    words = [w for w in text.split() if w.lower() not in HONORIFICS] or text.split()
    if len(words) > 1 and words[-1].lower() in SUFFIXES:
        suffix = f"{words.pop()} {suffix}".strip()
    first, last = _split_words(words)
    if not last and suffix:
        return "", f"{first} {suffix}"
    return first, f"{last} {suffix}".strip()


def _split_words(words: list[str]) -> tuple[str, str]:
    words = [w for w in words if w.lower() not in HONORIFICS] or words
    if len(words) == 1:
        return words[0], ""
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


MONTHS = {
    fold(name): index
    for index, names in enumerate(
        [
            ("january", "jan", "janvier", "januar", "enero"),
            ("february", "feb", "fevrier", "februar", "febrero"),
            ("march", "mar", "mars", "marz", "marzo"),
            ("april", "apr", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("june", "jun", "juin", "juni", "junio"),
            ("july", "jul", "juillet", "juli", "julio"),
            ("august", "aug", "aout", "agosto"),
            ("september", "sep", "sept", "septembre", "septiembre"),
            ("october", "oct", "octobre", "oktober", "octubre"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "decembre", "dezember", "diciembre"),
        ],
        1,
    )
    for name in names
}


def parse_date(value: str, *, fmt: str | None = None, order: str | None = None) -> date:
    """A date from text: ``fmt`` (a strptime format) if given, else ISO and common forms.

    ``order`` ("dmy", "mdy" or "ymd") decides numeric dates such as 03/04/2020; without it such a
    date is refused as ambiguous unless one part is above 12. Month names (English, French,
    German, Spanish) and two-digit years (pivot on the current year) are accepted.
    """
    text = (value or "").strip()
    if not text:
        raise ValueError("The date is empty.")
    if fmt:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            raise ValueError(f"“{text}” does not match the date format {fmt}.") from None
    if order not in (None, "dmy", "mdy", "ymd"):
        raise ValueError(f"Unknown date order “{order}”: use dmy, mdy or ymd.")
    if text.startswith("--"):
        raise ValueError(f"“{text}” has no year.")
    iso = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})([T ].*)?", text)
    if iso:
        return _date(int(iso[1]), int(iso[2]), int(iso[3]), text)
    parts = re.findall(r"[^\W\d_]+|\d+", unidecode(text).lower())
    words = [p for p in parts if not p.isdigit()]
    numbers = [p for p in parts if p.isdigit()]
    if words:
        months = [MONTHS[w] for w in words if w in MONTHS]
        if len(months) != 1 or len(numbers) != 2:
            raise ValueError(f"“{text}” is not a date.")
        big = [n for n in numbers if len(n) == 4]
        year = big[0] if big else numbers[-1]
        day = next(n for n in numbers if n is not year)
        return _date(_year(year), months[0], int(day), text)
    if len(numbers) != 3:
        raise ValueError(f"“{text}” is not a date.")
    a, b, c = numbers
    if len(a) == 4 or order == "ymd":
        return _date(_year(a), int(b), int(c), text)
    first, second = int(a), int(b)
    if order is None:
        if first > 12 >= second:
            order = "dmy"
        elif second > 12 >= first:
            order = "mdy"
        elif first != second:
            raise ValueError(f"“{text}” is ambiguous: choose day-first or month-first dates.")
        else:
            order = "dmy"
    day, month = (first, second) if order == "dmy" else (second, first)
    return _date(_year(c), month, day, text)


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        this = date.today().year % 100
        year += 2000 if year <= this else 1900
    return year


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"“{text}” is not a valid date.") from None


COUNTRY_ALIASES = {
    "uk": "GB",
    "u k": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "britain": "GB",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "deutschland": "DE",
    "espana": "ES",
    "italia": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "osterreich": "AT",
    "belgique": "BE",
    "russia": "RU",
    "south korea": "KR",
    "north korea": "KP",
    "korea": "KR",
    "vietnam": "VN",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "uae": "AE",
}


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 from a code, an English name, a common alias or a near spelling."""
    text = (value or "").strip()
    if not text:
        raise ValueError("The country is empty.")
    folded = fold(text)
    if folded in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[folded]
    if not text.isdigit():
        if len(text) == 2 and (found := pycountry.countries.get(alpha_2=text.upper())) is not None:
            return str(found.alpha_2)
        if len(text) == 3 and (found := pycountry.countries.get(alpha_3=text.upper())) is not None:
            return str(found.alpha_2)
        try:
            return str(pycountry.countries.lookup(text).alpha_2)
        except LookupError:
            pass
        try:
            matches = pycountry.countries.search_fuzzy(text)
        except LookupError:
            matches = []
        if matches:
            top = matches[0]
            if len(matches) == 1 or folded in fold(top.name) or fuzz.ratio(folded, fold(top.name)) >= 80:
                return str(top.alpha_2)
            names = ", ".join(m.name for m in matches[:3])
            raise ValueError(f"“{text}” could be several countries ({names}): use a two-letter code.")
        close = _closest_country(folded)
        if close is not None:
            return close
    raise ValueError(f"Unknown country “{text}”: use a two-letter ISO code such as FR, or the English name.")


@functools.cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if name := getattr(country, attr, None):
                names[fold(name)] = str(country.alpha_2)
    return names


def _closest_country(folded: str) -> str | None:
    """The country whose folded name is a near spelling of ``folded`` (typos, accents, apostrophes)."""
    found = process.extract(folded, list(_country_names()), scorer=fuzz.ratio, limit=2)
    if not found or found[0][1] < 85:
        return None
    codes = {_country_names()[name] for name, score, _ in found if score == found[0][1]}
    return codes.pop() if len(codes) == 1 else None
