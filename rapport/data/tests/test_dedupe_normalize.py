from datetime import date

from rapport.data.dedupe.normalize import (
    canonical_email,
    canonical_phone,
    company_name,
    fold,
    normalize_company,
    normalize_contact,
)


def test_fold_removes_accents_case_and_punctuation():
    assert fold("  Müller-Lüdenscheidt ") == "muller ludenscheidt"
    assert fold("JOSÉ") == fold("jose") == "jose"
    assert fold("O'Brien") == "obrien"


def test_gmail_dots_and_plus_tags_are_removed_but_other_domains_keep_dots():
    assert canonical_email("J.Smith+news@GoogleMail.com") == "jsmith@gmail.com"
    assert canonical_email("j.smith@gmail.com") == canonical_email("jsmith+x@gmail.com")
    assert canonical_email("J.Smith+crm@Example.COM") == "j.smith@example.com"
    assert canonical_email("not an email") == ""


def test_french_mobile_in_national_and_international_format_is_one_e164():
    assert canonical_phone("+33 6 12 34 56 78", "FR") == "+33612345678"
    assert canonical_phone("06 12 34 56 78", "FR") == "+33612345678"
    assert canonical_phone("06.12.34.56.78", "FR") == "+33612345678"


def test_unparseable_phone_keeps_its_digits():
    assert canonical_phone("555-1234 ext", None) == "5551234"


def test_company_legal_suffixes_are_removed():
    assert company_name("ACME Inc.") == "acme"
    assert company_name("Acme, Incorporated") == "acme"
    assert company_name("Acme GmbH") == "acme"
    assert company_name("Acme GmbH & Co. KG") == "acme"
    assert company_name("Fiat S.p.A.") == "fiat"
    assert company_name("SARL Dupont") == "dupont"
    assert company_name("Widgets Pty Ltd") == "widgets"
    assert company_name("Limited") == "limited"  # only a legal form: kept


def test_contact_is_normalised_from_a_full_name_with_title_and_generation():
    norm = normalize_contact({"name": "Dr. John Smith Jr.", "birth_date": "17/05/1980"})
    assert (norm.first, norm.last, norm.generation) == ("john", "smith", "jr")
    assert norm.birth == "19800517" and norm.birth_date == date(1980, 5, 17)


def test_contact_comma_name_is_last_first():
    norm = normalize_contact({"name": "Smith, John"})
    assert (norm.first, norm.last) == ("john", "smith")


def test_nickname_maps_to_canonical_first_name():
    assert "robert" in normalize_contact({"first_name": "Bob"}).first_canon
    assert "william" in normalize_contact({"first_name": "Bill"}).first_canon
    assert "elizabeth" in normalize_contact({"first_name": "Liz"}).first_canon
    assert "margaret" in normalize_contact({"first_name": "Peggy"}).first_canon
    assert "johannes" in normalize_contact({"first_name": "Hans"}).first_canon


def test_contact_fields_are_normalised():
    norm = normalize_contact(
        {
            "first_name": "José",
            "last_name": "Müller",
            "emails": ["J.Muller+x@gmail.com", "jose@acme.fr"],
            "phone": "06 12 34 56 78",
            "company": "ACME SAS",
            "street": "12 Hauptstraße",
            "postal_code": "75 001",
            "city": "Paris",
            "dob": "1980-05-17",
        },
        region="FR",
    )
    assert norm.first == "jose" and norm.last == "muller"
    assert norm.last_metaphone and norm.last_nysiis
    assert norm.emails == ("jmuller@gmail.com", "jose@acme.fr")
    assert norm.email_domains == ("gmail.com", "acme.fr")
    assert norm.phones == ("+33612345678",) and norm.phone_tails == ("2345678",)
    assert norm.company == "acme"
    assert norm.street == ("12", "haupt", "st")
    assert (norm.postal_code, norm.city) == ("75001", "paris")


def test_invalid_birth_date_keeps_its_digits_for_typo_comparison():
    norm = normalize_contact({"last_name": "X", "birth_date": "19801317"})
    assert norm.birth == "19801317" and norm.birth_date is None


def test_us_dates_are_read_month_first():
    assert normalize_contact({"dob": "05/17/1980", "country": "US"}).birth == "19800517"
    assert normalize_contact({"dob": "05/07/1980", "country": "US"}).birth == "19800507"
    assert normalize_contact({"dob": "05/07/1980", "country": "FR"}).birth == "19800705"


def test_company_domain_comes_from_website_and_non_free_email():
    norm = normalize_company(
        {"name": "Acme Pty Ltd", "website": "https://www.acme.com.au/about", "emails": ["bob@gmail.com", "x@acme.com"]}
    )
    assert norm.name == "acme"
    assert norm.domains == ("acme.com.au", "acme.com")


def test_missing_everything_is_not_an_error():
    norm = normalize_contact({})
    assert norm.first == norm.last == "" and norm.emails == () and norm.birth_date is None
