"""Normalisation of contact and company records for duplicate detection.

Pure functions, no database: each takes a plain mapping (a row from an import, a model's values)
and returns a frozen dataclass of comparison-ready values. Everything is folded the same way:
Unicode transliterated to ASCII with unidecode ("Müller" → "muller", "José" → "jose"), lower-case,
punctuation turned into spaces, white space collapsed. Nicknames, legal suffixes, titles and
street-type abbreviations are tables of data at the top of this module, not code.

Input is forgiving on purpose (real exports are messy): unknown keys are ignored, any field may be
missing, blank or malformed; an unparseable phone keeps its digits, an invalid email keeps its
lower-cased text, a birth date that is not a real date keeps its ``YYYYMMDD`` digits so that a
one-digit typo can still be recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import jellyfish
import phonenumbers
from unidecode import unidecode

from rapport.core import normalize as core_normalize
from rapport.core.errors import ValidationFailed

# --- data tables -----------------------------------------------------------------------------

# canonical: variants. One line per canonical first name; a variant may belong to several lines
# ("al" is Albert, Alfred or Alexander), and then it matches each of them.
NICKNAMES_TABLE = """
abraham: abe abram
albert: al bert bertie albie
alexander: alex al alec sandy sasha xander alexandre alejandro alessandro
alexandra: alex alexa sandra sandy sasha alessandra alejandra
alfred: al alf alfie fred freddie
andrew: andy drew andre andreas andres andrea
anthony: tony antonio antoine anton
arthur: art artie
barbara: barb barbie babs
benjamin: ben benny benji
catherine: cathy kate katie kathy cat katherine kathryn kath caterina catalina katharina kathrin katrin
charles: charlie chuck chas carl karl carlos carlo
christine: chris chrissy christina kristina tina christiane cristina
christopher: chris kit topher christophe christoph cristobal
daniel: dan danny dani
david: dave davy
deborah: deb debbie debby
donald: don donny
dorothy: dot dottie dolly
edward: ed eddie ted teddy ned eduardo edouard
elizabeth: liz lizzie beth betty bette betsy eliza elisa lisa liza libby elise elisabeth isabel isabelle
francis: frank fran francois franz francesco francisco paco
frances: fran fanny francoise francesca francisca
frederick: fred freddie fritz frederic friedrich federico
gregory: greg
henry: hank harry hal henri heinrich heinz enrique enrico
isabella: bella izzy isabel isabelle
jacob: jake jakob
james: jim jimmy jamie jacques jaime diego
jennifer: jen jenny jenna
jessica: jess jessie
john: jack johnny jon hans jean juan giovanni johann johannes ivan sean ian
johannes: hans johann jo john
joseph: joe joey jose giuseppe josef jupp pepe
josephine: jo josie fifi
katherine: kate katie kathy kat catherine kathryn
lawrence: larry laurence laurent lorenzo
margaret: maggie peggy meg megan marge margie greta gretchen margarete marguerite margarita madge daisy
mary: molly polly mae mamie maria marie mia
matthew: matt matty mathieu matthias mateo matteo
michael: mike mikey mick micky michel michele miguel michi
nicholas: nick nicky nico nicolas klaus niklas nikolaus
patricia: pat patty patsy trish tricia
patrick: pat paddy patrice
peter: pete pierre pedro pietro
philip: phil pip philippe felipe filippo philipp
rebecca: becky becca
richard: rick ricky dick rich richie ricardo riccardo
robert: bob bobby rob robbie robin bert roberto
ronald: ron ronnie
samuel: sam sammy
stephen: steve steven stevie stefan stephane esteban stefano
susan: sue susie suzanne susanne susana
theodore: ted teddy theo
thomas: tom tommy thom tomas thomas
timothy: tim timmy
victoria: vicky tori
walter: walt wally
william: bill billy will willy willie liam wilhelm guillaume guillermo guglielmo
wolfgang: wolf
"""

# Legal-form words and abbreviations, after folding (dots removed, so "S.p.A." is "spa"); one
# word each. Forms of several words, as they fold ("gmbh co kg"), are in MULTI_WORD_LEGAL_FORMS.
# They are removed at the end of a name, or at its start ("SARL Dupont"), never in the middle.
LEGAL_SUFFIXES = """
inc incorporated corp corporation co company cos companies llc lllp llp lp ltd limited plc pllc pc
pty proprietary gmbh ggmbh mbh ag kg kgaa ohg ug gbr ev se
sa sas sasu sarl eurl sci snc sca scs scop scp sl slu sll srl spa sapa
bv nv vof bvba sprl asbl oy oyj ab aps as asa kk ltda sac eirl lda
holding holdings group groupe gruppe
"""
MULTI_WORD_LEGAL_FORMS = (
    "gmbh co kg",
    "gmbh and co kg",
    "ag co kg",
    "ag and co kg",
    "sa de cv",
    "sab de cv",
    "pty ltd",
    "proprietary limited",
    "e v",
    "a s",
    "and co",
    "and cie",
    "et cie",
    "and sons",
    "und co",
    "y cia",
    "s a",
    "s l",
    "b v",
    "n v",
)

# Honorifics and generational suffixes are dropped from names; the generation is kept apart
# (a father and son both called John Smith differ only there).
TITLES = "mr mrs ms miss mx dr prof sir dame m mme mlle herr frau hr fr sr sra srta dott ing rev fr"
GENERATIONS = "jr junior sr senior ii iii iv"

# Street-type words, folded, to one abbreviation each, so "12 Main Street" equals "12 main st".
STREET_TYPES = """
st: street str strasse
ave: avenue av
rd: road
blvd: boulevard bd
dr: drive
ln: lane
ct: court
pl: place
sq: square
hwy: highway
pkwy: parkway
ter: terrace
cres: crescent
ch: chemin
imp: impasse
all: allee
rte: route
calle: c cl
"""

# Email local parts that name a role, not a person: sharing one proves nothing.
GENERIC_EMAIL_LOCALS_TABLE = """
info contact hello sales admin office mail support team enquiries inquiries service accounts
billing invoice noreply no-reply webmaster contacto kontakt bonjour accueil
"""
GENERIC_EMAIL_LOCALS = frozenset(GENERIC_EMAIL_LOCALS_TABLE.split())

# Providers that ignore dots in the local part.
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _parse_table(text: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        head, _, rest = line.partition(":")
        table[head.strip()] = tuple(rest.split())
    return table


def _invert(table: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    inverse: dict[str, set[str]] = {}
    for canonical, variants in table.items():
        inverse.setdefault(canonical, set()).add(canonical)
        for variant in variants:
            inverse.setdefault(variant, set()).add(canonical)
    return {name: frozenset(found) for name, found in inverse.items()}


NICKNAMES = _invert(_parse_table(NICKNAMES_TABLE))
_LEGAL_FORMS = sorted(
    {tuple(form.split()) for form in MULTI_WORD_LEGAL_FORMS} | {(word,) for word in LEGAL_SUFFIXES.split()},
    key=len,
    reverse=True,
)
_TITLES = frozenset(TITLES.split())
_GENERATIONS = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}
_STREET = {variant: abbr for abbr, variants in _parse_table(STREET_TYPES).items() for variant in (abbr, *variants)}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


# --- folding ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def fold(text: str | None) -> str:
    """ASCII, lower-case, punctuation to spaces, single spaces: "Müller-Lüdenscheidt" → "muller ludenscheidt"."""
    if not text:
        return ""
    ascii_text = unidecode(str(text)).lower().replace("'", "")
    return " ".join(_NON_ALNUM.sub(" ", ascii_text).split())


def loose(text: str) -> str:
    """A folded name with German umlaut spellings merged ("mueller" → "muller", "schoen" → "schon")."""
    return re.sub(r"([aou])e", r"\1", text)


def nickname_canon(first: str) -> frozenset[str]:
    """Canonical forms of a folded first name (``"bob"`` → ``{"robert"}``); the name itself when unknown."""
    return NICKNAMES.get(first, frozenset({first})) if first else frozenset()


def strip_legal_suffix(folded: str) -> str:
    """A folded company name without its legal forms at the end or the start ("acme gmbh" → "acme").

    A name that is only a legal form ("SA", "Company") is returned unchanged.
    """
    tokens = folded.split()
    if tokens and tokens[0] == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for form in _LEGAL_FORMS:
            size = len(form)
            if len(tokens) > size and tuple(tokens[-size:]) == form:
                tokens = tokens[:-size]
                changed = True
                break
            if len(tokens) > size and tuple(tokens[:size]) == form:
                tokens = tokens[size:]
                changed = True
                break
    return " ".join(tokens)


def company_name(value: str | None) -> str:
    """Folded company name without legal suffixes; dots are dropped first so "S.p.A." is "spa"."""
    if not value:
        return ""
    text = unidecode(str(value)).replace(".", "").replace("&", " and ")
    return strip_legal_suffix(fold(text))


# --- emails and phones -----------------------------------------------------------------------


def canonical_email(value: str | None) -> str:
    """Lower-case address without ``+tag``; dots removed from the local part for Gmail only.

    Valid addresses go through Rapport's own email normaliser; an invalid one is kept lower-cased
    (messy data still deserves a comparison). ``googlemail.com`` becomes ``gmail.com``.
    """
    text = (value or "").strip().strip("<>").strip()
    if "@" not in text:
        return ""
    try:
        text = core_normalize.email(text)
    except ValidationFailed:
        text = text.lower()
    local, _, domain = text.rpartition("@")
    local = local.split("+", 1)[0]
    domain = domain.strip().rstrip(".")
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    if not local or not domain:
        return ""
    return f"{local}@{domain}"


def canonical_phone(value: str | None, region: str | None) -> str:
    """E.164 when the number is valid (read in ``region`` without ``+``), otherwise its digits."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        return core_normalize.phone(text, region=region)[0]
    except ValidationFailed:
        pass
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
        if phonenumbers.is_possible_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    digits = core_normalize.phone_digits(text)
    return digits if len(digits) >= 6 else ""


def phone_tail(phone: str, size: int = 7) -> str:
    """The last ``size`` digits of a phone number: the subscriber part, whatever the prefix."""
    digits = core_normalize.phone_digits(phone)
    return digits[-size:] if len(digits) >= size else ""


def _split_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[;,\n]| / ", value) if part.strip()]
    if isinstance(value, Mapping):
        return [str(v) for v in value.values() if v]
    if isinstance(value, Iterable):
        found: list[str] = []
        for item in value:
            found.extend(_split_values(item.get("value") or item.get("email") if isinstance(item, Mapping) else item))
        return found
    return [str(value)]


def _first(record: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


def _all(record: Mapping[str, Any], *keys: str) -> list[str]:
    values: list[str] = []
    for key in keys:
        values.extend(_split_values(record.get(key)))
    return values


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


# --- dates, places ---------------------------------------------------------------------------

_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})"), "ymd"),
    (re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$"), "dmy"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),
)


def birth_digits(value: Any, *, month_first: bool = False) -> str:
    """``YYYYMMDD`` of a birth date given as a date or text; "" when absent or unreadable.

    Text in ``DD/MM/YYYY`` is read day first unless ``month_first`` (US exports), and also when
    the first number cannot be a month. The digits are kept even if they are not a real calendar
    date ("19801317"): a typo in a date is evidence the comparison should see.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    text = str(value).strip()
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        a, b, c = match.groups()
        if order == "ymd":
            year, month, day = a, b, c
        else:
            day, month, year = a, b, c
            if (month_first and int(a) <= 12) or int(b) > 12 >= int(a):
                day, month = b, a
        return f"{year}{int(month):02d}{int(day):02d}"
    return ""


def _as_date(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) == 8 else None
    except ValueError:
        return None


def postal_code(value: Any) -> str:
    """Upper-case postal code without spaces or dashes ("75 001" → "75001", "sw1a 1aa" → "SW1A1AA")."""
    return re.sub(r"[^A-Z0-9]", "", unidecode(str(value or "")).upper())


_STRASSE = "strasse"  # glued to the street name in German: "hauptstrasse"


def street_tokens(value: str | None) -> tuple[str, ...]:
    """Folded street address tokens with street types abbreviated ("12, Main Street" → ("12", "main", "st"))."""
    tokens = []
    for token in fold(value).split():
        if token.endswith(_STRASSE) and token != _STRASSE:
            tokens.extend([token[: -len(_STRASSE)], "st"])
        else:
            tokens.append(_STREET.get(token, token))
    return tuple(tokens)


def phonetic(name: str) -> tuple[str, str]:
    """(metaphone, NYSIIS) of a folded name, spaces removed; ("", "") for an empty name."""
    compact = name.replace(" ", "")
    if not compact:
        return "", ""
    return jellyfish.metaphone(compact), jellyfish.nysiis(compact)


# --- contacts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormContact:
    """A contact in comparison-ready form. Strings are folded; "" or () means unknown."""

    first: str = ""
    last: str = ""
    first_tokens: tuple[str, ...] = ()
    last_tokens: tuple[str, ...] = ()
    full: str = ""
    name_key: str = ""  # all name tokens, sorted: the same for "Smith John" and "John Smith"
    generation: str = ""  # "jr", "sr", "ii"… when given
    first_canon: frozenset[str] = field(default_factory=frozenset)  # nickname-canonical first names
    first_metaphone: str = ""
    first_nysiis: str = ""
    last_metaphone: str = ""
    last_nysiis: str = ""
    emails: tuple[str, ...] = ()
    email_locals: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164, or bare digits when not parseable
    phone_tails: tuple[str, ...] = ()  # last 7 digits of each phone
    company: str = ""  # folded, without legal suffixes
    street: tuple[str, ...] = ()
    postal_code: str = ""
    city: str = ""
    country: str = ""
    birth: str = ""  # YYYYMMDD digits, possibly not a real date
    birth_date: date | None = None


def _drop_titles(tokens: list[str]) -> list[str]:
    """Leading honorifics removed ("dr john" → "john"); a name that is only a title is kept."""
    while len(tokens) > 1 and tokens[0] in _TITLES:
        tokens = tokens[1:]
    return tokens


def _name_parts(record: Mapping[str, Any]) -> tuple[list[str], list[str], str]:
    """(first tokens, last tokens, generation) from first/last fields or one full-name field."""
    first = fold(_first(record, "first_name", "firstname", "given_name", "first", "forename"))
    last = fold(_first(record, "last_name", "lastname", "surname", "family_name", "last"))
    if not first and not last:
        full = _first(record, "name", "full_name", "fullname", "display_name") or ""
        if "," in full:  # "Smith, John"
            last_part, _, first_part = str(full).partition(",")
            first, last = fold(first_part), fold(last_part)
        else:
            tokens = fold(full).split()
            tokens = _drop_titles(tokens)
            tokens_no_gen = [t for t in tokens if t not in _GENERATIONS] or tokens
            if len(tokens_no_gen) >= 2:
                first, last = " ".join(tokens_no_gen[:-1]), tokens_no_gen[-1]
                generation = next((_GENERATIONS[t] for t in tokens if t in _GENERATIONS), "")
                return first.split(), [last], generation
            first, last = "", " ".join(tokens_no_gen)
    generation = fold(_first(record, "suffix", "generation"))
    first_tokens = _drop_titles(first.split())
    last_tokens = last.split()
    for tokens in (first_tokens, last_tokens):
        while len(tokens) > 1 and tokens[-1] in _GENERATIONS:
            generation = generation or tokens.pop()
    return first_tokens, last_tokens, _GENERATIONS.get(generation, generation)


def normalize_contact(record: Mapping[str, Any], *, region: str | None = None) -> NormContact:
    """Comparison-ready form of one contact record (a mapping of field name to raw value).

    Recognised keys (all optional): ``first_name``/``last_name`` (or ``name``: "John Smith",
    "Smith, John"), ``suffix``, ``email``/``emails``, ``phone``/``phones``/``mobile``,
    ``company``, ``street``/``address``, ``postal_code``/``zip``, ``city``, ``country``,
    ``birth_date``/``dob``. Phones without ``+country`` are read in ``region`` (ISO alpha-2),
    else in the record's ``country`` when that is a two-letter code.
    """
    first_tokens, last_tokens, generation = _name_parts(record)
    first, last = " ".join(first_tokens), " ".join(last_tokens)
    country = str(_first(record, "country", "country_code") or "").strip().upper()
    phone_region = region or (country if len(country) == 2 else None)
    emails = _unique(canonical_email(e) for e in _all(record, "email", "emails", "email_address", "work_email"))
    phones = _unique(
        canonical_phone(p, phone_region)
        for p in _all(record, "phone", "phones", "mobile", "mobile_phone", "work_phone", "home_phone", "phone_number")
    )
    company = company_name(_first(record, "company", "company_name", "organization", "organisation", "employer"))
    street = " ".join(_all(record, "street", "address", "address_1", "address1", "address_line1", "address_line_1"))
    secondary = " ".join(_all(record, "address_2", "address2", "address_line2", "address_line_2"))
    birth = birth_digits(
        _first(record, "birth_date", "date_of_birth", "dob", "birthdate", "birthday"), month_first=phone_region == "US"
    )
    first_meta, first_nysiis = phonetic(first)
    last_meta, last_nysiis = phonetic(last)
    return NormContact(
        first=first,
        last=last,
        first_tokens=tuple(first_tokens),
        last_tokens=tuple(last_tokens),
        full=" ".join([*first_tokens, *last_tokens]),
        name_key=" ".join(sorted([*first_tokens, *last_tokens])),
        generation=generation,
        first_canon=nickname_canon(first_tokens[0]) if first_tokens else frozenset(),
        first_metaphone=first_meta,
        first_nysiis=first_nysiis,
        last_metaphone=last_meta,
        last_nysiis=last_nysiis,
        emails=emails,
        email_locals=_unique(e.rpartition("@")[0] for e in emails),
        email_domains=_unique(e.rpartition("@")[2] for e in emails),
        phones=phones,
        phone_tails=_unique(phone_tail(p) for p in phones),
        company=company,
        street=street_tokens(f"{street} {secondary}".strip()),
        postal_code=postal_code(_first(record, "postal_code", "postcode", "zip", "zip_code", "zipcode")),
        city=fold(_first(record, "city", "town", "suburb", "locality")),
        country=fold(country) if len(country) != 2 else country.lower(),
        birth=birth,
        birth_date=_as_date(birth),
    )


# --- companies -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormCompany:
    """A company in comparison-ready form. Strings are folded; "" or () means unknown."""

    name: str = ""  # folded, without legal suffixes
    name_tokens: tuple[str, ...] = ()
    name_metaphone: str = ""
    domains: tuple[str, ...] = ()  # website domain first, then email domains (free-mail excluded)
    phones: tuple[str, ...] = ()
    phone_tails: tuple[str, ...] = ()
    street: tuple[str, ...] = ()
    postal_code: str = ""
    city: str = ""
    country: str = ""


FREE_MAIL_TABLE = """
gmail.com yahoo.com yahoo.fr hotmail.com hotmail.fr outlook.com live.com msn.com aol.com icloud.com me.com
gmx.de gmx.net web.de orange.fr free.fr wanadoo.fr laposte.net sfr.fr protonmail.com proton.me mail.com
yandex.ru t-online.de libero.it
"""
FREE_MAIL_DOMAINS = frozenset(FREE_MAIL_TABLE.split())


def _domain(value: str) -> str:
    try:
        return core_normalize.domain(value, field="website")
    except ValidationFailed:
        return ""


def normalize_company(record: Mapping[str, Any], *, region: str | None = None) -> NormCompany:
    """Comparison-ready form of one company record.

    Recognised keys (all optional): ``name``/``company``, ``website``/``domain``, ``email``/``emails``
    (their domains, free-mail providers excluded), ``phone``/``phones``, ``street``/``address``,
    ``postal_code``/``zip``, ``city``, ``country``.
    """
    name = company_name(_first(record, "name", "company", "company_name", "legal_name", "organization"))
    country = str(_first(record, "country", "country_code") or "").strip().upper()
    phone_region = region or (country if len(country) == 2 else None)
    domains = [_domain(w) for w in _all(record, "website", "domain", "url", "web")]
    for address in _all(record, "email", "emails"):
        email = canonical_email(address)
        host = email.rpartition("@")[2]
        if host and host not in FREE_MAIL_DOMAINS:
            domains.append(_domain(host))
    phones = _unique(canonical_phone(p, phone_region) for p in _all(record, "phone", "phones", "phone_number"))
    return NormCompany(
        name=name,
        name_tokens=tuple(name.split()),
        name_metaphone=phonetic(name)[0],
        domains=_unique(domains),
        phones=phones,
        phone_tails=_unique(phone_tail(p) for p in phones),
        street=street_tokens(" ".join(_all(record, "street", "address", "address_1", "address_line1"))),
        postal_code=postal_code(_first(record, "postal_code", "postcode", "zip", "zip_code")),
        city=fold(_first(record, "city", "town", "locality")),
        country=fold(country) if len(country) != 2 else country.lower(),
    )
