"""Email templates: the merge context, validation on save, rendering, and who may change what."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.accounts.roles import Role
from rapport.activities import email_template_services as services
from rapport.activities.email_templates import merge_context, merge_fields
from rapport.activities.models import EmailTemplate
from rapport.contacts.tests.factories import CompanyFactory, contact_with
from rapport.core.customfields.definitions import custom_field_create
from rapport.core.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from rapport.core.models import Event


def _state(pk: int) -> dict[str, Any]:
    obj = EmailTemplate.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in EmailTemplate._meta.concrete_fields}


def _make(actor: Any, **data: Any) -> EmailTemplate:
    data.setdefault("name", "Follow-up")
    data.setdefault("subject", "Hello {{ contact.first_name }}")
    data.setdefault("body", 'Hi {{ contact.first_name|default:"there" }},\n\n{{ sender.full_name }}')
    return services.email_template_create(actor=actor, data=data)


def test_merge_context_offers_only_the_listed_fields_as_plain_values(admin, ada, company):
    admin.user.name = "Grace Brewster Hopper"
    ada.country, ada.city, ada.last_name = "GB", "London", "Lovelace"
    company.industry, company.website = "manufacturing", "https://acme.example"
    company.save()
    context = merge_context(actor=admin, contact=ada, company=None)
    assert set(context) == {"contact", "company", "sender", "today"}
    assert context["contact"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": ada.full_name,
        "email": "ada@example.org",
        "phone": "+12025550143",
        "job_title": ada.job_title,
        "city": "London",
        "country": "United Kingdom",
        "company": "Acme Corp",
        "custom": {},
    }
    assert context["company"]["name"] == "Acme Corp" and context["company"]["industry"] == "Manufacturing"
    assert set(context["company"]) == {"name", "website", "industry", "city", "custom"}
    assert context["sender"] == {
        "first_name": "Grace",
        "last_name": "Brewster Hopper",
        "full_name": "Grace Brewster Hopper",
        "email": admin.user.email,
    }
    assert context["today"] == timezone.localdate()


def test_custom_fields_are_offered_as_contact_custom_keys(admin, ada):
    custom_field_create(actor=admin, data={"entity": "contact", "label": "Tier", "type": "choice", "options": ["Gold"]})
    ada.custom = {"tier": "Gold", "removed_field": "secret"}
    assert merge_context(actor=admin, contact=ada)["contact"]["custom"] == {"tier": "Gold"}
    assert "contact.custom.tier" in {f.name for f in merge_fields(actor=admin)}


def test_a_contact_without_a_first_name_gets_the_default(admin, org):
    nameless = contact_with(org, email="x@example.org", first_name="", last_name="X")
    template = _make(admin)
    subject, body = services.email_template_render(actor=admin, template=template, contact=nameless)
    assert subject == "Hello"
    assert body.startswith("Hi there,\n\n")


def test_rendering_without_a_contact_gives_empty_fields(admin):
    subject, body = services.email_template_render(actor=admin, template=_make(admin))
    assert subject == "Hello" and body.startswith("Hi there,")


def test_a_merge_value_never_brings_a_line_break_into_the_subject(admin, org):
    sneaky = contact_with(org, first_name="Eve\r\nBcc: victim@example.org")
    subject, _ = services.email_template_render(actor=admin, template=_make(admin), contact=sneaky)
    assert "\r" not in subject and "\n" not in subject and subject == "Hello Eve Bcc: victim@example.org"


def test_another_workspaces_contact_is_not_found(admin, other_admin, other_org):
    stranger = contact_with(other_org, first_name="Zed")
    with pytest.raises(NotFound):
        services.email_template_render(actor=admin, template=_make(admin), contact=stranger)
    with pytest.raises(NotFound):
        merge_context(actor=admin, contact=stranger)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "Hi {% load static %}"}, "subject"),
        ({"body": "{% include 'x.html' %}"}, "body"),
        ({"body": "{{ contact.__class__ }}"}, "body"),
        ({"body": "{{ contact.firstname }}"}, "body"),
        ({"body": "{% if contact.first_name %}"}, "body"),
        ({"subject": "Line one\nBcc: x@example.org"}, "subject"),
        ({"name": "  "}, "name"),
        ({"owner_id": 1}, "owner_id"),
    ],
)
def test_invalid_templates_are_refused_and_nothing_is_saved(admin, data, field):
    with pytest.raises(ValidationFailed) as exc:
        _make(admin, **data)
    assert exc.value.fields.get(field)
    assert not EmailTemplate.objects.exists() and not Event.objects.filter(verb__startswith="email_template").exists()


def test_names_are_unique_among_live_templates_case_insensitively(admin):
    first = _make(admin, name="Welcome")
    with pytest.raises(ValidationFailed) as exc:
        _make(admin, name="  welcome ")
    assert "already exists" in exc.value.fields["name"]
    services.email_template_delete(actor=admin, template=first)
    assert _make(admin, name="WELCOME").name == "WELCOME"


def test_create_update_delete_record_events(admin):
    template = _make(admin)
    updated = services.email_template_update(
        actor=admin, template=template, data={"subject": "New {{ company.name }}"}, expected_version=1
    )
    assert updated.version == 2 and updated.subject == "New {{ company.name }}"
    with pytest.raises(StaleVersion):
        services.email_template_update(actor=admin, template=updated, data={"name": "X"}, expected_version=1)
    services.email_template_delete(actor=admin, template=updated)
    verbs = list(Event.objects.filter(subject_type="emailtemplate").order_by("id").values_list("verb", flat=True))
    assert verbs == ["email_template.created", "email_template.updated", "email_template.deleted"]
    assert not services.email_template_list(actor=admin).exists()


def test_members_share_templates_but_only_the_owner_or_an_admin_changes_them(admin, member_of):
    sales, other_sales = member_of(Role.SALES), member_of(Role.SALES)
    mine = _make(sales, name="Sales intro")
    assert [t.pk for t in services.email_template_list(actor=other_sales)] == [mine.pk]
    before = _state(mine.pk)
    with pytest.raises(PermissionDenied):
        services.email_template_update(actor=other_sales, template=mine, data={"name": "Stolen"}, expected_version=None)
    with pytest.raises(PermissionDenied):
        services.email_template_delete(actor=other_sales, template=mine)
    assert _state(mine.pk) == before
    assert services.email_template_update(actor=admin, template=mine, data={"name": "Fixed"}, expected_version=None)
    assert services.email_template_update(actor=sales, template=mine, data={"name": "Mine"}, expected_version=None)


def test_a_viewer_uses_templates_but_cannot_create_them(admin, member_of, ada):
    viewer = member_of(Role.VIEWER)
    template = _make(admin)
    assert services.email_template_render(actor=viewer, template=template, contact=ada)[0] == "Hello Ada"
    with pytest.raises(PermissionDenied):
        _make(viewer, name="Mine")
    assert EmailTemplate.objects.count() == 1


def test_another_workspaces_template_is_not_found_and_unchanged(admin, other_admin):
    template = _make(admin)
    before = _state(template.pk)
    with pytest.raises(NotFound):
        services.email_template_get(actor=other_admin, template_id=template.pk)
    with pytest.raises(NotFound):
        services.email_template_update(actor=other_admin, template=template, data={"name": "X"}, expected_version=None)
    with pytest.raises(NotFound):
        services.email_template_render(actor=other_admin, template=template)
    assert _state(template.pk) == before


def test_preview_renders_unsaved_text_and_reports_errors_on_their_field(admin, ada):
    assert services.email_template_preview(
        actor=admin, subject="For {{ contact.company }}", body="**{{ contact.first_name }}**", contact=ada
    ) == ("For Acme Corp", "**Ada**")
    with pytest.raises(ValidationFailed) as exc:
        services.email_template_preview(actor=admin, subject="ok", body="{% debug %}")
    assert set(exc.value.fields) == {"body"}


def test_a_company_passed_explicitly_fills_company_fields(admin, org):
    other = CompanyFactory.create(org=org, name="Initech")
    subject, _ = services.email_template_preview(
        actor=admin, subject="{{ company.name }} / {{ contact.company|default:'none' }}", body="", company=other
    )
    assert subject == "Initech / none"
