"""The contact and company services directly: atomic writes, events, trash purge after 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.contacts import services
from rapport.contacts.models import Company, Contact, ContactEmail, ContactPhone, Tag
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event


def test_contact_create_writes_the_contact_its_children_and_one_event(admin):
    contact = services.contact_create(
        actor=admin,
        data={
            "first_name": "Jo",
            "emails": [{"email": "Jo@Example.org"}, {"email": "jo.work@example.org", "is_primary": True}],
            "phones": ["+1 212 555 0134"],
            "tags": ["vip"],
        },
    )
    assert contact.email == "jo.work@example.org" and contact.phone == "+12125550134"
    assert ContactEmail.objects.filter(contact=contact, is_primary=True).count() == 1
    assert ContactEmail.objects.filter(contact=contact).count() == 2
    assert list(contact.tags.values_list("name", flat=True)) == ["vip"]
    assert Event.objects.filter(verb="contact.created", subject_id=contact.pk).count() == 1


def test_an_invalid_phone_leaves_no_contact_no_email_and_no_tag(admin):
    with pytest.raises(ValidationFailed) as caught:
        services.contact_create(
            actor=admin,
            data={"first_name": "Jo", "emails": [{"email": "jo@example.org"}], "phones": ["12"], "tags": ["new-tag"]},
        )
    assert "phones.0.number" in caught.value.fields
    assert not Contact.objects.exists()
    assert not ContactEmail.objects.exists() and not ContactPhone.objects.exists()
    assert not Tag.objects.exists()
    assert not Event.objects.filter(subject_type="contact").exists()


def test_contact_update_with_a_stale_version_changes_nothing(admin, org):
    contact = contact_with(org, first_name="Jo", email="jo@example.org")
    Contact.objects.filter(pk=contact.pk).update(version=4)
    contact.refresh_from_db()
    with pytest.raises(StaleVersion):
        services.contact_update(
            actor=admin, contact=contact, data={"first_name": "Jane", "emails": ["x@example.org"]}, expected_version=3
        )
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.first_name, fresh.email, fresh.version) == ("Jo", "jo@example.org", 4)
    assert list(ContactEmail.objects.values_list("email", flat=True)) == ["jo@example.org"]


def test_contact_update_refuses_unknown_fields(admin, org):
    contact = contact_with(org, first_name="Jo")
    with pytest.raises(ValidationFailed) as caught:
        services.contact_update(actor=admin, contact=contact, data={"org_id": 99, "full_name": "X"}, expected_version=1)
    assert {"org_id", "full_name"} <= set(caught.value.fields)


def test_a_viewer_cannot_create_through_the_service(member_of):
    with pytest.raises(PermissionDenied):
        services.contact_create(actor=member_of(Role.VIEWER), data={"first_name": "Jo"})
    assert not Contact.objects.exists()


def test_a_service_refuses_a_record_of_another_workspace(admin, other_org):
    theirs = contact_with(other_org, first_name="Theirs")
    with pytest.raises(PermissionDenied):
        services.contact_update(actor=admin, contact=theirs, data={"first_name": "Mine"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.contact_delete(actor=admin, contact=theirs)
    fresh = Contact.objects.get(pk=theirs.pk)
    assert (fresh.first_name, fresh.deleted_at) == ("Theirs", None)


# --- trash ---------------------------------------------------------------------------------------


def test_trash_and_restore_record_events_with_the_deletion_time(admin, org):
    contact = contact_with(org, first_name="Jo", email="jo@example.org", tags=["vip"])
    services.contact_delete(actor=admin, contact=contact)
    assert Contact.objects.trashed().filter(pk=contact.pk).exists()
    trashed = Event.objects.get(verb="contact.trashed")
    assert trashed.changes["deleted_at"][0] is None and trashed.changes["deleted_at"][1]
    services.contact_restore(actor=admin, contact=Contact.objects.get(pk=contact.pk))
    restored = Event.objects.get(verb="contact.restored")
    assert restored.changes["deleted_at"] == [trashed.changes["deleted_at"][1], None]
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.deleted_at is None and fresh.email == "jo@example.org"
    assert list(fresh.tags.values_list("name", flat=True)) == ["vip"]


def test_trash_purge_deletes_only_what_was_trashed_more_than_30_days_ago(org, other_org):
    now = timezone.now()
    old = contact_with(org, first_name="Old", email="old@example.org", phone="+12125550134", tags=["vip"])
    Contact.objects.filter(pk=old.pk).update(deleted_at=now - timedelta(days=31))
    recent = contact_with(org, first_name="Recent", deleted_at=now - timedelta(days=29))
    alive = contact_with(org, first_name="Alive")
    other_old = contact_with(other_org, first_name="OtherOld", deleted_at=now - timedelta(days=45))
    old_company = CompanyFactory.create(org=org, deleted_at=now - timedelta(days=31))
    recent_company = CompanyFactory.create(org=org, deleted_at=now - timedelta(days=2))
    live_company = CompanyFactory.create(org=org)
    linked = contact_with(org, first_name="Linked", company=old_company)

    purged = services.trash_purge()

    assert purged[0] >= 2 and purged[1] >= 1
    remaining = set(Contact.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, alive.pk, linked.pk}
    assert other_old.pk not in remaining
    assert not ContactEmail.objects.filter(contact_id=old.pk).exists()
    assert not ContactPhone.objects.filter(contact_id=old.pk).exists()
    assert set(Company.objects.values_list("pk", flat=True)) == {recent_company.pk, live_company.pk}
    assert Contact.objects.get(pk=linked.pk).company_id is None  # the contact survives its company
    assert Tag.objects.filter(name="vip").exists()  # tags are shared; only the link goes


def test_trash_purge_keeps_a_record_trashed_just_under_30_days_ago(org):
    contact = contact_with(
        org, first_name="Edge", deleted_at=timezone.now() - timedelta(days=30) + timedelta(minutes=5)
    )
    services.trash_purge()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_the_periodic_task_purges_the_old_trash(org):
    from rapport.contacts import tasks

    old = contact_with(org, first_name="Old", deleted_at=timezone.now() - timedelta(days=40))
    kept = contact_with(org, first_name="Kept", deleted_at=timezone.now() - timedelta(days=1))
    tasks.purge_trash.call_local()
    assert list(Contact.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Contact.objects.filter(pk=old.pk).exists()
