"""Validation and normalisation of the values Rapport stores (emails, phones, countries, URLs, …).

Pure functions: each takes what a person, the API or an importer sent, returns the one form
Rapport stores, or raises ``ValidationFailed(code, message, field=...)`` with a message a user
understands, naming the field the caller gives. Blank input raises the code ``required``: a
caller whose field is optional skips blank values before calling.

The parsing is done by the libraries made for it (email-validator, phonenumbers, pycountry,
idna, zoneinfo, Django's validators); this module only chooses their options and words the errors.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import email_validator
import idna
import phonenumbers
import pycountry
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import DomainNameValidator, URLValidator
from django.db import models
from django.utils import timezone

from rapport.core.errors import ValidationFailed

MAX_AGE_YEARS = 130

_PNF = phonenumbers.PhoneNumberFormat
_REASON = phonenumbers.ValidationResult
_PARSE_ERROR = phonenumbers.NumberParseException

_PARSE_MESSAGES = {
    _PARSE_ERROR.INVALID_COUNTRY_CODE: "Start the phone number with + and its country code.",
    _PARSE_ERROR.NOT_A_NUMBER: "This does not look like a phone number.",
    _PARSE_ERROR.TOO_SHORT_AFTER_IDD: "This phone number is too short.",
    _PARSE_ERROR.TOO_SHORT_NSN: "This phone number is too short.",
    _PARSE_ERROR.TOO_LONG: "This phone number is too long.",
}
_UNKNOWN_COUNTRY_CODE = "This phone number's country code does not exist."
_REASON_MESSAGES = {
    _REASON.TOO_SHORT: "This phone number is too short.",
    _REASON.TOO_LONG: "This phone number is too long.",
    _REASON.INVALID_LENGTH: "This phone number has the wrong number of digits.",
}

# A scheme followed by something other than a port number ("javascript:…", "mailto:…"), as
# opposed to "example.com:8080/…", which is a host without a scheme.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d+(?:[/?#]|$))")
_URL_VALIDATOR = URLValidator(schemes=["http", "https"])
_DOMAIN_VALIDATOR = DomainNameValidator(accept_idna=False)

ChoiceList = type[models.Choices] | Iterable[tuple[str, object]] | Iterable[str]


def _text(value: object, field: str, blank_message: str) -> str:
    """The stripped string, or ``required`` for None and blank; a non-string is refused."""
    if value is None:
        raise ValidationFailed("required", blank_message, field=field)
    if not isinstance(value, str):
        raise ValidationFailed("invalid_type", "Enter text.", field=field)
    value = value.strip()
    if not value:
        raise ValidationFailed("required", blank_message, field=field)
    return value


# --- email -----------------------------------------------------------------------------------


def email(value: str, *, field: str = "email") -> str:
    """A syntactically valid address, in the library's normalised form, then lower-cased.

    email-validator normalises Unicode (NFC), lower-cases the domain and keeps an IDN domain in
    its Unicode form (``jean@bücher.de``; its punycode form is ``domain(...)`` of the part after
    the @). Rapport then lower-cases the whole address: almost every mail system treats the local
    part case-insensitively and a CRM must find ``Jean@x.com`` and ``jean@x.com`` as one person.
    Deliverability (DNS) is not checked: this runs offline and in bulk imports.
    """
    text = _text(value, field, "Enter an email address.")
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationFailed("invalid_email", str(exc), field=field) from None
    return str(result.normalized).lower()


# --- phone -----------------------------------------------------------------------------------


def _country_name(region: str | None) -> str | None:
    found = pycountry.countries.get(alpha_2=region) if region else None
    return getattr(found, "name", None)


def phone(value: str, *, region: str | None, field: str = "phone") -> tuple[str, str]:
    """``(E.164, national digits)`` of a valid phone number.

    A number without ``+country`` is read in ``region`` (the workspace's default region, ISO
    3166-1 alpha-2, or None when it has none). Numbers that are impossible (wrong length) or not
    valid (no such range in the numbering plan) are refused. The second value is the digits of
    the national format (``"0142685300"`` for a Paris number), kept for search by local dialling.
    Extensions are refused rather than silently dropped: E.164 cannot carry them.
    """
    text = _text(value, field, "Enter a phone number.")
    default = region.strip().upper() if region else None
    try:
        number = phonenumbers.parse(text, default)
    except _PARSE_ERROR as exc:
        message = _PARSE_MESSAGES.get(exc.error_type, "This does not look like a phone number.")
        if exc.error_type == _PARSE_ERROR.INVALID_COUNTRY_CODE and text[0] in "+\uff0b":
            message = _UNKNOWN_COUNTRY_CODE
        raise ValidationFailed("invalid_phone", message, field=field) from None
    if number.extension:
        raise ValidationFailed("invalid_phone", "Enter the phone number without an extension.", field=field)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in _REASON_MESSAGES:
        raise ValidationFailed("invalid_phone", _REASON_MESSAGES[reason], field=field)
    if not phonenumbers.is_valid_number(number):
        code = number.country_code or 0  # always set once parsed
        country = _country_name(phonenumbers.region_code_for_country_code(code))
        where = f"in {country} (+{code})" if country else f"with country code +{code}"
        raise ValidationFailed("invalid_phone", f"This is not a valid phone number {where}.", field=field)
    e164 = phonenumbers.format_number(number, _PNF.E164)
    national = phone_digits(phonenumbers.format_number(number, _PNF.NATIONAL))
    return e164, national


def phone_digits(value: str) -> str:
    """Only the digits of ``value`` (any script's digits, as ASCII), for searching phone numbers."""
    return str(phonenumbers.normalize_digits_only(value or ""))


# --- places, languages, time, money ------------------------------------------------------------


def country(value: str, *, field: str = "country") -> str:
    """ISO 3166-1 alpha-2, upper-case, from an alpha-2 or alpha-3 code or an exact English name.

    Names are matched case-insensitively against pycountry's name, official name and common
    name ("France", "French Republic", "Bolivia"). Numeric codes are not accepted: a stray
    number (a postal code in the wrong column) must not become a country.
    """
    text = _text(value, field, "Enter a country.")
    found = None if text.isdigit() else _lookup(pycountry.countries, text, ("alpha_2", "alpha_3"))
    if found is None:
        raise ValidationFailed(
            "invalid_country",
            f"Unknown country “{text}”: use a two-letter ISO code such as FR, or the English name.",
            field=field,
        )
    return str(found.alpha_2)


def region_code(value: str, *, field: str = "default_region") -> str:
    """A workspace's default phone region: an ISO 3166-1 alpha-2 code that phonenumbers supports.

    Accepts what ``country`` accepts (alpha-3, English names) and also the regions phonenumbers
    knows beyond ISO 3166-1 (``XK``). Returns the upper-case alpha-2 code.
    """
    text = _text(value, field, "Enter a country for phone numbers.")
    code = text.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        found = None if text.isdigit() else _lookup(pycountry.countries, text, ("alpha_2", "alpha_3"))
        code = str(found.alpha_2) if found is not None else ""
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            "invalid_region",
            f"Unknown phone region “{text}”: use a two-letter country code such as US or FR.",
            field=field,
        )
    return code


def language(value: str, *, field: str = "language") -> str:
    """ISO 639-1 two-letter code, lower-case, from a 639-1 or 639-2/3 code or the English name."""
    text = _text(value, field, "Enter a language.")
    found = _lookup(pycountry.languages, text, ("alpha_2", "alpha_3", "bibliographic"))
    code = getattr(found, "alpha_2", None)
    if code is None:
        raise ValidationFailed(
            "invalid_language",
            f"Unknown language “{text}”: use a two-letter ISO 639-1 code such as en or fr.",
            field=field,
        )
    return str(code).lower()


def time_zone(value: str, *, field: str = "time_zone") -> str:
    """An IANA time-zone name known to zoneinfo, in its canonical spelling ("Europe/Paris")."""
    text = _text(value, field, "Enter a time zone.")
    name = _time_zones().get(text.lower())
    if name is None:
        raise ValidationFailed(
            "invalid_time_zone",
            f"Unknown time zone “{text}”: use an IANA name such as Europe/Paris or America/New_York.",
            field=field,
        )
    return name


def currency(value: str, *, field: str = "currency") -> str:
    """ISO 4217 alpha-3 code, upper-case, from the code or the currency's English name ("Euro")."""
    text = _text(value, field, "Enter a currency.")
    found = None if text.isdigit() else _lookup(pycountry.currencies, text, ("alpha_3",))
    if found is None:
        raise ValidationFailed(
            "invalid_currency",
            f"Unknown currency “{text}”: use a three-letter ISO 4217 code such as EUR or USD.",
            field=field,
        )
    return str(found.alpha_3)


def _lookup(database: Any, text: str, codes: tuple[str, ...]) -> Any:
    """The pycountry record whose code (tried first, in order) or English name is ``text``.

    Codes go first because ``lookup`` alone can prefer a name: "en" is the name of a language
    (code ``enc``) as well as English's ISO 639-1 code.
    """
    for code in codes:
        found = database.get(**{code: text})
        if found is not None:
            return found
    try:
        return database.lookup(text)
    except LookupError:
        return None


@functools.cache
def _time_zones() -> dict[str, str]:
    # Scanning the zone database is slow; it does not change while the process runs.
    return {name.lower(): name for name in zoneinfo.available_timezones()}


# --- web -------------------------------------------------------------------------------------


def url(value: str, *, field: str) -> str:
    """An http(s) URL; ``https://`` is added when no scheme is given. Other schemes are refused."""
    text = _text(value, field, "Enter a web address.")
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        if _SCHEME.match(text):
            raise ValidationFailed("invalid_url", "Only http and https web addresses are allowed.", field=field)
        text = "https://" + text
    scheme_name = text.split("://", 1)[0]
    if scheme_name.lower() not in ("http", "https"):
        raise ValidationFailed("invalid_url", "Only http and https web addresses are allowed.", field=field)
    text = scheme_name.lower() + text[len(scheme_name) :]
    try:
        _URL_VALIDATOR(text)
    except DjangoValidationError:
        raise ValidationFailed(
            "invalid_url", "Enter a valid web address, such as https://example.com.", field=field
        ) from None
    return text


def domain(value: str, *, field: str) -> str:
    """A bare domain name in lower-case ASCII (punycode), without ``www.``.

    Accepts a URL ("https://www.Example.com/path"), a host ("example.com:8080") or an email
    address ("jo@example.com"). IDNs are converted with the ``idna`` package (IDNA 2008 with
    UTS #46 mapping), the same conversion email-validator uses, so a company's domain and its
    contacts' email domains compare equal.
    """
    text = _text(value, field, "Enter a domain name.")
    invalid = ValidationFailed("invalid_domain", "Enter a valid domain name, such as example.com.", field=field)
    try:
        host = _host(text)
        ascii_host = idna.encode(host, uts46=True).decode("ascii") if host else ""
    except (ValueError, idna.IDNAError):
        raise invalid from None
    if ascii_host.startswith("www.") and ascii_host.count(".") >= 2:
        ascii_host = ascii_host[len("www.") :]
    try:
        _DOMAIN_VALIDATOR(ascii_host)
    except DjangoValidationError:
        raise invalid from None
    return ascii_host


def _host(text: str) -> str:
    if "://" not in text and not text.startswith("//"):
        text = "//" + text
    return (urlsplit(text).hostname or "").rstrip(".")


# --- dates -----------------------------------------------------------------------------------


def _today(today: date | None) -> date:
    return today if today is not None else timezone.localdate()


def birth_date(value: date, *, today: date | None = None, field: str = "birth_date") -> date:
    """A birth date that is not in the future and not more than 130 years ago."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValidationFailed("invalid_date", "Enter a date.", field=field)
    now = _today(today)
    if value > now:
        raise ValidationFailed("birth_date_in_future", "A birth date cannot be in the future.", field=field)
    try:
        earliest = now.replace(year=now.year - MAX_AGE_YEARS)
    except ValueError:  # today is 29 February and that year was not a leap year
        earliest = now.replace(year=now.year - MAX_AGE_YEARS, day=28)
    if value < earliest:
        raise ValidationFailed(
            "birth_date_too_old", f"A birth date cannot be more than {MAX_AGE_YEARS} years ago.", field=field
        )
    return value


def age(birth_date: date | None, *, today: date | None = None) -> int | None:
    """Whole years since ``birth_date`` (None when unknown or in the future)."""
    if birth_date is None:
        return None
    now = _today(today)
    if birth_date > now:
        return None
    return now.year - birth_date.year - ((now.month, now.day) < (birth_date.month, birth_date.day))


# --- names and choices -----------------------------------------------------------------------


def full_name(first: str | None, last: str | None) -> str:
    """``first last`` with surrounding and repeated white space removed; either part may be empty."""
    return " ".join(f"{first or ''} {last or ''}".split())


def name_part(value: str | None, field: str, max_length: int = 100) -> str:
    """A name or similar one-line text: trimmed, inner white space collapsed to single spaces.

    Control characters (tabs, line breaks and NUL inside the text, and the other Unicode "C"
    categories except format characters such as the zero-width joiner some scripts need) are
    refused. Blank gives ``""``: whether the field may be empty is the caller's rule.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed("invalid_type", "Enter text.", field=field)
    value = value.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn") for char in value):
        raise ValidationFailed(
            "invalid_characters", "This text contains control or invisible characters; retype it.", field=field
        )
    value = " ".join(value.split())
    if len(value) > max_length:
        raise ValidationFailed("too_long", f"Use at most {max_length} characters.", field=field)
    return value


def _fold(text: str) -> str:
    return re.sub(r"[\s_-]+", "_", text.strip().casefold())


def choice(value: str, choices: ChoiceList, *, field: str) -> str:
    """The key of ``value`` in ``choices`` (a TextChoices class, (key, label) pairs, or keys).

    Matches the key exactly, then ignoring case and the difference between spaces, hyphens and
    underscores ("Marketing-Qualified" → ``marketing_qualified``), then the label ignoring case.
    """
    pairs = _pairs(choices)
    text = _text(value, field, "Choose a value.")
    for key, _label in pairs:
        if key == text:
            return key
    folded = _fold(text)
    for key, label in pairs:
        if _fold(key) == folded or _fold(label) == folded:
            return key
    valid = ", ".join(key for key, _label in pairs)
    raise ValidationFailed("invalid_choice", f"Unknown value “{text}”: choose one of {valid}.", field=field)


def _pairs(choices: ChoiceList) -> list[tuple[str, str]]:
    if isinstance(choices, type) and issubclass(choices, models.Choices):
        return [(str(key), str(label)) for key, label in choices.choices]
    pairs = []
    for item in choices:
        if isinstance(item, tuple):
            pairs.append((str(item[0]), str(item[1])))
        else:
            pairs.append((str(item), str(item)))
    return pairs
