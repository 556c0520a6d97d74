from rapport.data.dedupe.compare import compare_companies, compare_contacts, compare_contacts_detail, explain
from rapport.data.dedupe.normalize import normalize_company, normalize_contact


def levels(a, b, region="FR"):
    return compare_contacts(normalize_contact(a, region=region), normalize_contact(b, region=region))


def test_typos_in_both_names_are_nearly_identical():
    found = levels({"name": "Jon Smtih"}, {"name": "John Smith"})
    assert found["first_name"] == 2 and found["last_name"] == 2


def test_swapped_first_and_last_names_are_recognised():
    detail = compare_contacts_detail(
        normalize_contact({"first_name": "Smith", "last_name": "John"}),
        normalize_contact({"first_name": "John", "last_name": "Smith"}),
    )
    assert detail["first_name"] == (2, "first/last swapped") and detail["last_name"][0] == 2


def test_nickname_is_a_weak_first_name_match():
    assert levels({"first_name": "Bob", "last_name": "Jones"}, {"first_name": "Robert", "last_name": "Jones"}) == {
        **levels({"first_name": "Bob", "last_name": "Jones"}, {"first_name": "Robert", "last_name": "Jones"}),
        "first_name": 1,
        "last_name": 3,
    }
    assert levels({"first_name": "Peggy"}, {"first_name": "Margaret"})["first_name"] == 1


def test_umlaut_spellings_and_accents_match():
    for a, b in [("Müller", "Mueller"), ("Müller", "Muller"), ("Mueller", "Muller")]:
        assert levels({"last_name": a}, {"last_name": b})["last_name"] >= 2, (a, b)
    assert levels({"first_name": "José"}, {"first_name": "Jose"})["first_name"] == 3


def test_missing_fields_are_minus_one_not_disagreement():
    found = levels({"name": "John Smith"}, {"name": "John Smith", "email": "js@x.com", "birth_date": "1980-01-01"})
    assert found["email"] == found["birth_date"] == found["phone"] == found["company"] == -1


def test_gmail_dots_and_plus_tags_are_the_same_email():
    assert levels({"email": "john.smith+crm@gmail.com"}, {"email": "JohnSmith@googlemail.com"})["email"] == 2
    assert levels({"email": "john.smith@acme.com"}, {"email": "john.smith@acme.fr"})["email"] == 1
    assert levels({"email": "info@acme.com"}, {"email": "info@other.com"})["email"] == 0
    assert levels({"email": "john.smith@acme.com"}, {"email": "johnsmith@acme.com"})["email"] == 1


def test_phone_formats_agree_and_last_digits_partly_agree():
    assert levels({"phone": "+33 6 12 34 56 78"}, {"phone": "06 12 34 56 78"})["phone"] == 2
    assert levels({"phone": "+33 6 12 34 56 78"}, {"phone": "+33 7 12 34 56 78"})["phone"] == 1
    assert levels({"phone": "+33 6 12 34 56 78"}, {"phone": "+33 6 98 76 54 32"})["phone"] == 0


def test_company_legal_suffixes_do_not_matter():
    assert levels({"company": "ACME Inc."}, {"company": "Acme, Incorporated"})["company"] == 3
    assert levels({"company": "ACME Inc."}, {"company": "Acme GmbH"})["company"] == 3
    assert levels({"company": "Acme Corp"}, {"company": "Globex Corp"})["company"] == 0


def test_father_and_son_with_same_name_differ_on_birth_date_and_generation():
    found = levels(
        {"name": "John Smith Sr.", "birth_date": "1950-03-02", "city": "Leeds"},
        {"name": "John Smith Jr.", "birth_date": "1978-11-20", "city": "Leeds"},
    )
    assert found["first_name"] == found["last_name"] == 3
    assert found["birth_date"] == 0 and found["generation"] == 0


def test_same_company_different_person():
    found = levels(
        {"name": "Alice Martin", "company": "Acme SA", "email": "alice.martin@acme.fr"},
        {"name": "Paul Durand", "company": "ACME", "email": "paul.durand@acme.fr"},
    )
    assert found["company"] == 3
    assert found["first_name"] == found["last_name"] == found["email"] == 0


def test_birth_date_typos():
    assert levels({"dob": "1980-05-17"}, {"dob": "1980-05-17"})["birth_date"] == 2
    assert levels({"dob": "1980-05-07"}, {"dob": "1980-07-05"})["birth_date"] == 1
    assert levels({"dob": "1980-05-17"}, {"dob": "1981-05-17"})["birth_date"] == 1
    assert levels({"dob": "1980-05-17"}, {"dob": "1985-02-11"})["birth_date"] == 0


def test_initial_matches_full_first_name_weakly():
    assert (
        levels({"first_name": "J.", "last_name": "Smith"}, {"first_name": "John", "last_name": "Smith"})["first_name"]
        == 1
    )


def test_city_and_postal_code_and_address():
    found = levels(
        {"street": "12 Main Street", "postal_code": "75001", "city": "Paris"},
        {"street": "12, main st.", "postal_code": "75 001", "city": "PARIS"},
    )
    assert found["city"] == 2 and found["address"] == 3
    assert levels({"city": "Paris"}, {"city": "Lyon"})["city"] == 0


def test_explanation_lists_strongest_agreement_first():
    detail = compare_contacts_detail(
        normalize_contact({"first_name": "Bob", "last_name": "Smith", "email": "bob@x.com"}),
        normalize_contact({"first_name": "Robert", "last_name": "Smith", "email": "bob@x.com"}),
    )
    lines = explain(detail)
    assert lines[0].startswith(("Last name: identical", "Email: same address"))
    assert any("nickname" in line for line in lines)
    assert not any("Phone" in line for line in lines)


def test_companies_compare_on_name_domain_and_phone():
    a = normalize_company({"name": "ACME Inc.", "website": "acme.com", "phone": "+1 212 555 0100", "country": "US"})
    b = normalize_company(
        {"name": "Acme, Incorporated", "email": "sales@acme.com", "phone": "(212) 555-0100", "country": "US"}
    )
    c = normalize_company({"name": "Acme GmbH", "website": "acme.de", "country": "DE"})
    assert compare_companies(a, b) == {"name": 3, "domain": 2, "phone": 2, "city": -1, "address": -1, "country": 1}
    found = compare_companies(a, c)
    assert found["name"] == 3 and found["domain"] == 1 and found["country"] == 0
