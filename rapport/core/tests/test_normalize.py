"""Validation and normalisation of contact and company values (no database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from rapport.contacts import choices
from rapport.core import normalize
from rapport.core.errors import ValidationFailed

TODAY = date(2025, 6, 15)
# A Persian name written with a zero-width non-joiner (a format character the script needs).
ZWNJ_NAME = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


def refused(function: Callable[..., Any], *args: Any, **kwargs: Any) -> ValidationFailed:
    """Call ``function`` and return the ValidationFailed it must raise."""
    with pytest.raises(ValidationFailed) as caught:
        function(*args, **kwargs)
    error = caught.value
    assert error.status == 422
    assert error.message
    return error


# --- email ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("jean.dupont@example.com", "jean.dupont@example.com"),
        ("  Jean.Dupont@EXAMPLE.com\n", "jean.dupont@example.com"),
        ("ALICE+crm@Sub.Example.ORG", "alice+crm@sub.example.org"),
        ("jean@BÜCHER.de", "jean@bücher.de"),
        ("jean@xn--bcher-kva.de", "jean@bücher.de"),
        ("josé@example.com", "josé@example.com"),
    ],
)
def test_email_is_normalised_and_lower_cased(given: str, stored: str) -> None:
    assert normalize.email(given) == stored


@pytest.mark.parametrize(
    "given",
    ["jean.example.com", "jean dupont@example.com", "jean@", "@example.com", "jean@example", "a@@example.com"],
)
def test_email_refuses_malformed_addresses_with_the_librarys_reason(given: str) -> None:
    error = refused(normalize.email, given, field="emails.0.address")
    assert error.code == "invalid_email"
    assert error.fields == {"emails.0.address": error.message}


def test_email_missing_at_sign_says_so() -> None:
    assert "@" in refused(normalize.email, "jean.example.com").message


def test_email_refuses_reserved_domains() -> None:
    assert refused(normalize.email, "jean@host.test").code == "invalid_email"


@pytest.mark.parametrize("given", ["", "   ", None])
def test_email_blank_is_required(given: str | None) -> None:
    error = refused(normalize.email, given)
    assert error.code == "required"
    assert set(error.fields) == {"email"}


def test_email_refuses_non_text() -> None:
    assert refused(normalize.email, 42).code == "invalid_type"


# --- phone ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "region", "e164", "national"),
    [
        ("+1 (212) 555-0134", None, "+12125550134", "2125550134"),
        ("+1 (212) 555-0134", "FR", "+12125550134", "2125550134"),
        ("(212) 555-0134", "US", "+12125550134", "2125550134"),
        ("01 42 68 53 00", "FR", "+33142685300", "0142685300"),
        ("01 42 68 53 00", "fr", "+33142685300", "0142685300"),
        ("+33 6 12 34 56 78", "US", "+33612345678", "0612345678"),
        ("0033 1 42 68 53 00", "FR", "+33142685300", "0142685300"),
        ("+44 20 7946 0958", None, "+442079460958", "02079460958"),
        ("030 123456", "DE", "+4930123456", "030123456"),
        ("+49 30 123456", None, "+4930123456", "030123456"),
        ("03-1234-5678", "JP", "+81312345678", "0312345678"),
        ("+800 9999 9999", None, "+80099999999", "99999999"),
        ("1-800-FLOWERS", "US", "+18003569377", "8003569377"),
    ],
)
def test_phone_is_parsed_to_e164_and_national_digits(given: str, region: str | None, e164: str, national: str) -> None:
    assert normalize.phone(given, region=region) == (e164, national)


def test_phone_without_country_code_needs_a_default_region() -> None:
    error = refused(normalize.phone, "01 42 68 53 00", region=None, field="phones.0.number")
    assert error.code == "invalid_phone"
    assert "country code" in error.message
    assert set(error.fields) == {"phones.0.number"}


def test_phone_with_an_unknown_default_region_asks_for_the_country_code() -> None:
    assert "+" in refused(normalize.phone, "2125550134", region="ZZ").message


def test_phone_with_a_country_code_that_does_not_exist() -> None:
    assert "does not exist" in refused(normalize.phone, "+999 1234567", region=None).message


@pytest.mark.parametrize(
    ("given", "region", "words"),
    [
        ("call me maybe", "US", "does not look like"),
        ("+", None, "does not look like"),
        ("12", "US", "too short"),
        ("011 1", "US", "too short"),
        ("+883 1", None, "too short"),
        ("+33 1 2", None, "too short"),
        ("+1 " + "2" * 20, None, "too long"),
        ("+33 1 42 68 53 00 00 00 00 00", None, "too long"),
        ("+61 11111111111", None, "wrong number of digits"),
        ("+1 200 555 0134", None, "not a valid phone number in United States (+1)"),
        ("+44 1234", None, "not a valid phone number in United Kingdom (+44)"),
        ("+882 12345678", None, "not a valid phone number with country code +882"),
        ("+1 212 555 0134 ext. 12", None, "without an extension"),
    ],
)
def test_phone_refuses_impossible_and_invalid_numbers(given: str, region: str | None, words: str) -> None:
    error = refused(normalize.phone, given, region=region)
    assert error.code == "invalid_phone"
    assert words in error.message


@pytest.mark.parametrize("given", ["", " ", None])
def test_phone_blank_is_required(given: str | None) -> None:
    assert refused(normalize.phone, given, region="US").code == "required"


@pytest.mark.parametrize(
    ("given", "digits"),
    [("+1 (212) 555-0134", "12125550134"), ("01.42.68.53.00", "0142685300"), ("٠١٢٣", "0123"), ("abc", ""), ("", "")],
)
def test_phone_digits_keeps_only_digits(given: str, digits: str) -> None:
    assert normalize.phone_digits(given) == digits


# --- country, region, language, time zone, currency ---------------------------------------------


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("FR", "FR"),
        ("fr", "FR"),
        (" de ", "DE"),
        ("FRA", "FR"),
        ("usa", "US"),
        ("France", "FR"),
        ("united kingdom", "GB"),
        ("French Republic", "FR"),
        ("Bolivia", "BO"),
    ],
)
def test_country_accepts_codes_and_english_names(given: str, code: str) -> None:
    assert normalize.country(given) == code


@pytest.mark.parametrize("given", ["Narnia", "ZZ", "XK", "250", "Fra nce", "UK"])
def test_country_refuses_unknown_values(given: str) -> None:
    error = refused(normalize.country, given, field="address_country")
    assert error.code == "invalid_country"
    assert given in error.message
    assert set(error.fields) == {"address_country"}


def test_country_blank_is_required() -> None:
    assert refused(normalize.country, "").code == "required"


@pytest.mark.parametrize(("given", "code"), [("US", "US"), ("fr", "FR"), ("XK", "XK"), ("France", "FR"), ("deu", "DE")])
def test_region_code_accepts_regions_phonenumbers_supports(given: str, code: str) -> None:
    assert normalize.region_code(given) == code


@pytest.mark.parametrize("given", ["AQ", "ZZ", "001", "Narnia"])
def test_region_code_refuses_regions_without_phone_numbering(given: str) -> None:
    error = refused(normalize.region_code, given)
    assert error.code == "invalid_region"
    assert set(error.fields) == {"default_region"}


@pytest.mark.parametrize(
    ("given", "code"), [("en", "en"), ("FR", "fr"), ("deu", "de"), ("fre", "fr"), ("French", "fr"), ("spanish", "es")]
)
def test_language_returns_iso_639_1(given: str, code: str) -> None:
    assert normalize.language(given) == code


@pytest.mark.parametrize("given", ["xx", "Elvish", "tlh", "en-US"])
def test_language_refuses_unknown_or_codes_without_two_letters(given: str) -> None:
    assert refused(normalize.language, given).code == "invalid_language"


@pytest.mark.parametrize(
    ("given", "name"), [("Europe/Paris", "Europe/Paris"), ("america/new_york", "America/New_York"), ("UTC", "UTC")]
)
def test_time_zone_accepts_iana_names(given: str, name: str) -> None:
    assert normalize.time_zone(given) == name


@pytest.mark.parametrize("given", ["Mars/Olympus", "CEST+2", "Paris"])
def test_time_zone_refuses_unknown_names(given: str) -> None:
    assert refused(normalize.time_zone, given).code == "invalid_time_zone"


@pytest.mark.parametrize(("given", "code"), [("EUR", "EUR"), ("usd", "USD"), ("Euro", "EUR"), (" jpy ", "JPY")])
def test_currency_returns_iso_4217(given: str, code: str) -> None:
    assert normalize.currency(given) == code


@pytest.mark.parametrize("given", ["ABC", "978", "Bitcoin", "EU"])
def test_currency_refuses_unknown_codes(given: str) -> None:
    error = refused(normalize.currency, given, field="annual_revenue_currency")
    assert error.code == "invalid_currency"
    assert set(error.fields) == {"annual_revenue_currency"}


# --- url and domain ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://example.com", "https://example.com"),
        ("http://example.com/a?b=c#d", "http://example.com/a?b=c#d"),
        ("example.com", "https://example.com"),
        ("www.example.com/about", "https://www.example.com/about"),
        ("example.com:8080/path", "https://example.com:8080/path"),
        ("//example.com/a", "https://example.com/a"),
        ("HTTPS://Example.com/Path", "https://Example.com/Path"),
        ("https://bücher.de/", "https://bücher.de/"),
    ],
)
def test_url_accepts_web_addresses_and_adds_https(given: str, stored: str) -> None:
    assert normalize.url(given, field="website") == stored


@pytest.mark.parametrize(
    "given",
    [
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:jean@example.com",
        "ftp://example.com/file",
    ],
)
def test_url_refuses_other_schemes(given: str) -> None:
    error = refused(normalize.url, given, field="website")
    assert error.code == "invalid_url"
    assert "http" in error.message
    assert set(error.fields) == {"website"}


@pytest.mark.parametrize("given", ["not a url", "https://", "http://exa mple.com", "https://-bad-.com"])
def test_url_refuses_malformed_addresses(given: str) -> None:
    assert refused(normalize.url, given, field="website").code == "invalid_url"


def test_url_blank_is_required() -> None:
    assert refused(normalize.url, " ", field="website").code == "required"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("example.com", "example.com"),
        ("https://www.Example.com/path", "example.com"),
        ("HTTP://WWW.EXAMPLE.COM", "example.com"),
        ("www.example.co.uk/about?x=1", "example.co.uk"),
        ("shop.example.com:8080", "shop.example.com"),
        ("example.com.", "example.com"),
        ("jean@example.com", "example.com"),
        ("www.com", "www.com"),
        ("Bücher.DE", "xn--bcher-kva.de"),
        ("https://www.bücher.de/", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_domain_is_bare_lower_case_punycode(given: str, stored: str) -> None:
    assert normalize.domain(given, field="domains") == stored


def test_domain_matches_the_ascii_domain_of_an_email_address() -> None:
    assert normalize.domain(normalize.email("jean@BÜCHER.de"), field="domain") == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    "given", ["localhost", "192.168.0.1", "exa mple.com", "-bad-.com", "https://", "[::1", "a..b.com", "☃"]
)
def test_domain_refuses_malformed_names(given: str) -> None:
    error = refused(normalize.domain, given, field="domains")
    assert error.code == "invalid_domain"
    assert set(error.fields) == {"domains"}


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [date(1990, 2, 28), TODAY, date(1895, 6, 15), datetime(1990, 2, 28, 12, 0)], ids=str)
def test_birth_date_accepts_the_past_up_to_130_years(given: date) -> None:
    expected = given.date() if isinstance(given, datetime) else given
    assert normalize.birth_date(given, today=TODAY) == expected


def test_birth_date_in_the_future_is_refused() -> None:
    error = refused(normalize.birth_date, date(2025, 6, 16), today=TODAY)
    assert error.code == "birth_date_in_future"
    assert set(error.fields) == {"birth_date"}


def test_birth_date_131_years_ago_is_refused() -> None:
    error = refused(normalize.birth_date, date(1894, 6, 15), today=TODAY, field="dob")
    assert error.code == "birth_date_too_old"
    assert set(error.fields) == {"dob"}


def test_birth_date_limit_on_29_february() -> None:
    leap_day = date(2024, 2, 29)
    assert normalize.birth_date(date(1894, 2, 28), today=leap_day) == date(1894, 2, 28)
    assert refused(normalize.birth_date, date(1894, 2, 27), today=leap_day).code == "birth_date_too_old"


def test_birth_date_defaults_to_the_current_date() -> None:
    assert normalize.birth_date(date(2000, 1, 1)) == date(2000, 1, 1)
    assert refused(normalize.birth_date, date(9999, 1, 1)).code == "birth_date_in_future"


@pytest.mark.parametrize("given", ["1990-02-28", None, 19900228])
def test_birth_date_refuses_non_dates(given: object) -> None:
    assert refused(normalize.birth_date, given, today=TODAY).code == "invalid_date"


@pytest.mark.parametrize(
    ("born", "years"),
    [
        (date(1990, 6, 15), 35),
        (date(1990, 6, 16), 34),
        (date(1990, 6, 14), 35),
        (TODAY, 0),
        (date(2000, 2, 29), 25),
        (None, None),
        (date(2025, 6, 16), None),
    ],
)
def test_age_counts_whole_years(born: date | None, years: int | None) -> None:
    assert normalize.age(born, today=TODAY) == years


def test_age_on_29_february_birthdays() -> None:
    assert normalize.age(date(2000, 2, 29), today=date(2025, 2, 28)) == 24
    assert normalize.age(date(2000, 2, 29), today=date(2025, 3, 1)) == 25


def test_age_defaults_to_the_current_date() -> None:
    assert normalize.age(date(1900, 1, 1)) is not None
    assert normalize.age(date(1900, 1, 1)) >= 125  # type: ignore[operator]


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "full"),
    [
        ("Jean", "Dupont", "Jean Dupont"),
        ("  Jean  ", " Dupont ", "Jean Dupont"),
        ("Jean  Paul", "de  la Tour", "Jean Paul de la Tour"),
        ("Jean", "", "Jean"),
        ("", "Dupont", "Dupont"),
        (None, "Dupont", "Dupont"),
        (None, None, ""),
    ],
)
def test_full_name_joins_trimmed_parts(first: str | None, last: str | None, full: str) -> None:
    assert normalize.full_name(first, last) == full


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Jean", "Jean"),
        ("  Jean   Paul \n", "Jean Paul"),
        ("Zoë\u00a0Ann", "Zoë Ann"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("李 小龍", "李 小龍"),
        (ZWNJ_NAME, ZWNJ_NAME),
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_name_part_trims_and_collapses_spaces(given: str | None, stored: str) -> None:
    assert normalize.name_part(given, "first_name") == stored


@pytest.mark.parametrize("given", ["Jean\x00", "Je\x07an", "Jean\nDupont", "Jean\tPaul", "Jean\x1b[31m", "Jean\ue000"])
def test_name_part_refuses_control_characters(given: str) -> None:
    error = refused(normalize.name_part, given, "last_name")
    assert error.code == "invalid_characters"
    assert set(error.fields) == {"last_name"}


def test_name_part_limits_the_length() -> None:
    assert normalize.name_part("a" * 100, "first_name") == "a" * 100
    error = refused(normalize.name_part, "a" * 11, "job_title", max_length=10)
    assert error.code == "too_long"
    assert "10" in error.message
    assert set(error.fields) == {"job_title"}


def test_name_part_refuses_non_text() -> None:
    assert refused(normalize.name_part, 12, "first_name").code == "invalid_type"


# --- choices -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("marketing_qualified", "marketing_qualified"),
        ("MARKETING_QUALIFIED", "marketing_qualified"),
        ("marketing-qualified", "marketing_qualified"),
        ("Marketing Qualified", "marketing_qualified"),
        ("Marketing qualified lead", "marketing_qualified"),
        (" customer ", "customer"),
        (choices.LifecycleStage.EVANGELIST, "evangelist"),
    ],
)
def test_choice_matches_keys_and_labels_loosely(given: str, key: str) -> None:
    result = normalize.choice(given, choices.LIFECYCLE_STAGES, field="lifecycle_stage")
    assert result == key
    assert type(result) is str


def test_choice_refuses_unknown_values_listing_the_keys() -> None:
    error = refused(normalize.choice, "prospect", choices.LEAD_STATUSES, field="lead_status")
    assert error.code == "invalid_choice"
    assert "prospect" in error.message
    assert all(key in error.message for key in choices.LeadStatus.values)
    assert set(error.fields) == {"lead_status"}


def test_choice_blank_is_required() -> None:
    assert refused(normalize.choice, "", choices.GENDERS, field="gender").code == "required"


def test_choice_accepts_pairs_and_plain_keys() -> None:
    assert normalize.choice("B", [("a", "Alpha"), ("b", "Beta")], field="f") == "b"
    assert normalize.choice("beta", [("a", "Alpha"), ("b", "Beta")], field="f") == "b"
    assert normalize.choice("Red", ["red", "green"], field="f") == "red"
    assert refused(normalize.choice, "blue", ["red", "green"], field="f").message.endswith("red, green.")


@pytest.mark.parametrize(
    ("given", "key"), [("2-10", "2-10"), ("10001-plus", "10001-plus"), ("10,001+ employees", "10001-plus")]
)
def test_choice_on_company_sizes(given: str, key: str) -> None:
    assert normalize.choice(given, choices.COMPANY_SIZES, field="size") == key


# --- the lists themselves ----------------------------------------------------------------------


def test_lists_have_the_documented_keys() -> None:
    assert choices.LIFECYCLE_STAGES.values == [
        "subscriber",
        "lead",
        "marketing_qualified",
        "sales_qualified",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]
    assert choices.LEAD_STATUSES.values == [
        "new",
        "attempted_to_contact",
        "connected",
        "open_deal",
        "unqualified",
        "bad_timing",
    ]
    assert "import" in choices.LEAD_SOURCES.values and "api" in choices.LEAD_SOURCES.values
    assert choices.GENDERS.values == ["female", "male", "non_binary", "other", "unspecified"]
    assert choices.EMAIL_KINDS.values == ["work", "personal", "other"]
    assert choices.PHONE_KINDS.values == ["mobile", "work", "home", "fax", "other"]
    assert choices.SOCIAL_NETWORKS.values == ["linkedin", "x", "facebook", "instagram", "github", "website", "other"]
    assert len(choices.INDUSTRIES.values) == 20  # the NAICS 2022 sectors
    assert choices.COMPANY_SIZES.values[0] == "1" and choices.COMPANY_SIZES.values[-1] == "10001-plus"


def test_every_key_is_a_slug_and_every_label_is_distinct() -> None:
    lists = [
        choices.LIFECYCLE_STAGES,
        choices.LEAD_STATUSES,
        choices.LEAD_SOURCES,
        choices.GENDERS,
        choices.EMAIL_KINDS,
        choices.PHONE_KINDS,
        choices.SOCIAL_NETWORKS,
        choices.INDUSTRIES,
        choices.COMPANY_SIZES,
    ]
    for values in lists:
        assert all(key == key.lower() and key.replace("_", "").replace("-", "").isalnum() for key in values.values)
        assert len(set(map(str, values.labels))) == len(values.labels)
