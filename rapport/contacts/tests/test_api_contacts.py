"""The contacts API: every field's validation (422 naming the field, nothing written), normalisation,
ETag / If-Match, Idempotency-Key, partial PATCH, primary email/phone, events, trash and restore."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.models import Organization
from rapport.accounts.roles import Role
from rapport.contacts.models import Contact, ContactEmail, ContactPhone, Tag
from rapport.contacts.tests.factories import CompanyFactory, api_error, contact_with
from rapport.core import normalize
from rapport.core.models import Event, IdempotencyRecord
from rapport.testing.factories import TeamFactory, make_principal

URL = "/api/v1/contacts"


def written() -> tuple[int, ...]:
    """Everything a contact write could add: contacts, emails, phones, tags, events."""
    return (
        Contact.objects.count(),
        ContactEmail.objects.count(),
        ContactPhone.objects.count(),
        Tag.objects.count(),
        Event.objects.filter(subject_type__in=["contact", "company"]).count(),
    )


def detail(contact: Contact) -> str:
    return f"{URL}/{contact.pk}"


# --- validation: one 422 per bad field, nothing written ---------------------------------------

FUTURE = (date.today() + timedelta(days=2)).isoformat()

BAD_CONTACT_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"emails": [{"email": "not-an-email"}]}, "emails.0.email"),
    ({"emails": [{"email": "jo@example.org"}, {"email": "two@@example.org"}]}, "emails.1.email"),
    ({"emails": [{"email": "jo@example.org", "kind": "carrier-pigeon"}]}, "emails.0.kind"),
    ({"phones": [{"number": "12"}]}, "phones.0.number"),
    ({"phones": [{"number": "call me maybe"}]}, "phones.0.number"),
    ({"phones": [{"number": "+1 212 555 0134", "kind": "pager"}]}, "phones.0.kind"),
    ({"country": "Narnia"}, "country"),
    ({"country": "250"}, "country"),
    ({"birth_date": FUTURE}, "birth_date"),
    ({"birth_date": "1850-01-01"}, "birth_date"),
    ({"birth_date": "yesterday"}, "birth_date"),
    ({"gender": "robot"}, "gender"),
    ({"lifecycle_stage": "zombie"}, "lifecycle_stage"),
    ({"lead_status": "lukewarm"}, "lead_status"),
    ({"lead_source": "carrier_pigeon"}, "lead_source"),
    ({"language": "klingonese"}, "language"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"social_profiles": {"linkedin": "javascript:alert(1)"}}, "social_profiles"),
    ({"social_profiles": {"myspace": "https://myspace.com/jo"}}, "social_profiles"),
    ({"first_name": "x" * 101}, "first_name"),
    ({"last_name": "x" * 101}, "last_name"),
    ({"job_title": "x" * 151}, "job_title"),
    ({"notes": "x" * 20001}, "notes"),
    ({"street": "x" * 201}, "street"),
    ({"external_id": "x" * 101}, "external_id"),
    ({"first_name": "Jo\tAnne"}, "first_name"),
    ({"do_not_email": "perhaps"}, "do_not_email"),
    ({"owner_id": 987654321}, "owner_id"),
    ({"team_id": 987654321}, "team_id"),
    ({"company_id": 987654321}, "company_id"),
    ({"company_id": 0}, "company_id"),
    ({"tags": ["ok", "x" * 61]}, "tags"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_CONTACT_FIELDS)
def test_create_with_an_invalid_field_answers_422_naming_it_and_writes_nothing(api, admin, payload, field):
    before = written()
    resp = api(admin).post(URL, {"first_name": "Jo", **payload})
    err = api_error(resp, 422)
    assert field in err["fields"], err
    assert written() == before


@pytest.mark.parametrize(("payload", "field"), BAD_CONTACT_FIELDS)
def test_patch_with_an_invalid_field_answers_422_naming_it_and_changes_nothing(api, admin, org, payload, field):
    contact = contact_with(org, email="jo@example.org", first_name="Jo", owner=admin.user)
    before = written()
    resp = api(admin).patch(detail(contact), payload, **{"If-Match": '"v1"'})
    err = api_error(resp, 422)
    assert field in err["fields"], err
    assert written() == before
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.version, fresh.first_name, fresh.email) == (1, "Jo", "jo@example.org")


def test_every_invalid_field_of_one_record_is_named_in_one_answer(api, admin):
    resp = api(admin).post(
        URL,
        {
            "first_name": "Jo",
            "emails": [{"email": "nope"}],
            "phones": [{"number": "12"}],
            "country": "Narnia",
            "gender": "robot",
            "birth_date": FUTURE,
        },
    )
    err = api_error(resp, 422)
    assert {"emails.0.email", "phones.0.number", "country", "gender", "birth_date"} <= set(err["fields"])
    assert not Contact.objects.exists()


def test_ids_of_another_workspace_are_refused_as_unknown(api, admin, other_admin, other_org):
    other_team = TeamFactory.create(org=other_org)
    other_company = CompanyFactory.create(org=other_org)
    resp = api(admin).post(
        URL,
        {
            "first_name": "Jo",
            "owner_id": other_admin.user_id,
            "team_id": other_team.pk,
            "company_id": other_company.pk,
        },
    )
    err = api_error(resp, 422)
    assert {"owner_id", "team_id", "company_id"} <= set(err["fields"])
    assert not Contact.objects.exists()


def test_a_trashed_company_cannot_be_linked(api, admin, org):
    company = CompanyFactory.create(org=org, deleted_at=timezone.now())
    err = api_error(api(admin).post(URL, {"first_name": "Jo", "company_id": company.pk}), 422)
    assert "company_id" in err["fields"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"job_title": "CTO"}, {"first_name": "   ", "last_name": ""}, {"emails": []}])
def test_a_contact_needs_a_name_or_an_email(api, admin, payload):
    err = api_error(api(admin).post(URL, payload), 422)
    assert err["code"] == "name_or_email_required"
    assert err["fields"]
    assert not Contact.objects.exists() and not Event.objects.filter(verb="contact.created").exists()


def test_a_contact_with_only_an_email_is_accepted(api, admin):
    resp = api(admin).post(URL, {"emails": [{"email": "only@example.org"}]})
    assert resp.status_code == 201, resp.content
    assert resp.json()["email"] == "only@example.org"


def test_an_unknown_body_field_is_not_written(api, admin):
    resp = api(admin).post(URL, {"first_name": "Jo", "deleted_at": "2020-01-01T00:00:00Z", "org_id": 999, "version": 9})
    assert resp.status_code in (201, 422), resp.content
    if resp.status_code == 201:
        contact = Contact.objects.get()
        assert contact.deleted_at is None and contact.org_id != 999 and contact.version == 1


def test_a_taken_external_id_is_a_conflict_and_writes_nothing(api, admin, org):
    contact_with(org, external_id="crm-1")
    before = written()
    err = api_error(api(admin).post(URL, {"first_name": "Jo", "external_id": "crm-1"}), 409)
    assert "external_id" in err["fields"]
    assert written() == before


# --- normalisation on success ------------------------------------------------------------------


def test_create_normalises_every_value(api, admin):
    resp = api(admin).post(
        URL,
        {
            "first_name": "  Jean  ",
            "last_name": "Dupont",
            "emails": [{"email": "Jean.Dupont@Example.COM", "kind": "Personal"}],
            "phones": [{"number": "(212) 555-0134"}],
            "country": "fra",
            "language": "French",
            "time_zone": "europe/paris",
            "gender": "Non-Binary",
            "lifecycle_stage": "Marketing Qualified",
            "social_profiles": {"linkedin": "linkedin.com/in/jdupont"},
            "birth_date": "1990-03-04",
            "tags": ["vip", "vip", "partner"],
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["first_name"] == "Jean" and body["full_name"] == "Jean Dupont"
    assert body["email"] == "jean.dupont@example.com"
    assert body["emails"] == [{"email": "jean.dupont@example.com", "kind": "personal", "is_primary": True}]
    assert body["phone"] == "+12125550134"  # read in the workspace's default region, US
    assert body["phones"] == [{"number": "+12125550134", "kind": "mobile", "is_primary": True}]
    assert (body["country"], body["language"], body["time_zone"]) == ("FR", "fr", "Europe/Paris")
    assert (body["gender"], body["lifecycle_stage"]) == ("non_binary", "marketing_qualified")
    assert body["social_profiles"] == {"linkedin": "https://linkedin.com/in/jdupont"}
    assert body["age"] == normalize.age(date(1990, 3, 4))
    assert sorted(body["tags"]) == ["partner", "vip"]
    stored = Contact.objects.get(pk=body["id"])
    assert (stored.email, stored.phone, stored.country) == ("jean.dupont@example.com", "+12125550134", "FR")
    assert not hasattr(Contact, "age_years")  # age is derived, not a column
    assert "age" not in {f.name for f in Contact._meta.concrete_fields}


def test_a_country_name_becomes_its_alpha_2_code(api, admin):
    resp = api(admin).post(URL, {"first_name": "Jo", "country": "Germany"})
    assert resp.status_code == 201 and resp.json()["country"] == "DE"


def test_phones_are_read_in_the_workspaces_default_region(api, org):
    Organization.objects.filter(pk=org.pk).update(default_region="FR")
    org.refresh_from_db()
    french_admin = make_principal(org, Role.ADMIN)
    resp = api(french_admin).post(URL, {"first_name": "Jo", "phones": [{"number": "01 42 68 53 00"}]})
    assert resp.status_code == 201, resp.content
    assert resp.json()["phone"] == "+33142685300"


def test_the_organisation_default_region_is_us():
    assert Organization._meta.get_field("default_region").default == "US"


def test_the_actor_owns_a_new_contact_unless_told_otherwise(api, admin, member_of):
    colleague = member_of(Role.SALES)
    mine = api(admin).post(URL, {"first_name": "Mine"}).json()
    theirs = api(admin).post(URL, {"first_name": "Theirs", "owner_id": colleague.user_id}).json()
    assert mine["owner"]["id"] == admin.user_id
    assert theirs["owner"]["id"] == colleague.user_id


def test_create_records_one_contact_created_event(api, admin):
    body = api(admin).post(URL, {"first_name": "Jo", "emails": [{"email": "jo@example.org"}]}).json()
    events = list(Event.objects.filter(verb="contact.created"))
    assert len(events) == 1
    assert events[0].subject_id == body["id"] and events[0].actor_id == admin.user_id
    assert events[0].changes["first_name"] == [None, "Jo"]


# --- ETag / If-Match ---------------------------------------------------------------------------


def test_get_answers_an_etag_of_the_version(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    resp = api(admin).get(detail(contact))
    assert resp.status_code == 200
    assert resp["ETag"] == '"v1"' and resp.json()["version"] == 1


def test_patch_without_if_match_is_428_and_changes_nothing(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    err = api_error(api(admin).patch(detail(contact), {"first_name": "Jane"}), 428)
    assert err["code"] == "precondition_required"
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.first_name, fresh.version) == ("Jo", 1)
    assert not Event.objects.filter(verb="contact.updated").exists()


def test_patch_with_a_stale_etag_is_412_and_the_newer_change_survives(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    client = api(admin)
    etag = client.get(detail(contact))["ETag"]
    first = client.patch(detail(contact), {"first_name": "Jane"}, **{"If-Match": etag})
    assert first.status_code == 200 and first["ETag"] == '"v2"'
    late = client.patch(detail(contact), {"first_name": "Joan"}, **{"If-Match": etag})
    assert api_error(late, 412)["code"] == "stale_version"
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.first_name, fresh.version) == ("Jane", 2)
    assert Event.objects.filter(verb="contact.updated").count() == 1


def test_a_stale_patch_does_not_replace_emails_phones_or_tags(api, admin, org):
    contact = contact_with(org, first_name="Jo", email="jo@example.org", phone="+12125550134", tags=["vip"])
    Contact.objects.filter(pk=contact.pk).update(version=3)
    resp = api(admin).patch(
        detail(contact),
        {"emails": [{"email": "new@example.org"}], "phones": [{"number": "+33142685300"}], "tags": ["other"]},
        **{"If-Match": '"v2"'},
    )
    api_error(resp, 412)
    assert list(ContactEmail.objects.filter(contact=contact).values_list("email", flat=True)) == ["jo@example.org"]
    assert list(ContactPhone.objects.filter(contact=contact).values_list("number", flat=True)) == ["+12125550134"]
    assert [t.name for t in Contact.objects.get(pk=contact.pk).tags.all()] == ["vip"]
    assert not Tag.objects.filter(name="other").exists()


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_repeating_a_create_with_the_same_idempotency_key_creates_one_contact(api, admin):
    client = api(admin)
    payload = {"first_name": "Jo", "emails": [{"email": "jo@example.org"}]}
    first = client.post(URL, payload, **{"Idempotency-Key": "contact-jo"})
    again = client.post(URL, payload, **{"Idempotency-Key": "contact-jo"})
    assert first.status_code == again.status_code == 201
    assert first["ETag"] == again["ETag"] == '"v1"'
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Contact.objects.count() == 1 and ContactEmail.objects.count() == 1
    assert Event.objects.filter(verb="contact.created").count() == 1


def test_an_idempotency_key_reused_for_another_contact_is_refused(api, admin):
    client = api(admin)
    assert client.post(URL, {"first_name": "Jo"}, **{"Idempotency-Key": "k"}).status_code == 201
    api_error(client.post(URL, {"first_name": "Other"}, **{"Idempotency-Key": "k"}), 422)
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Jo"]


def test_a_failed_create_does_not_burn_its_idempotency_key(api, admin):
    client = api(admin)
    api_error(client.post(URL, {"first_name": "Jo", "country": "Narnia"}, **{"Idempotency-Key": "k2"}), 422)
    assert not IdempotencyRecord.objects.filter(key="k2").exists()
    assert client.post(URL, {"first_name": "Jo", "country": "FR"}, **{"Idempotency-Key": "k2"}).status_code == 201


# --- partial PATCH, emails and phones, events -------------------------------------------------


def test_patch_changes_only_the_fields_it_names(api, admin, org):
    company = CompanyFactory.create(org=org)
    contact = contact_with(
        org,
        first_name="Jo",
        last_name="Doe",
        email="jo@example.org",
        phone="+12125550134",
        tags=["vip"],
        company=company,
        job_title="CTO",
        country="FR",
        owner=admin.user,
    )
    resp = api(admin).patch(detail(contact), {"job_title": "CEO"}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.job_title == "CEO"
    assert (fresh.first_name, fresh.last_name, fresh.country, fresh.company_id, fresh.owner_id) == (
        "Jo",
        "Doe",
        "FR",
        company.pk,
        admin.user_id,
    )
    assert (fresh.email, fresh.phone) == ("jo@example.org", "+12125550134")
    assert ContactEmail.objects.filter(contact=contact).count() == 1
    assert ContactPhone.objects.filter(contact=contact).count() == 1
    assert [t.name for t in fresh.tags.all()] == ["vip"]
    event = Event.objects.get(verb="contact.updated")
    assert event.changes == {"job_title": ["CTO", "CEO"]}


def test_patch_can_clear_an_optional_field(api, admin, org):
    company = CompanyFactory.create(org=org)
    contact = contact_with(org, first_name="Jo", company=company, country="FR")
    resp = api(admin).patch(detail(contact), {"company_id": None, "country": ""}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.content
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.company_id, fresh.country) == (None, "")


def test_a_patch_that_changes_nothing_records_no_event(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    assert api(admin).patch(detail(contact), {"first_name": "Jo"}, **{"If-Match": '"v1"'}).status_code == 200
    assert not Event.objects.filter(verb="contact.updated").exists()


def test_replacing_emails_keeps_exactly_one_primary_and_updates_the_denormalised_email(api, admin, org):
    contact = contact_with(org, first_name="Jo", email="old@example.org")
    resp = api(admin).patch(
        detail(contact),
        {
            "emails": [
                {"email": "a@example.org", "is_primary": False},
                {"email": "B@example.org", "is_primary": True},
                {"email": "c@example.org", "is_primary": True},
            ]
        },
        **{"If-Match": '"v1"'},
    )
    assert resp.status_code == 200, resp.content
    rows = list(ContactEmail.objects.filter(contact=contact).values_list("email", "is_primary"))
    assert sorted(rows) == [("a@example.org", False), ("b@example.org", True), ("c@example.org", False)]
    assert Contact.objects.get(pk=contact.pk).email == "b@example.org" == resp.json()["email"]
    event = Event.objects.get(verb="contact.updated")
    assert event.changes["emails"][0] == ["old@example.org"]


def test_replacing_emails_without_a_primary_makes_the_first_primary(api, admin, org):
    contact = contact_with(org, first_name="Jo", email="old@example.org")
    resp = api(admin).patch(
        detail(contact), {"emails": [{"email": "x@example.org"}, {"email": "y@example.org"}]}, **{"If-Match": '"v1"'}
    )
    assert resp.status_code == 200
    assert list(ContactEmail.objects.filter(contact=contact, is_primary=True).values_list("email", flat=True)) == [
        "x@example.org"
    ]
    assert Contact.objects.get(pk=contact.pk).email == "x@example.org"


def test_duplicate_emails_are_stored_once(api, admin):
    body = (
        api(admin)
        .post(URL, {"first_name": "Jo", "emails": [{"email": "jo@example.org"}, {"email": "JO@example.org"}]})
        .json()
    )
    assert [e["email"] for e in body["emails"]] == ["jo@example.org"]
    assert ContactEmail.objects.count() == 1


def test_replacing_phones_keeps_one_primary_and_updates_the_denormalised_phone(api, admin, org):
    contact = contact_with(org, first_name="Jo", phone="+12125550134")
    resp = api(admin).patch(
        detail(contact),
        {
            "phones": [
                {"number": "+33 1 42 68 53 00", "kind": "work"},
                {"number": "+44 20 7946 0958", "is_primary": True},
            ]
        },
        **{"If-Match": '"v1"'},
    )
    assert resp.status_code == 200, resp.content
    rows = sorted(ContactPhone.objects.filter(contact=contact).values_list("number", "is_primary"))
    assert rows == [("+33142685300", False), ("+442079460958", True)]
    assert Contact.objects.get(pk=contact.pk).phone == "+442079460958"


def test_removing_every_email_and_phone_clears_the_denormalised_columns(api, admin, org):
    contact = contact_with(org, first_name="Jo", email="jo@example.org", phone="+12125550134")
    resp = api(admin).patch(detail(contact), {"emails": [], "phones": []}, **{"If-Match": '"v1"'})
    assert resp.status_code == 200
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.email, fresh.phone) == ("", "")
    assert not ContactEmail.objects.filter(contact=contact).exists()


def test_update_event_records_old_and_new_values(api, admin, org, member_of):
    colleague = member_of(Role.SALES)
    contact = contact_with(org, first_name="Jo", lifecycle_stage="lead", owner=admin.user)
    resp = api(admin).patch(
        detail(contact),
        {"lifecycle_stage": "customer", "owner_id": colleague.user_id, "first_name": "Joanna"},
        **{"If-Match": '"v1"'},
    )
    assert resp.status_code == 200
    event = Event.objects.get(verb="contact.updated", subject_id=contact.pk)
    assert event.changes["lifecycle_stage"] == ["lead", "customer"]
    assert event.changes["owner_id"] == [admin.user_id, colleague.user_id]
    assert event.changes["first_name"] == ["Jo", "Joanna"]
    assert event.actor_id == admin.user_id and event.org_id == org.pk
    assert Contact.objects.get(pk=contact.pk).full_name == "Joanna " + contact.last_name


# --- trash and restore -------------------------------------------------------------------------


def test_delete_moves_to_the_trash_out_of_get_and_lists(api, admin, org):
    contact = contact_with(org, first_name="Jo", email="jo@example.org", phone="+12125550134", tags=["vip"])
    client = api(admin)
    assert client.delete(detail(contact)).status_code == 204
    assert Contact.objects.filter(pk=contact.pk).exists()  # still in the database, in the trash
    api_error(client.get(detail(contact)), 404)
    assert client.get(URL).json()["items"] == []
    trashed = client.get(f"{URL}?trashed=true").json()["items"]
    assert [c["id"] for c in trashed] == [contact.pk]
    assert trashed[0]["deleted_at"] is not None
    event = Event.objects.get(verb="contact.trashed")
    assert event.subject_id == contact.pk


def test_a_trashed_contact_cannot_be_patched(api, admin, org):
    contact = contact_with(org, first_name="Jo", deleted_at=timezone.now())
    api_error(api(admin).patch(detail(contact), {"first_name": "Jane"}, **{"If-Match": '"v1"'}), 404)
    assert Contact.objects.get(pk=contact.pk).first_name == "Jo"


def test_restore_brings_the_contact_back_with_its_relations(api, admin, org):
    company = CompanyFactory.create(org=org, name="Initech")
    contact = contact_with(
        org, first_name="Jo", email="jo@example.org", phone="+12125550134", tags=["vip", "partner"], company=company
    )
    client = api(admin)
    assert client.delete(detail(contact)).status_code == 204
    resp = client.post(f"{detail(contact)}/restore")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["deleted_at"] is None
    assert resp["ETag"] == f'"v{body["version"]}"' and body["version"] == 3  # created, trashed, restored
    assert [e["email"] for e in body["emails"]] == ["jo@example.org"]
    assert [p["number"] for p in body["phones"]] == ["+12125550134"]
    assert sorted(body["tags"]) == ["partner", "vip"]
    assert body["company"] == {"id": company.pk, "name": "Initech"}
    assert client.get(detail(contact)).status_code == 200
    assert [c["id"] for c in client.get(URL).json()["items"]] == [contact.pk]
    assert Event.objects.filter(verb="contact.restored", subject_id=contact.pk).count() == 1


def test_restoring_a_live_contact_is_404(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    api_error(api(admin).post(f"{detail(contact)}/restore"), 404)
    assert not Event.objects.filter(verb="contact.restored").exists()


def test_deleting_twice_answers_404_the_second_time(api, admin, org):
    contact = contact_with(org, first_name="Jo")
    client = api(admin)
    assert client.delete(detail(contact)).status_code == 204
    api_error(client.delete(detail(contact)), 404)
    assert Event.objects.filter(verb="contact.trashed").count() == 1


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999999"])
def test_a_malformed_or_missing_id_is_a_clean_4xx(api, admin, bad_id):
    resp = api(admin).get(f"{URL}/{bad_id}")
    assert resp.status_code in (404, 422), resp.content


def test_tags_are_matched_without_regard_to_case(api, admin, org):
    existing = Tag.objects.create(org=org, name="VIP")
    body = api(admin).post(URL, {"first_name": "Jo", "tags": ["vip", "Vip", "partner"]}).json()
    assert sorted(body["tags"]) == ["VIP", "partner"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["VIP", "partner"]
    assert Contact.objects.get(pk=body["id"]).tags.filter(pk=existing.pk).exists()


def test_the_external_id_of_a_trashed_contact_stays_taken(api, admin, org):
    contact_with(org, first_name="Gone", external_id="ext-9", deleted_at=timezone.now())
    live = contact_with(org, first_name="Jo")
    client = api(admin)
    api_error(client.post(URL, {"first_name": "New", "external_id": "ext-9"}), 409)
    api_error(client.patch(detail(live), {"external_id": "ext-9"}, **{"If-Match": '"v1"'}), 409)
    assert Contact.objects.get(pk=live.pk).external_id is None
    assert Contact.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"emails": [123]},
        {"emails": [{"email": None}]},
        {"first_name": "Jo", "birth_date": "2020-02-30"},
        {"first_name": "Jo", "owner_id": 2**63},
        {"first_name": "Jo", "company_id": "abc"},
        {"first_name": "Jo", "social_profiles": {"linkedin": 5}},
        {"first_name": "Jo", "tags": [5]},
        {"first_name": "Jo", "phones": [{"number": "+" + "9" * 39}]},
        {"first_name": "Jo", "emails": [{"email": f"p{i}@example.org"} for i in range(11)]},
    ],
)
def test_malformed_bodies_answer_4xx_and_write_nothing(api, admin, body):
    before = written()
    resp = api(admin).post(URL, body)
    assert 400 <= resp.status_code < 500, resp.content[:300]
    assert resp.json()["error"]["code"]
    assert written() == before


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"first_name": "Ada", "email": "ada@example.org"}, "email"),  # the field is `emails`
        ({"first_name": "Ada", "emails": [{"email": "ada@example.org", "primary_": True}]}, "primary_"),
        ({"first_name": "Ada", "id": 5}, "id"),
    ],
)
def test_an_unknown_key_is_refused_naming_it_and_nothing_is_written(api, admin, body, key):
    client = api(admin)
    before = written()
    fields = api_error(client.post(URL, body), 422)["fields"]
    assert any(key in name for name in fields), fields
    assert written() == before
