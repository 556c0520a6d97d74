"""Column mapping suggestions for the big CRM exports, and the value transforms."""

from __future__ import annotations

from datetime import date

import pytest

from rapport.data.mapping import country_code, parse_date, split_full_name, suggest_mapping

GOOGLE_OLD = [
    "Name", "Given Name", "Additional Name", "Family Name", "Birthday", "Notes", "Group Membership",
    "E-mail 1 - Type", "E-mail 1 - Value", "E-mail 2 - Type", "E-mail 2 - Value", "Phone 1 - Type",
    "Phone 1 - Value", "Address 1 - Street", "Address 1 - City", "Address 1 - Postal Code",
    "Address 1 - Country", "Organization 1 - Name", "Organization 1 - Title", "Website 1 - Value",
]  # fmt: skip
GOOGLE_NEW = [
    "First Name", "Middle Name", "Last Name", "Organization Name", "Organization Title", "Birthday",
    "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value",
    "Address 1 - City", "Address 1 - Region", "Address 1 - Country",
]  # fmt: skip
OUTLOOK = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business City", "Business State", "Business Postal Code", "Business Country/Region",
    "Home City", "Business Fax", "Business Phone", "Home Phone", "Mobile Phone", "Categories",
    "E-mail Address", "E-mail Type", "E-mail Display Name", "E-mail 2 Address", "Notes", "Web Page",
]  # fmt: skip
HUBSPOT = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Company Name",
    "Job Title", "Lifecycle Stage", "Lead Status", "City", "State/Region", "Country/Region", "Postal Code",
    "Street Address", "Create Date",
]  # fmt: skip
SALESFORCE = [
    "Contact ID", "Salutation", "First Name", "Last Name", "Title", "Account Name", "Email", "Phone",
    "Mobile", "Fax", "Mailing Street", "Mailing City", "Mailing State/Province", "Mailing Zip/Postal Code",
    "Mailing Country", "Birthdate", "Lead Source", "Description",
]  # fmt: skip


def test_google_contacts_old_export():
    m = suggest_mapping(GOOGLE_OLD)
    assert m["Given Name"] == "first_name" and m["Family Name"] == "last_name"
    assert "Name" not in m  # split columns beat the whole name
    assert m["E-mail 1 - Value"] == m["E-mail 2 - Value"] == "emails"
    assert "E-mail 1 - Type" not in m
    assert m["Phone 1 - Value"] == "phones" and m["Organization 1 - Name"] == "company"
    assert m["Organization 1 - Title"] == "job_title" and m["Group Membership"] == "tags"
    assert (m["Address 1 - City"], m["Address 1 - Country"], m["Address 1 - Postal Code"]) == (
        "city",
        "country",
        "postal_code",
    )
    assert m["Birthday"] == "birth_date" and m["Website 1 - Value"] == "website"


def test_google_contacts_new_export():
    m = suggest_mapping(GOOGLE_NEW)
    assert m["First Name"] == "first_name" and m["Last Name"] == "last_name"
    assert "Middle Name" not in m
    assert m["Organization Name"] == "company" and m["Organization Title"] == "job_title"
    assert m["Labels"] == "tags" and m["E-mail 1 - Value"] == "emails" and m["Address 1 - Region"] == "region"


def test_outlook_export_prefers_job_title_and_business_address():
    m = suggest_mapping(OUTLOOK)
    assert m["Job Title"] == "job_title" and "Title" not in m  # Outlook's Title is Mr./Ms.
    assert m["Company"] == "company"
    assert m["Business City"] == "city" and "Home City" not in m
    assert m["Business Phone"] == "phones:work" and m["Mobile Phone"] == "phones:mobile"
    assert m["Home Phone"] == "phones:home" and m["Business Fax"] == "phones:fax"
    assert m["E-mail Address"] == m["E-mail 2 Address"] == "emails"
    assert "E-mail Type" not in m and "E-mail Display Name" not in m
    assert m["Business Country/Region"] == "country" and m["Categories"] == "tags" and m["Web Page"] == "website"


def test_hubspot_export():
    m = suggest_mapping(HUBSPOT)
    assert m["Record ID"] == "external_id" and m["Email"] == "emails"
    assert m["Phone Number"] == "phones" and m["Mobile Phone Number"] == "phones:mobile"
    assert m["Company Name"] == "company" and m["Lifecycle Stage"] == "lifecycle_stage"
    assert m["Lead Status"] == "lead_status" and m["State/Region"] == "region"
    assert m["Country/Region"] == "country" and m["Street Address"] == "street" and m["City"] == "city"
    assert "Create Date" not in m


def test_salesforce_export():
    m = suggest_mapping(SALESFORCE)
    assert m["Contact ID"] == "external_id" and "Salutation" not in m
    assert m["Title"] == "job_title" and m["Account Name"] == "company"
    assert m["Phone"] == "phones:work" and m["Mobile"] == "phones:mobile" and m["Fax"] == "phones:fax"
    assert m["Mailing City"] == "city" and m["Mailing Zip/Postal Code"] == "postal_code"
    assert m["Mailing State/Province"] == "region" and m["Mailing Country"] == "country"
    assert m["Birthdate"] == "birth_date" and m["Lead Source"] == "lead_source" and m["Description"] == "notes"


def test_fuzzy_and_custom_field_matching():
    m = suggest_mapping(
        ["Prénom", "Nom", "E-Mail", "Zip Code", "Loyalty Tier", "vip_level", "Favourite colour"],
        custom_fields=[{"key": "loyalty_tier", "label": "Loyalty tier"}, ("vip_level", "VIP level")],
    )
    assert m["Prénom"] == "first_name" and m["Nom"] == "last_name" and m["E-Mail"] == "emails"
    assert m["Zip Code"] == "postal_code"
    assert m["Loyalty Tier"] == "custom.loyalty_tier" and m["vip_level"] == "custom.vip_level"
    assert "Favourite colour" not in m
    assert suggest_mapping(["Frist Name", "Last name"])["Frist Name"] == "first_name"


def test_company_entity_mapping():
    m = suggest_mapping(["Account Name", "Website", "Employees", "Billing City"], entity="company")
    assert m == {"Account Name": "name", "Website": "website", "Employees": "size", "Billing City": "city"}
    with pytest.raises(ValueError):
        suggest_mapping(["a"], entity="deal")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Jan van der Berg", ("Jan", "van der Berg")),
        ("van der Berg, Jan", ("Jan", "van der Berg")),
        ("Dr. Maria de la Cruz", ("Maria", "de la Cruz")),
        ("Martin Luther King Jr.", ("Martin Luther", "King Jr.")),
        ("King, Martin Luther, Jr.", ("Martin Luther", "King Jr.")),
        ("Smith, Jr.", ("", "Smith Jr.")),
        ("Cher", ("Cher", "")),
    ],
)
def test_split_full_name(value, expected):
    assert split_full_name(value) == expected


def test_split_full_name_refuses_empty():
    with pytest.raises(ValueError, match="empty"):
        split_full_name("  ")


def test_parse_date_forms_and_order():
    assert parse_date("1985-04-12") == date(1985, 4, 12)
    assert parse_date("1985-04-12T10:00:00Z") == date(1985, 4, 12)
    assert parse_date("04/03/2020", order="dmy") == date(2020, 3, 4)
    assert parse_date("04/03/2020", order="mdy") == date(2020, 4, 3)
    assert parse_date("13.03.2020") == date(2020, 3, 13)
    assert parse_date("March 12, 1985") == date(1985, 3, 12)
    assert parse_date("12 mars 1985") == date(1985, 3, 12)
    assert parse_date("12/03/85", order="dmy") == date(1985, 3, 12)
    assert parse_date("12|03|1985", fmt="%d|%m|%Y") == date(1985, 3, 12)


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("04/03/2020", {}, "ambiguous"),
        ("31/02/2020", {"order": "dmy"}, "not a valid date"),
        ("--04-12", {}, "no year"),
        ("soon", {}, "not a date"),
        ("2020-01-01", {"fmt": "%d/%m/%Y"}, "does not match"),
    ],
)
def test_parse_date_errors(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        parse_date(value, **kwargs)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("FR", "FR"),
        ("fra", "FR"),
        ("France", "FR"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("USA", "US"),
        ("Deutschland", "DE"),
        ("Germny", "DE"),
        ("C\u00f4te d\u2019Ivoire", "CI"),
        ("Viet Nam", "VN"),
    ],
)
def test_country_code(value, code):
    assert country_code(value) == code


def test_country_code_errors():
    with pytest.raises(ValueError, match="Unknown country"):
        country_code("Narnia")
    with pytest.raises(ValueError, match="Unknown country"):
        country_code("75001")
