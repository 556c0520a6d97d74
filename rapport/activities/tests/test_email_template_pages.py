"""Settings → Email templates pages: list, create, edit with preview, delete; permissions and workspaces."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.accounts.roles import Role
from rapport.activities import email_template_services as services
from rapport.activities.models import EmailTemplate
from rapport.contacts.tests.factories import contact_with
from rapport.core.models import Event


def _state(pk: int) -> dict[str, Any]:
    obj = EmailTemplate.objects.get(pk=pk)
    return {f.attname: getattr(obj, f.attname) for f in EmailTemplate._meta.concrete_fields}


def _make(actor: Any, name: str = "Follow-up") -> EmailTemplate:
    return services.email_template_create(
        actor=actor, data={"name": name, "subject": "Hi {{ contact.first_name }}", "body": "Body"}
    )


def test_the_settings_navigation_links_the_list_which_shows_templates(web, admin, member_of):
    _make(admin, name="Welcome <script>")
    client = web(member_of(Role.SALES))
    resp = client.get(reverse("accounts:tokens"))
    assert reverse("email_templates:list").encode() in resp.content
    resp = client.get(reverse("email_templates:list"))
    assert resp.status_code == 200
    assert b"Welcome &lt;script&gt;" in resp.content and b"Welcome <script>" not in resp.content


def test_create_shows_merge_fields_and_saves(web, admin):
    client = web(admin)
    page = client.get(reverse("email_templates:create"))
    assert page.status_code == 200 and b"{{ contact.first_name }}" in page.content
    resp = client.post(
        reverse("email_templates:create"),
        {"name": "Intro", "subject": "Hello {{ contact.first_name }}", "body": "Hi", "action": "save"},
    )
    template = EmailTemplate.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("email_templates:edit", args=[template.pk])
    assert template.owner_id == admin.user_id and template.subject == "Hello {{ contact.first_name }}"


def test_a_syntax_error_is_shown_on_the_form_and_nothing_is_saved(web, admin):
    resp = web(admin).post(
        reverse("email_templates:create"),
        {"name": "Bad", "subject": "ok", "body": "{% include 'web/base.html' %}", "action": "save"},
    )
    assert resp.status_code == 422 and "{% include %}” is not allowed".encode() in resp.content
    assert not EmailTemplate.objects.exists()


def test_preview_renders_unsaved_text_for_a_contact_found_by_name(web, admin, ada):
    template = _make(admin)
    resp = web(admin).post(
        reverse("email_templates:edit", args=[template.pk]),
        {
            "name": template.name,
            "subject": "Unsaved {{ contact.first_name }}",
            "body": "**{{ company.name }}** <script>x</script>",
            "version": 1,
            "preview_contact": "ada",
            "action": "preview",
        },
    )
    assert resp.status_code == 200
    assert b"Unsaved Ada" in resp.content and b"<strong>Acme Corp</strong>" in resp.content
    assert b"<script>x" not in resp.content
    assert _state(template.pk)["subject"] == "Hi {{ contact.first_name }}"


def test_preview_does_not_find_another_workspaces_contact(web, admin, other_org):
    stranger = contact_with(other_org, first_name="Zed")
    template = _make(admin)
    resp = web(admin).post(
        reverse("email_templates:edit", args=[template.pk]),
        {"name": template.name, "subject": "Hi {{ contact.first_name }}", "body": "", "version": 1,
         "preview_contact": str(stranger.pk), "action": "preview"},
    )  # fmt: skip
    assert resp.status_code == 200 and b"Zed" not in resp.content and b"No contact of yours matches" in resp.content


def test_edit_saves_and_refuses_a_stale_version(web, admin):
    template = _make(admin)
    client = web(admin)
    url = reverse("email_templates:edit", args=[template.pk])
    data = {"name": "Renamed", "subject": "S", "body": "B", "version": 1, "action": "save"}
    assert client.post(url, data).status_code == 302
    assert _state(template.pk)["name"] == "Renamed"
    resp = client.post(url, {**data, "name": "Again"})
    assert resp.status_code == 412 and _state(template.pk)["name"] == "Renamed"


def test_delete_asks_for_confirmation_then_deletes(web, admin):
    template = _make(admin)
    client = web(admin)
    url = reverse("email_templates:delete", args=[template.pk])
    assert client.get(url).status_code == 200 and _state(template.pk)["deleted_at"] is None
    assert client.post(url).status_code == 302
    assert _state(template.pk)["deleted_at"] is not None
    assert Event.objects.filter(verb="email_template.deleted").count() == 1


def test_someone_who_may_not_edit_sees_it_read_only_and_cannot_change_it(web, admin, member_of, ada):
    template = _make(admin)
    before = _state(template.pk)
    client = web(member_of(Role.SALES))
    url = reverse("email_templates:edit", args=[template.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Only its author" in page.content
    save = {"name": "Stolen", "subject": "S", "body": "B", "version": 1, "action": "save"}
    assert client.post(url, save).status_code == 403
    delete_url = reverse("email_templates:delete", args=[template.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url).status_code == 403
    # Previewing shows the saved text, not what was posted.
    resp = client.post(url, {**save, "subject": "Posted", "preview_contact": str(ada.pk), "action": "preview"})
    assert resp.status_code == 200 and b"Hi Ada" in resp.content and b"Posted" not in resp.content
    assert _state(template.pk) == before


def test_a_viewer_cannot_create(web, member_of):
    client = web(member_of(Role.VIEWER))
    assert client.get(reverse("email_templates:create")).status_code == 403
    resp = client.post(reverse("email_templates:create"), {"name": "X", "subject": "", "body": "", "action": "save"})
    assert resp.status_code == 403 and not EmailTemplate.objects.exists()


def test_another_workspaces_template_is_404_on_every_page_and_unchanged(web, admin, other_admin):
    template = _make(admin)
    before = _state(template.pk)
    client = web(other_admin)
    assert b"Follow-up" not in client.get(reverse("email_templates:list")).content
    edit = reverse("email_templates:edit", args=[template.pk])
    delete = reverse("email_templates:delete", args=[template.pk])
    assert client.get(edit).status_code == 404
    assert (
        client.post(edit, {"name": "X", "subject": "", "body": "", "version": 1, "action": "save"}).status_code == 404
    )
    assert client.get(delete).status_code == 404
    assert client.post(delete).status_code == 404
    assert _state(template.pk) == before


def test_the_pages_need_a_login(client, admin):
    template = _make(admin)
    for url in (reverse("email_templates:list"), reverse("email_templates:edit", args=[template.pk])):
        assert client.get(url).status_code == 302
